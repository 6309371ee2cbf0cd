//! Files on the recipient portal: the files the recipient may see (those shared with the
//! recipient, and the ones sent through this link), their downloads, and uploads, which
//! go onto the request as the link's.

use crate::desk::files::{receive_form, upload_answer, FileRow};
use crate::error::ApiError;
use crate::files::{self, Attach, Upload};
use crate::portal::open_link;
use crate::state::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use docket_domain::event::Actor;
use docket_domain::file::{FileRecord, Uploader, Visibility};
use docket_domain::link::PublicLink;
use docket_domain::request::Request;
use docket_domain::DomainError;

fn visible_to(link: &PublicLink, f: &FileRecord) -> bool {
    f.visibility == Visibility::Shared || f.uploaded_by == (Uploader::Link { id: link.id })
}

pub async fn rows(
    state: &AppState,
    link: &PublicLink,
    r: &Request,
) -> Result<Vec<FileRow>, ApiError> {
    Ok(crate::ops::reads::files_of_request(state, r)
        .await?
        .iter()
        .filter(|f| visible_to(link, f))
        .map(|f| FileRow::new(f, format!("/p/{}/files/{}", link.token.as_str(), f.id)))
        .collect())
}

/// `POST /p/{token}/files`: one or more files onto the link's request.
pub async fn upload(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let (link, r) = match open_link(&state, &token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let outcome = receive_form(
        &state,
        form,
        |_, _| {},
        || Ok(()),
        |name| Upload {
            workspace_id: r.workspace_id,
            name,
            uploaded_by: Uploader::Link { id: link.id },
            visibility: Visibility::Shared,
            attach: Some(Attach {
                request_id: r.id,
                actor: Actor::default(),
            }),
            declared_size: None,
        },
    )
    .await
    .map(|stored| crate::desk::files::names_of(&stored));
    upload_answer(&headers, &format!("/p/{token}"), outcome)
}

/// `GET /p/{token}/files/{id}`: a file the recipient may see, while the link is usable.
pub async fn download(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
) -> Response {
    let (link, r) = match open_link(&state, &token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let found = async {
        let id = id.parse().map_err(|_| DomainError::NotFound("file"))?;
        let file = state
            .store()
            .get_file(r.workspace_id, id)
            .await?
            .filter(|f| f.request_id == Some(r.id) && visible_to(&link, f))
            .ok_or(DomainError::NotFound("file"))?;
        files::download(&state, &file).await
    }
    .await;
    found.unwrap_or_else(crate::desk::page::api_error_page)
}
