//! Signing in and out of the desk.
//!
//! Sign-in names no workspace: the email finds every member with a password, and the first
//! (oldest) whose password matches is signed in. Attempts are limited per email and per
//! client address; a wrong email and a wrong password get the same answer.

use super::page::{self, render};
use super::session::{cleared_cookie, session_cookie, DeskForm, LoginLimiter, NoFields};
use crate::state::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use docket_domain::member::Email;
use docket_domain::session::{verify_password, Session, SESSION_LIFETIME};
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only paths of the desk itself are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/desk") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/desk".to_owned(),
    }
}

pub async fn form(Query(q): Query<LoginQuery>) -> Response {
    render(&LoginPage {
        next: safe_next(q.next.as_deref()),
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    Extension(limiter): Extension<LoginLimiter>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let next = safe_next(c.next.as_deref());
    let refuse = |status: StatusCode, message: &str| {
        let page = LoginPage {
            next: next.clone(),
            email: c.email.clone(),
            error: Some(message.to_owned()),
        };
        (status, render(&page)).into_response()
    };
    if !same_origin(&headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Sign in from Docket's own sign-in page.",
        );
    }
    let email_key = format!("email:{}", c.email.trim().to_lowercase());
    if !limiter.allow(&[email_key, format!("ip:{}", peer.ip())]) {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts. Wait a minute and try again.",
        );
    }
    let wrong = "That email and password do not match a member.";
    let Ok(email) = Email::parse(&c.email) else {
        return refuse(StatusCode::UNAUTHORIZED, wrong);
    };
    let candidates = match state.store().password_candidates(&email).await {
        Ok(c) => c,
        Err(e) => return page::api_error_page(e.into()),
    };
    let password = c.password.clone();
    // Argon2 is slow on purpose: off the async runtime.
    let matched = tokio::task::spawn_blocking(move || {
        candidates
            .into_iter()
            .find(|(_, hash)| verify_password(&password, hash))
            .map(|(m, _)| m)
    })
    .await
    .ok()
    .flatten();
    let Some(member) = matched else {
        return refuse(StatusCode::UNAUTHORIZED, wrong);
    };
    let (secret, session) = Session::start(member.workspace_id, member.id, docket_domain::now());
    if let Err(e) = state.store().insert_session(session).await {
        return page::api_error_page(e.into());
    }
    let cookie = session_cookie(&state, &secret, SESSION_LIFETIME.num_seconds());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

/// A sign-in form posted from another site would log the browser into someone else's
/// account; browsers say where a form came from in `Origin` (or `Referer`).
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match (host, source) {
        (Some(host), Some(source)) => url::Url::parse(source).is_ok_and(|u| {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}{port}", u.host_str().unwrap_or("")) == host
        }),
        // Clients that send neither (curl, old browsers) are not browsers on another site.
        _ => true,
    }
}

pub async fn logout(State(state): State<AppState>, f: DeskForm<NoFields>) -> Response {
    if let Err(e) = state.store().delete_session(&f.user.session.hash).await {
        return page::api_error_page(e.into());
    }
    ([cleared_cookie()], Redirect::to("/desk/login")).into_response()
}
