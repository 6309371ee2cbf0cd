//! The desk's request pages: the filtered list, the board, a request with its timeline, the
//! new-request form, and the forms that change a request.
//!
//! Every read and write goes through the native API's own handlers with the member's
//! principal, so the desk can do exactly what the member's role allows through the API —
//! the same rules, the same errors, the same timeline — and nothing else.

use super::directory::{Choice, Directory};
use super::page::{api_error_page, back, render, when, Flash, Nav};
use super::session::{DeskForm, DeskUser};
use crate::error::ApiError;
use crate::listing as list;
use crate::state::AppState;
use crate::time::parse_instant;
use crate::views::RequestView;
use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{Redirect, Response};
use docket_domain::access::Scope;
use docket_domain::event::{Event, EventKind};
use docket_domain::ids::MemberId;
use docket_domain::link::LinkMode;
use docket_domain::request::{NewRequest, Patch, Request, RequestPatch, TypeKey};
use docket_domain::workflow::{Category, StatusKey};
use docket_domain::DomainError;
use serde::Deserialize;
use serde_json::Value;

/// The list filters as the form shows them (empty: not filtering).
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct Filters {
    pub q: String,
    pub status: String,
    pub category: String,
    #[serde(rename = "type")]
    pub type_key: String,
    pub assignee: String,
    pub requester: String,
    pub tag: String,
    pub overdue: String,
    pub sort: String,
    pub direction: String,
    pub cursor: String,
}

impl Filters {
    fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))
    }

    /// The filters as a query string, empty ones left out, with `cursor` if given: the
    /// list's own URL, its next page, and the board's links all come from here.
    fn query(&self, cursor: Option<&str>) -> String {
        let fields = [
            ("q", &self.q),
            ("status", &self.status),
            ("category", &self.category),
            ("type", &self.type_key),
            ("assignee", &self.assignee),
            ("requester", &self.requester),
            ("tag", &self.tag),
            ("overdue", &self.overdue),
            ("sort", &self.sort),
            ("direction", &self.direction),
        ];
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in fields {
            if !value.trim().is_empty() {
                query.append_pair(key, value.trim());
            }
        }
        if let Some(cursor) = cursor.filter(|c| !c.is_empty()) {
            query.append_pair("cursor", cursor);
        }
        query.finish()
    }

    /// The filters as the API's list parameters.
    fn to_params(&self, limit: u32) -> Result<list::ListParams, ApiError> {
        let query = format!("{}&limit={limit}", self.query(Some(&self.cursor)));
        serde_urlencoded::from_str(query.trim_start_matches('&'))
            .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))
    }
}

/// One request as a row of the list or a card of the board.
pub struct Row {
    pub number: i64,
    pub title: String,
    pub type_name: String,
    pub status: String,
    pub category: &'static str,
    pub assignee: String,
    pub due: String,
    pub overdue: bool,
    pub updated: String,
    /// The requested items in words ("1/3 approved · 2 to review"); empty without items.
    pub progress: String,
}

impl Row {
    fn new(dir: &Directory, v: &RequestView) -> Self {
        let r = &v.request;
        Self {
            number: r.number,
            title: r.title.clone(),
            type_name: dir.type_name(&r.type_key),
            status: dir.status_label(&r.type_key, &r.status),
            category: r.category.as_str(),
            assignee: dir.member_name(r.assignee_id, "Unassigned"),
            due: r
                .due_at
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            overdue: v.overdue,
            updated: when(r.updated_at),
            progress: progress(&r.items),
        }
    }
}

/// A request's item progress as the list and the board show it.
fn progress(p: &docket_domain::item::ItemProgress) -> String {
    if p.total == 0 {
        return String::new();
    }
    let mut out = format!("{}/{} approved", p.approved, p.total);
    if p.submitted > 0 {
        out.push_str(&format!(" · {} to review", p.submitted));
    }
    if p.rejected > 0 {
        out.push_str(&format!(" · {} needs changes", p.rejected));
    }
    out
}

/// A page of the list the filters name, read as the member may see it (the same query
/// language as the API's list, parsed by the same function).
async fn read_list(
    state: &AppState,
    user: &DeskUser,
    params: list::ListParams,
) -> Result<list::RequestList, ApiError> {
    user.principal.require(Scope::RequestsRead)?;
    let query = list::to_query(&user.principal, params)?;
    let page = crate::ops::reads::list_requests(state, &user.principal, query.clone()).await?;
    Ok(list::RequestList {
        next_cursor: page.next.map(|c| c.encode(query.sort, query.direction)),
        items: page.items.into_iter().map(RequestView::new).collect(),
    })
}

fn category_choices(current: &str) -> Vec<Choice> {
    std::iter::once(Choice::new("", "Any category", current))
        .chain(
            [
                (Category::Open, "Open"),
                (Category::InProgress, "In progress"),
                (Category::Waiting, "Waiting"),
                (Category::Done, "Done"),
                (Category::Canceled, "Canceled"),
            ]
            .into_iter()
            .map(|(c, l)| Choice::new(c.as_str(), l, current)),
        )
        .collect()
}

fn person_choices(dir: &Directory, current: &str, none: &str) -> Vec<Choice> {
    [("", "Anyone"), ("me", "Me"), ("none", none)]
        .into_iter()
        .map(|(v, l)| Choice::new(v, l, current))
        .chain(
            dir.members
                .iter()
                .map(|m| Choice::new(m.id.to_string(), m.name.clone(), current)),
        )
        .collect()
}

fn sort_choices(current: &str) -> Vec<Choice> {
    [
        ("", "Newest"),
        ("updated", "Recently updated"),
        ("due", "Due date"),
        ("number", "Number"),
    ]
    .into_iter()
    .map(|(v, l)| Choice::new(v, l, current))
    .collect()
}

#[derive(Template)]
#[template(path = "requests.html")]
struct ListPage {
    nav: Nav,
    f: Filters,
    rows: Vec<Row>,
    next: Option<String>,
    board_query: String,
    categories: Vec<Choice>,
    types: Vec<Choice>,
    assignees: Vec<Choice>,
    requesters: Vec<Choice>,
    sorts: Vec<Choice>,
    ascending: bool,
}

pub async fn list_page(
    State(state): State<AppState>,
    user: DeskUser,
    RawQuery(raw): RawQuery,
) -> Response {
    match list_inner(&state, &user, raw.as_deref()).await {
        Ok(r) => r,
        Err(e) => api_error_page(e),
    }
}

async fn list_inner(
    state: &AppState,
    user: &DeskUser,
    raw: Option<&str>,
) -> Result<Response, ApiError> {
    let f = Filters::parse(raw)?;
    let params = f.to_params(50)?;
    let page = read_list(state, user, params).await?;
    let dir = Directory::load(state, user.principal.workspace_id).await?;
    let rows = page.items.iter().map(|v| Row::new(&dir, v)).collect();
    let mut types = vec![Choice::new("", "Any type", &f.type_key)];
    types.extend(dir.type_choices(&f.type_key));
    Ok(render(&ListPage {
        nav: Nav::new(user, "requests"),
        next: page.next_cursor.map(|c| f.query(Some(&c))),
        board_query: f.query(None),
        categories: category_choices(&f.category),
        assignees: person_choices(&dir, &f.assignee, "Unassigned"),
        requesters: person_choices(&dir, &f.requester, "No one (system)"),
        sorts: sort_choices(&f.sort),
        ascending: f.direction == "asc",
        types,
        rows,
        f,
    }))
}

/// A board column: one status of the chosen type.
pub struct Column {
    pub label: String,
    pub category: &'static str,
    pub cards: Vec<Row>,
    /// More requests are in this status than the column shows.
    pub more: bool,
    pub list_query: String,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    nav: Nav,
    f: Filters,
    type_name: String,
    types: Vec<Choice>,
    assignees: Vec<Choice>,
    columns: Vec<Column>,
}

pub async fn board_page(
    State(state): State<AppState>,
    user: DeskUser,
    RawQuery(raw): RawQuery,
) -> Response {
    match board_inner(&state, &user, raw.as_deref()).await {
        Ok(r) => r,
        Err(e) => api_error_page(e),
    }
}

async fn board_inner(
    state: &AppState,
    user: &DeskUser,
    raw: Option<&str>,
) -> Result<Response, ApiError> {
    const PER_COLUMN: u32 = 50;
    let mut f = Filters::parse(raw)?;
    let dir = Directory::load(state, user.principal.workspace_id).await?;
    if f.type_key.is_empty() {
        f.type_key = TypeKey::GENERAL.to_owned();
    }
    let rtype = dir
        .types
        .iter()
        .find(|t| t.key.as_str() == f.type_key)
        .ok_or(DomainError::NotFound("request type"))?;
    let mut columns = Vec::new();
    for status in rtype.workflow.statuses() {
        let column = Filters {
            status: status.key.as_str().to_owned(),
            category: String::new(),
            cursor: String::new(),
            sort: "updated".into(),
            direction: String::new(),
            ..f.clone()
        };
        let page = read_list(state, user, column.to_params(PER_COLUMN)?).await?;
        columns.push(Column {
            label: status.label.clone(),
            category: status.category.as_str(),
            cards: page.items.iter().map(|v| Row::new(&dir, v)).collect(),
            more: page.next_cursor.is_some(),
            list_query: column.query(None),
        });
    }
    Ok(render(&BoardPage {
        nav: Nav::new(user, "board"),
        type_name: rtype.name.clone(),
        types: dir.type_choices(&f.type_key),
        assignees: person_choices(&dir, &f.assignee, "Unassigned"),
        columns,
        f,
    }))
}

/// One entry of a request's timeline as the desk shows it.
pub struct Entry {
    pub when: String,
    pub who: String,
    pub what: String,
    pub changes: Vec<String>,
    pub comment: Option<String>,
}

fn entry(dir: &Directory, r: &Request, e: &Event) -> Entry {
    let who = match e.actor.member_id {
        Some(_) => dir.member_name(e.actor.member_id, ""),
        None if e.changes.iter().any(|c| c.field == "link") => "The recipient (public link)".into(),
        None => "Docket".into(),
    };
    let what = match e.kind {
        EventKind::Created => "filed the request",
        EventKind::Updated => "changed",
        EventKind::Deleted => "deleted the request",
        EventKind::Commented if e.is_from_recipient() => "wrote",
        EventKind::Commented
            if e.comment_visibility() == docket_domain::event::CommentVisibility::Public =>
        {
            "wrote to the recipient"
        }
        EventKind::Commented => "commented (internal)",
        EventKind::Overdue => "marked it overdue",
        EventKind::Reminder => "sent a due-date reminder",
        EventKind::EmailFailed => "could not deliver an email",
        EventKind::MessageQueued => "queued a message to the contact",
        EventKind::ReminderSent => "reminded the recipient",
        EventKind::ItemAdded => "asked for another item",
        EventKind::ItemUpdated => "changed an item",
        EventKind::ItemRemoved => "removed an item",
        EventKind::ItemSubmitted => "answered an item",
        EventKind::ItemApproved => "approved an item",
        EventKind::ItemRejected => "rejected an item",
        EventKind::ItemReopened => "reopened an item",
        EventKind::SentBack => "sent the rejected items back",
    }
    .to_owned();
    let show = |field: &str, v: &Value| -> String {
        match (field, v) {
            (_, Value::Null) => "nothing".into(),
            ("status", Value::String(s)) => docket_domain::workflow::StatusKey::parse(s)
                .map(|k| dir.status_label(&r.type_key, &k))
                .unwrap_or_else(|_| s.clone()),
            ("assignee_id" | "requester_id", Value::String(s)) => {
                dir.member_name(s.parse().ok(), s)
            }
            (_, Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        }
    };
    let changes = if matches!(e.kind, EventKind::Created | EventKind::Commented) {
        Vec::new()
    } else {
        e.changes
            .iter()
            .filter(|c| c.field != "category")
            .map(|c| {
                let field = c.field.replace('_', " ").replace(" id", "");
                format!(
                    "{field}: {} → {}",
                    show(&c.field, &c.old),
                    show(&c.field, &c.new)
                )
            })
            .collect()
    };
    Entry {
        when: when(e.at),
        who,
        what,
        changes,
        comment: e.comment.clone(),
    }
}

/// A public link as the request page lists it.
pub struct LinkRow {
    pub id: String,
    pub url: String,
    pub mode: &'static str,
    pub expires: String,
    pub state: &'static str,
    pub uses: i64,
    pub revocable: bool,
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    nav: Nav,
    flash: Flash,
    r: Request,
    etag: String,
    type_name: String,
    status: String,
    requester: String,
    assignee: String,
    due: String,
    due_value: String,
    overdue: bool,
    created: String,
    updated: String,
    data: String,
    available: Vec<Choice>,
    unavailable: Vec<(String, String)>,
    assignees: Vec<Choice>,
    timeline: Vec<Entry>,
    links: Vec<LinkRow>,
    files: Vec<super::files::FileRow>,
    items: Vec<super::items::DeskItem>,
    /// Some item is rejected: the page offers "Send back to the recipient".
    may_send_back: bool,
    may_edit: bool,
}

pub(super) async fn by_number(
    state: &AppState,
    user: &DeskUser,
    number: i64,
) -> Result<Request, ApiError> {
    user.principal.require(Scope::RequestsRead)?;
    crate::ops::reads::request_by_number(state, &user.principal, number)
        .await?
        .ok_or(ApiError::Domain(DomainError::NotFound("request")))
}

pub async fn request_page(
    State(state): State<AppState>,
    user: DeskUser,
    Path(number): Path<i64>,
    Query(flash): Query<Flash>,
) -> Response {
    match request_inner(&state, &user, number, flash).await {
        Ok(r) => r,
        Err(e) => api_error_page(e),
    }
}

async fn request_inner(
    state: &AppState,
    user: &DeskUser,
    number: i64,
    flash: Flash,
) -> Result<Response, ApiError> {
    let r = by_number(state, user, number).await?;
    if r.deleted_at.is_some() {
        return Err(DomainError::Gone.into());
    }
    let dir = Directory::load(state, user.principal.workspace_id).await?;
    let ws = user.principal.workspace_id;
    let moves = crate::ops::reads::transitions(state, &user.principal, r.id).await?;
    let events = state.store().timeline(ws, r.id, None, 500).await?;
    let now = docket_domain::now();
    let links = state
        .store()
        .links_of_request(ws, r.id)
        .await?
        .into_iter()
        .map(|l| {
            let state_label = match l.check_usable(&r, now) {
                Ok(()) => "active",
                Err(DomainError::Conflict { code, .. })
                    if code == docket_domain::link::refusal::EXPIRED =>
                {
                    "expired"
                }
                Err(DomainError::Conflict { code, .. })
                    if code == docket_domain::link::refusal::USED =>
                {
                    "used"
                }
                Err(DomainError::Conflict { code, .. })
                    if code == docket_domain::link::refusal::REVOKED =>
                {
                    "revoked"
                }
                Err(_) => "closed",
            };
            LinkRow {
                id: l.id.to_string(),
                url: state
                    .settings()
                    .public_link(&format!("/p/{}", l.token.as_str())),
                mode: if l.mode == docket_domain::link::LinkMode::OneTime {
                    "one-time"
                } else {
                    "multi-use"
                },
                expires: l.expires_at.map(when).unwrap_or_else(|| "never".into()),
                state: state_label,
                uses: l.used_count,
                revocable: l.revoked_at.is_none(),
            }
        })
        .collect();
    let me = user.principal.member_id();
    let may_edit = user.principal.has(Scope::RequestsManage)
        || (me.is_some() && (r.requester_id == me || r.assignee_id == me));
    let files = super::files::rows(state, user, &r).await?;
    let items = super::items::rows(state, user, &dir, &r).await?;
    Ok(render(&RequestPage {
        may_send_back: may_edit && items.iter().any(|i| i.state_key == "rejected"),
        items,
        nav: Nav::new(user, "requests"),
        flash,
        etag: r.etag(),
        type_name: dir.type_name(&r.type_key),
        status: dir.status_label(&r.type_key, &r.status),
        requester: dir.member_name(r.requester_id, "No one (system)"),
        assignee: dir.member_name(r.assignee_id, "Unassigned"),
        due: r.due_at.map(when).unwrap_or_else(|| "No due date".into()),
        due_value: r
            .due_at
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        overdue: r.is_overdue(now),
        created: when(r.created_at),
        updated: when(r.updated_at),
        data: if r.data.is_empty() {
            String::new()
        } else {
            serde_json::to_string_pretty(&r.data).unwrap_or_default()
        },
        available: moves
            .available
            .iter()
            .map(|t| Choice::new(t.to.as_str(), t.label.clone(), ""))
            .collect(),
        unavailable: moves
            .unavailable
            .iter()
            .filter(|b| b.reason != "no_transition")
            .map(|b| (b.label.clone(), b.message.clone()))
            .collect(),
        assignees: dir.assignee_choices(r.assignee_id),
        timeline: events.iter().map(|e| entry(&dir, &r, e)).collect(),
        links,
        files,
        may_edit,
        r,
    }))
}

/// Applies a change guarded by the version the page showed (its ETag), so a change made
/// meanwhile by someone else is not overwritten.
async fn patch(
    state: &AppState,
    user: &DeskUser,
    number: i64,
    etag: &str,
    change: RequestPatch,
) -> Result<(), ApiError> {
    let r = by_number(state, user, number).await?;
    let expected = crate::extract::expected_version(etag, &r.id);
    crate::ops::requests::update(state, &user.principal, r.id, change, expected)
        .await
        .map(drop)
        .map_err(stale)
}

/// A form value that does not parse.
fn bad_form(field: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_form", format!("{field}: {e}"))
}

/// A form's date or instant: empty means none.
fn optional_instant(
    field: &str,
    value: &str,
) -> Result<Option<docket_domain::Timestamp>, ApiError> {
    match value.trim() {
        "" => Ok(None),
        v => parse_instant(field, v).map(Some),
    }
}

/// A form's member choice: empty means nobody.
fn member_choice(field: &str, value: &str) -> Result<Patch<MemberId>, ApiError> {
    match value.trim() {
        "" => Ok(Patch::Clear),
        v => v.parse().map(Patch::Set).map_err(|e| bad_form(field, e)),
    }
}

/// A stale page gets a sentence a person can act on.
fn stale(e: ApiError) -> ApiError {
    match e {
        ApiError::Domain(DomainError::PreconditionFailed { .. }) => ApiError::Domain(DomainError::Conflict {
            code: "stale_page",
            message: "Someone changed this request while you were looking at it. Check the page as it is now and try again.".into(),
        }),
        other => other,
    }
}

fn page_of(number: i64) -> String {
    format!("/desk/requests/{number}")
}

/// Applies `body` to request `number` as the page's `PATCH` and goes back to the page.
async fn patch_and_back(
    state: &AppState,
    user: &DeskUser,
    number: i64,
    etag: &str,
    change: Result<RequestPatch, ApiError>,
    notice: &str,
) -> Response {
    let outcome = match change {
        Ok(change) => patch(state, user, number, etag, change)
            .await
            .map(|()| notice.to_owned()),
        Err(e) => Err(e),
    };
    back(&page_of(number), outcome)
}

#[derive(Deserialize)]
pub struct StatusForm {
    to: String,
    etag: String,
}

pub async fn set_status(
    State(state): State<AppState>,
    Path(number): Path<i64>,
    DeskForm { user, form }: DeskForm<StatusForm>,
) -> Response {
    let change = StatusKey::parse(&form.to)
        .map(|status| RequestPatch {
            status: Some(status),
            ..Default::default()
        })
        .map_err(|e| bad_form("status", e));
    patch_and_back(&state, &user, number, &form.etag, change, "Status changed.").await
}

#[derive(Deserialize)]
pub struct AssignForm {
    assignee: String,
    etag: String,
}

pub async fn assign(
    State(state): State<AppState>,
    Path(number): Path<i64>,
    DeskForm { user, form }: DeskForm<AssignForm>,
) -> Response {
    let change = member_choice("assignee_id", &form.assignee).map(|assignee_id| RequestPatch {
        assignee_id,
        ..Default::default()
    });
    patch_and_back(
        &state,
        &user,
        number,
        &form.etag,
        change,
        "Assignee changed.",
    )
    .await
}

#[derive(Deserialize)]
pub struct DueForm {
    due: String,
    etag: String,
}

pub async fn set_due(
    State(state): State<AppState>,
    Path(number): Path<i64>,
    DeskForm { user, form }: DeskForm<DueForm>,
) -> Response {
    let change = match form.due.trim() {
        "" => Ok(Patch::Clear),
        due => parse_instant("due_at", due).map(Patch::Set),
    }
    .map(|due_at| RequestPatch {
        due_at,
        ..Default::default()
    });
    patch_and_back(
        &state,
        &user,
        number,
        &form.etag,
        change,
        "Due date changed.",
    )
    .await
}

#[derive(Deserialize)]
pub struct CommentForm {
    body: String,
    /// The checkbox "Show to the recipient": `public` when ticked.
    #[serde(default)]
    visibility: Option<String>,
}

pub async fn comment(
    State(state): State<AppState>,
    Path(number): Path<i64>,
    f: DeskForm<CommentForm>,
) -> Response {
    let DeskForm { user, form } = f;
    let outcome = async {
        let r = by_number(&state, &user, number).await?;
        let public = form.visibility.as_deref() == Some("public");
        let visibility = if public {
            docket_domain::event::CommentVisibility::Public
        } else {
            docket_domain::event::CommentVisibility::Internal
        };
        crate::ops::requests::comment(&state, &user.principal, r.id, form.body, visibility)
            .await
            .map(|_| {
                if public {
                    "Message sent to the recipient.".to_owned()
                } else {
                    "Comment added.".to_owned()
                }
            })
    }
    .await;
    back(&page_of(number), outcome)
}

#[derive(Deserialize)]
pub struct RemindForm {}

/// `POST /desk/requests/{number}/remind`: reminds the contact now.
pub async fn remind(
    State(state): State<AppState>,
    Path(number): Path<i64>,
    f: DeskForm<RemindForm>,
) -> Response {
    let DeskForm { user, .. } = f;
    let outcome = async {
        let r = by_number(&state, &user, number).await?;
        crate::ops::requests::nudge(&state, &user.principal, r.id)
            .await
            .map(|_| "Reminder sent to the recipient.".to_owned())
    }
    .await;
    back(&page_of(number), outcome)
}

#[derive(Deserialize)]
pub struct LinkForm {
    mode: String,
    #[serde(default)]
    expires: String,
}

pub async fn add_link(
    State(state): State<AppState>,
    Path(number): Path<i64>,
    f: DeskForm<LinkForm>,
) -> Response {
    let DeskForm { user, form } = f;
    let outcome = async {
        let r = by_number(&state, &user, number).await?;
        let mode =
            LinkMode::parse(&form.mode).ok_or_else(|| bad_form("mode", "one_time or multi_use"))?;
        let expires_at = optional_instant("expires_at", &form.expires)?;
        let (link, _) =
            crate::ops::links::share(&state, &user.principal, r.id, mode, expires_at).await?;
        let url = state
            .settings()
            .public_link(&format!("/p/{}", link.token.as_str()));
        Ok(format!("Link created: {url}"))
    }
    .await;
    back(&page_of(number), outcome)
}

pub async fn revoke_link(
    State(state): State<AppState>,
    Path((number, link)): Path<(i64, String)>,
    f: DeskForm<super::session::NoFields>,
) -> Response {
    let user = f.user;
    let outcome = async {
        let r = by_number(&state, &user, number).await?;
        let link = link
            .parse()
            .map_err(|_| ApiError::Domain(DomainError::NotFound("link")))?;
        crate::ops::links::revoke(&state, &user.principal, r.id, link).await?;
        Ok("Link revoked.".to_owned())
    }
    .await;
    back(&page_of(number), outcome)
}

#[derive(Template)]
#[template(path = "new_request.html")]
struct NewPage {
    nav: Nav,
    flash: Flash,
    types: Vec<Choice>,
    assignees: Vec<Choice>,
}

pub async fn new_page(
    State(state): State<AppState>,
    user: DeskUser,
    Query(flash): Query<Flash>,
) -> Response {
    match Directory::load(&state, user.principal.workspace_id).await {
        Ok(dir) => render(&NewPage {
            nav: Nav::new(&user, "new"),
            flash,
            types: dir.type_choices(TypeKey::GENERAL),
            assignees: dir.assignee_choices(None),
        }),
        Err(e) => api_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct NewForm {
    #[serde(rename = "type")]
    type_key: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    assignee: String,
}

pub async fn create_request(State(state): State<AppState>, f: DeskForm<NewForm>) -> Response {
    let DeskForm { user, form } = f;
    let made = async {
        let type_key = TypeKey::parse(&form.type_key).map_err(|e| bad_form("type", e))?;
        let due_at = optional_instant("due_at", &form.due)?;
        let assignee_id = match member_choice("assignee_id", &form.assignee)? {
            Patch::Set(m) => Some(m),
            _ => None,
        };
        let input = NewRequest {
            title: form.title,
            description: Some(form.description),
            assignee_id,
            due_at,
            data: None,
            tags: None,
            subject: None,
            items: None,
        };
        let request = crate::ops::requests::file(&state, &user.principal, &type_key, input).await?;
        Ok::<_, ApiError>(request.number)
    }
    .await;
    match made {
        Ok(number) => {
            Redirect::to(&format!("{}?notice=Request+filed.", page_of(number))).into_response()
        }
        Err(e) => back("/desk/requests/new", Err(e)),
    }
}

use axum::response::IntoResponse;
