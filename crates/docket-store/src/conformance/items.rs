//! Conformance checks: requested items.

use super::{create_workspace, new_file, type_key, TestWorkspace};
use crate::{Applied, RequestTypeChange, Store};
use docket_domain::access::Principal;
use docket_domain::event::EventKind;
use docket_domain::file::FileRecord;
use docket_domain::ids::{ItemId, RequestId, RequestTypeId};
use docket_domain::item::{
    parse_template, plan_items, Item, ItemAction, ItemActor, ItemProgress, ProgressFilter, Verdict,
};
use docket_domain::query::RequestQuery;
use docket_domain::request::{plan_create, Request, RequestType};
use docket_domain::workflow::{Workflow, WorkflowInput};
use docket_domain::{now, DomainError};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A `kyc` type: a note, a required document, a required number and an optional choice;
/// its workflow (the general one) follows the items.
async fn kyc_type(store: &dyn Store, ws: &TestWorkspace) -> RequestType {
    let mut w = serde_json::to_value(Workflow::general()).expect("a workflow");
    w["on_items"] = json!({"submitted": "in_progress", "approved": "done", "sent_back": "waiting"});
    let workflow = Workflow::new(serde_json::from_value::<WorkflowInput>(w).expect("input"))
        .expect("a valid workflow");
    let items = parse_template(
        serde_json::from_value(json!([
            {"kind": "note", "label": "Before you start"},
            {"kind": "document", "key": "passport", "label": "Passport", "required": true, "allowed_types": ["application/pdf"]},
            {"kind": "question", "key": "income", "label": "Income", "required": true, "answer_type": {"type": "number"}},
            {"kind": "question", "key": "colour", "label": "Colour", "answer_type": {"type": "choice", "options": ["red", "blue"]}},
        ]))
        .expect("item inputs"),
    )
    .expect("a valid template");
    let at = now();
    let t = RequestType {
        id: RequestTypeId::new(),
        workspace_id: ws.id(),
        key: type_key("kyc"),
        name: "KYC".into(),
        description: String::new(),
        workflow,
        items,
        created_at: at,
        updated_at: at,
    };
    store.insert_request_type(t).await.expect("insert the type")
}

/// Files a `kyc` request with the template's items (or `subset` of them).
async fn file_kyc(store: &dyn Store, p: &Principal, subset: Option<Vec<String>>) -> Request {
    let p = p.clone();
    let mut data = serde_json::Map::new();
    data.insert("contact".into(), json!({"email": "ann@example.com"}));
    store
        .create_request(
            p.workspace_id,
            &type_key("kyc"),
            Box::new(move |t, n| {
                let input = docket_domain::request::NewRequest {
                    title: "Know your customer".into(),
                    data: Some(data),
                    items: subset,
                    ..Default::default()
                };
                plan_create(&p, t, input, n, now())
            }),
        )
        .await
        .expect("file a kyc request")
        .0
}

/// Runs `action` on the request's items as `p`.
async fn act(
    store: &dyn Store,
    p: &Principal,
    id: RequestId,
    action: ItemAction,
    expected: Option<i64>,
    files: Vec<FileRecord>,
) -> crate::Result<(Applied, Vec<Item>)> {
    let p = p.clone();
    store
        .change_items(
            p.workspace_id,
            id,
            files,
            Box::new(move |r, t, items| {
                plan_items(ItemActor::Staff(&p), r, t, items, action, expected, now())
            }),
        )
        .await
}

fn key_of(items: &[Item], key: &str) -> Item {
    items
        .iter()
        .find(|i| i.spec.key == key)
        .cloned()
        .expect("the item")
}

pub async fn items_are_filed_with_their_request_and_read_back_in_order(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "items").await;
    let other = create_workspace(&*store, "items-other").await;
    let t = kyc_type(&*store, &ws).await;
    let read = store
        .get_request_type(ws.id(), &t.key)
        .await
        .unwrap()
        .expect("the type");
    assert_eq!(read.items, t.items, "the template reads back as written");
    let p = ws.owner_principal();
    let r = file_kyc(&*store, &p, None).await;
    let items = store.list_items(ws.id(), r.id).await.unwrap();
    let keys: Vec<&str> = items.iter().map(|i| i.spec.key.as_str()).collect();
    assert_eq!(keys, ["before-you-start", "passport", "income", "colour"]);
    assert_eq!(
        items.iter().map(|i| i.position).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    let stored = store.get_request(ws.id(), r.id).await.unwrap().unwrap();
    assert_eq!(stored.items, ItemProgress::of(&items));
    assert_eq!((stored.items.total, stored.items.required), (3, 2));
    assert!(
        store.list_items(other.id(), r.id).await.unwrap().is_empty(),
        "another workspace sees none of them"
    );
    assert_eq!(
        store.request_of_item(ws.id(), items[1].id).await.unwrap(),
        Some(r.id),
        "an item names its request"
    );
    assert_eq!(
        store
            .request_of_item(other.id(), items[1].id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.request_of_item(ws.id(), ItemId::new()).await.unwrap(),
        None
    );
    // A subset, and a request of a type without items.
    let some = file_kyc(&*store, &p, Some(vec!["income".into()])).await;
    let items = store.list_items(ws.id(), some.id).await.unwrap();
    assert_eq!(items.len(), 1);
    let plain = super::file_request(&*store, &p, super::titled("plain")).await;
    assert_eq!(plain.items, ItemProgress::default());
    // Replacing the template leaves filed requests as they are.
    let changed = store
        .update_request_type(
            ws.id(),
            &t.key,
            RequestTypeChange {
                items: Some(Vec::new()),
                ..Default::default()
            },
            now(),
        )
        .await
        .unwrap();
    assert!(changed.items.is_empty());
    assert_eq!(store.list_items(ws.id(), r.id).await.unwrap().len(), 4);
}

pub async fn item_changes_write_the_request_its_items_and_events_together(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "item-changes").await;
    kyc_type(&*store, &ws).await;
    let p = ws.owner_principal();
    let r = file_kyc(&*store, &p, None).await;
    let items = store.list_items(ws.id(), r.id).await.unwrap();
    let income = key_of(&items, "income");
    let passport = key_of(&items, "passport");

    // A stale If-Match writes nothing.
    let stale = act(
        &*store,
        &p,
        r.id,
        ItemAction::Review {
            item: income.id,
            verdict: Verdict::Approve,
        },
        Some(income.version + 1),
        Vec::new(),
    )
    .await;
    assert!(matches!(
        stale,
        Err(crate::StoreError::Domain(
            DomainError::PreconditionFailed { .. }
        ))
    ));
    let unchanged = store.get_request(ws.id(), r.id).await.unwrap().unwrap();
    assert_eq!(unchanged.version, r.version);

    let submit = |item: ItemId, answer: Value| ItemAction::Submit {
        item,
        answer: Some(answer),
        files: Vec::new(),
    };
    let (applied, after) = act(
        &*store,
        &p,
        r.id,
        submit(income.id, json!(1200)),
        Some(income.version),
        Vec::new(),
    )
    .await
    .expect("an answer");
    let Applied::Changed { request, event } = applied else {
        panic!("the answer changed the request")
    };
    assert_eq!(event.kind, EventKind::ItemSubmitted);
    assert_eq!(request.version, r.version + 1);
    assert_eq!(key_of(&after, "income").answer, Some(json!(1200)));
    assert_eq!(store.list_items(ws.id(), r.id).await.unwrap(), after);

    // A document with its file, stored in the same write; the last required answer moves
    // the request to review.
    let pdf = new_file(ws.id(), Some(r.id), "passport.pdf");
    let action = ItemAction::Submit {
        item: passport.id,
        answer: None,
        files: vec![pdf.clone()],
    };
    let (applied, _) = act(&*store, &p, r.id, action, None, vec![pdf.clone()])
        .await
        .expect("an upload");
    let moved = applied.into_request();
    assert_eq!(moved.status.as_str(), "in_progress");
    let files = store
        .list_files(ws.id(), Some(r.id), None, 10)
        .await
        .unwrap();
    assert_eq!(files, vec![pdf.clone()]);
    let timeline = store.timeline(ws.id(), r.id, None, 100).await.unwrap();
    let kinds: Vec<EventKind> = timeline.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Created,
            EventKind::ItemSubmitted,
            EventKind::ItemSubmitted,
            EventKind::Updated
        ]
    );
    assert!(timeline[3].changes.iter().any(|c| c.field == "cause"));

    // A refused upload (a zip where a PDF is wanted) stores neither the file nor anything else.
    let mut zip = new_file(ws.id(), Some(r.id), "x.zip");
    zip.content_type = "application/zip".into();
    let refused = act(
        &*store,
        &p,
        r.id,
        ItemAction::Submit {
            item: passport.id,
            answer: None,
            files: vec![zip.clone()],
        },
        None,
        vec![zip],
    )
    .await;
    assert!(refused.is_err());
    assert_eq!(
        store
            .list_files(ws.id(), Some(r.id), None, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // Reject, send back: the request goes to waiting and a message is queued.
    act(
        &*store,
        &p,
        r.id,
        ItemAction::Review {
            item: passport.id,
            verdict: Verdict::Reject("blurred".into()),
        },
        None,
        Vec::new(),
    )
    .await
    .expect("a rejection");
    let (applied, _) = act(&*store, &p, r.id, ItemAction::SendBack, None, Vec::new())
        .await
        .expect("sent back");
    assert_eq!(applied.into_request().status.as_str(), "waiting");
    let timeline = store.timeline(ws.id(), r.id, None, 100).await.unwrap();
    let last: Vec<EventKind> = timeline.iter().rev().take(3).map(|e| e.kind).collect();
    assert_eq!(
        last,
        [
            EventKind::MessageQueued,
            EventKind::Updated,
            EventKind::SentBack
        ]
    );

    // Removing an item keeps its submissions.
    act(
        &*store,
        &p,
        r.id,
        ItemAction::Remove { item: income.id },
        None,
        Vec::new(),
    )
    .await
    .expect("removed");
    let items = store.list_items(ws.id(), r.id).await.unwrap();
    assert!(items.iter().all(|i| i.id != income.id));
    let kept = store
        .item_submissions(ws.id(), r.id, Some(income.id))
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].answer, Some(json!(1200)));
    let all = store.item_submissions(ws.id(), r.id, None).await.unwrap();
    assert_eq!(all.len(), 2);
    let now_request = store.get_request(ws.id(), r.id).await.unwrap().unwrap();
    assert_eq!(now_request.items, ItemProgress::of(&items));
}

pub async fn lists_filter_by_item_progress(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "item-lists").await;
    kyc_type(&*store, &ws).await;
    let p = ws.owner_principal();
    let only = |keys: &[&str]| Some(keys.iter().map(|k| (*k).to_owned()).collect());
    // Missing; awaiting review; rejected; complete; and a request without items.
    let missing = file_kyc(&*store, &p, only(&["income"])).await;
    let awaiting = file_kyc(&*store, &p, only(&["income"])).await;
    let rejected = file_kyc(&*store, &p, only(&["income"])).await;
    let complete = file_kyc(&*store, &p, only(&["income", "colour"])).await;
    let plain = super::file_request(&*store, &p, super::titled("plain")).await;
    for r in [&awaiting, &rejected, &complete] {
        let income = key_of(&store.list_items(ws.id(), r.id).await.unwrap(), "income");
        let submit = ItemAction::Submit {
            item: income.id,
            answer: Some(json!(5)),
            files: Vec::new(),
        };
        act(&*store, &p, r.id, submit, None, Vec::new())
            .await
            .unwrap();
        let verdict = if r.id == rejected.id {
            Verdict::Reject("no".into())
        } else if r.id == complete.id {
            Verdict::Approve
        } else {
            continue;
        };
        let review = ItemAction::Review {
            item: income.id,
            verdict,
        };
        act(&*store, &p, r.id, review, None, Vec::new())
            .await
            .unwrap();
    }
    let all = [&missing, &awaiting, &rejected, &complete, &plain];
    for filter in [
        ProgressFilter::Incomplete,
        ProgressFilter::AwaitingReview,
        ProgressFilter::Rejected,
        ProgressFilter::Complete,
    ] {
        let q = RequestQuery {
            items: Some(filter),
            limit: 100,
            ..Default::default()
        };
        let listed: BTreeSet<RequestId> = store
            .list_requests(ws.id(), &q)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.id)
            .collect();
        let mut expected = BTreeSet::new();
        for r in all {
            let stored = store.get_request(ws.id(), r.id).await.unwrap().unwrap();
            if filter.matches(&stored.items) {
                expected.insert(r.id);
            }
        }
        assert_eq!(listed, expected, "{filter:?}");
        assert!(!expected.is_empty(), "{filter:?} matches something");
    }
}
