//! The native API's one error type and its JSON envelope.
//!
//! Every failure leaves as `{"error": {"code", "message", "details"?, "request_id"}}` with a
//! stable `code`. Handlers return [`ApiError`] with `?`; domain and storage errors convert
//! into it here, in one table. Internal errors are logged once, here, and their text never
//! reaches the client.

use crate::middleware::request_id;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use docket_domain::{DomainError, FieldError};
use docket_store::StoreError;
use serde::Serialize;

/// Every way a native API call can fail. Each variant documents its status and code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 4xx from the domain: validation (422), not found (404), gone (410), forbidden and
    /// missing scope (403), invalid transition (409), precondition failed (412), conflict (409).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// 400: a request the server cannot parse (`invalid_json`, `invalid_query`, ...).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 401 `unauthorized`: no credential, or one that is unknown, revoked or expired.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 404 `not_found` for a path that names no resource.
    #[error("no such route")]
    NoRoute,
    /// 413 `payload_too_large`.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415 `unsupported_media_type`.
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    /// 422 `idempotency_key_reused`: the key was used for a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    /// 409 `idempotency_key_in_use`: the first request with this key is still running.
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInFlight,
    /// 413 `file_too_large`: the file is larger than the workspace's file policy allows
    /// (`details.limit`, in bytes).
    #[error("the file is larger than this workspace accepts ({limit} bytes)")]
    FileTooLarge { limit: u64 },
    /// 415 `unsupported_type`: the file's type, sniffed from its bytes
    /// (`details.content_type`), is not in the workspace's file policy.
    #[error("files of type {content_type} are not accepted here")]
    UnsupportedType { content_type: String },
    /// 400 `upload_interrupted`: the body broke off before it was complete.
    #[error("the upload was interrupted before the body was complete")]
    UploadInterrupted,
    /// 408 `timeout`: an upload's body stopped arriving.
    #[error("the upload stalled: no bytes arrived for too long")]
    UploadStalled,
    /// 404 `file_missing`: the file's record exists but its bytes are not in the store.
    #[error("the file's content is not in the file store")]
    FileMissing,
    /// 403 `signature_invalid`: a signed URL that was not made by this server for this
    /// file and expiry.
    #[error("the download link's signature is not valid")]
    SignatureInvalid,
    /// 403 `signature_expired`: a genuine signed URL whose time has passed.
    #[error("the download link has expired")]
    SignatureExpired,
    /// 500 `internal`: logged here; the client sees only the request id.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => ApiError::Domain(d),
            StoreError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        ApiError::Domain(DomainError::invalid(field, code, message))
    }

    /// The status and stable code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Domain(d) => match d {
                DomainError::Validation(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
                }
                DomainError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                DomainError::Gone => (StatusCode::GONE, "gone"),
                DomainError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
                DomainError::MissingScope(_) => (StatusCode::FORBIDDEN, "missing_scope"),
                DomainError::InvalidTransition { .. } => {
                    (StatusCode::CONFLICT, "invalid_transition")
                }
                DomainError::TransitionForbidden { .. } => {
                    (StatusCode::FORBIDDEN, "transition_forbidden")
                }
                DomainError::PreconditionFailed { .. } => {
                    (StatusCode::PRECONDITION_FAILED, "precondition_failed")
                }
                DomainError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            },
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NoRoute => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::IdempotencyMismatch => {
                (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
            }
            ApiError::IdempotencyInFlight => (StatusCode::CONFLICT, "idempotency_key_in_use"),
            ApiError::FileTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large"),
            ApiError::UnsupportedType { .. } => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type")
            }
            ApiError::UploadInterrupted => (StatusCode::BAD_REQUEST, "upload_interrupted"),
            ApiError::UploadStalled => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            ApiError::FileMissing => (StatusCode::NOT_FOUND, "file_missing"),
            ApiError::SignatureInvalid => (StatusCode::FORBIDDEN, "signature_invalid"),
            ApiError::SignatureExpired => (StatusCode::FORBIDDEN, "signature_expired"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            ApiError::Domain(DomainError::Validation(fields)) => serde_json::to_value(fields).ok(),
            ApiError::Domain(DomainError::MissingScope(scope)) => {
                Some(serde_json::json!({ "scope": scope }))
            }
            ApiError::Domain(DomainError::PreconditionFailed { current }) => {
                Some(serde_json::json!({ "current_version": current }))
            }
            ApiError::Domain(DomainError::TransitionForbidden { allowed, .. }) => {
                Some(serde_json::json!({ "allowed": allowed.0 }))
            }
            ApiError::FileTooLarge { limit } => Some(serde_json::json!({ "limit": limit })),
            ApiError::UnsupportedType { content_type } => {
                Some(serde_json::json!({ "content_type": content_type }))
            }
            _ => None,
        }
    }
}

/// The error envelope, as documented in the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable and machine-readable, e.g. `validation_failed`, `missing_scope`.
    pub code: String,
    pub message: String,
    /// Per-field problems (an array) for `validation_failed`; an object for the others
    /// that carry details: `scope` for `missing_scope`, `current_version` for
    /// `precondition_failed`, `allowed` for `transition_forbidden`, `limit` for
    /// `payload_too_large`, `content_type` for `unsupported_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = details_schema)]
    pub details: Option<serde_json::Value>,
    /// The `X-Request-Id` of the call, to quote when reporting a problem.
    pub request_id: String,
}

/// `details`: an array of field errors, or an object.
fn details_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let field = ObjectBuilder::new()
        .property("field", ObjectBuilder::new().schema_type(Type::String))
        .property("code", ObjectBuilder::new().schema_type(Type::String))
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .required("field")
        .required("code")
        .required("message");
    OneOfBuilder::new()
        .item(ArrayBuilder::new().items(field))
        .item(ObjectBuilder::new().schema_type(Type::Object))
        .build()
        .into()
}

/// Renders an error envelope for `status`. Used for handler errors and for the bodiless
/// errors that routing and middleware produce.
pub fn envelope(
    status: StatusCode,
    code: &str,
    message: String,
    details: Option<serde_json::Value>,
) -> Response {
    let body = ErrorEnvelope {
        error: ErrorBody {
            code: code.to_owned(),
            message,
            details,
            request_id: request_id::current().unwrap_or_default(),
        },
    };
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        envelope(status, code, self.user_message(), self.details())
    }
}

impl ApiError {
    /// The sentence shown to the person or client: what went wrong and, where it helps,
    /// what to do. Internal failures say nothing of their cause.
    pub fn user_message(&self) -> String {
        match self {
            ApiError::Domain(DomainError::Validation(fields)) => summarise(fields),
            other => other.to_string(),
        }
    }
}

fn summarise(fields: &[FieldError]) -> String {
    match fields {
        [one] => format!("{}: {}", one.field, one.message),
        many => format!("{} fields are invalid", many.len()),
    }
}
