//! The items template of a request type, edited with a form on the settings page: one row
//! per item (kind, label, instructions, required, answer type and options, a document's
//! allowed types and file count), an empty row to add one, a checkbox to remove one, and
//! an order number to move one. Saved as one replacement of the template through the same
//! use case as the API (`ops::types::update`), so the same validation answers.

use super::page::back;
use super::session::DeskForm;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use docket_domain::item::{AnswerType, ItemInput, ItemKind, ItemSpec};
use docket_domain::request::TypeKey;
use docket_domain::DomainError;
use std::collections::BTreeMap;

/// One row of the editor (an item of the template, or the empty row).
pub struct TemplateRow {
    pub index: usize,
    pub key: String,
    /// `document`, `question`, `note`, `page`; empty on the row that adds one.
    pub kind: &'static str,
    pub label: String,
    pub instructions: String,
    pub required: bool,
    pub auto_approve: bool,
    /// `text`, `long_text`, `number`, `date`, `email`, `choice`, `choices`, `checkbox`.
    pub answer: &'static str,
    /// A choice's options, one per line.
    pub options: String,
    /// A number's bounds.
    pub min: String,
    pub max: String,
    /// A document's allowed types, comma-separated.
    pub allowed_types: String,
    pub max_files: String,
}

pub const KINDS: [&str; 4] = ["document", "question", "note", "page"];
pub const ANSWERS: [&str; 8] = [
    "text",
    "long_text",
    "number",
    "date",
    "email",
    "choice",
    "choices",
    "checkbox",
];

/// The editor's rows for `items`, then an empty one.
pub fn rows(items: &[ItemSpec]) -> Vec<TemplateRow> {
    let mut out: Vec<TemplateRow> = items
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let (min, max) = match &s.answer_type {
                Some(AnswerType::Number { min, max }) => (
                    min.map(|n| n.to_string()).unwrap_or_default(),
                    max.map(|n| n.to_string()).unwrap_or_default(),
                ),
                _ => (String::new(), String::new()),
            };
            let (answer, options) = match &s.answer_type {
                None => ("", String::new()),
                Some(AnswerType::Text) => ("text", String::new()),
                Some(AnswerType::LongText) => ("long_text", String::new()),
                Some(AnswerType::Number { .. }) => ("number", String::new()),
                Some(AnswerType::Date) => ("date", String::new()),
                Some(AnswerType::Email) => ("email", String::new()),
                Some(AnswerType::Checkbox) => ("checkbox", String::new()),
                Some(AnswerType::Choice { options, multiple }) => (
                    if *multiple { "choices" } else { "choice" },
                    options.join("\n"),
                ),
            };
            TemplateRow {
                index,
                key: s.key.clone(),
                kind: s.kind.as_str(),
                label: s.label.clone(),
                instructions: s.instructions.clone(),
                required: s.required,
                auto_approve: s.auto_approve,
                answer,
                options,
                min,
                max,
                allowed_types: s.allowed_types.join(", "),
                max_files: s.max_files.map(|n| n.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    out.push(TemplateRow {
        index: items.len(),
        key: String::new(),
        kind: "",
        label: String::new(),
        instructions: String::new(),
        required: false,
        auto_approve: false,
        answer: "",
        options: String::new(),
        min: String::new(),
        max: String::new(),
        allowed_types: String::new(),
        max_files: String::new(),
    });
    out
}

fn bad(field: &str, message: &str) -> ApiError {
    ApiError::invalid(field, "invalid", message.to_owned())
}

/// The template the posted rows describe, in their order: `i{n}.{field}` fields, a row
/// without a kind (the empty row) or with `remove` left out.
fn parse(fields: Vec<(String, String)>) -> Result<Vec<ItemInput>, ApiError> {
    let mut by_row: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    for (name, value) in fields {
        let Some((row, field)) = name
            .strip_prefix('i')
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(n, f)| Some((n.parse::<usize>().ok()?, f.to_owned())))
        else {
            continue;
        };
        by_row.entry(row).or_default().insert(field, value);
    }
    let mut ordered = Vec::new();
    for (row, f) in by_row {
        let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        let kind = match get("kind").as_str() {
            "" => continue,
            "document" => ItemKind::Document,
            "question" => ItemKind::Question,
            "note" => ItemKind::Note,
            "page" => ItemKind::Page,
            _ => return Err(bad("kind", "document, question, note or page")),
        };
        if f.contains_key("remove") {
            continue;
        }
        let order: f64 = match get("order").as_str() {
            "" => row as f64,
            o => o
                .parse()
                .map_err(|_| bad("order", "the order is a number"))?,
        };
        let list = |k: &str, sep: &[char]| -> Vec<String> {
            get(k)
                .split(sep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let answer_type = (kind == ItemKind::Question)
            .then(|| match get("answer").as_str() {
                "" | "text" => Ok(AnswerType::Text),
                "long_text" => Ok(AnswerType::LongText),
                "number" => {
                    let bound = |k: &str| match get(k).as_str() {
                        "" => Ok(None),
                        n => n
                            .parse()
                            .map(Some)
                            .map_err(|_| bad(k, "a bound is a number")),
                    };
                    Ok(AnswerType::Number {
                        min: bound("min")?,
                        max: bound("max")?,
                    })
                }
                "date" => Ok(AnswerType::Date),
                "email" => Ok(AnswerType::Email),
                "checkbox" => Ok(AnswerType::Checkbox),
                c @ ("choice" | "choices") => Ok(AnswerType::Choice {
                    options: list("options", &['\n', '\r']),
                    multiple: c == "choices",
                }),
                _ => Err(bad("answer_type", "not an answer type")),
            })
            .transpose()?;
        let document = kind == ItemKind::Document;
        let max_files = match get("max_files").as_str() {
            "" => None,
            n if document => Some(
                n.parse()
                    .map_err(|_| bad("max_files", "the number of files is a whole number"))?,
            ),
            _ => None,
        };
        let answerable = kind.is_answerable();
        let input = ItemInput {
            key: Some(get("key")).filter(|k| !k.is_empty()),
            kind: Some(kind),
            label: Some(get("label")),
            instructions: Some(get("instructions")),
            required: answerable.then(|| f.contains_key("required")),
            auto_approve: answerable.then(|| f.contains_key("auto_approve")),
            allowed_types: document
                .then(|| list("allowed_types", &[',']))
                .filter(|l| !l.is_empty()),
            max_files,
            answer_type,
            position: None,
        };
        ordered.push((order, row, input));
    }
    ordered.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    Ok(ordered.into_iter().map(|(_, _, i)| i).collect())
}

/// `POST /desk/settings/types/{key}/items`: replaces the type's items template.
pub async fn save(
    State(state): State<AppState>,
    Path(key): Path<String>,
    DeskForm { user, form }: DeskForm<Vec<(String, String)>>,
) -> Response {
    let outcome = async {
        let key = TypeKey::parse(&key).map_err(|_| DomainError::NotFound("request type"))?;
        let items = parse(form)?;
        let t =
            crate::ops::types::update(&state, &user.principal, &key, None, None, None, Some(items))
                .await?;
        Ok(format!(
            "Items of {} saved: {} item{}. Requests filed from now on ask for them.",
            t.name,
            t.items.len(),
            if t.items.len() == 1 { "" } else { "s" }
        ))
    }
    .await;
    back(super::settings::PAGE, outcome)
}
