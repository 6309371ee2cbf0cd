//! Unit tests of `workflow`.

use super::*;
use crate::access::{Acting, Role, ScopeSet};
use crate::ids::{MemberId, WorkspaceId};

fn key(s: &str) -> StatusKey {
    StatusKey::parse(s).unwrap()
}

fn member(role: Role) -> Principal {
    Principal::for_token(
        WorkspaceId::new(),
        Some(Acting {
            id: MemberId::new(),
            role,
        }),
        None,
        ScopeSet::empty(),
    )
}

fn rel(p: &Principal, requester: bool, assignee: bool) -> Relation<'_> {
    Relation {
        principal: Some(p),
        is_requester: requester,
        is_assignee: assignee,
        is_recipient: false,
    }
}

#[test]
fn general_workflow_is_valid() {
    let w = Workflow::general();
    let input = WorkflowInput {
        statuses: w.statuses.clone(),
        transitions: w.transitions.clone(),
        ..Default::default()
    };
    assert_eq!(Workflow::new(input), Ok(w));
}

#[test]
fn reminders_are_sorted_deduplicated_and_bounded() {
    let w = Workflow::general();
    let with = |minutes: Vec<u32>| {
        Workflow::new(WorkflowInput {
            statuses: w.statuses.clone(),
            transitions: w.transitions.clone(),
            remind_before_due_minutes: minutes,
            ..Default::default()
        })
    };
    assert_eq!(with(vec![60, 1440, 60]).unwrap().reminders(), [1440, 60]);
    let codes = |r: Result<Workflow, Vec<FieldError>>| -> Vec<String> {
        r.unwrap_err().into_iter().map(|e| e.code).collect()
    };
    assert_eq!(codes(with(vec![0])), ["out_of_range"]);
    assert_eq!(
        codes(with(vec![MAX_REMINDER_MINUTES + 1])),
        ["out_of_range"]
    );
    assert_eq!(codes(with((1..=11).collect())), ["too_many"]);
}

#[test]
fn moderators_may_take_any_manage_transition() {
    let w = Workflow::general();
    let m = member(Role::Moderator);
    assert_eq!(
        w.decide(&key("open"), &key("done"), &rel(&m, false, false)),
        Ok(())
    );
}

#[test]
fn members_may_only_cancel_their_own_request() {
    let w = Workflow::general();
    let m = member(Role::Member);
    assert!(matches!(
        w.decide(&key("open"), &key("canceled"), &rel(&m, false, false)),
        Err(DomainError::TransitionForbidden { .. })
    ));
    assert_eq!(
        w.decide(&key("open"), &key("canceled"), &rel(&m, true, false)),
        Ok(())
    );
    assert!(matches!(
        w.decide(&key("open"), &key("done"), &rel(&m, true, false)),
        Err(DomainError::TransitionForbidden { .. })
    ));
    assert_eq!(
        w.decide(&key("open"), &key("done"), &rel(&m, false, true)),
        Ok(())
    );
}

#[test]
fn a_missing_transition_is_not_a_permission_problem() {
    let w = Workflow::general();
    let m = member(Role::Owner);
    assert!(matches!(
        w.decide(&key("done"), &key("waiting"), &rel(&m, false, false)),
        Err(DomainError::InvalidTransition { .. })
    ));
    assert!(matches!(
        w.decide(&key("done"), &key("nope"), &rel(&m, false, false)),
        Err(DomainError::Validation(_))
    ));
}

#[test]
fn read_only_requester_cannot_move_anything() {
    let w = Workflow::general();
    let p = Principal::for_token(
        WorkspaceId::new(),
        Some(Acting {
            id: MemberId::new(),
            role: Role::Member,
        }),
        None,
        ScopeSet::of(&[Scope::RequestsRead]),
    );
    assert!(w
        .decide(&key("open"), &key("canceled"), &rel(&p, true, true))
        .is_err());
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
    for expected in [
        "duplicate",
        "invalid",
        "initial",
        "unknown_status",
        "required",
    ] {
        assert!(
            codes.contains(&expected),
            "{expected} missing from {codes:?}"
        );
    }
}

#[test]
fn parties_parse_from_strings() {
    let by: Vec<Party> =
        serde_json::from_str(r#"["requester","assignee","recipient","requests:manage"]"#).unwrap();
    assert_eq!(
        by,
        vec![
            Party::Requester,
            Party::Assignee,
            Party::Recipient,
            Party::Scope(Scope::RequestsManage)
        ]
    );
    assert!(serde_json::from_str::<Vec<Party>>(r#"["boss"]"#).is_err());
}

#[test]
fn builtin_compat_workflows_are_valid() {
    for wf in [
        Workflow::collect(),
        Workflow::gipper(),
        Workflow::opennotes(),
        Workflow::serverops_case(),
        Workflow::storyden_report(),
    ] {
        let input = WorkflowInput {
            statuses: wf.statuses().to_vec(),
            transitions: wf.transitions().to_vec(),
            claimable: wf.claimable(),
            visibility: wf.visibility(),
            on_items: wf.on_items().clone(),
            ..Default::default()
        };
        assert_eq!(Workflow::new(input).unwrap(), wf);
    }
}

#[test]
fn gipper_completion_is_for_the_recipient_and_cancel_for_the_account() {
    let wf = Workflow::gipper();
    let owner = member(Role::Owner);
    let as_owner = Relation {
        principal: Some(&owner),
        is_requester: true,
        is_assignee: false,
        is_recipient: false,
    };
    let as_recipient = Relation {
        principal: None,
        is_requester: false,
        is_assignee: false,
        is_recipient: true,
    };
    assert!(matches!(
        wf.decide(&key("pending"), &key("completed"), &as_owner),
        Err(DomainError::TransitionForbidden { .. })
    ));
    assert!(wf
        .decide(&key("pending"), &key("completed"), &as_recipient)
        .is_ok());
    assert!(wf
        .decide(&key("pending"), &key("canceled"), &as_owner)
        .is_ok());
    assert!(matches!(
        wf.decide(&key("pending"), &key("canceled"), &as_recipient),
        Err(DomainError::TransitionForbidden { .. })
    ));
    assert!(matches!(
        wf.decide(&key("canceled"), &key("completed"), &as_recipient),
        Err(DomainError::InvalidTransition { .. })
    ));
}

#[test]
fn collect_lets_a_manager_set_any_status() {
    let wf = Workflow::collect();
    let owner = member(Role::Owner);
    let rel = Relation {
        principal: Some(&owner),
        is_requester: false,
        is_assignee: false,
        is_recipient: false,
    };
    for to in ["completed", "waiting", "canceled", "archived"] {
        assert!(wf.decide(&key("pending"), &key(to), &rel).is_ok());
        assert!(wf.decide(&key(to), &key("pending"), &rel).is_ok());
    }
}

#[test]
fn opennotes_requester_or_manager_may_set_any_status() {
    let w = Workflow::opennotes();
    let moderator = member(Role::Moderator);
    let member = member(Role::Member);
    for (from, to) in [
        ("COMPLETED", "PENDING"),
        ("PENDING", "FAILED"),
        ("FAILED", "IN_PROGRESS"),
    ] {
        assert_eq!(
            w.decide(&key(from), &key(to), &rel(&member, true, false)),
            Ok(())
        );
        assert_eq!(
            w.decide(&key(from), &key(to), &rel(&moderator, false, false)),
            Ok(())
        );
        assert!(matches!(
            w.decide(&key(from), &key(to), &rel(&member, false, true)),
            Err(DomainError::TransitionForbidden { .. })
        ));
    }
}

#[test]
fn storyden_members_may_only_resolve_their_own_reports() {
    let w = Workflow::storyden_report();
    let moderator = member(Role::Moderator);
    let member = member(Role::Member);
    assert_eq!(
        w.decide(
            &key("submitted"),
            &key("resolved"),
            &rel(&member, true, false)
        ),
        Ok(())
    );
    for (to, requester) in [
        ("resolved", false),
        ("acknowledged", true),
        ("acknowledged", false),
    ] {
        assert!(matches!(
            w.decide(&key("submitted"), &key(to), &rel(&member, requester, false)),
            Err(DomainError::TransitionForbidden { .. })
        ));
    }
    for (from, to) in [
        ("submitted", "acknowledged"),
        ("resolved", "submitted"),
        ("acknowledged", "resolved"),
    ] {
        assert_eq!(
            w.decide(&key(from), &key(to), &rel(&moderator, false, false)),
            Ok(())
        );
    }
}

#[test]
fn serverops_cases_move_freely_with_write_access_only() {
    let w = Workflow::serverops_case();
    let writer = member(Role::Member);
    assert_eq!(
        w.decide(&key("open"), &key("archived"), &rel(&writer, false, false)),
        Ok(())
    );
    let reader = Principal::for_token(
        WorkspaceId::new(),
        Some(Acting {
            id: MemberId::new(),
            role: Role::Owner,
        }),
        None,
        ScopeSet::of(&[Scope::RequestsRead]),
    );
    assert!(w
        .decide(&key("open"), &key("closed"), &rel(&reader, true, true))
        .is_err());
}

#[test]
fn judge_reports_whether_the_transition_taken_assigns_the_actor() {
    let w = Workflow::storyden_report();
    let moderator = member(Role::Moderator);
    let member = member(Role::Member);
    let assigns = |p: &Principal, requester: bool, to: &str| {
        w.judge(&key("submitted"), &key(to), &rel(p, requester, false))
            .map(|d| d.assigns_actor)
    };
    assert_eq!(assigns(&moderator, false, "acknowledged"), Ok(true));
    assert_eq!(
        assigns(&moderator, true, "resolved"),
        Ok(true),
        "any allowing transition that assigns"
    );
    assert_eq!(
        assigns(&member, true, "resolved"),
        Ok(false),
        "resolving as the requester"
    );
    assert!(assigns(&member, false, "resolved").is_err());
    assert_eq!(
        Workflow::general()
            .judge(&key("open"), &key("done"), &rel(&moderator, false, false))
            .map(|d| d.assigns_actor),
        Ok(false)
    );
}

#[test]
fn assigns_actor_round_trips_and_defaults_to_false() {
    let t: Transition =
        serde_json::from_str(r#"{"from": "*", "to": "done", "by": ["assignee"]}"#).unwrap();
    assert!(!t.assigns_actor);
    assert!(!serde_json::to_string(&t).unwrap().contains("assigns_actor"));
    let t: Transition = serde_json::from_str(
        r#"{"from": "*", "to": "done", "by": ["assignee"], "assigns_actor": true}"#,
    )
    .unwrap();
    assert!(t.assigns_actor);
}
