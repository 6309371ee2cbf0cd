//! Assembling the server: state, the router of every feature, middleware, and `launch`.
//!
//! `launch(settings, store, listener, shutdown)` is the whole server; the binary and the
//! tests both call it, the tests on a port-0 listener.

use crate::error::ApiError;
use crate::middleware::{idempotency, rate_limit, request_id};
use crate::settings::Settings;
use crate::{api, health, openapi};
use axum::extract::DefaultBodyLimit;
use axum::Router;
use docket_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    settings: Settings,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        BODY_LIMIT.store(settings.body_limit_bytes, Ordering::Relaxed);
        Self { inner: Arc::new(Inner { store, settings }) }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }
}

/// The configured body limit, readable where the state is not at hand (error messages).
static BODY_LIMIT: AtomicUsize = AtomicUsize::new(1024 * 1024);

pub fn body_limit() -> usize {
    BODY_LIMIT.load(Ordering::Relaxed)
}

/// Every route with its middleware, and the OpenAPI document generated from them.
pub fn router(state: AppState) -> Router {
    let (api, document) = openapi::split(api::router());
    let limit = rate_limit::RateLimit::new(state.settings().rate_limit_per_second, state.settings().rate_limit_burst);
    let sweeper = limit.clone();
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                sweeper.sweep();
            }
        });
    }
    let api = api
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .layer(axum::middleware::from_fn_with_state(limit, rate_limit::layer));
    Router::new()
        .merge(api)
        .merge(health::router())
        .merge(openapi::router(document))
        .fallback(|| async { ApiError::NoRoute })
        .layer(DefaultBodyLimit::max(state.settings().body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, state.settings().request_timeout()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(&request_id::X_REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("http", http.method = %req.method(), http.path = %req.uri().path(), request.id = %id)
        }))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests.
pub async fn launch(
    settings: Settings,
    store: Arc<dyn Store>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(AppState::new(store, settings));
    tracing::info!(address = %listener.local_addr()?, "docket is serving");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("docket stopped serving");
    Ok(())
}
