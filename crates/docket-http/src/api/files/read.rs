//! `GET /api/v1/files`, `GET /api/v1/files/{id}`, `GET /api/v1/files/{id}/content` and
//! `GET /api/v1/requests/{id}/files`: listing, reading and downloading files.

use super::{file_of, FileList, FileView};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiQuery, PathId};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use docket_domain::access::{Principal, Scope};
use docket_domain::file::FileId;
use docket_domain::ids::RequestId;
use docket_domain::query::{DEFAULT_LIMIT, MAX_LIMIT};
use docket_domain::DomainError;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only the files attached to this request.
    #[param(value_type = Option<String>, format = Uuid)]
    pub request_id: Option<RequestId>,
    /// 1 to 100; 25 by default.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 100; 25 by default.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/files", tag = "files", params(ListParams),
    responses(
        (status = 200, description = "The workspace's files, oldest first", body = FileList),
        (status = 400, description = "A parameter does not parse", body = crate::error::ErrorEnvelope),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<FileList>, ApiError> {
    p.require(Scope::FilesRead)?;
    page(&state, &p, params.request_id, params.limit, params.cursor).await
}

#[utoipa::path(get, operation_id = "list_on_request", path = "/api/v1/requests/{id}/files", tag = "files",
    params(("id" = String, Path), PageParams),
    responses(
        (status = 200, description = "The request's files, oldest first", body = FileList),
        (status = 404, description = "No such request", body = crate::error::ErrorEnvelope),
    ))]
pub async fn list_on_request(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<FileList>, ApiError> {
    p.require(Scope::FilesRead)?;
    crate::ops::reads::get_request(&state, &p, id)
        .await?
        .ok_or(DomainError::NotFound("request"))?;
    page(&state, &p, Some(id), params.limit, params.cursor).await
}

async fn page(
    state: &AppState,
    p: &Principal,
    request: Option<RequestId>,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Json<FileList>, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit is from 1 to {MAX_LIMIT}"),
        ));
    }
    let after = cursor
        .map(|c| c.parse::<FileId>())
        .transpose()
        .map_err(|_| ApiError::bad_request("invalid_cursor", "not a cursor of this list"))?;
    let (files, more) = crate::ops::reads::list_files(state, p, request, after, limit).await?;
    let next_cursor = if more {
        files.last().map(|f| f.id.to_string())
    } else {
        None
    };
    Ok(Json(FileList {
        items: files.into_iter().map(|f| FileView::new(state, f)).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files", params(("id" = String, Path)),
    responses(
        (status = 200, description = "The file's record", body = FileView),
        (status = 404, description = "No such file", body = crate::error::ErrorEnvelope),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<FileId>,
) -> Result<Json<FileView>, ApiError> {
    p.require(Scope::FilesRead)?;
    let file = file_of(&state, &p, id).await?;
    Ok(Json(FileView::new(&state, file)))
}

#[utoipa::path(get, path = "/api/v1/files/{id}/content", tag = "files", params(("id" = String, Path)),
    responses(
        (status = 200, description = "The bytes, streamed, as an attachment of the sniffed type, with `Content-Length`, `ETag` (the SHA-256) and `X-Content-Type-Options: nosniff`",
            content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "`not_found`, or `file_missing` when the record's bytes are not in the store", body = crate::error::ErrorEnvelope),
    ))]
pub async fn content(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<FileId>,
) -> Result<Response, ApiError> {
    p.require(Scope::FilesRead)?;
    let file = file_of(&state, &p, id).await?;
    crate::files::download(&state, &file).await
}
