//! Per-credential rate limiting with `X-RateLimit-*` headers and 429 + `Retry-After`.
//!
//! The key is a hash of the credential the client presented (or of its address when it
//! presented none), so limiting needs no database lookup and runs before authentication.
//! The limiter is the GCRA of the `governor` crate: a steady rate with a burst allowance.

use crate::error::envelope;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

type Limiter = RateLimiter<
    [u8; 32],
    DefaultKeyedStateStore<[u8; 32]>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// Renders the 429 for a client that must wait `secs` seconds; each API speaks its own
/// error format (see `compat/`), the native one is the default.
pub type Rejection = fn(secs: u64) -> Response;

#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<Limiter>,
    per_second: u32,
    burst: u32,
    reject: Rejection,
}

impl RateLimit {
    pub fn new(per_second: u32, burst: u32) -> Self {
        let per_second = per_second.max(1);
        let burst = burst.max(1);
        let quota = Quota::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        let limiter =
            Arc::new(RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>());
        Self {
            limiter,
            per_second,
            burst,
            reject: native_rejection,
        }
    }

    /// The same limiter (the same buckets: a credential has one budget across every API),
    /// answering 429 with `reject`.
    pub fn rejecting_with(&self, reject: Rejection) -> Self {
        Self {
            reject,
            ..self.clone()
        }
    }

    /// Forgets idle keys; run periodically so presented junk credentials do not pile up.
    pub fn sweep(&self) {
        self.limiter.retain_recent();
    }
}

/// The identity a client is limited under: its credential, whatever the header it came in.
pub fn client_key(headers: &HeaderMap, peer: Option<SocketAddr>) -> [u8; 32] {
    let credential = ["authorization", "x-api-key", "authentication", "cookie"]
        .iter()
        .find_map(|h| headers.get(*h))
        .map(|v| v.as_bytes().to_vec());
    let mut h = Sha256::new();
    match credential {
        Some(c) => h.update(&c),
        None => h.update(
            peer.map(|p| p.ip().to_string())
                .unwrap_or_default()
                .as_bytes(),
        ),
    }
    h.finalize().into()
}

/// The rate-limit layer: see [`RateLimit::check`].
pub async fn layer(State(limit): State<RateLimit>, req: Request, next: Next) -> Response {
    limit.check(req, |req| next.run(req)).await
}

impl RateLimit {
    /// Runs `inner` on `req` if its caller is within the limit and adds the rate-limit
    /// headers to the answer; otherwise answers 429 without running it. [`layer`] as a
    /// plain function, for a layer that does more than limit.
    pub async fn check<F, Fut>(&self, req: Request, inner: F) -> Response
    where
        F: FnOnce(Request) -> Fut,
        Fut: std::future::Future<Output = Response>,
    {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let key = client_key(req.headers(), peer);
        match self.limiter.check_key(&key) {
            Ok(snapshot) => {
                let mut response = inner(req).await;
                let remaining = snapshot.remaining_burst_capacity();
                // Seconds until the bucket is full again.
                let reset = (self.burst - remaining.min(self.burst)).div_ceil(self.per_second);
                headers(response.headers_mut(), self.burst, remaining, reset);
                response
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let mut response = (self.reject)(secs);
                let h = response.headers_mut();
                headers(h, self.burst, 0, secs as u32);
                h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
                response
            }
        }
    }
}

fn native_rejection(secs: u64) -> Response {
    envelope(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; retry in {secs} s"),
        None,
    )
}

// Names built once: a `&str` name is copied into a new allocation on every insert.
const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

fn headers(h: &mut HeaderMap, limit: u32, remaining: u32, reset: u32) {
    h.insert(LIMIT, HeaderValue::from(limit));
    h.insert(REMAINING, HeaderValue::from(remaining));
    h.insert(RESET, HeaderValue::from(reset));
}
