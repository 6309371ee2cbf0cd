//! Webhook subscriptions (`/api/v1/webhooks`) and their delivery logs: create (the signing
//! secret is answered once), list, get, change, pause or resume, delete; each webhook's
//! deliveries with their attempts, and redelivery of any event. Scope `webhooks:write`.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, PathId};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use docket_domain::access::{Principal, Scope};
use docket_domain::event::EventKind;
use docket_domain::ids::{DeliveryId, EventId, WebhookId};
use docket_domain::query::MAX_LIMIT;
use docket_domain::webhook::{self, Delivery, Webhook, WebhookState};
use docket_domain::DomainError;
use docket_store::WebhookChange;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Webhooks a workspace may have.
const MAX_WEBHOOKS: usize = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(deliveries, redeliver))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST events: http or https.
    pub url: String,
    /// Event types to send (`request.created`, `request.updated`, `request.deleted`,
    /// `request.commented`); absent or empty for all. The name the answer uses;
    /// `events` is accepted for it too.
    #[serde(default, alias = "events")]
    pub event_types: Vec<EventKind>,
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    /// Replaces the event types (`events` is accepted for it too).
    #[serde(alias = "events")]
    pub event_types: Option<Vec<EventKind>>,
    pub description: Option<String>,
    /// `paused` holds deliveries (events keep being queued); `active` sends them, in order.
    pub state: Option<WebhookState>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    /// The signing secret (`whsec_…`, Standard Webhooks). Shown this once.
    pub secret: String,
    #[serde(flatten)]
    pub webhook: Webhook,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// 1 to 100; 25 by default.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    /// Newest first.
    pub items: Vec<Delivery>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeliver {
    /// The event to send again (an `id` from the change feed or a timeline).
    pub event_id: EventId,
}

fn check_url(state: &AppState, url: &str) -> Result<String, ApiError> {
    webhook::parse_url(url, state.settings().webhooks_allow_private)
        .map_err(|e| DomainError::Validation(vec![e]).into())
}

fn check_description(description: &str) -> Result<String, ApiError> {
    let d = description.trim();
    if d.chars().count() > 500 {
        return Err(ApiError::invalid(
            "description",
            "too_long",
            "a description has at most 500 characters",
        ));
    }
    Ok(d.to_owned())
}

fn dedup(mut kinds: Vec<EventKind>) -> Vec<EventKind> {
    kinds.sort();
    kinds.dedup();
    kinds
}

async fn find(state: &AppState, p: &Principal, id: WebhookId) -> Result<Webhook, ApiError> {
    Ok(state
        .store()
        .get_webhook(p.workspace_id, id)
        .await?
        .ok_or(DomainError::NotFound("webhook"))?)
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = CreatedWebhook), (status = 403, body = crate::error::ErrorEnvelope),
        (status = 422, description = "`validation_failed`; a private target is `details[].code = private_target`", body = crate::error::ErrorEnvelope)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    p.require(Scope::WebhooksWrite)?;
    let url = check_url(&state, &body.url)?;
    let description = check_description(&body.description)?;
    if state.store().list_webhooks(p.workspace_id).await?.len() >= MAX_WEBHOOKS {
        return Err(DomainError::Conflict {
            code: "too_many_webhooks",
            message: format!("a workspace has at most {MAX_WEBHOOKS} webhooks"),
        }
        .into());
    }
    let now = docket_domain::now();
    let hook = Webhook {
        id: WebhookId::new(),
        workspace_id: p.workspace_id,
        url,
        event_types: dedup(body.event_types),
        description,
        state: WebhookState::Active,
        paused_reason: None,
        secret: webhook::generate_secret(),
        created_at: now,
        updated_at: now,
    };
    let hook = state.store().insert_webhook(hook).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            secret: hook.secret.clone(),
            webhook: hook,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", responses((status = 200, body = WebhookList)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<WebhookList>, ApiError> {
    p.require(Scope::WebhooksWrite)?;
    Ok(Json(WebhookList {
        items: state.store().list_webhooks(p.workspace_id).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = Webhook), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<WebhookId>,
) -> Result<Json<Webhook>, ApiError> {
    p.require(Scope::WebhooksWrite)?;
    Ok(Json(find(&state, &p, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), request_body = UpdateWebhook,
    responses((status = 200, body = Webhook), (status = 404, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<WebhookId>,
    ApiJson(body): ApiJson<UpdateWebhook>,
) -> Result<Json<Webhook>, ApiError> {
    p.require(Scope::WebhooksWrite)?;
    let change = WebhookChange {
        url: body
            .url
            .as_deref()
            .map(|u| check_url(&state, u))
            .transpose()?,
        event_types: body.event_types.map(dedup),
        description: body
            .description
            .as_deref()
            .map(check_description)
            .transpose()?,
        state: body.state,
    };
    Ok(Json(
        state
            .store()
            .update_webhook(p.workspace_id, id, change, docket_domain::now())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted, with its delivery log"), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<WebhookId>,
) -> Result<StatusCode, ApiError> {
    p.require(Scope::WebhooksWrite)?;
    state.store().delete_webhook(p.workspace_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path), DeliveryParams),
    responses((status = 200, description = "The delivery log: each delivery with its attempts (time, status code, duration, error)", body = DeliveryPage)))]
pub async fn deliveries(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<WebhookId>,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> Result<Json<DeliveryPage>, ApiError> {
    p.require(Scope::WebhooksWrite)?;
    let limit = params.limit.unwrap_or(25);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let before = params
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<DeliveryId>().map_err(|_| {
                ApiError::bad_request(
                    "invalid_cursor",
                    "the cursor is not one this list handed out",
                )
            })
        })
        .transpose()?;
    find(&state, &p, id).await?;
    let mut items = state
        .store()
        .list_deliveries(p.workspace_id, id, before, limit + 1)
        .await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|d| d.id.to_string())
    } else {
        None
    };
    Ok(Json(DeliveryPage { items, next_cursor }))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path)), request_body = Redeliver,
    responses((status = 202, description = "Queued; it goes out after earlier pending events of the same request", body = Delivery),
        (status = 409, description = "`event_not_subscribed`", body = crate::error::ErrorEnvelope),
        (status = 422, description = "`unknown_event`", body = crate::error::ErrorEnvelope)))]
pub async fn redeliver(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<WebhookId>,
    ApiJson(body): ApiJson<Redeliver>,
) -> Result<(StatusCode, Json<Delivery>), ApiError> {
    p.require(Scope::WebhooksWrite)?;
    let delivery = state
        .store()
        .redeliver(p.workspace_id, id, body.event_id, docket_domain::now())
        .await?;
    state.wake_webhooks();
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}
