//! The recipient's routes: `GET /:token` and `PUT /:token/complete`. No account: the
//! link's token is the credential, and the recipient may do only what the workflow grants
//! the recipient.

use super::{parse_body, ContentRequest, GipperError, User, MEDIA_KEY, TYPE_KEY};
use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
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
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, GipperError> {
    let Path(raw) = raw.map_err(|_| not_found())?;
    let (token, _, _) = linked(&state, &raw).await?;
    let bytes = body.map_err(|e| GipperError::Invalid(e.body_text()))?;
    let body: CompleteBody = parse_body(&bytes)?;
    let files = body
        .media_files
        .filter(|f| !f.is_empty())
        .ok_or_else(|| GipperError::Invalid("Missing parameter media_files".into()))?;
    let now = docket_domain::now();
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
        .use_link(
            &token,
            Box::new(move |link, current, rtype| {
                if rtype.key.as_str() != TYPE_KEY {
                    return Err(DomainError::NotFound("link"));
                }
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
                plan_link_use(link, current, &rtype.workflow, submission, now)
            }),
        )
        .await?;
    Ok(Json(json!({ "success": true })))
}
