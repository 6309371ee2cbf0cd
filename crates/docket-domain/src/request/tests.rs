//! Unit tests of `request`.

use super::*;
use crate::access::{Acting, Role, ScopeSet};
use serde_json::json;

fn principal(role: Role) -> Principal {
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

#[test]
fn a_type_change_names_the_statuses_a_new_workflow_drops() {
    let at = crate::now() + chrono::TimeDelta::seconds(1);
    let t = general(WorkspaceId::new());
    let renamed = RequestTypeChange {
        name: Some("Renamed".into()),
        ..Default::default()
    }
    .apply(t.clone(), at);
    assert_eq!(renamed.next.name, "Renamed");
    assert!(renamed.dropped.is_empty() && !renamed.recategorise);
    assert_eq!(renamed.next.updated_at, at);
    // Gipper's workflow has none of the general one's statuses but `canceled`.
    let replaced = RequestTypeChange {
        workflow: Some(Workflow::gipper()),
        ..Default::default()
    }
    .apply(t, at);
    assert!(replaced.recategorise);
    let dropped: Vec<&str> = replaced.dropped.iter().map(StatusKey::as_str).collect();
    assert!(
        dropped.contains(&"open") && dropped.contains(&"waiting"),
        "{dropped:?}"
    );
    assert!(!dropped.contains(&"canceled"), "{dropped:?}");
    let refused = statuses_in_use(&replaced.dropped[..1]);
    assert!(matches!(
        refused,
        DomainError::Conflict {
            code: "status_in_use",
            ..
        }
    ));
}

fn general(ws: WorkspaceId) -> RequestType {
    RequestType {
        id: RequestTypeId::new(),
        workspace_id: ws,
        key: TypeKey::general(),
        name: "General".into(),
        description: String::new(),
        workflow: Workflow::general(),
        items: Vec::new(),
        created_at: crate::now(),
        updated_at: crate::now(),
    }
}

fn filed_by(p: &Principal) -> Request {
    let t = general(p.workspace_id);
    plan_create(
        p,
        &t,
        NewRequest {
            title: "Send the contract".into(),
            ..Default::default()
        },
        1,
        crate::now(),
    )
    .unwrap()
    .request
}

#[test]
fn new_requests_start_in_the_initial_status_with_a_created_event() {
    let p = principal(Role::Member);
    let t = general(p.workspace_id);
    let planned = plan_create(
        &p,
        &t,
        NewRequest {
            title: "  Hi  ".into(),
            ..Default::default()
        },
        7,
        crate::now(),
    )
    .unwrap();
    assert_eq!(planned.request.title, "Hi");
    assert_eq!(planned.request.status.as_str(), "open");
    assert_eq!(planned.request.number, 7);
    assert_eq!(planned.request.requester_id, p.member_id());
    assert_eq!(planned.event.kind, EventKind::Created);
}

#[test]
fn invalid_fields_are_all_reported() {
    let p = principal(Role::Member);
    let t = general(p.workspace_id);
    let input = NewRequest {
        title: " ".into(),
        tags: Some(vec!["".into()]),
        ..Default::default()
    };
    let DomainError::Validation(errs) = plan_create(&p, &t, input, 1, crate::now()).unwrap_err()
    else {
        panic!()
    };
    assert_eq!(errs.len(), 2);
}

#[test]
fn a_patch_that_changes_nothing_plans_nothing() {
    let p = principal(Role::Member);
    let r = filed_by(&p);
    let patch = RequestPatch {
        title: Some(r.title.clone()),
        status: Some(r.status.clone()),
        ..Default::default()
    };
    assert!(
        plan_update(&p, &r, &Workflow::general(), patch, None, crate::now())
            .unwrap()
            .is_none()
    );
}

#[test]
fn status_change_records_old_and_new_and_category() {
    let p = principal(Role::Moderator);
    let r = filed_by(&p);
    let patch = RequestPatch {
        status: Some(StatusKey::parse("done").unwrap()),
        ..Default::default()
    };
    let planned = plan_update(&p, &r, &Workflow::general(), patch, Some(1), crate::now())
        .unwrap()
        .unwrap();
    assert_eq!(planned.request.version, 2);
    assert_eq!(planned.request.category, Category::Done);
    let fields: Vec<&str> = planned
        .event
        .changes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(fields, ["status", "category"]);
    assert_eq!(planned.event.changes[0].old, json!("open"));
    assert_eq!(planned.event.changes[0].new, json!("done"));
}

#[test]
fn stale_if_match_is_refused() {
    let p = principal(Role::Owner);
    let r = filed_by(&p);
    let err = plan_update(
        &p,
        &r,
        &Workflow::general(),
        RequestPatch {
            title: Some("x".into()),
            ..Default::default()
        },
        Some(9),
        crate::now(),
    )
    .unwrap_err();
    assert_eq!(err, DomainError::PreconditionFailed { current: 1 });
}

#[test]
fn members_cannot_edit_or_assign_other_peoples_requests() {
    let owner = principal(Role::Owner);
    let r = filed_by(&owner);
    let other = member_of(&owner);
    let edit = RequestPatch {
        title: Some("mine now".into()),
        ..Default::default()
    };
    assert!(matches!(
        plan_update(&other, &r, &Workflow::general(), edit, None, crate::now()),
        Err(DomainError::Forbidden(_))
    ));
    let assign = RequestPatch {
        assignee_id: Patch::Set(MemberId::new()),
        ..Default::default()
    };
    assert!(matches!(
        plan_update(&other, &r, &Workflow::general(), assign, None, crate::now()),
        Err(DomainError::Forbidden(_))
    ));
    let take = || RequestPatch {
        assignee_id: Patch::Set(other.member_id().unwrap()),
        ..Default::default()
    };
    assert!(
        matches!(
            plan_update(&other, &r, &Workflow::general(), take(), None, crate::now()),
            Err(DomainError::Forbidden(_))
        ),
        "a member may not take someone else's unassigned request of a type that is not a claimable queue"
    );
    let queue = claimable(Workflow::general());
    assert!(
        plan_update(&other, &r, &queue, take(), None, crate::now())
            .unwrap()
            .is_some(),
        "but may take one of a claimable type"
    );
    // The requester may take their own unassigned request in any type.
    let mine = filed_by(&other);
    assert!(plan_update(
        &other,
        &mine,
        &Workflow::general(),
        take(),
        None,
        crate::now()
    )
    .unwrap()
    .is_some());
}

/// A new member of `p`'s workspace.
fn member_of(p: &Principal) -> Principal {
    Principal::for_token(
        p.workspace_id,
        Some(Acting {
            id: MemberId::new(),
            role: Role::Member,
        }),
        None,
        ScopeSet::empty(),
    )
}

fn claimable(w: Workflow) -> Workflow {
    Workflow::new(crate::workflow::WorkflowInput {
        statuses: w.statuses().to_vec(),
        transitions: w.transitions().to_vec(),
        claimable: true,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn requests_of_a_type_seen_by_their_own_people_are_not_found_by_others() {
    let owner = principal(Role::Owner);
    let r = filed_by(&owner);
    let member = member_of(&owner);
    let private = Workflow::storyden_report();
    let edit = || RequestPatch {
        title: Some("rewritten".into()),
        ..Default::default()
    };
    assert_eq!(
        plan_update(&member, &r, &private, edit(), None, crate::now()).unwrap_err(),
        DomainError::NotFound("request")
    );
    assert!(check_visible(&owner, &r, &private).is_ok());
    assert!(check_visible(&member, &r, &Workflow::general()).is_ok());
    let restriction = crate::query::Restriction {
        member: member.member_id(),
        types: vec![r.type_key.clone()],
    };
    assert!(restriction.hides(&r));
    let mut assigned = r.clone();
    assigned.assignee_id = member.member_id();
    assert!(!restriction.hides(&assigned));
    assert!(check_visible(&member, &assigned, &private).is_ok());
}

#[test]
fn data_merges_and_null_removes_a_key() {
    let p = principal(Role::Member);
    let t = general(p.workspace_id);
    let data = json!({"a": 1, "b": 2}).as_object().cloned();
    let r = plan_create(
        &p,
        &t,
        NewRequest {
            title: "x".into(),
            data,
            ..Default::default()
        },
        1,
        crate::now(),
    )
    .unwrap()
    .request;
    let patch = RequestPatch {
        data: json!({"a": null, "c": 3}).as_object().cloned(),
        ..Default::default()
    };
    let next = plan_update(&p, &r, &Workflow::general(), patch, None, crate::now())
        .unwrap()
        .unwrap()
        .request;
    assert_eq!(Value::Object(next.data), json!({"b": 2, "c": 3}));
}

#[test]
fn data_is_bounded() {
    let big = json!({"x": "y".repeat(limits::DATA_BYTES)});
    assert_eq!(
        validate_data(big.as_object().cloned().unwrap())
            .unwrap_err()
            .code,
        "too_large"
    );
    let mut deep = json!(1);
    for _ in 0..10 {
        deep = json!({"d": deep});
    }
    assert_eq!(
        validate_data(deep.as_object().cloned().unwrap())
            .unwrap_err()
            .code,
        "too_deep"
    );
}

#[test]
fn deleted_requests_are_gone() {
    let p = principal(Role::Member);
    let r = filed_by(&p);
    let deleted = plan_delete(&p, &r, None, crate::now()).unwrap().request;
    assert_eq!(
        plan_comment(&p, &deleted, "hello", Default::default(), crate::now()).unwrap_err(),
        DomainError::Gone
    );
}

#[test]
fn a_transition_that_assigns_its_taker_makes_the_caller_the_assignee() {
    let w = Workflow::storyden_report();
    let member = principal(Role::Member);
    let mut report = filed_by(&member);
    report.status = crate::workflow::StatusKey::parse("submitted").unwrap();
    let moderator = Principal::for_token(
        member.workspace_id,
        Some(Acting {
            id: MemberId::new(),
            role: Role::Moderator,
        }),
        None,
        ScopeSet::empty(),
    );
    let to = |s: &str| RequestPatch {
        status: Some(crate::workflow::StatusKey::parse(s).unwrap()),
        ..Default::default()
    };
    let planned = plan_update(
        &moderator,
        &report,
        &w,
        to("acknowledged"),
        None,
        crate::now(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(planned.request.assignee_id, moderator.member_id());
    let fields: Vec<&str> = planned
        .event
        .changes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(fields, ["assignee_id", "status", "category"]);

    // Naming an assignee in the same change wins over the claim.
    let other = MemberId::new();
    let named = RequestPatch {
        assignee_id: Patch::Set(other),
        ..to("resolved")
    };
    let planned = plan_update(&moderator, &report, &w, named, None, crate::now())
        .unwrap()
        .unwrap();
    assert_eq!(planned.request.assignee_id, Some(other));

    // The requester resolving their own report takes the transition that does not assign.
    let planned = plan_update(&member, &report, &w, to("resolved"), None, crate::now())
        .unwrap()
        .unwrap();
    assert_eq!(planned.request.assignee_id, None);
    // And a refused move assigns nobody.
    assert!(plan_update(&member, &report, &w, to("acknowledged"), None, crate::now()).is_err());
}
