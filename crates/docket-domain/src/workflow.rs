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
    pub const ALL: [Category; 5] =
        [Category::Open, Category::InProgress, Category::Waiting, Category::Done, Category::Canceled];

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
}

impl std::str::FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            format!("unknown category {s:?}: expected open, in_progress, waiting, done or canceled")
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
        let ok_chars =
            s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
        if ok_len && ok_chars && s.trim() == s {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!("{s:?} is not a valid status key (1-64 letters, digits, _ - . or space)"))
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
        crate::string_schema("`requester`, `assignee`, `recipient`, or a scope such as `requests:manage`.", None)
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
            StatusKey::parse(&s).map(From::Status).map_err(serde::de::Error::custom)
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
}

/// A validated workflow. Construct it with [`Workflow::new`]; a `Workflow` value always has
/// unique status keys, exactly one initial status, and transitions between its own statuses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Workflow {
    statuses: Vec<Status>,
    transitions: Vec<Transition>,
}

/// The unchecked shape of a workflow as clients send it.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowInput {
    pub statuses: Vec<Status>,
    pub transitions: Vec<Transition>,
}

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
            errors.push(FieldError::new("workflow.statuses", "required", "a workflow needs at least one status"));
        }
        if input.statuses.len() > 50 {
            errors.push(FieldError::new("workflow.statuses", "too_many", "at most 50 statuses"));
        }
        for (i, s) in input.statuses.iter().enumerate() {
            if !keys.insert(s.key.clone()) {
                errors.push(FieldError::new(format!("workflow.statuses[{i}].key"), "duplicate", format!("status {} is defined twice", s.key)));
            }
            if s.label.trim().is_empty() || s.label.chars().count() > 100 {
                errors.push(FieldError::new(format!("workflow.statuses[{i}].label"), "invalid", "a label has 1-100 characters"));
            }
        }
        let initial = input.statuses.iter().filter(|s| s.initial).count();
        if initial != 1 && !input.statuses.is_empty() {
            errors.push(FieldError::new("workflow.statuses", "initial", format!("exactly one status must be initial, found {initial}")));
        }
        if input.transitions.len() > 500 {
            errors.push(FieldError::new("workflow.transitions", "too_many", "at most 500 transitions"));
        }
        for (i, t) in input.transitions.iter().enumerate() {
            if let From::Status(from) = &t.from {
                if !keys.contains(from) {
                    errors.push(FieldError::new(format!("workflow.transitions[{i}].from"), "unknown_status", format!("no status {from} in this workflow")));
                }
            }
            if !keys.contains(&t.to) {
                errors.push(FieldError::new(format!("workflow.transitions[{i}].to"), "unknown_status", format!("no status {} in this workflow", t.to)));
            }
            if t.by.is_empty() {
                errors.push(FieldError::new(format!("workflow.transitions[{i}].by"), "required", "name at least one party who may take the transition"));
            }
        }
        if errors.is_empty() {
            Ok(Self { statuses: input.statuses, transitions: input.transitions })
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

    pub fn initial(&self) -> &Status {
        // `new` guarantees exactly one initial status.
        self.statuses.iter().find(|s| s.initial).unwrap_or(&self.statuses[0])
    }

    pub fn status(&self, key: &StatusKey) -> Option<&Status> {
        self.statuses.iter().find(|s| &s.key == key)
    }

    /// The parties allowed to move from `from` to `to`, or `None` when no transition exists.
    fn parties(&self, from: &StatusKey, to: &StatusKey) -> Option<Vec<Party>> {
        let mut found = None::<Vec<Party>>;
        for t in &self.transitions {
            let starts_here = match &t.from {
                From::Any => true,
                From::Status(k) => k == from,
            };
            if starts_here && &t.to == to {
                found.get_or_insert_with(Vec::new).extend(t.by.iter().cloned());
            }
        }
        found
    }

    /// Judges one move. Moving to the status a request is already in is never asked here:
    /// the request planner treats it as no change.
    pub fn decide(&self, from: &StatusKey, to: &StatusKey, who: &Relation<'_>) -> Result<(), DomainError> {
        if self.status(to).is_none() {
            return Err(DomainError::invalid("status", "unknown_status", format!("the workflow has no status {to}")));
        }
        match self.parties(from, to) {
            None => Err(DomainError::InvalidTransition { from: from.clone(), to: to.clone() }),
            Some(parties) if parties.iter().any(|p| who.allows(p)) => Ok(()),
            Some(parties) => Err(DomainError::TransitionForbidden {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Acting, Role, ScopeSet};
    use crate::ids::{MemberId, WorkspaceId};

    fn key(s: &str) -> StatusKey {
        StatusKey::parse(s).unwrap()
    }

    fn member(role: Role) -> Principal {
        Principal::for_token(WorkspaceId::new(), Some(Acting { id: MemberId::new(), role }), None, ScopeSet::empty())
    }

    fn rel(p: &Principal, requester: bool, assignee: bool) -> Relation<'_> {
        Relation { principal: Some(p), is_requester: requester, is_assignee: assignee, is_recipient: false }
    }

    #[test]
    fn general_workflow_is_valid() {
        let w = Workflow::general();
        let input = WorkflowInput { statuses: w.statuses.clone(), transitions: w.transitions.clone() };
        assert_eq!(Workflow::new(input), Ok(w));
    }

    #[test]
    fn moderators_may_take_any_manage_transition() {
        let w = Workflow::general();
        let m = member(Role::Moderator);
        assert_eq!(w.decide(&key("open"), &key("done"), &rel(&m, false, false)), Ok(()));
    }

    #[test]
    fn members_may_only_cancel_their_own_request() {
        let w = Workflow::general();
        let m = member(Role::Member);
        assert!(matches!(w.decide(&key("open"), &key("canceled"), &rel(&m, false, false)), Err(DomainError::TransitionForbidden { .. })));
        assert_eq!(w.decide(&key("open"), &key("canceled"), &rel(&m, true, false)), Ok(()));
        assert!(matches!(w.decide(&key("open"), &key("done"), &rel(&m, true, false)), Err(DomainError::TransitionForbidden { .. })));
        assert_eq!(w.decide(&key("open"), &key("done"), &rel(&m, false, true)), Ok(()));
    }

    #[test]
    fn a_missing_transition_is_not_a_permission_problem() {
        let w = Workflow::general();
        let m = member(Role::Owner);
        assert!(matches!(w.decide(&key("done"), &key("waiting"), &rel(&m, false, false)), Err(DomainError::InvalidTransition { .. })));
        assert!(matches!(w.decide(&key("done"), &key("nope"), &rel(&m, false, false)), Err(DomainError::Validation(_))));
    }

    #[test]
    fn read_only_requester_cannot_move_anything() {
        let w = Workflow::general();
        let p = Principal::for_token(WorkspaceId::new(), Some(Acting { id: MemberId::new(), role: Role::Member }), None, ScopeSet::of(&[Scope::RequestsRead]));
        assert!(w.decide(&key("open"), &key("canceled"), &rel(&p, true, true)).is_err());
    }

    #[test]
    fn invalid_workflows_report_every_problem() {
        let input: WorkflowInput = serde_json::from_value(serde_json::json!({
            "statuses": [
                {"key": "a", "label": "A", "category": "open"},
                {"key": "a", "label": "", "category": "done"}
            ],
            "transitions": [{"from": "x", "to": "b", "by": []}]
        }))
        .unwrap();
        let errs = Workflow::new(input).unwrap_err();
        let codes: Vec<&str> = errs.iter().map(|e| e.code.as_str()).collect();
        for expected in ["duplicate", "invalid", "initial", "unknown_status", "required"] {
            assert!(codes.contains(&expected), "{expected} missing from {codes:?}");
        }
    }

    #[test]
    fn parties_parse_from_strings() {
        let by: Vec<Party> = serde_json::from_str(r#"["requester","assignee","recipient","requests:manage"]"#).unwrap();
        assert_eq!(by, vec![Party::Requester, Party::Assignee, Party::Recipient, Party::Scope(Scope::RequestsManage)]);
        assert!(serde_json::from_str::<Vec<Party>>(r#"["boss"]"#).is_err());
    }
}
