//! Public links in PostgreSQL: creating, finding, revoking and using them. A use locks the
//! request's type, the request and then the link, so concurrent uses of one link queue on
//! the request's row lock and a one-time link is used once.

use super::events::write_events;
use super::files;
use super::requests::{request_in, update_request};
use super::rows::{link_from_row, micros, LINK_COLUMNS};
use super::types::request_type_by_id;
use crate::{NewLink, PlanLinkUse, Result, StoreError};
use docket_domain::event::Event;
use docket_domain::file::FileRecord;
use docket_domain::ids::{RequestId, RequestTypeId, WorkspaceId};
use docket_domain::link::{LinkId, PublicLink};
use docket_domain::request::Request;
use docket_domain::{DomainError, Timestamp};
use sqlx::{PgConnection, PgPool};

pub(super) async fn link_in(
    c: &mut PgConnection,
    ws: WorkspaceId,
    id: LinkId,
    lock: &str,
) -> Result<Option<PublicLink>> {
    sqlx::query(&format!(
        "select {LINK_COLUMNS} from request_links where workspace_id = $1 and id = $2{lock}"
    ))
    .bind(ws.0)
    .bind(id.0)
    .fetch_optional(c)
    .await?
    .map(|r| link_from_row(&r))
    .transpose()
}

pub(super) async fn link_with_token(
    c: &mut PgConnection,
    token: &str,
    lock: &str,
) -> Result<Option<PublicLink>> {
    sqlx::query(&format!(
        "select {LINK_COLUMNS} from request_links where token = $1{lock}"
    ))
    .bind(token)
    .fetch_optional(c)
    .await?
    .map(|r| link_from_row(&r))
    .transpose()
}

/// Inserts a link row as it is (a new link, or an imported one).
pub(super) async fn insert_link_row(c: &mut PgConnection, l: &PublicLink) -> Result<()> {
    sqlx::query(&format!(
        "insert into request_links ({LINK_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(l.id.0)
    .bind(l.workspace_id.0)
    .bind(l.request_id.0)
    .bind(l.token.as_str())
    .bind(l.mode.as_str())
    .bind(l.expires_at.map(micros))
    .bind(l.revoked_at.map(micros))
    .bind(l.used_count)
    .bind(micros(l.created_at))
    .execute(c)
    .await?;
    Ok(())
}

/// Inserts a link, drawing a new token in the (astronomically rare) case that the one
/// drawn is taken. Checked before the insert, so a collision never aborts the transaction.
pub(super) async fn insert_new_link(
    c: &mut PgConnection,
    request: &Request,
    link: &NewLink,
    now: Timestamp,
) -> Result<PublicLink> {
    for _ in 0..4 {
        let l = PublicLink::new(request, link.mode, link.expires_at, now);
        let taken: bool =
            sqlx::query_scalar("select exists (select 1 from request_links where token = $1)")
                .bind(l.token.as_str())
                .fetch_one(&mut *c)
                .await?;
        if taken {
            continue;
        }
        insert_link_row(c, &l).await?;
        return Ok(l);
    }
    Err(StoreError::Internal(anyhow::anyhow!(
        "could not draw a unique link token"
    )))
}

pub(super) async fn insert_link(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    request: RequestId,
    link: NewLink,
    now: Timestamp,
) -> Result<PublicLink> {
    let request = request_in(tx, ws, request, " for share")
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or(DomainError::NotFound("request"))?;
    let link = insert_new_link(tx, &request, &link, now).await?;
    Ok(link)
}

pub(super) async fn links_of_request(
    pool: &PgPool,
    ws: WorkspaceId,
    request: RequestId,
) -> Result<Vec<PublicLink>> {
    sqlx::query(&format!(
        "select {LINK_COLUMNS} from request_links where workspace_id = $1 and request_id = $2 order by created_at, id"
    ))
    .bind(ws.0)
    .bind(request.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(link_from_row)
    .collect()
}

pub(super) async fn link_by_token(
    c: &mut PgConnection,
    token: &str,
) -> Result<Option<(PublicLink, Request)>> {
    let Some(link) = link_with_token(c, token, "").await? else {
        return Ok(None);
    };
    let request = request_in(c, link.workspace_id, link.request_id, "")
        .await?
        .ok_or_else(|| StoreError::Internal(anyhow::anyhow!("a link's request is missing")))?;
    Ok(Some((link, request)))
}

pub(super) async fn revoke_link(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    id: LinkId,
    at: Timestamp,
) -> Result<PublicLink> {
    let mut l = link_in(tx, ws, id, " for update")
        .await?
        .ok_or(DomainError::NotFound("link"))?;
    if l.revoked_at.is_none() {
        l.revoked_at = Some(at);
        sqlx::query("update request_links set revoked_at = $1 where id = $2")
            .bind(micros(at))
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
    }
    Ok(l)
}

pub(super) async fn set_link_expiry(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    id: LinkId,
    expires_at: Option<Timestamp>,
) -> Result<PublicLink> {
    let mut l = link_in(tx, ws, id, " for update")
        .await?
        .ok_or(DomainError::NotFound("link"))?;
    l.expires_at = expires_at;
    sqlx::query("update request_links set expires_at = $1 where id = $2")
        .bind(expires_at.map(micros))
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    Ok(l)
}

/// See [`crate::Store::use_link_with_files`] (and `use_link`, which is this with no
/// files). Runs in the caller's transaction.
pub(super) async fn use_link_with_files(
    tx: &mut PgConnection,
    token: &str,
    files: Vec<FileRecord>,
    plan: PlanLinkUse,
) -> Result<(PublicLink, Request, Event)> {
    let found = link_with_token(tx, token, "")
        .await?
        .ok_or(DomainError::NotFound("link"))?;
    if files
        .iter()
        .any(|f| f.workspace_id != found.workspace_id || f.request_id != Some(found.request_id))
    {
        return Err(StoreError::Internal(anyhow::anyhow!(
            "a file of a link use names another request"
        )));
    }
    // The lock order of every request write: the type (shared), the request, then
    // the link. Concurrent uses of one link queue on the request's row lock, and each
    // re-reads the link after it, so a one-time link is used once.
    let type_id: uuid::Uuid = sqlx::query_scalar("select type_id from requests where id = $1")
        .bind(found.request_id.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(DomainError::NotFound("request"))?;
    let rtype = request_type_by_id(tx, RequestTypeId(type_id), " for share").await?;
    let current = request_in(
        tx,
        found.workspace_id,
        found.request_id,
        " for no key update",
    )
    .await?
    .ok_or(DomainError::NotFound("request"))?;
    let link = link_in(tx, found.workspace_id, found.id, " for update")
        .await?
        .ok_or(DomainError::NotFound("link"))?;
    let items = super::items::list_items(&mut *tx, link.workspace_id, link.request_id).await?;
    let (planned, used) = plan(&link, &current, &rtype, &items)?;
    let updated = update_request(&mut *tx, &planned.request, current.version).await?;
    if updated != 1 {
        return Err(DomainError::PreconditionFailed {
            current: current.version,
        }
        .into());
    }
    let counted =
        sqlx::query("update request_links set used_count = $1 where id = $2 and used_count = $3")
            .bind(used.used_count)
            .bind(link.id.0)
            .bind(link.used_count)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if counted != 1 {
        return Err(StoreError::Internal(anyhow::anyhow!(
            "a link's use count changed under its lock"
        )));
    }
    for f in &files {
        files::insert_file_row(tx, f).await?;
    }
    let (request, event) = write_events(tx, planned, Some(&rtype.workflow)).await?;
    Ok((used, request, event))
}
