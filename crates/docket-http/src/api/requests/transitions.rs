//! `GET /api/v1/requests/{id}/transitions`: where the caller may move a request now, and
//! for every other status, why not.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::PathId;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use docket_domain::ids::RequestId;

pub use crate::views::Transitions;

#[utoipa::path(get, path = "/api/v1/requests/{id}/transitions", tag = "requests", params(("id" = String, Path)),
    responses((status = 200, description = "Available and unavailable moves", body = Transitions)))]
pub async fn transitions(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
) -> Result<Json<Transitions>, ApiError> {
    Ok(Json(crate::ops::reads::transitions(&state, &p, id).await?))
}
