//! Gipper (content requests, API v4), served under `/api/v4/content_requests`.
//!
//! - A content request is a Docket request of the built-in `gipper` type (created on
//!   first use) whose workflow is pending → completed (by the recipient, through the
//!   link) and any → canceled (by the account). Its name is the title, its prompt the
//!   description, its recipient `data.recipient`, its expiration the due date and the
//!   link's expiry.
//! - Gipper's integer `id` is the request's per-workspace `number`.
//! - The public link (`token`, `time_type`) is the request's Docket public link, created
//!   with it. `GET /:token` and `PUT /:token/complete` take no account: the token is the
//!   credential. Completing records the media list in `data.media_files` and, in the same
//!   transaction, a file record per media file (its bytes are the object the recipient put
//!   in the bucket at `s3_key`), both on the completion's timeline event.
//! - Credential for the other routes: `Authentication: Bearer <token>` (the header
//!   Gipper's clients send), or `Authorization: Bearer <token>`.

mod error;
mod manage;
mod public;

pub use error::GipperError;

use crate::auth::authenticate;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, put};
use axum::Router;
use chrono::SecondsFormat;
use docket_domain::access::Principal;
use docket_domain::ids::WorkspaceId;
use docket_domain::link::{LinkMode, PublicLink};
use docket_domain::request::{Request, RequestType};
use docket_domain::Timestamp;
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v4/content_requests",
            get(manage::list).post(manage::create),
        )
        .route(
            "/api/v4/content_requests/{key}",
            get(public::show).put(manage::update).delete(manage::delete),
        )
        .route(
            "/api/v4/content_requests/{key}/complete",
            put(public::complete),
        )
}

/// The key of the built-in type content requests are.
pub const TYPE_KEY: &str = crate::compat::builtin::GIPPER_CONTENT_REQUEST.key;
/// Where the recipient and the uploaded media live in the request's data.
const RECIPIENT_KEY: &str = "recipient";
const MEDIA_KEY: &str = "media_files";

/// The caller of an account route.
pub struct GipperAuth(pub Principal);

impl FromRequestParts<AppState> for GipperAuth {
    type Rejection = GipperError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = ["authentication", "authorization"]
            .iter()
            .find_map(|name| token_in(parts, name))
            .ok_or(GipperError::Unauthorized)?;
        authenticate(state, &secret)
            .await
            .map(GipperAuth)
            .map_err(GipperError::from)
    }
}

/// The token of `<name>: Bearer <token>` (or a bare `<name>: <token>`).
fn token_in(parts: &Parts, name: &str) -> Option<String> {
    let value = parts.headers.get(name)?.to_str().ok()?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        Some(_) => return None,
        None => value,
    };
    (!token.is_empty()).then(|| token.to_owned())
}

/// The built-in content-request type, created in the workspace on first use.
pub async fn ensure_type(state: &AppState, ws: WorkspaceId) -> Result<RequestType, GipperError> {
    Ok(
        crate::compat::builtin::ensure(state, ws, crate::compat::builtin::GIPPER_CONTENT_REQUEST)
            .await?,
    )
}

/// An expiration date as Gipper shows it: the day, at its first instant
/// (`2022-06-07T00:00:00.000Z`), whatever time of that day (UTC) it is stored at.
fn date(t: Timestamp) -> String {
    t.date_naive()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `One-Time` / `Multi-Use`.
fn time_type(mode: LinkMode) -> &'static str {
    match mode {
        LinkMode::OneTime => "One-Time",
        LinkMode::MultiUse => "Multi-Use",
    }
}

/// The account a content request belongs to, as `GET /:token` shows it.
#[derive(Serialize)]
pub struct User {
    /// A Docket member id (a UUID; Gipper's are integers).
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub avatar_image: Option<String>,
}

/// A content request as Gipper shows it.
#[derive(Serialize)]
pub struct ContentRequest {
    pub id: i64,
    pub name: String,
    pub recipient: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    pub expiration_date: Option<String>,
    pub status: String,
    pub time_type: Option<&'static str>,
    pub link_for_copy: Option<String>,
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

impl ContentRequest {
    /// `link` is the request's public link; `with_prompt` is false in lists, as on the page.
    pub fn new(
        state: &AppState,
        r: &Request,
        link: Option<&PublicLink>,
        with_prompt: bool,
    ) -> Self {
        Self {
            id: r.number,
            name: r.title.clone(),
            recipient: recipient(r).to_owned(),
            prompt: with_prompt.then(|| r.description.clone()),
            expiration_date: r.due_at.map(date),
            status: r.status.as_str().to_owned(),
            time_type: link.map(|l| time_type(l.mode)),
            link_for_copy: link.map(|l| {
                let path = format!("/content_requests/{}", l.token.as_str());
                let settings = state.settings();
                if settings.public_url_configured {
                    settings.public_link(&path)
                } else {
                    path
                }
            }),
            token: link.map(|l| l.token.as_str().to_owned()),
            user: None,
        }
    }
}

fn recipient(r: &Request) -> &str {
    r.data
        .get(RECIPIENT_KEY)
        .and_then(|v| v.as_str())
        .unwrap_or("")
}

/// A request's public link: the first, made with it.
async fn link_of(state: &AppState, r: &Request) -> Result<Option<PublicLink>, GipperError> {
    Ok(state
        .store()
        .links_of_request(r.workspace_id, r.id)
        .await?
        .into_iter()
        .next())
}

/// Parses a JSON body; anything malformed is Gipper's 422.
fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, GipperError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        GipperError::Invalid(format!("{path}: {}", e.into_inner()))
    })?;
    de.end()
        .map_err(|e| GipperError::Invalid(format!("invalid JSON: {e}")))?;
    Ok(value)
}

/// Parses an expiration date: `2022/06/07`, `2022-06-07` or an RFC 3339 instant. A date
/// means the end of that day, UTC, as a date-only `due_at` does natively
/// (`docket_domain::end_of_day`): the link works through the day it expires on.
fn parse_expiration(raw: &str) -> Result<Timestamp, GipperError> {
    let raw = raw.trim();
    for format in ["%Y/%m/%d", "%Y-%m-%d"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(raw, format) {
            return Ok(docket_domain::end_of_day(d));
        }
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| docket_domain::from_micros(t.timestamp_micros()))
        .map_err(|_| {
            GipperError::Invalid(format!(
                "content_request[expiration_date] {raw:?} is not a date like 2022/06/07"
            ))
        })
}
