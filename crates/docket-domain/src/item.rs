//! Requested items: what a request asks for, item by item, and the review of each answer.
//!
//! A request type's `items` are its template; a request gets its own copy when it is filed
//! (all of them, or the subset named at creation), and staff may add, edit, reorder or
//! remove items on one request later. An item is a `document` (files), a `question` (an
//! answer of a declared type) or a `note` (instructions only).
//!
//! Each answerable item moves `missing` → `submitted` → `approved`, or `rejected` with a
//! reason the recipient sees, and `submitted` again when they answer anew; staff may
//! reopen an approved item. Every submission is kept; the latest is the item's answer.
//!
//! Every change is planned here by [`plan_items`], from the request and its items as they
//! are, and applied by the storage layer in one transaction with the request's new
//! progress, the item events, and the workflow moves the type asks the items to drive
//! ([`crate::workflow::ItemHooks`]).

use crate::error::{DomainError, FieldError};
use crate::event::{Actor, FieldChange};
use crate::ids::{FileId, ItemId, MemberId, RequestId, SubmissionId, WorkspaceId};
use crate::request::{Planned, Request, RequestType};
use crate::Timestamp;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

mod plan;
#[cfg(test)]
mod tests;

pub use plan::{check_answer, fill_documents, plan_items, Filled, ItemAction, ItemActor, Verdict};

/// Limits that keep one request's items small enough to show on one page.
pub mod limits {
    pub const ITEMS: usize = 100;
    pub const KEY_CHARS: usize = 64;
    pub const LABEL_CHARS: usize = 300;
    pub const INSTRUCTIONS_CHARS: usize = 5_000;
    pub const OPTIONS: usize = 50;
    pub const OPTION_CHARS: usize = 200;
    pub const TEXT_CHARS: usize = 1_000;
    pub const LONG_TEXT_CHARS: usize = 20_000;
    pub const MAX_FILES: u32 = 20;
    pub const REASON_CHARS: usize = 2_000;
    pub const PATTERNS: usize = 20;
}

/// What an item asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// One or more files.
    Document,
    /// An answer of a declared type.
    Question,
    /// Instructions only; nothing to answer.
    Note,
    /// A page break: the portal starts a new page here, titled by its label (Collect's
    /// `page` element); nothing to answer.
    Page,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Document => "document",
            ItemKind::Question => "question",
            ItemKind::Note => "note",
            ItemKind::Page => "page",
        }
    }

    /// Whether the recipient answers it (a document or a question).
    pub fn is_answerable(self) -> bool {
        matches!(self, ItemKind::Document | ItemKind::Question)
    }
}

/// The type of a question's answer, and what it accepts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerType {
    /// One line, at most 1 000 characters.
    Text,
    /// Several paragraphs, at most 20 000 characters.
    LongText,
    /// A number, optionally bounded.
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An email address.
    Email,
    /// One of `options`, or several when `multiple` (the answer is then an array).
    Choice {
        options: Vec<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        multiple: bool,
    },
    /// A yes or no (`true` or `false`).
    Checkbox,
}

/// One item as a template or a request defines it (everything but its answers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemSpec {
    /// Unique within a template and within a request: `[a-z0-9_-]`, 1–64 characters. A
    /// request's copy keeps its template item's key (Collect's `itemId`).
    pub key: String,
    pub kind: ItemKind,
    pub label: String,
    /// Shown to the recipient with the item (a question's help text).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instructions: String,
    /// Whether the request needs an answer to it (never for a note).
    #[serde(default)]
    pub required: bool,
    /// Approve each submission as it arrives, with no review.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_approve: bool,
    /// A document's accepted (sniffed) types, as patterns (`application/pdf`,
    /// `image/*`); empty: whatever the workspace's file policy accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_types: Vec<String>,
    /// A document's most files (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<u32>,
    /// A question's answer type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_type: Option<AnswerType>,
}

/// An item as clients send it: to a template (every field but `position`), to a request
/// (`POST .../items`), or as an edit (`PATCH .../items/{id}`, every field optional and
/// `kind` fixed).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    /// Derived from the label when absent.
    pub key: Option<String>,
    /// Required when adding an item.
    pub kind: Option<ItemKind>,
    pub label: Option<String>,
    pub instructions: Option<String>,
    pub required: Option<bool>,
    pub auto_approve: Option<bool>,
    pub allowed_types: Option<Vec<String>>,
    pub max_files: Option<u32>,
    pub answer_type: Option<AnswerType>,
    /// Where the item goes among the request's items, from 0 (default: last).
    pub position: Option<u32>,
}

impl ItemInput {
    /// The item this input describes, on top of `base` when editing one. `path` prefixes
    /// each field error (`items[2]`, or empty). The key is left empty when neither the
    /// input nor the base names one: [`fill_keys`] derives it.
    pub fn build(self, base: Option<&ItemSpec>, path: &str) -> Result<ItemSpec, Vec<FieldError>> {
        let at = |f: &str| {
            if path.is_empty() {
                f.to_owned()
            } else {
                format!("{path}.{f}")
            }
        };
        let mut errors = Vec::new();
        let kind = match (self.kind, base) {
            (Some(k), Some(b)) if k != b.kind => {
                errors.push(FieldError::new(
                    at("kind"),
                    "kind_fixed",
                    "an item's kind cannot change; remove it and add another",
                ));
                b.kind
            }
            (Some(k), _) => k,
            (None, Some(b)) => b.kind,
            (None, None) => {
                errors.push(FieldError::new(
                    at("kind"),
                    "required",
                    "document, question, note or page",
                ));
                ItemKind::Note
            }
        };
        let key = match self.key {
            Some(k) => {
                let k = k.trim().to_owned();
                if !valid_key(&k) {
                    errors.push(FieldError::new(
                        at("key"),
                        "invalid",
                        format!(
                            "lowercase letters, digits, _ and -, 1-{} characters",
                            limits::KEY_CHARS
                        ),
                    ));
                }
                k
            }
            None => base.map(|b| b.key.clone()).unwrap_or_default(),
        };
        let label = match self.label {
            Some(l) => l.trim().to_owned(),
            None => base.map(|b| b.label.clone()).unwrap_or_default(),
        };
        if label.is_empty() {
            errors.push(FieldError::new(
                at("label"),
                "required",
                "an item needs a label",
            ));
        } else if label.chars().count() > limits::LABEL_CHARS {
            errors.push(FieldError::new(
                at("label"),
                "too_long",
                format!("at most {} characters", limits::LABEL_CHARS),
            ));
        }
        let instructions = self
            .instructions
            .map(|i| i.trim().to_owned())
            .or_else(|| base.map(|b| b.instructions.clone()))
            .unwrap_or_default();
        if instructions.chars().count() > limits::INSTRUCTIONS_CHARS {
            errors.push(FieldError::new(
                at("instructions"),
                "too_long",
                format!("at most {} characters", limits::INSTRUCTIONS_CHARS),
            ));
        }
        let required = self.required.or(base.map(|b| b.required)).unwrap_or(false);
        let auto_approve = self
            .auto_approve
            .or(base.map(|b| b.auto_approve))
            .unwrap_or(false);
        let mut spec = ItemSpec {
            key,
            kind,
            label,
            instructions,
            required,
            auto_approve,
            allowed_types: Vec::new(),
            max_files: None,
            answer_type: None,
        };
        let only = |errors: &mut Vec<FieldError>, field: &str, present: bool, kinds: &str| {
            if present {
                errors.push(FieldError::new(
                    at(field),
                    "not_allowed",
                    format!("only {kinds} items have {field}"),
                ));
            }
        };
        match kind {
            ItemKind::Document => {
                only(
                    &mut errors,
                    "answer_type",
                    self.answer_type.is_some(),
                    "question",
                );
                let patterns = self
                    .allowed_types
                    .or_else(|| base.map(|b| b.allowed_types.clone()))
                    .unwrap_or_default();
                spec.allowed_types = check_patterns(&mut errors, &at("allowed_types"), patterns);
                let max = self
                    .max_files
                    .or(base.and_then(|b| b.max_files))
                    .unwrap_or(1);
                if max == 0 || max > limits::MAX_FILES {
                    errors.push(FieldError::new(
                        at("max_files"),
                        "out_of_range",
                        format!("from 1 to {}", limits::MAX_FILES),
                    ));
                }
                spec.max_files = Some(max);
            }
            ItemKind::Question => {
                only(
                    &mut errors,
                    "allowed_types",
                    self.allowed_types.is_some(),
                    "document",
                );
                only(
                    &mut errors,
                    "max_files",
                    self.max_files.is_some(),
                    "document",
                );
                match self
                    .answer_type
                    .or_else(|| base.and_then(|b| b.answer_type.clone()))
                {
                    Some(answer) => {
                        check_answer_type(&mut errors, &at("answer_type"), &answer);
                        spec.answer_type = Some(answer);
                    }
                    None => errors.push(FieldError::new(
                        at("answer_type"),
                        "required",
                        "a question needs an answer type, e.g. {\"type\": \"text\"}",
                    )),
                }
            }
            ItemKind::Note | ItemKind::Page => {
                only(
                    &mut errors,
                    "answer_type",
                    self.answer_type.is_some(),
                    "question",
                );
                only(
                    &mut errors,
                    "allowed_types",
                    self.allowed_types.is_some(),
                    "document",
                );
                only(
                    &mut errors,
                    "max_files",
                    self.max_files.is_some(),
                    "document",
                );
                if self.required == Some(true) {
                    errors.push(FieldError::new(
                        at("required"),
                        "not_allowed",
                        "a note has nothing to answer",
                    ));
                }
                spec.required = false;
                spec.auto_approve = false;
            }
        }
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(errors)
        }
    }
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= limits::KEY_CHARS
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn check_patterns(errors: &mut Vec<FieldError>, field: &str, raw: Vec<String>) -> Vec<String> {
    if raw.len() > limits::PATTERNS {
        errors.push(FieldError::new(
            field,
            "too_many",
            format!("at most {} patterns", limits::PATTERNS),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, p) in raw.into_iter().enumerate() {
        let p = p.trim().to_ascii_lowercase();
        if !crate::file::is_valid_pattern(&p) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "invalid",
                "a media type pattern such as application/pdf, image/* or */*",
            ));
        } else if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

fn check_answer_type(errors: &mut Vec<FieldError>, field: &str, answer: &AnswerType) {
    match answer {
        AnswerType::Number { min, max } => {
            if min.is_some_and(|m| !m.is_finite()) || max.is_some_and(|m| !m.is_finite()) {
                errors.push(FieldError::new(field, "invalid", "bounds must be numbers"));
            } else if let (Some(lo), Some(hi)) = (min, max) {
                if lo > hi {
                    errors.push(FieldError::new(
                        format!("{field}.min"),
                        "out_of_range",
                        "min is above max",
                    ));
                }
            }
        }
        AnswerType::Choice { options, .. } => {
            if options.is_empty() || options.len() > limits::OPTIONS {
                errors.push(FieldError::new(
                    format!("{field}.options"),
                    "out_of_range",
                    format!("from 1 to {} options", limits::OPTIONS),
                ));
            }
            for (i, o) in options.iter().enumerate() {
                let duplicate = options[..i].contains(o);
                if o.trim().is_empty() || o.chars().count() > limits::OPTION_CHARS || duplicate {
                    errors.push(FieldError::new(
                        format!("{field}.options[{i}]"),
                        "invalid",
                        format!(
                            "options are distinct, non-empty and at most {} characters",
                            limits::OPTION_CHARS
                        ),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// Gives each item without a key one derived from its label, unique among `items`.
pub fn fill_keys(items: &mut [ItemSpec]) {
    for i in 0..items.len() {
        if !items[i].key.is_empty() {
            continue;
        }
        let mut base: String = items[i]
            .label
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        base = base
            .split('-')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        base.truncate(limits::KEY_CHARS - 4);
        if base.is_empty() {
            base = "item".into();
        }
        let taken = |k: &str, items: &[ItemSpec]| items.iter().any(|o| o.key == k);
        let mut key = base.clone();
        let mut n = 2;
        while taken(&key, items) {
            key = format!("{base}-{n}");
            n += 1;
        }
        items[i].key = key;
    }
}

/// A request type's items template, checked: at most 100 items, keys unique (derived from
/// labels where absent), no `position` (the order is the list's).
pub fn parse_template(inputs: Vec<ItemInput>) -> Result<Vec<ItemSpec>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if inputs.len() > limits::ITEMS {
        errors.push(FieldError::new(
            "items",
            "too_many",
            format!("at most {} items", limits::ITEMS),
        ));
    }
    let mut specs = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        let path = format!("items[{i}]");
        if input.position.is_some() {
            errors.push(FieldError::new(
                format!("{path}.position"),
                "not_allowed",
                "a template's order is the order of its list",
            ));
        }
        if let Some(key) = input.key.as_deref().map(str::trim) {
            if keys.iter().any(|k| k == key) {
                errors.push(FieldError::new(
                    format!("{path}.key"),
                    "duplicate",
                    format!("another item has the key {key}"),
                ));
            }
            keys.push(key.to_owned());
        }
        match input.build(None, &path) {
            Ok(spec) => specs.push(spec),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    fill_keys(&mut specs);
    Ok(specs)
}

/// Where an answerable item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Missing,
    Submitted,
    Approved,
    Rejected,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Missing => "missing",
            ItemState::Submitted => "submitted",
            ItemState::Approved => "approved",
            ItemState::Rejected => "rejected",
        }
    }

    /// The state in words, as the recipient reads it on the portal.
    pub fn describe(self) -> &'static str {
        match self {
            ItemState::Missing => "Needed",
            ItemState::Submitted => "Sent, waiting for review",
            ItemState::Approved => "Approved",
            ItemState::Rejected => "Needs changes",
        }
    }
}

/// One item of one request, with its current answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Item {
    pub id: ItemId,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    pub request_id: RequestId,
    /// The item's place among the request's items, from 0.
    pub position: u32,
    #[serde(flatten)]
    pub spec: ItemSpec,
    /// `null` for a note.
    pub state: Option<ItemState>,
    /// Why the item was rejected, for the recipient; set while it is `rejected`.
    pub reason: Option<String>,
    /// The latest submission's answer (questions).
    #[schema(value_type = Option<Object>)]
    pub answer: Option<Value>,
    /// The latest submission's files (documents).
    pub files: Vec<FileId>,
    /// How many submissions the item has had.
    pub submissions: u32,
    #[serde(serialize_with = "crate::json_time::serialize_opt")]
    pub submitted_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::json_time::serialize_opt")]
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<MemberId>,
    /// Bumped by every change; the item's `ETag` is derived from it.
    pub version: i64,
    #[serde(serialize_with = "crate::json_time::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::json_time::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl Item {
    /// A new, unanswered item of `request`.
    pub fn new(request: &Request, spec: ItemSpec, position: u32, now: Timestamp) -> Self {
        let state = spec.kind.is_answerable().then_some(ItemState::Missing);
        Self {
            id: ItemId::new(),
            workspace_id: request.workspace_id,
            request_id: request.id,
            position,
            spec,
            state,
            reason: None,
            answer: None,
            files: Vec::new(),
            submissions: 0,
            submitted_at: None,
            reviewed_at: None,
            reviewed_by: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// A required item the recipient still has to answer: nothing sent yet, or what was
    /// sent was rejected.
    pub fn needs_answer(&self) -> bool {
        self.spec.required && matches!(self.state, Some(ItemState::Missing | ItemState::Rejected))
    }

    /// The strong entity tag of this version of the item.
    pub fn etag(&self) -> String {
        format!("\"{}-{}\"", self.id.0.simple(), self.version)
    }

    /// What an item event records of it.
    pub fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "key": self.spec.key,
            "label": self.spec.label,
            "state": self.state,
            "reason": self.reason,
        })
    }
}

/// The rejected items of `items` as a rejection message lists them:
/// `[{id, key, label, reason}]`, in order.
pub fn rejected_list(items: &[Item]) -> Vec<Value> {
    items
        .iter()
        .filter(|i| i.state == Some(ItemState::Rejected))
        .map(|i| json!({"id": i.id, "key": i.spec.key, "label": i.spec.label, "reason": i.reason}))
        .collect()
}

/// One answer or upload to an item, kept for good.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Submission {
    pub id: SubmissionId,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    pub item_id: ItemId,
    pub request_id: RequestId,
    /// 1 for the item's first submission.
    pub number: u32,
    /// Who sent it: a member (through a token or the desk), or nobody with an account (the
    /// recipient, through `link_id`).
    pub actor: Actor,
    pub link_id: Option<crate::link::LinkId>,
    #[schema(value_type = Option<Object>)]
    pub answer: Option<Value>,
    pub files: Vec<FileId>,
    #[serde(serialize_with = "crate::json_time::serialize")]
    pub at: DateTime<Utc>,
}

/// A request's items in numbers, shown on the request in every representation and list.
/// `total` counts answerable items (not notes); `submitted` those waiting for review.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemProgress {
    pub total: u32,
    pub required: u32,
    pub submitted: u32,
    pub approved: u32,
    pub rejected: u32,
    /// Required items submitted or approved (for the filters; not shown).
    #[serde(skip)]
    pub required_answered: u32,
    /// Required items approved (for the filters; not shown).
    #[serde(skip)]
    pub required_approved: u32,
}

impl ItemProgress {
    pub fn of<'a>(items: impl IntoIterator<Item = &'a Item>) -> Self {
        let mut p = Self::default();
        for item in items {
            let Some(state) = item.state else { continue };
            p.total += 1;
            let required = item.spec.required;
            p.required += u32::from(required);
            match state {
                ItemState::Missing => {}
                ItemState::Submitted => {
                    p.submitted += 1;
                    p.required_answered += u32::from(required);
                }
                ItemState::Approved => {
                    p.approved += 1;
                    p.required_answered += u32::from(required);
                    p.required_approved += u32::from(required);
                }
                ItemState::Rejected => p.rejected += 1,
            }
        }
        p
    }

    /// Some required item has no answer yet (or its answer was rejected).
    pub fn is_incomplete(&self) -> bool {
        self.required_answered < self.required
    }

    /// Every required item is approved, nothing waits for review or correction, and the
    /// request asks for something.
    pub fn is_complete(&self) -> bool {
        self.total > 0
            && self.required_approved == self.required
            && self.submitted == 0
            && self.rejected == 0
    }

    /// Every required item has an answer and none is rejected: ready for review.
    pub(crate) fn is_answered(&self) -> bool {
        self.total > 0 && self.required_answered == self.required && self.rejected == 0
    }
}

/// The list filter on item progress (`items=` on request lists).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProgressFilter {
    /// Some required item is missing or rejected.
    Incomplete,
    /// Some item waits for review.
    AwaitingReview,
    /// Some item is rejected.
    Rejected,
    /// Every required item is approved and nothing waits.
    Complete,
}

impl ProgressFilter {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "incomplete" => Self::Incomplete,
            "awaiting_review" => Self::AwaitingReview,
            "rejected" => Self::Rejected,
            "complete" => Self::Complete,
            _ => return None,
        })
    }

    pub fn matches(self, p: &ItemProgress) -> bool {
        match self {
            Self::Incomplete => p.is_incomplete(),
            Self::AwaitingReview => p.submitted > 0,
            Self::Rejected => p.rejected > 0,
            Self::Complete => p.is_complete(),
        }
    }
}

/// The items a new request of `rtype` gets: its template, or the template items `subset`
/// names (by key, in the template's order); an unknown key is a validation error.
pub fn from_template(
    rtype: &RequestType,
    request: &Request,
    subset: Option<&[String]>,
    now: Timestamp,
) -> Result<Vec<Item>, DomainError> {
    if let Some(keys) = subset {
        let errors: Vec<FieldError> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| !rtype.items.iter().any(|s| &s.key == *k))
            .map(|(i, k)| {
                FieldError::new(
                    format!("items[{i}]"),
                    "unknown_item",
                    format!("the type {} has no item {k}", rtype.key.as_str()),
                )
            })
            .collect();
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
    }
    Ok(rtype
        .items
        .iter()
        .filter(|s| subset.is_none_or(|keys| keys.contains(&s.key)))
        .enumerate()
        .map(|(i, s)| Item::new(request, s.clone(), i as u32, now))
        .collect())
}

/// Gives a planned new request the items of its type's template (or `subset` of them):
/// its progress, its items to store, and the `items` it was created with on its event.
pub fn attach_template(
    planned: &mut Planned,
    rtype: &RequestType,
    subset: Option<&[String]>,
    now: Timestamp,
) -> Result<(), DomainError> {
    let items = from_template(rtype, &planned.request, subset, now)?;
    if items.is_empty() {
        return Ok(());
    }
    planned.request.items = ItemProgress::of(&items);
    let keys: Vec<&str> = items.iter().map(|i| i.spec.key.as_str()).collect();
    planned
        .event
        .changes
        .push(FieldChange::new("items", &Value::Null, &keys));
    planned.items.upsert = items;
    Ok(())
}

/// What an item change writes besides the request and its events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemWrites {
    /// Items inserted or replaced whole.
    pub upsert: Vec<Item>,
    pub remove: Vec<ItemId>,
    pub submissions: Vec<Submission>,
}

impl ItemWrites {
    /// These writes followed by `later` (planned on the items these leave): a later
    /// version of an item replaces the earlier one.
    pub fn then(mut self, later: ItemWrites) -> ItemWrites {
        for item in later.upsert {
            self.upsert.retain(|i| i.id != item.id);
            self.upsert.push(item);
        }
        self.upsert.retain(|i| !later.remove.contains(&i.id));
        self.remove.extend(later.remove);
        self.submissions.extend(later.submissions);
        self
    }
}

impl ItemWrites {
    pub fn is_empty(&self) -> bool {
        self.upsert.is_empty() && self.remove.is_empty() && self.submissions.is_empty()
    }

    /// A request's `items` (in order) as they are after these writes, in order.
    pub fn apply_to(&self, mut items: Vec<Item>) -> Vec<Item> {
        items.retain(|i| !self.remove.contains(&i.id));
        for u in &self.upsert {
            match items.iter_mut().find(|i| i.id == u.id) {
                Some(slot) => *slot = u.clone(),
                None => items.push(u.clone()),
            }
        }
        items.sort_by_key(|i| i.position);
        items
    }
}
