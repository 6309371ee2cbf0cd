//! Conformance checks: requests.

use super::{
    add_member, changed, create_workspace, everything, expect_invalid, expect_not_found,
    expect_titles, fields, file_request, file_request_at, new_request_type, patch_request,
    patch_request_at, status_key, titled, type_key,
};
use crate::{Applied, MemberChange, RequestTypeChange, Store, StoreError};
use chrono::TimeDelta;
use docket_domain::access::Role;
use docket_domain::event::EventKind;
use docket_domain::ids::RequestId;
use docket_domain::query::{Direction, RequestQuery, SortKey};
use docket_domain::request::{
    plan_create, plan_update, NewRequest, Patch, RequestPatch, Subject, TypeKey,
};
use docket_domain::workflow::{Category, Workflow};
use docket_domain::{now, DomainError};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// Request numbers are 1, 2, 3, … in each workspace, independently, and a create that is
/// refused does not use up a number.
pub async fn request_numbers_are_sequential_per_workspace(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "num-a").await;
    let b = create_workspace(&*store, "num-b").await;
    let (pa, pb) = (a.owner_principal(), b.owner_principal());

    let mut numbers_a = Vec::new();
    let mut numbers_b = Vec::new();
    for i in 0..3 {
        numbers_a.push(
            file_request(&*store, &pa, titled(&format!("A{i}")))
                .await
                .number,
        );
        numbers_b.push(
            file_request(&*store, &pb, titled(&format!("B{i}")))
                .await
                .number,
        );
    }
    assert_eq!(
        numbers_a,
        [1, 2, 3],
        "workspace A numbers its requests from 1"
    );
    assert_eq!(
        numbers_b,
        [1, 2, 3],
        "workspace B numbers its requests from 1, whatever A does"
    );

    // Refused creates (unknown type, invalid input) leave no gap.
    let result = store
        .create_request(
            a.id(),
            &type_key("nope"),
            Box::new(|_, _| panic!("planned an unknown type")),
        )
        .await;
    expect_invalid(result, "type", "creating a request of an unknown type");
    let p = pa.clone();
    let result = store
        .create_request(
            a.id(),
            &TypeKey::general(),
            Box::new(move |t, n| plan_create(&p, t, titled("   "), n, now())),
        )
        .await;
    expect_invalid(result, "title", "creating a request without a title");
    assert_eq!(
        file_request(&*store, &pa, titled("A3")).await.number,
        4,
        "refused creates use up no number"
    );
}

/// Creating a request with a type key the workspace does not have is a validation error
/// on `type`, and stores nothing.
pub async fn unknown_request_type_is_a_validation_error(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "unknown-type").await;
    let p = s.owner_principal();
    let result = store
        .create_request(
            s.id(),
            &type_key("photo_request"),
            Box::new(move |t, n| plan_create(&p, t, titled("Shoot"), n, now())),
        )
        .await;
    expect_invalid(result, "type", "creating a request of an unknown type");
    expect_titles(
        &*store,
        s.id(),
        "after the refused create",
        everything(),
        &[],
    )
    .await;
}

/// Every field of a request is stored as planned and read back unchanged, and the created
/// event is in its timeline.
pub async fn requests_read_back_as_written(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "roundtrip").await;
    let p = s.owner_principal();
    let ana = add_member(
        &*store,
        s.id(),
        "ana@roundtrip.example",
        "Ana",
        Role::Member,
    )
    .await;
    let data = serde_json::json!({"asset": "PRN-4471", "floor": 3, "nested": {"ok": true, "list": [1, "two", null]}, "ünï": "çødé"});
    let input = NewRequest {
        title: "Printer on fire".into(),
        description: Some("Third floor, next to the kitchen.\nPlease hurry ✨".into()),
        assignee_id: Some(ana.id),
        due_at: Some(now() + TimeDelta::days(2)),
        data: data.as_object().cloned(),
        tags: Some(vec!["hardware".into(), "urgent".into()]),
        subject: Some(Subject {
            kind: "asset".into(),
            id: "PRN-4471".into(),
        }),
        items: None,
    };
    let (request, created) = file_request_at(&*store, &p, &TypeKey::general(), input, now()).await;
    assert_eq!(request.version, 1);
    assert_eq!(request.workspace_id, s.id());
    assert_eq!(
        store
            .get_request(s.id(), request.id)
            .await
            .expect("get request"),
        Some(request.clone()),
        "the stored request equals the planned one"
    );
    assert_eq!(created.kind, EventKind::Created);
    assert_eq!(created.request_id, request.id);
    let timeline = store
        .timeline(s.id(), request.id, None, 100)
        .await
        .expect("timeline");
    assert_eq!(
        timeline,
        vec![created],
        "the timeline holds the created event as returned"
    );
    assert_eq!(
        store
            .get_request(s.id(), RequestId::new())
            .await
            .expect("get request"),
        None,
        "an unknown id is not found"
    );
}

/// Nothing crosses a workspace: asked with another workspace's id, a request, member,
/// token or request type is not found, lists do not show it, and writes are `NotFound`
/// without running the plan.
pub async fn workspaces_are_isolated(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "iso-a").await;
    let b = create_workspace(&*store, "iso-b").await;
    let pa = a.owner_principal();
    let request = file_request(&*store, &pa, titled("Secret merger plans")).await;
    let purchase = store
        .insert_request_type(new_request_type(a.id(), "purchase", Workflow::general()))
        .await
        .expect("insert a request type");

    // Reads.
    assert_eq!(
        store
            .get_request(b.id(), request.id)
            .await
            .expect("get request"),
        None,
        "A's request from B"
    );
    assert_eq!(
        store
            .get_member(b.id(), a.owner.id)
            .await
            .expect("get member"),
        None,
        "A's owner from B"
    );
    assert_eq!(
        store
            .member_by_email(b.id(), &a.owner.email)
            .await
            .expect("by email"),
        None,
        "A's owner by email from B"
    );
    assert_eq!(
        store
            .get_token(b.id(), a.token.id)
            .await
            .expect("get token"),
        None,
        "A's token from B"
    );
    assert_eq!(
        store
            .get_request_type(b.id(), &purchase.key)
            .await
            .expect("get type"),
        None,
        "A's request type from B"
    );
    let b_types: Vec<TypeKey> = store
        .list_request_types(b.id())
        .await
        .expect("list types")
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(
        b_types,
        vec![TypeKey::general()],
        "B lists only its own types"
    );
    assert_eq!(
        store.list_members(b.id()).await.expect("list members"),
        vec![b.owner.clone()],
        "B lists only its own members"
    );
    assert_eq!(
        store.list_tokens(b.id(), None).await.expect("list tokens"),
        vec![b.token.clone()],
        "B lists only its own tokens"
    );
    assert_eq!(
        store
            .list_tokens(b.id(), Some(a.owner.id))
            .await
            .expect("list tokens"),
        Vec::new(),
        "B lists no tokens for A's owner"
    );
    assert_eq!(
        store
            .timeline(b.id(), request.id, None, 100)
            .await
            .expect("timeline"),
        Vec::new(),
        "A's timeline from B"
    );
    expect_titles(&*store, b.id(), "B's requests", everything(), &[]).await;
    let search = RequestQuery {
        text: Some("merger".into()),
        ..everything()
    };
    expect_titles(&*store, b.id(), "a search in B for A's words", search, &[]).await;

    // Writes.
    let planned = Arc::new(AtomicBool::new(false));
    let (flag, p) = (planned.clone(), pa.clone());
    let result = store
        .change_request(
            b.id(),
            request.id,
            Box::new(move |current, t| {
                flag.store(true, Ordering::SeqCst);
                plan_update(
                    &p,
                    current,
                    &t.workflow,
                    RequestPatch {
                        title: Some("Leaked".into()),
                        ..Default::default()
                    },
                    None,
                    now(),
                )
            }),
        )
        .await;
    expect_not_found(result, "changing A's request through B");
    assert!(
        !planned.load(Ordering::SeqCst),
        "the plan never sees another workspace's request"
    );
    assert_eq!(
        store
            .get_request(a.id(), request.id)
            .await
            .expect("get request"),
        Some(request.clone()),
        "A's request is untouched"
    );

    let result = store
        .update_member(
            b.id(),
            a.owner.id,
            MemberChange {
                role: Some(Role::Member),
                ..Default::default()
            },
        )
        .await;
    expect_not_found(result, "changing A's owner through B");
    assert_eq!(
        store
            .get_member(a.id(), a.owner.id)
            .await
            .expect("get member"),
        Some(a.owner.clone()),
        "A's owner is untouched"
    );

    expect_not_found(
        store.revoke_token(b.id(), a.token.id, now()).await,
        "revoking A's token through B",
    );
    assert_eq!(
        store
            .get_token(a.id(), a.token.id)
            .await
            .expect("get token")
            .and_then(|t| t.revoked_at),
        None,
        "A's token is not revoked"
    );

    let result = store
        .update_request_type(
            b.id(),
            &purchase.key,
            RequestTypeChange {
                name: Some("Stolen".into()),
                ..Default::default()
            },
            now(),
        )
        .await;
    expect_not_found(result, "changing A's request type through B");
    let result = store
        .create_request(
            b.id(),
            &purchase.key,
            Box::new(|_, _| panic!("planned with another workspace's type")),
        )
        .await;
    expect_invalid(result, "type", "creating a request in B with A's type");

    // References across workspaces are refused.
    let p = pa.clone();
    let b_owner = b.owner.id;
    let input = NewRequest {
        title: "Assigned abroad".into(),
        assignee_id: Some(b_owner),
        ..Default::default()
    };
    let result = store
        .create_request(
            a.id(),
            &TypeKey::general(),
            Box::new(move |t, n| plan_create(&p, t, input, n, now())),
        )
        .await;
    expect_invalid(
        result,
        "assignee_id",
        "assigning a new request to another workspace's member",
    );
    let patch = RequestPatch {
        assignee_id: Patch::Set(b_owner),
        ..Default::default()
    };
    expect_invalid(
        patch_request(&*store, &pa, request.id, patch).await,
        "assignee_id",
        "assigning a request to another workspace's member",
    );
    assert_eq!(
        store
            .get_request(a.id(), request.id)
            .await
            .expect("get request"),
        Some(request),
        "A's request is untouched"
    );
}

/// A change planned by `plan_update` bumps the version, returns the event naming the field,
/// and the timeline lists the created event and then the updated one.
pub async fn change_request_bumps_version_and_appends_event(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "change").await;
    let p = s.owner_principal();
    let (request, created) = file_request_at(
        &*store,
        &p,
        &TypeKey::general(),
        titled("Fix the door"),
        now(),
    )
    .await;

    let patch = RequestPatch {
        title: Some("Fix the front door".into()),
        ..Default::default()
    };
    let (updated, event) = changed(
        patch_request_at(&*store, &p, request.id, patch, Some(1), now()).await,
        "changing the title",
    );
    assert_eq!(updated.version, 2, "a change bumps the version");
    assert_eq!(updated.title, "Fix the front door");
    assert_eq!(event.kind, EventKind::Updated);
    assert_eq!(event.request_id, request.id);
    assert_eq!(
        fields(&event),
        ["title"],
        "the event names the changed field"
    );
    assert_eq!(event.changes[0].old, serde_json::json!("Fix the door"));
    assert_eq!(
        event.changes[0].new,
        serde_json::json!("Fix the front door")
    );
    assert_eq!(event.actor.member_id, Some(s.owner.id));
    assert_eq!(event.actor.token_id, Some(s.token.id));
    assert_eq!(
        store
            .get_request(s.id(), request.id)
            .await
            .expect("get request"),
        Some(updated.clone()),
        "the stored request is the changed one"
    );

    let timeline = store
        .timeline(s.id(), request.id, None, 100)
        .await
        .expect("timeline");
    assert_eq!(
        timeline,
        vec![created.clone(), event.clone()],
        "the timeline is the created event, then the update"
    );
    assert!(created.seq < event.seq, "events are ordered by seq");

    let (moved, status_event) = {
        let patch = RequestPatch {
            status: Some(status_key("done")),
            ..Default::default()
        };
        changed(
            patch_request_at(&*store, &p, request.id, patch, Some(2), now()).await,
            "closing the request",
        )
    };
    assert_eq!(
        (moved.version, moved.status.as_str(), moved.category),
        (3, "done", Category::Done)
    );
    assert_eq!(fields(&status_event), ["status", "category"]);

    let timeline = store
        .timeline(s.id(), request.id, None, 100)
        .await
        .expect("timeline");
    let kinds: Vec<EventKind> = timeline.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::Created, EventKind::Updated, EventKind::Updated]
    );
    let after_first = store
        .timeline(s.id(), request.id, Some(created.seq), 100)
        .await
        .expect("timeline");
    assert_eq!(
        after_first,
        vec![event.clone(), status_event.clone()],
        "after_seq skips the events up to it"
    );
    let first_two = store
        .timeline(s.id(), request.id, None, 2)
        .await
        .expect("timeline");
    assert_eq!(
        first_two,
        vec![created, event],
        "limit keeps the earliest events"
    );
}

/// A patch that changes nothing is `Applied::Unchanged`: no new version, no event.
pub async fn unchanged_patch_adds_no_event(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "noop").await;
    let p = s.owner_principal();
    let request = file_request(&*store, &p, titled("Water the plants")).await;
    let patch = RequestPatch {
        title: Some("Water the plants".into()),
        status: Some(status_key("open")),
        ..Default::default()
    };
    match patch_request(&*store, &p, request.id, patch).await {
        Ok(Applied::Unchanged(r)) => {
            assert_eq!(r, request, "Unchanged carries the request as it is")
        }
        other => panic!("a patch that changes nothing: expected Applied::Unchanged, got {other:?}"),
    }
    assert_eq!(
        store
            .get_request(s.id(), request.id)
            .await
            .expect("get request"),
        Some(request.clone()),
        "the version did not move"
    );
    assert_eq!(
        store
            .timeline(s.id(), request.id, None, 100)
            .await
            .expect("timeline")
            .len(),
        1,
        "no event was added"
    );
}

/// Twenty concurrent changes all made against version 1: exactly one wins, the others are
/// `PreconditionFailed` naming the current version, and the winner's title stays.
pub async fn concurrent_conflicting_changes_let_exactly_one_win(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "race").await;
    let p = s.owner_principal();
    let request = file_request(&*store, &p, titled("Original title")).await;
    let id = request.id;

    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, p) = (store.clone(), p.clone());
            tokio::spawn(async move {
                let title = format!("Title from writer {i}");
                let patch = RequestPatch {
                    title: Some(title.clone()),
                    ..Default::default()
                };
                (
                    title,
                    patch_request_at(&*store, &p, id, patch, Some(1), now()).await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("the writer task finished") {
            (title, Ok(Applied::Changed { request, .. })) => winners.push((title, request)),
            (_, Err(StoreError::Domain(DomainError::PreconditionFailed { current }))) => {
                assert_eq!(current, 2, "the refusal names the version that won");
                refused += 1;
            }
            (_, other) => {
                panic!("a concurrent change: expected Changed or PreconditionFailed, got {other:?}")
            }
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one change against version 1 wins"
    );
    assert_eq!(refused, 19, "every other change is refused");
    let (title, won) = winners.pop().expect("a winner");
    let stored = store
        .get_request(s.id(), request.id)
        .await
        .expect("get request")
        .expect("the request exists");
    assert_eq!(stored.title, title, "the winner's title is kept");
    assert_eq!(stored, won);
    assert_eq!(stored.version, 2);
    assert_eq!(
        store
            .timeline(s.id(), request.id, None, 100)
            .await
            .expect("timeline")
            .len(),
        2,
        "one update event"
    );
}

/// Fifty concurrent creates in one workspace get the numbers 1..=50, each once.
pub async fn concurrent_creates_get_distinct_numbers(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "burst").await;
    let p = s.owner_principal();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, p) = (store.clone(), p.clone());
            tokio::spawn(
                async move { file_request(&*store, &p, titled(&format!("Burst {i}"))).await },
            )
        })
        .collect();
    let mut numbers = Vec::new();
    let mut ids = HashSet::new();
    for task in tasks {
        let request = task.await.expect("the create task finished");
        numbers.push(request.number);
        ids.insert(request.id);
    }
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=50).collect::<Vec<i64>>(),
        "50 concurrent creates are numbered 1..=50"
    );
    assert_eq!(ids.len(), 50);
    let page = store
        .list_requests(
            s.id(),
            &RequestQuery {
                sort: SortKey::Number,
                direction: Direction::Asc,
                ..everything()
            },
        )
        .await
        .expect("list");
    let listed: Vec<i64> = page.items.iter().map(|r| r.number).collect();
    assert_eq!(listed, (1..=50).collect::<Vec<i64>>(), "all 50 are listed");
}
