//! Webhooks and deliveries in PostgreSQL: rows, the outbox step and claiming.
//!
//! The same behaviour as `sqlite/webhooks.rs`; what differs is how several nodes share
//! the work: the outbox step locks each webhook's row (`skip locked`), so one node at a
//! time moves a webhook's cursor, and claiming locks the chosen deliveries
//! (`for update skip locked`) while it leases them, so each is claimed by one node.

use super::errors::{bad_value, conflict};
use super::requests::request_in;
use super::rows::{event_from_row, get, json, micros, to_json, EVENT_COLUMNS};
use crate::{AttemptOutcome, ClaimedDelivery, Result, WebhookChange};
use docket_domain::event::{Event, EventKind};
use docket_domain::ids::{DeliveryId, EventId, RequestId, WebhookId, WorkspaceId};
use docket_domain::webhook::{fair_share, Attempt, Delivery, DeliveryState, Webhook, WebhookState};
use docket_domain::{from_micros, DomainError, Timestamp};
use sqlx::postgres::PgRow;
use sqlx::PgConnection;
use std::collections::HashMap;

pub(super) const WEBHOOK_COLUMNS: &str = "id, workspace_id, url, event_types, description, state, paused_reason, secret, created_at, updated_at";
pub(super) const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event_type, request_id, state, attempts, next_attempt_at, created_at";

pub(super) fn webhook_from_row(row: &PgRow) -> Result<Webhook> {
    let state: String = get(row, "state")?;
    Ok(Webhook {
        id: WebhookId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        url: get(row, "url")?,
        event_types: json(row, "event_types")?,
        description: get(row, "description")?,
        state: WebhookState::parse(&state).ok_or_else(|| bad_value("state", &state))?,
        paused_reason: get(row, "paused_reason")?,
        secret: get(row, "secret")?,
        created_at: from_micros(get(row, "created_at")?),
        updated_at: from_micros(get(row, "updated_at")?),
    })
}

pub(super) fn delivery_from_row(row: &PgRow) -> Result<Delivery> {
    let kind: String = get(row, "event_type")?;
    let state: String = get(row, "state")?;
    Ok(Delivery {
        id: DeliveryId(get(row, "id")?),
        webhook_id: WebhookId(get(row, "webhook_id")?),
        event_id: EventId(get(row, "event_id")?),
        event_type: EventKind::parse(&kind).ok_or_else(|| bad_value("event_type", &kind))?,
        request_id: RequestId(get(row, "request_id")?),
        state: DeliveryState::parse(&state).ok_or_else(|| bad_value("state", &state))?,
        attempts: json(row, "attempts")?,
        next_attempt_at: get::<Option<i64>>(row, "next_attempt_at")?.map(from_micros),
        created_at: from_micros(get(row, "created_at")?),
    })
}

pub(super) async fn insert_webhook(c: &mut PgConnection, w: &Webhook) -> Result<()> {
    // Events become visible in seq order, so "the newest now" is a safe starting point.
    let cursor: i64 = sqlx::query_scalar(
        "select coalesce(max(seq), 0)::bigint from events where workspace_id = $1",
    )
    .bind(w.workspace_id.0)
    .fetch_one(&mut *c)
    .await?;
    sqlx::query(&format!(
        "insert into webhooks ({WEBHOOK_COLUMNS}, cursor_seq) values ($1, $2, $3, $4::json, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(w.id.0)
    .bind(w.workspace_id.0)
    .bind(&w.url)
    .bind(to_json(&w.event_types)?)
    .bind(&w.description)
    .bind(w.state.as_str())
    .bind(&w.paused_reason)
    .bind(&w.secret)
    .bind(micros(w.created_at))
    .bind(micros(w.updated_at))
    .bind(cursor)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub(super) async fn list_webhooks(c: &mut PgConnection, ws: WorkspaceId) -> Result<Vec<Webhook>> {
    sqlx::query(&format!(
        "select {WEBHOOK_COLUMNS} from webhooks where workspace_id = $1 order by created_at, id"
    ))
    .bind(ws.0)
    .fetch_all(c)
    .await?
    .iter()
    .map(webhook_from_row)
    .collect()
}

pub(super) async fn get_webhook(
    c: &mut PgConnection,
    ws: WorkspaceId,
    id: WebhookId,
    lock: &str,
) -> Result<Option<Webhook>> {
    sqlx::query(&format!(
        "select {WEBHOOK_COLUMNS} from webhooks where workspace_id = $1 and id = $2{lock}"
    ))
    .bind(ws.0)
    .bind(id.0)
    .fetch_optional(c)
    .await?
    .map(|r| webhook_from_row(&r))
    .transpose()
}

pub(super) async fn update_webhook(
    c: &mut PgConnection,
    ws: WorkspaceId,
    id: WebhookId,
    change: WebhookChange,
    at: Timestamp,
) -> Result<Webhook> {
    let current = get_webhook(&mut *c, ws, id, " for update")
        .await?
        .ok_or(DomainError::NotFound("webhook"))?;
    let w = change.apply(current, at);
    sqlx::query(
        "update webhooks set url = $1, event_types = $2::json, description = $3, state = $4, paused_reason = $5, updated_at = $6 where id = $7",
    )
    .bind(&w.url)
    .bind(to_json(&w.event_types)?)
    .bind(&w.description)
    .bind(w.state.as_str())
    .bind(&w.paused_reason)
    .bind(micros(at))
    .bind(id.0)
    .execute(&mut *c)
    .await?;
    Ok(w)
}

pub(super) async fn delete_webhook(
    c: &mut PgConnection,
    ws: WorkspaceId,
    id: WebhookId,
) -> Result<()> {
    let deleted = sqlx::query("delete from webhooks where workspace_id = $1 and id = $2")
        .bind(ws.0)
        .bind(id.0)
        .execute(c)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(DomainError::NotFound("webhook").into());
    }
    Ok(())
}

pub(super) async fn enqueue_deliveries(
    c: &mut PgConnection,
    now: Timestamp,
    max_events: u32,
) -> Result<usize> {
    // A webhook another node is moving right now is skipped: that node covers it.
    let hooks: Vec<(Webhook, i64)> = sqlx::query(&format!(
        "select {WEBHOOK_COLUMNS}, cursor_seq from webhooks order by id for update skip locked"
    ))
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| Ok((webhook_from_row(r)?, get(r, "cursor_seq")?)))
    .collect::<Result<_>>()?;
    let mut queued = 0;
    for (hook, cursor) in hooks {
        let events: Vec<Event> = sqlx::query(&format!(
            "select {EVENT_COLUMNS} from events where workspace_id = $1 and seq > $2 order by seq limit $3"
        ))
        .bind(hook.workspace_id.0)
        .bind(cursor)
        .bind(i64::from(max_events))
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(event_from_row)
        .collect::<Result<_>>()?;
        let Some(last) = events.last().map(|e| e.seq) else {
            continue;
        };
        for event in events.iter().filter(|e| hook.wants(e.kind)) {
            insert_delivery(&mut *c, &hook, event, now).await?;
            queued += 1;
        }
        sqlx::query("update webhooks set cursor_seq = $1 where id = $2")
            .bind(last)
            .bind(hook.id.0)
            .execute(&mut *c)
            .await?;
    }
    Ok(queued)
}

async fn insert_delivery(
    c: &mut PgConnection,
    hook: &Webhook,
    event: &Event,
    now: Timestamp,
) -> Result<Delivery> {
    let d = Delivery {
        id: DeliveryId::new(),
        webhook_id: hook.id,
        event_id: event.id,
        event_type: event.kind,
        request_id: event.request_id,
        state: DeliveryState::Pending,
        attempts: Vec::new(),
        next_attempt_at: Some(now),
        created_at: now,
    };
    sqlx::query(&format!(
        "insert into webhook_deliveries ({DELIVERY_COLUMNS}, workspace_id, event_seq)
         values ($1, $2, $3, $4, $5, 'pending', '[]'::json, $6, $6, $7, $8)"
    ))
    .bind(d.id.0)
    .bind(hook.id.0)
    .bind(event.id.0)
    .bind(event.kind.as_str())
    .bind(event.request_id.0)
    .bind(micros(now))
    .bind(hook.workspace_id.0)
    .bind(event.seq)
    .execute(c)
    .await?;
    Ok(d)
}

pub(super) async fn claim_deliveries(
    c: &mut PgConnection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
    per_webhook: usize,
) -> Result<Vec<ClaimedDelivery>> {
    // Due, of an active webhook, and the oldest pending one of its (webhook, request).
    // A delivery another node is leasing right now is skipped, and so is the next one of
    // its request: the one being leased is still pending and older.
    let columns = DELIVERY_COLUMNS
        .split(", ")
        .map(|col| format!("d.{col}"))
        .collect::<Vec<_>>()
        .join(", ");
    let candidates: Vec<(Delivery, i64)> = sqlx::query(&format!(
        "select {columns}, d.event_seq from webhook_deliveries d join webhooks w on w.id = d.webhook_id
         where d.state = 'pending' and d.next_attempt_at <= $1 and w.state = 'active'
           and not exists (select 1 from webhook_deliveries e
                           where e.webhook_id = d.webhook_id and e.request_id = d.request_id
                             and e.state = 'pending' and e.event_seq < d.event_seq)
         order by d.next_attempt_at, d.event_seq limit $2
         for update of d skip locked"
    ))
    .bind(micros(now))
    .bind((limit * 4) as i64)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| Ok((delivery_from_row(r)?, get(r, "event_seq")?)))
    .collect::<Result<_>>()?;
    let chosen = fair_share(candidates, |(d, _)| d.webhook_id, limit, per_webhook);
    let mut hooks: HashMap<WebhookId, Webhook> = HashMap::new();
    let mut claimed = Vec::new();
    for (mut delivery, seq) in chosen {
        let webhook = match hooks.get(&delivery.webhook_id) {
            Some(w) => w.clone(),
            None => {
                let row = sqlx::query(&format!(
                    "select {WEBHOOK_COLUMNS} from webhooks where id = $1"
                ))
                .bind(delivery.webhook_id.0)
                .fetch_one(&mut *c)
                .await?;
                let w = webhook_from_row(&row)?;
                hooks.insert(w.id, w.clone());
                w
            }
        };
        let row = sqlx::query(&format!(
            "select {EVENT_COLUMNS} from events where seq = $1"
        ))
        .bind(seq)
        .fetch_one(&mut *c)
        .await?;
        let event = event_from_row(&row)?;
        let request = request_in(&mut *c, webhook.workspace_id, event.request_id, "").await?;
        sqlx::query("update webhook_deliveries set next_attempt_at = $1 where id = $2")
            .bind(micros(lease_until))
            .bind(delivery.id.0)
            .execute(&mut *c)
            .await?;
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

pub(super) async fn record_attempt(
    c: &mut PgConnection,
    id: DeliveryId,
    attempt: Attempt,
    outcome: AttemptOutcome,
) -> Result<()> {
    let found =
        sqlx::query("select attempts, webhook_id from webhook_deliveries where id = $1 for update")
            .bind(id.0)
            .fetch_optional(&mut *c)
            .await?;
    let Some(row) = found else {
        // Deleted with its webhook meanwhile: nothing to record.
        return Ok(());
    };
    let mut attempts: Vec<Attempt> = json(&row, "attempts")?;
    let webhook: uuid::Uuid = get(&row, "webhook_id")?;
    attempts.push(attempt);
    let (state, next) = outcome.next_state();
    let next = next.map(micros);
    sqlx::query(
        "update webhook_deliveries set attempts = $1::json, state = $2, next_attempt_at = $3 where id = $4",
    )
    .bind(to_json(&attempts)?)
    .bind(state.as_str())
    .bind(next)
    .bind(id.0)
    .execute(&mut *c)
    .await?;
    if let AttemptOutcome::GiveUp { pause_reason } = outcome {
        sqlx::query(
            "update webhooks set state = 'paused', paused_reason = $1 where id = $2 and state = 'active'",
        )
        .bind(pause_reason)
        .bind(webhook)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

pub(super) async fn list_deliveries(
    c: &mut PgConnection,
    ws: WorkspaceId,
    webhook: WebhookId,
    before: Option<DeliveryId>,
    limit: u32,
) -> Result<Vec<Delivery>> {
    sqlx::query(&format!(
        "select {DELIVERY_COLUMNS} from webhook_deliveries
         where workspace_id = $1 and webhook_id = $2 and ($3::uuid is null or id < $3)
         order by id desc limit $4"
    ))
    .bind(ws.0)
    .bind(webhook.0)
    .bind(before.map(|b| b.0))
    .bind(i64::from(limit))
    .fetch_all(c)
    .await?
    .iter()
    .map(delivery_from_row)
    .collect()
}

pub(super) async fn redeliver(
    c: &mut PgConnection,
    ws: WorkspaceId,
    webhook: WebhookId,
    event: EventId,
    now: Timestamp,
) -> Result<Delivery> {
    let hook = get_webhook(&mut *c, ws, webhook, "")
        .await?
        .ok_or(DomainError::NotFound("webhook"))?;
    let found = sqlx::query(&format!(
        "select {EVENT_COLUMNS} from events where id = $1 and workspace_id = $2"
    ))
    .bind(event.0)
    .bind(ws.0)
    .fetch_optional(&mut *c)
    .await?;
    let Some(row) = found else {
        return Err(DomainError::invalid(
            "event_id",
            "unknown_event",
            "no such event in this workspace",
        )
        .into());
    };
    let e = event_from_row(&row)?;
    if !hook.wants(e.kind) {
        return Err(conflict(
            "event_not_subscribed",
            format!("this webhook does not receive {} events", e.kind.as_str()),
        ));
    }
    insert_delivery(c, &hook, &e, now).await
}
