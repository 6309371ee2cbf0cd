//! A request type's visibility holds in every API: Storyden's reports (visibility `own`)
//! are seen by the member who filed them, the member handling them and managers, and by
//! no other member through the native API, the change feed, its stream, files, the desk
//! or its dashboard's counts.

mod common;

use common::web::{desk_member, Browser};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

/// Files a Storyden report with the caller's token as Storyden's session cookie.
async fn report(app: &TestApp, token: &str, target: &str) -> Value {
    let r = app
        .send(
            app.request(Method::POST, "/api/reports", None)
                .header("Cookie", format!("storyden-session={token}"))
                .json(&json!({"target_id": target, "target_kind": "post", "comment": "Spam"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The request ids of the SSE events read from `/api/v1/events/stream` (from the start)
/// until one of `until` arrives.
async fn streamed_until(app: &TestApp, token: &str, until: &str) -> Vec<String> {
    let mut response = app
        .request(Method::GET, "/api/v1/events/stream", Some(token))
        .header("last-event-id", "0")
        .send()
        .await
        .expect("the stream answers");
    assert_eq!(response.status(), 200);
    let mut text = String::new();
    let mut seen = Vec::new();
    loop {
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            for line in block.lines() {
                if let Some(data) = line.strip_prefix("data:") {
                    let event: Value = serde_json::from_str(data.trim()).expect("JSON data");
                    let id = event["request_id"].as_str().unwrap_or_default().to_owned();
                    let done = id == until;
                    seen.push(id);
                    if done {
                        return seen;
                    }
                }
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("an event within 10 s")
            .expect("read the stream")
            .expect("the stream stays open");
        text.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
    }
}

backend_tests! {
    #[tokio::test]
    async fn members_see_only_their_own_reports_in_every_api_the_feed_and_the_desk() {
        let app = spawn_app().await;
        let (_, email, member) = desk_member(&app, "member", PASSWORD).await;
        let (_, moderator) = app.add_member("moderator").await;
        let theirs = report(&app, &app.owner_token, "p1").await["id"].as_str().unwrap().to_owned();
        let mine = report(&app, &member, "p2").await["id"].as_str().unwrap().to_owned();
        let ordinary = app.request_id("An ordinary request").await;

        // The native list, with and without the type filter.
        let listed = strings(&app.list_all(&member, "type=storyden_report").await, "id");
        assert_eq!(listed, vec![mine.clone()]);
        let all = strings(&app.list_all(&member, "").await, "id");
        assert!(all.contains(&mine) && all.contains(&ordinary) && !all.contains(&theirs), "{all:?}");
        // A moderator sees both reports.
        let managed = strings(&app.list_all(&moderator, "type=storyden_report").await, "id");
        assert_eq!(managed.len(), 2);

        // Single reads and writes of another's report are not found, never forbidden.
        let path = format!("/api/v1/requests/{theirs}");
        app.get(&member, &path).await.expect(404, "not_found");
        app.get(&member, &format!("{path}/timeline")).await.expect(404, "not_found");
        app.get(&member, &format!("{path}/comments")).await.expect(404, "not_found");
        app.get(&member, &format!("{path}/transitions")).await.expect(404, "not_found");
        app.get(&member, &format!("{path}/links")).await.expect(404, "not_found");
        app.patch(&member, &path, json!({"title": "Rewritten"})).await.expect(404, "not_found");
        app.post(&member, &format!("{path}/comments"), json!({"body": "Hi"}))
            .await
            .expect(404, "not_found");
        app.delete(&member, &path).await.expect(404, "not_found");
        let untouched = app.get(&app.owner_token, &path).await.ok();
        assert_eq!(untouched.body["version"], 1, "nothing the member sent changed it");
        app.get(&member, &format!("/api/v1/requests/{mine}")).await.expect(200, "");

        // The change feed and its stream leave the other report's events out.
        let feed = app.get(&member, "/api/v1/events?limit=100").await.ok();
        let ids: Vec<&str> = feed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["request_id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&mine.as_str()) && !ids.contains(&theirs.as_str()), "{ids:?}");
        let streamed = streamed_until(&app, &member, &ordinary).await;
        assert!(streamed.contains(&mine) && !streamed.contains(&theirs), "{streamed:?}");
        let everything = streamed_until(&app, &app.owner_token, &ordinary).await;
        assert!(everything.contains(&theirs), "managers see every event");

        // The desk: the list leaves it out and its page is not found.
        let theirs_number = untouched.body["number"].as_i64().unwrap();
        let mine_number = app.get(&member, &format!("/api/v1/requests/{mine}")).await.ok().body["number"].as_i64().unwrap();
        let mut desk = Browser::new(&app);
        desk.sign_in(&email, PASSWORD).await;
        let list = desk.get("/desk/requests?type=storyden_report").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.html.contains(&format!("/desk/requests/{mine_number}\"")), "{}", list.html);
        assert!(!list.html.contains(&format!("/desk/requests/{theirs_number}\"")), "{}", list.html);
        let page = desk.get(&format!("/desk/requests/{theirs_number}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);

        // The dashboard counts only what the member may see: their report and the
        // ordinary request, not the other report.
        assert_eq!(desk.get("/desk").await.text_of("open-total").as_deref(), Some("2"));
        let owner_view = app.get(&app.owner_token, "/api/v1/requests?category=open").await.ok();
        assert_eq!(owner_view.body["items"].as_array().unwrap().len(), 3);

        // A file of the other report is not found, in the list or by id, nor on the desk.
        let upload = |request: String| {
            let app = &app;
            async move {
                app.send(
                    app.request(
                        Method::POST,
                        &format!("/api/v1/requests/{request}/files?name=proof.txt"),
                        Some(&app.owner_token),
                    )
                    .header("content-type", "text/plain")
                    .body("screenshot notes"),
                )
                .await
                .expect(201, "")
                .body["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let hidden_file = upload(theirs.clone()).await;
        let my_file = upload(mine.clone()).await;
        let files = app.get(&member, "/api/v1/files?limit=1").await.ok();
        let mut seen = strings(files.body["items"].as_array().unwrap(), "id");
        let mut cursor = files.body["next_cursor"].as_str().map(str::to_owned);
        while let Some(c) = cursor {
            let page = app.get(&member, &format!("/api/v1/files?limit=1&cursor={c}")).await.ok();
            seen.extend(strings(page.body["items"].as_array().unwrap(), "id"));
            cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, vec![my_file.clone()], "pages of one skip the hidden file");
        for path in [format!("/api/v1/files/{hidden_file}"), format!("/api/v1/files/{hidden_file}/content")] {
            app.get(&member, &path).await.expect(404, "not_found");
        }
        app.get(&member, &format!("/api/v1/files/{my_file}")).await.expect(200, "");
        app.get(&app.owner_token, &format!("/api/v1/files/{hidden_file}")).await.expect(200, "");
        assert_eq!(desk.get(&format!("/desk/files/{hidden_file}")).await.status, StatusCode::NOT_FOUND);
    }
}
