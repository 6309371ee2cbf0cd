//! Open Notes' public requests API (JSON:API 1.1) under `/api/public/v1/requests`.
//!
//! A note request is a Docket request of the built-in type `opennotes`, whose workflow has
//! Open Notes' statuses (`PENDING`, `IN_PROGRESS`, `COMPLETED`, `FAILED`) and its rule:
//! any status from any status, by the requester or a manager. The attributes Docket has
//! no field for live in the request's `data` under their Open Notes names;
//! `original_message_content` is the description, `platform_message_id` also the subject
//! (`{kind: "message"}`), and `request_id` is the request's external key in the space
//! `opennotes.request_id`, so a duplicate is refused atomically (409).
//!
//! Credentials: a Docket token as `Authorization: Bearer` or `X-API-Key`.

mod create;
mod error;
mod read;
mod update;

pub use error::OpenNotesError;

use crate::auth::{authenticate, bearer, header_secret};
use crate::compat::builtin::OPENNOTES;
use crate::middleware::rate_limit::{self, RateLimit};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::SecondsFormat;
use docket_domain::access::Principal;
use docket_domain::request::Request;
use docket_domain::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

/// Where the resources live; also the base of every link.
pub const BASE: &str = "/api/public/v1/requests";

/// The key space of Open Notes' client-chosen `request_id`.
pub const REQUEST_ID_SPACE: &str = "opennotes.request_id";

pub fn router(limit: &RateLimit) -> Router<AppState> {
    Router::new()
        .route(BASE, get(read::list).post(create::create))
        .route(
            &format!("{BASE}/{{request_id}}"),
            get(read::get).patch(update::update),
        )
        .method_not_allowed_fallback(|| async { OpenNotesError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            limit.rejecting_with(error::rate_limited),
            rate_limit::layer,
        ))
}

/// The caller, from `Authorization: Bearer <token>` or `X-API-Key: <token>`.
pub struct OpenNotesAuth(pub Principal);

impl FromRequestParts<AppState> for OpenNotesAuth {
    type Rejection = OpenNotesError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = bearer(parts)
            .or_else(|| header_secret(parts, "x-api-key"))
            .ok_or(OpenNotesError::Unauthorized(
                "send a token as Authorization: Bearer <token> or X-API-Key: <token>",
            ))?;
        Ok(OpenNotesAuth(authenticate(state, secret).await?))
    }
}

/// A JSON:API resource object for a request: `{id, attributes, type}`.
#[derive(Serialize)]
pub struct Resource {
    pub id: String,
    pub attributes: Attributes,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The attributes of a request, field for field as Open Notes sends them.
#[derive(Serialize)]
pub struct Attributes {
    pub request_id: String,
    pub requested_by: String,
    pub status: String,
    pub note_id: Option<String>,
    pub community_server_id: Option<String>,
    pub requested_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub content: Option<String>,
    pub platform_message_id: Option<String>,
    pub platform_channel_id: Option<String>,
    pub metadata: Option<Value>,
    pub similarity_score: Option<Value>,
    pub dataset_name: Option<String>,
    pub dataset_item_id: Option<String>,
}

impl Resource {
    pub fn of(r: &Request) -> Self {
        let text = |key: &str| r.data.get(key).and_then(Value::as_str).map(str::to_owned);
        let created = time(r.created_at);
        Resource {
            id: r.id.to_string(),
            attributes: Attributes {
                request_id: text("request_id").unwrap_or_default(),
                requested_by: text("requested_by").unwrap_or_default(),
                status: r.status.as_str().to_owned(),
                note_id: text("note_id"),
                community_server_id: text("community_server_id"),
                requested_at: created.clone(),
                created_at: created,
                updated_at: time(r.updated_at),
                content: (!r.description.is_empty()).then(|| r.description.clone()),
                platform_message_id: text("platform_message_id"),
                platform_channel_id: text("platform_channel_id"),
                metadata: r.data.get("metadata").filter(|m| m.is_object()).cloned(),
                similarity_score: r
                    .data
                    .get("similarity_score")
                    .filter(|s| s.is_number())
                    .cloned(),
                dataset_name: text("dataset_name"),
                dataset_item_id: text("dataset_item_id"),
            },
            kind: "requests",
        }
    }
}

/// Whether a Docket request is one of Open Notes' (others are not found here).
pub fn is_note_request(r: &Request) -> bool {
    OPENNOTES.holds(r)
}

/// Open Notes' timestamps: RFC 3339 in UTC to the second, `2023-11-07T05:31:56Z`.
pub fn time(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The JSON pointer of a Docket field in an Open Notes body.
pub fn pointer_of(field: &str) -> String {
    match field {
        "description" => "/data/attributes/original_message_content".to_owned(),
        "title" => "/data/attributes/request_id".to_owned(),
        "subject.id" | "subject.kind" => "/data/attributes/platform_message_id".to_owned(),
        _ => "/data/attributes".to_owned(),
    }
}

/// `scheme://host` of the call, for absolute links (as Open Notes sends them).
pub fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// A JSON:API document in `application/vnd.api+json`, with `status`.
pub fn document(status: axum::http::StatusCode, body: Map<String, Value>) -> Response {
    let mut response = (status, axum::Json(Value::Object(body))).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(error::JSON_API),
    );
    response
}

/// `{id, attributes, type}` of one request, with `self` links in both spellings.
pub fn single(origin: &str, r: &Request) -> Map<String, Value> {
    let link = format!("{origin}{BASE}/{}", r.id);
    let mut doc = Map::new();
    doc.insert(
        "data".into(),
        serde_json::to_value(Resource::of(r)).unwrap_or(Value::Null),
    );
    doc.insert("jsonapi".into(), serde_json::json!({ "version": "1.1" }));
    doc.insert(
        "links".into(),
        serde_json::json!({ "self": link, "self_": link }),
    );
    doc
}
