//! Events in PostgreSQL: writing them in `seq` order under the event-order lock, each
//! announced to every node, and the workspace's change feed.

use super::rows::{event_from_row, micros, to_json, EVENT_COLUMNS};
use crate::Result;
use docket_domain::event::Event;
use docket_domain::ids::WorkspaceId;
use docket_domain::query::Restriction;
use docket_domain::request::{Planned, Request};
use docket_domain::workflow::Workflow;
use sqlx::{PgConnection, PgPool};
use std::sync::Weak;
use std::time::Duration;
use tokio::sync::watch;

/// The channel every event's seq is announced on at commit (`insert_event`), with the
/// schema's name, so a node's live feeds and workers wake for other nodes' writes too.
pub(super) const EVENTS_CHANNEL: &str = "docket_events";

/// Listens on [`EVENTS_CHANNEL`] for this schema's events and raises `events` to each
/// announced seq; ends when the store is dropped. A lost connection is reopened (sqlx's
/// listener reconnects); notices sent meanwhile are missed, which feeds cover by polling.
pub(super) async fn listen_for_events(pool: PgPool, events: Weak<watch::Sender<i64>>) {
    let schema: String = loop {
        match sqlx::query_scalar("select current_schema()::text")
            .fetch_one(&pool)
            .await
        {
            Ok(s) => break s,
            Err(_) if events.strong_count() > 0 => tokio::time::sleep(Duration::from_secs(1)).await,
            Err(_) => return,
        }
    };
    let mut listener = loop {
        let attempt = async {
            let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
            l.listen(EVENTS_CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        };
        match attempt.await {
            Ok(l) => break l,
            Err(e) => {
                if events.strong_count() == 0 {
                    return;
                }
                tracing::warn!(error = %e, "listening for other nodes' events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    loop {
        let received = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
        let Some(sender) = events.upgrade() else {
            return;
        };
        match received {
            Err(_) => {}
            Ok(Ok(n)) => {
                let Some((from, seq)) = n.payload().rsplit_once(' ') else {
                    continue;
                };
                if from != schema {
                    continue;
                }
                if let Ok(seq) = seq.parse::<i64>() {
                    sender.send_if_modified(|latest| {
                        let newer = seq > *latest;
                        if newer {
                            *latest = seq;
                        }
                        newer
                    });
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "listening for other nodes' events");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

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
pub(super) async fn lock_event_order(c: &mut PgConnection) -> Result<()> {
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
pub(super) async fn insert_event(
    c: &mut PgConnection,
    e: Event,
    workflow: Option<&Workflow>,
) -> Result<Event> {
    let mail = docket_domain::email::worth_planning(&e, workflow);
    insert_event_flagged(c, e, mail).await
}

/// Inserts an event, flagged for the email planner or not (`mail`).
pub(super) async fn insert_event_flagged(
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
    .bind(EVENTS_CHANNEL)
    .bind(mail)
    .fetch_one(&mut *c)
    .await?;
    e.seq = seq;
    Ok(e)
}

/// Writes what a plan did to the request's items, then its event and its follow-up events,
/// in that order, the events under the event-order lock (see [`lock_event_order`]). Always
/// the last writes of a transaction. `workflow` is the request's, when the plan was made
/// from it (see [`insert_event`]).
pub(super) async fn write_events(
    tx: &mut PgConnection,
    planned: Planned,
    workflow: Option<&Workflow>,
) -> Result<(Request, Event)> {
    super::items::write_items(&mut *tx, &planned.items).await?;
    let event = insert_event(&mut *tx, planned.event, workflow).await?;
    for e in planned.follow_ups {
        insert_event(&mut *tx, e, workflow).await?;
    }
    Ok((planned.request, event))
}

pub(super) async fn workspace_events(
    pool: &PgPool,
    ws: WorkspaceId,
    after_seq: Option<i64>,
    limit: u32,
    hidden: Option<&Restriction>,
) -> Result<Vec<Event>> {
    let types = hidden.map(|h| {
        h.types
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect::<Vec<_>>()
    });
    let me = hidden.and_then(|h| h.member).map(|m| m.0);
    sqlx::query(&format!(
        "select {EVENT_COLUMNS} from events where workspace_id = $1 and seq > $2
         and ($4::text[] is null or request_id not in (
             select id from requests where workspace_id = $1 and type_key = any($4)
             and not coalesce(requester_id = $5, false) and not coalesce(assignee_id = $5, false)))
         order by seq limit $3"
    ))
    .bind(ws.0)
    .bind(after_seq.unwrap_or(0))
    .bind(i64::from(limit))
    .bind(types)
    .bind(me)
    .fetch_all(pool)
    .await?
    .iter()
    .map(event_from_row)
    .collect()
}

pub(super) async fn latest_event_seq(pool: &PgPool, ws: WorkspaceId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select coalesce(max(seq), 0)::bigint from events where workspace_id = $1",
    )
    .bind(ws.0)
    .fetch_one(pool)
    .await?)
}
