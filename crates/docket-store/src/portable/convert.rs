//! Converting between a line of the export format and the record it carries
//! ([`Imported`]): a record read by [`crate::Store::export_records`] becomes its line, and a
//! line read from a file is parsed back into domain values, checked as the API would.

use super::{bad, micros, DeliveryLine, EmailLine, Line, WebhookLine};
use crate::{DueNotice, ExternalKey, Imported, NewEmail, Result, StoredEmail};
use docket_domain::email::Template;
use docket_domain::event::{Actor, Event, EventKind};
use docket_domain::file::{FileId, FileName, FilePolicy, FileRecord};
use docket_domain::from_micros;
use docket_domain::ids::{DeliveryId, EventId, MemberId, RequestId, RequestTypeId, TokenId};
use docket_domain::ids::{WebhookId, WorkspaceId};
use docket_domain::item::{Item, ItemProgress, ItemWrites};
use docket_domain::link::{LinkId, LinkMode, LinkToken, PublicLink};
use docket_domain::member::{Email, Member};
use docket_domain::request::{Request, RequestType, TypeKey};
use docket_domain::token::{Token, TokenHash};
use docket_domain::webhook::{Delivery, DeliveryState, Webhook, WebhookState};
use docket_domain::workflow::{StatusKey, Workflow, WorkflowInput};
use docket_domain::workspace::Workspace;

impl Line {
    /// The line of a record read by [`crate::Store::export_records`].
    pub(super) fn of(record: Imported) -> anyhow::Result<Line> {
        Ok(match record {
            Imported::Password {
                workspace_id,
                member_id,
                hash,
            } => Line::Password {
                workspace_id: workspace_id.0,
                member_id: member_id.0,
                hash,
            },
            Imported::Link(l) => Line::Link {
                id: l.id.0,
                workspace_id: l.workspace_id.0,
                request_id: l.request_id.0,
                token: l.token.as_str().to_owned(),
                mode: l.mode.as_str().to_owned(),
                expires_at: l.expires_at.map(micros),
                revoked_at: l.revoked_at.map(micros),
                used_count: l.used_count,
                created_at: micros(l.created_at),
            },
            Imported::ExternalKey {
                workspace_id,
                request_id,
                key,
            } => Line::ExternalKey {
                workspace_id: workspace_id.0,
                request_id: request_id.0,
                key_space: key.space,
                key: key.key,
            },
            Imported::Notice {
                workspace_id,
                notice,
            } => Line::Notice {
                workspace_id: workspace_id.0,
                request_id: notice.request_id.0,
                due_at: micros(notice.due_at),
                kind: notice.kind,
                created_at: micros(notice.created_at),
            },
            Imported::EmailTemplate {
                workspace_id,
                template,
                updated_at,
            } => Line::EmailTemplate {
                workspace_id: workspace_id.0,
                name: template.name,
                subject: template.subject,
                body: template.body,
                updated_at: micros(updated_at),
            },
            Imported::Email(e) => Line::Email(Box::new(EmailLine {
                id: e.id,
                workspace_id: e.email.workspace_id.0,
                request_id: e.email.request_id.0,
                event_id: e.email.event_id.0,
                recipient: e.email.to,
                subject: e.email.subject,
                body: e.email.body,
                state: e.state,
                attempts: e.attempts,
                last_error: e.last_error,
                next_attempt_at: e.next_attempt_at.map(micros),
                created_at: micros(e.created_at),
                sent_at: e.sent_at.map(micros),
            })),
            Imported::PendingMail {
                workspace_id,
                events,
            } => Line::PendingMail {
                workspace_id: workspace_id.0,
                events: events.into_iter().map(|e| e.0).collect(),
            },
            Imported::Webhook { webhook: w, .. } => Line::Webhook(Box::new(WebhookLine {
                id: w.id.0,
                workspace_id: w.workspace_id.0,
                url: w.url,
                event_types: w
                    .event_types
                    .iter()
                    .map(|k| k.as_str().to_owned())
                    .collect(),
                description: w.description,
                state: w.state.as_str().to_owned(),
                paused_reason: w.paused_reason,
                secret: w.secret,
                created_at: micros(w.created_at),
                updated_at: micros(w.updated_at),
            })),
            Imported::Delivery {
                workspace_id,
                delivery: d,
            } => Line::Delivery(Box::new(DeliveryLine {
                id: d.id.0,
                workspace_id: workspace_id.0,
                webhook_id: d.webhook_id.0,
                event_id: d.event_id.0,
                event_type: d.event_type.as_str().to_owned(),
                request_id: d.request_id.0,
                state: d.state.as_str().to_owned(),
                attempts: d.attempts,
                next_attempt_at: d.next_attempt_at.map(micros),
                created_at: micros(d.created_at),
            })),
            other => anyhow::bail!("not a record export_records reads: {other:?}"),
        })
    }

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
                items,
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
                    items,
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
            Line::Password {
                workspace_id,
                member_id,
                hash,
            } => Imported::Password {
                workspace_id: WorkspaceId(workspace_id),
                member_id: MemberId(member_id),
                hash,
            },
            Line::EmailTemplate {
                workspace_id,
                name,
                subject,
                body,
                updated_at,
            } => Imported::EmailTemplate {
                workspace_id: WorkspaceId(workspace_id),
                template: Template {
                    name,
                    subject,
                    body,
                },
                updated_at: from_micros(updated_at),
            },
            Line::PendingMail {
                workspace_id,
                events,
            } => Imported::PendingMail {
                workspace_id: WorkspaceId(workspace_id),
                events: events.into_iter().map(EventId).collect(),
            },
            Line::Link {
                id,
                workspace_id,
                request_id,
                token,
                mode,
                expires_at,
                revoked_at,
                used_count,
                created_at,
            } => Imported::Link(Box::new(PublicLink {
                id: LinkId(id),
                workspace_id: WorkspaceId(workspace_id),
                request_id: RequestId(request_id),
                token: LinkToken::parse(&token).ok_or_else(|| bad("link token", "malformed"))?,
                mode: LinkMode::parse(&mode).ok_or_else(|| bad("link mode", &mode))?,
                expires_at: expires_at.map(from_micros),
                revoked_at: revoked_at.map(from_micros),
                used_count,
                created_at: from_micros(created_at),
            })),
            Line::ExternalKey {
                workspace_id,
                request_id,
                key_space,
                key,
            } => Imported::ExternalKey {
                workspace_id: WorkspaceId(workspace_id),
                request_id: RequestId(request_id),
                key: ExternalKey {
                    space: key_space,
                    key,
                },
            },
            Line::Notice {
                workspace_id,
                request_id,
                due_at,
                kind,
                created_at,
            } => Imported::Notice {
                workspace_id: WorkspaceId(workspace_id),
                notice: DueNotice {
                    request_id: RequestId(request_id),
                    due_at: from_micros(due_at),
                    kind,
                    created_at: from_micros(created_at),
                },
            },
            Line::Email(e) => {
                let e = *e;
                if !matches!(e.state.as_str(), "pending" | "sent" | "failed") {
                    return Err(bad("email state", &e.state));
                }
                Imported::Email(Box::new(StoredEmail {
                    id: e.id,
                    email: NewEmail {
                        workspace_id: WorkspaceId(e.workspace_id),
                        request_id: RequestId(e.request_id),
                        event_id: EventId(e.event_id),
                        to: e.recipient,
                        subject: e.subject,
                        body: e.body,
                    },
                    state: e.state,
                    attempts: e.attempts,
                    last_error: e.last_error,
                    next_attempt_at: e.next_attempt_at.map(from_micros),
                    created_at: from_micros(e.created_at),
                    sent_at: e.sent_at.map(from_micros),
                }))
            }
            Line::Webhook(w) => {
                let w = *w;
                Imported::Webhook {
                    webhook: Box::new(Webhook {
                        id: WebhookId(w.id),
                        workspace_id: WorkspaceId(w.workspace_id),
                        url: w.url,
                        event_types: w
                            .event_types
                            .iter()
                            .map(|k| EventKind::parse(k).ok_or_else(|| bad("event type", k)))
                            .collect::<Result<_>>()?,
                        description: w.description,
                        state: WebhookState::parse(&w.state)
                            .ok_or_else(|| bad("webhook state", &w.state))?,
                        paused_reason: w.paused_reason,
                        secret: w.secret,
                        created_at: from_micros(w.created_at),
                        updated_at: from_micros(w.updated_at),
                    }),
                    after_seq: 0,
                }
            }
            Line::Delivery(d) => {
                let d = *d;
                Imported::Delivery {
                    workspace_id: WorkspaceId(d.workspace_id),
                    delivery: Box::new(Delivery {
                        id: DeliveryId(d.id),
                        webhook_id: WebhookId(d.webhook_id),
                        event_id: EventId(d.event_id),
                        event_type: EventKind::parse(&d.event_type)
                            .ok_or_else(|| bad("event type", &d.event_type))?,
                        request_id: RequestId(d.request_id),
                        state: DeliveryState::parse(&d.state)
                            .ok_or_else(|| bad("delivery state", &d.state))?,
                        attempts: d.attempts,
                        next_attempt_at: d.next_attempt_at.map(from_micros),
                        created_at: from_micros(d.created_at),
                    }),
                }
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
                let items: Vec<Item> = r
                    .items
                    .into_iter()
                    .map(|mut i| {
                        i.workspace_id = ws;
                        i
                    })
                    .collect();
                let submissions = r
                    .submissions
                    .into_iter()
                    .map(|mut s| {
                        s.workspace_id = ws;
                        s
                    })
                    .collect();
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
                        items: ItemProgress::of(&items),
                        version: r.version,
                        created_at: from_micros(r.created_at),
                        updated_at: from_micros(r.updated_at),
                        deleted_at: r.deleted_at.map(from_micros),
                    }),
                    events,
                    items: ItemWrites {
                        upsert: items,
                        remove: Vec::new(),
                        submissions,
                    },
                }
            }
        })
    }
}
