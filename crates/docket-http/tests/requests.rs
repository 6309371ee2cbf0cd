//! Requests: filing, reading, changing, deleting, commenting, and the timeline that
//! records all of it.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn kinds(timeline: &Value) -> Vec<&str> {
    timeline["items"]
        .as_array()
        .expect("timeline items")
        .iter()
        .map(|e| e["kind"].as_str().expect("event kind"))
        .collect()
}

backend_tests! {
    #[tokio::test]
    async fn filing_a_request_answers_201_with_location_etag_and_the_callers_request() {
        let app = spawn_app().await;
        let r = app
            .post(
                &app.owner_token,
                "/api/v1/requests",
                json!({
                    "title": "  Send the signed contract  ",
                    "description": "Both copies",
                    "due_at": "2030-12-01",
                    "tags": ["legal", "legal", "acme"],
                    "data": {"client": "Acme", "pages": 12},
                    "subject": {"kind": "deal", "id": "D-7"}
                }),
            )
            .await
            .expect(201, "");
        let id = r.body["id"].as_str().expect("id");
        assert_eq!(
            r.header("location"),
            Some(format!("/api/v1/requests/{id}").as_str())
        );
        let etag = r.header("etag").expect("ETag").to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with("-1\""),
            "a strong ETag of version 1: {etag}"
        );
        let b = &r.body;
        assert_eq!(b["number"], 1);
        assert_eq!(b["type"], "general");
        assert_eq!(
            b["title"], "Send the signed contract",
            "the title is trimmed"
        );
        assert_eq!(b["description"], "Both copies");
        assert_eq!(b["status"], "open");
        assert_eq!(b["category"], "open");
        assert_eq!(b["requester_id"], app.owner_id.as_str());
        assert_eq!(b["assignee_id"], Value::Null);
        assert_eq!(
            b["due_at"], "2030-12-01T23:59:59.999999Z",
            "a date alone means the end of that day, UTC"
        );
        assert_eq!(
            b["tags"],
            json!(["legal", "acme"]),
            "tags are deduplicated, in order"
        );
        assert_eq!(b["data"], json!({"client": "Acme", "pages": 12}));
        assert_eq!(b["subject"], json!({"kind": "deal", "id": "D-7"}));
        assert_eq!(b["version"], 1);
        assert_eq!(b["overdue"], false);
        assert_eq!(b["deleted_at"], Value::Null);

        // The Location leads to the request.
        let got = app
            .get(&app.owner_token, r.header("location").unwrap())
            .await
            .expect(200, "");
        assert_eq!(got.body, r.body);
        assert_eq!(got.header("etag"), Some(etag.as_str()));

        // Numbers follow on, and the requester is whoever called.
        let (member_id, member) = app.add_member("member").await;
        let second = app
            .create_request(&member, json!({"title": "Second"}))
            .await;
        assert_eq!(second["number"], 2);
        assert_eq!(second["requester_id"], member_id.as_str());
        let third = app
            .create_request(&app.owner_token, json!({"title": "Third"}))
            .await;
        assert_eq!(third["number"], 3);
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_request_of_an_unknown_type_or_for_an_unknown_assignee_is_refused() {
        let app = spawn_app().await;
        let r = app
            .post(
                &app.owner_token,
                "/api/v1/requests",
                json!({"title": "x", "type": "nope"}),
            )
            .await
            .expect(422, "validation_failed");
        assert_eq!(r.body["error"]["details"][0]["field"], "type");
        assert_eq!(r.body["error"]["details"][0]["code"], "unknown_type");
        let r = app
            .post(
                &app.owner_token,
                "/api/v1/requests",
                json!({"title": "x", "assignee_id": "0190a8f0-0000-7000-8000-000000000000"}),
            )
            .await
            .expect(422, "validation_failed");
        assert_eq!(r.body["error"]["details"][0]["code"], "unknown_member");
        // Nothing was filed, so the next number is still 1.
        assert_eq!(
            app.create_request(&app.owner_token, json!({"title": "ok"}))
                .await["number"],
            1
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn if_none_match_with_the_current_etag_answers_304() {
        let app = spawn_app().await;
        let id = app.request_id("Cacheable").await;
        let path = format!("/api/v1/requests/{id}");
        let first = app.get(&app.owner_token, &path).await.expect(200, "");
        let etag = first.header("etag").expect("ETag").to_owned();

        let cached = app
            .send(
                app.request(Method::GET, &path, Some(&app.owner_token))
                    .header("if-none-match", &etag),
            )
            .await;
        assert_eq!(cached.status, 304);
        assert_eq!(cached.body, Value::Null, "a 304 has no body");
        assert_eq!(cached.header("etag"), Some(etag.as_str()));

        // After a change the old tag no longer matches.
        app.patch(&app.owner_token, &path, json!({"title": "Changed"}))
            .await
            .expect(200, "");
        let fresh = app
            .send(
                app.request(Method::GET, &path, Some(&app.owner_token))
                    .header("if-none-match", &etag),
            )
            .await
            .expect(200, "");
        assert_eq!(fresh.body["title"], "Changed");
        assert_ne!(fresh.header("etag"), Some(etag.as_str()));
    }
}

backend_tests! {
    #[tokio::test]
    async fn patch_changes_named_fields_and_null_clears_assignee_and_due_date() {
        let app = spawn_app().await;
        let (member_id, _) = app.add_member("member").await;
        let id = app.request_id("Original").await;
        let path = format!("/api/v1/requests/{id}");

        let r = app
            .patch(
                &app.owner_token,
                &path,
                json!({
                    "title": "Renamed",
                    "description": "Now with details",
                    "tags": ["b", "a"],
                    "assignee_id": member_id,
                    "due_at": "2031-01-02T03:04:05Z",
                    "subject": {"kind": "ticket", "id": "T-1"}
                }),
            )
            .await
            .expect(200, "");
        assert_eq!(r.body["title"], "Renamed");
        assert_eq!(r.body["description"], "Now with details");
        assert_eq!(r.body["tags"], json!(["b", "a"]));
        assert_eq!(r.body["assignee_id"], member_id.as_str());
        assert_eq!(r.body["due_at"], "2031-01-02T03:04:05Z");
        assert_eq!(r.body["subject"], json!({"kind": "ticket", "id": "T-1"}));
        assert_eq!(r.body["version"], 2);
        assert_eq!(
            r.header("etag"),
            Some(format!("\"{}-2\"", id.replace('-', "")).as_str())
        );

        // Fields not named stay as they are; null clears.
        let r = app
            .patch(
                &app.owner_token,
                &path,
                json!({"assignee_id": null, "due_at": null, "subject": null}),
            )
            .await
            .expect(200, "");
        assert_eq!(r.body["assignee_id"], Value::Null);
        assert_eq!(r.body["due_at"], Value::Null);
        assert_eq!(r.body["subject"], Value::Null);
        assert_eq!(r.body["title"], "Renamed");
        assert_eq!(r.body["tags"], json!(["b", "a"]));
        assert_eq!(r.body["version"], 3);

        // A patch that changes nothing makes no new version.
        let r = app
            .patch(
                &app.owner_token,
                &path,
                json!({"title": "Renamed", "assignee_id": null}),
            )
            .await
            .expect(200, "");
        assert_eq!(r.body["version"], 3);
        let got = app.get(&app.owner_token, &path).await.expect(200, "");
        assert_eq!(got.body["assignee_id"], Value::Null);
        assert_eq!(got.body["due_at"], Value::Null);
        assert_eq!(got.body["version"], 3);
    }
}

backend_tests! {
    #[tokio::test]
    async fn data_is_merged_and_a_null_value_removes_a_key() {
        let app = spawn_app().await;
        let created = app
            .create_request(
                &app.owner_token,
                json!({"title": "With data", "data": {"a": 1, "b": {"x": true}, "c": "keep"}}),
            )
            .await;
        let path = format!("/api/v1/requests/{}", created["id"].as_str().unwrap());
        let r = app
            .patch(
                &app.owner_token,
                &path,
                json!({"data": {"a": null, "b": [1, 2], "d": "new"}}),
            )
            .await
            .expect(200, "");
        assert_eq!(
            r.body["data"],
            json!({"b": [1, 2], "c": "keep", "d": "new"})
        );
        let got = app.get(&app.owner_token, &path).await.expect(200, "");
        assert_eq!(
            got.body["data"],
            json!({"b": [1, 2], "c": "keep", "d": "new"})
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_stale_if_match_is_refused_with_the_current_version() {
        let app = spawn_app().await;
        let id = app.request_id("Guarded").await;
        let path = format!("/api/v1/requests/{id}");
        let etag = app
            .get(&app.owner_token, &path)
            .await
            .header("etag")
            .unwrap()
            .to_owned();
        let guarded = |title: &str| {
            app.request(Method::PATCH, &path, Some(&app.owner_token))
                .header("if-match", &etag)
                .json(&json!({"title": title}))
        };
        app.send(guarded("First")).await.expect(200, "");
        let r = app
            .send(guarded("Second"))
            .await
            .expect(412, "precondition_failed");
        assert_eq!(r.body["error"]["details"]["current_version"], 2);
        assert_eq!(
            app.get(&app.owner_token, &path).await.body["title"],
            "First"
        );

        // The ETag of another request never matches this one.
        let other = app.request_id("Other").await;
        let other_tag = app
            .get(&app.owner_token, &format!("/api/v1/requests/{other}"))
            .await
            .header("etag")
            .unwrap()
            .to_owned();
        let r = app
            .send(
                app.request(Method::PATCH, &path, Some(&app.owner_token))
                    .header("if-match", other_tag)
                    .json(&json!({"title": "x"})),
            )
            .await;
        r.expect(412, "precondition_failed");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_deleted_request_is_gone_but_keeps_its_timeline() {
        let app = spawn_app().await;
        let id = app.request_id("To delete").await;
        let keep = app.request_id("To keep").await;
        let path = format!("/api/v1/requests/{id}");

        let r = app.delete(&app.owner_token, &path).await;
        assert_eq!(r.status, 204);
        assert_eq!(r.body, Value::Null);

        app.get(&app.owner_token, &path).await.expect(410, "gone");
        app.patch(&app.owner_token, &path, json!({"title": "again"}))
            .await
            .expect(410, "gone");
        app.post(
            &app.owner_token,
            &format!("{path}/comments"),
            json!({"body": "hello?"}),
        )
        .await
        .expect(410, "gone");
        app.delete(&app.owner_token, &path)
            .await
            .expect(410, "gone");

        let timeline = app
            .get(&app.owner_token, &format!("{path}/timeline"))
            .await
            .expect(200, "");
        assert_eq!(
            kinds(&timeline.body),
            ["request.created", "request.deleted"]
        );
        assert_eq!(
            timeline.body["items"][1]["actor"]["member_id"],
            app.owner_id.as_str()
        );

        let listed = strings(&app.list_all(&app.owner_token, "").await, "id");
        assert_eq!(listed, [keep], "a deleted request leaves lists");
    }
}

backend_tests! {
    #[tokio::test]
    async fn comments_are_added_listed_and_shown_in_the_timeline() {
        let app = spawn_app().await;
        let (member_id, member) = app.add_member("member").await;
        let id = app.request_id("Discuss").await;
        let path = format!("/api/v1/requests/{id}/comments");

        let first = app
            .post(
                &app.owner_token,
                &path,
                json!({"body": "  Chased by phone  "}),
            )
            .await
            .expect(201, "");
        assert_eq!(first.body["body"], "Chased by phone");
        assert_eq!(first.body["author_id"], app.owner_id.as_str());
        assert_eq!(first.body["request_id"], id.as_str());
        let second = app
            .post(&member, &path, json!({"body": "Any news?"}))
            .await
            .expect(201, "");
        assert_eq!(second.body["author_id"], member_id.as_str());
        app.post(&app.owner_token, &path, json!({"body": "   "}))
            .await
            .expect(422, "validation_failed");

        let list = app.get(&member, &path).await.expect(200, "");
        let items = list.body["items"].as_array().unwrap();
        assert_eq!(
            strings(items, "body"),
            ["Chased by phone", "Any news?"],
            "oldest first"
        );
        assert_eq!(items[0]["id"], first.body["id"]);

        let timeline = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
            .await
            .expect(200, "");
        assert_eq!(
            kinds(&timeline.body),
            ["request.created", "request.commented", "request.commented"]
        );
        assert_eq!(timeline.body["items"][1]["comment"], "Chased by phone");
        assert_eq!(
            timeline.body["items"][2]["actor"]["member_id"],
            member_id.as_str()
        );
        // A comment moves `updated_at` and so the version.
        assert_eq!(
            app.get(&app.owner_token, &format!("/api/v1/requests/{id}"))
                .await
                .body["version"],
            3
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn the_timeline_records_every_change_old_to_new() {
        let app = spawn_app().await;
        let (member_id, _) = app.add_member("member").await;
        let id = app.request_id("Draft").await;
        let path = format!("/api/v1/requests/{id}");
        app.patch(
            &app.owner_token,
            &path,
            json!({"title": "Final", "assignee_id": member_id}),
        )
        .await
        .expect(200, "");
        app.patch(&app.owner_token, &path, json!({"status": "in_progress"}))
            .await
            .expect(200, "");
        app.patch(&app.owner_token, &path, json!({"status": "in_progress"}))
            .await
            .expect(200, "");

        let t = app
            .get(&app.owner_token, &format!("{path}/timeline"))
            .await
            .expect(200, "");
        assert_eq!(
            kinds(&t.body),
            ["request.created", "request.updated", "request.updated"],
            "a no-op patch records nothing"
        );
        let changes = |i: usize| t.body["items"][i]["changes"].clone();
        assert_eq!(
            changes(0),
            json!([{"field": "title", "old": null, "new": "Draft"}, {"field": "status", "old": null, "new": "open"}])
        );
        assert_eq!(
            changes(1),
            json!([{"field": "title", "old": "Draft", "new": "Final"}, {"field": "assignee_id", "old": null, "new": member_id}])
        );
        assert_eq!(
            changes(2),
            json!([{"field": "status", "old": "open", "new": "in_progress"}, {"field": "category", "old": "open", "new": "in_progress"}])
        );
        for e in t.body["items"].as_array().unwrap() {
            assert_eq!(e["request_id"], id.as_str());
            assert_eq!(e["actor"]["member_id"], app.owner_id.as_str());
        }
        assert_eq!(t.body["next_cursor"], Value::Null);

        // The timeline pages too, oldest first.
        let page1 = app
            .get(&app.owner_token, &format!("{path}/timeline?limit=2"))
            .await
            .expect(200, "");
        assert_eq!(kinds(&page1.body), ["request.created", "request.updated"]);
        let cursor = page1.body["next_cursor"]
            .as_str()
            .expect("a cursor to the last event");
        let page2 = app
            .get(
                &app.owner_token,
                &format!("{path}/timeline?limit=2&cursor={cursor}"),
            )
            .await
            .expect(200, "");
        assert_eq!(page2.body["items"][0]["changes"], changes(2));
        assert_eq!(page2.body["next_cursor"], Value::Null);
    }
}

/// `(to, reason)` of every unavailable move, and every available target, sorted.
fn moves(t: &Value) -> (Vec<String>, Vec<(String, String)>) {
    let mut available: Vec<String> = t["available"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["to"].as_str().unwrap().to_owned())
        .collect();
    let mut unavailable: Vec<(String, String)> = t["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["to"].as_str().unwrap().to_owned(),
                m["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    available.sort();
    unavailable.sort();
    (available, unavailable)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

backend_tests! {
    #[tokio::test]
    async fn transitions_say_where_a_request_can_go_and_why_not_elsewhere() {
        let app = spawn_app().await;
        let (_, member) = app.add_member("member").await;
        let reader = app.token_with_scopes(&member, &["requests:read"]).await;
        let id = app.request_id("Move me").await;
        let path = format!("/api/v1/requests/{id}/transitions");

        // The owner may take every move out of `open`.
        let t = app.get(&app.owner_token, &path).await.expect(200, "").body;
        assert_eq!(t["status"], "open");
        assert_eq!(
            moves(&t),
            (
                vec![
                    "canceled".into(),
                    "done".into(),
                    "in_progress".into(),
                    "waiting".into()
                ],
                vec![]
            )
        );

        // A member who neither filed nor works on it may take none, and is told who may.
        let t = app.get(&member, &path).await.expect(200, "").body;
        assert_eq!(
            moves(&t),
            (
                vec![],
                pairs(&[
                    ("canceled", "not_permitted"),
                    ("done", "not_permitted"),
                    ("in_progress", "not_permitted"),
                    ("waiting", "not_permitted")
                ])
            )
        );
        let done = t["unavailable"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == "done")
            .unwrap();
        assert_eq!(done["allowed"], json!(["requests:manage", "assignee"]));
        assert_eq!(done["category"], "done");

        // A read-only token may read the moves but take none.
        let t = app.get(&reader, &path).await.expect(200, "").body;
        assert!(t["available"].as_array().unwrap().is_empty());
        assert!(
            t["unavailable"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["reason"] == "missing_scope"),
            "{t}"
        );

        // From `done` the workflow has no way to `waiting` or `in_progress`.
        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{id}"),
            json!({"status": "done"}),
        )
        .await
        .expect(200, "");
        let t = app.get(&app.owner_token, &path).await.expect(200, "").body;
        assert_eq!(t["status"], "done");
        assert_eq!(
            moves(&t),
            (
                vec!["canceled".into(), "open".into()],
                pairs(&[
                    ("in_progress", "no_transition"),
                    ("waiting", "no_transition")
                ])
            )
        );

        // What /transitions calls unavailable, PATCH refuses the same way.
        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{id}"),
            json!({"status": "waiting"}),
        )
        .await
        .expect(409, "invalid_transition");
        app.patch(
            &member,
            &format!("/api/v1/requests/{id}"),
            json!({"status": "open"}),
        )
        .await
        .expect(403, "transition_forbidden");
    }
}

backend_tests! {
    #[tokio::test]
    async fn an_unknown_or_malformed_request_id_is_not_found() {
        let app = spawn_app().await;
        for path in [
            "/api/v1/requests/0190a8f0-0000-7000-8000-000000000000",
            "/api/v1/requests/0190a8f0-0000-7000-8000-000000000000/timeline",
            "/api/v1/requests/0190a8f0-0000-7000-8000-000000000000/comments",
            "/api/v1/requests/0190a8f0-0000-7000-8000-000000000000/transitions",
            "/api/v1/requests/42",
        ] {
            app.get(&app.owner_token, path)
                .await
                .expect(404, "not_found");
        }
        app.patch(
            &app.owner_token,
            "/api/v1/requests/0190a8f0-0000-7000-8000-000000000000",
            json!({"title": "x"}),
        )
        .await
        .expect(404, "not_found");
        app.delete(
            &app.owner_token,
            "/api/v1/requests/0190a8f0-0000-7000-8000-000000000000",
        )
        .await
        .expect(404, "not_found");
        app.post(
            &app.owner_token,
            "/api/v1/requests/0190a8f0-0000-7000-8000-000000000000/comments",
            json!({"body": "x"}),
        )
        .await
        .expect(404, "not_found");
    }
}
