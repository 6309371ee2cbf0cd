//! Representations more than one output shares: a request as the native API answers it is
//! also the `request` of a webhook payload, so a receiver parses one shape.

use docket_domain::request::Request;
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
