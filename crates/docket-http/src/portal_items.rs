//! Requested items on the recipient portal: one card per item with its state in words,
//! an input for each question and an upload for each document, each saved on its own
//! (`docket_domain::item::plan_items` with the recipient acting through the link).

use crate::error::ApiError;
use crate::ops::items::{self, Uploader};
use crate::portal::{back, open_link};
use crate::state::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use docket_domain::ids::ItemId;
use docket_domain::item::{AnswerType, Item, ItemAction, ItemState};
use docket_domain::request::Request;
use docket_domain::DomainError;
use serde_json::Value;

/// One item as the portal shows it.
pub struct PortalItem {
    pub id: String,
    pub label: String,
    pub instructions: String,
    /// `document`, `question` or `note`.
    pub kind: &'static str,
    pub required: bool,
    /// "Needed", "Sent, waiting for review", "Approved", "Needs changes: <reason>".
    pub state: String,
    /// `missing`, `submitted`, `approved`, `rejected` (for styling), empty for a note.
    pub state_key: &'static str,
    /// Whether the recipient may answer it now (not a note, not approved).
    pub open: bool,
    /// The HTML input of a question: `text`, `textarea`, `number`, `date`, `email`,
    /// `select`, `checkboxes`, `checkbox`.
    pub input: &'static str,
    pub options: Vec<String>,
    /// The current answer, as text for the input.
    pub answer: String,
    /// The names of the item's current files.
    pub files: Vec<String>,
    /// Required, and nothing (accepted) sent yet: "Send for review" waits for it.
    pub needs_answer: bool,
}

/// An answer as text: a list joined with commas, nothing for no answer.
pub(crate) fn answer_text(v: &Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        // A whole number reads as one ("2", not "2.0").
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    }
}

fn portal_item(item: &Item, names: &dyn Fn(&docket_domain::ids::FileId) -> String) -> PortalItem {
    let (input, options) = match &item.spec.answer_type {
        Some(AnswerType::Text) | None => ("text", Vec::new()),
        Some(AnswerType::LongText) => ("textarea", Vec::new()),
        Some(AnswerType::Number { .. }) => ("number", Vec::new()),
        Some(AnswerType::Date) => ("date", Vec::new()),
        Some(AnswerType::Email) => ("email", Vec::new()),
        Some(AnswerType::Checkbox) => ("checkbox", Vec::new()),
        Some(AnswerType::Choice { options, multiple }) => (
            if *multiple { "checkboxes" } else { "select" },
            options.clone(),
        ),
    };
    let state = match (item.state, &item.reason) {
        (None, _) => String::new(),
        (Some(ItemState::Rejected), Some(reason)) => {
            format!("{}: {reason}", ItemState::Rejected.describe())
        }
        (Some(s), _) => s.describe().to_owned(),
    };
    PortalItem {
        id: item.id.to_string(),
        label: item.spec.label.clone(),
        instructions: item.spec.instructions.clone(),
        kind: item.spec.kind.as_str(),
        required: item.spec.required,
        state,
        state_key: item.state.map_or("", ItemState::as_str),
        open: !matches!(item.state, None | Some(ItemState::Approved)),
        input,
        options,
        answer: answer_text(&item.answer),
        files: item.files.iter().map(names).collect(),
        needs_answer: item.needs_answer(),
    }
}

/// The request's items as the portal shows them.
pub async fn rows(state: &AppState, r: &Request) -> Result<Vec<PortalItem>, ApiError> {
    let list = state.store().list_items(r.workspace_id, r.id).await?;
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let files = crate::ops::reads::files_of_request(state, r).await?;
    let names = |id: &docket_domain::ids::FileId| {
        files
            .iter()
            .find(|f| f.id == *id)
            .map_or_else(|| "a file".to_owned(), |f| f.name.as_str().to_owned())
    };
    Ok(list.iter().map(|i| portal_item(i, &names)).collect())
}

/// The answer a question's form field means for its type: numbers and yes/no parsed, the
/// checked options of a many-choice as a list. The domain then checks it.
fn typed_answer(kind: Option<&AnswerType>, values: Vec<String>) -> Value {
    let first = values.first().cloned().unwrap_or_default();
    match kind {
        Some(AnswerType::Number { .. }) => {
            let t = first.trim();
            t.parse::<i64>()
                .ok()
                .map(serde_json::Number::from)
                .or_else(|| t.parse::<f64>().ok().and_then(serde_json::Number::from_f64))
                .map_or(Value::String(first), Value::Number)
        }
        Some(AnswerType::Checkbox) => Value::Bool(!values.is_empty()),
        Some(AnswerType::Choice { multiple: true, .. }) => Value::from(
            values
                .into_iter()
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>(),
        ),
        _ => Value::String(first),
    }
}

/// `POST /p/{token}/items/{item_id}`: the recipient's answer to one question. The page's
/// script saves as the recipient types and asks for JSON: the item's state in words and
/// the required items still missing, so the page follows without a reload.
pub async fn answer(
    State(state): State<AppState>,
    Path((token, item)): Path<(String, String)>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (link, r) = match open_link(&state, &token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let outcome = async {
        let item: ItemId = item.parse().map_err(|_| DomainError::NotFound("item"))?;
        let found = state
            .store()
            .list_items(r.workspace_id, r.id)
            .await?
            .into_iter()
            .find(|i| i.id == item)
            .ok_or(DomainError::NotFound("item"))?;
        let values: Vec<String> = fields
            .into_iter()
            .filter(|(k, _)| k == "answer")
            .map(|(_, v)| v)
            .collect();
        let answer = typed_answer(found.spec.answer_type.as_ref(), values);
        let action = ItemAction::Submit {
            item,
            answer: Some(answer),
            files: Vec::new(),
        };
        let changed = items::answer_as_recipient(&state, &link, action).await?;
        Ok::<_, ApiError>((item, changed))
    }
    .await;
    if crate::desk::files::wants_json(&headers) {
        return match outcome {
            Ok((item, changed)) => {
                let saved = changed
                    .item(item)
                    .map(|i| portal_item(i, &|_| String::new()));
                match saved {
                    Ok(saved) => Json(serde_json::json!({
                        "state": saved.state,
                        "state_key": saved.state_key,
                        "missing": changed.items.iter().filter(|i| i.needs_answer()).map(|i| i.spec.label.as_str()).collect::<Vec<_>>(),
                    }))
                    .into_response(),
                    Err(e) => e.into_response(),
                }
            }
            Err(e) => e.into_response(),
        };
    }
    back(&state, &token, outcome.map(|_| "Your answer was saved.")).await
}

/// `POST /p/{token}/items/{item_id}/files`: files for one document item, each stored and
/// submitted in one write as it arrives.
pub async fn upload(
    State(state): State<AppState>,
    Path((token, item)): Path<(String, String)>,
    mut form: Multipart,
) -> Response {
    let (link, r) = match open_link(&state, &token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let outcome = async {
        let item: ItemId = item.parse().map_err(|_| DomainError::NotFound("item"))?;
        let mut sent = 0;
        while let Some(part) = form
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request("invalid_multipart", e.body_text()))?
        {
            let name = part.file_name().unwrap_or_default().to_owned();
            if part.name() != Some("file") || name.is_empty() {
                continue;
            }
            let body = crate::files::field_body(part);
            let who = Uploader::Recipient(link.clone());
            items::upload(&state, who, r.id, item, name, None, body).await?;
            sent += 1;
        }
        if sent == 0 {
            return Err(ApiError::invalid(
                "file",
                "required",
                "choose a file to send",
            ));
        }
        Ok(sent)
    }
    .await;
    let message = match outcome {
        Ok(1) => Ok("Your file was sent."),
        Ok(_) => Ok("Your files were sent."),
        Err(e) => Err(e),
    };
    back(&state, &token, message).await
}
