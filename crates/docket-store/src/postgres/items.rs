//! Requested items in PostgreSQL: a request's items, their submissions, and changes to
//! them (with the request's progress and the events in the same transaction).
//!
//! A change takes the locks every request write takes (the type `for share`, then the
//! request), so item changes of one request queue on its row.

use super::events::write_events;
use super::files;
use super::requests::{request_in, update_request};
use super::rows::{json, to_json};
use super::types::request_type_by_id;
use crate::{Applied, PlanItems, Result, StoreError};
use docket_domain::file::FileRecord;
use docket_domain::ids::{ItemId, RequestId, RequestTypeId, WorkspaceId};
use docket_domain::item::{Item, ItemWrites, Submission};
use docket_domain::DomainError;
use sqlx::{PgConnection, PgExecutor};

/// The items of a request, in order.
pub(super) async fn request_of_item(
    c: impl PgExecutor<'_>,
    ws: WorkspaceId,
    item: ItemId,
) -> Result<Option<RequestId>> {
    let id: Option<uuid::Uuid> = sqlx::query_scalar(
        "select request_id from request_items where workspace_id = $1 and id = $2",
    )
    .bind(ws.0)
    .bind(item.0)
    .fetch_optional(c)
    .await?;
    Ok(id.map(RequestId))
}

pub(super) async fn list_items(
    c: impl PgExecutor<'_>,
    ws: WorkspaceId,
    request: RequestId,
) -> Result<Vec<Item>> {
    let rows = sqlx::query(
        "select body from request_items where workspace_id = $1 and request_id = $2 order by position",
    )
    .bind(ws.0)
    .bind(request.0)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            let mut item: Item = json(r, "body")?;
            item.workspace_id = ws;
            Ok(item)
        })
        .collect()
}

/// The submissions to a request's items (or only to `item`), each item's oldest first.
pub(super) async fn item_submissions(
    c: impl PgExecutor<'_>,
    ws: WorkspaceId,
    request: RequestId,
    item: Option<ItemId>,
) -> Result<Vec<Submission>> {
    let rows = sqlx::query(
        "select body from item_submissions where workspace_id = $1 and request_id = $2 and ($3::uuid is null or item_id = $3)
         order by item_id, number",
    )
    .bind(ws.0)
    .bind(request.0)
    .bind(item.map(|i| i.0))
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            let mut s: Submission = json(r, "body")?;
            s.workspace_id = ws;
            Ok(s)
        })
        .collect()
}

/// Writes what a plan did to a request's items: items removed, inserted or replaced, and
/// new submissions. Called by [`write_events`] before the events.
pub(super) async fn write_items(tx: &mut PgConnection, writes: &ItemWrites) -> Result<()> {
    for id in &writes.remove {
        sqlx::query("delete from request_items where id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
    }
    for item in &writes.upsert {
        sqlx::query(
            "insert into request_items (id, workspace_id, request_id, position, body) values ($1, $2, $3, $4, $5::jsonb)
             on conflict (id) do update set position = excluded.position, body = excluded.body",
        )
        .bind(item.id.0)
        .bind(item.workspace_id.0)
        .bind(item.request_id.0)
        .bind(i32::try_from(item.position).unwrap_or(i32::MAX))
        .bind(to_json(item)?)
        .execute(&mut *tx)
        .await?;
    }
    for s in &writes.submissions {
        sqlx::query(
            "insert into item_submissions (id, workspace_id, request_id, item_id, number, body) values ($1, $2, $3, $4, $5, $6::jsonb)",
        )
        .bind(s.id.0)
        .bind(s.workspace_id.0)
        .bind(s.request_id.0)
        .bind(s.item_id.0)
        .bind(i32::try_from(s.number).unwrap_or(i32::MAX))
        .bind(to_json(s)?)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// See [`crate::Store::change_items`]. Runs in the caller's transaction, which the caller
/// commits only when something changed.
pub(super) async fn change_items(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    id: RequestId,
    new_files: Vec<FileRecord>,
    plan: PlanItems,
) -> Result<(Applied, Vec<Item>)> {
    if new_files
        .iter()
        .any(|f| f.workspace_id != ws || f.request_id != Some(id))
    {
        return Err(StoreError::Internal(anyhow::anyhow!(
            "a file of an item change names another request"
        )));
    }
    let type_id: Option<uuid::Uuid> =
        sqlx::query_scalar("select type_id from requests where workspace_id = $1 and id = $2")
            .bind(ws.0)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
    let type_id = RequestTypeId(type_id.ok_or(DomainError::NotFound("request"))?);
    let rtype = request_type_by_id(tx, type_id, " for share").await?;
    let current = request_in(tx, ws, id, " for no key update")
        .await?
        .ok_or(DomainError::NotFound("request"))?;
    let items = list_items(&mut *tx, ws, id).await?;
    let Some(planned) = plan(&current, &rtype, &items)? else {
        return Ok((Applied::Unchanged(current), items));
    };
    let after = planned.items.apply_to(items);
    let updated = update_request(&mut *tx, &planned.request, current.version).await?;
    if updated != 1 {
        // Unreachable under the row lock; kept so a logic error is a conflict, not a
        // lost update.
        return Err(DomainError::PreconditionFailed {
            current: current.version,
        }
        .into());
    }
    for f in &new_files {
        files::insert_file_row(tx, f).await?;
    }
    let (request, event) = write_events(tx, planned, Some(&rtype.workflow)).await?;
    Ok((Applied::Changed { request, event }, after))
}
