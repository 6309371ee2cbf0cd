//! Durability: kill -9 the server in the middle of a burst of writes, start it again on
//! the same data directory, and check that every write it acknowledged is there.
//!
//! This runs the real `docket` binary, because durability is a property of the process
//! and the disk, not of the router.
//!
//! What it proves: a write is acknowledged only after its transaction committed (the
//! process dies, the OS page cache survives). It cannot prove the fsync itself, which
//! only a power cut would test; that rests on `synchronous = FULL` in WAL mode, set in
//! `docket-store/src/sqlite/mod.rs`.

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const TOKEN: &str = "dk_crashtestcrashtestcrashtestcrashtest0001";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data_dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_docket"))
        .arg("serve")
        .env("DOCKET_DATA_DIR", data_dir)
        .env("DOCKET_LISTEN", format!("127.0.0.1:{port}"))
        .env("DOCKET_ADMIN_TOKEN", TOKEN)
        .env("DOCKET_RATE_LIMIT_PER_SECOND", "1000000")
        .env("DOCKET_RATE_LIMIT_BURST", "1000000")
        .env("DOCKET_WEBHOOKS_ALLOW_PRIVATE", "true")
        .env("DOCKET_WEBHOOK_TIMEOUT_SECS", "1")
        .env("DOCKET_WEBHOOK_RETRY_SCHEDULE_MS", "200,200,200,200,200")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docket")
}

/// Polls readiness: a separate process gives no other signal that it is listening.
async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("docket did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = start(dir.path(), port);
    wait_ready(&client, &base).await;

    // Acknowledged creates (id → title) and acknowledged status changes (id → status).
    let created: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let moved: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..16 {
        let (client, base, created, moved) =
            (client.clone(), base.clone(), created.clone(), moved.clone());
        workers.push(tokio::spawn(async move {
            for i in 0.. {
                let title = format!("crash {w}-{i}");
                let Ok(r) = client
                    .post(format!("{base}/api/v1/requests"))
                    .bearer_auth(TOKEN)
                    .json(&json!({ "title": title }))
                    .send()
                    .await
                else {
                    return;
                };
                if r.status() != 201 {
                    return;
                }
                let Ok(body) = r.json::<Value>().await else {
                    return;
                };
                let id = body["id"].as_str().unwrap().to_owned();
                created.lock().await.push((id.clone(), title));
                let Ok(r) = client
                    .patch(format!("{base}/api/v1/requests/{id}"))
                    .bearer_auth(TOKEN)
                    .json(&json!({ "status": "in_progress" }))
                    .send()
                    .await
                else {
                    return;
                };
                if r.status() != 200 {
                    return;
                }
                let Ok(body) = r.json::<Value>().await else {
                    return;
                };
                moved
                    .lock()
                    .await
                    .push((id, body["version"].as_i64().unwrap()));
            }
        }));
    }
    // Let the burst build up, then kill without warning.
    while created.lock().await.len() < 400 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().expect("kill -9");
    server.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let created = created.lock().await.clone();
    let moved = moved.lock().await.clone();
    assert!(created.len() >= 400);

    let mut server = start(dir.path(), port);
    wait_ready(&client, &base).await;
    for (id, title) in &created {
        let r = client
            .get(format!("{base}/api/v1/requests/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "acknowledged request {id} is missing after the crash"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["title"], title.as_str());
    }
    for (id, version) in &moved {
        let body: Value = client
            .get(format!("{base}/api/v1/requests/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["status"], "in_progress",
            "acknowledged status change of {id} was lost"
        );
        assert!(body["version"].as_i64().unwrap() >= *version);
    }
    // Numbers stay unique after recovery: a new request continues the sequence.
    let r: Value = client
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth(TOKEN)
        .json(&json!({ "title": "after" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["number"].as_i64().unwrap() > created.len() as i64);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let server = start(dir.path(), port);
    wait_ready(&client, &base).await;
    let r = client
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth(TOKEN)
        .json(&json!({ "title": "before stop" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let output = server.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "docket exited with {:?} on SIGTERM",
        output.status
    );
}

/// A webhook receiver that records each delivery's `webhook-id` and can be made to hang.
#[derive(Clone, Default)]
struct Receiver {
    ids: Arc<std::sync::Mutex<Vec<String>>>,
    hang: Arc<std::sync::atomic::AtomicBool>,
}

async fn receive(
    axum::extract::State(r): axum::extract::State<Receiver>,
    headers: axum::http::HeaderMap,
) -> axum::http::StatusCode {
    if r.hang.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let id = headers["webhook-id"].to_str().unwrap().to_owned();
    r.ids.lock().unwrap().push(id);
    axum::http::StatusCode::NO_CONTENT
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_in_flight_at_a_crash_are_delivered_after_restart() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = start(dir.path(), port);
    wait_ready(&client, &base).await;
    let r = client
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(TOKEN)
        .json(&json!({ "url": hook_url }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // The receiver hangs: the first deliveries are in flight when the server dies.
    receiver
        .hang
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut events = Vec::new();
    for i in 0..5 {
        let r: Value = client
            .post(format!("{base}/api/v1/requests"))
            .bearer_auth(TOKEN)
            .json(&json!({ "title": format!("hook {i}") }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        events.push(r["id"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill().expect("kill -9");
    server.wait().unwrap();
    assert!(receiver.ids.lock().unwrap().is_empty());

    receiver
        .hang
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let mut server = start(dir.path(), port);
    wait_ready(&client, &base).await;
    let feed: Value = client
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected: std::collections::BTreeSet<String> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 5);
    // Leases of the deliveries in flight at the crash run out (2 x timeout + 5 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got: std::collections::BTreeSet<String> =
            receiver.ids.lock().unwrap().iter().cloned().collect();
        if got == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after restart, delivered {got:?} of {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
