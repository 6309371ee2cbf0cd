//! Requests in PostgreSQL: creating them (with an external key or a public link in the
//! same transaction), changing them, reading and listing them, and their timelines.
//!
//! A change locks the request's type `for share`, then the request, and writes
//! `where version = old`; a create takes the next number from its workspace's row. Every
//! such transaction writes its events last (`events::write_events`).

use super::errors::{conflict, is_unique_violation};
use super::events::write_events;
use super::links::insert_new_link;
use super::rows::{
    event_from_row, micros, request_from_row, to_json, EVENT_COLUMNS, REQUEST_COLUMNS,
};
use super::types::{request_type_by_id, request_type_in};
use crate::{Applied, ExternalKey, NewLink, PlanChange, PlanCreate, Result, StoreError};
use docket_domain::event::Event;
use docket_domain::ids::{RequestId, RequestTypeId, WorkspaceId};
use docket_domain::item::ItemProgress;
use docket_domain::link::PublicLink;
use docket_domain::query::{
    search_terms, Cursor, Direction, MemberFilter, Page, RequestQuery, SortKey,
};
use docket_domain::request::{Planned, Request, TypeKey};
use docket_domain::workflow::Workflow;
use docket_domain::DomainError;
use sqlx::postgres::Postgres;
use sqlx::{PgConnection, PgExecutor, PgPool, QueryBuilder};

pub(super) async fn request_in(
    c: &mut PgConnection,
    ws: WorkspaceId,
    id: RequestId,
    lock: &str,
) -> Result<Option<Request>> {
    sqlx::query(&format!(
        "select {REQUEST_COLUMNS} from requests where workspace_id = $1 and id = $2{lock}"
    ))
    .bind(ws.0)
    .bind(id.0)
    .fetch_optional(c)
    .await?
    .map(|r| request_from_row(&r))
    .transpose()
}

/// Maps a foreign-key failure on a request write to the field the client got wrong.
pub(super) fn request_write_error(e: sqlx::Error) -> StoreError {
    if e.as_database_error()
        .is_some_and(|d| d.is_foreign_key_violation())
    {
        DomainError::invalid(
            "assignee_id",
            "unknown_member",
            "no member with this id in the workspace",
        )
        .into()
    } else {
        e.into()
    }
}

/// Binds a request's item progress, the seven `items_*` columns in order.
fn bind_progress<'q>(
    q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    p: &ItemProgress,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    let n = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    q.bind(n(p.total))
        .bind(n(p.required))
        .bind(n(p.submitted))
        .bind(n(p.approved))
        .bind(n(p.rejected))
        .bind(n(p.required_answered))
        .bind(n(p.required_approved))
}

pub(super) async fn insert_request(c: impl PgExecutor<'_>, r: &Request) -> Result<()> {
    let sql = format!(
        "insert into requests ({REQUEST_COLUMNS})
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::json, $14::jsonb, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)"
    );
    let q = sqlx::query(&sql)
        .bind(r.id.0)
        .bind(r.workspace_id.0)
        .bind(r.number)
        .bind(r.type_id.0)
        .bind(r.type_key.as_str())
        .bind(&r.title)
        .bind(&r.description)
        .bind(r.status.as_str())
        .bind(r.category.as_str())
        .bind(r.requester_id.map(|m| m.0))
        .bind(r.assignee_id.map(|m| m.0))
        .bind(r.due_at.map(micros))
        .bind(to_json(&r.data)?)
        .bind(to_json(&r.tags)?)
        .bind(r.subject.as_ref().map(|s| s.kind.as_str()))
        .bind(r.subject.as_ref().map(|s| s.id.as_str()))
        .bind(r.version)
        .bind(micros(r.created_at))
        .bind(micros(r.updated_at))
        .bind(r.deleted_at.map(micros));
    let q = bind_progress(q, &r.items);
    q.execute(c).await.map_err(request_write_error)?;
    Ok(())
}

/// Writes the planned row only if the stored version is still the one the plan was made
/// from; returns the number of rows changed (0 means someone else got there first).
pub(super) async fn update_request(
    c: impl PgExecutor<'_>,
    r: &Request,
    expected_version: i64,
) -> Result<u64> {
    let q = sqlx::query(
        r"update requests set title = $1, description = $2, status = $3, category = $4, assignee_id = $5, due_at = $6,
             data = $7::json, tags = $8::jsonb, subject_kind = $9, subject_id = $10, version = $11, updated_at = $12, deleted_at = $13,
             items_total = $16, items_required = $17, items_submitted = $18, items_approved = $19, items_rejected = $20,
             items_required_answered = $21, items_required_approved = $22
         where id = $14 and version = $15",
    )
    .bind(&r.title)
    .bind(&r.description)
    .bind(r.status.as_str())
    .bind(r.category.as_str())
    .bind(r.assignee_id.map(|m| m.0))
    .bind(r.due_at.map(micros))
    .bind(to_json(&r.data)?)
    .bind(to_json(&r.tags)?)
    .bind(r.subject.as_ref().map(|s| s.kind.as_str()))
    .bind(r.subject.as_ref().map(|s| s.id.as_str()))
    .bind(r.version)
    .bind(micros(r.updated_at))
    .bind(r.deleted_at.map(micros))
    .bind(r.id.0)
    .bind(expected_version);
    Ok(bind_progress(q, &r.items)
        .execute(c)
        .await
        .map_err(request_write_error)?
        .rows_affected())
}

/// Allocates the next number, runs the plan and stores the request; the caller writes
/// the plan's events last ([`write_events`]), after any other row it adds.
async fn create_request_in(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    plan: PlanCreate,
) -> Result<(Planned, Workflow)> {
    let rtype = request_type_in(&mut *tx, ws, type_key.as_str(), " for share")
        .await?
        .ok_or_else(|| {
            DomainError::invalid(
                "type",
                "unknown_type",
                format!("no request type {}", type_key.as_str()),
            )
        })?;
    // The row lock this takes is held to commit: concurrent creates in a workspace queue
    // here, on every node, and a rolled-back create gives its number back.
    let number: i64 = sqlx::query_scalar(
        "update workspaces set next_request_number = next_request_number + 1 where id = $1 returning next_request_number - 1",
    )
    .bind(ws.0)
    .fetch_one(&mut *tx)
    .await?;
    let planned = plan(&rtype, number)?;
    insert_request(&mut *tx, &planned.request).await?;
    Ok((planned, rtype.workflow))
}

pub(super) async fn create_request(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    plan: PlanCreate,
) -> Result<(Request, Event)> {
    let (planned, workflow) = create_request_in(tx, ws, type_key, plan).await?;
    let (request, event) = write_events(tx, planned, Some(&workflow)).await?;
    Ok((request, event))
}

pub(super) async fn create_request_with_key(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    key: ExternalKey,
    plan: PlanCreate,
) -> Result<(Request, Event)> {
    let taken: bool = sqlx::query_scalar(
        "select exists (select 1 from request_external_keys where workspace_id = $1 and key_space = $2 and key = $3)",
    )
    .bind(ws.0)
    .bind(&key.space)
    .bind(&key.key)
    .fetch_one(&mut *tx)
    .await?;
    let taken_error = || {
        conflict(
            "external_key_taken",
            format!("a request with {} {:?} exists", key.space, key.key),
        )
    };
    if taken {
        return Err(taken_error());
    }
    let (planned, workflow) = create_request_in(tx, ws, type_key, plan).await?;
    // The primary key decides between concurrent creates with one key: the second
    // insert waits for the first to commit, then fails, and its create rolls back.
    sqlx::query(
        "insert into request_external_keys (workspace_id, key_space, key, request_id) values ($1, $2, $3, $4)",
    )
    .bind(ws.0)
    .bind(&key.space)
    .bind(&key.key)
    .bind(planned.request.id.0)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            taken_error()
        } else {
            e.into()
        }
    })?;
    let (request, event) = write_events(tx, planned, Some(&workflow)).await?;
    Ok((request, event))
}

pub(super) async fn request_by_external_key(
    c: &mut PgConnection,
    ws: WorkspaceId,
    key: &ExternalKey,
) -> Result<Option<Request>> {
    let id: Option<uuid::Uuid> = sqlx::query_scalar(
        "select request_id from request_external_keys where workspace_id = $1 and key_space = $2 and key = $3",
    )
    .bind(ws.0)
    .bind(&key.space)
    .bind(&key.key)
    .fetch_optional(&mut *c)
    .await?;
    match id {
        Some(id) => request_in(c, ws, RequestId(id), "").await,
        None => Ok(None),
    }
}

/// See [`crate::Store::change_request`]. Runs in the caller's transaction, which the
/// caller commits only when the request changed.
pub(super) async fn change_request(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    id: RequestId,
    plan: PlanChange,
) -> Result<Applied> {
    // The type first (shared), then the request: the order `update_request_type`
    // takes them in, so the two cannot deadlock.
    let type_id: Option<uuid::Uuid> =
        sqlx::query_scalar("select type_id from requests where workspace_id = $1 and id = $2")
            .bind(ws.0)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
    let type_id = RequestTypeId(type_id.ok_or(DomainError::NotFound("request"))?);
    let rtype = request_type_by_id(tx, type_id, " for share").await?;
    // `for no key update`, not `for update`: it does not conflict with the key-share
    // lock a foreign key check takes (an event or a due notice referencing this
    // request), so a transaction holding the event-order lock never waits on it.
    let current = request_in(tx, ws, id, " for no key update")
        .await?
        .ok_or(DomainError::NotFound("request"))?;
    let Some(planned) = plan(&current, &rtype)? else {
        return Ok(Applied::Unchanged(current));
    };
    let updated = update_request(&mut *tx, &planned.request, current.version).await?;
    if updated != 1 {
        // Unreachable under the row lock; kept so a logic error is a conflict, not a
        // lost update.
        return Err(DomainError::PreconditionFailed {
            current: current.version,
        }
        .into());
    }
    let (request, event) = write_events(tx, planned, Some(&rtype.workflow)).await?;
    Ok(Applied::Changed { request, event })
}

pub(super) async fn create_request_with_link(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    plan: PlanCreate,
    link: NewLink,
) -> Result<(Request, Event, PublicLink)> {
    let (planned, workflow) = create_request_in(tx, ws, type_key, plan).await?;
    let link = insert_new_link(tx, &planned.request, &link, planned.request.created_at).await?;
    let (request, event) = write_events(tx, planned, Some(&workflow)).await?;
    Ok((request, event, link))
}

/// See [`crate::Store::create_requests_with_links`]; runs in the caller's transaction,
/// which a refusal rolls back whole.
pub(super) async fn create_requests_with_links(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    plans: Vec<PlanCreate>,
    link: NewLink,
) -> Result<Vec<(Request, Event, PublicLink)>> {
    let rtype = request_type_in(&mut *tx, ws, type_key.as_str(), " for share")
        .await?
        .ok_or_else(|| {
            DomainError::invalid(
                "type",
                "unknown_type",
                format!("no request type {}", type_key.as_str()),
            )
        })?;
    let count = plans.len() as i64;
    let first: i64 = sqlx::query_scalar(
        "update workspaces set next_request_number = next_request_number + $2 where id = $1 returning next_request_number - $2",
    )
    .bind(ws.0)
    .bind(count)
    .fetch_one(&mut *tx)
    .await?;
    let mut created = Vec::with_capacity(plans.len());
    for (plan, number) in plans.into_iter().zip(first..) {
        let planned = plan(&rtype, number)?;
        insert_request(&mut *tx, &planned.request).await?;
        let link = insert_new_link(tx, &planned.request, &link, planned.request.created_at).await?;
        let (request, event) = write_events(tx, planned, Some(&rtype.workflow)).await?;
        created.push((request, event, link));
    }
    Ok(created)
}

pub(super) async fn request_by_number(
    pool: &PgPool,
    ws: WorkspaceId,
    number: i64,
) -> Result<Option<Request>> {
    sqlx::query(&format!(
        "select {REQUEST_COLUMNS} from requests where workspace_id = $1 and number = $2"
    ))
    .bind(ws.0)
    .bind(number)
    .fetch_optional(pool)
    .await?
    .map(|r| request_from_row(&r))
    .transpose()
}

/// The same sort expressions as SQLite, so the cursor's key means the same thing.
fn sort_expression(sort: SortKey) -> &'static str {
    match sort {
        SortKey::Created => "created_at",
        SortKey::Updated => "updated_at",
        SortKey::Due => "coalesce(due_at, 9223372036854775807)",
        SortKey::Number => "number",
    }
}

/// Builds the list query from fixed SQL fragments; every client value is a bound parameter.
pub(super) async fn list_requests(
    c: impl PgExecutor<'_>,
    ws: WorkspaceId,
    q: &RequestQuery,
) -> Result<Page<Request>> {
    let mut sql: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
        "select {REQUEST_COLUMNS} from requests where deleted_at is null and workspace_id = "
    ));
    sql.push_bind(ws.0);
    if !q.statuses.is_empty() {
        let statuses: Vec<String> = q.statuses.iter().map(|s| s.as_str().to_owned()).collect();
        sql.push(" and status = any(").push_bind(statuses).push(")");
    }
    if !q.categories.is_empty() {
        let categories: Vec<String> = q.categories.iter().map(|s| s.as_str().to_owned()).collect();
        sql.push(" and category = any(")
            .push_bind(categories)
            .push(")");
    }
    if let [t] = q.types.as_slice() {
        sql.push(" and type_key = ")
            .push_bind(t.as_str().to_owned());
    } else if !q.types.is_empty() {
        let types: Vec<String> = q.types.iter().map(|t| t.as_str().to_owned()).collect();
        sql.push(" and type_key = any(").push_bind(types).push(")");
    }
    for (column, filter) in [("assignee_id", q.assignee), ("requester_id", q.requester)] {
        match filter {
            Some(MemberFilter::Is(m)) => {
                sql.push(format!(" and {column} = ")).push_bind(m.0);
            }
            Some(MemberFilter::Nobody) => {
                sql.push(format!(" and {column} is null"));
            }
            None => {}
        }
    }
    if let Some(r) = &q.restricted {
        let types: Vec<String> = r.types.iter().map(|t| t.as_str().to_owned()).collect();
        let me = r.member.map(|m| m.0);
        sql.push(" and (type_key <> all(")
            .push_bind(types)
            .push(") or requester_id = ")
            .push_bind(me)
            .push(" or assignee_id = ")
            .push_bind(me)
            .push(")");
    }
    if let Some(tag) = &q.tag {
        sql.push(" and tags ? ").push_bind(tag.clone());
    }
    if let Some(t) = q.due_before {
        sql.push(" and due_at < ").push_bind(micros(t));
    }
    if let Some(t) = q.due_after {
        sql.push(" and due_at > ").push_bind(micros(t));
    }
    if let Some(t) = q.overdue_at {
        sql.push(" and due_at < ")
            .push_bind(micros(t))
            .push(" and category in ")
            .push(crate::unfinished_sql());
    }
    if let Some(filter) = q.items {
        sql.push(" and ").push(crate::progress_sql(filter));
    }
    if let Some(text) = &q.text {
        let terms = search_terms(text);
        if terms.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        // Terms are alphanumeric (search_terms splits on everything else), so quoting
        // each as a lexeme and prefix-matching it cannot be tsquery syntax; all must match.
        // docket_fold folds them as the indexed text was folded.
        let tsquery: Vec<String> = terms.iter().map(|t| format!("'{t}':*")).collect();
        sql.push(" and search @@ to_tsquery('simple', docket_fold(")
            .push_bind(tsquery.join(" & "))
            .push("))");
    }
    let key = sort_expression(q.sort);
    let (cmp, order) = match q.direction {
        Direction::Asc => (">", "asc"),
        Direction::Desc => ("<", "desc"),
    };
    if let Some(after) = q.after {
        sql.push(format!(" and ({key}, id) {cmp} ("))
            .push_bind(after.key)
            .push(", ")
            .push_bind(after.id.0)
            .push(")");
    }
    sql.push(format!(" order by {key} {order}, id {order} limit "))
        .push_bind(i64::from(q.limit) + 1);

    let rows = sql.build().fetch_all(c).await?;
    let mut items = rows
        .iter()
        .map(request_from_row)
        .collect::<Result<Vec<_>>>()?;
    let next = if items.len() > q.limit as usize {
        items.truncate(q.limit as usize);
        items.last().map(|r| Cursor::after(q.sort, r))
    } else {
        None
    };
    Ok(Page { items, next })
}

pub(super) async fn timeline(
    pool: &PgPool,
    ws: WorkspaceId,
    request: RequestId,
    after_seq: Option<i64>,
    limit: u32,
) -> Result<Vec<Event>> {
    sqlx::query(&format!(
        "select {EVENT_COLUMNS} from events
         where workspace_id = $1 and request_id = $2 and seq > $3 order by seq limit $4"
    ))
    .bind(ws.0)
    .bind(request.0)
    .bind(after_seq.unwrap_or(0))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?
    .iter()
    .map(event_from_row)
    .collect()
}
