//! What every desk page shares: the navigation bar, flash messages, rendering a template,
//! the error page, and the redirect that follows a form.

use super::session::DeskUser;
use crate::error::ApiError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

/// The bar at the top of every signed-in page.
pub struct Nav {
    pub name: String,
    pub role: String,
    pub csrf: String,
    /// Owners and admins see the workspace settings.
    pub admin: bool,
    /// Which entry is the current page: `dashboard`, `requests`, `board`, `new`, `settings`.
    pub active: &'static str,
}

impl Nav {
    pub fn new(user: &DeskUser, active: &'static str) -> Self {
        Self {
            name: user.member.name.clone(),
            role: user.member.role.as_str().to_owned(),
            csrf: user.session.csrf.clone(),
            admin: user.principal.is_admin(),
            active,
        }
    }
}

/// One-line results of the last form, carried in the redirect's query string.
#[derive(Debug, Default, Deserialize)]
pub struct Flash {
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// Renders a template as a page.
pub fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a desk page");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// A page that says what went wrong, with the status code.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("Error"),
        message,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_owned()).into_response(),
    }
}

/// An API error as a page (for GET pages; forms redirect back instead, see [`back`]).
pub fn api_error_page(e: ApiError) -> Response {
    let (status, _) = e.status_and_code();
    if status.is_server_error() {
        tracing::error!(error = ?e, "desk page failed");
    }
    error_page(status, &e.user_message())
}

/// After a form: back to `path` (a page of the desk) with the outcome as a flash message.
pub fn back(path: &str, outcome: Result<String, ApiError>) -> Response {
    let (key, message) = match outcome {
        Ok(notice) => ("notice", notice),
        Err(e) => {
            if e.status_and_code().0.is_server_error() {
                tracing::error!(error = ?e, "desk form failed");
            }
            ("error", e.user_message())
        }
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair(key, &message)
        .finish();
    Redirect::to(&format!("{path}{sep}{query}")).into_response()
}

/// A timestamp as the desk shows it: `2026-11-23 14:05 UTC`.
pub fn when(t: docket_domain::Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
