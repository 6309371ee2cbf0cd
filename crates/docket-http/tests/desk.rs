//! The web desk over HTTP: signing in and out, the CSRF check on forms, the list's
//! filters, the buttons a member gets, stale pages, and the dashboard.

mod common;

use common::web::{self, desk_member, set_password, Browser};
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// The General type's items template, through the API.
async fn general_items(app: &TestApp) -> Value {
    app.get(OWNER_TOKEN, "/api/v1/request-types/general")
        .await
        .expect(200, "")
        .body["items"]
        .clone()
}

async fn owner_browser(app: &TestApp) -> Browser {
    set_password(app, &app.owner_id, PASSWORD).await;
    let mut b = Browser::new(app);
    b.sign_in(OWNER_EMAIL, PASSWORD).await;
    b
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn signing_in_takes_the_right_password_and_sets_a_safe_cookie() {
        let app = spawn_app().await;
        set_password(&app, &app.owner_id, PASSWORD).await;
        let mut b = Browser::new(&app);

        let away = b.get("/desk/requests?q=x").await;
        assert_eq!(away.status, StatusCode::SEE_OTHER);
        assert_eq!(away.location.as_deref(), Some("/desk/login?next=%2Fdesk%2Frequests%3Fq%3Dx"));

        let wrong = b.post("/desk/login", &[("email", OWNER_EMAIL), ("password", "not the password")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.html.contains("do not match"));
        assert!(wrong.set_cookie.is_none());
        let unknown = b.post("/desk/login", &[("email", "nobody@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "an unknown email reads like a wrong password");

        let ok = b
            .post("/desk/login", &[("email", OWNER_EMAIL), ("password", PASSWORD), ("next", "https://evil.example/")])
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER);
        assert_eq!(ok.location.as_deref(), Some("/desk"), "no open redirect");
        let cookie = ok.set_cookie.clone().unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        b.sign_in(OWNER_EMAIL, PASSWORD).await;
        let home = b.get("/desk").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.html.contains("Dashboard"));

        // Signing out ends the session on the server, not only in the browser.
        let old = b.cookie.clone();
        let out = b.post("/desk/logout", &[("csrf", &home.csrf())]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
        b.cookie = old;
        assert_eq!(b.get("/desk").await.status, StatusCode::SEE_OTHER);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sign_in_attempts_are_rate_limited() {
        let app = spawn_app().await;
        set_password(&app, &app.owner_id, PASSWORD).await;
        let b = Browser::new(&app);
        let mut statuses = Vec::new();
        for _ in 0..8 {
            statuses.push(b.post("/desk/login", &[("email", OWNER_EMAIL), ("password", "guess guess guess")]).await.status);
        }
        assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
        assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
        let right = b.post("/desk/login", &[("email", OWNER_EMAIL), ("password", PASSWORD)]).await;
        assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_form_needs_the_sessions_csrf_token() {
        let app = spawn_app().await;
        let b = owner_browser(&app).await;
        let id = app.request_id("Needs a comment").await;
        let number = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}")).await.ok().body["number"].as_i64().unwrap();
        let path = format!("/desk/requests/{number}/comments");
        let none = b.post(&path, &[("body", "forged")]).await;
        assert_eq!(none.status, StatusCode::FORBIDDEN);
        let wrong = b.post(&path, &[("body", "forged"), ("csrf", "guessed")]).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        let page = b.get(&format!("/desk/requests/{number}")).await;
        let ok = b.post(&path, &[("body", "Looks good to me"), ("csrf", &page.csrf())]).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER);
        assert!(ok.location.unwrap().contains("notice="));
        let timeline = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}/timeline")).await.ok();
        let comments: Vec<_> = timeline.body["items"].as_array().unwrap().iter().filter_map(|e| e["comment"].as_str()).collect();
        assert_eq!(comments, vec!["Looks good to me"], "only the genuine form went through");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_list_filters_and_searches_like_the_api_with_filters_in_the_url() {
        let app = spawn_app().await;
        let b = owner_browser(&app).await;
        app.create_request(OWNER_TOKEN, json!({ "title": "Invoice for March", "tags": ["billing"] })).await;
        app.create_request(OWNER_TOKEN, json!({ "title": "Broken printer", "tags": ["it"] })).await;
        app.create_request(OWNER_TOKEN, json!({ "title": "Invoice for April", "due_at": "2020-01-01" })).await;
        let titles = |html: &str| -> Vec<String> {
            html.split("<td><a href=\"/desk/requests/").skip(1)
                .filter_map(|s| s.split_once('>').and_then(|(_, rest)| rest.split_once('<')).map(|(t, _)| t.to_owned()))
                .collect()
        };
        let all = b.get("/desk/requests").await;
        assert_eq!(titles(&all.html).len(), 3);
        let invoices = b.get("/desk/requests?q=invoice&sort=number&direction=asc").await;
        assert_eq!(titles(&invoices.html), vec!["Invoice for March", "Invoice for April"]);
        assert!(invoices.html.contains("value=\"invoice\""), "the search box keeps the query");
        let tagged = b.get("/desk/requests?tag=it").await;
        assert_eq!(titles(&tagged.html), vec!["Broken printer"]);
        let late = b.get("/desk/requests?overdue=true").await;
        assert_eq!(titles(&late.html), vec!["Invoice for April"]);
        let bad = b.get("/desk/requests?category=sideways").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "a bad filter is a clear error page");
        let board = b.get("/desk/board?q=invoice").await;
        assert_eq!(board.status, StatusCode::OK);
        assert!(board.html.contains("Invoice for March") && !board.html.contains("Broken printer"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_list_and_board_show_each_requests_item_progress() {
        let app = spawn_app().await;
        let b = owner_browser(&app).await;
        let id = app.request_id("Tax documents").await;
        app.request_id("No items").await;
        let items = format!("/api/v1/requests/{id}/items");
        for label in ["Employer", "Payslip"] {
            app.post(OWNER_TOKEN, &items, json!({"kind": "question", "label": label, "answer_type": {"type": "text"}})).await.expect(201, "");
        }
        let first = app.get(OWNER_TOKEN, &items).await.expect(200, "").body["items"][0]["id"].as_str().unwrap().to_owned();
        app.post(OWNER_TOKEN, &format!("{items}/{first}/answer"), json!({"answer": "ACME"})).await.expect(200, "");
        let list = b.get("/desk/requests").await;
        assert!(list.html.contains("0/2 approved · 1 to review"), "{}", list.html);
        assert_eq!(list.html.matches("class=\"muted progress\"").count(), 1, "only the request with items");
        let board = b.get("/desk/board").await;
        assert!(board.html.contains("0/2 approved · 1 to review"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn items_are_reviewed_and_sent_back_from_the_request_page() {
        let app = spawn_app().await;
        let b = owner_browser(&app).await;
        let made = app.create_request(OWNER_TOKEN, json!({ "title": "Tax documents" })).await;
        let (id, number) = (made["id"].as_str().unwrap().to_owned(), made["number"].as_i64().unwrap());
        let items = format!("/api/v1/requests/{id}/items");
        let add = |body: Value| {
            let (app, items) = (&app, &items);
            async move { app.post(OWNER_TOKEN, items, body).await.expect(201, "").body["id"].as_str().unwrap().to_owned() }
        };
        let question = add(json!({"kind": "question", "label": "Employer", "required": true, "answer_type": {"type": "text"}})).await;
        let document = add(json!({"kind": "document", "label": "Payslip", "required": true})).await;
        app.post(OWNER_TOKEN, &format!("{items}/{question}/answer"), json!({"answer": "ACME Ltd"})).await.expect(200, "");
        let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
        app.send(
            app.request(reqwest::Method::POST, &format!("{items}/{document}/files?name=payslip.pdf"), Some(OWNER_TOKEN))
                .header("content-type", "application/octet-stream")
                .body(pdf.clone()),
        )
        .await
        .expect(200, "");

        let path = format!("/desk/requests/{number}");
        let page = b.get(&path).await;
        assert!(page.html.contains("Requested items"), "{}", page.html);
        assert!(page.html.contains("ACME Ltd") && page.html.contains("payslip.pdf"));
        assert_eq!(page.html.matches("data-review=\"approve\"").count(), 2);
        let etag = |html: &str, item: &str| -> String {
            let at = html.find(&format!("/items/{item}/review")).expect("a review form");
            let rest = &html[at..];
            let marker = "name=\"etag\" value=\""; let v = &rest[rest.find(marker).unwrap() + marker.len()..];
            web::unescape(&v[..v.find('"').unwrap()])
        };
        let review = |item: &str| format!("{path}/items/{item}/review");
        let approved = b.post(&review(&question), &[("csrf", &page.csrf()), ("etag", &etag(&page.html, &question)), ("verdict", "approve")]).await;
        let loc = approved.location.unwrap(); assert!(loc.contains("notice="), "{loc}");
        // A rejection needs a reason, and a decision on a stale item is refused.
        let stale_etag = etag(&page.html, &document);
        let no_reason = b.post(&review(&document), &[("csrf", &page.csrf()), ("etag", &stale_etag), ("verdict", "reject"), ("reason", " ")]).await;
        assert!(no_reason.location.unwrap().contains("error="));
        let rejected = b.post(&review(&document), &[("csrf", &page.csrf()), ("etag", &stale_etag), ("verdict", "reject"), ("reason", "The scan is blurry")]).await;
        assert!(rejected.location.unwrap().contains("notice="));
        let stale = b.post(&review(&document), &[("csrf", &page.csrf()), ("etag", &stale_etag), ("verdict", "approve")]).await;
        assert!(stale.location.unwrap().contains("This+item+changed"), "a stale review is refused");
        let doc = app.get(OWNER_TOKEN, &format!("{items}/{document}")).await.expect(200, "");
        assert_eq!(doc.body["state"], "rejected");
        assert_eq!(doc.body["reason"], "The scan is blurry");

        let page = b.get(&path).await;
        assert!(page.html.contains("Needs changes: The scan is blurry"), "{}", page.html);
        assert!(page.html.contains("id=\"send-back\""));
        let sent = b.post(&format!("{path}/send-back"), &[("csrf", &page.csrf())]).await;
        assert!(sent.location.unwrap().contains("Sent+back"));
        let timeline = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}/timeline")).await.expect(200, "");
        assert!(timeline.body["items"].as_array().unwrap().iter().any(|e| e["kind"] == "request.sent_back"));

        // Staff upload onto the item on the recipient's behalf; its history lists both.
        let form = reqwest::multipart::Form::new()
            .text("csrf", page.csrf())
            .part("file", reqwest::multipart::Part::bytes(pdf).file_name("payslip-clear.pdf"));
        let uploaded = b.post_multipart(&format!("{path}/items/{document}/files"), form).await;
        assert!(uploaded.location.as_deref().unwrap_or_default().contains("payslip-clear.pdf+uploaded"), "{:?}", uploaded.location);
        let doc = app.get(OWNER_TOKEN, &format!("{items}/{document}")).await.expect(200, "");
        assert_eq!((doc.body["state"].as_str(), doc.body["submissions"].as_u64()), (Some("submitted"), Some(2)));
        let page = b.get(&path).await;
        assert!(page.html.contains("History (2)"), "{}", page.html);
        assert!(page.html.contains("payslip.pdf") && page.html.contains("payslip-clear.pdf"));
        // Without a session's CSRF token the upload stores nothing.
        let forged = reqwest::multipart::Form::new()
            .text("csrf", "forged")
            .part("file", reqwest::multipart::Part::bytes(b"%PDF-1.4\n".to_vec()).file_name("x.pdf"));
        let refused = b.post_multipart(&format!("{path}/items/{document}/files"), forged).await;
        assert!(refused.location.as_deref().unwrap_or_default().contains("error="));
        let doc = app.get(OWNER_TOKEN, &format!("{items}/{document}")).await.expect(200, "");
        assert_eq!(doc.body["submissions"], 2);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_types_items_template_is_edited_with_a_form() {
        let app = spawn_app().await;
        let b = owner_browser(&app).await;
        let page = b.get("/desk/settings").await;
        assert!(page.html.contains("Items asked for"));
        let path = "/desk/settings/types/general/items";
        let csrf = page.csrf();
        let saved = b
            .post(path, &[("csrf", &csrf), ("i0.order", "0"), ("i0.kind", "document"), ("i0.label", "Passport"),
                ("i0.instructions", "The photo page"), ("i0.allowed_types", "application/pdf, image/*"), ("i0.max_files", "2"),
                ("i0.required", "on"), ("i1.kind", ""), ("i1.label", "")])
            .await;
        assert!(saved.location.unwrap().contains("notice="));
        let got = general_items(&app).await;
        assert_eq!(got[0]["label"], "Passport");
        assert_eq!(got[0]["allowed_types"], json!(["application/pdf", "image/*"]));
        assert_eq!((got[0]["max_files"].as_u64(), got[0]["required"].as_bool()), (Some(2), Some(true)));
        let key = got[0]["key"].as_str().unwrap().to_owned();

        // A choice question added before it (order), the document kept by its key.
        let saved = b
            .post(path, &[("csrf", &csrf), ("i0.order", "2"), ("i0.key", &key), ("i0.kind", "document"), ("i0.label", "Passport"),
                ("i0.required", "on"), ("i1.order", "1"), ("i1.kind", "question"), ("i1.label", "Colour"), ("i1.answer", "choices"),
                ("i1.options", "red\r\nblue")])
            .await;
        assert!(saved.location.unwrap().contains("notice="));
        let got = general_items(&app).await;
        assert_eq!(got[0]["label"], "Colour");
        assert_eq!(got[0]["answer_type"], json!({"type": "choice", "options": ["red", "blue"], "multiple": true}));
        assert_eq!((got[1]["label"].as_str(), got[1]["key"].as_str()), (Some("Passport"), Some(key.as_str())));
        let page = b.get("/desk/settings").await;
        assert!(page.html.contains("value=\"Colour\""));

        // A bad bound is refused and changes nothing; a removed row is gone.
        let refused = b
            .post(path, &[("csrf", &csrf), ("i0.kind", "question"), ("i0.label", "Age"), ("i0.answer", "number"), ("i0.min", "young")])
            .await;
        assert!(refused.location.unwrap().contains("error="));
        assert_eq!(general_items(&app).await.as_array().unwrap().len(), 2);
        let refused = b.post(path, &[("csrf", &csrf), ("i0.kind", "question"), ("i0.label", "")]).await;
        assert!(refused.location.unwrap().contains("error="), "a label is required");
        b.post(path, &[("csrf", &csrf), ("i0.key", &key), ("i0.kind", "document"), ("i0.label", "Passport"), ("i0.remove", "on")]).await;
        assert_eq!(general_items(&app).await, json!([]));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn members_get_buttons_only_for_moves_they_may_take() {
        let app = spawn_app().await;
        let (_, member_email, _) = desk_member(&app, "member", PASSWORD).await;
        let (_, mod_email, _) = desk_member(&app, "moderator", PASSWORD).await;
        let made = app.create_request(OWNER_TOKEN, json!({ "title": "Fix the door" })).await;
        let number = made["number"].as_i64().unwrap();
        let path = format!("/desk/requests/{number}");

        let mut member = Browser::new(&app);
        member.sign_in(&member_email, PASSWORD).await;
        let page = member.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.html.contains("data-status="), "a member may not move another's request");
        // Posting the form anyway is refused by the same rule as the API.
        let refused = member.post(&format!("{path}/status"), &[("csrf", &page.csrf()), ("etag", &page.field("etag").unwrap()), ("to", "done")]).await;
        assert!(refused.location.unwrap().contains("error="));

        let mut moderator = Browser::new(&app);
        moderator.sign_in(&mod_email, PASSWORD).await;
        let page = moderator.get(&path).await;
        for status in ["in_progress", "waiting", "done", "canceled"] {
            assert!(page.html.contains(&format!("data-status=\"{status}\"")), "{status}");
        }
        let moved = moderator.post(&format!("{path}/status"), &[("csrf", &page.csrf()), ("etag", &page.field("etag").unwrap()), ("to", "done")]).await;
        assert!(moved.location.unwrap().contains("notice="));
        let now = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{}", made["id"].as_str().unwrap())).await.ok();
        assert_eq!(now.body["status"], "done");
        let after = moderator.get(&path).await;
        assert_eq!(after.text_of("status").as_deref(), Some("Done"));
        assert!(after.html.contains("status: Open → Done"), "the timeline shows the move");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_stale_page_does_not_overwrite_a_newer_change() {
        let app = spawn_app().await;
        let b = owner_browser(&app).await;
        let made = app.create_request(OWNER_TOKEN, json!({ "title": "Contested" })).await;
        let number = made["number"].as_i64().unwrap();
        let page = b.get(&format!("/desk/requests/{number}")).await;
        app.patch(OWNER_TOKEN, &format!("/api/v1/requests/{}", made["id"].as_str().unwrap()), json!({ "status": "waiting" })).await.ok();
        let stale = b.post(&format!("/desk/requests/{number}/status"), &[("csrf", &page.csrf()), ("etag", &page.field("etag").unwrap()), ("to", "done")]).await;
        assert!(stale.location.unwrap().contains("Someone+changed+this+request"));
        let now = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{}", made["id"].as_str().unwrap())).await.ok();
        assert_eq!(now.body["status"], "waiting");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn assign_due_date_and_new_request_forms_work_without_javascript() {
        let app = spawn_app().await;
        let b = owner_browser(&app).await;
        let (mod_id, _, _) = desk_member(&app, "moderator", PASSWORD).await;
        let form = b.get("/desk/requests/new").await;
        let filed = b.post("/desk/requests", &[("csrf", &form.csrf()), ("type", "general"), ("title", "Order chairs"), ("description", "Ten of them"), ("due", "2031-05-01"), ("assignee", "")]).await;
        assert_eq!(filed.status, StatusCode::SEE_OTHER);
        let path = filed.location.unwrap();
        let path = path.split('?').next().unwrap().to_owned();
        let page = b.get(&path).await;
        assert!(page.html.contains("Order chairs") && page.html.contains("2031-05-01"));
        let assigned = b.post(&format!("{path}/assignee"), &[("csrf", &page.csrf()), ("etag", &page.field("etag").unwrap()), ("assignee", &mod_id)]).await;
        assert!(assigned.location.unwrap().contains("notice="));
        let page = b.get(&path).await;
        assert!(page.text_of("assignee").unwrap().starts_with("moderator"));
        let cleared = b.post(&format!("{path}/due"), &[("csrf", &page.csrf()), ("etag", &page.field("etag").unwrap()), ("due", "")]).await;
        assert!(cleared.location.unwrap().contains("notice="));
        let listed = app.list_all(OWNER_TOKEN, "q=chairs").await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["assignee_id"], mod_id.as_str());
        assert!(listed[0]["due_at"].is_null());
        let empty_title = b.post("/desk/requests", &[("csrf", &form.csrf()), ("type", "general"), ("title", "  ")]).await;
        assert!(empty_title.location.unwrap().starts_with("/desk/requests/new?error="));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_dashboard_counts_unfinished_overdue_and_completed_work() {
        let app = spawn_app().await;
        let b = owner_browser(&app).await;
        app.create_request(OWNER_TOKEN, json!({ "title": "Late", "due_at": "2020-01-01" })).await;
        app.create_request(OWNER_TOKEN, json!({ "title": "Open" })).await;
        let done = app.create_request(OWNER_TOKEN, json!({ "title": "Finished" })).await;
        app.patch(OWNER_TOKEN, &format!("/api/v1/requests/{}", done["id"].as_str().unwrap()), json!({ "status": "done" })).await.ok();
        let page = b.get("/desk").await;
        assert_eq!(page.text_of("open-total").as_deref(), Some("2"));
        assert_eq!(page.text_of("overdue-total").as_deref(), Some("1"));
        assert_eq!(page.text_of("completed-total").as_deref(), Some("1"));
        assert_eq!(page.text_of("median").as_deref(), Some("under a minute"));
        assert!(page.html.contains("<svg class=\"chart\""));
        assert!(page.html.contains("3 requests were opened and 1 completed"));
        // Ten are listed; more than ten show as "10+".
        for i in 0..9 {
            app.create_request(OWNER_TOKEN, json!({ "title": format!("Late {i}"), "due_at": "2020-01-02" })).await;
        }
        let ten = b.get("/desk").await;
        assert_eq!(ten.text_of("overdue-total").as_deref(), Some("10"));
        app.create_request(OWNER_TOKEN, json!({ "title": "Late 10", "due_at": "2020-01-03" })).await;
        let more = b.get("/desk").await;
        assert_eq!(more.text_of("overdue-total").as_deref(), Some("10+"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn settings_follow_the_members_role() {
        let app = spawn_app().await;
        let owner = owner_browser(&app).await;
        let (_, mod_email, _) = desk_member(&app, "moderator", PASSWORD).await;
        let page = owner.get("/desk/settings").await;
        let added = owner.post("/desk/settings/members", &[("csrf", &page.csrf()), ("email", "new@example.com"), ("name", "Newcomer"), ("role", "member"), ("password", "a long enough password")]).await;
        assert!(added.location.unwrap().contains("notice="));
        let mut newcomer = Browser::new(&app);
        newcomer.sign_in("new@example.com", "a long enough password").await;

        let issued = owner.post("/desk/settings/tokens", &[("csrf", &page.csrf()), ("name", "ci"), ("scope", "requests:read"), ("scope", "members:read")]).await;
        assert_eq!(issued.status, StatusCode::OK);
        let secret = issued.text_of("new-token").expect("the secret is shown once");
        let me = app.get(&secret, "/api/v1/me").await.ok();
        assert_eq!(me.body["member"]["email"], OWNER_EMAIL);
        assert!(!owner.get("/desk/settings").await.html.contains(&secret), "never shown again");

        let mut moderator = Browser::new(&app);
        moderator.sign_in(&mod_email, PASSWORD).await;
        let page = moderator.get("/desk/settings").await;
        assert!(!page.html.contains("Add a member"), "moderators do not manage members");
        let forced = moderator.post("/desk/settings/members", &[("csrf", &page.csrf()), ("email", "x@example.com"), ("name", "X"), ("role", "owner")]).await;
        assert!(forced.location.unwrap().contains("error="));
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn files_upload_from_the_request_page_and_download_with_the_session() {
        let app = spawn_app().await;
        let b = owner_browser(&app).await;
        let made = app.create_request(OWNER_TOKEN, json!({ "title": "Lease" })).await;
        let number = made["number"].as_i64().unwrap();
        let path = format!("/desk/requests/{number}");
        let page = b.get(&path).await;
        let part = |name: &str, bytes: &'static [u8]| {
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned())
        };

        // Without the session's CSRF token before the files, nothing is stored.
        let forged = reqwest::multipart::Form::new().part("file", part("evil.txt", b"forged"));
        let refused = b.post_multipart(&format!("{path}/files"), forged).await;
        assert!(refused.location.unwrap().contains("error="));
        let listed = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{}/files", made["id"].as_str().unwrap())).await.ok();
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 0);

        let form = reqwest::multipart::Form::new()
            .text("csrf", page.csrf())
            .text("shared", "on")
            .part("file", part("lease.txt", b"The lease, signed."))
            .part("file", part("../../notes.txt", b"second file"));
        let sent = b.post_multipart(&format!("{path}/files"), form).await;
        assert!(sent.location.unwrap().contains("2+files+uploaded"));
        let page = b.get(&path).await;
        assert!(page.html.contains(">lease.txt</a>") && page.html.contains("shown to the recipient"));
        let listed = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{}/files", made["id"].as_str().unwrap())).await.ok();
        let items = listed.body["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|f| !f["name"].as_str().unwrap().contains('/')), "names are sanitised");
        let lease = items.iter().find(|f| f["name"] == "lease.txt").unwrap();
        let got = b.get(&format!("/desk/files/{}", lease["id"].as_str().unwrap())).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.html, "The lease, signed.");
        let timeline = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{}/timeline", made["id"].as_str().unwrap())).await.ok();
        let file_events = timeline.body["items"].as_array().unwrap().iter()
            .filter(|e| e["changes"].as_array().is_some_and(|c| c.iter().any(|c| c["field"] == "files"))).count();
        assert_eq!(file_events, 2, "each upload is on the timeline");

        let away = Browser::new(&app).get(&format!("/desk/files/{}", lease["id"].as_str().unwrap())).await;
        assert_eq!(away.status, StatusCode::SEE_OTHER, "downloads need a session");
    }
}
