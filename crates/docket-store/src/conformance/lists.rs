//! Conformance checks: lists.

use super::{
    add_member, all_pages, changed, create_workspace, everything, expect_titles, file_request,
    file_request_at, in_list_order, move_request, new_request_type, patch_request,
    patch_request_at, principal_for, status_key, system_principal, titled, titles_of, type_key,
    TestWorkspace,
};
use crate::{Store, StoreError};
use chrono::TimeDelta;
use docket_domain::access::Role;
use docket_domain::event::EventKind;
use docket_domain::ids::RequestId;
use docket_domain::member::Member;
use docket_domain::query::{Direction, MemberFilter, RequestQuery, SortKey};
use docket_domain::request::{plan_delete, NewRequest, Request, RequestPatch, TypeKey};
use docket_domain::workflow::{Category, Workflow};
use docket_domain::{now, DomainError, Timestamp};
use std::collections::HashSet;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------

const FIRE: &str = "Printer on fire";
const LEASE: &str = "Renew office lease";
const COFFEE: &str = "Order coffee beans";
const DESK: &str = "Buy standing desk";
const TONER: &str = "Printer toner";
const BACKUP: &str = "Nightly backup failed";

/// Six requests, one of them deleted, varied in every field the lists filter on.
struct ListFixture {
    s: TestWorkspace,
    ana: Member,
    now: Timestamp,
}

/// | title    | status      | assignee | requester | tags              | type     | due      | text              |
/// |----------|-------------|----------|-----------|-------------------|----------|----------|-------------------|
/// | FIRE     | open        | owner    | owner     | hardware          | general  | now - 2d | data: basement    |
/// | LEASE    | in_progress | ana      | owner     | legal, urgent     | general  | now + 7d | desc: landlord    |
/// | COFFEE   | done        | -        | owner     | kitchen           | general  | now - 3d |                   |
/// | DESK     | open        | -        | ana       |                   | purchase | -        | data: ergotron    |
/// | TONER    | (deleted)   | owner    | owner     | hardware          | general  | now - 1d | desc: basement    |
/// | BACKUP   | open        | -        | (system)  | ops               | general  | now + 1d |                   |
async fn list_fixture(store: &dyn Store) -> ListFixture {
    let s = create_workspace(store, "lists").await;
    let ws = s.id();
    let at = now();
    let owner = s.owner_principal();
    let ana = add_member(store, ws, "ana@lists.example", "Ana", Role::Member).await;
    let as_ana = principal_for(&ana, None);
    let purchase = store
        .insert_request_type(new_request_type(ws, "purchase", Workflow::general()))
        .await
        .expect("insert type");
    let data = |v: serde_json::Value| v.as_object().cloned();
    let tags = |t: &[&str]| Some(t.iter().map(|s| (*s).to_owned()).collect());

    let fire = NewRequest {
        title: FIRE.into(),
        description: Some("Smoke on the third floor".into()),
        assignee_id: Some(s.owner.id),
        due_at: Some(at - TimeDelta::days(2)),
        data: data(serde_json::json!({"location": "basement"})),
        tags: tags(&["hardware"]),
        ..Default::default()
    };
    file_request(store, &owner, fire).await;

    let lease = NewRequest {
        title: LEASE.into(),
        description: Some("Call the landlord before March".into()),
        assignee_id: Some(ana.id),
        due_at: Some(at + TimeDelta::days(7)),
        tags: tags(&["legal", "urgent"]),
        ..Default::default()
    };
    let lease = file_request(store, &owner, lease).await;
    move_request(store, &owner, lease.id, "in_progress").await;

    let coffee = NewRequest {
        title: COFFEE.into(),
        due_at: Some(at - TimeDelta::days(3)),
        tags: tags(&["kitchen"]),
        ..Default::default()
    };
    let coffee = file_request(store, &owner, coffee).await;
    move_request(store, &owner, coffee.id, "done").await;

    let desk = NewRequest {
        title: DESK.into(),
        data: data(serde_json::json!({"vendor": "Ergotron"})),
        ..Default::default()
    };
    file_request_at(store, &as_ana, &purchase.key, desk, now()).await;

    let toner = NewRequest {
        title: TONER.into(),
        description: Some("Spare cartridges are in the basement".into()),
        assignee_id: Some(s.owner.id),
        due_at: Some(at - TimeDelta::days(1)),
        tags: tags(&["hardware"]),
        ..Default::default()
    };
    let toner = file_request(store, &owner, toner).await;
    let p = owner.clone();
    let deleted = store
        .change_request(
            ws,
            toner.id,
            Box::new(move |current, _| plan_delete(&p, current, None, now()).map(Some)),
        )
        .await;
    changed(deleted, "deleting a request");

    let backup = NewRequest {
        title: BACKUP.into(),
        due_at: Some(at + TimeDelta::days(1)),
        tags: tags(&["ops"]),
        ..Default::default()
    };
    file_request(store, &system_principal(ws), backup).await;

    ListFixture { s, ana, now: at }
}

/// Lists filter by status (any of several) and by category.
pub async fn list_filters_by_status_and_category(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let statuses = |keys: &[&str]| RequestQuery {
        statuses: keys.iter().map(|k| status_key(k)).collect(),
        ..everything()
    };
    let categories = |c: &[Category]| RequestQuery {
        categories: c.to_vec(),
        ..everything()
    };

    expect_titles(
        &*store,
        ws,
        "everything",
        everything(),
        &[FIRE, LEASE, COFFEE, DESK, BACKUP],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "status open",
        statuses(&["open"]),
        &[FIRE, DESK, BACKUP],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "status in_progress",
        statuses(&["in_progress"]),
        &[LEASE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "status open or done",
        statuses(&["open", "done"]),
        &[FIRE, COFFEE, DESK, BACKUP],
    )
    .await;
    expect_titles(&*store, ws, "status waiting", statuses(&["waiting"]), &[]).await;
    expect_titles(
        &*store,
        ws,
        "category done",
        categories(&[Category::Done]),
        &[COFFEE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "category in_progress or done",
        categories(&[Category::InProgress, Category::Done]),
        &[LEASE, COFFEE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "category canceled",
        categories(&[Category::Canceled]),
        &[],
    )
    .await;
}

/// Lists filter by assignee and requester: a given member, or nobody.
pub async fn list_filters_by_assignee_and_requester(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let assignee = |m: MemberFilter| RequestQuery {
        assignee: Some(m),
        ..everything()
    };
    let requester = |m: MemberFilter| RequestQuery {
        requester: Some(m),
        ..everything()
    };
    let (owner, ana) = (f.s.owner.id, f.ana.id);

    expect_titles(
        &*store,
        ws,
        "assigned to the owner",
        assignee(MemberFilter::Is(owner)),
        &[FIRE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "assigned to Ana",
        assignee(MemberFilter::Is(ana)),
        &[LEASE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "assigned to nobody",
        assignee(MemberFilter::Nobody),
        &[COFFEE, DESK, BACKUP],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "requested by the owner",
        requester(MemberFilter::Is(owner)),
        &[FIRE, LEASE, COFFEE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "requested by Ana",
        requester(MemberFilter::Is(ana)),
        &[DESK],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "requested by nobody (system)",
        requester(MemberFilter::Nobody),
        &[BACKUP],
    )
    .await;
    let both = RequestQuery {
        statuses: vec![status_key("open")],
        assignee: Some(MemberFilter::Nobody),
        ..everything()
    };
    expect_titles(&*store, ws, "open and unassigned", both, &[DESK, BACKUP]).await;
}

/// Lists filter by one tag (exactly, not by prefix) and by request type.
pub async fn list_filters_by_tag_and_type(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let tag = |t: &str| RequestQuery {
        tag: Some(t.to_owned()),
        ..everything()
    };
    let of_type = |k: &str| RequestQuery {
        types: vec![type_key(k)],
        ..everything()
    };

    expect_titles(&*store, ws, "tag hardware", tag("hardware"), &[FIRE]).await;
    expect_titles(&*store, ws, "tag urgent", tag("urgent"), &[LEASE]).await;
    expect_titles(&*store, ws, "tag legal", tag("legal"), &[LEASE]).await;
    expect_titles(&*store, ws, "tag hard (a prefix)", tag("hard"), &[]).await;
    expect_titles(&*store, ws, "tag nobody uses", tag("finance"), &[]).await;
    expect_titles(&*store, ws, "type purchase", of_type("purchase"), &[DESK]).await;
    expect_titles(
        &*store,
        ws,
        "type general",
        of_type("general"),
        &[FIRE, LEASE, COFFEE, BACKUP],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "a type the workspace lacks",
        of_type("photo"),
        &[],
    )
    .await;
}

/// Lists filter by due date (before, after, both) and by overdue (due and unfinished);
/// requests without a due date match neither.
pub async fn list_filters_by_due_dates_and_overdue(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let now = f.now;
    let before = |t: Timestamp| RequestQuery {
        due_before: Some(t),
        ..everything()
    };
    let after = |t: Timestamp| RequestQuery {
        due_after: Some(t),
        ..everything()
    };

    expect_titles(&*store, ws, "due before now", before(now), &[FIRE, COFFEE]).await;
    expect_titles(&*store, ws, "due after now", after(now), &[LEASE, BACKUP]).await;
    expect_titles(
        &*store,
        ws,
        "due after in two days",
        after(now + TimeDelta::days(2)),
        &[LEASE],
    )
    .await;
    let window = RequestQuery {
        due_after: Some(now),
        due_before: Some(now + TimeDelta::days(2)),
        ..everything()
    };
    expect_titles(&*store, ws, "due in the next two days", window, &[BACKUP]).await;
    let overdue = RequestQuery {
        overdue_at: Some(now),
        ..everything()
    };
    expect_titles(&*store, ws, "overdue now", overdue, &[FIRE]).await;
    let overdue_later = RequestQuery {
        overdue_at: Some(now + TimeDelta::days(30)),
        ..everything()
    };
    expect_titles(
        &*store,
        ws,
        "overdue in thirty days",
        overdue_later,
        &[FIRE, LEASE, BACKUP],
    )
    .await;
}

/// Text search finds words of the title, the description and `data` values, needs every
/// word, matches word prefixes, ignores case, and sees edits.
pub async fn list_text_search(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let search = |text: &str| RequestQuery {
        text: Some(text.to_owned()),
        ..everything()
    };

    expect_titles(&*store, ws, "search: fire (title)", search("fire"), &[FIRE]).await;
    expect_titles(
        &*store,
        ws,
        "search: landlord (description)",
        search("landlord"),
        &[LEASE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: basement (data value)",
        search("basement"),
        &[FIRE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: ergotron (data value)",
        search("ergotron"),
        &[DESK],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: printer fire (all words)",
        search("printer fire"),
        &[FIRE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: printer landlord (no request has both)",
        search("printer landlord"),
        &[],
    )
    .await;
    expect_titles(&*store, ws, "search: zebra (in none)", search("zebra"), &[]).await;
    expect_titles(
        &*store,
        ws,
        "search: lea (a prefix of lease)",
        search("lea"),
        &[LEASE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: PRINTER (case)",
        search("PRINTER"),
        &[FIRE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: \"fire\"* (query syntax is not syntax)",
        search("\"fire\"*"),
        &[FIRE],
    )
    .await;
    let combined = RequestQuery {
        tag: Some("hardware".into()),
        ..search("printer")
    };
    expect_titles(
        &*store,
        ws,
        "search: printer with tag hardware",
        combined,
        &[FIRE],
    )
    .await;

    // Edits are searchable at once; the old words are gone.
    let lease = store
        .list_requests(ws, &search("landlord"))
        .await
        .expect("search")
        .items
        .pop()
        .expect("the lease request");
    let patch = RequestPatch {
        title: Some("Renew office contract".into()),
        ..Default::default()
    };
    changed(
        patch_request(&*store, &f.s.owner_principal(), lease.id, patch).await,
        "renaming a request",
    );
    expect_titles(
        &*store,
        ws,
        "search: contract (new title)",
        search("contract"),
        &["Renew office contract"],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: lease (old title)",
        search("lease"),
        &[],
    )
    .await;
}

/// A deleted request leaves every list and search, but can still be read, keeps its
/// timeline (with a deleted event), and can no longer change.
pub async fn deleted_requests_leave_lists_but_keep_their_timeline(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let hardware = RequestQuery {
        tag: Some("hardware".into()),
        ..everything()
    };
    expect_titles(
        &*store,
        ws,
        "tag hardware (toner deleted)",
        hardware,
        &[FIRE],
    )
    .await;
    expect_titles(
        &*store,
        ws,
        "search: toner",
        RequestQuery {
            text: Some("toner".into()),
            ..everything()
        },
        &[],
    )
    .await;
    let owners = RequestQuery {
        assignee: Some(MemberFilter::Is(f.s.owner.id)),
        ..everything()
    };
    expect_titles(
        &*store,
        ws,
        "assigned to the owner (toner deleted)",
        owners,
        &[FIRE],
    )
    .await;

    let s = create_workspace(&*store, "delete").await;
    let p = s.owner_principal();
    let old = file_request(&*store, &p, titled("Old request")).await;
    file_request(&*store, &p, titled("Current request")).await;
    let q = p.clone();
    let (deleted, event) = changed(
        store
            .change_request(
                s.id(),
                old.id,
                Box::new(move |current, _| plan_delete(&q, current, Some(1), now()).map(Some)),
            )
            .await,
        "deleting a request",
    );
    assert!(deleted.deleted_at.is_some());
    assert_eq!(event.kind, EventKind::Deleted);
    expect_titles(
        &*store,
        s.id(),
        "after a delete",
        everything(),
        &["Current request"],
    )
    .await;
    assert_eq!(
        store
            .get_request(s.id(), old.id)
            .await
            .expect("get request"),
        Some(deleted),
        "a deleted request can still be read"
    );
    let kinds: Vec<EventKind> = store
        .timeline(s.id(), old.id, None, 100)
        .await
        .expect("timeline")
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [EventKind::Created, EventKind::Deleted],
        "the timeline is kept"
    );
    let patch = RequestPatch {
        title: Some("Back from the dead".into()),
        ..Default::default()
    };
    match patch_request(&*store, &p, old.id, patch).await {
        Err(StoreError::Domain(DomainError::Gone)) => {}
        other => panic!("changing a deleted request: expected Gone, got {other:?}"),
    }
}

/// With 30 requests (ties in every sort key) and a limit of 7, following `next` visits all
/// 30 exactly once, in order, for every sort key and direction; full pages until the last,
/// and no `next` on the last.
pub async fn pagination_visits_every_request_once_in_order(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "pages").await;
    let p = s.owner_principal();
    let base = now() - TimeDelta::days(10);
    let mut all = Vec::new();
    for i in 0..30i64 {
        // Three requests share each creation time; due times repeat; a quarter have none.
        let created = base + TimeDelta::seconds(i / 3);
        let due_at = (i % 4 != 0).then(|| base + TimeDelta::hours(24 + (i * 7) % 5));
        let input = NewRequest {
            title: format!("Page item {i:02}"),
            due_at,
            ..Default::default()
        };
        let (mut request, _) =
            file_request_at(&*store, &p, &TypeKey::general(), input, created).await;
        if i % 2 == 0 {
            // Half are edited later, several at the same instant.
            let at = base + TimeDelta::days(1) - TimeDelta::seconds(i % 5);
            let patch = RequestPatch {
                title: Some(format!("Page item {i:02} (edited)")),
                ..Default::default()
            };
            request = changed(
                patch_request_at(&*store, &p, request.id, patch, None, at).await,
                "editing a request",
            )
            .0;
        }
        all.push(request);
    }

    for sort in [
        SortKey::Created,
        SortKey::Updated,
        SortKey::Due,
        SortKey::Number,
    ] {
        for direction in [Direction::Asc, Direction::Desc] {
            let query = RequestQuery {
                sort,
                direction,
                limit: 7,
                ..Default::default()
            };
            let pages = all_pages(&*store, s.id(), query).await;
            let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
            assert_eq!(
                sizes,
                [7, 7, 7, 7, 2],
                "page sizes sorting by {sort:?} {direction:?}"
            );
            let visited: Vec<Request> = pages.concat();
            assert_eq!(
                titles_of(&visited),
                titles_of(&in_list_order(&all, sort, direction)),
                "paging by {sort:?} {direction:?} visits every request once, in order"
            );
        }
    }

    let query = RequestQuery {
        limit: 10,
        ..Default::default()
    };
    let sizes: Vec<usize> = all_pages(&*store, s.id(), query)
        .await
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(
        sizes,
        [10, 10, 10],
        "when the last page is full it has no `next`"
    );
}

/// Paging `created desc` while new requests (some with the same creation times) arrive
/// between pages: every original request is seen exactly once and in order, and nothing
/// is seen twice.
pub async fn pagination_is_stable_under_concurrent_inserts(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "pages-live").await;
    let p = s.owner_principal();
    let base = now() - TimeDelta::days(1);
    let mut originals = Vec::new();
    for i in 0..30i64 {
        let input = titled(&format!("Original {i:02}"));
        originals.push(
            file_request_at(
                &*store,
                &p,
                &TypeKey::general(),
                input,
                base + TimeDelta::seconds((i / 2) * 10),
            )
            .await
            .0,
        );
    }
    // Inserted after pages 1, 2 and 3, spread over the originals' creation times; the
    // last batch lands exactly on existing times.
    let arrivals: [&[i64]; 3] = [&[5, 45, 85, 125], &[18, 58, 98], &[30, 70, 110]];

    let mut query = RequestQuery {
        sort: SortKey::Created,
        direction: Direction::Desc,
        limit: 7,
        ..Default::default()
    };
    let mut seen: Vec<Request> = Vec::new();
    for page_no in 0.. {
        assert!(page_no < 100, "paging never ends");
        let page = store
            .list_requests(s.id(), &query)
            .await
            .expect("list a page");
        seen.extend(page.items);
        if let Some(batch) = arrivals.get(page_no) {
            for (j, secs) in batch.iter().enumerate() {
                let input = titled(&format!("Arrival {page_no}-{j}"));
                file_request_at(
                    &*store,
                    &p,
                    &TypeKey::general(),
                    input,
                    base + TimeDelta::seconds(*secs),
                )
                .await;
            }
        }
        match page.next {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }

    let mut ids = HashSet::new();
    for r in &seen {
        assert!(ids.insert(r.id), "{:?} was listed twice", r.title);
    }
    let seen_originals: Vec<Request> = seen
        .iter()
        .filter(|r| r.title.starts_with("Original"))
        .cloned()
        .collect();
    assert_eq!(
        titles_of(&seen_originals),
        titles_of(&in_list_order(
            &originals,
            SortKey::Created,
            Direction::Desc
        )),
        "every original request is seen exactly once, in order"
    );
    let keys: Vec<(i64, RequestId)> = seen
        .iter()
        .map(|r| (SortKey::Created.value(r), r.id))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "the pages together are in created desc order: {:?}",
        titles_of(&seen)
    );
}

/// Many lists at once (more than a backend runs side by side) each get their whole,
/// right answer: none fails, none waits forever, none sees another's filter.
pub async fn many_concurrent_lists_each_get_their_own_answer(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let ws = f.s.id();
    let lists: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let what = format!("list {i} of 64 running at once");
                if i % 2 == 0 {
                    let all = &[FIRE, LEASE, COFFEE, DESK, BACKUP];
                    expect_titles(&*store, ws, &what, everything(), all).await;
                } else {
                    let open_only = RequestQuery {
                        statuses: vec![status_key("open")],
                        ..everything()
                    };
                    expect_titles(&*store, ws, &what, open_only, &[FIRE, DESK, BACKUP]).await;
                }
            })
        })
        .collect();
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        for list in lists {
            list.await.expect("a list gets its own answer");
        }
    })
    .await
    .expect("64 concurrent lists finish");
}
