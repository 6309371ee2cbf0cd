//! ServerOps' error body: `{"error": {"code", "message"}}` with the product's codes
//! `bad_request` (400), `unauthorized` (401), `forbidden` (403), `not_found` (404),
//! `rate_limited` (429) and `internal` (500). Docket's other refusals map onto these:
//! a conflict (a workflow without that move) and a too-large body are `bad_request`.

use crate::compat::body::BodyError;
use crate::error::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use docket_domain::DomainError;
use docket_store::StoreError;
use serde_json::json;

/// The message ServerOps sends for a token without the scope an operation needs.
pub const MISSING_SCOPE: &str = "token does not have the required scope";

#[derive(Debug)]
pub enum ServerOpsError {
    /// 400 `bad_request`.
    BadRequest(String),
    /// 401 `unauthorized`.
    Unauthorized,
    /// 403 `forbidden`.
    Forbidden(String),
    /// 404 `not_found`.
    NotFound(&'static str),
    /// 405, with the code `bad_request` (ServerOps has no code of its own for it).
    MethodNotAllowed,
    /// 500 `internal`: logged here, never described to the client.
    Internal(anyhow::Error),
}

impl From<BodyError> for ServerOpsError {
    fn from(e: BodyError) -> Self {
        ServerOpsError::BadRequest(e.message())
    }
}

impl From<DomainError> for ServerOpsError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(fields) => ServerOpsError::BadRequest(
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            DomainError::NotFound(_) | DomainError::Gone => {
                ServerOpsError::NotFound("case not found")
            }
            DomainError::MissingScope(_) => ServerOpsError::Forbidden(MISSING_SCOPE.to_owned()),
            DomainError::Forbidden(_) | DomainError::TransitionForbidden { .. } => {
                ServerOpsError::Forbidden(e.to_string())
            }
            DomainError::InvalidTransition { .. }
            | DomainError::PreconditionFailed { .. }
            | DomainError::Conflict { .. } => ServerOpsError::BadRequest(e.to_string()),
        }
    }
}

impl From<StoreError> for ServerOpsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::Internal(e) => ServerOpsError::Internal(e),
        }
    }
}

impl From<ApiError> for ServerOpsError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Domain(d) => d.into(),
            ApiError::Unauthorized(_) => ServerOpsError::Unauthorized,
            ApiError::Internal(e) => ServerOpsError::Internal(e),
            other => ServerOpsError::Internal(anyhow::anyhow!("unexpected error: {other}")),
        }
    }
}

/// `{"error": {"code", "message"}}` with `status`.
pub fn body(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl IntoResponse for ServerOpsError {
    fn into_response(self) -> Response {
        match self {
            ServerOpsError::BadRequest(m) => body(StatusCode::BAD_REQUEST, "bad_request", &m),
            ServerOpsError::Unauthorized => body(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or invalid authorization token",
            ),
            ServerOpsError::Forbidden(m) => body(StatusCode::FORBIDDEN, "forbidden", &m),
            ServerOpsError::NotFound(m) => body(StatusCode::NOT_FOUND, "not_found", m),
            ServerOpsError::MethodNotAllowed => body(
                StatusCode::METHOD_NOT_ALLOWED,
                "bad_request",
                "this route does not accept that method",
            ),
            ServerOpsError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an unexpected error occurred",
                )
            }
        }
    }
}

/// The 429 of the rate limiter, in ServerOps' format.
pub fn rate_limited(secs: u64) -> Response {
    body(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        &format!("rate limit exceeded; retry in {secs} s"),
    )
}
