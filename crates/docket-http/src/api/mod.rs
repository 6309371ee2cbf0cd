//! The native API, served under `/api/v1`: one module per feature, each with its router.

pub mod email_templates;
pub mod events;
pub mod files;
pub mod me;
pub mod members;
pub mod request_types;
pub mod requests;
pub(crate) mod time;
pub mod tokens;
pub mod webhooks;

use crate::app::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .merge(requests::router())
        .merge(request_types::router())
        .merge(members::router())
        .merge(tokens::router())
        .merge(me::router())
        .merge(events::router())
        .merge(webhooks::router())
        .merge(email_templates::router())
        .merge(files::router());
    OpenApiRouter::new().nest("/api/v1", v1)
}
