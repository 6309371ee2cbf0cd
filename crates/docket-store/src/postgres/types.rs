//! Request types in PostgreSQL: their rows, and changing a workflow under the requests
//! that use it. A change locks its type `for update`, so no request moves into a status
//! the change is dropping while it checks.

use super::errors::unique_or;
use super::rows::{micros, request_type_from_row, to_json, REQUEST_TYPE_COLUMNS};
use crate::{RequestTypeChange, Result};
use docket_domain::ids::{RequestTypeId, WorkspaceId};
use docket_domain::request::{RequestType, TypeKey};
use docket_domain::{DomainError, Timestamp};
use sqlx::{PgConnection, PgPool};

pub(super) async fn insert_request_type_row(c: &mut PgConnection, t: &RequestType) -> Result<()> {
    sqlx::query(
        r"insert into request_types (id, workspace_id, key, name, description, workflow, created_at, updated_at, items)
          values ($1, $2, $3, $4, $5, $6::json, $7, $8, $9::json)",
    )
    .bind(t.id.0)
    .bind(t.workspace_id.0)
    .bind(t.key.as_str())
    .bind(&t.name)
    .bind(&t.description)
    .bind(to_json(&t.workflow)?)
    .bind(micros(t.created_at))
    .bind(micros(t.updated_at))
    .bind(to_json(&t.items)?)
    .execute(c)
    .await
    .map_err(|e| {
        unique_or(e, "type_exists", || {
            format!("a request type with key {} exists", t.key.as_str())
        })
    })?;
    Ok(())
}

/// A request type by key; `lock` is `""`, `" for share"` or `" for update"`.
pub(super) async fn request_type_in(
    c: &mut PgConnection,
    ws: WorkspaceId,
    key: &str,
    lock: &str,
) -> Result<Option<RequestType>> {
    sqlx::query(&format!(
        "select {REQUEST_TYPE_COLUMNS} from request_types where workspace_id = $1 and key = $2{lock}"
    ))
    .bind(ws.0)
    .bind(key)
    .fetch_optional(c)
    .await?
    .map(|r| request_type_from_row(&r))
    .transpose()
}

pub(super) async fn request_type_by_id(
    c: &mut PgConnection,
    id: RequestTypeId,
    lock: &str,
) -> Result<RequestType> {
    let row = sqlx::query(&format!(
        "select {REQUEST_TYPE_COLUMNS} from request_types where id = $1{lock}"
    ))
    .bind(id.0)
    .fetch_one(c)
    .await?;
    request_type_from_row(&row)
}

pub(super) async fn insert_request_type(
    c: &mut PgConnection,
    rtype: RequestType,
) -> Result<RequestType> {
    insert_request_type_row(c, &rtype).await?;
    Ok(rtype)
}

pub(super) async fn list_request_types(pool: &PgPool, ws: WorkspaceId) -> Result<Vec<RequestType>> {
    // `collate "C"`: byte order, as SQLite sorts text, whatever the database's locale.
    sqlx::query(&format!(
        r#"select {REQUEST_TYPE_COLUMNS} from request_types where workspace_id = $1 order by key collate "C""#
    ))
    .bind(ws.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(request_type_from_row)
    .collect()
}

/// See [`crate::Store::update_request_type`]. Runs in the caller's transaction.
pub(super) async fn update_request_type(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    key: &TypeKey,
    change: RequestTypeChange,
    at: Timestamp,
) -> Result<RequestType> {
    // `for update` waits for every request change holding the type `for share`, and
    // keeps new ones out until this commits.
    let current = request_type_in(tx, ws, key.as_str(), " for update")
        .await?
        .ok_or(DomainError::NotFound("request type"))?;
    let update = change.apply(current, at);
    let t = update.next;
    if !update.dropped.is_empty() {
        let dropped: Vec<&str> = update.dropped.iter().map(|s| s.as_str()).collect();
        let used: Vec<String> = sqlx::query_scalar(
            "select distinct status from requests where type_id = $1 and status = any($2)",
        )
        .bind(t.id.0)
        .bind(&dropped)
        .fetch_all(&mut *tx)
        .await?;
        let in_use: Vec<_> = update
            .dropped
            .iter()
            .filter(|s| used.iter().any(|u| u == s.as_str()))
            .cloned()
            .collect();
        if !in_use.is_empty() {
            return Err(docket_domain::request::statuses_in_use(&in_use).into());
        }
    }
    if update.recategorise {
        for s in t.workflow.statuses() {
            // The version moves too, so cached ETags stop matching.
            sqlx::query(
                "update requests set category = $1, version = version + 1, updated_at = $4
                 where type_id = $2 and status = $3 and category <> $1",
            )
            .bind(s.category.as_str())
            .bind(t.id.0)
            .bind(s.key.as_str())
            .bind(micros(at))
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query(
        "update request_types set name = $1, description = $2, workflow = $3::json, updated_at = $4, items = $6::json where id = $5",
    )
    .bind(&t.name)
    .bind(&t.description)
    .bind(to_json(&t.workflow)?)
    .bind(micros(at))
    .bind(t.id.0)
    .bind(to_json(&t.items)?)
    .execute(&mut *tx)
    .await?;
    Ok(t)
}
