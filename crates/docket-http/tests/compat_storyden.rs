//! Storyden's reports API under `/api/reports`: the page's example replayed, the report
//! and error bodies, the MANAGE_REPORTS rules, pages of 10, over real HTTP.

mod common;

use common::{spawn_app, Reply, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const REPORTS: &str = "/api/reports";

/// Files a report with the session cookie.
async fn report(app: &TestApp, token: &str, kind: &str, target: &str) -> Value {
    let r = app
        .send(
            app.request(Method::POST, REPORTS, None)
                .header("Cookie", format!("theme=dark; storyden-session={token}"))
                .json(&json!({"target_id": target, "target_kind": kind, "comment": "Spam link"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The page's error body: `{error, message, suggested, metadata}` (and `trace_id`).
#[track_caller]
fn assert_error(r: &Reply, status: u16, error: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["error"], error, "{}", r.body);
    for field in ["message", "suggested"] {
        assert!(
            r.body[field].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            r.body
        );
    }
    assert!(r.body["metadata"].is_object());
    assert_eq!(r.body["trace_id"].as_str(), r.header("x-request-id"));
}

backend_tests! {
    #[tokio::test]
    async fn the_pages_curl_example_is_answered_in_storydens_error_format() {
        let app = spawn_app().await;
        let send = |token: Option<&str>| {
            app.request(Method::PATCH, "/api/reports/cc5lnd2s1s4652adtu50", token)
                .header("Content-Type", "application/json")
                .body("{}")
        };
        assert_error(&app.send(send(None)).await, 401, "unauthorized");
        // With a credential, the example's xid names no Docket report.
        assert_error(
            &app.send(send(Some(&app.owner_token))).await,
            404,
            "not_found",
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_report_has_the_fields_of_the_page() {
        let app = spawn_app().await;
        let (member_id, member) = app.add_member("member").await;
        let created = report(&app, &member, "post", "cc5lnd2s1s4652adtu50").await;
        let mut keys: Vec<&str> = created
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "comment",
                "createdAt",
                "id",
                "reported_by",
                "status",
                "target_id",
                "target_kind",
                "updatedAt"
            ]
        );
        assert_eq!(created["status"], "submitted");
        assert_eq!(created["target_kind"], "post");
        assert_eq!(created["target_id"], "cc5lnd2s1s4652adtu50");
        assert_eq!(created["comment"], "Spam link");
        let by = &created["reported_by"];
        assert_eq!(by["id"], member_id.as_str());
        assert!(by["name"].as_str().unwrap().starts_with("member "));
        assert!(by["handle"].as_str().is_some_and(|h| !h.is_empty()));
        assert_eq!(by["roles"], json!([]));
        for t in [&created["createdAt"], &created["updatedAt"], &by["joined"]] {
            let t = t.as_str().unwrap();
            assert!(
                t.len() == 20 && t.ends_with('Z'),
                "{t} is not like 2019-08-24T14:15:22Z"
            );
        }

        // The moderator acknowledges without naming a handler, and becomes the handler.
        let (moderator_id, moderator) = app.add_member("moderator").await;
        let id = created["id"].as_str().unwrap();
        let r = app
            .patch(
                &moderator,
                &format!("{REPORTS}/{id}"),
                json!({"status": "acknowledged"}),
            )
            .await
            .ok();
        assert_eq!(r.body["status"], "acknowledged");
        assert_eq!(r.body["handled_by"]["id"], moderator_id.as_str());
        assert_eq!(r.body["reported_by"]["id"], member_id.as_str());
    }
}

backend_tests! {
    #[tokio::test]
    async fn members_may_only_resolve_their_own_reports() {
        let app = spawn_app().await;
        let (_, alice) = app.add_member("member").await;
        let (_, bob) = app.add_member("member").await;
        let a = report(&app, &alice, "thread", "t1").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{REPORTS}/{a}");
        // Another member's report is not theirs to see: not found, as in every API.
        assert_error(
            &app.patch(&bob, &path, json!({"status": "resolved"})).await,
            404,
            "not_found",
        );
        assert_error(
            &app.patch(&alice, &path, json!({"status": "acknowledged"}))
                .await,
            403,
            "forbidden",
        );
        let (someone, _) = app.add_member("member").await;
        assert_error(
            &app.patch(&alice, &path, json!({"handled_by": someone}))
                .await,
            403,
            "forbidden",
        );
        let r = app
            .patch(&alice, &path, json!({"status": "resolved"}))
            .await
            .ok();
        assert_eq!(r.body["status"], "resolved");
        assert!(
            r.body.get("handled_by").is_none(),
            "a member resolving is not the handler"
        );
        assert_error(
            &app.patch(&alice, &path, json!({"status": "submitted"}))
                .await,
            403,
            "forbidden",
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn moderators_may_do_anything_and_assign_any_handler() {
        let app = spawn_app().await;
        let (_, member) = app.add_member("member").await;
        let (handler_id, _) = app.add_member("moderator").await;
        let (_, moderator) = app.add_member("moderator").await;
        let id = report(&app, &member, "reply", "r1").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{REPORTS}/{id}");
        let r = app
            .patch(&moderator, &path, json!({"handled_by": handler_id}))
            .await
            .ok();
        assert_eq!(r.body["handled_by"]["id"], handler_id.as_str());
        assert_eq!(r.body["status"], "submitted");
        let r = app
            .patch(
                &moderator,
                &path,
                json!({"status": "resolved", "handled_by": handler_id}),
            )
            .await
            .ok();
        assert_eq!(r.body["handled_by"]["id"], handler_id.as_str());
        for to in ["submitted", "acknowledged", "resolved"] {
            let r = app
                .patch(&moderator, &path, json!({"status": to}))
                .await
                .ok();
            assert_eq!(r.body["status"], to);
        }
        // The owner (an administrator) too, with the access key as a bearer token.
        app.patch(&app.owner_token, &path, json!({"status": "submitted"}))
            .await
            .ok();
    }
}

backend_tests! {
    #[tokio::test]
    async fn invalid_input_is_400_in_storydens_format() {
        let app = spawn_app().await;
        let id = report(&app, &app.owner_token, "post", "p1").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{REPORTS}/{id}");
        assert_error(
            &app.post(
                &app.owner_token,
                REPORTS,
                json!({"target_id": "x", "target_kind": "planet"}),
            )
            .await,
            400,
            "bad_request",
        );
        assert_error(
            &app.post(&app.owner_token, REPORTS, json!({"target_kind": "post"}))
                .await,
            400,
            "bad_request",
        );
        assert_error(
            &app.post(
                &app.owner_token,
                REPORTS,
                json!({"target_id": "", "target_kind": "post"}),
            )
            .await,
            400,
            "bad_request",
        );
        assert_error(
            &app.post(&app.owner_token, REPORTS, json!([1])).await,
            400,
            "bad_request",
        );
        // An array of the fields is not an object, even when serde would read one.
        assert_error(
            &app.patch(&app.owner_token, &path, json!([null, null])).await,
            400,
            "bad_request",
        );
        assert_error(
            &app.patch(&app.owner_token, &path, json!({"status": "closed"}))
                .await,
            400,
            "bad_request",
        );
        assert_error(
            &app.patch(
                &app.owner_token,
                &path,
                json!({"handled_by": "cc5lnd2s1s4652adtu50"}),
            )
            .await,
            400,
            "bad_request",
        );
        assert_error(
            &app.get(&app.owner_token, &format!("{REPORTS}?page=0"))
                .await,
            400,
            "bad_request",
        );
        assert_error(
            &app.get(&app.owner_token, &format!("{REPORTS}?status=open"))
                .await,
            400,
            "bad_request",
        );
        assert_error(&app.get("dk_nope", REPORTS).await, 401, "unauthorized");
        let missing = uuid::Uuid::now_v7();
        assert_error(
            &app.patch(&app.owner_token, &format!("{REPORTS}/{missing}"), json!({}))
                .await,
            404,
            "not_found",
        );
        let native = app.request_id("Not a report").await;
        assert_error(
            &app.patch(&app.owner_token, &format!("{REPORTS}/{native}"), json!({}))
                .await,
            404,
            "not_found",
        );
        assert_error(
            &app.delete(&app.owner_token, &path).await,
            405,
            "method_not_allowed",
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn lists_are_pages_of_ten_and_members_see_their_own() {
        let app = spawn_app().await;
        let (_, member) = app.add_member("member").await;
        for i in 0..12 {
            report(
                &app,
                &app.owner_token,
                if i % 3 == 0 { "profile" } else { "post" },
                &format!("t{i}"),
            )
            .await;
        }
        let mine = report(&app, &member, "event", "e1").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let first = app.get(&app.owner_token, REPORTS).await.ok();
        assert_eq!(
            (
                &first.body["page_size"],
                &first.body["results"],
                &first.body["total_pages"],
                &first.body["current_page"],
                &first.body["next_page"]
            ),
            (&json!(10), &json!(13), &json!(2), &json!(1), &json!(2))
        );
        assert_eq!(first.body["reports"].as_array().unwrap().len(), 10);
        assert_eq!(
            first.body["reports"][0]["id"],
            mine.as_str(),
            "most recently updated first"
        );
        let second = app
            .get(&app.owner_token, &format!("{REPORTS}?page=2"))
            .await
            .ok();
        assert_eq!(second.body["reports"].as_array().unwrap().len(), 3);
        assert!(second.body.get("next_page").is_none());

        let members = app.get(&member, REPORTS).await.ok();
        assert_eq!(
            members.body["results"], 1,
            "a member sees only their own reports"
        );
        assert_eq!(members.body["reports"][0]["id"], mine.as_str());

        let profiles = app
            .get(&app.owner_token, &format!("{REPORTS}?kind=profile"))
            .await
            .ok();
        assert_eq!(profiles.body["results"], 4);
        // Resolved reports are left out unless asked for.
        app.patch(
            &member,
            &format!("{REPORTS}/{mine}"),
            json!({"status": "resolved"}),
        )
        .await
        .ok();
        assert_eq!(
            app.get(&app.owner_token, REPORTS).await.ok().body["results"],
            12
        );
        let resolved = app
            .get(&app.owner_token, &format!("{REPORTS}?status=resolved"))
            .await
            .ok();
        assert_eq!(resolved.body["results"], 1);
        let empty = app
            .get(&app.owner_token, &format!("{REPORTS}?page=9"))
            .await
            .ok();
        assert_eq!(empty.body["reports"], json!([]));
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_report_is_a_docket_request_with_one_timeline() {
        let app = spawn_app().await;
        let (_, member) = app.add_member("member").await;
        let id = report(&app, &member, "node", "n1").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.patch(
            &app.owner_token,
            &format!("{REPORTS}/{id}"),
            json!({"status": "acknowledged"}),
        )
        .await
        .ok();
        let native = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}"))
            .await
            .ok();
        assert_eq!(native.body["type"], "storyden_report");
        assert_eq!(native.body["subject"], json!({"kind": "node", "id": "n1"}));
        assert_eq!(native.body["description"], "Spam link");
        assert_eq!(native.body["status"], "acknowledged");
        assert_eq!(native.body["assignee_id"], app.owner_id.as_str());
        let timeline = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
            .await
            .ok();
        assert_eq!(timeline.body["items"].as_array().unwrap().len(), 2);
        // The native API's transitions speak for the same workflow.
        let r = app
            .patch(
                &member,
                &format!("/api/v1/requests/{id}"),
                json!({"status": "submitted"}),
            )
            .await;
        assert_eq!(r.status, 403);
        app.patch(
            &member,
            &format!("/api/v1/requests/{id}"),
            json!({"status": "resolved"}),
        )
        .await
        .ok();
    }
}

backend_tests! {
    /// A browser signed in to the desk is signed in to Storyden's API: the
    /// `storyden-session` cookie takes the desk session's secret.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_session_cookie_takes_a_desk_session() {
        let app = spawn_app().await;
        let (_, email, _) = common::web::desk_member(&app, "member", "correct horse battery").await;
        let mut browser = common::web::Browser::new(&app);
        browser.sign_in(&email, "correct horse battery").await;
        let session = browser.cookie.clone().unwrap();
        let secret = session.strip_prefix("docket_session=").unwrap().to_owned();
        let filed = report(&app, &secret, "post", "post_123").await;
        assert_eq!(filed["reported_by"]["name"].as_str().map(|n| n.starts_with("member")), Some(true), "{filed}");
        let forged = app
            .send(
                app.request(Method::GET, REPORTS, None)
                    .header("Cookie", "storyden-session=not-a-session"),
            )
            .await;
        assert_error(&forged, 401, "unauthorized");

        // The desk's own cookie, as the signed-in browser sends it, works as it is.
        let mine = app
            .send(app.request(Method::GET, REPORTS, None).header("Cookie", session.as_str()))
            .await
            .ok();
        assert_eq!(mine.body["results"], 1, "{}", mine.body);
        let filed = app
            .send(
                app.request(Method::POST, REPORTS, None)
                    .header("Cookie", session.as_str())
                    .json(&serde_json::json!({"target_id": "post_456", "target_kind": "post"})),
            )
            .await
            .ok();
        assert!(filed.body["id"].is_string(), "{}", filed.body);
        let stale = app
            .send(
                app.request(Method::GET, REPORTS, None)
                    .header("Cookie", "docket_session=not-a-session"),
            )
            .await;
        assert_error(&stale, 401, "unauthorized");
    }
}
