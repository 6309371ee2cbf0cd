//! Export and import in SQLite: every record of a workspace read in a fixed order, and
//! each exported record stored back exactly as it left (see `crate::portable`).

use super::errors::{conflict, is_unique_violation};
use super::events::insert_event_flagged;
use super::links::insert_link_row;
use super::members::{insert_member_row, insert_token_row};
use super::requests::{insert_request, request_write_error};
use super::rows::{
    link_from_row, micros, request_from_row, time, time_opt, to_json, LINK_COLUMNS, REQUEST_COLUMNS,
};
use super::types::insert_request_type_row;
use super::{files, mail, webhooks};
use crate::{
    DueNotice, ExternalKey, Imported, NewEmail, RecordKind, Result, StoreError, StoredEmail,
};
use docket_domain::email::Template;
use docket_domain::ids::{RequestId, WorkspaceId};
use rusqlite::{params, Connection, Row};

pub(super) fn export_requests(
    c: &Connection,
    ws: WorkspaceId,
    after: Option<RequestId>,
    limit: u32,
) -> Result<Vec<docket_domain::request::Request>> {
    let mut stmt = c.prepare_cached(&format!(
        "select {REQUEST_COLUMNS} from requests where workspace_id = ?1 and id > ?2 order by id limit ?3"
    ))?;
    let rows = stmt.query_map(
        params![
            ws.to_string(),
            after.map(|a| a.to_string()).unwrap_or_default(),
            limit
        ],
        request_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn rows<T>(
    c: &Connection,
    sql: &str,
    ws: WorkspaceId,
    offset: u64,
    limit: u32,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = c.prepare_cached(&format!("{sql} limit ?2 offset ?3"))?;
    let rows = stmt.query_map(params![ws.to_string(), limit, offset], f)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn id<T: std::str::FromStr>(row: &Row<'_>, col: usize) -> rusqlite::Result<T>
where
    T::Err: std::fmt::Display,
{
    super::rows::parsed(row, col, str::parse)
}

pub(super) fn export_records(
    c: &Connection,
    ws: WorkspaceId,
    kind: RecordKind,
    offset: u64,
    limit: u32,
) -> Result<Vec<Imported>> {
    Ok(match kind {
        RecordKind::Passwords => rows(
            c,
            "select id, password_hash from members where workspace_id = ?1 and password_hash is not null order by id",
            ws,
            offset,
            limit,
            |r| {
                Ok(Imported::Password {
                    workspace_id: ws,
                    member_id: id(r, 0)?,
                    hash: r.get(1)?,
                })
            },
        )?,
        RecordKind::Links => rows(
            c,
            &format!("select {LINK_COLUMNS} from request_links where workspace_id = ?1 order by id"),
            ws,
            offset,
            limit,
            |r| Ok(Imported::Link(Box::new(link_from_row(r)?))),
        )?,
        RecordKind::ExternalKeys => rows(
            c,
            "select key_space, key, request_id from request_external_keys where workspace_id = ?1 order by key_space, key",
            ws,
            offset,
            limit,
            |r| {
                Ok(Imported::ExternalKey {
                    workspace_id: ws,
                    key: ExternalKey {
                        space: r.get(0)?,
                        key: r.get(1)?,
                    },
                    request_id: id(r, 2)?,
                })
            },
        )?,
        RecordKind::Notices => rows(
            c,
            "select n.request_id, n.due_at, n.kind, n.created_at from request_notices n
             join requests r on r.id = n.request_id where r.workspace_id = ?1
             order by n.request_id, n.due_at, n.kind",
            ws,
            offset,
            limit,
            |r| {
                Ok(Imported::Notice {
                    workspace_id: ws,
                    notice: DueNotice {
                        request_id: id(r, 0)?,
                        due_at: time(r, 1)?,
                        kind: r.get(2)?,
                        created_at: time(r, 3)?,
                    },
                })
            },
        )?,
        RecordKind::EmailTemplates => rows(
            c,
            "select name, subject, body, updated_at from email_templates where workspace_id = ?1 order by name",
            ws,
            offset,
            limit,
            |r| {
                Ok(Imported::EmailTemplate {
                    workspace_id: ws,
                    template: Template {
                        name: r.get(0)?,
                        subject: r.get(1)?,
                        body: r.get(2)?,
                    },
                    updated_at: time(r, 3)?,
                })
            },
        )?,
        RecordKind::Emails => rows(
            c,
            "select id, request_id, event_id, recipient, subject, body, state, attempts, last_error,
                    next_attempt_at, created_at, sent_at
             from emails where workspace_id = ?1 order by created_at, id",
            ws,
            offset,
            limit,
            |r| {
                Ok(Imported::Email(Box::new(StoredEmail {
                    id: r.get(0)?,
                    email: NewEmail {
                        workspace_id: ws,
                        request_id: id(r, 1)?,
                        event_id: id(r, 2)?,
                        to: r.get(3)?,
                        subject: r.get(4)?,
                        body: r.get(5)?,
                    },
                    state: r.get(6)?,
                    attempts: r.get(7)?,
                    last_error: r.get(8)?,
                    next_attempt_at: time_opt(r, 9)?,
                    created_at: time(r, 10)?,
                    sent_at: time_opt(r, 11)?,
                })))
            },
        )?,
        RecordKind::PendingMail => {
            if offset > 0 {
                return Ok(Vec::new());
            }
            let mut stmt = c.prepare_cached(
                "select id from events where workspace_id = ?1 and mail = 1
                 and seq > (select seq from outbox_cursors where name = 'email') order by id",
            )?;
            let events = stmt
                .query_map([ws.to_string()], |r| id(r, 0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if events.is_empty() {
                Vec::new()
            } else {
                vec![Imported::PendingMail {
                    workspace_id: ws,
                    events,
                }]
            }
        }
        RecordKind::Webhooks => rows(
            c,
            &format!(
                "select {}, cursor_seq from webhooks where workspace_id = ?1 order by id",
                webhooks::WEBHOOK_COLUMNS
            ),
            ws,
            offset,
            limit,
            |r| {
                Ok(Imported::Webhook {
                    webhook: Box::new(webhooks::webhook_from_row(r)?),
                    after_seq: r.get(10)?,
                })
            },
        )?,
        RecordKind::Deliveries => rows(
            c,
            &format!(
                "select {} from webhook_deliveries where workspace_id = ?1 order by id",
                webhooks::DELIVERY_COLUMNS
            ),
            ws,
            offset,
            limit,
            |r| {
                Ok(Imported::Delivery {
                    workspace_id: ws,
                    delivery: Box::new(webhooks::delivery_from_row(r)?),
                })
            },
        )?,
    })
}

fn missing(what: &str) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("the import names {what} it does not hold"))
}

/// Stores one record, inside the writer's transaction.
pub(super) fn import(c: &Connection, record: Imported) -> Result<()> {
    match record {
        Imported::Workspace(w) => {
            c.prepare_cached(
                "insert into workspaces (id, name, slug, created_at) values (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                w.id.to_string(),
                w.name,
                w.slug,
                micros(w.created_at)
            ])
            .map_err(|e| {
                if is_unique_violation(&e) {
                    conflict(
                        "slug_taken",
                        format!("a workspace with slug {} exists", w.slug),
                    )
                } else {
                    e.into()
                }
            })?;
            // The email planner starts before the imported events, so the ones the source
            // had not planned yet (`PendingMail`) are planned here.
            mail::outbox_cursor(c, "email")?;
        }
        Imported::Member(m) => insert_member_row(c, &m)?,
        Imported::Token(t) => insert_token_row(c, &t)?,
        Imported::RequestType(t) => insert_request_type_row(c, &t)?,
        Imported::File(file) => files::insert_file_row(c, &file)?,
        Imported::FilePolicy {
            workspace_id,
            policy,
        } => files::set_file_policy(c, workspace_id, &policy, docket_domain::now())?,
        Imported::Request {
            request,
            events,
            items,
        } => {
            insert_request(c, &request).map_err(request_write_error)?;
            super::items::write_items(c, &items)?;
            for e in events {
                insert_event_flagged(c, e, false)?;
            }
            c.prepare_cached(
                "update workspaces set next_request_number = max(next_request_number, ?1 + 1) where id = ?2",
            )?
            .execute(params![request.number, request.workspace_id.to_string()])?;
        }
        Imported::Password {
            workspace_id,
            member_id,
            hash,
        } => {
            let n = c
                .prepare_cached(
                    "update members set password_hash = ?1 where workspace_id = ?2 and id = ?3",
                )?
                .execute(params![
                    hash,
                    workspace_id.to_string(),
                    member_id.to_string()
                ])?;
            if n == 0 {
                return Err(missing("a member"));
            }
        }
        Imported::Link(link) => {
            insert_link_row(c, &link)?;
        }
        Imported::ExternalKey {
            workspace_id,
            request_id,
            key,
        } => {
            c.prepare_cached(
                "insert into request_external_keys (workspace_id, key_space, key, request_id) values (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                workspace_id.to_string(),
                key.space,
                key.key,
                request_id.to_string()
            ])?;
        }
        Imported::Notice { notice, .. } => {
            c.prepare_cached(
                "insert into request_notices (request_id, due_at, kind, created_at) values (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                notice.request_id.to_string(),
                micros(notice.due_at),
                notice.kind,
                micros(notice.created_at)
            ])?;
        }
        Imported::EmailTemplate {
            workspace_id,
            template,
            updated_at,
        } => mail::set_email_template(c, workspace_id, &template, updated_at)?,
        Imported::Email(e) => {
            c.prepare_cached(
                "insert into emails (id, workspace_id, request_id, event_id, recipient, subject, body, state,
                                     attempts, last_error, next_attempt_at, created_at, sent_at)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                e.id,
                e.email.workspace_id.to_string(),
                e.email.request_id.to_string(),
                e.email.event_id.to_string(),
                e.email.to,
                e.email.subject,
                e.email.body,
                e.state,
                e.attempts,
                e.last_error,
                e.next_attempt_at.map(micros),
                micros(e.created_at),
                e.sent_at.map(micros),
            ])?;
        }
        Imported::PendingMail {
            workspace_id,
            events,
        } => {
            let mut stmt =
                c.prepare_cached("update events set mail = 1 where workspace_id = ?1 and id = ?2")?;
            for e in events {
                if stmt.execute(params![workspace_id.to_string(), e.to_string()])? == 0 {
                    return Err(missing("an event"));
                }
            }
        }
        Imported::Webhook { webhook, .. } => webhooks::insert_webhook(c, &webhook)?,
        Imported::Delivery {
            workspace_id,
            delivery: d,
        } => {
            let n = c
                .prepare_cached(&format!(
                    "insert into webhook_deliveries ({}, workspace_id, event_seq)
                     select ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, seq from events where id = ?3 and workspace_id = ?10",
                    webhooks::DELIVERY_COLUMNS
                ))?
                .execute(params![
                    d.id.to_string(),
                    d.webhook_id.to_string(),
                    d.event_id.to_string(),
                    d.event_type.as_str(),
                    d.request_id.to_string(),
                    d.state.as_str(),
                    to_json(&d.attempts)?,
                    d.next_attempt_at.map(micros),
                    micros(d.created_at),
                    workspace_id.to_string(),
                ])?;
            if n == 0 {
                return Err(missing("an event"));
            }
        }
    }
    Ok(())
}
