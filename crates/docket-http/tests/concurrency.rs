//! Many clients at once: no lost updates, one winner per version, unique numbers.

mod common;

use common::*;
use futures::future::join_all;
use reqwest::Method;
use serde_json::json;
use std::collections::HashSet;

backend_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_patches_with_the_same_if_match_have_exactly_one_winner() {
        let app = spawn_app().await;
        let id = app.request_id("Contended").await;
        let path = format!("/api/v1/requests/{id}");
        let etag = app
            .get(&app.owner_token, &path)
            .await
            .expect(200, "")
            .header("etag")
            .unwrap()
            .to_owned();

        let replies = join_all((0..20).map(|i| {
            let builder = app
                .request(Method::PATCH, &path, Some(&app.owner_token))
                .header("if-match", &etag)
                .json(&json!({"title": format!("Writer {i}")}));
            app.send(builder)
        }))
        .await;

        let winners: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
        assert_eq!(
            winners.len(),
            1,
            "statuses: {:?}",
            replies
                .iter()
                .map(|r| r.status.as_u16())
                .collect::<Vec<_>>()
        );
        for r in replies.iter().filter(|r| r.status != 200) {
            assert_eq!(r.status, 412, "{}", r.body);
            assert_eq!(r.code(), "precondition_failed");
            assert_eq!(r.body["error"]["details"]["current_version"], 2);
        }
        let now = app.get(&app.owner_token, &path).await.expect(200, "");
        assert_eq!(now.body["version"], 2);
        assert_eq!(
            now.body["title"], winners[0].body["title"],
            "the winner's change is the one stored"
        );
        let timeline = app
            .get(&app.owner_token, &format!("{path}/timeline"))
            .await
            .expect(200, "");
        assert_eq!(
            timeline.body["items"].as_array().unwrap().len(),
            2,
            "one creation, one update"
        );
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_patches_without_if_match_lose_nothing() {
        let app = spawn_app().await;
        let id = app.request_id("Busy").await;
        let path = format!("/api/v1/requests/{id}");

        let replies = join_all((0..50).map(|i| {
            app.patch(
                &app.owner_token,
                &path,
                json!({"data": {format!("k{i}"): i}}),
            )
        }))
        .await;
        for r in &replies {
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let versions: HashSet<i64> = replies
            .iter()
            .map(|r| r.body["version"].as_i64().unwrap())
            .collect();
        assert_eq!(
            versions,
            (2..=51).collect(),
            "each patch made its own version"
        );

        let now = app.get(&app.owner_token, &path).await.expect(200, "");
        assert_eq!(now.body["version"], 51);
        let data = now.body["data"].as_object().unwrap();
        assert_eq!(data.len(), 50, "{data:?}");
        for i in 0..50 {
            assert_eq!(data[&format!("k{i}")], i, "k{i} was lost");
        }
        let timeline = app
            .get(&app.owner_token, &format!("{path}/timeline"))
            .await
            .expect(200, "");
        assert_eq!(timeline.body["items"].as_array().unwrap().len(), 51);
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_creates_get_distinct_consecutive_numbers() {
        let app = spawn_app().await;
        let (_, member) = app.add_member("member").await;
        let replies = join_all((0..50).map(|i| {
            let token = if i % 2 == 0 {
                &app.owner_token
            } else {
                &member
            };
            app.post(
                token,
                "/api/v1/requests",
                json!({"title": format!("Request {i}")}),
            )
        }))
        .await;
        let mut numbers: Vec<i64> = replies
            .into_iter()
            .map(|r| r.expect(201, "").body["number"].as_i64().unwrap())
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=50).collect::<Vec<_>>());
        assert_eq!(app.list_all(&app.owner_token, "limit=100").await.len(), 50);
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_comments_and_edits_all_land_in_the_timeline() {
        let app = spawn_app().await;
        let id = app.request_id("Chatty").await;
        let path = format!("/api/v1/requests/{id}");
        let comments_path = format!("{path}/comments");
        let comments = (0..25).map(|i| {
            app.post(
                &app.owner_token,
                &comments_path,
                json!({"body": format!("comment {i}")}),
            )
        });
        let edits =
            (0..25).map(|i| app.patch(&app.owner_token, &path, json!({"tags": [format!("t{i}")]})));
        let (c, e) = futures::join!(join_all(comments), join_all(edits));
        assert!(
            c.iter().all(|r| r.status == 201),
            "comments: {:?}",
            c.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>()
        );
        assert!(
            e.iter().all(|r| r.status == 200),
            "edits: {:?}",
            e.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>()
        );

        let now = app.get(&app.owner_token, &path).await.expect(200, "");
        assert_eq!(now.body["version"], 51);
        let listed = app
            .get(&app.owner_token, &format!("{path}/comments"))
            .await
            .expect(200, "");
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 25);
        let timeline = app
            .get(&app.owner_token, &format!("{path}/timeline"))
            .await
            .expect(200, "");
        assert_eq!(timeline.body["items"].as_array().unwrap().len(), 51);
    }
}
