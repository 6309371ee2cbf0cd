//! `POST/GET /api/v1/requests/{id}/links` and `DELETE /api/v1/requests/{id}/links/{link_id}`:
//! a request's public links, the tokens an outside recipient acts on it with.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiJson, PathId};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::ids::RequestId;
use docket_domain::link::{LinkId, LinkMode, PublicLink};
use docket_domain::request::Request;
use docket_domain::DomainError;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// `one_time` (a single use) or `multi_use`.
    pub mode: LinkMode,
    /// RFC 3339, or a date (the end of that day, UTC); no expiry when omitted.
    pub expires_at: Option<String>,
}

/// A public link as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkView {
    #[serde(flatten)]
    pub link: PublicLink,
    /// `<public_url>/p/{token}`, the recipient's address.
    pub url: String,
    /// Whether the link would accept a use now.
    pub active: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkList {
    pub items: Vec<LinkView>,
}

fn view(state: &AppState, link: PublicLink, request: &Request) -> LinkView {
    let active = link.is_active(request, docket_domain::now());
    let url = state
        .settings()
        .public_link(&format!("/p/{}", link.token.as_str()));
    LinkView { link, url, active }
}

#[utoipa::path(post, operation_id = "create_link", path = "/api/v1/requests/{id}/links", tag = "requests", request_body = CreateLink,
    params(("id" = String, Path)),
    responses(
        (status = 201, description = "Created", body = LinkView),
        (status = 403, description = "Only the requester, the assignee or requests:manage may share", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such request", body = crate::error::ErrorEnvelope),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<CreateLink>,
) -> Result<(StatusCode, Json<LinkView>), ApiError> {
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|e| crate::time::parse_instant("expires_at", e))
        .transpose()?;
    let (link, request) = crate::ops::links::share(&state, &p, id, body.mode, expires_at).await?;
    Ok((StatusCode::CREATED, Json(view(&state, link, &request))))
}

#[utoipa::path(get, operation_id = "list_links", path = "/api/v1/requests/{id}/links", tag = "requests",
    params(("id" = String, Path)),
    responses((status = 200, description = "The request's links, oldest first", body = LinkList)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
) -> Result<Json<LinkList>, ApiError> {
    p.require(Scope::RequestsRead)?;
    let request = crate::ops::reads::live_request(&state, &p, id).await?;
    let links = state.store().links_of_request(p.workspace_id, id).await?;
    Ok(Json(LinkList {
        items: links
            .into_iter()
            .map(|l| view(&state, l, &request))
            .collect(),
    }))
}

#[utoipa::path(delete, operation_id = "revoke_link", path = "/api/v1/requests/{id}/links/{link_id}", tag = "requests",
    params(("id" = String, Path), ("link_id" = String, Path)),
    responses(
        (status = 204, description = "Revoked (revoking twice is fine)"),
        (status = 404, description = "No such link on this request", body = crate::error::ErrorEnvelope),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::Domain(DomainError::NotFound("link"));
    let id: RequestId = id.parse().map_err(|_| not_found())?;
    let link_id: LinkId = link_id.parse().map_err(|_| not_found())?;
    crate::ops::links::revoke(&state, &p, id, link_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
