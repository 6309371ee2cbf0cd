//! Request types with workflows of their own, and every rule of a workflow enforced.

mod common;

use common::*;
use serde_json::{json, Value};

/// A photo request: asked → shooting → received, withdrawn from anywhere.
fn photo_type() -> Value {
    json!({
        "key": "photo",
        "name": "Photo request",
        "description": "Pictures for the catalogue",
        "workflow": {
            "statuses": [
                {"key": "asked", "label": "Asked", "category": "open", "initial": true},
                {"key": "shooting", "label": "Shooting", "category": "in_progress"},
                {"key": "received", "label": "Received", "category": "done"},
                {"key": "On hold", "label": "On hold", "category": "waiting"},
                {"key": "withdrawn", "label": "Withdrawn", "category": "canceled"}
            ],
            "transitions": [
                {"from": "asked", "to": "shooting", "by": ["assignee", "requests:manage"]},
                {"from": "shooting", "to": "received", "by": ["assignee"]},
                {"from": "shooting", "to": "On hold", "by": ["requests:manage"]},
                {"from": "*", "to": "withdrawn", "by": ["requester", "requests:manage"]}
            ]
        }
    })
}

struct Desk {
    app: TestApp,
    /// Files photo requests.
    requester: String,
    assignee_id: String,
    /// Takes the photos.
    assignee: String,
}

async fn desk() -> Desk {
    let app = spawn_app().await;
    app.post(&app.owner_token, "/api/v1/request-types", photo_type())
        .await
        .expect(201, "");
    let (_, requester) = app.add_member("member").await;
    let (assignee_id, assignee) = app.add_member("member").await;
    Desk {
        app,
        requester,
        assignee_id,
        assignee,
    }
}

impl Desk {
    /// A photo request filed by the requester, assigned (by the owner) to the assignee.
    async fn photo_request(&self) -> String {
        let r = self
            .app
            .create_request(
                &self.requester,
                json!({"type": "photo", "title": "Product shots"}),
            )
            .await;
        let id = r["id"].as_str().unwrap().to_owned();
        self.app
            .patch(
                &self.app.owner_token,
                &format!("/api/v1/requests/{id}"),
                json!({"assignee_id": self.assignee_id}),
            )
            .await
            .expect(200, "");
        id
    }

    async fn move_to(&self, token: &str, id: &str, status: &str) -> Reply {
        self.app
            .patch(
                token,
                &format!("/api/v1/requests/{id}"),
                json!({"status": status}),
            )
            .await
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_custom_type_is_created_listed_and_its_requests_start_in_its_initial_status() {
        let d = desk().await;
        let app = &d.app;
        let t = app
            .get(&app.owner_token, "/api/v1/request-types/photo")
            .await
            .expect(200, "");
        assert_eq!(t.body["name"], "Photo request");
        assert_eq!(t.body["workflow"]["statuses"].as_array().unwrap().len(), 5);
        assert_eq!(t.body["workflow"]["transitions"][3]["from"], "*");
        assert_eq!(
            t.body["workflow"]["transitions"][0]["by"],
            json!(["assignee", "requests:manage"])
        );

        let list = app
            .get(&d.requester, "/api/v1/request-types")
            .await
            .expect(200, "");
        assert_eq!(
            strings(list.body["items"].as_array().unwrap(), "key"),
            ["general", "photo"]
        );

        let r = app
            .create_request(&d.requester, json!({"type": "photo", "title": "Shots"}))
            .await;
        assert_eq!(r["type"], "photo");
        assert_eq!(r["status"], "asked");
        assert_eq!(r["category"], "open");

        app.get(&app.owner_token, "/api/v1/request-types/nope")
            .await
            .expect(404, "not_found");
        app.get(&app.owner_token, "/api/v1/request-types/NOT%20A%20KEY")
            .await
            .expect(404, "not_found");
    }
}

backend_tests! {
    #[tokio::test]
    async fn allowed_transitions_move_the_request_and_its_category() {
        let d = desk().await;
        let id = d.photo_request().await;
        let r = d
            .move_to(&d.assignee, &id, "shooting")
            .await
            .expect(200, "");
        assert_eq!(r.body["status"], "shooting");
        assert_eq!(r.body["category"], "in_progress");
        let r = d
            .move_to(&d.assignee, &id, "received")
            .await
            .expect(200, "");
        assert_eq!(r.body["category"], "done");
        // `*` lets the requester withdraw it from anywhere, even once received.
        let r = d
            .move_to(&d.requester, &id, "withdrawn")
            .await
            .expect(200, "");
        assert_eq!(r.body["category"], "canceled");
        // Status keys may have spaces.
        let other = d.photo_request().await;
        d.move_to(&d.app.owner_token, &other, "shooting")
            .await
            .expect(200, "");
        assert_eq!(
            d.move_to(&d.app.owner_token, &other, "On hold")
                .await
                .expect(200, "")
                .body["category"],
            "waiting"
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_move_the_workflow_does_not_have_is_an_invalid_transition() {
        let d = desk().await;
        let id = d.photo_request().await;
        // Nobody, not even the owner, may skip from asked to received.
        for token in [&d.app.owner_token, &d.assignee] {
            let r = d
                .move_to(token, &id, "received")
                .await
                .expect(409, "invalid_transition");
            assert!(
                r.body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("asked"),
                "{}",
                r.body
            );
        }
        assert_eq!(
            d.app
                .get(&d.app.owner_token, &format!("/api/v1/requests/{id}"))
                .await
                .body["status"],
            "asked"
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_move_taken_by_the_wrong_party_is_forbidden_and_names_who_may() {
        let d = desk().await;
        let id = d.photo_request().await;
        // The requester may not start the shoot.
        let r = d
            .move_to(&d.requester, &id, "shooting")
            .await
            .expect(403, "transition_forbidden");
        assert_eq!(
            r.body["error"]["details"]["allowed"],
            json!(["assignee", "requests:manage"])
        );

        d.move_to(&d.assignee, &id, "shooting")
            .await
            .expect(200, "");
        // Only the assignee may mark it received: not even the owner, who holds every scope.
        let r = d
            .move_to(&d.app.owner_token, &id, "received")
            .await
            .expect(403, "transition_forbidden");
        assert_eq!(r.body["error"]["details"]["allowed"], json!(["assignee"]));
        // And the assignee may not withdraw it.
        let r = d
            .move_to(&d.assignee, &id, "withdrawn")
            .await
            .expect(403, "transition_forbidden");
        assert_eq!(
            r.body["error"]["details"]["allowed"],
            json!(["requester", "requests:manage"])
        );

        // A requester whose token cannot write may not use the requester's right either.
        let (_, member) = d.app.add_member("member").await;
        let filed = d
            .app
            .create_request(&member, json!({"type": "photo", "title": "Mine"}))
            .await;
        let reader = d.app.token_with_scopes(&member, &["requests:read"]).await;
        let r = d
            .move_to(&reader, filed["id"].as_str().unwrap(), "withdrawn")
            .await
            .expect(403, "missing_scope");
        assert_eq!(r.body["error"]["details"]["scope"], "requests:write");
    }
}

backend_tests! {
    #[tokio::test]
    async fn an_unknown_status_is_a_validation_error() {
        let d = desk().await;
        let id = d.photo_request().await;
        // `done` exists in the general workflow, not in this one.
        let r = d
            .move_to(&d.app.owner_token, &id, "done")
            .await
            .expect(422, "validation_failed");
        assert_eq!(r.body["error"]["details"][0]["field"], "status");
        assert_eq!(r.body["error"]["details"][0]["code"], "unknown_status");
        let r = d
            .move_to(&d.app.owner_token, &id, "not*a*key")
            .await
            .expect(422, "validation_failed");
        assert_eq!(r.body["error"]["details"][0]["field"], "status");
    }
}

backend_tests! {
    #[tokio::test]
    async fn an_invalid_workflow_is_refused_with_every_problem_listed() {
        let app = spawn_app().await;
        let r = app
            .post(
                &app.owner_token,
                "/api/v1/request-types",
                json!({
                    "key": "broken",
                    "name": "Broken",
                    "workflow": {
                        "statuses": [
                            {"key": "a", "label": "A", "category": "open"},
                            {"key": "a", "label": " ", "category": "done"}
                        ],
                        "transitions": [
                            {"from": "x", "to": "b", "by": []}
                        ]
                    }
                }),
            )
            .await
            .expect(422, "validation_failed");
        let details = r.body["error"]["details"].as_array().unwrap();
        let found: Vec<(String, String)> = details
            .iter()
            .map(|d| {
                (
                    d["field"].as_str().unwrap().to_owned(),
                    d["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for expected in [
            ("workflow.statuses[1].key", "duplicate"),
            ("workflow.statuses[1].label", "invalid"),
            ("workflow.statuses", "initial"),
            ("workflow.transitions[0].from", "unknown_status"),
            ("workflow.transitions[0].to", "unknown_status"),
            ("workflow.transitions[0].by", "required"),
        ] {
            assert!(
                found.contains(&(expected.0.to_owned(), expected.1.to_owned())),
                "{expected:?} missing from {found:?}"
            );
        }

        // Shapes that do not parse name their field.
        let mut bad_party = photo_type();
        bad_party["key"] = json!("party");
        bad_party["workflow"]["transitions"][0]["by"] = json!(["boss"]);
        let r = app
            .post(&app.owner_token, "/api/v1/request-types", bad_party)
            .await
            .expect(422, "validation_failed");
        assert_eq!(
            r.body["error"]["details"][0]["field"],
            "workflow.transitions[0].by[0]"
        );

        let mut bad_category = photo_type();
        bad_category["key"] = json!("category");
        bad_category["workflow"]["statuses"][0]["category"] = json!("finished");
        app.post(&app.owner_token, "/api/v1/request-types", bad_category)
            .await
            .expect(422, "validation_failed");

        let mut bad_key = photo_type();
        bad_key["key"] = json!("Photo Requests");
        let r = app
            .post(&app.owner_token, "/api/v1/request-types", bad_key)
            .await
            .expect(422, "validation_failed");
        assert_eq!(r.body["error"]["details"][0]["field"], "key");

        let list = app
            .get(&app.owner_token, "/api/v1/request-types")
            .await
            .expect(200, "");
        assert_eq!(
            strings(list.body["items"].as_array().unwrap(), "key"),
            ["general"],
            "nothing invalid was stored"
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_type_key_can_be_used_once_per_workspace() {
        let d = desk().await;
        let mut again = photo_type();
        again["name"] = json!("Another");
        d.app
            .post(&d.app.owner_token, "/api/v1/request-types", again)
            .await
            .expect(409, "type_exists");
        let mut general = photo_type();
        general["key"] = json!("general");
        d.app
            .post(&d.app.owner_token, "/api/v1/request-types", general)
            .await
            .expect(409, "type_exists");
        assert_eq!(
            d.app
                .get(&d.app.owner_token, "/api/v1/request-types/photo")
                .await
                .body["name"],
            "Photo request"
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_new_workflow_may_not_drop_a_status_requests_are_in() {
        let d = desk().await;
        let id = d.photo_request().await;
        d.move_to(&d.assignee, &id, "shooting")
            .await
            .expect(200, "");

        // Dropping `shooting` (in use) is refused, and nothing changes.
        let mut without_shooting = photo_type()["workflow"].clone();
        without_shooting["statuses"]
            .as_array_mut()
            .unwrap()
            .remove(1);
        without_shooting["transitions"] =
            json!([{"from": "*", "to": "withdrawn", "by": ["requester"]}]);
        let r = d
            .app
            .patch(
                &d.app.owner_token,
                "/api/v1/request-types/photo",
                json!({"workflow": without_shooting}),
            )
            .await
            .expect(409, "status_in_use");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("shooting"),
            "{}",
            r.body
        );
        let t = d
            .app
            .get(&d.app.owner_token, "/api/v1/request-types/photo")
            .await
            .expect(200, "");
        assert_eq!(t.body["workflow"]["statuses"].as_array().unwrap().len(), 5);

        // Dropping an unused status is fine, and the new rules apply at once.
        let mut without_hold = photo_type()["workflow"].clone();
        without_hold["statuses"].as_array_mut().unwrap().remove(3);
        without_hold["transitions"] = json!([
            {"from": "shooting", "to": "received", "by": ["requester"]},
            {"from": "*", "to": "withdrawn", "by": ["requester", "requests:manage"]}
        ]);
        let r = d
            .app
            .patch(
                &d.app.owner_token,
                "/api/v1/request-types/photo",
                json!({"name": "Photos", "workflow": without_hold}),
            )
            .await
            .expect(200, "");
        assert_eq!(r.body["name"], "Photos");
        assert_eq!(r.body["workflow"]["statuses"].as_array().unwrap().len(), 4);
        d.move_to(&d.assignee, &id, "received")
            .await
            .expect(403, "transition_forbidden");
        d.move_to(&d.requester, &id, "received")
            .await
            .expect(200, "");
    }
}

backend_tests! {
    #[tokio::test]
    async fn changing_a_status_category_moves_the_requests_in_it() {
        let d = desk().await;
        let id = d.photo_request().await;
        let mut workflow = photo_type()["workflow"].clone();
        workflow["statuses"][0]["category"] = json!("waiting");
        d.app
            .patch(
                &d.app.owner_token,
                "/api/v1/request-types/photo",
                json!({"workflow": workflow}),
            )
            .await
            .expect(200, "");
        let r = d
            .app
            .get(&d.app.owner_token, &format!("/api/v1/requests/{id}"))
            .await
            .expect(200, "");
        assert_eq!(r.body["status"], "asked");
        assert_eq!(r.body["category"], "waiting");
        let waiting = d.app.list_all(&d.app.owner_token, "category=waiting").await;
        assert_eq!(strings(&waiting, "id"), [id]);
    }
}

backend_tests! {
    #[tokio::test]
    async fn only_workflow_writers_create_or_change_request_types() {
        let d = desk().await;
        let (_, moderator) = d.app.add_member("moderator").await;
        let (_, admin) = d.app.add_member("admin").await;
        let mut mine = photo_type();
        mine["key"] = json!("mine");
        for token in [&moderator, &d.requester] {
            d.app
                .post(token, "/api/v1/request-types", mine.clone())
                .await
                .expect(403, "forbidden");
            d.app
                .patch(
                    token,
                    "/api/v1/request-types/photo",
                    json!({"name": "Hijacked"}),
                )
                .await
                .expect(403, "forbidden");
        }
        d.app
            .post(&admin, "/api/v1/request-types", mine)
            .await
            .expect(201, "");
        d.app
            .patch(
                &admin,
                "/api/v1/request-types/photo",
                json!({"description": "Updated"}),
            )
            .await
            .expect(200, "");
        d.app
            .patch(
                &admin,
                "/api/v1/request-types/nope",
                json!({"description": "Updated"}),
            )
            .await
            .expect(404, "not_found");
    }
}
