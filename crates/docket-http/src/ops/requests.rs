//! Filing, changing and commenting on requests: one function per use case, with the checks
//! every front end needs (the assignee is a member, the caller may see the request), the
//! domain's plan run inside the store's transaction.

use crate::error::ApiError;
use crate::state::AppState;
use docket_domain::access::{Principal, Scope};
use docket_domain::event::Event;
use docket_domain::ids::{MemberId, RequestId};
use docket_domain::request::{
    check_visible, plan_comment, plan_create, plan_update, NewRequest, Patch, Request,
    RequestPatch, TypeKey,
};
use docket_domain::DomainError;

/// Whether `id` names a member of workspace `ws`: who may be assigned a request, in every
/// front end (each says no in its own words).
pub async fn may_be_assigned(
    state: &AppState,
    ws: docket_domain::ids::WorkspaceId,
    id: MemberId,
) -> Result<bool, ApiError> {
    Ok(state.store().get_member(ws, id).await?.is_some())
}

/// Refuses an assignee who is not a member of the workspace (422 on `assignee_id`).
async fn check_assignee(state: &AppState, p: &Principal, id: MemberId) -> Result<(), ApiError> {
    if !may_be_assigned(state, p.workspace_id, id).await? {
        return Err(DomainError::invalid(
            "assignee_id",
            "unknown_member",
            "no member with this id in the workspace",
        )
        .into());
    }
    Ok(())
}

/// Files a request of `type_key`.
pub async fn file(
    state: &AppState,
    p: &Principal,
    type_key: &TypeKey,
    input: NewRequest,
) -> Result<Request, ApiError> {
    p.require(Scope::RequestsWrite)?;
    if let Some(assignee) = input.assignee_id {
        check_assignee(state, p, assignee).await?;
    }
    let principal = p.clone();
    let now = docket_domain::now();
    let (request, _event) = state
        .store()
        .create_request(
            p.workspace_id,
            type_key,
            Box::new(move |rtype, number| plan_create(&principal, rtype, input, number, now)),
        )
        .await?;
    Ok(request)
}

/// Changes request `id` as `patch` says, only if it is still at version `expected` (when
/// given: the version the caller saw).
pub async fn update(
    state: &AppState,
    p: &Principal,
    id: RequestId,
    patch: RequestPatch,
    expected: Option<i64>,
) -> Result<Request, ApiError> {
    if let Patch::Set(assignee) = patch.assignee_id {
        check_assignee(state, p, assignee).await?;
    }
    let p = p.clone();
    let now = docket_domain::now();
    let applied = state
        .store()
        .change_request(
            p.workspace_id,
            id,
            Box::new(move |current, rtype| {
                plan_update(&p, current, &rtype.workflow, patch, expected, now)
            }),
        )
        .await?;
    Ok(applied.into_request())
}

/// Adds a comment to request `id`'s timeline; returns its event.
pub async fn comment(
    state: &AppState,
    p: &Principal,
    id: RequestId,
    body: String,
    visibility: docket_domain::event::CommentVisibility,
) -> Result<Event, ApiError> {
    let p = p.clone();
    let now = docket_domain::now();
    let applied = state
        .store()
        .change_request(
            p.workspace_id,
            id,
            Box::new(move |current, t| {
                check_visible(&p, current, &t.workflow)?;
                plan_comment(&p, current, &body, visibility, now).map(Some)
            }),
        )
        .await?;
    the_event(applied, "comment")
}

/// Reminds request `id`'s contact now ("nudge"); returns the `reminder.sent` event.
pub async fn nudge(state: &AppState, p: &Principal, id: RequestId) -> Result<Event, ApiError> {
    let p = p.clone();
    let now = docket_domain::now();
    let applied = state
        .store()
        .change_request(
            p.workspace_id,
            id,
            Box::new(move |current, t| {
                docket_domain::reminder::plan_nudge(&p, current, &t.workflow, now).map(Some)
            }),
        )
        .await?;
    the_event(applied, "reminder")
}

/// The event a plan that always changes the request wrote (a comment, a reminder).
fn the_event(applied: docket_store::Applied, what: &str) -> Result<Event, ApiError> {
    match applied {
        docket_store::Applied::Changed { event, .. } => Ok(event),
        docket_store::Applied::Unchanged(_) => Err(ApiError::Internal(anyhow::anyhow!(
            "a {what} plan changed nothing"
        ))),
    }
}
