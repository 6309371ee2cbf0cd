//! Rows to domain values and back, and the request list query.

use crate::Result;
use docket_domain::access::Role;
use docket_domain::event::{Actor, Event, EventKind};
use docket_domain::link::{LinkMode, LinkToken, PublicLink};
use docket_domain::member::{Email, Member};
use docket_domain::query::{
    search_terms, Cursor, Direction, MemberFilter, Page, RequestQuery, SortKey,
};
use docket_domain::request::{Request, RequestType, Subject, TypeKey};
use docket_domain::token::{Token, TokenHash};
use docket_domain::workflow::{StatusKey, Workflow, WorkflowInput};
use docket_domain::workspace::Workspace;
use docket_domain::{from_micros, Timestamp};
use rusqlite::types::Value as Sql;
use rusqlite::{params, Connection, Row};
use std::fmt::Write as _;

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
    "id, workspace_id, key, name, description, workflow, created_at, updated_at";

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
        created_at: time(row, 6)?,
        updated_at: time(row, 7)?,
    })
}

/// The columns `request_from_row` reads, as a literal for `concat!` in hot queries.
macro_rules! request_columns {
    () => {
        "id, workspace_id, number, type_id, type_key, title, description, status, category, \
         requester_id, assignee_id, due_at, data, tags, subject_kind, subject_id, version, created_at, updated_at, deleted_at"
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
        version: row.get(16)?,
        created_at: time(row, 17)?,
        updated_at: time(row, 18)?,
        deleted_at: time_opt(row, 19)?,
    })
}

pub(crate) fn insert_request(c: &Connection, r: &Request) -> rusqlite::Result<usize> {
    c.prepare_cached(&format!(
        "insert into requests ({REQUEST_COLUMNS}) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
    ))?
    .execute(params![
        r.id.to_string(),
        r.workspace_id.to_string(),
        r.number,
        r.type_id.to_string(),
        r.type_key.as_str(),
        r.title,
        r.description,
        r.status.as_str(),
        r.category.as_str(),
        r.requester_id.map(|m| m.to_string()),
        r.assignee_id.map(|m| m.to_string()),
        r.due_at.map(micros),
        serde_json::to_string(&r.data).unwrap_or_else(|_| "{}".into()),
        serde_json::to_string(&r.tags).unwrap_or_else(|_| "[]".into()),
        r.subject.as_ref().map(|s| s.kind.as_str()),
        r.subject.as_ref().map(|s| s.id.as_str()),
        r.version,
        micros(r.created_at),
        micros(r.updated_at),
        r.deleted_at.map(micros),
    ])
}

/// Writes the planned row only if the stored version is still the one the plan was made
/// from; returns the number of rows changed (0 means someone else got there first).
/// Writes the columns of `after` that differ from `before` (plus version and updated_at),
/// if the stored version is still `before.version`. Only changed columns are set because
/// SQLite rewrites an index entry for every indexed column named in `set`, changed or not:
/// a status change then touches the status and updated-at indexes, not all seven.
pub(crate) fn update_request(
    c: &Connection,
    before: &Request,
    after: &Request,
) -> rusqlite::Result<usize> {
    // `or fail`: see `insert_event`. One row is updated, and its constraints are checked
    // before it is written.
    let mut sql = String::from("update or fail requests set version = ?1, updated_at = ?2");
    let mut values: Vec<Sql> = vec![
        Sql::Integer(after.version),
        Sql::Integer(micros(after.updated_at)),
    ];
    let mut set = |column: &str, value: Sql| {
        values.push(value);
        let _ = write!(sql, ", {column} = ?{}", values.len());
    };
    let text = |s: &str| Sql::Text(s.to_owned());
    let opt_text = |s: Option<String>| s.map_or(Sql::Null, Sql::Text);
    let opt_int = |i: Option<i64>| i.map_or(Sql::Null, Sql::Integer);
    if after.title != before.title {
        set("title", text(&after.title));
    }
    if after.description != before.description {
        set("description", text(&after.description));
    }
    if after.status != before.status {
        set("status", text(after.status.as_str()));
    }
    if after.category != before.category {
        set("category", text(after.category.as_str()));
    }
    if after.assignee_id != before.assignee_id {
        set(
            "assignee_id",
            opt_text(after.assignee_id.map(|m| m.to_string())),
        );
    }
    if after.due_at != before.due_at {
        set("due_at", opt_int(after.due_at.map(micros)));
    }
    if after.data != before.data {
        set(
            "data",
            Sql::Text(serde_json::to_string(&after.data).unwrap_or_else(|_| "{}".into())),
        );
    }
    if after.tags != before.tags {
        set(
            "tags",
            Sql::Text(serde_json::to_string(&after.tags).unwrap_or_else(|_| "[]".into())),
        );
    }
    if after.subject != before.subject {
        set(
            "subject_kind",
            opt_text(after.subject.as_ref().map(|s| s.kind.clone())),
        );
        set(
            "subject_id",
            opt_text(after.subject.as_ref().map(|s| s.id.clone())),
        );
    }
    if after.deleted_at != before.deleted_at {
        set("deleted_at", opt_int(after.deleted_at.map(micros)));
    }
    values.push(Sql::Text(after.id.to_string()));
    values.push(Sql::Integer(before.version));
    let _ = write!(
        sql,
        " where id = ?{} and version = ?{}",
        values.len() - 1,
        values.len()
    );
    c.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values))
}

pub(crate) const EVENT_COLUMNS: &str = "seq, id, workspace_id, request_id, kind, actor_member_id, actor_token_id, at, changes, comment";

/// Inserts `e`, flagged for the email planner when it may send (see
/// `email::worth_planning`; `workflow` is the request's, when the event comes from one).
pub(crate) fn insert_event(c: &Connection, e: Event, workflow: Option<&Workflow>) -> Result<Event> {
    let mail = docket_domain::email::worth_planning(&e, workflow);
    insert_event_flagged(c, e, mail)
}

/// Inserts an event, flagged for the email planner or not (`mail`).
pub(crate) fn insert_event_flagged(c: &Connection, mut e: Event, mail: bool) -> Result<Event> {
    // `or fail` and no `returning`: the default `or abort` and `returning` each make SQLite
    // keep a statement journal (a copy of every page the statement touches), and
    // `returning` an ephemeral table, for every event. One row is inserted and its
    // constraints are checked before it is written, so a failure leaves nothing behind.
    c.prepare_cached(
        "insert or fail into events (id, workspace_id, request_id, kind, actor_member_id, actor_token_id, at, changes, comment, mail)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        e.id.to_string(),
        e.workspace_id.to_string(),
        e.request_id.to_string(),
        e.kind.as_str(),
        e.actor.member_id.map(|m| m.to_string()),
        e.actor.token_id.map(|t| t.to_string()),
        micros(e.at),
        to_json(&e.changes)?,
        e.comment,
        mail,
    ])?;
    e.seq = c.last_insert_rowid();
    Ok(e)
}

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

fn sort_expression(sort: SortKey) -> &'static str {
    match sort {
        SortKey::Created => "created_at",
        SortKey::Updated => "updated_at",
        SortKey::Due => "coalesce(due_at, 9223372036854775807)",
        SortKey::Number => "number",
    }
}

/// Builds the list query from fixed SQL fragments; every client value is a bound parameter.
pub(crate) fn list_requests(
    c: &Connection,
    ws: docket_domain::ids::WorkspaceId,
    q: &RequestQuery,
) -> Result<Page<Request>> {
    let mut sql = format!(
        "select {REQUEST_COLUMNS} from requests where workspace_id = ? and deleted_at is null"
    );
    let mut args: Vec<Sql> = vec![Sql::Text(ws.to_string())];
    let mut arg = |sql: &mut String, fragment: &str, value: Sql| {
        sql.push_str(fragment);
        args.push(value);
    };
    if !q.statuses.is_empty() {
        sql.push_str(" and status in (");
        for (i, s) in q.statuses.iter().enumerate() {
            arg(
                &mut sql,
                if i == 0 { "?" } else { ", ?" },
                Sql::Text(s.as_str().to_owned()),
            );
        }
        sql.push(')');
    }
    if !q.categories.is_empty() {
        sql.push_str(" and category in (");
        for (i, s) in q.categories.iter().enumerate() {
            arg(
                &mut sql,
                if i == 0 { "?" } else { ", ?" },
                Sql::Text(s.as_str().to_owned()),
            );
        }
        sql.push(')');
    }
    if !q.types.is_empty() {
        sql.push_str(" and type_key in (");
        for (i, t) in q.types.iter().enumerate() {
            arg(
                &mut sql,
                if i == 0 { "?" } else { ", ?" },
                Sql::Text(t.as_str().to_owned()),
            );
        }
        sql.push(')');
    }
    for (column, filter) in [("assignee_id", q.assignee), ("requester_id", q.requester)] {
        match filter {
            Some(MemberFilter::Is(m)) => arg(
                &mut sql,
                &format!(" and {column} = ?"),
                Sql::Text(m.to_string()),
            ),
            Some(MemberFilter::Nobody) => {
                let _ = write!(sql, " and {column} is null");
            }
            None => {}
        }
    }
    if let Some(r) = &q.restricted {
        sql.push_str(" and (type_key not in (");
        for (i, t) in r.types.iter().enumerate() {
            arg(
                &mut sql,
                if i == 0 { "?" } else { ", ?" },
                Sql::Text(t.as_str().to_owned()),
            );
        }
        let me = r.member.map_or(Sql::Null, |m| Sql::Text(m.to_string()));
        arg(&mut sql, ") or requester_id = ?", me.clone());
        arg(&mut sql, " or assignee_id = ?)", me);
    }
    if let Some(tag) = &q.tag {
        arg(
            &mut sql,
            " and exists (select 1 from json_each(requests.tags) where json_each.value = ?)",
            Sql::Text(tag.clone()),
        );
    }
    if let Some(t) = q.due_before {
        arg(&mut sql, " and due_at < ?", Sql::Integer(micros(t)));
    }
    if let Some(t) = q.due_after {
        arg(&mut sql, " and due_at > ?", Sql::Integer(micros(t)));
    }
    if let Some(t) = q.overdue_at {
        arg(
            &mut sql,
            " and due_at < ? and category not in ('done', 'canceled')",
            Sql::Integer(micros(t)),
        );
    }
    if let Some(text) = &q.text {
        let terms = search_terms(text);
        if terms.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        // Each term quoted (so it is never FTS syntax) and prefix-matched; all must match.
        let fts: Vec<String> = terms.iter().map(|t| format!("\"{t}\"*")).collect();
        arg(
            &mut sql,
            " and rowid in (select rowid from requests_fts where requests_fts match ?)",
            Sql::Text(fts.join(" ")),
        );
    }
    let key = sort_expression(q.sort);
    let (cmp, order) = match q.direction {
        Direction::Asc => (">", "asc"),
        Direction::Desc => ("<", "desc"),
    };
    if let Some(after) = q.after {
        sql.push_str(&format!(" and ({key}, id) {cmp} (?, ?)"));
        args.push(Sql::Integer(after.key));
        args.push(Sql::Text(after.id.to_string()));
    }
    let _ = write!(sql, " order by {key} {order}, id {order} limit ?");
    args.push(Sql::Integer(i64::from(q.limit) + 1));

    let mut stmt = c.prepare_cached(&sql)?;
    let mut items: Vec<Request> = stmt
        .query_map(rusqlite::params_from_iter(args), request_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let next = if items.len() > q.limit as usize {
        items.truncate(q.limit as usize);
        items.last().map(|r| Cursor::after(q.sort, r))
    } else {
        None
    };
    Ok(Page { items, next })
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

pub(crate) fn insert_link(c: &Connection, l: &PublicLink) -> rusqlite::Result<usize> {
    c.prepare_cached(&format!(
        "insert into request_links ({LINK_COLUMNS}) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?
    .execute(params![
        l.id.to_string(),
        l.workspace_id.to_string(),
        l.request_id.to_string(),
        l.token.as_str(),
        l.mode.as_str(),
        l.expires_at.map(micros),
        l.revoked_at.map(micros),
        l.used_count,
        micros(l.created_at),
    ])
}
