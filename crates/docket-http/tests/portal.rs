//! The recipient portal over HTTP: what the recipient sees, notes, completion through the
//! workflow's recipient transition, and links that accept nothing.

mod common;

use common::web::{documents_type, Browser};
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A documents request with a public link: `(request, link)`.
async fn asked(app: &TestApp, mode: &str) -> (Value, Value) {
    let r = app
        .create_request(
            OWNER_TOKEN,
            json!({ "type": "documents", "title": "Send your tax forms",
            "description": "Please upload last year's forms.", "due_at": "2031-01-31",
            "data": { "files_wanted": ["W-2", "1099-INT"] } }),
        )
        .await;
    let link = app
        .post(
            OWNER_TOKEN,
            &format!("/api/v1/requests/{}/links", r["id"].as_str().unwrap()),
            json!({ "mode": mode }),
        )
        .await
        .expect(201, "")
        .body;
    (r, link)
}

fn token(link: &Value) -> String {
    link["token"].as_str().unwrap().to_owned()
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_recipient_sees_the_ask_leaves_a_note_and_completes_once() {
        let app = spawn_app().await;
        documents_type(&app).await;
        let (r, link) = asked(&app, "one_time").await;
        let b = Browser::new(&app);
        let path = format!("/p/{}", token(&link));
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.text_of("title").as_deref(), Some("Send your tax forms"));
        assert_eq!(page.text_of("prompt").as_deref(), Some("Please upload last year's forms."));
        assert!(page.html.contains("<li>W-2</li>") && page.html.contains("<li>1099-INT</li>"));
        assert!(page.html.contains("2031-01-31"));
        assert!(page.html.contains("Mark as received"));

        let noted = b.post(&format!("{path}/notes"), &[("body", "The 1099 follows next week.")]).await;
        assert_eq!(noted.status, StatusCode::SEE_OTHER);
        assert!(noted.location.unwrap().contains("notice="));
        let id = r["id"].as_str().unwrap();
        let timeline = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}/timeline")).await.ok();
        let last = timeline.body["items"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["kind"], "request.commented");
        assert_eq!(last["comment"], "The 1099 follows next week.");
        assert!(last["actor"]["member_id"].is_null());

        let done = b.post(&format!("{path}/complete"), &[]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let now = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}")).await.ok();
        assert_eq!(now.body["status"], "received");

        // One-time: closed after completion, with a page that says so, accepting nothing.
        let closed = b.get(&path).await;
        assert_eq!(closed.status, StatusCode::GONE);
        assert!(closed.html.contains("This request is complete"));
        let again = b.post(&format!("{path}/notes"), &[("body", "one more")]).await;
        assert_eq!(again.status, StatusCode::GONE);
        let twice = b.post(&format!("{path}/complete"), &[]).await;
        assert_eq!(twice.status, StatusCode::GONE);
        let timeline = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}/timeline")).await.ok();
        assert_eq!(timeline.body["items"].as_array().unwrap().len(), 3, "created, note, completion");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn expired_revoked_and_canceled_links_say_so_and_accept_nothing() {
        let app = spawn_app().await;
        documents_type(&app).await;
        let b = Browser::new(&app);

        let (r, link) = asked(&app, "multi_use").await;
        let id = r["id"].as_str().unwrap();
        app.send(app.request(reqwest::Method::DELETE, &format!("/api/v1/requests/{id}/links/{}", link["id"].as_str().unwrap()), Some(OWNER_TOKEN))).await.ok();
        let revoked = b.get(&format!("/p/{}", token(&link))).await;
        assert_eq!(revoked.status, StatusCode::GONE);
        assert!(revoked.html.contains("revoked"));

        let (r, link) = asked(&app, "multi_use").await;
        app.patch(OWNER_TOKEN, &format!("/api/v1/requests/{}", r["id"].as_str().unwrap()), json!({ "status": "withdrawn" })).await.ok();
        let canceled = b.get(&format!("/p/{}", token(&link))).await;
        assert_eq!(canceled.status, StatusCode::GONE);
        assert!(canceled.html.contains("closed"));
        let refused = b.post(&format!("/p/{}/complete", token(&link)), &[]).await;
        assert_eq!(refused.status, StatusCode::GONE);

        let r = app.create_request(OWNER_TOKEN, json!({ "type": "documents", "title": "Too late" })).await;
        let expired = app
            .post(OWNER_TOKEN, &format!("/api/v1/requests/{}/links", r["id"].as_str().unwrap()), json!({ "mode": "one_time", "expires_at": "2020-01-01T00:00:00Z" }))
            .await
            .expect(201, "")
            .body;
        let page = b.get(&format!("/p/{}", token(&expired))).await;
        assert_eq!(page.status, StatusCode::GONE);
        assert!(page.html.contains("expired"));
        let note = b.post(&format!("/p/{}/notes", token(&expired)), &[("body", "hello?")]).await;
        assert_eq!(note.status, StatusCode::GONE);
        let unchanged = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{}", r["id"].as_str().unwrap())).await.ok();
        assert_eq!(unchanged.body["status"], "asked");
        assert_eq!(unchanged.body["version"], 1);

        let unknown = b.get("/p/0123456789abcdef").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(b.get("/p/not-a-token").await.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn without_a_recipient_transition_the_link_takes_notes_but_not_completion() {
        let app = spawn_app().await;
        let r = app.create_request(OWNER_TOKEN, json!({ "title": "General ask" })).await;
        let link = app.post(OWNER_TOKEN, &format!("/api/v1/requests/{}/links", r["id"].as_str().unwrap()), json!({ "mode": "multi_use" })).await.expect(201, "").body;
        let b = Browser::new(&app);
        let page = b.get(&format!("/p/{}", token(&link))).await;
        assert!(page.html.contains("The sender will close this request"));
        assert!(!page.html.contains("id=\"complete\""));
        let forced = b.post(&format!("/p/{}/complete", token(&link)), &[]).await;
        assert!(forced.location.unwrap().contains("error="));
        let now = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{}", r["id"].as_str().unwrap())).await.ok();
        assert_eq!(now.body["status"], "open");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn gippers_link_for_copy_opens_the_portal() {
        let app = spawn_app().await;
        let made = app
            .send(app.request(reqwest::Method::POST, "/api/v4/content_requests", None)
                .header("Authentication", format!("Bearer {OWNER_TOKEN}"))
                .json(&json!({ "content_request": { "name": "Photos of the flat", "recipient": "tenant",
                    "prompt": "Kitchen and bathroom", "expiration_date": "2031/06/07", "time_type": "one_time" } })))
            .await;
        assert!(made.status.is_success(), "{}", made.body);
        let link = made.body["link_for_copy"].as_str().unwrap().to_owned();
        let b = Browser::new(&app);
        let hop = b.get(&link).await;
        assert_eq!(hop.status, StatusCode::SEE_OTHER);
        let page = b.get(hop.location.as_deref().unwrap()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.text_of("title").as_deref(), Some("Photos of the flat"));
        assert!(page.html.contains("Kitchen and bathroom"));
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_recipient_uploads_files_sees_them_and_then_the_closed_link_takes_no_more() {
        let app = spawn_app().await;
        documents_type(&app).await;
        let (r, link) = asked(&app, "one_time").await;
        let id = r["id"].as_str().unwrap();
        let b = Browser::new(&app);
        let path = format!("/p/{}", token(&link));
        let part = |name: &str, bytes: &'static [u8]| reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
        let form = reqwest::multipart::Form::new()
            .part("file", part("w2.txt", b"W-2 contents"))
            .part("file", part("1099.txt", b"1099 contents"));
        let sent = b.post_multipart(&format!("{path}/files"), form).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER);
        assert!(sent.location.unwrap().contains("2+files+uploaded"));

        // An internal file of the request is not shown to the recipient.
        app.send(app.request(reqwest::Method::POST, &format!("/api/v1/requests/{id}/files?name=internal.txt"), Some(OWNER_TOKEN)).body("staff only")).await.expect(201, "");
        let page = b.get(&path).await;
        assert!(page.html.contains("w2.txt") && page.html.contains("1099.txt"));
        assert!(!page.html.contains("internal.txt"));
        let files = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}/files")).await.ok();
        let items = files.body["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 3);
        let w2 = items.iter().find(|f| f["name"] == "w2.txt").unwrap();
        assert_eq!(w2["uploaded_by"]["kind"], "link");
        let got = b.get(&format!("{path}/files/{}", w2["id"].as_str().unwrap())).await;
        assert_eq!(got.html, "W-2 contents");
        let internal = items.iter().find(|f| f["name"] == "internal.txt").unwrap();
        let hidden = b.get(&format!("{path}/files/{}", internal["id"].as_str().unwrap())).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);

        // JSON for the page's script.
        let one = reqwest::multipart::Form::new().part("file", part("late.txt", b"late"));
        let scripted = app.send(app.client.post(app.url(&format!("{path}/files"))).header("accept", "application/json").multipart(one)).await;
        assert_eq!(scripted.status.as_u16(), 201);

        b.post(&format!("{path}/complete"), &[]).await;
        let after = reqwest::multipart::Form::new().part("file", part("after.txt", b"too late"));
        let refused = b.post_multipart(&format!("{path}/files"), after).await;
        assert_eq!(refused.status, StatusCode::GONE);
        let files = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}/files")).await.ok();
        assert_eq!(files.body["items"].as_array().unwrap().len(), 4, "nothing after the link closed");
    }
}

backend_tests! {
    #[tokio::test]
    async fn pages_send_security_headers_and_the_portal_no_referrer() {
        let app = spawn_app().await;
        documents_type(&app).await;
        let (_, link) = asked(&app, "multi_use").await;
        let header = |r: &reqwest::Response, name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let get = |path: String| {
            let req = app.request(reqwest::Method::GET, &path, None);
            async move { req.send().await.expect("the server answers") }
        };
        for (path, referrer) in [
            ("/desk/login".to_owned(), "same-origin"),
            (format!("/p/{}", token(&link)), "no-referrer"),
        ] {
            let r = get(path.clone()).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let csp = header(&r, "content-security-policy");
            for directive in ["script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"] {
                assert!(csp.contains(directive), "{path}: {csp}");
            }
            assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
            assert_eq!(header(&r, "x-frame-options"), "DENY", "{path}");
            assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
            assert_eq!(header(&r, "cache-control"), "no-store", "{path}");
            assert_eq!(header(&r, "referrer-policy"), referrer, "{path}");
            let html = r.text().await.unwrap();
            assert!(!html.contains("<script>"), "{path}: no inline script");
        }
        // Assets stay cacheable.
        let css = get("/assets/docket.css".to_owned()).await;
        assert_ne!(header(&css, "cache-control"), "no-store");
        assert_eq!(header(&css, "x-content-type-options"), "nosniff");
    }
}

backend_tests! {
    #[tokio::test]
    async fn the_recipient_answers_items_one_by_one_and_sees_what_needs_changes() {
        let app = spawn_app().await;
        let id = app.request_id("Tax documents").await;
        let items = format!("/api/v1/requests/{id}/items");
        let question = app
            .post(&app.owner_token, &items, json!({"kind": "question", "label": "Employer", "required": true, "answer_type": {"type": "text"}}))
            .await
            .expect(201, "")
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let count = app
            .post(&app.owner_token, &items, json!({"kind": "question", "label": "Children", "answer_type": {"type": "number", "min": 0}}))
            .await
            .expect(201, "")
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let document = app
            .post(&app.owner_token, &items, json!({"kind": "document", "label": "Payslip", "required": true}))
            .await
            .expect(201, "")
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let url = app
            .post(&app.owner_token, &format!("/api/v1/requests/{id}/links"), json!({"mode": "multi_use"}))
            .await
            .expect(201, "")
            .body["url"]
            .as_str()
            .unwrap()
            .to_owned();
        let page = app.send(app.request(reqwest::Method::GET, &url, None)).await;
        let html = page.body.as_str().unwrap().to_owned();
        assert!(html.contains("What is asked"), "{html}");
        assert!(html.contains("Employer") && html.contains("Payslip"));
        assert!(html.contains("Needed"));
        // Answers as a form posts them, without JavaScript.
        let form = |path: String, body: &'static str| {
            app.request(reqwest::Method::POST, &path, None)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        };
        let saved = app.send(form(format!("{url}/items/{question}"), "answer=ACME+Ltd")).await;
        assert!(saved.status.is_redirection() || saved.status.is_success(), "{:?}", saved.status);
        app.send(form(format!("{url}/items/{count}"), "answer=2")).await;
        let part = reqwest::multipart::Part::bytes(b"%PDF-1.4\n%%EOF\n".to_vec())
            .file_name("payslip-november-2026-with-a-very-long-name-that-must-wrap.pdf");
        let upload = app
            .send(
                app.request(reqwest::Method::POST, &format!("{url}/items/{document}/files"), None)
                    .multipart(reqwest::multipart::Form::new().part("file", part)),
            )
            .await;
        assert!(upload.status.is_redirection() || upload.status.is_success(), "{:?}", upload.status);
        let listed = app.get(&app.owner_token, &items).await.expect(200, "");
        let states: Vec<&str> = listed.body["items"].as_array().unwrap().iter().map(|i| i["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["submitted", "submitted", "submitted"]);
        assert_eq!(listed.body["items"][1]["answer"], 2.0);
        let history = app.get(&app.owner_token, &format!("{items}/{document}/submissions")).await.expect(200, "");
        assert!(history.body["items"][0]["link_id"].is_string());
        // A rejection shows with its reason; a bad answer is refused and changes nothing.
        app.patch(&app.owner_token, &format!("{items}/{question}"), json!({"state": "rejected", "reason": "Give the full legal name"}))
            .await
            .expect(200, "");
        let html = app.send(app.request(reqwest::Method::GET, &url, None)).await.body.as_str().unwrap().to_owned();
        assert!(html.contains("Needs changes: Give the full legal name"), "{html}");
        assert!(html.contains("Sent, waiting for review"));
        app.send(form(format!("{url}/items/{count}"), "answer=-3")).await;
        let listed = app.get(&app.owner_token, &items).await.expect(200, "");
        assert_eq!(listed.body["items"][1]["answer"], 2.0);
        assert_eq!(listed.body["items"][1]["submissions"], 1);
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn send_for_review_waits_for_every_required_item_and_every_page_says_who_asks() {
        let app = spawn_app().await;
        documents_type(&app).await;
        let (r, link) = asked(&app, "multi_use").await;
        let id = r["id"].as_str().unwrap();
        let items = format!("/api/v1/requests/{id}/items");
        let question = app
            .post(OWNER_TOKEN, &items, json!({"kind": "question", "label": "Employer", "required": true, "answer_type": {"type": "text"}}))
            .await
            .expect(201, "")
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.post(OWNER_TOKEN, &items, json!({"kind": "question", "label": "Notes", "answer_type": {"type": "long_text"}}))
            .await
            .expect(201, "");
        let b = Browser::new(&app);
        let path = format!("/p/{}", token(&link));
        let page = b.get(&path).await;
        assert_eq!(page.text_of("asking").as_deref(), Some("Owner of Default is asking you for something"));
        assert!(page.html.contains("Send for review"));
        assert!(page.html.contains("id=\"complete\" disabled"), "{}", page.html);
        assert!(page.html.contains("Still needed before you can send this for review: <span>Employer</span>"));
        // Sending anyway is refused: the rule is the domain's, not the button's.
        let early = b.post(&format!("{path}/complete"), &[]).await;
        assert!(early.location.unwrap().contains("error="));
        assert_eq!(app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}")).await.ok().body["status"], "asked");

        // The page's script saves as the recipient types and asks for JSON back.
        let saved = app
            .send(
                app.request(reqwest::Method::POST, &format!("{path}/items/{question}"), None)
                    .header("accept", "application/json")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("answer=ACME+Ltd"),
            )
            .await
            .expect(200, "");
        assert_eq!(saved.body["state_key"], "submitted");
        assert_eq!(saved.body["state"], "Sent, waiting for review");
        assert_eq!(saved.body["missing"], json!([]));
        let refused = app
            .send(
                app.request(reqwest::Method::POST, &format!("{path}/items/{question}"), None)
                    .header("accept", "application/json")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("answer="),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);

        let page = b.get(&path).await;
        assert!(page.html.contains("<button type=\"submit\" id=\"complete\">Send for review</button>"), "{}", page.html);
        let done = b.post(&format!("{path}/complete"), &[]).await;
        assert!(done.location.unwrap().contains("sent+for+review"));
        assert_eq!(app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}")).await.ok().body["status"], "received");
        // A completed multi-use link says so, once, and not that the sender will close it.
        let after = b.get(&path).await;
        assert!(after.text_of("completed").unwrap().starts_with("Thank you: you have sent this request on."));
        assert!(!after.html.contains("The sender will close"), "{}", after.html);

        // The closed page still says who was asking.
        app.send(app.request(reqwest::Method::DELETE, &format!("/api/v1/requests/{id}/links/{}", link["id"].as_str().unwrap()), Some(OWNER_TOKEN))).await.ok();
        let closed = b.get(&path).await;
        assert_eq!(closed.status, StatusCode::GONE);
        assert_eq!(closed.text_of("asking").as_deref(), Some("Asked by Owner of Default"));
        let note = b.post(&format!("{path}/notes"), &[("body", "late")]).await;
        assert_eq!(note.status, StatusCode::GONE);
        assert!(note.html.contains("Asked by Owner of Default"));
    }
}
