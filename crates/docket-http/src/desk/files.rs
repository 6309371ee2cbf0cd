//! Files on the desk: a request's files with download links, downloads with the session,
//! and uploads from the request page (one or several files per form; the script sends one
//! per request with a progress bar).

use super::page::{api_error_page, back, when};
use super::session::DeskUser;
use crate::error::ApiError;
use crate::files::{self, Attach, Upload};
use crate::state::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::event::Actor;
use docket_domain::file::{check_may_attach, FileRecord, Uploader, Visibility};
use docket_domain::ids::RequestId;
use docket_domain::DomainError;
use std::sync::atomic::{AtomicBool, Ordering};

/// A file as the request page and the portal list it.
pub struct FileRow {
    pub id: String,
    pub name: String,
    pub size: String,
    pub content_type: String,
    pub uploaded: String,
    pub download: String,
    pub shared: bool,
}

/// `1.2 MB`, `340 KB`, `12 bytes`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.0} KB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}

impl FileRow {
    pub fn new(f: &FileRecord, download: String) -> Self {
        Self {
            id: f.id.to_string(),
            name: f.name.as_str().to_owned(),
            size: human_size(f.size),
            content_type: f.content_type.clone(),
            uploaded: when(f.created_at),
            download,
            shared: f.visibility == Visibility::Shared,
        }
    }
}

pub async fn rows(
    state: &AppState,
    user: &DeskUser,
    request: &docket_domain::request::Request,
) -> Result<Vec<FileRow>, ApiError> {
    if !user.principal.has(Scope::FilesRead) {
        return Ok(Vec::new());
    }
    Ok(crate::ops::reads::files_of_request(state, request)
        .await?
        .iter()
        .map(|f| FileRow::new(f, format!("/desk/files/{}", f.id)))
        .collect())
}

/// `GET /desk/files/{id}`: the file, for a signed-in member with `files:read`.
pub async fn download(
    State(state): State<AppState>,
    user: DeskUser,
    Path(id): Path<String>,
) -> Response {
    let found = async {
        user.principal.require(Scope::FilesRead)?;
        let id = id.parse().map_err(|_| DomainError::NotFound("file"))?;
        let file = crate::ops::reads::get_file(&state, &user.principal, id)
            .await?
            .ok_or(DomainError::NotFound("file"))?;
        files::download(&state, &file).await
    }
    .await;
    found.unwrap_or_else(api_error_page)
}

/// Whether the caller is the page's script (which wants JSON) rather than a plain form.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The answer to an upload form (`outcome`: the names of the files stored): JSON for the
/// script, which confirms them by name, a redirect with a flash otherwise.
pub fn upload_answer(
    headers: &HeaderMap,
    page: &str,
    outcome: Result<Vec<String>, ApiError>,
) -> Response {
    if wants_json(headers) {
        return match outcome {
            Ok(files) => (
                StatusCode::CREATED,
                Json(serde_json::json!({ "files": files })),
            )
                .into_response(),
            Err(e) => e.into_response(),
        };
    }
    back(page, outcome.map(|files| uploaded_notice(&files)))
}

/// "a.pdf uploaded." or "3 files uploaded: a.pdf, b.pdf, c.pdf."
pub fn uploaded_notice(names: &[String]) -> String {
    match names {
        [one] => format!("{one} uploaded."),
        many => format!("{} files uploaded: {}.", many.len(), many.join(", ")),
    }
}

/// The names of `files`, as an upload's answer lists them.
pub fn names_of(files: &[FileRecord]) -> Vec<String> {
    files.iter().map(|f| f.name.as_str().to_owned()).collect()
}

/// Reads a multipart form and stores each `file` part with `upload` as its description.
/// Text fields go to `field` (the desk's `csrf`); `before_file` must agree before each file
/// is stored, so a form is judged by the fields that precede its files (browsers send
/// fields in document order: hidden inputs first). Empty file inputs (a form sent with
/// nothing chosen) are skipped; no file at all is a 422.
pub async fn receive_form(
    state: &AppState,
    mut form: Multipart,
    mut field: impl FnMut(&str, &str),
    before_file: impl Fn() -> Result<(), ApiError>,
    upload: impl Fn(String) -> Upload,
) -> Result<Vec<FileRecord>, ApiError> {
    let mut stored = Vec::new();
    while let Some(part) = form
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request("invalid_multipart", e.body_text()))?
    {
        let name = part.name().unwrap_or_default().to_owned();
        if name != "file" {
            let value = part
                .text()
                .await
                .map_err(|e| ApiError::bad_request("invalid_multipart", e.body_text()))?;
            field(&name, &value);
            continue;
        }
        let file_name = part.file_name().unwrap_or_default().to_owned();
        if file_name.is_empty() {
            continue;
        }
        before_file()?;
        let record = files::receive(state, upload(file_name), files::field_body(part)).await?;
        stored.push(record);
    }
    if stored.is_empty() {
        return Err(ApiError::invalid(
            "file",
            "required",
            "choose at least one file",
        ));
    }
    Ok(stored)
}

/// `POST /desk/requests/{number}/files`: uploads onto the request, as the API's upload
/// does (the requester, the assignee or `requests:manage`, with `files:write`).
pub async fn upload(
    State(state): State<AppState>,
    user: DeskUser,
    Path(number): Path<i64>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let page = format!("/desk/requests/{number}");
    let outcome = async {
        let r = crate::ops::reads::request_by_number(&state, &user.principal, number)
            .await?
            .filter(|r| r.deleted_at.is_none())
            .ok_or(DomainError::NotFound("request"))?;
        check_may_attach(&user.principal, &r)?;
        let request_id: RequestId = r.id;
        let actor = Actor {
            member_id: Some(user.member.id),
            token_id: None,
        };
        // Both are set by fields that precede the files in the form.
        let csrf_ok = AtomicBool::new(false);
        let shared = AtomicBool::new(false);
        let stored = receive_form(
            &state,
            form,
            |field, value| match field {
                "csrf" => csrf_ok.store(user.csrf_ok(Some(value)), Ordering::Relaxed),
                "shared" => shared.store(value == "on", Ordering::Relaxed),
                _ => {}
            },
            || {
                if csrf_ok.load(Ordering::Relaxed) {
                    Ok(())
                } else {
                    Err(DomainError::Forbidden(
                        "this form did not come from Docket; reload the page and try again".into(),
                    )
                    .into())
                }
            },
            |name| Upload {
                workspace_id: user.principal.workspace_id,
                name,
                uploaded_by: Uploader::Member { id: user.member.id },
                visibility: if shared.load(Ordering::Relaxed) {
                    Visibility::Shared
                } else {
                    Visibility::Internal
                },
                attach: Some(Attach { request_id, actor }),
                declared_size: None,
            },
        )
        .await?;
        Ok(names_of(&stored))
    }
    .await;
    upload_answer(&headers, &page, outcome)
}
