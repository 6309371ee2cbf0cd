//! `GET /api/public/v1/requests` (a page of requests) and `GET …/{request_id}` (one).

use super::{
    document, is_note_request, origin, single, OpenNotesAuth, OpenNotesError, Resource, BASE,
};
use crate::compat::builtin::OPENNOTES;
use crate::compat::listing;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use docket_domain::access::Scope;
use docket_domain::ids::RequestId;
use docket_domain::query::{Direction, RequestQuery, SortKey};
use docket_domain::workflow::StatusKey;
use docket_domain::Timestamp;
use serde_json::{json, Map, Value};

/// Open Notes' statuses, the only values `status` filters and updates accept.
pub const STATUSES: [&str; 4] = ["PENDING", "IN_PROGRESS", "COMPLETED", "FAILED"];

pub async fn get(
    State(state): State<AppState>,
    OpenNotesAuth(p): OpenNotesAuth,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, OpenNotesError> {
    p.require(Scope::RequestsRead)?;
    let id = parse_id(&raw)?;
    let request = crate::ops::reads::get_request(&state, &p, id)
        .await?
        .filter(is_note_request)
        .ok_or(OpenNotesError::NotFound)?;
    Ok(document(
        StatusCode::OK,
        single(&origin(&headers), &request),
    ))
}

/// The path's `request_id`: a UUID (Open Notes answers 422 for anything else).
pub fn parse_id(raw: &str) -> Result<RequestId, OpenNotesError> {
    raw.parse()
        .map_err(|_| OpenNotesError::invalid_parameter("request_id", "request_id must be a UUID"))
}

/// The list's parameters, parsed.
struct ListParams {
    number: usize,
    size: usize,
    status: Option<StatusKey>,
    community_server_id: Option<String>,
    requested_by: Option<String>,
    gte: Option<Timestamp>,
    lte: Option<Timestamp>,
}

fn parse_params(query: &str) -> Result<ListParams, OpenNotesError> {
    let mut out = ListParams {
        number: 1,
        size: 20,
        status: None,
        community_server_id: None,
        requested_by: None,
        gte: None,
        lte: None,
    };
    let time = |name: &str, v: &str| {
        chrono::DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| {
                OpenNotesError::invalid_parameter(
                    name,
                    format!("{name} must be an RFC 3339 date-time"),
                )
            })
    };
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let v = value.as_ref();
        match name.as_ref() {
            "page[number]" => {
                out.number = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    OpenNotesError::invalid_parameter(
                        "page[number]",
                        "page[number] is an integer of at least 1",
                    )
                })?;
            }
            "page[size]" => {
                out.size = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| {
                        OpenNotesError::invalid_parameter(
                            "page[size]",
                            "page[size] is an integer from 1 to 100",
                        )
                    })?;
            }
            "filter[status]" => {
                if !STATUSES.contains(&v) {
                    return Err(OpenNotesError::invalid_parameter(
                        "filter[status]",
                        "filter[status] is one of PENDING, IN_PROGRESS, COMPLETED, FAILED",
                    ));
                }
                out.status = StatusKey::parse(v).ok();
            }
            "filter[community_server_id]" => out.community_server_id = Some(v.to_owned()),
            "filter[requested_by]" => out.requested_by = Some(v.to_owned()),
            "filter[requested_at__gte]" => out.gte = Some(time("filter[requested_at__gte]", v)?),
            "filter[requested_at__lte]" => out.lte = Some(time("filter[requested_at__lte]", v)?),
            _ => {}
        }
    }
    Ok(out)
}

pub async fn list(
    State(state): State<AppState>,
    OpenNotesAuth(p): OpenNotesAuth,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, OpenNotesError> {
    p.require(Scope::RequestsRead)?;
    let query = uri.query().unwrap_or_default();
    let params = parse_params(query)?;
    let native = RequestQuery {
        statuses: params.status.clone().into_iter().collect(),
        types: vec![OPENNOTES.type_key()],
        sort: SortKey::Created,
        direction: Direction::Desc,
        ..Default::default()
    };
    let text = |r: &docket_domain::request::Request, key: &str| {
        r.data.get(key).and_then(Value::as_str).map(str::to_owned)
    };
    let matching: Vec<_> = listing::all(&state, &p, native)
        .await?
        .into_iter()
        .filter(|r| {
            params
                .community_server_id
                .as_ref()
                .is_none_or(|c| text(r, "community_server_id").as_ref() == Some(c))
                && params
                    .requested_by
                    .as_ref()
                    .is_none_or(|c| text(r, "requested_by").as_ref() == Some(c))
                && params.gte.is_none_or(|t| r.created_at >= t)
                && params.lte.is_none_or(|t| r.created_at <= t)
        })
        .collect();
    let count = matching.len();
    let pages = count.div_ceil(params.size).max(1);
    let data: Vec<Value> = matching
        .iter()
        .skip((params.number - 1).saturating_mul(params.size))
        .take(params.size)
        .map(|r| serde_json::to_value(Resource::of(r)).unwrap_or(Value::Null))
        .collect();

    let origin = origin(&headers);
    let link = |number: usize| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if name != "page[number]" && name != "page[size]" {
                q.append_pair(&name, &value);
            }
        }
        q.append_pair("page[number]", &number.to_string());
        q.append_pair("page[size]", &params.size.to_string());
        Value::String(format!("{origin}{BASE}?{}", q.finish()))
    };
    let prev = (params.number > 1).then(|| link((params.number - 1).min(pages)));
    let next = (params.number < pages).then(|| link(params.number + 1));
    let this = link(params.number);
    let mut doc = Map::new();
    doc.insert("data".into(), Value::Array(data));
    doc.insert("jsonapi".into(), json!({ "version": "1.1" }));
    doc.insert(
        "links".into(),
        json!({
            "self": this, "self_": this,
            "first": link(1), "last": link(pages),
            "prev": prev,
            "next": next, "next_": next,
        }),
    );
    doc.insert("meta".into(), json!({ "count": count }));
    Ok(document(StatusCode::OK, doc))
}
