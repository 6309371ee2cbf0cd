//! Listing requests: keyset pages in every order, stable under inserts, and every filter.

mod common;

use common::*;
use futures::future::join_all;
use serde_json::{json, Value};
use std::collections::HashSet;

fn micros(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .timestamp_micros()
}

/// The value a sort orders by, as the API documents it: undated requests sort after every
/// dated one, ascending.
fn sort_key(sort: &str, r: &Value) -> i64 {
    match sort {
        "created" => micros(&r["created_at"]),
        "updated" => micros(&r["updated_at"]),
        "due" => r["due_at"]
            .as_str()
            .map_or(i64::MAX, |_| micros(&r["due_at"])),
        "number" => r["number"].as_i64().unwrap(),
        other => panic!("unknown sort {other}"),
    }
}

/// The ids of `items` in the order the API must return them.
fn expected_order(items: &[Value], sort: &str, direction: &str) -> Vec<String> {
    let mut keyed: Vec<(i64, String)> = items
        .iter()
        .map(|r| (sort_key(sort, r), r["id"].as_str().unwrap().to_owned()))
        .collect();
    keyed.sort();
    if direction == "desc" {
        keyed.reverse();
    }
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Files `n` requests in concurrent batches (so some share a timestamp and the id breaks
/// the tie), with repeated and missing due dates, and edits some so `updated` differs
/// from `created`. Returns them as they are now.
async fn file_many(app: &TestApp, n: usize) -> Vec<Value> {
    for batch in (0..n).collect::<Vec<_>>().chunks(10) {
        join_all(batch.iter().map(|&i| {
            let due = if i % 7 == 0 {
                Value::Null
            } else {
                json!(format!("2030-01-0{}", i % 5 + 1))
            };
            app.post(
                &app.owner_token,
                "/api/v1/requests",
                json!({"title": format!("Request {i}"), "due_at": due}),
            )
        }))
        .await
        .into_iter()
        .for_each(|r| {
            r.expect(201, "");
        });
    }
    let all = app
        .list_all(&app.owner_token, "limit=100&sort=number&direction=asc")
        .await;
    for r in all
        .iter()
        .filter(|r| r["number"].as_i64().unwrap() % 3 == 0)
    {
        app.patch(
            &app.owner_token,
            &format!("/api/v1/requests/{}", r["id"].as_str().unwrap()),
            json!({"description": "touched"}),
        )
        .await
        .expect(200, "");
    }
    app.list_all(&app.owner_token, "limit=100").await
}

backend_tests! {
    #[tokio::test]
    async fn pages_see_every_request_once_in_order_for_every_sort_and_direction() {
        let app = spawn_app().await;
        let all = file_many(&app, 60).await;
        assert_eq!(all.len(), 60);
        for sort in ["created", "number", "updated", "due"] {
            for direction in ["asc", "desc"] {
                let query = format!("sort={sort}&direction={direction}&limit=25");
                let mut seen = Vec::new();
                let mut pages = 0;
                let mut cursor: Option<String> = None;
                loop {
                    let path = match &cursor {
                        Some(c) => format!("/api/v1/requests?{query}&cursor={c}"),
                        None => format!("/api/v1/requests?{query}"),
                    };
                    let page = app.get(&app.owner_token, &path).await.expect(200, "");
                    pages += 1;
                    let items = page.body["items"].as_array().unwrap();
                    assert!(items.len() <= 25);
                    seen.extend(strings(items, "id"));
                    match page.body["next_cursor"].as_str() {
                        Some(c) => cursor = Some(c.to_owned()),
                        None => break,
                    }
                }
                assert_eq!(pages, 3, "{query}: 25 + 25 + 10");
                assert_eq!(seen, expected_order(&all, sort, direction), "{query}");
            }
        }
        // The default order is newest first.
        let default = strings(&app.list_all(&app.owner_token, "").await, "id");
        assert_eq!(default, expected_order(&all, "created", "desc"));
    }
}

backend_tests! {
    #[tokio::test]
    async fn requests_filed_while_paging_do_not_shift_the_pages() {
        let app = spawn_app().await;
        file_many(&app, 60).await;

        for direction in ["desc", "asc"] {
            let originals = app.list_all(&app.owner_token, "limit=100").await;
            let query = format!("sort=created&direction={direction}&limit=25");
            let first = app
                .get(&app.owner_token, &format!("/api/v1/requests?{query}"))
                .await
                .expect(200, "");
            let mut seen = strings(first.body["items"].as_array().unwrap(), "id");
            let mut cursor = first.body["next_cursor"].as_str().map(str::to_owned);

            // Twenty requests arrive between the first and the second page.
            let mut added = Vec::new();
            for i in 0..20 {
                added.push(
                    app.create_request(
                        &app.owner_token,
                        json!({"title": format!("Late {direction} {i}")}),
                    )
                    .await,
                );
            }

            while let Some(c) = cursor {
                let page = app
                    .get(
                        &app.owner_token,
                        &format!("/api/v1/requests?{query}&cursor={c}"),
                    )
                    .await
                    .expect(200, "");
                seen.extend(strings(page.body["items"].as_array().unwrap(), "id"));
                cursor = page.body["next_cursor"].as_str().map(str::to_owned);
            }

            let unique: HashSet<&String> = seen.iter().collect();
            assert_eq!(
                unique.len(),
                seen.len(),
                "{direction}: a request was shown twice"
            );
            let original_ids: Vec<String> = expected_order(&originals, "created", direction);
            let seen_originals: Vec<String> = seen
                .iter()
                .filter(|id| original_ids.contains(id))
                .cloned()
                .collect();
            assert_eq!(
                seen_originals, original_ids,
                "{direction}: every original request, once, in order"
            );
            let added_ids: Vec<String> = strings(&added, "id");
            if direction == "desc" {
                // Newer requests sort before the cursor: this pass never sees them.
                assert_eq!(seen.len(), originals.len(), "{direction}");
            } else {
                // Ascending, they come after every original.
                assert_eq!(seen[originals.len()..], added_ids[..], "{direction}");
            }
        }
    }
}

/// The titles a query lists, sorted.
async fn titles(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let mut t = strings(&app.list_all(token, query).await, "title");
    t.sort();
    t
}

backend_tests! {
    #[tokio::test]
    async fn filters_narrow_the_list() {
        let app = spawn_app().await;
        let (member_id, member) = app.add_member("member").await;
        app.post(
            &app.owner_token,
            "/api/v1/request-types",
            json!({"key": "photo", "name": "Photo", "workflow": {
                "statuses": [{"key": "asked", "label": "Asked", "category": "open", "initial": true}], "transitions": []}}),
        )
        .await
        .expect(201, "");
        let owner = app.owner_token.clone();
        let patch = |id: &Value, body: Value| {
            let path = format!("/api/v1/requests/{}", id.as_str().unwrap());
            let app = &app;
            let owner = &owner;
            async move { app.patch(owner, &path, body).await.expect(200, "") }
        };

        let a = app
            .create_request(&owner, json!({"title": "Invoice for Acme", "tags": ["billing"], "due_at": "2020-01-01", "data": {"client": "Acme"}}))
            .await;
        let b = app.create_request(&member, json!({"title": "Contract renewal", "description": "Talk to Globex legal", "tags": ["legal"], "due_at": "2030-06-01"})).await;
        patch(
            &b["id"],
            json!({"assignee_id": app.owner_id, "status": "in_progress"}),
        )
        .await;
        let c = app.create_request(&owner, json!({"title": "Server down", "data": {"host": "db-primary"}, "assignee_id": member_id, "due_at": "2020-02-01"})).await;
        patch(&c["id"], json!({"status": "done"})).await;
        app.create_request(&member, json!({"title": "Headshots", "type": "photo"}))
            .await;
        let e = app.create_request(&owner, json!({"title": "Waiting on Acme", "tags": ["billing", "legal"], "due_at": "2031-01-01"})).await;
        patch(&e["id"], json!({"status": "waiting"})).await;
        let deleted = app
            .create_request(
                &owner,
                json!({"title": "Deleted Acme invoice", "tags": ["billing"]}),
            )
            .await;
        app.delete(
            &owner,
            &format!("/api/v1/requests/{}", deleted["id"].as_str().unwrap()),
        )
        .await
        .expect(204, "");

        let all = [
            "Contract renewal",
            "Headshots",
            "Invoice for Acme",
            "Server down",
            "Waiting on Acme",
        ];
        let cases: Vec<(String, Vec<&str>)> = vec![
            (String::new(), all.to_vec()),
            ("status=in_progress".into(), vec!["Contract renewal"]),
            (
                "status=in_progress,waiting".into(),
                vec!["Contract renewal", "Waiting on Acme"],
            ),
            ("status=asked".into(), vec!["Headshots"]),
            ("category=done".into(), vec!["Server down"]),
            (
                "category=open".into(),
                vec!["Headshots", "Invoice for Acme"],
            ),
            (
                "category=open,waiting".into(),
                vec!["Headshots", "Invoice for Acme", "Waiting on Acme"],
            ),
            ("assignee=me".into(), vec!["Contract renewal"]),
            (
                "assignee=none".into(),
                vec!["Headshots", "Invoice for Acme", "Waiting on Acme"],
            ),
            (format!("assignee={member_id}"), vec!["Server down"]),
            (
                format!("requester={}", app.owner_id),
                vec!["Invoice for Acme", "Server down", "Waiting on Acme"],
            ),
            (
                "tag=billing".into(),
                vec!["Invoice for Acme", "Waiting on Acme"],
            ),
            (
                "tag=legal".into(),
                vec!["Contract renewal", "Waiting on Acme"],
            ),
            ("tag=bill".into(), vec![]),
            ("type=photo".into(), vec!["Headshots"]),
            (
                "type=general".into(),
                vec![
                    "Contract renewal",
                    "Invoice for Acme",
                    "Server down",
                    "Waiting on Acme",
                ],
            ),
            (
                "due_before=2025-01-01".into(),
                vec!["Invoice for Acme", "Server down"],
            ),
            (
                "due_after=2025-01-01".into(),
                vec!["Contract renewal", "Waiting on Acme"],
            ),
            (
                "due_after=2030-01-01&due_before=2030-12-31T00:00:00Z".into(),
                vec!["Contract renewal"],
            ),
            ("overdue=true".into(), vec!["Invoice for Acme"]),
            ("overdue=false".into(), all.to_vec()),
            ("q=acme".into(), vec!["Invoice for Acme", "Waiting on Acme"]),
            ("q=ACME".into(), vec!["Invoice for Acme", "Waiting on Acme"]),
            ("q=invoice".into(), vec!["Invoice for Acme"]),
            ("q=contr".into(), vec!["Contract renewal"]),
            ("q=globex".into(), vec!["Contract renewal"]),
            ("q=primary".into(), vec!["Server down"]),
            ("q=acme%20invoice".into(), vec!["Invoice for Acme"]),
            (
                "q=%22acme%22*%20-(".into(),
                vec!["Invoice for Acme", "Waiting on Acme"],
            ),
            ("q=%22(*".into(), vec![]),
            ("q=nothing".into(), vec![]),
            ("tag=billing&status=waiting".into(), vec!["Waiting on Acme"]),
            ("q=acme&category=open".into(), vec!["Invoice for Acme"]),
        ];
        let mut failures = Vec::new();
        for (query, expected) in &cases {
            let got = titles(&app, &owner, query).await;
            if got != *expected {
                failures.push(format!("?{query}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));

        // `me` is whoever calls.
        assert_eq!(
            titles(&app, &member, "requester=me").await,
            ["Contract renewal", "Headshots"]
        );
        assert_eq!(titles(&app, &member, "assignee=me").await, ["Server down"]);
        // The list says which requests are overdue.
        let overdue = app.list_all(&owner, "overdue=true").await;
        assert_eq!(overdue[0]["overdue"], true);
        assert_eq!(
            app.list_all(&owner, "category=done").await[0]["overdue"],
            false,
            "a finished request is never overdue"
        );

        // The search follows edits.
        patch(&a["id"], json!({"title": "Bill for Initech"})).await;
        assert_eq!(
            titles(&app, &owner, "q=invoice").await,
            Vec::<String>::new()
        );
        assert_eq!(
            titles(&app, &owner, "q=initech").await,
            ["Bill for Initech"]
        );
        assert_eq!(
            titles(&app, &owner, "q=acme").await,
            ["Bill for Initech", "Waiting on Acme"],
            "still found by its data"
        );
        patch(&a["id"], json!({"data": {"client": null}})).await;
        assert_eq!(titles(&app, &owner, "q=acme").await, ["Waiting on Acme"]);
    }
}

backend_tests! {
    #[tokio::test]
    async fn malformed_filters_and_foreign_cursors_are_bad_requests() {
        let app = spawn_app().await;
        for i in 0..3 {
            app.create_request(&app.owner_token, json!({"title": format!("R{i}")}))
                .await;
        }
        for query in [
            "status=!!",
            "category=finished",
            "assignee=bogus",
            "requester=someone",
            "due_before=yesterday",
            "due_after=2030-13-01",
            "type=Bad%20Key",
            "overdue=maybe",
            "sort=sideways",
            "direction=up",
            "limit=0",
            "limit=101",
            "colour=red",
        ] {
            app.get(&app.owner_token, &format!("/api/v1/requests?{query}"))
                .await
                .expect(400, "invalid_query");
        }

        let page = app
            .get(&app.owner_token, "/api/v1/requests?sort=created&limit=1")
            .await
            .expect(200, "");
        let cursor = page.body["next_cursor"].as_str().unwrap();
        for other in ["sort=number", "sort=created&direction=asc", "sort=due"] {
            let r = app
                .get(
                    &app.owner_token,
                    &format!("/api/v1/requests?{other}&limit=1&cursor={cursor}"),
                )
                .await
                .expect(400, "invalid_cursor");
            assert!(
                r.body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("sort"),
                "{}",
                r.body
            );
        }
        for junk in ["garbage", "MTpjcmVhdGVkOmRlc2M6eDp5", "%F0%9F%92%A9"] {
            app.get(
                &app.owner_token,
                &format!("/api/v1/requests?limit=1&cursor={junk}"),
            )
            .await
            .expect(400, "invalid_cursor");
        }
        // The cursor still works with the order it was made for.
        let next = app
            .get(
                &app.owner_token,
                &format!("/api/v1/requests?sort=created&limit=1&cursor={cursor}"),
            )
            .await
            .expect(200, "");
        assert_eq!(next.body["items"].as_array().unwrap().len(), 1);
        assert_ne!(next.body["items"][0]["id"], page.body["items"][0]["id"]);
    }
}
