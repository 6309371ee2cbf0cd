//! The published APIs of other request products, served beside Docket's own so that their
//! existing clients work unchanged.
//!
//! Each product is one module with its own router, wire types, error body and credential
//! extractor. None has storage or rules of its own: a product's request is a Docket
//! request of a built-in type whose workflow holds the product's statuses and rules, read
//! and changed through the same `Store` calls and `plan_*` functions as the native API, so
//! it has one timeline and is visible at `/api/v1/requests/{id}`.
//!
//! Shared by the products: `builtin` (the built-in request types, created on first use),
//! `body` (reading a JSON body into a typed value, failures described for the product's
//! own error format) and `listing` (walking a type's requests for the products that
//! paginate by page number).

mod body;
mod builtin;
pub mod collect;
pub mod gipper;
mod listing;
pub mod opennotes;
pub mod serverops;
pub mod storyden;

use crate::middleware::rate_limit::{self, RateLimit};
use crate::state::AppState;
use axum::Router;

/// Every product's routes. Each credential has one rate budget across all the APIs.
/// Open Notes, ServerOps and Storyden answer 429 in their own error body; Collect and
/// Gipper document the status but no body, so theirs is the native envelope.
pub fn router(state: &AppState, limit: &RateLimit) -> Router<AppState> {
    let documented_status_only = Router::new()
        .merge(collect::router(state))
        .merge(gipper::router())
        .layer(axum::middleware::from_fn_with_state(
            limit.clone(),
            rate_limit::layer,
        ));
    Router::new()
        .merge(documented_status_only)
        .merge(opennotes::router(limit))
        .merge(serverops::router(state, limit))
        .merge(storyden::router(limit))
}
