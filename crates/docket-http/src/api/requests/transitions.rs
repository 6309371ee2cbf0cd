//! `GET /api/v1/requests/{id}/transitions`: where the caller may move a request now, and
//! for every other status, why not.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::PathId;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::ids::RequestId;
use docket_domain::workflow::{Category, Party, Relation, StatusKey};
use docket_domain::DomainError;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Transitions {
    pub status: StatusKey,
    /// Statuses the caller may move the request to now.
    pub available: Vec<Target>,
    /// Every other status, with the reason it is not available.
    pub unavailable: Vec<Blocked>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Target {
    pub to: StatusKey,
    pub label: String,
    pub category: Category,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Blocked {
    pub to: StatusKey,
    pub label: String,
    pub category: Category,
    /// `no_transition` (the workflow has no such move), `not_permitted` (someone else may
    /// take it), `missing_scope`, or `deleted`.
    pub reason: String,
    pub message: String,
    /// Who may take it, for `not_permitted`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<Party>,
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/transitions", tag = "requests", params(("id" = String, Path)),
    responses((status = 200, description = "Available and unavailable moves", body = Transitions)))]
pub async fn transitions(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId<RequestId>,
) -> Result<Json<Transitions>, ApiError> {
    p.require(Scope::RequestsRead)?;
    let store = state.store();
    let request = crate::ops::reads::get_request(&state, &p, id)
        .await?
        .ok_or(DomainError::NotFound("request"))?;
    let rtype = store
        .get_request_type(p.workspace_id, &request.type_key)
        .await?
        .ok_or(DomainError::NotFound("request type"))?;
    let me = p.member_id();
    let relation = Relation {
        principal: Some(&p),
        is_requester: me.is_some() && request.requester_id == me,
        is_assignee: me.is_some() && request.assignee_id == me,
        is_recipient: false,
    };
    let mut available = Vec::new();
    let mut unavailable = Vec::new();
    for s in rtype
        .workflow
        .statuses()
        .iter()
        .filter(|s| s.key != request.status)
    {
        let blocked = |reason: &str, message: String, allowed: Vec<Party>| Blocked {
            to: s.key.clone(),
            label: s.label.clone(),
            category: s.category,
            reason: reason.to_owned(),
            message,
            allowed,
        };
        let verdict = if request.deleted_at.is_some() {
            Err(blocked(
                "deleted",
                "the request was deleted".into(),
                Vec::new(),
            ))
        } else if let Err(e) = p.require(Scope::RequestsWrite) {
            Err(blocked("missing_scope", e.to_string(), Vec::new()))
        } else {
            match rtype.workflow.decide(&request.status, &s.key, &relation) {
                Ok(()) => Ok(()),
                Err(e) => match &e {
                    DomainError::TransitionForbidden { allowed, .. } => {
                        Err(blocked("not_permitted", e.to_string(), allowed.0.clone()))
                    }
                    _ => Err(blocked("no_transition", e.to_string(), Vec::new())),
                },
            }
        };
        match verdict {
            Ok(()) => available.push(Target {
                to: s.key.clone(),
                label: s.label.clone(),
                category: s.category,
            }),
            Err(b) => unavailable.push(b),
        }
    }
    Ok(Json(Transitions {
        status: request.status,
        available,
        unavailable,
    }))
}
