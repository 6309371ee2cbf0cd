//! The portable export format: one JSON object per line, readable by any backend.
//!
//! The lines of one workspace come in dependency order — the workspace, its members, its
//! tokens, its request types, its file policy, each request with its timeline, then its
//! file records — so an import can store each line as it reads it. Files travel as records
//! only: their bytes stay in the blob store, which is copied on its own (a directory or a
//! bucket). Timestamps are microseconds since the epoch, the
//! precision every backend stores, so a round trip is exact. Backend-private values (an
//! event's `seq`, the workspace's next number) are not exported: the importing backend
//! assigns them, keeping the order and continuing after the highest number.

use crate::{Imported, Result, Store, StoreError};
use docket_domain::event::{Actor, Event, EventKind, FieldChange};
use docket_domain::file::{FileId, FileName, FilePolicy, FileRecord, Uploader, Visibility};
use docket_domain::ids::{EventId, MemberId, RequestId, RequestTypeId, TokenId, WorkspaceId};
use docket_domain::member::{Email, Member};
use docket_domain::request::{Request, RequestType, Subject, TypeKey};
use docket_domain::token::{Token, TokenHash};
use docket_domain::workflow::{StatusKey, Workflow, WorkflowInput};
use docket_domain::workspace::Workspace;
use docket_domain::{from_micros, Timestamp};
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
            })))?;
        }
    }
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
    Ok(())
}

impl Line {
    /// Parses the line into domain values, checking each as the API would.
    pub fn into_imported(self) -> Result<Imported> {
        Ok(match self {
            Line::Workspace {
                id,
                name,
                slug,
                created_at,
            } => Imported::Workspace(Workspace {
                id: WorkspaceId(id),
                name,
                slug,
                created_at: from_micros(created_at),
            }),
            Line::Member {
                id,
                workspace_id,
                email,
                name,
                role,
                created_at,
            } => Imported::Member(Member {
                id: MemberId(id),
                workspace_id: WorkspaceId(workspace_id),
                email: Email::parse(&email).map_err(|e| bad("email", e.message))?,
                name,
                role: role.parse().map_err(|e| bad("role", e))?,
                created_at: from_micros(created_at),
            }),
            Line::Token {
                id,
                workspace_id,
                member_id,
                name,
                hash,
                scopes,
                expires_at,
                last_used_at,
                revoked_at,
                created_at,
            } => {
                let bytes: Vec<u8> = (0..hash.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(hash.get(i..i + 2).unwrap_or("x"), 16))
                    .collect::<Result<_, _>>()
                    .map_err(|e| bad("token hash", e))?;
                Imported::Token(Token {
                    id: TokenId(id),
                    workspace_id: WorkspaceId(workspace_id),
                    member_id: member_id.map(MemberId),
                    name,
                    scopes: serde_json::from_value(scopes).map_err(|e| bad("scopes", e))?,
                    expires_at: expires_at.map(from_micros),
                    last_used_at: last_used_at.map(from_micros),
                    revoked_at: revoked_at.map(from_micros),
                    created_at: from_micros(created_at),
                    hash: TokenHash(
                        bytes
                            .try_into()
                            .map_err(|_| bad("token hash", "not 32 bytes"))?,
                    ),
                })
            }
            Line::RequestType {
                id,
                workspace_id,
                key,
                name,
                description,
                workflow,
                created_at,
                updated_at,
            } => {
                let input: WorkflowInput =
                    serde_json::from_value(workflow).map_err(|e| bad("workflow", e))?;
                Imported::RequestType(RequestType {
                    id: RequestTypeId(id),
                    workspace_id: WorkspaceId(workspace_id),
                    key: TypeKey::parse(&key).map_err(|e| bad("type key", e))?,
                    name,
                    description,
                    workflow: Workflow::new(input)
                        .map_err(|e| bad("workflow", format!("{e:?}")))?,
                    created_at: from_micros(created_at),
                    updated_at: from_micros(updated_at),
                })
            }
            Line::FilePolicy {
                workspace_id,
                max_bytes,
                allowed_types,
            } => Imported::FilePolicy {
                workspace_id: WorkspaceId(workspace_id),
                policy: FilePolicy::new(max_bytes, allowed_types)
                    .map_err(|e| bad("file policy", e))?,
            },
            Line::File(f) => {
                let f = *f;
                let name = FileName::sanitize(&f.name);
                if name.as_str() != f.name {
                    return Err(bad("file name", &f.name));
                }
                Imported::File(Box::new(FileRecord {
                    id: FileId(f.id),
                    workspace_id: WorkspaceId(f.workspace_id),
                    request_id: f.request_id.map(RequestId),
                    name,
                    content_type: f.content_type,
                    size: f.size,
                    sha256: f.sha256,
                    uploaded_by: f.uploaded_by,
                    visibility: f.visibility,
                    storage_key: f.storage_key,
                    created_at: from_micros(f.created_at),
                }))
            }
            Line::Request(r) => {
                let r = *r;
                let ws = WorkspaceId(r.workspace_id);
                let request_id = RequestId(r.id);
                let events = r
                    .events
                    .into_iter()
                    .map(|e| {
                        Ok(Event {
                            id: EventId(e.id),
                            seq: 0,
                            workspace_id: ws,
                            request_id,
                            kind: EventKind::parse(&e.kind)
                                .ok_or_else(|| bad("event kind", &e.kind))?,
                            actor: Actor {
                                member_id: e.actor_member_id.map(MemberId),
                                token_id: e.actor_token_id.map(TokenId),
                            },
                            at: from_micros(e.at),
                            changes: e.changes,
                            comment: e.comment,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Imported::Request {
                    request: Box::new(Request {
                        id: request_id,
                        workspace_id: ws,
                        number: r.number,
                        type_key: TypeKey::parse(&r.type_key).map_err(|e| bad("type key", e))?,
                        type_id: RequestTypeId(r.type_id),
                        title: r.title,
                        description: r.description,
                        status: StatusKey::parse(&r.status).map_err(|e| bad("status", e))?,
                        category: r.category.parse().map_err(|e| bad("category", e))?,
                        requester_id: r.requester_id.map(MemberId),
                        assignee_id: r.assignee_id.map(MemberId),
                        due_at: r.due_at.map(from_micros),
                        data: r.data,
                        tags: r.tags,
                        subject: r.subject,
                        version: r.version,
                        created_at: from_micros(r.created_at),
                        updated_at: from_micros(r.updated_at),
                        deleted_at: r.deleted_at.map(from_micros),
                    }),
                    events,
                }
            }
        })
    }
}
