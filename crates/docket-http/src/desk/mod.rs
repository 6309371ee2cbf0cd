//! The web desk: server-rendered pages where members sign in and work on requests.
//!
//! Layout:
//! - [`session`]: the session cookie, the CSRF check on every form, sign-in rate limits.
//! - [`login`]: sign in and out.
//! - [`dashboard`] and [`chart`]: the morning overview with its server-drawn SVG chart.
//! - [`requests`]: the list (with the API's filters, kept in the URL), the board, a
//!   request's page, the new-request form and the forms that change a request.
//! - [`files`]: a request's files (download, upload).
//! - [`settings`]: members, tokens, request types and workflows.
//! - [`page`], [`directory`]: what every page shares (navigation, flash messages, names
//!   for ids).
//!
//! The desk has no logic of its own: every form calls the native API's handler with the
//! member's principal. Templates are askama's, checked at compile time; pages work
//! without JavaScript, and `assets/docket.js` only adds drag-and-drop uploads with
//! progress.

pub mod chart;
pub mod dashboard;
pub mod directory;
pub mod files;
pub mod items;
pub mod login;
pub mod page;
pub mod requests;
pub mod session;
pub mod settings;
pub mod type_items;

use crate::state::AppState;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};

/// The desk's routes under `/desk`, its static assets under `/assets`, and `/` sending
/// browsers to the desk.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/desk") }))
        .route("/desk", get(dashboard::page))
        .route("/desk/login", get(login::form).post(login::submit))
        .route("/desk/logout", post(login::logout))
        .route(
            "/desk/requests",
            get(requests::list_page).post(requests::create_request),
        )
        .route("/desk/requests/new", get(requests::new_page))
        .route("/desk/board", get(requests::board_page))
        .route("/desk/requests/{number}", get(requests::request_page))
        .route("/desk/requests/{number}/status", post(requests::set_status))
        .route("/desk/requests/{number}/assignee", post(requests::assign))
        .route("/desk/requests/{number}/due", post(requests::set_due))
        .route("/desk/requests/{number}/comments", post(requests::comment))
        .route("/desk/requests/{number}/remind", post(requests::remind))
        .route("/desk/requests/{number}/links", post(requests::add_link))
        .route(
            "/desk/requests/{number}/files",
            post(files::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/desk/requests/{number}/items/{item_id}/review",
            post(items::review),
        )
        .route(
            "/desk/requests/{number}/items/{item_id}/files",
            post(items::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/desk/requests/{number}/send-back", post(items::send_back))
        .route("/desk/files/{id}", get(files::download))
        .route(
            "/desk/requests/{number}/links/{link}/revoke",
            post(requests::revoke_link),
        )
        .route("/desk/settings", get(settings::page))
        .route("/desk/settings/members", post(settings::add_member))
        .route("/desk/settings/members/{id}", post(settings::set_role))
        .route("/desk/settings/tokens", post(settings::create_token))
        .route(
            "/desk/settings/tokens/{id}/revoke",
            post(settings::revoke_token),
        )
        .route("/desk/settings/types", post(settings::create_type))
        .route("/desk/settings/types/{key}", post(settings::update_type))
        .route("/desk/settings/types/{key}/items", post(type_items::save))
        .route(
            "/assets/docket.css",
            get(|| async {
                asset(
                    "text/css; charset=utf-8",
                    include_str!("../../assets/docket.css"),
                )
            }),
        )
        .route(
            "/assets/docket.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../../assets/docket.js"),
                )
            }),
        )
        .layer(Extension(session::LoginLimiter::default()))
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}
