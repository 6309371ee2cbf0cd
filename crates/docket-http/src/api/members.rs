//! Members: list, read, add, change name or role.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiJson, PathId};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use docket_domain::access::{Role, Scope};
use docket_domain::ids::MemberId;
use docket_domain::member::{Email, Member};
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
pub struct MemberList {
    pub items: Vec<Member>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMember {
    pub email: Email,
    pub name: String,
    pub role: Role,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    pub name: Option<String>,
    pub role: Option<Role>,
}

#[utoipa::path(get, path = "/api/v1/members", tag = "members", responses((status = 200, body = MemberList)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<MemberList>, ApiError> {
    p.require(Scope::MembersRead)?;
    Ok(Json(MemberList {
        items: state.store().list_members(p.workspace_id).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/members/{id}", tag = "members", params(("id" = String, Path)), responses((status = 200, body = Member), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<MemberId>,
) -> Result<Json<Member>, ApiError> {
    p.require(Scope::MembersRead)?;
    Ok(Json(
        state
            .store()
            .get_member(p.workspace_id, id)
            .await?
            .ok_or(DomainError::NotFound("member"))?,
    ))
}

#[utoipa::path(post, path = "/api/v1/members", tag = "members", request_body = CreateMember,
    responses((status = 201, body = Member), (status = 409, description = "`email_taken`", body = crate::error::ErrorEnvelope)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<CreateMember>,
) -> Result<(StatusCode, Json<Member>), ApiError> {
    let member =
        crate::ops::people::add_member(&state, &p, body.email, &body.name, body.role).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

#[utoipa::path(patch, path = "/api/v1/members/{id}", tag = "members", params(("id" = String, Path)), request_body = UpdateMember,
    responses((status = 200, body = Member), (status = 409, description = "`last_owner`", body = crate::error::ErrorEnvelope)))]
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<MemberId>,
    ApiJson(body): ApiJson<UpdateMember>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(
        crate::ops::people::change_member(&state, &p, id, body.name, body.role).await?,
    ))
}
