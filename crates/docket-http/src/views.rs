//! Representations more than one output shares: a request as the native API answers it is
//! also the `request` of a webhook payload, so a receiver parses one shape.

use docket_domain::request::Request;
use docket_domain::workflow::{Category, Party, StatusKey};
use serde::Serialize;

/// A request as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestView {
    #[serde(flatten)]
    pub request: Request,
    /// Due in the past and not finished.
    pub overdue: bool,
}

impl RequestView {
    pub fn new(request: Request) -> Self {
        let overdue = request.is_overdue(docket_domain::now());
        Self { request, overdue }
    }
}

/// Where a caller may move a request now, and for every other status why not.
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
