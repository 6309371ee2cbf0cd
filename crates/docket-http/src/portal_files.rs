//! Files on the recipient portal: what the recipient sees and uploads.

use crate::app::AppState;
use crate::desk::files::FileRow;
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::response::Response;
use docket_domain::link::PublicLink;
use docket_domain::request::Request;

pub async fn rows(
    _state: &AppState,
    _link: &PublicLink,
    _r: &Request,
) -> Result<Vec<FileRow>, ApiError> {
    Ok(Vec::new())
}

pub async fn upload(State(_state): State<AppState>, Path(token): Path<String>) -> Response {
    crate::desk::page::back(&format!("/p/{token}"), Err(ApiError::NoRoute))
}
