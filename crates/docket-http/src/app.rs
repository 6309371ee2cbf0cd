//! Assembling the server: the router of every feature, middleware, and `launch`.
//!
//! `launch(settings, store, listener, shutdown)` is the whole server; the binary and the
//! tests both call it, the tests on a port-0 listener.

use crate::error::ApiError;
use crate::files::Blobs;
use crate::middleware::{idempotency, pages, rate_limit, request_id, timeout};
use crate::settings::Settings;
use crate::state::AppState;
use crate::{api, compat, desk, health, openapi, workers};
use anyhow::Context as _;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use docket_store::Store;
use rand::RngCore;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// Every route with its middleware, and the OpenAPI document generated from them.
pub fn router(state: AppState) -> Router {
    let (api, document) = openapi::split(api::router());
    let limit = rate_limit::RateLimit::new(
        state.settings().rate_limit_per_second,
        state.settings().rate_limit_burst,
    );
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
    // The rate limit, then idempotency, in one layer: each `from_fn` layer costs every
    // request a service clone and a boxed future.
    let api = api.layer(axum::middleware::from_fn_with_state(
        (state.clone(), limit.clone()),
        api_guards,
    ));
    // Signed download URLs carry no credential: limited by the caller's address.
    let signed_downloads = api::files::signed::public_router().layer(
        axum::middleware::from_fn_with_state(limit.clone(), rate_limit::layer),
    );
    let routes = Router::new()
        .merge(api)
        .merge(signed_downloads)
        .merge(compat::router(&state, &limit))
        .merge(desk::router().layer(axum::middleware::from_fn(pages::desk_headers)))
        .merge(crate::portal::router().layer(axum::middleware::from_fn(pages::portal_headers)))
        .merge(health::router())
        .merge(openapi::router(document))
        .fallback(|| async { ApiError::NoRoute })
        .with_state(state.clone());
    // Around the whole router, not `Router::layer`: that wraps every route in each layer
    // separately, and a request then clones the nested chain of boxed services once per
    // layer. Wrapping once, with the API routes no longer nested (`api::router`), cut the
    // server's CPU per `GET` and per status change by 7-10%.
    let around = tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn(request_id::layer))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(&request_id::X_REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            // A public link's token in the path is a credential: it is logged redacted.
            let path = pages::loggable_path(req.uri().path());
            tracing::info_span!("http", http.method = %req.method(), http.path = %path, request.id = %id)
        }))
        .layer(axum::middleware::from_fn_with_state(
            state.settings().request_timeout(),
            timeout::layer,
        ))
        .layer(DefaultBodyLimit::max(state.settings().body_limit_bytes))
        .service(routes);
    Router::new().fallback_service(around)
}

/// The native API's guards: the caller's rate limit, then `Idempotency-Key` on POSTs.
async fn api_guards(
    axum::extract::State((state, limit)): axum::extract::State<(AppState, rate_limit::RateLimit)>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    limit
        .check(req, |req| idempotency::guard(state, req, next))
        .await
}

/// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests.
pub async fn launch(
    settings: Settings,
    store: Arc<dyn Store>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut settings = settings;
    if settings.files.signing_key.is_none() {
        // Made by the first node to start, read by every other: a URL signed by one node
        // is good on all of them.
        let mut candidate = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut candidate);
        let key = store
            .server_secret(
                crate::files::SIGNING_KEY_NAME,
                candidate,
                docket_domain::now(),
            )
            .await
            .context("reading the download URL signing key")?;
        settings.files.signing_key = Some(key);
    }
    let blobs = Blobs::open(&settings.files)?;
    let state = AppState::new(store, settings, blobs);
    let app = router(state.clone());
    // One shutdown signal for the server and the workers.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut background = Vec::new();
    if state.settings().workers {
        background.push(tokio::spawn(workers::webhooks::run(
            state.clone(),
            stopping.clone(),
        )));
        background.push(tokio::spawn(workers::scheduler::run(
            state.clone(),
            stopping.clone(),
        )));
        if let Some(mail) = state.settings().mail.clone() {
            background.push(tokio::spawn(workers::mail::run(
                state.clone(),
                mail,
                stopping.clone(),
            )));
        }
    }
    let mut server_stopping = stopping;
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    tracing::info!(address = %listener.local_addr()?, "docket is serving");
    let limits = crate::serve::Limits {
        header_timeout: state.settings().header_timeout(),
        max_connections: state.settings().max_connections,
    };
    crate::serve::serve(listener, app, limits, async move {
        let _ = server_stopping.wait_for(|stop| *stop).await;
    })
    .await;
    for worker in background {
        let _ = worker.await;
    }
    tracing::info!("docket stopped serving");
    Ok(())
}
