//! Requests: create, read, list, update, delete, timeline, comments, transitions and
//! public links.

pub(crate) mod comments;
pub(crate) mod create;
pub(crate) mod items;
pub(crate) mod links;
pub(crate) mod list;
pub(crate) mod read;
pub(crate) mod remind;
pub(crate) mod timeline;
pub(crate) mod transitions;
pub(crate) mod update;

use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderValue};
use docket_domain::request::Request;
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
        .routes(routes!(items::list, items::add))
        .routes(routes!(items::get, items::change, items::remove))
        .routes(routes!(items::answer))
        .routes(routes!(items::upload))
        .routes(routes!(items::submissions))
        .routes(routes!(items::send_back))
        .routes(routes!(remind::remind))
        .routes(routes!(remind::remind_many))
}

pub use crate::views::RequestView;

/// The `ETag` header of a request.
pub fn etag_header(r: &Request) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&r.etag()) {
        h.insert(header::ETAG, v);
    }
    h
}
