//! The portable export format: one JSON object per line, readable by any backend.
//!
//! The lines of one workspace come in dependency order — the workspace, its members and
//! their passwords, its tokens, its request types, its file policy and email templates,
//! each request with its timeline, the events the email planner has not read yet, its file
//! records, public links, external keys, due-date notices sent, emails, then its webhooks
//! and their deliveries — so an import can store each line as it reads it. Secrets travel
//! as the database keeps them: token and password hashes, link tokens, webhook secrets.
//! Not exported: desk sessions (people sign in again), idempotency keys (a retry window of
//! a day) and the server-wide signing key (download links already handed out stop working).
//! What a webhook had not yet turned into deliveries is exported as pending deliveries, and
//! an imported webhook starts after the newest event, so no event is sent twice or lost. Files travel as records
//! only: their bytes stay in the blob store, which is copied on its own (a directory or a
//! bucket). Timestamps are microseconds since the epoch, the
//! precision every backend stores, so a round trip is exact. Backend-private values (an
//! event's `seq`, the workspace's next number) are not exported: the importing backend
//! assigns them, keeping the order and continuing after the highest number.

mod convert;

use crate::{Imported, RecordKind, Store, StoreError};
use docket_domain::event::FieldChange;
use docket_domain::file::{Uploader, Visibility};
use docket_domain::ids::{DeliveryId, WorkspaceId};
use docket_domain::item::{Item, ItemSpec, Submission};
use docket_domain::request::Subject;
use docket_domain::webhook::{Attempt, Delivery, DeliveryState};
use docket_domain::workspace::Workspace;
use docket_domain::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Requests read per page while exporting.
const PAGE: u32 = 200;

/// One line of an export file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    Workspace {
        id: Uuid,
        name: String,
        slug: String,
        created_at: i64,
    },
    Member {
        id: Uuid,
        workspace_id: Uuid,
        email: String,
        name: String,
        role: String,
        created_at: i64,
    },
    Token {
        id: Uuid,
        workspace_id: Uuid,
        member_id: Option<Uuid>,
        name: String,
        /// SHA-256 of the secret, hex; the secret itself is never stored anywhere.
        hash: String,
        scopes: Value,
        expires_at: Option<i64>,
        last_used_at: Option<i64>,
        revoked_at: Option<i64>,
        created_at: i64,
    },
    RequestType {
        id: Uuid,
        workspace_id: Uuid,
        key: String,
        name: String,
        description: String,
        workflow: Value,
        /// The items template (absent when empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        items: Vec<ItemSpec>,
        created_at: i64,
        updated_at: i64,
    },
    FilePolicy {
        workspace_id: Uuid,
        max_bytes: u64,
        allowed_types: Vec<String>,
    },
    Request(Box<RequestLine>),
    File(Box<FileLine>),
    /// A member's desk password: its argon2id hash.
    Password {
        workspace_id: Uuid,
        member_id: Uuid,
        hash: String,
    },
    EmailTemplate {
        workspace_id: Uuid,
        name: String,
        subject: String,
        body: String,
        updated_at: i64,
    },
    /// Events the email planner had not read yet: an import plans them, and no other.
    PendingMail {
        workspace_id: Uuid,
        events: Vec<Uuid>,
    },
    Link {
        id: Uuid,
        workspace_id: Uuid,
        request_id: Uuid,
        /// The token as stored: the link keeps working after the move.
        token: String,
        mode: String,
        expires_at: Option<i64>,
        revoked_at: Option<i64>,
        used_count: i64,
        created_at: i64,
    },
    /// A name a client gave a request (Open Notes' `request_id`).
    ExternalKey {
        workspace_id: Uuid,
        request_id: Uuid,
        key_space: String,
        key: String,
    },
    /// A due-date notice already sent (`overdue` or `reminder:<minutes>`).
    Notice {
        workspace_id: Uuid,
        request_id: Uuid,
        due_at: i64,
        kind: String,
        created_at: i64,
    },
    Email(Box<EmailLine>),
    Webhook(Box<WebhookLine>),
    Delivery(Box<DeliveryLine>),
}

/// An email queued, sent or failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailLine {
    pub id: String,
    pub workspace_id: Uuid,
    pub request_id: Uuid,
    pub event_id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// A webhook with its signing secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookLine {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    pub state: String,
    pub paused_reason: Option<String>,
    pub secret: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One event to send to one webhook, with the attempts made so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryLine {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub request_id: Uuid,
    pub state: String,
    pub attempts: Vec<Attempt>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
}

/// A file record; the bytes are in the blob store under `storage_key`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLine {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub request_id: Option<Uuid>,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub uploaded_by: Uploader,
    pub visibility: Visibility,
    pub storage_key: String,
    pub created_at: i64,
}

/// A request and its whole timeline, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestLine {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub number: i64,
    pub type_id: Uuid,
    pub type_key: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub category: String,
    pub requester_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<i64>,
    pub data: Map<String, Value>,
    pub tags: Vec<String>,
    pub subject: Option<Subject>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub events: Vec<EventLine>,
    /// The request's items in order (absent when it has none); its progress follows from
    /// them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// Every submission to its items, kept after an item is removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub submissions: Vec<Submission>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLine {
    pub id: Uuid,
    pub kind: String,
    pub actor_member_id: Option<Uuid>,
    pub actor_token_id: Option<Uuid>,
    pub at: i64,
    pub changes: Vec<FieldChange>,
    pub comment: Option<String>,
}

fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

fn bad(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("invalid {what} in the import: {e}"))
}

/// The lines of one workspace, in dependency order, passed to `emit` one at a time.
pub async fn export_workspace(
    store: &dyn Store,
    ws: &Workspace,
    mut emit: impl FnMut(Line) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let id = ws.id;
    emit(Line::Workspace {
        id: id.0,
        name: ws.name.clone(),
        slug: ws.slug.clone(),
        created_at: micros(ws.created_at),
    })?;
    for m in store.list_members(id).await? {
        emit(Line::Member {
            id: m.id.0,
            workspace_id: id.0,
            email: m.email.as_str().to_owned(),
            name: m.name,
            role: m.role.as_str().to_owned(),
            created_at: micros(m.created_at),
        })?;
    }
    records(store, id, RecordKind::Passwords, &mut emit).await?;
    for t in store.list_tokens(id, None).await? {
        emit(Line::Token {
            id: t.id.0,
            workspace_id: id.0,
            member_id: t.member_id.map(|m| m.0),
            name: t.name,
            hash: t.hash.0.iter().map(|b| format!("{b:02x}")).collect(),
            scopes: serde_json::to_value(&t.scopes)?,
            expires_at: t.expires_at.map(micros),
            last_used_at: t.last_used_at.map(micros),
            revoked_at: t.revoked_at.map(micros),
            created_at: micros(t.created_at),
        })?;
    }
    for t in store.list_request_types(id).await? {
        emit(Line::RequestType {
            id: t.id.0,
            workspace_id: id.0,
            key: t.key.as_str().to_owned(),
            name: t.name,
            description: t.description,
            workflow: serde_json::to_value(&t.workflow)?,
            items: t.items,
            created_at: micros(t.created_at),
            updated_at: micros(t.updated_at),
        })?;
    }
    if let Some(policy) = store.file_policy(id).await? {
        emit(Line::FilePolicy {
            workspace_id: id.0,
            max_bytes: policy.max_bytes,
            allowed_types: policy.allowed_types,
        })?;
    }
    records(store, id, RecordKind::EmailTemplates, &mut emit).await?;
    let mut after = None;
    loop {
        let page = store.export_requests(id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for r in page {
            let mut events = Vec::new();
            let mut seq = None;
            loop {
                let batch = store.timeline(id, r.id, seq, PAGE).await?;
                let Some(last) = batch.last() else { break };
                seq = Some(last.seq);
                events.extend(batch.into_iter().map(|e| EventLine {
                    id: e.id.0,
                    kind: e.kind.as_str().to_owned(),
                    actor_member_id: e.actor.member_id.map(|m| m.0),
                    actor_token_id: e.actor.token_id.map(|t| t.0),
                    at: micros(e.at),
                    changes: e.changes,
                    comment: e.comment,
                }));
            }
            let items = store.list_items(id, r.id).await?;
            let submissions = store.item_submissions(id, r.id, None).await?;
            emit(Line::Request(Box::new(RequestLine {
                id: r.id.0,
                workspace_id: id.0,
                number: r.number,
                type_id: r.type_id.0,
                type_key: r.type_key.as_str().to_owned(),
                title: r.title,
                description: r.description,
                status: r.status.as_str().to_owned(),
                category: r.category.as_str().to_owned(),
                requester_id: r.requester_id.map(|m| m.0),
                assignee_id: r.assignee_id.map(|m| m.0),
                due_at: r.due_at.map(micros),
                data: r.data,
                tags: r.tags,
                subject: r.subject,
                version: r.version,
                created_at: micros(r.created_at),
                updated_at: micros(r.updated_at),
                deleted_at: r.deleted_at.map(micros),
                events,
                items,
                submissions,
            })))?;
        }
    }
    records(store, id, RecordKind::PendingMail, &mut emit).await?;
    let mut after = None;
    loop {
        let page = store.list_files(id, None, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for f in page {
            emit(Line::File(Box::new(FileLine {
                id: f.id.0,
                workspace_id: id.0,
                request_id: f.request_id.map(|r| r.0),
                name: f.name.as_str().to_owned(),
                content_type: f.content_type,
                size: f.size,
                sha256: f.sha256,
                uploaded_by: f.uploaded_by,
                visibility: f.visibility,
                storage_key: f.storage_key,
                created_at: micros(f.created_at),
            })))?;
        }
    }
    for kind in [
        RecordKind::Links,
        RecordKind::ExternalKeys,
        RecordKind::Notices,
        RecordKind::Emails,
    ] {
        records(store, id, kind, &mut emit).await?;
    }
    webhooks(store, id, &mut emit).await
}

/// Every record of `kind`, page by page.
async fn records(
    store: &dyn Store,
    ws: WorkspaceId,
    kind: RecordKind,
    emit: &mut impl FnMut(Line) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut offset = 0;
    loop {
        let page = store.export_records(ws, kind, offset, PAGE).await?;
        if page.is_empty() {
            return Ok(());
        }
        offset += page.len() as u64;
        for record in page {
            emit(Line::of(record)?)?;
        }
    }
}

/// The webhooks, their deliveries, and a pending delivery for each event a webhook has not
/// turned into deliveries yet (what the outbox step would queue next): an imported webhook
/// starts after the newest event, so this is how those events still reach it.
async fn webhooks(
    store: &dyn Store,
    ws: WorkspaceId,
    emit: &mut impl FnMut(Line) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut hooks = Vec::new();
    let mut offset = 0;
    loop {
        let page = store
            .export_records(ws, RecordKind::Webhooks, offset, PAGE)
            .await?;
        if page.is_empty() {
            break;
        }
        offset += page.len() as u64;
        for record in page {
            if let Imported::Webhook { webhook, after_seq } = &record {
                hooks.push(((**webhook).clone(), *after_seq));
            }
            emit(Line::of(record)?)?;
        }
    }
    records(store, ws, RecordKind::Deliveries, emit).await?;
    let mut planned = Vec::new();
    for (hook, after_seq) in hooks {
        let mut after = after_seq;
        loop {
            let events = store.workspace_events(ws, Some(after), PAGE, None).await?;
            let Some(last) = events.last() else { break };
            after = last.seq;
            planned.extend(
                events
                    .into_iter()
                    .filter(|e| hook.wants(e.kind))
                    .map(|e| Delivery {
                        id: DeliveryId::new(),
                        webhook_id: hook.id,
                        event_id: e.id,
                        event_type: e.kind,
                        request_id: e.request_id,
                        state: DeliveryState::Pending,
                        attempts: Vec::new(),
                        next_attempt_at: Some(e.at),
                        created_at: e.at,
                    }),
            );
        }
    }
    planned.sort_by_key(|d| d.id.0);
    for delivery in planned {
        emit(Line::of(Imported::Delivery {
            workspace_id: ws,
            delivery: Box::new(delivery),
        })?)?;
    }
    Ok(())
}

impl Line {
    /// The record's name, as in the file's `record` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Line::Workspace { .. } => "workspace",
            Line::Member { .. } => "member",
            Line::Token { .. } => "token",
            Line::RequestType { .. } => "request_type",
            Line::FilePolicy { .. } => "file_policy",
            Line::Request(_) => "request",
            Line::File(_) => "file",
            Line::Password { .. } => "password",
            Line::EmailTemplate { .. } => "email_template",
            Line::PendingMail { .. } => "pending_mail",
            Line::Link { .. } => "link",
            Line::ExternalKey { .. } => "external_key",
            Line::Notice { .. } => "notice",
            Line::Email(_) => "email",
            Line::Webhook(_) => "webhook",
            Line::Delivery(_) => "delivery",
        }
    }
}
