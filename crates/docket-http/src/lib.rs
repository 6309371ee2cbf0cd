//! Docket's HTTP server.
//!
//! Layout:
//! - [`app`]: state, the router of all features with its middleware, and [`launch`].
//! - [`api`]: the native REST API under `/api/v1`, one module per feature (requests,
//!   request types, members, tokens, me); each owns its router and its wire types.
//! - [`auth`]: bearer tokens to a `Principal`.
//! - [`middleware`]: request ids, rate limits, idempotency keys.
//! - [`error`], [`extract`]: the one API error type and the extractors that parse input.
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers, and `/docs`.
//! - [`bootstrap`]: first-start workspace creation.

pub mod api;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod error;
pub mod extract;
pub mod health;
pub mod middleware;
pub mod openapi;
pub mod settings;

pub use app::{launch, router, AppState};
pub use settings::Settings;
