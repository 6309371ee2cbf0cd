//! Rows to domain values, for PostgreSQL: the column lists each area selects, and the
//! codecs that read them. The writes and queries live in their areas' files.
//!
//! The column lists mirror `sqlite/rows.rs`, and the list query in `requests.rs` mirrors
//! SQLite's, so that both backends return the same rows in the same order and cut pages
//! at the same places.

use super::errors::bad_value;
use crate::{Result, StoreError};
use docket_domain::access::Role;
use docket_domain::event::{Actor, Event, EventKind};
use docket_domain::ids::{RequestId, WorkspaceId};
use docket_domain::item::ItemProgress;
use docket_domain::link::{LinkId, LinkMode, LinkToken, PublicLink};
use docket_domain::member::{Email, Member};
use docket_domain::request::{Request, RequestType, Subject, TypeKey};
use docket_domain::token::{Token, TokenHash};
use docket_domain::workflow::{StatusKey, Workflow, WorkflowInput};
use docket_domain::workspace::Workspace;
use docket_domain::{from_micros, Timestamp};
use sqlx::postgres::{PgRow, Postgres};
use sqlx::types::Json;
use sqlx::Row;
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

/// A non-negative `integer` column.
pub(crate) fn count(row: &PgRow, col: &str) -> Result<u32> {
    let n: i32 = get(row, col)?;
    u32::try_from(n).map_err(|e| bad(col, e))
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
    "id, workspace_id, key, name, description, workflow, created_at, updated_at, items";

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
        items: json(row, "items")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

pub(crate) const REQUEST_COLUMNS: &str = "id, workspace_id, number, type_id, type_key, title, description, status, category, \
     requester_id, assignee_id, due_at, data, tags, subject_kind, subject_id, version, created_at, updated_at, deleted_at, \
     items_total, items_required, items_submitted, items_approved, items_rejected, items_required_answered, items_required_approved";

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
        items: ItemProgress {
            total: count(row, "items_total")?,
            required: count(row, "items_required")?,
            submitted: count(row, "items_submitted")?,
            approved: count(row, "items_approved")?,
            rejected: count(row, "items_rejected")?,
            required_answered: count(row, "items_required_answered")?,
            required_approved: count(row, "items_required_approved")?,
        },
        version: get(row, "version")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        deleted_at: time_opt(row, "deleted_at")?,
    })
}

pub(crate) const EVENT_COLUMNS: &str = "seq, id, workspace_id, request_id, kind, actor_member_id, actor_token_id, at, changes, comment";

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

pub(crate) const LINK_COLUMNS: &str =
    "id, workspace_id, request_id, token, mode, expires_at, revoked_at, used_count, created_at";

pub(crate) fn link_from_row(row: &PgRow) -> Result<PublicLink> {
    let token: String = row.try_get("token")?;
    let mode: String = row.try_get("mode")?;
    Ok(PublicLink {
        id: LinkId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        request_id: RequestId(row.try_get("request_id")?),
        token: LinkToken::parse(&token).ok_or_else(|| bad_value("token", &token))?,
        mode: LinkMode::parse(&mode).ok_or_else(|| bad_value("mode", &mode))?,
        expires_at: row
            .try_get::<Option<i64>, _>("expires_at")?
            .map(docket_domain::from_micros),
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_at")?
            .map(docket_domain::from_micros),
        used_count: row.try_get("used_count")?,
        created_at: docket_domain::from_micros(row.try_get("created_at")?),
    })
}
