//! `POST /api/v1/requests`: file a request.

use super::{etag_header, RequestView};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::time::parse_instant;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::ids::MemberId;
use docket_domain::request::{NewRequest, Subject, TypeKey};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// The request type's key; `general` when omitted.
    #[serde(rename = "type")]
    pub type_key: Option<TypeKey>,
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    pub assignee_id: Option<MemberId>,
    /// RFC 3339, or a date (`2026-12-01`, meaning the end of that day, UTC).
    pub due_at: Option<String>,
    /// Any JSON object, at most 16 KiB and 8 levels deep.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
    /// At most 20, each 1 to 50 characters.
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
    pub subject: Option<Subject>,
    /// The keys of the type's template items to ask for (default: all of them).
    #[schema(max_items = 100)]
    pub items: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = CreateRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for a retried POST")),
    responses(
        (status = 201, description = "Filed", body = RequestView, headers(("ETag" = String), ("Location" = String))),
        (status = 422, description = "Invalid fields", body = crate::error::ErrorEnvelope),
        (status = 403, description = "Missing requests:write", body = crate::error::ErrorEnvelope),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<(StatusCode, HeaderMap, Json<RequestView>), ApiError> {
    p.require(Scope::RequestsWrite)?;
    let due_at = body
        .due_at
        .as_deref()
        .map(|d| parse_instant("due_at", d))
        .transpose()?;
    let input = NewRequest {
        title: body.title,
        description: body.description,
        assignee_id: body.assignee_id,
        due_at,
        data: body.data,
        tags: body.tags,
        subject: body.subject,
        items: body.items,
    };
    let type_key = body.type_key.unwrap_or_else(TypeKey::general);
    let request = crate::ops::requests::file(&state, &p, &type_key, input).await?;
    let mut headers = etag_header(&request);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/requests/{}", request.id)) {
        headers.insert(header::LOCATION, v);
    }
    Ok((
        StatusCode::CREATED,
        headers,
        Json(RequestView::new(request)),
    ))
}
