//! `Idempotency-Key` on POST: a retried request gets the first response again.
//!
//! The key is scoped by the credential that sent it. The first request claims the key in
//! the database before it runs (so two nodes cannot both run it), then stores its response.
//! The same key with the same method, path and body replays the stored response (marked
//! `Idempotent-Replayed: true`); with a different request it is 422
//! `idempotency_key_reused`; while the first is still running it is 409
//! `idempotency_key_in_use`. Server errors and refusals that do not depend on the request
//! (401, 408, 429) release the key so the retry runs for real.

use crate::error::ApiError;
use crate::middleware::rate_limit::client_key;
use crate::state::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use docket_store::{IdempotencyClaim, StoredResponse};
use sha2::{Digest, Sha256};

/// Headers besides `Content-Type` that a replay sends again, because clients act on them.
const REPLAYED_HEADERS: [header::HeaderName; 3] =
    [header::LOCATION, header::ETAG, header::LAST_MODIFIED];

/// Runs `next` under the request's `Idempotency-Key`, if it is a POST that has one; called
/// by the native API's guard layer (`app::api_guards`) after the rate limit.
pub async fn guard(state: AppState, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key").cloned() else {
        return next.run(req).await;
    };
    // An upload's body streams to the blob store and is never buffered, so it cannot be
    // fingerprinted: the key is ignored there (a retried upload stores a second file).
    let streamed = crate::files::streams_request_body(req.method(), req.uri().path());
    if streamed {
        return next.run(req).await;
    }
    match run(state, key, req, next).await {
        Ok(r) | Err(r) => r,
    }
}

/// `route` with `Idempotency-Key` honoured on its POST (see [`layer`]).
pub fn keyed(
    state: &AppState,
    route: axum::routing::MethodRouter<AppState>,
) -> axum::routing::MethodRouter<AppState> {
    route.layer(axum::middleware::from_fn_with_state(state.clone(), layer))
}

/// [`guard`] as a layer of its own, for the product APIs whose create routes honour
/// `Idempotency-Key` (Collect's `POST /v1/request`, ServerOps' `POST /cases`).
pub async fn layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    guard(state, req, next).await
}

async fn run(
    state: AppState,
    key: HeaderValue,
    req: Request,
    next: Next,
) -> Result<Response, Response> {
    let key = key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "an Idempotency-Key has 1-255 visible ASCII characters",
            )
            .into_response()
        })?
        .to_owned();
    let scope = client_key(req.headers(), None);
    let (parts, body) = req.into_parts();
    let limit = state.settings().body_limit_bytes;
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit }.into_response())?;
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b" ");
    h.update(parts.uri.to_string().as_bytes());
    h.update(b"\n");
    h.update(&bytes);
    let fingerprint: [u8; 32] = h.finalize().into();

    let store = state.store();
    match store
        .idempotency_claim(scope, &key, fingerprint, docket_domain::now())
        .await
        .map_err(|e| ApiError::from(e).into_response())?
    {
        IdempotencyClaim::Replay(stored) => {
            let mut response = Response::new(Body::from(stored.body));
            *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            let headers = std::iter::once((
                header::CONTENT_TYPE.as_str().to_owned(),
                stored.content_type,
            ))
            .chain(stored.headers);
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(response);
        }
        IdempotencyClaim::Mismatch => return Err(ApiError::IdempotencyMismatch.into_response()),
        IdempotencyClaim::InFlight => return Err(ApiError::IdempotencyInFlight.into_response()),
        IdempotencyClaim::New => {}
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    let transient = status.is_server_error()
        || matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
        );
    if transient {
        if let Err(e) = store.idempotency_release(scope, &key).await {
            tracing::error!(error = %e, "could not release an idempotency key");
        }
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = match to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => {
            return Ok(
                ApiError::Internal(anyhow::anyhow!("could not buffer a response: {e}"))
                    .into_response(),
            )
        }
    };
    let header_text = |name: &header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        content_type: header_text(&header::CONTENT_TYPE).unwrap_or_default(),
        headers: REPLAYED_HEADERS
            .iter()
            .filter_map(|name| Some((name.as_str().to_owned(), header_text(name)?)))
            .collect(),
        body: bytes.to_vec(),
    };
    if let Err(e) = store.idempotency_complete(scope, &key, stored).await {
        tracing::error!(error = %e, "could not store an idempotent response");
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
