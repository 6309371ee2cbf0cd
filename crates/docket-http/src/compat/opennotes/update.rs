//! `PATCH /api/public/v1/requests/{request_id}`: change `status` and `note_id`.
//!
//! Only the attributes sent are applied. The status move is judged by the `opennotes`
//! workflow (requester or manager, any status from any status); `note_id` lives in the
//! request's data, which only the requester, the assignee or a manager may edit.

use super::read::{parse_id, STATUSES};
use super::{document, origin, single, OpenNotesAuth, OpenNotesError};
use crate::compat::body::read_json;
use crate::compat::builtin::{self, OPENNOTES};
use crate::state::AppState;
use axum::extract::{Path, Request as HttpRequest, State};
use axum::http::StatusCode;
use axum::response::Response;
use docket_domain::request::{Patch, RequestPatch};
use docket_domain::workflow::StatusKey;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    data: UpdateData,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateData {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    attributes: UpdateAttributes,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateAttributes {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    note_id: Patch<String>,
}

pub async fn update(
    State(state): State<AppState>,
    OpenNotesAuth(p): OpenNotesAuth,
    Path(raw): Path<String>,
    req: HttpRequest,
) -> Result<Response, OpenNotesError> {
    let origin = origin(req.headers());
    let id = parse_id(&raw)?;
    let body: UpdateBody = read_json(req, &state, false).await?;
    if body.data.kind != "requests" {
        return Err(OpenNotesError::invalid_field(
            "/data/type",
            "the resource type must be 'requests'",
        ));
    }
    let status = match body.data.attributes.status {
        None => None,
        Some(s) if STATUSES.contains(&s.as_str()) => StatusKey::parse(&s).ok(),
        Some(_) => {
            return Err(OpenNotesError::invalid_field(
                "/data/attributes/status",
                "status is one of PENDING, IN_PROGRESS, COMPLETED, FAILED",
            ))
        }
    };
    let note_id = match body.data.attributes.note_id {
        Patch::Set(n) if uuid::Uuid::parse_str(&n).is_err() => {
            return Err(OpenNotesError::invalid_field(
                "/data/attributes/note_id",
                "note_id must be a UUID",
            ))
        }
        Patch::Set(n) => Some(Value::String(n)),
        Patch::Clear => Some(Value::Null),
        Patch::Keep => None,
    };
    if body.data.id.parse::<docket_domain::ids::RequestId>().ok() != Some(id) {
        return Err(OpenNotesError::Conflict(
            "data.id does not match the request_id of the URL".to_owned(),
        ));
    }
    let patch = RequestPatch {
        status,
        data: note_id.map(|n| Map::from_iter([("note_id".to_owned(), n)])),
        ..Default::default()
    };
    let request = builtin::patch_request(&state, &p, OPENNOTES, id, patch).await?;
    Ok(document(StatusCode::OK, single(&origin, &request)))
}
