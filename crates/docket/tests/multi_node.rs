//! Several `docket serve` processes on one PostgreSQL database: concurrent creates through
//! every node get distinct numbers, exactly one of many same-version `If-Match` PATCHes
//! wins wherever they land, and every acknowledged write can be read back from any node.
//!
//! This runs the real binary, because what is tested is coordination between processes,
//! which only the database provides. Each test uses a fresh scratch schema on the server
//! `DOCKET_TEST_PG_URL` names (default `postgres://postgres@127.0.0.1:5432/postgres`).

use docket_store::postgres::scratch::ScratchSchema;
use futures::future::join_all;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "dk_multinodemultinodemultinodemultinode0001";
const NODES: usize = 3;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn docket(database_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_docket"));
    c.env("DOCKET_DATABASE_URL", database_url)
        .env("DOCKET_ADMIN_TOKEN", TOKEN)
        .env("DOCKET_RATE_LIMIT_PER_SECOND", "1000000")
        .env("DOCKET_RATE_LIMIT_BURST", "1000000")
        .env("RUST_LOG", "warn")
        .env_remove("DOCKET_MIGRATE");
    c
}

/// A `docket serve` node; killed when dropped, so a failing test leaves no process behind.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(database_url: &str) -> Self {
        let port = free_port();
        let child = docket(database_url)
            .arg("serve")
            .env("DOCKET_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docket serve");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls readiness: a separate process gives no other signal that it is listening.
async fn wait_ready(client: &reqwest::Client, node: &mut Node) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = node.child.try_wait().expect("poll the node") {
            panic!("docket serve exited with {status} before becoming ready");
        }
        if let Ok(r) = client.get(format!("{}/readyz", node.base)).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("docket did not become ready");
}

fn migrate(database_url: &str) -> Output {
    docket(database_url)
        .arg("migrate")
        .output()
        .expect("run docket migrate")
}

/// Migrates a fresh schema and starts `NODES` servers on it at once (they race to create
/// the first workspace; exactly one does, and all become ready).
async fn cluster(client: &reqwest::Client) -> (Vec<Node>, ScratchSchema) {
    let schema = ScratchSchema::for_tests()
        .await
        .expect("create a scratch schema (is PostgreSQL running? see DOCKET_TEST_PG_URL)");
    let out = migrate(schema.url());
    assert!(
        out.status.success(),
        "docket migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut nodes: Vec<Node> = (0..NODES).map(|_| Node::start(schema.url())).collect();
    for node in &mut nodes {
        wait_ready(client, node).await;
    }
    (nodes, schema)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_share_numbers_versions_and_writes() {
    let client = reqwest::Client::new();
    let (nodes, _schema) = cluster(&client).await;
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();

    // Concurrent creates, round-robin over the nodes: 12 writers × 15 requests.
    let writers = (0..12).map(|w| {
        let (client, bases) = (client.clone(), bases.clone());
        async move {
            let mut acknowledged = Vec::new();
            for i in 0..15 {
                let base = &bases[(w + i) % bases.len()];
                let title = format!("node write {w}-{i}");
                let r = client
                    .post(format!("{base}/api/v1/requests"))
                    .bearer_auth(TOKEN)
                    .json(&json!({ "title": title }))
                    .send()
                    .await
                    .expect("the node answers");
                assert_eq!(r.status(), 201, "create through {base}");
                let body: Value = r.json().await.unwrap();
                acknowledged.push((
                    body["id"].as_str().unwrap().to_owned(),
                    body["number"].as_i64().unwrap(),
                    title,
                ));
            }
            acknowledged
        }
    });
    let created: Vec<(String, i64, String)> =
        join_all(writers).await.into_iter().flatten().collect();
    let mut numbers: Vec<i64> = created.iter().map(|(_, n, _)| *n).collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=created.len() as i64).collect::<Vec<_>>(),
        "every create got a distinct number, with no gaps"
    );

    // Same-version PATCHes spread over every node: exactly one wins per request.
    for (id, _, _) in created.iter().take(8) {
        let path = format!("/api/v1/requests/{id}");
        let etag = client
            .get(format!("{}{path}", bases[0]))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .headers()
            .get("etag")
            .expect("an ETag")
            .to_str()
            .unwrap()
            .to_owned();
        let patches = (0..12).map(|i| {
            let (client, base, path, etag) = (
                client.clone(),
                bases[i % bases.len()].clone(),
                path.clone(),
                etag.clone(),
            );
            async move {
                let title = format!("winner {i}");
                let r = client
                    .patch(format!("{base}{path}"))
                    .bearer_auth(TOKEN)
                    .header("if-match", etag)
                    .json(&json!({ "title": title }))
                    .send()
                    .await
                    .expect("the node answers");
                (r.status().as_u16(), title)
            }
        });
        let outcomes = join_all(patches).await;
        let winners: Vec<&String> = outcomes
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, t)| t)
            .collect();
        let statuses: Vec<u16> = outcomes.iter().map(|(s, _)| *s).collect();
        assert_eq!(winners.len(), 1, "exactly one PATCH wins: {statuses:?}");
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 412),
            "the others are 412: {statuses:?}"
        );
        for base in &bases {
            let stored: Value = client
                .get(format!("{base}{path}"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(stored["title"], winners[0].as_str(), "no lost update");
            assert_eq!(stored["version"], 2);
        }
    }

    // Every acknowledged create is readable through every node, as written.
    let patched: HashSet<&str> = created
        .iter()
        .take(8)
        .map(|(id, _, _)| id.as_str())
        .collect();
    for (k, (id, number, title)) in created.iter().enumerate() {
        let base = &bases[k % bases.len()];
        let body: Value = client
            .get(format!("{base}/api/v1/requests/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["number"], *number, "request {id} through {base}");
        if !patched.contains(id.as_str()) {
            assert_eq!(body["title"], title.as_str(), "request {id} through {base}");
        }
    }
    let mut listed: HashMap<String, i64> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{}/api/v1/requests?limit=100&cursor={c}", bases[1]),
            None => format!("{}/api/v1/requests?limit=100", bases[1]),
        };
        let page: Value = client
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            listed.insert(
                item["id"].as_str().unwrap().to_owned(),
                item["number"].as_i64().unwrap(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        listed.len(),
        created.len(),
        "the list holds every create once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_schema_that_is_behind_until_migrated() {
    let client = reqwest::Client::new();
    let schema = ScratchSchema::for_tests()
        .await
        .expect("create a scratch schema (is PostgreSQL running? see DOCKET_TEST_PG_URL)");
    let refused = docket(schema.url())
        .arg("serve")
        .env("DOCKET_LISTEN", format!("127.0.0.1:{}", free_port()))
        .output()
        .expect("run docket serve");
    assert!(
        !refused.status.success(),
        "serve started on an unmigrated schema"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("docket migrate") && stderr.contains("--migrate"),
        "the refusal tells the operator what to do: {stderr}"
    );

    // `--migrate` applies the migrations and serves.
    let port = free_port();
    let child = docket(schema.url())
        .args(["serve", "--migrate"])
        .env("DOCKET_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docket serve --migrate");
    let mut node = Node {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_ready(&client, &mut node).await;
    drop(node);

    // Now current: plain `serve` starts, and `migrate` is a no-op.
    let out = migrate(schema.url());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut node = Node::start(schema.url());
    wait_ready(&client, &mut node).await;
}
