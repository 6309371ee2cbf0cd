//! The built-in request types of the products Docket speaks for.
//!
//! A type is created in a workspace the first time one of its product's routes needs it.
//! Creation is idempotent and atomic: the store refuses a second type with the same key
//! (`type_exists`), and whoever loses that race reads the winner's type.

use crate::state::AppState;
use docket_domain::access::Principal;
use docket_domain::ids::WorkspaceId;
use docket_domain::request::{plan_update, Request, RequestPatch, RequestType, TypeKey};
use docket_domain::workflow::Workflow;
use docket_domain::DomainError;
use docket_store::StoreError;

/// A product's request type: its key, name, description and workflow.
#[derive(Clone, Copy, Debug)]
pub struct BuiltIn {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub workflow: fn() -> Workflow,
}

impl BuiltIn {
    /// Whether `r` is a live request of this type: what the product's routes may see.
    pub fn holds(&self, r: &Request) -> bool {
        r.type_key.as_str() == self.key && r.deleted_at.is_none()
    }

    pub fn type_key(&self) -> TypeKey {
        // The keys are constants; `built_in_keys_are_valid_type_keys` checks they parse.
        TypeKey::parse(self.key).unwrap_or_else(|_| TypeKey::general())
    }
}

/// What the products' update routes share: applies `patch` as `p` to request `id` through
/// the type's workflow (`plan_update`), refusing as not found anything but a live request
/// of `kind`, and returns the request as it is after (changed or not).
pub async fn patch_request(
    state: &AppState,
    p: &Principal,
    kind: BuiltIn,
    id: docket_domain::ids::RequestId,
    patch: RequestPatch,
) -> Result<Request, StoreError> {
    let principal = p.clone();
    let now = docket_domain::now();
    state
        .store()
        .change_request(
            p.workspace_id,
            id,
            Box::new(move |current, rtype| {
                if !kind.holds(current) {
                    return Err(DomainError::NotFound("request"));
                }
                plan_update(&principal, current, &rtype.workflow, patch, None, now)
            }),
        )
        .await
        .map(docket_store::Applied::into_request)
}

pub const COLLECT_CAMPAIGN: BuiltIn = BuiltIn {
    key: "collect",
    name: "Collect",
    description: "Collect's built-in campaign: documents and forms collected from a contact.",
    workflow: Workflow::collect,
};

pub const GIPPER_CONTENT_REQUEST: BuiltIn = BuiltIn {
    key: "gipper",
    name: "Content request",
    description: "Gipper's content requests: photos and videos uploaded through a public link.",
    workflow: Workflow::gipper,
};

pub const OPENNOTES: BuiltIn = BuiltIn {
    key: "opennotes",
    name: "Open Notes request",
    description: "A request for a community note on a platform message (Open Notes API).",
    workflow: Workflow::opennotes,
};

pub const SERVEROPS_CASE: BuiltIn = BuiltIn {
    key: "serverops_case",
    name: "ServerOps case",
    description: "A moderation case (ServerOps API).",
    workflow: Workflow::serverops_case,
};

pub const STORYDEN_REPORT: BuiltIn = BuiltIn {
    key: "storyden_report",
    name: "Storyden report",
    description: "A report of content or a member (Storyden API).",
    workflow: Workflow::storyden_report,
};

/// The workspace's type for `builtin`, created now if this is its first use: the one path
/// by which every product API gets its type.
pub async fn ensure(
    state: &AppState,
    ws: WorkspaceId,
    builtin: BuiltIn,
) -> Result<RequestType, StoreError> {
    let key = builtin.type_key();
    if let Some(t) = state.store().get_request_type(ws, &key).await? {
        return Ok(t);
    }
    let rtype = RequestType::builtin(
        ws,
        builtin.key,
        builtin.name,
        builtin.description,
        (builtin.workflow)(),
        docket_domain::now(),
    );
    match state.store().insert_request_type(rtype).await {
        Ok(t) => Ok(t),
        Err(StoreError::Domain(DomainError::Conflict { .. })) => state
            .store()
            .get_request_type(ws, &key)
            .await?
            .ok_or_else(|| {
                StoreError::Internal(anyhow::anyhow!("built-in type {} vanished", builtin.key))
            }),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_keys_are_valid_type_keys() {
        for b in [
            COLLECT_CAMPAIGN,
            GIPPER_CONTENT_REQUEST,
            OPENNOTES,
            SERVEROPS_CASE,
            STORYDEN_REPORT,
        ] {
            assert_eq!(
                TypeKey::parse(b.key).map(|k| k.as_str().to_owned()),
                Ok(b.key.to_owned())
            );
            assert_eq!(b.type_key().as_str(), b.key);
        }
    }
}
