//! Conformance checks: files.

use super::links::completion;
use super::links::gipper_request;
use super::{
    create_workspace, expect_conflict, expect_not_found, file_request, titled, unique_slug,
};
use crate::NewLink;
use crate::{Store, StoreError};
use docket_domain::access::Principal;
use docket_domain::event::{Actor, EventKind};
use docket_domain::file::{
    attached_change, storage_key, FileId, FileName, FilePolicy, FileRecord, Uploader, Visibility,
};
use docket_domain::ids::{RequestId, WorkspaceId};
use docket_domain::link::{plan_link_use, LinkMode};
use docket_domain::request::plan_delete;
use docket_domain::{now, DomainError};
use std::collections::HashSet;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

/// A new file record of `ws` (not yet stored), attached to `request` when given.
pub fn new_file(ws: WorkspaceId, request: Option<RequestId>, name: &str) -> FileRecord {
    let id = FileId::new();
    FileRecord {
        id,
        workspace_id: ws,
        request_id: request,
        name: FileName::sanitize(name),
        content_type: "application/pdf".into(),
        size: 1234,
        sha256: Some("ab".repeat(32)),
        uploaded_by: Uploader::System,
        visibility: Visibility::Internal,
        storage_key: storage_key(ws, id),
        created_at: now(),
    }
}

fn actor_of(p: &Principal) -> Actor {
    Actor {
        member_id: p.member_id(),
        token_id: p.token_id,
    }
}

/// The `files` changes of a request's timeline, as `(old id, new id)`.
async fn file_changes(store: &dyn Store, ws: WorkspaceId, r: RequestId) -> Vec<(String, String)> {
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap_or("").to_owned();
    store
        .timeline(ws, r, None, 100)
        .await
        .expect("timeline")
        .iter()
        .flat_map(|e| e.changes.iter())
        .filter(|c| c.field == "files")
        .map(|c| (id(&c.old), id(&c.new)))
        .collect()
}

pub async fn files_are_stored_listed_and_scoped_to_their_workspace(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "files").await;
    let other = create_workspace(&*store, "files-other").await;
    let r = file_request(&*store, &ws.owner_principal(), titled("with files")).await;
    let actor = actor_of(&ws.owner_principal());

    let mut stored = Vec::new();
    for i in 0..5 {
        let mut f = new_file(
            ws.id(),
            (i % 2 == 0).then_some(r.id),
            &format!("doc {i}.pdf"),
        );
        f.uploaded_by = Uploader::Member { id: ws.owner.id };
        f.visibility = if i == 0 {
            Visibility::Shared
        } else {
            Visibility::Internal
        };
        f.sha256 = (i != 4).then(|| format!("{i:02}").repeat(32));
        let (written, _) = store
            .insert_file(f.clone(), actor, now())
            .await
            .expect("insert a file");
        assert_eq!(written, f);
        stored.push(f);
    }
    let first = &stored[0];
    assert_eq!(
        store.get_file(ws.id(), first.id).await.unwrap().as_ref(),
        Some(first)
    );
    assert_eq!(
        store.file_by_id(first.id).await.unwrap().as_ref(),
        Some(first)
    );
    assert!(
        store
            .get_file(other.id(), first.id)
            .await
            .unwrap()
            .is_none(),
        "another workspace's file is not found"
    );
    assert!(store
        .get_file(ws.id(), FileId::new())
        .await
        .unwrap()
        .is_none());
    assert!(store.file_by_id(FileId::new()).await.unwrap().is_none());

    let all = store.list_files(ws.id(), None, None, 100).await.unwrap();
    assert_eq!(all, stored, "every file, oldest first, as written");
    let attached = store
        .list_files(ws.id(), Some(r.id), None, 100)
        .await
        .unwrap();
    let ids: Vec<FileId> = attached.iter().map(|f| f.id).collect();
    assert_eq!(ids, [stored[0].id, stored[2].id, stored[4].id]);
    let page = store.list_files(ws.id(), None, None, 2).await.unwrap();
    assert_eq!(page, stored[..2]);
    let rest = store
        .list_files(ws.id(), None, Some(page[1].id), 10)
        .await
        .unwrap();
    assert_eq!(rest, stored[2..]);
    assert!(store
        .list_files(other.id(), None, None, 100)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_files(other.id(), Some(r.id), None, 100)
        .await
        .unwrap()
        .is_empty());

    // A file can be attached only to a request of its own workspace.
    let foreign = file_request(&*store, &other.owner_principal(), titled("theirs")).await;
    let err = store
        .insert_file(new_file(ws.id(), Some(foreign.id), "x.pdf"), actor, now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Domain(DomainError::NotFound(_))),
        "{err:?}"
    );
    assert_eq!(
        store
            .list_files(ws.id(), None, None, 100)
            .await
            .unwrap()
            .len(),
        5
    );
}

pub async fn attaching_and_detaching_files_is_recorded_on_the_request(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "attach").await;
    let other = create_workspace(&*store, "attach-other").await;
    let p = ws.owner_principal();
    let actor = actor_of(&p);
    let r = file_request(&*store, &p, titled("attach here")).await;
    let second = file_request(&*store, &p, titled("not here")).await;

    // Uploaded straight onto the request: one write, one event, one new version.
    let onto = new_file(ws.id(), Some(r.id), "onto.pdf");
    let (file, event) = store.insert_file(onto.clone(), actor, now()).await.unwrap();
    assert_eq!(file.request_id, Some(r.id));
    let event = event.expect("attaching writes an event");
    assert_eq!(event.kind, EventKind::Updated);
    assert_eq!(event.actor, actor);
    assert_eq!(event.changes.len(), 1);
    assert_eq!(event.changes[0].field, "files");
    assert_eq!(event.changes[0].old, serde_json::Value::Null);
    assert_eq!(
        event.changes[0].new,
        serde_json::json!({"id": onto.id, "name": "onto.pdf", "size": 1234, "content_type": "application/pdf"})
    );
    let after = store.get_request(ws.id(), r.id).await.unwrap().unwrap();
    assert_eq!(after.version, r.version + 1);

    // An unattached file attached later.
    let loose = new_file(ws.id(), None, "loose.png");
    let (_, none) = store
        .insert_file(loose.clone(), actor, now())
        .await
        .unwrap();
    assert!(none.is_none(), "an unattached file changes no request");
    let (file, event) = store
        .attach_file(ws.id(), loose.id, r.id, actor, now())
        .await
        .unwrap();
    assert_eq!(file.request_id, Some(r.id));
    assert!(event.is_some());
    assert_eq!(
        store
            .get_file(ws.id(), loose.id)
            .await
            .unwrap()
            .unwrap()
            .request_id,
        Some(r.id)
    );
    assert_eq!(
        store
            .get_request(ws.id(), r.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        r.version + 2
    );

    // Attaching again to the same request changes nothing; to another is a conflict.
    let (_, again) = store
        .attach_file(ws.id(), loose.id, r.id, actor, now())
        .await
        .unwrap();
    assert!(again.is_none());
    expect_conflict(
        store
            .attach_file(ws.id(), loose.id, second.id, actor, now())
            .await,
        "file_attached",
        "attaching a file attached elsewhere",
    );
    expect_not_found(
        store
            .attach_file(other.id(), loose.id, r.id, actor, now())
            .await,
        "attaching another workspace's file",
    );
    expect_not_found(
        store
            .attach_file(ws.id(), FileId::new(), r.id, actor, now())
            .await,
        "attaching a missing file",
    );
    expect_not_found(
        store
            .attach_file(ws.id(), loose.id, RequestId::new(), actor, now())
            .await,
        "attaching to a missing request",
    );

    // Detaching records the file leaving, and leaves the file.
    let (file, event) = store
        .detach_file(ws.id(), loose.id, actor, now())
        .await
        .unwrap();
    assert_eq!(file.request_id, None);
    let event = event.expect("detaching writes an event");
    assert_eq!(event.changes[0].new, serde_json::Value::Null);
    assert_eq!(event.changes[0].old["name"], "loose.png");
    let (_, none) = store
        .detach_file(ws.id(), loose.id, actor, now())
        .await
        .unwrap();
    assert!(
        none.is_none(),
        "detaching an unattached file changes nothing"
    );
    assert_eq!(
        store
            .get_request(ws.id(), r.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        r.version + 3
    );
    expect_not_found(
        store.detach_file(other.id(), onto.id, actor, now()).await,
        "detaching another workspace's file",
    );
    assert_eq!(
        file_changes(&*store, ws.id(), r.id).await,
        [
            (String::new(), onto.id.to_string()),
            (String::new(), loose.id.to_string()),
            (loose.id.to_string(), String::new()),
        ]
    );

    // A deleted request takes no new files.
    let q = p.clone();
    store
        .change_request(
            ws.id(),
            second.id,
            Box::new(move |c, _| plan_delete(&q, c, None, now()).map(Some)),
        )
        .await
        .unwrap();
    let err = store
        .attach_file(ws.id(), loose.id, second.id, actor, now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Domain(DomainError::Gone)),
        "{err:?}"
    );
    let err = store
        .insert_file(new_file(ws.id(), Some(second.id), "late.pdf"), actor, now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Domain(DomainError::Gone)),
        "{err:?}"
    );
    assert_eq!(
        store
            .list_files(ws.id(), None, None, 100)
            .await
            .unwrap()
            .len(),
        2,
        "a refused upload stores no record"
    );
    assert!(store
        .get_file(ws.id(), loose.id)
        .await
        .unwrap()
        .unwrap()
        .request_id
        .is_none());
}

pub async fn deleting_a_file_records_it_on_its_request(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "delete-file").await;
    let other = create_workspace(&*store, "delete-file-other").await;
    let p = ws.owner_principal();
    let actor = actor_of(&p);
    let r = file_request(&*store, &p, titled("files leave")).await;
    let attached = new_file(ws.id(), Some(r.id), "attached.pdf");
    store
        .insert_file(attached.clone(), actor, now())
        .await
        .unwrap();
    let loose = new_file(ws.id(), None, "loose.pdf");
    store
        .insert_file(loose.clone(), actor, now())
        .await
        .unwrap();

    expect_not_found(
        store
            .delete_file(other.id(), attached.id, actor, now())
            .await,
        "deleting another workspace's file",
    );
    let (gone, event) = store
        .delete_file(ws.id(), attached.id, actor, now())
        .await
        .unwrap();
    assert_eq!(gone, attached);
    let event = event.expect("deleting an attached file writes an event");
    assert_eq!(event.request_id, r.id);
    assert_eq!(event.changes[0].old["id"], serde_json::json!(attached.id));
    assert_eq!(event.changes[0].new, serde_json::Value::Null);
    assert!(store
        .get_file(ws.id(), attached.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .get_request(ws.id(), r.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        r.version + 2
    );

    let (_, none) = store
        .delete_file(ws.id(), loose.id, actor, now())
        .await
        .unwrap();
    assert!(none.is_none());
    expect_not_found(
        store.delete_file(ws.id(), loose.id, actor, now()).await,
        "deleting twice",
    );
    assert!(store
        .list_files(ws.id(), None, None, 100)
        .await
        .unwrap()
        .is_empty());

    // A deleted request keeps its timeline, and records its files leaving.
    let kept = new_file(ws.id(), Some(r.id), "kept.pdf");
    store.insert_file(kept.clone(), actor, now()).await.unwrap();
    let q = p.clone();
    store
        .change_request(
            ws.id(),
            r.id,
            Box::new(move |c, _| plan_delete(&q, c, None, now()).map(Some)),
        )
        .await
        .unwrap();
    let (_, event) = store
        .delete_file(ws.id(), kept.id, actor, now())
        .await
        .unwrap();
    assert!(event.is_some());
    assert_eq!(file_changes(&*store, ws.id(), r.id).await.len(), 4);
}

pub async fn file_policies_are_set_per_workspace(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "policy").await;
    let other = create_workspace(&*store, "policy-other").await;
    assert_eq!(store.file_policy(ws.id()).await.unwrap(), None);
    let policy = FilePolicy::new(1024, vec!["image/*".into(), "application/pdf".into()]).unwrap();
    store
        .set_file_policy(ws.id(), policy.clone(), now())
        .await
        .unwrap();
    assert_eq!(store.file_policy(ws.id()).await.unwrap(), Some(policy));
    assert_eq!(store.file_policy(other.id()).await.unwrap(), None);
    let replaced = FilePolicy::new(7, vec![]).unwrap();
    store
        .set_file_policy(ws.id(), replaced.clone(), now())
        .await
        .unwrap();
    assert_eq!(store.file_policy(ws.id()).await.unwrap(), Some(replaced));
    expect_not_found(
        store
            .set_file_policy(WorkspaceId::new(), FilePolicy::default(), now())
            .await,
        "a policy for no workspace",
    );
}

pub async fn server_secrets_are_made_once_and_shared(store: Arc<dyn Store>) {
    let name = unique_slug("secret");
    let first = store
        .server_secret(&name, vec![1; 32], now())
        .await
        .unwrap();
    assert_eq!(first, vec![1; 32]);
    let again = store
        .server_secret(&name, vec![2; 32], now())
        .await
        .unwrap();
    assert_eq!(again, first, "the first value stays");
    let racing = unique_slug("secret");
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let store = store.clone();
        let name = racing.clone();
        tasks.push(tokio::spawn(async move {
            store.server_secret(&name, vec![i; 32], now()).await
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        seen.insert(t.await.expect("the task runs").expect("read the secret"));
    }
    assert_eq!(seen.len(), 1, "every caller gets the same secret");
}

pub async fn a_link_use_stores_its_files_in_the_same_write(store: Arc<dyn Store>) {
    let ws = create_workspace(&*store, "link-files").await;
    let (request, link) = gipper_request(
        &*store,
        &ws,
        NewLink {
            mode: LinkMode::OneTime,
            expires_at: None,
        },
    )
    .await;
    let media = |name: &str| {
        let mut f = new_file(ws.id(), Some(request.id), name);
        f.storage_key = format!("uploads/{name}");
        f.sha256 = None;
        f.uploaded_by = Uploader::Link { id: link.id };
        f.visibility = Visibility::Shared;
        f
    };
    let files = vec![media("a.png"), media("b.mp4")];
    let recorded = files.clone();
    let (_, after, event) = store
        .use_link_with_files(
            &link.token,
            files.clone(),
            Box::new(move |l, r, t, _| {
                let (mut planned, used) = plan_link_use(l, r, &t.workflow, completion(), now())?;
                planned
                    .event
                    .changes
                    .extend(recorded.iter().map(attached_change));
                Ok((planned, used))
            }),
        )
        .await
        .expect("a completion with files");
    assert_eq!(after.status.as_str(), "completed");
    assert_eq!(
        event.changes.iter().filter(|c| c.field == "files").count(),
        2
    );
    let listed = store
        .list_files(ws.id(), Some(request.id), None, 10)
        .await
        .unwrap();
    assert_eq!(listed, files);
    assert!(
        !listed[0].owns_object(),
        "an object put in the bucket by someone else"
    );

    // A refused use (the one-time link is used) stores none of its files.
    let refused = store
        .use_link_with_files(
            &link.token,
            vec![media("c.png")],
            Box::new(|l, r, t, _| plan_link_use(l, r, &t.workflow, completion(), now())),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(
        store
            .list_files(ws.id(), None, None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}
