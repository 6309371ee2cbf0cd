//! Export and import in PostgreSQL: every record of a workspace read in a fixed order, and
//! each exported record stored back exactly as it left (see `crate::portable`).

use super::errors::unique_or;
use super::events::insert_event_flagged;
use super::links::insert_link_row;
use super::members::{insert_member_row, insert_token_row};
use super::requests::insert_request;
use super::rows::{
    get, link_from_row, micros, request_from_row, time, time_opt, to_json, LINK_COLUMNS,
    REQUEST_COLUMNS,
};
use super::types::insert_request_type_row;
use super::{files, mail, webhooks};
use crate::{
    DueNotice, ExternalKey, Imported, NewEmail, RecordKind, Result, StoreError, StoredEmail,
};
use docket_domain::email::Template;
use docket_domain::ids::{EventId, MemberId, RequestId, WorkspaceId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};

pub(super) async fn export_requests(
    pool: &PgPool,
    ws: WorkspaceId,
    after: Option<RequestId>,
    limit: u32,
) -> Result<Vec<docket_domain::request::Request>> {
    sqlx::query(&format!(
        "select {REQUEST_COLUMNS} from requests
         where workspace_id = $1 and ($2::uuid is null or id > $2) order by id limit $3"
    ))
    .bind(ws.0)
    .bind(after.map(|a| a.0))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?
    .iter()
    .map(request_from_row)
    .collect()
}

async fn rows(
    pool: &PgPool,
    sql: &str,
    ws: WorkspaceId,
    offset: u64,
    limit: u32,
) -> Result<Vec<PgRow>> {
    Ok(sqlx::query(&format!("{sql} limit $2 offset $3"))
        .bind(ws.0)
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?)
}

pub(super) async fn export_records(
    pool: &PgPool,
    ws: WorkspaceId,
    kind: RecordKind,
    offset: u64,
    limit: u32,
) -> Result<Vec<Imported>> {
    let sql = match kind {
        RecordKind::Passwords => "select id, password_hash from members where workspace_id = $1 and password_hash is not null order by id".to_owned(),
        RecordKind::Links => format!("select {LINK_COLUMNS} from request_links where workspace_id = $1 order by id"),
        RecordKind::ExternalKeys => "select key_space, key, request_id from request_external_keys where workspace_id = $1 order by key_space, key".to_owned(),
        RecordKind::Notices => "select n.request_id, n.due_at, n.kind, n.created_at from request_notices n
             join requests r on r.id = n.request_id where r.workspace_id = $1
             order by n.request_id, n.due_at, n.kind".to_owned(),
        RecordKind::EmailTemplates => "select name, subject, body, updated_at from email_templates where workspace_id = $1 order by name".to_owned(),
        RecordKind::Emails => "select id, request_id, event_id, recipient, subject, body, state, attempts, last_error,
                    next_attempt_at, created_at, sent_at
             from emails where workspace_id = $1 order by created_at, id".to_owned(),
        RecordKind::PendingMail => {
            if offset > 0 {
                return Ok(Vec::new());
            }
            let events: Vec<uuid::Uuid> = sqlx::query_scalar(
                "select id from events where workspace_id = $1 and mail
                 and seq > (select seq from outbox_cursors where name = 'email') order by id",
            )
            .bind(ws.0)
            .fetch_all(pool)
            .await?;
            return Ok(if events.is_empty() {
                Vec::new()
            } else {
                vec![Imported::PendingMail {
                    workspace_id: ws,
                    events: events.into_iter().map(EventId).collect(),
                }]
            });
        }
        RecordKind::Webhooks => format!(
            "select {}, cursor_seq from webhooks where workspace_id = $1 order by id",
            webhooks::WEBHOOK_COLUMNS
        ),
        RecordKind::Deliveries => format!(
            "select {} from webhook_deliveries where workspace_id = $1 order by id",
            webhooks::DELIVERY_COLUMNS
        ),
    };
    rows(pool, &sql, ws, offset, limit)
        .await?
        .iter()
        .map(|r| record(kind, ws, r))
        .collect()
}

fn record(kind: RecordKind, ws: WorkspaceId, r: &PgRow) -> Result<Imported> {
    Ok(match kind {
        RecordKind::Passwords => Imported::Password {
            workspace_id: ws,
            member_id: MemberId(get(r, "id")?),
            hash: get(r, "password_hash")?,
        },
        RecordKind::Links => Imported::Link(Box::new(link_from_row(r)?)),
        RecordKind::ExternalKeys => Imported::ExternalKey {
            workspace_id: ws,
            key: ExternalKey {
                space: get(r, "key_space")?,
                key: get(r, "key")?,
            },
            request_id: RequestId(get(r, "request_id")?),
        },
        RecordKind::Notices => Imported::Notice {
            workspace_id: ws,
            notice: DueNotice {
                request_id: RequestId(get(r, "request_id")?),
                due_at: time(r, "due_at")?,
                kind: get(r, "kind")?,
                created_at: time(r, "created_at")?,
            },
        },
        RecordKind::EmailTemplates => Imported::EmailTemplate {
            workspace_id: ws,
            template: Template {
                name: get(r, "name")?,
                subject: get(r, "subject")?,
                body: get(r, "body")?,
            },
            updated_at: time(r, "updated_at")?,
        },
        RecordKind::Emails => Imported::Email(Box::new(StoredEmail {
            id: get(r, "id")?,
            email: NewEmail {
                workspace_id: ws,
                request_id: RequestId(get(r, "request_id")?),
                event_id: EventId(get(r, "event_id")?),
                to: get(r, "recipient")?,
                subject: get(r, "subject")?,
                body: get(r, "body")?,
            },
            state: get(r, "state")?,
            attempts: u32::try_from(get::<i32>(r, "attempts")?).unwrap_or(0),
            last_error: get(r, "last_error")?,
            next_attempt_at: time_opt(r, "next_attempt_at")?,
            created_at: time(r, "created_at")?,
            sent_at: time_opt(r, "sent_at")?,
        })),
        RecordKind::Webhooks => Imported::Webhook {
            webhook: Box::new(webhooks::webhook_from_row(r)?),
            after_seq: get(r, "cursor_seq")?,
        },
        RecordKind::Deliveries => Imported::Delivery {
            workspace_id: ws,
            delivery: Box::new(webhooks::delivery_from_row(r)?),
        },
        RecordKind::PendingMail => unreachable!("read above"),
    })
}

fn missing(what: &str) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("the import names {what} it does not hold"))
}

/// Stores one record, inside the caller's transaction.
pub(super) async fn import(c: &mut PgConnection, record: Imported) -> Result<()> {
    match record {
        Imported::Workspace(w) => {
            sqlx::query(
                "insert into workspaces (id, name, slug, created_at) values ($1, $2, $3, $4)",
            )
            .bind(w.id.0)
            .bind(&w.name)
            .bind(&w.slug)
            .bind(micros(w.created_at))
            .execute(&mut *c)
            .await
            .map_err(|e| {
                unique_or(e, "slug_taken", || {
                    format!("a workspace with slug {} exists", w.slug)
                })
            })?;
            // The email planner starts before the imported events, so the ones the source
            // had not planned yet (`PendingMail`) are planned here.
            mail::outbox_cursor(c, "email").await?;
        }
        Imported::Member(m) => insert_member_row(c, &m).await?,
        Imported::Token(t) => insert_token_row(c, &t).await?,
        Imported::RequestType(t) => insert_request_type_row(c, &t).await?,
        Imported::File(file) => files::insert_file_row(c, &file).await?,
        Imported::FilePolicy {
            workspace_id,
            policy,
        } => files::set_file_policy(c, workspace_id, &policy, docket_domain::now()).await?,
        Imported::Request {
            request,
            events,
            items,
        } => {
            insert_request(&mut *c, &request).await?;
            super::items::write_items(&mut *c, &items).await?;
            sqlx::query(
                "update workspaces set next_request_number = greatest(next_request_number, $1 + 1) where id = $2",
            )
            .bind(request.number)
            .bind(request.workspace_id.0)
            .execute(&mut *c)
            .await?;
            // Events last: they take the event-order lock (see events::lock_event_order).
            for e in events {
                insert_event_flagged(c, e, false).await?;
            }
        }
        Imported::Password {
            workspace_id,
            member_id,
            hash,
        } => {
            let n = sqlx::query(
                "update members set password_hash = $1 where workspace_id = $2 and id = $3",
            )
            .bind(hash)
            .bind(workspace_id.0)
            .bind(member_id.0)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(missing("a member"));
            }
        }
        Imported::Link(l) => insert_link_row(c, &l).await?,
        Imported::ExternalKey {
            workspace_id,
            request_id,
            key,
        } => {
            sqlx::query(
                "insert into request_external_keys (workspace_id, key_space, key, request_id) values ($1, $2, $3, $4)",
            )
            .bind(workspace_id.0)
            .bind(&key.space)
            .bind(&key.key)
            .bind(request_id.0)
            .execute(&mut *c)
            .await?;
        }
        Imported::Notice { notice, .. } => {
            sqlx::query(
                "insert into request_notices (request_id, due_at, kind, created_at) values ($1, $2, $3, $4)",
            )
            .bind(notice.request_id.0)
            .bind(micros(notice.due_at))
            .bind(&notice.kind)
            .bind(micros(notice.created_at))
            .execute(&mut *c)
            .await?;
        }
        Imported::EmailTemplate {
            workspace_id,
            template,
            updated_at,
        } => mail::set_email_template(c, workspace_id, &template, updated_at).await?,
        Imported::Email(e) => {
            sqlx::query(
                "insert into emails (id, workspace_id, request_id, event_id, recipient, subject, body, state,
                                     attempts, last_error, next_attempt_at, created_at, sent_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&e.id)
            .bind(e.email.workspace_id.0)
            .bind(e.email.request_id.0)
            .bind(e.email.event_id.0)
            .bind(&e.email.to)
            .bind(&e.email.subject)
            .bind(&e.email.body)
            .bind(&e.state)
            .bind(i32::try_from(e.attempts).unwrap_or(i32::MAX))
            .bind(&e.last_error)
            .bind(e.next_attempt_at.map(micros))
            .bind(micros(e.created_at))
            .bind(e.sent_at.map(micros))
            .execute(&mut *c)
            .await?;
        }
        Imported::PendingMail {
            workspace_id,
            events,
        } => {
            let ids: Vec<uuid::Uuid> = events.iter().map(|e| e.0).collect();
            let n = sqlx::query(
                "update events set mail = true where workspace_id = $1 and id = any($2)",
            )
            .bind(workspace_id.0)
            .bind(&ids)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if n != ids.len() as u64 {
                return Err(missing("an event"));
            }
        }
        Imported::Webhook { webhook, .. } => webhooks::insert_webhook(c, &webhook).await?,
        Imported::Delivery {
            workspace_id,
            delivery: d,
        } => {
            let n = sqlx::query(&format!(
                "insert into webhook_deliveries ({}, workspace_id, event_seq)
                 select $1, $2, $3, $4, $5, $6, $7::json, $8, $9, $10, seq from events where id = $3 and workspace_id = $10",
                webhooks::DELIVERY_COLUMNS
            ))
            .bind(d.id.0)
            .bind(d.webhook_id.0)
            .bind(d.event_id.0)
            .bind(d.event_type.as_str())
            .bind(d.request_id.0)
            .bind(d.state.as_str())
            .bind(to_json(&d.attempts)?)
            .bind(d.next_attempt_at.map(micros))
            .bind(micros(d.created_at))
            .bind(workspace_id.0)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(missing("an event"));
            }
        }
    }
    Ok(())
}
