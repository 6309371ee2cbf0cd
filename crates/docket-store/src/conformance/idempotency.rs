//! Conformance checks: idempotency keys, races between writers, search and visibility.

use super::{
    add_member, changed, create_workspace, edit_workflow, everything, expect_conflict,
    expect_titles, file_request, file_request_at, move_request, new_request_type, patch_request,
    principal_for, random_bytes, status_key, titled, workflow_change,
};
use crate::{Applied, IdempotencyClaim, MemberChange, Store, StoreError, StoredResponse};
use docket_domain::access::{Principal, Role};
use docket_domain::query::{RequestQuery, Restriction, MAX_LIMIT};
use docket_domain::request::{plan_update, Patch, RequestPatch, TypeKey};
use docket_domain::workflow::Workflow;
use docket_domain::{now, DomainError};
use std::collections::BTreeSet;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Idempotency keys
// ---------------------------------------------------------------------------------------

/// An idempotency key is claimed once; a retry while it runs is in flight; a finished one
/// replays its response; another request under the same key is a mismatch; a released
/// claim can be claimed again; scopes are separate.
pub async fn idempotency_keys_claim_replay_and_release(store: Arc<dyn Store>) {
    let (scope, other_scope) = (random_bytes(), random_bytes());
    let (fingerprint, other_fingerprint) = (random_bytes(), random_bytes());
    let key = "create-7f3a";
    let claim = |scope: [u8; 32], key: &'static str, fingerprint: [u8; 32]| {
        let store = store.clone();
        async move {
            store
                .idempotency_claim(scope, key, fingerprint, now())
                .await
                .expect("claim")
        }
    };

    assert_eq!(
        claim(scope, key, fingerprint).await,
        IdempotencyClaim::New,
        "the first claim"
    );
    assert_eq!(
        claim(scope, key, fingerprint).await,
        IdempotencyClaim::InFlight,
        "a retry while the first runs"
    );
    assert_eq!(
        claim(other_scope, key, fingerprint).await,
        IdempotencyClaim::New,
        "the same key under another scope"
    );

    let body = br#"{"id":"r1","number":1}"#;
    let stored = StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        headers: vec![
            ("location".into(), "/api/v1/requests/r1".into()),
            ("etag".into(), "\"1\"".into()),
        ],
        body: body.to_vec(),
    };
    store
        .idempotency_complete(scope, key, stored.clone())
        .await
        .expect("complete");
    let replay = IdempotencyClaim::Replay(stored);
    assert_eq!(
        claim(scope, key, fingerprint).await,
        replay,
        "a retry after completion replays the response"
    );
    assert_eq!(
        claim(scope, key, other_fingerprint).await,
        IdempotencyClaim::Mismatch,
        "another request under the same key"
    );

    store
        .idempotency_release(scope, key)
        .await
        .expect("release");
    assert_eq!(
        claim(scope, key, fingerprint).await,
        replay,
        "releasing does not forget a finished response"
    );

    let failing = "create-failing";
    assert_eq!(
        claim(scope, failing, fingerprint).await,
        IdempotencyClaim::New
    );
    store
        .idempotency_release(scope, failing)
        .await
        .expect("release");
    assert_eq!(
        claim(scope, failing, fingerprint).await,
        IdempotencyClaim::New,
        "a released claim can be claimed again"
    );
    assert_eq!(
        claim(other_scope, key, fingerprint).await,
        IdempotencyClaim::InFlight,
        "other scopes are unaffected"
    );
}

/// Twenty concurrent first claims of one key (a client retrying fast, or retries landing
/// on different nodes): exactly one runs the operation, the others see it in flight.
pub async fn concurrent_idempotency_claims_let_exactly_one_run(store: Arc<dyn Store>) {
    let (scope, fingerprint) = (random_bytes(), random_bytes());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .idempotency_claim(scope, "race-key", fingerprint, now())
                    .await
                    .expect("claim")
            })
        })
        .collect();
    let mut claims = Vec::new();
    for task in tasks {
        claims.push(task.await.expect("the claim task finished"));
    }
    let new = claims
        .iter()
        .filter(|c| **c == IdempotencyClaim::New)
        .count();
    let in_flight = claims
        .iter()
        .filter(|c| **c == IdempotencyClaim::InFlight)
        .count();
    assert_eq!(new, 1, "exactly one claim runs the operation: {claims:?}");
    assert_eq!(in_flight, 19, "every other claim waits for it: {claims:?}");
}

/// Ten requests moving into `waiting` while the workflow drops `waiting`, all at once:
/// whichever order the backend serialises them in, no request ends in a status its
/// workflow no longer has.
pub async fn moves_racing_a_workflow_change_never_strand_a_request(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "wf-race").await;
    let p = s.owner_principal();
    let mut ids = Vec::new();
    for i in 0..10 {
        let request = file_request(&*store, &p, titled(&format!("Racer {i}"))).await;
        move_request(&*store, &p, request.id, "in_progress").await;
        ids.push(request.id);
    }
    let without_waiting = edit_workflow(&Workflow::general(), &["waiting"], &[], &[]);
    let ws = s.id();
    let change = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .update_request_type(
                    ws,
                    &TypeKey::general(),
                    workflow_change(without_waiting),
                    now(),
                )
                .await
        })
    };
    let moves: Vec<_> = ids
        .iter()
        .map(|&id| {
            let (store, p) = (store.clone(), p.clone());
            tokio::spawn(async move {
                let patch = RequestPatch {
                    status: Some(status_key("waiting")),
                    ..Default::default()
                };
                patch_request(&*store, &p, id, patch).await
            })
        })
        .collect();
    for task in moves {
        match task.await.expect("the move task finished") {
            Ok(Applied::Changed { .. }) | Err(StoreError::Domain(_)) => {}
            other => panic!("a racing move: expected Changed or a refusal, got {other:?}"),
        }
    }
    match change.await.expect("the change task finished") {
        Ok(_) => {}
        Err(StoreError::Domain(DomainError::Conflict {
            code: "status_in_use",
            ..
        })) => {}
        other => panic!("the racing workflow change: expected Ok or status_in_use, got {other:?}"),
    }
    let workflow = store
        .get_request_type(s.id(), &TypeKey::general())
        .await
        .expect("get type")
        .expect("general exists")
        .workflow;
    for id in ids {
        let request = store
            .get_request(s.id(), id)
            .await
            .expect("get request")
            .expect("the request exists");
        assert!(
            workflow
                .statuses()
                .iter()
                .any(|st| st.key == request.status),
            "request {id} is in {}, which its workflow no longer has",
            request.status.as_str()
        );
    }
}

/// Search folds case and accents beyond ASCII, on both sides: "cafe" finds "Café",
/// "CRÈME" finds "crème", "élan" finds "ELAN", and words split on punctuation.
pub async fn text_search_ignores_case_and_accents(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "accents").await;
    let p = s.owner_principal();
    let ws = s.id();
    file_request(&*store, &p, titled("Café crème for the ÉQUIPE")).await;
    file_request(&*store, &p, titled("ELAN vital; naïve-approach")).await;
    let search = |text: &str| RequestQuery {
        text: Some(text.to_owned()),
        ..everything()
    };
    let cafe = &["Café crème for the ÉQUIPE"];
    let elan = &["ELAN vital; naïve-approach"];
    expect_titles(&*store, ws, "search: cafe", search("cafe"), cafe).await;
    expect_titles(&*store, ws, "search: CRÈME", search("CRÈME"), cafe).await;
    expect_titles(&*store, ws, "search: equipe", search("equipe"), cafe).await;
    expect_titles(&*store, ws, "search: équ (prefix)", search("équ"), cafe).await;
    expect_titles(&*store, ws, "search: élan", search("élan"), elan).await;
    expect_titles(&*store, ws, "search: naive", search("naive"), elan).await;
    expect_titles(&*store, ws, "search: approach", search("approach"), elan).await;
}

/// A workspace keeps an owner: demoting the last one is `last_owner`, and two concurrent
/// demotions of the last two owners let exactly one through.
pub async fn the_last_owner_cannot_be_demoted_even_concurrently(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "owners").await;
    let to_admin = || MemberChange {
        role: Some(Role::Admin),
        ..Default::default()
    };
    expect_conflict(
        store.update_member(s.id(), s.owner.id, to_admin()).await,
        "last_owner",
        "demoting the only owner",
    );

    for round in 0..5 {
        let email = format!("co-owner-{round}@owners.example");
        let co = add_member(&*store, s.id(), &email, "Co", Role::Owner).await;
        let owners = [s.owner.id, co.id];
        let attempts = owners.map(|id| {
            let store = store.clone();
            let ws = s.id();
            tokio::spawn(async move { store.update_member(ws, id, to_admin()).await })
        });
        let mut demoted = Vec::new();
        for (id, attempt) in owners.into_iter().zip(attempts) {
            match attempt.await.expect("task") {
                Ok(_) => demoted.push(id),
                other => expect_conflict(other, "last_owner", "the second demotion"),
            }
        }
        assert_eq!(demoted.len(), 1, "round {round}: exactly one demotion wins");
        let remaining: Vec<_> = store
            .list_members(s.id())
            .await
            .expect("list members")
            .into_iter()
            .filter(|m| m.role == Role::Owner)
            .collect();
        assert_eq!(remaining.len(), 1, "round {round}: one owner remains");
        // Make the original owner the owner again for the next round.
        if demoted[0] == s.owner.id {
            let back = MemberChange {
                role: Some(Role::Owner),
                ..Default::default()
            };
            store
                .update_member(s.id(), s.owner.id, back)
                .await
                .expect("restore the owner");
            store
                .update_member(s.id(), co.id, to_admin())
                .await
                .expect("demote the co-owner");
        }
    }
}

/// A restriction (types whose requests only their own people see) leaves out of lists and
/// the change feed the requests of those types that the caller neither filed nor is
/// assigned to, and nothing else; a restriction without a member hides all of them.
pub async fn restricted_types_hide_other_peoples_requests_from_lists_and_the_feed(
    store: Arc<dyn Store>,
) {
    let s = create_workspace(&*store, "restricted").await;
    let ws = s.id();
    let owner = s.owner_principal();
    let ana = add_member(&*store, ws, "ana@restricted.example", "Ana", Role::Member).await;
    let as_ana = principal_for(&ana, None);
    let private = store
        .insert_request_type(new_request_type(ws, "private", Workflow::storyden_report()))
        .await
        .expect("a private type");
    let file = |p: &Principal, title: &str| {
        let p = p.clone();
        let title = title.to_owned();
        let store = store.clone();
        let key = private.key.clone();
        async move {
            file_request_at(&*store, &p, &key, titled(&title), now())
                .await
                .0
        }
    };
    let theirs = file(&owner, "Owner's report").await;
    let mine = file(&as_ana, "Ana's report").await;
    let assigned = file(&owner, "Assigned to Ana").await;
    let q = owner.clone();
    changed(
        store
            .change_request(
                ws,
                assigned.id,
                Box::new(move |current, t| {
                    let patch = RequestPatch {
                        assignee_id: Patch::Set(ana.id),
                        ..Default::default()
                    };
                    plan_update(&q, current, &t.workflow, patch, None, now())
                }),
            )
            .await,
        "assigning Ana",
    );
    let open = file_request(&*store, &owner, titled("An ordinary request")).await;

    let for_ana = Restriction {
        member: Some(ana.id),
        types: vec![private.key.clone()],
    };
    let for_system = Restriction {
        member: None,
        types: vec![private.key.clone()],
    };
    let restricted = |r: &Restriction| RequestQuery {
        restricted: Some(r.clone()),
        limit: MAX_LIMIT,
        ..Default::default()
    };
    expect_titles(
        &*store,
        ws,
        "what Ana may see",
        restricted(&for_ana),
        &["Ana's report", "Assigned to Ana", "An ordinary request"],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "what a member-less caller may see",
        restricted(&for_system),
        &["An ordinary request"],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "everything, unrestricted",
        RequestQuery {
            limit: MAX_LIMIT,
            ..Default::default()
        },
        &[
            "Owner's report",
            "Ana's report",
            "Assigned to Ana",
            "An ordinary request",
        ],
    )
    .await;

    let feed_of = |r: Option<Restriction>| {
        let store = store.clone();
        async move {
            let events = store
                .workspace_events(ws, None, MAX_LIMIT, r.as_ref())
                .await
                .expect("feed");
            events.iter().map(|e| e.request_id).collect::<BTreeSet<_>>()
        }
    };
    assert_eq!(
        feed_of(Some(for_ana)).await,
        BTreeSet::from([mine.id, assigned.id, open.id]),
        "Ana's feed leaves out the owner's report"
    );
    assert_eq!(
        feed_of(Some(for_system)).await,
        BTreeSet::from([open.id]),
        "a member-less caller's feed holds only the ordinary request"
    );
    assert_eq!(
        feed_of(None).await,
        BTreeSet::from([theirs.id, mine.id, assigned.id, open.id]),
        "the unrestricted feed holds everything"
    );
}
