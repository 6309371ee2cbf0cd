//! Files in SQLite: file records, attaching them to requests (with the request's version
//! and timeline event in the same transaction), the workspace's file policy, and the
//! deployment's secrets.
//!
//! Writers run on the writer thread and keep its rule (see `writer.rs`): every refusal
//! comes before the first write.

use super::errors::internal;
use super::events::insert_event;
use super::requests::{request_in, update_request};
use super::rows::{micros, parsed, parsed_opt, time};
use crate::{FileWrite, Result};
use docket_domain::event::{Actor, Event};
use docket_domain::file::{
    plan_attach, plan_detach, FileId, FileName, FilePolicy, FileRecord, Uploader, Visibility,
};
use docket_domain::ids::{RequestId, WorkspaceId};
use docket_domain::request::{Planned, Request};
use docket_domain::{DomainError, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Row};

pub(crate) const FILE_COLUMNS: &str =
    "id, workspace_id, request_id, name, content_type, size, sha256, \
     uploaded_by_kind, uploaded_by_id, visibility, storage_key, created_at";

pub(crate) fn file_from_row(row: &Row<'_>) -> rusqlite::Result<FileRecord> {
    let kind: String = row.get(7)?;
    let by: Option<uuid::Uuid> = parsed_opt(row, 8, str::parse)?;
    Ok(FileRecord {
        id: parsed(row, 0, str::parse)?,
        workspace_id: parsed(row, 1, str::parse)?,
        request_id: parsed_opt(row, 2, str::parse)?,
        name: parsed(row, 3, |s| Ok::<_, &str>(FileName::sanitize(s)))?,
        content_type: row.get(4)?,
        size: row.get::<_, i64>(5)?.try_into().unwrap_or_default(),
        sha256: row.get(6)?,
        uploaded_by: Uploader::from_parts(&kind, by)
            .ok_or_else(|| super::rows::bad(7, "not an uploader"))?,
        visibility: parsed(row, 9, |s| Visibility::parse(s).ok_or("unknown visibility"))?,
        storage_key: row.get(10)?,
        created_at: time(row, 11)?,
    })
}

pub(super) fn insert_file_row(c: &Connection, f: &FileRecord) -> Result<()> {
    let (kind, by) = f.uploaded_by.to_parts();
    c.prepare_cached(&format!(
        "insert into files ({FILE_COLUMNS}) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?
    .execute(params![
        f.id.to_string(),
        f.workspace_id.to_string(),
        f.request_id.map(|r| r.to_string()),
        f.name.as_str(),
        f.content_type,
        i64::try_from(f.size).map_err(|_| internal("file size out of range"))?,
        f.sha256,
        kind,
        by.map(|u| u.to_string()),
        f.visibility.as_str(),
        f.storage_key,
        micros(f.created_at),
    ])?;
    Ok(())
}

pub(super) fn file_in(c: &Connection, ws: WorkspaceId, id: FileId) -> Result<Option<FileRecord>> {
    Ok(c.prepare_cached(&format!(
        "select {FILE_COLUMNS} from files where workspace_id = ?1 and id = ?2"
    ))?
    .query_row(params![ws.to_string(), id.to_string()], file_from_row)
    .optional()?)
}

pub(super) fn file_by_id(c: &Connection, id: FileId) -> Result<Option<FileRecord>> {
    Ok(
        c.prepare_cached(&format!("select {FILE_COLUMNS} from files where id = ?1"))?
            .query_row([id.to_string()], file_from_row)
            .optional()?,
    )
}

pub(super) fn list_files(
    c: &Connection,
    ws: WorkspaceId,
    request: Option<RequestId>,
    after: Option<FileId>,
    limit: u32,
) -> Result<Vec<FileRecord>> {
    let mut stmt = c.prepare_cached(&format!(
        "select {FILE_COLUMNS} from files
         where workspace_id = ?1 and (?2 is null or request_id = ?2) and id > ?3
         order by id limit ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            ws.to_string(),
            request.map(|r| r.to_string()),
            after.map(|a| a.to_string()).unwrap_or_default(),
            limit
        ],
        file_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes a planned request change: the row (checking its version) and its event.
fn write_change(c: &Connection, current: &Request, planned: Planned) -> Result<Event> {
    let updated = update_request(c, current, &planned.request)?;
    if updated != 1 {
        // Unreachable with one writer; a logic error is a conflict, not a lost update.
        return Err(DomainError::PreconditionFailed {
            current: current.version,
        }
        .into());
    }
    insert_event(c, planned.event, None)
}

fn request_of(c: &Connection, ws: WorkspaceId, id: RequestId) -> Result<Request> {
    Ok(request_in(c, ws, id)?.ok_or(DomainError::NotFound("request"))?)
}

pub(super) fn insert_file(
    c: &Connection,
    file: FileRecord,
    actor: Actor,
    at: Timestamp,
) -> Result<FileWrite> {
    let Some(request_id) = file.request_id else {
        insert_file_row(c, &file)?;
        return Ok((file, None));
    };
    let current = request_of(c, file.workspace_id, request_id)?;
    let unattached = FileRecord {
        request_id: None,
        ..file.clone()
    };
    let planned = plan_attach(actor, &current, &unattached, at)?
        .ok_or_else(|| internal("a new file cannot be attached already"))?;
    insert_file_row(c, &file)?;
    let event = write_change(c, &current, planned)?;
    Ok((file, Some(event)))
}

pub(super) fn attach_file(
    c: &Connection,
    ws: WorkspaceId,
    id: FileId,
    request: RequestId,
    actor: Actor,
    at: Timestamp,
) -> Result<FileWrite> {
    let mut file = file_in(c, ws, id)?.ok_or(DomainError::NotFound("file"))?;
    let current = request_of(c, ws, request)?;
    let Some(planned) = plan_attach(actor, &current, &file, at)? else {
        return Ok((file, None));
    };
    c.prepare_cached("update files set request_id = ?1 where id = ?2 and request_id is null")?
        .execute(params![request.to_string(), id.to_string()])?;
    file.request_id = Some(request);
    let event = write_change(c, &current, planned)?;
    Ok((file, Some(event)))
}

pub(super) fn detach_file(
    c: &Connection,
    ws: WorkspaceId,
    id: FileId,
    actor: Actor,
    at: Timestamp,
) -> Result<FileWrite> {
    let mut file = file_in(c, ws, id)?.ok_or(DomainError::NotFound("file"))?;
    let Some(request) = file.request_id else {
        return Ok((file, None));
    };
    let current = request_of(c, ws, request)?;
    let planned = plan_detach(actor, &current, &file, at)?;
    c.prepare_cached("update files set request_id = null where id = ?1")?
        .execute([id.to_string()])?;
    file.request_id = None;
    let event = write_change(c, &current, planned)?;
    Ok((file, Some(event)))
}

pub(super) fn delete_file(
    c: &Connection,
    ws: WorkspaceId,
    id: FileId,
    actor: Actor,
    at: Timestamp,
) -> Result<FileWrite> {
    let file = file_in(c, ws, id)?.ok_or(DomainError::NotFound("file"))?;
    let planned = match file.request_id {
        Some(request) => {
            let current = request_of(c, ws, request)?;
            let planned = plan_detach(actor, &current, &file, at)?;
            Some((current, planned))
        }
        None => None,
    };
    c.prepare_cached("delete from files where id = ?1")?
        .execute([id.to_string()])?;
    let event = match planned {
        Some((current, planned)) => Some(write_change(c, &current, planned)?),
        None => None,
    };
    Ok((file, event))
}

pub(super) fn file_policy(c: &Connection, ws: WorkspaceId) -> Result<Option<FilePolicy>> {
    let row: Option<(i64, String)> = c
        .prepare_cached(
            "select max_bytes, allowed_types from file_policies where workspace_id = ?1",
        )?
        .query_row([ws.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(max_bytes, types)| {
        Ok(FilePolicy {
            max_bytes: max_bytes.try_into().unwrap_or_default(),
            allowed_types: serde_json::from_str(&types)
                .map_err(|e| internal(format!("stored file policy: {e}")))?,
        })
    })
    .transpose()
}

pub(super) fn set_file_policy(
    c: &Connection,
    ws: WorkspaceId,
    policy: &FilePolicy,
    at: Timestamp,
) -> Result<()> {
    let known: bool = c
        .prepare_cached("select exists (select 1 from workspaces where id = ?1)")?
        .query_row([ws.to_string()], |r| r.get(0))?;
    if !known {
        return Err(DomainError::NotFound("workspace").into());
    }
    c.prepare_cached(
        "insert into file_policies (workspace_id, max_bytes, allowed_types, updated_at) values (?1, ?2, ?3, ?4)
         on conflict (workspace_id) do update set max_bytes = excluded.max_bytes, allowed_types = excluded.allowed_types, updated_at = excluded.updated_at",
    )?
    .execute(params![
        ws.to_string(),
        i64::try_from(policy.max_bytes).map_err(|_| internal("max_bytes out of range"))?,
        super::rows::to_json(&policy.allowed_types)?,
        micros(at)
    ])?;
    Ok(())
}

pub(super) fn server_secret(
    c: &Connection,
    name: &str,
    candidate: &[u8],
    at: Timestamp,
) -> Result<Vec<u8>> {
    c.prepare_cached(
        "insert into server_secrets (name, value, created_at) values (?1, ?2, ?3) on conflict (name) do nothing",
    )?
    .execute(params![name, candidate, micros(at)])?;
    Ok(
        c.prepare_cached("select value from server_secrets where name = ?1")?
            .query_row([name], |r| r.get(0))?,
    )
}
