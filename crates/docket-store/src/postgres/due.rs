//! Due-date notices in PostgreSQL: the scheduler's candidates, recorded once each, under
//! the event-order lock (the rule is `docket_domain::due`).

use super::events::{insert_event, lock_event_order};
use super::rows::{
    micros, request_from_row, request_type_from_row, REQUEST_COLUMNS, REQUEST_TYPE_COLUMNS,
};
use crate::Result;
use docket_domain::event::Event;
use docket_domain::ids::RequestTypeId;
use docket_domain::request::{Request, RequestType};
use docket_domain::Timestamp;
use sqlx::PgConnection;

/// See [`Store::record_due_notices`]; the same steps as SQLite's `due_notices`.
pub(super) async fn due_notices(
    tx: &mut PgConnection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<Event>> {
    // Taken first: a notice row another scheduler is inserting is waited for under this
    // lock, never while holding it (see `events::lock_event_order`).
    lock_event_order(&mut *tx).await?;
    let types: Vec<RequestType> =
        sqlx::query(&format!("select {REQUEST_TYPE_COLUMNS} from request_types"))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(request_type_from_row)
            .collect::<Result<_>>()?;
    // As far ahead as any workflow reminds.
    let horizon = micros(docket_domain::due::horizon(
        types.iter().map(|t| &t.workflow),
        now,
    ));
    let types: std::collections::HashMap<RequestTypeId, RequestType> =
        types.into_iter().map(|t| (t.id, t)).collect();
    // Requests already reminded stay in range until they are overdue, so walk the range
    // in pages rather than stopping at the first `limit` of them.
    let unfinished = crate::unfinished_sql();
    let mut candidates: Vec<Request> = Vec::new();
    let mut after: (i64, uuid::Uuid) = (i64::MIN, uuid::Uuid::nil());
    loop {
        let page: Vec<Request> = sqlx::query(&format!(
            "select {REQUEST_COLUMNS} from requests r
             where r.deleted_at is null and r.due_at is not null and r.category in {unfinished}
               and r.due_at <= $1 and (r.due_at, r.id) > ($3, $4)
               and not exists (select 1 from request_notices n where n.request_id = r.id and n.due_at = r.due_at and n.kind = 'overdue')
             order by r.due_at, r.id limit $2"
        ))
        .bind(horizon)
        .bind(i64::from(limit))
        .bind(after.0)
        .bind(after.1)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(request_from_row)
        .collect::<Result<_>>()?;
        let full = page.len() == limit as usize;
        if let Some(last) = page.last() {
            after = (last.due_at.map(micros).unwrap_or_default(), last.id.0);
        }
        candidates.extend(page);
        if !full || candidates.len() >= 100 * limit as usize {
            break;
        }
    }
    let mut events = Vec::new();
    for r in candidates {
        let Some(due) = r.due_at else { continue };
        let Some(rtype) = types.get(&r.type_id) else {
            continue;
        };
        for notice in docket_domain::due::notices(&r, &rtype.workflow, now) {
            // Recorded once per request, due time and kind: a notice already sent (by
            // this node or another) writes no second event.
            let fresh = sqlx::query(
                "insert into request_notices (request_id, due_at, kind, created_at) values ($1, $2, $3, $4)
                 on conflict do nothing",
            )
            .bind(r.id.0)
            .bind(micros(due))
            .bind(&notice.kind)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if fresh == 1 {
                events.push(insert_event(&mut *tx, notice.event, None).await?);
            }
        }
    }
    Ok(events)
}
