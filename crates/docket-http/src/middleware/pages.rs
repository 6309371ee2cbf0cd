//! Security headers on the HTML pages (the desk, its sign-in and settings, the recipient
//! portal), and the redaction of credentials that travel in paths before they are logged.
//!
//! The pages load their one script and one stylesheet from `/assets/` and have no inline
//! script, so the Content-Security-Policy allows scripts from this origin only; no page
//! may be framed; a portal page sends no `Referer` (its URL is a credential) and a desk
//! page sends one only to this origin; no HTML page is cached (the settings page shows a new token's secret,
//! a portal page is reached with a credential).

use axum::extract::Request;
use axum::http::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;
use std::borrow::Cow;

/// The policy of every page: this origin's scripts, styles, images (and `data:` images),
/// forms posted only here, no plugins, no framing, no `<base>`.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// The desk's headers: its pages send a `Referer` to this origin only, because its
/// sign-in form is checked against `Origin`, which `no-referrer` would make `null`.
pub async fn desk_headers(req: Request, next: Next) -> Response {
    with_headers(next.run(req).await, "same-origin")
}

/// The portal's headers: its URL is a credential, so no `Referer` is ever sent.
pub async fn portal_headers(req: Request, next: Next) -> Response {
    with_headers(next.run(req).await, "no-referrer")
}

/// Adds the page headers to an HTML response; other responses (assets, downloads,
/// redirects without a body) get only `nosniff` and the referrer policy.
fn with_headers(mut response: Response, referrer_policy: &'static str) -> Response {
    let html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static(referrer_policy));
    if html {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        );
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Path prefixes whose next segment is a public link's token (or, for Gipper, a token or
/// an id): a credential, never written to a log.
const TOKEN_PATHS: [&str; 3] = ["/p/", "/content_requests/", "/api/v4/content_requests/"];

/// `path` as it may be logged: the segment after a [`TOKEN_PATHS`] prefix becomes
/// `<token>`.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    for prefix in TOKEN_PATHS {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            if rest.is_empty() {
                return Cow::Borrowed(path);
            }
            return Cow::Owned(format!("{prefix}<token>{tail}"));
        }
    }
    Cow::Borrowed(path)
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn link_tokens_never_reach_a_logged_path() {
        assert_eq!(loggable_path("/p/0123456789abcdef"), "/p/<token>");
        assert_eq!(
            loggable_path("/p/0123456789abcdef/files/abc"),
            "/p/<token>/files/abc"
        );
        assert_eq!(
            loggable_path("/content_requests/0123456789abcdef"),
            "/content_requests/<token>"
        );
        assert_eq!(
            loggable_path("/api/v4/content_requests/0123456789abcdef/complete"),
            "/api/v4/content_requests/<token>/complete"
        );
        assert_eq!(loggable_path("/api/v1/requests/42"), "/api/v1/requests/42");
        assert_eq!(loggable_path("/p/"), "/p/");
    }
}
