//! Chasing the person asked: a reminder to the request's contact, sent now by staff
//! ("nudge"). Each sent reminder is a `reminder.sent` event (which rule, to whom) that the
//! email planner turns into the `nudge` message listing what is still missing.

use crate::access::{Principal, Scope};
use crate::error::DomainError;
use crate::event::{Actor, Event, EventKind, FieldChange};
use crate::ids::EventId;
use crate::item::Item;
use crate::request::{check_visible, Planned, Request};
use crate::workflow::Workflow;
use crate::Timestamp;
use serde_json::{json, Value};

/// At most this many requests in one bulk reminder.
pub const MAX_BULK: usize = 500;

/// Plans reminding `current`'s contact now, as `p`. Editing the request is what it takes
/// (the requester, the assignee, or `requests:manage`); a finished or deleted request, or
/// one without a contact address, is refused with a code a client can act on.
pub fn plan_nudge(
    p: &Principal,
    current: &Request,
    workflow: &Workflow,
    now: Timestamp,
) -> Result<Planned, DomainError> {
    check_visible(p, current, workflow)?;
    if current.deleted_at.is_some() {
        return Err(DomainError::Gone);
    }
    p.require(Scope::RequestsWrite)?;
    if !(p.has(Scope::RequestsManage) || current.concerns(p.member_id())) {
        return Err(DomainError::Forbidden(
            "only the requester, the assignee or callers with requests:manage may remind the recipient".into(),
        ));
    }
    if current.category.is_finished() {
        return Err(DomainError::Conflict {
            code: "request_finished",
            message: "the request is finished: there is nothing to remind anyone of".into(),
        });
    }
    let Some((to, _)) = crate::email::contact(current) else {
        return Err(DomainError::Conflict {
            code: "no_contact",
            message: "the request has no contact to remind (data.contact.email)".into(),
        });
    };
    let mut next = current.clone();
    next.version += 1;
    next.updated_at = now;
    let event = Event {
        id: EventId::new(),
        seq: 0,
        workspace_id: next.workspace_id,
        request_id: next.id,
        kind: EventKind::ReminderSent,
        actor: Actor {
            member_id: p.member_id(),
            token_id: p.token_id,
        },
        at: now,
        changes: vec![FieldChange::new(
            "reminder",
            &Value::Null,
            &json!({ "rule": "manual", "to": to }),
        )],
        comment: None,
    };
    Ok(Planned {
        request: next,
        event,
        follow_ups: Vec::new(),
        items: Default::default(),
    })
}

/// What a reminder lists as still missing: each required item without an accepted
/// answer (nothing sent, or sent back), one line each, with the reason where it was
/// rejected. Empty when the request asks for no items or all are in.
pub fn missing_text(items: &[Item]) -> String {
    items
        .iter()
        .filter(|i| i.needs_answer())
        .map(|i| match i.reason.as_deref().filter(|r| !r.is_empty()) {
            Some(reason) => format!("- {}: {reason}\n", i.spec.label),
            None => format!("- {}\n", i.spec.label),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Acting, Role, ScopeSet};
    use crate::workflow::Category;

    fn principal(role: Role) -> Principal {
        Principal::for_token(
            crate::ids::WorkspaceId::new(),
            Some(Acting {
                id: crate::ids::MemberId::new(),
                role,
            }),
            None,
            ScopeSet::empty(),
        )
    }

    fn with_contact(mut r: Request) -> Request {
        r.data.insert(
            "contact".into(),
            json!({"email": "ann@example.com", "name": "Ann"}),
        );
        r
    }

    #[test]
    fn a_nudge_records_who_is_reminded_and_bumps_the_version() {
        let r = with_contact(crate::request::sample("general", "open", Category::Open));
        let p = principal(Role::Admin);
        let planned = plan_nudge(&p, &r, &Workflow::general(), crate::now()).unwrap();
        assert_eq!(planned.event.kind, EventKind::ReminderSent);
        assert_eq!(
            planned.event.changes[0].new,
            json!({"rule": "manual", "to": "ann@example.com"})
        );
        assert_eq!(planned.request.version, r.version + 1);
    }

    #[test]
    fn a_nudge_needs_a_contact_an_unfinished_request_and_the_right_to_edit_it() {
        let wf = Workflow::general();
        let now = crate::now();
        let admin = principal(Role::Admin);
        let bare = crate::request::sample("general", "open", Category::Open);
        let code = |e: DomainError| match e {
            DomainError::Conflict { code, .. } => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(plan_nudge(&admin, &bare, &wf, now).unwrap_err()),
            "no_contact"
        );
        let done = with_contact(crate::request::sample("general", "done", Category::Done));
        assert_eq!(
            code(plan_nudge(&admin, &done, &wf, now).unwrap_err()),
            "request_finished"
        );
        let open = with_contact(bare);
        let stranger = principal(Role::Member);
        assert!(matches!(
            plan_nudge(&stranger, &open, &wf, now),
            Err(DomainError::Forbidden(_) | DomainError::MissingScope(_))
        ));
        let mut deleted = open.clone();
        deleted.deleted_at = Some(now);
        assert!(matches!(
            plan_nudge(&admin, &deleted, &wf, now),
            Err(DomainError::Gone)
        ));
    }
}
