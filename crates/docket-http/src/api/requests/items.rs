//! Requested items: `/api/v1/requests/{id}/items` lists and adds them, `/items/{item_id}`
//! reads, edits, reviews and removes one, `/answer` answers one on the recipient's
//! behalf, `/submissions` lists its history, and `/send-back` returns the rejected items
//! to the recipient.

use super::{etag_header, RequestView};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{expected_version_of, ApiJson, ApiQuery, PathId};
use crate::ops::items::{self, Changed};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::Json;
use docket_domain::ids::{FileId, ItemId, RequestId};
use docket_domain::item::{AnswerType, Item, ItemAction, ItemInput, ItemKind, Submission, Verdict};
use docket_domain::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ItemList {
    pub items: Vec<Item>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SubmissionList {
    pub items: Vec<Submission>,
}

/// An edit of an item's definition, or a review (`state` and `reason`), not both.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9_-]+$")]
    pub key: Option<String>,
    /// The item's kind cannot change (422 `kind_fixed`).
    pub kind: Option<ItemKind>,
    #[schema(min_length = 1, max_length = 300)]
    pub label: Option<String>,
    #[schema(max_length = 5000)]
    pub instructions: Option<String>,
    pub required: Option<bool>,
    pub auto_approve: Option<bool>,
    #[schema(max_items = 20)]
    pub allowed_types: Option<Vec<String>>,
    #[schema(minimum = 1, maximum = 20)]
    pub max_files: Option<u32>,
    pub answer_type: Option<AnswerType>,
    /// Moves the item among the request's items (from 0).
    pub position: Option<u32>,
    /// A review: `approved`, `rejected` (with `reason`), or `submitted` to reopen a
    /// decided item.
    pub state: Option<ReviewState>,
    /// Why the item is rejected, for the recipient.
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    Rejected,
    Submitted,
}

impl ItemPatch {
    fn into_action(self, item: ItemId) -> Result<ItemAction, ApiError> {
        let edits = self.key.is_some()
            || self.kind.is_some()
            || self.label.is_some()
            || self.instructions.is_some()
            || self.required.is_some()
            || self.auto_approve.is_some()
            || self.allowed_types.is_some()
            || self.max_files.is_some()
            || self.answer_type.is_some()
            || self.position.is_some();
        match self.state {
            Some(_) if edits => Err(DomainError::invalid(
                "state",
                "mixed_change",
                "review an item and edit it in separate requests",
            )
            .into()),
            Some(state) => {
                let verdict = match (state, self.reason) {
                    (ReviewState::Approved, None) => Verdict::Approve,
                    (ReviewState::Rejected, reason) => Verdict::Reject(reason.unwrap_or_default()),
                    (ReviewState::Submitted, None) => Verdict::Reopen,
                    (_, Some(_)) => {
                        return Err(DomainError::invalid(
                            "reason",
                            "not_allowed",
                            "a reason goes with a rejection",
                        )
                        .into())
                    }
                };
                Ok(ItemAction::Review { item, verdict })
            }
            None if self.reason.is_some() => {
                Err(
                    DomainError::invalid("reason", "not_allowed", "a reason goes with a rejection")
                        .into(),
                )
            }
            None => Ok(ItemAction::Edit {
                item,
                input: ItemInput {
                    key: self.key,
                    kind: self.kind,
                    label: self.label,
                    instructions: self.instructions,
                    required: self.required,
                    auto_approve: self.auto_approve,
                    allowed_types: self.allowed_types,
                    max_files: self.max_files,
                    answer_type: self.answer_type,
                    position: self.position,
                },
            }),
        }
    }
}

/// An answer to a question, or files (already on the request) for a document.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemAnswer {
    /// A question's answer: text, a number, `YYYY-MM-DD`, an email address, an option (an
    /// array of them when several may be picked), or `true`/`false`.
    #[schema(value_type = Option<Object>)]
    pub answer: Option<Value>,
    /// Files of the request for a document; they join the item's files unless it was
    /// rejected, when they replace them.
    #[schema(max_items = 20)]
    pub files: Option<Vec<FileId>>,
}

fn parse_ids(id: &str, item: &str) -> Result<(RequestId, ItemId), ApiError> {
    let id = id
        .parse()
        .map_err(|_| ApiError::Domain(DomainError::NotFound("request")))?;
    let item = item
        .parse()
        .map_err(|_| ApiError::Domain(DomainError::NotFound("item")))?;
    Ok((id, item))
}

/// The version an `If-Match` header names for `item`.
fn if_match_item(headers: &HeaderMap, item: ItemId) -> Option<i64> {
    expected_version_of(headers.get(header::IF_MATCH)?.to_str().ok()?, &item.0)
}

fn item_headers(item: &Item) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&item.etag()) {
        h.insert(header::ETAG, v);
    }
    h
}

fn answered(changed: &Changed, item: ItemId) -> Result<(HeaderMap, Json<Item>), ApiError> {
    let item = changed.item(item)?;
    Ok((item_headers(item), Json(item.clone())))
}

#[utoipa::path(get, operation_id = "list_items", path = "/api/v1/requests/{id}/items", tag = "items",
    params(("id" = String, Path)),
    responses((status = 200, description = "The request's items, in order", body = ItemList)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
) -> Result<Json<ItemList>, ApiError> {
    Ok(Json(ItemList {
        items: items::list(&state, &p, id).await?,
    }))
}

#[utoipa::path(post, operation_id = "add_item", path = "/api/v1/requests/{id}/items", tag = "items",
    params(("id" = String, Path)), request_body = ItemInput,
    responses(
        (status = 201, description = "Added", body = Item, headers(("ETag" = String), ("Location" = String))),
        (status = 403, description = "Only the requester, the assignee or requests:manage change items", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = crate::error::ErrorEnvelope),
    ))]
pub async fn add(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<ItemInput>,
) -> Result<(StatusCode, HeaderMap, Json<Item>), ApiError> {
    let item = ItemId::new();
    let action = ItemAction::Add {
        id: item,
        input: body,
    };
    let changed = items::change(&state, &p, id, action, None, Vec::new()).await?;
    let added = changed.item(item)?;
    let mut headers = item_headers(added);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/requests/{id}/items/{}", added.id)) {
        headers.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, headers, Json(added.clone())))
}

#[utoipa::path(get, operation_id = "get_item", path = "/api/v1/requests/{id}/items/{item_id}", tag = "items",
    params(("id" = String, Path), ("item_id" = String, Path)),
    responses(
        (status = 200, description = "The item", body = Item, headers(("ETag" = String))),
        (status = 404, description = "No such item on this request", body = crate::error::ErrorEnvelope),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((id, item)): Path<(String, String)>,
) -> Result<(HeaderMap, Json<Item>), ApiError> {
    let (id, item) = parse_ids(&id, &item)?;
    let found = items::list(&state, &p, id)
        .await?
        .into_iter()
        .find(|i| i.id == item)
        .ok_or(DomainError::NotFound("item"))?;
    Ok((item_headers(&found), Json(found)))
}

#[utoipa::path(patch, operation_id = "change_item", path = "/api/v1/requests/{id}/items/{item_id}", tag = "items",
    params(("id" = String, Path), ("item_id" = String, Path), ("If-Match" = Option<String>, Header, description = "Apply only if the item still has this ETag: a review acts on the submission the reviewer saw")),
    request_body = ItemPatch,
    responses(
        (status = 200, description = "The item after the change", body = Item, headers(("ETag" = String))),
        (status = 403, description = "Not allowed (`forbidden`, `missing_scope`, `transition_forbidden`)", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such item on this request", body = crate::error::ErrorEnvelope),
        (status = 409, description = "`item_not_submitted`, `not_answerable`", body = crate::error::ErrorEnvelope),
        (status = 412, description = "`precondition_failed`: the item changed since", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = crate::error::ErrorEnvelope),
    ))]
pub async fn change(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((id, item)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ItemPatch>,
) -> Result<(HeaderMap, Json<Item>), ApiError> {
    let (id, item) = parse_ids(&id, &item)?;
    let action = body.into_action(item)?;
    let expected = if_match_item(&headers, item);
    let changed = items::change(&state, &p, id, action, expected, Vec::new()).await?;
    answered(&changed, item)
}

#[utoipa::path(delete, operation_id = "remove_item", path = "/api/v1/requests/{id}/items/{item_id}", tag = "items",
    params(("id" = String, Path), ("item_id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses(
        (status = 204, description = "Removed; its submissions stay in the timeline"),
        (status = 404, description = "No such item on this request", body = crate::error::ErrorEnvelope),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((id, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (id, item) = parse_ids(&id, &item)?;
    let expected = if_match_item(&headers, item);
    items::change(
        &state,
        &p,
        id,
        ItemAction::Remove { item },
        expected,
        Vec::new(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, operation_id = "answer_item", path = "/api/v1/requests/{id}/items/{item_id}/answer", tag = "items",
    params(("id" = String, Path), ("item_id" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body = ItemAnswer,
    responses(
        (status = 200, description = "The item with its new submission", body = Item, headers(("ETag" = String))),
        (status = 409, description = "`item_approved` (reopen it first), `not_answerable` (a note)", body = crate::error::ErrorEnvelope),
        (status = 422, description = "The answer or a file does not fit the item (`invalid_answer`, `type_not_allowed`, `too_many_files`, ...)", body = crate::error::ErrorEnvelope),
    ))]
pub async fn answer(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((id, item)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ItemAnswer>,
) -> Result<(HeaderMap, Json<Item>), ApiError> {
    let (id, item) = parse_ids(&id, &item)?;
    let files = items::files(&state, &p, body.files.as_deref().unwrap_or_default()).await?;
    let action = ItemAction::Submit {
        item,
        answer: body.answer,
        files,
    };
    let expected = if_match_item(&headers, item);
    let changed = items::change(&state, &p, id, action, expected, Vec::new()).await?;
    answered(&changed, item)
}

/// Where an upload onto an item is named.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemUploadParams {
    /// The file's name (sanitised); otherwise the body's `Content-Disposition` filename.
    pub name: Option<String>,
}

#[utoipa::path(post, operation_id = "upload_to_item", path = "/api/v1/requests/{id}/items/{item_id}/files", tag = "items",
    params(("id" = String, Path), ("item_id" = String, Path), ItemUploadParams),
    request_body(description = "The file itself as the body (any content type: the type is sniffed from the bytes).", content(("application/octet-stream"))),
    responses(
        (status = 200, description = "Stored on the request and submitted to the item, in one write", body = Item, headers(("ETag" = String))),
        (status = 409, description = "`item_approved`, `not_answerable`", body = crate::error::ErrorEnvelope),
        (status = 413, description = "`file_too_large`", body = crate::error::ErrorEnvelope),
        (status = 415, description = "`unsupported_type`: the workspace does not take the type", body = crate::error::ErrorEnvelope),
        (status = 422, description = "The item does not take it (`type_not_allowed`, `too_many_files`)", body = crate::error::ErrorEnvelope),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((id, item)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<ItemUploadParams>,
    request: axum::extract::Request,
) -> Result<(HeaderMap, Json<Item>), ApiError> {
    let (id, item) = parse_ids(&id, &item)?;
    let headers = request.headers();
    let name = params
        .name
        .or_else(|| crate::api::files::upload::disposition_filename(headers))
        .unwrap_or_default();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = request.into_body().into_data_stream();
    let changed = items::upload(
        &state,
        items::Uploader::Staff(p),
        id,
        item,
        name,
        declared,
        body,
    )
    .await?;
    answered(&changed, item)
}

#[utoipa::path(get, operation_id = "list_submissions", path = "/api/v1/requests/{id}/items/{item_id}/submissions", tag = "items",
    params(("id" = String, Path), ("item_id" = String, Path)),
    responses((status = 200, description = "Every submission of the item, oldest first", body = SubmissionList)))]
pub async fn submissions(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((id, item)): Path<(String, String)>,
) -> Result<Json<SubmissionList>, ApiError> {
    let (id, item) = parse_ids(&id, &item)?;
    let (_, items) = items::history(&state, &p, id, item).await?;
    Ok(Json(SubmissionList { items }))
}

#[utoipa::path(post, operation_id = "send_back", path = "/api/v1/requests/{id}/send-back", tag = "items",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Sent back: the request moved back to the recipient where its workflow says, and the contact was emailed the rejected items", body = RequestView, headers(("ETag" = String))),
        (status = 409, description = "`nothing_rejected`", body = crate::error::ErrorEnvelope),
    ))]
pub async fn send_back(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
) -> Result<(HeaderMap, Json<RequestView>), ApiError> {
    let changed = items::change(&state, &p, id, ItemAction::SendBack, None, Vec::new()).await?;
    Ok((
        etag_header(&changed.request),
        Json(RequestView::new(changed.request)),
    ))
}
