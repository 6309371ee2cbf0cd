//! Request types and their workflows: list, read, create, change.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::item::ItemInput;
use docket_domain::request::{RequestType, TypeKey};
use docket_domain::workflow::WorkflowInput;
use docket_domain::DomainError;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestTypeList {
    pub items: Vec<RequestType>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequestType {
    pub key: TypeKey,
    pub name: String,
    pub description: Option<String>,
    pub workflow: WorkflowInput,
    /// What a request of this type asks for, item by item (its template; at most 100).
    #[schema(max_items = 100)]
    pub items: Option<Vec<ItemInput>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequestType {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Replaces the workflow; statuses that requests are in must stay.
    pub workflow: Option<WorkflowInput>,
    /// Replaces the items template; requests already filed keep their items.
    #[schema(max_items = 100)]
    pub items: Option<Vec<ItemInput>>,
}

fn parse_key(key: &str) -> Result<TypeKey, ApiError> {
    TypeKey::parse(key).map_err(|_| DomainError::NotFound("request type").into())
}

#[utoipa::path(get, path = "/api/v1/request-types", tag = "request types", responses((status = 200, body = RequestTypeList)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<RequestTypeList>, ApiError> {
    p.require(Scope::RequestsRead)?;
    Ok(Json(RequestTypeList {
        items: state.store().list_request_types(p.workspace_id).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/request-types/{key}", tag = "request types", params(("key" = String, Path)),
    responses((status = 200, body = RequestType), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(key): Path<String>,
) -> Result<Json<RequestType>, ApiError> {
    p.require(Scope::RequestsRead)?;
    let key = parse_key(&key)?;
    Ok(Json(
        state
            .store()
            .get_request_type(p.workspace_id, &key)
            .await?
            .ok_or(DomainError::NotFound("request type"))?,
    ))
}

#[utoipa::path(post, path = "/api/v1/request-types", tag = "request types", request_body = CreateRequestType,
    responses((status = 201, body = RequestType), (status = 409, description = "`type_exists`", body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<CreateRequestType>,
) -> Result<(StatusCode, Json<RequestType>), ApiError> {
    let made = crate::ops::types::create(
        &state,
        &p,
        body.key,
        &body.name,
        body.description,
        body.workflow,
        body.items.unwrap_or_default(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(patch, path = "/api/v1/request-types/{key}", tag = "request types", params(("key" = String, Path)), request_body = UpdateRequestType,
    responses((status = 200, body = RequestType), (status = 409, description = "`status_in_use`", body = crate::error::ErrorEnvelope)))]
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<UpdateRequestType>,
) -> Result<Json<RequestType>, ApiError> {
    p.require(Scope::WorkflowsWrite)?;
    let key = parse_key(&key)?;
    Ok(Json(
        crate::ops::types::update(
            &state,
            &p,
            &key,
            body.name.as_deref(),
            body.description,
            body.workflow,
            body.items,
        )
        .await?,
    ))
}
