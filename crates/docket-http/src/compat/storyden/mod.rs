//! Storyden's reports API under `/api/reports`.
//!
//! A report is a Docket request of the built-in type `storyden_report`; its target
//! (`target_kind`, `target_id`) is the request's subject, its `comment` the description,
//! the member who filed it the requester and its handler the assignee. The workflow has
//! Storyden's statuses (`submitted`, `acknowledged`, `resolved`) and its rule: managers
//! (Storyden's `MANAGE_REPORTS`: Docket moderators, admins, owners and system tokens) may
//! set any status, the member who filed a report may only resolve it.
//!
//! Credentials: the desk's `docket_session` cookie (a browser signed in at `/desk/login`),
//! the `storyden-session` cookie holding a desk session or a Docket token,
//! or a token as `Authorization: Bearer` (Storyden's access keys).

mod error;
mod read;
mod write;

pub use error::StorydenError;

use crate::auth::{authenticate, bearer, cookie_secret};
use crate::compat::builtin::STORYDEN_REPORT;
use crate::middleware::rate_limit::{self, RateLimit};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, patch};
use axum::Router;
use chrono::SecondsFormat;
use docket_domain::access::Principal;
use docket_domain::ids::MemberId;
use docket_domain::member::Member;
use docket_domain::request::Request;
use docket_domain::Timestamp;
use serde::Serialize;
use std::collections::HashMap;

/// The session cookie Storyden's web client sends.
pub const SESSION_COOKIE: &str = "storyden-session";

/// What a report may be about.
pub const TARGET_KINDS: [&str; 7] = [
    "post",
    "thread",
    "reply",
    "node",
    "collection",
    "profile",
    "event",
];

/// Storyden's statuses, the only values `status` accepts.
pub const STATUSES: [&str; 3] = ["submitted", "acknowledged", "resolved"];

pub fn router(limit: &RateLimit) -> Router<AppState> {
    Router::new()
        .route("/api/reports", get(read::list).post(write::create))
        .route("/api/reports/{report_id}", patch(write::update))
        .method_not_allowed_fallback(|| async { StorydenError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            limit.rejecting_with(error::rate_limited),
            rate_limit::layer,
        ))
}

/// The caller, from the `storyden-session` cookie or `Authorization: Bearer`.
pub struct StorydenAuth(pub Principal);

impl FromRequestParts<AppState> for StorydenAuth {
    type Rejection = StorydenError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(parts) {
            return Ok(StorydenAuth(authenticate(state, token).await?));
        }
        // The desk's own cookie (a browser signed in at /desk/login) is a session too: it is
        // SameSite=Lax and these routes read JSON, so another site cannot send it in a write.
        if let Some(secret) = cookie_secret(parts, crate::auth::SESSION_COOKIE) {
            if let Some(p) = crate::auth::session_principal(state, secret).await? {
                return Ok(StorydenAuth(p));
            }
        }
        let secret = cookie_secret(parts, SESSION_COOKIE).ok_or(StorydenError::Unauthorized)?;
        // The cookie holds a desk session (signed in at /desk/login) or an API token.
        if !secret.starts_with(docket_domain::token::PREFIX) {
            return crate::auth::session_principal(state, secret)
                .await?
                .map(StorydenAuth)
                .ok_or(StorydenError::Unauthorized);
        }
        Ok(StorydenAuth(authenticate(state, secret).await?))
    }
}

/// A report, with the fields the page shows that Docket has.
#[derive(Serialize)]
pub struct Report {
    pub id: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    pub target_id: String,
    pub target_kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_by: Option<ProfileReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handled_by: Option<ProfileReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub status: String,
}

/// A minimal reference to an account: a Docket member.
#[derive(Serialize)]
pub struct ProfileReference {
    pub id: String,
    pub joined: String,
    pub handle: String,
    pub name: String,
    /// Storyden's display roles; Docket's roles are not Storyden roles, so none.
    pub roles: Vec<serde_json::Value>,
}

impl ProfileReference {
    fn of(m: &Member) -> Self {
        let handle: String = m
            .name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect();
        ProfileReference {
            id: m.id.to_string(),
            joined: time(m.created_at),
            handle: handle.trim_matches('-').to_owned(),
            name: m.name.clone(),
            roles: Vec::new(),
        }
    }
}

/// The members reports refer to, by id.
pub type People = HashMap<MemberId, Member>;

/// Loads the requester and assignee of every report in `reports`.
pub async fn people(
    state: &AppState,
    p: &Principal,
    reports: &[Request],
) -> Result<People, StorydenError> {
    let mut ids: Vec<MemberId> = Vec::new();
    for r in reports {
        ids.extend(r.requester_id);
        ids.extend(r.assignee_id);
    }
    ids.sort_unstable_by_key(|id| id.to_string());
    ids.dedup();
    let mut out = People::new();
    for id in ids {
        if let Some(m) = state.store().get_member(p.workspace_id, id).await? {
            out.insert(id, m);
        }
    }
    Ok(out)
}

impl Report {
    pub fn of(r: &Request, people: &People) -> Self {
        let person =
            |id: Option<MemberId>| id.and_then(|id| people.get(&id)).map(ProfileReference::of);
        let (kind, target) = r
            .subject
            .as_ref()
            .map_or((String::new(), String::new()), |s| {
                (s.kind.clone(), s.id.clone())
            });
        Report {
            id: r.id.to_string(),
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
            target_id: target,
            target_kind: kind,
            reported_by: person(r.requester_id),
            handled_by: person(r.assignee_id),
            comment: (!r.description.is_empty()).then(|| r.description.clone()),
            status: r.status.as_str().to_owned(),
        }
    }
}

/// Whether a Docket request is a Storyden report (others are not found here).
pub fn is_report(r: &Request) -> bool {
    STORYDEN_REPORT.holds(r)
}

/// Storyden's timestamps: RFC 3339 in UTC to the second.
pub fn time(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
