//! `GET /api/v1/requests/{id}`: one request, with `ETag` and `If-None-Match`.

use super::{etag_header, RequestView};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::PathId;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::ids::RequestId;
use docket_domain::DomainError;

#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests",
    params(("id" = String, Path, description = "Request id"), ("If-None-Match" = Option<String>, Header)),
    responses(
        (status = 200, description = "The request", body = RequestView, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such request in this workspace", body = crate::error::ErrorEnvelope),
        (status = 410, description = "Deleted", body = crate::error::ErrorEnvelope),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    p.require(Scope::RequestsRead)?;
    let request = crate::ops::reads::get_request(&state, &p, id)
        .await?
        .ok_or(DomainError::NotFound("request"))?;
    if request.deleted_at.is_some() {
        return Err(DomainError::Gone.into());
    }
    let etag = request.etag();
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, etag_header(&request)).into_response());
    }
    Ok((etag_header(&request), Json(RequestView::new(request))).into_response())
}
