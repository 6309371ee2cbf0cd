//! Conformance checks: members.

use super::{add_member, create_workspace, expect_conflict, expect_not_found};
use crate::{MemberChange, Store};
use chrono::TimeDelta;
use docket_domain::access::{Role, Scope};
use docket_domain::ids::{MemberId, TokenId};
use docket_domain::member::{Email, NewMember};
use docket_domain::now;
use docket_domain::token::{Token, TokenSecret};
use std::collections::HashSet;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Members and tokens
// ---------------------------------------------------------------------------------------

/// An email is one member per workspace (`email_taken`, whatever its case), but the same
/// person may join another workspace.
pub async fn member_emails_are_unique_per_workspace(store: Arc<dyn Store>) {
    let a = create_workspace(&*store, "members-a").await;
    let b = create_workspace(&*store, "members-b").await;
    let ana = add_member(&*store, a.id(), "ana@example.com", "Ana", Role::Member).await;
    assert_eq!(
        store.get_member(a.id(), ana.id).await.expect("get member"),
        Some(ana.clone())
    );

    let twin = NewMember::new(
        Email::parse("ANA@Example.com").expect("email"),
        "Ana Again",
        Role::Admin,
    )
    .expect("member")
    .into_member(a.id(), now());
    expect_conflict(
        store.insert_member(twin.clone()).await,
        "email_taken",
        "a second member with the same email",
    );
    assert_eq!(
        store.get_member(a.id(), twin.id).await.expect("get member"),
        None,
        "the refused member is not stored"
    );

    let elsewhere = add_member(&*store, b.id(), "ana@example.com", "Ana", Role::Admin).await;
    assert_eq!(
        store
            .member_by_email(b.id(), &elsewhere.email)
            .await
            .expect("by email"),
        Some(elsewhere.clone())
    );
    assert_eq!(
        store
            .member_by_email(a.id(), &ana.email)
            .await
            .expect("by email"),
        Some(ana.clone()),
        "each workspace keeps its own"
    );

    let listed: HashSet<_> = store
        .list_members(a.id())
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(listed, HashSet::from([a.owner.id, ana.id]));
}

/// `update_member` changes the role (and the name), leaves what it is not given, and
/// refuses an unknown member.
pub async fn update_member_changes_role_and_name(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "roles").await;
    let ana = add_member(&*store, s.id(), "ana@roles.example", "Ana", Role::Member).await;

    let promoted = store
        .update_member(
            s.id(),
            ana.id,
            MemberChange {
                role: Some(Role::Moderator),
                ..Default::default()
            },
        )
        .await
        .expect("change a role");
    assert_eq!(
        (promoted.role, promoted.name.as_str()),
        (Role::Moderator, "Ana")
    );
    assert_eq!(
        store.get_member(s.id(), ana.id).await.expect("get member"),
        Some(promoted.clone()),
        "the new role is stored"
    );

    let renamed = store
        .update_member(
            s.id(),
            ana.id,
            MemberChange {
                name: Some("Ana Lima".into()),
                ..Default::default()
            },
        )
        .await
        .expect("rename");
    assert_eq!(
        (renamed.role, renamed.name.as_str()),
        (Role::Moderator, "Ana Lima"),
        "a rename keeps the role"
    );
    assert_eq!(
        store
            .member_by_email(s.id(), &ana.email)
            .await
            .expect("by email"),
        Some(renamed.clone())
    );
    let found = store
        .token_by_hash(&s.secret.hash())
        .await
        .expect("token by hash")
        .expect("owner token");
    assert_eq!(
        found.1,
        Some(s.owner.clone()),
        "other members are untouched"
    );

    let missing = store
        .update_member(s.id(), MemberId::new(), MemberChange::default())
        .await;
    expect_not_found(missing, "changing an unknown member");
}

/// Tokens: stored as issued (scopes, expiry), found by hash with their member (none for a
/// system token), listed per member, revoked once (the first time is kept), and touched.
pub async fn tokens_revoke_touch_and_list_by_member(store: Arc<dyn Store>) {
    let s = create_workspace(&*store, "tokens").await;
    let ws = s.id();
    let ana = add_member(&*store, ws, "ana@tokens.example", "Ana", Role::Member).await;
    let ana_secret = TokenSecret::generate();
    let ana_token = Token::new(
        ws,
        Some(ana.id),
        "CLI",
        vec![Scope::RequestsWrite, Scope::RequestsRead],
        None,
        &ana_secret,
        now(),
    );
    assert_eq!(
        store
            .insert_token(ana_token.clone())
            .await
            .expect("insert token"),
        ana_token
    );
    let ops_secret = TokenSecret::generate();
    let ops_token = Token::new(
        ws,
        None,
        "ops",
        Vec::new(),
        Some(now() + TimeDelta::days(30)),
        &ops_secret,
        now(),
    );
    store
        .insert_token(ops_token.clone())
        .await
        .expect("insert a system token");

    assert_eq!(
        store
            .token_by_hash(&ana_secret.hash())
            .await
            .expect("by hash"),
        Some((ana_token.clone(), Some(ana.clone())))
    );
    assert_eq!(
        store
            .token_by_hash(&ops_secret.hash())
            .await
            .expect("by hash"),
        Some((ops_token.clone(), None)),
        "a system token has no member"
    );

    let ids = |tokens: Vec<Token>| tokens.into_iter().map(|t| t.id).collect::<HashSet<_>>();
    assert_eq!(
        ids(store.list_tokens(ws, Some(ana.id)).await.expect("list")),
        HashSet::from([ana_token.id]),
        "Ana's tokens"
    );
    assert_eq!(
        ids(store.list_tokens(ws, Some(s.owner.id)).await.expect("list")),
        HashSet::from([s.token.id]),
        "the owner's tokens"
    );
    assert_eq!(
        ids(store.list_tokens(ws, None).await.expect("list")),
        HashSet::from([s.token.id, ana_token.id, ops_token.id]),
        "all tokens"
    );

    let revoked_at = now();
    let revoked = store
        .revoke_token(ws, ana_token.id, revoked_at)
        .await
        .expect("revoke");
    assert_eq!(revoked.revoked_at, Some(revoked_at));
    assert_eq!(
        revoked,
        Token {
            revoked_at: Some(revoked_at),
            ..ana_token.clone()
        },
        "revoking changes only revoked_at"
    );
    assert_eq!(
        store.get_token(ws, ana_token.id).await.expect("get token"),
        Some(revoked.clone())
    );
    let (found, _) = store
        .token_by_hash(&ana_secret.hash())
        .await
        .expect("by hash")
        .expect("still found");
    assert_eq!(
        found.revoked_at,
        Some(revoked_at),
        "a revoked token is found, revoked"
    );
    let again = store
        .revoke_token(ws, ana_token.id, revoked_at + TimeDelta::hours(1))
        .await
        .expect("revoke again");
    assert_eq!(
        again.revoked_at,
        Some(revoked_at),
        "revoking twice keeps the first time"
    );
    assert_eq!(
        store
            .get_token(ws, s.token.id)
            .await
            .expect("get")
            .and_then(|t| t.revoked_at),
        None,
        "other tokens stay active"
    );
    expect_not_found(
        store.revoke_token(ws, TokenId::new(), now()).await,
        "revoking an unknown token",
    );

    let used_at = now() + TimeDelta::seconds(5);
    store.touch_token(s.token.id, used_at).await.expect("touch");
    assert_eq!(
        store
            .get_token(ws, s.token.id)
            .await
            .expect("get")
            .and_then(|t| t.last_used_at),
        Some(used_at),
        "touch records use"
    );
    let (owner_token, _) = store
        .token_by_hash(&s.secret.hash())
        .await
        .expect("by hash")
        .expect("found");
    assert_eq!(
        owner_token.last_used_at,
        Some(used_at),
        "lookups by hash see the recorded use"
    );

    // A member's new role shows on their token at once (a lookup caches nothing stale).
    store
        .update_member(
            ws,
            ana.id,
            MemberChange {
                role: Some(Role::Moderator),
                ..Default::default()
            },
        )
        .await
        .expect("promote");
    let (_, member) = store
        .token_by_hash(&ana_secret.hash())
        .await
        .expect("by hash")
        .expect("found");
    assert_eq!(member.map(|m| m.role), Some(Role::Moderator));
}
