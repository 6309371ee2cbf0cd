//! `GET /cases` (a cursor page) and `GET /cases/{id}`; both need `cases:read`.

use super::{is_case, Case, ServerOpsAuth, ServerOpsError, STATUSES};
use crate::compat::builtin::SERVEROPS_CASE;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::ids::RequestId;
use docket_domain::query::{Cursor, Direction, RequestQuery, SortKey};
use docket_domain::workflow::StatusKey;
use serde::Serialize;

pub async fn get(
    State(state): State<AppState>,
    ServerOpsAuth(p): ServerOpsAuth,
    Path(raw): Path<String>,
) -> Result<Json<Case>, ServerOpsError> {
    p.require(Scope::RequestsRead)?;
    let id: RequestId = raw
        .parse()
        .map_err(|_| ServerOpsError::NotFound("case not found"))?;
    let request = crate::ops::reads::get_request(&state, &p, id)
        .await?
        .filter(is_case)
        .ok_or(ServerOpsError::NotFound("case not found"))?;
    Ok(Json(Case::load(&state, &p, &request).await?))
}

/// `{cases, next_cursor}`; `next_cursor` is null on the last page.
#[derive(Serialize)]
pub struct CaseList {
    pub cases: Vec<Case>,
    pub next_cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    ServerOpsAuth(p): ServerOpsAuth,
    uri: Uri,
) -> Result<Json<CaseList>, ServerOpsError> {
    p.require(Scope::RequestsRead)?;
    let (sort, direction) = (SortKey::Created, Direction::Desc);
    let mut query = RequestQuery {
        types: vec![SERVEROPS_CASE.type_key()],
        sort,
        direction,
        limit: 50,
        ..Default::default()
    };
    let bad = |m: &str| ServerOpsError::BadRequest(m.to_owned());
    for (name, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "limit" => {
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| bad("limit must be an integer from 1 to 100"))?;
            }
            "cursor" if !value.is_empty() => {
                query.after = Some(
                    Cursor::decode(&value, sort, direction).map_err(|_| bad("invalid cursor"))?,
                );
            }
            "status" if !value.is_empty() => {
                if !STATUSES.contains(&value.as_ref()) {
                    return Err(bad("status must be one of open, closed, archived"));
                }
                query.statuses = StatusKey::parse(&value).ok().into_iter().collect();
            }
            _ => {}
        }
    }
    let page = crate::ops::reads::list_requests(&state, &p, query.clone()).await?;
    let mut cases = Vec::with_capacity(page.items.len());
    for r in &page.items {
        cases.push(Case::load(&state, &p, r).await?);
    }
    Ok(Json(CaseList {
        cases,
        next_cursor: page.next.map(|c| c.encode(sort, direction)),
    }))
}
