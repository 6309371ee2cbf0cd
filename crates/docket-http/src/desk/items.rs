//! Requested items on the desk's request page: each item with its current answer and
//! files, its history (every submission), and the reviewer's forms (approve, reject with a
//! reason, reopen), staff uploads onto a document, and "Send back to the recipient". Each
//! form runs the same use case as the API (`ops::items`), guarded by the item version the
//! page showed.

use super::directory::Directory;
use super::page::back;
use super::session::{DeskForm, DeskUser, NoFields};
use crate::error::ApiError;
use crate::ops::items::{self, Uploader};
use crate::portal_items::answer_text;
use crate::state::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use docket_domain::file::FileRecord;
use docket_domain::ids::{FileId, ItemId};
use docket_domain::item::{Item, ItemAction, ItemKind, ItemState, Submission, Verdict};
use docket_domain::request::Request;
use docket_domain::DomainError;
use serde::Deserialize;

/// A file of an item as the page links it.
pub struct ItemFile {
    pub name: String,
    pub download: String,
}

/// One submission in an item's history.
pub struct HistoryRow {
    pub number: u32,
    pub who: String,
    pub when: String,
    /// The answer in words, or "sent" before the files' links.
    pub what: String,
    pub files: Vec<ItemFile>,
}

/// One item as the request page shows it.
pub struct DeskItem {
    pub id: String,
    pub label: String,
    pub instructions: String,
    /// `document`, `question` or `note`.
    pub kind: &'static str,
    pub required: bool,
    /// `missing`, `submitted`, `approved`, `rejected`; empty for a note.
    pub state_key: &'static str,
    /// The state in words, with the rejection reason.
    pub state: String,
    pub answer: String,
    pub files: Vec<ItemFile>,
    pub history: Vec<HistoryRow>,
    /// The item's `ETag`, sent back by the review forms.
    pub etag: String,
    pub may_approve: bool,
    pub may_reject: bool,
    pub may_reopen: bool,
    /// A document that takes another file now.
    pub may_upload: bool,
}

fn file_of(files: &[FileRecord], id: &FileId) -> ItemFile {
    ItemFile {
        name: files.iter().find(|f| f.id == *id).map_or_else(
            || "a removed file".to_owned(),
            |f| f.name.as_str().to_owned(),
        ),
        download: format!("/desk/files/{id}"),
    }
}

fn history_row(dir: &Directory, files: &[FileRecord], s: &Submission) -> HistoryRow {
    let who = match (s.actor.member_id, s.link_id) {
        (Some(m), _) => dir.member_name(Some(m), "A member"),
        (None, Some(_)) => "The recipient".to_owned(),
        (None, None) => "A token".to_owned(),
    };
    let files: Vec<ItemFile> = s.files.iter().map(|id| file_of(files, id)).collect();
    // The files follow as links.
    let what = if s.answer.is_some() {
        answer_text(&s.answer)
    } else {
        "sent".to_owned()
    };
    HistoryRow {
        number: s.number,
        who,
        when: super::page::when(s.at),
        what,
        files,
    }
}

/// The request's items as its page shows them, each with its history.
pub async fn rows(
    state: &AppState,
    user: &DeskUser,
    dir: &Directory,
    r: &Request,
) -> Result<Vec<DeskItem>, ApiError> {
    let list = items::list(state, &user.principal, r.id).await?;
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let submissions = state
        .store()
        .item_submissions(r.workspace_id, r.id, None)
        .await?;
    let files = crate::ops::reads::files_of_request(state, r).await?;
    Ok(list
        .iter()
        .map(|item| desk_item(dir, &files, &submissions, item))
        .collect())
}

fn desk_item(
    dir: &Directory,
    files: &[FileRecord],
    submissions: &[Submission],
    item: &Item,
) -> DeskItem {
    let state = match (item.state, &item.reason) {
        (None, _) => String::new(),
        (Some(ItemState::Rejected), Some(reason)) => {
            format!("{}: {reason}", ItemState::Rejected.describe())
        }
        (Some(s), _) => s.describe().to_owned(),
    };
    let decided = matches!(item.state, Some(ItemState::Approved | ItemState::Rejected));
    DeskItem {
        id: item.id.to_string(),
        label: item.spec.label.clone(),
        instructions: item.spec.instructions.clone(),
        kind: item.spec.kind.as_str(),
        required: item.spec.required,
        state_key: item.state.map_or("", ItemState::as_str),
        state,
        answer: answer_text(&item.answer),
        files: item.files.iter().map(|id| file_of(files, id)).collect(),
        history: submissions
            .iter()
            .filter(|s| s.item_id == item.id)
            .map(|s| history_row(dir, files, s))
            .collect(),
        etag: item.etag(),
        may_approve: matches!(item.state, Some(ItemState::Submitted | ItemState::Rejected)),
        may_reject: matches!(item.state, Some(ItemState::Submitted | ItemState::Approved)),
        may_reopen: decided,
        may_upload: item.spec.kind == ItemKind::Document && item.state != Some(ItemState::Approved),
    }
}

fn page_of(number: i64) -> String {
    format!("/desk/requests/{number}")
}

fn item_id(raw: &str) -> Result<ItemId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::Domain(DomainError::NotFound("item")))
}

/// A stale item gets a sentence a person can act on.
fn stale(e: ApiError) -> ApiError {
    match e {
        ApiError::Domain(DomainError::PreconditionFailed { .. }) => {
            ApiError::Domain(DomainError::Conflict {
                code: "stale_page",
                message: "This item changed while you were looking at it (a new answer or \
                          another review). Check it as it is now and decide again."
                    .into(),
            })
        }
        other => other,
    }
}

#[derive(Deserialize)]
pub struct ReviewForm {
    /// `approve`, `reject` or `reopen`.
    verdict: String,
    #[serde(default)]
    reason: String,
    etag: String,
}

/// `POST /desk/requests/{number}/items/{item_id}/review`.
pub async fn review(
    State(state): State<AppState>,
    Path((number, item)): Path<(i64, String)>,
    DeskForm { user, form }: DeskForm<ReviewForm>,
) -> Response {
    let outcome = async {
        let r = super::requests::by_number(&state, &user, number).await?;
        let item = item_id(&item)?;
        let (verdict, notice) = match form.verdict.as_str() {
            "approve" => (Verdict::Approve, "Item approved."),
            "reject" => (
                Verdict::Reject(form.reason),
                "Item rejected. Send the rejected items back when you are done reviewing.",
            ),
            "reopen" => (Verdict::Reopen, "Item reopened for review."),
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_form",
                    "verdict: approve, reject or reopen",
                ))
            }
        };
        let expected = crate::extract::expected_version_of(&form.etag, &item.0);
        items::change(
            &state,
            &user.principal,
            r.id,
            ItemAction::Review { item, verdict },
            expected,
            Vec::new(),
        )
        .await
        .map_err(stale)?;
        Ok(notice.to_owned())
    }
    .await;
    back(&page_of(number), outcome)
}

/// `POST /desk/requests/{number}/send-back`: the rejected items go back to the recipient,
/// with one email listing them.
pub async fn send_back(
    State(state): State<AppState>,
    Path(number): Path<i64>,
    DeskForm { user, .. }: DeskForm<NoFields>,
) -> Response {
    let outcome = async {
        let r = super::requests::by_number(&state, &user, number).await?;
        items::change(
            &state,
            &user.principal,
            r.id,
            ItemAction::SendBack,
            None,
            Vec::new(),
        )
        .await?;
        Ok("Sent back to the recipient.".to_owned())
    }
    .await;
    back(&page_of(number), outcome)
}

/// `POST /desk/requests/{number}/items/{item_id}/files`: staff upload files onto a
/// document item (on the recipient's behalf), streamed; the form's `csrf` field must come
/// before its files.
pub async fn upload(
    State(state): State<AppState>,
    user: DeskUser,
    Path((number, item)): Path<(i64, String)>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let outcome = async {
        let r = super::requests::by_number(&state, &user, number).await?;
        let item = item_id(&item)?;
        let mut csrf_ok = false;
        let mut sent = Vec::new();
        while let Some(part) = form
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request("invalid_multipart", e.body_text()))?
        {
            if part.name() != Some("file") {
                let name = part.name().unwrap_or_default().to_owned();
                let value = part
                    .text()
                    .await
                    .map_err(|e| ApiError::bad_request("invalid_multipart", e.body_text()))?;
                if name == "csrf" {
                    csrf_ok = user.csrf_ok(Some(&value));
                }
                continue;
            }
            let name = part.file_name().unwrap_or_default().to_owned();
            if name.is_empty() {
                continue;
            }
            if !csrf_ok {
                return Err(DomainError::Forbidden(
                    "this form did not come from Docket; reload the page and try again".into(),
                )
                .into());
            }
            let who = Uploader::Staff(user.principal.clone());
            let body = crate::files::field_body(part);
            items::upload(&state, who, r.id, item, name.clone(), None, body).await?;
            sent.push(name);
        }
        if sent.is_empty() {
            return Err(ApiError::invalid(
                "file",
                "required",
                "choose at least one file",
            ));
        }
        Ok(sent)
    }
    .await;
    super::files::upload_answer(&headers, &page_of(number), outcome)
}
