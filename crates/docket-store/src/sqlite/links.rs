//! Public links in SQLite: creating, finding, revoking and using them. A use writes the
//! request, its event, the link's use count (and any files) in one writer job.

use super::errors::{internal, is_unique_violation};
use super::events::insert_event;
use super::files;
use super::requests::{request_in, request_write_error, update_request};
use super::rows::{link_from_row, micros, LINK_COLUMNS};
use super::type_cache::{request_type_cached, TypeCache};
use crate::{NewLink, PlanLinkUse, Result};
use docket_domain::event::Event;
use docket_domain::file::FileRecord;
use docket_domain::ids::{RequestId, WorkspaceId};
use docket_domain::link::{LinkId, PublicLink};
use docket_domain::request::Request;
use docket_domain::{DomainError, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) fn link_in(
    conn: &Connection,
    ws: WorkspaceId,
    id: LinkId,
) -> Result<Option<PublicLink>> {
    Ok(conn
        .prepare_cached(&format!(
            "select {LINK_COLUMNS} from request_links where workspace_id = ?1 and id = ?2"
        ))?
        .query_row(params![ws.to_string(), id.to_string()], link_from_row)
        .optional()?)
}

pub(super) fn link_with_token(conn: &Connection, token: &str) -> Result<Option<PublicLink>> {
    Ok(conn
        .prepare_cached(&format!(
            "select {LINK_COLUMNS} from request_links where token = ?1"
        ))?
        .query_row([token], link_from_row)
        .optional()?)
}

/// Inserts a link row as it is (a new link, or an imported one).
pub(super) fn insert_link_row(c: &Connection, l: &PublicLink) -> rusqlite::Result<usize> {
    c.prepare_cached(&format!(
        "insert into request_links ({LINK_COLUMNS}) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?
    .execute(params![
        l.id.to_string(),
        l.workspace_id.to_string(),
        l.request_id.to_string(),
        l.token.as_str(),
        l.mode.as_str(),
        l.expires_at.map(micros),
        l.revoked_at.map(micros),
        l.used_count,
        micros(l.created_at),
    ])
}

/// Inserts a link, drawing a new token in the (astronomically rare) case of a collision.
pub(super) fn insert_new_link(
    c: &Connection,
    request: &Request,
    link: &NewLink,
    now: Timestamp,
) -> Result<PublicLink> {
    for _ in 0..4 {
        let l = PublicLink::new(request, link.mode, link.expires_at, now);
        match insert_link_row(c, &l) {
            Ok(_) => return Ok(l),
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(internal("could not draw a unique link token"))
}

pub(super) fn insert_link(
    c: &Connection,
    ws: WorkspaceId,
    request: RequestId,
    link: NewLink,
    now: Timestamp,
) -> Result<PublicLink> {
    let request = request_in(c, ws, request)?
        .filter(|r| r.deleted_at.is_none())
        .ok_or(DomainError::NotFound("request"))?;
    insert_new_link(c, &request, &link, now)
}

pub(super) fn links_of_request(
    c: &Connection,
    ws: WorkspaceId,
    request: RequestId,
) -> Result<Vec<PublicLink>> {
    let mut stmt = c.prepare_cached(&format!(
        "select {LINK_COLUMNS} from request_links where workspace_id = ?1 and request_id = ?2 order by created_at, id"
    ))?;
    let rows = stmt.query_map(params![ws.to_string(), request.to_string()], link_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn link_by_token(c: &Connection, token: &str) -> Result<Option<(PublicLink, Request)>> {
    let Some(link) = link_with_token(c, token)? else {
        return Ok(None);
    };
    let request = request_in(c, link.workspace_id, link.request_id)?
        .ok_or_else(|| internal("a link's request is missing"))?;
    Ok(Some((link, request)))
}

pub(super) fn revoke_link(
    c: &Connection,
    ws: WorkspaceId,
    id: LinkId,
    at: Timestamp,
) -> Result<PublicLink> {
    let mut l = link_in(c, ws, id)?.ok_or(DomainError::NotFound("link"))?;
    if l.revoked_at.is_none() {
        l.revoked_at = Some(at);
        c.prepare_cached("update request_links set revoked_at = ?1 where id = ?2")?
            .execute(params![micros(at), id.to_string()])?;
    }
    Ok(l)
}

pub(super) fn set_link_expiry(
    c: &Connection,
    ws: WorkspaceId,
    id: LinkId,
    expires_at: Option<Timestamp>,
) -> Result<PublicLink> {
    let mut l = link_in(c, ws, id)?.ok_or(DomainError::NotFound("link"))?;
    l.expires_at = expires_at;
    c.prepare_cached("update request_links set expires_at = ?1 where id = ?2")?
        .execute(params![expires_at.map(micros), id.to_string()])?;
    Ok(l)
}

/// See [`crate::Store::use_link_with_files`] (and `use_link`, which is this with no
/// files). Runs on the writer.
pub(super) fn use_link_with_files(
    c: &Connection,
    cache: &TypeCache,
    token: &str,
    files: Vec<FileRecord>,
    plan: PlanLinkUse,
) -> Result<(PublicLink, Request, Event)> {
    let link = link_with_token(c, token)?.ok_or(DomainError::NotFound("link"))?;
    let current = request_in(c, link.workspace_id, link.request_id)?
        .ok_or(DomainError::NotFound("request"))?;
    if files
        .iter()
        .any(|f| f.workspace_id != link.workspace_id || f.request_id != Some(link.request_id))
    {
        return Err(internal("a file of a link use names another request"));
    }
    let rtype = request_type_cached(c, cache, current.type_id)?;
    let items = super::items::list_items(c, link.workspace_id, link.request_id)?;
    let (planned, used) = plan(&link, &current, &rtype, &items)?;
    // The request first: a bad value fails that statement alone, before any
    // write (see writer.rs). Both writes check what the plan was made from;
    // with one writer they always match.
    let updated = update_request(c, &current, &planned.request).map_err(request_write_error)?;
    if updated != 1 {
        return Err(DomainError::PreconditionFailed {
            current: current.version,
        }
        .into());
    }
    let counted = c
        .prepare_cached(
            "update request_links set used_count = ?1 where id = ?2 and used_count = ?3",
        )?
        .execute(params![
            used.used_count,
            link.id.to_string(),
            link.used_count
        ])?;
    if counted != 1 {
        return Err(internal("a link's use count changed under the writer"));
    }
    for f in &files {
        files::insert_file_row(c, f)?;
    }
    super::items::write_items(c, &planned.items)?;
    let event = insert_event(c, planned.event, Some(&rtype.workflow))?;
    for e in planned.follow_ups {
        insert_event(c, e, Some(&rtype.workflow))?;
    }
    Ok((used, planned.request, event))
}
