//! Rows to domain values and back, and the request list query, for PostgreSQL.
//!
//! The column lists and the list query mirror `sqlite/rows.rs` so that both backends
//! return the same rows in the same order and cut pages at the same places.

use crate::{Result, StoreError};
use docket_domain::access::Role;
use docket_domain::event::{Actor, Event, EventKind};
use docket_domain::ids::WorkspaceId;
use docket_domain::member::{Email, Member};
use docket_domain::query::{
    search_terms, Cursor, Direction, MemberFilter, Page, RequestQuery, SortKey,
};
use docket_domain::request::{Request, RequestType, Subject, TypeKey};
use docket_domain::token::{Token, TokenHash};
use docket_domain::workflow::{StatusKey, Workflow, WorkflowInput};
use docket_domain::workspace::Workspace;
use docket_domain::{from_micros, Timestamp};
use sqlx::postgres::{PgRow, Postgres};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, QueryBuilder, Row};
use uuid::Uuid;

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    Ok(serde_json::to_string(v).map_err(anyhow::Error::from)?)
}

/// A stored value that no longer parses is corruption: an internal error naming the column.
pub(crate) fn bad(col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("stored {col} does not parse: {e}"))
}

pub(crate) fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    Ok(row.try_get(col)?)
}

pub(crate) fn parsed<T, E: std::fmt::Display>(
    row: &PgRow,
    col: &str,
    f: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T> {
    let s: String = get(row, col)?;
    f(&s).map_err(|e| bad(col, e))
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &PgRow, col: &str) -> Result<T> {
    let Json(value): Json<serde_json::Value> = get(row, col)?;
    serde_json::from_value(value).map_err(|e| bad(col, e))
}

pub(crate) fn time(row: &PgRow, col: &str) -> Result<Timestamp> {
    Ok(from_micros(get(row, col)?))
}

pub(crate) fn time_opt(row: &PgRow, col: &str) -> Result<Option<Timestamp>> {
    Ok(get::<Option<i64>>(row, col)?.map(from_micros))
}

pub(crate) const WORKSPACE_COLUMNS: &str = "id, name, slug, created_at";

pub(crate) fn workspace_from_row(row: &PgRow) -> Result<Workspace> {
    Ok(Workspace {
        id: docket_domain::ids::WorkspaceId(get(row, "id")?),
        name: get(row, "name")?,
        slug: get(row, "slug")?,
        created_at: time(row, "created_at")?,
    })
}

pub(crate) const MEMBER_COLUMNS: &str = "id, workspace_id, email, name, role, created_at";

pub(crate) fn member_from_row(row: &PgRow) -> Result<Member> {
    Ok(Member {
        id: docket_domain::ids::MemberId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        email: parsed(row, "email", |s| Email::parse(s).map_err(|e| e.message))?,
        name: get(row, "name")?,
        role: parsed(row, "role", str::parse::<Role>)?,
        created_at: time(row, "created_at")?,
    })
}

pub(crate) const TOKEN_COLUMNS: &str = "id, workspace_id, member_id, name, hash, scopes, expires_at, last_used_at, revoked_at, created_at";

pub(crate) fn token_from_row(row: &PgRow) -> Result<Token> {
    let hash: Vec<u8> = get(row, "hash")?;
    Ok(Token {
        id: docket_domain::ids::TokenId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        member_id: get::<Option<Uuid>>(row, "member_id")?.map(docket_domain::ids::MemberId),
        name: get(row, "name")?,
        hash: TokenHash(
            hash.try_into()
                .map_err(|_| bad("hash", "token hash is not 32 bytes"))?,
        ),
        scopes: json(row, "scopes")?,
        expires_at: time_opt(row, "expires_at")?,
        last_used_at: time_opt(row, "last_used_at")?,
        revoked_at: time_opt(row, "revoked_at")?,
        created_at: time(row, "created_at")?,
    })
}

pub(crate) const REQUEST_TYPE_COLUMNS: &str =
    "id, workspace_id, key, name, description, workflow, created_at, updated_at";

pub(crate) fn request_type_from_row(row: &PgRow) -> Result<RequestType> {
    let input: WorkflowInput = json(row, "workflow")?;
    Ok(RequestType {
        id: docket_domain::ids::RequestTypeId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        key: parsed(row, "key", TypeKey::parse)?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        workflow: Workflow::new(input)
            .map_err(|e| bad("workflow", format!("stored workflow is invalid: {e:?}")))?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

pub(crate) const REQUEST_COLUMNS: &str = "id, workspace_id, number, type_id, type_key, title, description, status, category, \
     requester_id, assignee_id, due_at, data, tags, subject_kind, subject_id, version, created_at, updated_at, deleted_at";

pub(crate) fn request_from_row(row: &PgRow) -> Result<Request> {
    let subject = match (
        get::<Option<String>>(row, "subject_kind")?,
        get::<Option<String>>(row, "subject_id")?,
    ) {
        (Some(kind), Some(id)) => Some(Subject { kind, id }),
        _ => None,
    };
    Ok(Request {
        id: docket_domain::ids::RequestId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        number: get(row, "number")?,
        type_id: docket_domain::ids::RequestTypeId(get(row, "type_id")?),
        type_key: parsed(row, "type_key", TypeKey::parse)?,
        title: get(row, "title")?,
        description: get(row, "description")?,
        status: parsed(row, "status", StatusKey::parse)?,
        category: parsed(row, "category", str::parse)?,
        requester_id: get::<Option<Uuid>>(row, "requester_id")?.map(docket_domain::ids::MemberId),
        assignee_id: get::<Option<Uuid>>(row, "assignee_id")?.map(docket_domain::ids::MemberId),
        due_at: time_opt(row, "due_at")?,
        data: json(row, "data")?,
        tags: json(row, "tags")?,
        subject,
        version: get(row, "version")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        deleted_at: time_opt(row, "deleted_at")?,
    })
}

/// Maps a foreign-key failure on a request write to the field the client got wrong.
pub(crate) fn request_write_error(e: sqlx::Error) -> StoreError {
    if e.as_database_error()
        .is_some_and(|d| d.is_foreign_key_violation())
    {
        docket_domain::DomainError::invalid(
            "assignee_id",
            "unknown_member",
            "no member with this id in the workspace",
        )
        .into()
    } else {
        e.into()
    }
}

pub(crate) async fn insert_request(c: impl PgExecutor<'_>, r: &Request) -> Result<()> {
    sqlx::query(&format!(
        "insert into requests ({REQUEST_COLUMNS})
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::json, $14::jsonb, $15, $16, $17, $18, $19, $20)"
    ))
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
    .bind(r.deleted_at.map(micros))
    .execute(c)
    .await
    .map_err(request_write_error)?;
    Ok(())
}

/// Writes the planned row only if the stored version is still the one the plan was made
/// from; returns the number of rows changed (0 means someone else got there first).
pub(crate) async fn update_request(
    c: impl PgExecutor<'_>,
    r: &Request,
    expected_version: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        r"update requests set title = $1, description = $2, status = $3, category = $4, assignee_id = $5, due_at = $6,
             data = $7::json, tags = $8::jsonb, subject_kind = $9, subject_id = $10, version = $11, updated_at = $12, deleted_at = $13
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
    .bind(expected_version)
    .execute(c)
    .await
    .map_err(request_write_error)?
    .rows_affected())
}

pub(crate) const EVENT_COLUMNS: &str = "seq, id, workspace_id, request_id, kind, actor_member_id, actor_token_id, at, changes, comment";

/// The call that takes the event-order lock (see [`lock_event_order`]), as a literal so the
/// statements that take it are built at compile time, not on every event.
macro_rules! event_order_lock {
    () => {
        "pg_advisory_xact_lock(1684761460, hashtext(current_schema()))"
    };
}

/// Serialises event writers so that events become visible in `seq` order.
///
/// `events.seq` comes from a sequence, and a sequence hands out numbers at insert time,
/// not at commit: without this, a transaction holding seq 7 could commit after one holding
/// seq 8, and a reader that saw 8 (the change feed, a webhook's or the email planner's
/// cursor) would move past 7 for good. Every transaction that writes an event takes this
/// transaction-scoped advisory lock first, and holds it until it commits or rolls back, so
/// seq order is commit order across every node. The key is per schema (one Docket
/// deployment), and covers all its workspaces because the email planner's cursor reads
/// them all. Callers write events last in their transaction, after every row lock they
/// need, so the lock is held for the event's own statement and the commit only, and no
/// holder ever waits for a row lock held by a transaction queued behind it.
pub(crate) async fn lock_event_order(c: &mut PgConnection) -> Result<()> {
    sqlx::query(concat!("select ", event_order_lock!()))
        .execute(c)
        .await?;
    Ok(())
}

/// Inserts an event under the event-order lock (see [`lock_event_order`]) and announces
/// its seq on the `docket_events` channel at commit, so other nodes' feeds wake up.
///
/// One statement does all three, because every round trip made while holding the lock
/// is time every other event writer in the deployment waits: the `ordered` CTE takes the
/// lock before the insert draws its row from it (so `seq` is drawn under the lock), and
/// the outer select notifies once per inserted row.
///
/// The event is flagged for the email planner when it may send (see
/// `email::worth_planning`; `workflow` is the request's, when the event comes from one).
pub(crate) async fn insert_event(
    c: &mut PgConnection,
    e: Event,
    workflow: Option<&Workflow>,
) -> Result<Event> {
    let mail = docket_domain::email::worth_planning(&e, workflow);
    insert_event_flagged(c, e, mail).await
}

/// Inserts an event, flagged for the email planner or not (`mail`).
pub(crate) async fn insert_event_flagged(
    c: &mut PgConnection,
    mut e: Event,
    mail: bool,
) -> Result<Event> {
    let seq: i64 = sqlx::query_scalar(concat!(
        "with ordered as (select ",
        event_order_lock!(),
        r"),
          inserted as (
            insert into events (id, workspace_id, request_id, kind, actor_member_id, actor_token_id, at, changes, comment, mail)
            select $1, $2, $3, $4, $5, $6, $7, $8::json, $9, $11 from ordered
            returning seq)
          select seq, pg_notify($10, current_schema() || ' ' || seq::text)::text from inserted"
    ))
    .bind(e.id.0)
    .bind(e.workspace_id.0)
    .bind(e.request_id.0)
    .bind(e.kind.as_str())
    .bind(e.actor.member_id.map(|m| m.0))
    .bind(e.actor.token_id.map(|t| t.0))
    .bind(micros(e.at))
    .bind(to_json(&e.changes)?)
    .bind(&e.comment)
    .bind(super::EVENTS_CHANNEL)
    .bind(mail)
    .fetch_one(&mut *c)
    .await?;
    e.seq = seq;
    Ok(e)
}

pub(crate) fn event_from_row(row: &PgRow) -> Result<Event> {
    Ok(Event {
        seq: get(row, "seq")?,
        id: docket_domain::ids::EventId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        request_id: docket_domain::ids::RequestId(get(row, "request_id")?),
        kind: parsed(row, "kind", |s| {
            EventKind::parse(s).ok_or("unknown event kind")
        })?,
        actor: Actor {
            member_id: get::<Option<Uuid>>(row, "actor_member_id")?
                .map(docket_domain::ids::MemberId),
            token_id: get::<Option<Uuid>>(row, "actor_token_id")?.map(docket_domain::ids::TokenId),
        },
        at: time(row, "at")?,
        changes: json(row, "changes")?,
        comment: get(row, "comment")?,
    })
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
pub(crate) async fn list_requests(
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
            .push(" and category not in ('done', 'canceled')");
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
