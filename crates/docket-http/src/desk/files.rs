//! Files on the desk's request page: the list with download links, and uploads.

use super::session::DeskUser;
use crate::app::AppState;
use crate::error::ApiError;
use docket_domain::ids::RequestId;

/// A file as the request page lists it.
pub struct FileRow {
    pub id: String,
    pub name: String,
    pub size: String,
    pub content_type: String,
    pub uploaded: String,
    pub download: String,
}

pub async fn rows(
    _state: &AppState,
    _user: &DeskUser,
    _request: RequestId,
) -> Result<Vec<FileRow>, ApiError> {
    Ok(Vec::new())
}
