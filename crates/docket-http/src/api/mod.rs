//! The native API, served under `/api/v1`: one module per feature, each with its router.

pub mod email_templates;
pub mod events;
pub mod files;
pub mod me;
pub mod members;
pub mod request_types;
pub mod requests;
pub mod tokens;
pub mod webhooks;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Every handler's `#[utoipa::path]` names its full path, `/api/v1/...`, rather than the
/// router nesting them under the prefix: a nested route rewrites each request's URI to
/// strip the prefix, work every API call would pay for.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(requests::router())
        .merge(request_types::router())
        .merge(members::router())
        .merge(tokens::router())
        .merge(me::router())
        .merge(events::router())
        .merge(webhooks::router())
        .merge(email_templates::router())
        .merge(files::router())
}
