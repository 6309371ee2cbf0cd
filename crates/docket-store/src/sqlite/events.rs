//! Events in SQLite: writing them (each flagged for the email planner or not), and the
//! workspace's change feed.

use super::rows::{event_from_row, micros, to_json, EVENT_COLUMNS};
use crate::Result;
use docket_domain::event::Event;
use docket_domain::ids::WorkspaceId;
use docket_domain::query::Restriction;
use docket_domain::workflow::Workflow;
use rusqlite::{params, Connection};

/// Inserts `e`, flagged for the email planner when it may send (see
/// `email::worth_planning`; `workflow` is the request's, when the event comes from one).
pub(super) fn insert_event(c: &Connection, e: Event, workflow: Option<&Workflow>) -> Result<Event> {
    let mail = docket_domain::email::worth_planning(&e, workflow);
    insert_event_flagged(c, e, mail)
}

/// Inserts an event, flagged for the email planner or not (`mail`).
pub(super) fn insert_event_flagged(c: &Connection, mut e: Event, mail: bool) -> Result<Event> {
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

pub(super) fn workspace_events(
    c: &Connection,
    ws: WorkspaceId,
    after_seq: Option<i64>,
    limit: u32,
    hidden: Option<&Restriction>,
) -> Result<Vec<Event>> {
    let types = hidden.map(|h| {
        serde_json::Value::from(h.types.iter().map(|t| t.as_str()).collect::<Vec<_>>()).to_string()
    });
    let me = hidden.and_then(|h| h.member).map(|m| m.to_string());
    let mut stmt = c.prepare_cached(&format!(
        "select {EVENT_COLUMNS} from events where workspace_id = ?1 and seq > ?2
         and (?4 is null or request_id not in (
             select id from requests where workspace_id = ?1
             and type_key in (select value from json_each(?4))
             and coalesce(requester_id = ?5, 0) = 0 and coalesce(assignee_id = ?5, 0) = 0))
         order by seq limit ?3"
    ))?;
    let rows = stmt.query_map(
        params![ws.to_string(), after_seq.unwrap_or(0), limit, types, me],
        event_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn latest_event_seq(c: &Connection, ws: WorkspaceId) -> Result<i64> {
    Ok(
        c.prepare_cached("select coalesce(max(seq), 0) from events where workspace_id = ?1")?
            .query_row([ws.to_string()], |r| r.get(0))?,
    )
}
