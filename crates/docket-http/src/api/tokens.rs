//! API tokens: issue (the secret is answered once), list, revoke.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiJson, PathId};
use crate::state::AppState;
use crate::time::parse_instant;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::ids::{MemberId, TokenId};
use docket_domain::token::Token;
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
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|e| parse_instant("expires_at", e))
        .transpose()?;
    let want = crate::ops::people::TokenRequest {
        name: body.name,
        scopes: body.scopes,
        expires_at,
        member_id: body.member_id,
    };
    let (secret, record) = crate::ops::people::issue_token(&state, &p, want).await?;
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
    Ok(Json(TokenList {
        items: crate::ops::people::tokens(&state, &p).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 200, description = "Revoked", body = Token), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<TokenId>,
) -> Result<Json<Token>, ApiError> {
    Ok(Json(
        crate::ops::people::revoke_token(&state, &p, id).await?,
    ))
}
