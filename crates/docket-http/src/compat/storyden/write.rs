//! `POST /api/reports` (file a report, 200) and `PATCH /api/reports/{report_id}` (status
//! and handler).
//!
//! The status move is judged by the `storyden_report` workflow, whose managers'
//! transitions make the manager who takes them the handler (`assigns_actor`) unless the
//! change names one. Naming a handler is assigning the request, which in Storyden needs
//! `MANAGE_REPORTS` even for oneself, so it needs `requests:manage` here.

use super::{people, Report, StorydenAuth, StorydenError, STATUSES, TARGET_KINDS};
use crate::compat::body::read_json;
use crate::compat::builtin::{self, STORYDEN_REPORT};
use crate::state::AppState;
use axum::extract::{Path, Request as HttpRequest, State};
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::ids::{MemberId, RequestId};
use docket_domain::request::{NewRequest, Patch, RequestPatch, Subject};
use docket_domain::workflow::StatusKey;
use serde::Deserialize;

#[derive(Deserialize)]
struct CreateReport {
    target_id: String,
    target_kind: String,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct UpdateReport {
    status: Option<String>,
    handled_by: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    StorydenAuth(p): StorydenAuth,
    req: HttpRequest,
) -> Result<Json<Report>, StorydenError> {
    p.require(Scope::RequestsWrite)?;
    let body: CreateReport = read_json(req, &state, false).await?;
    if !TARGET_KINDS.contains(&body.target_kind.as_str()) {
        return Err(StorydenError::BadRequest(format!(
            "target_kind must be one of {}",
            TARGET_KINDS.join(", ")
        )));
    }
    let input = NewRequest {
        title: format!("Report: {} {}", body.target_kind, body.target_id)
            .chars()
            .take(docket_domain::request::limits::TITLE_CHARS)
            .collect(),
        description: body.comment,
        subject: Some(Subject {
            kind: body.target_kind,
            id: body.target_id,
        }),
        ..Default::default()
    };
    let rtype = builtin::ensure(&state, p.workspace_id, STORYDEN_REPORT).await?;
    let request = crate::ops::requests::file(&state, &p, &rtype.key, input).await?;
    let people = people(&state, &p, std::slice::from_ref(&request)).await?;
    Ok(Json(Report::of(&request, &people)))
}

pub async fn update(
    State(state): State<AppState>,
    StorydenAuth(p): StorydenAuth,
    Path(raw): Path<String>,
    req: HttpRequest,
) -> Result<Json<Report>, StorydenError> {
    let id: RequestId = raw.parse().map_err(|_| StorydenError::NotFound)?;
    let body: UpdateReport = read_json(req, &state, true).await?;
    let status = match body.status {
        None => None,
        Some(s) if STATUSES.contains(&s.as_str()) => StatusKey::parse(&s).ok(),
        Some(_) => {
            return Err(StorydenError::BadRequest(
                "status must be one of submitted, acknowledged, resolved".to_owned(),
            ))
        }
    };
    let assignee = match body.handled_by {
        Some(raw) => {
            p.require(Scope::RequestsManage)?;
            let handler: MemberId = raw
                .parse()
                .map_err(|_| StorydenError::BadRequest("handled_by names no member".to_owned()))?;
            if !crate::ops::requests::may_be_assigned(&state, p.workspace_id, handler).await? {
                return Err(StorydenError::BadRequest(
                    "handled_by names no member".to_owned(),
                ));
            }
            Patch::Set(handler)
        }
        // Without a handler, the workflow decides: a manager's move makes them the
        // handler (`assigns_actor`), a member resolving their own report does not.
        None => Patch::Keep,
    };
    let patch = RequestPatch {
        status,
        assignee_id: assignee,
        ..Default::default()
    };
    let request = builtin::patch_request(&state, &p, STORYDEN_REPORT, id, patch).await?;
    let people = people(&state, &p, std::slice::from_ref(&request)).await?;
    Ok(Json(Report::of(&request, &people)))
}
