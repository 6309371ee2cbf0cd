//! Due-date notices in SQLite: the scheduler's candidates, recorded once each (the rule is
//! `docket_domain::due`).

use super::events::insert_event;
use super::rows::{
    micros, request_from_row, request_type_from_row, REQUEST_COLUMNS, REQUEST_TYPE_COLUMNS,
};
use super::type_cache::{request_type_cached, TypeCache};
use crate::Result;
use docket_domain::event::Event;
use docket_domain::request::Request;
use docket_domain::Timestamp;
use rusqlite::{params, Connection};

/// See [`Store::record_due_notices`]. Runs on the writer.
pub(super) fn due_notices(
    c: &Connection,
    types: &TypeCache,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<Event>> {
    // As far ahead as any workflow reminds.
    let horizon = {
        let mut stmt =
            c.prepare_cached(&format!("select {REQUEST_TYPE_COLUMNS} from request_types"))?;
        let types = stmt
            .query_map([], request_type_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        micros(docket_domain::due::horizon(
            types.iter().map(|t| &t.workflow),
            now,
        ))
    };
    // Requests already reminded stay in range until they are overdue, so walk the range
    // in pages rather than stopping at the first `limit` of them.
    let unfinished = crate::unfinished_sql();
    let mut candidates: Vec<Request> = Vec::new();
    let mut after: (i64, String) = (i64::MIN, String::new());
    loop {
        let page: Vec<Request> = {
            let mut stmt = c.prepare_cached(&format!(
                "select {REQUEST_COLUMNS} from requests r
                 where r.deleted_at is null and r.due_at is not null and r.category in {unfinished}
                   and r.due_at <= ?1 and (r.due_at, r.id) > (?3, ?4)
                   and not exists (select 1 from request_notices n where n.request_id = r.id and n.due_at = r.due_at and n.kind = 'overdue')
                 order by r.due_at, r.id limit ?2"
            ))?;
            let rows =
                stmt.query_map(params![horizon, limit, after.0, after.1], request_from_row)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let full = page.len() == limit as usize;
        if let Some(last) = page.last() {
            after = (
                last.due_at.map(micros).unwrap_or_default(),
                last.id.to_string(),
            );
        }
        candidates.extend(page);
        if !full || candidates.len() >= 100 * limit as usize {
            break;
        }
    }
    let mut events = Vec::new();
    for r in candidates {
        let Some(due) = r.due_at else { continue };
        let rtype = request_type_cached(c, types, r.type_id)?;
        for notice in docket_domain::due::notices(&r, &rtype.workflow, now) {
            // Recorded once per request, due time and kind: a notice already sent (by
            // this node or another) writes no second event.
            let fresh = c
                .prepare_cached("insert or ignore into request_notices (request_id, due_at, kind, created_at) values (?1, ?2, ?3, ?4)")?
                .execute(params![r.id.to_string(), micros(due), notice.kind, micros(now)])?;
            if fresh == 1 {
                events.push(insert_event(c, notice.event, None)?);
            }
        }
    }
    Ok(events)
}
