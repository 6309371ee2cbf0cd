//! The desk and the portal in a real browser (headless Chromium through chromedriver):
//! what a moderator and a recipient do, click by click. The SQLite runs also save the
//! README's screenshots to `docs/screenshots/`.

mod common;

use common::chrome::Chrome;
use common::web::{documents_type, set_password};
use common::*;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

fn screenshots() -> bool {
    current_backend() == Backend::Sqlite
}

async fn link(app: &TestApp, request: &Value, body: Value) -> String {
    app.post(
        OWNER_TOKEN,
        &format!("/api/v1/requests/{}/links", request["id"].as_str().unwrap()),
        body,
    )
    .await
    .expect(201, "")
    .body["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_moderator_signs_in_filters_opens_a_request_downloads_a_file_and_moves_it_to_done() {
        let app = spawn_app().await;
        let (mod_id, _) = app.add_member("moderator").await;
        let me = app.get(OWNER_TOKEN, &format!("/api/v1/members/{mod_id}")).await.ok();
        let email = me.body["email"].as_str().unwrap().to_owned();
        set_password(&app, &mod_id, PASSWORD).await;
        for (title, due) in [("Replace the lobby carpet", "2031-03-01"), ("Invoice for March", "2020-01-01"), ("Broken printer on floor 2", "2031-04-01")] {
            app.create_request(OWNER_TOKEN, json!({ "title": title, "due_at": due, "description": "Reported at the front desk." })).await;
        }
        let chrome = Chrome::start(1280, 900).await;
        chrome.goto(&app.url("/desk/requests")).await;
        chrome.wait_for("#email").await;
        chrome.fill("#email", &email).await;
        chrome.fill("#password", PASSWORD).await;
        chrome.click("form button[type=submit]").await;
        chrome.wait_for("#request-list").await;
        assert!(chrome.source().await.contains("Broken printer"));

        chrome.fill("input[name=q]", "carpet").await;
        chrome.click(".filters button[type=submit]").await;
        chrome.wait_for("input[name=q][value=carpet]").await;
        let listed = chrome.text("#request-list tbody").await;
        assert!(listed.contains("Replace the lobby carpet"));
        assert!(!listed.contains("Broken printer") && !listed.contains("Invoice"));
        let url = chrome.client.current_url().await.unwrap();
        assert!(url.as_str().contains("q=carpet"), "the filter is saved in the URL: {url}");
        if screenshots() {
            chrome.goto(&app.url("/desk/requests")).await;
            chrome.wait_for("#request-list").await;
            chrome.screenshot("desk-requests").await;
            chrome.goto(&app.url("/desk")).await;
            chrome.wait_for("svg.chart").await;
            chrome.screenshot("desk-dashboard").await;
            chrome.goto(&app.url("/desk/requests?q=carpet")).await;
            chrome.wait_for("#request-list").await;
        }

        let carpet = app.list_all(OWNER_TOKEN, "q=carpet").await[0]["id"].as_str().unwrap().to_owned();
        app.send(app.request(reqwest::Method::POST, &format!("/api/v1/requests/{carpet}/files?name=quote.txt"), Some(OWNER_TOKEN)).body("Carpet quote: 1200 EUR"))
            .await
            .expect(201, "");
        chrome.click("#request-list tbody a").await;
        chrome.wait_for("button[data-status=done]").await;
        // The download link works with the browser's session (fetched by the page itself).
        let href = chrome.client.find(fantoccini::Locator::Css(".files a")).await.unwrap().attr("href").await.unwrap().unwrap();
        let body = chrome
            .client
            .execute_async("const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text()).then(done);", vec![json!(href)])
            .await
            .unwrap();
        assert_eq!(body, json!("Carpet quote: 1200 EUR"));
        chrome.click("button[data-status=done]").await;
        chrome.wait_for(".flash.notice").await;
        assert_eq!(chrome.text("#status").await, "Done");
        let timeline = chrome.text("#timeline").await;
        assert!(timeline.contains("status: Open → Done"), "{timeline}");
        if screenshots() {
            chrome.screenshot("desk-request").await;
        }
        let done = app.list_all(OWNER_TOKEN, "q=carpet").await;
        assert_eq!(done[0]["status"], "done");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_recipient_opens_the_link_uploads_two_files_and_completes() {
        let app = spawn_app().await;
        documents_type(&app).await;
        let r = app.create_request(OWNER_TOKEN, json!({ "type": "documents", "title": "Send your tax forms",
            "description": "Please upload last year's W-2 and 1099 forms.", "due_at": "2031-01-31",
            "data": { "files_wanted": ["W-2", "1099-INT"] } })).await;
        let token = link(&app, &r, json!({ "mode": "one_time" })).await;
        let chrome = Chrome::start(390, 844).await;
        chrome.goto(&app.url(&format!("/p/{token}"))).await;
        chrome.wait_for("#title").await;
        assert_eq!(chrome.text("#title").await, "Send your tax forms");
        assert!(chrome.text("#wanted").await.contains("1099-INT"));
        if screenshots() {
            chrome.screenshot("portal-phone").await;
        }
        // Two files chosen in the file input; the page's script uploads each with progress.
        let dir = tempfile::tempdir().unwrap();
        let (w2, f1099) = (dir.path().join("w2.pdf"), dir.path().join("1099.txt"));
        std::fs::write(&w2, b"%PDF-1.4\n% a W-2\n").unwrap();
        std::fs::write(&f1099, b"1099-INT: interest 12.34").unwrap();
        let input = chrome.client.find(fantoccini::Locator::Css("#files-input")).await.unwrap();
        input.send_keys(&format!("{}\n{}", w2.display(), f1099.display())).await.unwrap();
        chrome.click("form[data-upload] button[type=submit]").await;
        chrome.wait_for_text("#files", &["w2.pdf", "1099.txt"]).await;
        let stored = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{}/files", r["id"].as_str().unwrap())).await.ok();
        let types: Vec<_> = stored.body["items"].as_array().unwrap().iter().map(|f| f["content_type"].as_str().unwrap().to_owned()).collect();
        assert_eq!(types.len(), 2);
        assert!(types.contains(&"application/pdf".to_owned()) && types.contains(&"text/plain".to_owned()), "{types:?}");
        if screenshots() {
            chrome.screenshot("portal-uploaded").await;
        }
        chrome.fill("#note", "Both forms attached.").await;
        chrome.click("form[action$='/notes'] button").await;
        chrome.wait_for(".flash.notice").await;
        chrome.click("#complete").await;
        chrome.wait_for_text("h1", &["This request is complete"]).await;
        let now = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{}", r["id"].as_str().unwrap())).await.ok();
        assert_eq!(now.body["status"], "received");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_expired_link_is_refused() {
        let app = spawn_app().await;
        documents_type(&app).await;
        let r = app.create_request(OWNER_TOKEN, json!({ "type": "documents", "title": "Too late" })).await;
        let token = link(&app, &r, json!({ "mode": "multi_use", "expires_at": "2020-01-01T00:00:00Z" })).await;
        let chrome = Chrome::start(1024, 700).await;
        chrome.goto(&app.url(&format!("/p/{token}"))).await;
        chrome.wait_for("h1").await;
        assert_eq!(chrome.text("h1").await, "This link has expired");
        assert!(!chrome.source().await.contains("<form"), "an expired link offers nothing to submit");
        if screenshots() {
            chrome.screenshot("portal-expired").await;
        }
    }
}

/// A type whose workflow follows its items (all answered: in review; all approved: done;
/// sent back: asked again), asking for two answers and a payslip (PDF).
async fn payroll_type(app: &TestApp) {
    app.post(
        OWNER_TOKEN,
        "/api/v1/request-types",
        json!({ "key": "payroll", "name": "Payroll details", "workflow": {
            "statuses": [
                {"key": "asked", "label": "Asked", "category": "open", "initial": true},
                {"key": "review", "label": "In review", "category": "in_progress"},
                {"key": "done", "label": "Done", "category": "done"}
            ],
            "transitions": [
                {"from": "asked", "to": "review", "by": ["recipient", "requests:manage"]},
                {"from": "review", "to": "asked", "by": ["requests:manage"]},
                {"from": "review", "to": "done", "by": ["requests:manage"]}
            ],
            "on_items": {"submitted": "review", "approved": "done", "sent_back": "asked"}},
          "items": [
            {"kind": "question", "key": "employer", "label": "Employer", "required": true, "answer_type": {"type": "text"}},
            {"kind": "question", "key": "children", "label": "Number of children", "required": true, "answer_type": {"type": "number", "min": 0}},
            {"kind": "document", "key": "payslip", "label": "Latest payslip", "required": true, "allowed_types": ["application/pdf"]}
          ]}),
    )
    .await
    .expect(201, "");
}

/// Whether the page scrolls sideways (wider than its window).
async fn scrolls_sideways(chrome: &Chrome) -> bool {
    let v = chrome
        .client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    v.as_bool().unwrap()
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_recipient_answers_items_on_a_phone_and_staff_review_them_on_the_desk() {
        let folder = tempfile::tempdir().unwrap();
        let app = spawn_app_mailing_to(folder.path()).await;
        payroll_type(&app).await;
        set_password(&app, &app.owner_id.clone(), PASSWORD).await;
        let r = app.create_request(OWNER_TOKEN, json!({ "type": "payroll", "title": "Payroll details for 2027",
            "data": { "contact": { "email": "ann@example.com", "name": "Ann" } } })).await;
        let (id, number) = (r["id"].as_str().unwrap().to_owned(), r["number"].as_i64().unwrap());
        let token = link(&app, &r, json!({ "mode": "multi_use" })).await;
        let items = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}/items")).await.ok().body["items"].clone();
        let item = |key: &str| items.as_array().unwrap().iter().find(|i| i["key"] == key).unwrap()["id"].as_str().unwrap().to_owned();
        let (employer, children, payslip) = (item("employer"), item("children"), item("payslip"));
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("payslip-december-2026-acme-ltd-gross-and-net-salary-statement.pdf");
        let second = dir.path().join("payslip-clear.pdf");
        std::fs::write(&first, b"%PDF-1.4\n% blurry\n").unwrap();
        std::fs::write(&second, b"%PDF-1.4\n% sharp\n").unwrap();

        // The recipient, on a phone: the answers save as they type; the upload confirms.
        let phone = Chrome::start(390, 844).await;
        let portal = app.url(&format!("/p/{token}"));
        phone.goto(&portal).await;
        phone.wait_for("#items").await;
        assert_eq!(phone.text("#asking").await, "Owner of Default is asking you for something");
        assert!(phone.client.find(fantoccini::Locator::Css("#complete[disabled]")).await.is_ok(), "nothing answered yet");
        phone.fill(&format!("#answer-{employer}"), "ACME Ltd").await;
        phone.wait_for_text(&format!("#item-{employer} .saved"), &["Saved"]).await;
        phone.fill(&format!("#answer-{children}"), "2").await;
        phone.wait_for_text(&format!("#item-{children} .saved"), &["Saved"]).await;
        phone.wait_for_text(&format!("#item-{children} .item-state"), &["Sent, waiting for review"]).await;
        let input = phone.client.find(fantoccini::Locator::Css(&format!("#file-{payslip}"))).await.unwrap();
        input.send_keys(&first.display().to_string()).await.unwrap();
        phone.click(&format!("#item-{payslip} button[type=submit]")).await;
        phone.wait_for_text(".flash.notice", &["Sent: payslip-december-2026"]).await;
        assert!(!scrolls_sideways(&phone).await, "a long file name wraps on a phone");
        if screenshots() {
            phone.screenshot("portal-items").await;
        }
        let now = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}")).await.ok();
        assert_eq!(now.body["status"], "review", "every required item answered: in review");

        // Staff reject the payslip with a reason on the desk and send it back.
        let desk = Chrome::start(1280, 900).await;
        desk.goto(&app.url("/desk/login")).await;
        desk.wait_for("#email").await;
        desk.fill("#email", OWNER_EMAIL).await;
        desk.fill("#password", PASSWORD).await;
        desk.click("form button[type=submit]").await;
        desk.wait_for(".bar").await;
        desk.goto(&app.url(&format!("/desk/requests/{number}"))).await;
        desk.wait_for("#items").await;
        desk.fill(&format!("#reason-{payslip}"), "The scan is blurry; send a sharper one").await;
        desk.click(&format!("#item-{payslip} form.reject button")).await;
        desk.wait_for("#send-back").await;
        assert!(desk.text(&format!("#item-{payslip} .item-state")).await.contains("Needs changes: The scan is blurry"));
        desk.click("#send-back").await;
        desk.wait_for_text(".flash.notice", &["Sent back"]).await;

        // The contact's email names the item and the reason and links the portal.
        let mut sent = Vec::new();
        for _ in 0..100 {
            sent = mails(folder.path());
            if sent.iter().any(|m| m.contains("Latest payslip")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mail = sent.iter().find(|m| m.contains("Latest payslip")).unwrap_or_else(|| panic!("no rejection email in {sent:?}"));
        assert!(mail.contains("ann@example.com"), "{mail}");
        assert!(mail.contains("- Latest payslip: The scan is blurry; send a sharper one"), "{mail}");
        assert!(mail.contains(&format!("/p/{token}")), "{mail}");

        // The portal says what to fix; the recipient sends it again.
        phone.goto(&portal).await;
        phone.wait_for_text(&format!("#item-{payslip} .item-state"), &["Needs changes: The scan is blurry; send a sharper one"]).await;
        let input = phone.client.find(fantoccini::Locator::Css(&format!("#file-{payslip}"))).await.unwrap();
        input.send_keys(&second.display().to_string()).await.unwrap();
        phone.click(&format!("#item-{payslip} button[type=submit]")).await;
        phone.wait_for_text(".flash.notice", &["Sent: payslip-clear.pdf"]).await;

        // Staff approve all three; the request is done, and the payslip's history lists both.
        desk.goto(&app.url(&format!("/desk/requests/{number}"))).await;
        for it in [&employer, &children, &payslip] {
            desk.wait_for(&format!("#item-{it} button[data-review=approve]")).await;
            desk.click(&format!("#item-{it} button[data-review=approve]")).await;
            desk.wait_for_text(".flash.notice", &["Item approved"]).await;
        }
        let now = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}")).await.ok();
        assert_eq!(now.body["status"], "done");
        assert_eq!(desk.text("#status").await, "Done");
        let history = desk.text(&format!("#item-{payslip} .history")).await;
        assert!(history.contains("History (2)"), "{history}");
        desk.client.execute("document.querySelectorAll('details.history').forEach(d => d.open = true);", vec![]).await.unwrap();
        if screenshots() {
            desk.client.execute("document.getElementById('items-h').scrollIntoView();", vec![]).await.unwrap();
            desk.screenshot("desk-items").await;
        }
        let history = desk.text(&format!("#item-{payslip} .history")).await;
        assert!(history.contains("payslip-december-2026") && history.contains("payslip-clear.pdf"), "{history}");
    }
}

/// A Collect call, with the API key as HTTP Basic's password as Collect's clients send it.
async fn collect(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> Value {
    let mut b = app
        .client
        .request(method.clone(), app.url(path))
        .basic_auth("", Some(OWNER_TOKEN));
    if !body.is_null() {
        b = b.json(&body);
    }
    let r = app.send(b).await;
    assert!(
        r.status.is_success(),
        "{method} {path}: {} {}",
        r.status,
        r.body
    );
    r.body
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn a_recipient_answers_collects_elements_on_a_phone_and_staff_review_them_through_collects_api() {
        use reqwest::Method;
        let folder = tempfile::tempdir().unwrap();
        let app = spawn_app_mailing_to(folder.path()).await;
        // The campaign's elements: two questions and a payslip (PDF).
        collect(&app, Method::GET, "/v1/campaigns", Value::Null).await;
        app.patch(OWNER_TOKEN, "/api/v1/request-types/collect", json!({"items": [
            {"kind": "question", "key": "employer", "label": "Employer", "required": true, "answer_type": {"type": "text"}},
            {"kind": "question", "key": "children", "label": "Number of children", "required": true, "answer_type": {"type": "number", "min": 0}},
            {"kind": "document", "key": "payslip", "label": "Latest payslip", "required": true, "allowed_types": ["application/pdf"]}
        ]})).await.expect(200, "");
        let made = collect(&app, Method::POST, "/v1/request", json!({
            "campaignId": "collect",
            "contact": {"email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"},
            "sendRejectionMessage": true, "sendCompletionMessage": true
        })).await["request"].clone();
        let id = made["_id"].as_str().unwrap().to_owned();
        let portal = app.url(made["portalUrl"].as_str().unwrap());
        let got = collect(&app, Method::GET, &format!("/v1/requests/{id}"), Value::Null).await;
        let forms = got["request"]["forms"].as_array().unwrap().clone();
        let form = |name: &str| forms.iter().find(|f| f["items"][0]["name"] == name).unwrap()["_id"].as_str().unwrap().to_owned();
        let (employer, children) = (form("Employer"), form("Number of children"));
        let payslip = got["request"]["documents"][0]["_id"].as_str().unwrap().to_owned();
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("payslip-blurry.pdf");
        let second = dir.path().join("payslip-clear.pdf");
        std::fs::write(&first, b"%PDF-1.4\n% blurry\n").unwrap();
        std::fs::write(&second, b"%PDF-1.4\n% sharp\n").unwrap();

        // The contact opens the portal on a phone, answers both questions, uploads the payslip.
        let phone = Chrome::start(390, 844).await;
        phone.goto(&portal).await;
        phone.wait_for("#items").await;
        assert_eq!(phone.text("#asking").await, "Owner of Default is asking you for something");
        phone.fill(&format!("#answer-{employer}"), "ACME Ltd").await;
        phone.wait_for_text(&format!("#item-{employer} .saved"), &["Saved"]).await;
        phone.fill(&format!("#answer-{children}"), "2").await;
        phone.wait_for_text(&format!("#item-{children} .saved"), &["Saved"]).await;
        let input = phone.client.find(fantoccini::Locator::Css(&format!("#file-{payslip}"))).await.unwrap();
        input.send_keys(&first.display().to_string()).await.unwrap();
        phone.click(&format!("#item-{payslip} button[type=submit]")).await;
        phone.wait_for_text(".flash.notice", &["Sent: payslip-blurry.pdf"]).await;
        assert!(!scrolls_sideways(&phone).await);

        // Collect sees every element submitted: the request waits for review.
        let got = collect(&app, Method::GET, &format!("/v1/requests/{id}"), Value::Null).await;
        assert_eq!(got["request"]["status"], "waiting", "{}", got["request"]);
        assert_eq!(got["request"]["forms"].as_array().unwrap().iter().map(|f| f["items"][0]["answer"].clone()).collect::<Vec<_>>(), [json!("ACME Ltd"), json!(2)]);
        assert_eq!(got["request"]["documents"][0]["uploads"][0]["name"], "payslip-blurry.pdf");

        // Staff reject the payslip with a reason and send the request back to pending.
        let rejected = collect(&app, Method::PATCH, "/v1/elements", json!({"elementId": payslip, "status": "rejected", "reason": "The scan is blurry; send a sharper one"})).await;
        assert_eq!(rejected["status"], "rejected");
        collect(&app, Method::PATCH, "/v1/request", json!({"requestId": id, "status": "pending"})).await;
        let mut sent = Vec::new();
        for _ in 0..100 {
            sent = mails(folder.path());
            if sent.iter().any(|m| m.contains("Latest payslip")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mail = sent.iter().find(|m| m.contains("Latest payslip")).unwrap_or_else(|| panic!("no rejection email in {sent:?}"));
        assert!(mail.contains("ann@example.com"), "{mail}");
        assert!(mail.contains("- Latest payslip: The scan is blurry; send a sharper one"), "{mail}");
        assert!(mail.contains(made["portalUrl"].as_str().unwrap()), "{mail}");

        // The portal says what to fix; the contact sends a sharper scan.
        phone.goto(&portal).await;
        phone.wait_for_text(&format!("#item-{payslip} .item-state"), &["Needs changes: The scan is blurry; send a sharper one"]).await;
        let input = phone.client.find(fantoccini::Locator::Css(&format!("#file-{payslip}"))).await.unwrap();
        input.send_keys(&second.display().to_string()).await.unwrap();
        phone.click(&format!("#item-{payslip} button[type=submit]")).await;
        phone.wait_for_text(".flash.notice", &["Sent: payslip-clear.pdf"]).await;

        // Staff approve every element through Collect's API: the request is completed, and
        // the payslip's history (the native API's submissions) lists both uploads.
        for element in [&employer, &children, &payslip] {
            let ok = collect(&app, Method::PATCH, "/v1/elements", json!({"elementId": element, "status": "approved"})).await;
            assert_eq!(ok["status"], "approved", "{ok}");
        }
        let done = collect(&app, Method::GET, &format!("/v1/requests/{id}"), Value::Null).await;
        assert_eq!(done["request"]["status"], "completed");
        assert_eq!(done["request"]["documents"][0]["uploads"][0]["name"], "payslip-clear.pdf");
        let history = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}/items/{payslip}/submissions")).await.ok();
        let files: Vec<Value> = history.body["items"].as_array().unwrap().iter().map(|s| s["files"].clone()).collect();
        assert_eq!(files.len(), 2, "{}", history.body);
        phone.goto(&portal).await;
        phone.wait_for_text(&format!("#item-{payslip} .item-state"), &["Approved"]).await;
    }
}
