//! Rows to domain values: the column lists each area selects, and the codecs that read
//! them. The writes and queries live in their areas' files.

use crate::Result;
use docket_domain::access::Role;
use docket_domain::event::{Actor, Event, EventKind};
use docket_domain::item::ItemProgress;
use docket_domain::link::{LinkMode, LinkToken, PublicLink};
use docket_domain::member::{Email, Member};
use docket_domain::request::{Request, RequestType, Subject, TypeKey};
use docket_domain::token::{Token, TokenHash};
use docket_domain::workflow::{StatusKey, Workflow, WorkflowInput};
use docket_domain::workspace::Workspace;
use docket_domain::{from_micros, Timestamp};
use rusqlite::Row;

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    Ok(serde_json::to_string(v).map_err(anyhow::Error::from)?)
}

/// A stored value that no longer parses is corruption, reported as a conversion failure.
pub(crate) fn bad(col: usize, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        e.to_string().into(),
    )
}

/// Parses a text column in place, from SQLite's own buffer: a request row has ten such
/// columns (ids, keys, JSON), and allocating a `String` for each first was about 5% of a
/// list's CPU samples.
pub(crate) fn parsed<T, E: std::fmt::Display>(
    row: &Row<'_>,
    col: usize,
    f: impl FnOnce(&str) -> Result<T, E>,
) -> rusqlite::Result<T> {
    let s = row.get_ref(col)?.as_str().map_err(|e| bad(col, e))?;
    f(s).map_err(|e| bad(col, e))
}

pub(crate) fn parsed_opt<T, E: std::fmt::Display>(
    row: &Row<'_>,
    col: usize,
    f: impl FnOnce(&str) -> Result<T, E>,
) -> rusqlite::Result<Option<T>> {
    let s = row
        .get_ref(col)?
        .as_str_or_null()
        .map_err(|e| bad(col, e))?;
    s.map(|s| f(s).map_err(|e| bad(col, e))).transpose()
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    col: usize,
) -> rusqlite::Result<T> {
    parsed(row, col, |s| serde_json::from_str(s))
}

/// A JSON column that may be null (rows written before the column existed): the default.
pub(crate) fn json_or_default<T: serde::de::DeserializeOwned + Default>(
    row: &Row<'_>,
    col: usize,
) -> rusqlite::Result<T> {
    Ok(parsed_opt(row, col, |s| serde_json::from_str(s))?.unwrap_or_default())
}

pub(crate) fn time(row: &Row<'_>, col: usize) -> rusqlite::Result<Timestamp> {
    Ok(from_micros(row.get(col)?))
}

pub(crate) fn time_opt(row: &Row<'_>, col: usize) -> rusqlite::Result<Option<Timestamp>> {
    Ok(row.get::<_, Option<i64>>(col)?.map(from_micros))
}

pub(crate) fn workspace_from_row(row: &Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: parsed(row, 0, str::parse)?,
        name: row.get(1)?,
        slug: row.get(2)?,
        created_at: time(row, 3)?,
    })
}

pub(crate) const MEMBER_COLUMNS: &str = "id, workspace_id, email, name, role, created_at";

pub(crate) fn member_from_row(row: &Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        id: parsed(row, 0, str::parse)?,
        workspace_id: parsed(row, 1, str::parse)?,
        email: parsed(row, 2, |s| Email::parse(s).map_err(|e| e.message))?,
        name: row.get(3)?,
        role: parsed(row, 4, str::parse::<Role>)?,
        created_at: time(row, 5)?,
    })
}

pub(crate) const TOKEN_COLUMNS: &str = "id, workspace_id, member_id, name, hash, scopes, expires_at, last_used_at, revoked_at, created_at";

pub(crate) fn token_from_row(row: &Row<'_>) -> rusqlite::Result<Token> {
    let hash: Vec<u8> = row.get(4)?;
    Ok(Token {
        id: parsed(row, 0, str::parse)?,
        workspace_id: parsed(row, 1, str::parse)?,
        member_id: parsed_opt(row, 2, str::parse)?,
        name: row.get(3)?,
        hash: TokenHash(
            hash.try_into()
                .map_err(|_| bad(4, "token hash is not 32 bytes"))?,
        ),
        scopes: json(row, 5)?,
        expires_at: time_opt(row, 6)?,
        last_used_at: time_opt(row, 7)?,
        revoked_at: time_opt(row, 8)?,
        created_at: time(row, 9)?,
    })
}

pub(crate) const REQUEST_TYPE_COLUMNS: &str =
    "id, workspace_id, key, name, description, workflow, created_at, updated_at, items";

pub(crate) fn request_type_from_row(row: &Row<'_>) -> rusqlite::Result<RequestType> {
    let input: WorkflowInput = json(row, 5)?;
    Ok(RequestType {
        id: parsed(row, 0, str::parse)?,
        workspace_id: parsed(row, 1, str::parse)?,
        key: parsed(row, 2, TypeKey::parse)?,
        name: row.get(3)?,
        description: row.get(4)?,
        workflow: Workflow::new(input)
            .map_err(|e| bad(5, format!("stored workflow is invalid: {e:?}")))?,
        items: json(row, 8)?,
        created_at: time(row, 6)?,
        updated_at: time(row, 7)?,
    })
}

/// The columns `request_from_row` reads, as a literal for `concat!` in hot queries.
macro_rules! request_columns {
    () => {
        "id, workspace_id, number, type_id, type_key, title, description, status, category, \
         requester_id, assignee_id, due_at, data, tags, subject_kind, subject_id, version, created_at, updated_at, deleted_at, \
         items_total, items_required, items_submitted, items_approved, items_rejected, items_required_answered, items_required_approved"
    };
}
pub(crate) use request_columns;

pub(crate) const REQUEST_COLUMNS: &str = request_columns!();

pub(crate) fn request_from_row(row: &Row<'_>) -> rusqlite::Result<Request> {
    let subject = match (
        row.get::<_, Option<String>>(14)?,
        row.get::<_, Option<String>>(15)?,
    ) {
        (Some(kind), Some(id)) => Some(Subject { kind, id }),
        _ => None,
    };
    Ok(Request {
        id: parsed(row, 0, str::parse)?,
        workspace_id: parsed(row, 1, str::parse)?,
        number: row.get(2)?,
        type_id: parsed(row, 3, str::parse)?,
        type_key: parsed(row, 4, TypeKey::parse)?,
        title: row.get(5)?,
        description: row.get(6)?,
        status: parsed(row, 7, StatusKey::parse)?,
        category: parsed(row, 8, str::parse)?,
        requester_id: parsed_opt(row, 9, str::parse)?,
        assignee_id: parsed_opt(row, 10, str::parse)?,
        due_at: time_opt(row, 11)?,
        data: json(row, 12)?,
        tags: json(row, 13)?,
        subject,
        items: ItemProgress {
            total: row.get(20)?,
            required: row.get(21)?,
            submitted: row.get(22)?,
            approved: row.get(23)?,
            rejected: row.get(24)?,
            required_answered: row.get(25)?,
            required_approved: row.get(26)?,
        },
        version: row.get(16)?,
        created_at: time(row, 17)?,
        updated_at: time(row, 18)?,
        deleted_at: time_opt(row, 19)?,
    })
}

pub(crate) const EVENT_COLUMNS: &str = "seq, id, workspace_id, request_id, kind, actor_member_id, actor_token_id, at, changes, comment";

pub(crate) fn event_from_row(row: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        seq: row.get(0)?,
        id: parsed(row, 1, str::parse)?,
        workspace_id: parsed(row, 2, str::parse)?,
        request_id: parsed(row, 3, str::parse)?,
        kind: parsed(row, 4, |s| EventKind::parse(s).ok_or("unknown event kind"))?,
        actor: Actor {
            member_id: parsed_opt(row, 5, str::parse)?,
            token_id: parsed_opt(row, 6, str::parse)?,
        },
        at: time(row, 7)?,
        changes: json(row, 8)?,
        comment: row.get(9)?,
    })
}
pub(crate) const LINK_COLUMNS: &str =
    "id, workspace_id, request_id, token, mode, expires_at, revoked_at, used_count, created_at";

pub(crate) fn link_from_row(row: &Row<'_>) -> rusqlite::Result<PublicLink> {
    Ok(PublicLink {
        id: parsed(row, 0, str::parse)?,
        workspace_id: parsed(row, 1, str::parse)?,
        request_id: parsed(row, 2, str::parse)?,
        token: parsed(row, 3, |s| LinkToken::parse(s).ok_or("not a link token"))?,
        mode: parsed(row, 4, |s| LinkMode::parse(s).ok_or("unknown link mode"))?,
        expires_at: time_opt(row, 5)?,
        revoked_at: time_opt(row, 6)?,
        used_count: row.get(7)?,
        created_at: time(row, 8)?,
    })
}
