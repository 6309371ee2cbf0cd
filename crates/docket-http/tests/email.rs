//! Email end to end: a real SMTP server (Python's aiosmtpd, started by the test) receives
//! what Docket sends; with no SMTP server, messages land in a folder; refusals go on the
//! request's timeline; workspaces override templates.

mod common;

use common::*;
use docket_http::settings::{MailSettings, SmtpSettings, SmtpTls};
use docket_http::Settings;
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// aiosmtpd on a free port, writing what it accepts to a file; killed on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("received.jsonl");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&out)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the SMTP server (pip install aiosmtpd)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "aiosmtpd did not start: is it installed?"
        );
        Self {
            child,
            port,
            out,
            _dir: dir,
        }
    }

    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} messages, got {:?}", self.received());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_settings(server: &SmtpServer) -> Settings {
    Settings {
        mail: Some(MailSettings {
            from: "desk@docket.example".into(),
            smtp: Some(SmtpSettings {
                host: "127.0.0.1".into(),
                port: server.port,
                tls: SmtpTls::None,
                username: None,
                password: None,
            }),
            folder: PathBuf::from("unused"),
            retry_schedule_ms: vec![100, 100],
        }),
        scheduler_interval_ms: 50,
        ..test_settings()
    }
}

/// A member's email address, by id.
async fn email_of(app: &TestApp, id: &str) -> String {
    app.get(&app.owner_token, &format!("/api/v1/members/{id}"))
        .await
        .expect(200, "")
        .body["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_tests! {
    #[tokio::test]
    async fn assignees_contacts_and_overdue_notices_are_emailed_over_smtp() {
        let smtp = SmtpServer::start();
        let app = spawn_app_with(smtp_settings(&smtp)).await;
        let (sam, _) = app.add_member("member").await;
        let sam_email = email_of(&app, &sam).await;

        // The general workflow, emailing the contact on entering done.
        let general = app
            .get(&app.owner_token, "/api/v1/request-types/general")
            .await
            .expect(200, "")
            .body;
        let mut workflow = general["workflow"].clone();
        workflow["notify_contact_on"] = json!(["done"]);
        app.patch(
            &app.owner_token,
            "/api/v1/request-types/general",
            json!({"workflow": workflow}),
        )
        .await
        .expect(200, "");

        let past = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
        let r = app
            .create_request(
                &app.owner_token,
                json!({"title": "Signed lease", "assignee_id": sam, "due_at": past,
                       "data": {"contact": {"email": "client@acme.example", "name": "Ada"}}}),
            )
            .await;
        let id = r["id"].as_str().unwrap();
        let got = smtp.wait_for(2).await; // assigned + overdue
        let to_sam: Vec<&Value> = got
            .iter()
            .filter(|m| m["to"][0] == sam_email.as_str())
            .collect();
        assert_eq!(to_sam.len(), 2, "{got:?}");
        let subjects: Vec<&str> = to_sam.iter().map(|m| m["data"].as_str().unwrap()).collect();
        assert!(subjects
            .iter()
            .any(|d| d.contains("Subject: [#1] Assigned to you: Signed lease")));
        assert!(subjects
            .iter()
            .any(|d| d.contains("Subject: [#1] Overdue: Signed lease")));
        assert_eq!(to_sam[0]["from"], "desk@docket.example");

        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{id}"),
            json!({"status": "done"}),
        )
        .await
        .expect(200, "");
        let got = smtp.wait_for(3).await;
        let to_client = got
            .iter()
            .find(|m| m["to"][0] == "client@acme.example")
            .expect("the contact is told");
        let data = to_client["data"].as_str().unwrap();
        assert!(data.contains("Subject: [#1] Signed lease: Done"), "the status label: {data}");
        assert!(data.contains("Hello Ada"), "{data}");
    }
}

backend_tests! {
    #[tokio::test]
    async fn refused_addresses_and_temporary_failures_end_on_the_timeline() {
        let smtp = SmtpServer::start();
        let app = spawn_app_with(smtp_settings(&smtp)).await;
        let general = app
            .get(&app.owner_token, "/api/v1/request-types/general")
            .await
            .expect(200, "")
            .body;
        let mut workflow = general["workflow"].clone();
        workflow["notify_contact_on"] = json!(["in_progress"]);
        app.patch(
            &app.owner_token,
            "/api/v1/request-types/general",
            json!({"workflow": workflow}),
        )
        .await
        .expect(200, "");

        let mut ids = Vec::new();
        for contact in ["bounce@acme.example", "busy@acme.example"] {
            let r = app
                .create_request(
                    &app.owner_token,
                    json!({"title": contact, "data": {"contact": {"email": contact}}}),
                )
                .await;
            let id = r["id"].as_str().unwrap().to_owned();
            app.patch(
                &app.owner_token,
                &format!("/api/v1/requests/{id}"),
                json!({"status": "in_progress"}),
            )
            .await
            .expect(200, "");
            ids.push(id);
        }
        for (id, expect) in ids.iter().zip(["550", "gave up after 3 attempts"]) {
            let mut failed = None;
            for _ in 0..100 {
                let t = app
                    .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
                    .await
                    .expect(200, "")
                    .body;
                failed = t["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["kind"] == "email.failed")
                    .cloned();
                if failed.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let failed = failed.unwrap_or_else(|| panic!("no email.failed on {id}"));
            let comment = failed["comment"].as_str().unwrap();
            assert!(comment.contains(expect), "{comment}");
        }
        assert!(smtp.received().is_empty());
    }
}

backend_tests! {
    #[tokio::test]
    async fn without_smtp_messages_are_written_to_a_folder_with_the_workspace_template() {
        let folder = tempfile::tempdir().unwrap();
        let app = spawn_app_with(Settings {
            mail: Some(MailSettings {
                from: "desk@docket.example".into(),
                smtp: None,
                folder: folder.path().to_path_buf(),
                retry_schedule_ms: vec![100],
            }),
            ..test_settings()
        })
        .await;
        let put = app
            .send(
                app.request(
                    reqwest::Method::PUT,
                    "/api/v1/email-templates/assigned",
                    Some(&app.owner_token),
                )
                .json(&json!({"subject": "New for {{name}}: {{title}}", "body": "Number {{number}}."})),
            )
            .await
            .expect(200, "");
        assert_eq!(put.body["overridden"], true);
        let listed = app
            .get(&app.owner_token, "/api/v1/email-templates")
            .await
            .expect(200, "");
        let assigned = listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "assigned")
            .unwrap()
            .clone();
        assert_eq!(assigned["overridden"], true);
        app.send(
            app.request(
                reqwest::Method::PUT,
                "/api/v1/email-templates/nope",
                Some(&app.owner_token),
            )
            .json(&json!({"subject": "x", "body": "y"})),
        )
        .await
        .expect(404, "not_found");

        let (sam, _) = app.add_member("member").await;
        let name = app
            .get(&app.owner_token, &format!("/api/v1/members/{sam}"))
            .await
            .body["name"]
            .as_str()
            .unwrap()
            .to_owned();
        app.create_request(
            &app.owner_token,
            json!({"title": "Keys", "assignee_id": sam}),
        )
        .await;
        let mut files = Vec::new();
        // Up to 15 s: the mail worker's pass waits behind the rest of a loaded test run.
        for _ in 0..300 {
            files = std::fs::read_dir(folder.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect();
            if !files.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(files.len(), 1, "one message written");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            text.contains(&format!("Subject: New for {name}: Keys")),
            "{text}"
        );
        assert!(text.contains("Number 1."), "{text}");

        app.delete(&app.owner_token, "/api/v1/email-templates/assigned")
            .await
            .expect(204, "");
        let listed = app
            .get(&app.owner_token, "/api/v1/email-templates")
            .await
            .expect(200, "");
        assert!(listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["overridden"] == false));
    }
}

backend_tests! {
    #[tokio::test]
    async fn collects_completion_message_reaches_the_contact() {
        let smtp = SmtpServer::start();
        let app = spawn_app_with(smtp_settings(&smtp)).await;
        let made = app
            .send(
                app.request(reqwest::Method::POST, "/v1/request", None)
                    .basic_auth("", Some(&app.owner_token))
                    .json(&json!({"campaignId": "collect",
                        "contact": {"email": "elon@example.com", "firstName": "Elon"}})),
            )
            .await;
        assert_eq!(made.status, 200, "{}", made.body);
        let id = made.body["request"]["_id"].as_str().unwrap().to_owned();
        let done = app
            .send(
                app.request(reqwest::Method::PATCH, "/v1/request", None)
                    .basic_auth("", Some(&app.owner_token))
                    .json(
                        &json!({"requestId": id, "status": "completed", "sendCompletionMessage": true}),
                    ),
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        let got = smtp.wait_for(1).await;
        assert_eq!(got[0]["to"], json!(["elon@example.com"]));
        let data = got[0]["data"].as_str().unwrap();
        assert!(data.contains(": complete"), "{data}");
        assert!(data.contains("Hello Elon"), "{data}");
    }
}

backend_tests! {
    #[tokio::test]
    async fn sending_items_back_emails_the_contact_each_reason_and_the_portal_link() {
        let smtp = SmtpServer::start();
        let app = spawn_app_with(smtp_settings(&smtp)).await;
        let id = app
            .create_request(&app.owner_token, json!({"title": "Tax documents", "data": {"contact": {"email": "ann@example.com", "name": "Ann"}}}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let link = app
            .post(&app.owner_token, &format!("/api/v1/requests/{id}/links"), json!({"mode": "multi_use"}))
            .await
            .expect(201, "")
            .body["url"]
            .as_str()
            .unwrap()
            .to_owned();
        let items = format!("/api/v1/requests/{id}/items");
        let item = app
            .post(&app.owner_token, &items, json!({"kind": "question", "label": "Employer", "required": true, "answer_type": {"type": "text"}}))
            .await
            .expect(201, "")
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.post(&app.owner_token, &format!("{items}/{item}/answer"), json!({"answer": "ACME"})).await.expect(200, "");
        app.patch(&app.owner_token, &format!("{items}/{item}"), json!({"state": "rejected", "reason": "Give the full legal name"}))
            .await
            .expect(200, "");
        app.post(&app.owner_token, &format!("/api/v1/requests/{id}/send-back"), json!({})).await.expect(200, "");
        let got = smtp.wait_for(1).await;
        assert_eq!(got[0]["to"], json!(["ann@example.com"]));
        let data = got[0]["data"].as_str().unwrap();
        assert!(data.contains("Hello Ann"), "{data}");
        assert!(data.contains("- Employer: Give the full legal name"), "{data}");
        assert!(data.contains(&link), "the portal link {link} in {data}");
    }
}
