//! `PUT` and `DELETE /api/v1/requests/{id}/files/{file_id}` (attach an existing file to a
//! request, take it off) and `DELETE /api/v1/files/{id}` (delete a file and its bytes).
//! Each change to a request's files is recorded on its timeline in the same transaction.

use super::{file_of, FileView};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::PathId;
use crate::ops::reads::live_request;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use docket_domain::access::Principal;
use docket_domain::event::Actor;
use docket_domain::file::{check_may_attach, check_may_delete, FileId};
use docket_domain::ids::RequestId;
use docket_domain::DomainError;

fn actor(p: &Principal) -> Actor {
    Actor {
        member_id: p.member_id(),
        token_id: p.token_id,
    }
}

fn ids(request: &str, file: &str) -> Result<(RequestId, FileId), ApiError> {
    let not_found = || ApiError::Domain(DomainError::NotFound("file"));
    Ok((
        request.parse().map_err(|_| not_found())?,
        file.parse().map_err(|_| not_found())?,
    ))
}

#[utoipa::path(put, operation_id = "attach", path = "/api/v1/requests/{id}/files/{file_id}", tag = "files",
    params(("id" = String, Path), ("file_id" = String, Path)),
    responses(
        (status = 200, description = "Attached (attaching again is fine); the request's timeline records it", body = FileView),
        (status = 403, description = "Only the requester, the assignee or requests:manage may add files", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such request or file", body = crate::error::ErrorEnvelope),
        (status = 409, description = "`file_attached`: the file is on another request", body = crate::error::ErrorEnvelope),
        (status = 410, description = "The request was deleted", body = crate::error::ErrorEnvelope),
    ))]
pub async fn attach(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((request, file)): Path<(String, String)>,
) -> Result<Json<FileView>, ApiError> {
    let (request_id, file_id) = ids(&request, &file)?;
    let request = live_request(&state, &p, request_id).await?;
    check_may_attach(&p, &request)?;
    let (file, _) = state
        .store()
        .attach_file(
            p.workspace_id,
            file_id,
            request_id,
            actor(&p),
            docket_domain::now(),
        )
        .await?;
    Ok(Json(FileView::new(&state, file)))
}

#[utoipa::path(delete, operation_id = "detach", path = "/api/v1/requests/{id}/files/{file_id}", tag = "files",
    params(("id" = String, Path), ("file_id" = String, Path)),
    responses(
        (status = 204, description = "Taken off the request (the file stays); the request's timeline records it"),
        (status = 403, description = "Only the requester, the assignee or requests:manage may take files off", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such request, or the file is not on it", body = crate::error::ErrorEnvelope),
    ))]
pub async fn detach(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((request, file)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (request_id, file_id) = ids(&request, &file)?;
    let request = live_request(&state, &p, request_id).await?;
    check_may_attach(&p, &request)?;
    let file = file_of(&state, &p, file_id).await?;
    if file.request_id != Some(request_id) {
        return Err(DomainError::NotFound("file").into());
    }
    state
        .store()
        .detach_file(p.workspace_id, file_id, actor(&p), docket_domain::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/files/{id}", tag = "files", params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted with its bytes; an attached file's request records it"),
        (status = 403, description = "Only the uploader or requests:manage may delete a file", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such file", body = crate::error::ErrorEnvelope),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<FileId>,
) -> Result<StatusCode, ApiError> {
    let file = file_of(&state, &p, id).await?;
    check_may_delete(&p, &file)?;
    let (file, _) = state
        .store()
        .delete_file(p.workspace_id, id, actor(&p), docket_domain::now())
        .await?;
    // The record goes first: a file whose object could not be removed is merely an orphan
    // in the store (logged), never a record without its bytes. An object Docket did not
    // write (Gipper's media) stays.
    if file.owns_object() {
        if let Some(path) = crate::files::blobs::path_of(&file.storage_key) {
            if let Err(e) = state.blobs().delete(&path).await {
                tracing::error!(error = %e, file.id = %file.id, "could not delete a deleted file's object");
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
