//! API tokens: issue (the secret is answered once), list, revoke.

use crate::api::time::parse_instant;
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiJson, PathId};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use docket_domain::access::{Role, Scope, ScopeSet};
use docket_domain::ids::{MemberId, TokenId};
use docket_domain::token::{Token, TokenSecret};
use docket_domain::DomainError;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// Empty or absent: everything the member's role allows.
    #[serde(default)]
    pub scopes: Vec<Scope>,
    /// RFC 3339 or a date; absent for a token that does not expire.
    pub expires_at: Option<String>,
    /// Owners and admins may issue a token to another member.
    pub member_id: Option<MemberId>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// The secret. Shown this once; Docket keeps only its hash.
    pub token: String,
    #[serde(flatten)]
    pub record: Token,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenList {
    pub items: Vec<Token>,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = IssuedToken), (status = 403, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    p.require(Scope::TokensWrite)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "invalid",
            "a token name has 1-100 characters",
        ));
    }
    let now = docket_domain::now();
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|e| parse_instant("expires_at", e))
        .transpose()?;
    if expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::invalid(
            "expires_at",
            "in_the_past",
            "a token must expire in the future",
        ));
    }
    let member_id = match (body.member_id, p.member_id()) {
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
    let requested = ScopeSet::of(&body.scopes);
    if !requested.is_subset_of(member.role.scopes()) {
        let beyond: Vec<String> = body
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
        name,
        body.scopes,
        expires_at,
        &secret,
        now,
    );
    let record = state.store().insert_token(token).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedToken {
            token: secret.expose().to_owned(),
            record,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, description = "Your tokens; every token of the workspace for owners and admins", body = TokenList)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<TokenList>, ApiError> {
    p.require(Scope::TokensWrite)?;
    let only = if p.is_admin() { None } else { p.member_id() };
    Ok(Json(TokenList {
        items: state.store().list_tokens(p.workspace_id, only).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 200, description = "Revoked", body = Token), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<TokenId>,
) -> Result<Json<Token>, ApiError> {
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
    Ok(Json(
        store
            .revoke_token(p.workspace_id, id, docket_domain::now())
            .await?,
    ))
}
