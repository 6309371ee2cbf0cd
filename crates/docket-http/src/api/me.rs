//! `GET /api/v1/me`: who the token acts for and what it may do.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::ids::TokenId;
use docket_domain::member::Member;
use docket_domain::workspace::Workspace;
use docket_domain::DomainError;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub workspace: Workspace,
    /// Absent for a system token.
    pub member: Option<Member>,
    pub token_id: Option<TokenId>,
    /// What this token may do: the role narrowed by the token's scopes.
    pub scopes: Vec<Scope>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "me", responses((status = 200, body = Me)))]
pub async fn me(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<Me>, ApiError> {
    let store = state.store();
    let workspace = store
        .get_workspace(p.workspace_id)
        .await?
        .ok_or(DomainError::NotFound("workspace"))?;
    let member = match p.member_id() {
        Some(id) => store.get_member(p.workspace_id, id).await?,
        None => None,
    };
    Ok(Json(Me {
        workspace,
        member,
        token_id: p.token_id,
        scopes: p.scopes().to_vec(),
    }))
}
