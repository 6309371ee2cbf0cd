//! Requested items in SQLite: a request's items, their submissions, and changes to them
//! (with the request's progress and the events in the same transaction).
//!
//! Writers run on the writer thread and keep its rule (see `writer.rs`): every refusal
//! comes before the first write.

use super::errors::internal;
use super::events::insert_event;
use super::files::insert_file_row;
use super::requests::{request_in, request_write_error, update_request};
use super::rows::{json, to_json};
use super::type_cache::{request_type_cached, TypeCache};
use crate::{Applied, PlanItems, Result};
use docket_domain::file::FileRecord;
use docket_domain::ids::{ItemId, RequestId, WorkspaceId};
use docket_domain::item::{Item, ItemWrites, Submission};
use docket_domain::DomainError;
use rusqlite::{params, Connection, OptionalExtension};

/// The items of a request, in order.
pub(super) fn list_items(c: &Connection, ws: WorkspaceId, request: RequestId) -> Result<Vec<Item>> {
    let mut stmt = c.prepare_cached(
        "select body, workspace_id from request_items where workspace_id = ?1 and request_id = ?2 order by position",
    )?;
    let rows = stmt.query_map(params![ws.to_string(), request.to_string()], |r| {
        let mut item: Item = json(r, 0)?;
        item.workspace_id = ws;
        Ok(item)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn request_of_item(
    c: &Connection,
    ws: WorkspaceId,
    item: ItemId,
) -> Result<Option<RequestId>> {
    let id: Option<String> = c
        .prepare_cached("select request_id from request_items where workspace_id = ?1 and id = ?2")?
        .query_row(params![ws.to_string(), item.to_string()], |r| r.get(0))
        .optional()?;
    id.map(|id| {
        id.parse()
            .map_err(|e| super::errors::internal(format!("stored request id: {e}")))
    })
    .transpose()
}

/// The submissions to a request's items (or only to `item`), each item's oldest first.
pub(super) fn item_submissions(
    c: &Connection,
    ws: WorkspaceId,
    request: RequestId,
    item: Option<ItemId>,
) -> Result<Vec<Submission>> {
    let mut stmt = c.prepare_cached(
        "select body from item_submissions where workspace_id = ?1 and request_id = ?2 and (?3 is null or item_id = ?3)
         order by item_id, number",
    )?;
    let args = params![
        ws.to_string(),
        request.to_string(),
        item.map(|i| i.to_string())
    ];
    let rows = stmt.query_map(args, |r| {
        let mut s: Submission = json(r, 0)?;
        s.workspace_id = ws;
        Ok(s)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes what a plan did to a request's items: items inserted or replaced, removed, and
/// new submissions.
pub(super) fn write_items(c: &Connection, writes: &ItemWrites) -> Result<()> {
    for id in &writes.remove {
        c.prepare_cached("delete from request_items where id = ?1")?
            .execute([id.to_string()])?;
    }
    for item in &writes.upsert {
        c.prepare_cached(
            "insert into request_items (id, workspace_id, request_id, position, body) values (?1, ?2, ?3, ?4, ?5)
             on conflict (id) do update set position = excluded.position, body = excluded.body",
        )?
        .execute(params![
            item.id.to_string(),
            item.workspace_id.to_string(),
            item.request_id.to_string(),
            item.position,
            to_json(item)?
        ])?;
    }
    for s in &writes.submissions {
        c.prepare_cached(
            "insert into item_submissions (id, workspace_id, request_id, item_id, number, body) values (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            s.id.to_string(),
            s.workspace_id.to_string(),
            s.request_id.to_string(),
            s.item_id.to_string(),
            s.number,
            to_json(s)?
        ])?;
    }
    Ok(())
}

/// See [`crate::Store::change_items`]. Runs on the writer.
pub(super) fn change_items(
    c: &Connection,
    cache: &TypeCache,
    ws: WorkspaceId,
    id: RequestId,
    files: Vec<FileRecord>,
    plan: PlanItems,
) -> Result<(Applied, Vec<Item>)> {
    let current = request_in(c, ws, id)?.ok_or(DomainError::NotFound("request"))?;
    if files
        .iter()
        .any(|f| f.workspace_id != ws || f.request_id != Some(id))
    {
        return Err(internal("a file of an item change names another request"));
    }
    let rtype = request_type_cached(c, cache, current.type_id)?;
    let items = list_items(c, ws, id)?;
    let Some(planned) = plan(&current, &rtype, &items)? else {
        return Ok((Applied::Unchanged(current), items));
    };
    let after = planned.items.apply_to(items);
    let updated = update_request(c, &current, &planned.request).map_err(request_write_error)?;
    if updated != 1 {
        // Unreachable with one writer; kept so a logic error is a conflict, not a lost update.
        return Err(DomainError::PreconditionFailed {
            current: current.version,
        }
        .into());
    }
    for f in &files {
        insert_file_row(c, f)?;
    }
    write_items(c, &planned.items)?;
    let event = insert_event(c, planned.event, Some(&rtype.workflow))?;
    for e in planned.follow_ups {
        insert_event(c, e, Some(&rtype.workflow))?;
    }
    Ok((
        Applied::Changed {
            request: planned.request,
            event,
        },
        after,
    ))
}
