//! `PATCH /v1/request`: change a request's status, due date, data or assignee, and queue
//! the messages its flags ask for.

use super::{
    check_client_data, check_member, is_campaign, parse_assignee, parse_body, parse_due, render,
    CollectAuth, CollectError, RequestEnvelope, FLAGS_KEY,
};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use docket_domain::email::{queue_flagged, COLLECT_MESSAGES};
use docket_domain::ids::RequestId;
use docket_domain::request::{plan_update, Patch, RequestPatch};
use docket_domain::workflow::StatusKey;
use docket_domain::DomainError;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    pub request_id: String,
    pub status: Option<String>,
    #[serde(default)]
    pub due_date: Patch<String>,
    pub data: Option<Map<String, Value>>,
    pub assigned_to: Option<String>,
    pub send_completion_message: Option<bool>,
    pub send_rejection_message: Option<bool>,
    pub send_reopen_message: Option<bool>,
}

pub async fn update(
    State(state): State<AppState>,
    CollectAuth(p): CollectAuth,
    crate::compat::body::RawBody(body): crate::compat::body::RawBody,
) -> Result<Json<RequestEnvelope>, CollectError> {
    let body: UpdateBody = parse_body(&body.map_err(CollectError::from_body)?)?;
    let id: RequestId = body
        .request_id
        .parse()
        .map_err(|_| CollectError::NotFound("request not found".into()))?;
    let status = body
        .status
        .as_deref()
        .map(StatusKey::parse)
        .transpose()
        .map_err(CollectError::BadRequest)?;
    let due_at = match body.due_date {
        Patch::Set(d) => Patch::Set(parse_due(&d)?),
        Patch::Clear => Patch::Clear,
        Patch::Keep => Patch::Keep,
    };
    let assignee = match body.assigned_to.as_deref() {
        Some(raw) => parse_assignee(raw)?,
        None => Patch::Keep,
    };
    if let Patch::Set(member) = assignee {
        check_member(&state, p.workspace_id, member).await?;
    }
    let mut data = body.data.unwrap_or_default();
    check_client_data(&data)?;
    let sent_flags: Vec<(&str, bool)> = [
        ("sendCompletionMessage", body.send_completion_message),
        ("sendRejectionMessage", body.send_rejection_message),
        ("sendReopenMessage", body.send_reopen_message),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();

    let ws = p.workspace_id;
    let principal = p;
    let now = docket_domain::now();
    // Through `change_items`: the message a move sends may list the rejected items, read
    // in the same transaction.
    let (applied, _) = state
        .store()
        .change_items(
            ws,
            id,
            Vec::new(),
            Box::new(move |current, rtype, items| {
                if !is_campaign(&rtype.key) {
                    return Err(DomainError::NotFound("request"));
                }
                if !sent_flags.is_empty() {
                    let mut flags = current
                        .data
                        .get(FLAGS_KEY)
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    for (k, v) in &sent_flags {
                        flags.insert((*k).to_owned(), Value::Bool(*v));
                    }
                    data.insert(FLAGS_KEY.into(), Value::Object(flags));
                }
                let patch = RequestPatch {
                    status,
                    assignee_id: assignee,
                    due_at,
                    data: (!data.is_empty()).then_some(data),
                    ..Default::default()
                };
                let planned = plan_update(&principal, current, &rtype.workflow, patch, None, now)?;
                Ok(planned.map(|mut planned| {
                    queue_flagged(
                        &mut planned,
                        items,
                        COLLECT_MESSAGES,
                        FLAGS_KEY,
                        &principal,
                        now,
                    );
                    planned
                }))
            }),
        )
        .await?;
    let request = applied.into_request();
    Ok(Json(RequestEnvelope {
        errors: vec![],
        request: render(&state, &request).await?,
    }))
}
