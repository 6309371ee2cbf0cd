//! Requests and the functions that plan every change to one.
//!
//! A change is planned here, from the request as it is now, and applied by the storage
//! layer inside one transaction: the backend reads the current row, calls a `plan_*`
//! function, then writes the new row (checking its version) and the event together. The
//! rules therefore live in one place, and every backend enforces them atomically.

use crate::access::{Principal, Scope};
use crate::error::{DomainError, FieldError};
use crate::event::{Actor, Event, EventKind, FieldChange};
use crate::ids::{EventId, MemberId, RequestId, RequestTypeId, WorkspaceId};
use crate::item::{ItemProgress, ItemSpec, ItemWrites};
use crate::workflow::{Category, Relation, StatusKey, Workflow};
use crate::Timestamp;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Limits that keep one request small enough to list, index and send in a webhook.
pub mod limits {
    pub const TITLE_CHARS: usize = 300;
    pub const DESCRIPTION_CHARS: usize = 20_000;
    pub const DATA_BYTES: usize = 16 * 1024;
    pub const DATA_DEPTH: usize = 8;
    pub const TAGS: usize = 20;
    pub const TAG_CHARS: usize = 50;
    pub const COMMENT_CHARS: usize = 20_000;
}

/// A request type's key, e.g. `general` or `photo_request`: lowercase letters, digits,
/// `_` and `-`, 1–40 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "general")]
pub struct TypeKey(String);

impl TypeKey {
    pub const GENERAL: &'static str = "general";

    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 40
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "{s:?} is not a valid type key (1-40 of a-z, 0-9, _ and -)"
            ))
        }
    }

    pub fn general() -> Self {
        Self(Self::GENERAL.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TypeKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        TypeKey::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A kind of request and the workflow it follows.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RequestType {
    pub id: RequestTypeId,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    pub key: TypeKey,
    pub name: String,
    pub description: String,
    pub workflow: Workflow,
    /// What a request of this type asks for, item by item: the template each new request
    /// copies (see [`crate::item`]).
    pub items: Vec<ItemSpec>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change to a request type; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct RequestTypeChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub workflow: Option<Workflow>,
    /// Replaces the items template (requests already filed keep their items).
    pub items: Option<Vec<ItemSpec>>,
}

/// A request type after a change, and what the store must check and do with it in the
/// same transaction.
#[derive(Clone, Debug)]
pub struct TypeUpdate {
    pub next: RequestType,
    /// Statuses of the old workflow the new one drops: no request may be in one
    /// ([`statuses_in_use`] otherwise).
    pub dropped: Vec<StatusKey>,
    /// Whether the workflow was replaced: then each request's category follows its
    /// status's category in the new workflow (a status may keep its key and change
    /// category).
    pub recategorise: bool,
}

impl RequestTypeChange {
    pub fn apply(self, current: RequestType, at: Timestamp) -> TypeUpdate {
        let mut next = current;
        if let Some(name) = self.name {
            next.name = name;
        }
        if let Some(description) = self.description {
            next.description = description;
        }
        if let Some(items) = self.items {
            next.items = items;
        }
        let mut dropped = Vec::new();
        let recategorise = self.workflow.is_some();
        if let Some(workflow) = self.workflow {
            dropped = next
                .workflow
                .statuses()
                .iter()
                .filter(|old| !workflow.statuses().iter().any(|s| s.key == old.key))
                .map(|old| old.key.clone())
                .collect();
            next.workflow = workflow;
        }
        next.updated_at = at;
        TypeUpdate {
            next,
            dropped,
            recategorise,
        }
    }
}

/// The refusal when requests are still in statuses a new workflow drops.
pub fn statuses_in_use(in_use: &[StatusKey]) -> DomainError {
    let keys: Vec<&str> = in_use.iter().map(StatusKey::as_str).collect();
    DomainError::Conflict {
        code: "status_in_use",
        message: format!(
            "requests are still in status {}; move them first",
            keys.join(", ")
        ),
    }
}

impl RequestType {
    /// The `general` type every new workspace starts with.
    pub fn general(workspace_id: WorkspaceId, now: Timestamp) -> Self {
        Self::builtin(
            workspace_id,
            TypeKey::GENERAL,
            "General",
            "A general-purpose request.",
            Workflow::general(),
            now,
        )
    }

    /// A type Docket defines for a workspace (the Collect campaign, Gipper's content
    /// requests), created the first time it is needed.
    pub fn builtin(
        workspace_id: WorkspaceId,
        key: &str,
        name: &str,
        description: &str,
        workflow: Workflow,
        now: Timestamp,
    ) -> Self {
        Self {
            id: RequestTypeId::new(),
            workspace_id,
            key: TypeKey(key.to_owned()),
            name: name.to_owned(),
            description: description.to_owned(),
            workflow,
            items: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// The thing a request is about, e.g. `{kind: "post", id: "cc5lnd2s1s4652adtu50"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub kind: String,
    pub id: String,
}

/// A request: something asked of someone, tracked until it is done.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Request {
    pub id: RequestId,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    /// Sequential per workspace, for people ("#42").
    pub number: i64,
    #[serde(rename = "type")]
    pub type_key: TypeKey,
    #[serde(skip)]
    pub type_id: RequestTypeId,
    pub title: String,
    pub description: String,
    pub status: StatusKey,
    pub category: Category,
    pub requester_id: Option<MemberId>,
    pub assignee_id: Option<MemberId>,
    #[serde(serialize_with = "crate::json_time::serialize_opt")]
    pub due_at: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    pub tags: Vec<String>,
    pub subject: Option<Subject>,
    /// The requested items in numbers (all zero when the request asks for none).
    pub items: ItemProgress,
    /// Bumped by every change; the `ETag` is derived from it.
    pub version: i64,
    #[serde(serialize_with = "crate::json_time::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::json_time::serialize")]
    pub updated_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::json_time::serialize_opt")]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Request {
    /// Whether `member` filed this request or is assigned to it: the people a type whose
    /// visibility is `own` shows it to.
    pub fn concerns(&self, member: Option<MemberId>) -> bool {
        member.is_some_and(|me| self.requester_id == Some(me) || self.assignee_id == Some(me))
    }

    /// The strong entity tag of this version of the request.
    pub fn etag(&self) -> String {
        format!("\"{}-{}\"", self.id.0.simple(), self.version)
    }

    /// Overdue: due in the past and not finished.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        !self.category.is_finished() && self.due_at.is_some_and(|d| d < now)
    }
}

/// "Leave it", "clear it" or "set it to this", for optional fields in a partial update.
/// Deserialises from an absent field, `null` or a value (use with `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Patch::Clear, Patch::Set))
    }
}

impl<T> Patch<T> {
    fn apply_to(self, current: &Option<T>) -> Option<Option<T>>
    where
        T: Clone + PartialEq,
    {
        match self {
            Patch::Keep => None,
            Patch::Clear if current.is_none() => None,
            Patch::Clear => Some(None),
            Patch::Set(v) if current.as_ref() == Some(&v) => None,
            Patch::Set(v) => Some(Some(v)),
        }
    }
}

/// What a caller asks for when filing a request.
#[derive(Clone, Debug, Default)]
pub struct NewRequest {
    pub title: String,
    pub description: Option<String>,
    pub assignee_id: Option<MemberId>,
    pub due_at: Option<DateTime<Utc>>,
    pub data: Option<Map<String, Value>>,
    pub tags: Option<Vec<String>>,
    pub subject: Option<Subject>,
    /// The keys of the type's template items this request asks for; `None` for all of
    /// them (see [`crate::item::from_template`]).
    pub items: Option<Vec<String>>,
}

/// A partial update; every field left as it is unless named.
#[derive(Clone, Debug, Default)]
pub struct RequestPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<StatusKey>,
    pub assignee_id: Patch<MemberId>,
    pub due_at: Patch<Timestamp>,
    /// Merged into `data` the JSON Merge Patch way: a key set to `null` is removed.
    pub data: Option<Map<String, Value>>,
    pub tags: Option<Vec<String>>,
    pub subject: Patch<Subject>,
}

/// A planned change: the request as it will be and the event that records it.
#[derive(Clone, Debug)]
pub struct Planned {
    pub request: Request,
    pub event: Event,
    /// Events that follow from the change, written after `event` in the same transaction
    /// (e.g. `message.queued` for the message a status change sends). Usually empty.
    pub follow_ups: Vec<Event>,
    /// The requested items the change writes (see [`crate::item::plan_items`]).
    pub items: ItemWrites,
}

fn actor(p: &Principal) -> Actor {
    Actor {
        member_id: p.member_id(),
        token_id: p.token_id,
    }
}

fn event(
    p: &Principal,
    r: &Request,
    kind: EventKind,
    changes: Vec<FieldChange>,
    now: Timestamp,
) -> Event {
    Event {
        id: EventId::new(),
        seq: 0,
        workspace_id: r.workspace_id,
        request_id: r.id,
        kind,
        actor: actor(p),
        at: now,
        changes,
        comment: None,
    }
}

/// Plans a new request of type `rtype`, numbered `number` (the storage layer allocates it),
/// with its type's template items (or the subset `input.items` names).
pub fn plan_create(
    p: &Principal,
    rtype: &RequestType,
    input: NewRequest,
    number: i64,
    now: Timestamp,
) -> Result<Planned, DomainError> {
    p.require(Scope::RequestsWrite)?;
    let mut errors = Vec::new();
    let title = collect(&mut errors, validate_title(&input.title));
    let description = collect(
        &mut errors,
        validate_description(input.description.as_deref().unwrap_or("")),
    );
    let data = collect(&mut errors, validate_data(input.data.unwrap_or_default()));
    let tags = collect(&mut errors, validate_tags(input.tags.unwrap_or_default()));
    let subject = match input.subject {
        Some(s) => collect(&mut errors, validate_subject(s)).map(Some),
        None => Some(None),
    };
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    if let Some(assignee) = input.assignee_id {
        if Some(assignee) != p.member_id() {
            p.require(Scope::RequestsManage)?;
        }
    }
    let initial = rtype.workflow.initial();
    let request = Request {
        id: RequestId::new(),
        workspace_id: rtype.workspace_id,
        number,
        type_key: rtype.key.clone(),
        type_id: rtype.id,
        title: title.unwrap_or_default(),
        description: description.unwrap_or_default(),
        status: initial.key.clone(),
        category: initial.category,
        requester_id: p.member_id(),
        assignee_id: input.assignee_id,
        due_at: input.due_at,
        data: data.unwrap_or_default(),
        tags: tags.unwrap_or_default(),
        subject: subject.flatten(),
        items: ItemProgress::default(),
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    let changes = FieldChange::initial(&request);
    let event = event(p, &request, EventKind::Created, changes, now);
    let mut planned = Planned {
        request,
        event,
        follow_ups: Vec::new(),
        items: ItemWrites::default(),
    };
    crate::item::attach_template(&mut planned, rtype, input.items.as_deref(), now)?;
    Ok(planned)
}

/// Refuses, as not found, a request `p` may not see (its type's visibility is `own` and
/// `p` neither filed it, nor is assigned to it, nor manages requests).
pub fn check_visible(
    p: &Principal,
    current: &Request,
    workflow: &Workflow,
) -> Result<(), DomainError> {
    if workflow.visible_to(p, current) {
        Ok(())
    } else {
        Err(DomainError::NotFound("request"))
    }
}

/// Plans a partial update. `Ok(None)` when the patch changes nothing (no event, no new
/// version). `expected_version` comes from `If-Match`.
pub fn plan_update(
    p: &Principal,
    current: &Request,
    workflow: &Workflow,
    patch: RequestPatch,
    expected_version: Option<i64>,
    now: Timestamp,
) -> Result<Option<Planned>, DomainError> {
    check_visible(p, current, workflow)?;
    check_live(current, expected_version)?;
    p.require(Scope::RequestsWrite)?;
    let me = p.member_id();
    let is_requester = me.is_some() && current.requester_id == me;
    let is_assignee = me.is_some() && current.assignee_id == me;
    let may_edit = p.has(Scope::RequestsManage) || is_requester || is_assignee;

    let mut errors = Vec::new();
    let mut next = current.clone();
    let mut changes = Vec::new();
    let mut content_changed = false;

    if let Some(title) = patch.title {
        if let Some(title) = collect(&mut errors, validate_title(&title)) {
            if title != current.title {
                changes.push(FieldChange::new("title", &current.title, &title));
                next.title = title;
                content_changed = true;
            }
        }
    }
    if let Some(description) = patch.description {
        if let Some(description) = collect(&mut errors, validate_description(&description)) {
            if description != current.description {
                changes.push(FieldChange::new(
                    "description",
                    &current.description,
                    &description,
                ));
                next.description = description;
                content_changed = true;
            }
        }
    }
    if let Some(merge) = patch.data {
        let mut data = current.data.clone();
        for (k, v) in merge {
            if v.is_null() {
                data.remove(&k);
            } else {
                data.insert(k, v);
            }
        }
        if let Some(data) = collect(&mut errors, validate_data(data)) {
            if data != current.data {
                changes.push(FieldChange::new("data", &current.data, &data));
                next.data = data;
                content_changed = true;
            }
        }
    }
    if let Some(tags) = patch.tags {
        if let Some(tags) = collect(&mut errors, validate_tags(tags)) {
            if tags != current.tags {
                changes.push(FieldChange::new("tags", &current.tags, &tags));
                next.tags = tags;
                content_changed = true;
            }
        }
    }
    let subject = match patch.subject {
        Patch::Set(s) => collect(&mut errors, validate_subject(s)).map_or(Patch::Keep, Patch::Set),
        other => other,
    };
    if let Some(subject) = subject.apply_to(&current.subject) {
        changes.push(FieldChange::new("subject", &current.subject, &subject));
        next.subject = subject;
        content_changed = true;
    }
    if let Some(due) = patch.due_at.apply_to(&current.due_at) {
        changes.push(FieldChange::new("due_at", &current.due_at, &due));
        next.due_at = due;
        content_changed = true;
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    if content_changed && !may_edit {
        p.require(Scope::RequestsManage).map_err(|e| match e {
            DomainError::MissingScope(_) => e,
            _ => DomainError::Forbidden("only the requester, the assignee or callers with requests:manage may edit this request".into()),
        })?;
    }

    // The move is judged before the assignment so that a transition which makes its
    // taker the assignee can do so; its refusal is reported after the assignment's, as
    // the status change is applied after it.
    let relation = Relation {
        principal: Some(p),
        is_requester,
        is_assignee,
        is_recipient: false,
    };
    let judged = patch
        .status
        .filter(|to| *to != current.status)
        .map(|to| (workflow.judge(&current.status, &to, &relation), to));
    let claims = me.is_some()
        && matches!(patch.assignee_id, Patch::Keep)
        && matches!(&judged, Some((Ok(d), _)) if d.assigns_actor);
    let assignee_patch = if claims {
        me.map_or(Patch::Keep, Patch::Set)
    } else {
        patch.assignee_id
    };
    if let Some(assignee) = assignee_patch.apply_to(&current.assignee_id) {
        // The requester may take their own unassigned request, and anyone who may write
        // requests may take an unassigned one of a claimable type; an assignee may let go
        // of theirs; a transition may make its taker the assignee; any other assignment
        // is management.
        let taking = assignee.is_some()
            && assignee == me
            && current.assignee_id.is_none()
            && (is_requester || workflow.claimable());
        let releasing = assignee.is_none() && is_assignee;
        if !(taking || releasing || claims) {
            p.require(Scope::RequestsManage)?;
        }
        changes.push(FieldChange::new(
            "assignee_id",
            &current.assignee_id,
            &assignee,
        ));
        next.assignee_id = assignee;
    }

    if let Some((decision, to)) = judged {
        decision?;
        enter_status(&mut next, workflow, to, &mut changes);
    }

    if changes.is_empty() {
        return Ok(None);
    }
    next.version += 1;
    next.updated_at = now;
    let event = event(p, &next, EventKind::Updated, changes, now);
    Ok(Some(Planned {
        request: next,
        event,
        follow_ups: Vec::new(),
        items: ItemWrites::default(),
    }))
}

/// Plans a soft delete: the request leaves lists but keeps its timeline.
pub fn plan_delete(
    p: &Principal,
    current: &Request,
    expected_version: Option<i64>,
    now: Timestamp,
) -> Result<Planned, DomainError> {
    check_live(current, expected_version)?;
    p.require(Scope::RequestsWrite)?;
    let is_requester = p.member_id().is_some() && current.requester_id == p.member_id();
    if !is_requester {
        p.require(Scope::RequestsManage).map_err(|e| match e {
            DomainError::MissingScope(_) => e,
            _ => DomainError::Forbidden(
                "only the requester or callers with requests:manage may delete this request".into(),
            ),
        })?;
    }
    let mut next = current.clone();
    next.version += 1;
    next.updated_at = now;
    next.deleted_at = Some(now);
    let changes = vec![FieldChange::new(
        "deleted_at",
        &None::<Timestamp>,
        &next.deleted_at,
    )];
    let event = event(p, &next, EventKind::Deleted, changes, now);
    Ok(Planned {
        request: next,
        event,
        follow_ups: Vec::new(),
        items: ItemWrites::default(),
    })
}

/// Plans a comment; it bumps the request's version because `updated_at` moves.
pub fn plan_comment(
    p: &Principal,
    current: &Request,
    body: &str,
    visibility: crate::event::CommentVisibility,
    now: Timestamp,
) -> Result<Planned, DomainError> {
    check_live(current, None)?;
    p.require(Scope::RequestsWrite)?;
    let body = body.trim();
    if body.is_empty() {
        return Err(DomainError::invalid(
            "body",
            "required",
            "a comment needs a body",
        ));
    }
    if body.chars().count() > limits::COMMENT_CHARS {
        return Err(DomainError::invalid(
            "body",
            "too_long",
            format!("at most {} characters", limits::COMMENT_CHARS),
        ));
    }
    let mut next = current.clone();
    next.version += 1;
    next.updated_at = now;
    // A public comment says so; an internal one carries nothing (as before there were
    // public ones), so every older comment reads as internal.
    let changes = match visibility {
        crate::event::CommentVisibility::Public => vec![FieldChange::new(
            "visibility",
            &Value::Null,
            &Value::from("public"),
        )],
        crate::event::CommentVisibility::Internal => Vec::new(),
    };
    let mut event = event(p, &next, EventKind::Commented, changes, now);
    event.comment = Some(body.to_owned());
    Ok(Planned {
        request: next,
        event,
        follow_ups: Vec::new(),
        items: ItemWrites::default(),
    })
}

/// The event recording that a message to the request's contact was queued, to add to a
/// planned change as a follow-up: `template` names the message (`completion`, `reopen`,
/// ...), `recipient` its address, `items` what a rejection lists (`[{label, reason}]`;
/// left out when empty). The email planner sends it ([`crate::email::messages_for`]).
pub fn message_queued(
    p: &Principal,
    request: &Request,
    template: &str,
    recipient: &str,
    items: &[Value],
    now: Timestamp,
) -> Event {
    let mut message = serde_json::json!({ "template": template, "recipient": recipient });
    if !items.is_empty() {
        message["items"] = Value::from(items.to_vec());
    }
    let changes = vec![FieldChange::new("message", &Value::Null, &message)];
    event(p, request, EventKind::MessageQueued, changes, now)
}

/// Moves `next` into status `to` of `workflow` (its category follows) and records the
/// move in `changes`: `status`, and `category` when it changed. The move was judged (or,
/// for a move the items cause, found in the workflow) by the caller.
pub(crate) fn enter_status(
    next: &mut Request,
    workflow: &Workflow,
    to: StatusKey,
    changes: &mut Vec<FieldChange>,
) {
    let category = workflow.status(&to).map_or(next.category, |s| s.category);
    changes.push(FieldChange::new("status", &next.status, &to));
    if category != next.category {
        changes.push(FieldChange::new("category", &next.category, &category));
    }
    next.status = to;
    next.category = category;
}

fn check_live(current: &Request, expected_version: Option<i64>) -> Result<(), DomainError> {
    if current.deleted_at.is_some() {
        return Err(DomainError::Gone);
    }
    match expected_version {
        Some(v) if v != current.version => Err(DomainError::PreconditionFailed {
            current: current.version,
        }),
        _ => Ok(()),
    }
}

fn collect<T>(errors: &mut Vec<FieldError>, r: Result<T, FieldError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

fn validate_title(title: &str) -> Result<String, FieldError> {
    let t = title.trim();
    if t.is_empty() {
        Err(FieldError::new(
            "title",
            "required",
            "a request needs a title",
        ))
    } else if t.chars().count() > limits::TITLE_CHARS {
        Err(FieldError::new(
            "title",
            "too_long",
            format!("at most {} characters", limits::TITLE_CHARS),
        ))
    } else {
        Ok(t.to_owned())
    }
}

fn validate_description(d: &str) -> Result<String, FieldError> {
    if d.chars().count() > limits::DESCRIPTION_CHARS {
        Err(FieldError::new(
            "description",
            "too_long",
            format!("at most {} characters", limits::DESCRIPTION_CHARS),
        ))
    } else {
        Ok(d.to_owned())
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Custom data is bounded in size and depth so it can be indexed, searched and sent.
pub fn validate_data(data: Map<String, Value>) -> Result<Map<String, Value>, FieldError> {
    let size = serde_json::to_vec(&data).map_or(usize::MAX, |v| v.len());
    if size > limits::DATA_BYTES {
        return Err(FieldError::new(
            "data",
            "too_large",
            format!(
                "data is {size} bytes; at most {} are allowed",
                limits::DATA_BYTES
            ),
        ));
    }
    let d = data.values().map(depth).max().unwrap_or(0) + 1;
    if d > limits::DATA_DEPTH {
        return Err(FieldError::new(
            "data",
            "too_deep",
            format!(
                "data nests {d} levels; at most {} are allowed",
                limits::DATA_DEPTH
            ),
        ));
    }
    Ok(data)
}

fn validate_tags(tags: Vec<String>) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        let t = t.trim().to_owned();
        if t.is_empty() || t.chars().count() > limits::TAG_CHARS || t.chars().any(char::is_control)
        {
            return Err(FieldError::new(
                "tags",
                "invalid",
                format!("a tag has 1-{} printable characters", limits::TAG_CHARS),
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > limits::TAGS {
        return Err(FieldError::new(
            "tags",
            "too_many",
            format!("at most {} tags", limits::TAGS),
        ));
    }
    Ok(out)
}

fn validate_subject(s: Subject) -> Result<Subject, FieldError> {
    let kind_ok = !s.kind.is_empty()
        && s.kind.len() <= 40
        && s.kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    if !kind_ok {
        return Err(FieldError::new(
            "subject.kind",
            "invalid",
            "a subject kind has 1-40 of a-z, 0-9, _ - .",
        ));
    }
    if s.id.is_empty() || s.id.chars().count() > 200 {
        return Err(FieldError::new(
            "subject.id",
            "invalid",
            "a subject id has 1-200 characters",
        ));
    }
    Ok(s)
}

/// A request of `type_key` in `status` (of `category`), for the domain's unit tests.
#[cfg(test)]
pub(crate) fn sample(type_key: &str, status: &str, category: Category) -> Request {
    let now = crate::now();
    Request {
        id: RequestId::new(),
        workspace_id: WorkspaceId::new(),
        number: 1,
        type_key: TypeKey::parse(type_key).unwrap(),
        type_id: RequestTypeId::new(),
        title: "t".into(),
        description: String::new(),
        status: StatusKey::parse(status).unwrap(),
        category,
        requester_id: None,
        assignee_id: None,
        due_at: None,
        data: Map::new(),
        tags: vec![],
        subject: None,
        items: ItemProgress::default(),
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}

#[cfg(test)]
mod tests;
