//! `X-Request-Id` on every response, and error envelopes for bodiless errors.
//!
//! The id is the client's (when it sent a sane one) or a fresh UUIDv7. It is kept in a
//! task-local for the request's lifetime so that any error rendered anywhere can quote it,
//! and it is attached to the request's tracing span.

use crate::error::envelope;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled on this task, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn sane(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| s.to_owned())
}

pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(sane)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    let mut response = REQUEST_ID
        .scope(id.clone(), async move {
            envelope_bodiless_errors(next.run(req).await)
        })
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    response
}

/// Routing and tower layers answer some errors with no body (405, 408, 413); give them
/// the same envelope as every other error.
fn envelope_bodiless_errors(response: Response) -> Response {
    let status = response.status();
    if status.as_u16() < 400 || response.headers().contains_key(header::CONTENT_TYPE) {
        return response;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not accept that method",
        ),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long and was abandoned"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        _ if status.is_server_error() => ("internal", "internal error"),
        _ => ("bad_request", "the request could not be handled"),
    };
    let mut out = REQUEST_ID.sync_scope(current().unwrap_or_default(), || {
        envelope(status, code, message.to_owned(), None)
    });
    for (name, value) in response.headers() {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
