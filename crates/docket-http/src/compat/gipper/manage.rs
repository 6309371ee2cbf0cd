//! The account's routes: list, create, update (cancel) and destroy content requests.

use super::{
    ensure_type, link_of, parse_body, parse_expiration, recipient, ContentRequest, GipperAuth,
    GipperError, RECIPIENT_KEY, TYPE_KEY,
};
use crate::compat::body::{BodyError, RawBody};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use docket_domain::access::{Principal, Scope};
use docket_domain::link::LinkMode;
use docket_domain::query::{RequestQuery, MAX_LIMIT};
use docket_domain::request::{
    plan_create, plan_delete, plan_update, NewRequest, Patch, Request, RequestPatch, TypeKey,
};
use docket_domain::workflow::StatusKey;
use docket_store::NewLink;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

fn type_key() -> TypeKey {
    TypeKey::parse(TYPE_KEY).unwrap_or_else(|_| TypeKey::general())
}

#[derive(Deserialize)]
pub struct ListParams {
    pub pending: Option<String>,
    pub query: Option<String>,
    pub sort_by: Option<String>,
    pub sort_to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

#[derive(Serialize)]
pub struct Meta {
    pub total_count: usize,
}

#[derive(Serialize)]
pub struct ListBody {
    pub content_requests: Vec<ContentRequest>,
    pub meta: Meta,
}

/// How many content requests a list looks through to sort and count; Docket pages by
/// keyset, Gipper by page number and any of four orders, so the list is cut here.
const SCAN_CAP: usize = 10_000;

fn positive(name: &str, raw: Option<&str>, default: usize) -> Result<usize, GipperError> {
    match raw {
        None | Some("") => Ok(default),
        Some(s) => s
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| GipperError::Invalid(format!("{name} must be a positive number"))),
    }
}

pub async fn list(
    State(state): State<AppState>,
    GipperAuth(p): GipperAuth,
    RawQuery(query): RawQuery,
) -> Result<Json<ListBody>, GipperError> {
    p.require(Scope::RequestsRead)?;
    let params: ListParams = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| GipperError::Invalid(format!("invalid query: {e}")))?;
    let pending = match params.pending.as_deref() {
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(_) => {
            return Err(GipperError::Invalid(
                "pending must be one of: true, false, 1, 0".into(),
            ))
        }
        None => return Err(GipperError::Invalid("Missing parameter pending".into())),
    };
    let sort_by = params.sort_by.as_deref().unwrap_or("created_at");
    if !["created_at", "name", "recipient", "expiration_date"].contains(&sort_by) {
        return Err(GipperError::Invalid(
            "sort_by must be one of: created_at, name, recipient, expiration_date".into(),
        ));
    }
    let descending = match params.sort_to.as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            return Err(GipperError::Invalid(
                "sort_to must be one of: asc, desc".into(),
            ))
        }
    };
    let page = positive("page", params.page.as_deref(), 1)?;
    let per_page = positive("per_page", params.per_page.as_deref(), 10)?.min(MAX_LIMIT as usize);

    let statuses = if pending {
        vec!["pending"]
    } else {
        vec!["completed", "canceled"]
    };
    let mut query = RequestQuery {
        statuses: statuses
            .into_iter()
            .filter_map(|s| StatusKey::parse(s).ok())
            .collect(),
        types: vec![type_key()],
        text: params.query.filter(|q| !q.trim().is_empty()),
        limit: MAX_LIMIT,
        ..Default::default()
    };
    let mut all: Vec<Request> = Vec::new();
    loop {
        let page = crate::ops::reads::list_requests(&state, &p, query.clone()).await?;
        all.extend(page.items);
        match page.next {
            Some(next) if all.len() < SCAN_CAP => query.after = Some(next),
            _ => break,
        }
    }
    // The store lists newest first; a stable sort keeps that as the tie-break.
    match sort_by {
        "name" => all.sort_by_key(|r| r.title.to_lowercase()),
        "recipient" => all.sort_by_key(|r| recipient(r).to_lowercase()),
        "expiration_date" => all.sort_by_key(|r| r.due_at),
        _ => all.sort_by_key(|r| r.created_at),
    }
    if descending {
        all.reverse();
    }
    let total_count = all.len();
    let mut content_requests = Vec::new();
    for r in all
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
    {
        let link = link_of(&state, r).await?;
        content_requests.push(ContentRequest::new(&state, r, link.as_ref(), false));
    }
    Ok(Json(ListBody {
        content_requests,
        meta: Meta { total_count },
    }))
}

#[derive(Deserialize)]
pub struct Envelope<T> {
    pub content_request: Option<T>,
}

#[derive(Deserialize)]
pub struct CreateFields {
    pub name: Option<String>,
    pub recipient: Option<String>,
    pub prompt: Option<String>,
    pub expiration_date: Option<String>,
    pub time_type: Option<String>,
}

fn required(name: &str, value: Option<String>) -> Result<String, GipperError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| GipperError::Invalid(format!("Missing parameter content_request[{name}]")))
}

fn body_bytes(body: Result<Bytes, BodyError>) -> Result<Bytes, GipperError> {
    body.map_err(GipperError::from_body)
}

pub async fn create(
    State(state): State<AppState>,
    GipperAuth(p): GipperAuth,
    RawBody(body): RawBody,
) -> Result<Json<ContentRequest>, GipperError> {
    let body: Envelope<CreateFields> = parse_body(&body_bytes(body)?)?;
    let fields = body
        .content_request
        .ok_or_else(|| GipperError::Invalid("Missing parameter content_request".into()))?;
    let name = required("name", fields.name)?;
    let recipient = required("recipient", fields.recipient)?;
    let prompt = required("prompt", fields.prompt)?;
    let expiration = parse_expiration(&required("expiration_date", fields.expiration_date)?)?;
    let mode = match fields.time_type.as_deref() {
        None | Some("one_time") => LinkMode::OneTime,
        Some("multi_use") => LinkMode::MultiUse,
        Some(_) => {
            return Err(GipperError::Invalid(
                "content_request[time_type] must be one of: one_time, multi_use".into(),
            ))
        }
    };
    ensure_type(&state, p.workspace_id).await?;
    let mut data = Map::new();
    data.insert(RECIPIENT_KEY.into(), Value::String(recipient));
    let input = NewRequest {
        title: name,
        description: Some(prompt),
        due_at: Some(expiration),
        data: Some(data),
        ..Default::default()
    };
    let now = docket_domain::now();
    let ws = p.workspace_id;
    let (request, _, link) = state
        .store()
        .create_request_with_link(
            ws,
            &type_key(),
            Box::new(move |rtype, number| plan_create(&p, rtype, input, number, now)),
            NewLink {
                mode,
                expires_at: Some(expiration),
            },
        )
        .await?;
    Ok(Json(ContentRequest::new(
        &state,
        &request,
        Some(&link),
        true,
    )))
}

#[derive(Deserialize)]
pub struct UpdateFields {
    pub name: Option<String>,
    pub recipient: Option<String>,
    pub prompt: Option<String>,
    pub expiration_date: Option<String>,
    pub status: Option<String>,
}

/// The live content request numbered `raw` in the caller's workspace.
async fn by_id(state: &AppState, p: &Principal, raw: &str) -> Result<Request, GipperError> {
    let number: i64 = raw
        .parse()
        .map_err(|_| GipperError::Invalid("id must be an Integer".into()))?;
    crate::ops::reads::request_by_number(state, p, number)
        .await?
        .filter(|r| r.deleted_at.is_none() && r.type_key.as_str() == TYPE_KEY)
        .ok_or_else(|| GipperError::NotFound("Content request not found".into()))
}

pub async fn update(
    State(state): State<AppState>,
    GipperAuth(p): GipperAuth,
    raw: Result<Path<String>, PathRejection>,
    RawBody(body): RawBody,
) -> Result<Json<ContentRequest>, GipperError> {
    let Path(raw) = raw.map_err(|_| GipperError::NotFound("Content request not found".into()))?;
    p.require(Scope::RequestsRead)?;
    let current = by_id(&state, &p, &raw).await?;
    let body: Envelope<UpdateFields> = parse_body(&body_bytes(body)?)?;
    let fields = body
        .content_request
        .ok_or_else(|| GipperError::Invalid("Missing parameter content_request".into()))?;
    // The one status an account may set; the workflow then judges the move.
    let status = match fields.status.as_deref() {
        None => None,
        Some("canceled") => StatusKey::parse("canceled").ok(),
        Some(_) => {
            return Err(GipperError::Invalid(
                "content_request[status] must be one of: canceled".into(),
            ))
        }
    };
    let expiration = fields
        .expiration_date
        .as_deref()
        .map(parse_expiration)
        .transpose()?;
    let data = fields.recipient.map(|r| {
        let mut m = Map::new();
        m.insert(RECIPIENT_KEY.into(), Value::String(r));
        m
    });
    let patch = RequestPatch {
        title: fields.name,
        description: fields.prompt,
        status,
        due_at: expiration.map_or(Patch::Keep, Patch::Set),
        data,
        ..Default::default()
    };
    let now = docket_domain::now();
    let principal = p.clone();
    let applied = state
        .store()
        .change_request(
            p.workspace_id,
            current.id,
            Box::new(move |current, rtype| {
                plan_update(&principal, current, &rtype.workflow, patch, None, now)
            }),
        )
        .await?;
    let request = applied.into_request();
    let mut link = link_of(&state, &request).await?;
    if let (Some(expires), Some(l)) = (expiration, &link) {
        if l.expires_at != Some(expires) {
            link = Some(
                state
                    .store()
                    .set_link_expiry(p.workspace_id, l.id, Some(expires))
                    .await?,
            );
        }
    }
    Ok(Json(ContentRequest::new(
        &state,
        &request,
        link.as_ref(),
        true,
    )))
}

pub async fn delete(
    State(state): State<AppState>,
    GipperAuth(p): GipperAuth,
    raw: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, GipperError> {
    let Path(raw) = raw.map_err(|_| GipperError::NotFound("Content request not found".into()))?;
    p.require(Scope::RequestsRead)?;
    let current = by_id(&state, &p, &raw).await?;
    let now = docket_domain::now();
    let principal = p.clone();
    state
        .store()
        .change_request(
            p.workspace_id,
            current.id,
            Box::new(move |current, _| plan_delete(&principal, current, None, now).map(Some)),
        )
        .await?;
    Ok(Json(json!({ "success": true })))
}
