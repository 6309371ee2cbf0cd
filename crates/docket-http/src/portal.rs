//! The recipient portal: `/p/{token}`, the page someone without an account opens from a
//! public link to see what is asked, upload files, leave a note and complete the request.
//!
//! The link's token is the only credential: there is no cookie, so there is nothing for
//! another site to ride on (no CSRF token is needed), and every form re-checks the link.
//! A link that is expired, revoked, used up (one-time, after completion) or whose request
//! was canceled or deleted shows a page saying so and accepts nothing. The page works
//! without JavaScript: each form posts and comes back here with a message.
//!
//! Gipper's `link_for_copy` (`/content_requests/{token}`) opens this same page.

use crate::desk::page::{error_page, when, Flash};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use docket_domain::link::{
    plan_link_completion, plan_link_note, recipient_target, refusal, LinkToken, PublicLink,
};
use docket_domain::request::Request;
use docket_domain::DomainError;
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/p/{token}", get(page))
        .route("/p/{token}/notes", post(note))
        .route("/p/{token}/complete", post(complete))
        .route(
            "/p/{token}/files",
            post(crate::portal_files::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/p/{token}/files/{id}", get(crate::portal_files::download))
        .route(
            "/p/{token}/items/{item_id}",
            post(crate::portal_items::answer),
        )
        .route(
            "/p/{token}/items/{item_id}/files",
            post(crate::portal_items::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/content_requests/{token}",
            get(|Path(token): Path<String>| async move { Redirect::to(&format!("/p/{token}")) }),
        )
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    token: String,
    flash: Flash,
    title: String,
    prompt: String,
    wanted: Vec<String>,
    due: String,
    overdue: bool,
    files: Vec<crate::desk::files::FileRow>,
    /// The label of the status completing moves to; `None`: the workflow lets the
    /// recipient upload and write, and the requester closes the request.
    complete_label: Option<String>,
    one_time: bool,
    /// The requested items, in order.
    items: Vec<crate::portal_items::PortalItem>,
    /// The public conversation, oldest first.
    conversation: Vec<Message>,
    /// The labels of the required items still to answer before "Send for review".
    missing: Vec<String>,
    /// The recipient already completed the request through this (multi-use) link.
    completed_before: bool,
    asking: Asking,
}

/// One message of the conversation the portal shows.
struct Message {
    /// "You" for the recipient's own, else the staff member's name.
    who: String,
    mine: bool,
    when: String,
    body: String,
}

/// The public conversation about `r`, as the recipient reads it.
async fn conversation(state: &AppState, r: &Request) -> Result<Vec<Message>, ApiError> {
    let events = crate::ops::reads::public_conversation(state, r).await?;
    let members = if events.iter().any(|e| e.actor.member_id.is_some()) {
        state.store().list_members(r.workspace_id).await?
    } else {
        Vec::new()
    };
    Ok(events
        .into_iter()
        .map(|e| {
            let mine = e.is_from_recipient();
            let who = if mine {
                "You".to_owned()
            } else {
                e.actor
                    .member_id
                    .and_then(|id| members.iter().find(|m| m.id == id))
                    .map_or_else(|| "The sender".to_owned(), |m| m.name.clone())
            };
            Message {
                who,
                mine,
                when: when(e.at),
                body: e.comment.unwrap_or_default(),
            }
        })
        .collect())
}

/// Who is asking, shown on every portal page: the workspace and the requester.
#[derive(Default)]
pub struct Asking {
    pub workspace: String,
    /// The requester's name; empty for a request filed by a token or the system.
    pub requester: String,
}

impl Asking {
    /// Who asks for `r` (empty parts where the store has nothing to say).
    pub async fn of(state: &AppState, r: &Request) -> Self {
        let workspace = match state.store().get_workspace(r.workspace_id).await {
            Ok(Some(w)) => w.name,
            _ => String::new(),
        };
        let requester = match r.requester_id {
            Some(id) => match state.store().get_member(r.workspace_id, id).await {
                Ok(Some(m)) => m.name,
                _ => String::new(),
            },
            None => String::new(),
        };
        Self {
            workspace,
            requester,
        }
    }

    /// Who asks through `token`'s link, if it names one.
    async fn of_token(state: &AppState, token: &str) -> Option<Self> {
        let token = LinkToken::parse(token)?;
        let (_, r) = state.store().link_by_token(&token).await.ok()??;
        Some(Self::of(state, &r).await)
    }
}

#[derive(Template)]
#[template(path = "portal_closed.html")]
struct ClosedPage {
    heading: &'static str,
    message: &'static str,
    asking: Asking,
}

/// A link that accepts nothing, as a page: why, who was asking, and what the recipient can
/// do.
fn closed(e: &DomainError, asking: Option<Asking>) -> Response {
    let (status, heading, message) = match e {
        DomainError::Conflict { code, .. } if *code == refusal::EXPIRED => (
            StatusCode::GONE,
            "This link has expired",
            "The time to respond through this link is over. If you still need to send something, ask the person who sent you the link for a new one.",
        ),
        DomainError::Conflict { code, .. } if *code == refusal::REVOKED => (
            StatusCode::GONE,
            "This link was revoked",
            "The sender has withdrawn this link. Ask them for a new one if you still need it.",
        ),
        DomainError::Conflict { code, .. } if *code == refusal::USED => (
            StatusCode::GONE,
            "This request is complete",
            "Thank you: your response was received. This link could be used once and is now closed.",
        ),
        DomainError::Conflict { code, .. } if *code == refusal::CLOSED => (
            StatusCode::GONE,
            "This request was closed",
            "The sender has canceled this request, so nothing more can be sent through this link.",
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "This link does not exist",
            "Check that the address was copied whole. Links are 16 letters and digits after /p/.",
        ),
    };
    let page = ClosedPage {
        heading,
        message,
        asking: asking.unwrap_or_default(),
    };
    match page.render() {
        Ok(html) => (status, axum::response::Html(html)).into_response(),
        Err(_) => error_page(status, message),
    }
}

/// The link and its request, if the link accepts a use now; otherwise the closed page.
pub async fn open_link(state: &AppState, token: &str) -> Result<(PublicLink, Request), Response> {
    let missing = || closed(&DomainError::NotFound("link"), None);
    let token = LinkToken::parse(token).ok_or_else(missing)?;
    let (link, request) = state
        .store()
        .link_by_token(&token)
        .await
        .map_err(|e| crate::desk::page::api_error_page(e.into()))?
        .ok_or_else(missing)?;
    if let Err(e) = link.check_usable(&request, docket_domain::now()) {
        return Err(closed(&e, Some(Asking::of(state, &request).await)));
    }
    Ok((link, request))
}

async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let (link, r) = match open_link(&state, &token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let rtype = match state
        .store()
        .get_request_type(r.workspace_id, &r.type_key)
        .await
    {
        Ok(Some(t)) => t,
        Ok(None) => return closed(&DomainError::NotFound("link"), None),
        Err(e) => return crate::desk::page::api_error_page(e.into()),
    };
    let complete_label = recipient_target(&rtype.workflow, &r).map(|to| {
        rtype
            .workflow
            .status(&to)
            .map_or_else(|| to.as_str().to_owned(), |s| s.label.clone())
    });
    let files = match crate::portal_files::rows(&state, &link, &r).await {
        Ok(f) => f,
        Err(e) => return crate::desk::page::api_error_page(e),
    };
    let wanted = match r.data.get("files_wanted") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let items = match crate::portal_items::rows(&state, &r).await {
        Ok(items) => items,
        Err(e) => return crate::desk::page::api_error_page(e),
    };
    let missing = items
        .iter()
        .filter(|i| i.needs_answer)
        .map(|i| i.label.clone())
        .collect();
    let conversation = match conversation(&state, &r).await {
        Ok(c) => c,
        Err(e) => return crate::desk::page::api_error_page(e),
    };
    let page = PortalPage {
        conversation,
        missing,
        completed_before: link.used_count > 0,
        asking: Asking::of(&state, &r).await,
        token: link.token.as_str().to_owned(),
        flash,
        title: r.title.clone(),
        prompt: r.description.clone(),
        wanted,
        due: r.due_at.map(when).unwrap_or_default(),
        overdue: r.is_overdue(docket_domain::now()),
        files,
        complete_label,
        one_time: link.mode == docket_domain::link::LinkMode::OneTime,
        items,
    };
    crate::desk::page::render(&page)
}

/// Back to the portal page with the outcome; a refusal of the link itself shows the
/// closed page instead.
pub(crate) async fn back(
    state: &AppState,
    token: &str,
    outcome: Result<&str, ApiError>,
) -> Response {
    match outcome {
        Err(ApiError::Domain(e @ DomainError::Conflict { code, .. }))
            if [
                refusal::EXPIRED,
                refusal::REVOKED,
                refusal::USED,
                refusal::CLOSED,
            ]
            .contains(&code) =>
        {
            closed(&e, Asking::of_token(state, token).await)
        }
        Err(ApiError::Domain(DomainError::NotFound("link"))) => {
            closed(&DomainError::NotFound("link"), None)
        }
        outcome => crate::desk::page::back(&format!("/p/{token}"), outcome.map(str::to_owned)),
    }
}

#[derive(Deserialize)]
struct NoteForm {
    body: String,
}

async fn note(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(f): Form<NoteForm>,
) -> Response {
    let (link, r) = match open_link(&state, &token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let now = docket_domain::now();
    let outcome = state
        .store()
        .change_request(
            r.workspace_id,
            r.id,
            Box::new(move |current, _| plan_link_note(&link, current, &f.body, now).map(Some)),
        )
        .await
        .map(|_| "Your message was sent.")
        .map_err(ApiError::from);
    back(&state, &token, outcome).await
}

async fn complete(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let parsed = match LinkToken::parse(&token) {
        Some(t) => t,
        None => return closed(&DomainError::NotFound("link"), None),
    };
    let now = docket_domain::now();
    let outcome = state
        .store()
        .use_link(
            &parsed,
            Box::new(move |link, current, rtype, _| {
                plan_link_completion(link, current, &rtype.workflow, now)
            }),
        )
        .await
        .map_err(ApiError::from);
    match outcome {
        // A one-time link is closed now; its page says the request is complete.
        Ok((link, _, _)) if link.mode == docket_domain::link::LinkMode::OneTime => {
            Redirect::to(&format!("/p/{token}")).into_response()
        }
        Ok((_, r, _)) if r.items.total > 0 => {
            back(
                &state,
                &token,
                Ok("Thank you: your answers were sent for review."),
            )
            .await
        }
        Ok(_) => {
            back(
                &state,
                &token,
                Ok("Thank you: the request is marked complete."),
            )
            .await
        }
        Err(e) => back(&state, &token, Err(e)).await,
    }
}
