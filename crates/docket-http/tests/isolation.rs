//! Workspaces are tenants: nothing of one is visible or reachable from another, and a
//! foreign id is simply not found (never "forbidden", which would confirm it exists).

mod common;

use common::*;
use serde_json::{json, Value};

/// The first workspace with some of everything, and a second workspace's owner token.
struct Two {
    app: TestApp,
    request: String,
    member_id: String,
    member_token_id: String,
    other: String,
}

async fn two_workspaces() -> Two {
    let app = spawn_app().await;
    let request = app.request_id("First workspace's secret").await;
    app.post(
        &app.owner_token,
        &format!("/api/v1/requests/{request}/comments"),
        json!({"body": "internal"}),
    )
    .await
    .expect(201, "");
    app.post(
        &app.owner_token,
        "/api/v1/request-types",
        json!({"key": "audit", "name": "Audit", "workflow": {
            "statuses": [{"key": "new", "label": "New", "category": "open", "initial": true}], "transitions": []}}),
    )
    .await
    .expect(201, "");
    let (member_id, member) = app.add_member("member").await;
    app.create_request(
        &member,
        json!({"title": "Also first", "tags": ["shared-tag"]}),
    )
    .await;
    let tokens = app.get(&member, "/api/v1/tokens").await.expect(200, "");
    let member_token_id = tokens.body["items"][0]["id"].as_str().unwrap().to_owned();
    let other = app.other_workspace("other").await;
    Two {
        app,
        request,
        member_id,
        member_token_id,
        other,
    }
}

backend_tests! {
    #[tokio::test]
    async fn another_workspaces_request_is_not_found_whatever_the_route() {
        let t = two_workspaces().await;
        let (app, other) = (&t.app, &t.other);
        let path = format!("/api/v1/requests/{}", t.request);
        for sub in ["", "/comments", "/timeline", "/transitions"] {
            app.get(other, &format!("{path}{sub}"))
                .await
                .expect(404, "not_found");
        }
        app.patch(other, &path, json!({"title": "Stolen"}))
            .await
            .expect(404, "not_found");
        app.patch(other, &path, json!({"status": "done"}))
            .await
            .expect(404, "not_found");
        app.delete(other, &path).await.expect(404, "not_found");
        app.post(
            other,
            &format!("{path}/comments"),
            json!({"body": "hello from outside"}),
        )
        .await
        .expect(404, "not_found");

        // The request is untouched.
        let r = app.get(&app.owner_token, &path).await.expect(200, "");
        assert_eq!(r.body["title"], "First workspace's secret");
        assert_eq!(r.body["version"], 2, "created, then one comment");
        let comments = app
            .get(&app.owner_token, &format!("{path}/comments"))
            .await
            .expect(200, "");
        assert_eq!(comments.body["items"].as_array().unwrap().len(), 1);
    }
}

backend_tests! {
    #[tokio::test]
    async fn another_workspaces_members_tokens_and_types_are_not_found() {
        let t = two_workspaces().await;
        let (app, other) = (&t.app, &t.other);
        let member = format!("/api/v1/members/{}", t.member_id);
        app.get(other, &member).await.expect(404, "not_found");
        app.patch(other, &member, json!({"role": "admin"}))
            .await
            .expect(404, "not_found");
        app.delete(other, &format!("/api/v1/tokens/{}", t.member_token_id))
            .await
            .expect(404, "not_found");
        app.get(other, "/api/v1/request-types/audit")
            .await
            .expect(404, "not_found");
        app.patch(
            other,
            "/api/v1/request-types/audit",
            json!({"name": "Mine"}),
        )
        .await
        .expect(404, "not_found");

        // Nor can they be used by reference.
        let r = app
            .post(
                other,
                "/api/v1/tokens",
                json!({"name": "x", "member_id": t.member_id}),
            )
            .await
            .expect(422, "validation_failed");
        assert_eq!(r.body["error"]["details"][0]["code"], "unknown_member");
        let r = app
            .post(
                other,
                "/api/v1/requests",
                json!({"title": "x", "assignee_id": t.member_id}),
            )
            .await
            .expect(422, "validation_failed");
        assert_eq!(r.body["error"]["details"][0]["code"], "unknown_member");
        let r = app
            .post(
                other,
                "/api/v1/requests",
                json!({"title": "x", "type": "audit"}),
            )
            .await
            .expect(422, "validation_failed");
        assert_eq!(r.body["error"]["details"][0]["code"], "unknown_type");

        // The first workspace's member and token are untouched.
        let m = app.get(&app.owner_token, &member).await.expect(200, "");
        assert_eq!(m.body["role"], "member");
        let tokens = app
            .get(&app.owner_token, "/api/v1/tokens")
            .await
            .expect(200, "");
        let token = tokens.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == t.member_token_id.as_str())
            .unwrap()
            .clone();
        assert_eq!(token["revoked_at"], Value::Null);
    }
}

backend_tests! {
    #[tokio::test]
    async fn lists_show_only_the_callers_workspace() {
        let t = two_workspaces().await;
        let (app, other) = (&t.app, &t.other);

        assert!(app.list_all(other, "").await.is_empty());
        assert!(app.list_all(other, "q=secret").await.is_empty());
        assert!(app.list_all(other, "tag=shared-tag").await.is_empty());
        assert!(app
            .list_all(other, &format!("requester={}", t.member_id))
            .await
            .is_empty());

        let members = app.get(other, "/api/v1/members").await.expect(200, "");
        assert_eq!(
            strings(members.body["items"].as_array().unwrap(), "email"),
            ["boss@other.example"]
        );
        let tokens = app.get(other, "/api/v1/tokens").await.expect(200, "");
        assert_eq!(
            tokens.body["items"].as_array().unwrap().len(),
            1,
            "only the second owner's own token"
        );
        let types = app
            .get(other, "/api/v1/request-types")
            .await
            .expect(200, "");
        assert_eq!(
            strings(types.body["items"].as_array().unwrap(), "key"),
            ["general"]
        );
        let me = app.get(other, "/api/v1/me").await.expect(200, "");
        assert_eq!(me.body["workspace"]["slug"], "other");

        // Numbers are per workspace, and a key may be reused in another workspace.
        let r = app.create_request(other, json!({"title": "Theirs"})).await;
        assert_eq!(r["number"], 1);
        app.post(
            other,
            "/api/v1/request-types",
            json!({"key": "audit", "name": "Their audit", "workflow": {
                "statuses": [{"key": "new", "label": "New", "category": "open", "initial": true}], "transitions": []}}),
        )
        .await
        .expect(201, "");

        // And the first workspace sees none of the second's.
        let mine = app.list_all(&app.owner_token, "").await;
        assert_eq!(mine.len(), 2);
        assert!(mine.iter().all(|r| r["title"] != "Theirs"));
        let members = app
            .get(&app.owner_token, "/api/v1/members")
            .await
            .expect(200, "");
        assert!(members.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["email"] != "boss@other.example"));
        assert_eq!(
            app.get(&app.owner_token, "/api/v1/request-types/audit")
                .await
                .body["name"],
            "Audit"
        );
    }
}
