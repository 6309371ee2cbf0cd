//! `POST /api/v1/files` and `POST /api/v1/requests/{id}/files`: upload one file, as a
//! multipart form (a `file` part) or as the raw body, optionally onto a request.

use super::FileView;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiQuery, PathId};
use crate::files::{self, Attach, Upload};
use crate::ops::reads::live_request;
use crate::state::AppState;
use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::Json;
use docket_domain::access::{Principal, Scope};
use docket_domain::event::Actor;
use docket_domain::file::{check_may_attach, FileRecord, Uploader, Visibility};
use docket_domain::ids::RequestId;
use serde::Deserialize;

/// Where the file goes, from the query (or, for a multipart upload, from form parts that
/// come before the `file` part).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name (it is sanitised). Otherwise the multipart part's filename, or the
    /// raw body's `Content-Disposition` filename, or `file`.
    pub name: Option<String>,
    /// Attach the file to this request (needs what editing the request needs).
    #[param(value_type = Option<String>, format = Uuid)]
    pub request_id: Option<RequestId>,
    /// `internal` (default: members only) or `shared` (also shown to the request's
    /// recipient).
    pub visibility: Option<Visibility>,
}

/// Like [`UploadParams`], for an upload onto the request in the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadOnRequestParams {
    /// The file's name (it is sanitised).
    pub name: Option<String>,
    /// `internal` (default) or `shared`.
    pub visibility: Option<Visibility>,
}

/// A multipart upload: exactly one `file` part; `request_id`, `visibility` and `name`
/// parts, when sent, come before it.
#[derive(utoipa::ToSchema)]
#[expect(dead_code, reason = "only describes the form in the OpenAPI document")]
pub struct UploadForm {
    /// The file. Its type is sniffed from its bytes; the part's `Content-Type` is ignored.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub request_id: Option<String>,
    pub visibility: Option<Visibility>,
    pub name: Option<String>,
}

/// The upload's settings as they are gathered.
struct Target {
    name: Option<String>,
    request_id: Option<RequestId>,
    /// The request is the path's: a form may not name another.
    request_fixed: bool,
    visibility: Visibility,
}

#[utoipa::path(post, operation_id = "upload", path = "/api/v1/files", tag = "files", params(UploadParams),
    request_body(
        description = "A multipart form with one `file` part, or the file itself as the body (any content type: the type is sniffed from the bytes).",
        content((UploadForm = "multipart/form-data"), ("application/octet-stream"))),
    responses(
        (status = 201, description = "Stored", body = FileView, headers(("Location" = String))),
        (status = 403, description = "`missing_scope`, or not allowed to change the request's files", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such request", body = crate::error::ErrorEnvelope),
        (status = 410, description = "The request was deleted", body = crate::error::ErrorEnvelope),
        (status = 413, description = "`file_too_large`: over the workspace's limit (`details.limit`)", body = crate::error::ErrorEnvelope),
        (status = 415, description = "`unsupported_type`: the sniffed type (`details.content_type`) is not allowed", body = crate::error::ErrorEnvelope),
        (status = 422, description = "No `file` part, more than one, or an invalid form part", body = crate::error::ErrorEnvelope),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(params): ApiQuery<UploadParams>,
    request: Request,
) -> Result<(StatusCode, HeaderMap, Json<FileView>), ApiError> {
    p.require(Scope::FilesWrite)?;
    let target = Target {
        name: params.name,
        request_id: params.request_id,
        request_fixed: false,
        visibility: params.visibility.unwrap_or_default(),
    };
    accept(&state, &p, target, request).await
}

#[utoipa::path(post, operation_id = "upload_to_request", path = "/api/v1/requests/{id}/files", tag = "files",
    params(("id" = String, Path), UploadOnRequestParams),
    request_body(
        description = "A multipart form with one `file` part, or the file itself as the body.",
        content((UploadForm = "multipart/form-data"), ("application/octet-stream"))),
    responses(
        (status = 201, description = "Stored and attached; the request's timeline records it", body = FileView, headers(("Location" = String))),
        (status = 403, description = "Only the requester, the assignee or requests:manage may add files", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such request", body = crate::error::ErrorEnvelope),
        (status = 410, description = "The request was deleted", body = crate::error::ErrorEnvelope),
        (status = 413, description = "`file_too_large`", body = crate::error::ErrorEnvelope),
        (status = 415, description = "`unsupported_type`", body = crate::error::ErrorEnvelope),
    ))]
pub async fn create_on_request(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
    ApiQuery(params): ApiQuery<UploadOnRequestParams>,
    request: Request,
) -> Result<(StatusCode, HeaderMap, Json<FileView>), ApiError> {
    p.require(Scope::FilesWrite)?;
    let target = Target {
        name: params.name,
        request_id: Some(id),
        request_fixed: true,
        visibility: params.visibility.unwrap_or_default(),
    };
    accept(&state, &p, target, request).await
}

async fn accept(
    state: &AppState,
    p: &Principal,
    target: Target,
    request: Request,
) -> Result<(StatusCode, HeaderMap, Json<FileView>), ApiError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    let file = if multipart {
        let form = Multipart::from_request(request, state)
            .await
            .map_err(|e| ApiError::bad_request("invalid_multipart", e.body_text()))?;
        from_form(state, p, target, form).await?
    } else {
        from_body(state, p, target, request).await?
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/files/{}", file.id)) {
        headers.insert(header::LOCATION, v);
    }
    Ok((
        StatusCode::CREATED,
        headers,
        Json(FileView::new(state, file)),
    ))
}

/// Checks, before a byte is read, that the caller may put files on the request.
async fn attach_to(
    state: &AppState,
    p: &Principal,
    request: Option<RequestId>,
) -> Result<Option<Attach>, ApiError> {
    let Some(id) = request else { return Ok(None) };
    let r = live_request(state, p, id).await?;
    check_may_attach(p, &r)?;
    Ok(Some(Attach {
        request_id: id,
        actor: Actor {
            member_id: p.member_id(),
            token_id: p.token_id,
        },
    }))
}

async fn from_body(
    state: &AppState,
    p: &Principal,
    target: Target,
    request: Request,
) -> Result<FileRecord, ApiError> {
    let attach = attach_to(state, p, target.request_id).await?;
    let headers = request.headers();
    let name = target
        .name
        .or_else(|| disposition_filename(headers))
        .unwrap_or_default();
    let declared_size = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let upload = Upload {
        workspace_id: p.workspace_id,
        name,
        uploaded_by: Uploader::of(p),
        visibility: target.visibility,
        attach,
        declared_size,
    };
    files::receive(state, upload, request.into_body().into_data_stream()).await
}

/// Reads the form's parts in order. The file is stored unattached as it streams in, and
/// attached once the form has ended, so that a form breaking the one-file rule after its
/// file leaves nothing behind (the stored file is removed, and no request recorded it).
async fn from_form(
    state: &AppState,
    p: &Principal,
    mut target: Target,
    mut form: Multipart,
) -> Result<FileRecord, ApiError> {
    let mut received: Option<(FileRecord, Option<Attach>)> = None;
    let outcome = async {
        while let Some(field) = form.next_field().await.map_err(multipart_error)? {
            let part = field.name().unwrap_or_default().to_owned();
            if received.is_some() {
                return Err(ApiError::invalid(
                    &part,
                    "unexpected",
                    "send one file per call, with any other part before it",
                ));
            }
            match part.as_str() {
                "file" => {
                    let attach = attach_to(state, p, target.request_id).await?;
                    let upload = Upload {
                        workspace_id: p.workspace_id,
                        name: target
                            .name
                            .take()
                            .or_else(|| field.file_name().map(str::to_owned))
                            .unwrap_or_default(),
                        uploaded_by: Uploader::of(p),
                        visibility: target.visibility,
                        attach: None,
                        declared_size: None,
                    };
                    let file = files::receive(state, upload, files::field_body(field)).await?;
                    received = Some((file, attach));
                }
                "request_id" if !target.request_fixed => {
                    let text = short_text(field).await?;
                    let id = text.trim().parse().map_err(|_| {
                        ApiError::invalid("request_id", "invalid", "not a request id")
                    })?;
                    target.request_id = Some(id);
                }
                "visibility" => {
                    let text = short_text(field).await?;
                    target.visibility = Visibility::parse(text.trim()).ok_or_else(|| {
                        ApiError::invalid("visibility", "invalid", "internal or shared")
                    })?;
                }
                "name" => target.name = Some(short_text(field).await?),
                other => {
                    return Err(ApiError::invalid(
                        other,
                        "unknown_field",
                        "expected file, request_id, visibility or name",
                    ))
                }
            }
        }
        Ok(())
    }
    .await;
    let Some((file, attach)) = received else {
        outcome?;
        return Err(ApiError::invalid(
            "file",
            "required",
            "send the file as a part named file",
        ));
    };
    let attached = match (outcome, attach) {
        (Err(e), _) => Err(e),
        (Ok(()), None) => return Ok(file),
        (Ok(()), Some(a)) => state
            .store()
            .attach_file(
                p.workspace_id,
                file.id,
                a.request_id,
                a.actor,
                docket_domain::now(),
            )
            .await
            .map(|(file, _)| file)
            .map_err(ApiError::from),
    };
    if attached.is_err() {
        discard(state, &file).await;
    }
    attached
}

/// Removes a stored, unattached file whose upload was refused after all.
async fn discard(state: &AppState, file: &FileRecord) {
    let removed = state
        .store()
        .delete_file(
            file.workspace_id,
            file.id,
            Actor::default(),
            docket_domain::now(),
        )
        .await;
    if let Err(e) = removed {
        tracing::error!(error = %e, file.id = %file.id, "could not remove a refused upload's record");
        return;
    }
    if let Some(path) = files::blobs::path_of(&file.storage_key) {
        if let Err(e) = state.blobs().delete(&path).await {
            tracing::error!(error = %e, file.id = %file.id, "could not remove a refused upload's object");
        }
    }
}

/// A form part's text; parts other than the file are short.
async fn short_text(mut field: Field<'_>) -> Result<String, ApiError> {
    const MAX: usize = 1024;
    let part = field.name().unwrap_or_default().to_owned();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX {
            return Err(ApiError::invalid(
                &part,
                "too_long",
                format!("at most {MAX} bytes"),
            ));
        }
    }
    String::from_utf8(bytes).map_err(|_| ApiError::invalid(&part, "invalid", "not UTF-8 text"))
}

fn multipart_error(e: MultipartError) -> ApiError {
    ApiError::bad_request("invalid_multipart", e.body_text())
}

/// The filename a raw body's `Content-Disposition` gives: `filename*=UTF-8''…` (RFC 8187)
/// over `filename="…"`.
pub(crate) fn disposition_filename(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_DISPOSITION)?.to_str().ok()?;
    let mut plain = None;
    for param in value.split(';').skip(1) {
        let Some((key, raw)) = param.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let raw = raw.trim();
        if key == "filename*" {
            let (charset, rest) = raw.split_once('\'')?;
            let (_, encoded) = rest.split_once('\'')?;
            if charset.eq_ignore_ascii_case("utf-8") {
                if let Some(decoded) = percent_decode(encoded) {
                    return Some(decoded);
                }
            }
        } else if key == "filename" {
            plain = Some(raw.trim_matches('"').replace("\\\"", "\""));
        }
    }
    plain
}

fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = (bytes.next()? as char).to_digit(16)?;
            let lo = (bytes.next()? as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn the_filename_comes_from_content_disposition() {
        assert_eq!(
            disposition_filename(&with("attachment; filename=\"a b.pdf\"")).as_deref(),
            Some("a b.pdf")
        );
        assert_eq!(
            disposition_filename(&with(
                "attachment; filename=\"fallback.pdf\"; filename*=UTF-8''Caf%C3%A9.pdf"
            ))
            .as_deref(),
            Some("Café.pdf")
        );
        assert_eq!(
            disposition_filename(&with("inline; filename=x.png")).as_deref(),
            Some("x.png")
        );
        assert_eq!(disposition_filename(&with("attachment")), None);
        assert_eq!(disposition_filename(&HeaderMap::new()), None);
    }
}
