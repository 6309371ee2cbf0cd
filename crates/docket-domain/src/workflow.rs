//! Workflows: the statuses a request type moves through and who may move it.
//!
//! Statuses are data a workspace defines (`key`, `label`, `category`); categories are a
//! closed enum so that reports, filters and "is it finished?" work across every workflow.
//! A transition names its `from` (a status or `*`), its `to`, and the parties that may take
//! it: a scope (`requests:manage`), the `requester` of the request, its `assignee`, or the
//! `recipient` of a public link. [`Workflow::decide`] is the one place a move is judged.

use crate::access::{Principal, Scope};
use crate::error::{DomainError, FieldError, PartyList};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;

/// The closed set of status categories every custom status maps onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Open,
    InProgress,
    Waiting,
    Done,
    Canceled,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Open,
        Category::InProgress,
        Category::Waiting,
        Category::Done,
        Category::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Open => "open",
            Category::InProgress => "in_progress",
            Category::Waiting => "waiting",
            Category::Done => "done",
            Category::Canceled => "canceled",
        }
    }

    /// Done and canceled requests are finished: never overdue, not in "open work".
    pub fn is_finished(self) -> bool {
        matches!(self, Category::Done | Category::Canceled)
    }

    /// The categories of work still to do (not [`Category::is_finished`]).
    pub fn unfinished() -> impl Iterator<Item = Category> {
        Self::ALL.into_iter().filter(|c| !c.is_finished())
    }
}

impl std::str::FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown category {s:?}: expected open, in_progress, waiting, done or canceled"
                )
            })
    }
}

/// A status key as a workflow defines it: 1–64 characters of letters, digits, `_`, `-`,
/// `.` or space (products Docket speaks for use `PENDING`, `in_progress` and `On hold`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "in_progress")]
pub struct StatusKey(String);

impl StatusKey {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok_len = !s.is_empty() && s.chars().count() <= 64;
        let ok_chars = s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
        if ok_len && ok_chars && s.trim() == s {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "{s:?} is not a valid status key (1-64 letters, digits, _ - . or space)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StatusKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StatusKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        StatusKey::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// One status of a workflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Status {
    pub key: StatusKey,
    pub label: String,
    pub category: Category,
    /// Exactly one status of a workflow is where new requests start.
    #[serde(default)]
    pub initial: bool,
}

/// A party that may take a transition. On the wire: `"requester"`, `"assignee"`,
/// `"recipient"` or a scope such as `"requests:manage"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    /// Anyone whose call carries this scope.
    Scope(Scope),
    /// The member who filed the request.
    Requester,
    /// The member the request is assigned to.
    Assignee,
    /// The outside person holding a public link to the request.
    Recipient,
}

impl Party {
    pub fn describe(&self) -> String {
        match self {
            Party::Scope(s) => format!("callers with {s}"),
            Party::Requester => "the requester".to_owned(),
            Party::Assignee => "the assignee".to_owned(),
            Party::Recipient => "the recipient".to_owned(),
        }
    }

    fn wire(&self) -> &str {
        match self {
            Party::Scope(s) => s.as_str(),
            Party::Requester => "requester",
            Party::Assignee => "assignee",
            Party::Recipient => "recipient",
        }
    }
}

impl utoipa::PartialSchema for Party {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::string_schema(
            "`requester`, `assignee`, `recipient`, or a scope such as `requests:manage`.",
            None,
        )
    }
}

impl utoipa::ToSchema for Party {}

impl Serialize for Party {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.wire())
    }
}

impl<'de> Deserialize<'de> for Party {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "requester" => Ok(Party::Requester),
            "assignee" => Ok(Party::Assignee),
            "recipient" => Ok(Party::Recipient),
            other => other.parse().map(Party::Scope).map_err(|_| {
                serde::de::Error::custom(format!(
                    "unknown party {other:?}: expected requester, assignee, recipient or a scope"
                ))
            }),
        }
    }
}

/// Where a transition may start: one status, or any status (`"*"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum From {
    Any,
    Status(StatusKey),
}

impl utoipa::PartialSchema for From {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::string_schema("A status key, or `*` for any status.", None)
    }
}

impl utoipa::ToSchema for From {}

impl Serialize for From {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            From::Any => s.serialize_str("*"),
            From::Status(k) => k.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for From {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "*" {
            Ok(From::Any)
        } else {
            StatusKey::parse(&s)
                .map(From::Status)
                .map_err(serde::de::Error::custom)
        }
    }
}

/// A permitted move between two statuses and the parties that may take it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub from: From,
    pub to: StatusKey,
    /// Any one of these parties may take the transition.
    pub by: Vec<Party>,
    /// Whoever takes this transition becomes the request's assignee, unless the same
    /// change names one ("whoever acknowledges a report handles it").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assigns_actor: bool,
}

/// What [`Workflow::judge`] found when it allowed a move.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// A transition the caller took makes them the assignee.
    pub assigns_actor: bool,
}

/// A validated workflow. Construct it with [`Workflow::new`]; a `Workflow` value always has
/// unique status keys, exactly one initial status, and transitions between its own statuses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Workflow {
    statuses: Vec<Status>,
    transitions: Vec<Transition>,
    /// Minutes before a request's due time when a `request.reminder` is sent, largest first.
    remind_before_due_minutes: Vec<u32>,
    /// Statuses whose entry emails the request's contact.
    notify_contact_on: Vec<StatusKey>,
    /// Whether members may take an unassigned request of this type (a claimable queue).
    claimable: bool,
    /// Who sees requests of this type.
    visibility: RequestVisibility,
    /// Where the requested items move the request.
    #[serde(skip_serializing_if = "ItemHooks::is_empty")]
    on_items: ItemHooks,
}

/// The statuses a request moves to as its requested items progress (see
/// [`crate::item::plan_items`]); each move is taken only where the workflow has a
/// transition from the request's status, as a `request.updated` event naming its `cause`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemHooks {
    /// When every required item has an answer (e.g. an "in review" status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted: Option<StatusKey>,
    /// When every required item is approved (e.g. `done`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<StatusKey>,
    /// When a reviewer sends rejected items back (the recipient's status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_back: Option<StatusKey>,
}

impl ItemHooks {
    pub fn is_empty(&self) -> bool {
        self.submitted.is_none() && self.approved.is_none() && self.sent_back.is_none()
    }
}

/// Who sees the requests of a type. Callers with `requests:manage` see every request;
/// the rule narrows what everyone else sees, in every API, the change feed and the desk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestVisibility {
    /// Everyone in the workspace who may read requests.
    #[default]
    Workspace,
    /// Only the requester and the assignee (and managers): Storyden's "members see only
    /// their own reports".
    Own,
}

/// The unchecked shape of a workflow as clients send it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowInput {
    pub statuses: Vec<Status>,
    pub transitions: Vec<Transition>,
    /// When to remind before a request is due, in minutes (e.g. `[1440, 60]`: a day and an
    /// hour before). At most 10, each at most a year.
    #[serde(default)]
    pub remind_before_due_minutes: Vec<u32>,
    /// Statuses whose entry emails the request's contact (`data.contact.email`), e.g.
    /// `["done"]`.
    #[serde(default)]
    pub notify_contact_on: Vec<StatusKey>,
    /// Whether members may take an unassigned request of this type themselves (a
    /// claimable queue). Off by default: only the requester and callers with
    /// `requests:manage` assign a request.
    #[serde(default)]
    pub claimable: bool,
    /// Who sees requests of this type: `workspace` (default) or `own` (only their
    /// requester, their assignee and callers with `requests:manage`).
    #[serde(default)]
    pub visibility: RequestVisibility,
    /// Where the requested items move a request: `{"submitted": "in_review", "approved":
    /// "done", "sent_back": "waiting"}`, each optional.
    #[serde(default)]
    pub on_items: ItemHooks,
}

/// The longest reminder lead time, in minutes: a year.
pub const MAX_REMINDER_MINUTES: u32 = 366 * 24 * 60;

/// Facts about the caller's relation to one request, for judging a transition.
#[derive(Clone, Copy, Debug)]
pub struct Relation<'a> {
    pub principal: Option<&'a Principal>,
    pub is_requester: bool,
    pub is_assignee: bool,
    pub is_recipient: bool,
}

impl Relation<'_> {
    fn allows(&self, party: &Party) -> bool {
        // Acting as requester or assignee still needs the right to write requests, so that
        // a read-only token can never move anything.
        let can_write = self.principal.is_some_and(|p| p.has(Scope::RequestsWrite));
        match party {
            Party::Scope(s) => self.principal.is_some_and(|p| p.has(*s)),
            Party::Requester => self.is_requester && can_write,
            Party::Assignee => self.is_assignee && can_write,
            Party::Recipient => self.is_recipient,
        }
    }
}

impl Workflow {
    /// Checks every invariant and reports all the broken ones at once.
    pub fn new(input: WorkflowInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut keys = HashSet::new();
        if input.statuses.is_empty() {
            errors.push(FieldError::new(
                "workflow.statuses",
                "required",
                "a workflow needs at least one status",
            ));
        }
        if input.statuses.len() > 50 {
            errors.push(FieldError::new(
                "workflow.statuses",
                "too_many",
                "at most 50 statuses",
            ));
        }
        for (i, s) in input.statuses.iter().enumerate() {
            if !keys.insert(s.key.clone()) {
                errors.push(FieldError::new(
                    format!("workflow.statuses[{i}].key"),
                    "duplicate",
                    format!("status {} is defined twice", s.key),
                ));
            }
            if s.label.trim().is_empty() || s.label.chars().count() > 100 {
                errors.push(FieldError::new(
                    format!("workflow.statuses[{i}].label"),
                    "invalid",
                    "a label has 1-100 characters",
                ));
            }
        }
        let initial = input.statuses.iter().filter(|s| s.initial).count();
        if initial != 1 && !input.statuses.is_empty() {
            errors.push(FieldError::new(
                "workflow.statuses",
                "initial",
                format!("exactly one status must be initial, found {initial}"),
            ));
        }
        if input.transitions.len() > 500 {
            errors.push(FieldError::new(
                "workflow.transitions",
                "too_many",
                "at most 500 transitions",
            ));
        }
        for (i, t) in input.transitions.iter().enumerate() {
            if let From::Status(from) = &t.from {
                if !keys.contains(from) {
                    errors.push(FieldError::new(
                        format!("workflow.transitions[{i}].from"),
                        "unknown_status",
                        format!("no status {from} in this workflow"),
                    ));
                }
            }
            if !keys.contains(&t.to) {
                errors.push(FieldError::new(
                    format!("workflow.transitions[{i}].to"),
                    "unknown_status",
                    format!("no status {} in this workflow", t.to),
                ));
            }
            if t.by.is_empty() {
                errors.push(FieldError::new(
                    format!("workflow.transitions[{i}].by"),
                    "required",
                    "name at least one party who may take the transition",
                ));
            }
        }
        if input.remind_before_due_minutes.len() > 10 {
            errors.push(FieldError::new(
                "workflow.remind_before_due_minutes",
                "too_many",
                "at most 10 reminders",
            ));
        }
        if input
            .remind_before_due_minutes
            .iter()
            .any(|m| *m == 0 || *m > MAX_REMINDER_MINUTES)
        {
            errors.push(FieldError::new(
                "workflow.remind_before_due_minutes",
                "out_of_range",
                "a reminder is 1 minute to a year before the due time",
            ));
        }
        for (i, k) in input.notify_contact_on.iter().enumerate() {
            if !keys.contains(k) {
                errors.push(FieldError::new(
                    format!("workflow.notify_contact_on[{i}]"),
                    "unknown_status",
                    format!("no status {k} in this workflow"),
                ));
            }
        }
        for (field, k) in [
            ("submitted", &input.on_items.submitted),
            ("approved", &input.on_items.approved),
            ("sent_back", &input.on_items.sent_back),
        ] {
            if let Some(k) = k.as_ref().filter(|k| !keys.contains(*k)) {
                errors.push(FieldError::new(
                    format!("workflow.on_items.{field}"),
                    "unknown_status",
                    format!("no status {k} in this workflow"),
                ));
            }
        }
        let mut reminders = input.remind_before_due_minutes;
        reminders.sort_unstable_by(|a, b| b.cmp(a));
        reminders.dedup();
        if errors.is_empty() {
            Ok(Self {
                statuses: input.statuses,
                transitions: input.transitions,
                remind_before_due_minutes: reminders,
                notify_contact_on: input.notify_contact_on,
                claimable: input.claimable,
                visibility: input.visibility,
                on_items: input.on_items,
            })
        } else {
            Err(errors)
        }
    }

    pub fn statuses(&self) -> &[Status] {
        &self.statuses
    }

    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// Statuses whose entry emails the request's contact.
    pub fn notify_contact_on(&self) -> &[StatusKey] {
        &self.notify_contact_on
    }

    /// Whether members may take an unassigned request of this type themselves.
    pub fn claimable(&self) -> bool {
        self.claimable
    }

    pub fn visibility(&self) -> RequestVisibility {
        self.visibility
    }

    /// Where the requested items move a request.
    pub fn on_items(&self) -> &ItemHooks {
        &self.on_items
    }

    /// Whether the workflow has any transition from `from` to `to`, whoever may take it.
    pub fn has_move(&self, from: &StatusKey, to: &StatusKey) -> bool {
        self.moves(from, to).next().is_some()
    }

    /// Whether `p` may see `request` of this type at all (see [`RequestVisibility`]). Unseen
    /// requests are answered as not found, never as forbidden.
    pub fn visible_to(&self, p: &Principal, request: &crate::request::Request) -> bool {
        match self.visibility {
            RequestVisibility::Workspace => true,
            RequestVisibility::Own => {
                p.has(Scope::RequestsManage) || request.concerns(p.member_id())
            }
        }
    }

    /// Reminder lead times in minutes, largest first.
    pub fn reminders(&self) -> &[u32] {
        &self.remind_before_due_minutes
    }

    pub fn initial(&self) -> &Status {
        // `new` guarantees exactly one initial status.
        self.statuses
            .iter()
            .find(|s| s.initial)
            .unwrap_or(&self.statuses[0])
    }

    pub fn status(&self, key: &StatusKey) -> Option<&Status> {
        self.statuses.iter().find(|s| &s.key == key)
    }

    /// The transitions from `from` to `to`.
    fn moves<'a>(
        &'a self,
        from: &'a StatusKey,
        to: &'a StatusKey,
    ) -> impl Iterator<Item = &'a Transition> + 'a {
        self.transitions.iter().filter(move |t| {
            let starts_here = match &t.from {
                From::Any => true,
                From::Status(k) => k == from,
            };
            starts_here && &t.to == to
        })
    }

    /// Judges one move. Moving to the status a request is already in is never asked here:
    /// the request planner treats it as no change.
    pub fn decide(
        &self,
        from: &StatusKey,
        to: &StatusKey,
        who: &Relation<'_>,
    ) -> Result<(), DomainError> {
        self.judge(from, to, who).map(|_| ())
    }

    /// Judges one move, and says what taking it implies (see [`Decision`]).
    pub fn judge(
        &self,
        from: &StatusKey,
        to: &StatusKey,
        who: &Relation<'_>,
    ) -> Result<Decision, DomainError> {
        if self.status(to).is_none() {
            return Err(DomainError::invalid(
                "status",
                "unknown_status",
                format!("the workflow has no status {to}"),
            ));
        }
        let mut exists = false;
        let mut parties = Vec::new();
        let mut decision = None::<Decision>;
        for t in self.moves(from, to) {
            exists = true;
            parties.extend(t.by.iter().cloned());
            if t.by.iter().any(|p| who.allows(p)) {
                let d = decision.get_or_insert_with(Decision::default);
                d.assigns_actor |= t.assigns_actor;
            }
        }
        match decision {
            Some(d) => Ok(d),
            None if !exists => Err(DomainError::InvalidTransition {
                from: from.clone(),
                to: to.clone(),
            }),
            None => Err(DomainError::TransitionForbidden {
                from: from.clone(),
                to: to.clone(),
                allowed: PartyList(parties),
            }),
        }
    }

    /// The general-purpose workflow every workspace starts with.
    pub fn general() -> Self {
        let manage = Party::Scope(Scope::RequestsManage);
        let status = |key: &str, label: &str, category, initial| Status {
            key: StatusKey(key.to_owned()),
            label: label.to_owned(),
            category,
            initial,
        };
        let go = |from: Option<&str>, to: &str, by: Vec<Party>| Transition {
            from: from.map_or(From::Any, |f| From::Status(StatusKey(f.to_owned()))),
            to: StatusKey(to.to_owned()),
            by,
            assigns_actor: false,
        };
        let workers = || vec![manage.clone(), Party::Assignee];
        Self {
            statuses: vec![
                status("open", "Open", Category::Open, true),
                status("in_progress", "In progress", Category::InProgress, false),
                status("waiting", "Waiting", Category::Waiting, false),
                status("done", "Done", Category::Done, false),
                status("canceled", "Canceled", Category::Canceled, false),
            ],
            transitions: vec![
                go(Some("open"), "in_progress", workers()),
                go(Some("open"), "waiting", workers()),
                go(Some("in_progress"), "waiting", workers()),
                go(Some("waiting"), "in_progress", workers()),
                go(Some("in_progress"), "open", workers()),
                go(Some("open"), "done", workers()),
                go(Some("in_progress"), "done", workers()),
                go(Some("waiting"), "done", workers()),
                go(None, "canceled", vec![manage.clone(), Party::Requester]),
                go(Some("done"), "open", vec![manage.clone(), Party::Requester]),
                go(Some("canceled"), "open", vec![manage, Party::Requester]),
            ],
            remind_before_due_minutes: Vec::new(),
            notify_contact_on: Vec::new(),
            claimable: false,
            visibility: RequestVisibility::Workspace,
            on_items: ItemHooks::default(),
        }
    }
}

impl Workflow {
    /// The workflow of Collect's built-in campaign type: the five statuses Collect
    /// predefines, any of which a manager, the requester or the assignee may set from any
    /// other (Collect lets an API key set any status). A workspace adds custom statuses by
    /// extending this workflow through the request-types API.
    pub fn collect() -> Self {
        let by = || {
            vec![
                Party::Scope(Scope::RequestsManage),
                Party::Requester,
                Party::Assignee,
            ]
        };
        let statuses = [
            ("pending", "Pending", Category::Open, true),
            ("completed", "Completed", Category::Done, false),
            ("waiting", "Waiting", Category::Waiting, false),
            ("canceled", "Canceled", Category::Canceled, false),
            ("archived", "Archived", Category::Done, false),
        ];
        Self {
            transitions: statuses
                .iter()
                .map(|(key, ..)| Transition {
                    from: From::Any,
                    to: StatusKey((*key).to_owned()),
                    by: by(),
                    assigns_actor: false,
                })
                .collect(),
            statuses: statuses
                .into_iter()
                .map(|(key, label, category, initial)| Status {
                    key: StatusKey(key.to_owned()),
                    label: label.to_owned(),
                    category,
                    initial,
                })
                .collect(),
            remind_before_due_minutes: Vec::new(),
            notify_contact_on: Vec::new(),
            claimable: false,
            visibility: RequestVisibility::Workspace,
            // Collect's statuses follow its elements: `waiting` once everything is submitted
            // and awaits validation, `completed` once everything is validated, `pending`
            // again when rejected elements go back to the contact.
            on_items: ItemHooks {
                submitted: Some(StatusKey("waiting".into())),
                approved: Some(StatusKey("completed".into())),
                sent_back: Some(StatusKey("pending".into())),
            },
        }
    }

    /// The workflow of Gipper's content requests: only the holder of the public link
    /// completes a request (by uploading); the account may only cancel it.
    pub fn gipper() -> Self {
        let status = |key: &str, label: &str, category, initial| Status {
            key: StatusKey(key.to_owned()),
            label: label.to_owned(),
            category,
            initial,
        };
        Self {
            statuses: vec![
                status("pending", "Pending", Category::Open, true),
                status("completed", "Completed", Category::Done, false),
                status("canceled", "Canceled", Category::Canceled, false),
            ],
            transitions: vec![
                Transition {
                    from: From::Status(StatusKey("pending".into())),
                    to: StatusKey("completed".into()),
                    by: vec![Party::Recipient],
                    assigns_actor: false,
                },
                Transition {
                    from: From::Any,
                    to: StatusKey("canceled".into()),
                    by: vec![Party::Scope(Scope::RequestsManage), Party::Requester],
                    assigns_actor: false,
                },
            ],
            remind_before_due_minutes: Vec::new(),
            notify_contact_on: Vec::new(),
            claimable: false,
            visibility: RequestVisibility::Workspace,
            on_items: ItemHooks::default(),
        }
    }
}

/// Built-in workflows for the published APIs Docket speaks (`docket-http`'s `compat/`).
/// Each product's statuses are an ordinary workflow of its own request type, so the
/// product's rules are judged by [`Workflow::decide`] like any other workspace's.
impl Workflow {
    /// Open Notes note requests: any status from any status, by the requester or a
    /// manager (moderators, admins, owners, and system tokens: Open Notes' service
    /// credentials).
    pub fn opennotes() -> Self {
        let by = vec![Party::Scope(Scope::RequestsManage), Party::Requester];
        Self::from_parts(
            &[
                ("PENDING", "Pending", Category::Open),
                ("IN_PROGRESS", "In progress", Category::InProgress),
                ("COMPLETED", "Completed", Category::Done),
                ("FAILED", "Failed", Category::Canceled),
            ],
            &[
                (None, "PENDING", &by, false),
                (None, "IN_PROGRESS", &by, false),
                (None, "COMPLETED", &by, false),
                (None, "FAILED", &by, false),
            ],
        )
    }

    /// ServerOps moderation cases: open, closed, archived, moved by anyone whose token
    /// may write requests (ServerOps' `cases:write`).
    pub fn serverops_case() -> Self {
        let by = vec![Party::Scope(Scope::RequestsWrite)];
        Self::from_parts(
            &[
                ("open", "Open", Category::Open),
                ("closed", "Closed", Category::Done),
                ("archived", "Archived", Category::Canceled),
            ],
            &[
                (None, "open", &by, false),
                (None, "closed", &by, false),
                (None, "archived", &by, false),
            ],
        )
    }

    /// Storyden reports: managers (Storyden's `MANAGE_REPORTS`) may set any status and
    /// become the report's handler (assignee) by doing so; the member who filed a report
    /// may only resolve it.
    pub fn storyden_report() -> Self {
        let manage = vec![Party::Scope(Scope::RequestsManage)];
        let requester = vec![Party::Requester];
        Self::from_parts(
            &[
                ("submitted", "Submitted", Category::Open),
                ("acknowledged", "Acknowledged", Category::InProgress),
                ("resolved", "Resolved", Category::Done),
            ],
            &[
                (None, "submitted", &manage, true),
                (None, "acknowledged", &manage, true),
                (None, "resolved", &manage, true),
                (None, "resolved", &requester, false),
            ],
        )
        .seen_by(RequestVisibility::Own)
    }

    /// The same workflow, with requests of its type seen as `visibility` says.
    fn seen_by(mut self, visibility: RequestVisibility) -> Self {
        self.visibility = visibility;
        self
    }

    /// A built-in workflow from `(key, label, category)` statuses (the first is initial)
    /// and `(from, to, by, assigns_actor)` transitions, `None` meaning any status.
    fn from_parts(
        statuses: &[(&str, &str, Category)],
        transitions: &[(Option<&str>, &str, &Vec<Party>, bool)],
    ) -> Self {
        Self {
            statuses: statuses
                .iter()
                .enumerate()
                .map(|(i, (key, label, category))| Status {
                    key: StatusKey((*key).to_owned()),
                    label: (*label).to_owned(),
                    category: *category,
                    initial: i == 0,
                })
                .collect(),
            transitions: transitions
                .iter()
                .map(|(from, to, by, assigns_actor)| Transition {
                    from: from.map_or(From::Any, |f| From::Status(StatusKey(f.to_owned()))),
                    to: StatusKey((*to).to_owned()),
                    by: (*by).clone(),
                    assigns_actor: *assigns_actor,
                })
                .collect(),
            remind_before_due_minutes: Vec::new(),
            notify_contact_on: Vec::new(),
            claimable: false,
            visibility: RequestVisibility::Workspace,
            on_items: ItemHooks::default(),
        }
    }
}

#[cfg(test)]
mod tests;
