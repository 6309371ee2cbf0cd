//! Webhooks end to end: a real HTTP receiver checks signatures and payloads, goes down
//! and comes back, hangs; deliveries retry, keep per-request order, pause a webhook that
//! keeps failing, and show in the delivery log.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;
use docket_http::Settings;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a receiver got: each delivery's headers and body.
type Received = Vec<(HeaderMap, Vec<u8>)>;

/// A webhook receiver: records what arrives and answers with `status` after `delay_ms`.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Received>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    url: String,
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let delay = r.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = r.status.load(Ordering::SeqCst);
    if (200..300).contains(&status) {
        r.got.lock().unwrap().push((headers, body.to_vec()));
    }
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut r = Receiver {
            status: Arc::new(AtomicU16::new(200)),
            ..Default::default()
        };
        r.url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        r
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// The payloads received so far, parsed.
    fn payloads(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap())
            .collect()
    }

    /// Waits until `n` deliveries arrived (or fails after 15 s).
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..300 {
            if self.got.lock().unwrap().len() >= n {
                return self.payloads();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} deliveries, got {}",
            self.got.lock().unwrap().len()
        );
    }
}

fn webhook_settings() -> Settings {
    Settings {
        webhooks_allow_private: true,
        webhook_timeout_secs: 1,
        webhook_retry_schedule_ms: vec![100, 200, 300],
        ..test_settings()
    }
}

async fn subscribe(app: &TestApp, url: &str, events: Value) -> Value {
    app.post(
        &app.owner_token,
        "/api/v1/webhooks",
        json!({"url": url, "events": events, "description": "test receiver"}),
    )
    .await
    .expect(201, "")
    .body
}

backend_tests! {
    #[tokio::test]
    async fn deliveries_are_signed_and_carry_the_request_and_its_changes() {
        let app = spawn_app_with(webhook_settings()).await;
        let receiver = Receiver::start().await;
        let hook = subscribe(&app, &receiver.url, json!([])).await;
        let secret = hook["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(hook["state"], "active");

        let id = app.request_id("Photos of the damage").await;
        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{id}"),
            json!({"status": "in_progress"}),
        )
        .await
        .expect(200, "");
        receiver.wait_for(2).await;

        let got = receiver.got.lock().unwrap().clone();
        for (headers, body) in &got {
            let msg_id = headers["webhook-id"].to_str().unwrap();
            let timestamp: i64 = headers["webhook-timestamp"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let expected = docket_domain::webhook::sign(&secret, msg_id, timestamp, body);
            assert_eq!(headers["webhook-signature"].to_str().unwrap(), expected);
            assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
            assert_eq!(headers["content-type"], "application/json");
        }
        let payloads = receiver.payloads();
        assert_eq!(payloads[0]["type"], "request.created");
        assert_eq!(payloads[1]["type"], "request.updated");
        let update = &payloads[1]["data"];
        assert_eq!(update["request"]["id"], id.as_str());
        assert_eq!(
            update["request"]["status"], "in_progress",
            "the request as it is now"
        );
        assert_eq!(
            update["changes"],
            json!([
                {"field": "status", "old": "open", "new": "in_progress"},
                {"field": "category", "old": "open", "new": "in_progress"}
            ])
        );
        assert_eq!(update["event"]["request_id"], id.as_str());
        assert_eq!(
            got[1].0["webhook-id"].to_str().unwrap(),
            update["event"]["id"].as_str().unwrap(),
            "webhook-id is the event id, stable across retries"
        );

        // The delivery log shows both, delivered on the first attempt.
        let log = app
            .get(
                &app.owner_token,
                &format!(
                    "/api/v1/webhooks/{}/deliveries",
                    hook["id"].as_str().unwrap()
                ),
            )
            .await
            .expect(200, "");
        let items = log.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        for d in items {
            assert_eq!(d["state"], "delivered");
            assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
            assert_eq!(d["attempts"][0]["status_code"], 200);
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_webhook_gets_only_the_event_types_it_asked_for() {
        let app = spawn_app_with(webhook_settings()).await;
        let receiver = Receiver::start().await;
        subscribe(&app, &receiver.url, json!(["request.commented"])).await;
        let id = app.request_id("Quiet").await;
        app.post(
            &app.owner_token,
            &format!("/api/v1/requests/{id}/comments"),
            json!({"body": "hello"}),
        )
        .await
        .expect(201, "");
        let payloads = receiver.wait_for(1).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.payloads().len(), 1, "the creation was not sent");
        assert_eq!(payloads[0]["type"], "request.commented");
        assert_eq!(payloads[0]["data"]["event"]["comment"], "hello");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_receiver_that_was_down_gets_every_event_in_order_per_request() {
        let app = spawn_app_with(Settings {
            webhook_retry_schedule_ms: vec![200; 30],
            ..webhook_settings()
        })
        .await;
        let receiver = Receiver::start().await;
        let hook = subscribe(&app, &receiver.url, json!([])).await;
        receiver.answer(503);

        let mut ids = Vec::new();
        for n in 0..3 {
            let id = app.request_id(&format!("Request {n}")).await;
            for status in ["in_progress", "waiting", "in_progress"] {
                app.patch(
                    &app.owner_token,
                    &format!("/api/v1/requests/{id}"),
                    json!({"status": status}),
                )
                .await
                .expect(200, "");
            }
            ids.push(id);
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(
            receiver.payloads().is_empty(),
            "nothing accepted while down"
        );
        receiver.answer(200);

        let payloads = receiver.wait_for(12).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.payloads().len(), 12, "every event exactly once");
        for id in &ids {
            let statuses: Vec<Value> = payloads
                .iter()
                .filter(|p| p["data"]["event"]["request_id"] == id.as_str())
                .map(|p| {
                    p["data"]["changes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|c| c["field"] == "status")
                        .unwrap()["new"]
                        .clone()
                })
                .collect();
            assert_eq!(
                statuses,
                [
                    json!("open"),
                    json!("in_progress"),
                    json!("waiting"),
                    json!("in_progress")
                ],
                "request {id}: events in the order they happened"
            );
        }
        let log = app
            .get(
                &app.owner_token,
                &format!(
                    "/api/v1/webhooks/{}/deliveries?limit=100",
                    hook["id"].as_str().unwrap()
                ),
            )
            .await
            .expect(200, "");
        let retried = log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["attempts"].as_array().unwrap().len() > 1)
            .expect("a delivery that needed retries");
        assert_eq!(retried["attempts"][0]["status_code"], 503);
        assert_eq!(retried["state"], "delivered");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_hanging_endpoint_does_not_delay_another() {
        let app = spawn_app_with(webhook_settings()).await;
        let slow = Receiver::start().await;
        slow.delay_ms.store(5_000, Ordering::SeqCst);
        let fast = Receiver::start().await;
        subscribe(&app, &slow.url, json!([])).await;
        subscribe(&app, &fast.url, json!([])).await;
        let started = std::time::Instant::now();
        app.request_id("One").await;
        app.request_id("Two").await;
        fast.wait_for(2).await;
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "the fast receiver waited {:?} for the slow one",
            started.elapsed()
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn sustained_failure_pauses_the_webhook_and_redelivery_sends_again() {
        let mail = tempfile::tempdir().unwrap();
        let app = spawn_app_with(Settings {
            mail: Some(docket_http::settings::MailSettings {
                from: "desk@docket.example".into(),
                smtp: None,
                folder: mail.path().to_path_buf(),
                retry_schedule_ms: vec![100],
            }),
            ..webhook_settings()
        })
        .await;
        let receiver = Receiver::start().await;
        receiver.answer(500);
        let hook = subscribe(&app, &receiver.url, json!([])).await;
        let hook_path = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
        app.request_id("Doomed").await;

        // 1 attempt + 3 retries (100, 200, 300 ms), then paused.
        let mut paused = Value::Null;
        for _ in 0..100 {
            paused = app
                .get(&app.owner_token, &hook_path)
                .await
                .expect(200, "")
                .body;
            if paused["state"] == "paused" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(paused["state"], "paused");
        assert!(paused["paused_reason"]
            .as_str()
            .unwrap()
            .contains("4 failed attempts"));
        let log = app
            .get(&app.owner_token, &format!("{hook_path}/deliveries"))
            .await
            .expect(200, "");
        let failed = &log.body["items"][0];
        assert_eq!(failed["state"], "failed");
        assert_eq!(failed["attempts"].as_array().unwrap().len(), 4);
        assert_eq!(failed["attempts"][3]["status_code"], 500);

        // The workspace's owner is told, by email.
        let mut told = String::new();
        for _ in 0..100 {
            if let Some(path) = std::fs::read_dir(mail.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
            {
                told = std::fs::read_to_string(path).unwrap();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            told.contains(&format!("Subject: Webhook paused: {}", receiver.url)),
            "{told}"
        );
        assert!(told.contains("To: owner@"), "{told}");

        // Events keep queueing while paused; resuming sends them; redelivery resends.
        let later = app.request_id("While paused").await;
        receiver.answer(200);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            receiver.payloads().is_empty(),
            "a paused webhook sends nothing"
        );
        app.patch(&app.owner_token, &hook_path, json!({"state": "active"}))
            .await
            .expect(200, "");
        let payloads = receiver.wait_for(1).await;
        assert_eq!(payloads[0]["data"]["event"]["request_id"], later.as_str());

        let queued = app
            .post(
                &app.owner_token,
                &format!("{hook_path}/deliveries"),
                json!({"event_id": failed["event_id"]}),
            )
            .await
            .expect(202, "");
        assert_eq!(queued.body["state"], "pending");
        let payloads = receiver.wait_for(2).await;
        assert_eq!(payloads[1]["data"]["event"]["id"], failed["event_id"]);
    }
}

backend_tests! {
    #[tokio::test]
    async fn private_targets_are_refused_by_default() {
        let app = spawn_app().await; // default settings: private targets refused
        for url in [
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "http://10.0.0.8/x",
        ] {
            let r = app
                .post(&app.owner_token, "/api/v1/webhooks", json!({"url": url}))
                .await
                .expect(422, "validation_failed");
            assert_eq!(r.body["error"]["details"][0]["field"], "url");
            assert_eq!(
                r.body["error"]["details"][0]["code"], "private_target",
                "{url}"
            );
        }
        app.post(
            &app.owner_token,
            "/api/v1/webhooks",
            json!({"url": "ftp://example.com"}),
        )
        .await
        .expect(422, "validation_failed");
        app.post(
            &app.owner_token,
            "/api/v1/webhooks",
            json!({"url": "https://example.com/hook", "events": ["request.exploded"]}),
        )
        .await
        .expect(422, "validation_failed");
    }
}

backend_tests! {
    #[tokio::test]
    async fn managing_webhooks_needs_the_scope_and_stays_in_the_workspace() {
        let app = spawn_app_with(webhook_settings()).await;
        let hook = subscribe(&app, "https://example.com/hook", json!([])).await;
        let path = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());

        let listed = app
            .get(&app.owner_token, "/api/v1/webhooks")
            .await
            .expect(200, "");
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
        assert!(
            listed.body["items"][0].get("secret").is_none(),
            "the secret is shown once"
        );

        let (_, moderator) = app.add_member("moderator").await;
        app.get(&moderator, "/api/v1/webhooks")
            .await
            .expect(403, "forbidden");
        let narrow = app
            .token_with_scopes(&app.owner_token, &["requests:read"])
            .await;
        let r = app
            .get(&narrow, "/api/v1/webhooks")
            .await
            .expect(403, "missing_scope");
        assert_eq!(r.body["error"]["details"]["scope"], "webhooks:write");

        let other = app.other_workspace(&format!("hooks-{}", unique())).await;
        app.get(&other, &path).await.expect(404, "not_found");
        app.delete(&other, &path).await.expect(404, "not_found");

        let changed = app
            .patch(
                &app.owner_token,
                &path,
                json!({"events": ["request.updated"], "state": "paused"}),
            )
            .await
            .expect(200, "");
        assert_eq!(changed.body["event_types"], json!(["request.updated"]));
        assert_eq!(changed.body["state"], "paused");
        // The name the answer uses is accepted as well, so an answer can be sent back.
        let changed = app
            .patch(
                &app.owner_token,
                &path,
                json!({"event_types": ["request.created", "request.deleted"]}),
            )
            .await
            .expect(200, "");
        assert_eq!(
            changed.body["event_types"],
            json!(["request.created", "request.deleted"])
        );
        let made = app
            .post(
                &app.owner_token,
                "/api/v1/webhooks",
                json!({"url": "https://example.com/other", "event_types": ["request.commented"]}),
            )
            .await
            .expect(201, "");
        assert_eq!(made.body["event_types"], json!(["request.commented"]));
        app.post(
            &app.owner_token,
            "/api/v1/webhooks",
            json!({"url": "https://example.com/both", "events": [], "event_types": []}),
        )
        .await
        .expect(422, "validation_failed");
        app.delete(&app.owner_token, &path).await.expect(204, "");
        app.get(&app.owner_token, &path)
            .await
            .expect(404, "not_found");
    }
}
