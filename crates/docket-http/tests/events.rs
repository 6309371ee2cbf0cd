//! The change feed: `GET /api/v1/events` pages and the `GET /api/v1/events/stream` SSE
//! stream, resumed with `Last-Event-ID`.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// Reads server-sent events off a streaming response.
struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

/// One server-sent event: its id, its name and its JSON data.
#[derive(Debug)]
struct Sse {
    id: String,
    event: String,
    data: Value,
}

impl SseReader {
    async fn open(app: &TestApp, token: &str, last_event_id: Option<&str>) -> Self {
        let mut builder = app.request(Method::GET, "/api/v1/events/stream", Some(token));
        if let Some(id) = last_event_id {
            builder = builder.header("last-event-id", id);
        }
        let response = builder.send().await.expect("the server answers");
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), or `None` once the stream ended.
    async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() {
                    continue; // a comment
                }
                let data = serde_json::from_str(&data).expect("event data is JSON");
                return Some(Sse { id, event, data });
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 s")
                .expect("read the stream")?;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn the_feed_lists_every_event_in_order_and_resumes_from_any_cursor() {
        let app = spawn_app().await;
        let first = app.request_id("First").await;
        let second = app.request_id("Second").await;
        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{first}"),
            json!({"status": "in_progress"}),
        )
        .await
        .expect(200, "");
        app.post(
            &app.owner_token,
            &format!("/api/v1/requests/{second}/comments"),
            json!({"body": "On it"}),
        )
        .await
        .expect(201, "");

        let page = app
            .get(&app.owner_token, "/api/v1/events")
            .await
            .expect(200, "");
        let items = page.body["items"].as_array().unwrap();
        let seen: Vec<(&str, &str)> = items
            .iter()
            .map(|e| {
                (
                    e["request_id"].as_str().unwrap(),
                    e["kind"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (first.as_str(), "request.created"),
                (second.as_str(), "request.created"),
                (first.as_str(), "request.updated"),
                (second.as_str(), "request.commented"),
            ]
        );
        assert_eq!(items[2]["changes"][0]["field"], "status");
        assert_eq!(items[2]["changes"][0]["old"], "open");
        assert_eq!(items[2]["changes"][0]["new"], "in_progress");
        assert_eq!(page.body["next_cursor"], items[3]["cursor"]);

        let after_second = items[1]["cursor"].as_str().unwrap();
        let rest = app
            .get(
                &app.owner_token,
                &format!("/api/v1/events?after={after_second}&limit=1"),
            )
            .await
            .expect(200, "");
        assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(rest.body["items"][0]["id"], items[2]["id"]);

        let end = items[3]["cursor"].as_str().unwrap();
        let empty = app
            .get(&app.owner_token, &format!("/api/v1/events?after={end}"))
            .await
            .expect(200, "");
        assert_eq!(empty.body["items"], json!([]));
        assert_eq!(
            empty.body["next_cursor"], end,
            "poll again from the same place"
        );

        // Another workspace's feed holds none of this.
        let other = app.other_workspace(&format!("feed-{}", unique())).await;
        let theirs = app.get(&other, "/api/v1/events").await.expect(200, "");
        assert_eq!(theirs.body["items"], json!([]));
    }
}

backend_tests! {
    #[tokio::test]
    async fn the_feed_refuses_bad_cursors_limits_and_missing_scopes() {
        let app = spawn_app().await;
        app.get(&app.owner_token, "/api/v1/events?after=abc")
            .await
            .expect(400, "invalid_cursor");
        app.get(&app.owner_token, "/api/v1/events?limit=0")
            .await
            .expect(400, "invalid_query");
        app.get(&app.owner_token, "/api/v1/events?limit=5000")
            .await
            .expect(400, "invalid_query");
        app.get(&app.owner_token, "/api/v1/events?since=1")
            .await
            .expect(400, "invalid_query");
        let narrow = app
            .token_with_scopes(&app.owner_token, &["members:read"])
            .await;
        app.get(&narrow, "/api/v1/events")
            .await
            .expect(403, "missing_scope");
        app.get(&narrow, "/api/v1/events/stream")
            .await
            .expect(403, "missing_scope");
        app.send(app.request(Method::GET, "/api/v1/events/stream", None))
            .await
            .expect(401, "unauthorized");
    }
}

backend_tests! {
    #[tokio::test]
    async fn the_stream_delivers_live_events_and_resumes_without_gaps() {
        let app = spawn_app().await;
        app.request_id("Before the stream").await;

        let mut live = SseReader::open(&app, &app.owner_token, None).await;
        let a = app.request_id("A").await;
        let b = app.request_id("B").await;
        let got_a = live.next().await.expect("event for A");
        let got_b = live.next().await.expect("event for B");
        assert_eq!(
            (got_a.event.as_str(), got_a.data["request_id"].as_str()),
            ("request.created", Some(a.as_str())),
            "a fresh stream starts with what happens from now on"
        );
        assert_eq!(got_b.data["request_id"], b.as_str());
        drop(live);

        // Missed while disconnected.
        let c = app.request_id("C").await;
        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{a}"),
            json!({"status": "in_progress"}),
        )
        .await
        .expect(200, "");

        let mut resumed = SseReader::open(&app, &app.owner_token, Some(&got_b.id)).await;
        let missed_1 = resumed.next().await.expect("first missed event");
        let missed_2 = resumed.next().await.expect("second missed event");
        assert_eq!(missed_1.data["request_id"], c.as_str());
        assert_eq!(
            (
                missed_2.event.as_str(),
                missed_2.data["request_id"].as_str()
            ),
            ("request.updated", Some(a.as_str()))
        );
        let d = app.request_id("D").await;
        let live_again = resumed.next().await.expect("a live event after the replay");
        assert_eq!(live_again.data["request_id"], d.as_str());
        let ids: Vec<i64> = [&got_b, &missed_1, &missed_2, &live_again]
            .iter()
            .map(|e| e.id.parse().unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    }
}

backend_tests! {
    #[tokio::test]
    async fn revoking_the_token_ends_its_stream() {
        let app = spawn_app().await;
        let issued = app
            .post(
                &app.owner_token,
                "/api/v1/tokens",
                json!({"name": "dashboard", "scopes": ["requests:read"]}),
            )
            .await
            .expect(201, "");
        let secret = issued.body["token"].as_str().unwrap().to_owned();
        let token_id = issued.body["id"].as_str().unwrap().to_owned();

        let mut stream = SseReader::open(&app, &secret, None).await;
        app.request_id("Seen").await;
        assert!(stream.next().await.is_some(), "the stream works");

        app.delete(&app.owner_token, &format!("/api/v1/tokens/{token_id}"))
            .await
            .ok();
        app.request_id("Not seen").await;
        assert!(
            stream.next().await.is_none(),
            "the stream ended after revocation"
        );
    }
}
