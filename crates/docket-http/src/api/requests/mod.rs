//! Requests: create, read, list, update, delete, timeline, comments, transitions and
//! public links.

pub(crate) mod comments;
pub(crate) mod create;
pub(crate) mod links;
pub(crate) mod list;
pub(crate) mod read;
pub(crate) mod timeline;
pub(crate) mod transitions;
pub(crate) mod update;

use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderValue};
use docket_domain::request::Request;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create, list::list))
        .routes(routes!(read::get, update::update, update::delete))
        .routes(routes!(timeline::timeline))
        .routes(routes!(comments::list, comments::create))
        .routes(routes!(transitions::transitions))
        .routes(routes!(links::create, links::list))
        .routes(routes!(links::revoke))
}

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

/// The `ETag` header of a request.
pub fn etag_header(r: &Request) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&r.etag()) {
        h.insert(header::ETAG, v);
    }
    h
}
