//! Storyden's error body, as the page shows it: `{"error", "message", "suggested",
//! "metadata"}`. It also carries `trace_id` (the `X-Request-Id`), which Storyden's newer
//! RFC 7807 body requires, so a client written against either shape reads it.

use crate::compat::body::BodyError;
use crate::error::ApiError;
use crate::middleware::request_id;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use docket_domain::DomainError;
use docket_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub enum StorydenError {
    /// 400: input that does not parse or breaks a rule.
    BadRequest(String),
    /// 401: no session cookie or access key, or an unknown one.
    Unauthorized,
    /// 403: the caller may not do this (e.g. a member acknowledging a report).
    Forbidden(String),
    /// 404: no such report.
    NotFound,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 413: the body is larger than the server accepts.
    TooLarge(String),
    /// 500: logged here, never described to the client.
    Internal(anyhow::Error),
}

impl From<BodyError> for StorydenError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge { .. } => StorydenError::TooLarge(e.message()),
            other => StorydenError::BadRequest(other.message()),
        }
    }
}

impl From<DomainError> for StorydenError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(fields) => StorydenError::BadRequest(
                fields
                    .iter()
                    .map(|f| format!("{}: {}", field_name(&f.field), f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            DomainError::NotFound(_) | DomainError::Gone => StorydenError::NotFound,
            DomainError::Forbidden(_)
            | DomainError::MissingScope(_)
            | DomainError::TransitionForbidden { .. } => StorydenError::Forbidden(e.to_string()),
            DomainError::InvalidTransition { .. }
            | DomainError::PreconditionFailed { .. }
            | DomainError::Conflict { .. } => StorydenError::BadRequest(e.to_string()),
        }
    }
}

impl From<StoreError> for StorydenError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::Internal(e) => StorydenError::Internal(e),
        }
    }
}

impl From<ApiError> for StorydenError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Domain(d) => d.into(),
            ApiError::Unauthorized(_) => StorydenError::Unauthorized,
            ApiError::Internal(e) => StorydenError::Internal(e),
            other => StorydenError::Internal(anyhow::anyhow!("unexpected error: {other}")),
        }
    }
}

/// A Docket field by its Storyden name.
fn field_name(docket: &str) -> &str {
    match docket {
        "subject.id" => "target_id",
        "subject.kind" => "target_kind",
        "description" => "comment",
        other => other,
    }
}

/// The error body with `status`.
pub fn body(status: StatusCode, error: &str, message: &str, suggested: &str) -> Response {
    let body = json!({
        "error": error,
        "message": message,
        "suggested": suggested,
        "metadata": {},
        "trace_id": request_id::current().unwrap_or_default(),
    });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl IntoResponse for StorydenError {
    fn into_response(self) -> Response {
        match self {
            StorydenError::BadRequest(m) => body(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &m,
                "check the request against the API reference",
            ),
            StorydenError::Unauthorized => body(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "no valid session or access key",
                "sign in, or send an access key as Authorization: Bearer",
            ),
            StorydenError::Forbidden(m) => body(
                StatusCode::FORBIDDEN,
                "forbidden",
                &m,
                "this needs the MANAGE_REPORTS permission",
            ),
            StorydenError::NotFound => body(
                StatusCode::NOT_FOUND,
                "not_found",
                "report not found",
                "check the report id",
            ),
            StorydenError::MethodNotAllowed => body(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not accept that method",
                "check the API reference",
            ),
            StorydenError::TooLarge(m) => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &m,
                "send a smaller body",
            ),
            StorydenError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an unexpected error occurred",
                    "try again later",
                )
            }
        }
    }
}

/// The 429 of the rate limiter, in Storyden's format.
pub fn rate_limited(secs: u64) -> Response {
    body(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        &format!("too many requests; retry in {secs} s"),
        "slow down",
    )
}
