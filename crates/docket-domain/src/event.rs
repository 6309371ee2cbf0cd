//! Timeline events: who changed what on a request, and when.

use crate::ids::{EventId, MemberId, RequestId, TokenId, WorkspaceId};
use crate::request::Request;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What kind of change an event records.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum EventKind {
    #[serde(rename = "request.created")]
    Created,
    #[serde(rename = "request.updated")]
    Updated,
    #[serde(rename = "request.deleted")]
    Deleted,
    #[serde(rename = "request.commented")]
    Commented,
    /// The due time passed with the request unfinished (once per due time).
    #[serde(rename = "request.overdue")]
    Overdue,
    /// The due time is near, at one of the workflow's reminder lead times.
    #[serde(rename = "request.reminder")]
    Reminder,
    /// An email about the request could not be delivered (its address was refused, or
    /// every attempt failed).
    #[serde(rename = "email.failed")]
    EmailFailed,
    /// A message to the request's contact was queued (delivery comes with the events
    /// feature); the change names the template and the recipient.
    #[serde(rename = "message.queued")]
    MessageQueued,
    /// An item was added to the request (`item`: the item).
    #[serde(rename = "item.added")]
    ItemAdded,
    /// An item's definition or place changed.
    #[serde(rename = "item.updated")]
    ItemUpdated,
    #[serde(rename = "item.removed")]
    ItemRemoved,
    /// An answer or files arrived (`submission`: what was sent).
    #[serde(rename = "item.submitted")]
    ItemSubmitted,
    #[serde(rename = "item.approved")]
    ItemApproved,
    /// A reviewer rejected the item, with a reason the recipient sees.
    #[serde(rename = "item.rejected")]
    ItemRejected,
    /// A decided item is back to be reviewed again.
    #[serde(rename = "item.reopened")]
    ItemReopened,
    /// The rejected items went back to the recipient (`items`: which, with the reasons).
    #[serde(rename = "request.sent_back")]
    SentBack,
    /// The contact was reminded (`reminder`: which rule, to whom).
    #[serde(rename = "reminder.sent")]
    ReminderSent,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "request.created",
            EventKind::Updated => "request.updated",
            EventKind::Deleted => "request.deleted",
            EventKind::Commented => "request.commented",
            EventKind::Overdue => "request.overdue",
            EventKind::Reminder => "request.reminder",
            EventKind::EmailFailed => "email.failed",
            EventKind::MessageQueued => "message.queued",
            EventKind::ItemAdded => "item.added",
            EventKind::ItemUpdated => "item.updated",
            EventKind::ItemRemoved => "item.removed",
            EventKind::ItemSubmitted => "item.submitted",
            EventKind::ItemApproved => "item.approved",
            EventKind::ItemRejected => "item.rejected",
            EventKind::ItemReopened => "item.reopened",
            EventKind::SentBack => "request.sent_back",
            EventKind::ReminderSent => "reminder.sent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EventKind::Created,
            EventKind::Updated,
            EventKind::Deleted,
            EventKind::Commented,
            EventKind::Overdue,
            EventKind::Reminder,
            EventKind::EmailFailed,
            EventKind::MessageQueued,
            EventKind::ItemAdded,
            EventKind::ItemUpdated,
            EventKind::ItemRemoved,
            EventKind::ItemSubmitted,
            EventKind::ItemApproved,
            EventKind::ItemRejected,
            EventKind::ItemReopened,
            EventKind::SentBack,
            EventKind::ReminderSent,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Who acted: a member through a token, a system token, or (for public links, later) nobody.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    pub member_id: Option<MemberId>,
    pub token_id: Option<TokenId>,
}

/// Who sees a comment: `internal` (the default) only staff; `public` also the person
/// asked, on the portal and by email.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommentVisibility {
    #[default]
    Internal,
    Public,
}

impl Event {
    /// Whether this comment came from the person asked, through a public link.
    pub fn is_from_recipient(&self) -> bool {
        self.kind == EventKind::Commented && self.changes.iter().any(|c| c.field == "link")
    }

    /// Who sees this comment: the recipient's own messages and comments staff made
    /// public are `public`; every other comment is `internal`.
    pub fn comment_visibility(&self) -> CommentVisibility {
        let public = self.is_from_recipient()
            || self
                .changes
                .iter()
                .any(|c| c.field == "visibility" && c.new == "public");
        if public {
            CommentVisibility::Public
        } else {
            CommentVisibility::Internal
        }
    }
}

/// One field's change, old value to new.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    /// Any JSON value (`null` when the field was not set).
    pub old: Value,
    /// Any JSON value (`null` when the field was cleared).
    pub new: Value,
}

impl FieldChange {
    pub fn new<O: Serialize + ?Sized, N: Serialize + ?Sized>(
        field: &str,
        old: &O,
        new: &N,
    ) -> Self {
        Self {
            field: field.to_owned(),
            old: serde_json::to_value(old).unwrap_or(Value::Null),
            new: serde_json::to_value(new).unwrap_or(Value::Null),
        }
    }

    /// The fields a new request was created with, each from `null`.
    pub fn initial(r: &Request) -> Vec<Self> {
        let mut out = vec![
            Self::new("title", &Value::Null, &r.title),
            Self::new("status", &Value::Null, &r.status),
        ];
        if !r.description.is_empty() {
            out.push(Self::new("description", &Value::Null, &r.description));
        }
        if r.assignee_id.is_some() {
            out.push(Self::new("assignee_id", &Value::Null, &r.assignee_id));
        }
        if r.due_at.is_some() {
            out.push(Self::new("due_at", &Value::Null, &r.due_at));
        }
        if !r.data.is_empty() {
            out.push(Self::new("data", &Value::Null, &r.data));
        }
        if !r.tags.is_empty() {
            out.push(Self::new("tags", &Value::Null, &r.tags));
        }
        if r.subject.is_some() {
            out.push(Self::new("subject", &Value::Null, &r.subject));
        }
        out
    }
}

/// A timeline event. `seq` orders events within a backend and is assigned when stored.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: EventId,
    #[serde(skip)]
    pub seq: i64,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    pub request_id: RequestId,
    pub kind: EventKind,
    pub actor: Actor,
    pub at: DateTime<Utc>,
    pub changes: Vec<FieldChange>,
    /// The body of a comment event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}
