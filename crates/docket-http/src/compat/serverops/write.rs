//! `POST /cases` (create, 201) and `PATCH /cases/{id}` (title, description, status); both
//! need `cases:write`. The status move is judged by the `serverops_case` workflow; editing
//! title and description follows Docket's rule (the requester, the assignee or a manager).

use super::{Case, ServerOpsAuth, ServerOpsError, STATUSES};
use crate::compat::body::read_json;
use crate::compat::builtin::{self, SERVEROPS_CASE};
use crate::state::AppState;
use axum::extract::{Path, Request as HttpRequest, State};
use axum::http::StatusCode;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::ids::RequestId;
use docket_domain::request::{NewRequest, RequestPatch};
use docket_domain::workflow::StatusKey;
use serde::Deserialize;

#[derive(Deserialize)]
struct CreateCase {
    title: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct UpdateCase {
    title: Option<String>,
    description: Option<String>,
    status: Option<String>,
}

fn status(raw: Option<String>) -> Result<Option<StatusKey>, ServerOpsError> {
    match raw {
        None => Ok(None),
        Some(s) if STATUSES.contains(&s.as_str()) => Ok(StatusKey::parse(&s).ok()),
        Some(_) => Err(ServerOpsError::BadRequest(
            "status must be one of open, closed, archived".to_owned(),
        )),
    }
}

pub async fn create(
    State(state): State<AppState>,
    ServerOpsAuth(p): ServerOpsAuth,
    req: HttpRequest,
) -> Result<(StatusCode, Json<Case>), ServerOpsError> {
    p.require(Scope::RequestsWrite)?;
    let body: CreateCase = read_json(req, &state, false).await?;
    let title = body
        .title
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ServerOpsError::BadRequest("missing required field: title".to_owned()))?;
    let input = NewRequest {
        title,
        description: body.description,
        ..Default::default()
    };
    let rtype = builtin::ensure(&state, p.workspace_id, SERVEROPS_CASE).await?;
    let request = crate::ops::requests::file(&state, &p, &rtype.key, input).await?;
    Ok((StatusCode::CREATED, Json(Case::of(&request))))
}

pub async fn update(
    State(state): State<AppState>,
    ServerOpsAuth(p): ServerOpsAuth,
    Path(raw): Path<String>,
    req: HttpRequest,
) -> Result<Json<Case>, ServerOpsError> {
    p.require(Scope::RequestsWrite)?;
    let id: RequestId = raw
        .parse()
        .map_err(|_| ServerOpsError::NotFound("case not found"))?;
    let body: UpdateCase = read_json(req, &state, true).await?;
    let patch = RequestPatch {
        title: body.title,
        description: body.description,
        status: status(body.status)?,
        ..Default::default()
    };
    let request = builtin::patch_request(&state, &p, SERVEROPS_CASE, id, patch).await?;
    Ok(Json(Case::load(&state, &p, &request).await?))
}
