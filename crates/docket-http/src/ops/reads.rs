//! Reading requests as a principal may see them.
//!
//! A request type may show its requests only to their own people
//! (`docket_domain::workflow::RequestVisibility::Own`); the domain's [`Restriction`] says
//! what that hides from one caller. Every front end reads through these functions, so a
//! hidden request is not found in the native API, the product APIs, the change feed, its
//! stream and the desk alike.

use crate::state::AppState;
use docket_domain::access::{Principal, Scope};
use docket_domain::event::Event;
use docket_domain::ids::RequestId;
use docket_domain::query::{Page, RequestQuery, Restriction};
use docket_domain::request::Request;
use docket_store::StoreError;

/// What `p` may not see in its workspace; `None` (without reading anything) for callers
/// with `requests:manage`, who see every request.
pub async fn restriction(
    state: &AppState,
    p: &Principal,
) -> Result<Option<Restriction>, StoreError> {
    if p.has(Scope::RequestsManage) {
        return Ok(None);
    }
    let types = state.store().list_request_types(p.workspace_id).await?;
    Ok(Restriction::of(p, &types))
}

/// A request by id, deleted or not, unless `p` may not see it.
pub async fn get_request(
    state: &AppState,
    p: &Principal,
    id: RequestId,
) -> Result<Option<Request>, StoreError> {
    let found = state.store().get_request(p.workspace_id, id).await?;
    seen(state, p, found).await
}

/// A request `p` may see that can still change (410 once deleted).
pub async fn live_request(
    state: &AppState,
    p: &Principal,
    id: RequestId,
) -> Result<Request, crate::error::ApiError> {
    let r = get_request(state, p, id)
        .await?
        .ok_or(docket_domain::DomainError::NotFound("request"))?;
    if r.deleted_at.is_some() {
        return Err(docket_domain::DomainError::Gone.into());
    }
    Ok(r)
}

/// A request by its number, deleted or not, unless `p` may not see it.
pub async fn request_by_number(
    state: &AppState,
    p: &Principal,
    number: i64,
) -> Result<Option<Request>, StoreError> {
    let found = state
        .store()
        .request_by_number(p.workspace_id, number)
        .await?;
    seen(state, p, found).await
}

/// One page of the live requests `query` matches that `p` may see.
pub async fn list_requests(
    state: &AppState,
    p: &Principal,
    mut query: RequestQuery,
) -> Result<Page<Request>, StoreError> {
    query.restricted = restriction(state, p).await?;
    state.store().list_requests(p.workspace_id, &query).await
}

/// The workspace's events after `after`, at most `limit`, but those of requests hidden by
/// `hidden` (from [`restriction`], asked once per feed).
pub async fn events(
    state: &AppState,
    p: &Principal,
    after: Option<i64>,
    limit: u32,
    hidden: Option<&Restriction>,
) -> Result<Vec<Event>, StoreError> {
    state
        .store()
        .workspace_events(p.workspace_id, after, limit, hidden)
        .await
}

/// The desk dashboard's counts, over the requests `p` may see.
pub async fn request_stats(
    state: &AppState,
    p: &Principal,
    since: docket_domain::Timestamp,
) -> Result<docket_store::RequestStats, StoreError> {
    let hidden = restriction(state, p).await?;
    state
        .store()
        .request_stats(p.workspace_id, since, hidden.as_ref())
        .await
}

/// A file, unless it belongs to a request `p` may not see.
pub async fn get_file(
    state: &AppState,
    p: &Principal,
    id: docket_domain::file::FileId,
) -> Result<Option<docket_domain::file::FileRecord>, StoreError> {
    let Some(file) = state.store().get_file(p.workspace_id, id).await? else {
        return Ok(None);
    };
    Ok(match file.request_id {
        Some(r) if get_request(state, p, r).await?.is_none() => None,
        _ => Some(file),
    })
}

/// A page of the workspace's files (or one request's) after `after`, without those of
/// requests `p` may not see: up to `limit`, and whether more follow.
pub async fn list_files(
    state: &AppState,
    p: &Principal,
    request: Option<RequestId>,
    mut after: Option<docket_domain::file::FileId>,
    limit: u32,
) -> Result<(Vec<docket_domain::file::FileRecord>, bool), StoreError> {
    let hidden = restriction(state, p).await?;
    let mut out = Vec::new();
    let mut visible: std::collections::HashMap<RequestId, bool> = Default::default();
    loop {
        let page = state
            .store()
            .list_files(p.workspace_id, request, after, limit + 1)
            .await?;
        let full = page.len() > limit as usize;
        for f in page {
            after = Some(f.id);
            let shown = match (&hidden, f.request_id) {
                (Some(h), Some(r)) => match visible.get(&r) {
                    Some(v) => *v,
                    None => {
                        let v = match state.store().get_request(p.workspace_id, r).await? {
                            Some(req) => !h.hides(&req),
                            None => true,
                        };
                        visible.insert(r, v);
                        v
                    }
                },
                _ => true,
            };
            if shown {
                if out.len() == limit as usize {
                    return Ok((out, true));
                }
                out.push(f);
            }
        }
        if !full {
            return Ok((out, false));
        }
    }
}

/// Where `p` may move request `id` now, and for every other status, why not.
pub async fn transitions(
    state: &AppState,
    p: &Principal,
    id: RequestId,
) -> Result<crate::views::Transitions, crate::error::ApiError> {
    use crate::views::{Blocked, Target, Transitions};
    use docket_domain::workflow::{Party, Relation};
    use docket_domain::DomainError;
    p.require(Scope::RequestsRead)?;
    let store = state.store();
    let request = get_request(state, p, id)
        .await?
        .ok_or(DomainError::NotFound("request"))?;
    let rtype = store
        .get_request_type(p.workspace_id, &request.type_key)
        .await?
        .ok_or(DomainError::NotFound("request type"))?;
    let me = p.member_id();
    let relation = Relation {
        principal: Some(p),
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
    Ok(Transitions {
        status: request.status,
        available,
        unavailable,
    })
}

async fn seen(
    state: &AppState,
    p: &Principal,
    found: Option<Request>,
) -> Result<Option<Request>, StoreError> {
    let Some(request) = found else {
        return Ok(None);
    };
    Ok(match restriction(state, p).await? {
        Some(r) if r.hides(&request) => None,
        _ => Some(request),
    })
}

/// Every file of a request (a request holds a few files, not thousands: one page of 500),
/// for the pages and products that show a request's files beside its items.
pub async fn files_of_request(
    state: &AppState,
    request: &docket_domain::request::Request,
) -> Result<Vec<docket_domain::file::FileRecord>, crate::error::ApiError> {
    Ok(state
        .store()
        .list_files(request.workspace_id, Some(request.id), None, 500)
        .await?)
}

/// The conversation with the person asked about `request`: its public comments and the
/// recipient's own messages, oldest first (what the portal shows; never an internal
/// comment).
pub async fn public_conversation(
    state: &AppState,
    request: &docket_domain::request::Request,
) -> Result<Vec<Event>, crate::error::ApiError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let events = state
            .store()
            .timeline(request.workspace_id, request.id, after, 500)
            .await?;
        let done = events.len() < 500;
        after = events.last().map(|e| e.seq);
        out.extend(events.into_iter().filter(|e| {
            e.kind == docket_domain::event::EventKind::Commented
                && e.comment_visibility() == docket_domain::event::CommentVisibility::Public
        }));
        if done {
            break;
        }
    }
    Ok(out)
}
