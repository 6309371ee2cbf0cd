//! Open Notes' error body: JSON:API errors, `application/vnd.api+json`.
//!
//! `{"errors": [{"status": "422", "title": "Unprocessable Entity", "detail": "…",
//! "source": {"pointer": "/data/attributes/request_id"}}], "jsonapi": {"version": "1.1"}}`

use crate::compat::body::BodyError;
use crate::error::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use docket_domain::DomainError;
use docket_store::StoreError;
use serde::Serialize;
use serde_json::json;

pub const JSON_API: &str = "application/vnd.api+json";

/// Every way an Open Notes call fails, with the status each answers.
#[derive(Debug)]
pub enum OpenNotesError {
    /// 401: no credential, or an unknown, revoked or expired one.
    Unauthorized(&'static str),
    /// 403: the caller may not do this (role, scope or workflow).
    Forbidden(String),
    /// 404: no such request (or not an Open Notes request).
    NotFound,
    /// 405: the route exists but not with this method (there is no DELETE).
    MethodNotAllowed,
    /// 409: a duplicate `request_id`, or a body `data.id` that is not the URL's.
    Conflict(String),
    /// 413: the body is larger than the server accepts.
    TooLarge(String),
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 422: input that does not parse or breaks a rule; one error per problem.
    Invalid(Vec<Problem>),
    /// 500: logged here, never described to the client.
    Internal(anyhow::Error),
}

/// One invalid input: where (`source.pointer` for the body, `source.parameter` for the
/// query or path) and why.
#[derive(Debug)]
pub struct Problem {
    pub source: Source,
    pub detail: String,
}

#[derive(Debug)]
pub enum Source {
    Pointer(String),
    Parameter(String),
}

impl OpenNotesError {
    pub fn invalid_field(pointer: &str, detail: impl Into<String>) -> Self {
        OpenNotesError::Invalid(vec![Problem {
            source: Source::Pointer(pointer.to_owned()),
            detail: detail.into(),
        }])
    }

    pub fn invalid_parameter(name: &str, detail: impl Into<String>) -> Self {
        OpenNotesError::Invalid(vec![Problem {
            source: Source::Parameter(name.to_owned()),
            detail: detail.into(),
        }])
    }
}

impl From<BodyError> for OpenNotesError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::NotJson => OpenNotesError::UnsupportedMediaType,
            BodyError::TooLarge { .. } => OpenNotesError::TooLarge(e.message()),
            BodyError::Syntax(_) => OpenNotesError::invalid_field("", e.message()),
            BodyError::Shape {
                ref pointer,
                ref message,
            } => OpenNotesError::invalid_field(pointer, message.clone()),
        }
    }
}

impl From<DomainError> for OpenNotesError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(fields) => OpenNotesError::Invalid(
                fields
                    .into_iter()
                    .map(|f| Problem {
                        source: Source::Pointer(super::pointer_of(&f.field)),
                        detail: f.message,
                    })
                    .collect(),
            ),
            DomainError::NotFound(_) | DomainError::Gone => OpenNotesError::NotFound,
            DomainError::Forbidden(_)
            | DomainError::MissingScope(_)
            | DomainError::TransitionForbidden { .. } => OpenNotesError::Forbidden(e.to_string()),
            DomainError::InvalidTransition { .. }
            | DomainError::PreconditionFailed { .. }
            | DomainError::Conflict { .. } => OpenNotesError::Conflict(e.to_string()),
        }
    }
}

impl From<StoreError> for OpenNotesError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::Internal(e) => OpenNotesError::Internal(e),
        }
    }
}

impl From<ApiError> for OpenNotesError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Domain(d) => d.into(),
            ApiError::Unauthorized(m) => OpenNotesError::Unauthorized(m),
            ApiError::Internal(e) => OpenNotesError::Internal(e),
            other => OpenNotesError::Internal(anyhow::anyhow!("unexpected error: {other}")),
        }
    }
}

#[derive(Serialize)]
struct ErrorObject {
    status: String,
    title: &'static str,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<serde_json::Value>,
}

impl IntoResponse for OpenNotesError {
    fn into_response(self) -> Response {
        let (status, problems) = match self {
            OpenNotesError::Unauthorized(m) => {
                (StatusCode::UNAUTHORIZED, vec![(m.to_owned(), None)])
            }
            OpenNotesError::Forbidden(m) => (StatusCode::FORBIDDEN, vec![(m, None)]),
            OpenNotesError::NotFound => (
                StatusCode::NOT_FOUND,
                vec![("request not found".to_owned(), None)],
            ),
            OpenNotesError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                vec![("this route does not accept that method".to_owned(), None)],
            ),
            OpenNotesError::Conflict(m) => (StatusCode::CONFLICT, vec![(m, None)]),
            OpenNotesError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, vec![(m, None)]),
            OpenNotesError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                vec![(
                    "send the body as application/vnd.api+json or application/json".to_owned(),
                    None,
                )],
            ),
            OpenNotesError::Invalid(problems) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                problems
                    .into_iter()
                    .map(|p| {
                        let source = match p.source {
                            Source::Pointer(ptr) => json!({ "pointer": ptr }),
                            Source::Parameter(name) => json!({ "parameter": name }),
                        };
                        (p.detail, Some(source))
                    })
                    .collect(),
            ),
            OpenNotesError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    vec![("an unexpected error occurred".to_owned(), None)],
                )
            }
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let errors: Vec<ErrorObject> = problems
            .into_iter()
            .map(|(detail, source)| ErrorObject {
                status: status.as_u16().to_string(),
                title,
                detail,
                source,
            })
            .collect();
        let body = json!({ "errors": errors, "jsonapi": { "version": "1.1" } });
        let mut response = (status, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The 429 of the rate limiter, in Open Notes' format.
pub fn rate_limited(secs: u64) -> Response {
    let body = json!({
        "errors": [{ "status": "429", "title": "Too Many Requests", "detail": format!("too many requests; retry in {secs} s") }],
        "jsonapi": { "version": "1.1" },
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
    response
}
