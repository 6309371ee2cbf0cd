//! The recipient's routes: `GET /:token` and `PUT /:token/complete`. No account: the
//! link's token is the credential, and the recipient may do only what the workflow grants
//! the recipient.

use super::{parse_body, ContentRequest, GipperError, User, MEDIA_KEY, TYPE_KEY};
use crate::state::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use docket_domain::file::{attached_change, FileId, FileName, FileRecord, Uploader, Visibility};
use docket_domain::link::{plan_link_use, LinkSubmission, LinkToken, PublicLink};
use docket_domain::request::Request;
use docket_domain::workflow::StatusKey;
use docket_domain::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

fn not_found() -> GipperError {
    GipperError::NotFound("Content request not found".into())
}

/// The link a presented token names, with its live content request; revoked links and
/// other products' links are not found.
async fn linked(
    state: &AppState,
    raw: &str,
) -> Result<(LinkToken, PublicLink, Request), GipperError> {
    let token = LinkToken::parse(raw).ok_or_else(not_found)?;
    let (link, request) = state
        .store()
        .link_by_token(&token)
        .await?
        .filter(|(l, r)| {
            l.revoked_at.is_none() && r.deleted_at.is_none() && r.type_key.as_str() == TYPE_KEY
        })
        .ok_or_else(not_found)?;
    Ok((token, link, request))
}

pub async fn show(
    State(state): State<AppState>,
    raw: Result<Path<String>, PathRejection>,
) -> Result<Json<ContentRequest>, GipperError> {
    let Path(raw) = raw.map_err(|_| not_found())?;
    let (_, link, request) = linked(&state, &raw).await?;
    let mut view = ContentRequest::new(&state, &request, Some(&link), true);
    if let Some(requester) = request.requester_id {
        if let Some(m) = state
            .store()
            .get_member(request.workspace_id, requester)
            .await?
        {
            let (first, last) = m.name.split_once(' ').unwrap_or((&m.name, ""));
            view.user = Some(User {
                id: m.id.to_string(),
                email: m.email.as_str().to_owned(),
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                avatar_image: None,
            });
        }
    }
    Ok(Json(view))
}

/// One uploaded file, as Gipper's client describes it.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MediaFile {
    pub name: String,
    pub s3_key: String,
    pub format_type: String,
    pub media_type: MediaType,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    Photo,
    Video,
}

#[derive(Deserialize)]
pub struct CompleteBody {
    pub media_files: Option<Vec<MediaFile>>,
}

pub async fn complete(
    State(state): State<AppState>,
    raw: Result<Path<String>, PathRejection>,
    crate::compat::body::RawBody(body): crate::compat::body::RawBody,
) -> Result<Json<Value>, GipperError> {
    let Path(raw) = raw.map_err(|_| not_found())?;
    let (token, link, _) = linked(&state, &raw).await?;
    let bytes = body.map_err(GipperError::from_body)?;
    let body: CompleteBody = parse_body(&bytes)?;
    let files = body
        .media_files
        .filter(|f| !f.is_empty())
        .ok_or_else(|| GipperError::Invalid("Missing parameter media_files".into()))?;
    let now = docket_domain::now();
    let records = files
        .iter()
        .map(|f| media_record(&link, f, now))
        .collect::<Result<Vec<_>, _>>()?;
    let recorded = records.clone();
    let stamp = docket_domain::now().to_rfc3339();
    let mut received: Vec<Value> = Vec::with_capacity(files.len());
    for f in files {
        let mut v = serde_json::to_value(f).map_err(|e| GipperError::Internal(e.into()))?;
        v["received_at"] = json!(stamp);
        received.push(v);
    }
    let completed = StatusKey::parse("completed").map_err(GipperError::Invalid)?;
    state
        .store()
        .use_link_with_files(
            &token,
            records,
            Box::new(move |link, current, rtype, items| {
                if rtype.key.as_str() != TYPE_KEY {
                    return Err(DomainError::NotFound("link"));
                }
                // The type's document items take what arrived, as submissions.
                let filled = docket_domain::item::fill_documents(
                    link, current, rtype, items, &recorded, now,
                )?;
                // Every completion adds to the media already received.
                let mut media = current
                    .data
                    .get(MEDIA_KEY)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                media.extend(received);
                let mut data = Map::new();
                data.insert(MEDIA_KEY.into(), Value::Array(media));
                let submission = LinkSubmission {
                    status: Some(completed),
                    data,
                };
                let (mut planned, used) =
                    plan_link_use(link, &filled.request, &rtype.workflow, submission, now)?;
                // The same event says which files arrived.
                planned
                    .event
                    .changes
                    .extend(recorded.iter().map(attached_change));
                planned.items = filled.items;
                let mut events = filled.events;
                events.append(&mut planned.follow_ups);
                planned.follow_ups = events;
                Ok((planned, used))
            }),
        )
        .await?;
    Ok(Json(json!({ "success": true })))
}

/// The file record of a media file the recipient put in the bucket: its bytes are the
/// object at `s3_key` (which Docket did not receive, so its SHA-256 is unknown), its type
/// follows from `media_type` and `format_type`, and it is shared with the recipient.
fn media_record(
    link: &PublicLink,
    media: &MediaFile,
    now: docket_domain::Timestamp,
) -> Result<FileRecord, GipperError> {
    let key = media.s3_key.trim();
    // Docket's own objects are `{workspace_id}/{file_id}`: a key in that space could name
    // another workspace's file, so no client may point a record there.
    let ours = key
        .split('/')
        .next()
        .is_some_and(|first| first.parse::<uuid::Uuid>().is_ok());
    if crate::files::blobs::path_of(key).is_none() || ours {
        return Err(GipperError::Invalid(format!(
            "media_files: s3_key {key:?} is not a key of an uploaded object"
        )));
    }
    Ok(FileRecord {
        id: FileId::new(),
        workspace_id: link.workspace_id,
        request_id: Some(link.request_id),
        name: FileName::sanitize(&media.name),
        content_type: media_content_type(&media.media_type, &media.format_type),
        size: media.size,
        sha256: None,
        uploaded_by: Uploader::Link { id: link.id },
        visibility: Visibility::Shared,
        storage_key: key.to_owned(),
        created_at: now,
    })
}

/// `photo` + `jpg` is `image/jpeg`, `video` + `mov` is `video/quicktime`, and so on; an
/// unknown format keeps its family (`image/<format>`), anything unparseable is
/// `application/octet-stream`.
fn media_content_type(kind: &MediaType, format: &str) -> String {
    let format = format.trim().trim_start_matches('.').to_ascii_lowercase();
    let known = match (kind, format.as_str()) {
        (MediaType::Photo, "jpg" | "jpeg") => Some("image/jpeg"),
        (MediaType::Photo, "png") => Some("image/png"),
        (MediaType::Photo, "gif") => Some("image/gif"),
        (MediaType::Photo, "webp") => Some("image/webp"),
        (MediaType::Photo, "heic") => Some("image/heic"),
        (MediaType::Photo, "heif") => Some("image/heif"),
        (MediaType::Photo, "tif" | "tiff") => Some("image/tiff"),
        (MediaType::Video, "mp4") => Some("video/mp4"),
        (MediaType::Video, "mov" | "qt") => Some("video/quicktime"),
        (MediaType::Video, "webm") => Some("video/webm"),
        (MediaType::Video, "m4v") => Some("video/x-m4v"),
        (MediaType::Video, "avi") => Some("video/x-msvideo"),
        (MediaType::Video, "mkv") => Some("video/x-matroska"),
        _ => None,
    };
    if let Some(known) = known {
        return known.to_owned();
    }
    let family = match kind {
        MediaType::Photo => "image",
        MediaType::Video => "video",
    };
    let token = !format.is_empty()
        && format.len() <= 32
        && format
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    if token {
        format!("{family}/{format}")
    } else {
        "application/octet-stream".to_owned()
    }
}
