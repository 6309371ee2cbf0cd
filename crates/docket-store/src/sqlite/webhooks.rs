//! Webhooks and deliveries in SQLite: rows, the outbox step and claiming.
//!
//! Each function runs on the writer's connection (inside its transaction) or on a reader;
//! `mod.rs` decides which.

use super::errors::conflict;
use super::requests::request_in;
use super::rows::{event_from_row, json, micros, to_json, EVENT_COLUMNS};
use crate::{AttemptOutcome, ClaimedDelivery, Result, WebhookChange};
use docket_domain::event::EventKind;
use docket_domain::ids::{DeliveryId, EventId, WebhookId, WorkspaceId};
use docket_domain::webhook::{fair_share, Attempt, Delivery, DeliveryState, Webhook, WebhookState};
use docket_domain::{from_micros, DomainError, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashMap;

pub(super) const WEBHOOK_COLUMNS: &str = "id, workspace_id, url, event_types, description, state, paused_reason, secret, created_at, updated_at";
pub(super) const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event_type, request_id, state, attempts, next_attempt_at, created_at";

fn bad(col: usize, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        e.to_string().into(),
    )
}

fn text<T: std::str::FromStr>(row: &Row<'_>, col: usize) -> rusqlite::Result<T>
where
    T::Err: std::fmt::Display,
{
    row.get::<_, String>(col)?.parse().map_err(|e| bad(col, e))
}

pub(super) fn webhook_from_row(row: &Row<'_>) -> rusqlite::Result<Webhook> {
    let state: String = row.get(5)?;
    Ok(Webhook {
        id: text(row, 0)?,
        workspace_id: text(row, 1)?,
        url: row.get(2)?,
        event_types: json(row, 3)?,
        description: row.get(4)?,
        state: WebhookState::parse(&state).ok_or_else(|| bad(5, "unknown webhook state"))?,
        paused_reason: row.get(6)?,
        secret: row.get(7)?,
        created_at: from_micros(row.get(8)?),
        updated_at: from_micros(row.get(9)?),
    })
}

pub(super) fn delivery_from_row(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let kind: String = row.get(3)?;
    let state: String = row.get(5)?;
    Ok(Delivery {
        id: text(row, 0)?,
        webhook_id: text(row, 1)?,
        event_id: text(row, 2)?,
        event_type: EventKind::parse(&kind).ok_or_else(|| bad(3, "unknown event kind"))?,
        request_id: text(row, 4)?,
        state: DeliveryState::parse(&state).ok_or_else(|| bad(5, "unknown delivery state"))?,
        attempts: json(row, 6)?,
        next_attempt_at: row.get::<_, Option<i64>>(7)?.map(from_micros),
        created_at: from_micros(row.get(8)?),
    })
}

pub(super) fn insert_webhook(c: &Connection, w: &Webhook) -> Result<()> {
    let cursor: i64 = c
        .prepare_cached("select coalesce(max(seq), 0) from events where workspace_id = ?1")?
        .query_row([w.workspace_id.to_string()], |r| r.get(0))?;
    c.prepare_cached(&format!(
        "insert into webhooks ({WEBHOOK_COLUMNS}, cursor_seq) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        w.id.to_string(),
        w.workspace_id.to_string(),
        w.url,
        to_json(&w.event_types)?,
        w.description,
        w.state.as_str(),
        w.paused_reason,
        w.secret,
        micros(w.created_at),
        micros(w.updated_at),
        cursor,
    ])?;
    Ok(())
}

pub(super) fn list_webhooks(c: &Connection, ws: WorkspaceId) -> Result<Vec<Webhook>> {
    let mut stmt = c.prepare_cached(&format!(
        "select {WEBHOOK_COLUMNS} from webhooks where workspace_id = ?1 order by created_at, id"
    ))?;
    let rows = stmt.query_map([ws.to_string()], webhook_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn get_webhook(
    c: &Connection,
    ws: WorkspaceId,
    id: WebhookId,
) -> Result<Option<Webhook>> {
    Ok(c.prepare_cached(&format!(
        "select {WEBHOOK_COLUMNS} from webhooks where workspace_id = ?1 and id = ?2"
    ))?
    .query_row(params![ws.to_string(), id.to_string()], webhook_from_row)
    .optional()?)
}

pub(super) fn update_webhook(
    c: &Connection,
    ws: WorkspaceId,
    id: WebhookId,
    change: WebhookChange,
    at: Timestamp,
) -> Result<Webhook> {
    let current = get_webhook(c, ws, id)?.ok_or(DomainError::NotFound("webhook"))?;
    let w = change.apply(current, at);
    c.prepare_cached(
        "update webhooks set url = ?1, event_types = ?2, description = ?3, state = ?4, paused_reason = ?5, updated_at = ?6 where id = ?7",
    )?
    .execute(params![
        w.url,
        to_json(&w.event_types)?,
        w.description,
        w.state.as_str(),
        w.paused_reason,
        micros(at),
        id.to_string()
    ])?;
    Ok(w)
}

pub(super) fn delete_webhook(c: &Connection, ws: WorkspaceId, id: WebhookId) -> Result<()> {
    let deleted = c
        .prepare_cached("delete from webhooks where workspace_id = ?1 and id = ?2")?
        .execute(params![ws.to_string(), id.to_string()])?;
    if deleted == 0 {
        return Err(DomainError::NotFound("webhook").into());
    }
    Ok(())
}

pub(super) fn enqueue_deliveries(c: &Connection, now: Timestamp, max_events: u32) -> Result<usize> {
    let hooks: Vec<(Webhook, i64)> = {
        let mut stmt = c.prepare_cached(&format!(
            "select {WEBHOOK_COLUMNS}, cursor_seq from webhooks"
        ))?;
        let rows = stmt.query_map([], |r| Ok((webhook_from_row(r)?, r.get(10)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut queued = 0;
    for (hook, cursor) in hooks {
        let events = {
            let mut stmt = c.prepare_cached(&format!(
                "select {EVENT_COLUMNS} from events where workspace_id = ?1 and seq > ?2 order by seq limit ?3"
            ))?;
            let rows = stmt.query_map(
                params![hook.workspace_id.to_string(), cursor, max_events],
                event_from_row,
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let Some(last) = events.last().map(|e| e.seq) else {
            continue;
        };
        for event in events.iter().filter(|e| hook.wants(e.kind)) {
            insert_delivery(
                c,
                &hook,
                event.seq,
                event.id,
                event.kind,
                event.request_id,
                now,
            )?;
            queued += 1;
        }
        c.prepare_cached("update webhooks set cursor_seq = ?1 where id = ?2")?
            .execute(params![last, hook.id.to_string()])?;
    }
    Ok(queued)
}

fn insert_delivery(
    c: &Connection,
    hook: &Webhook,
    seq: i64,
    event: EventId,
    kind: EventKind,
    request: docket_domain::ids::RequestId,
    now: Timestamp,
) -> Result<Delivery> {
    let d = Delivery {
        id: DeliveryId::new(),
        webhook_id: hook.id,
        event_id: event,
        event_type: kind,
        request_id: request,
        state: DeliveryState::Pending,
        attempts: Vec::new(),
        next_attempt_at: Some(now),
        created_at: now,
    };
    c.prepare_cached(&format!(
        "insert into webhook_deliveries ({DELIVERY_COLUMNS}, workspace_id, event_seq) values (?1, ?2, ?3, ?4, ?5, 'pending', '[]', ?6, ?6, ?7, ?8)"
    ))?
    .execute(params![
        d.id.to_string(),
        hook.id.to_string(),
        event.to_string(),
        kind.as_str(),
        request.to_string(),
        micros(now),
        hook.workspace_id.to_string(),
        seq,
    ])?;
    Ok(d)
}

pub(super) fn claim_deliveries(
    c: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
    per_webhook: usize,
) -> Result<Vec<ClaimedDelivery>> {
    // Due, of an active webhook, and the oldest pending one of its (webhook, request).
    let candidates: Vec<(Delivery, i64)> = {
        let mut stmt = c.prepare_cached(&format!(
            "select {}, d.event_seq from webhook_deliveries d join webhooks w on w.id = d.webhook_id
             where d.state = 'pending' and d.next_attempt_at <= ?1 and w.state = 'active'
               and not exists (select 1 from webhook_deliveries e
                               where e.webhook_id = d.webhook_id and e.request_id = d.request_id
                                 and e.state = 'pending' and e.event_seq < d.event_seq)
             order by d.next_attempt_at, d.event_seq limit ?2",
            DELIVERY_COLUMNS
                .split(", ")
                .map(|col| format!("d.{col}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
        let rows = stmt.query_map(params![micros(now), (limit * 4) as i64], |r| {
            Ok((delivery_from_row(r)?, r.get(9)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let chosen = fair_share(candidates, |(d, _)| d.webhook_id, limit, per_webhook);
    let mut hooks: HashMap<WebhookId, Webhook> = HashMap::new();
    let mut claimed = Vec::new();
    for (mut delivery, seq) in chosen {
        let webhook = match hooks.get(&delivery.webhook_id) {
            Some(w) => w.clone(),
            None => {
                let w: Webhook = c
                    .prepare_cached(&format!(
                        "select {WEBHOOK_COLUMNS} from webhooks where id = ?1"
                    ))?
                    .query_row([delivery.webhook_id.to_string()], webhook_from_row)?;
                hooks.insert(w.id, w.clone());
                w
            }
        };
        let event = c
            .prepare_cached(&format!(
                "select {EVENT_COLUMNS} from events where seq = ?1"
            ))?
            .query_row([seq], event_from_row)?;
        let request = request_in(c, webhook.workspace_id, event.request_id)?;
        c.prepare_cached("update webhook_deliveries set next_attempt_at = ?1 where id = ?2")?
            .execute(params![micros(lease_until), delivery.id.to_string()])?;
        delivery.next_attempt_at = Some(lease_until);
        claimed.push(ClaimedDelivery {
            delivery,
            webhook,
            event,
            request,
        });
    }
    Ok(claimed)
}

pub(super) fn record_attempt(
    c: &Connection,
    id: DeliveryId,
    attempt: Attempt,
    outcome: AttemptOutcome,
) -> Result<()> {
    let found: Option<(String, String)> = c
        .prepare_cached("select attempts, webhook_id from webhook_deliveries where id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((attempts, webhook)) = found else {
        // Deleted with its webhook meanwhile: nothing to record.
        return Ok(());
    };
    let mut attempts: Vec<Attempt> =
        serde_json::from_str(&attempts).map_err(anyhow::Error::from)?;
    attempts.push(attempt);
    let (state, next) = outcome.next_state();
    let next = next.map(micros);
    c.prepare_cached(
        "update webhook_deliveries set attempts = ?1, state = ?2, next_attempt_at = ?3 where id = ?4",
    )?
    .execute(params![to_json(&attempts)?, state.as_str(), next, id.to_string()])?;
    if let AttemptOutcome::GiveUp { pause_reason } = outcome {
        c.prepare_cached(
            "update webhooks set state = 'paused', paused_reason = ?1 where id = ?2 and state = 'active'",
        )?
        .execute(params![pause_reason, webhook])?;
    }
    Ok(())
}

pub(super) fn list_deliveries(
    c: &Connection,
    ws: WorkspaceId,
    webhook: WebhookId,
    before: Option<DeliveryId>,
    limit: u32,
) -> Result<Vec<Delivery>> {
    let mut stmt = c.prepare_cached(&format!(
        "select {DELIVERY_COLUMNS} from webhook_deliveries
         where workspace_id = ?1 and webhook_id = ?2 and (?3 is null or id < ?3)
         order by id desc limit ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            ws.to_string(),
            webhook.to_string(),
            before.map(|b| b.to_string()),
            limit
        ],
        delivery_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn redeliver(
    c: &Connection,
    ws: WorkspaceId,
    webhook: WebhookId,
    event: EventId,
    now: Timestamp,
) -> Result<Delivery> {
    let hook = get_webhook(c, ws, webhook)?.ok_or(DomainError::NotFound("webhook"))?;
    let found = c
        .prepare_cached(&format!(
            "select {EVENT_COLUMNS} from events where id = ?1 and workspace_id = ?2"
        ))?
        .query_row(params![event.to_string(), ws.to_string()], event_from_row)
        .optional()?;
    let Some(e) = found else {
        return Err(DomainError::invalid(
            "event_id",
            "unknown_event",
            "no such event in this workspace",
        )
        .into());
    };
    if !hook.wants(e.kind) {
        return Err(conflict(
            "event_not_subscribed",
            format!("this webhook does not receive {} events", e.kind.as_str()),
        ));
    }
    insert_delivery(c, &hook, e.seq, e.id, e.kind, e.request_id, now)
}
