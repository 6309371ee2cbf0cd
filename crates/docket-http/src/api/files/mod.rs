//! Files under `/api/v1`: upload (onto a request or not), list, read, download, delete,
//! attach to and detach from requests, signed download URLs, and the workspace's file
//! policy. The work is done by `crate::files`; these handlers parse, check the caller's
//! permission, and answer.
//!
//! Scopes: `files:read` to list, read, download and sign URLs; `files:write` to upload,
//! attach, detach and delete (putting files on a request also takes what editing it
//! takes: its requester, its assignee or `requests:manage`; deleting a file, its uploader
//! or `requests:manage`); the policy is changed by owners and admins.

mod attach;
mod policy;
mod read;
pub mod signed;
pub(crate) mod upload;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use docket_domain::access::Principal;
use docket_domain::file::{FileId, FileRecord};
use docket_domain::DomainError;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    // Uploads stream their bodies: the server's body limit is for JSON, and the
    // workspace's file policy applies instead (see `files::STREAMED_UPLOAD_ROUTES`).
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload::create))
        .routes(routes!(upload::create_on_request))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(read::list))
        .routes(routes!(policy::get, policy::set))
        .routes(routes!(read::get, attach::delete))
        .routes(routes!(read::content))
        .routes(routes!(signed::create))
        .routes(routes!(read::list_on_request))
        .routes(routes!(attach::attach, attach::detach))
}

/// A file as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FileView {
    #[serde(flatten)]
    pub file: FileRecord,
    /// Where to download it with a token (`GET`, scope `files:read`).
    pub download_url: String,
}

impl FileView {
    pub fn new(state: &AppState, file: FileRecord) -> Self {
        let download_url = state
            .settings()
            .public_link(&format!("/api/v1/files/{}/content", file.id));
        Self { file, download_url }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FileList {
    pub items: Vec<FileView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A file of the caller's workspace; another workspace's is not found.
async fn file_of(state: &AppState, p: &Principal, id: FileId) -> Result<FileRecord, ApiError> {
    Ok(crate::ops::reads::get_file(state, p, id)
        .await?
        .ok_or(DomainError::NotFound("file"))?)
}
