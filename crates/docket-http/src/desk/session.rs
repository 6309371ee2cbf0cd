//! Who is signed in: the session cookie, the CSRF check on every form, and the sign-in
//! rate limit.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use docket_domain::access::Principal;
use docket_domain::member::Member;
use docket_domain::session::Session;
use docket_domain::token::TokenHash;
use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde::de::DeserializeOwned;
use std::num::NonZeroU32;
use std::sync::Arc;

pub use crate::auth::{member_principal, session_principal, SESSION_COOKIE as COOKIE};

/// A signed-in member: the session, the member, and the principal the desk acts as. A
/// session carries the member's whole role (no token narrows it).
#[derive(Clone)]
pub struct DeskUser {
    pub session: Session,
    pub member: Member,
    pub principal: Principal,
}

impl DeskUser {
    /// Whether a posted form carries this session's CSRF token.
    pub fn csrf_ok(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| self.session.csrf_matches(p))
    }
}

impl FromRequestParts<AppState> for DeskUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let sign_in = || {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/desk", |p| p.as_str())
                .to_owned();
            let target = format!(
                "/desk/login?next={}",
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            Redirect::to(&target).into_response()
        };
        let Some(secret) = crate::auth::cookie_secret(parts, COOKIE) else {
            return Err(sign_in());
        };
        let found = state
            .store()
            .session_by_hash(&TokenHash::of(secret), docket_domain::now())
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        let Some((session, member)) = found else {
            return Err(sign_in());
        };
        let principal = member_principal(&member);
        Ok(DeskUser {
            session,
            member,
            principal,
        })
    }
}

/// A posted form of a signed-in member whose CSRF token checked out: the `csrf` field is
/// verified and removed, the rest parsed as `T`.
pub struct DeskForm<T> {
    pub user: DeskUser,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for DeskForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let user = DeskUser::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, 1 << 20).await.map_err(|_| {
            super::page::error_page(StatusCode::PAYLOAD_TOO_LARGE, "This form is too large.")
        })?;
        let mut pairs: Vec<(String, String)> =
            form_urlencoded::parse(&bytes).into_owned().collect();
        let csrf = pairs
            .iter()
            .position(|(k, _)| k == "csrf")
            .map(|i| pairs.remove(i).1);
        if !user.csrf_ok(csrf.as_deref()) {
            return Err(super::page::error_page(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from Docket. Go back, reload the page and try again.",
            ));
        }
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        // serde_html_form: repeated fields (checkboxes) become lists.
        let form = serde_html_form::from_str(&encoded).map_err(|e| {
            super::page::error_page(
                StatusCode::BAD_REQUEST,
                &format!("This form is malformed: {e}"),
            )
        })?;
        Ok(DeskForm { user, form })
    }
}

/// The `Set-Cookie` value that stores a session's secret: HttpOnly (no script reads it),
/// SameSite=Lax (other sites' forms do not carry it), Secure when the desk is served over
/// HTTPS.
pub fn session_cookie(state: &AppState, secret: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.settings().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("docket_session=; Path=/; Max-Age=0"))
}

/// The cookie that ends a session in the browser.
pub fn cleared_cookie() -> (header::HeaderName, HeaderValue) {
    (
        header::SET_COOKIE,
        HeaderValue::from_static("docket_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    )
}

/// Sign-in attempts allowed per email address and per client address: a few a minute, so
/// a password cannot be guessed by trying.
#[derive(Clone)]
pub struct LoginLimiter {
    limiter: Arc<RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(6).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(6).unwrap_or(NonZeroU32::MIN));
        Self {
            limiter: Arc::new(RateLimiter::keyed(quota)),
        }
    }
}

impl LoginLimiter {
    /// Counts an attempt for each key; false if any of them is over its allowance.
    pub fn allow(&self, keys: &[String]) -> bool {
        // Every key is charged, even after one is found over its allowance.
        keys.iter()
            .filter(|k| self.limiter.check_key(k).is_err())
            .count()
            == 0
    }
}

/// A form with nothing but its CSRF token (a sign-out or revoke button).
#[derive(serde::Deserialize)]
pub struct NoFields {}
