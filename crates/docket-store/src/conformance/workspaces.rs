//! Conformance checks: workspaces.

use super::{create_workspace, expect_conflict, new_workspace, unique_slug};
use crate::Store;
use docket_domain::request::TypeKey;
use docket_domain::token::TokenSecret;
use docket_domain::workflow::Workflow;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Workspaces
// ---------------------------------------------------------------------------------------

/// A new workspace comes with the built-in `general` type, its owner, and the owner's
/// token, which authenticates (found by hash, with its member).
pub async fn workspace_creation_stores_general_type_owner_and_token(store: Arc<dyn Store>) {
    store.ping().await.expect("a fresh store answers ping");
    let s = create_workspace(&*store, "acme").await;
    let ws = s.id();

    let listed = store.list_workspaces().await.expect("list workspaces");
    assert!(listed.contains(&s.workspace), "the new workspace is listed");
    assert_eq!(
        store
            .workspace_by_slug(&s.workspace.slug)
            .await
            .expect("by slug"),
        Some(s.workspace.clone())
    );
    assert_eq!(
        store
            .workspace_by_slug(&unique_slug("nobody"))
            .await
            .expect("by slug"),
        None
    );
    assert_eq!(
        store.get_workspace(ws).await.expect("by id"),
        Some(s.workspace.clone())
    );
    assert_eq!(
        store
            .get_workspace(docket_domain::ids::WorkspaceId::new())
            .await
            .expect("by id"),
        None
    );

    let types = store
        .list_request_types(ws)
        .await
        .expect("list request types");
    assert_eq!(
        types.len(),
        1,
        "a new workspace has exactly one request type: {types:?}"
    );
    assert_eq!(types[0].key, TypeKey::general());
    assert_eq!(types[0].workspace_id, ws);
    assert_eq!(
        types[0].workflow,
        Workflow::general(),
        "general uses the general workflow"
    );
    assert_eq!(
        store
            .get_request_type(ws, &TypeKey::general())
            .await
            .expect("get type"),
        Some(types[0].clone())
    );

    assert_eq!(
        store.get_member(ws, s.owner.id).await.expect("get member"),
        Some(s.owner.clone())
    );
    assert_eq!(
        store
            .member_by_email(ws, &s.owner.email)
            .await
            .expect("by email"),
        Some(s.owner.clone())
    );
    assert_eq!(
        store.list_members(ws).await.expect("list members"),
        vec![s.owner.clone()]
    );

    let found = store
        .token_by_hash(&s.secret.hash())
        .await
        .expect("token by hash");
    assert_eq!(
        found,
        Some((s.token.clone(), Some(s.owner.clone()))),
        "the owner's token authenticates as the owner"
    );
    assert_eq!(
        store.get_token(ws, s.token.id).await.expect("get token"),
        Some(s.token.clone())
    );
    assert_eq!(
        store.list_tokens(ws, None).await.expect("list tokens"),
        vec![s.token.clone()]
    );
    let stranger = TokenSecret::generate();
    assert_eq!(
        store
            .token_by_hash(&stranger.hash())
            .await
            .expect("token by hash"),
        None,
        "an unknown secret finds nothing"
    );
}

/// A second workspace with a taken slug is `slug_taken`, and none of it (owner, token) is
/// stored: creation is atomic.
pub async fn duplicate_workspace_slug_is_refused_and_stores_nothing(store: Arc<dyn Store>) {
    let first = create_workspace(&*store, "dup").await;
    let (workspace, owner, token, secret) = new_workspace(&first.workspace.slug);
    let result = store
        .create_workspace(workspace.clone(), owner.clone(), token)
        .await;
    expect_conflict(
        result,
        "slug_taken",
        "a second workspace with the same slug",
    );

    assert_eq!(
        store
            .workspace_by_slug(&first.workspace.slug)
            .await
            .expect("by slug"),
        Some(first.workspace.clone())
    );
    let listed = store.list_workspaces().await.expect("list workspaces");
    assert!(
        !listed.iter().any(|w| w.id == workspace.id),
        "the refused workspace is not listed"
    );
    assert_eq!(
        store
            .token_by_hash(&secret.hash())
            .await
            .expect("token by hash"),
        None,
        "the refused owner token does not authenticate"
    );
    assert_eq!(
        store
            .get_member(workspace.id, owner.id)
            .await
            .expect("get member"),
        None
    );
    assert_eq!(
        store
            .list_request_types(workspace.id)
            .await
            .expect("list types"),
        Vec::new()
    );
}
