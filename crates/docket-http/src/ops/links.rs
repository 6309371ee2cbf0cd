//! Sharing a request through public links, and taking a link back.

use crate::error::ApiError;
use crate::state::AppState;
use docket_domain::access::Principal;
use docket_domain::ids::RequestId;
use docket_domain::link::{check_may_share, LinkId, LinkMode, PublicLink};
use docket_domain::request::Request;
use docket_domain::{DomainError, Timestamp};
use docket_store::NewLink;

/// Makes a public link to request `id`; returns it with the request.
pub async fn share(
    state: &AppState,
    p: &Principal,
    id: RequestId,
    mode: LinkMode,
    expires_at: Option<Timestamp>,
) -> Result<(PublicLink, Request), ApiError> {
    let request = crate::ops::reads::live_request(state, p, id).await?;
    check_may_share(p, &request)?;
    let link = state
        .store()
        .insert_link(
            p.workspace_id,
            id,
            NewLink { mode, expires_at },
            docket_domain::now(),
        )
        .await?;
    Ok((link, request))
}

/// Revokes link `link_id` of request `id` (revoking twice is fine).
pub async fn revoke(
    state: &AppState,
    p: &Principal,
    id: RequestId,
    link_id: LinkId,
) -> Result<(), ApiError> {
    let request = crate::ops::reads::live_request(state, p, id).await?;
    check_may_share(p, &request)?;
    let links = state.store().links_of_request(p.workspace_id, id).await?;
    if !links.iter().any(|l| l.id == link_id) {
        return Err(DomainError::NotFound("link").into());
    }
    state
        .store()
        .revoke_link(p.workspace_id, link_id, docket_domain::now())
        .await?;
    Ok(())
}
