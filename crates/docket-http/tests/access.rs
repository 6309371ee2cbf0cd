//! Who may do what: every route for every role and for narrowed tokens, authentication,
//! and the rules about issuing tokens and granting roles.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Owner,
    Admin,
    Moderator,
    Member,
    /// A member's token narrowed to `requests:read`.
    MemberReadOnly,
    /// A member's token narrowed to `requests:read` and `requests:write`.
    MemberNoMembersRead,
    /// An owner's token narrowed to `requests:read` and `members:read`.
    OwnerReadOnly,
}

use Caller::*;

/// One row: `method path body caller → status [code] [missing scope]`.
///
/// Placeholders in the path and body: `{request}` a fresh request filed by the owner,
/// `{mine}` a fresh request filed by the caller, `{me}` the caller's member id, `{member}` a plain member, `{token}` a
/// fresh token of the caller's member, `{file}` a fresh file uploaded by the owner, `{n}` a
/// unique number. A body sent to an upload route is the uploaded file (JSON is text).
struct Row {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    caller: Caller,
    status: u16,
    code: &'static str,
    scope: Option<&'static str>,
}

fn row(
    method: Method,
    path: &'static str,
    body: Option<Value>,
    caller: Caller,
    status: u16,
) -> Row {
    Row {
        method,
        path,
        body,
        caller,
        status,
        code: "",
        scope: None,
    }
}

fn denied(
    method: Method,
    path: &'static str,
    body: Option<Value>,
    caller: Caller,
    code: &'static str,
    scope: Option<&'static str>,
) -> Row {
    Row {
        method,
        path,
        body,
        caller,
        status: 403,
        code,
        scope,
    }
}

/// Every route and what each role gets from it.
fn table() -> Vec<Row> {
    let get = || Method::GET;
    let post = || Method::POST;
    let patch = || Method::PATCH;
    let put = || Method::PUT;
    let delete = || Method::DELETE;
    let upload = || Some(json!({"note": "uploaded"}));
    let signing = || Some(json!({"expires_in": 60}));
    let policy = || Some(json!({"max_bytes": 26214400, "allowed_types": ["*/*"]}));
    let new_request = || Some(json!({"title": "A request"}));
    let edit = || Some(json!({"title": "Edited"}));
    let comment = || Some(json!({"body": "A comment"}));
    let take = || Some(json!({"assignee_id": "{me}"}));
    let hand_to_member = || Some(json!({"assignee_id": "{member}"}));
    let new_type = || {
        Some(json!({"key": "type-{n}", "name": "T", "workflow": {
            "statuses": [{"key": "new", "label": "New", "category": "open", "initial": true}],
            "transitions": []}}))
    };
    let type_change = || Some(json!({"description": "Changed"}));
    let new_member =
        || Some(json!({"email": "person{n}@example.com", "name": "Person", "role": "member"}));
    let member_change = || Some(json!({"name": "Renamed"}));
    let new_token = || Some(json!({"name": "script"}));

    let mut rows = Vec::new();
    for caller in [Owner, Admin, Moderator, Member] {
        let privileged = matches!(caller, Owner | Admin);
        let manager = caller != Member;
        let when = |allowed: bool, ok: u16| {
            if allowed {
                (ok, "")
            } else {
                (403, "forbidden")
            }
        };
        let mut push = |method: Method,
                        path: &'static str,
                        body: Option<Value>,
                        (status, code): (u16, &'static str)| {
            rows.push(Row {
                method,
                path,
                body,
                caller,
                status,
                code,
                scope: None,
            });
        };
        push(get(), "/api/v1/requests", None, (200, ""));
        push(post(), "/api/v1/requests", new_request(), (201, ""));
        push(get(), "/api/v1/requests/{request}", None, (200, ""));
        push(
            patch(),
            "/api/v1/requests/{request}",
            edit(),
            when(manager, 200),
        );
        push(patch(), "/api/v1/requests/{mine}", edit(), (200, ""));
        push(
            delete(),
            "/api/v1/requests/{request}",
            None,
            when(manager, 204),
        );
        push(delete(), "/api/v1/requests/{mine}", None, (204, ""));
        // Assignment: taking someone else's unassigned request of a type that is not a
        // claimable queue (the general type) is management; taking one's own is not;
        // assigning another member is management.
        push(
            patch(),
            "/api/v1/requests/{request}",
            take(),
            when(manager, 200),
        );
        push(patch(), "/api/v1/requests/{mine}", take(), (200, ""));
        push(
            patch(),
            "/api/v1/requests/{request}",
            hand_to_member(),
            when(manager, 200),
        );
        push(
            patch(),
            "/api/v1/requests/{mine}",
            hand_to_member(),
            when(manager, 200),
        );
        push(
            get(),
            "/api/v1/requests/{request}/comments",
            None,
            (200, ""),
        );
        push(
            post(),
            "/api/v1/requests/{request}/comments",
            comment(),
            (201, ""),
        );
        push(
            get(),
            "/api/v1/requests/{request}/timeline",
            None,
            (200, ""),
        );
        push(
            get(),
            "/api/v1/requests/{request}/transitions",
            None,
            (200, ""),
        );
        push(get(), "/api/v1/request-types", None, (200, ""));
        push(get(), "/api/v1/request-types/general", None, (200, ""));
        push(
            post(),
            "/api/v1/request-types",
            new_type(),
            when(privileged, 201),
        );
        push(
            patch(),
            "/api/v1/request-types/general",
            type_change(),
            when(privileged, 200),
        );
        push(get(), "/api/v1/members", None, (200, ""));
        push(get(), "/api/v1/members/{member}", None, (200, ""));
        push(
            post(),
            "/api/v1/members",
            new_member(),
            when(privileged, 201),
        );
        push(
            patch(),
            "/api/v1/members/{member}",
            member_change(),
            when(privileged, 200),
        );
        push(get(), "/api/v1/tokens", None, (200, ""));
        push(post(), "/api/v1/tokens", new_token(), (201, ""));
        push(delete(), "/api/v1/tokens/{token}", None, (200, ""));
        push(get(), "/api/v1/me", None, (200, ""));
        push(get(), "/api/v1/files", None, (200, ""));
        push(post(), "/api/v1/files?name=a.txt", upload(), (201, ""));
        push(get(), "/api/v1/files/{file}", None, (200, ""));
        push(get(), "/api/v1/files/{file}/content", None, (200, ""));
        push(
            post(),
            "/api/v1/files/{file}/signed-url",
            signing(),
            (200, ""),
        );
        push(delete(), "/api/v1/files/{file}", None, when(manager, 204));
        push(get(), "/api/v1/files/policy", None, (200, ""));
        push(
            put(),
            "/api/v1/files/policy",
            policy(),
            when(privileged, 200),
        );
        push(get(), "/api/v1/requests/{request}/files", None, (200, ""));
        push(
            post(),
            "/api/v1/requests/{request}/files?name=a.txt",
            upload(),
            when(manager, 201),
        );
        push(
            post(),
            "/api/v1/requests/{mine}/files?name=a.txt",
            upload(),
            (201, ""),
        );
        push(
            put(),
            "/api/v1/requests/{request}/files/{file}",
            None,
            when(manager, 200),
        );
        push(
            put(),
            "/api/v1/requests/{mine}/files/{file}",
            None,
            (200, ""),
        );
    }

    // A narrowed token is told which scope it lacks when its role would allow the call,
    // and `forbidden` when the role never would.
    let ro = MemberReadOnly;
    rows.extend([
        row(get(), "/api/v1/requests", None, ro, 200),
        row(get(), "/api/v1/requests/{request}", None, ro, 200),
        row(get(), "/api/v1/requests/{request}/comments", None, ro, 200),
        row(get(), "/api/v1/requests/{request}/timeline", None, ro, 200),
        row(
            get(),
            "/api/v1/requests/{request}/transitions",
            None,
            ro,
            200,
        ),
        row(get(), "/api/v1/request-types", None, ro, 200),
        row(get(), "/api/v1/me", None, ro, 200),
        denied(
            post(),
            "/api/v1/requests",
            new_request(),
            ro,
            "missing_scope",
            Some("requests:write"),
        ),
        denied(
            patch(),
            "/api/v1/requests/{request}",
            edit(),
            ro,
            "missing_scope",
            Some("requests:write"),
        ),
        denied(
            delete(),
            "/api/v1/requests/{request}",
            None,
            ro,
            "missing_scope",
            Some("requests:write"),
        ),
        denied(
            post(),
            "/api/v1/requests/{request}/comments",
            comment(),
            ro,
            "missing_scope",
            Some("requests:write"),
        ),
        denied(
            get(),
            "/api/v1/members",
            None,
            ro,
            "missing_scope",
            Some("members:read"),
        ),
        denied(
            get(),
            "/api/v1/members/{member}",
            None,
            ro,
            "missing_scope",
            Some("members:read"),
        ),
        denied(
            get(),
            "/api/v1/tokens",
            None,
            ro,
            "missing_scope",
            Some("tokens:write"),
        ),
        denied(
            post(),
            "/api/v1/tokens",
            new_token(),
            ro,
            "missing_scope",
            Some("tokens:write"),
        ),
        denied(
            post(),
            "/api/v1/members",
            new_member(),
            ro,
            "forbidden",
            None,
        ),
        denied(
            patch(),
            "/api/v1/members/{member}",
            member_change(),
            ro,
            "forbidden",
            None,
        ),
        denied(
            post(),
            "/api/v1/request-types",
            new_type(),
            ro,
            "forbidden",
            None,
        ),
        row(
            post(),
            "/api/v1/requests",
            new_request(),
            MemberNoMembersRead,
            201,
        ),
        row(
            patch(),
            "/api/v1/requests/{mine}",
            edit(),
            MemberNoMembersRead,
            200,
        ),
        row(
            delete(),
            "/api/v1/requests/{mine}",
            None,
            MemberNoMembersRead,
            204,
        ),
        denied(
            get(),
            "/api/v1/members",
            None,
            MemberNoMembersRead,
            "missing_scope",
            Some("members:read"),
        ),
        denied(
            patch(),
            "/api/v1/requests/{request}",
            edit(),
            MemberNoMembersRead,
            "forbidden",
            None,
        ),
        denied(
            get(),
            "/api/v1/files",
            None,
            ro,
            "missing_scope",
            Some("files:read"),
        ),
        denied(
            post(),
            "/api/v1/files?name=a.txt",
            upload(),
            ro,
            "missing_scope",
            Some("files:write"),
        ),
        denied(
            get(),
            "/api/v1/files/{file}/content",
            None,
            ro,
            "missing_scope",
            Some("files:read"),
        ),
        denied(
            post(),
            "/api/v1/files/{file}/signed-url",
            signing(),
            ro,
            "missing_scope",
            Some("files:read"),
        ),
        denied(
            get(),
            "/api/v1/files/policy",
            None,
            ro,
            "missing_scope",
            Some("files:read"),
        ),
        denied(
            put(),
            "/api/v1/files/policy",
            policy(),
            ro,
            "missing_scope",
            Some("files:write"),
        ),
        denied(
            post(),
            "/api/v1/requests/{mine}/files?name=a.txt",
            upload(),
            MemberNoMembersRead,
            "missing_scope",
            Some("files:write"),
        ),
        denied(
            delete(),
            "/api/v1/files/{file}",
            None,
            OwnerReadOnly,
            "missing_scope",
            Some("files:write"),
        ),
        row(get(), "/api/v1/members", None, OwnerReadOnly, 200),
        denied(
            post(),
            "/api/v1/requests",
            new_request(),
            OwnerReadOnly,
            "missing_scope",
            Some("requests:write"),
        ),
        denied(
            post(),
            "/api/v1/request-types",
            new_type(),
            OwnerReadOnly,
            "missing_scope",
            Some("workflows:write"),
        ),
        denied(
            patch(),
            "/api/v1/request-types/general",
            type_change(),
            OwnerReadOnly,
            "missing_scope",
            Some("workflows:write"),
        ),
        denied(
            post(),
            "/api/v1/members",
            new_member(),
            OwnerReadOnly,
            "missing_scope",
            Some("members:write"),
        ),
        denied(
            patch(),
            "/api/v1/members/{member}",
            member_change(),
            OwnerReadOnly,
            "missing_scope",
            Some("members:write"),
        ),
        denied(
            get(),
            "/api/v1/tokens",
            None,
            OwnerReadOnly,
            "missing_scope",
            Some("tokens:write"),
        ),
    ]);
    rows
}

backend_tests! {
    #[tokio::test]
    async fn every_route_answers_each_role_and_scope_as_documented() {
        let app = spawn_app().await;
        let (_, admin) = app.add_member("admin").await;
        let (_, moderator) = app.add_member("moderator").await;
        let (_, member) = app.add_member("member").await;
        let (target_member, _) = app.add_member("member").await;
        let member_read_only = app.token_with_scopes(&member, &["requests:read"]).await;
        let member_no_members_read = app
            .token_with_scopes(&member, &["requests:read", "requests:write"])
            .await;
        let owner_read_only = app
            .token_with_scopes(&app.owner_token, &["requests:read", "members:read"])
            .await;
        let token_of = |c: Caller| -> &str {
            match c {
                Owner => &app.owner_token,
                Admin => &admin,
                Moderator => &moderator,
                Member => &member,
                MemberReadOnly => &member_read_only,
                MemberNoMembersRead => &member_no_members_read,
                OwnerReadOnly => &owner_read_only,
            }
        };
        // A token with tokens:write, of the same member as the caller, to revoke.
        let full_token_of = |c: Caller| -> &str {
            match c {
                MemberReadOnly | MemberNoMembersRead => &member,
                OwnerReadOnly => &app.owner_token,
                other => token_of(other),
            }
        };

        let rows = table();
        let mut failures = Vec::new();
        for r in &rows {
            let token = token_of(r.caller);
            let mut text = format!(
                "{} {}",
                r.path,
                r.body.as_ref().map_or(String::new(), Value::to_string)
            );
            if text.contains("{request}") {
                text = text.replace("{request}", &app.request_id("Filed by the owner").await);
            }
            if text.contains("{mine}") {
                let mine = app
                    .create_request(
                        full_token_of(r.caller),
                        json!({"title": "Filed by the caller"}),
                    )
                    .await;
                text = text.replace("{mine}", mine["id"].as_str().unwrap());
            }
            if text.contains("{token}") {
                let t = app
                    .post(
                        full_token_of(r.caller),
                        "/api/v1/tokens",
                        json!({"name": "to revoke"}),
                    )
                    .await
                    .expect(201, "");
                text = text.replace("{token}", t.body["id"].as_str().unwrap());
            }
            if text.contains("{file}") {
                let f = app
                    .send(
                        app.request(Method::POST, "/api/v1/files?name=owner.txt", Some(&app.owner_token))
                            .body("the owner's file"),
                    )
                    .await
                    .expect(201, "");
                text = text.replace("{file}", f.body["id"].as_str().unwrap());
            }
            if text.contains("{me}") {
                let me = app.get(token, "/api/v1/me").await.expect(200, "");
                let id = me.body["member"]["id"].as_str().expect("the caller's member id");
                text = text.replace("{me}", id);
            }
            text = text
                .replace("{member}", &target_member)
                .replace("{n}", &unique().to_string());
            let (path, body) = text.split_once(' ').unwrap();
            let mut builder = app.request(r.method.clone(), path, Some(token));
            if !body.is_empty() {
                builder = builder.json(&serde_json::from_str::<Value>(body).unwrap());
            }
            let got = app.send(builder).await;
            let mut wrong = got.status.as_u16() != r.status;
            if r.status >= 400 {
                wrong |= got.code() != r.code;
                if let Some(scope) = r.scope {
                    wrong |= got.body["error"]["details"]["scope"] != scope;
                }
            }
            if wrong {
                failures.push(format!(
                    "{:?} {} {} as {:?}: expected {} {}{}, got {} {}",
                    r.method,
                    r.path,
                    r.body.as_ref().map_or(String::new(), Value::to_string),
                    r.caller,
                    r.status,
                    r.code,
                    r.scope.map_or(String::new(), |s| format!(" ({s})")),
                    got.status,
                    got.body
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} rows failed:\n{}",
            failures.len(),
            rows.len(),
            failures.join("\n")
        );
    }
}

backend_tests! {
    #[tokio::test]
    async fn members_edit_their_own_requests_and_take_unassigned_ones_of_claimable_types_moderators_do_anything() {
        let app = spawn_app().await;
        let (alice_id, alice) = app.add_member("member").await;
        let (bob_id, bob) = app.add_member("member").await;
        let (_, moderator) = app.add_member("moderator").await;
        let mine = app
            .create_request(&alice, json!({"title": "Alice's"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let theirs = app.create_request(&bob, json!({"title": "Bob's"})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = |id: &str| format!("/api/v1/requests/{id}");

        app.patch(
            &alice,
            &path(&mine),
            json!({"title": "Alice's, edited", "tags": ["x"]}),
        )
        .await
        .expect(200, "");
        app.patch(&alice, &path(&theirs), json!({"title": "Alice was here"}))
            .await
            .expect(403, "forbidden");
        app.delete(&alice, &path(&theirs))
            .await
            .expect(403, "forbidden");
        assert_eq!(app.get(&alice, &path(&theirs)).await.body["title"], "Bob's");

        // Taking someone else's unassigned request of the general type is not allowed
        // (it is not a claimable queue), nor is assigning someone else.
        app.patch(&alice, &path(&theirs), json!({"assignee_id": alice_id}))
            .await
            .expect(403, "forbidden");
        app.patch(&alice, &path(&theirs), json!({"assignee_id": bob_id}))
            .await
            .expect(403, "forbidden");
        assert_eq!(
            app.get(&alice, &path(&theirs)).await.body["assignee_id"],
            Value::Null
        );
        // A workspace makes a type a claimable queue: then any member takes its requests.
        let general = app
            .get(&app.owner_token, "/api/v1/request-types/general")
            .await
            .expect(200, "");
        let mut workflow = general.body["workflow"].clone();
        assert_eq!(workflow["claimable"], false, "not claimable by default");
        workflow["claimable"] = json!(true);
        app.post(
            &app.owner_token,
            "/api/v1/request-types",
            json!({"key": "queue", "name": "Queue", "workflow": workflow}),
        )
        .await
        .expect(201, "");
        let theirs = app
            .create_request(&bob, json!({"title": "Bob's", "type": "queue"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.patch(&alice, &path(&theirs), json!({"assignee_id": bob_id}))
            .await
            .expect(403, "forbidden");
        let taken = app
            .patch(&alice, &path(&theirs), json!({"assignee_id": alice_id}))
            .await
            .expect(200, "");
        assert_eq!(taken.body["assignee_id"], alice_id.as_str());
        // As the assignee Alice may now edit it and move it along.
        app.patch(
            &alice,
            &path(&theirs),
            json!({"title": "Bob's, worked on", "status": "in_progress"}),
        )
        .await
        .expect(200, "");
        // Bob may not take it from her, nor hand it back to himself by clearing it.
        app.patch(&bob, &path(&theirs), json!({"assignee_id": bob_id}))
            .await
            .expect(403, "forbidden");
        app.patch(&bob, &path(&theirs), json!({"assignee_id": null}))
            .await
            .expect(403, "forbidden");
        // Alice may let go of it.
        let released = app
            .patch(&alice, &path(&theirs), json!({"assignee_id": null}))
            .await
            .expect(200, "");
        assert_eq!(released.body["assignee_id"], Value::Null);
        // A member may not file a request assigned to someone else, only to themselves.
        app.post(
            &alice,
            "/api/v1/requests",
            json!({"title": "For Bob", "assignee_id": bob_id}),
        )
        .await
        .expect(403, "forbidden");
        app.post(
            &alice,
            "/api/v1/requests",
            json!({"title": "For me", "assignee_id": alice_id}),
        )
        .await
        .expect(201, "");

        // A moderator edits and assigns anyone's request.
        app.patch(
            &moderator,
            &path(&mine),
            json!({"title": "Moderated", "assignee_id": bob_id}),
        )
        .await
        .expect(200, "");
        app.patch(&moderator, &path(&mine), json!({"assignee_id": alice_id}))
            .await
            .expect(200, "");
        app.post(
            &moderator,
            "/api/v1/requests",
            json!({"title": "For Bob", "assignee_id": bob_id}),
        )
        .await
        .expect(201, "");
        app.delete(&moderator, &path(&mine)).await.expect(204, "");
    }
}

backend_tests! {
    #[tokio::test]
    async fn missing_unknown_revoked_and_expired_tokens_are_unauthorized() {
        let app = spawn_app().await;
        let me = "/api/v1/me";

        let none = app
            .send(app.request(Method::GET, me, None))
            .await
            .expect(401, "unauthorized");
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));
        app.get("dk_this_token_was_never_issued_0123456789abcdef", me)
            .await
            .expect(401, "unauthorized");
        let basic = app
            .send(
                app.request(Method::GET, me, None)
                    .header("authorization", format!("Basic {OWNER_TOKEN}")),
            )
            .await;
        basic.expect(401, "unauthorized");

        // Revoked: works until revoked, then never again.
        let issued = app
            .post(
                &app.owner_token,
                "/api/v1/tokens",
                json!({"name": "short-lived"}),
            )
            .await
            .expect(201, "");
        let secret = issued.body["token"].as_str().unwrap().to_owned();
        app.get(&secret, me).await.expect(200, "");
        let revoked = app
            .delete(
                &app.owner_token,
                &format!("/api/v1/tokens/{}", issued.body["id"].as_str().unwrap()),
            )
            .await
            .expect(200, "");
        assert!(revoked.body["revoked_at"].is_string());
        app.get(&secret, me).await.expect(401, "unauthorized");
        app.post(&secret, "/api/v1/requests", json!({"title": "x"}))
            .await
            .expect(401, "unauthorized");

        // Expiry: a token expiring in the future works; one that has expired does not. The API
        // refuses to issue an expired token, so that one is stored directly.
        let future = app
            .post(
                &app.owner_token,
                "/api/v1/tokens",
                json!({"name": "later", "expires_at": "2999-01-01"}),
            )
            .await
            .expect(201, "");
        app.get(future.body["token"].as_str().unwrap(), me)
            .await
            .expect(200, "");
        let r = app
            .post(
                &app.owner_token,
                "/api/v1/tokens",
                json!({"name": "past", "expires_at": "2001-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(
            r.expect(422, "validation_failed").body["error"]["details"][0]["code"],
            "in_the_past"
        );
        let secret = docket_domain::token::TokenSecret::generate();
        let now = docket_domain::now();
        let token = docket_domain::token::Token::new(
            app.workspace_id.parse().unwrap(),
            Some(app.owner_id.parse().unwrap()),
            "expired",
            Vec::new(),
            Some(now - chrono::TimeDelta::seconds(1)),
            &secret,
            now - chrono::TimeDelta::hours(1),
        );
        app.store.insert_token(token).await.unwrap();
        app.get(secret.expose(), me)
            .await
            .expect(401, "unauthorized");
    }
}

backend_tests! {
    #[tokio::test]
    async fn tokens_are_issued_within_the_role_and_never_broader_than_the_issuer() {
        let app = spawn_app().await;
        let (member_id, member) = app.add_member("member").await;
        let (other_id, _) = app.add_member("member").await;

        // The member's role does not allow workflows:write, whoever asks.
        for (token, body) in [
            (
                &member,
                json!({"name": "x", "scopes": ["requests:read", "workflows:write"]}),
            ),
            (
                &app.owner_token,
                json!({"name": "x", "scopes": ["members:write"], "member_id": member_id}),
            ),
        ] {
            let r = app
                .post(token, "/api/v1/tokens", body)
                .await
                .expect(422, "validation_failed");
            assert_eq!(r.body["error"]["details"][0]["field"], "scopes");
            assert_eq!(r.body["error"]["details"][0]["code"], "scope_not_allowed");
        }
        app.post(
            &member,
            "/api/v1/tokens",
            json!({"name": "x", "scopes": ["requests:delete"]}),
        )
        .await
        .expect(422, "validation_failed");

        // A narrowed token may issue the same or narrower, never broader.
        let narrow = app
            .token_with_scopes(&member, &["requests:read", "tokens:write"])
            .await;
        app.post(&narrow, "/api/v1/tokens", json!({"name": "all"}))
            .await
            .expect(403, "forbidden");
        app.post(
            &narrow,
            "/api/v1/tokens",
            json!({"name": "write", "scopes": ["requests:write"]}),
        )
        .await
        .expect(403, "forbidden");
        let narrower = app
            .post(
                &narrow,
                "/api/v1/tokens",
                json!({"name": "read", "scopes": ["requests:read"]}),
            )
            .await
            .expect(201, "");
        assert_eq!(narrower.body["scopes"], json!(["requests:read"]));
        assert_eq!(narrower.body["member_id"], member_id.as_str());
        let me = app
            .get(narrower.body["token"].as_str().unwrap(), "/api/v1/me")
            .await
            .expect(200, "");
        assert_eq!(me.body["scopes"], json!(["requests:read"]));
        assert_eq!(me.body["member"]["id"], member_id.as_str());

        // Only owners and admins issue tokens to other members.
        app.post(
            &member,
            "/api/v1/tokens",
            json!({"name": "theirs", "member_id": other_id}),
        )
        .await
        .expect(403, "forbidden");
        let r = app
            .post(
                &app.owner_token,
                "/api/v1/tokens",
                json!({"name": "theirs", "member_id": other_id}),
            )
            .await
            .expect(201, "");
        assert_eq!(r.body["member_id"], other_id.as_str());
    }
}

backend_tests! {
    #[tokio::test]
    async fn members_see_and_revoke_only_their_own_tokens() {
        let app = spawn_app().await;
        let (member_id, member) = app.add_member("member").await;
        let (_, other) = app.add_member("member").await;
        let (_, admin) = app.add_member("admin").await;
        let own = app
            .post(&member, "/api/v1/tokens", json!({"name": "own"}))
            .await
            .expect(201, "");
        let theirs = app
            .post(&other, "/api/v1/tokens", json!({"name": "theirs"}))
            .await
            .expect(201, "");
        assert!(own.body["token"].as_str().unwrap().starts_with("dk_"));

        let listed = app.get(&member, "/api/v1/tokens").await.expect(200, "");
        let items = listed.body["items"].as_array().unwrap();
        assert!(
            items.iter().all(|t| t["member_id"] == member_id.as_str()),
            "{}",
            listed.body
        );
        assert_eq!(
            items.len(),
            2,
            "the token add_member issued and the one issued here"
        );
        assert!(
            items
                .iter()
                .all(|t| t.get("token").is_none() && t.get("hash").is_none()),
            "secrets are never listed"
        );
        let everyone = app.get(&admin, "/api/v1/tokens").await.expect(200, "");
        assert!(everyone.body["items"].as_array().unwrap().len() >= 6);

        // Another member's token is not found, not forbidden.
        app.delete(
            &member,
            &format!("/api/v1/tokens/{}", theirs.body["id"].as_str().unwrap()),
        )
        .await
        .expect(404, "not_found");
        app.get(theirs.body["token"].as_str().unwrap(), "/api/v1/me")
            .await
            .expect(200, "");
        app.delete(
            &member,
            &format!("/api/v1/tokens/{}", own.body["id"].as_str().unwrap()),
        )
        .await
        .expect(200, "");
        // Admins revoke anyone's.
        app.delete(
            &admin,
            &format!("/api/v1/tokens/{}", theirs.body["id"].as_str().unwrap()),
        )
        .await
        .expect(200, "");
        app.get(theirs.body["token"].as_str().unwrap(), "/api/v1/me")
            .await
            .expect(401, "unauthorized");
    }
}

backend_tests! {
    #[tokio::test]
    async fn only_owners_make_or_unmake_owners_and_the_last_owner_stays() {
        let app = spawn_app().await;
        let (admin_id, admin) = app.add_member("admin").await;
        let (member_id, _) = app.add_member("member").await;
        let owner = app.owner_id.clone();

        // The only owner may not step down.
        let r = app
            .patch(
                &app.owner_token,
                &format!("/api/v1/members/{owner}"),
                json!({"role": "admin"}),
            )
            .await
            .expect(409, "last_owner");
        assert!(r.body["error"]["message"].is_string());

        // Admins may not grant, create or remove the owner role.
        app.patch(
            &admin,
            &format!("/api/v1/members/{member_id}"),
            json!({"role": "owner"}),
        )
        .await
        .expect(403, "forbidden");
        app.patch(
            &admin,
            &format!("/api/v1/members/{admin_id}"),
            json!({"role": "owner"}),
        )
        .await
        .expect(403, "forbidden");
        app.post(
            &admin,
            "/api/v1/members",
            json!({"email": "boss@example.com", "name": "Boss", "role": "owner"}),
        )
        .await
        .expect(403, "forbidden");
        app.patch(
            &admin,
            &format!("/api/v1/members/{owner}"),
            json!({"role": "member"}),
        )
        .await
        .expect(403, "forbidden");
        // ...but may manage everyone else.
        let r = app
            .patch(
                &admin,
                &format!("/api/v1/members/{member_id}"),
                json!({"role": "moderator", "name": "Mo"}),
            )
            .await
            .expect(200, "");
        assert_eq!(r.body["role"], "moderator");
        assert_eq!(r.body["name"], "Mo");

        // An owner makes a second owner; then either may step down, but not both.
        let second = app
            .post(
                &app.owner_token,
                "/api/v1/members",
                json!({"email": "co@example.com", "name": "Co", "role": "owner"}),
            )
            .await
            .expect(201, "");
        let second_id = second.body["id"].as_str().unwrap();
        let co = app
            .post(
                &app.owner_token,
                "/api/v1/tokens",
                json!({"name": "co", "member_id": second_id}),
            )
            .await
            .expect(201, "");
        let co = co.body["token"].as_str().unwrap();
        app.patch(
            &app.owner_token,
            &format!("/api/v1/members/{owner}"),
            json!({"role": "admin"}),
        )
        .await
        .expect(200, "");
        // The former owner is an admin now, at once: they may no longer touch the owner role.
        app.patch(
            &app.owner_token,
            &format!("/api/v1/members/{second_id}"),
            json!({"role": "admin"}),
        )
        .await
        .expect(403, "forbidden");
        app.patch(
            co,
            &format!("/api/v1/members/{second_id}"),
            json!({"role": "admin"}),
        )
        .await
        .expect(409, "last_owner");
        app.patch(
            co,
            &format!("/api/v1/members/{owner}"),
            json!({"role": "owner"}),
        )
        .await
        .expect(200, "");
    }
}

backend_tests! {
    #[tokio::test]
    async fn an_admin_cannot_obtain_a_token_that_acts_for_an_owner() {
        let app = spawn_app().await;
        let (admin_id, admin) = app.add_member("admin").await;
        // Were this allowed, the admin could use it to make themselves an owner.
        let r = app
            .post(
                &admin,
                "/api/v1/tokens",
                json!({"name": "escalate", "member_id": app.owner_id}),
            )
            .await
            .expect(403, "forbidden");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("owner"),
            "{}",
            r.body
        );
        let me = app.get(&admin, "/api/v1/me").await.expect(200, "");
        assert_eq!(me.body["member"]["id"], admin_id.as_str());
        assert_eq!(me.body["member"]["role"], "admin");
        // Admins still issue tokens to members, and owners to owners.
        let (member_id, _) = app.add_member("member").await;
        app.post(
            &admin,
            "/api/v1/tokens",
            json!({"name": "for a member", "member_id": member_id}),
        )
        .await
        .expect(201, "");
        app.post(
            &app.owner_token,
            "/api/v1/tokens",
            json!({"name": "mine", "member_id": app.owner_id}),
        )
        .await
        .expect(201, "");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_role_change_applies_to_existing_tokens_at_once_and_emails_are_unique() {
        let app = spawn_app().await;
        let (admin_id, admin) = app.add_member("admin").await;
        app.post(
            &admin,
            "/api/v1/members",
            json!({"email": "Sam@Example.com", "name": "Sam", "role": "member"}),
        )
        .await
        .expect(201, "");
        let r = app
            .post(
                &admin,
                "/api/v1/members",
                json!({"email": " sam@example.com", "name": "Sam again", "role": "member"}),
            )
            .await;
        r.expect(409, "email_taken");
        app.post(
            &admin,
            "/api/v1/members",
            json!({"email": "not-an-email", "name": "X", "role": "member"}),
        )
        .await
        .expect(422, "validation_failed");
        app.post(
            &admin,
            "/api/v1/members",
            json!({"email": "x@example.com", "name": "X", "role": "king"}),
        )
        .await
        .expect(422, "validation_failed");

        app.patch(
            &app.owner_token,
            &format!("/api/v1/members/{admin_id}"),
            json!({"role": "member"}),
        )
        .await
        .expect(200, "");
        app.post(
            &admin,
            "/api/v1/members",
            json!({"email": "late@example.com", "name": "Late", "role": "member"}),
        )
        .await
        .expect(403, "forbidden");
        let me = app.get(&admin, "/api/v1/me").await.expect(200, "");
        assert_eq!(me.body["member"]["role"], "member");
        assert_eq!(
            me.body["scopes"],
            json!([
                "requests:read",
                "requests:write",
                "members:read",
                "tokens:write",
                "files:read",
                "files:write"
            ])
        );
    }
}
