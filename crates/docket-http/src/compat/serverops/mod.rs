//! ServerOps' cases API under `/cases`.
//!
//! A case is a Docket request of the built-in type `serverops_case`, whose workflow has
//! ServerOps' statuses (`open`, `closed`, `archived`), any of them reachable from any
//! other by a caller who may write requests. ServerOps' scopes are Docket's: `cases:read`
//! is `requests:read` and `cases:write` is `requests:write`; lacking one is 403
//! `forbidden` "token does not have the required scope". Docket stores no media, so
//! `attachments` is always empty.
//!
//! Credential: a Docket token as `Authorization: Bearer` (ServerOps' own `so_live_…`
//! tokens are not Docket's; issue a Docket token instead).

mod error;
mod read;
mod write;

pub use error::ServerOpsError;

use crate::app::AppState;
use crate::auth::{authenticate, bearer};
use crate::compat::builtin::SERVEROPS_CASE;
use crate::middleware::rate_limit::{self, RateLimit};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::get;
use axum::Router;
use chrono::SecondsFormat;
use docket_domain::access::Principal;
use docket_domain::request::Request;
use serde::Serialize;

pub fn router(limit: &RateLimit) -> Router<AppState> {
    Router::new()
        .route("/cases", get(read::list).post(write::create))
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
    /// Media files attached to the case; Docket has none.
    pub attachments: Vec<serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
}

impl Case {
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
    r.type_key.as_str() == SERVEROPS_CASE.key && r.deleted_at.is_none()
}
