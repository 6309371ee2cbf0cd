//! The request list's query language (filters, search, sort, pages), shared by every list
//! of requests: the native API's `GET /api/v1/requests` and the desk's list and board
//! parse the same parameters with the same function.

use crate::error::ApiError;
use crate::time::parse_instant;
use crate::views::RequestView;
use docket_domain::access::Principal;
use docket_domain::item::ProgressFilter;
use docket_domain::query::{
    Cursor, Direction, MemberFilter, RequestQuery, SortKey, DEFAULT_LIMIT, MAX_LIMIT,
};
use docket_domain::request::TypeKey;
use docket_domain::workflow::{Category, StatusKey};
use serde::{Deserialize, Serialize};

/// List filters. Several values of `status` or `category` are separated by commas.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Status keys, e.g. `open,waiting`.
    pub status: Option<String>,
    /// Categories: `open`, `in_progress`, `waiting`, `done`, `canceled`.
    pub category: Option<String>,
    /// Request type key.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub type_key: Option<String>,
    /// A member id, `me`, or `none` for unassigned requests.
    pub assignee: Option<String>,
    /// A member id, `me`, or `none` for requests filed by system tokens.
    pub requester: Option<String>,
    pub tag: Option<String>,
    /// Due strictly before this instant (RFC 3339 or date).
    pub due_before: Option<String>,
    /// Due strictly after this instant (RFC 3339 or date).
    pub due_after: Option<String>,
    /// `true`: only requests past due and not finished.
    pub overdue: Option<bool>,
    /// Words that must all appear in the title, description or data (prefix match).
    pub q: Option<String>,
    /// Requested items: `incomplete` (a required item missing or rejected),
    /// `awaiting_review`, `rejected` or `complete` (every required item approved).
    pub items: Option<ProgressFilter>,
    pub sort: Option<SortKey>,
    pub direction: Option<Direction>,
    /// 1 to 100; 25 by default.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestList {
    pub items: Vec<RequestView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn query_error(message: String) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}

fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn member_filter(p: &Principal, name: &str, value: &str) -> Result<MemberFilter, ApiError> {
    match value {
        "none" => Ok(MemberFilter::Nobody),
        "me" => p
            .member_id()
            .map(MemberFilter::Is)
            .ok_or_else(|| query_error(format!("{name}=me needs a member's token"))),
        id => id
            .parse()
            .map(MemberFilter::Is)
            .map_err(|_| query_error(format!("{name} must be a member id, me or none"))),
    }
}

/// Parses the list parameters into a domain query.
pub fn to_query(p: &Principal, params: ListParams) -> Result<RequestQuery, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(query_error(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let sort = params.sort.unwrap_or_default();
    let direction = params.direction.unwrap_or_default();
    let time = |name: &str, v: Option<String>| -> Result<_, ApiError> {
        v.map(|v| {
            parse_instant(name, &v)
                .map_err(|_| query_error(format!("{name} must be an RFC 3339 timestamp or a date")))
        })
        .transpose()
    };
    Ok(RequestQuery {
        statuses: params
            .status
            .as_deref()
            .map(split)
            .into_iter()
            .flatten()
            .map(|s| StatusKey::parse(s).map_err(query_error))
            .collect::<Result<_, _>>()?,
        categories: params
            .category
            .as_deref()
            .map(split)
            .into_iter()
            .flatten()
            .map(|s| s.parse::<Category>().map_err(query_error))
            .collect::<Result<_, _>>()?,
        types: params
            .type_key
            .as_deref()
            .map(|t| TypeKey::parse(t).map_err(query_error))
            .transpose()?
            .into_iter()
            .collect(),
        assignee: params
            .assignee
            .as_deref()
            .map(|v| member_filter(p, "assignee", v))
            .transpose()?,
        requester: params
            .requester
            .as_deref()
            .map(|v| member_filter(p, "requester", v))
            .transpose()?,
        tag: params.tag,
        due_before: time("due_before", params.due_before)?,
        due_after: time("due_after", params.due_after)?,
        overdue_at: params.overdue.filter(|o| *o).map(|_| docket_domain::now()),
        text: params.q.filter(|q| !q.trim().is_empty()),
        items: params.items,
        sort,
        direction,
        limit,
        after: params
            .cursor
            .as_deref()
            .map(|c| {
                Cursor::decode(c, sort, direction)
                    .map_err(|e| ApiError::bad_request("invalid_cursor", e))
            })
            .transpose()?,
        // Set by `ops::reads::list_requests` from the caller's principal.
        restricted: None,
    })
}
