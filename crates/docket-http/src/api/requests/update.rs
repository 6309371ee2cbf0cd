//! `PATCH` and `DELETE /api/v1/requests/{id}`: change or soft-delete a request.

use super::{etag_header, RequestView};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{if_match_version, ApiJson, PathId};
use crate::state::AppState;
use crate::time::parse_instant;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use docket_domain::ids::{MemberId, RequestId};
use docket_domain::request::{check_visible, plan_delete, Patch, RequestPatch, Subject};
use docket_domain::workflow::StatusKey;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Only the fields named change. `null` clears `assignee_id`, `due_at` and `subject`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    /// Must be a transition the caller may take (see `/transitions`).
    pub status: Option<StatusKey>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub assignee_id: Patch<MemberId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub due_at: Patch<String>,
    /// Merged into the request's data; a key set to `null` is removed.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
    /// Replaces the tags: at most 20, each 1 to 50 characters.
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Subject>)]
    pub subject: Patch<Subject>,
}

impl UpdateRequest {
    /// The change this body asks for (a date-only `due_at` is the end of that day).
    pub fn into_patch(self) -> Result<RequestPatch, ApiError> {
        let due_at = match self.due_at {
            Patch::Set(d) => Patch::Set(parse_instant("due_at", &d)?),
            Patch::Clear => Patch::Clear,
            Patch::Keep => Patch::Keep,
        };
        Ok(RequestPatch {
            title: self.title,
            description: self.description,
            status: self.status,
            assignee_id: self.assignee_id,
            due_at,
            data: self.data,
            tags: self.tags,
            subject: self.subject,
        })
    }
}

#[utoipa::path(patch, path = "/api/v1/requests/{id}", tag = "requests", request_body = UpdateRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Apply only if the request still has this ETag")),
    responses(
        (status = 200, description = "The request after the change", body = RequestView, headers(("ETag" = String))),
        (status = 403, description = "Not allowed (`forbidden`, `missing_scope`, `transition_forbidden`)", body = crate::error::ErrorEnvelope),
        (status = 409, description = "`invalid_transition`", body = crate::error::ErrorEnvelope),
        (status = 412, description = "`precondition_failed`: the ETag is stale", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = crate::error::ErrorEnvelope),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<UpdateRequest>,
) -> Result<(HeaderMap, Json<RequestView>), ApiError> {
    let expected = if_match_version(&headers, &id);
    let request =
        crate::ops::requests::update(&state, &p, id, body.into_patch()?, expected).await?;
    Ok((etag_header(&request), Json(RequestView::new(request))))
}

#[utoipa::path(delete, path = "/api/v1/requests/{id}", tag = "requests",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses(
        (status = 204, description = "Deleted; the timeline keeps the deletion"),
        (status = 403, description = "Only the requester or a manager may delete", body = crate::error::ErrorEnvelope),
        (status = 410, description = "Already deleted", body = crate::error::ErrorEnvelope),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
    headers: HeaderMap,
) -> Result<axum::http::StatusCode, ApiError> {
    let expected = if_match_version(&headers, &id);
    let now = docket_domain::now();
    state
        .store()
        .change_request(
            p.workspace_id,
            id,
            Box::new(move |current, t| {
                check_visible(&p, current, &t.workflow)?;
                plan_delete(&p, current, expected, now).map(Some)
            }),
        )
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
