//! Durability: kill -9 the server in the middle of a burst of writes, start it again on
//! the same data directory, and check that every write it acknowledged is there.
//!
//! This runs the real `docket` binary, because durability is a property of the process
//! and the disk, not of the router.

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const TOKEN: &str = "dk_crashtestcrashtestcrashtestcrashtest0001";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(data_dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_docket"))
        .arg("serve")
        .env("DOCKET_DATA_DIR", data_dir)
        .env("DOCKET_LISTEN", format!("127.0.0.1:{port}"))
        .env("DOCKET_ADMIN_TOKEN", TOKEN)
        .env("DOCKET_RATE_LIMIT_PER_SECOND", "1000000")
        .env("DOCKET_RATE_LIMIT_BURST", "1000000")
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
        let (client, base, created, moved) = (client.clone(), base.clone(), created.clone(), moved.clone());
        workers.push(tokio::spawn(async move {
            for i in 0.. {
                let title = format!("crash {w}-{i}");
                let Ok(r) = client.post(format!("{base}/api/v1/requests")).bearer_auth(TOKEN).json(&json!({ "title": title })).send().await else { return };
                if r.status() != 201 {
                    return;
                }
                let Ok(body) = r.json::<Value>().await else { return };
                let id = body["id"].as_str().unwrap().to_owned();
                created.lock().await.push((id.clone(), title));
                let Ok(r) = client.patch(format!("{base}/api/v1/requests/{id}")).bearer_auth(TOKEN).json(&json!({ "status": "in_progress" })).send().await else { return };
                if r.status() != 200 {
                    return;
                }
                let Ok(body) = r.json::<Value>().await else { return };
                moved.lock().await.push((id, body["version"].as_i64().unwrap()));
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
        let r = client.get(format!("{base}/api/v1/requests/{id}")).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 200, "acknowledged request {id} is missing after the crash");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["title"], title.as_str());
    }
    for (id, version) in &moved {
        let body: Value = client.get(format!("{base}/api/v1/requests/{id}")).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
        assert_eq!(body["status"], "in_progress", "acknowledged status change of {id} was lost");
        assert!(body["version"].as_i64().unwrap() >= *version);
    }
    // Numbers stay unique after recovery: a new request continues the sequence.
    let r: Value = client.post(format!("{base}/api/v1/requests")).bearer_auth(TOKEN).json(&json!({ "title": "after" })).send().await.unwrap().json().await.unwrap();
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
    let r = client.post(format!("{base}/api/v1/requests")).bearer_auth(TOKEN).json(&json!({ "title": "before stop" })).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let status = Command::new("kill").arg("-TERM").arg(server.id().to_string()).status().unwrap();
    assert!(status.success());
    let output = server.wait_with_output().unwrap();
    assert!(output.status.success(), "docket exited with {:?} on SIGTERM", output.status);
}
