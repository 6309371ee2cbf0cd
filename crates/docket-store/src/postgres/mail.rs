//! The email outbox in PostgreSQL: the planner's cursor, queued emails and template
//! overrides. The same behaviour as `sqlite/mail.rs`; across nodes, the cursor moves by
//! compare-and-set (`where seq = from`) and claiming locks the chosen rows
//! (`for update skip locked`), so each email is leased by one node.

use super::events::insert_event;
use super::rows::{event_from_row, get, micros, EVENT_COLUMNS};
use crate::{EmailOutcome, MailEvents, NewEmail, QueuedEmail, Result};
use docket_domain::email::Template;
use docket_domain::ids::{EventId, RequestId, WorkspaceId};
use docket_domain::Timestamp;
use sqlx::{PgConnection, Row};

pub(super) async fn mail_events_after(
    c: &mut PgConnection,
    after: i64,
    limit: u32,
) -> Result<MailEvents> {
    // The newest event first, then the flagged ones up to it: events become visible in
    // seq order (see `events::lock_event_order`), so every one up to `newest` is visible to
    // the second statement, and one committed in between is newer and waits for the next
    // pass.
    let newest: i64 = sqlx::query_scalar("select coalesce(max(seq), 0) from events")
        .fetch_one(&mut *c)
        .await?;
    let events = sqlx::query(&format!(
        "select {EVENT_COLUMNS} from events where mail and seq > $1 and seq <= $2 order by seq limit $3"
    ))
    .bind(after)
    .bind(newest)
    .bind(i64::from(limit))
    .fetch_all(c)
    .await?
    .iter()
    .map(event_from_row)
    .collect::<Result<Vec<_>>>()?;
    Ok(MailEvents::new(events, after, newest, limit))
}

pub(super) async fn outbox_cursor(c: &mut PgConnection, name: &str) -> Result<i64> {
    sqlx::query(
        "insert into outbox_cursors (name, seq) select $1, coalesce(max(seq), 0) from events
         on conflict (name) do nothing",
    )
    .bind(name)
    .execute(&mut *c)
    .await?;
    Ok(
        sqlx::query_scalar("select seq from outbox_cursors where name = $1")
            .bind(name)
            .fetch_one(&mut *c)
            .await?,
    )
}

pub(super) async fn queue_emails(
    c: &mut PgConnection,
    name: &str,
    from: i64,
    to: i64,
    emails: Vec<NewEmail>,
    now: Timestamp,
) -> Result<bool> {
    // Under read committed, a concurrent mover's update makes this one re-check
    // `seq = from` against the committed row, so only one of them moves it.
    let moved = sqlx::query("update outbox_cursors set seq = $3 where name = $1 and seq = $2")
        .bind(name)
        .bind(from)
        .bind(to)
        .execute(&mut *c)
        .await?
        .rows_affected();
    if moved == 0 {
        return Ok(false);
    }
    for e in emails {
        insert_email(&mut *c, e, now).await?;
    }
    Ok(true)
}

pub(super) async fn insert_email(c: &mut PgConnection, e: NewEmail, now: Timestamp) -> Result<()> {
    sqlx::query(
        "insert into emails (id, workspace_id, request_id, event_id, recipient, subject, body, state, attempts, next_attempt_at, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(e.workspace_id.0)
    .bind(e.request_id.0)
    .bind(e.event_id.0)
    .bind(&e.to)
    .bind(&e.subject)
    .bind(&e.body)
    .bind(micros(now))
    .execute(c)
    .await?;
    Ok(())
}

pub(super) async fn claim_emails(
    c: &mut PgConnection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> Result<Vec<QueuedEmail>> {
    let claimed: Vec<QueuedEmail> = sqlx::query(
        "select id, workspace_id, request_id, event_id, recipient, subject, body, attempts from emails
         where state = 'pending' and next_attempt_at <= $1 order by next_attempt_at limit $2
         for update skip locked",
    )
    .bind(micros(now))
    .bind(limit as i64)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| {
        Ok(QueuedEmail {
            id: get(r, "id")?,
            email: NewEmail {
                workspace_id: WorkspaceId(get(r, "workspace_id")?),
                request_id: RequestId(get(r, "request_id")?),
                event_id: EventId(get(r, "event_id")?),
                to: get(r, "recipient")?,
                subject: get(r, "subject")?,
                body: get(r, "body")?,
            },
            attempts: u32::try_from(get::<i32>(r, "attempts")?).unwrap_or(0),
        })
    })
    .collect::<Result<_>>()?;
    for e in &claimed {
        sqlx::query("update emails set next_attempt_at = $1 where id = $2")
            .bind(micros(lease_until))
            .bind(&e.id)
            .execute(&mut *c)
            .await?;
    }
    Ok(claimed)
}

/// Returns the seq of the `email.failed` event when it wrote one.
pub(super) async fn record_email(
    c: &mut PgConnection,
    id: &str,
    outcome: EmailOutcome,
    now: Timestamp,
) -> Result<Option<i64>> {
    let found = sqlx::query(
        "select workspace_id, request_id, recipient from emails where id = $1 for update",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    let Some(row) = found else {
        return Ok(None);
    };
    let ws = WorkspaceId(row.try_get("workspace_id")?);
    let request = RequestId(row.try_get("request_id")?);
    let recipient: String = row.try_get("recipient")?;
    match outcome {
        EmailOutcome::Sent => {
            sqlx::query("update emails set state = 'sent', attempts = attempts + 1, sent_at = $2, next_attempt_at = null where id = $1")
                .bind(id)
                .bind(micros(now))
                .execute(&mut *c)
                .await?;
        }
        EmailOutcome::RetryAt { at, error } => {
            sqlx::query("update emails set attempts = attempts + 1, last_error = $2, next_attempt_at = $3 where id = $1")
                .bind(id)
                .bind(error)
                .bind(micros(at))
                .execute(&mut *c)
                .await?;
        }
        EmailOutcome::Failed { error } => {
            sqlx::query("update emails set state = 'failed', attempts = attempts + 1, last_error = $2, next_attempt_at = null where id = $1")
                .bind(id)
                .bind(&error)
                .execute(&mut *c)
                .await?;
            let event = docket_domain::email::failed_event(ws, request, &recipient, &error, now);
            return Ok(Some(insert_event(c, event, None).await?.seq));
        }
    }
    Ok(None)
}

pub(super) async fn email_templates(
    c: &mut PgConnection,
    ws: WorkspaceId,
) -> Result<Vec<Template>> {
    sqlx::query(
        "select name, subject, body from email_templates where workspace_id = $1 order by name",
    )
    .bind(ws.0)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(Template {
            name: get(r, "name")?,
            subject: get(r, "subject")?,
            body: get(r, "body")?,
        })
    })
    .collect()
}

pub(super) async fn set_email_template(
    c: &mut PgConnection,
    ws: WorkspaceId,
    t: &Template,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "insert into email_templates (workspace_id, name, subject, body, updated_at) values ($1, $2, $3, $4, $5)
         on conflict (workspace_id, name) do update set subject = excluded.subject, body = excluded.body, updated_at = excluded.updated_at",
    )
    .bind(ws.0)
    .bind(&t.name)
    .bind(&t.subject)
    .bind(&t.body)
    .bind(micros(at))
    .execute(c)
    .await?;
    Ok(())
}

pub(super) async fn delete_email_template(
    c: &mut PgConnection,
    ws: WorkspaceId,
    name: &str,
) -> Result<bool> {
    Ok(
        sqlx::query("delete from email_templates where workspace_id = $1 and name = $2")
            .bind(ws.0)
            .bind(name)
            .execute(c)
            .await?
            .rows_affected()
            > 0,
    )
}
