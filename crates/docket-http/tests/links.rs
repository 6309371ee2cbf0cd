//! Public links of a request through the native API: create, list, revoke, and who may.

mod common;

use common::spawn_app;
use serde_json::json;

backend_tests! {
    #[tokio::test]
    async fn links_are_created_listed_and_revoked() {
        let app = spawn_app().await;
        let id = app.request_id("share me").await;
        let path = format!("/api/v1/requests/{id}/links");
        let made = app
            .post(
                &app.owner_token,
                &path,
                json!({ "mode": "one_time", "expires_at": "2099-01-01" }),
            )
            .await
            .expect(201, "");
        let token = made.body["token"].as_str().unwrap().to_owned();
        assert_eq!(token.len(), 16);
        assert_eq!(made.body["url"], format!("/p/{token}"));
        assert_eq!(made.body["mode"], "one_time");
        assert_eq!(made.body["used_count"], 0);
        assert_eq!(made.body["active"], true);
        assert_eq!(made.body["request_id"], id.as_str());
        let link_id = made.body["id"].as_str().unwrap().to_owned();

        let listed = app.get(&app.owner_token, &path).await.expect(200, "");
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

        app.delete(&app.owner_token, &format!("{path}/{link_id}"))
            .await
            .expect(204, "");
        app.delete(&app.owner_token, &format!("{path}/{link_id}"))
            .await
            .expect(204, "");
        let listed = app.get(&app.owner_token, &path).await.expect(200, "");
        assert_eq!(listed.body["items"][0]["active"], false);
        assert!(listed.body["items"][0]["revoked_at"].is_string());

        app.delete(&app.owner_token, &format!("{path}/not-an-id"))
            .await
            .expect(404, "not_found");
        app.delete(
            &app.owner_token,
            &format!("{path}/0190b3c2-0000-7000-8000-000000000000"),
        )
        .await
        .expect(404, "not_found");
        app.post(&app.owner_token, &path, json!({ "mode": "forever" }))
            .await
            .expect(422, "validation_failed");
    }
}

backend_tests! {
    #[tokio::test]
    async fn only_people_who_may_edit_a_request_may_share_it() {
        let app = spawn_app().await;
        let id = app.request_id("private").await;
        let (_, member) = app.add_member("member").await;
        let path = format!("/api/v1/requests/{id}/links");
        app.post(&member, &path, json!({ "mode": "multi_use" }))
            .await
            .expect(403, "forbidden");
        let other = app.other_workspace("links-elsewhere").await;
        app.post(&other, &path, json!({ "mode": "multi_use" }))
            .await
            .expect(404, "not_found");
        let own = app
            .create_request(&member, json!({ "title": "mine" }))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.post(
            &member,
            &format!("/api/v1/requests/{own}/links"),
            json!({ "mode": "multi_use" }),
        )
        .await
        .expect(201, "");
    }
}
