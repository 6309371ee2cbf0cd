//! One conversation with the person asked: staff comments are internal unless made public;
//! a public one shows on the portal and is emailed to the contact with the portal link; the
//! recipient writes back on the portal, which the assignee (else the requester) is emailed.

mod common;

use common::web::{documents_type, Browser};
use common::*;
use serde_json::{json, Value};

async fn wait_for_mail(folder: &std::path::Path, needle: &str) -> String {
    for _ in 0..200 {
        if let Some(m) = mails(folder).into_iter().find(|m| m.contains(needle)) {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no email containing {needle:?} in {:?}", mails(folder));
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn public_comments_reach_the_recipient_and_the_recipient_answers_on_the_portal() {
        let folder = tempfile::tempdir().unwrap();
        let app = spawn_app_mailing_to(folder.path()).await;
        documents_type(&app).await;
        let r = app.create_request(OWNER_TOKEN, json!({ "type": "documents", "title": "Your tax forms",
            "data": { "contact": { "email": "ann@example.com", "name": "Ann" } } })).await;
        let id = r["id"].as_str().unwrap().to_owned();
        let link = app.post(OWNER_TOKEN, &format!("/api/v1/requests/{id}/links"), json!({ "mode": "multi_use" })).await.expect(201, "").body;
        let token = link["token"].as_str().unwrap().to_owned();
        let comments = format!("/api/v1/requests/{id}/comments");

        // An internal comment (the default) and a public one.
        let internal = app.post(OWNER_TOKEN, &comments, json!({ "body": "She filed late last year too." })).await.expect(201, "");
        assert_eq!(internal.body["visibility"], "internal");
        let public = app.post(OWNER_TOKEN, &comments, json!({ "body": "Could you also send the 1099?", "visibility": "public" })).await.expect(201, "");
        assert_eq!(public.body["visibility"], "public");
        assert_eq!(public.body["from_recipient"], false);
        app.post(OWNER_TOKEN, &comments, json!({ "body": "x", "visibility": "everyone" })).await.expect(422, "validation_failed");

        // The contact is emailed the public one, with the portal link; never the internal one.
        let mail = wait_for_mail(folder.path(), "Could you also send the 1099?").await;
        assert!(mail.contains("ann@example.com"), "{mail}");
        assert!(mail.contains(&format!("/p/{token}")), "{mail}");
        assert!(!mails(folder.path()).iter().any(|m| m.contains("filed late")), "an internal comment is never emailed");

        // The portal shows the public conversation only.
        let b = Browser::new(&app);
        let page = b.get(&format!("/p/{token}")).await;
        assert!(page.html.contains("Could you also send the 1099?"), "{}", page.html);
        assert!(!page.html.contains("filed late"), "an internal comment is never on the portal");

        // The recipient answers; it is a public comment from the recipient, and the
        // requester (no assignee) is emailed it.
        let sent = b.post(&format!("/p/{token}/notes"), &[("body", "Yes, it comes on Friday.")]).await;
        assert_eq!(sent.status.as_u16(), 303);
        let page = b.get(&format!("/p/{token}")).await;
        let conversation = page.text_of("conversation").unwrap_or_default();
        assert!(page.html.contains("Yes, it comes on Friday."), "{}", page.html);
        assert!(conversation.contains("You") || page.html.contains("<strong>You</strong>"), "{}", page.html);
        let listed = app.get(OWNER_TOKEN, &comments).await.ok();
        let last: &Value = listed.body["items"].as_array().unwrap().last().unwrap();
        assert_eq!((last["from_recipient"].as_bool(), last["visibility"].as_str()), (Some(true), Some("public")));
        let told = wait_for_mail(folder.path(), "Yes, it comes on Friday.").await;
        assert!(told.contains(OWNER_EMAIL), "{told}");
        assert!(told.contains("Ann wrote"), "{told}");
        // A member's email links the request's page on the desk.
        assert!(told.contains(&format!("/desk/requests/{}", r["number"])), "{told}");

        // Each message has its own Message-ID and threads under the request, as mail
        // clients read them.
        let header = |raw: &str, name: &str| -> String {
            let parsed = mailparse::parse_mail(raw.as_bytes()).expect("a well-formed message");
            use mailparse::MailHeaderMap;
            parsed.headers.get_first_value(name).unwrap_or_else(|| panic!("no {name} in {raw}"))
        };
        let (a, b) = (header(&mail, "Message-ID"), header(&told, "Message-ID"));
        assert!(a.starts_with('<') && a.ends_with("@docket.example>") && a != b, "{a} {b}");
        let thread = format!("<request-{id}@docket.example>");
        for m in [&mail, &told] {
            assert_eq!(header(m, "In-Reply-To"), thread);
            assert_eq!(header(m, "References"), thread);
        }
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn the_desk_makes_a_comment_public_with_a_checkbox() {
        let app = spawn_app().await;
        documents_type(&app).await;
        let r = app.create_request(OWNER_TOKEN, json!({ "type": "documents", "title": "Forms" })).await;
        let (id, number) = (r["id"].as_str().unwrap().to_owned(), r["number"].as_i64().unwrap());
        let link = app.post(OWNER_TOKEN, &format!("/api/v1/requests/{id}/links"), json!({ "mode": "multi_use" })).await.expect(201, "").body;
        common::web::set_password(&app, &app.owner_id.clone(), "correct horse battery").await;
        let mut desk = Browser::new(&app);
        desk.sign_in(OWNER_EMAIL, "correct horse battery").await;
        let page = desk.get(&format!("/desk/requests/{number}")).await;
        let csrf = page.csrf();
        desk.post(&format!("/desk/requests/{number}/comments"), &[("csrf", &csrf), ("body", "Internal note")]).await;
        let shown = desk.post(&format!("/desk/requests/{number}/comments"), &[("csrf", &csrf), ("body", "Hello Ann"), ("visibility", "public")]).await;
        let to = shown.location.clone().unwrap_or_default();
        assert!(to.contains("Message"), "the flash says it went to the recipient: {to} {}", shown.html);
        let listed = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}/comments")).await.ok();
        let vis: Vec<&str> = listed.body["items"].as_array().unwrap().iter().map(|c| c["visibility"].as_str().unwrap()).collect();
        assert_eq!(vis, ["internal", "public"]);
        let portal = Browser::new(&app).get(&format!("/p/{}", link["token"].as_str().unwrap())).await;
        assert!(portal.html.contains("Hello Ann") && !portal.html.contains("Internal note"));
        let timeline = desk.get(&format!("/desk/requests/{number}")).await;
        assert!(timeline.html.contains("wrote to the recipient") && timeline.html.contains("commented (internal)"));
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn emails_name_the_status_by_its_label_and_link_where_the_reader_can_act() {
        let folder = tempfile::tempdir().unwrap();
        let app = spawn_app_mailing_to(folder.path()).await;
        documents_type(&app).await;
        let r = app.create_request(OWNER_TOKEN, json!({ "type": "documents", "title": "Lease",
            "assignee_id": app.owner_id })).await;
        let mail = wait_for_mail(folder.path(), "Assigned to you").await;
        assert!(mail.contains("Status: Asked."), "the label, not the key: {mail}");
        assert!(mail.contains(&format!("/desk/requests/{}", r["number"])), "{mail}");
        let parsed = mailparse::parse_mail(mail.as_bytes()).unwrap();
        let body = parsed.get_body().unwrap();
        assert!(!body.contains(r["id"].as_str().unwrap()), "no bare ids for people: {body}");
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread")]
    async fn staff_remind_the_recipient_now_one_request_or_many() {
        let folder = tempfile::tempdir().unwrap();
        let app = spawn_app_mailing_to(folder.path()).await;
        let general = app.get(OWNER_TOKEN, "/api/v1/request-types/general").await.ok();
        app.post(OWNER_TOKEN, "/api/v1/request-types", json!({"key": "kyc", "name": "KYC",
            "workflow": general.body["workflow"],
            "items": [
                {"kind": "document", "key": "passport", "label": "Passport", "required": true},
                {"kind": "question", "key": "income", "label": "Annual income", "required": true, "answer_type": {"type": "number"}},
                {"kind": "question", "key": "colour", "label": "Favourite colour", "answer_type": {"type": "text"}}
            ]})).await.expect(201, "");
        let asked = app.create_request(OWNER_TOKEN, json!({"type": "kyc", "title": "Onboarding",
            "data": {"contact": {"email": "ann@example.com", "name": "Ann"}}})).await;
        let id = asked["id"].as_str().unwrap().to_owned();
        let link = app.post(OWNER_TOKEN, &format!("/api/v1/requests/{id}/links"), json!({"mode": "multi_use"})).await.expect(201, "").body;
        let income = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{id}/items")).await.ok().body["items"]
            .as_array().unwrap().iter().find(|i| i["key"] == "income").unwrap()["id"].as_str().unwrap().to_owned();
        app.post(OWNER_TOKEN, &format!("/api/v1/requests/{id}/items/{income}/answer"), json!({"answer": 52000})).await.expect(200, "");

        let reminded = app.post(OWNER_TOKEN, &format!("/api/v1/requests/{id}/remind"), json!({})).await.expect(201, "");
        assert_eq!(reminded.body["kind"], "reminder.sent");
        assert_eq!(reminded.body["changes"][0]["new"], json!({"rule": "manual", "to": "ann@example.com"}));
        // The email lists what is still missing (the passport; not the answered income, not
        // the optional colour) and links the portal.
        let mail = wait_for_mail(folder.path(), "Reminder: Onboarding").await;
        assert!(mail.contains("ann@example.com") && mail.contains("- Passport"), "{mail}");
        assert!(!mail.contains("Annual income") && !mail.contains("Favourite colour"), "{mail}");
        assert!(mail.contains(&format!("/p/{}", link["token"].as_str().unwrap())), "{mail}");

        // Refusals: no contact, finished, a stranger member.
        let bare = app.create_request(OWNER_TOKEN, json!({"title": "No contact"})).await;
        let bare_id = bare["id"].as_str().unwrap().to_owned();
        app.post(OWNER_TOKEN, &format!("/api/v1/requests/{bare_id}/remind"), json!({})).await.expect(409, "no_contact");
        let done = app.create_request(OWNER_TOKEN, json!({"title": "Done", "data": {"contact": {"email": "bo@example.com"}}})).await;
        let done_id = done["id"].as_str().unwrap().to_owned();
        app.patch(OWNER_TOKEN, &format!("/api/v1/requests/{done_id}"), json!({"status": "done"})).await.ok();
        app.post(OWNER_TOKEN, &format!("/api/v1/requests/{done_id}/remind"), json!({})).await.expect(409, "request_finished");
        let (_, stranger) = app.add_member("member").await;
        let refused = app.post(&stranger, &format!("/api/v1/requests/{id}/remind"), json!({})).await;
        assert_eq!(refused.status.as_u16(), 403, "{}", refused.body);
        let timeline = app.get(OWNER_TOKEN, &format!("/api/v1/requests/{bare_id}/timeline")).await.ok();
        assert_eq!(timeline.body["items"].as_array().unwrap().len(), 1, "a refusal writes nothing");

        // Many at once: a result per request, in the order given.
        let unknown = uuid::Uuid::now_v7().to_string();
        let bulk = app.post(OWNER_TOKEN, "/api/v1/requests/remind", json!({"ids": [id, bare_id, done_id, unknown]})).await.expect(200, "");
        assert_eq!((bulk.body["reminded"].as_u64(), bulk.body["refused"].as_u64()), (Some(1), Some(3)), "{}", bulk.body);
        let codes: Vec<Value> = bulk.body["results"].as_array().unwrap().iter().map(|r| r["error_code"].clone()).collect();
        assert_eq!(codes, [Value::Null, json!("no_contact"), json!("request_finished"), json!("not_found")]);
        assert_eq!(bulk.body["results"][0]["status"], "reminded");
        app.post(OWNER_TOKEN, "/api/v1/requests/remind", json!({"ids": []})).await.expect(422, "validation_failed");
        let too_many: Vec<String> = (0..501).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        app.post(OWNER_TOKEN, "/api/v1/requests/remind", json!({"ids": too_many})).await.expect(422, "validation_failed");

        // The desk's button.
        common::web::set_password(&app, &app.owner_id.clone(), "correct horse battery").await;
        let mut desk = Browser::new(&app);
        desk.sign_in(OWNER_EMAIL, "correct horse battery").await;
        let number = asked["number"].as_i64().unwrap();
        let page = desk.get(&format!("/desk/requests/{number}")).await;
        let sent = desk.post(&format!("/desk/requests/{number}/remind"), &[("csrf", &page.csrf())]).await;
        assert!(sent.location.clone().unwrap_or_default().contains("notice="), "{:?}", sent.location);
        let page = desk.get(&format!("/desk/requests/{number}")).await;
        assert!(page.html.contains("reminded the recipient"), "the timeline says so");
    }
}
