//! Comments: timeline events with a body. `GET` lists them, `POST` adds one.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiJson, PathId};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::event::{CommentVisibility, Event, EventKind};
use docket_domain::ids::{EventId, MemberId, RequestId, TokenId};
use docket_domain::DomainError;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
    /// `internal` (default): staff only. `public`: shown on the portal and emailed to the
    /// request's contact.
    #[serde(default)]
    pub visibility: CommentVisibility,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Comment {
    pub id: EventId,
    pub request_id: RequestId,
    pub author_id: Option<MemberId>,
    pub token_id: Option<TokenId>,
    pub body: String,
    /// `public` for the recipient's messages and the comments shown to them.
    pub visibility: CommentVisibility,
    /// Written by the person asked, through the portal.
    pub from_recipient: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Comment {
    fn from_event(e: Event) -> Option<Self> {
        (e.kind == EventKind::Commented).then(|| Comment {
            visibility: e.comment_visibility(),
            from_recipient: e.is_from_recipient(),
            id: e.id,
            request_id: e.request_id,
            author_id: e.actor.member_id,
            token_id: e.actor.token_id,
            body: e.comment.unwrap_or_default(),
            created_at: e.at,
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CommentList {
    pub items: Vec<Comment>,
}

#[utoipa::path(get, operation_id = "list_comments", path = "/api/v1/requests/{id}/comments", tag = "requests", params(("id" = String, Path)),
    responses((status = 200, description = "Comments, oldest first", body = CommentList)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
) -> Result<Json<CommentList>, ApiError> {
    p.require(Scope::RequestsRead)?;
    crate::ops::reads::get_request(&state, &p, id)
        .await?
        .ok_or(DomainError::NotFound("request"))?;
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let events = state
            .store()
            .timeline(p.workspace_id, id, after, 500)
            .await?;
        let done = events.len() < 500;
        after = events.last().map(|e| e.seq);
        items.extend(events.into_iter().filter_map(Comment::from_event));
        if done {
            break;
        }
    }
    Ok(Json(CommentList { items }))
}

#[utoipa::path(post, operation_id = "create_comment", path = "/api/v1/requests/{id}/comments", tag = "requests", params(("id" = String, Path)), request_body = NewComment,
    responses((status = 201, description = "Added to the timeline", body = Comment)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<NewComment>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    let event = crate::ops::requests::comment(&state, &p, id, body.body, body.visibility).await?;
    Comment::from_event(event)
        .map(|c| (StatusCode::CREATED, Json(c)))
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("a comment plan made a non-comment event"))
        })
}
