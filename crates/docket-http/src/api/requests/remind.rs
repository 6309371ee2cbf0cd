//! Reminding the person asked now ("nudge"): `POST /api/v1/requests/{id}/remind` for one
//! request, `POST /api/v1/requests/remind` for up to 500, each judged on its own.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiJson, PathId};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use docket_domain::event::Event;
use docket_domain::ids::{EventId, RequestId};
use docket_domain::reminder::MAX_BULK;
use serde::{Deserialize, Serialize};

#[utoipa::path(post, operation_id = "remind", path = "/api/v1/requests/{id}/remind", tag = "requests",
    params(("id" = String, Path)),
    responses(
        (status = 201, description = "Reminded: the `reminder.sent` event; the contact is emailed the `nudge` message listing what is still missing, with the portal link", body = Event),
        (status = 409, description = "`no_contact` (no `data.contact.email`) or `request_finished`", body = crate::error::ErrorEnvelope),
    ))]
pub async fn remind(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
) -> Result<(StatusCode, Json<Event>), ApiError> {
    let event = crate::ops::requests::nudge(&state, &p, id).await?;
    Ok((StatusCode::CREATED, Json(event)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRemind {
    /// 1 to 500 request ids; each is reminded or refused on its own.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<RequestId>,
}

/// What became of one request of a bulk reminder.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RemindResult {
    pub id: RequestId,
    /// `reminded`, or `refused` with the error.
    pub status: &'static str,
    /// The `reminder.sent` event, when reminded.
    pub event_id: Option<EventId>,
    /// The error's stable code (`no_contact`, `request_finished`, `not_found`,
    /// `forbidden`, ...), when refused.
    pub error_code: Option<&'static str>,
    pub error_message: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkRemindResults {
    pub reminded: usize,
    pub refused: usize,
    /// One per id, in the order given.
    pub results: Vec<RemindResult>,
}

#[utoipa::path(post, operation_id = "remind_many", path = "/api/v1/requests/remind", tag = "requests",
    request_body = BulkRemind,
    responses(
        (status = 200, description = "A result per request: reminded, or refused with the reason", body = BulkRemindResults),
    ))]
pub async fn remind_many(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<BulkRemind>,
) -> Result<Json<BulkRemindResults>, ApiError> {
    if body.ids.is_empty() || body.ids.len() > MAX_BULK {
        return Err(ApiError::invalid(
            "ids",
            "out_of_range",
            format!("name 1 to {MAX_BULK} requests"),
        ));
    }
    let mut results = Vec::with_capacity(body.ids.len());
    for id in body.ids {
        let result = match crate::ops::requests::nudge(&state, &p, id).await {
            Ok(event) => RemindResult {
                id,
                status: "reminded",
                event_id: Some(event.id),
                error_code: None,
                error_message: None,
            },
            // A store failure is the whole call's, not one request's.
            Err(e @ ApiError::Internal(_)) => return Err(e),
            Err(e) => RemindResult {
                id,
                status: "refused",
                event_id: None,
                error_code: Some(e.status_and_code().1),
                error_message: Some(e.user_message()),
            },
        };
        results.push(result);
    }
    let reminded = results.iter().filter(|r| r.event_id.is_some()).count();
    Ok(Json(BulkRemindResults {
        refused: results.len() - reminded,
        reminded,
        results,
    }))
}
