//! ServerOps' cases API under `/cases`: the page's example replayed, the documented case
//! and error bodies, scopes, the workflow and the cursor list, over real HTTP.

mod common;

use common::{spawn_app, Reply, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

async fn create_case(app: &TestApp, token: &str, title: &str) -> Value {
    let r = app
        .post(
            token,
            "/cases",
            json!({"title": title, "description": "Spam in #general"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

/// Exactly `{"error": {"code", "message"}}` with this status and code.
#[track_caller]
fn assert_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(1), "{}", r.body);
    assert_eq!(
        r.body["error"].as_object().map(|o| o.len()),
        Some(2),
        "{}",
        r.body
    );
}

backend_tests! {
    #[tokio::test]
    async fn the_pages_curl_example_without_a_token_is_the_documented_401() {
        let app = spawn_app().await;
        let r = app
            .send(
                app.request(Method::PATCH, "/cases/string", None)
                    .header("Content-Type", "application/json")
                    .body("{}"),
            )
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.body,
            json!({"error": {"code": "unauthorized", "message": "missing or invalid authorization token"}})
        );
        // With a token, the id `string` names no case.
        let r = app
            .send(
                app.request(Method::PATCH, "/cases/string", Some(&app.owner_token))
                    .header("Content-Type", "application/json")
                    .body("{}"),
            )
            .await;
        assert_error(&r, 404, "not_found");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_case_has_the_documented_fields() {
        let app = spawn_app().await;
        let case = create_case(&app, &app.owner_token, "Raid in progress").await;
        let id = case["id"].as_str().unwrap().to_owned();
        // The page's example: PATCH with `{}` changes nothing and answers the case.
        let r = app
            .send(
                app.request(
                    Method::PATCH,
                    &format!("/cases/{id}"),
                    Some(&app.owner_token),
                )
                .header("Content-Type", "application/json")
                .body("{}"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let mut keys: Vec<&str> = r
            .body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "attachments",
                "created_at",
                "description",
                "id",
                "status",
                "title",
                "updated_at"
            ]
        );
        assert_eq!(r.body["title"], "Raid in progress");
        assert_eq!(r.body["description"], "Spam in #general");
        assert_eq!(r.body["status"], "open");
        assert_eq!(r.body["attachments"], json!([]));
        for field in ["created_at", "updated_at"] {
            let t = r.body[field].as_str().unwrap();
            assert!(
                t.len() == 20 && t.ends_with('Z'),
                "{field} = {t} is not like 2019-08-24T14:15:22Z"
            );
        }
        assert_eq!(r.body, case);
        assert!(r.header("x-ratelimit-limit").is_some());
        assert!(r.header("x-ratelimit-remaining").is_some());
        assert!(r.header("x-ratelimit-reset").is_some());

        let r = app
            .patch(
                &app.owner_token,
                &format!("/cases/{id}"),
                json!({"title": "Raid over", "description": "Handled", "status": "closed"}),
            )
            .await
            .ok();
        assert_eq!(
            (
                r.body["title"].as_str(),
                r.body["description"].as_str(),
                r.body["status"].as_str()
            ),
            (Some("Raid over"), Some("Handled"), Some("closed"))
        );
        let got = app
            .get(&app.owner_token, &format!("/cases/{id}"))
            .await
            .ok();
        assert_eq!(got.body, r.body);
    }
}

backend_tests! {
    #[tokio::test]
    async fn statuses_move_freely_between_open_closed_and_archived() {
        let app = spawn_app().await;
        let id = create_case(&app, &app.owner_token, "Moves").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for to in ["closed", "open", "archived", "open", "closed"] {
            let r = app
                .patch(
                    &app.owner_token,
                    &format!("/cases/{id}"),
                    json!({"status": to}),
                )
                .await
                .ok();
            assert_eq!(r.body["status"], to);
        }
        let r = app
            .patch(
                &app.owner_token,
                &format!("/cases/{id}"),
                json!({"status": "resolved"}),
            )
            .await;
        assert_error(&r, 400, "bad_request");
    }
}

backend_tests! {
    #[tokio::test]
    async fn scopes_map_onto_docket_scopes() {
        let app = spawn_app().await;
        let id = create_case(&app, &app.owner_token, "Scoped").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let read_only = app
            .token_with_scopes(&app.owner_token, &["requests:read"])
            .await;
        app.get(&read_only, &format!("/cases/{id}")).await.ok();
        app.get(&read_only, "/cases").await.ok();
        for r in [
            app.patch(
                &read_only,
                &format!("/cases/{id}"),
                json!({"status": "closed"}),
            )
            .await,
            app.post(&read_only, "/cases", json!({"title": "x"})).await,
        ] {
            assert_eq!(
                r.body,
                json!({"error": {"code": "forbidden", "message": "token does not have the required scope"}})
            );
            assert_eq!(r.status, 403);
        }
        let write_only = app
            .token_with_scopes(&app.owner_token, &["requests:write"])
            .await;
        let r = app.get(&write_only, "/cases").await;
        assert_error(&r, 403, "forbidden");
        assert_eq!(
            r.body["error"]["message"],
            "token does not have the required scope"
        );
        // A member may move any case (cases:write), but edits only their own.
        let (_, member) = app.add_member("member").await;
        app.patch(
            &member,
            &format!("/cases/{id}"),
            json!({"status": "closed"}),
        )
        .await
        .ok();
        let r = app
            .patch(
                &member,
                &format!("/cases/{id}"),
                json!({"title": "Mine now"}),
            )
            .await;
        assert_error(&r, 403, "forbidden");
    }
}

backend_tests! {
    #[tokio::test]
    async fn malformed_input_is_bad_request_and_unknown_cases_not_found() {
        let app = spawn_app().await;
        let id = create_case(&app, &app.owner_token, "Input").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = app
            .post(
                &app.owner_token,
                "/cases",
                json!({"description": "no title"}),
            )
            .await;
        assert_error(&r, 400, "bad_request");
        let r = app
            .post(&app.owner_token, "/cases", json!({"title": 7}))
            .await;
        assert_error(&r, 400, "bad_request");
        let r = app
            .post(
                &app.owner_token,
                "/cases",
                json!({"title": "x".repeat(301)}),
            )
            .await;
        assert_error(&r, 400, "bad_request");
        let r = app
            .send(
                app.request(Method::POST, "/cases", Some(&app.owner_token))
                    .header("content-type", "application/json")
                    .body("{oops"),
            )
            .await;
        assert_error(&r, 400, "bad_request");
        let r = app
            .send(
                app.request(
                    Method::PATCH,
                    &format!("/cases/{id}"),
                    Some(&app.owner_token),
                )
                .header("content-type", "text/plain")
                .body("x"),
            )
            .await;
        assert_error(&r, 400, "bad_request");
        let missing = uuid::Uuid::now_v7();
        assert_error(
            &app.get(&app.owner_token, &format!("/cases/{missing}"))
                .await,
            404,
            "not_found",
        );
        assert_error(
            &app.patch(&app.owner_token, &format!("/cases/{missing}"), json!({}))
                .await,
            404,
            "not_found",
        );
        let native = app.request_id("Not a case").await;
        assert_error(
            &app.get(&app.owner_token, &format!("/cases/{native}")).await,
            404,
            "not_found",
        );
        for q in [
            "limit=0",
            "limit=101",
            "limit=x",
            "status=resolved",
            "cursor=garbage",
        ] {
            assert_error(
                &app.get(&app.owner_token, &format!("/cases?{q}")).await,
                400,
                "bad_request",
            );
        }
        assert_error(&app.get("dk_unknown", "/cases").await, 401, "unauthorized");
        assert_error(
            &app.delete(&app.owner_token, &format!("/cases/{id}")).await,
            405,
            "bad_request",
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn lists_page_by_cursor_and_filter_by_status() {
        let app = spawn_app().await;
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(
                create_case(&app, &app.owner_token, &format!("Case {i}")).await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        app.patch(
            &app.owner_token,
            &format!("/cases/{}", ids[0]),
            json!({"status": "archived"}),
        )
        .await
        .ok();
        let mut seen = Vec::new();
        let mut path = "/cases?limit=2".to_owned();
        loop {
            let page = app.get(&app.owner_token, &path).await.ok();
            let cases = page.body["cases"].as_array().unwrap();
            assert!(cases.len() <= 2);
            seen.extend(cases.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
            match page.body["next_cursor"].as_str() {
                Some(c) => path = format!("/cases?limit=2&cursor={c}"),
                None => {
                    assert!(page.body.as_object().unwrap().contains_key("next_cursor"));
                    break;
                }
            }
        }
        ids.reverse();
        assert_eq!(seen, ids, "newest first, each once");
        let archived = app
            .get(&app.owner_token, "/cases?status=archived")
            .await
            .ok();
        assert_eq!(archived.body["cases"].as_array().unwrap().len(), 1);
        assert_eq!(archived.body["next_cursor"], Value::Null);
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_case_is_a_docket_request_with_one_timeline() {
        let app = spawn_app().await;
        let id = create_case(&app, &app.owner_token, "Cross").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.patch(
            &app.owner_token,
            &format!("/cases/{id}"),
            json!({"status": "closed"}),
        )
        .await
        .ok();
        let native = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}"))
            .await
            .ok();
        assert_eq!(native.body["type"], "serverops_case");
        assert_eq!(native.body["status"], "closed");
        assert_eq!(native.body["category"], "done");
        let timeline = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
            .await
            .ok();
        assert_eq!(timeline.body["items"].as_array().unwrap().len(), 2);
        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{id}"),
            json!({"status": "archived"}),
        )
        .await
        .ok();
        let case = app
            .get(&app.owner_token, &format!("/cases/{id}"))
            .await
            .ok();
        assert_eq!(case.body["status"], "archived");
    }
}

backend_tests! {
    #[tokio::test]
    async fn rate_limited_calls_get_the_serverops_body() {
        let app = common::spawn_app_with(common::Settings {
            rate_limit_per_second: 1,
            rate_limit_burst: 2,
            ..common::test_settings()
        })
        .await;
        let mut last = None;
        for _ in 0..4 {
            last = Some(app.get(&app.owner_token, "/cases").await);
        }
        let r = last.unwrap();
        assert_error(&r, 429, "rate_limited");
        assert!(r.header("retry-after").is_some());
        assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    }
}

backend_tests! {
    /// A case's attachments are its request's files, each with a signed URL that
    /// downloads without a token; a token without `files:read` sees none.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_cases_files_are_its_attachments() {
        let app = spawn_app().await;
        let case = create_case(&app, &app.owner_token, "Abusive avatar").await;
        let id = case["id"].as_str().unwrap();
        let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";
        app.send(
            app.request(Method::POST, &format!("/api/v1/requests/{id}/files?name=avatar.png"), Some(&app.owner_token))
                .body(png.to_vec()),
        )
        .await
        .expect(201, "");
        let got = app.get(&app.owner_token, &format!("/cases/{id}")).await.ok();
        let attachments = got.body["attachments"].as_array().unwrap().clone();
        assert_eq!(attachments.len(), 1, "{}", got.body);
        let a = &attachments[0];
        assert_eq!(a["original_name"], "avatar.png");
        assert_eq!(a["content_type"], "image/png");
        assert_eq!(a["size"], png.len());
        assert_eq!(a["sha256"].as_str().unwrap().len(), 64);
        for field in ["id", "url", "key", "tags", "folder", "abuse_status", "visibility", "storage_class", "created_at", "updated_at"] {
            assert!(!a[field].is_null(), "{field} in {a}");
        }
        let url = a["url"].as_str().unwrap();
        let path = &url[url.find("/files/").unwrap()..];
        let bytes = app.client.get(app.url(path)).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(&bytes[..], png, "the signed URL downloads without a token");
        let listed = app.get(&app.owner_token, "/cases").await.ok();
        assert_eq!(listed.body["cases"][0]["attachments"].as_array().unwrap().len(), 1);

        let narrow = app.token_with_scopes(&app.owner_token, &["requests:read"]).await;
        let got = app.get(&narrow, &format!("/cases/{id}")).await.ok();
        assert_eq!(got.body["attachments"], json!([]));
    }
}
