//! Email notifications: which events send which message to whom, and the templates a
//! workspace can override.
//!
//! The rules, in [`messages_for`]:
//! - a request assigned to someone: the new assignee is told (`assigned`);
//! - a reminder or an overdue notice: the assignee, or the requester when unassigned
//!   (`reminder`, `overdue`);
//! - a move into a status the workflow lists in `notify_contact_on`: the request's contact,
//!   `data.contact.email` (`status_changed`);
//! - a message queued by a compatible API (Collect's `send*Message` flags): its recipient,
//!   with the template it names.
//!
//! Templates are plain text with `{{placeholders}}`; an unknown placeholder stays as it is.

use crate::event::{Event, EventKind, FieldChange};
use crate::ids::{EventId, RequestId, WorkspaceId};
use crate::member::Member;
use crate::request::Request;
use crate::workflow::Workflow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A message template: its name, subject and body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    pub name: String,
    pub subject: String,
    pub body: String,
}

/// The templates Docket ships; a workspace may override any of them by name.
pub const DEFAULT_TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "assigned",
        "[#{{number}}] Assigned to you: {{title}}",
        "Hello {{name}},\n\nRequest #{{number}} \"{{title}}\" is now assigned to you.\nStatus: {{status}}. Due: {{due_at}}.\n\n{{link}}\n",
    ),
    (
        "reminder",
        "[#{{number}}] Due soon: {{title}}",
        "Hello {{name}},\n\nRequest #{{number}} \"{{title}}\" is due {{due_at}}.\n\n{{link}}\n",
    ),
    (
        "overdue",
        "[#{{number}}] Overdue: {{title}}",
        "Hello {{name}},\n\nRequest #{{number}} \"{{title}}\" was due {{due_at}} and is not finished.\n\n{{link}}\n",
    ),
    (
        "status_changed",
        "[#{{number}}] {{title}}: {{status}}",
        "Hello {{name}},\n\n\"{{title}}\", which we asked you for, is now {{status}}.\n\n{{link}}\n",
    ),
    (
        "completion",
        "{{title}}: complete",
        "Hello {{name}},\n\nThank you: \"{{title}}\" is complete.\n\n{{link}}\n",
    ),
    (
        "rejection",
        "{{title}}: something needs another look",
        "Hello {{name}},\n\nPart of \"{{title}}\" was not accepted; please have another look:\n\n{{items}}\n{{link}}\n",
    ),
    (
        "webhook_paused",
        "Webhook paused: {{url}}",
        "Hello {{name}},\n\nDocket paused the webhook {{url}}: {{reason}}.\n\nIts events are kept and go out, in order, once it is active again:\nPATCH /api/v1/webhooks/{{webhook_id}} {\"state\": \"active\"}\n",
    ),
    (
        "comment",
        "[#{{number}}] {{title}}: a new message",
        "Hello {{name}},\n\nThere is a new message about \"{{title}}\":\n\n{{comment}}\n\nRead and answer it here: {{link}}\n",
    ),
    (
        "recipient_message",
        "[#{{number}}] {{title}}: {{contact}} wrote",
        "Hello {{name}},\n\n{{contact}} wrote about request #{{number}} \"{{title}}\":\n\n{{comment}}\n\n{{link}}\n",
    ),
    (
        "nudge",
        "Reminder: {{title}}",
        "Hello {{name}},\n\nA reminder: we are still waiting for \"{{title}}\".\n\n{{items}}\nYou can answer here: {{link}}\n",
    ),
    (
        "reopen",
        "{{title}}: reopened",
        "Hello {{name}},\n\n\"{{title}}\" was reopened.\n\n{{link}}\n",
    ),
];

/// The shipped template of this name.
pub fn default_template(name: &str) -> Option<Template> {
    DEFAULT_TEMPLATES
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(n, s, b)| Template {
            name: (*n).to_owned(),
            subject: (*s).to_owned(),
            body: (*b).to_owned(),
        })
}

/// Replaces each `{{key}}` of `text` with its value.
pub fn render(text: &str, vars: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = after[..end].trim();
                match vars.get(key) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A message to send: to whom, with which template, about which request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub to: String,
    pub name: String,
    pub template: String,
    /// To the request's contact (the person asked): the message links the portal.
    pub to_contact: bool,
    /// The `{{items}}` placeholder: the items a rejection message lists, one per line
    /// with its reason; empty otherwise.
    pub items: String,
}

/// What [`messages_for`] needs to know besides the event.
pub struct Context<'a> {
    pub request: &'a Request,
    pub workflow: &'a Workflow,
    /// Looks up a member of the request's workspace.
    pub member: &'a dyn Fn(crate::ids::MemberId) -> Option<Member>,
}

/// The messages one event sends.
pub fn messages_for(event: &Event, cx: &Context<'_>) -> Vec<Planned> {
    let r = cx.request;
    let to_member = |id, template: &str| {
        (cx.member)(id).map(|m: Member| Planned {
            to: m.email.as_str().to_owned(),
            name: m.name,
            template: template.to_owned(),
            to_contact: false,
            items: String::new(),
        })
    };
    let changed = |field: &str| event.changes.iter().find(|c| c.field == field);
    let mut out = Vec::new();
    match event.kind {
        EventKind::Created | EventKind::Updated => {
            if let Some(c) = changed("assignee_id") {
                if let Some(id) = c.new.as_str().and_then(|s| s.parse().ok()) {
                    out.extend(to_member(id, "assigned"));
                }
            }
            if event.kind == EventKind::Updated {
                if let Some(status) = changed("status").and_then(|c| c.new.as_str()) {
                    let notify = cx
                        .workflow
                        .notify_contact_on()
                        .iter()
                        .any(|s| s.as_str() == status);
                    if let (true, Some((email, name))) = (notify, contact(r)) {
                        out.push(Planned {
                            to: email,
                            name,
                            template: "status_changed".into(),
                            to_contact: true,
                            items: String::new(),
                        });
                    }
                }
            }
        }
        EventKind::ReminderSent => {
            if let Some(to) =
                changed("reminder").and_then(|c| c.new.get("to")?.as_str().map(str::to_owned))
            {
                out.push(Planned {
                    name: contact(r).map(|(_, n)| n).unwrap_or_default(),
                    to,
                    template: "nudge".into(),
                    to_contact: true,
                    items: String::new(),
                });
            }
        }
        EventKind::Commented if event.is_from_recipient() => {
            // The person asked wrote: whoever works the request hears of it.
            if let Some(id) = r.assignee_id.or(r.requester_id) {
                out.extend(to_member(id, "recipient_message"));
            }
        }
        EventKind::Commented => {
            if event.comment_visibility() == crate::event::CommentVisibility::Public {
                if let Some((email, name)) = contact(r) {
                    out.push(Planned {
                        to: email,
                        name,
                        template: "comment".into(),
                        to_contact: true,
                        items: String::new(),
                    });
                }
            }
        }
        EventKind::Reminder | EventKind::Overdue => {
            let template = if event.kind == EventKind::Reminder {
                "reminder"
            } else {
                "overdue"
            };
            if let Some(id) = r.assignee_id.or(r.requester_id) {
                out.extend(to_member(id, template));
            }
        }
        _ => {
            // A message queued by a compatible API names its template and recipient.
            if let Some(m) = changed("message").map(|c| &c.new) {
                if let (Some(template), Some(to)) = (
                    m.get("template").and_then(|t| t.as_str()),
                    m.get("recipient").and_then(|t| t.as_str()),
                ) {
                    out.push(Planned {
                        to: to.to_owned(),
                        name: contact(r).map(|(_, n)| n).unwrap_or_default(),
                        template: template.to_owned(),
                        to_contact: true,
                        items: items_text(m.get("items")),
                    });
                }
            }
        }
    }
    out.retain(|p| p.to.contains('@'));
    out
}

/// The items a message lists (`[{label, reason}]`), one line each: `- Passport: blurred`.
fn items_text(items: Option<&serde_json::Value>) -> String {
    let Some(list) = items.and_then(|v| v.as_array()) else {
        return String::new();
    };
    list.iter()
        .map(|i| {
            let label = i["label"].as_str().unwrap_or("An item");
            match i["reason"].as_str().filter(|r| !r.is_empty()) {
                Some(reason) => format!("- {label}: {reason}\n"),
                None => format!("- {label}\n"),
            }
        })
        .collect()
}

/// Whether `event` could send any message, judged from the event alone and whether the
/// workflow emails the contact on entering a status (`notifies_contact_on`). Decided when an
/// event is written ([`worth_planning`]), so the planner never reads the bulk of events
/// (most status changes), which [`messages_for`] would turn into nothing.
pub fn may_send(event: &Event, notifies_contact_on: &dyn Fn(&str) -> bool) -> bool {
    let changed = |field: &str| event.changes.iter().find(|c| c.field == field);
    match event.kind {
        EventKind::Reminder | EventKind::Overdue | EventKind::ReminderSent => true,
        EventKind::Commented => {
            event.comment_visibility() == crate::event::CommentVisibility::Public
        }
        EventKind::Created | EventKind::Updated => {
            changed("assignee_id").is_some_and(|c| !c.new.is_null())
                || (event.kind == EventKind::Updated
                    && changed("status")
                        .and_then(|c| c.new.as_str())
                        .is_some_and(notifies_contact_on))
        }
        _ => changed("message").is_some(),
    }
}

/// Whether the email planner needs to look at `event` at all, decided when the event is
/// written: [`may_send`] with the statuses the request's `workflow` emails the contact on.
/// Stores flag such events so the planner reads only them, not every event. Without the
/// workflow (an event not written from one), every status change counts: the flag may
/// let through an event that sends nothing, never hold back one that sends.
pub fn worth_planning(event: &Event, workflow: Option<&Workflow>) -> bool {
    may_send(event, &|status| {
        workflow.is_none_or(|w| w.notify_contact_on().iter().any(|k| k.as_str() == status))
    })
}

/// A message a product sends when a request enters a status, if the request's flag says
/// so: Collect's `sendCompletionMessage` on `completed`, `sendRejectionMessage` or
/// `sendReopenMessage` on `pending`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlaggedMessage {
    /// The status the request enters.
    pub status: &'static str,
    /// The boolean in `data.<flags>` that asks for it.
    pub flag: &'static str,
    /// The email template it is rendered from.
    pub template: &'static str,
    /// Whether it needs a rejected item (`Some(true)`), needs none (`Some(false)`), or
    /// does not care (`None`).
    pub rejected: Option<bool>,
}

/// Collect's messages, as its page and notes describe them: the completion message on
/// `completed`; on going back to `pending`, the rejection message where at least one
/// element (item) is rejected, the reopen message otherwise. The first that applies is
/// sent.
pub const COLLECT_MESSAGES: &[FlaggedMessage] = &[
    FlaggedMessage {
        status: "completed",
        flag: "sendCompletionMessage",
        template: "completion",
        rejected: None,
    },
    FlaggedMessage {
        status: "pending",
        flag: "sendRejectionMessage",
        template: "rejection",
        rejected: Some(true),
    },
    FlaggedMessage {
        status: "pending",
        flag: "sendReopenMessage",
        template: "reopen",
        rejected: Some(false),
    },
];

/// Adds to `planned` the message `messages` asks for when the change moved the request
/// into a status (see [`flagged_message`]), as a `message.queued` follow-up by `p`: a
/// rejection message lists the rejected items of `items` (the request's items after the
/// change) with their reasons.
pub fn queue_flagged(
    planned: &mut crate::request::Planned,
    items: &[crate::item::Item],
    messages: &[FlaggedMessage],
    flags_key: &str,
    p: &crate::access::Principal,
    now: crate::Timestamp,
) {
    let moved = std::iter::once(&planned.event)
        .chain(&planned.follow_ups)
        .any(|e| e.changes.iter().any(|c| c.field == "status"));
    if !moved {
        return;
    }
    let Some((template, recipient)) = flagged_message(&planned.request, messages, flags_key) else {
        return;
    };
    let listed = if template == "rejection" {
        crate::item::rejected_list(items)
    } else {
        Vec::new()
    };
    let queued =
        crate::request::message_queued(p, &planned.request, template, &recipient, &listed, now);
    planned.follow_ups.push(queued);
}

/// The message `request` asks for, among `messages`, now that it has moved into its
/// current status, with its flags under `data.<flags_key>`: the template and the
/// recipient (the contact's email, else the contact's `_id`).
pub fn flagged_message(
    request: &Request,
    messages: &[FlaggedMessage],
    flags_key: &str,
) -> Option<(&'static str, String)> {
    let flags = request.data.get(flags_key);
    let rejected = request.items.rejected > 0;
    let message = messages.iter().find(|m| {
        m.status == request.status.as_str()
            && m.rejected.is_none_or(|want| want == rejected)
            && flags
                .and_then(|f| f.get(m.flag))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
    })?;
    let contact = request.data.get("contact");
    let recipient = contact
        .and_then(|c| c["email"].as_str())
        .or_else(|| contact.and_then(|c| c["_id"].as_str()))
        .unwrap_or("")
        .to_owned();
    Some((message.template, recipient))
}

/// The request's contact: `data.contact.email` and a name from `data.contact`.
pub fn contact(r: &Request) -> Option<(String, String)> {
    let c = r.data.get("contact")?;
    let email = c.get("email")?.as_str()?.to_owned();
    let name = ["name", "firstName", "first_name"]
        .iter()
        .find_map(|k| c.get(*k).and_then(|v| v.as_str()))
        .unwrap_or("")
        .to_owned();
    Some((email, name))
}

/// The placeholders a template may use for a request (`{{comment}}` and `{{items}}` are
/// the event's, added by the caller).
pub fn variables<'a>(
    r: &Request,
    workflow: &Workflow,
    name: &str,
    link: &str,
) -> BTreeMap<&'a str, String> {
    let person_asked = contact(r)
        .map(|(email, name)| if name.is_empty() { email } else { name })
        .unwrap_or_else(|| "The recipient".into());
    BTreeMap::from([
        ("contact", person_asked),
        (
            "name",
            if name.is_empty() {
                "there".into()
            } else {
                name.to_owned()
            },
        ),
        ("number", r.number.to_string()),
        ("title", r.title.clone()),
        // The status as people read it, not its key.
        (
            "status",
            workflow
                .status(&r.status)
                .map_or_else(|| r.status.as_str().to_owned(), |s| s.label.clone()),
        ),
        (
            "due_at",
            r.due_at
                .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "not set".into()),
        ),
        ("link", link.to_owned()),
    ])
}

/// The `email.failed` event written when an email to `recipient` about `request` is
/// refused for good or out of attempts: what went wrong, on the request's timeline.
pub fn failed_event(
    workspace_id: WorkspaceId,
    request_id: RequestId,
    recipient: &str,
    error: &str,
    now: crate::Timestamp,
) -> Event {
    Event {
        id: EventId::new(),
        seq: 0,
        workspace_id,
        request_id,
        kind: EventKind::EmailFailed,
        actor: Default::default(),
        at: now,
        changes: vec![FieldChange::new(
            "email",
            &serde_json::Value::Null,
            &serde_json::json!({"to": recipient, "error": error}),
        )],
        comment: Some(format!("Email to {recipient} failed: {error}")),
    }
}

/// The threading headers of one email, so mail clients keep every message about a request
/// in one conversation: its own `Message-ID` (stable across retries: made from the queued
/// email's id) and, as `In-Reply-To` and `References`, the request's thread id. Both
/// are `<...@domain>` with the domain of the sender's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Threading {
    pub message_id: String,
    pub thread: String,
}

impl Threading {
    pub fn new(email_id: &str, request: crate::ids::RequestId, from: &str) -> Self {
        let domain = from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>').trim())
            .filter(|d| !d.is_empty())
            .unwrap_or("docket.localhost");
        Threading {
            message_id: format!("<{email_id}@{domain}>"),
            thread: format!("<request-{request}@{domain}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_and_unknown_ones_kept() {
        let vars = BTreeMap::from([("title", "Contract".to_owned()), ("number", "7".to_owned())]);
        assert_eq!(
            render("[#{{number}}] {{ title }} {{nope}} {{", &vars),
            "[#7] Contract {{nope}} {{"
        );
    }

    #[test]
    fn every_default_template_exists_by_name() {
        for name in [
            "assigned",
            "reminder",
            "overdue",
            "status_changed",
            "completion",
            "rejection",
            "reopen",
        ] {
            assert!(default_template(name).is_some(), "{name}");
        }
        assert!(default_template("nope").is_none());
    }

    #[test]
    fn a_flagged_message_goes_only_when_its_flag_is_set_and_its_status_entered() {
        let mut r = crate::request::sample("collect", "completed", crate::workflow::Category::Done);
        r.data = serde_json::json!({"contact": {"email": "c@example.com", "_id": "x"},
                                    "collect": {"sendCompletionMessage": true}})
        .as_object()
        .cloned()
        .unwrap();
        assert_eq!(
            flagged_message(&r, COLLECT_MESSAGES, "collect"),
            Some(("completion", "c@example.com".to_owned()))
        );
        r.status = crate::workflow::StatusKey::parse("pending").unwrap();
        assert_eq!(
            flagged_message(&r, COLLECT_MESSAGES, "collect"),
            None,
            "reopen not asked"
        );
        r.data["collect"]["sendReopenMessage"] = true.into();
        r.data["contact"] = serde_json::json!({"_id": "contact-7"});
        assert_eq!(
            flagged_message(&r, COLLECT_MESSAGES, "collect"),
            Some(("reopen", "contact-7".to_owned()))
        );
        // With a rejected element, going back to pending is the rejection message's, and
        // only when asked; the reopen message is not sent instead.
        r.items.rejected = 1;
        assert_eq!(flagged_message(&r, COLLECT_MESSAGES, "collect"), None);
        r.data["collect"]["sendRejectionMessage"] = true.into();
        assert_eq!(
            flagged_message(&r, COLLECT_MESSAGES, "collect"),
            Some(("rejection", "contact-7".to_owned()))
        );
    }
}

#[cfg(test)]
mod may_send_tests {
    use super::*;
    use crate::event::{Actor, FieldChange};
    use crate::ids::{EventId, RequestId, WorkspaceId};
    use serde_json::Value;

    fn event(kind: EventKind, changes: Vec<FieldChange>) -> Event {
        Event {
            id: EventId::new(),
            seq: 1,
            workspace_id: WorkspaceId::new(),
            request_id: RequestId::new(),
            kind,
            actor: Actor::default(),
            at: crate::now(),
            changes,
            comment: None,
        }
    }

    #[test]
    fn only_events_that_can_email_are_loaded() {
        let status = |to: &str| vec![FieldChange::new("status", "open", to)];
        let notify_done = |s: &str| s == "done";
        assert!(!may_send(
            &event(EventKind::Updated, status("in_progress")),
            &notify_done
        ));
        assert!(may_send(
            &event(EventKind::Updated, status("done")),
            &notify_done
        ));
        let assign = vec![FieldChange::new("assignee_id", &Value::Null, "m")];
        assert!(may_send(&event(EventKind::Created, assign), &notify_done));
        let unassign = vec![FieldChange::new("assignee_id", "m", &Value::Null)];
        assert!(!may_send(
            &event(EventKind::Updated, unassign),
            &notify_done
        ));
        assert!(may_send(&event(EventKind::Overdue, vec![]), &notify_done));
        assert!(!may_send(
            &event(EventKind::Commented, vec![]),
            &notify_done
        ));
    }
}
