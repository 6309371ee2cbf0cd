//! The change feed: a workspace's events in order, replayable from any point.
//!
//! - `GET /api/v1/events?after=<cursor>` answers one page; `next_cursor` is where to
//!   continue (it is given even on an empty page, so a client can poll with it).
//! - `GET /api/v1/events/stream` sends the same events as server-sent events, each with
//!   its cursor as the SSE `id`, so a client that reconnects with `Last-Event-ID` (or
//!   `?after=`) resumes without gaps or repeats.
//!
//! The stream wakes as soon as this node stores an event ([`Store::event_signal`]) and
//! also re-reads every few seconds, which is how events written through other nodes
//! reach it. The caller's token is checked again at every wake, so a revoked token's
//! stream ends.
//!
//! [`Store::event_signal`]: docket_store::Store::event_signal

use crate::auth::{authenticate, bearer_in, Auth};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::ops::reads;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Json;
use docket_domain::access::{Principal, Scope};
use docket_domain::event::Event;
use docket_domain::query::MAX_LIMIT;
use futures::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How often a quiet stream re-reads the feed, for events stored by other nodes.
const POLL_EVERY: Duration = Duration::from_secs(2);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(stream))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// A cursor from an earlier answer (an event's `cursor` or a `next_cursor`); from the
    /// first event when absent.
    pub after: Option<String>,
    /// 1 to 100; 100 by default.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// An event of the feed: a timeline event with its place in the feed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedEvent {
    /// Pass as `after` (or `Last-Event-ID`) to continue after this event.
    pub cursor: String,
    #[serde(flatten)]
    pub event: Event,
}

impl From<Event> for FeedEvent {
    fn from(event: Event) -> Self {
        Self {
            cursor: event.seq.to_string(),
            event,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedPage {
    pub items: Vec<FeedEvent>,
    /// Where to continue; the same cursor again when there was nothing new.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(FeedParams),
    responses((status = 200, description = "Events in the order they happened", body = FeedPage)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(params): ApiQuery<FeedParams>,
) -> Result<Json<FeedPage>, ApiError> {
    p.require(Scope::RequestsRead)?;
    let limit = params.limit.unwrap_or(MAX_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let after = parse_cursor(params.after.as_deref())?;
    let hidden = reads::restriction(&state, &p).await?;
    let items = reads::events(&state, &p, after, limit, hidden.as_ref()).await?;
    let next_cursor = items
        .last()
        .map(|e| e.seq.to_string())
        .or(params.after.filter(|_| after.is_some()));
    Ok(Json(FeedPage {
        items: items.into_iter().map(FeedEvent::from).collect(),
        next_cursor,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Start after this cursor; `Last-Event-ID` takes precedence. Without either, the
    /// stream starts with events stored from now on.
    pub after: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/events/stream", tag = "events", params(StreamParams,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")),
    responses((status = 200, description = "Server-sent events: `id` is the cursor, `event` the kind, `data` the event as JSON", content_type = "text/event-stream")))]
pub async fn stream(
    State(state): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    p.require(Scope::RequestsRead)?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(params.after);
    let after = match parse_cursor(resume.as_deref())? {
        Some(seq) => seq,
        // From now on: the newest event's cursor.
        None => state.store().latest_event_seq(p.workspace_id).await?,
    };
    let secret = bearer_in(&headers).unwrap_or_default().to_owned();
    let feed = Feed {
        signal: state.store().event_signal(),
        state,
        principal: p,
        secret,
        after,
        buffered: VecDeque::new(),
    };
    Ok(Sse::new(stream::unfold(feed, Feed::next)).keep_alive(KeepAlive::default()))
}

/// The state of one live stream.
struct Feed {
    state: AppState,
    principal: Principal,
    /// Checked again at each wake, so revoking the token ends the stream.
    secret: String,
    signal: tokio::sync::watch::Receiver<i64>,
    after: i64,
    buffered: VecDeque<Event>,
}

impl Feed {
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Self)> {
        loop {
            if let Some(event) = self.buffered.pop_front() {
                self.after = event.seq;
                let sse = SseEvent::default()
                    .id(event.seq.to_string())
                    .event(event.kind.as_str())
                    .json_data(&event)
                    .unwrap_or_else(|_| SseEvent::default().comment("unencodable event"));
                return Some((Ok(sse), self));
            }
            let still_valid = authenticate(&self.state, &self.secret)
                .await
                .is_ok_and(|p| p.workspace_id == self.principal.workspace_id);
            if !still_valid {
                return None;
            }
            self.signal.borrow_and_update();
            // Asked again at each wake, so a type made private stops showing at once.
            let read = match reads::restriction(&self.state, &self.principal).await {
                Ok(hidden) => {
                    reads::events(
                        &self.state,
                        &self.principal,
                        Some(self.after),
                        MAX_LIMIT,
                        hidden.as_ref(),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            match read {
                Ok(events) if !events.is_empty() => {
                    self.buffered.extend(events);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "change feed read failed; retrying");
                }
            }
            // Nothing new: wait for this node's next event, or poll for other nodes'.
            let _ = tokio::time::timeout(POLL_EVERY, self.signal.changed()).await;
        }
    }
}

fn parse_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_cursor",
                    "the cursor is not one this feed handed out",
                )
            })
        })
        .transpose()
}
