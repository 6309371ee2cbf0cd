//! Authentication: from a presented secret to the [`Principal`] a call acts as.
//!
//! A token is looked up by the SHA-256 of its secret: one indexed read, no slow hash on
//! the hot path. `last_used_at` is written at most once a minute per token, off the
//! request path, so reads stay reads.
//!
//! [`authenticate`] takes the secret wherever it came from; the native [`Auth`] reads it
//! from `Authorization: Bearer`, and each product API in `compat/` has its own extractor
//! that differs only in where it looks ([`bearer`], [`header_secret`], [`cookie_secret`]).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use docket_domain::access::{Acting, Principal, ScopeSet};
use docket_domain::member::Member;
use docket_domain::token::TokenHash;

/// The cookie that holds a desk session's secret (set by signing in at `/desk/login`).
pub const SESSION_COOKIE: &str = "docket_session";

/// The principal of a signed-in member: the member's whole role (no token narrows it).
pub fn member_principal(member: &Member) -> Principal {
    Principal::for_token(
        member.workspace_id,
        Some(Acting {
            id: member.id,
            role: member.role,
        }),
        None,
        ScopeSet::empty(),
    )
}

/// The principal of the desk session whose cookie secret this is, if it is active: the
/// desk signs in with it, and Storyden's API accepts it (its own cookie may hold one too).
pub async fn session_principal(
    state: &AppState,
    secret: &str,
) -> Result<Option<Principal>, ApiError> {
    Ok(state
        .store()
        .session_by_hash(&TokenHash::of(secret), docket_domain::now())
        .await?
        .map(|(_, member)| member_principal(&member)))
}

/// How stale `last_used_at` may get before a call refreshes it.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The authenticated caller of a native API route (`Authorization: Bearer dk_…`).
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = bearer(parts).ok_or(ApiError::Unauthorized(
            "send an API token as Authorization: Bearer <token>",
        ))?;
        authenticate(state, secret).await.map(Auth)
    }
}

/// The token in `Authorization: Bearer …`, if that is what the header holds.
pub fn bearer(parts: &Parts) -> Option<&str> {
    bearer_in(&parts.headers)
}

/// The token in `Authorization: Bearer …` of these headers.
pub fn bearer_in(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The value of header `name`, trimmed, if present and not empty (`X-API-Key: …`).
pub fn header_secret<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The value of cookie `name` in the `Cookie` headers, if present and not empty.
pub fn cookie_secret<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// Resolves a presented token secret, whatever header carried it. Every credential
/// extractor (the native `Auth`, and each compatibility API's, which differ only in where
/// they read the secret) ends here.
pub async fn authenticate(state: &AppState, secret: &str) -> Result<Principal, ApiError> {
    const INVALID: &str = "the token is unknown, revoked or expired";
    let now = docket_domain::now();
    let (token, member) = state
        .store()
        .token_by_hash(&TokenHash::of(secret))
        .await?
        .ok_or(ApiError::Unauthorized(INVALID))?;
    if !token.is_active(now) {
        return Err(ApiError::Unauthorized(INVALID));
    }
    let acting = match (token.member_id, member) {
        (None, _) => None,
        (Some(_), Some(m)) => Some(Acting {
            id: m.id,
            role: m.role,
        }),
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
    Ok(Principal::for_token(
        token.workspace_id,
        acting,
        Some(token.id),
        token.scope_set(),
    ))
}
