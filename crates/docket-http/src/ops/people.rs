//! The people of a workspace and their credentials: adding a member, changing one, and
//! issuing, listing and revoking tokens.

use crate::error::ApiError;
use crate::state::AppState;
use docket_domain::access::{Principal, Role, Scope, ScopeSet};
use docket_domain::ids::{MemberId, TokenId};
use docket_domain::member::{Email, Member, MemberChange, NewMember};
use docket_domain::token::{Token, TokenSecret};
use docket_domain::{DomainError, Timestamp};

/// Only owners make or unmake owners.
fn check_owner_grant(p: &Principal, role: Role) -> Result<(), ApiError> {
    if role == Role::Owner && p.role().is_some_and(|r| r != Role::Owner) {
        return Err(DomainError::Forbidden(
            "only an owner may grant or remove the owner role".into(),
        )
        .into());
    }
    Ok(())
}

/// Adds a member with `role` (409 `email_taken` when the email is in the workspace).
pub async fn add_member(
    state: &AppState,
    p: &Principal,
    email: Email,
    name: &str,
    role: Role,
) -> Result<Member, ApiError> {
    p.require(Scope::MembersWrite)?;
    check_owner_grant(p, role)?;
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
            check_owner_grant(p, role)?;
            check_owner_grant(p, current.role)?;
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

/// What a new token is asked for.
pub struct TokenRequest {
    pub name: String,
    /// Empty: everything the member's role allows.
    pub scopes: Vec<Scope>,
    pub expires_at: Option<Timestamp>,
    /// The member it acts for; the caller when `None`.
    pub member_id: Option<MemberId>,
}

/// Issues a token; returns its secret (shown once) and its record.
pub async fn issue_token(
    state: &AppState,
    p: &Principal,
    want: TokenRequest,
) -> Result<(TokenSecret, Token), ApiError> {
    p.require(Scope::TokensWrite)?;
    let name = want.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "invalid",
            "a token name has 1-100 characters",
        ));
    }
    let now = docket_domain::now();
    if want.expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::invalid(
            "expires_at",
            "in_the_past",
            "a token must expire in the future",
        ));
    }
    let member_id = match (want.member_id, p.member_id()) {
        (Some(target), me) if Some(target) != me => {
            if !p.is_admin() {
                return Err(DomainError::Forbidden(
                    "only owners and admins may issue tokens to other members".into(),
                )
                .into());
            }
            target
        }
        (Some(target), _) => target,
        (None, Some(me)) => me,
        (None, None) => {
            return Err(ApiError::invalid(
                "member_id",
                "required",
                "a system token must name the member the new token acts for",
            ))
        }
    };
    let member = state
        .store()
        .get_member(p.workspace_id, member_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "member_id",
                "unknown_member",
                "no member with this id in the workspace",
            )
        })?;
    // A token for an owner acts as that owner: only owners may issue one, or an admin could
    // mint one and use it to grant themselves the owner role.
    if member.role == Role::Owner && p.role().is_some_and(|r| r != Role::Owner) {
        return Err(
            DomainError::Forbidden("only an owner may issue tokens to an owner".into()).into(),
        );
    }
    let requested = ScopeSet::of(&want.scopes);
    if !requested.is_subset_of(member.role.scopes()) {
        let beyond: Vec<String> = want
            .scopes
            .iter()
            .filter(|s| !member.role.scopes().contains(**s))
            .map(|s| s.to_string())
            .collect();
        return Err(ApiError::invalid(
            "scopes",
            "scope_not_allowed",
            format!(
                "the {} role does not allow {}",
                member.role,
                beyond.join(", ")
            ),
        ));
    }
    // A token can never mint a token more powerful than itself.
    let resolved = if requested.is_empty() {
        member.role.scopes()
    } else {
        requested
    };
    if !resolved.is_subset_of(p.scopes()) {
        return Err(DomainError::Forbidden(
            "a token may only issue tokens within its own scopes".into(),
        )
        .into());
    }
    let secret = TokenSecret::generate();
    let token = Token::new(
        p.workspace_id,
        Some(member.id),
        &name,
        want.scopes,
        want.expires_at,
        &secret,
        now,
    );
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
