//! The email outbox in SQLite: the planner's cursor, queued emails and template overrides.

use super::events::insert_event;
use super::rows::{event_from_row, micros, EVENT_COLUMNS};
use crate::{EmailOutcome, MailEvents, NewEmail, QueuedEmail, Result};
use docket_domain::email::Template;
use docket_domain::ids::WorkspaceId;
use docket_domain::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};

pub(super) fn mail_events_after(c: &Connection, after: i64, limit: u32) -> Result<MailEvents> {
    // The newest event first, then the flagged ones up to it: an event committed between
    // the two statements is newer than `newest` and waits for the next pass.
    let newest: i64 = c
        .prepare_cached("select coalesce(max(seq), 0) from events")?
        .query_row([], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!(
        "select {EVENT_COLUMNS} from events where mail = 1 and seq > ?1 and seq <= ?2 order by seq limit ?3"
    ))?;
    let rows = stmt.query_map(params![after, newest, limit], event_from_row)?;
    let events = rows.collect::<rusqlite::Result<_>>()?;
    Ok(MailEvents::new(events, after, newest, limit))
}

pub(super) fn outbox_cursor(c: &Connection, name: &str) -> Result<i64> {
    c.prepare_cached(
        "insert or ignore into outbox_cursors (name, seq) select ?1, coalesce(max(seq), 0) from events",
    )?
    .execute([name])?;
    Ok(
        c.prepare_cached("select seq from outbox_cursors where name = ?1")?
            .query_row([name], |r| r.get(0))?,
    )
}

pub(super) fn queue_emails(
    c: &Connection,
    name: &str,
    from: i64,
    to: i64,
    emails: Vec<NewEmail>,
    now: Timestamp,
) -> Result<bool> {
    let moved = c
        .prepare_cached("update outbox_cursors set seq = ?3 where name = ?1 and seq = ?2")?
        .execute(params![name, from, to])?;
    if moved == 0 {
        return Ok(false);
    }
    for e in emails {
        insert_email(c, e, now)?;
    }
    Ok(true)
}

pub(super) fn insert_email(c: &Connection, e: NewEmail, now: Timestamp) -> Result<()> {
    c.prepare_cached(
            "insert into emails (id, workspace_id, request_id, event_id, recipient, subject, body, state, attempts, next_attempt_at, created_at)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', 0, ?8, ?8)",
        )?
        .execute(params![
            uuid::Uuid::now_v7().to_string(),
            e.workspace_id.to_string(),
            e.request_id.to_string(),
            e.event_id.to_string(),
            e.to,
            e.subject,
            e.body,
            micros(now)
        ])?;
    Ok(())
}

pub(super) fn claim_emails(
    c: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> Result<Vec<QueuedEmail>> {
    let claimed: Vec<QueuedEmail> = {
        let mut stmt = c.prepare_cached(
            "select id, workspace_id, request_id, event_id, recipient, subject, body, attempts from emails
             where state = 'pending' and next_attempt_at <= ?1 order by next_attempt_at limit ?2",
        )?;
        let rows = stmt.query_map(params![micros(now), limit as i64], |r| {
            let text = |i: usize| r.get::<_, String>(i);
            let parse_err = |i: usize, e: uuid::Error| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            };
            Ok(QueuedEmail {
                id: text(0)?,
                email: NewEmail {
                    workspace_id: text(1)?.parse().map_err(|e| parse_err(1, e))?,
                    request_id: text(2)?.parse().map_err(|e| parse_err(2, e))?,
                    event_id: text(3)?.parse().map_err(|e| parse_err(3, e))?,
                    to: text(4)?,
                    subject: text(5)?,
                    body: text(6)?,
                },
                attempts: r.get(7)?,
            })
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for e in &claimed {
        c.prepare_cached("update emails set next_attempt_at = ?1 where id = ?2")?
            .execute(params![micros(lease_until), e.id])?;
    }
    Ok(claimed)
}

/// Returns the seq of the `email.failed` event when it wrote one.
pub(super) fn record_email(
    c: &Connection,
    id: &str,
    outcome: EmailOutcome,
    now: Timestamp,
) -> Result<Option<i64>> {
    let found: Option<(String, String, String)> = c
        .prepare_cached("select workspace_id, request_id, recipient from emails where id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((ws, request, recipient)) = found else {
        return Ok(None);
    };
    match outcome {
        EmailOutcome::Sent => {
            c.prepare_cached("update emails set state = 'sent', attempts = attempts + 1, sent_at = ?2, next_attempt_at = null where id = ?1")?
                .execute(params![id, micros(now)])?;
        }
        EmailOutcome::RetryAt { at, error } => {
            c.prepare_cached("update emails set attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 where id = ?1")?
                .execute(params![id, error, micros(at)])?;
        }
        EmailOutcome::Failed { error } => {
            c.prepare_cached("update emails set state = 'failed', attempts = attempts + 1, last_error = ?2, next_attempt_at = null where id = ?1")?
                .execute(params![id, error])?;
            let event = docket_domain::email::failed_event(
                ws.parse().map_err(anyhow::Error::from)?,
                request.parse().map_err(anyhow::Error::from)?,
                &recipient,
                &error,
                now,
            );
            return Ok(Some(insert_event(c, event, None)?.seq));
        }
    }
    Ok(None)
}

pub(super) fn email_templates(c: &Connection, ws: WorkspaceId) -> Result<Vec<Template>> {
    let mut stmt = c.prepare_cached(
        "select name, subject, body from email_templates where workspace_id = ?1 order by name",
    )?;
    let rows = stmt.query_map([ws.to_string()], |r| {
        Ok(Template {
            name: r.get(0)?,
            subject: r.get(1)?,
            body: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn set_email_template(
    c: &Connection,
    ws: WorkspaceId,
    t: &Template,
    at: Timestamp,
) -> Result<()> {
    c.prepare_cached(
        "insert into email_templates (workspace_id, name, subject, body, updated_at) values (?1, ?2, ?3, ?4, ?5)
         on conflict (workspace_id, name) do update set subject = excluded.subject, body = excluded.body, updated_at = excluded.updated_at",
    )?
    .execute(params![ws.to_string(), t.name, t.subject, t.body, micros(at)])?;
    Ok(())
}

pub(super) fn delete_email_template(c: &Connection, ws: WorkspaceId, name: &str) -> Result<bool> {
    Ok(
        c.prepare_cached("delete from email_templates where workspace_id = ?1 and name = ?2")?
            .execute(params![ws.to_string(), name])?
            > 0,
    )
}
