//! Conformance checks: the change feed, webhooks and their deliveries, due notices and email.

use super::{
    changed, create_workspace, expect_conflict, expect_invalid, expect_not_found, file_request,
    file_request_at, move_request, new_request_type, patch_request, status_key, titled,
    unique_slug, workflow_change,
};
use crate::{Applied, AttemptOutcome, Store, WebhookChange};
use crate::{EmailOutcome, NewEmail};
use chrono::TimeDelta;
use docket_domain::event::{Event, EventKind};
use docket_domain::ids::{EventId, RequestId, WebhookId, WorkspaceId};
use docket_domain::now;
use docket_domain::query::MAX_LIMIT;
use docket_domain::request::{plan_delete, NewRequest, Patch, RequestPatch, TypeKey};
use docket_domain::webhook::{Attempt, DeliveryState, Webhook, WebhookState};
use docket_domain::workflow::{Workflow, WorkflowInput};
use std::sync::Arc;

/// `workspace_events` is the change feed: every event of a workspace (creations, changes,
/// deletions, of any request) in the order stored, resumable after any event, and nothing
/// of another workspace; `event_signal` moves when this store writes an event.
pub async fn the_change_feed_holds_every_event_of_a_workspace_in_order(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "feed").await;
    let other = create_workspace(&*store, "feed-other").await;
    let p = s.owner_principal();
    let mut signal = store.event_signal();
    signal.borrow_and_update();

    let first = file_request(&*store, &p, titled("First")).await;
    assert!(
        signal.has_changed().expect("signal open"),
        "a write moves the signal"
    );
    file_request(&*store, &other.owner_principal(), titled("Elsewhere")).await;
    let second = file_request(&*store, &p, titled("Second")).await;
    move_request(&*store, &p, first.id, "in_progress").await;
    let q = p.clone();
    changed(
        store
            .change_request(
                s.id(),
                second.id,
                Box::new(move |current, _| plan_delete(&q, current, None, now()).map(Some)),
            )
            .await,
        "deleting a request",
    );

    let feed = store
        .workspace_events(s.id(), None, MAX_LIMIT, None)
        .await
        .expect("feed");
    let seen: Vec<_> = feed.iter().map(|e| (e.request_id, e.kind)).collect();
    assert_eq!(
        seen,
        [
            (first.id, EventKind::Created),
            (second.id, EventKind::Created),
            (first.id, EventKind::Updated),
            (second.id, EventKind::Deleted),
        ],
        "every event of the workspace, in order, the other workspace's left out"
    );
    assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));

    let rest = store
        .workspace_events(s.id(), Some(feed[1].seq), 1, None)
        .await
        .expect("feed after the second event");
    assert_eq!(
        rest,
        [feed[2].clone()],
        "resumes after a given event, limited"
    );
    let none = store
        .workspace_events(s.id(), Some(feed[3].seq), MAX_LIMIT, None)
        .await
        .expect("feed at the end");
    assert!(none.is_empty(), "nothing after the last event");
    assert_eq!(
        store.latest_event_seq(s.id()).await.expect("latest"),
        feed[3].seq,
        "the newest event of the workspace"
    );
    let fresh = create_workspace(&*store, "feed-empty").await;
    assert_eq!(
        store.latest_event_seq(fresh.id()).await.expect("latest"),
        0,
        "a workspace without events"
    );
}

pub fn new_webhook(ws: WorkspaceId, url: &str, types: &[EventKind]) -> Webhook {
    let at = now();
    Webhook {
        id: WebhookId::new(),
        workspace_id: ws,
        url: url.to_owned(),
        event_types: types.to_vec(),
        description: "test".into(),
        state: WebhookState::Active,
        paused_reason: None,
        secret: docket_domain::webhook::generate_secret(),
        created_at: at,
        updated_at: at,
    }
}

fn attempt(status: u16) -> Attempt {
    Attempt {
        at: now(),
        status_code: Some(status),
        duration_ms: 3,
        error: (status >= 300).then(|| format!("HTTP {status}")),
    }
}

/// Webhooks are kept per workspace, changed field by field, and deleted with their log.
pub async fn webhooks_are_stored_changed_and_deleted_per_workspace(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "hooks").await;
    let other = create_workspace(&*store, "hooks-other").await;
    let hook = new_webhook(s.id(), "https://a.example/hook", &[]);
    assert_eq!(
        store.insert_webhook(hook.clone()).await.expect("insert"),
        hook
    );
    assert_eq!(
        store.get_webhook(s.id(), hook.id).await.expect("get"),
        Some(hook.clone())
    );
    assert_eq!(
        store.get_webhook(other.id(), hook.id).await.expect("get"),
        None
    );
    assert_eq!(store.list_webhooks(other.id()).await.expect("list"), []);

    let changed = store
        .update_webhook(
            s.id(),
            hook.id,
            WebhookChange {
                url: Some("https://b.example/hook".into()),
                event_types: Some(vec![EventKind::Updated]),
                state: Some(WebhookState::Paused),
                ..Default::default()
            },
            now(),
        )
        .await
        .expect("update");
    assert_eq!(
        (
            changed.url.as_str(),
            changed.event_types.as_slice(),
            changed.state
        ),
        (
            "https://b.example/hook",
            &[EventKind::Updated][..],
            WebhookState::Paused
        )
    );
    assert_eq!(changed.description, "test", "untouched fields stay");
    assert_eq!(
        store.list_webhooks(s.id()).await.expect("list"),
        vec![changed]
    );
    expect_not_found(
        store
            .update_webhook(other.id(), hook.id, WebhookChange::default(), now())
            .await,
        "changing another workspace's webhook",
    );
    expect_not_found(
        store.delete_webhook(other.id(), hook.id).await,
        "deleting another workspace's webhook",
    );
    store.delete_webhook(s.id(), hook.id).await.expect("delete");
    assert_eq!(store.get_webhook(s.id(), hook.id).await.expect("get"), None);
}

/// The outbox: events stored after a webhook was made become deliveries (filtered by
/// type), claimed oldest-first per request, one in flight per (webhook, request), leased.
pub async fn deliveries_are_queued_from_the_outbox_and_claimed_in_order(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "outbox").await;
    let p = s.owner_principal();
    file_request(&*store, &p, titled("Before the webhook")).await;
    let all = new_webhook(s.id(), "https://all.example/", &[]);
    let updates = new_webhook(s.id(), "https://updates.example/", &[EventKind::Updated]);
    store.insert_webhook(all.clone()).await.expect("insert");
    store.insert_webhook(updates.clone()).await.expect("insert");

    let a = file_request(&*store, &p, titled("A")).await;
    let b = file_request(&*store, &p, titled("B")).await;
    move_request(&*store, &p, a.id, "in_progress").await;
    let t0 = now();
    let queued = store.enqueue_deliveries(t0, 1000).await.expect("enqueue");
    assert_eq!(
        queued, 4,
        "three events for `all`, one update for `updates`"
    );
    assert_eq!(
        store
            .enqueue_deliveries(t0, 1000)
            .await
            .expect("enqueue again"),
        0,
        "each event is queued once"
    );

    let lease = t0 + TimeDelta::seconds(30);
    let first = store
        .claim_deliveries(t0, lease, 100, 100)
        .await
        .expect("claim");
    let mut got: Vec<(WebhookId, RequestId, EventKind)> = first
        .iter()
        .map(|c| (c.webhook.id, c.event.request_id, c.event.kind))
        .collect();
    got.sort();
    let mut want = vec![
        (all.id, a.id, EventKind::Created),
        (all.id, b.id, EventKind::Created),
        (updates.id, a.id, EventKind::Updated),
    ];
    want.sort();
    assert_eq!(got, want, "A's update to `all` waits for A's creation");
    let claimed_a = first
        .iter()
        .find(|c| c.webhook.id == all.id && c.event.request_id == a.id)
        .unwrap();
    assert_eq!(claimed_a.request.as_ref().map(|r| r.id), Some(a.id));
    assert_eq!(
        claimed_a.webhook.secret, all.secret,
        "the claim carries the secret"
    );
    assert!(
        store
            .claim_deliveries(t0, lease, 100, 100)
            .await
            .expect("claim")
            .is_empty(),
        "leased deliveries are not claimed twice"
    );

    store
        .record_attempt(
            claimed_a.delivery.id,
            attempt(200),
            AttemptOutcome::Delivered,
        )
        .await
        .expect("record");
    let next = store
        .claim_deliveries(t0, lease, 100, 100)
        .await
        .expect("claim");
    assert_eq!(
        next.iter()
            .map(|c| (c.webhook.id, c.event.request_id, c.event.kind))
            .collect::<Vec<_>>(),
        [(all.id, a.id, EventKind::Updated)],
        "A's next event follows once the first is delivered"
    );

    // A lease that runs out makes the delivery due again (a crashed worker).
    let later = lease + TimeDelta::seconds(1);
    let again = store
        .claim_deliveries(later, later + TimeDelta::seconds(30), 100, 1)
        .await
        .expect("claim after the lease");
    assert_eq!(again.len(), 2, "one per webhook with per_webhook = 1");

    let log = store
        .list_deliveries(s.id(), all.id, None, 10)
        .await
        .expect("log");
    assert_eq!(log.len(), 3);
    let delivered = log.iter().find(|d| d.id == claimed_a.delivery.id).unwrap();
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert_eq!(
        delivered.attempts,
        [attempt(200)].map(|mut x| {
            x.at = delivered.attempts[0].at;
            x
        })
    );
    assert!(log.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let older = store
        .list_deliveries(s.id(), all.id, Some(log[0].id), 10)
        .await
        .expect("older page");
    assert_eq!(older, log[1..].to_vec());

    // Redelivery queues the event again; an event the webhook does not take is refused.
    let again = store
        .redeliver(s.id(), all.id, claimed_a.event.id, now())
        .await
        .expect("redeliver");
    assert_eq!(
        (again.event_id, again.state),
        (claimed_a.event.id, DeliveryState::Pending)
    );
    expect_conflict(
        store
            .redeliver(s.id(), updates.id, claimed_a.event.id, now())
            .await,
        "event_not_subscribed",
        "redelivering a creation to an updates-only webhook",
    );
    expect_invalid(
        store.redeliver(s.id(), all.id, EventId::new(), now()).await,
        "event_id",
        "redelivering an unknown event",
    );
}

/// A failed attempt is retried when due; giving up fails the delivery and pauses the
/// webhook, whose deliveries then wait (still queued) until it is active again.
pub async fn failed_deliveries_retry_then_pause_their_webhook(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "retries").await;
    let p = s.owner_principal();
    let hook = new_webhook(s.id(), "https://down.example/", &[]);
    store.insert_webhook(hook.clone()).await.expect("insert");
    file_request(&*store, &p, titled("One")).await;
    let t0 = now();
    store.enqueue_deliveries(t0, 100).await.expect("enqueue");
    let lease = t0 + TimeDelta::seconds(30);
    let claimed = store
        .claim_deliveries(t0, lease, 10, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let id = claimed[0].delivery.id;

    let retry_at = t0 + TimeDelta::seconds(5);
    store
        .record_attempt(id, attempt(503), AttemptOutcome::RetryAt(retry_at))
        .await
        .expect("record");
    assert!(
        store
            .claim_deliveries(t0 + TimeDelta::seconds(4), lease, 10, 10)
            .await
            .expect("claim")
            .is_empty(),
        "not before its retry time"
    );
    let retried = store
        .claim_deliveries(retry_at, retry_at + TimeDelta::seconds(30), 10, 10)
        .await
        .expect("claim");
    assert_eq!(retried.len(), 1);
    assert_eq!(
        retried[0].delivery.attempts.len(),
        1,
        "the claim shows earlier attempts"
    );

    store
        .record_attempt(
            id,
            attempt(500),
            AttemptOutcome::GiveUp {
                pause_reason: "failing for three days".into(),
            },
        )
        .await
        .expect("give up");
    let paused = store
        .get_webhook(s.id(), hook.id)
        .await
        .expect("get")
        .unwrap();
    assert_eq!(paused.state, WebhookState::Paused);
    assert_eq!(
        paused.paused_reason.as_deref(),
        Some("failing for three days")
    );
    let log = store
        .list_deliveries(s.id(), hook.id, None, 10)
        .await
        .expect("log");
    assert_eq!(log[0].state, DeliveryState::Failed);
    assert_eq!(log[0].attempts.len(), 2);

    // While paused, events are still queued but not claimed.
    file_request(&*store, &p, titled("Two")).await;
    let t1 = retry_at + TimeDelta::seconds(60);
    assert_eq!(store.enqueue_deliveries(t1, 100).await.expect("enqueue"), 1);
    assert!(store
        .claim_deliveries(t1, t1 + TimeDelta::seconds(30), 10, 10)
        .await
        .expect("claim")
        .is_empty());
    let resumed = store
        .update_webhook(
            s.id(),
            hook.id,
            WebhookChange {
                state: Some(WebhookState::Active),
                ..Default::default()
            },
            t1,
        )
        .await
        .expect("resume");
    assert_eq!(resumed.paused_reason, None, "resuming clears the reason");
    assert_eq!(
        store
            .claim_deliveries(t1, t1 + TimeDelta::seconds(30), 10, 10)
            .await
            .expect("claim")
            .len(),
        1,
        "the queued event goes out once active"
    );
}

/// The scheduler's step: an overdue notice for each unfinished live request past due, a
/// reminder at each lead time of its workflow, each once per due time, even when asked
/// concurrently; nothing for finished or deleted requests.
pub async fn due_notices_are_recorded_once_per_due_time(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "due").await;
    let p = s.owner_principal();
    let general = Workflow::general();
    let reminding = Workflow::new(WorkflowInput {
        statuses: general.statuses().to_vec(),
        transitions: general.transitions().to_vec(),
        remind_before_due_minutes: vec![60, 600],
        ..Default::default()
    })
    .expect("a workflow with reminders");
    assert_eq!(reminding.reminders(), [600, 60], "largest lead first");
    let rtype = new_request_type(s.id(), "remind", reminding);
    store
        .insert_request_type(rtype.clone())
        .await
        .expect("insert type");
    let t0 = now();
    let due = |title: &str, minutes: i64| NewRequest {
        due_at: Some(t0 + TimeDelta::minutes(minutes)),
        ..titled(title)
    };
    let file = |input: NewRequest| {
        let (store, p, key) = (store.clone(), p.clone(), rtype.key.clone());
        async move { file_request_at(&*store, &p, &key, input, t0).await.0 }
    };
    let late = file(due("Late", -30)).await;
    let soon = file(due("Soon", 30)).await;
    let later = file(due("Later", 300)).await;
    file(due("Far", 3000)).await;
    let finished = file(due("Finished", -30)).await;
    move_request(&*store, &p, finished.id, "done").await;

    // Two schedulers at once: each notice is written once.
    let (a, b) = tokio::join!(
        store.record_due_notices(t0, 100),
        store.record_due_notices(t0, 100)
    );
    let mut notices: Vec<(RequestId, EventKind)> = a
        .expect("notices")
        .into_iter()
        .chain(b.expect("notices"))
        .map(|e| (e.request_id, e.kind))
        .collect();
    notices.sort();
    let mut want = vec![
        (late.id, EventKind::Overdue),
        (soon.id, EventKind::Reminder),
        (soon.id, EventKind::Reminder),
        (later.id, EventKind::Reminder),
    ];
    want.sort();
    assert_eq!(
        notices, want,
        "30 min away: both reminders; 5 h away: the 10 h one"
    );
    assert!(
        store
            .record_due_notices(t0, 100)
            .await
            .expect("again")
            .is_empty(),
        "nothing twice"
    );
    let timeline = store
        .timeline(s.id(), late.id, None, 10)
        .await
        .expect("timeline");
    let overdue = timeline.last().expect("an event");
    assert_eq!(overdue.kind, EventKind::Overdue);
    assert_eq!(overdue.actor, Default::default(), "the system acted");

    // Time passes: "Soon" becomes overdue. A new due date earns new notices.
    let at = t0 + TimeDelta::minutes(31);
    let kinds = |events: Vec<Event>| -> Vec<(RequestId, EventKind)> {
        events.into_iter().map(|e| (e.request_id, e.kind)).collect()
    };
    assert_eq!(
        kinds(store.record_due_notices(at, 100).await.expect("later")),
        [(soon.id, EventKind::Overdue)]
    );
    let patch = RequestPatch {
        due_at: Patch::Set(at - TimeDelta::minutes(1)),
        ..Default::default()
    };
    changed(
        patch_request(&*store, &p, late.id, patch).await,
        "new due date",
    );
    assert_eq!(
        kinds(
            store
                .record_due_notices(at, 100)
                .await
                .expect("after a new due date")
        ),
        [(late.id, EventKind::Overdue)]
    );
}

/// Events are flagged for the email planner when written: a move into a status the
/// request's workflow emails the contact on, and a creation with an assignee, come back;
/// a move no workflow emails about does not, yet the pass covers it (`through`), so the
/// cursor moves past it unread. A full page covers only up to its last event.
pub async fn the_email_planner_reads_only_events_that_may_send(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "flagged").await;
    let p = s.owner_principal();
    let general = store
        .get_request_type(s.id(), &TypeKey::general())
        .await
        .expect("read the type")
        .expect("the general type");
    let w = &general.workflow;
    let emails_on_done = Workflow::new(WorkflowInput {
        statuses: w.statuses().to_vec(),
        transitions: w.transitions().to_vec(),
        remind_before_due_minutes: w.reminders().to_vec(),
        notify_contact_on: vec![status_key("done")],
        ..Default::default()
    })
    .expect("a valid workflow");
    store
        .update_request_type(s.id(), &general.key, workflow_change(emails_on_done), now())
        .await
        .expect("change the workflow");
    let start = store
        .outbox_cursor(&unique_slug("mail"))
        .await
        .expect("cursor");

    let quiet = file_request(&*store, &p, titled("Quiet")).await;
    let to = |status: &str| RequestPatch {
        status: Some(status_key(status)),
        ..Default::default()
    };
    let event_of = |applied: Applied| match applied {
        Applied::Changed { event, .. } => event,
        Applied::Unchanged(_) => panic!("the move was made"),
    };
    let started = event_of(
        patch_request(&*store, &p, quiet.id, to("in_progress"))
            .await
            .expect("move"),
    );
    let done = event_of(
        patch_request(&*store, &p, quiet.id, to("done"))
            .await
            .expect("move"),
    );
    let (_, created) = file_request_at(
        &*store,
        &p,
        &TypeKey::general(),
        NewRequest {
            assignee_id: Some(s.owner.id),
            ..titled("Assigned")
        },
        now(),
    )
    .await;
    let mine = |events: &[Event]| -> Vec<i64> {
        events
            .iter()
            .filter(|e| e.workspace_id == s.id())
            .map(|e| e.seq)
            .collect()
    };

    let page = store.mail_events_after(start, 100).await.expect("events");
    assert_eq!(
        mine(&page.events),
        [done.seq, created.seq],
        "the move into done and the assigned creation, not the quiet creation or the move into in_progress ({})",
        started.seq
    );
    assert!(
        page.through >= created.seq,
        "the pass covers every event written"
    );

    let first = store
        .mail_events_after(started.seq, 1)
        .await
        .expect("events");
    assert_eq!(first.events.len(), 1);
    assert_eq!(
        first.through, first.events[0].seq,
        "a full page covers up to its last event, no further"
    );
    let rest = store
        .mail_events_after(page.through, 100)
        .await
        .expect("events");
    assert!(mine(&rest.events).is_empty());
}

/// The email outbox: a new consumer starts at the newest event; queuing moves its cursor
/// only from where it stood (so two nodes cannot queue one event twice); claims lease;
/// a failure writes `email.failed` on the request's timeline.
pub async fn emails_are_queued_once_claimed_and_their_failures_recorded(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "mail").await;
    let p = s.owner_principal();
    // Assigned, so their creation may email the assignee and the planner reads it.
    let assigned = |title: &str| NewRequest {
        assignee_id: Some(s.owner.id),
        ..titled(title)
    };
    file_request(&*store, &p, assigned("History")).await;
    let name = format!("email-{}", unique_slug("c"));
    let start = store.outbox_cursor(&name).await.expect("cursor");
    assert!(
        store
            .mail_events_after(start, 10)
            .await
            .expect("events")
            .events
            .is_empty(),
        "a new consumer starts after the newest event"
    );
    let r = file_request(&*store, &p, assigned("Contract")).await;
    let page = store.mail_events_after(start, 10).await.expect("events");
    let mine: Vec<_> = page
        .events
        .iter()
        .filter(|e| e.request_id == r.id)
        .collect();
    assert_eq!(mine.len(), 1);
    let to = page.through;
    let email = |to_addr: &str| NewEmail {
        workspace_id: s.id(),
        request_id: r.id,
        event_id: mine[0].id,
        to: to_addr.into(),
        subject: "Hello".into(),
        body: "Body".into(),
    };
    let t0 = now();
    let (first, second) = tokio::join!(
        store.queue_emails(&name, start, to, vec![email("a@x.example")], t0),
        store.queue_emails(&name, start, to, vec![email("a@x.example")], t0)
    );
    assert_eq!(
        [first.expect("queue"), second.expect("queue")]
            .iter()
            .filter(|q| **q)
            .count(),
        1,
        "exactly one of two racing planners queues"
    );
    assert_eq!(store.outbox_cursor(&name).await.expect("cursor"), to);
    store
        .queue_emails(&name, to, to, vec![email("b@x.example")], t0)
        .await
        .expect("queue");

    let lease = t0 + TimeDelta::seconds(30);
    let claimed = store.claim_emails(t0, lease, 10).await.expect("claim");
    let mut ours: Vec<_> = claimed
        .iter()
        .filter(|q| q.email.request_id == r.id)
        .collect();
    ours.sort_by_key(|q| q.email.to.clone());
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0].email, email("a@x.example"));
    assert_eq!(ours[0].attempts, 0);
    assert!(
        store
            .claim_emails(t0, lease, 10)
            .await
            .expect("claim")
            .iter()
            .all(|q| q.email.request_id != r.id),
        "leased emails are not claimed twice"
    );
    store
        .record_email(&ours[0].id, EmailOutcome::Sent, t0)
        .await
        .expect("sent");
    let retry = t0 + TimeDelta::seconds(5);
    store
        .record_email(
            &ours[1].id,
            EmailOutcome::RetryAt {
                at: retry,
                error: "451 try later".into(),
            },
            t0,
        )
        .await
        .expect("retry");
    let again = store
        .claim_emails(retry, retry + TimeDelta::seconds(30), 10)
        .await
        .expect("claim");
    let again: Vec<_> = again
        .iter()
        .filter(|q| q.email.request_id == r.id)
        .collect();
    assert_eq!(again.len(), 1, "only the one to retry");
    assert_eq!(
        (again[0].email.to.as_str(), again[0].attempts),
        ("b@x.example", 1)
    );
    store
        .record_email(
            &again[0].id,
            EmailOutcome::Failed {
                error: "550 no such user".into(),
            },
            retry,
        )
        .await
        .expect("failed");
    let timeline = store
        .timeline(s.id(), r.id, None, 10)
        .await
        .expect("timeline");
    let last = timeline.last().unwrap();
    assert_eq!(last.kind, EventKind::EmailFailed);
    assert!(last.comment.as_deref().unwrap().contains("b@x.example"));
    assert!(
        store
            .claim_emails(retry + TimeDelta::days(1), retry + TimeDelta::days(2), 10)
            .await
            .expect("claim")
            .iter()
            .all(|q| q.email.request_id != r.id),
        "sent and failed emails are done"
    );
}

/// Template overrides are per workspace, replaced by name, and removable.
pub async fn email_templates_are_overridden_per_workspace(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "tpl").await;
    let other = create_workspace(&*store, "tpl-other").await;
    let t = docket_domain::email::Template {
        name: "assigned".into(),
        subject: "Yours: {{title}}".into(),
        body: "Take it".into(),
    };
    store
        .set_email_template(s.id(), t.clone(), now())
        .await
        .expect("set");
    let changed = docket_domain::email::Template {
        body: "Take it, please".into(),
        ..t.clone()
    };
    store
        .set_email_template(s.id(), changed.clone(), now())
        .await
        .expect("replace");
    assert_eq!(
        store.email_templates(s.id()).await.expect("list"),
        vec![changed]
    );
    assert!(store
        .email_templates(other.id())
        .await
        .expect("list")
        .is_empty());
    assert!(!store
        .delete_email_template(other.id(), "assigned")
        .await
        .expect("delete"));
    assert!(store
        .delete_email_template(s.id(), "assigned")
        .await
        .expect("delete"));
    assert!(store
        .email_templates(s.id())
        .await
        .expect("list")
        .is_empty());
}
