//! `Idempotency-Key`: a retried POST gets the first response and does not run twice.

mod common;

use common::*;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

fn keyed(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> reqwest::RequestBuilder {
    app.request(Method::POST, path, Some(token))
        .header("idempotency-key", key)
        .json(body)
}

backend_tests! {
    #[tokio::test]
    async fn a_retry_with_the_same_key_replays_the_first_response() {
        let app = spawn_app().await;
        let body = json!({"title": "Exactly once", "tags": ["retry"]});
        let first = app
            .send(keyed(
                &app,
                &app.owner_token,
                "/api/v1/requests",
                "create-1",
                &body,
            ))
            .await
            .expect(201, "");
        assert_eq!(first.header("idempotent-replayed"), None);

        let again = app
            .send(keyed(
                &app,
                &app.owner_token,
                "/api/v1/requests",
                "create-1",
                &body,
            ))
            .await
            .expect(201, "");
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(
            again.body, first.body,
            "the same request, same number, same id"
        );
        assert!(again
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
        for header in ["location", "etag"] {
            assert!(first.header(header).is_some(), "a create answers {header}");
            assert_eq!(
                again.header(header),
                first.header(header),
                "the replay sends {header} again"
            );
        }

        let all = app.list_all(&app.owner_token, "").await;
        assert_eq!(all.len(), 1, "only one request was filed");
        // The next request without a key is number 2: the retry did not take a number.
        assert_eq!(
            app.create_request(&app.owner_token, json!({"title": "Next"}))
                .await["number"],
            2
        );

        // Comments are POSTs too.
        let path = format!(
            "/api/v1/requests/{}/comments",
            first.body["id"].as_str().unwrap()
        );
        let c1 = app
            .send(keyed(
                &app,
                &app.owner_token,
                &path,
                "comment-1",
                &json!({"body": "once"}),
            ))
            .await
            .expect(201, "");
        let c2 = app
            .send(keyed(
                &app,
                &app.owner_token,
                &path,
                "comment-1",
                &json!({"body": "once"}),
            ))
            .await
            .expect(201, "");
        assert_eq!(c1.body, c2.body);
        assert_eq!(
            app.get(&app.owner_token, &path).await.body["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_refusal_is_replayed_too_but_never_runs_the_request() {
        let app = spawn_app().await;
        let invalid = json!({"title": " "});
        let first = app
            .send(keyed(
                &app,
                &app.owner_token,
                "/api/v1/requests",
                "bad-1",
                &invalid,
            ))
            .await
            .expect(422, "validation_failed");
        let again = app
            .send(keyed(
                &app,
                &app.owner_token,
                "/api/v1/requests",
                "bad-1",
                &invalid,
            ))
            .await;
        assert_eq!(again.status, 422);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.body, first.body);
        assert!(app.list_all(&app.owner_token, "").await.is_empty());
    }
}

backend_tests! {
    #[tokio::test]
    async fn the_same_key_with_a_different_request_is_refused() {
        let app = spawn_app().await;
        app.send(keyed(
            &app,
            &app.owner_token,
            "/api/v1/requests",
            "k",
            &json!({"title": "One"}),
        ))
        .await
        .expect(201, "");
        let r = app
            .send(keyed(
                &app,
                &app.owner_token,
                "/api/v1/requests",
                "k",
                &json!({"title": "Two"}),
            ))
            .await;
        r.expect(422, "idempotency_key_reused");
        // The same body to another route is another request as well.
        let id = app.list_all(&app.owner_token, "").await[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = app
            .send(keyed(
                &app,
                &app.owner_token,
                &format!("/api/v1/requests/{id}/comments"),
                "k",
                &json!({"title": "One"}),
            ))
            .await;
        r.expect(422, "idempotency_key_reused");
        assert_eq!(
            strings(&app.list_all(&app.owner_token, "").await, "title"),
            ["One"]
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn keys_are_scoped_to_the_credential() {
        let app = spawn_app().await;
        let (_, member) = app.add_member("member").await;
        let body = json!({"title": "Same key, same body"});
        let a = app
            .send(keyed(
                &app,
                &app.owner_token,
                "/api/v1/requests",
                "shared",
                &body,
            ))
            .await
            .expect(201, "");
        let b = app
            .send(keyed(&app, &member, "/api/v1/requests", "shared", &body))
            .await
            .expect(201, "");
        assert_eq!(b.header("idempotent-replayed"), None);
        assert_ne!(a.body["id"], b.body["id"]);
        assert_ne!(a.body["requester_id"], b.body["requester_id"]);
        let c = app
            .send(keyed(
                &app,
                &member,
                "/api/v1/requests",
                "shared",
                &json!({"title": "Different"}),
            ))
            .await;
        c.expect(422, "idempotency_key_reused");
        assert_eq!(app.list_all(&app.owner_token, "").await.len(), 2);
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn simultaneous_retries_run_the_request_once() {
        let app = spawn_app().await;
        let body = json!({"title": "Double-clicked"});
        let replies = join_all((0..10).map(|_| {
            app.send(keyed(
                &app,
                &app.owner_token,
                "/api/v1/requests",
                "click",
                &body,
            ))
        }))
        .await;
        let mut fresh = 0;
        for r in &replies {
            match (r.status.as_u16(), r.header("idempotent-replayed")) {
                (201, None) => fresh += 1,
                (201, Some("true")) => {}
                (409, None) => assert_eq!(r.code(), "idempotency_key_in_use"),
                other => panic!("unexpected reply {other:?}: {}", r.body),
            }
        }
        assert_eq!(fresh, 1, "exactly one call ran");
        assert_eq!(app.list_all(&app.owner_token, "").await.len(), 1);
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_malformed_key_is_a_bad_request() {
        let app = spawn_app().await;
        let r = app
            .send(keyed(
                &app,
                &app.owner_token,
                "/api/v1/requests",
                &"k".repeat(256),
                &json!({"title": "x"}),
            ))
            .await;
        r.expect(400, "invalid_idempotency_key");
        let r = app
            .send(keyed(
                &app,
                &app.owner_token,
                "/api/v1/requests",
                "",
                &json!({"title": "x"}),
            ))
            .await;
        r.expect(400, "invalid_idempotency_key");
        assert!(app.list_all(&app.owner_token, "").await.is_empty());
    }
}

backend_tests! {
    #[tokio::test]
    async fn an_unauthorized_attempt_is_not_remembered() {
        let app = spawn_app().await;
        let body = json!({"title": "Without a token"});
        // A 401 releases the key: the retry is refused again on its own merits, not replayed.
        for _ in 0..2 {
            let r = app
                .send(
                    app.request(Method::POST, "/api/v1/requests", None)
                        .header("idempotency-key", "k")
                        .json(&body),
                )
                .await;
            assert_eq!(
                r.header("idempotent-replayed"),
                None,
                "a 401 is never replayed"
            );
            r.expect(401, "unauthorized");
        }
        let r = app
            .send(
                app.request(Method::POST, "/api/v1/requests", None)
                    .header("idempotency-key", "k")
                    .json(&json!({"other": 1})),
            )
            .await;
        r.expect(401, "unauthorized");
    }
}

backend_tests! {
    #[tokio::test]
    async fn the_product_apis_creates_honour_the_key_too() {
        let app = spawn_app().await;
        for (path, body) in [
            (
                "/v1/request",
                json!({"campaignId": "collect", "contact": {"email": "ada@example.com", "firstName": "Ada"}}),
            ),
            ("/cases", json!({"title": "Spam wave"})),
        ] {
            let first = app
                .send(keyed(&app, &app.owner_token, path, &format!("once-{path}"), &body))
                .await;
            assert!(first.status.is_success(), "{path}: {}", first.body);
            assert_eq!(first.header("idempotent-replayed"), None);
            let again = app
                .send(keyed(&app, &app.owner_token, path, &format!("once-{path}"), &body))
                .await;
            assert_eq!(again.status, first.status, "{path}");
            assert_eq!(again.header("idempotent-replayed"), Some("true"), "{path}");
            assert_eq!(again.body, first.body, "{path}: the same answer");
        }
        let all = app.list_all(&app.owner_token, "").await;
        assert_eq!(all.len(), 2, "each create ran once: {all:?}");
    }
}
