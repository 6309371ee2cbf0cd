//! Planning a change to a request's items: who may make it, what it writes, and the
//! workflow moves it causes.

use super::{
    fill_keys, limits, AnswerType, Item, ItemInput, ItemKind, ItemProgress, ItemSpec, ItemState,
    ItemWrites, Submission,
};
use crate::access::{Principal, Scope};
use crate::error::{DomainError, FieldError};
use crate::event::{Actor, Event, EventKind, FieldChange};
use crate::file::{pattern_allows, FileRecord};
use crate::ids::{EventId, FileId, ItemId, SubmissionId};
use crate::link::PublicLink;
use crate::request::{check_visible, Planned, Request, RequestType};
use crate::workflow::{Relation, StatusKey, Workflow};
use crate::Timestamp;
use serde_json::{json, Value};

/// Who changes an item: a member or token, or the recipient through a public link.
#[derive(Clone, Copy, Debug)]
pub enum ItemActor<'a> {
    Staff(&'a Principal),
    Recipient(&'a PublicLink),
}

/// A reviewer's decision on an item.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Approve,
    /// With the reason the recipient reads.
    Reject(String),
    /// Back to `submitted` from `approved` or `rejected`: the decision is taken again.
    Reopen,
}

/// One change to a request's items.
#[derive(Clone, Debug)]
pub enum ItemAction {
    /// A new item with the id the caller chose.
    Add {
        id: ItemId,
        input: ItemInput,
    },
    Edit {
        item: ItemId,
        input: ItemInput,
    },
    Remove {
        item: ItemId,
    },
    /// An answer (questions) or files (documents). A document's new files join the ones it
    /// has, unless it was rejected: then they replace them.
    Submit {
        item: ItemId,
        answer: Option<Value>,
        files: Vec<FileRecord>,
    },
    Review {
        item: ItemId,
        verdict: Verdict,
    },
    /// Send the rejected items back to the recipient, with one message listing them.
    SendBack,
}

impl ItemAction {
    fn item(&self) -> Option<ItemId> {
        match self {
            ItemAction::Edit { item, .. }
            | ItemAction::Remove { item }
            | ItemAction::Submit { item, .. }
            | ItemAction::Review { item, .. } => Some(*item),
            ItemAction::Add { .. } | ItemAction::SendBack => None,
        }
    }
}

/// Plans one change to `current`'s `items` (all of them, in order), as `who`.
/// `expected_version` is the `If-Match` on the item acted on (stale: 412). `Ok(None)` when
/// nothing changes.
///
/// Staff need what editing the request takes (the requester, the assignee, or
/// `requests:manage`), and a reviewer also what taking the workflow's `on_items.approved`
/// move from the current status takes, where there is one. The recipient may only submit,
/// while their link is usable. The request's progress follows, and so does its status where
/// the workflow says ([`crate::workflow::ItemHooks`]): those moves are `request.updated`
/// events after the item's, with `cause` naming the item event.
pub fn plan_items(
    who: ItemActor<'_>,
    current: &Request,
    rtype: &RequestType,
    items: &[Item],
    action: ItemAction,
    expected_version: Option<i64>,
    now: Timestamp,
) -> Result<Option<Planned>, DomainError> {
    let workflow = &rtype.workflow;
    if current.deleted_at.is_some() {
        return Err(DomainError::Gone);
    }
    let actor = match who {
        ItemActor::Staff(p) => {
            check_visible(p, current, workflow)?;
            p.require(Scope::RequestsWrite)?;
            require_editor(p, current)?;
            Actor {
                member_id: p.member_id(),
                token_id: p.token_id,
            }
        }
        ItemActor::Recipient(link) => {
            link.check_usable(current, now)?;
            if !matches!(action, ItemAction::Submit { .. }) {
                return Err(DomainError::Forbidden(
                    "the recipient may only answer items".into(),
                ));
            }
            Actor::default()
        }
    };
    let target = match action.item() {
        Some(id) => {
            let item = items
                .iter()
                .find(|i| i.id == id)
                .ok_or(DomainError::NotFound("item"))?;
            if expected_version.is_some_and(|v| v != item.version) {
                return Err(DomainError::PreconditionFailed {
                    current: item.version,
                });
            }
            Some(item)
        }
        None => None,
    };
    let mut next_items: Vec<Item> = items.to_vec();
    let mut writes = ItemWrites::default();
    let cause: EventKind;
    let mut changes = Vec::new();
    let mut follow_ups = Vec::new();
    match action {
        ItemAction::Add { id, mut input } => {
            if items.len() >= limits::ITEMS {
                return Err(DomainError::invalid(
                    "items",
                    "too_many",
                    format!("a request has at most {} items", limits::ITEMS),
                ));
            }
            let position = input.position.take();
            let mut spec = input.build(None, "").map_err(DomainError::Validation)?;
            if !spec.key.is_empty() && items.iter().any(|i| i.spec.key == spec.key) {
                return Err(DomainError::invalid(
                    "key",
                    "duplicate",
                    format!("another item has the key {}", spec.key),
                ));
            }
            if spec.key.is_empty() {
                let mut all: Vec<ItemSpec> = items.iter().map(|i| i.spec.clone()).collect();
                all.push(spec);
                fill_keys(&mut all);
                spec = all.pop().unwrap_or_else(|| unreachable!());
            }
            let at = position.map_or(next_items.len(), |p| (p as usize).min(next_items.len()));
            let mut item = Item::new(current, spec, at as u32, now);
            item.id = id;
            changes.push(FieldChange::new("item", &Value::Null, &item.summary()));
            next_items.insert(at, item);
            cause = EventKind::ItemAdded;
        }
        ItemAction::Edit { item, mut input } => {
            let old = target.cloned().unwrap_or_else(|| unreachable!());
            let position = input.position.take();
            if let Some(k) = &input.key {
                if k != &old.spec.key && items.iter().any(|i| &i.spec.key == k) {
                    return Err(DomainError::invalid(
                        "key",
                        "duplicate",
                        format!("another item has the key {k}"),
                    ));
                }
            }
            let spec = input
                .build(Some(&old.spec), "")
                .map_err(DomainError::Validation)?;
            let from = next_items.iter().position(|i| i.id == item).unwrap_or(0);
            let moved = position.is_some_and(|p| (p as usize).min(items.len() - 1) != from);
            if spec == old.spec && !moved {
                return Ok(None);
            }
            let mut edited = old.clone();
            edited.spec = spec;
            edited.version += 1;
            edited.updated_at = now;
            next_items.remove(from);
            let to = position.map_or(from, |p| (p as usize).min(next_items.len()));
            changes.push(FieldChange::new("item", &old.summary(), &edited.summary()));
            if old.spec != edited.spec {
                changes.push(FieldChange::new("definition", &old.spec, &edited.spec));
            }
            if moved {
                changes.push(FieldChange::new("position", &from, &to));
            }
            next_items.insert(to, edited);
            cause = EventKind::ItemUpdated;
        }
        ItemAction::Remove { item } => {
            let old = target.cloned().unwrap_or_else(|| unreachable!());
            next_items.retain(|i| i.id != item);
            writes.remove.push(item);
            changes.push(FieldChange::new("item", &old.summary(), &Value::Null));
            cause = EventKind::ItemRemoved;
        }
        ItemAction::Submit {
            item,
            answer,
            files,
        } => {
            let old = target.cloned().unwrap_or_else(|| unreachable!());
            let (answer, file_ids) = check_submission(&old, current, answer, &files)?;
            let mut done = old.clone();
            let auto = old.spec.auto_approve;
            done.state = Some(if auto {
                ItemState::Approved
            } else {
                ItemState::Submitted
            });
            done.reason = None;
            done.answer = answer.clone();
            done.files = file_ids;
            done.submissions += 1;
            done.submitted_at = Some(now);
            if auto {
                done.reviewed_at = Some(now);
                done.reviewed_by = None;
            }
            done.version += 1;
            done.updated_at = now;
            let submission = Submission {
                id: SubmissionId::new(),
                workspace_id: current.workspace_id,
                item_id: item,
                request_id: current.id,
                number: done.submissions,
                actor,
                link_id: match who {
                    ItemActor::Recipient(l) => Some(l.id),
                    ItemActor::Staff(_) => None,
                },
                answer,
                files: done.files.clone(),
                at: now,
            };
            changes.push(FieldChange::new("item", &old.summary(), &done.summary()));
            changes.push(FieldChange::new("submission", &Value::Null, &submission));
            if let Some(link) = submission.link_id {
                // As every change through a link records it (see `link::plan_link_use`).
                changes.push(FieldChange::new(
                    "link",
                    &Value::Null,
                    &json!({ "id": link }),
                ));
            }
            writes.submissions.push(submission);
            replace(&mut next_items, done);
            cause = EventKind::ItemSubmitted;
        }
        ItemAction::Review { verdict, .. } => {
            let ItemActor::Staff(p) = who else {
                unreachable!("the recipient only submits")
            };
            let old = target.cloned().unwrap_or_else(|| unreachable!());
            check_reviewer(p, current, workflow)?;
            let state = old.state.ok_or_else(|| DomainError::Conflict {
                code: "not_answerable",
                message: "a note has nothing to review".into(),
            })?;
            let mut done = old.clone();
            match (&verdict, state) {
                (Verdict::Approve | Verdict::Reject(_), ItemState::Missing) => {
                    return Err(DomainError::Conflict {
                        code: "item_not_submitted",
                        message: "the item has no submission to review yet".into(),
                    })
                }
                (Verdict::Approve, ItemState::Approved) => return Ok(None),
                (Verdict::Approve, _) => {
                    done.state = Some(ItemState::Approved);
                    done.reason = None;
                    cause = EventKind::ItemApproved;
                }
                (Verdict::Reject(reason), _) => {
                    let reason = reason.trim();
                    if reason.is_empty() || reason.chars().count() > limits::REASON_CHARS {
                        return Err(DomainError::invalid(
                            "reason",
                            if reason.is_empty() {
                                "required"
                            } else {
                                "too_long"
                            },
                            format!(
                                "a rejection needs a reason for the recipient, at most {} characters",
                                limits::REASON_CHARS
                            ),
                        ));
                    }
                    if state == ItemState::Rejected && old.reason.as_deref() == Some(reason) {
                        return Ok(None);
                    }
                    done.state = Some(ItemState::Rejected);
                    done.reason = Some(reason.to_owned());
                    cause = EventKind::ItemRejected;
                }
                (Verdict::Reopen, ItemState::Approved | ItemState::Rejected) => {
                    done.state = Some(ItemState::Submitted);
                    done.reason = None;
                    cause = EventKind::ItemReopened;
                }
                (Verdict::Reopen, _) => return Ok(None),
            }
            done.reviewed_at = Some(now);
            done.reviewed_by = p.member_id();
            done.version += 1;
            done.updated_at = now;
            changes.push(FieldChange::new("item", &old.summary(), &done.summary()));
            replace(&mut next_items, done);
        }
        ItemAction::SendBack => {
            let rejected = super::rejected_list(items);
            if rejected.is_empty() {
                return Err(DomainError::Conflict {
                    code: "nothing_rejected",
                    message: "no item is rejected: there is nothing to send back".into(),
                });
            }
            changes.push(FieldChange::new("items", &Value::Null, &rejected));
            cause = EventKind::SentBack;
            if let Some((email, _)) = crate::email::contact(current) {
                let message =
                    json!({"template": "rejection", "recipient": email, "items": rejected});
                follow_ups.push(message_event(current, actor, message, now));
            }
        }
    }
    for (i, item) in next_items.iter_mut().enumerate() {
        if item.position != i as u32 {
            item.position = i as u32;
            if !writes.upsert.iter().any(|u| u.id == item.id) {
                item.updated_at = now;
            }
        }
    }
    // Every item that differs from what is stored is written whole.
    for item in &next_items {
        if items.iter().find(|i| i.id == item.id) != Some(item) {
            writes.upsert.push(item.clone());
        }
    }
    let mut next = current.clone();
    next.items = ItemProgress::of(&next_items);
    next.version += 1;
    next.updated_at = now;
    let event = Event {
        id: EventId::new(),
        seq: 0,
        workspace_id: next.workspace_id,
        request_id: next.id,
        kind: cause,
        actor,
        at: now,
        changes,
        comment: None,
    };
    // The workflow follows the items.
    let hooks = workflow.on_items();
    let to = match cause {
        EventKind::SentBack => hooks.sent_back.as_ref(),
        EventKind::ItemSubmitted | EventKind::ItemApproved if next.items.is_complete() => {
            hooks.approved.as_ref().or(hooks
                .submitted
                .as_ref()
                .filter(|_| cause == EventKind::ItemSubmitted))
        }
        EventKind::ItemSubmitted if next.items.is_answered() => hooks.submitted.as_ref(),
        _ => None,
    };
    if let Some(moved) = to.and_then(|to| follow(workflow, &mut next, to, actor, cause, now)) {
        follow_ups.insert(0, moved);
    }
    Ok(Some(Planned {
        request: next,
        event,
        follow_ups,
        items: writes,
    }))
}

/// What filling a request's document items from one delivery of files plans: the request
/// after it (its progress, and its status where the workflow follows the items), the item
/// writes, and the events (`item.submitted`, and any move they cause), in order.
pub struct Filled {
    pub request: Request,
    pub items: ItemWrites,
    pub events: Vec<Event>,
}

/// Fills the document items the recipient still has to answer (nothing sent, or what was
/// sent rejected) with `files` they delivered through `link` in one go (Gipper's
/// completion): each item, in order, takes the files its allowed types accept that no
/// earlier item took, up to its number of files. Each is an ordinary submission, planned
/// by [`plan_items`]; files no item takes stay on the request only.
pub fn fill_documents(
    link: &PublicLink,
    current: &Request,
    rtype: &RequestType,
    items: &[Item],
    files: &[FileRecord],
    now: Timestamp,
) -> Result<Filled, DomainError> {
    let mut request = current.clone();
    let mut now_items = items.to_vec();
    let mut writes = ItemWrites::default();
    let mut events = Vec::new();
    let mut taken: Vec<FileId> = Vec::new();
    for item in items {
        if item.spec.kind != ItemKind::Document
            || !matches!(item.state, Some(ItemState::Missing | ItemState::Rejected))
        {
            continue;
        }
        let max = item.spec.max_files.unwrap_or(1) as usize;
        let chosen: Vec<FileRecord> = files
            .iter()
            .filter(|f| !taken.contains(&f.id))
            .filter(|f| {
                item.spec.allowed_types.is_empty()
                    || pattern_allows(&item.spec.allowed_types, &f.content_type)
            })
            .take(max)
            .cloned()
            .collect();
        if chosen.is_empty() {
            continue;
        }
        taken.extend(chosen.iter().map(|f| f.id));
        let action = ItemAction::Submit {
            item: item.id,
            answer: None,
            files: chosen,
        };
        let Some(planned) = plan_items(
            ItemActor::Recipient(link),
            &request,
            rtype,
            &now_items,
            action,
            None,
            now,
        )?
        else {
            continue;
        };
        now_items = planned.items.apply_to(now_items);
        writes = writes.then(planned.items);
        events.push(planned.event);
        events.extend(planned.follow_ups);
        request = planned.request;
    }
    Ok(Filled {
        request,
        items: writes,
        events,
    })
}

fn replace(items: &mut [Item], item: Item) {
    if let Some(slot) = items.iter_mut().find(|i| i.id == item.id) {
        *slot = item;
    }
}

fn require_editor(p: &Principal, current: &Request) -> Result<(), DomainError> {
    if current.concerns(p.member_id()) {
        return Ok(());
    }
    p.require(Scope::RequestsManage).map_err(|e| match e {
        DomainError::MissingScope(_) => e,
        _ => DomainError::Forbidden(
            "only the requester, the assignee or callers with requests:manage may change this request's items".into(),
        ),
    })
}

/// A reviewer takes what the workflow's `on_items.approved` move from here takes, where
/// the workflow has one.
fn check_reviewer(
    p: &Principal,
    current: &Request,
    workflow: &Workflow,
) -> Result<(), DomainError> {
    let Some(to) = workflow.on_items().approved.as_ref() else {
        return Ok(());
    };
    if *to == current.status || !workflow.has_move(&current.status, to) {
        return Ok(());
    }
    let me = p.member_id();
    let relation = Relation {
        principal: Some(p),
        is_requester: me.is_some() && current.requester_id == me,
        is_assignee: me.is_some() && current.assignee_id == me,
        is_recipient: false,
    };
    workflow.decide(&current.status, to, &relation)
}

/// Moves `next` to `to` because of an item change, if the workflow has that move from
/// where it is: the `request.updated` event that records it (with `cause`).
fn follow(
    workflow: &Workflow,
    next: &mut Request,
    to: &StatusKey,
    actor: Actor,
    cause: EventKind,
    now: Timestamp,
) -> Option<Event> {
    if *to == next.status || !workflow.has_move(&next.status, to) {
        return None;
    }
    let mut changes = Vec::new();
    crate::request::enter_status(next, workflow, to.clone(), &mut changes);
    changes.push(FieldChange::new("cause", &Value::Null, &cause.as_str()));
    Some(Event {
        id: EventId::new(),
        seq: 0,
        workspace_id: next.workspace_id,
        request_id: next.id,
        kind: EventKind::Updated,
        actor,
        at: now,
        changes,
        comment: None,
    })
}

fn message_event(r: &Request, actor: Actor, message: Value, now: Timestamp) -> Event {
    Event {
        id: EventId::new(),
        seq: 0,
        workspace_id: r.workspace_id,
        request_id: r.id,
        kind: EventKind::MessageQueued,
        actor,
        at: now,
        changes: vec![FieldChange::new("message", &Value::Null, &message)],
        comment: None,
    }
}

/// Checks a submission against its item: the answer against a question's type, the files
/// against a document's types and count (they must be the request's). Returns the answer
/// as stored and the item's files after it.
fn check_submission(
    item: &Item,
    request: &Request,
    answer: Option<Value>,
    files: &[FileRecord],
) -> Result<(Option<Value>, Vec<FileId>), DomainError> {
    match (item.spec.kind, item.state) {
        (ItemKind::Note | ItemKind::Page, _) => {
            return Err(DomainError::Conflict {
                code: "not_answerable",
                message: "a note or a page break has nothing to answer".into(),
            })
        }
        (_, Some(ItemState::Approved)) => {
            return Err(DomainError::Conflict {
                code: "item_approved",
                message: "the item is approved; reopen it to change its answer".into(),
            })
        }
        _ => {}
    }
    match item.spec.kind {
        ItemKind::Question => {
            if !files.is_empty() {
                return Err(DomainError::invalid(
                    "files",
                    "not_allowed",
                    "a question takes an answer, not files",
                ));
            }
            let answer = answer.ok_or_else(|| {
                DomainError::invalid("answer", "required", "a question needs an answer")
            })?;
            let kind = item.spec.answer_type.as_ref().unwrap_or(&AnswerType::Text);
            let answer =
                check_answer(kind, answer).map_err(|e| DomainError::Validation(vec![e]))?;
            Ok((Some(answer), Vec::new()))
        }
        _ => {
            if answer.is_some() {
                return Err(DomainError::invalid(
                    "answer",
                    "not_allowed",
                    "a document takes files, not an answer",
                ));
            }
            if files.is_empty() {
                return Err(DomainError::invalid(
                    "files",
                    "required",
                    "a document needs at least one file",
                ));
            }
            let mut errors = Vec::new();
            for (i, f) in files.iter().enumerate() {
                if f.request_id != Some(request.id) || f.workspace_id != request.workspace_id {
                    errors.push(FieldError::new(
                        format!("files[{i}]"),
                        "unknown_file",
                        "no file of this request has this id",
                    ));
                } else if !item.spec.allowed_types.is_empty()
                    && !pattern_allows(&item.spec.allowed_types, &f.content_type)
                {
                    errors.push(FieldError::new(
                        format!("files[{i}]"),
                        "type_not_allowed",
                        format!(
                            "{} is {}; this item takes {}",
                            f.name.as_str(),
                            f.content_type,
                            item.spec.allowed_types.join(", ")
                        ),
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(DomainError::Validation(errors));
            }
            let mut ids: Vec<FileId> = if item.state == Some(ItemState::Rejected) {
                Vec::new()
            } else {
                item.files.clone()
            };
            for f in files {
                if !ids.contains(&f.id) {
                    ids.push(f.id);
                }
            }
            let max = item.spec.max_files.unwrap_or(1);
            if ids.len() > max as usize {
                return Err(DomainError::invalid(
                    "files",
                    "too_many_files",
                    format!(
                        "this item takes at most {max} file(s); it would have {}",
                        ids.len()
                    ),
                ));
            }
            Ok((None, ids))
        }
    }
}

/// Checks an answer against a question's type; returns it as stored (trimmed text, a
/// normalised email, choices in the options' order).
pub fn check_answer(kind: &AnswerType, answer: Value) -> Result<Value, FieldError> {
    let bad = |message: String| FieldError::new("answer", "invalid_answer", message);
    let text = |max: usize| -> Result<Value, FieldError> {
        let s = answer
            .as_str()
            .ok_or_else(|| bad("the answer is text".into()))?
            .trim();
        if s.is_empty() {
            return Err(FieldError::new("answer", "required", "the answer is empty"));
        }
        if s.chars().count() > max {
            return Err(FieldError::new(
                "answer",
                "too_long",
                format!("at most {max} characters"),
            ));
        }
        Ok(Value::String(s.to_owned()))
    };
    match kind {
        AnswerType::Text => {
            let v = text(limits::TEXT_CHARS)?;
            if v.as_str().is_some_and(|s| s.contains('\n')) {
                return Err(bad("one line of text".into()));
            }
            Ok(v)
        }
        AnswerType::LongText => text(limits::LONG_TEXT_CHARS),
        AnswerType::Number { min, max } => {
            let n = answer
                .as_f64()
                .ok_or_else(|| bad("the answer is a number".into()))?;
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Err(FieldError::new(
                    "answer",
                    "out_of_range",
                    format!(
                        "from {} to {}",
                        min.map_or("any".into(), |m| m.to_string()),
                        max.map_or("any".into(), |m| m.to_string())
                    ),
                ));
            }
            Ok(answer)
        }
        AnswerType::Date => {
            let s = answer
                .as_str()
                .ok_or_else(|| bad("the answer is a date, YYYY-MM-DD".into()))?;
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
                .map_err(|_| bad("the answer is a date, YYYY-MM-DD".into()))
        }
        AnswerType::Email => {
            let s = answer
                .as_str()
                .ok_or_else(|| bad("the answer is an email address".into()))?;
            crate::member::Email::parse(s)
                .map(|e| Value::String(e.as_str().to_owned()))
                .map_err(|_| bad("the answer is an email address".into()))
        }
        AnswerType::Checkbox => answer
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| bad("the answer is true or false".into())),
        AnswerType::Choice { options, multiple } => {
            let picked: Vec<&str> = match (&answer, multiple) {
                (Value::String(s), false) => vec![s.as_str()],
                (Value::Array(a), true) => a
                    .iter()
                    .map(|v| v.as_str().ok_or_else(|| bad("choices are strings".into())))
                    .collect::<Result<_, _>>()?,
                (_, false) => return Err(bad("the answer is one of the options".into())),
                (_, true) => return Err(bad("the answer is a list of options".into())),
            };
            if let Some(unknown) = picked.iter().find(|p| !options.iter().any(|o| o == *p)) {
                return Err(bad(format!("{unknown:?} is not one of the options")));
            }
            if *multiple && picked.is_empty() {
                return Err(FieldError::new(
                    "answer",
                    "required",
                    "pick at least one option",
                ));
            }
            Ok(if *multiple {
                Value::from(
                    options
                        .iter()
                        .filter(|o| picked.contains(&o.as_str()))
                        .cloned()
                        .collect::<Vec<_>>(),
                )
            } else {
                Value::String(picked[0].to_owned())
            })
        }
    }
}
