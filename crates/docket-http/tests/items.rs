//! Requested items through the native API: a type's template copied to each request,
//! answers checked against each item, review with reasons, sending back, the workflow
//! following the items, progress in every representation and list, and who may do what.

mod common;

use common::{spawn_app, Reply, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

/// A `kyc` type: the general workflow following the items, and four items.
async fn kyc_type(app: &TestApp) {
    let general = app
        .get(&app.owner_token, "/api/v1/request-types/general")
        .await
        .expect(200, "");
    let mut workflow = general.body["workflow"].clone();
    workflow["on_items"] =
        json!({"submitted": "in_progress", "approved": "done", "sent_back": "waiting"});
    app.post(
        &app.owner_token,
        "/api/v1/request-types",
        json!({
            "key": "kyc",
            "name": "Know your customer",
            "workflow": workflow,
            "items": [
                {"kind": "note", "label": "Before you start", "instructions": "Have your passport at hand."},
                {"kind": "document", "key": "passport", "label": "Passport", "required": true, "allowed_types": ["application/pdf"], "max_files": 2},
                {"kind": "question", "key": "income", "label": "Annual income", "required": true, "answer_type": {"type": "number", "min": 0}},
                {"kind": "question", "key": "colour", "label": "Favourite colour", "answer_type": {"type": "choice", "options": ["red", "blue"]}},
            ],
        }),
    )
    .await
    .expect(201, "");
}

/// Files a `kyc` request as `token`; returns its JSON.
async fn file_kyc(app: &TestApp, token: &str, extra: Value) -> Value {
    let mut body = json!({
        "type": "kyc",
        "title": "Onboarding",
        "data": {"contact": {"email": "ann@example.com", "name": "Ann"}},
    });
    if let Value::Object(more) = extra {
        body.as_object_mut().unwrap().extend(more);
    }
    app.create_request(token, body).await
}

fn item<'a>(items: &'a Value, key: &str) -> &'a Value {
    items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no item {key} in {items}"))
}

async fn items_of(app: &TestApp, id: &str) -> Value {
    app.get(&app.owner_token, &format!("/api/v1/requests/{id}/items"))
        .await
        .expect(200, "")
        .body
}

async fn upload_pdf(app: &TestApp, id: &str, name: &str) -> String {
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    let r = app
        .send(
            app.request(
                Method::POST,
                &format!("/api/v1/requests/{id}/files?name={name}"),
                Some(&app.owner_token),
            )
            .header("content-type", "application/pdf")
            .body(pdf),
        )
        .await
        .expect(201, "");
    r.body["id"].as_str().unwrap().to_owned()
}

async fn patch_if(app: &TestApp, path: &str, etag: &str, body: Value) -> Reply {
    app.send(
        app.request(Method::PATCH, path, Some(&app.owner_token))
            .header("if-match", etag)
            .json(&body),
    )
    .await
}

async fn request(app: &TestApp, id: &str) -> Value {
    app.get(&app.owner_token, &format!("/api/v1/requests/{id}"))
        .await
        .expect(200, "")
        .body
}

backend_tests! {
    #[tokio::test]
    async fn items_are_answered_reviewed_sent_back_and_finish_the_request() {
        let app = spawn_app().await;
        kyc_type(&app).await;
        let created = file_kyc(&app, &app.owner_token, json!({})).await;
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(
            created["items"],
            json!({"total": 3, "required": 2, "submitted": 0, "approved": 0, "rejected": 0})
        );
        let items = items_of(&app, &id).await;
        let keys: Vec<&str> = items["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["before-you-start", "passport", "income", "colour"]);
        assert_eq!(item(&items, "before-you-start")["state"], Value::Null);
        assert_eq!(item(&items, "income")["state"], "missing");

        // Answer the income: the answer is checked, then kept with an ETag.
        let income = item(&items, "income")["id"].as_str().unwrap().to_owned();
        let income_path = format!("/api/v1/requests/{id}/items/{income}");
        app.post(&app.owner_token, &format!("{income_path}/answer"), json!({"answer": -5}))
            .await
            .expect(422, "validation_failed");
        let answered = app
            .post(&app.owner_token, &format!("{income_path}/answer"), json!({"answer": 52000}))
            .await
            .expect(200, "");
        assert_eq!(answered.body["state"], "submitted");
        assert_eq!(answered.body["answer"], 52000);
        assert!(answered.header("etag").is_some());
        assert_eq!(request(&app, &id).await["status"], "open");

        // The passport: a file of the request; the last required answer moves it to review.
        let passport = item(&items, "passport")["id"].as_str().unwrap().to_owned();
        let passport_path = format!("/api/v1/requests/{id}/items/{passport}");
        let first = upload_pdf(&app, &id, "passport.pdf").await;
        let sent = app
            .post(&app.owner_token, &format!("{passport_path}/answer"), json!({"files": [first]}))
            .await
            .expect(200, "");
        assert_eq!(sent.body["files"], json!([first]));
        let r = request(&app, &id).await;
        assert_eq!(r["status"], "in_progress");
        assert_eq!(r["items"]["submitted"], 2);

        // A reviewer acts on the submission they saw: a stale ETag is 412.
        let etag = sent.header("etag").unwrap().to_owned();
        let stale = etag.replace("-2\"", "-1\"");
        patch_if(&app, &passport_path, &stale, json!({"state": "rejected", "reason": "Blurred"}))
            .await
            .expect(412, "precondition_failed");
        let rejected = patch_if(&app, &passport_path, &etag, json!({"state": "rejected", "reason": "The scan is blurred"}))
            .await
            .expect(200, "");
        assert_eq!(rejected.body["state"], "rejected");
        assert_eq!(rejected.body["reason"], "The scan is blurred");

        // Sending back: to the recipient's status, with one message listing the items.
        let back = app
            .post(&app.owner_token, &format!("/api/v1/requests/{id}/send-back"), json!({}))
            .await
            .expect(200, "");
        assert_eq!(back.body["status"], "waiting");
        let timeline = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
            .await
            .expect(200, "");
        let events = timeline.body["items"].as_array().unwrap();
        let message = events.iter().find(|e| e["kind"] == "message.queued").expect("a message");
        assert_eq!(message["changes"][0]["new"]["template"], "rejection");
        assert_eq!(message["changes"][0]["new"]["items"][0]["reason"], "The scan is blurred");
        let moved = events.iter().rev().find(|e| e["kind"] == "request.updated").unwrap();
        assert!(moved["changes"].as_array().unwrap().iter().any(|c| c["field"] == "cause" && c["new"] == "request.sent_back"));

        // A new upload replaces the rejected one; approving both finishes the request.
        let second = upload_pdf(&app, &id, "passport-2.pdf").await;
        let again = app
            .post(&app.owner_token, &format!("{passport_path}/answer"), json!({"files": [second]}))
            .await
            .expect(200, "");
        assert_eq!(again.body["files"], json!([second]));
        assert_eq!(request(&app, &id).await["status"], "in_progress");
        let etag = again.header("etag").unwrap().to_owned();
        patch_if(&app, &passport_path, &etag, json!({"state": "approved"})).await.expect(200, "");
        app.patch(&app.owner_token, &income_path, json!({"state": "approved"})).await.expect(200, "");
        let done = request(&app, &id).await;
        assert_eq!(done["status"], "done");
        assert_eq!(
            done["items"],
            json!({"total": 3, "required": 2, "submitted": 0, "approved": 2, "rejected": 0})
        );

        // Every submission is kept, and lists filter by progress.
        let history = app
            .get(&app.owner_token, &format!("{passport_path}/submissions"))
            .await
            .expect(200, "");
        let files: Vec<&Value> = history.body["items"].as_array().unwrap().iter().map(|s| &s["files"]).collect();
        assert_eq!(files, [&json!([first]), &json!([second])]);
        let other = file_kyc(&app, &app.owner_token, json!({"items": ["income"]})).await;
        assert_eq!(other["items"]["total"], 1);
        let complete: Vec<String> = app.list_all(&app.owner_token, "type=kyc&items=complete").await.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(complete, std::slice::from_ref(&id));
        let incomplete = app.list_all(&app.owner_token, "type=kyc&items=incomplete").await;
        assert_eq!(incomplete.len(), 1);
        assert_eq!(incomplete[0]["id"], other["id"]);
        app.get(&app.owner_token, "/api/v1/requests?items=sideways")
            .await
            .expect(400, "invalid_query");
    }
}

backend_tests! {
    #[tokio::test]
    async fn staff_add_edit_reorder_and_remove_items_on_one_request() {
        let app = spawn_app().await;
        let id = app.request_id("ad hoc").await;
        let path = format!("/api/v1/requests/{id}/items");
        let added = app
            .post(&app.owner_token, &path, json!({"kind": "question", "label": "Invoice number", "required": true, "answer_type": {"type": "text"}}))
            .await
            .expect(201, "");
        let first = added.body["id"].as_str().unwrap().to_owned();
        assert_eq!(added.body["key"], "invoice-number");
        assert_eq!(added.header("location"), Some(format!("{path}/{first}").as_str()));
        let second = app
            .post(&app.owner_token, &path, json!({"kind": "document", "label": "Invoice", "position": 0}))
            .await
            .expect(201, "")
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let items = items_of(&app, &id).await;
        assert_eq!(items["items"][0]["id"], second.as_str());
        assert_eq!(items["items"][0]["max_files"], 1);
        assert_eq!(request(&app, &id).await["items"]["total"], 2);

        let edited = app
            .patch(&app.owner_token, &format!("{path}/{first}"), json!({"label": "Invoice no.", "position": 0}))
            .await
            .expect(200, "");
        assert_eq!(edited.body["label"], "Invoice no.");
        assert_eq!(edited.body["position"], 0);
        app.patch(&app.owner_token, &format!("{path}/{first}"), json!({"kind": "note"}))
            .await
            .expect(422, "validation_failed");
        app.patch(&app.owner_token, &format!("{path}/{first}"), json!({"label": "x", "state": "approved"}))
            .await
            .expect(422, "validation_failed");
        app.delete(&app.owner_token, &format!("{path}/{second}")).await.expect(204, "");
        app.delete(&app.owner_token, &format!("{path}/{second}")).await.expect(404, "not_found");
        let items = items_of(&app, &id).await;
        assert_eq!(items["items"].as_array().unwrap().len(), 1);
        assert_eq!(request(&app, &id).await["items"]["total"], 1);
        let kinds: Vec<String> = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
            .await
            .expect(200, "")
            .body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds, ["request.created", "item.added", "item.added", "item.updated", "item.removed"]);
    }
}

backend_tests! {
    #[tokio::test]
    async fn bad_item_input_gets_a_precise_error_and_stores_nothing() {
        let app = spawn_app().await;
        kyc_type(&app).await;
        let id = file_kyc(&app, &app.owner_token, json!({})).await["id"].as_str().unwrap().to_owned();
        let items = items_of(&app, &id).await;
        let at = |key: &str| format!("/api/v1/requests/{id}/items/{}", item(&items, key)["id"].as_str().unwrap());
        let version = request(&app, &id).await["version"].clone();
        let cases: Vec<(String, Value, u16, &str)> = vec![
            (format!("{}/answer", at("before-you-start")), json!({"answer": "x"}), 409, "not_answerable"),
            (format!("{}/answer", at("income")), json!({"answer": "lots"}), 422, "validation_failed"),
            (format!("{}/answer", at("income")), json!({"answer": 1, "extra": true}), 422, "validation_failed"),
            (format!("{}/answer", at("colour")), json!({"answer": "green"}), 422, "validation_failed"),
            (format!("{}/answer", at("passport")), json!({"answer": "a passport"}), 422, "validation_failed"),
            (format!("{}/answer", at("passport")), json!({"files": ["0190b3c2-0000-7000-8000-000000000000"]}), 422, "validation_failed"),
            (format!("/api/v1/requests/{id}/items/0190b3c2-0000-7000-8000-000000000000/answer"), json!({"answer": 1}), 404, "not_found"),
            (format!("/api/v1/requests/{id}/send-back"), json!({}), 409, "nothing_rejected"),
        ];
        for (path, body, status, code) in cases {
            app.post(&app.owner_token, &path, body.clone()).await.expect(status, code);
        }
        let reviews: Vec<(Value, u16, &str)> = vec![
            (json!({"state": "approved"}), 409, "item_not_submitted"),
            (json!({"state": "rejected"}), 409, "item_not_submitted"),
            (json!({"state": "missing"}), 422, "validation_failed"),
            (json!({"state": "approved", "reason": "fine"}), 422, "validation_failed"),
        ];
        for (body, status, code) in reviews {
            app.patch(&app.owner_token, &at("income"), body).await.expect(status, code);
        }
        assert_eq!(request(&app, &id).await["version"], version, "no refusal changed the request");
        // A file the item does not take, and more files than it takes.
        let zip = app
            .send(
                app.request(Method::POST, &format!("/api/v1/requests/{id}/files?name=a.zip"), Some(&app.owner_token))
                    .header("content-type", "application/zip")
                    .body(b"PK\x03\x04\x14\x00\x00\x00\x00\x00".to_vec()),
            )
            .await
            .expect(201, "")
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let version = request(&app, &id).await["version"].clone();
        let refused = app
            .post(&app.owner_token, &format!("{}/answer", at("passport")), json!({"files": [zip]}))
            .await
            .expect(422, "validation_failed");
        assert_eq!(refused.body["error"]["details"][0]["code"], "type_not_allowed");
        assert_eq!(request(&app, &id).await["version"], version);
        let pdfs = [
            upload_pdf(&app, &id, "a.pdf").await,
            upload_pdf(&app, &id, "b.pdf").await,
            upload_pdf(&app, &id, "c.pdf").await,
        ];
        let version = request(&app, &id).await["version"].clone();
        let refused = app
            .post(&app.owner_token, &format!("{}/answer", at("passport")), json!({"files": pdfs}))
            .await
            .expect(422, "validation_failed");
        assert_eq!(refused.body["error"]["details"][0]["code"], "too_many_files");
        // Nothing of it changed the request or its items (the uploads themselves are
        // files of the request, each its own change, before `version` was read).
        let after = items_of(&app, &id).await;
        for key in ["income", "colour", "passport"] {
            assert_eq!(item(&after, key)["state"], "missing", "{key}");
            assert_eq!(item(&after, key)["submissions"], 0, "{key}");
        }
        let now = request(&app, &id).await;
        assert_eq!(now["items"]["submitted"], 0);
        assert_eq!(now["version"], version);
        // A bad template is refused with every problem listed.
        let bad = app
            .post(
                &app.owner_token,
                "/api/v1/request-types",
                json!({"key": "bad", "name": "Bad", "workflow": {"statuses": [{"key": "open", "label": "Open", "category": "open", "initial": true}], "transitions": [], "on_items": {"approved": "nowhere"}},
                       "items": [{"kind": "question", "label": "Q"}, {"kind": "note", "label": ""}]}),
            )
            .await
            .expect(422, "validation_failed");
        let fields: Vec<&str> = bad.body["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"workflow.on_items.approved"), "{fields:?}");
        app.post(&app.owner_token, "/api/v1/requests", json!({"type": "kyc", "title": "x", "items": ["nope"]}))
            .await
            .expect(422, "validation_failed");
    }
}

backend_tests! {
    #[tokio::test]
    async fn only_people_who_may_edit_the_request_change_its_items() {
        let app = spawn_app().await;
        kyc_type(&app).await;
        let id = file_kyc(&app, &app.owner_token, json!({})).await["id"].as_str().unwrap().to_owned();
        let items = items_of(&app, &id).await;
        let income = format!("/api/v1/requests/{id}/items/{}", item(&items, "income")["id"].as_str().unwrap());
        let (_, member) = app.add_member("member").await;
        app.get(&member, &format!("/api/v1/requests/{id}/items")).await.expect(200, "");
        app.post(&member, &format!("{income}/answer"), json!({"answer": 1})).await.expect(403, "forbidden");
        app.post(&member, &format!("/api/v1/requests/{id}/items"), json!({"kind": "note", "label": "x"})).await.expect(403, "forbidden");
        let read_only = app.token_with_scopes(&app.owner_token, &["requests:read"]).await;
        app.post(&read_only, &format!("{income}/answer"), json!({"answer": 1})).await.expect(403, "missing_scope");
        let other = app.other_workspace("items-elsewhere").await;
        app.get(&other, &format!("/api/v1/requests/{id}/items")).await.expect(404, "not_found");
        app.post(&other, &format!("{income}/answer"), json!({"answer": 1})).await.expect(404, "not_found");
        // The member's own request is theirs to answer.
        let mine = file_kyc(&app, &member, json!({})).await["id"].as_str().unwrap().to_owned();
        let items = app.get(&member, &format!("/api/v1/requests/{mine}/items")).await.expect(200, "").body;
        let path = format!("/api/v1/requests/{mine}/items/{}/answer", item(&items, "income")["id"].as_str().unwrap());
        app.post(&member, &path, json!({"answer": 10})).await.expect(200, "");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_file_uploaded_onto_an_item_is_stored_and_submitted_in_one_write() {
        let app = spawn_app().await;
        kyc_type(&app).await;
        let id = file_kyc(&app, &app.owner_token, json!({})).await["id"].as_str().unwrap().to_owned();
        let items = items_of(&app, &id).await;
        let path = format!("/api/v1/requests/{id}/items/{}/files", item(&items, "passport")["id"].as_str().unwrap());
        let send = |name: &str, bytes: Vec<u8>| {
            app.request(Method::POST, &format!("{path}?name={name}"), Some(&app.owner_token))
                .header("content-type", "application/octet-stream")
                .body(bytes)
        };
        let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
        let done = app.send(send("scan.pdf", pdf.clone())).await.expect(200, "");
        assert_eq!(done.body["state"], "submitted");
        let file = done.body["files"][0].as_str().unwrap().to_owned();
        let listed = app.get(&app.owner_token, &format!("/api/v1/files?request_id={id}")).await.expect(200, "");
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(listed.body["items"][0]["id"], file.as_str());
        assert_eq!(listed.body["items"][0]["content_type"], "application/pdf");
        // The workspace takes ZIP archives, the item does not: nothing is stored.
        let refused = app.send(send("scan.zip", b"PK\x03\x04\x14\x00\x00\x00\x00\x00".to_vec())).await.expect(422, "validation_failed");
        assert_eq!(refused.body["error"]["details"][0]["code"], "type_not_allowed");
        // The second PDF joins the first (max_files 2); a third is one too many.
        app.send(send("back.pdf", pdf.clone())).await.expect(200, "");
        app.send(send("more.pdf", pdf)).await.expect(422, "validation_failed");
        let listed = app.get(&app.owner_token, &format!("/api/v1/files?request_id={id}")).await.expect(200, "");
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
        let stored = walk(&app.files_dir);
        assert_eq!(stored, 2, "only the accepted files' bytes are kept");
    }
}

/// How many files are under `dir`.
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
