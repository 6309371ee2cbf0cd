//! `GET /v1/requests/{id}`, `GET /v1/requests` and `GET /v1/campaigns`.

use super::{
    ensure_builtin_campaign, is_campaign, render, CollectAuth, CollectError, CollectRequest,
    RequestEnvelope,
};
use crate::state::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::ids::RequestId;
use docket_domain::query::{RequestQuery, MAX_LIMIT};
use docket_domain::request::TypeKey;
use docket_domain::workflow::StatusKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /v1/requests/{id}[?expires=seconds]`: the request with its elements; upload URLs
/// are signed for `expires` seconds (default 900, at most 3600).
pub async fn get(
    State(state): State<AppState>,
    CollectAuth(p): CollectAuth,
    raw: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<RequestEnvelope>, CollectError> {
    let Path(raw) = raw.map_err(|_| CollectError::NotFound("request not found".into()))?;
    p.require(Scope::RequestsRead)?;
    #[derive(Deserialize)]
    struct GetParams {
        expires: Option<String>,
    }
    let params: GetParams = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| CollectError::BadRequest(format!("invalid query: {e}")))?;
    let expires = super::elements::parse_expires(params.expires.as_deref())?;
    let not_found = || CollectError::NotFound("request not found".into());
    let id: RequestId = raw.parse().map_err(|_| not_found())?;
    let request = crate::ops::reads::get_request(&state, &p, id)
        .await?
        .filter(|r| r.deleted_at.is_none() && is_campaign(&r.type_key))
        .ok_or_else(not_found)?;
    let mut rendered = render(&state, &request).await?;
    rendered.elements = Some(super::elements::of_request(&state, &request, expires).await?);
    Ok(Json(RequestEnvelope {
        errors: vec![],
        request: rendered,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub campaign_id: Option<String>,
    pub status: Option<String>,
    pub search: Option<String>,
    pub offset: Option<u32>,
    pub limit: Option<u32>,
}

#[derive(Serialize)]
pub struct ListEnvelope {
    pub errors: Vec<Value>,
    pub requests: Vec<CollectRequest>,
    pub total: usize,
    pub offset: u32,
    pub limit: u32,
}

/// How many requests a Collect list looks through to count and cut its offset page.
/// Docket pages by keyset; an offset is served by walking those pages.
const SCAN_CAP: usize = 10_000;
const DEFAULT_LIMIT: u32 = 20;

pub async fn list(
    State(state): State<AppState>,
    CollectAuth(p): CollectAuth,
    RawQuery(query): RawQuery,
) -> Result<Json<ListEnvelope>, CollectError> {
    p.require(Scope::RequestsRead)?;
    let params: ListParams = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| CollectError::BadRequest(format!("invalid query: {e}")))?;
    let offset = params.offset.unwrap_or(0);
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(CollectError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let campaign = match params.campaign_id.as_deref() {
        Some(c) => Some(
            TypeKey::parse(c)
                .ok()
                .filter(is_campaign)
                .ok_or_else(|| CollectError::NotFound(format!("no campaign {c:?}")))?,
        ),
        None => None,
    };
    let statuses = match params.status.as_deref() {
        Some(s) => vec![StatusKey::parse(s).map_err(CollectError::BadRequest)?],
        None => vec![],
    };
    // Collect's requests are those of its campaigns: the store filters by them (with the
    // indexes the native list uses), so other products' requests are never read.
    let types: Vec<TypeKey> = match campaign {
        Some(c) => vec![c],
        None => state
            .store()
            .list_request_types(p.workspace_id)
            .await?
            .into_iter()
            .map(|t| t.key)
            .filter(is_campaign)
            .collect(),
    };
    if types.is_empty() {
        return Ok(Json(ListEnvelope {
            errors: vec![],
            requests: vec![],
            total: 0,
            offset,
            limit,
        }));
    }
    let mut query = RequestQuery {
        statuses,
        types,
        text: params.search.filter(|s| !s.trim().is_empty()),
        limit: MAX_LIMIT,
        ..Default::default()
    };
    let (start, end) = (offset as usize, offset as usize + limit as usize);
    let mut seen = 0usize;
    let mut page_items = Vec::new();
    loop {
        let page = crate::ops::reads::list_requests(&state, &p, query.clone()).await?;
        for r in page.items {
            if (start..end).contains(&seen) {
                page_items.push(r);
            }
            seen += 1;
        }
        match page.next {
            Some(next) if seen < SCAN_CAP => query.after = Some(next),
            _ => break,
        }
    }
    let mut requests = Vec::with_capacity(page_items.len());
    for r in &page_items {
        requests.push(render(&state, r).await?);
    }
    Ok(Json(ListEnvelope {
        errors: vec![],
        requests,
        total: seen,
        offset,
        limit,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    pub description: String,
    /// The campaign's statuses: Collect's five, then any custom ones.
    pub statuses: Vec<String>,
    pub created_at: String,
}

#[derive(Serialize)]
pub struct CampaignsEnvelope {
    pub errors: Vec<Value>,
    pub campaigns: Vec<Campaign>,
}

pub async fn campaigns(
    State(state): State<AppState>,
    CollectAuth(p): CollectAuth,
) -> Result<Json<CampaignsEnvelope>, CollectError> {
    p.require(Scope::RequestsRead)?;
    ensure_builtin_campaign(&state, p.workspace_id).await?;
    let types = state.store().list_request_types(p.workspace_id).await?;
    let campaigns = types
        .into_iter()
        .filter(|t| is_campaign(&t.key))
        .map(|t| Campaign {
            id: t.key.as_str().to_owned(),
            name: t.name,
            description: t.description,
            statuses: t
                .workflow
                .statuses()
                .iter()
                .map(|s| s.key.as_str().to_owned())
                .collect(),
            created_at: super::date(t.created_at),
        })
        .collect();
    Ok(Json(CampaignsEnvelope {
        errors: vec![],
        campaigns,
    }))
}
