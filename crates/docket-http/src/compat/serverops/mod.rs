//! ServerOps' cases API under `/cases`.
//!
//! A case is a Docket request of the built-in type `serverops_case`, whose workflow has
//! ServerOps' statuses (`open`, `closed`, `archived`), any of them reachable from any
//! other by a caller who may write requests. ServerOps' scopes are Docket's: `cases:read`
//! is `requests:read` and `cases:write` is `requests:write`; lacking one is 403
//! `forbidden` "token does not have the required scope". A case's `attachments`
//! are the request's files (for tokens with `files:read`), each with a signed download
//! `url` valid for an hour.
//!
//! Credential: a Docket token as `Authorization: Bearer` (ServerOps' own `so_live_…`
//! tokens are not Docket's; issue a Docket token instead).

mod error;
mod read;
mod write;

pub use error::ServerOpsError;

use crate::auth::{authenticate, bearer};
use crate::compat::builtin::SERVEROPS_CASE;
use crate::middleware::rate_limit::{self, RateLimit};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::get;
use axum::Router;
use chrono::SecondsFormat;
use docket_domain::access::Principal;
use docket_domain::request::Request;
use serde::Serialize;

use crate::middleware::idempotency;

pub fn router(state: &AppState, limit: &RateLimit) -> Router<AppState> {
    Router::new()
        .route(
            "/cases",
            idempotency::keyed(state, get(read::list).post(write::create)),
        )
        .route("/cases/{id}", get(read::get).patch(write::update))
        .method_not_allowed_fallback(|| async { ServerOpsError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            limit.rejecting_with(error::rate_limited),
            rate_limit::layer,
        ))
}

/// The caller, from `Authorization: Bearer <token>`.
pub struct ServerOpsAuth(pub Principal);

impl FromRequestParts<AppState> for ServerOpsAuth {
    type Rejection = ServerOpsError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = bearer(parts).ok_or(ServerOpsError::Unauthorized)?;
        Ok(ServerOpsAuth(authenticate(state, secret).await?))
    }
}

/// A case, field for field as ServerOps sends it.
#[derive(Serialize)]
pub struct Case {
    pub id: String,
    pub title: String,
    pub description: String,
    pub status: String,
    /// The request's files, as ServerOps media files.
    pub attachments: Vec<Attachment>,
    pub created_at: String,
    pub updated_at: String,
}

/// A file as ServerOps shows a media file. Docket has no media tags, folders, abuse
/// scanning or storage classes: those fields are empty, `unscanned` and `standard`.
#[derive(Serialize)]
pub struct Attachment {
    pub id: String,
    /// A signed download URL, valid for an hour, that needs no token.
    pub url: String,
    pub key: String,
    pub size: u64,
    pub content_type: String,
    pub sha256: String,
    pub original_name: String,
    pub tags: Vec<String>,
    pub folder: String,
    pub abuse_status: &'static str,
    /// `public` for files shown to the recipient, `private` otherwise.
    pub visibility: &'static str,
    pub storage_class: &'static str,
    pub created_at: String,
    pub updated_at: String,
}

impl Attachment {
    fn of(state: &AppState, f: &docket_domain::file::FileRecord) -> Self {
        let (url, _) = crate::files::signed_url(state, f, std::time::Duration::from_secs(3600));
        let at = f.created_at.to_rfc3339_opts(SecondsFormat::Secs, true);
        Self {
            id: f.id.to_string(),
            url,
            key: f.id.to_string(),
            size: f.size,
            content_type: f.content_type.clone(),
            sha256: f.sha256.clone().unwrap_or_default(),
            original_name: f.name.as_str().to_owned(),
            tags: Vec::new(),
            folder: String::new(),
            abuse_status: "unscanned",
            visibility: if f.visibility == docket_domain::file::Visibility::Shared {
                "public"
            } else {
                "private"
            },
            storage_class: "standard",
            created_at: at.clone(),
            updated_at: at,
        }
    }
}

impl Case {
    /// The case with its attachments: the request's files, when the caller may read files.
    pub async fn load(
        state: &AppState,
        p: &Principal,
        r: &Request,
    ) -> Result<Self, ServerOpsError> {
        let mut case = Self::of(r);
        if p.has(docket_domain::access::Scope::FilesRead) {
            case.attachments = state
                .store()
                .list_files(r.workspace_id, Some(r.id), None, 100)
                .await?
                .iter()
                .map(|f| Attachment::of(state, f))
                .collect();
        }
        Ok(case)
    }

    pub fn of(r: &Request) -> Self {
        Case {
            id: r.id.to_string(),
            title: r.title.clone(),
            description: r.description.clone(),
            status: r.status.as_str().to_owned(),
            attachments: Vec::new(),
            created_at: r.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            updated_at: r.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

/// ServerOps' statuses, the only values `status` accepts.
pub const STATUSES: [&str; 3] = ["open", "closed", "archived"];

/// Whether a Docket request is a ServerOps case (others are not found here).
pub fn is_case(r: &Request) -> bool {
    SERVEROPS_CASE.holds(r)
}
