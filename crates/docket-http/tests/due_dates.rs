//! Due dates over HTTP: the scheduler writes `request.overdue` and `request.reminder` to
//! the timeline (and so to the change feed and webhooks), once each.

mod common;

use common::*;
use docket_http::Settings;
use serde_json::{json, Value};
use std::time::Duration;

fn kinds(timeline: &Value) -> Vec<String> {
    timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn timeline_until(app: &TestApp, id: &str, kind: &str) -> Value {
    for _ in 0..100 {
        let t = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
            .await
            .expect(200, "")
            .body;
        if kinds(&t).iter().any(|k| k == kind) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {kind} event on {id}");
}

backend_tests! {
    #[tokio::test]
    async fn the_scheduler_marks_overdue_requests_and_sends_reminders_once() {
        let app = spawn_app_with(Settings {
            scheduler_interval_ms: 50,
            ..test_settings()
        })
        .await;
        // A type whose workflow reminds an hour before the due time.
        let general = app
            .get(&app.owner_token, "/api/v1/request-types/general")
            .await
            .expect(200, "")
            .body;
        let mut workflow = general["workflow"].clone();
        workflow["remind_before_due_minutes"] = json!([60]);
        let created = app
            .post(
                &app.owner_token,
                "/api/v1/request-types",
                json!({"key": "docs", "name": "Documents", "workflow": workflow}),
            )
            .await
            .expect(201, "");
        assert_eq!(
            created.body["workflow"]["remind_before_due_minutes"],
            json!([60])
        );

        let soon = (chrono::Utc::now() + chrono::TimeDelta::minutes(30)).to_rfc3339();
        let past = (chrono::Utc::now() - chrono::TimeDelta::minutes(5)).to_rfc3339();
        let reminded = app
            .create_request(
                &app.owner_token,
                json!({"title": "Soon", "type": "docs", "due_at": soon}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let late = app
            .create_request(
                &app.owner_token,
                json!({"title": "Late", "type": "docs", "due_at": past}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Finished in the same change that makes it past due, so no scheduler pass can
        // find it unfinished and late in between.
        let done = app
            .create_request(&app.owner_token, json!({"title": "Done"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{done}"),
            json!({"status": "done", "due_at": past}),
        )
        .await
        .expect(200, "");

        let t = timeline_until(&app, &reminded, "request.reminder").await;
        assert!(!kinds(&t).contains(&"request.overdue".to_owned()));
        let t = timeline_until(&app, &late, "request.overdue").await;
        let overdue = t["items"].as_array().unwrap().last().unwrap();
        assert_eq!(
            overdue["actor"],
            json!({"member_id": null, "token_id": null})
        );
        assert!(overdue["comment"].as_str().unwrap().starts_with("Overdue"));

        // Several passes later: still once each; nothing for the finished request.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let feed = app
            .get(&app.owner_token, "/api/v1/events")
            .await
            .expect(200, "");
        let mut notices: Vec<(String, String)> = feed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "request.overdue" || e["kind"] == "request.reminder")
            .map(|e| {
                (
                    e["request_id"].as_str().unwrap().to_owned(),
                    e["kind"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        notices.sort();
        let mut want = vec![
            (reminded.clone(), "request.reminder".to_owned()),
            (late.clone(), "request.overdue".to_owned()),
        ];
        want.sort();
        assert_eq!(notices, want);
    }
}

backend_tests! {
    #[tokio::test]
    async fn reminder_lead_times_are_validated() {
        let app = spawn_app().await;
        let general = app
            .get(&app.owner_token, "/api/v1/request-types/general")
            .await
            .expect(200, "")
            .body;
        let mut workflow = general["workflow"].clone();
        workflow["remind_before_due_minutes"] = json!([0]);
        let r = app
            .patch(
                &app.owner_token,
                "/api/v1/request-types/general",
                json!({"workflow": workflow}),
            )
            .await
            .expect(422, "validation_failed");
        assert_eq!(
            r.body["error"]["details"][0]["field"],
            "workflow.remind_before_due_minutes"
        );
    }
}
