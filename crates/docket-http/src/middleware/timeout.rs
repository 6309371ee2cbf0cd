//! The whole-request timeout: a request still running after `request_timeout_secs` is
//! abandoned with 408 `timeout`. Uploads are the exception: they take as long as their
//! body keeps arriving, and time out when it stalls instead (see `files::receive`).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

pub async fn layer(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let streamed = crate::files::streams_request_body(req.method(), req.uri().path());
    if streamed {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        // Bodiless: `request_id` gives it the error envelope.
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}
