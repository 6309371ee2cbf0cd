//! Public links: a token that lets someone without an account act on one request.
//!
//! A link belongs to one request. Its holder (the *recipient*, [`Party::Recipient`] in a
//! workflow) may take the transitions the request's workflow grants the recipient, and
//! nothing else. A link is `one_time` (it accepts a single use) or `multi_use`; it may
//! expire, be revoked, and it stops working when its request is canceled or deleted.
//! Gipper's content-request links, Collect's `portalUrl` and the recipient portal all
//! use this one concept.
//!
//! The token is 16 lowercase hex characters (64 random bits), the form Gipper's clients
//! expect. It is stored as is, not hashed: the owner is shown the link again whenever
//! they list their requests (as in Gipper), and a link only ever opens one request.
//!
//! [`Party::Recipient`]: crate::workflow::Party::Recipient

use crate::error::DomainError;
use crate::event::{Actor, Event, EventKind, FieldChange};
use crate::ids::{EventId, RequestId, WorkspaceId};
use crate::request::Request;
use crate::workflow::{Category, Relation, StatusKey, Workflow};
use crate::Timestamp;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// A public link's identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Uuid)]
pub struct LinkId(pub uuid::Uuid);

impl LinkId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }
}

impl Default for LinkId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for LinkId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(Self)
    }
}

/// A link token: exactly 16 lowercase hexadecimal characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "4c38da5893b1f793")]
pub struct LinkToken(String);

impl LinkToken {
    /// A fresh random token.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Parses a presented token; anything but 16 lowercase hex characters is no token.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never print a token in logs by accident.
impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken(***)")
    }
}

/// How many times a link may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkMode {
    OneTime,
    MultiUse,
}

impl LinkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMode::OneTime => "one_time",
            LinkMode::MultiUse => "multi_use",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "one_time" => Some(LinkMode::OneTime),
            "multi_use" => Some(LinkMode::MultiUse),
            _ => None,
        }
    }
}

/// A public link of a request.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicLink {
    pub id: LinkId,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    pub request_id: RequestId,
    pub token: LinkToken,
    pub mode: LinkMode,
    /// After this instant the link accepts nothing.
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// How many times the link has been used; a one-time link stops at one.
    pub used_count: i64,
    pub created_at: DateTime<Utc>,
}

/// Why a link refuses to be used, as stable codes the HTTP layers map to their statuses.
pub mod refusal {
    pub const REVOKED: &str = "link_revoked";
    pub const EXPIRED: &str = "link_expired";
    pub const USED: &str = "link_used";
    pub const CLOSED: &str = "link_closed";
}

impl PublicLink {
    /// A fresh link to `request`.
    pub fn new(
        request: &Request,
        mode: LinkMode,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Self {
        Self {
            id: LinkId::new(),
            workspace_id: request.workspace_id,
            request_id: request.id,
            token: LinkToken::generate(),
            mode,
            expires_at,
            revoked_at: None,
            used_count: 0,
            created_at: now,
        }
    }

    /// Whether the link would accept a use now, given its request; `Err` says why not.
    pub fn check_usable(&self, request: &Request, now: Timestamp) -> Result<(), DomainError> {
        let refuse = |code: &'static str, message: &str| {
            Err(DomainError::Conflict {
                code,
                message: message.to_owned(),
            })
        };
        if self.revoked_at.is_some() {
            return refuse(refusal::REVOKED, "this link was revoked");
        }
        if request.deleted_at.is_some() || request.category == Category::Canceled {
            return refuse(refusal::CLOSED, "this request is closed");
        }
        if self.expires_at.is_some_and(|e| e <= now) {
            return refuse(refusal::EXPIRED, "this link has expired");
        }
        if self.mode == LinkMode::OneTime && self.used_count >= 1 {
            return refuse(refusal::USED, "this link was already used");
        }
        Ok(())
    }

    /// Active: usable now as far as the link itself and its request are concerned.
    pub fn is_active(&self, request: &Request, now: Timestamp) -> bool {
        self.check_usable(request, now).is_ok()
    }
}

/// Whether `p` may create or revoke public links of `request`: sharing a request with
/// an outsider is editing it, so it takes what editing takes — the requester, the
/// assignee, or `requests:manage`.
pub fn check_may_share(p: &crate::access::Principal, request: &Request) -> Result<(), DomainError> {
    use crate::access::Scope;
    p.require(Scope::RequestsWrite)?;
    let me = p.member_id();
    let involved = me.is_some() && (request.requester_id == me || request.assignee_id == me);
    if involved {
        return Ok(());
    }
    p.require(Scope::RequestsManage).map_err(|e| match e {
        DomainError::MissingScope(_) => e,
        _ => DomainError::Forbidden(
            "only the requester, the assignee or callers with requests:manage may share this request"
                .into(),
        ),
    })
}

/// What the recipient submits through a link.
#[derive(Clone, Debug, Default)]
pub struct LinkSubmission {
    /// The status to move to; the workflow must grant it to the recipient.
    pub status: Option<StatusKey>,
    /// Merged into the request's data (a `null` value removes a key).
    pub data: Map<String, Value>,
}

/// Plans one use of `link`: checks that the link is usable, judges the status move with
/// the caller acting as the recipient, and returns the next request, the event, and the
/// link with its use counted. Run by the storage layer inside the transaction that writes
/// all three, so a one-time link is used exactly once however many callers race.
pub fn plan_link_use(
    link: &PublicLink,
    current: &Request,
    workflow: &Workflow,
    submission: LinkSubmission,
    now: Timestamp,
) -> Result<(crate::request::Planned, PublicLink), DomainError> {
    link.check_usable(current, now)?;
    let mut next = current.clone();
    let mut changes = Vec::new();
    if let Some(to) = submission.status {
        if to != current.status {
            let relation = Relation {
                principal: None,
                is_requester: false,
                is_assignee: false,
                is_recipient: true,
            };
            workflow.decide(&current.status, &to, &relation)?;
            crate::request::enter_status(&mut next, workflow, to, &mut changes);
        }
    }
    if !submission.data.is_empty() {
        let mut data = current.data.clone();
        for (k, v) in submission.data {
            if v.is_null() {
                data.remove(&k);
            } else {
                data.insert(k, v);
            }
        }
        let data =
            crate::request::validate_data(data).map_err(|e| DomainError::Validation(vec![e]))?;
        if data != current.data {
            changes.push(FieldChange::new("data", &current.data, &data));
            next.data = data;
        }
    }
    changes.push(FieldChange::new(
        "link",
        &Value::Null,
        &serde_json::json!({ "id": link.id, "use": link.used_count + 1 }),
    ));
    next.version += 1;
    next.updated_at = now;
    let event = Event {
        id: EventId::new(),
        seq: 0,
        workspace_id: next.workspace_id,
        request_id: next.id,
        kind: EventKind::Updated,
        // Nobody with an account acted: the recipient holds only the link.
        actor: Actor::default(),
        at: now,
        changes,
        comment: None,
    };
    let mut used = link.clone();
    used.used_count += 1;
    Ok((
        crate::request::Planned {
            request: next,
            event,
            follow_ups: Vec::new(),
            items: Default::default(),
        },
        used,
    ))
}

/// The relation of a link's holder to the request: the recipient, nobody else.
fn recipient() -> Relation<'static> {
    Relation {
        principal: None,
        is_requester: false,
        is_assignee: false,
        is_recipient: true,
    }
}

/// The status the recipient completes the request with from where it is now: a status the
/// workflow lets the recipient move to, preferring a `done` one. `None` when the workflow
/// gives the recipient no move from the current status.
pub fn recipient_target(workflow: &Workflow, current: &Request) -> Option<StatusKey> {
    let reachable: Vec<_> = workflow
        .statuses()
        .iter()
        .filter(|s| s.key != current.status)
        .filter(|s| {
            workflow
                .decide(&current.status, &s.key, &recipient())
                .is_ok()
        })
        .collect();
    reachable
        .iter()
        .find(|s| s.category == Category::Done)
        .or(reachable.first())
        .map(|s| s.key.clone())
}

/// Plans the recipient completing the request through `link` ("Send for review" where the
/// request asks for items): the move the workflow gives the recipient from the current
/// status ([`recipient_target`]). A link that accepts nothing says why first; a required
/// item without an answer (or with a rejected one) is `Conflict { code:
/// "items_unanswered" }`; a workflow with no such move is `Conflict { code:
/// "no_recipient_transition" }`.
pub fn plan_link_completion(
    link: &PublicLink,
    current: &Request,
    workflow: &Workflow,
    now: Timestamp,
) -> Result<(crate::request::Planned, PublicLink), DomainError> {
    link.check_usable(current, now)?;
    if current.items.is_incomplete() {
        return Err(DomainError::Conflict {
            code: "items_unanswered",
            message: "answer every required item before sending the request for review".into(),
        });
    }
    let to = recipient_target(workflow, current).ok_or_else(|| DomainError::Conflict {
        code: "no_recipient_transition",
        message: "this request cannot be completed from a link; the sender will close it".into(),
    })?;
    let submission = LinkSubmission {
        status: Some(to),
        data: Map::new(),
    };
    plan_link_use(link, current, workflow, submission, now)
}

/// Plans a note the recipient leaves through `link`: a comment on the request's timeline,
/// marked as the link's (the `link` change). A note does not use the link up, so a
/// one-time link still takes its completion afterwards.
pub fn plan_link_note(
    link: &PublicLink,
    current: &Request,
    body: &str,
    now: Timestamp,
) -> Result<crate::request::Planned, DomainError> {
    link.check_usable(current, now)?;
    let body = body.trim();
    if body.is_empty() {
        return Err(DomainError::invalid(
            "body",
            "required",
            "a note needs some text",
        ));
    }
    let max = crate::request::limits::COMMENT_CHARS;
    if body.chars().count() > max {
        return Err(DomainError::invalid(
            "body",
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    let mut next = current.clone();
    next.version += 1;
    next.updated_at = now;
    let event = Event {
        id: EventId::new(),
        seq: 0,
        workspace_id: next.workspace_id,
        request_id: next.id,
        kind: EventKind::Commented,
        actor: Actor::default(),
        at: now,
        changes: vec![FieldChange::new(
            "link",
            &Value::Null,
            &serde_json::json!({ "id": link.id }),
        )],
        comment: Some(body.to_owned()),
    };
    Ok(crate::request::Planned {
        request: next,
        event,
        follow_ups: Vec::new(),
        items: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: &str, category: Category) -> Request {
        crate::request::sample("gipper", status, category)
    }

    #[test]
    fn the_recipient_completes_with_a_done_status_it_may_take() {
        let r = request("pending", Category::Open);
        let target = recipient_target(&Workflow::gipper(), &r).unwrap();
        assert_eq!(target.as_str(), "completed");
        let general = request("open", Category::Open);
        assert_eq!(recipient_target(&Workflow::general(), &general), None);
    }

    #[test]
    fn completing_a_used_link_says_it_was_used_before_anything_else() {
        let now = crate::now();
        let r = request("pending", Category::Open);
        let link = PublicLink::new(&r, LinkMode::OneTime, None, now);
        let (done, used) = plan_link_completion(&link, &r, &Workflow::gipper(), now).unwrap();
        assert_eq!(done.request.status.as_str(), "completed");
        // From `completed` the recipient has no move, but the answer is "used".
        let err = plan_link_completion(&used, &done.request, &Workflow::gipper(), now).unwrap_err();
        assert!(
            matches!(
                err,
                DomainError::Conflict {
                    code: refusal::USED,
                    ..
                }
            ),
            "{err:?}"
        );
        let general = request("open", Category::Open);
        let link = PublicLink::new(&general, LinkMode::MultiUse, None, now);
        let err = plan_link_completion(&link, &general, &Workflow::general(), now).unwrap_err();
        assert!(matches!(
            err,
            DomainError::Conflict {
                code: "no_recipient_transition",
                ..
            }
        ));
    }

    #[test]
    fn completing_waits_for_every_required_item() {
        let now = crate::now();
        let mut r = request("pending", Category::Open);
        r.items = crate::item::ItemProgress {
            total: 2,
            required: 2,
            submitted: 1,
            required_answered: 1,
            ..Default::default()
        };
        let link = PublicLink::new(&r, LinkMode::MultiUse, None, now);
        let err = plan_link_completion(&link, &r, &Workflow::gipper(), now).unwrap_err();
        assert!(
            matches!(
                err,
                DomainError::Conflict {
                    code: "items_unanswered",
                    ..
                }
            ),
            "{err:?}"
        );
        r.items.submitted = 2;
        r.items.required_answered = 2;
        let (done, _) = plan_link_completion(&link, &r, &Workflow::gipper(), now).unwrap();
        assert_eq!(done.request.status.as_str(), "completed");
    }

    #[test]
    fn a_note_is_a_comment_that_does_not_use_the_link() {
        let now = crate::now();
        let r = request("pending", Category::Open);
        let link = PublicLink::new(&r, LinkMode::OneTime, None, now);
        let planned = plan_link_note(&link, &r, "  here you go ", now).unwrap();
        assert_eq!(planned.event.kind, EventKind::Commented);
        assert_eq!(planned.event.comment.as_deref(), Some("here you go"));
        assert!(plan_link_note(&link, &r, "   ", now).is_err());
        let mut revoked = link.clone();
        revoked.revoked_at = Some(now);
        assert!(plan_link_note(&revoked, &r, "hi", now).is_err());
    }

    fn complete() -> LinkSubmission {
        LinkSubmission {
            status: Some(StatusKey::parse("completed").unwrap()),
            data: Map::new(),
        }
    }

    #[test]
    fn tokens_are_sixteen_hex_characters() {
        let t = LinkToken::generate();
        assert!(LinkToken::parse(t.as_str()).is_some());
        assert!(LinkToken::parse("4c38da5893b1f793").is_some());
        assert!(LinkToken::parse("4C38DA5893B1F793").is_none());
        assert!(LinkToken::parse("4c38da5893b1f79").is_none());
        assert!(LinkToken::parse("4c38da5893b1f79z").is_none());
    }

    #[test]
    fn a_one_time_link_is_used_once() {
        let now = crate::now();
        let r = request("pending", Category::Open);
        let link = PublicLink::new(&r, LinkMode::OneTime, None, now);
        let wf = Workflow::gipper();
        let (planned, used) = plan_link_use(&link, &r, &wf, complete(), now).unwrap();
        assert_eq!(planned.request.status.as_str(), "completed");
        assert_eq!(used.used_count, 1);
        let err = plan_link_use(&used, &planned.request, &wf, complete(), now).unwrap_err();
        assert!(matches!(
            err,
            DomainError::Conflict {
                code: refusal::USED,
                ..
            }
        ));
    }

    #[test]
    fn a_multi_use_link_accepts_more_uploads_after_completion() {
        let now = crate::now();
        let r = request("pending", Category::Open);
        let link = PublicLink::new(&r, LinkMode::MultiUse, None, now);
        let wf = Workflow::gipper();
        let (planned, used) = plan_link_use(&link, &r, &wf, complete(), now).unwrap();
        let (again, used) = plan_link_use(&used, &planned.request, &wf, complete(), now).unwrap();
        assert_eq!(again.request.status.as_str(), "completed");
        assert_eq!(used.used_count, 2);
    }

    #[test]
    fn expired_revoked_and_canceled_links_refuse() {
        let now = crate::now();
        let r = request("pending", Category::Open);
        let wf = Workflow::gipper();
        let expired = PublicLink::new(
            &r,
            LinkMode::MultiUse,
            Some(now - chrono::TimeDelta::seconds(1)),
            now,
        );
        let err = plan_link_use(&expired, &r, &wf, complete(), now).unwrap_err();
        assert!(matches!(
            err,
            DomainError::Conflict {
                code: refusal::EXPIRED,
                ..
            }
        ));
        let mut revoked = PublicLink::new(&r, LinkMode::MultiUse, None, now);
        revoked.revoked_at = Some(now);
        let err = plan_link_use(&revoked, &r, &wf, complete(), now).unwrap_err();
        assert!(matches!(
            err,
            DomainError::Conflict {
                code: refusal::REVOKED,
                ..
            }
        ));
        let canceled = request("canceled", Category::Canceled);
        let link = PublicLink::new(&canceled, LinkMode::MultiUse, None, now);
        let err = plan_link_use(&link, &canceled, &wf, complete(), now).unwrap_err();
        assert!(matches!(
            err,
            DomainError::Conflict {
                code: refusal::CLOSED,
                ..
            }
        ));
    }

    #[test]
    fn the_recipient_may_only_take_transitions_granted_to_the_recipient() {
        let now = crate::now();
        let r = request("pending", Category::Open);
        let link = PublicLink::new(&r, LinkMode::MultiUse, None, now);
        let cancel = LinkSubmission {
            status: Some(StatusKey::parse("canceled").unwrap()),
            data: Map::new(),
        };
        let err = plan_link_use(&link, &r, &Workflow::gipper(), cancel, now).unwrap_err();
        assert!(matches!(err, DomainError::TransitionForbidden { .. }));
    }
}
