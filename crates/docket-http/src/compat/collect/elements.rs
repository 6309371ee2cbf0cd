//! Collect's elements: a request's items in Collect's shapes (`forms`, `documents`,
//! `texts`, `pages` on `GET /v1/requests/{id}`), and `PATCH /v1/elements`, which answers
//! one element or approves or rejects it with a reason.
//!
//! An element is a Docket item: its `_id` is the item's id, its `itemId` the key of the
//! campaign (type) template item it came from. A question is one `form` element with one
//! form item; a document is a `docs` element whose `uploads` carry signed URLs that expire.

use super::{date, is_campaign, parse_body, CollectAuth, CollectError, FLAGS_KEY};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use docket_domain::access::Scope;
use docket_domain::email::{queue_flagged, COLLECT_MESSAGES};
use docket_domain::file::FileRecord;
use docket_domain::ids::{ItemId, RequestId};
use docket_domain::item::{
    plan_items, AnswerType, Item, ItemAction, ItemActor, ItemKind, ItemState, Verdict,
};
use docket_domain::request::Request;
use docket_domain::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// How long an upload's URL stays valid by default, and at most (seconds).
pub const DEFAULT_EXPIRES: u64 = 900;
pub const MAX_EXPIRES: u64 = 3600;

/// A request's elements, grouped as Collect answers them.
#[derive(Default, Serialize)]
pub struct Elements {
    pub forms: Vec<Value>,
    pub documents: Vec<Value>,
    pub texts: Vec<Value>,
    pub pages: Vec<Value>,
}

/// Collect's status of an element: `pending` (nothing sent), `submitted` (waiting for
/// validation), `approved`, `rejected`.
fn status(item: &Item) -> &'static str {
    match item.state {
        None | Some(ItemState::Missing) => "pending",
        Some(ItemState::Submitted) => "submitted",
        Some(ItemState::Approved) => "approved",
        Some(ItemState::Rejected) => "rejected",
    }
}

/// The type of a form item, in Collect's words.
fn answer_kind(t: Option<&AnswerType>) -> &'static str {
    match t {
        None | Some(AnswerType::Text) => "text",
        Some(AnswerType::LongText) => "textarea",
        Some(AnswerType::Number { .. }) => "number",
        Some(AnswerType::Date) => "date",
        Some(AnswerType::Email) => "email",
        Some(AnswerType::Checkbox) => "checkbox",
        Some(AnswerType::Choice { multiple: true, .. }) => "multiple_choice",
        Some(AnswerType::Choice { .. }) => "single_choice",
    }
}

/// One item as Collect's element, with `request` naming its request; a document's uploads
/// are signed for `expires`.
fn element(
    state: &AppState,
    r: &Request,
    item: &Item,
    files: &[FileRecord],
    expires: Duration,
) -> Value {
    let mut e = json!({
        "_id": item.id,
        "itemId": item.spec.key,
        "name": item.spec.label,
        "order": item.position,
        "request": {"_id": r.id, "campaignId": r.type_key.as_str()},
    });
    match item.spec.kind {
        ItemKind::Document => {
            let uploads: Vec<Value> = item
                .files
                .iter()
                .filter_map(|id| files.iter().find(|f| f.id == *id))
                .map(|f| {
                    let (url, until) = crate::files::signed_url(state, f, expires);
                    json!({
                        "_id": f.id,
                        "createdAt": date(f.created_at),
                        "name": f.name.as_str(),
                        "url": url,
                        "expiresAt": date(until),
                        "size": f.size,
                        "contentType": f.content_type,
                        "scannedOn": null,
                        "virusScanned": false,
                    })
                })
                .collect();
            extend(
                &mut e,
                json!({
                    "type": "docs",
                    "description": item.spec.instructions,
                    "status": status(item),
                    "reason": item.reason,
                    "mandatory": item.spec.required,
                    "extensions": item.spec.allowed_types,
                    "multipleupload": item.spec.max_files.unwrap_or(1) > 1,
                    "visibility": "public",
                    "uploads": uploads,
                }),
            );
        }
        ItemKind::Question => extend(
            &mut e,
            json!({
                "type": "form",
                "description": item.spec.instructions,
                "status": status(item),
                "reason": item.reason,
                "mandatory": item.spec.required,
                "items": [{
                    "name": item.spec.label,
                    "type": answer_kind(item.spec.answer_type.as_ref()),
                    "answer": item.answer,
                    "options": match &item.spec.answer_type {
                        Some(AnswerType::Choice { options, .. }) => json!(options),
                        _ => Value::Null,
                    },
                }],
            }),
        ),
        ItemKind::Note => extend(
            &mut e,
            json!({"type": "text", "text": item.spec.instructions}),
        ),
        ItemKind::Page => extend(&mut e, json!({"type": "page"})),
    }
    e
}

fn extend(into: &mut Value, more: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), more) {
        a.extend(b);
    }
}

/// The elements of request `r` (all its items), uploads signed for `expires`.
pub async fn of_request(
    state: &AppState,
    r: &Request,
    expires: Duration,
) -> Result<Elements, CollectError> {
    let items = state.store().list_items(r.workspace_id, r.id).await?;
    let files = if items.iter().any(|i| !i.files.is_empty()) {
        crate::ops::reads::files_of_request(state, r).await?
    } else {
        Vec::new()
    };
    let mut out = Elements::default();
    for item in &items {
        let e = element(state, r, item, &files, expires);
        match item.spec.kind {
            ItemKind::Document => out.documents.push(e),
            ItemKind::Question => out.forms.push(e),
            ItemKind::Note => out.texts.push(e),
            ItemKind::Page => out.pages.push(e),
        }
    }
    Ok(out)
}

/// The `expires` query parameter: seconds, 1 to 3600, 900 when absent.
pub fn parse_expires(raw: Option<&str>) -> Result<Duration, CollectError> {
    let Some(raw) = raw else {
        return Ok(Duration::from_secs(DEFAULT_EXPIRES));
    };
    match raw.trim().parse::<u64>() {
        Ok(s) if (1..=MAX_EXPIRES).contains(&s) => Ok(Duration::from_secs(s)),
        _ => Err(CollectError::BadRequest(format!(
            "expires must be a number of seconds from 1 to {MAX_EXPIRES}"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ElementPatch {
    pub element_id: String,
    /// `approved` or `rejected` (with `reason`).
    pub status: Option<String>,
    pub reason: Option<String>,
    /// The answer to a form element (on the contact's behalf).
    pub answer: Option<Value>,
    /// Optional, as Collect's clients send it: the element's request.
    pub request_id: Option<String>,
}

/// `PATCH /v1/elements`: `{elementId, status: "approved"|"rejected", reason}` reviews an
/// element; `{elementId, answer}` answers a form element. The request's status follows
/// (everything validated: `completed`), and a move sends the message its flags ask for,
/// in the same transaction. Answers the element as `GET /v1/requests/{id}` shows it.
pub async fn patch(
    State(state): State<AppState>,
    CollectAuth(p): CollectAuth,
    crate::compat::body::RawBody(body): crate::compat::body::RawBody,
) -> Result<Json<Value>, CollectError> {
    let body: ElementPatch = parse_body(&body.map_err(CollectError::from_body)?)?;
    p.require(Scope::RequestsWrite)?;
    let not_found = || CollectError::NotFound("element not found".into());
    let item: ItemId = body.element_id.parse().map_err(|_| not_found())?;
    let action = match (body.status.as_deref(), body.answer) {
        (Some(_), Some(_)) => {
            return Err(CollectError::BadRequest(
                "send an answer and a review (status) in separate calls".into(),
            ))
        }
        (Some("approved"), None) => ItemAction::Review {
            item,
            verdict: Verdict::Approve,
        },
        (Some("rejected"), None) => ItemAction::Review {
            item,
            verdict: Verdict::Reject(body.reason.unwrap_or_default()),
        },
        (Some(other), None) => {
            return Err(CollectError::BadRequest(format!(
                "status {other:?}: approved or rejected"
            )))
        }
        (None, Some(answer)) => ItemAction::Submit {
            item,
            answer: Some(answer),
            files: Vec::new(),
        },
        (None, None) => {
            return Err(CollectError::BadRequest(
                "give a status (approved or rejected) or an answer".into(),
            ))
        }
    };
    let request: RequestId = state
        .store()
        .request_of_item(p.workspace_id, item)
        .await?
        .ok_or_else(not_found)?;
    if let Some(named) = body.request_id.as_deref() {
        if named != request.to_string() {
            return Err(not_found());
        }
    }
    let principal = p.clone();
    let now = docket_domain::now();
    let (applied, items) = state
        .store()
        .change_items(
            p.workspace_id,
            request,
            Vec::new(),
            Box::new(move |current, rtype, items| {
                if !is_campaign(&rtype.key) {
                    return Err(DomainError::NotFound("element"));
                }
                let planned = plan_items(
                    ItemActor::Staff(&principal),
                    current,
                    rtype,
                    items,
                    action,
                    None,
                    now,
                )?;
                Ok(planned.map(|mut planned| {
                    let after = planned.items.apply_to(items.to_vec());
                    queue_flagged(
                        &mut planned,
                        &after,
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
    let r = applied.into_request();
    let found = items.iter().find(|i| i.id == item).ok_or_else(not_found)?;
    let files = crate::ops::reads::files_of_request(&state, &r).await?;
    Ok(Json(element(
        &state,
        &r,
        found,
        &files,
        Duration::from_secs(DEFAULT_EXPIRES),
    )))
}
