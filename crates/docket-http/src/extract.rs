//! Extractors that parse input at the edge and fail with the API's own errors.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use docket_domain::FieldError;
use serde::de::DeserializeOwned;

/// A JSON body: 415 without a JSON content type, 413 when too large, 400 `invalid_json`
/// when it does not parse, and 422 `validation_failed` naming the field when a value has
/// the wrong type or a field is unknown.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = state.settings().body_limit_bytes;
        if declares_more_than(req.headers(), limit) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| body_error(e, limit))?;
        if is_array(&bytes) {
            return Err(ApiError::Domain(docket_domain::DomainError::invalid(
                "body",
                "invalid_type",
                "the body must be a JSON object",
            )));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

/// Whether a JSON body is an array: every body Docket and the products take is an
/// object, and serde would otherwise read a struct from an array of its fields
/// (`[null, null]`).
pub fn is_array(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// Whether the body's declared `Content-Length` is over `limit`: answered at once, without
/// waiting for a body that may never come.
pub fn declares_more_than(headers: &axum::http::HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// Parses JSON with the path of the failing field, for precise 422 details. The body must
/// be one JSON value and nothing after it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(
                "invalid_json",
                format!("the body is not valid JSON: {inner}"),
            )
        } else {
            let field = if path == "." { "body".to_owned() } else { path };
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            ApiError::Domain(docket_domain::DomainError::Validation(vec![
                FieldError::new(field, "invalid", message),
            ]))
        }
    })?;
    de.end().map_err(|e| {
        ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
    })?;
    Ok(value)
}

/// The error for a body that could not be read; `limit` is the server's body limit.
pub fn body_error(e: BytesRejection, limit: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge { limit }
    } else {
        ApiError::bad_request("invalid_body", e.body_text())
    }
}

/// Query parameters; 400 `invalid_query` naming the parameter when one does not parse.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                ApiError::bad_request(
                    "invalid_query",
                    format!("query parameter {path}: {}", e.into_inner()),
                )
            })
    }
}

/// A path parameter that must parse as `T` (an id); anything else is a 404, since no
/// resource can have that name.
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: std::str::FromStr + Send> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NoRoute)?;
        raw.parse()
            .map(PathId)
            .map_err(|_| ApiError::Domain(docket_domain::DomainError::NotFound("resource")))
    }
}

/// The version an `If-Match` header names, if any. A tag for another resource or in
/// another form can never match, so it becomes an impossible version.
pub fn if_match_version(
    headers: &axum::http::HeaderMap,
    id: &docket_domain::ids::RequestId,
) -> Option<i64> {
    expected_version(headers.get(header::IF_MATCH)?.to_str().ok()?, id)
}

/// The version an `If-Match` value (one ETag, several, or `*`) names for request `id`,
/// as [`if_match_version`] reads it; the desk's forms carry the ETag they were shown.
pub fn expected_version(raw: &str, id: &docket_domain::ids::RequestId) -> Option<i64> {
    expected_version_of(raw, &id.0)
}

/// The version an `If-Match` value names for the entity `id` (a request, an item): its
/// ETags are `"<id, simple>-<version>"`; `None` for `*`, `-1` (never current) for a value
/// naming another entity.
pub fn expected_version_of(raw: &str, id: &uuid::Uuid) -> Option<i64> {
    let raw = raw.trim();
    if raw == "*" {
        return None;
    }
    let prefix = format!("\"{}-", id.simple());
    Some(
        raw.split(',')
            .map(str::trim)
            .find_map(|tag| tag.strip_prefix(&prefix)?.strip_suffix('"')?.parse().ok())
            .unwrap_or(-1),
    )
}
