//! Files in PostgreSQL: file records, attaching them to requests, the workspace's file
//! policy, and the deployment's secrets.
//!
//! The same behaviour as `sqlite/files.rs`. Locks follow the order every request write
//! takes: the request (`for no key update`), then the file (`for update`), and the event
//! last (under the event-order lock, `events::lock_event_order`).

use super::errors::{bad_value, internal};
use super::events::insert_event;
use super::requests::{request_in, update_request};
use super::rows::{get, micros, to_json};
use crate::{FileWrite, Result};
use docket_domain::event::{Actor, Event};
use docket_domain::file::{
    plan_attach, plan_detach, FileId, FileName, FilePolicy, FileRecord, Uploader, Visibility,
};
use docket_domain::ids::{RequestId, WorkspaceId};
use docket_domain::request::{Planned, Request};
use docket_domain::{from_micros, DomainError, Timestamp};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::PgConnection;

const FILE_COLUMNS: &str = "id, workspace_id, request_id, name, content_type, size, sha256, \
     uploaded_by_kind, uploaded_by_id, visibility, storage_key, created_at";

fn file_from_row(row: &PgRow) -> Result<FileRecord> {
    let kind: String = get(row, "uploaded_by_kind")?;
    let visibility: String = get(row, "visibility")?;
    let size: i64 = get(row, "size")?;
    Ok(FileRecord {
        id: FileId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        request_id: get::<Option<uuid::Uuid>>(row, "request_id")?.map(RequestId),
        name: FileName::sanitize(&get::<String>(row, "name")?),
        content_type: get(row, "content_type")?,
        size: u64::try_from(size).map_err(|_| bad_value("size", &size.to_string()))?,
        sha256: get(row, "sha256")?,
        uploaded_by: Uploader::from_parts(&kind, get(row, "uploaded_by_id")?)
            .ok_or_else(|| bad_value("uploaded_by_kind", &kind))?,
        visibility: Visibility::parse(&visibility)
            .ok_or_else(|| bad_value("visibility", &visibility))?,
        storage_key: get(row, "storage_key")?,
        created_at: from_micros(get(row, "created_at")?),
    })
}

pub(super) async fn insert_file_row(c: &mut PgConnection, f: &FileRecord) -> Result<()> {
    let (kind, by) = f.uploaded_by.to_parts();
    sqlx::query(&format!(
        "insert into files ({FILE_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(f.id.0)
    .bind(f.workspace_id.0)
    .bind(f.request_id.map(|r| r.0))
    .bind(f.name.as_str())
    .bind(&f.content_type)
    .bind(i64::try_from(f.size).map_err(|_| internal("file size out of range"))?)
    .bind(&f.sha256)
    .bind(kind)
    .bind(by)
    .bind(f.visibility.as_str())
    .bind(&f.storage_key)
    .bind(micros(f.created_at))
    .execute(c)
    .await?;
    Ok(())
}

/// A file of the workspace; `lock` is `""` or `" for update"`.
pub(super) async fn file_in(
    c: &mut PgConnection,
    ws: WorkspaceId,
    id: FileId,
    lock: &str,
) -> Result<Option<FileRecord>> {
    sqlx::query(&format!(
        "select {FILE_COLUMNS} from files where workspace_id = $1 and id = $2{lock}"
    ))
    .bind(ws.0)
    .bind(id.0)
    .fetch_optional(c)
    .await?
    .map(|r| file_from_row(&r))
    .transpose()
}

pub(super) async fn file_by_id(c: &mut PgConnection, id: FileId) -> Result<Option<FileRecord>> {
    sqlx::query(&format!("select {FILE_COLUMNS} from files where id = $1"))
        .bind(id.0)
        .fetch_optional(c)
        .await?
        .map(|r| file_from_row(&r))
        .transpose()
}

pub(super) async fn list_files(
    c: &mut PgConnection,
    ws: WorkspaceId,
    request: Option<RequestId>,
    after: Option<FileId>,
    limit: u32,
) -> Result<Vec<FileRecord>> {
    sqlx::query(&format!(
        "select {FILE_COLUMNS} from files
         where workspace_id = $1 and ($2::uuid is null or request_id = $2) and ($3::uuid is null or id > $3)
         order by id limit $4"
    ))
    .bind(ws.0)
    .bind(request.map(|r| r.0))
    .bind(after.map(|a| a.0))
    .bind(i64::from(limit))
    .fetch_all(c)
    .await?
    .iter()
    .map(file_from_row)
    .collect()
}

/// The request a file change writes to, locked like every request change.
async fn lock_request(c: &mut PgConnection, ws: WorkspaceId, id: RequestId) -> Result<Request> {
    Ok(request_in(c, ws, id, " for no key update")
        .await?
        .ok_or(DomainError::NotFound("request"))?)
}

/// Writes a planned request change: the row (checking its version), then its event.
async fn write_change(c: &mut PgConnection, current: &Request, planned: Planned) -> Result<Event> {
    let updated = update_request(&mut *c, &planned.request, current.version).await?;
    if updated != 1 {
        // Unreachable under the row lock; a logic error is a conflict, not a lost update.
        return Err(DomainError::PreconditionFailed {
            current: current.version,
        }
        .into());
    }
    insert_event(c, planned.event, None).await
}

pub(super) async fn insert_file(
    tx: &mut PgConnection,
    file: FileRecord,
    actor: Actor,
    at: Timestamp,
) -> Result<FileWrite> {
    let Some(request_id) = file.request_id else {
        insert_file_row(tx, &file).await?;
        return Ok((file, None));
    };
    let current = lock_request(tx, file.workspace_id, request_id).await?;
    let unattached = FileRecord {
        request_id: None,
        ..file.clone()
    };
    let planned = plan_attach(actor, &current, &unattached, at)?
        .ok_or_else(|| internal("a new file cannot be attached already"))?;
    insert_file_row(tx, &file).await?;
    let event = write_change(tx, &current, planned).await?;
    Ok((file, Some(event)))
}

pub(super) async fn attach_file(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    id: FileId,
    request: RequestId,
    actor: Actor,
    at: Timestamp,
) -> Result<FileWrite> {
    let current = lock_request(tx, ws, request).await?;
    let mut file = file_in(tx, ws, id, " for update")
        .await?
        .ok_or(DomainError::NotFound("file"))?;
    let Some(planned) = plan_attach(actor, &current, &file, at)? else {
        return Ok((file, None));
    };
    sqlx::query("update files set request_id = $1 where id = $2")
        .bind(request.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    file.request_id = Some(request);
    let event = write_change(tx, &current, planned).await?;
    Ok((file, Some(event)))
}

/// What a detach or delete found, with the request and the file locked in that order:
/// the file, and its request when it is attached to one.
async fn lock_attached(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    id: FileId,
) -> Result<(FileRecord, Option<Request>)> {
    // The request must be locked before the file, but which request is only known from
    // the file: read it, lock its request, then lock it and check it did not move. A file
    // moving between the read and the lock is rare; try again a few times.
    for _ in 0..4 {
        let seen = file_in(tx, ws, id, "")
            .await?
            .ok_or(DomainError::NotFound("file"))?;
        let request = match seen.request_id {
            Some(r) => Some(lock_request(tx, ws, r).await?),
            None => None,
        };
        let file = file_in(tx, ws, id, " for update")
            .await?
            .ok_or(DomainError::NotFound("file"))?;
        if file.request_id == seen.request_id {
            return Ok((file, request));
        }
    }
    Err(internal("a file kept moving between requests"))
}

pub(super) async fn detach_file(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    id: FileId,
    actor: Actor,
    at: Timestamp,
) -> Result<FileWrite> {
    let (mut file, request) = lock_attached(tx, ws, id).await?;
    let Some(current) = request else {
        return Ok((file, None));
    };
    let planned = plan_detach(actor, &current, &file, at)?;
    sqlx::query("update files set request_id = null where id = $1")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    file.request_id = None;
    let event = write_change(tx, &current, planned).await?;
    Ok((file, Some(event)))
}

pub(super) async fn delete_file(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    id: FileId,
    actor: Actor,
    at: Timestamp,
) -> Result<FileWrite> {
    let (file, request) = lock_attached(tx, ws, id).await?;
    let planned = match &request {
        Some(current) => Some(plan_detach(actor, current, &file, at)?),
        None => None,
    };
    sqlx::query("delete from files where id = $1")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    let event = match (request, planned) {
        (Some(current), Some(planned)) => Some(write_change(tx, &current, planned).await?),
        _ => None,
    };
    Ok((file, event))
}

pub(super) async fn file_policy(
    c: &mut PgConnection,
    ws: WorkspaceId,
) -> Result<Option<FilePolicy>> {
    let row: Option<(i64, Json<Vec<String>>)> = sqlx::query_as(
        "select max_bytes, allowed_types from file_policies where workspace_id = $1",
    )
    .bind(ws.0)
    .fetch_optional(c)
    .await?;
    row.map(|(max_bytes, Json(allowed_types))| {
        Ok(FilePolicy {
            max_bytes: u64::try_from(max_bytes)
                .map_err(|_| bad_value("max_bytes", &max_bytes.to_string()))?,
            allowed_types,
        })
    })
    .transpose()
}

pub(super) async fn set_file_policy(
    c: &mut PgConnection,
    ws: WorkspaceId,
    policy: &FilePolicy,
    at: Timestamp,
) -> Result<()> {
    let known: bool = sqlx::query_scalar("select exists (select 1 from workspaces where id = $1)")
        .bind(ws.0)
        .fetch_one(&mut *c)
        .await?;
    if !known {
        return Err(DomainError::NotFound("workspace").into());
    }
    sqlx::query(
        "insert into file_policies (workspace_id, max_bytes, allowed_types, updated_at) values ($1, $2, $3::json, $4)
         on conflict (workspace_id) do update set max_bytes = excluded.max_bytes, allowed_types = excluded.allowed_types, updated_at = excluded.updated_at",
    )
    .bind(ws.0)
    .bind(i64::try_from(policy.max_bytes).map_err(|_| internal("max_bytes out of range"))?)
    .bind(to_json(&policy.allowed_types)?)
    .bind(micros(at))
    .execute(c)
    .await?;
    Ok(())
}

pub(super) async fn server_secret(
    c: &mut PgConnection,
    name: &str,
    candidate: &[u8],
    at: Timestamp,
) -> Result<Vec<u8>> {
    // Every node may race here on first start; the primary key lets one win, and all read
    // the winner's value.
    sqlx::query(
        "insert into server_secrets (name, value, created_at) values ($1, $2, $3) on conflict (name) do nothing",
    )
    .bind(name)
    .bind(candidate)
    .bind(micros(at))
    .execute(&mut *c)
    .await?;
    Ok(
        sqlx::query_scalar("select value from server_secrets where name = $1")
            .bind(name)
            .fetch_one(c)
            .await?,
    )
}
