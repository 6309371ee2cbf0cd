//! Gipper's content-request API (seed 003) against Docket: every example on the page, the
//! rules (update only cancels, a one-time link completes once even under concurrent
//! completes, an expired link refuses), the credential forms, and the same request seen
//! through the native API.

mod common;

use common::{spawn_app, TestApp, OWNER_EMAIL};
use reqwest::Method;
use serde_json::{json, Value};

const BASE: &str = "/api/v4/content_requests";

/// Sends a Gipper call with the header Gipper's clients use, `Authentication: Bearer`.
async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> common::Reply {
    let mut b = app
        .client
        .request(method, app.url(path))
        .header("Authentication", format!("Bearer {}", app.owner_token));
    if let Some(body) = body {
        b = b.json(&body);
    }
    app.send(b).await
}

async fn public(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> common::Reply {
    let mut b = app.client.request(method, app.url(path));
    if let Some(body) = body {
        b = b.json(&body);
    }
    app.send(b).await
}

#[track_caller]
fn expect_error(r: &common::Reply, status: u16) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.body["success"], json!(false), "body: {}", r.body);
    assert!(
        r.body["errors"][0].as_str().is_some_and(|m| !m.is_empty()),
        "errors: {}",
        r.body
    );
}

/// A future date in Gipper's input form.
fn future() -> String {
    (chrono::Utc::now() + chrono::TimeDelta::days(30))
        .format("%Y/%m/%d")
        .to_string()
}

async fn create(app: &TestApp, name: &str, time_type: &str, expiration: &str) -> Value {
    let r = call(
        app,
        Method::POST,
        BASE,
        Some(json!({ "content_request": {
            "name": name, "recipient": format!("{name} recipient"), "prompt": "Show us the view",
            "expiration_date": expiration, "time_type": time_type
        }})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "body: {}", r.body);
    r.body
}

fn media() -> Value {
    json!({ "media_files": [{
        "name": "image", "s3_key": "s3_key", "format_type": "png",
        "media_type": "photo", "size": 53324, "note": "SOME NOTES"
    }]})
}

backend_tests! {
    #[tokio::test]
    async fn create_example_answers_the_documented_fields() {
        let app = spawn_app().await;
        // The page's request body, as sent.
        let r = call(
            &app,
            Method::POST,
            BASE,
            Some(json!({ "content_request": {
                "name": "content_request", "recipient": "content_request", "prompt": "content_request",
                "expiration_date": "2022/06/07", "time_type": "one_time"
            }})),
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let b = &r.body;
        assert!(b["id"].is_i64(), "integer id: {b}");
        assert_eq!(b["name"], "content_request");
        assert_eq!(b["recipient"], "content_request");
        assert_eq!(b["prompt"], "content_request");
        assert_eq!(b["expiration_date"], "2022-06-07T00:00:00.000Z");
        assert_eq!(b["status"], "pending");
        assert_eq!(b["time_type"], "One-Time");
        let token = b["token"].as_str().unwrap();
        assert_eq!(token.len(), 16);
        assert!(token
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(b["link_for_copy"], format!("/content_requests/{token}"));

        // time_type is optional (one-time by default); multi_use shows as Multi-Use.
        let r = call(
            &app,
            Method::POST,
            BASE,
            Some(json!({ "content_request": {
                "name": "n", "recipient": "r", "prompt": "p", "expiration_date": "2030-01-02"
            }})),
        )
        .await;
        assert_eq!(r.body["time_type"], "One-Time");
        assert_eq!(r.body["expiration_date"], "2030-01-02T00:00:00.000Z");
        // A date alone means the end of that day, as a date-only `due_at` does natively:
        // one rule, whichever API set it.
        let number = r.body["id"].as_i64().unwrap();
        let all = app.get(&app.owner_token, "/api/v1/requests?limit=100").await.ok();
        let native = all.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["number"] == number)
            .unwrap()
            .clone();
        assert_eq!(native["due_at"], "2030-01-02T23:59:59.999999Z");
        let same_day = app
            .post(
                &app.owner_token,
                "/api/v1/requests",
                json!({"title": "native", "due_at": "2030-01-02"}),
            )
            .await
            .expect(201, "");
        assert_eq!(same_day.body["due_at"], native["due_at"]);
        let multi = create(&app, "multi", "multi_use", &future()).await;
        assert_eq!(multi["time_type"], "Multi-Use");
    }
}

backend_tests! {
    #[tokio::test]
    async fn create_refuses_missing_and_malformed_fields() {
        let app = spawn_app().await;
        for body in [
            json!({}),
            json!({ "content_request": "x" }),
            json!({ "content_request": { "recipient": "r", "prompt": "p", "expiration_date": "2030/01/01" } }),
            json!({ "content_request": { "name": "n", "prompt": "p", "expiration_date": "2030/01/01" } }),
            json!({ "content_request": { "name": "n", "recipient": "r", "expiration_date": "2030/01/01" } }),
            json!({ "content_request": { "name": "n", "recipient": "r", "prompt": "p" } }),
            json!({ "content_request": { "name": "n", "recipient": "r", "prompt": "p", "expiration_date": "tomorrow" } }),
            json!({ "content_request": { "name": "n", "recipient": "r", "prompt": "p", "expiration_date": "2030/01/01", "time_type": "forever" } }),
            json!({ "content_request": { "name": 5, "recipient": "r", "prompt": "p", "expiration_date": "2030/01/01" } }),
        ] {
            let r = call(&app, Method::POST, BASE, Some(body.clone())).await;
            expect_error(&r, 422);
        }
        let r = app
            .send(
                app.client
                    .post(app.url(BASE))
                    .header("Authentication", format!("Bearer {}", app.owner_token))
                    .header("content-type", "application/json")
                    .body("{not json"),
            )
            .await;
        expect_error(&r, 422);
    }
}

backend_tests! {
    #[tokio::test]
    async fn list_example_pages_sorts_and_filters() {
        let app = spawn_app().await;
        for name in ["charlie", "alpha", "bravo"] {
            create(&app, name, "one_time", &future()).await;
        }
        let done = create(&app, "delta", "one_time", &future()).await;
        public(
            &app,
            Method::PUT,
            &format!("{BASE}/{}/complete", done["token"].as_str().unwrap()),
            Some(media()),
        )
        .await;

        let r = call(&app, Method::GET, &format!("{BASE}?pending=true"), None).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        assert_eq!(r.body["meta"]["total_count"], 3);
        let items = r.body["content_requests"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        let first = &items[0];
        // Field for field as the page lists them (no prompt in the list).
        let mut keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "expiration_date",
                "id",
                "link_for_copy",
                "name",
                "recipient",
                "status",
                "time_type",
                "token"
            ]
        );
        // Newest first by default.
        assert_eq!(first["name"], "bravo");

        let r = call(
            &app,
            Method::GET,
            &format!("{BASE}?pending=1&sort_by=name&sort_to=asc&page=2&per_page=2"),
            None,
        )
        .await;
        assert_eq!(r.body["meta"]["total_count"], 3);
        let names: Vec<&str> = r.body["content_requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["charlie"]);

        let r = call(&app, Method::GET, &format!("{BASE}?pending=false"), None).await;
        assert_eq!(r.body["meta"]["total_count"], 1);
        assert_eq!(r.body["content_requests"][0]["status"], "completed");

        let r = call(
            &app,
            Method::GET,
            &format!("{BASE}?pending=true&query=alpha"),
            None,
        )
        .await;
        assert_eq!(r.body["meta"]["total_count"], 1);
        assert_eq!(r.body["content_requests"][0]["name"], "alpha");
        // The recipient is searched too.
        let r = call(
            &app,
            Method::GET,
            &format!("{BASE}?pending=0&query=delta%20recipient"),
            None,
        )
        .await;
        assert_eq!(r.body["meta"]["total_count"], 1);

        for bad in [
            "",
            "?pending=maybe",
            "?pending=true&sort_by=size",
            "?pending=true&sort_to=up",
            "?pending=true&page=0",
            "?pending=true&per_page=x",
        ] {
            let r = call(&app, Method::GET, &format!("{BASE}{bad}"), None).await;
            expect_error(&r, 422);
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn show_by_token_is_public_and_names_the_user() {
        let app = spawn_app().await;
        let made = create(&app, "content_request1", "one_time", &future()).await;
        let token = made["token"].as_str().unwrap();
        let r = public(&app, Method::GET, &format!("{BASE}/{token}"), None).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let b = &r.body;
        assert_eq!(b["id"], made["id"]);
        assert_eq!(b["name"], "content_request1");
        assert_eq!(b["recipient"], "content_request1 recipient");
        assert_eq!(b["status"], "pending");
        assert_eq!(b["time_type"], "One-Time");
        assert_eq!(b["token"], token);
        assert_eq!(b["link_for_copy"], format!("/content_requests/{token}"));
        assert_eq!(b["expiration_date"], made["expiration_date"]);
        assert_eq!(b["user"]["email"], OWNER_EMAIL);
        assert!(b["user"]["id"].is_string());
        assert!(b["user"]["first_name"].is_string());
        assert!(b["user"]["last_name"].is_string());
        assert!(b["user"]["avatar_image"].is_null());

        for unknown in ["0000000000000000", "not-a-token", "4C38DA5893B1F793"] {
            let r = public(&app, Method::GET, &format!("{BASE}/{unknown}"), None).await;
            expect_error(&r, 404);
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn update_example_cancels_and_edits() {
        let app = spawn_app().await;
        let made = create(&app, "content_request", "one_time", &future()).await;
        let id = made["id"].as_i64().unwrap();
        // The page's request body.
        let r = call(
            &app,
            Method::PUT,
            &format!("{BASE}/{id}"),
            Some(json!({ "content_request": {
                "name": "updated_content_request", "recipient": "content_request",
                "prompt": "content_request", "expiration_date": "2022/07/07", "status": "canceled"
            }})),
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let b = &r.body;
        assert_eq!(b["id"], id);
        assert_eq!(b["name"], "updated_content_request");
        assert_eq!(b["recipient"], "content_request");
        assert_eq!(b["prompt"], "content_request");
        assert_eq!(b["expiration_date"], "2022-07-07T00:00:00.000Z");
        assert_eq!(b["status"], "canceled");
        assert_eq!(b["time_type"], "One-Time");
        assert_eq!(b["token"], made["token"]);
        assert_eq!(b["link_for_copy"], made["link_for_copy"]);

        // A canceled request's link takes no completion.
        let r = public(
            &app,
            Method::PUT,
            &format!("{BASE}/{}/complete", made["token"].as_str().unwrap()),
            Some(media()),
        )
        .await;
        expect_error(&r, 422);
    }
}

backend_tests! {
    #[tokio::test]
    async fn update_may_only_cancel() {
        let app = spawn_app().await;
        let made = create(&app, "x", "one_time", &future()).await;
        let id = made["id"].as_i64().unwrap();
        for status in ["completed", "pending", "archived"] {
            let r = call(
                &app,
                Method::PUT,
                &format!("{BASE}/{id}"),
                Some(json!({ "content_request": { "status": status } })),
            )
            .await;
            expect_error(&r, 422);
        }
        // Editing without a status is fine.
        let r = call(
            &app,
            Method::PUT,
            &format!("{BASE}/{id}"),
            Some(json!({ "content_request": { "name": "renamed" } })),
        )
        .await;
        assert_eq!(r.body["name"], "renamed");
        assert_eq!(r.body["status"], "pending");
        for (path, code) in [(format!("{BASE}/abc"), 422), (format!("{BASE}/99999"), 404)] {
            let r = call(
                &app,
                Method::PUT,
                &path,
                Some(json!({ "content_request": { "name": "n" } })),
            )
            .await;
            expect_error(&r, code);
        }
        let r = call(&app, Method::PUT, &format!("{BASE}/{id}"), Some(json!({}))).await;
        expect_error(&r, 422);
    }
}

backend_tests! {
    #[tokio::test]
    async fn complete_example_then_a_one_time_link_refuses() {
        let app = spawn_app().await;
        let made = create(&app, "photos", "one_time", &future()).await;
        let path = format!("{BASE}/{}/complete", made["token"].as_str().unwrap());
        let r = public(&app, Method::PUT, &path, Some(media())).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        assert_eq!(r.body, json!({ "success": true }));
        let r = public(&app, Method::PUT, &path, Some(media())).await;
        expect_error(&r, 422);
        let shown = public(
            &app,
            Method::GET,
            &format!("{BASE}/{}", made["token"].as_str().unwrap()),
            None,
        )
        .await;
        assert_eq!(shown.body["status"], "completed");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_one_time_link_completes_once_under_concurrent_completes() {
        let app = spawn_app().await;
        let made = create(&app, "race", "one_time", &future()).await;
        let path = format!("{BASE}/{}/complete", made["token"].as_str().unwrap());
        let calls = (0..8).map(|_| public(&app, Method::PUT, &path, Some(media())));
        let replies = futures::future::join_all(calls).await;
        let ok = replies.iter().filter(|r| r.status.as_u16() == 200).count();
        assert_eq!(ok, 1, "exactly one completion wins");
        for r in replies.iter().filter(|r| r.status.as_u16() != 200) {
            expect_error(r, 422);
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_multi_use_link_collects_every_upload() {
        let app = spawn_app().await;
        let made = create(&app, "multi", "multi_use", &future()).await;
        let path = format!("{BASE}/{}/complete", made["token"].as_str().unwrap());
        for _ in 0..2 {
            let r = public(&app, Method::PUT, &path, Some(media())).await;
            assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        }
        let id = app.list_all(&app.owner_token, "type=gipper").await[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let native = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}"))
            .await
            .ok();
        assert_eq!(native.body["status"], "completed");
        assert_eq!(
            native.body["data"]["media_files"].as_array().unwrap().len(),
            2
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn an_expired_link_refuses_completion() {
        let app = spawn_app().await;
        let made = create(&app, "late", "multi_use", "2022/06/07").await;
        let r = public(
            &app,
            Method::PUT,
            &format!("{BASE}/{}/complete", made["token"].as_str().unwrap()),
            Some(media()),
        )
        .await;
        expect_error(&r, 422);
        assert!(r.body["errors"][0].as_str().unwrap().contains("expired"));
    }
}

backend_tests! {
    #[tokio::test]
    async fn complete_refuses_malformed_media() {
        let app = spawn_app().await;
        let made = create(&app, "m", "multi_use", &future()).await;
        let path = format!("{BASE}/{}/complete", made["token"].as_str().unwrap());
        for body in [
            json!({}),
            json!({ "media_files": [] }),
            json!({ "media_files": "x" }),
            json!({ "media_files": [{ "name": "a", "s3_key": "k", "format_type": "mp3", "media_type": "audio", "size": 1 }] }),
            json!({ "media_files": [{ "name": "a", "s3_key": "k", "format_type": "png", "media_type": "photo", "size": "big" }] }),
            json!({ "media_files": [{ "s3_key": "k", "format_type": "png", "media_type": "photo", "size": 1 }] }),
        ] {
            let r = public(&app, Method::PUT, &path, Some(body)).await;
            expect_error(&r, 422);
        }
        let r = public(
            &app,
            Method::PUT,
            &format!("{BASE}/0000000000000000/complete"),
            Some(media()),
        )
        .await;
        expect_error(&r, 404);
    }
}

backend_tests! {
    #[tokio::test]
    async fn destroy_example_removes_the_request_and_its_link() {
        let app = spawn_app().await;
        let made = create(&app, "gone", "one_time", &future()).await;
        let id = made["id"].as_i64().unwrap();
        let r = call(&app, Method::DELETE, &format!("{BASE}/{id}"), None).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        assert_eq!(r.body, json!({ "success": true }));
        let r = call(&app, Method::DELETE, &format!("{BASE}/{id}"), None).await;
        expect_error(&r, 404);
        let r = public(
            &app,
            Method::GET,
            &format!("{BASE}/{}", made["token"].as_str().unwrap()),
            None,
        )
        .await;
        expect_error(&r, 404);
    }
}

backend_tests! {
    #[tokio::test]
    async fn account_routes_take_authentication_or_authorization() {
        let app = spawn_app().await;
        let list = format!("{BASE}?pending=true");
        let r = public(&app, Method::GET, &list, None).await;
        expect_error(&r, 401);
        let r = app
            .send(
                app.client
                    .get(app.url(&list))
                    .header("Authentication", "Bearer nope"),
            )
            .await;
        expect_error(&r, 401);
        let r = app
            .send(app.client.get(app.url(&list)).bearer_auth(&app.owner_token))
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let r = call(&app, Method::GET, &list, None).await;
        assert_eq!(r.status.as_u16(), 200);
        for (method, path) in [
            (Method::POST, BASE.to_owned()),
            (Method::PUT, format!("{BASE}/1")),
            (Method::DELETE, format!("{BASE}/1")),
        ] {
            let r = public(&app, method, &path, Some(json!({}))).await;
            expect_error(&r, 401);
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_content_request_is_a_docket_request_with_one_timeline() {
        let app = spawn_app().await;
        let made = create(&app, "cross", "one_time", &future()).await;
        let items = app.list_all(&app.owner_token, "type=gipper").await;
        assert_eq!(items.len(), 1);
        let native = &items[0];
        assert_eq!(native["number"], made["id"]);
        assert_eq!(native["title"], "cross");
        assert_eq!(native["description"], "Show us the view");
        assert_eq!(native["data"]["recipient"], "cross recipient");
        let id = native["id"].as_str().unwrap();

        public(
            &app,
            Method::PUT,
            &format!("{BASE}/{}/complete", made["token"].as_str().unwrap()),
            Some(media()),
        )
        .await;
        let r = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}"))
            .await
            .ok();
        assert_eq!(r.body["status"], "completed");
        assert_eq!(r.body["category"], "done");
        assert_eq!(r.body["data"]["media_files"][0]["s3_key"], "s3_key");
        let timeline = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
            .await
            .ok();
        let events = timeline.body["items"].as_array().expect("timeline items");
        assert_eq!(events.len(), 2, "{}", timeline.body);
        assert_eq!(events[1]["kind"], "request.updated");
        let fields: Vec<&str> = events[1]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&"status") && fields.contains(&"data") && fields.contains(&"files"),
            "{fields:?}"
        );
        assert!(events[1]["actor"]["member_id"].is_null());

        // Each media file is a file of the request; its bytes are the object the recipient
        // put in the bucket, which here was never put there.
        let files = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/files"))
            .await
            .expect(200, "");
        let items = files.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{}", files.body);
        assert_eq!(items[0]["name"], "image");
        assert_eq!(items[0]["size"], 53324);
        assert_eq!(items[0]["content_type"], "image/png");
        assert_eq!(items[0]["sha256"], Value::Null);
        assert_eq!(items[0]["visibility"], "shared");
        assert_eq!(items[0]["uploaded_by"]["kind"], "link");
        app.get(
            &app.owner_token,
            &format!("/api/v1/files/{}/content", items[0]["id"].as_str().unwrap()),
        )
        .await
        .expect(404, "file_missing");

        // The native API cannot complete it for the recipient: the workflow grants that to
        // the link holder only.
        let r = app
            .patch(
                &app.owner_token,
                &format!("/api/v1/requests/{id}"),
                json!({ "status": "pending" }),
            )
            .await;
        assert!(r.status.is_client_error());
    }
}

backend_tests! {
    #[tokio::test]
    async fn public_routes_are_rate_limited_like_the_native_api() {
        let app = common::spawn_app_with(common::Settings {
            rate_limit_per_second: 1,
            rate_limit_burst: 2,
            ..common::test_settings()
        })
        .await;
        let path = format!("{BASE}/0000000000000000");
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(public(&app, Method::GET, &path, None).await.status.as_u16());
        }
        assert_eq!(statuses[0], 404);
        assert!(statuses.contains(&429), "{statuses:?}");
    }
}

backend_tests! {
    #[tokio::test]
    async fn links_are_built_on_the_public_url_only_when_one_is_configured() {
        let app = common::spawn_app_with(common::Settings {
            public_url: "https://desk.example.com/".into(),
            public_url_configured: true,
            ..common::test_settings()
        })
        .await;
        let made = create(&app, "abs", "one_time", &future()).await;
        let token = made["token"].as_str().unwrap();
        assert_eq!(
            made["link_for_copy"],
            format!("https://desk.example.com/content_requests/{token}")
        );
        // Unconfigured, the server's own address stands in for other links (emails need
        // one), but Gipper's page says `link_for_copy` is then relative.
        let app = common::spawn_app_with(common::Settings {
            public_url: "http://127.0.0.1:8080".into(),
            public_url_configured: false,
            ..common::test_settings()
        })
        .await;
        let made = create(&app, "rel", "one_time", &future()).await;
        let token = made["token"].as_str().unwrap();
        assert_eq!(made["link_for_copy"], format!("/content_requests/{token}"));
    }
}

backend_tests! {
    #[tokio::test]
    async fn no_malformed_input_is_a_server_error() {
        let app = spawn_app().await;
        let made = create(&app, "target", "multi_use", &future()).await;
        let id = made["id"].as_i64().unwrap();
        let token = made["token"].as_str().unwrap().to_owned();
        let bodies = [
            "",
            "null",
            "[]",
            "\"x\"",
            "{\"content_request\": null}",
            "{\"media_files\": null}",
            "{\"content_request\": {\"name\": [1]}}",
            "{\"media_files\": [null]}",
            "{\"media_files\": [{\"size\": -1}]}",
            "\u{0}\u{1}",
            "{\"a\":",
        ];
        let routes = [
            (Method::POST, BASE.to_owned(), true),
            (Method::PUT, format!("{BASE}/{id}"), true),
            (Method::PUT, format!("{BASE}/{token}/complete"), false),
            (Method::PUT, format!("{BASE}/%FF/complete"), false),
            (Method::PUT, format!("{BASE}/99999999999999999999999"), true),
            (Method::DELETE, format!("{BASE}/-1"), true),
            (
                Method::GET,
                format!("{BASE}?pending=true&page=99999999999999999999&per_page=%FF"),
                true,
            ),
        ];
        for (method, path, authed) in routes {
            for body in bodies {
                let mut b = app
                    .client
                    .request(method.clone(), app.url(&path))
                    .header("content-type", "application/json")
                    .body(body);
                if authed {
                    b = b.header("Authentication", format!("Bearer {}", app.owner_token));
                }
                let r = app.send(b).await;
                assert!(
                    r.status.is_client_error(),
                    "{method} {path} {body:?}: {} {}",
                    r.status,
                    r.body
                );
            }
        }
        for (method, path, body) in [
            (Method::POST, "/v1/request", "{\"campaignId\": 1}"),
            (Method::POST, "/v1/request", "[]"),
            (Method::PATCH, "/v1/request", "null"),
            (Method::PATCH, "/v1/request", "{\"requestId\": 5}"),
            (
                Method::PATCH,
                "/v1/request",
                "{\"requestId\": \"x\", \"data\": 1}",
            ),
            (
                Method::GET,
                "/v1/requests?limit=%FF&offset=99999999999999999999",
                "",
            ),
            (Method::GET, "/v1/requests/%FF", ""),
        ] {
            let r = app
                .send(
                    app.client
                        .request(method.clone(), app.url(path))
                        .basic_auth("", Some(&app.owner_token))
                        .header("content-type", "application/json")
                        .body(body),
                )
                .await;
            assert!(
                r.status.is_client_error(),
                "{method} {path} {body:?}: {} {}",
                r.status,
                r.body
            );
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn completed_media_files_download_from_the_bucket() {
        let app = spawn_app().await;
        let made = create(&app, "media", "multi_use", &future()).await;
        let token = made["token"].as_str().unwrap().to_owned();
        // The recipient's client put one object in the bucket (here, the files directory).
        let photo: Vec<u8> = [&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..], &[7u8; 100]].concat();
        let object = app.files_dir.join("uploads/photo.png");
        std::fs::create_dir_all(object.parent().unwrap()).unwrap();
        std::fs::write(&object, &photo).unwrap();

        let r = public(
            &app,
            Method::PUT,
            &format!("{BASE}/{token}/complete"),
            Some(json!({ "media_files": [
                { "name": "Beach.png", "s3_key": "uploads/photo.png", "format_type": "PNG", "media_type": "photo", "size": photo.len() },
                { "name": "clip", "s3_key": "uploads/clip.mov", "format_type": "mov", "media_type": "video", "size": 9000 }
            ]})),
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let id = app.list_all(&app.owner_token, "type=gipper").await[0]["id"].as_str().unwrap().to_owned();
        let files = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/files"))
            .await
            .expect(200, "");
        let items = files.body["items"].as_array().unwrap().clone();
        assert_eq!(common::strings(&items, "content_type"), ["image/png", "video/quicktime"]);
        let path = |i: usize| format!("/api/v1/files/{}/content", items[i]["id"].as_str().unwrap());
        let got = app.request(Method::GET, &path(0), Some(&app.owner_token)).send().await.unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(got.headers()["content-type"], "image/png");
        assert_eq!(got.headers()["content-disposition"], "attachment; filename*=UTF-8''Beach.png");
        assert_eq!(got.bytes().await.unwrap().to_vec(), photo);
        app.get(&app.owner_token, &path(1)).await.expect(404, "file_missing");

        // Deleting such a record leaves the object: Docket did not put it there.
        app.delete(&app.owner_token, &format!("/api/v1/files/{}", items[0]["id"].as_str().unwrap()))
            .await
            .expect(204, "");
        assert!(object.exists());

        // A key must name an object of the bucket, and never one of Docket's own
        // (`<workspace>/<file>`), which could be another workspace's file.
        for key in ["../secret", "a//b", "", &format!("{}/{}", app.workspace_id, items[1]["id"].as_str().unwrap())] {
            let r = public(
                &app,
                Method::PUT,
                &format!("{BASE}/{token}/complete"),
                Some(json!({ "media_files": [{ "name": "x", "s3_key": key, "format_type": "png", "media_type": "photo", "size": 1 }]})),
            )
            .await;
            expect_error(&r, 422);
        }
        let files = app.get(&app.owner_token, &format!("/api/v1/requests/{id}/files")).await.expect(200, "");
        assert_eq!(files.body["items"].as_array().unwrap().len(), 1, "refused completions store no file");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_completion_fills_the_document_items_of_the_type() {
        let app = spawn_app().await;
        // Gipper's type is made by the first content request.
        create(&app, "first", "one_time", &future()).await;
        // The gipper type asks for one photo and one video, and one question.
        app.patch(
            &app.owner_token,
            "/api/v1/request-types/gipper",
            json!({ "items": [
                {"kind": "document", "key": "photo", "label": "A photo", "required": true, "allowed_types": ["image/*"]},
                {"kind": "document", "key": "video", "label": "A video", "required": true, "allowed_types": ["video/*"], "max_files": 2},
                {"kind": "question", "key": "where", "label": "Where was it taken?", "answer_type": {"type": "text"}},
            ]}),
        )
        .await
        .ok();
        let made = create(&app, "items", "multi_use", &future()).await;
        let token = made["token"].as_str().unwrap().to_owned();
        let photo: Vec<u8> = [&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..], &[7u8; 100]].concat();
        let object = app.files_dir.join("uploads/photo.png");
        std::fs::create_dir_all(object.parent().unwrap()).unwrap();
        std::fs::write(&object, &photo).unwrap();

        let r = public(
            &app,
            Method::PUT,
            &format!("{BASE}/{token}/complete"),
            Some(json!({ "media_files": [
                { "name": "clip", "s3_key": "uploads/clip.mov", "format_type": "mov", "media_type": "video", "size": 9000 },
                { "name": "Beach.png", "s3_key": "uploads/photo.png", "format_type": "PNG", "media_type": "photo", "size": photo.len() },
                { "name": "Second.png", "s3_key": "uploads/photo.png", "format_type": "PNG", "media_type": "photo", "size": photo.len() }
            ]})),
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let all = app.list_all(&app.owner_token, "type=gipper").await;
        let id = all.iter().find(|r| r["title"] == "items").unwrap()["id"].as_str().unwrap().to_owned();
        let items = app.get(&app.owner_token, &format!("/api/v1/requests/{id}/items")).await.expect(200, "");
        let by_key = |key: &str| {
            items.body["items"].as_array().unwrap().iter().find(|i| i["key"] == key).unwrap().clone()
        };
        let files = app.get(&app.owner_token, &format!("/api/v1/requests/{id}/files")).await.expect(200, "");
        let name_of = |file: &Value| -> String {
            let found = files.body["items"].as_array().unwrap().iter().find(|f| f["id"] == *file);
            found.unwrap_or_else(|| panic!("no file {file}"))["name"].as_str().unwrap().to_owned()
        };
        let names = |item: &Value| -> Vec<String> { item["files"].as_array().unwrap().iter().map(name_of).collect() };
        // Each document item takes what it allows, up to its number of files, in order.
        let photo_item = by_key("photo");
        assert_eq!(photo_item["state"], "submitted", "{photo_item}");
        assert_eq!(names(&photo_item), ["Beach.png"]);
        let video_item = by_key("video");
        assert_eq!(video_item["state"], "submitted", "{video_item}");
        assert_eq!(names(&video_item), ["clip"]);
        // A question is not answered by files.
        assert_eq!(by_key("where")["state"], "missing");
        let request = app.get(&app.owner_token, &format!("/api/v1/requests/{id}")).await.expect(200, "");
        assert_eq!(request.body["items"]["submitted"], 2, "{}", request.body);
        // The timeline says which item took which upload.
        let timeline = app.get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline")).await.expect(200, "");
        let submitted = timeline.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "item.submitted")
            .count();
        assert_eq!(submitted, 2, "{}", timeline.body);
    }
}
