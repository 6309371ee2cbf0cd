//! Collect's errors: the HTTP codes its page lists, with a body in the shape of its
//! success envelope, `{"errors": [{"code", "message"}], "request": null}`.

use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use docket_domain::DomainError;
use docket_store::StoreError;

/// Every way a Collect call fails, each with the status Collect documents.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// 400: the request is invalid (malformed body, unknown status, refused move).
    #[error("{0}")]
    BadRequest(String),
    /// 413: the body is larger than the server's body limit.
    #[error("{0}")]
    TooLarge(String),
    /// 401: the API key is missing or wrong.
    #[error("your API key is wrong")]
    Unauthorized,
    /// 403: the key's member may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such request or campaign in this team.
    #[error("{0}")]
    NotFound(String),
    /// 500: logged here, never described to the client.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<DomainError> for CollectError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound(what) => CollectError::NotFound(format!("{what} not found")),
            DomainError::Gone => CollectError::NotFound("request not found".into()),
            DomainError::Forbidden(_)
            | DomainError::MissingScope(_)
            | DomainError::TransitionForbidden { .. } => CollectError::Forbidden(e.to_string()),
            DomainError::Validation(fields) => CollectError::BadRequest(
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            DomainError::InvalidTransition { .. }
            | DomainError::PreconditionFailed { .. }
            | DomainError::Conflict { .. } => CollectError::BadRequest(e.to_string()),
        }
    }
}

impl CollectError {
    /// A body that could not be read: too large (413), or broken off (400).
    pub fn from_body(e: crate::compat::body::BodyError) -> Self {
        match e {
            crate::compat::body::BodyError::TooLarge { .. } => CollectError::TooLarge(e.message()),
            other => CollectError::BadRequest(other.message()),
        }
    }
}

impl From<StoreError> for CollectError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::Internal(e) => CollectError::Internal(e),
        }
    }
}

/// The native authentication's refusals, in Collect's terms.
impl From<ApiError> for CollectError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized(_) => CollectError::Unauthorized,
            ApiError::Domain(d) => d.into(),
            ApiError::Internal(e) => CollectError::Internal(e),
            other => CollectError::BadRequest(other.to_string()),
        }
    }
}

impl IntoResponse for CollectError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            CollectError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            CollectError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            CollectError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            CollectError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            CollectError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            CollectError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let body = serde_json::json!({
            "errors": [{ "code": code, "message": self.to_string() }],
            "request": null,
        });
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"Collect\""),
            );
        }
        response
    }
}
