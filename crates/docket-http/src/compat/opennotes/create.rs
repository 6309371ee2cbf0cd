//! `POST /api/public/v1/requests`: submit a note request (201).

use super::{document, origin, single, OpenNotesAuth, OpenNotesError, REQUEST_ID_SPACE};
use crate::compat::body::read_json;
use crate::compat::builtin::{self, OPENNOTES};
use crate::state::AppState;
use axum::extract::{Request as HttpRequest, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use docket_domain::access::Scope;
use docket_domain::request::{limits, plan_create, NewRequest, Subject};
use docket_domain::DomainError;
use docket_store::ExternalKey;
use serde::Deserialize;
use serde_json::{Map, Value};

/// `{"data": {"type": "requests", "attributes": {…}}}`; unknown keys are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    data: CreateData,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateData {
    #[serde(rename = "type")]
    kind: String,
    attributes: CreateAttributes,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAttributes {
    request_id: String,
    requested_by: String,
    community_server_id: String,
    original_message_content: Option<String>,
    platform_message_id: Option<String>,
    platform_channel_id: Option<String>,
    platform_author_id: Option<String>,
    platform_timestamp: Option<String>,
    metadata: Option<Map<String, Value>>,
    similarity_score: Option<f64>,
    dataset_name: Option<String>,
    dataset_item_id: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    OpenNotesAuth(p): OpenNotesAuth,
    req: HttpRequest,
) -> Result<Response, OpenNotesError> {
    let origin = origin(req.headers());
    p.require(Scope::RequestsWrite)?;
    let body: CreateBody = read_json(req, &state, false).await?;
    if body.data.kind != "requests" {
        return Err(OpenNotesError::invalid_field(
            "/data/type",
            "the resource type must be 'requests'",
        ));
    }
    let a = body.data.attributes;
    let mut problems = Vec::new();
    let mut check = |ok: bool, field: &str, detail: &str| {
        if !ok {
            problems.push(super::error::Problem {
                source: super::error::Source::Pointer(format!("/data/attributes/{field}")),
                detail: detail.to_owned(),
            });
        }
    };
    check(
        !a.request_id.trim().is_empty() && a.request_id.chars().count() <= 200,
        "request_id",
        "request_id has 1-200 characters",
    );
    check(
        a.similarity_score.is_none_or(|s| (0.0..=1.0).contains(&s)),
        "similarity_score",
        "similarity_score is between 0 and 1",
    );
    check(
        a.dataset_name
            .as_ref()
            .is_none_or(|d| d.chars().count() <= 100),
        "dataset_name",
        "dataset_name has at most 100 characters",
    );
    check(
        a.dataset_item_id
            .as_ref()
            .is_none_or(|d| d.chars().count() <= 36),
        "dataset_item_id",
        "dataset_item_id has at most 36 characters",
    );
    let platform_timestamp = a
        .platform_timestamp
        .as_deref()
        .map(chrono::DateTime::parse_from_rfc3339)
        .transpose();
    check(
        platform_timestamp.is_ok(),
        "platform_timestamp",
        "platform_timestamp is an RFC 3339 date-time",
    );
    if !problems.is_empty() {
        return Err(OpenNotesError::Invalid(problems));
    }

    let mut data = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            data.insert(key.to_owned(), v);
        }
    };
    put("request_id", Some(Value::String(a.request_id.clone())));
    put("requested_by", Some(Value::String(a.requested_by)));
    put(
        "community_server_id",
        Some(Value::String(a.community_server_id)),
    );
    put(
        "platform_message_id",
        a.platform_message_id.clone().map(Value::String),
    );
    put(
        "platform_channel_id",
        a.platform_channel_id.map(Value::String),
    );
    put(
        "platform_author_id",
        a.platform_author_id.map(Value::String),
    );
    put(
        "platform_timestamp",
        platform_timestamp
            .ok()
            .flatten()
            .map(|t| Value::String(super::time(t.with_timezone(&chrono::Utc)))),
    );
    put("metadata", a.metadata.map(Value::Object));
    put(
        "similarity_score",
        a.similarity_score
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
    );
    put("dataset_name", a.dataset_name.map(Value::String));
    put("dataset_item_id", a.dataset_item_id.map(Value::String));

    let title: String = format!("Note request {}", a.request_id.trim())
        .chars()
        .take(limits::TITLE_CHARS)
        .collect();
    let input = NewRequest {
        title,
        description: a.original_message_content,
        data: Some(data),
        subject: a
            .platform_message_id
            .filter(|id| !id.is_empty() && id.chars().count() <= 200)
            .map(|id| Subject {
                kind: "message".to_owned(),
                id,
            }),
        ..Default::default()
    };
    let rtype = builtin::ensure(&state, p.workspace_id, OPENNOTES).await?;
    let key = ExternalKey {
        space: REQUEST_ID_SPACE.to_owned(),
        key: a.request_id,
    };
    let principal = p.clone();
    let now = docket_domain::now();
    let (request, _) = state
        .store()
        .create_request_with_key(
            p.workspace_id,
            &rtype.key,
            key,
            Box::new(move |t, n| plan_create(&principal, t, input, n, now)),
        )
        .await
        .map_err(|e| match e {
            docket_store::StoreError::Domain(DomainError::Conflict {
                code: "external_key_taken",
                ..
            }) => {
                OpenNotesError::Conflict("a request with this request_id already exists".to_owned())
            }
            other => other.into(),
        })?;
    let mut response = document(StatusCode::CREATED, single(&origin, &request));
    if let Ok(v) = HeaderValue::from_str(&format!("{}/{}", super::BASE, request.id)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}
