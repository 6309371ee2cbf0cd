//! The people of a workspace and their credentials: adding a member, changing one, and
//! issuing, listing and revoking tokens.

use crate::error::ApiError;
use crate::state::AppState;
use docket_domain::access::{Principal, Role, Scope};
use docket_domain::ids::{MemberId, TokenId};
use docket_domain::member::{may_grant, Email, Member, MemberChange, NewMember};
use docket_domain::token::{Token, TokenSecret};
use docket_domain::DomainError;

/// Adds a member with `role` (409 `email_taken` when the email is in the workspace).
pub async fn add_member(
    state: &AppState,
    p: &Principal,
    email: Email,
    name: &str,
    role: Role,
) -> Result<Member, ApiError> {
    p.require(Scope::MembersWrite)?;
    may_grant(p, role)?;
    let new = NewMember::new(email, name, role).map_err(|e| DomainError::Validation(vec![e]))?;
    Ok(state
        .store()
        .insert_member(new.into_member(p.workspace_id, docket_domain::now()))
        .await?)
}

/// Renames member `id` or changes their role (the workspace keeps at least one owner).
pub async fn change_member(
    state: &AppState,
    p: &Principal,
    id: MemberId,
    name: Option<String>,
    role: Option<Role>,
) -> Result<Member, ApiError> {
    p.require(Scope::MembersWrite)?;
    let store = state.store();
    let current = store
        .get_member(p.workspace_id, id)
        .await?
        .ok_or(DomainError::NotFound("member"))?;
    if let Some(role) = role {
        if role != current.role {
            may_grant(p, role)?;
            may_grant(p, current.role)?;
            // The last-owner rule is checked by the store, in the write's transaction.
        }
    }
    let name = match name {
        Some(n) => Some(
            NewMember::new(current.email.clone(), &n, current.role)
                .map_err(|e| DomainError::Validation(vec![e]))?
                .name,
        ),
        None => None,
    };
    Ok(store
        .update_member(p.workspace_id, id, MemberChange { name, role })
        .await?)
}

pub use docket_domain::token::TokenRequest;

/// Issues a token; returns its secret (shown once) and its record.
pub async fn issue_token(
    state: &AppState,
    p: &Principal,
    want: TokenRequest,
) -> Result<(TokenSecret, Token), ApiError> {
    p.require(Scope::TokensWrite)?;
    let holder = want.holder(p)?;
    let member = state
        .store()
        .get_member(p.workspace_id, holder)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "member_id",
                "unknown_member",
                "no member with this id in the workspace",
            )
        })?;
    let (secret, token) = want.plan(p, &member, docket_domain::now())?;
    let record = state.store().insert_token(token).await?;
    Ok((secret, record))
}

/// The caller's tokens; every token of the workspace for owners and admins.
pub async fn tokens(state: &AppState, p: &Principal) -> Result<Vec<Token>, ApiError> {
    p.require(Scope::TokensWrite)?;
    let only = if p.is_admin() { None } else { p.member_id() };
    Ok(state.store().list_tokens(p.workspace_id, only).await?)
}

/// Revokes token `id` (another member's token is not found for a non-admin).
pub async fn revoke_token(state: &AppState, p: &Principal, id: TokenId) -> Result<Token, ApiError> {
    p.require(Scope::TokensWrite)?;
    let store = state.store();
    let token = store
        .get_token(p.workspace_id, id)
        .await?
        .ok_or(DomainError::NotFound("token"))?;
    if !p.is_admin() && token.member_id != p.member_id() {
        // Another member's token is not theirs to see: not found, not forbidden.
        return Err(DomainError::NotFound("token").into());
    }
    Ok(store
        .revoke_token(p.workspace_id, id, docket_domain::now())
        .await?)
}
