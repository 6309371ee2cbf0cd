//! Authentication: from a presented secret to the [`Principal`] a call acts as.
//!
//! A token is looked up by the SHA-256 of its secret: one indexed read, no slow hash on
//! the hot path. `last_used_at` is written at most once a minute per token, off the
//! request path, so reads stay reads.

use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::header;
use docket_domain::access::{Acting, Principal};
use docket_domain::token::TokenHash;

/// How stale `last_used_at` may get before a call refreshes it.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The authenticated caller of a native API route (`Authorization: Bearer dk_…`).
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let secret = bearer(parts).ok_or(ApiError::Unauthorized("send an API token as Authorization: Bearer <token>"))?;
        authenticate(state, secret).await.map(Auth)
    }
}

/// The token in `Authorization: Bearer …`, if that is what the header holds.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Resolves a presented token secret, whatever header carried it.
pub async fn authenticate(state: &AppState, secret: &str) -> Result<Principal, ApiError> {
    const INVALID: &str = "the token is unknown, revoked or expired";
    let now = docket_domain::now();
    let (token, member) = state.store().token_by_hash(&TokenHash::of(secret)).await?.ok_or(ApiError::Unauthorized(INVALID))?;
    if !token.is_active(now) {
        return Err(ApiError::Unauthorized(INVALID));
    }
    let acting = match (token.member_id, member) {
        (None, _) => None,
        (Some(_), Some(m)) => Some(Acting { id: m.id, role: m.role }),
        // The member is gone: the token dies with it.
        (Some(_), None) => return Err(ApiError::Unauthorized(INVALID)),
    };
    if token.last_used_at.is_none_or(|t| now - t > TOUCH_EVERY) {
        let store = state.store().clone();
        let id = token.id;
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(id, now).await {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }
    Ok(Principal::for_token(token.workspace_id, acting, Some(token.id), token.scope_set()))
}
