//! Whatever a client sends, the answer is a precise 4xx in the one error envelope, never
//! a server error. And a client that calls too often is slowed down, politely.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

/// Sends `body` as-is to `method path` with `content_type` (none when `None`).
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: &'static str,
) -> Reply {
    let mut b = app.request(method, path, Some(&app.owner_token)).body(body);
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    app.send(b).await
}

const JSON: Option<&str> = Some("application/json");

backend_tests! {
    #[tokio::test]
    async fn malformed_json_is_a_bad_request() {
        let app = spawn_app().await;
        for body in [
            r#"{"title": "#,
            "{title: 'x'}",
            "",
            r#"{"title": "x"} trailing"#,
        ] {
            let r = raw(&app, Method::POST, "/api/v1/requests", JSON, body)
                .await
                .expect(400, "invalid_json");
            assert!(
                r.body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("JSON"),
                "{}",
                r.body
            );
        }
        let id = app.request_id("Target").await;
        raw(
            &app,
            Method::PATCH,
            &format!("/api/v1/requests/{id}"),
            JSON,
            "{",
        )
        .await
        .expect(400, "invalid_json");
        raw(
            &app,
            Method::PATCH,
            &format!("/api/v1/requests/{id}"),
            JSON,
            "[null, null]",
        )
        .await
        .expect(422, "validation_failed");
        raw(&app, Method::POST, "/api/v1/members", JSON, r#"{"email": "#)
            .await
            .expect(400, "invalid_json");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_value_of_the_wrong_type_names_the_field() {
        let app = spawn_app().await;
        let cases = [
            (r#"{"title": 5}"#, "title"),
            (r#"{"title": "x", "tags": "urgent"}"#, "tags"),
            (r#"{"title": "x", "tags": ["a", 2]}"#, "tags[1]"),
            (
                r#"{"title": "x", "subject": {"kind": 1, "id": "x"}}"#,
                "subject.kind",
            ),
            (r#"{"title": "x", "data": [1, 2]}"#, "data"),
            (
                r#"{"title": "x", "assignee_id": "not-a-uuid"}"#,
                "assignee_id",
            ),
            (r#"[]"#, "body"),
            (r#"null"#, "body"),
        ];
        for (body, field) in cases {
            let r = raw(&app, Method::POST, "/api/v1/requests", JSON, body)
                .await
                .expect(422, "validation_failed");
            assert_eq!(
                r.body["error"]["details"][0]["field"], field,
                "{body}: {}",
                r.body
            );
        }
        // Missing required fields are named too.
        let r = raw(
            &app,
            Method::POST,
            "/api/v1/requests",
            JSON,
            r#"{"description": "no title"}"#,
        )
        .await
        .expect(422, "validation_failed");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("title"),
            "{}",
            r.body
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn an_unknown_field_is_refused_rather_than_ignored() {
        let app = spawn_app().await;
        let r = raw(
            &app,
            Method::POST,
            "/api/v1/requests",
            JSON,
            r#"{"title": "x", "colour": "red"}"#,
        )
        .await
        .expect(422, "validation_failed");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("colour"),
            "{}",
            r.body
        );
        let id = app.request_id("Target").await;
        let r = app
            .patch(
                &app.owner_token,
                &format!("/api/v1/requests/{id}"),
                json!({"assignee": null}),
            )
            .await
            .expect(422, "validation_failed");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("assignee"),
            "{}",
            r.body
        );
        app.post(
            &app.owner_token,
            "/api/v1/tokens",
            json!({"name": "x", "role": "owner"}),
        )
        .await
        .expect(422, "validation_failed");
        assert!(app
            .list_all(&app.owner_token, "")
            .await
            .iter()
            .all(|r| r["title"] == "Target"));
    }
}

backend_tests! {
    #[tokio::test]
    async fn invalid_values_are_all_reported_with_their_fields() {
        let app = spawn_app().await;
        let r = app
            .post(
                &app.owner_token,
                "/api/v1/requests",
                json!({"title": " ", "tags": [""], "description": "d".repeat(20_001)}),
            )
            .await
            .expect(422, "validation_failed");
        let details = r.body["error"]["details"].as_array().unwrap();
        let fields: Vec<&str> = details
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["title", "description", "tags"], "{}", r.body);
        assert_eq!(r.body["error"]["message"], "3 fields are invalid");

        let cases = [
            (json!({"title": "x".repeat(301)}), "title", "too_long"),
            (
                json!({"title": "x", "due_at": "tomorrow"}),
                "due_at",
                "invalid_time",
            ),
            (
                json!({"title": "x", "data": {"blob": "y".repeat(17 * 1024)}}),
                "data",
                "too_large",
            ),
            (
                json!({"title": "x", "tags": (0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
                "tags",
                "too_many",
            ),
            (
                json!({"title": "x", "subject": {"kind": "Bad Kind", "id": "1"}}),
                "subject.kind",
                "invalid",
            ),
        ];
        for (body, field, code) in cases {
            let r = app
                .post(&app.owner_token, "/api/v1/requests", body)
                .await
                .expect(422, "validation_failed");
            assert_eq!(r.body["error"]["details"][0]["field"], field, "{}", r.body);
            assert_eq!(r.body["error"]["details"][0]["code"], code, "{}", r.body);
        }
        assert!(app.list_all(&app.owner_token, "").await.is_empty());
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_body_that_is_not_declared_json_is_unsupported() {
        let app = spawn_app().await;
        let body = r#"{"title": "x"}"#;
        raw(&app, Method::POST, "/api/v1/requests", None, body)
            .await
            .expect(415, "unsupported_media_type");
        raw(
            &app,
            Method::POST,
            "/api/v1/requests",
            Some("text/plain"),
            body,
        )
        .await
        .expect(415, "unsupported_media_type");
        raw(
            &app,
            Method::POST,
            "/api/v1/requests",
            Some("application/x-www-form-urlencoded"),
            "title=x",
        )
        .await
        .expect(415, "unsupported_media_type");
        // JSON with parameters, and JSON-based types, are JSON.
        raw(
            &app,
            Method::POST,
            "/api/v1/requests",
            Some("application/json; charset=utf-8"),
            body,
        )
        .await
        .expect(201, "");
        let id = app.request_id("Target").await;
        raw(
            &app,
            Method::PATCH,
            &format!("/api/v1/requests/{id}"),
            Some("application/merge-patch+json"),
            r#"{"title": "y"}"#,
        )
        .await
        .expect(200, "");
    }
}

backend_tests! {
    #[tokio::test]
    async fn an_invalid_status_is_a_validation_error() {
        let app = spawn_app().await;
        let id = app.request_id("Target").await;
        let path = format!("/api/v1/requests/{id}");
        for status in [json!("nope"), json!("not a status!"), json!(""), json!(3)] {
            let r = app
                .patch(&app.owner_token, &path, json!({ "status": status }))
                .await
                .expect(422, "validation_failed");
            assert_eq!(
                r.body["error"]["details"][0]["field"], "status",
                "{}",
                r.body
            );
        }
        assert_eq!(app.get(&app.owner_token, &path).await.body["version"], 1);
    }
}

backend_tests! {
    #[tokio::test]
    async fn an_oversized_body_is_refused() {
        let app = spawn_app_with(Settings {
            body_limit_bytes: 1024,
            ..test_settings()
        })
        .await;
        let big = json!({"title": "big", "description": "x".repeat(10 * 1024)});
        let r = app
            .post(&app.owner_token, "/api/v1/requests", big.clone())
            .await
            .expect(413, "payload_too_large");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1024"),
            "{}",
            r.body
        );
        // With an Idempotency-Key the body is read earlier, and refused the same way.
        let keyed = app
            .request(Method::POST, "/api/v1/requests", Some(&app.owner_token))
            .header("idempotency-key", "big")
            .json(&big);
        app.send(keyed).await.expect(413, "payload_too_large");
        let id = app.request_id("Small is fine").await;
        app.patch(&app.owner_token, &format!("/api/v1/requests/{id}"), big)
            .await
            .expect(413, "payload_too_large");
        assert_eq!(
            strings(&app.list_all(&app.owner_token, "").await, "title"),
            ["Small is fine"]
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn each_server_keeps_its_own_body_limit() {
        // Two servers in one process (as in these tests, or an embedding application): the
        // limit of one must not leak into the other.
        let roomy = spawn_app().await;
        let tight = spawn_app_with(Settings {
            body_limit_bytes: 1024,
            ..test_settings()
        })
        .await;
        let big = json!({"title": "big", "description": "x".repeat(10 * 1024)});
        for key in [None, Some("roomy")] {
            let mut b = roomy
                .request(Method::POST, "/api/v1/requests", Some(&roomy.owner_token))
                .json(&big);
            if let Some(k) = key {
                b = b.header("idempotency-key", k);
            }
            roomy.send(b).await.expect(201, "");
        }
        let r = tight
            .post(&tight.owner_token, "/api/v1/requests", big.clone())
            .await
            .expect(413, "payload_too_large");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1024 bytes"),
            "{}",
            r.body
        );
        let _later = spawn_app().await;
        let r = tight
            .post(&tight.owner_token, "/api/v1/requests", big)
            .await
            .expect(413, "payload_too_large");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1024 bytes"),
            "{}",
            r.body
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn malformed_query_parameters_are_bad_requests() {
        let app = spawn_app().await;
        for query in [
            "limit=1000",
            "limit=abc",
            "limit=-1",
            "limit=",
            "sort=title",
            "unknown=1",
        ] {
            let r = app
                .get(&app.owner_token, &format!("/api/v1/requests?{query}"))
                .await
                .expect(400, "invalid_query");
            assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
        }
        let id = app.request_id("Target").await;
        app.get(
            &app.owner_token,
            &format!("/api/v1/requests/{id}/timeline?limit=500"),
        )
        .await
        .expect(400, "invalid_query");
        app.get(
            &app.owner_token,
            &format!("/api/v1/requests/{id}/timeline?cursor=abc"),
        )
        .await
        .expect(400, "invalid_cursor");
        app.get(&app.owner_token, "/api/v1/requests?limit=100")
            .await
            .expect(200, "");
    }
}

backend_tests! {
    #[tokio::test]
    async fn unknown_routes_ids_and_methods_answer_with_the_envelope() {
        let app = spawn_app().await;
        for path in [
            "/api/v1/requests/not-a-uuid",
            "/api/v1/requests/not-a-uuid/timeline",
            "/api/v1/members/12345",
            "/api/v1/nope",
            "/api/v2/requests",
            "/nowhere",
        ] {
            app.get(&app.owner_token, path)
                .await
                .expect(404, "not_found");
        }
        app.delete(&app.owner_token, "/api/v1/tokens/not-a-uuid")
            .await
            .expect(404, "not_found");
        app.patch(
            &app.owner_token,
            "/api/v1/requests/not-a-uuid",
            json!({"title": "x"}),
        )
        .await
        .expect(404, "not_found");

        let r = app
            .send(
                app.request(Method::PUT, "/api/v1/requests", Some(&app.owner_token))
                    .json(&json!({})),
            )
            .await;
        let r = r.expect(405, "method_not_allowed");
        let allow = r.header("allow").unwrap_or_default();
        assert!(
            allow.contains("GET") && allow.contains("POST"),
            "allow: {allow}"
        );
        app.delete(&app.owner_token, "/api/v1/requests")
            .await
            .expect(405, "method_not_allowed");
        app.post(&app.owner_token, "/api/v1/me", json!({}))
            .await
            .expect(405, "method_not_allowed");
    }
}

backend_tests! {
    #[tokio::test]
    async fn every_error_quotes_the_request_id_and_a_client_id_is_kept() {
        let app = spawn_app().await;
        let r = app
            .send(
                app.request(
                    Method::GET,
                    "/api/v1/requests?limit=abc",
                    Some(&app.owner_token),
                )
                .header("x-request-id", "client-chosen-42"),
            )
            .await
            .expect(400, "invalid_query");
        assert_eq!(r.header("x-request-id"), Some("client-chosen-42"));
        assert_eq!(r.body["error"]["request_id"], "client-chosen-42");
        // A successful call has one too, fresh each time.
        let a = app
            .get(&app.owner_token, "/api/v1/me")
            .await
            .expect(200, "");
        let b = app
            .get(&app.owner_token, "/api/v1/me")
            .await
            .expect(200, "");
        assert!(a.header("x-request-id").is_some_and(|id| !id.is_empty()));
        assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
        // An unusable id is replaced.
        let r = app
            .send(
                app.request(Method::GET, "/nowhere", None)
                    .header("x-request-id", "x".repeat(200)),
            )
            .await
            .expect(404, "not_found");
        assert_ne!(r.header("x-request-id"), Some("x".repeat(200).as_str()));
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_client_over_its_rate_is_told_when_to_retry() {
        let app = spawn_app_with(Settings {
            rate_limit_per_second: 1,
            rate_limit_burst: 3,
            ..test_settings()
        })
        .await;
        // spawn_app_with made one call (GET /me) with the owner token; use a fresh credential.
        let (_, member) = {
            let unlimited = app
                .post(
                    &app.owner_token,
                    "/api/v1/members",
                    json!({"email": "m@example.com", "name": "M", "role": "member"}),
                )
                .await;
            let id = unlimited.expect(201, "").body["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let token = app
                .post(
                    &app.owner_token,
                    "/api/v1/tokens",
                    json!({"name": "t", "member_id": id}),
                )
                .await;
            (
                id,
                token.expect(201, "").body["token"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        };
        let mut remaining = Vec::new();
        for _ in 0..3 {
            let r = app.get(&member, "/api/v1/me").await.expect(200, "");
            assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
            remaining.push(
                r.header("x-ratelimit-remaining")
                    .unwrap()
                    .parse::<u32>()
                    .unwrap(),
            );
        }
        assert_eq!(remaining, [2, 1, 0]);
        let r = app
            .get(&member, "/api/v1/me")
            .await
            .expect(429, "rate_limited");
        let retry: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=2).contains(&retry), "retry after {retry}");
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
        assert!(r.header("x-ratelimit-reset").is_some());
        // Limits are per credential: someone else is not slowed down.
        let other = app
            .send(app.request(
                Method::GET,
                "/api/v1/me",
                Some("dk_someone_else_entirely_0123456789abcdef"),
            ))
            .await;
        other.expect(401, "unauthorized");
    }
}
