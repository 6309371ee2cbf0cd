//! Request types in SQLite: their rows, and changing a workflow under the requests that
//! use it.

use super::errors::{conflict, is_unique_violation};
use super::rows::{micros, request_type_from_row, to_json, REQUEST_TYPE_COLUMNS};
use super::type_cache::TypeCache;
use crate::{RequestTypeChange, Result};
use docket_domain::ids::{RequestTypeId, WorkspaceId};
use docket_domain::request::{RequestType, TypeKey};
use docket_domain::{DomainError, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) fn insert_request_type_row(conn: &Connection, t: &RequestType) -> Result<()> {
    conn.prepare_cached(
        "insert into request_types (id, workspace_id, key, name, description, workflow, created_at, updated_at, items)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        t.id.to_string(),
        t.workspace_id.to_string(),
        t.key.as_str(),
        t.name,
        t.description,
        to_json(&t.workflow)?,
        micros(t.created_at),
        micros(t.updated_at),
        to_json(&t.items)?
    ])
    .map_err(|e| if is_unique_violation(&e) { conflict("type_exists", format!("a request type with key {} exists", t.key.as_str())) } else { e.into() })?;
    Ok(())
}

pub(super) fn request_type_in(
    conn: &Connection,
    ws: WorkspaceId,
    key: &str,
) -> Result<Option<RequestType>> {
    Ok(conn
        .prepare_cached(&format!(
            "select {REQUEST_TYPE_COLUMNS} from request_types where workspace_id = ?1 and key = ?2"
        ))?
        .query_row(params![ws.to_string(), key], request_type_from_row)
        .optional()?)
}

pub(super) fn request_type_by_id(conn: &Connection, id: RequestTypeId) -> Result<RequestType> {
    Ok(conn
        .prepare_cached(&format!(
            "select {REQUEST_TYPE_COLUMNS} from request_types where id = ?1"
        ))?
        .query_row(params![id.to_string()], request_type_from_row)?)
}

pub(super) fn insert_request_type(c: &Connection, rtype: RequestType) -> Result<RequestType> {
    insert_request_type_row(c, &rtype).map(|_| rtype)
}

pub(super) fn list_request_types(c: &Connection, ws: WorkspaceId) -> Result<Vec<RequestType>> {
    let mut stmt = c.prepare_cached(&format!(
        "select {REQUEST_TYPE_COLUMNS} from request_types where workspace_id = ?1 order by key"
    ))?;
    let rows = stmt.query_map([ws.to_string()], request_type_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// See [`crate::Store::update_request_type`]. Runs on the writer, and drops the type from
/// `cache` in the same job.
pub(super) fn update_request_type(
    c: &Connection,
    cache: &TypeCache,
    ws: WorkspaceId,
    key: &TypeKey,
    change: RequestTypeChange,
    at: Timestamp,
) -> Result<RequestType> {
    let current =
        request_type_in(c, ws, key.as_str())?.ok_or(DomainError::NotFound("request type"))?;
    let update = change.apply(current, at);
    let t = update.next;
    // Each dropped status through the (workspace, status) index the list
    // filter uses anyway.
    let mut in_use = Vec::new();
    for status in update.dropped {
        let used: bool = c
            .prepare_cached("select exists (select 1 from requests where workspace_id = ?1 and status = ?2 and type_id = ?3)")?
            .query_row(params![ws.to_string(), status.as_str(), t.id.to_string()], |r| r.get(0))?;
        if used {
            in_use.push(status);
        }
    }
    if !in_use.is_empty() {
        return Err(docket_domain::request::statuses_in_use(&in_use).into());
    }
    if update.recategorise {
        for s in t.workflow.statuses() {
            c.prepare_cached("update requests set category = ?1, version = version + 1, updated_at = ?4 where workspace_id = ?5 and status = ?3 and type_id = ?2 and category <> ?1")?
                .execute(params![s.category.as_str(), t.id.to_string(), s.key.as_str(), micros(at), ws.to_string()])?;
        }
    }
    c.prepare_cached("update request_types set name = ?1, description = ?2, workflow = ?3, updated_at = ?4, items = ?6 where id = ?5")?
        .execute(params![t.name, t.description, to_json(&t.workflow)?, micros(at), t.id.to_string(), to_json(&t.items)?])?;
    cache.forget(t.id);
    Ok(t)
}
