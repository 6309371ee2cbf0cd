//! `GET /api/v1/requests`: filter, search, sort and page through requests.

use super::RequestView;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::listing::{to_query, ListParams, RequestList};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use docket_domain::access::Scope;

#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(ListParams),
    responses(
        (status = 200, description = "One page of requests", body = RequestList),
        (status = 400, description = "A parameter does not parse", body = crate::error::ErrorEnvelope),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<RequestList>, ApiError> {
    p.require(Scope::RequestsRead)?;
    let query = to_query(&p, params)?;
    let page = crate::ops::reads::list_requests(&state, &p, query.clone()).await?;
    let next_cursor = page.next.map(|c| c.encode(query.sort, query.direction));
    Ok(Json(RequestList {
        items: page.items.into_iter().map(RequestView::new).collect(),
        next_cursor,
    }))
}
