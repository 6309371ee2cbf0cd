//! Signed download URLs: `POST /api/v1/files/{id}/signed-url` makes one, and
//! `GET /files/{id}/content?expires=…&signature=…` (outside `/api/v1`: no token, so a
//! browser or another service can follow it) serves the file until it expires.

use super::file_of;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{parse_json, ApiQuery, PathId};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use docket_domain::access::Scope;
use docket_domain::file::FileId;
use docket_domain::DomainError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a signed URL lasts unless asked otherwise: five minutes.
const DEFAULT_TTL_SECS: u64 = 300;
/// The longest a signed URL may last: seven days.
const MAX_TTL_SECS: u64 = 7 * 24 * 3600;

#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedUrlRequest {
    /// Seconds the URL works for: 1 to 604800 (7 days); 300 by default.
    pub expires_in: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignedUrl {
    /// Downloads the file without a token (`GET`) until `expires_at`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[utoipa::path(post, operation_id = "sign_url", path = "/api/v1/files/{id}/signed-url", tag = "files",
    params(("id" = String, Path)),
    request_body(content = Option<SignedUrlRequest>, description = "Optional; an empty body takes the default lifetime"),
    responses(
        (status = 200, description = "A URL that downloads the file without a token until it expires", body = SignedUrl),
        (status = 404, description = "No such file", body = crate::error::ErrorEnvelope),
        (status = 422, description = "`expires_in` out of range", body = crate::error::ErrorEnvelope),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<FileId>,
    body: Bytes,
) -> Result<Json<SignedUrl>, ApiError> {
    p.require(Scope::FilesRead)?;
    let asked: SignedUrlRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SignedUrlRequest::default()
    } else {
        parse_json(&body)?
    };
    let ttl = asked.expires_in.unwrap_or(DEFAULT_TTL_SECS);
    if !(1..=MAX_TTL_SECS).contains(&ttl) {
        return Err(ApiError::invalid(
            "expires_in",
            "out_of_range",
            format!("from 1 to {MAX_TTL_SECS} seconds"),
        ));
    }
    let file = file_of(&state, &p, id).await?;
    let (url, expires_at) = crate::files::signed_url(&state, &file, Duration::from_secs(ttl));
    Ok(Json(SignedUrl { url, expires_at }))
}

/// The public route signed URLs point at.
pub fn public_router() -> Router<AppState> {
    Router::new().route("/files/{id}/content", get(content))
}

#[derive(Deserialize)]
struct Signature {
    expires: Option<String>,
    signature: Option<String>,
}

async fn content(
    State(state): State<AppState>,
    PathId(id): PathId<FileId>,
    ApiQuery(signed): ApiQuery<Signature>,
) -> Result<Response, ApiError> {
    let expires = signed
        .expires
        .and_then(|e| e.parse::<i64>().ok())
        .ok_or(ApiError::SignatureInvalid)?;
    let signature = signed.signature.ok_or(ApiError::SignatureInvalid)?;
    crate::files::verify(
        state.signing_key(),
        id,
        expires,
        &signature,
        docket_domain::now(),
    )?;
    let file = state
        .store()
        .file_by_id(id)
        .await?
        .ok_or(DomainError::NotFound("file"))?;
    crate::files::download(&state, &file).await
}
