//! Docket's HTTP server.
//!
//! Layout:
//! - [`app`]: state, the router of all features with its middleware, and [`launch`].
//! - [`api`]: the native REST API under `/api/v1`, one module per feature (requests,
//!   request types, members, tokens, me); each owns its router and its wire types.
//! - [`files`]: the file service (uploads into the blob store, downloads, signed URLs),
//!   shared by the native API, the web desk and the recipient portal.
//! - [`compat`]: the published APIs of other products (Open Notes, ServerOps, Storyden,
//!   Collect, Gipper), served as thin translations onto the same requests, one module per
//!   product.
//! - [`desk`]: the web desk, server-rendered pages for members (sign-in, dashboard,
//!   list, board, request page, settings).
//! - [`portal`]: the recipient portal at `/p/{token}`, for people without an account.
//! - [`auth`]: bearer tokens to a `Principal`.
//! - [`middleware`]: request ids, rate limits, idempotency keys.
//! - [`error`], [`extract`]: the one API error type and the extractors that parse input.
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers, and `/docs`.
//! - [`bootstrap`]: first-start workspace creation.
//! - [`mail`]: the mailers (SMTP, or a folder).
//! - [`serve`]: the connection loop (header-read timeout, connection cap, draining).
//! - [`workers`]: background work beside the server (webhook delivery).

pub mod api;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod compat;
pub mod desk;
pub mod error;
pub mod extract;
pub mod files;
pub mod health;
pub mod listing;
pub mod mail;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod portal;
mod portal_files;
mod portal_items;
pub mod serve;
pub mod settings;
pub mod state;
pub mod time;
pub mod views;
pub mod workers;

pub use app::{launch, router};
pub use settings::Settings;
pub use state::AppState;
