//! `GET /api/v1/requests/{id}/timeline`: every change to a request, oldest first.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiQuery, PathId};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::event::Event;
use docket_domain::ids::RequestId;
use docket_domain::query::MAX_LIMIT;
use docket_domain::DomainError;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// 1 to 100; 100 by default.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Timeline {
    pub items: Vec<Event>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/timeline", tag = "requests", params(("id" = String, Path), TimelineParams),
    responses((status = 200, description = "Events, oldest first", body = Timeline)))]
pub async fn timeline(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
    ApiQuery(params): ApiQuery<TimelineParams>,
) -> Result<Json<Timeline>, ApiError> {
    p.require(Scope::RequestsRead)?;
    let limit = params.limit.unwrap_or(MAX_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let after = params
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                ApiError::bad_request(
                    "invalid_cursor",
                    "the cursor is not one this list handed out",
                )
            })
        })
        .transpose()?;
    crate::ops::reads::get_request(&state, &p, id)
        .await?
        .ok_or(DomainError::NotFound("request"))?;
    let items = state
        .store()
        .timeline(p.workspace_id, id, after, limit + 1)
        .await?;
    Ok(Json(page(items, limit)))
}

pub fn page(mut items: Vec<Event>, limit: u32) -> Timeline {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Timeline { items, next_cursor }
}
