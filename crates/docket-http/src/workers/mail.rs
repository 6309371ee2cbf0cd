//! The mail worker: plans emails from events, then sends what is due.
//!
//! Planning reads the events after the `email` outbox cursor that were flagged, when
//! written, as possibly sending email (`docket_domain::email::worth_planning`), asks
//! `docket_domain::email::messages_for` which messages each one sends, renders them with
//! the workspace's templates, and queues them while moving the cursor, in one
//! transaction that succeeds only if the cursor had not moved (another node planned the
//! same events first). Sending leases due messages, sends each, and records the outcome:
//! a temporary failure is retried on the configured schedule, a permanent one (or the
//! last) fails the message and puts `email.failed` on the request's timeline.

use crate::mail::Mailer;
use crate::settings::MailSettings;
use crate::state::AppState;
use docket_domain::email::{self, Context, Template};
use docket_domain::event::Event;
use docket_domain::ids::{MemberId, WorkspaceId};
use docket_domain::member::Member;
use docket_domain::request::Request;
use docket_store::{EmailOutcome, NewEmail, QueuedEmail};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::watch;

const CURSOR: &str = "email";
/// Events planned per pass.
const PLAN_BATCH: u32 = 200;
/// Messages sent per pass.
const SEND_BATCH: usize = 16;
/// How long a claimed message is reserved for this worker.
const LEASE: Duration = Duration::from_secs(120);
const TICK: Duration = Duration::from_secs(1);
/// The shortest time between passes, so a burst of events is planned in a few passes
/// rather than one per event.
const MIN_PASS: Duration = Duration::from_millis(200);

pub async fn run(state: AppState, settings: MailSettings, mut stop: watch::Receiver<bool>) {
    let mailer = match crate::mail::from_settings(&settings) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "cannot set up email; no email is sent");
            return;
        }
    };
    let mut events = state.store().event_signal();
    loop {
        if *stop.borrow() {
            break;
        }
        let pass_started = std::time::Instant::now();
        let planned = plan(&state).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not plan emails");
            0
        });
        let sent = send_due(&state, &*mailer, &settings)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not send emails");
                0
            });
        if planned == PLAN_BATCH as usize || sent == SEND_BATCH {
            continue;
        }
        tokio::time::sleep(MIN_PASS.saturating_sub(pass_started.elapsed())).await;
        tokio::select! {
            _ = stop.changed() => {}
            _ = events.changed() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

/// Queues the messages of the events after the cursor; how many events it planned.
async fn plan(state: &AppState) -> anyhow::Result<usize> {
    let store = state.store();
    let cursor = store.outbox_cursor(CURSOR).await?;
    // Only the events flagged when written as possibly sending email; the cursor moves
    // past the rest unread.
    let page = store.mail_events_after(cursor, PLAN_BATCH).await?;
    if page.through <= cursor {
        return Ok(0);
    }
    let events = page.events;
    let mut members: HashMap<WorkspaceId, HashMap<MemberId, Member>> = HashMap::new();
    let mut templates: HashMap<WorkspaceId, Vec<Template>> = HashMap::new();
    let mut emails = Vec::new();
    // Each event was judged when written (`email::worth_planning`); `render` decides with
    // the request's current workflow (`email::messages_for`).
    for event in &events {
        emails.extend(render(state, event, &mut members, &mut templates).await?);
    }
    let count = events.len();
    if !store
        .queue_emails(CURSOR, cursor, page.through, emails, docket_domain::now())
        .await?
    {
        tracing::debug!("another node planned these emails");
    }
    Ok(count)
}

async fn render(
    state: &AppState,
    event: &Event,
    members: &mut HashMap<WorkspaceId, HashMap<MemberId, Member>>,
    templates: &mut HashMap<WorkspaceId, Vec<Template>>,
) -> anyhow::Result<Vec<NewEmail>> {
    let store = state.store();
    let ws = event.workspace_id;
    let Some(request) = store.get_request(ws, event.request_id).await? else {
        return Ok(Vec::new());
    };
    let Some(rtype) = store.get_request_type(ws, &request.type_key).await? else {
        return Ok(Vec::new());
    };
    if let std::collections::hash_map::Entry::Vacant(slot) = members.entry(ws) {
        let list = store.list_members(ws).await?;
        slot.insert(list.into_iter().map(|m| (m.id, m)).collect());
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = templates.entry(ws) {
        slot.insert(store.email_templates(ws).await?);
    }
    let people = &members[&ws];
    let lookup = |id: MemberId| people.get(&id).cloned();
    let planned = email::messages_for(
        event,
        &Context {
            request: &request,
            workflow: &rtype.workflow,
            member: &lookup,
        },
    );
    let overrides = &templates[&ws];
    let mut out = Vec::new();
    for p in planned {
        let Some(template) = overrides
            .iter()
            .find(|t| t.name == p.template)
            .cloned()
            .or_else(|| email::default_template(&p.template))
        else {
            tracing::warn!(template = %p.template, "no such email template; message skipped");
            continue;
        };
        // The contact gets the portal (nothing when no link is usable: a staff page is
        // no use to them); a member gets the request's page on the desk.
        let link = if p.to_contact {
            portal_link(state, &request).await?.unwrap_or_default()
        } else {
            state
                .settings()
                .public_link(&format!("/desk/requests/{}", request.number))
        };
        let mut vars = email::variables(&request, &rtype.workflow, &p.name, &link);
        if p.template == "nudge" {
            // What is still missing, as it stands when the reminder goes out.
            let items = store.list_items(ws, request.id).await?;
            vars.insert("items", docket_domain::reminder::missing_text(&items));
        } else {
            vars.insert("items", p.items.clone());
        }
        vars.insert("comment", event.comment.clone().unwrap_or_default());
        out.push(NewEmail {
            workspace_id: ws,
            request_id: request.id,
            event_id: event.id,
            to: p.to,
            subject: email::render(&template.subject, &vars),
            body: email::render(&template.body, &vars),
        });
    }
    Ok(out)
}

/// The portal address of the request's newest usable link, for a message to its contact.
async fn portal_link(state: &AppState, request: &Request) -> anyhow::Result<Option<String>> {
    let now = docket_domain::now();
    let links = state
        .store()
        .links_of_request(request.workspace_id, request.id)
        .await?;
    Ok(links
        .iter()
        .rev()
        .find(|l| l.is_active(request, now))
        .map(|l| {
            state
                .settings()
                .public_link(&format!("/p/{}", l.token.as_str()))
        }))
}

/// Sends the due messages; how many it tried.
async fn send_due(
    state: &AppState,
    mailer: &dyn Mailer,
    settings: &MailSettings,
) -> anyhow::Result<usize> {
    let store = state.store();
    let now = docket_domain::now();
    let lease_until = now + chrono::TimeDelta::from_std(LEASE)?;
    let due = store.claim_emails(now, lease_until, SEND_BATCH).await?;
    let count = due.len();
    for QueuedEmail {
        id,
        email,
        attempts,
    } in due
    {
        let threading = docket_domain::email::Threading::new(&id, email.request_id, &settings.from);
        let outcome = match mailer
            .send(&email.to, &email.subject, &email.body, &threading)
            .await
        {
            Ok(()) => EmailOutcome::Sent,
            Err(e) if e.permanent => EmailOutcome::Failed { error: e.message },
            Err(e) => match settings.retry_schedule_ms.get(attempts as usize) {
                Some(ms) => EmailOutcome::RetryAt {
                    at: docket_domain::now()
                        + chrono::TimeDelta::from_std(Duration::from_millis(*ms))?,
                    error: e.message,
                },
                None => EmailOutcome::Failed {
                    error: format!("gave up after {} attempts: {}", attempts + 1, e.message),
                },
            },
        };
        store
            .record_email(&id, outcome, docket_domain::now())
            .await?;
    }
    Ok(count)
}
