//! Requests in SQLite: creating them (with an external key or a public link in the same
//! job), changing them, reading and listing them, and their timelines.
//!
//! Writers run on the writer thread and keep its rule (see `writer.rs`): every refusal
//! comes before the first write.

use super::errors::{conflict, internal, is_foreign_key_violation};
use super::events::insert_event;
use super::items::write_items;
use super::links::insert_new_link;
use super::rows::{event_from_row, micros, request_from_row, EVENT_COLUMNS, REQUEST_COLUMNS};
use super::type_cache::{request_type_cached, TypeCache};
use super::types::request_type_in;
use crate::{Applied, ExternalKey, NewLink, PlanChange, PlanCreate, Result, StoreError};
use docket_domain::event::Event;
use docket_domain::ids::{RequestId, WorkspaceId};
use docket_domain::link::PublicLink;
use docket_domain::query::{
    search_terms, Cursor, Direction, MemberFilter, Page, RequestQuery, SortKey,
};
use docket_domain::request::{Request, TypeKey};
use docket_domain::DomainError;
use rusqlite::types::Value as Sql;
use rusqlite::{params, Connection, OptionalExtension};
use std::fmt::Write as _;

pub(super) fn request_in(
    conn: &Connection,
    ws: WorkspaceId,
    id: RequestId,
) -> Result<Option<Request>> {
    // A literal: every read and change of a request passes here.
    Ok(conn
        .prepare_cached(concat!(
            "select ",
            super::rows::request_columns!(),
            " from requests where workspace_id = ?1 and id = ?2"
        ))?
        .query_row(params![ws.to_string(), id.to_string()], request_from_row)
        .optional()?)
}

/// Maps a foreign-key failure on a request write to the field the client got wrong.
pub(super) fn request_write_error(e: rusqlite::Error) -> StoreError {
    if is_foreign_key_violation(&e) {
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

pub(super) fn insert_request(c: &Connection, r: &Request) -> rusqlite::Result<usize> {
    c.prepare_cached(&format!(
        "insert into requests ({REQUEST_COLUMNS}) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)"
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
        r.items.total,
        r.items.required,
        r.items.submitted,
        r.items.approved,
        r.items.rejected,
        r.items.required_answered,
        r.items.required_approved,
    ])
}

/// Writes the planned row only if the stored version is still the one the plan was made
/// from; returns the number of rows changed (0 means someone else got there first).
/// Writes the columns of `after` that differ from `before` (plus version and updated_at),
/// if the stored version is still `before.version`. Only changed columns are set because
/// SQLite rewrites an index entry for every indexed column named in `set`, changed or not:
/// a status change then touches the status and updated-at indexes, not all seven.
pub(super) fn update_request(
    c: &Connection,
    before: &Request,
    after: &Request,
) -> rusqlite::Result<usize> {
    // `or fail`: see `events::insert_event_flagged`. One row is updated, and its
    // constraints are checked before it is written.
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
    if after.items != before.items {
        let p = &after.items;
        for (column, n) in [
            ("items_total", p.total),
            ("items_required", p.required),
            ("items_submitted", p.submitted),
            ("items_approved", p.approved),
            ("items_rejected", p.rejected),
            ("items_required_answered", p.required_answered),
            ("items_required_approved", p.required_approved),
        ] {
            set(column, Sql::Integer(n.into()));
        }
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

/// Allocates the next number, runs the plan and stores the request and its event.
pub(super) fn create_request(
    c: &Connection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    plan: PlanCreate,
) -> Result<(Request, Event)> {
    let rtype = request_type_in(c, ws, type_key.as_str())?.ok_or_else(|| {
        DomainError::invalid(
            "type",
            "unknown_type",
            format!("no request type {}", type_key.as_str()),
        )
    })?;
    // Refusals come before the first write (see writer.rs): plan, then insert the request
    // (a bad member id fails that statement alone), then take the number.
    let number: i64 = c
        .prepare_cached("select next_request_number from workspaces where id = ?1")?
        .query_row([ws.to_string()], |r| r.get(0))?;
    let planned = plan(&rtype, number)?;
    insert_request(c, &planned.request).map_err(request_write_error)?;
    c.prepare_cached("update workspaces set next_request_number = ?2 where id = ?1")?
        .execute(params![ws.to_string(), number + 1])?;
    write_items(c, &planned.items)?;
    let event = insert_event(c, planned.event, Some(&rtype.workflow))?;
    for e in planned.follow_ups {
        insert_event(c, e, Some(&rtype.workflow))?;
    }
    Ok((planned.request, event))
}

pub(super) fn create_request_with_key(
    c: &Connection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    key: ExternalKey,
    plan: PlanCreate,
) -> Result<(Request, Event)> {
    // Checked before any write (see writer.rs); with one writer it cannot be
    // taken between this read and the insert below.
    let taken: Option<String> = c
        .prepare_cached("select request_id from request_external_keys where workspace_id = ?1 and key_space = ?2 and key = ?3")?
        .query_row(params![ws.to_string(), key.space, key.key], |r| r.get(0))
        .optional()?;
    if taken.is_some() {
        return Err(conflict(
            "external_key_taken",
            format!("a request with {} {:?} exists", key.space, key.key),
        ));
    }
    let (request, event) = create_request(c, ws, type_key, plan)?;
    c.prepare_cached("insert into request_external_keys (workspace_id, key_space, key, request_id) values (?1, ?2, ?3, ?4)")?
        .execute(params![ws.to_string(), key.space, key.key, request.id.to_string()])?;
    Ok((request, event))
}

pub(super) fn request_by_external_key(
    c: &Connection,
    ws: WorkspaceId,
    key: &ExternalKey,
) -> Result<Option<Request>> {
    let id: Option<String> = c
        .prepare_cached("select request_id from request_external_keys where workspace_id = ?1 and key_space = ?2 and key = ?3")?
        .query_row(params![ws.to_string(), key.space, key.key], |r| r.get(0))
        .optional()?;
    match id {
        Some(id) => {
            let id: RequestId = id
                .parse()
                .map_err(|e| internal(format!("stored request id: {e}")))?;
            request_in(c, ws, id)
        }
        None => Ok(None),
    }
}

/// See [`crate::Store::change_request`]. Runs on the writer.
pub(super) fn change_request(
    c: &Connection,
    cache: &TypeCache,
    ws: WorkspaceId,
    id: RequestId,
    plan: PlanChange,
) -> Result<Applied> {
    let current = request_in(c, ws, id)?.ok_or(DomainError::NotFound("request"))?;
    let rtype = request_type_cached(c, cache, current.type_id)?;
    let Some(planned) = plan(&current, &rtype)? else {
        return Ok(Applied::Unchanged(current));
    };
    let updated = update_request(c, &current, &planned.request).map_err(request_write_error)?;
    if updated != 1 {
        // Unreachable with one writer; kept so a logic error is a conflict, not a lost update.
        return Err(DomainError::PreconditionFailed {
            current: current.version,
        }
        .into());
    }
    write_items(c, &planned.items)?;
    let event = insert_event(c, planned.event, Some(&rtype.workflow))?;
    for e in planned.follow_ups {
        insert_event(c, e, Some(&rtype.workflow))?;
    }
    Ok(Applied::Changed {
        request: planned.request,
        event,
    })
}

pub(super) fn create_request_with_link(
    c: &Connection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    plan: PlanCreate,
    link: NewLink,
) -> Result<(Request, Event, PublicLink)> {
    let (request, event) = create_request(c, ws, type_key, plan)?;
    let link = insert_new_link(c, &request, &link, request.created_at)?;
    Ok((request, event, link))
}

/// See [`crate::Store::create_requests_with_links`]. Every plan runs before the first
/// write (see writer.rs), so one refusal leaves the batch as it was.
pub(super) fn create_requests_with_links(
    c: &Connection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    plans: Vec<PlanCreate>,
    link: NewLink,
) -> Result<Vec<(Request, Event, PublicLink)>> {
    let rtype = request_type_in(c, ws, type_key.as_str())?.ok_or_else(|| {
        DomainError::invalid(
            "type",
            "unknown_type",
            format!("no request type {}", type_key.as_str()),
        )
    })?;
    let first: i64 = c
        .prepare_cached("select next_request_number from workspaces where id = ?1")?
        .query_row([ws.to_string()], |r| r.get(0))?;
    let planned = plans
        .into_iter()
        .zip(first..)
        .map(|(plan, number)| plan(&rtype, number))
        .collect::<std::result::Result<Vec<_>, DomainError>>()?;
    let mut created = Vec::with_capacity(planned.len());
    for p in planned {
        insert_request(c, &p.request).map_err(request_write_error)?;
        write_items(c, &p.items)?;
        let event = insert_event(c, p.event, Some(&rtype.workflow))?;
        for e in p.follow_ups {
            insert_event(c, e, Some(&rtype.workflow))?;
        }
        let link = insert_new_link(c, &p.request, &link, p.request.created_at)?;
        created.push((p.request, event, link));
    }
    c.prepare_cached("update workspaces set next_request_number = ?2 where id = ?1")?
        .execute(params![ws.to_string(), first + created.len() as i64])?;
    Ok(created)
}

pub(super) fn request_by_number(
    c: &Connection,
    ws: WorkspaceId,
    number: i64,
) -> Result<Option<Request>> {
    Ok(c.prepare_cached(&format!(
        "select {REQUEST_COLUMNS} from requests where workspace_id = ?1 and number = ?2"
    ))?
    .query_row(params![ws.to_string(), number], request_from_row)
    .optional()?)
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
pub(super) fn list_requests(
    c: &Connection,
    ws: WorkspaceId,
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
            &format!(
                " and due_at < ? and category in {}",
                crate::unfinished_sql()
            ),
            Sql::Integer(micros(t)),
        );
    }
    if let Some(filter) = q.items {
        sql.push_str(" and ");
        sql.push_str(crate::progress_sql(filter));
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

pub(super) fn timeline(
    c: &Connection,
    ws: WorkspaceId,
    request: RequestId,
    after_seq: Option<i64>,
    limit: u32,
) -> Result<Vec<Event>> {
    let mut stmt = c.prepare_cached(&format!(
        "select {EVENT_COLUMNS} from events where workspace_id = ?1 and request_id = ?2 and seq > ?3 order by seq limit ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            ws.to_string(),
            request.to_string(),
            after_seq.unwrap_or(0),
            limit
        ],
        event_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
