//! Conformance checks: links.

use super::{
    add_member, changed, create_workspace, file_request, move_request, new_request_type,
    patch_request, principal_for, status_key, titled, type_key, unique_slug, TestWorkspace,
};
use crate::NewLink;
use crate::{Store, StoreError};
use chrono::TimeDelta;
use docket_domain::access::Role;
use docket_domain::event::EventKind;
use docket_domain::ids::MemberId;
use docket_domain::link::{plan_link_use, LinkMode, LinkSubmission, PublicLink};
use docket_domain::member::Email;
use docket_domain::query::Restriction;
use docket_domain::request::{plan_create, plan_update, Patch, Request, RequestPatch, TypeKey};
use docket_domain::session::Session;
use docket_domain::token::TokenHash;
use docket_domain::workflow::Workflow;
use docket_domain::{now, DomainError};
use std::collections::BTreeSet;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Public links
// ---------------------------------------------------------------------------------------

/// Files a request of the built-in Gipper workflow (registering the type first).
pub(super) async fn gipper_request(
    store: &dyn Store,
    ws: &TestWorkspace,
    link: NewLink,
) -> (Request, PublicLink) {
    let rtype = new_request_type(ws.id(), "gipper", Workflow::gipper());
    let _ = store.insert_request_type(rtype).await;
    let p = ws.owner_principal();
    let (request, _, link) = store
        .create_request_with_link(
            ws.id(),
            &type_key("gipper"),
            Box::new(move |t, n| plan_create(&p, t, titled("photos please"), n, now())),
            link,
        )
        .await
        .expect("create a request with a link");
    (request, link)
}

pub(super) fn completion() -> LinkSubmission {
    LinkSubmission {
        status: Some(status_key("completed")),
        data: serde_json::Map::new(),
    }
}

pub async fn public_links_are_created_found_listed_and_revoked(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "links").await;
    let other = create_workspace(&*store, "links-other").await;
    let expires = now() + TimeDelta::days(1);
    let (request, link) = gipper_request(
        &*store,
        &ws,
        NewLink {
            mode: LinkMode::OneTime,
            expires_at: Some(expires),
        },
    )
    .await;
    assert_eq!(link.request_id, request.id);
    assert_eq!(link.mode, LinkMode::OneTime);
    assert_eq!(link.expires_at, Some(expires));
    assert_eq!(link.used_count, 0);
    assert_eq!(link.token.as_str().len(), 16);

    let (found, found_request) = store
        .link_by_token(&link.token)
        .await
        .unwrap()
        .expect("the link is found by its token");
    assert_eq!(found, link);
    assert_eq!(found_request.id, request.id);

    let second = store
        .insert_link(
            ws.id(),
            request.id,
            NewLink {
                mode: LinkMode::MultiUse,
                expires_at: None,
            },
            now(),
        )
        .await
        .unwrap();
    assert_ne!(second.token, link.token);
    let listed = store.links_of_request(ws.id(), request.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&link) && listed.contains(&second));
    assert!(store
        .links_of_request(other.id(), request.id)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store
            .insert_link(
                other.id(),
                request.id,
                NewLink {
                    mode: LinkMode::OneTime,
                    expires_at: None
                },
                now()
            )
            .await,
        Err(StoreError::Domain(DomainError::NotFound(_)))
    ));

    let later = now() + TimeDelta::days(7);
    let moved = store
        .set_link_expiry(ws.id(), link.id, Some(later))
        .await
        .unwrap();
    assert_eq!(moved.expires_at, Some(later));
    assert!(store
        .set_link_expiry(other.id(), link.id, None)
        .await
        .is_err());
    let (found, _) = store.link_by_token(&link.token).await.unwrap().unwrap();
    assert_eq!(found.expires_at, Some(later));

    let at = now();
    assert!(matches!(
        store.revoke_link(other.id(), second.id, at).await,
        Err(StoreError::Domain(DomainError::NotFound(_)))
    ));
    let revoked = store.revoke_link(ws.id(), second.id, at).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(at));
    let again = store.revoke_link(ws.id(), second.id, now()).await.unwrap();
    assert_eq!(
        again.revoked_at,
        Some(at),
        "revoking twice keeps the first time"
    );
    let err = store
        .use_link(
            &second.token,
            Box::new(|l, r, t, _| plan_link_use(l, r, &t.workflow, completion(), now())),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Domain(DomainError::Conflict {
            code: "link_revoked",
            ..
        })
    ));
}

pub async fn a_one_time_link_is_used_exactly_once_under_concurrent_uses(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "one-time").await;
    let (request, link) = gipper_request(
        &*store,
        &ws,
        NewLink {
            mode: LinkMode::OneTime,
            expires_at: None,
        },
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let token = link.token.clone();
        tasks.push(tokio::spawn(async move {
            store
                .use_link(
                    &token,
                    Box::new(|l, r, t, _| plan_link_use(l, r, &t.workflow, completion(), now())),
                )
                .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("the task runs") {
            Ok((used, r, event)) => {
                wins += 1;
                assert_eq!(used.used_count, 1);
                assert_eq!(r.status.as_str(), "completed");
                assert_eq!(event.request_id, request.id);
            }
            Err(StoreError::Domain(DomainError::Conflict { code, .. })) => {
                assert_eq!(code, "link_used");
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(wins, 1, "a one-time link completes exactly once");
    let (stored, r) = store.link_by_token(&link.token).await.unwrap().unwrap();
    assert_eq!(stored.used_count, 1);
    assert_eq!(r.version, 2);
    let events = store
        .timeline(ws.id(), request.id, None, 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 2, "one creation and one completion");
}

pub async fn request_by_number_is_scoped_to_the_workspace(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "by-number").await;
    let other = create_workspace(&*store, "by-number-other").await;
    let r = file_request(&*store, &ws.owner_principal(), titled("numbered")).await;
    let found = store.request_by_number(ws.id(), r.number).await.unwrap();
    assert_eq!(found.map(|f| f.id), Some(r.id));
    assert!(store
        .request_by_number(ws.id(), r.number + 1000)
        .await
        .unwrap()
        .is_none());
    let theirs = store.request_by_number(other.id(), r.number).await.unwrap();
    assert_ne!(theirs.map(|t| t.id), Some(r.id));
}

pub async fn follow_up_events_are_written_with_the_change(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "follow-ups").await;
    let p = ws.owner_principal();
    let r = file_request(&*store, &p, titled("with a message")).await;
    let principal = p.clone();
    let applied = store
        .change_request(
            ws.id(),
            r.id,
            Box::new(move |current, t| {
                let patch = RequestPatch {
                    status: Some(status_key("done")),
                    ..Default::default()
                };
                let planned = plan_update(&principal, current, &t.workflow, patch, None, now())?;
                Ok(planned.map(|mut planned| {
                    let e = docket_domain::request::message_queued(
                        &principal,
                        &planned.request,
                        "completion",
                        "x@example.com",
                        &[],
                        now(),
                    );
                    planned.follow_ups.push(e);
                    planned
                }))
            }),
        )
        .await;
    let (request, event) = changed(applied, "a change with a follow-up");
    assert_eq!(event.kind, EventKind::Updated);
    assert_eq!(request.version, 2, "one change, one version");
    let events = store.timeline(ws.id(), r.id, None, 100).await.unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Created,
            EventKind::Updated,
            EventKind::MessageQueued
        ]
    );
    assert_eq!(
        events[2].changes[0].new,
        serde_json::json!({ "template": "completion", "recipient": "x@example.com" })
    );

    // A plan that fails writes neither the change nor its follow-ups.
    let principal = p.clone();
    let refused = store
        .change_request(
            ws.id(),
            r.id,
            Box::new(move |current, t| {
                let patch = RequestPatch {
                    status: Some(status_key("no-such-status")),
                    ..Default::default()
                };
                plan_update(&principal, current, &t.workflow, patch, None, now())
            }),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(
        store
            .timeline(ws.id(), r.id, None, 100)
            .await
            .unwrap()
            .len(),
        3
    );
}

/// Passwords are found by email across workspaces; sessions open their member until they
/// expire, are deleted, or the member's password changes.
pub async fn passwords_and_sessions_sign_members_in_and_out(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "pw-a").await;
    let b = create_workspace(&*store, "pw-b").await;
    let email = format!("{}@example.com", unique_slug("desk"));
    let in_a = add_member(&*store, a.workspace.id, &email, "Ada", Role::Moderator).await;
    let in_b = add_member(&*store, b.workspace.id, &email, "Ada", Role::Member).await;
    let parsed = Email::parse(&email).unwrap();
    assert!(
        store.password_candidates(&parsed).await.unwrap().is_empty(),
        "no password yet"
    );

    store
        .set_password(a.workspace.id, in_a.id, Some("hash-a".into()))
        .await
        .unwrap();
    store
        .set_password(b.workspace.id, in_b.id, Some("hash-b".into()))
        .await
        .unwrap();
    let found = store.password_candidates(&parsed).await.unwrap();
    let found: Vec<_> = found.iter().map(|(m, h)| (m.id, h.as_str())).collect();
    assert_eq!(found, vec![(in_a.id, "hash-a"), (in_b.id, "hash-b")]);
    let wrong_ws = store
        .set_password(b.workspace.id, in_a.id, Some("x".into()))
        .await;
    assert!(matches!(
        wrong_ws,
        Err(StoreError::Domain(DomainError::NotFound(_)))
    ));

    let at = now();
    let (secret, session) = Session::start(a.workspace.id, in_a.id, at);
    store.insert_session(session.clone()).await.unwrap();
    let (found, member) = store
        .session_by_hash(&TokenHash::of(&secret), at)
        .await
        .unwrap()
        .expect("the session opens");
    assert_eq!(found, session);
    assert_eq!(member.id, in_a.id);
    assert_eq!(member.role, Role::Moderator);
    let later = session.expires_at;
    assert!(
        store
            .session_by_hash(&session.hash, later)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(store
        .session_by_hash(&TokenHash::of("other"), at)
        .await
        .unwrap()
        .is_none());

    // A new password signs every browser out.
    store
        .set_password(a.workspace.id, in_a.id, Some("hash-a2".into()))
        .await
        .unwrap();
    assert!(store
        .session_by_hash(&session.hash, at)
        .await
        .unwrap()
        .is_none());

    let (secret, session) = Session::start(b.workspace.id, in_b.id, at);
    store.insert_session(session).await.unwrap();
    store.delete_session(&TokenHash::of(&secret)).await.unwrap();
    assert!(store
        .session_by_hash(&TokenHash::of(&secret), at)
        .await
        .unwrap()
        .is_none());
    store.delete_session(&TokenHash::of(&secret)).await.unwrap();

    store
        .set_password(a.workspace.id, in_a.id, None)
        .await
        .unwrap();
    let found = store.password_candidates(&parsed).await.unwrap();
    assert_eq!(found.len(), 1, "a removed password cannot sign in");
}

/// The dashboard counts live unfinished requests by status and assignee, and the
/// requests opened and completed since a moment.
pub async fn request_stats_count_unfinished_work_and_completions(store: Arc<dyn Store>) {
    let t = create_workspace(&*store, "stats").await;
    let other = create_workspace(&*store, "stats-other").await;
    let owner = principal_for(&t.owner, None);
    let mod_ = add_member(
        &*store,
        t.workspace.id,
        "mod@example.com",
        "Mo",
        Role::Moderator,
    )
    .await;
    let start = now();
    let a = file_request(&*store, &owner, titled("a")).await;
    let b = file_request(&*store, &owner, titled("b")).await;
    let c = file_request(&*store, &owner, titled("c")).await;
    let d = file_request(&*store, &owner, titled("d")).await;
    file_request(
        &*store,
        &principal_for(&other.owner, None),
        titled("elsewhere"),
    )
    .await;
    let assign = RequestPatch {
        assignee_id: Patch::Set(mod_.id),
        ..Default::default()
    };
    changed(patch_request(&*store, &owner, a.id, assign).await, "assign");
    move_request(&*store, &owner, b.id, "in_progress").await;
    move_request(&*store, &owner, c.id, "done").await;
    move_request(&*store, &owner, d.id, "canceled").await;

    let stats = store
        .request_stats(t.workspace.id, start, None)
        .await
        .unwrap();
    let by_status: BTreeSet<(String, i64)> = stats
        .open_by_status
        .iter()
        .map(|s| (s.status.as_str().to_owned(), s.count))
        .collect();
    assert_eq!(
        by_status,
        BTreeSet::from([("open".to_owned(), 1), ("in_progress".to_owned(), 1)])
    );
    let by_assignee: BTreeSet<(Option<MemberId>, i64)> =
        stats.open_by_assignee.iter().cloned().collect();
    assert_eq!(by_assignee, BTreeSet::from([(Some(mod_.id), 1), (None, 1)]));
    assert_eq!(stats.opened.len(), 4);
    assert_eq!(stats.completed.len(), 1);
    let (created, done) = stats.completed[0];
    assert_eq!(created, c.created_at);
    assert!(done >= created);

    // A caller from whom the type's requests are hidden but those they are assigned to
    // counts only those: `a`, open and assigned to the moderator.
    let hidden = Restriction {
        member: Some(mod_.id),
        types: vec![TypeKey::general()],
    };
    let theirs = store
        .request_stats(t.workspace.id, start, Some(&hidden))
        .await
        .unwrap();
    assert_eq!(
        theirs
            .open_by_status
            .iter()
            .map(|s| (s.status.as_str(), s.count))
            .collect::<Vec<_>>(),
        vec![("open", 1)]
    );
    assert_eq!(theirs.open_by_assignee, vec![(Some(mod_.id), 1)]);
    assert_eq!(theirs.opened, vec![a.created_at]);
    assert!(
        theirs.completed.is_empty(),
        "the done request is not theirs"
    );

    let later = store
        .request_stats(t.workspace.id, now() + TimeDelta::seconds(1), None)
        .await
        .unwrap();
    assert!(later.opened.is_empty() && later.completed.is_empty());
    assert_eq!(
        later.open_by_status.len(),
        2,
        "unfinished work is counted whenever it began"
    );
}

/// A batch of requests with links (Collect's send to many contacts): consecutive numbers,
/// each its own link; one refusing plan creates none of them and takes no number.
pub async fn several_requests_are_created_with_links_together_or_not_at_all(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "batch").await;
    let rtype = new_request_type(ws.id(), "gipper", Workflow::gipper());
    store.insert_request_type(rtype).await.expect("gipper type");
    let link = NewLink {
        mode: LinkMode::MultiUse,
        expires_at: None,
    };
    let plans = |titles: &[&str]| -> Vec<crate::PlanCreate> {
        titles
            .iter()
            .map(|t| {
                let p = ws.owner_principal();
                let input = titled(t);
                Box::new(move |rt: &docket_domain::request::RequestType, n: i64| {
                    plan_create(&p, rt, input, n, now())
                }) as crate::PlanCreate
            })
            .collect()
    };
    let made = store
        .create_requests_with_links(
            ws.id(),
            &type_key("gipper"),
            plans(&["a", "b", "c"]),
            link.clone(),
        )
        .await
        .expect("three at once");
    let numbers: Vec<i64> = made.iter().map(|(r, _, _)| r.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
    let tokens: BTreeSet<String> = made
        .iter()
        .map(|(_, _, l)| l.token.as_str().to_owned())
        .collect();
    assert_eq!(tokens.len(), 3, "each request has its own link");
    for (r, e, l) in &made {
        assert_eq!((e.request_id, l.request_id), (r.id, r.id));
        assert!(store
            .link_by_token(&l.token)
            .await
            .expect("by token")
            .is_some());
    }
    // The middle plan refuses (an empty title): nothing is created, no number is taken.
    let refused = store
        .create_requests_with_links(ws.id(), &type_key("gipper"), plans(&["d", " ", "f"]), link)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Domain(DomainError::Validation(_)))),
        "{refused:?}"
    );
    let next = file_request(&*store, &ws.owner_principal(), titled("after")).await;
    assert_eq!(next.number, 4);
}
