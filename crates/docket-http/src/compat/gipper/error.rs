//! Gipper's errors: `{"success": false, "errors": ["..."]}` with Rails' statuses — 401
//! without a valid account token, 404 for an unknown id or token, 422 for invalid
//! parameters and refused changes (a second completion of a one-time link, an expired
//! link, an update that does not cancel), 403 when the account may not act.

use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use docket_domain::DomainError;
use docket_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum GipperError {
    /// 401.
    #[error("Unauthorized: send Authentication: Bearer <token>")]
    Unauthorized,
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 422.
    #[error("{0}")]
    Invalid(String),
    /// 413: the body is larger than the server's body limit.
    #[error("{0}")]
    TooLarge(String),
    /// 500: logged here, never described to the client.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl GipperError {
    /// A body that could not be read: too large (413), or broken off (422).
    pub fn from_body(e: crate::compat::body::BodyError) -> Self {
        match e {
            crate::compat::body::BodyError::TooLarge { .. } => {
                GipperError::TooLarge(format!("The request is too large: {}", e.message()))
            }
            other => GipperError::Invalid(other.message()),
        }
    }
}

impl From<DomainError> for GipperError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound(_) | DomainError::Gone => {
                GipperError::NotFound("Content request not found".into())
            }
            DomainError::Forbidden(_) | DomainError::MissingScope(_) => {
                GipperError::Forbidden(e.to_string())
            }
            DomainError::Validation(fields) => GipperError::Invalid(
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            DomainError::InvalidTransition { .. }
            | DomainError::TransitionForbidden { .. }
            | DomainError::PreconditionFailed { .. }
            | DomainError::Conflict { .. } => GipperError::Invalid(e.to_string()),
        }
    }
}

impl From<StoreError> for GipperError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::Internal(e) => GipperError::Internal(e),
        }
    }
}

impl From<ApiError> for GipperError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized(_) => GipperError::Unauthorized,
            ApiError::Domain(d) => d.into(),
            ApiError::Internal(e) => GipperError::Internal(e),
            other => GipperError::Invalid(other.to_string()),
        }
    }
}

impl IntoResponse for GipperError {
    fn into_response(self) -> Response {
        let status = match &self {
            GipperError::Unauthorized => StatusCode::UNAUTHORIZED,
            GipperError::Forbidden(_) => StatusCode::FORBIDDEN,
            GipperError::NotFound(_) => StatusCode::NOT_FOUND,
            GipperError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GipperError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GipperError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let body = serde_json::json!({ "success": false, "errors": [self.to_string()] });
        (status, axum::Json(body)).into_response()
    }
}
