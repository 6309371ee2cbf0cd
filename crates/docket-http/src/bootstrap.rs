//! First start: an empty database gets a workspace, its owner, and an owner token.

use docket_domain::access::Role;
use docket_domain::member::{Email, NewMember};
use docket_domain::token::{Token, TokenSecret};
use docket_domain::workspace::Workspace;
use docket_domain::DomainError;
use docket_store::{Store, StoreError};

/// What first start created; the secret is shown once and never stored.
#[derive(Debug)]
pub struct Bootstrapped {
    pub workspace: Workspace,
    pub owner_email: String,
    pub secret: TokenSecret,
}

/// Creates a workspace with an owner and a token for them.
pub async fn create_workspace(
    store: &dyn Store,
    name: &str,
    slug: &str,
    owner_email: &str,
    owner_name: &str,
    secret: Option<TokenSecret>,
) -> anyhow::Result<Bootstrapped> {
    let now = docket_domain::now();
    let workspace = Workspace::new(name, slug, now)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
    let email =
        Email::parse(owner_email).map_err(|e| anyhow::anyhow!("owner email: {}", e.message))?;
    let owner = NewMember::new(email, owner_name, Role::Owner)
        .map_err(|e| anyhow::anyhow!("owner name: {}", e.message))?
        .into_member(workspace.id, now);
    let secret = secret.unwrap_or_else(TokenSecret::generate);
    let token = Token::new(
        workspace.id,
        Some(owner.id),
        "owner token",
        Vec::new(),
        None,
        &secret,
        now,
    );
    store
        .create_workspace(workspace.clone(), owner, token)
        .await?;
    Ok(Bootstrapped {
        workspace,
        owner_email: owner_email.to_owned(),
        secret,
    })
}

/// On an empty database, creates the `default` workspace; otherwise does nothing.
pub async fn ensure_first_workspace(
    store: &dyn Store,
    admin_token: Option<&str>,
    owner_email: &str,
) -> anyhow::Result<Option<Bootstrapped>> {
    if !store.list_workspaces().await?.is_empty() {
        return Ok(None);
    }
    let secret = admin_token
        .map(TokenSecret::from_configured)
        .transpose()
        .map_err(|e| anyhow::anyhow!("DOCKET_ADMIN_TOKEN: {e}"))?;
    match create_workspace(store, "Default", "default", owner_email, "Owner", secret).await {
        Ok(made) => Ok(Some(made)),
        // Several nodes on one PostgreSQL database may start together on an empty
        // database: one creates `default`, the others find it taken and carry on.
        Err(e) if is_slug_taken(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_slug_taken(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<StoreError>(),
        Some(StoreError::Domain(DomainError::Conflict {
            code: "slug_taken",
            ..
        }))
    )
}
