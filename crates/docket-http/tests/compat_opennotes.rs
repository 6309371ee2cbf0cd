//! Open Notes' requests API under `/api/public/v1/requests`: the page's examples replayed,
//! field for field, and every rule and error, over real HTTP.

mod common;

use common::{spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const BASE: &str = "/api/public/v1/requests";
const NOTE_ID: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";

fn create_body(request_id: &str) -> Value {
    json!({"data": {"type": "requests", "attributes": {
        "request_id": request_id,
        "requested_by": "participant-42",
        "community_server_id": "guild-1",
        "original_message_content": "The moon is made of cheese",
        "platform_message_id": "1180000000000000001",
        "platform_channel_id": "chan-9",
        "platform_author_id": "author-3",
        "platform_timestamp": "2023-11-07T05:31:56Z",
        "metadata": {"source": "discord"},
        "similarity_score": 0.87,
        "dataset_name": "fact-checks",
        "dataset_item_id": "item-1"
    }}})
}

async fn create(app: &TestApp, token: &str, request_id: &str) -> Value {
    let r = app.post(token, BASE, create_body(request_id)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

/// A JSON:API error document with this status, in `application/vnd.api+json`.
#[track_caller]
fn assert_jsonapi_error(r: &common::Reply, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
    let e = &r.body["errors"][0];
    assert_eq!(e["status"], status.to_string(), "{}", r.body);
    assert!(e["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(e["detail"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(r.body["jsonapi"]["version"], "1.1");
}

backend_tests! {
    #[tokio::test]
    async fn the_pages_patch_example_answers_the_documented_shape() {
        let app = spawn_app().await;
        let created = create(&app, &app.owner_token, "req-page").await;
        let id = created["data"]["id"].as_str().unwrap().to_owned();
        // The page's body has placeholders for `type` and `id`; literally replayed, `type` is
        // not `requests`, which Open Notes refuses.
        let literal = json!({"data": {"type": "<string>", "id": "<string>",
            "attributes": {"status": "PENDING", "note_id": NOTE_ID}}});
        let r = app
            .patch(&app.owner_token, &format!("{BASE}/{id}"), literal)
            .await;
        assert_jsonapi_error(&r, 422);
        assert_eq!(r.body["errors"][0]["source"]["pointer"], "/data/type");

        let body = json!({"data": {"type": "requests", "id": id,
            "attributes": {"status": "PENDING", "note_id": NOTE_ID}}});
        let r = app
            .patch(&app.owner_token, &format!("{BASE}/{id}"), body)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
        let data = &r.body["data"];
        assert_eq!(data["id"], id.as_str());
        assert_eq!(data["type"], "requests");
        let attrs = data["attributes"].as_object().unwrap();
        let mut keys: Vec<&str> = attrs.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut page_keys = [
            "request_id",
            "requested_by",
            "status",
            "note_id",
            "community_server_id",
            "requested_at",
            "created_at",
            "updated_at",
            "content",
            "platform_message_id",
            "platform_channel_id",
            "metadata",
            "similarity_score",
            "dataset_name",
            "dataset_item_id",
        ];
        page_keys.sort_unstable();
        assert_eq!(keys, page_keys, "exactly the page's attributes");
        assert_eq!(attrs["request_id"], "req-page");
        assert_eq!(attrs["requested_by"], "participant-42");
        assert_eq!(attrs["status"], "PENDING");
        assert_eq!(attrs["note_id"], NOTE_ID);
        assert_eq!(attrs["community_server_id"], "guild-1");
        assert_eq!(attrs["content"], "The moon is made of cheese");
        assert_eq!(attrs["platform_message_id"], "1180000000000000001");
        assert_eq!(attrs["platform_channel_id"], "chan-9");
        assert_eq!(attrs["metadata"], json!({"source": "discord"}));
        assert_eq!(attrs["similarity_score"], 0.87);
        assert_eq!(attrs["dataset_name"], "fact-checks");
        assert_eq!(attrs["dataset_item_id"], "item-1");
        for field in ["requested_at", "created_at", "updated_at"] {
            let t = attrs[field].as_str().unwrap();
            assert!(
                t.len() == 20 && t.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(t).is_ok(),
                "{field} = {t} is not like 2023-11-07T05:31:56Z"
            );
        }
        assert_eq!(r.body["jsonapi"], json!({"version": "1.1"}));
        let link = r.body["links"]["self_"].as_str().unwrap();
        assert!(link.ends_with(&format!("{BASE}/{id}")), "{link}");
        assert_eq!(r.body["links"]["self"], link);
    }
}

backend_tests! {
    #[tokio::test]
    async fn create_answers_201_and_get_reads_it_back() {
        let app = spawn_app().await;
        let created = create(&app, &app.owner_token, "req-get").await;
        assert_eq!(created["data"]["attributes"]["status"], "PENDING");
        assert_eq!(created["data"]["attributes"]["note_id"], Value::Null);
        let id = created["data"]["id"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok());
        let got = app
            .get(&app.owner_token, &format!("{BASE}/{id}"))
            .await
            .ok();
        assert_eq!(got.body["data"], created["data"]);
    }
}

backend_tests! {
    #[tokio::test]
    async fn x_api_key_is_a_credential_and_none_is_401() {
        let app = spawn_app().await;
        let with_key = app
            .send(
                app.request(Method::GET, BASE, None)
                    .header("X-API-Key", &app.owner_token),
            )
            .await;
        assert_eq!(with_key.status, 200, "{}", with_key.body);
        let none = app.send(app.request(Method::GET, BASE, None)).await;
        assert_jsonapi_error(&none, 401);
        let bad = app
            .send(
                app.request(Method::GET, BASE, None)
                    .header("X-API-Key", "dk_nope"),
            )
            .await;
        assert_jsonapi_error(&bad, 401);
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_duplicate_request_id_is_409_and_stores_nothing() {
        let app = spawn_app().await;
        create(&app, &app.owner_token, "dup").await;
        let again = app.post(&app.owner_token, BASE, create_body("dup")).await;
        assert_jsonapi_error(&again, 409);
        let list = app.get(&app.owner_token, BASE).await.ok();
        assert_eq!(list.body["meta"]["count"], 1);
        // Another workspace may use the same request_id.
        let other = app.other_workspace("on-dup").await;
        create(&app, &other, "dup").await;
    }
}

backend_tests! {
    #[tokio::test]
    async fn invalid_bodies_are_422_with_a_pointer() {
        let app = spawn_app().await;
        let mut unknown = create_body("bad-1");
        unknown["data"]["attributes"]["color"] = json!("red");
        let r = app.post(&app.owner_token, BASE, unknown).await;
        assert_jsonapi_error(&r, 422);

        let mut score = create_body("bad-2");
        score["data"]["attributes"]["similarity_score"] = json!(1.5);
        let r = app.post(&app.owner_token, BASE, score).await;
        assert_jsonapi_error(&r, 422);
        assert_eq!(
            r.body["errors"][0]["source"]["pointer"],
            "/data/attributes/similarity_score"
        );

        let mut long = create_body("bad-3");
        long["data"]["attributes"]["dataset_item_id"] = json!("x".repeat(37));
        assert_jsonapi_error(&app.post(&app.owner_token, BASE, long).await, 422);
        let mut name = create_body("bad-4");
        name["data"]["attributes"]["dataset_name"] = json!("x".repeat(101));
        assert_jsonapi_error(&app.post(&app.owner_token, BASE, name).await, 422);

        let mut missing = create_body("bad-5");
        missing["data"]["attributes"]
            .as_object_mut()
            .unwrap()
            .remove("community_server_id");
        assert_jsonapi_error(&app.post(&app.owner_token, BASE, missing).await, 422);

        let mut empty = create_body("");
        empty["data"]["attributes"]["request_id"] = json!("");
        assert_jsonapi_error(&app.post(&app.owner_token, BASE, empty).await, 422);

        let mut kind = create_body("bad-6");
        kind["data"]["type"] = json!("notes");
        assert_jsonapi_error(&app.post(&app.owner_token, BASE, kind).await, 422);

        let garbage = app
            .send(
                app.request(Method::POST, BASE, Some(&app.owner_token))
                    .header("content-type", "application/vnd.api+json")
                    .body("{not json"),
            )
            .await;
        assert_jsonapi_error(&garbage, 422);
        let text = app
            .send(
                app.request(Method::POST, BASE, Some(&app.owner_token))
                    .header("content-type", "text/plain")
                    .body("hello"),
            )
            .await;
        assert_jsonapi_error(&text, 415);
        let count = app.get(&app.owner_token, BASE).await.ok();
        assert_eq!(count.body["meta"]["count"], 0, "nothing was stored");
    }
}

backend_tests! {
    #[tokio::test]
    async fn patch_errors_follow_the_page() {
        let app = spawn_app().await;
        let id = create(&app, &app.owner_token, "p-err").await["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{BASE}/{id}");
        let other = uuid::Uuid::now_v7().to_string();
        let mismatch =
            json!({"data": {"type": "requests", "id": other, "attributes": {"status": "FAILED"}}});
        assert_jsonapi_error(&app.patch(&app.owner_token, &path, mismatch).await, 409);
        let bad_status =
            json!({"data": {"type": "requests", "id": id, "attributes": {"status": "DONE"}}});
        assert_jsonapi_error(&app.patch(&app.owner_token, &path, bad_status).await, 422);
        let bad_note =
            json!({"data": {"type": "requests", "id": id, "attributes": {"note_id": "nope"}}});
        assert_jsonapi_error(&app.patch(&app.owner_token, &path, bad_note).await, 422);
        let extra = json!({"data": {"type": "requests", "id": id, "attributes": {"title": "x"}}});
        assert_jsonapi_error(&app.patch(&app.owner_token, &path, extra).await, 422);
        let missing = json!({"data": {"type": "requests", "id": other, "attributes": {}}});
        assert_jsonapi_error(
            &app.patch(&app.owner_token, &format!("{BASE}/{other}"), missing)
                .await,
            404,
        );
        assert_jsonapi_error(
            &app.get(&app.owner_token, &format!("{BASE}/not-a-uuid"))
                .await,
            422,
        );
        assert_jsonapi_error(
            &app.get(&app.owner_token, &format!("{BASE}/{other}")).await,
            404,
        );
        // A native request is not an Open Notes request.
        let native = app.request_id("Native").await;
        assert_jsonapi_error(
            &app.get(&app.owner_token, &format!("{BASE}/{native}")).await,
            404,
        );
        // There is no DELETE.
        let r = app.delete(&app.owner_token, &path).await;
        assert_jsonapi_error(&r, 405);
    }
}

backend_tests! {
    #[tokio::test]
    async fn only_the_keys_sent_are_applied() {
        let app = spawn_app().await;
        let id = create(&app, &app.owner_token, "partial").await["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{BASE}/{id}");
        let set = |attrs: Value| json!({"data": {"type": "requests", "id": id, "attributes": attrs}});
        let r = app
            .patch(&app.owner_token, &path, set(json!({"note_id": NOTE_ID})))
            .await
            .ok();
        assert_eq!(r.body["data"]["attributes"]["status"], "PENDING");
        let r = app
            .patch(&app.owner_token, &path, set(json!({"status": "COMPLETED"})))
            .await
            .ok();
        assert_eq!(
            r.body["data"]["attributes"]["note_id"], NOTE_ID,
            "note_id kept"
        );
        assert_eq!(r.body["data"]["attributes"]["status"], "COMPLETED");
        let r = app
            .patch(&app.owner_token, &path, set(json!({"note_id": null})))
            .await
            .ok();
        assert_eq!(
            r.body["data"]["attributes"]["note_id"],
            Value::Null,
            "null clears"
        );
        assert_eq!(r.body["data"]["attributes"]["status"], "COMPLETED");
    }
}

backend_tests! {
    #[tokio::test]
    async fn the_requester_or_a_moderator_may_set_any_status_from_any_status() {
        let app = spawn_app().await;
        let (_, requester) = app.add_member("member").await;
        let (_, stranger) = app.add_member("member").await;
        let (_, moderator) = app.add_member("moderator").await;
        let id = create(&app, &requester, "rule").await["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{BASE}/{id}");
        let status =
            |s: &str| json!({"data": {"type": "requests", "id": id, "attributes": {"status": s}}});
        let r = app.patch(&stranger, &path, status("COMPLETED")).await;
        assert_jsonapi_error(&r, 403);
        let r = app
            .patch(
                &stranger,
                &path,
                json!({"data": {"type": "requests", "id": id, "attributes": {"note_id": NOTE_ID}}}),
            )
            .await;
        assert_jsonapi_error(&r, 403);
        for (who, to) in [
            (&requester, "COMPLETED"),
            (&requester, "PENDING"),
            (&moderator, "FAILED"),
            (&moderator, "IN_PROGRESS"),
            (&requester, "FAILED"),
        ] {
            let r = app.patch(who, &path, status(to)).await;
            assert_eq!(r.status, 200, "{to}: {}", r.body);
            assert_eq!(r.body["data"]["attributes"]["status"], to);
        }
        // A read-only token may look but not change.
        let read_only = app.token_with_scopes(&requester, &["requests:read"]).await;
        app.get(&read_only, &path).await.ok();
        assert_jsonapi_error(&app.patch(&read_only, &path, status("PENDING")).await, 403);
        assert_jsonapi_error(&app.post(&read_only, BASE, create_body("ro")).await, 403);
    }
}

backend_tests! {
    #[tokio::test]
    async fn lists_paginate_with_jsonapi_links_in_both_spellings_and_filter() {
        let app = spawn_app().await;
        for i in 0..5 {
            let mut body = create_body(&format!("list-{i}"));
            if i % 2 == 1 {
                body["data"]["attributes"]["community_server_id"] = json!("guild-2");
                body["data"]["attributes"]["requested_by"] = json!("someone-else");
            }
            let r = app.post(&app.owner_token, BASE, body).await;
            assert_eq!(r.status, 201);
        }
        let page = app
            .get(
                &app.owner_token,
                &format!("{BASE}?page[number]=1&page[size]=2"),
            )
            .await
            .ok();
        assert_eq!(page.body["meta"]["count"], 5);
        let ids: Vec<&str> = page.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["attributes"]["request_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["list-4", "list-3"], "newest first");
        let links = &page.body["links"];
        assert_eq!(links["prev"], Value::Null);
        assert_eq!(links["self"], links["self_"]);
        assert_eq!(links["next"], links["next_"]);
        let next = links["next"].as_str().unwrap();
        assert!(
            links["last"]
                .as_str()
                .unwrap()
                .contains("page%5Bnumber%5D=3"),
            "{links}"
        );
        let next_path = &next[next.find(BASE).unwrap()..];
        let page2 = app.get(&app.owner_token, next_path).await.ok();
        let ids: Vec<&str> = page2.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["attributes"]["request_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["list-2", "list-1"]);
        assert!(page2.body["links"]["prev"].is_string());
        let last = app
            .get(
                &app.owner_token,
                &format!("{BASE}?page[number]=3&page[size]=2"),
            )
            .await
            .ok();
        assert_eq!(last.body["links"]["next"], Value::Null);
        assert_eq!(last.body["links"]["next_"], Value::Null);

        let filtered = app
            .get(
                &app.owner_token,
                &format!("{BASE}?filter[community_server_id]=guild-2"),
            )
            .await
            .ok();
        assert_eq!(filtered.body["meta"]["count"], 2);
        let filtered = app
            .get(
                &app.owner_token,
                &format!("{BASE}?filter[requested_by]=participant-42"),
            )
            .await
            .ok();
        assert_eq!(filtered.body["meta"]["count"], 3);
        let filtered = app
            .get(
                &app.owner_token,
                &format!("{BASE}?filter[status]=COMPLETED"),
            )
            .await
            .ok();
        assert_eq!(filtered.body["meta"]["count"], 0);
        let filtered = app.get(&app.owner_token, &format!("{BASE}?filter[requested_at__gte]=2000-01-01T00:00:00Z&filter[requested_at__lte]=2000-01-02T00:00:00Z")).await.ok();
        assert_eq!(filtered.body["meta"]["count"], 0);
        let filtered = app
            .get(
                &app.owner_token,
                &format!("{BASE}?filter[requested_at__gte]=2000-01-01T00:00:00Z"),
            )
            .await
            .ok();
        assert_eq!(filtered.body["meta"]["count"], 5);
        for bad in [
            "page[number]=0",
            "page[size]=101",
            "page[size]=x",
            "filter[status]=DONE",
            "filter[requested_at__gte]=yesterday",
        ] {
            let r = app.get(&app.owner_token, &format!("{BASE}?{bad}")).await;
            assert_jsonapi_error(&r, 422);
            assert!(r.body["errors"][0]["source"]["parameter"].is_string());
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_note_request_is_a_docket_request_with_one_timeline() {
        let app = spawn_app().await;
        let id = create(&app, &app.owner_token, "cross").await["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let body =
            json!({"data": {"type": "requests", "id": id, "attributes": {"status": "IN_PROGRESS"}}});
        app.patch(&app.owner_token, &format!("{BASE}/{id}"), body)
            .await
            .ok();
        let native = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}"))
            .await
            .ok();
        assert_eq!(native.body["type"], "opennotes");
        assert_eq!(native.body["status"], "IN_PROGRESS");
        assert_eq!(native.body["category"], "in_progress");
        assert_eq!(native.body["description"], "The moon is made of cheese");
        assert_eq!(native.body["data"]["request_id"], "cross");
        assert_eq!(
            native.body["subject"],
            json!({"kind": "message", "id": "1180000000000000001"})
        );
        let timeline = app
            .get(&app.owner_token, &format!("/api/v1/requests/{id}/timeline"))
            .await
            .ok();
        let kinds: Vec<String> = timeline.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            kinds,
            ["request.created", "request.updated"],
            "{}",
            timeline.body
        );

        // A change through the native API shows through Open Notes.
        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{id}"),
            json!({"status": "COMPLETED"}),
        )
        .await
        .ok();
        let on = app
            .get(&app.owner_token, &format!("{BASE}/{id}"))
            .await
            .ok();
        assert_eq!(on.body["data"]["attributes"]["status"], "COMPLETED");
        // The built-in type is an ordinary request type of the workspace.
        let types = app
            .get(&app.owner_token, "/api/v1/request-types")
            .await
            .ok();
        assert!(
            types.body.to_string().contains("\"opennotes\""),
            "{}",
            types.body
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn concurrent_creates_with_one_request_id_let_exactly_one_win() {
        let app = spawn_app().await;
        let attempts = (0..8).map(|_| app.post(&app.owner_token, BASE, create_body("race")));
        let replies = futures::future::join_all(attempts).await;
        let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
        let list = app.get(&app.owner_token, BASE).await.ok();
        assert_eq!(list.body["meta"]["count"], 1);
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_service_credential_may_change_any_request() {
        use docket_domain::token::{Token, TokenSecret};
        let app = spawn_app().await;
        let (_, requester) = app.add_member("member").await;
        let id = create(&app, &requester, "svc").await["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // A system token: issued by an operator, acting for no member.
        let secret = TokenSecret::generate();
        let ws = app.workspace_id.parse().unwrap();
        let token = Token::new(
            ws,
            None,
            "bot",
            Vec::new(),
            None,
            &secret,
            docket_domain::now(),
        );
        app.store.insert_token(token).await.unwrap();
        let body = json!({"data": {"type": "requests", "id": id, "attributes": {"status": "COMPLETED", "note_id": NOTE_ID}}});
        let r = app
            .send(
                app.request(Method::PATCH, &format!("{BASE}/{id}"), None)
                    .header("X-API-Key", secret.expose())
                    .json(&body),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["attributes"]["status"], "COMPLETED");
    }
}
