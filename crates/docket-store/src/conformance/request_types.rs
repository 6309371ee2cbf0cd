//! Conformance checks: request types.

use super::{
    create_workspace, edit_workflow, everything, expect_conflict, expect_invalid, expect_not_found,
    expect_titles, file_request, file_request_at, move_request, new_request_type, patch_request,
    status_key, titled, type_key, workflow_change, TestWorkspace,
};
use crate::{ExternalKey, RequestTypeChange, Store};
use docket_domain::now;
use docket_domain::query::{RequestQuery, MAX_LIMIT};
use docket_domain::request::{plan_create, RequestPatch, TypeKey};
use docket_domain::workflow::{Category, Workflow};
use std::collections::BTreeSet;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Request types
// ---------------------------------------------------------------------------------------

/// A new workflow may not drop a status a request of the workspace is in
/// (`status_in_use`, nothing changes); dropping an unused status works, and another
/// workspace's requests do not count.
pub async fn workflow_change_cannot_drop_a_status_in_use(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "wf-a").await;
    let b = create_workspace(&*store, "wf-b").await;
    let p = a.owner_principal();
    let general = TypeKey::general();
    let request = file_request(&*store, &p, titled("Waiting on the vendor")).await;
    move_request(&*store, &p, request.id, "waiting").await;
    file_request(&*store, &b.owner_principal(), titled("Still open")).await;

    let without_waiting = edit_workflow(&Workflow::general(), &["waiting"], &[], &[]);
    let result = store
        .update_request_type(
            a.id(),
            &general,
            workflow_change(without_waiting.clone()),
            now(),
        )
        .await;
    expect_conflict(result, "status_in_use", "dropping a status a request is in");
    let stored = store
        .get_request_type(a.id(), &general)
        .await
        .expect("get type")
        .expect("general exists");
    assert_eq!(
        stored.workflow,
        Workflow::general(),
        "a refused change changes nothing"
    );

    let updated = store
        .update_request_type(
            b.id(),
            &general,
            workflow_change(without_waiting.clone()),
            now(),
        )
        .await
        .expect("another workspace's requests do not block dropping a status");
    assert_eq!(updated.workflow, without_waiting);

    let without_canceled = edit_workflow(&Workflow::general(), &["canceled"], &[], &[]);
    let at = now();
    let updated = store
        .update_request_type(
            a.id(),
            &general,
            workflow_change(without_canceled.clone()),
            at,
        )
        .await
        .expect("dropping an unused status");
    assert_eq!(updated.workflow, without_canceled);
    assert_eq!(updated.updated_at, at);
    assert_eq!(
        store
            .get_request_type(a.id(), &general)
            .await
            .expect("get type"),
        Some(updated),
        "the new workflow is stored"
    );

    let renamed = store
        .update_request_type(
            a.id(),
            &general,
            RequestTypeChange {
                name: Some("Anything".into()),
                ..Default::default()
            },
            now(),
        )
        .await
        .expect("renaming a type");
    assert_eq!(
        (renamed.name.as_str(), &renamed.workflow),
        ("Anything", &without_canceled),
        "a rename keeps the workflow"
    );
    let missing = store
        .update_request_type(
            a.id(),
            &type_key("nope"),
            RequestTypeChange::default(),
            now(),
        )
        .await;
    expect_not_found(missing, "changing a type that does not exist");
}

/// Moves are judged by the workflow as it is now: a status added by a change can be
/// entered at once, even when two changes share a timestamp; a dropped status cannot; and
/// a status whose category changes takes its requests with it.
pub async fn moves_follow_the_current_workflow(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "wf-live").await;
    let p = s.owner_principal();
    let general = TypeKey::general();
    let first = file_request(&*store, &p, titled("Review the budget")).await;
    let second = file_request(&*store, &p, titled("Review the roadmap")).await;
    let third = file_request(&*store, &p, titled("Plan the offsite")).await;

    let at = now();
    let with_review = edit_workflow(
        &Workflow::general(),
        &[],
        &[("review", Category::InProgress)],
        &[("open", "review")],
    );
    store
        .update_request_type(s.id(), &general, workflow_change(with_review.clone()), at)
        .await
        .expect("add review");
    let moved = move_request(&*store, &p, first.id, "review").await;
    assert_eq!(moved.category, Category::InProgress);

    // A second change within the same microsecond must not be hidden by a cached workflow.
    let with_approved = edit_workflow(
        &with_review,
        &[],
        &[("approved", Category::Done)],
        &[("review", "approved")],
    );
    store
        .update_request_type(s.id(), &general, workflow_change(with_approved.clone()), at)
        .await
        .expect("add approved");
    let moved = move_request(&*store, &p, first.id, "approved").await;
    assert_eq!(moved.category, Category::Done);

    // Changing a status's category moves its requests' category (and list filters) along,
    // and bumps their version: their representation (and so their ETag) changed.
    let in_review = move_request(&*store, &p, second.id, "review").await;
    let review_waits = edit_workflow(&with_approved, &[], &[("review", Category::Waiting)], &[]);
    store
        .update_request_type(
            s.id(),
            &general,
            workflow_change(review_waits.clone()),
            now(),
        )
        .await
        .expect("recategorise review");
    let stored = store
        .get_request(s.id(), second.id)
        .await
        .expect("get request")
        .expect("exists");
    assert_eq!(
        stored.category,
        Category::Waiting,
        "requests follow their status's new category"
    );
    assert!(
        stored.version > in_review.version,
        "a recategorised request gets a new version ({} then {})",
        in_review.version,
        stored.version
    );
    let waiting = RequestQuery {
        categories: vec![Category::Waiting],
        ..everything()
    };
    expect_titles(
        &*store,
        s.id(),
        "category waiting",
        waiting,
        &["Review the roadmap"],
    )
    .await;

    // A dropped status can no longer be entered.
    let without_canceled = edit_workflow(&review_waits, &["canceled"], &[], &[]);
    store
        .update_request_type(s.id(), &general, workflow_change(without_canceled), now())
        .await
        .expect("drop canceled");
    let patch = RequestPatch {
        status: Some(status_key("canceled")),
        ..Default::default()
    };
    expect_invalid(
        patch_request(&*store, &p, third.id, patch).await,
        "status",
        "moving to a dropped status",
    );
}

/// Request type keys are unique in a workspace (`type_exists`) but not across workspaces.
pub async fn request_type_keys_are_unique_per_workspace(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "types-a").await;
    let b = create_workspace(&*store, "types-b").await;
    let purchase = new_request_type(a.id(), "purchase", Workflow::general());
    assert_eq!(
        store
            .insert_request_type(purchase.clone())
            .await
            .expect("insert type"),
        purchase
    );
    assert_eq!(
        store
            .get_request_type(a.id(), &purchase.key)
            .await
            .expect("get type"),
        Some(purchase.clone())
    );
    let again = new_request_type(a.id(), "purchase", Workflow::general());
    expect_conflict(
        store.insert_request_type(again).await,
        "type_exists",
        "a second type with the same key",
    );
    expect_conflict(
        store
            .insert_request_type(new_request_type(a.id(), "general", Workflow::general()))
            .await,
        "type_exists",
        "a second general type",
    );
    store
        .insert_request_type(new_request_type(b.id(), "purchase", Workflow::general()))
        .await
        .expect("the same key in another workspace");
    let keys: BTreeSet<String> = store
        .list_request_types(a.id())
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.key.as_str().to_owned())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["general".to_owned(), "purchase".to_owned()]),
        "A lists both its types"
    );

    let (request, _) = file_request_at(
        &*store,
        &a.owner_principal(),
        &purchase.key,
        titled("New laptop"),
        now(),
    )
    .await;
    assert_eq!(
        (request.type_key, request.type_id, request.number),
        (purchase.key, purchase.id, 1),
        "a request of a custom type"
    );
}

/// An external key names one request per workspace and key space: a second create with the
/// same key is `external_key_taken` and stores nothing (no request, no number used); the
/// same key is free in another space or another workspace; the key finds its request.
pub async fn external_keys_are_unique_per_workspace_and_space(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "extkey-a").await;
    let b = create_workspace(&*store, "extkey-b").await;
    let key = |space: &str, k: &str| ExternalKey {
        space: space.to_owned(),
        key: k.to_owned(),
    };
    let create = |ws: &TestWorkspace, k: ExternalKey, title: &str| {
        let p = ws.owner_principal();
        let input = titled(title);
        let store = store.clone();
        async move {
            store
                .create_request_with_key(
                    p.workspace_id,
                    &TypeKey::general(),
                    k,
                    Box::new(move |t, n| plan_create(&p, t, input, n, now())),
                )
                .await
        }
    };
    let (first, _) = create(&a, key("notes", "req-1"), "First")
        .await
        .expect("create with a new key");
    assert_eq!(
        store
            .request_by_external_key(a.id(), &key("notes", "req-1"))
            .await
            .expect("look up the key")
            .map(|r| r.id),
        Some(first.id)
    );
    expect_conflict(
        create(&a, key("notes", "req-1"), "Again").await,
        "external_key_taken",
        "the same key twice in one workspace",
    );
    let page = store
        .list_requests(
            a.id(),
            &RequestQuery {
                limit: MAX_LIMIT,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1, "the refused create stored nothing");
    let (other_space, _) = create(&a, key("cases", "req-1"), "Other space")
        .await
        .expect("the same key in another space");
    assert_eq!(other_space.number, 2, "the refused create used no number");
    create(&b, key("notes", "req-1"), "Other workspace")
        .await
        .expect("the same key in another workspace");
    assert_eq!(
        store
            .request_by_external_key(b.id(), &key("notes", "missing"))
            .await
            .expect("look up a missing key"),
        None
    );
    assert_eq!(
        store
            .request_by_external_key(b.id(), &key("notes", "req-1"))
            .await
            .expect("look up in B")
            .map(|r| r.title),
        Some("Other workspace".to_owned())
    );
}
