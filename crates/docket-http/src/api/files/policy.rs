//! `GET` and `PUT /api/v1/files/policy`: the size and the types a workspace accepts.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::file::FilePolicy;
use docket_domain::DomainError;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPolicy {
    /// The largest file accepted, in bytes (1 to 5 GiB).
    pub max_bytes: u64,
    /// Sniffed types accepted: `application/pdf`, `image/*`, `*/*`. Empty: no uploads.
    pub allowed_types: Vec<String>,
}

#[utoipa::path(get, operation_id = "get_policy", path = "/api/v1/files/policy", tag = "files",
    responses((status = 200, description = "The workspace's file policy (the default until one is set)", body = FilePolicy)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<FilePolicy>, ApiError> {
    p.require(Scope::FilesRead)?;
    let policy = state.store().file_policy(p.workspace_id).await?;
    Ok(Json(policy.unwrap_or_default()))
}

#[utoipa::path(put, operation_id = "set_policy", path = "/api/v1/files/policy", tag = "files", request_body = SetPolicy,
    responses(
        (status = 200, description = "The policy now in force (patterns lower-cased, duplicates dropped)", body = FilePolicy),
        (status = 403, description = "Only owners and admins (with files:write) change the policy", body = crate::error::ErrorEnvelope),
        (status = 422, description = "An invalid size or pattern", body = crate::error::ErrorEnvelope),
    ))]
pub async fn set(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<SetPolicy>,
) -> Result<Json<FilePolicy>, ApiError> {
    p.require(Scope::FilesWrite)?;
    if !p.is_admin() {
        return Err(DomainError::Forbidden(
            "only owners and admins may change the file policy".into(),
        )
        .into());
    }
    let policy = FilePolicy::new(body.max_bytes, body.allowed_types)?;
    state
        .store()
        .set_file_policy(p.workspace_id, policy.clone(), docket_domain::now())
        .await?;
    Ok(Json(policy))
}
