//! `docket export` / `docket import` round trips: SQLite → PostgreSQL → SQLite through the
//! real binary, and each export is byte-for-byte the one before it, so every workspace,
//! member, token, type, request (deleted ones included), timeline event, file record and
//! file policy, password, public link, external key, due-date notice, email template,
//! email, webhook and delivery arrived as it left; after the move nothing is sent twice
//! and nothing waiting is lost. Numbering continues after the highest imported number.

use chrono::TimeDelta;
use docket_domain::access::Role;
use docket_domain::email::Template;
use docket_domain::event::{Actor, EventKind};
use docket_domain::file::{FilePolicy, Uploader, Visibility};
use docket_domain::item::{plan_items, ItemAction, ItemActor, Verdict};
use docket_domain::link::{LinkId, LinkMode};
use docket_domain::now;
use docket_domain::request::{plan_create, plan_delete, NewRequest, RequestPatch, TypeKey};
use docket_domain::webhook::Attempt;
use docket_domain::workflow::Workflow;
use docket_store::conformance::{
    add_member, create_workspace, edit_workflow, file_request, move_request, new_file,
    new_request_type, new_webhook, patch_request, titled,
};
use docket_store::postgres::scratch::ScratchSchema;
use docket_store::postgres::PgStore;
use docket_store::sqlite::SqliteStore;
use docket_store::{AttemptOutcome, EmailOutcome, ExternalKey, NewEmail, NewLink, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Runs the binary and returns what it wrote to stderr.
fn docket(database_url: &str, args: &[&str]) -> String {
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
    String::from_utf8_lossy(&out.stderr).into_owned()
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

/// Two workspaces with members (one with a password), a custom type, live, moved, edited
/// and deleted requests, files (attached or not, of every kind of uploader), public links,
/// external keys, due-date notices, email templates, emails queued and sent and events the
/// email planner has not read, webhooks with deliveries made and events not yet queued,
/// and, in one, a file policy.
async fn populate(store: &dyn Store) {
    // The email planner has started: flagged events after this are waiting for it.
    store.outbox_cursor("email").await.expect("email cursor");
    let mut waiting = Vec::new();
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
        store
            .set_password(
                s.id(),
                sam.id,
                Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into()),
            )
            .await
            .expect("set a password");
        let hook = new_webhook(s.id(), "https://hooks.example/docket", &[]);
        store.insert_webhook(hook.clone()).await.expect("webhook");
        let updates = new_webhook(
            s.id(),
            "https://hooks.example/updates",
            &[EventKind::Updated],
        );
        store.insert_webhook(updates).await.expect("webhook");
        store
            .set_email_template(
                s.id(),
                Template {
                    name: "assigned".into(),
                    subject: format!("{slug}: #{{{{number}}}}"),
                    body: "Über {{title}}".into(),
                },
                now(),
            )
            .await
            .expect("template");
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
                items: None,
            };
            let r = if i == 1 {
                let q = p.clone();
                store
                    .create_request_with_key(
                        s.id(),
                        &TypeKey::general(),
                        ExternalKey {
                            space: "opennotes.request_id".into(),
                            key: format!("{slug}-note-1"),
                        },
                        Box::new(move |t, n| plan_create(&q, t, input, n, now())),
                    )
                    .await
                    .expect("create with an external key")
                    .0
            } else {
                file_request(store, &p, input).await
            };
            if i == 2 {
                // Requested items: one answered and rejected, its submission kept.
                let item = docket_domain::ids::ItemId::new();
                let input: docket_domain::item::ItemInput = serde_json::from_value(
                    serde_json::json!({"kind": "question", "label": "Employer", "required": true, "answer_type": {"type": "text"}}),
                )
                .expect("an item");
                let actions = [
                    ItemAction::Add { id: item, input },
                    ItemAction::Submit {
                        item,
                        answer: Some(serde_json::json!("ACME")),
                        files: Vec::new(),
                    },
                    ItemAction::Review {
                        item,
                        verdict: Verdict::Reject("the full legal name".into()),
                    },
                ];
                for action in actions {
                    let q = p.clone();
                    store
                        .change_items(
                            s.id(),
                            r.id,
                            Vec::new(),
                            Box::new(move |r, t, items| {
                                plan_items(ItemActor::Staff(&q), r, t, items, action, None, now())
                            }),
                        )
                        .await
                        .expect("an item change");
                }
            }
            if i % 6 == 0 {
                let link = store
                    .insert_link(
                        s.id(),
                        r.id,
                        NewLink {
                            mode: if i % 12 == 0 {
                                LinkMode::OneTime
                            } else {
                                LinkMode::MultiUse
                            },
                            expires_at: (i == 6).then(|| now() + TimeDelta::days(30)),
                        },
                        now(),
                    )
                    .await
                    .expect("a link");
                if i == 18 {
                    store
                        .revoke_link(s.id(), link.id, now())
                        .await
                        .expect("revoke");
                }
            }
            if i == 10 {
                // The webhooks' outbox step has run once and one delivery was made; the
                // events after this wait for the next step.
                store
                    .enqueue_deliveries(now(), 1000)
                    .await
                    .expect("enqueue");
                let claimed = store
                    .claim_deliveries(now(), now() + TimeDelta::seconds(30), 1, 1)
                    .await
                    .expect("claim");
                let attempt = Attempt {
                    at: now(),
                    status_code: Some(204),
                    duration_ms: 12,
                    error: None,
                };
                store
                    .record_attempt(claimed[0].delivery.id, attempt, AttemptOutcome::Delivered)
                    .await
                    .expect("record");
            }
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
        // The planner read part of the events and queued an email, which was sent; the
        // rest wait for it.
        let from = store.outbox_cursor("email").await.expect("cursor");
        let page = store.mail_events_after(from, 3).await.expect("mail events");
        let first = &page.events[0];
        let email = NewEmail {
            workspace_id: s.id(),
            request_id: first.request_id,
            event_id: first.id,
            to: format!("sam@{slug}.test"),
            subject: "Assigned".into(),
            body: "Hello".into(),
        };
        assert!(store
            .queue_emails("email", from, page.through, vec![email.clone()], now())
            .await
            .expect("queue"));
        let claimed = store
            .claim_emails(now(), now() + TimeDelta::seconds(30), 10)
            .await
            .expect("claim emails");
        store
            .record_email(&claimed[0].id, EmailOutcome::Sent, now())
            .await
            .expect("sent");
        waiting.push(NewEmail {
            to: "owner@x.test".into(),
            ..email
        });
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
    for email in waiting {
        store.queue_email(email, now()).await.expect("queue");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_import_round_trip_between_backends() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("source.db");
    {
        let store = SqliteStore::open(&sqlite).expect("open SQLite");
        populate(&store).await;
        // Past due: the overdue notices are sent (and recorded) before the export.
        let sent = store
            .record_due_notices(now(), 1000)
            .await
            .expect("notices");
        assert!(!sent.is_empty());
    }
    let sqlite_url = format!("sqlite:{}", sqlite.display());
    let first = dir.path().join("first.jsonl");
    let said = docket(
        &sqlite_url,
        &["export", "--output", first.to_str().unwrap()],
    );
    assert!(
        said.contains("exported ") && said.contains("62 request"),
        "{said}"
    );

    // SQLite → PostgreSQL.
    let schema = ScratchSchema::for_tests()
        .await
        .expect("create a scratch schema (is PostgreSQL running? see DOCKET_TEST_PG_URL)");
    docket(schema.url(), &["migrate"]);
    let said = docket(schema.url(), &["import", first.to_str().unwrap()]);
    assert!(
        said.contains("imported ")
            && said.contains(", 62 request, ")
            && said.contains("2 workspace"),
        "import says what it wrote: {said}"
    );
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
    assert_eq!(counts["password"], 2);
    assert_eq!(counts["email_template"], 2);
    assert_eq!(counts["link"], 10);
    assert_eq!(counts["external_key"], 2);
    assert_eq!(counts["webhook"], 4);
    assert_eq!(counts["pending_mail"], 2);
    assert_eq!(
        counts["notice"], 24,
        "an overdue notice for each live request due"
    );
    assert_eq!(counts["email"], 4);
    assert!(
        counts["delivery"] > 100,
        "made and not yet queued: {counts:?}"
    );
    assert_eq!(kinds(&second), counts);
    let first = std::fs::read_to_string(&first).unwrap();
    let with_items: Vec<&str> = first
        .lines()
        .filter(|l| l.contains("\"submissions\":[") && l.contains("the full legal name"))
        .collect();
    assert_eq!(
        with_items.len(),
        2,
        "each workspace's request with an item, with its submission"
    );
    same(
        &std::fs::read_to_string(&second).unwrap(),
        &first,
        "SQLite → PostgreSQL",
    );
    same(
        &std::fs::read_to_string(&third).unwrap(),
        &first,
        "PostgreSQL → SQLite",
    );

    // Nothing is sent twice after the move, and nothing waiting is lost: no notice is due
    // again, the email planner reads exactly the events the source had not read, and the
    // webhooks queue nothing new and hold the made delivery as made.
    let pg = PgStore::connect(schema.url()).await.expect("connect");
    assert_eq!(
        pg.record_due_notices(now(), 1000).await.expect("notices"),
        vec![],
        "no notice is sent again"
    );
    let waiting: std::collections::BTreeSet<String> = first
        .lines()
        .filter(|l| l.contains("\"record\":\"pending_mail\""))
        .flat_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let cursor = pg.outbox_cursor("email").await.expect("cursor");
    let planned: std::collections::BTreeSet<String> = pg
        .mail_events_after(cursor, 10_000)
        .await
        .expect("mail events")
        .events
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    assert!(!waiting.is_empty());
    assert_eq!(
        planned, waiting,
        "the planner reads what it had not read, no more"
    );
    let claimed = pg
        .claim_emails(now(), now() + chrono::TimeDelta::seconds(30), 100)
        .await
        .expect("claim emails");
    assert_eq!(claimed.len(), 2, "the queued emails, not the sent ones");
    assert!(claimed.iter().all(|e| e.email.to == "owner@x.test"));
    assert_eq!(
        pg.enqueue_deliveries(now(), 10_000).await.expect("enqueue"),
        0,
        "every event already has its deliveries"
    );
    let delivered: Vec<&str> = first
        .lines()
        .filter(|l| l.contains("\"record\":\"delivery\"") && l.contains("\"state\":\"delivered\""))
        .collect();
    assert_eq!(delivered.len(), 2);
    let pending = pg
        .claim_deliveries(
            now(),
            now() + chrono::TimeDelta::seconds(30),
            10_000,
            10_000,
        )
        .await
        .expect("claim deliveries");
    assert!(!pending.is_empty());
    for d in &pending {
        assert!(
            !delivered
                .iter()
                .any(|l| l.contains(&d.delivery.id.to_string())),
            "a made delivery is not made again"
        );
    }

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

/// Two exports are the same, line for line (the first differing line is reported).
fn same(got: &str, want: &str, what: &str) {
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "{what}: line {} differs", n + 1);
    }
    assert_eq!(
        got.lines().count(),
        want.lines().count(),
        "{what}: line count"
    );
}

const TOKEN: &str = "dk_movingmovingmovingmovingmovingmoving0001";

/// A `docket serve` on one database with its own data directory (its mail folder); killed
/// when dropped.
struct Server {
    child: std::process::Child,
    base: String,
    data_dir: std::path::PathBuf,
}

impl Server {
    async fn start(database_url: &str, data_dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_docket"))
            .arg("serve")
            .env("DOCKET_DATABASE_URL", database_url)
            .env("DOCKET_DATA_DIR", data_dir)
            .env("DOCKET_LISTEN", format!("127.0.0.1:{port}"))
            // The same public address on every server, so links read the same.
            .env("DOCKET_PUBLIC_URL", "https://desk.example")
            .env("DOCKET_ADMIN_TOKEN", TOKEN)
            .env("DOCKET_SCHEDULER_INTERVAL_MS", "100")
            .env("DOCKET_RATE_LIMIT_PER_SECOND", "100000")
            .env("DOCKET_RATE_LIMIT_BURST", "100000")
            .env("RUST_LOG", "warn")
            .env_remove("DOCKET_MIGRATE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start docket serve");
        let mut server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir: data_dir.to_owned(),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("docket serve exited with {status}");
            }
            if reqwest::get(format!("{}/readyz", server.base))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("docket serve did not become ready");
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut b = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            b = b.json(&body);
        }
        let r = b.send().await.expect("call docket");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The emails written to the mail folder so far.
    fn mails(&self) -> usize {
        std::fs::read_dir(self.data_dir.join("mail"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::forget(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What every API answers about the workspace, read the same way from each server.
async fn answers(s: &Server, ids: &Ids) -> Vec<(String, Value)> {
    let mut paths = vec![
        "/api/v1/requests?limit=100".to_owned(),
        "/api/v1/members".to_owned(),
        "/api/v1/request-types".to_owned(),
        "/api/v1/email-templates".to_owned(),
        "/api/v1/webhooks".to_owned(),
        "/api/v1/files".to_owned(),
        "/api/public/v1/requests".to_owned(),
        "/v1/requests".to_owned(),
        format!("/v1/requests/{}", ids.collect),
    ];
    for id in [&ids.late, &ids.collect, &ids.note] {
        paths.push(format!("/api/v1/requests/{id}"));
        paths.push(format!("/api/v1/requests/{id}/timeline"));
        paths.push(format!("/api/v1/requests/{id}/links"));
        paths.push(format!("/api/v1/requests/{id}/comments"));
    }
    let mut out = Vec::new();
    for p in paths {
        // Links built from the request's own address name the server that answered.
        let body = s
            .get(&p)
            .await
            .to_string()
            .replace(&s.base, "http://docket");
        out.push((p, serde_json::from_str(&body).unwrap()));
    }
    out
}

struct Ids {
    late: String,
    collect: String,
    note: String,
}

/// Waits until `f` holds, for up to 15 s.
async fn until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if f().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn overdue_notices(s: &Server, id: &str) -> usize {
    s.get(&format!("/api/v1/requests/{id}/timeline")).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "request.overdue")
        .count()
}

/// Every API answers the same after a move in either direction, a used Open Notes
/// `request_id` stays used, Collect's portal link still works, and the overdue notice and
/// the emails sent before the move are not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_answers_the_same_after_a_move_both_ways() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite:{}", dir.path().join("a.db").display());
    let a = Server::start(&sqlite_url, &dir.path().join("a")).await;
    let owner = a.get("/api/v1/members").await["items"][0]["id"].clone();
    let past = (chrono::Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    let (status, late) = a
        .call(
            Method::POST,
            "/api/v1/requests",
            Some(
                serde_json::json!({"title": "Late", "due_at": past, "assignee_id": owner,
                "data": {"contact": {"email": "client@example.com", "name": "Cleo"}}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{late}");
    let late = late["id"].as_str().unwrap().to_owned();
    let (status, link) = a
        .call(
            Method::POST,
            &format!("/api/v1/requests/{late}/links"),
            Some(serde_json::json!({"mode": "multi_use"})),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    let (status, made) = a
        .call(
            Method::POST,
            "/v1/request",
            Some(serde_json::json!({"campaignId": "collect",
                "contact": {"email": "elon@example.com", "firstName": "Elon"}})),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let collect = made["request"]["_id"].as_str().unwrap().to_owned();
    let portal = made["request"]["portalUrl"].as_str().unwrap().to_owned();
    let note_body = serde_json::json!({"data": {"type": "requests", "attributes": {
        "request_id": "moved-1", "requested_by": "p-1", "community_server_id": "g-1",
        "original_message_content": "The moon is cheese"}}});
    let (status, note) = a
        .call(
            Method::POST,
            "/api/public/v1/requests",
            Some(note_body.clone()),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    let (status, _) = a
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(serde_json::json!({"url": "https://hooks.example/docket"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = a
        .call(
            Method::PUT,
            "/api/v1/email-templates/assigned",
            Some(serde_json::json!({"subject": "Yours: {{title}}", "body": "Hello {{name}}"})),
        )
        .await;
    assert_eq!(status, 200);
    let ids = Ids {
        late: late.clone(),
        collect,
        note: note["data"]["id"].as_str().unwrap().to_owned(),
    };
    until("the overdue notice", async || {
        overdue_notices(&a, &late).await == 1
    })
    .await;
    // The assignment and the overdue notice to the owner (the Collect request mails its
    // contact too); wait until the folder stops growing.
    let mut seen = 0;
    until("the emails", async || {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = a.mails();
        let settled = now >= 2 && now == seen;
        seen = now;
        settled
    })
    .await;
    let sent_before = a.mails();
    a.stop();

    // SQLite → PostgreSQL, then PostgreSQL → a fresh SQLite; each server compared with the
    // one it came from, both running.
    let schema = ScratchSchema::for_tests().await.expect("a scratch schema");
    let file = dir.path().join("a.jsonl");
    docket(&sqlite_url, &["export", "--output", file.to_str().unwrap()]);
    docket(schema.url(), &["migrate"]);
    docket(schema.url(), &["import", file.to_str().unwrap()]);
    let a = Server::start(&sqlite_url, &dir.path().join("a")).await;
    let b = Server::start(schema.url(), &dir.path().join("b")).await;
    let back_url = format!("sqlite:{}", dir.path().join("c.db").display());
    let file = dir.path().join("b.jsonl");
    docket(
        schema.url(),
        &["export", "--output", file.to_str().unwrap()],
    );
    docket(&back_url, &["import", file.to_str().unwrap()]);
    let c = Server::start(&back_url, &dir.path().join("c")).await;

    let want = answers(&a, &ids).await;
    for (name, moved) in [("PostgreSQL", &b), ("SQLite again", &c)] {
        let got = answers(moved, &ids).await;
        for ((path, w), (_, g)) in want.iter().zip(&got) {
            assert_eq!(
                g, w,
                "{name}: GET {path} answers differently after the move"
            );
        }
        let (status, body) = moved
            .call(
                Method::POST,
                "/api/public/v1/requests",
                Some(note_body.clone()),
            )
            .await;
        assert_ne!(status, 201, "{name}: a used request_id stays used: {body}");
        let path = portal.strip_prefix("https://desk.example").unwrap();
        let r = reqwest::get(format!("{}{path}", moved.base)).await.unwrap();
        assert_eq!(r.status(), 200, "{name}: Collect's portal link still opens");
    }
    // Several scheduler and mailer passes later, nothing was sent again.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for (name, moved) in [("PostgreSQL", &b), ("SQLite again", &c)] {
        assert_eq!(
            overdue_notices(moved, &late).await,
            1,
            "{name}: one overdue notice"
        );
        assert_eq!(moved.mails(), 0, "{name}: no email is sent again");
    }
    assert_eq!(a.mails(), sent_before);
}
