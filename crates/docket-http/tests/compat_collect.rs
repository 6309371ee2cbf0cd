//! Collect's request API (seed 001) against Docket: the page's example, the calls around
//! it, the rules (`assignedTo: "unset"`, custom campaign statuses, messages queued on the
//! timeline, cancelling deactivates the portal link), the credential forms, and the same
//! request seen through the native API.

mod common;

use base64::Engine;
use common::{spawn_app, TestApp};
use docket_domain::link::LinkToken;
use reqwest::Method;
use serde_json::{json, Value};

/// Sends a Collect call as `curl --user ":KEY"` does.
async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> common::Reply {
    let mut b = app
        .client
        .request(method, app.url(path))
        .basic_auth("", Some(&app.owner_token));
    if let Some(body) = body {
        b = b.json(&body);
    }
    app.send(b).await
}

#[track_caller]
fn expect_error(r: &common::Reply, status: u16) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    let first = &r.body["errors"][0];
    assert!(
        first["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{}",
        r.body
    );
    assert!(
        first["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.body
    );
}

fn elon() -> Value {
    json!({ "email": "elon@example.com", "firstName": "Elon", "lastName": "Musk", "company": "Tesla" })
}

async fn create(app: &TestApp, contact: Value, extra: Value) -> Value {
    let mut body = json!({ "campaignId": "collect", "contact": contact });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = call(app, Method::POST, "/v1/request", Some(body)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["errors"], json!([]));
    r.body["request"].clone()
}

fn is_collect_date(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 20 && s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

backend_tests! {
    #[tokio::test]
    async fn patch_example_answers_the_documented_fields() {
        let app = spawn_app().await;
        let made = create(&app, elon(), json!({ "sendCompletionMessage": true })).await;
        let id = made["_id"].as_str().unwrap();
        call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "status": "waiting", "requestId": id })),
        )
        .await;

        // The page's request body.
        let r = call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "status": "pending", "requestId": id })),
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        assert_eq!(r.body["errors"], json!([]));
        let q = &r.body["request"];
        assert_eq!(q["_id"], id);
        assert_eq!(q["status"], "pending");
        assert_eq!(q["campaignId"], "collect");
        assert!(is_collect_date(&q["createdAt"]), "{}", q["createdAt"]);
        assert!(q["dueDate"].is_null());
        assert_eq!(q["privacy"], "private");
        assert_eq!(q["sendCompletionMessage"], true);
        let portal = q["portalUrl"].as_str().unwrap();
        let token = portal.strip_prefix("/p/").expect("portalUrl is /p/{token}");
        assert!(LinkToken::parse(token).is_some());
        assert_eq!(q["branding"]["useBranding"], false);
        assert!(q["branding"]
            .as_object()
            .unwrap()
            .contains_key("brandingId"));
        let c = &q["contact"];
        assert!(c["_id"].is_string());
        assert_eq!(c["email"], "elon@example.com");
        assert_eq!(c["firstName"], "Elon");
        assert_eq!(c["lastName"], "Musk");
        assert_eq!(c["company"], "Tesla");
        assert_eq!(c["tag"], json!([]));
        assert_eq!(c["custom"], json!([]));
        assert!(is_collect_date(&c["createdAt"]));
        assert!(is_collect_date(&c["lastActivity"]));
    }
}

backend_tests! {
    #[tokio::test]
    async fn patch_sets_every_predefined_status_due_date_and_data() {
        let app = spawn_app().await;
        let made = create(&app, json!("ngxhLDiDGEBS2jjKh"), json!({})).await;
        assert_eq!(made["contact"], json!({ "_id": "ngxhLDiDGEBS2jjKh" }));
        assert_eq!(made["status"], "pending");
        let id = made["_id"].as_str().unwrap();
        for status in ["waiting", "completed", "archived", "canceled", "pending"] {
            let r = call(
                &app,
                Method::PATCH,
                "/v1/request",
                Some(json!({ "requestId": id, "status": status })),
            )
            .await;
            assert_eq!(r.body["request"]["status"], status, "{}", r.body);
        }
        let r = call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "dueDate": "2031-03-04T05:06:07Z", "data": { "year": 2024, "ref": "A-1" } })),
        )
        .await;
        assert_eq!(r.body["request"]["dueDate"], "2031-03-04T05:06:07Z");
        assert_eq!(
            r.body["request"]["data"],
            json!({ "year": 2024, "ref": "A-1" })
        );
        let r = call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "dueDate": null })),
        )
        .await;
        assert!(r.body["request"]["dueDate"].is_null());

        for (body, status) in [
            (json!({ "requestId": id, "status": "shipped" }), 400),
            (json!({ "requestId": id, "status": "" }), 400),
            (json!({ "requestId": id, "dueDate": "soon" }), 400),
            (json!({ "requestId": id, "data": { "contact": 1 } }), 400),
            (json!({ "requestId": id, "data": [] }), 400),
            (json!({ "status": "pending" }), 400),
            (
                json!({ "requestId": "bbbBkrejSaJkHWwDE", "status": "pending" }),
                404,
            ),
            (
                json!({ "requestId": "0190b3c2-0000-7000-8000-000000000000" }),
                404,
            ),
        ] {
            let r = call(&app, Method::PATCH, "/v1/request", Some(body)).await;
            expect_error(&r, status);
        }
        let r = app
            .send(
                app.client
                    .patch(app.url("/v1/request"))
                    .basic_auth("", Some(&app.owner_token))
                    .header("content-type", "application/json")
                    .body("{\"requestId\":"),
            )
            .await;
        expect_error(&r, 400);
    }
}

backend_tests! {
    #[tokio::test]
    async fn assigned_to_assigns_and_unset_unassigns() {
        let app = spawn_app().await;
        let (member, _) = app.add_member("member").await;
        let made = create(&app, elon(), json!({ "assignedTo": member })).await;
        assert_eq!(made["assignedTo"], member.as_str());
        let id = made["_id"].as_str().unwrap();
        let r = call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "assignedTo": "unset" })),
        )
        .await;
        assert!(r.body["request"]["assignedTo"].is_null(), "{}", r.body);
        let native = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}"))
            .await
            .ok();
        assert!(native.body["assignee_id"].is_null());
        let r = call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "assignedTo": app.owner_id })),
        )
        .await;
        assert_eq!(r.body["request"]["assignedTo"], app.owner_id.as_str());
        for bad in ["nobody", "0190b3c2-0000-7000-8000-000000000000"] {
            let r = call(
                &app,
                Method::PATCH,
                "/v1/request",
                Some(json!({ "requestId": id, "assignedTo": bad })),
            )
            .await;
            expect_error(&r, 400);
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_custom_status_added_to_the_campaign_workflow_is_accepted() {
        let app = spawn_app().await;
        let campaigns = call(&app, Method::GET, "/v1/campaigns", None).await;
        let builtin = &campaigns.body["campaigns"][0];
        assert_eq!(builtin["_id"], "collect");
        assert_eq!(
            builtin["statuses"],
            json!(["pending", "completed", "waiting", "canceled", "archived"])
        );
        let made = create(&app, elon(), json!({})).await;
        let id = made["_id"].as_str().unwrap();
        let r = call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "status": "On hold" })),
        )
        .await;
        expect_error(&r, 400);

        // Add the custom status through the native request-types API.
        let current = app
            .get(&app.owner_token, "/api/v1/request-types/collect")
            .await
            .ok();
        let mut workflow = current.body["workflow"].clone();
        workflow["statuses"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "key": "On hold", "label": "On hold", "category": "waiting" }));
        workflow["transitions"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "from": "*", "to": "On hold", "by": ["requests:manage"] }));
        app.patch(
            &app.owner_token,
            "/api/v1/request-types/collect",
            json!({ "workflow": workflow }),
        )
        .await
        .ok();
        let r = call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "status": "On hold" })),
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        assert_eq!(r.body["request"]["status"], "On hold");
        let campaigns = call(&app, Method::GET, "/v1/campaigns", None).await;
        assert_eq!(campaigns.body["campaigns"][0]["statuses"][5], "On hold");
    }
}

backend_tests! {
    #[tokio::test]
    async fn campaigns_are_the_collect_request_types() {
        let app = spawn_app().await;
        let mut workflow = app
            .get(&app.owner_token, "/api/v1/request-types/general")
            .await
            .ok()
            .body["workflow"]
            .clone();
        workflow.as_object_mut().unwrap();
        app.post(
            &app.owner_token,
            "/api/v1/request-types",
            json!({ "key": "collect-onboarding", "name": "Onboarding", "workflow": workflow }),
        )
        .await
        .expect(201, "");
        let r = call(&app, Method::GET, "/v1/campaigns", None).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let ids: Vec<&str> = r.body["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["collect", "collect-onboarding"]);
        let made = create(&app, elon(), json!({ "campaignId": "collect-onboarding" })).await;
        assert_eq!(made["campaignId"], "collect-onboarding");
        for campaign in ["general", "nope", "Not A Key"] {
            let r = call(
                &app,
                Method::POST,
                "/v1/request",
                Some(json!({ "campaignId": campaign, "contact": elon() })),
            )
            .await;
            expect_error(&r, 404);
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn create_refuses_malformed_input() {
        let app = spawn_app().await;
        for body in [
            json!({ "contact": elon() }),
            json!({ "campaignId": "collect" }),
            json!({ "campaignId": "collect", "contact": 5 }),
            json!({ "campaignId": "collect", "contact": "" }),
            json!({ "campaignId": "collect", "contact": { "email": "not an email" } }),
            json!({ "campaignId": "collect", "contact": {} }),
            json!({ "campaignId": "collect", "contact": elon(), "dueDate": "someday" }),
            json!({ "campaignId": "collect", "contact": elon(), "assignedTo": "x" }),
        ] {
            let r = call(&app, Method::POST, "/v1/request", Some(body.clone())).await;
            expect_error(&r, 400);
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn messages_are_queued_on_the_timeline() {
        let app = spawn_app().await;
        let made = create(&app, elon(), json!({})).await;
        let id = made["_id"].as_str().unwrap();
        let r = call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "status": "completed", "sendCompletionMessage": true })),
        )
        .await;
        assert_eq!(r.body["request"]["sendCompletionMessage"], true);
        call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "status": "pending", "sendReopenMessage": true, "sendRejectionMessage": true })),
        )
        .await;
        // No flag, no message.
        call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "status": "waiting", "sendReopenMessage": false })),
        )
        .await;

        let timeline = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
            .await
            .ok();
        let queued: Vec<&Value> = timeline.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "message.queued")
            .collect();
        assert_eq!(queued.len(), 2, "{}", timeline.body);
        assert_eq!(
            queued[0]["changes"][0]["new"],
            json!({ "template": "completion", "recipient": "elon@example.com" })
        );
        assert_eq!(
            queued[1]["changes"][0]["new"],
            json!({ "template": "reopen", "recipient": "elon@example.com" })
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn cancelling_deactivates_the_portal_link() {
        let app = spawn_app().await;
        let made = create(&app, elon(), json!({})).await;
        let id = made["_id"].as_str().unwrap();
        let token = made["portalUrl"]
            .as_str()
            .unwrap()
            .trim_start_matches("/p/");
        let token = LinkToken::parse(token).unwrap();
        let (link, request) = app.store.link_by_token(&token).await.unwrap().unwrap();
        assert!(link.is_active(&request, docket_domain::now()));
        call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "status": "canceled" })),
        )
        .await;
        let (link, request) = app.store.link_by_token(&token).await.unwrap().unwrap();
        assert!(!link.is_active(&request, docket_domain::now()));
    }
}

backend_tests! {
    #[tokio::test]
    async fn list_pages_by_offset_and_filters() {
        let app = spawn_app().await;
        for i in 0..5 {
            create(
                &app,
                json!({ "email": format!("c{i}@example.com"), "firstName": format!("Name{i}"), "lastName": "Smith" }),
                json!({ "data": { "invoice": format!("INV{i}") } }),
            )
            .await;
        }
        let r = call(
            &app,
            Method::GET,
            "/v1/requests?campaignId=collect&offset=1&limit=2",
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        assert_eq!(r.body["errors"], json!([]));
        assert_eq!(r.body["total"], 5);
        let items = r.body["requests"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        // Newest first: offset 1 is the fourth created.
        assert_eq!(items[0]["contact"]["firstName"], "Name3");
        assert_eq!(items[1]["contact"]["firstName"], "Name2");

        for (search, expect) in [
            ("Name4", 1),
            ("c2%40example.com", 1),
            ("Smith", 5),
            ("INV0", 1),
            ("nobody", 0),
        ] {
            let r = call(
                &app,
                Method::GET,
                &format!("/v1/requests?search={search}"),
                None,
            )
            .await;
            assert_eq!(r.body["total"], expect, "search {search}: {}", r.body);
        }
        let first = call(&app, Method::GET, "/v1/requests?limit=1", None).await;
        let id = first.body["requests"][0]["_id"]
            .as_str()
            .unwrap()
            .to_owned();
        call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "status": "completed" })),
        )
        .await;
        let r = call(&app, Method::GET, "/v1/requests?status=completed", None).await;
        assert_eq!(r.body["total"], 1);
        assert_eq!(r.body["requests"][0]["_id"], id.as_str());

        let r = call(&app, Method::GET, &format!("/v1/requests/{id}"), None).await;
        assert_eq!(r.body["request"]["_id"], id.as_str());
        assert_eq!(r.body["request"]["status"], "completed");

        for (path, status) in [
            ("/v1/requests?limit=101", 400),
            ("/v1/requests?limit=0", 400),
            ("/v1/requests?offset=-1", 400),
            ("/v1/requests?limit=ten", 400),
            ("/v1/requests?campaignId=general", 404),
            ("/v1/requests/bbbBkrejSaJkHWwDE", 404),
            ("/v1/requests/0190b3c2-0000-7000-8000-000000000000", 404),
        ] {
            let r = call(&app, Method::GET, path, None).await;
            expect_error(&r, status);
        }
        // A native request of another type is not a Collect request.
        let native = app.request_id("native").await;
        let r = call(&app, Method::GET, &format!("/v1/requests/{native}"), None).await;
        expect_error(&r, 404);
    }
}

backend_tests! {
    #[tokio::test]
    async fn the_api_key_is_the_basic_password() {
        let app = spawn_app().await;
        let basic = |user: &str, pass: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            )
        };
        let ok = [
            basic("", &app.owner_token),
            basic(&app.owner_token, ""),
            format!("Bearer {}", app.owner_token),
        ];
        for header in ok {
            let r = app
                .send(
                    app.client
                        .get(app.url("/v1/campaigns"))
                        .header("authorization", header),
                )
                .await;
            assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        }
        for header in [
            basic("", "wrong"),
            basic("", ""),
            "Basic !!!".to_owned(),
            "Token x".to_owned(),
        ] {
            let r = app
                .send(
                    app.client
                        .get(app.url("/v1/requests"))
                        .header("authorization", header),
                )
                .await;
            expect_error(&r, 401);
        }
        let r = app.send(app.client.get(app.url("/v1/requests"))).await;
        expect_error(&r, 401);
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_collect_request_is_a_docket_request_with_one_timeline() {
        let app = spawn_app().await;
        let made = create(&app, elon(), json!({ "data": { "year": 2024 } })).await;
        let id = made["_id"].as_str().unwrap();
        let native = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}"))
            .await
            .ok();
        assert_eq!(native.body["type"], "collect");
        assert_eq!(native.body["title"], "Request to Elon Musk");
        assert_eq!(native.body["status"], "pending");
        assert_eq!(native.body["data"]["contact"]["email"], "elon@example.com");
        assert_eq!(native.body["data"]["year"], 2024);

        // A change through the native API shows through Collect, and the reverse.
        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{id}"),
            json!({ "status": "waiting" }),
        )
        .await
        .ok();
        let r = call(&app, Method::GET, &format!("/v1/requests/{id}"), None).await;
        assert_eq!(r.body["request"]["status"], "waiting");
        call(
            &app,
            Method::PATCH,
            "/v1/request",
            Some(json!({ "requestId": id, "status": "completed" })),
        )
        .await;
        let timeline = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
            .await
            .ok();
        let kinds: Vec<&str> = timeline.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["request.created", "request.updated", "request.updated"]
        );
    }
}

/// The built-in campaign with elements: a text, a page break, a mandatory document (PDF
/// only), a mandatory question and an optional one.
async fn campaign_with_elements(app: &TestApp) {
    call(app, Method::GET, "/v1/campaigns", None).await;
    app.patch(
        &app.owner_token,
        "/api/v1/request-types/collect",
        json!({"items": [
            {"kind": "note", "key": "intro", "label": "Welcome", "instructions": "Two things, please."},
            {"kind": "page", "key": "page-2", "label": "Your documents"},
            {"kind": "document", "key": "passport", "label": "Passport", "required": true, "allowed_types": ["application/pdf"]},
            {"kind": "question", "key": "income", "label": "Yearly income", "required": true, "answer_type": {"type": "number", "min": 0}},
            {"kind": "question", "key": "notes", "label": "Anything else", "answer_type": {"type": "long_text"}}
        ]}),
    )
    .await
    .expect(200, "");
}

fn queued_messages(timeline: &Value) -> Vec<Value> {
    timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message.queued")
        .map(|e| e["changes"][0]["new"].clone())
        .collect()
}

backend_tests! {
    #[tokio::test]
    async fn elements_are_the_campaigns_items_and_are_reviewed_one_by_one() {
        let app = spawn_app().await;
        campaign_with_elements(&app).await;
        // `items` sends a subset of the campaign's elements.
        let made = create(&app, elon(), json!({"items": ["intro", "passport", "income"], "sendRejectionMessage": true, "sendCompletionMessage": true})).await;
        let id = made["_id"].as_str().unwrap().to_owned();
        let portal = made["portalUrl"].as_str().unwrap().to_owned();
        let got = call(&app, Method::GET, &format!("/v1/requests/{id}"), None).await;
        assert_eq!(got.status.as_u16(), 200, "{}", got.body);
        let r = &got.body["request"];
        assert_eq!(r["texts"][0]["text"], "Two things, please.");
        assert_eq!(r["pages"], json!([]), "the page break was not sent");
        assert_eq!(r["forms"].as_array().unwrap().len(), 1, "{r}");
        let doc = &r["documents"][0];
        assert_eq!((doc["itemId"].as_str(), doc["type"].as_str(), doc["status"].as_str()), (Some("passport"), Some("docs"), Some("pending")));
        assert_eq!((doc["mandatory"].as_bool(), doc["extensions"].clone()), (Some(true), json!(["application/pdf"])));
        let form = &r["forms"][0];
        assert_eq!(form["items"][0]["name"], "Yearly income");
        assert_eq!(form["items"][0]["type"], "number");
        let (doc_id, form_id) = (doc["_id"].as_str().unwrap().to_owned(), form["_id"].as_str().unwrap().to_owned());
        // An unknown element of the campaign is refused, and nothing is created.
        let before = call(&app, Method::GET, "/v1/requests", None).await.body["total"].clone();
        let bad = call(&app, Method::POST, "/v1/request", Some(json!({"campaignId": "collect", "contact": elon(), "items": ["nope"]}))).await;
        expect_error(&bad, 400);
        assert_eq!(call(&app, Method::GET, "/v1/requests", None).await.body["total"], before);

        // The contact uploads the document through the portal; its upload has a signed URL.
        let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
        let part = reqwest::multipart::Part::bytes(pdf.clone()).file_name("passport.pdf");
        app.send(app.request(Method::POST, &format!("{portal}/items/{doc_id}/files"), None).multipart(reqwest::multipart::Form::new().part("file", part))).await;
        let got = call(&app, Method::GET, &format!("/v1/requests/{id}?expires=60"), None).await;
        let upload = got.body["request"]["documents"][0]["uploads"][0].clone();
        assert_eq!(upload["name"], "passport.pdf");
        let expires_at = chrono::DateTime::parse_from_rfc3339(upload["expiresAt"].as_str().unwrap()).unwrap();
        let left = expires_at.signed_duration_since(chrono::Utc::now()).num_seconds();
        assert!((50..=61).contains(&left), "expires in {left}s");
        let url = upload["url"].as_str().unwrap();
        let url = if url.starts_with('/') { app.url(url) } else { url.to_owned() };
        let fetched = app.client.get(url).send().await.unwrap();
        assert_eq!(fetched.status().as_u16(), 200);
        assert_eq!(fetched.bytes().await.unwrap().to_vec(), pdf);
        for bad in ["0", "3601", "soon"] {
            expect_error(&call(&app, Method::GET, &format!("/v1/requests/{id}?expires={bad}"), None).await, 400);
        }

        // Answering the last mandatory element: everything submitted, the request waits.
        let answered = call(&app, Method::PATCH, "/v1/elements", Some(json!({"elementId": form_id, "answer": 52000}))).await;
        assert_eq!(answered.status.as_u16(), 200, "{}", answered.body);
        assert_eq!(answered.body["status"], "submitted");
        assert_eq!(answered.body["request"]["_id"], id.as_str());
        let wrong = call(&app, Method::PATCH, "/v1/elements", Some(json!({"elementId": form_id, "answer": -5}))).await;
        expect_error(&wrong, 400);
        let now = call(&app, Method::GET, &format!("/v1/requests/{id}"), None).await;
        assert_eq!(now.body["request"]["status"], "waiting");
        assert_eq!(now.body["request"]["forms"][0]["items"][0]["answer"], 52000);

        // Rejecting with a reason; back to pending sends the rejection message listing it.
        let rejected = call(&app, Method::PATCH, "/v1/elements", Some(json!({"elementId": doc_id, "status": "rejected", "reason": "The photo page is cut off"}))).await;
        assert_eq!((rejected.body["status"].as_str(), rejected.body["reason"].as_str()), (Some("rejected"), Some("The photo page is cut off")));
        assert_eq!(rejected.body["uploads"][0]["name"], "passport.pdf");
        expect_error(&call(&app, Method::PATCH, "/v1/elements", Some(json!({"elementId": doc_id, "status": "rejected"}))).await, 400);
        expect_error(&call(&app, Method::PATCH, "/v1/elements", Some(json!({"elementId": doc_id, "status": "maybe"}))).await, 400);
        expect_error(&call(&app, Method::PATCH, "/v1/elements", Some(json!({"elementId": uuid::Uuid::now_v7().to_string(), "status": "approved"}))).await, 404);
        call(&app, Method::PATCH, "/v1/request", Some(json!({"requestId": id, "status": "pending"}))).await;
        let timeline = app.get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline")).await.ok();
        let queued = queued_messages(&timeline.body);
        assert_eq!(queued.len(), 1, "{queued:?}");
        assert_eq!(queued[0]["template"], "rejection");
        assert_eq!(queued[0]["items"][0]["label"], "Passport");
        assert_eq!(queued[0]["items"][0]["reason"], "The photo page is cut off");

        // The contact sends it again; approving everything completes the request.
        let part = reqwest::multipart::Part::bytes(pdf).file_name("passport-full.pdf");
        app.send(app.request(Method::POST, &format!("{portal}/items/{doc_id}/files"), None).multipart(reqwest::multipart::Form::new().part("file", part))).await;
        for element in [&form_id, &doc_id] {
            let ok = call(&app, Method::PATCH, "/v1/elements", Some(json!({"elementId": element, "status": "approved"}))).await;
            assert_eq!(ok.body["status"], "approved", "{}", ok.body);
        }
        let done = call(&app, Method::GET, &format!("/v1/requests/{id}"), None).await;
        assert_eq!(done.body["request"]["status"], "completed");
        assert_eq!(done.body["request"]["documents"][0]["uploads"][0]["name"], "passport-full.pdf");
        let timeline = app.get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline")).await.ok();
        let queued = queued_messages(&timeline.body);
        assert_eq!(queued.last().unwrap()["template"], "completion", "{queued:?}");
    }

    #[tokio::test]
    async fn one_call_sends_to_many_contacts_or_to_none() {
        let app = spawn_app().await;
        campaign_with_elements(&app).await;
        let contacts = json!([elon(), {"email": "ada@example.com", "firstName": "Ada"}, "contact-42"]);
        let sent = call(&app, Method::POST, "/v1/requests", Some(json!({"campaignId": "collect", "contacts": contacts, "items": ["passport"]}))).await;
        assert_eq!(sent.status.as_u16(), 200, "{}", sent.body);
        let requests = sent.body["requests"].as_array().unwrap();
        assert_eq!(requests.len(), 3);
        let portals: std::collections::BTreeSet<&str> = requests.iter().map(|r| r["portalUrl"].as_str().unwrap()).collect();
        assert_eq!(portals.len(), 3, "each contact has its own portal link");
        assert_eq!(requests[1]["contact"]["email"], "ada@example.com");
        assert_eq!(requests[2]["contact"]["_id"], "contact-42");
        let one = call(&app, Method::GET, &format!("/v1/requests/{}", requests[0]["_id"].as_str().unwrap()), None).await;
        assert_eq!(one.body["request"]["documents"].as_array().unwrap().len(), 1);
        assert_eq!(one.body["request"]["forms"], json!([]));
        let total = call(&app, Method::GET, "/v1/requests", None).await.body["total"].clone();
        assert_eq!(total, 3);

        // One bad contact fails the whole call: nothing is created.
        let bad = call(&app, Method::POST, "/v1/requests", Some(json!({"campaignId": "collect", "contacts": [elon(), {"email": "not an email"}]}))).await;
        expect_error(&bad, 400);
        assert!(bad.body["errors"][0]["message"].as_str().unwrap().contains("contacts[1]"), "{}", bad.body);
        let many: Vec<Value> = (0..51).map(|i| json!({"email": format!("c{i}@example.com")})).collect();
        expect_error(&call(&app, Method::POST, "/v1/requests", Some(json!({"campaignId": "collect", "contacts": many}))).await, 400);
        expect_error(&call(&app, Method::POST, "/v1/requests", Some(json!({"campaignId": "collect", "contacts": []}))).await, 400);
        assert_eq!(call(&app, Method::GET, "/v1/requests", None).await.body["total"], total);
    }
}
