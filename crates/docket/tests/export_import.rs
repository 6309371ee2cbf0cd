//! `docket export` / `docket import` round trips: SQLite → PostgreSQL → SQLite through the
//! real binary, and each export is byte-for-byte the one before it, so every workspace,
//! member, token, type, request (deleted ones included), timeline event, file record and
//! file policy arrived as it left. Numbering continues after the highest imported number.

use docket_domain::access::Role;
use docket_domain::event::Actor;
use docket_domain::file::{FilePolicy, Uploader, Visibility};
use docket_domain::link::LinkId;
use docket_domain::now;
use docket_domain::request::{plan_delete, NewRequest, RequestPatch, TypeKey};
use docket_domain::workflow::Workflow;
use docket_store::conformance::{
    add_member, create_workspace, edit_workflow, file_request, move_request, new_file,
    new_request_type, patch_request, titled,
};
use docket_store::postgres::scratch::ScratchSchema;
use docket_store::postgres::PgStore;
use docket_store::sqlite::SqliteStore;
use docket_store::Store;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn docket(database_url: &str, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_docket"))
        .args(args)
        .env("DOCKET_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .env_remove("DOCKET_MIGRATE")
        .output()
        .expect("run docket");
    assert!(
        out.status.success(),
        "docket {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How many records of each kind the file holds.
fn kinds(path: &Path) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        *out.entry(v["record"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    out
}

/// Two workspaces with members, a custom type, live, moved, edited and deleted requests,
/// files (attached or not, of every kind of uploader) and, in one, a file policy.
async fn populate(store: &dyn Store) {
    for slug in ["acme", "globex"] {
        let s = create_workspace(store, slug).await;
        let p = s.owner_principal();
        let sam = add_member(
            store,
            s.id(),
            &format!("sam@{slug}.test"),
            "Sam",
            Role::Moderator,
        )
        .await;
        let photo = edit_workflow(&Workflow::general(), &["waiting"], &[], &[]);
        store
            .insert_request_type(new_request_type(s.id(), "photo", photo))
            .await
            .expect("insert a type");
        for i in 0..30 {
            let input = NewRequest {
                title: format!("{slug} request {i}"),
                description: Some("Café crème".into()),
                assignee_id: (i % 3 == 0).then_some(sam.id),
                due_at: (i % 2 == 0).then(now),
                data: serde_json::json!({"client": slug, "n": i})
                    .as_object()
                    .cloned(),
                tags: Some(vec!["legal".into(), format!("t{i}")]),
                subject: None,
            };
            let r = file_request(store, &p, input).await;
            if i % 4 == 0 {
                move_request(store, &p, r.id, "in_progress").await;
            }
            if i % 5 == 0 {
                let patch = RequestPatch {
                    title: Some(format!("{slug} renamed {i}")),
                    ..Default::default()
                };
                patch_request(store, &p, r.id, patch).await.expect("rename");
            }
            if i % 7 == 0 {
                let q = p.clone();
                store
                    .change_request(
                        s.id(),
                        r.id,
                        Box::new(move |current, _| plan_delete(&q, current, None, now()).map(Some)),
                    )
                    .await
                    .expect("delete");
            }
        }
        let last = file_request(store, &p, titled("last")).await;
        if slug == "acme" {
            let policy = FilePolicy::new(2 * 1024 * 1024, vec!["image/*".into()]).unwrap();
            store
                .set_file_policy(s.id(), policy, now())
                .await
                .expect("set a file policy");
        }
        for i in 0..6 {
            let mut f = new_file(
                s.id(),
                (i % 2 == 0).then_some(last.id),
                &format!("Café {i}.pdf"),
            );
            f.uploaded_by = match i % 3 {
                0 => Uploader::Member { id: sam.id },
                1 => Uploader::Link { id: LinkId::new() },
                _ => Uploader::System,
            };
            if i == 1 {
                f.visibility = Visibility::Shared;
                f.sha256 = None;
                f.storage_key = "uploads/elsewhere.png".into();
            }
            let (f, _) = store
                .insert_file(f, Actor::default(), now())
                .await
                .expect("insert a file");
            if i == 4 {
                store
                    .delete_file(s.id(), f.id, Actor::default(), now())
                    .await
                    .expect("delete a file");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_import_round_trip_between_backends() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("source.db");
    {
        let store = SqliteStore::open(&sqlite).expect("open SQLite");
        populate(&store).await;
    }
    let sqlite_url = format!("sqlite:{}", sqlite.display());
    let first = dir.path().join("first.jsonl");
    docket(
        &sqlite_url,
        &["export", "--output", first.to_str().unwrap()],
    );

    // SQLite → PostgreSQL.
    let schema = ScratchSchema::for_tests()
        .await
        .expect("create a scratch schema (is PostgreSQL running? see DOCKET_TEST_PG_URL)");
    docket(schema.url(), &["migrate"]);
    docket(schema.url(), &["import", first.to_str().unwrap()]);
    let second = dir.path().join("second.jsonl");
    docket(
        schema.url(),
        &["export", "--output", second.to_str().unwrap()],
    );

    // PostgreSQL → a fresh SQLite.
    let back = format!("sqlite:{}", dir.path().join("back.db").display());
    docket(&back, &["import", second.to_str().unwrap()]);
    let third = dir.path().join("third.jsonl");
    docket(&back, &["export", "--output", third.to_str().unwrap()]);

    let counts = kinds(&first);
    assert_eq!(counts["workspace"], 2);
    assert_eq!(counts["member"], 4);
    assert_eq!(counts["token"], 2);
    assert_eq!(counts["request_type"], 4);
    assert_eq!(counts["request"], 62, "deleted requests are exported too");
    assert_eq!(counts["file"], 10);
    assert_eq!(counts["file_policy"], 1);
    assert_eq!(kinds(&second), counts);
    let first = std::fs::read_to_string(&first).unwrap();
    assert_eq!(
        std::fs::read_to_string(&second).unwrap(),
        first,
        "SQLite → PostgreSQL is exact"
    );
    assert_eq!(
        std::fs::read_to_string(&third).unwrap(),
        first,
        "PostgreSQL → SQLite is exact"
    );

    // One workspace alone, and numbering continues after the import.
    let acme = dir.path().join("acme.jsonl");
    docket(
        schema.url(),
        &[
            "export",
            "--workspace",
            first_slug(&first, "acme"),
            "--output",
            acme.to_str().unwrap(),
        ],
    );
    assert_eq!(kinds(&acme)["workspace"], 1);
    assert_eq!(kinds(&acme)["request"], 31);
    let store = PgStore::connect(schema.url()).await.expect("connect");
    let ws = store
        .workspace_by_slug(first_slug(&first, "acme"))
        .await
        .unwrap()
        .expect("acme was imported");
    let owner = store
        .list_members(ws.id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.role == Role::Owner)
        .unwrap();
    let p = docket_store::conformance::principal_for(&owner, None);
    let (next, _) = docket_store::conformance::file_request_at(
        &store,
        &p,
        &TypeKey::general(),
        titled("after import"),
        now(),
    )
    .await;
    assert_eq!(
        next.number, 32,
        "numbering continues after the highest imported number"
    );
}

/// The unique slug `create_workspace` made from `prefix`, read from the export.
fn first_slug<'a>(export: &'a str, prefix: &str) -> &'a str {
    export
        .lines()
        .filter_map(|l| l.split("\"slug\":\"").nth(1))
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .find(|slug| slug.starts_with(prefix))
        .expect("the workspace is in the export")
}
