//! The webhook delivery worker.
//!
//! Each pass turns newly stored events into deliveries (the outbox step), leases the
//! deliveries that are due, and sends each from its own task, so one slow or failing
//! endpoint never holds up another (at most [`PER_WEBHOOK`] of one webhook's deliveries
//! are in flight, at most [`IN_FLIGHT`] in all). A delivery is a POST of the event as JSON,
//! signed the Standard Webhooks way; `webhook-id` is the event id, the same on every retry,
//! so receivers can drop duplicates (delivery is at least once). A failed attempt is
//! retried on the configured schedule with ±20% jitter; after the last, the delivery fails,
//! the webhook is paused with the reason, and the workspace's owners and admins are
//! emailed (template `webhook_paused`).
//!
//! The worker wakes when this node stores an event or finishes a delivery, and at least
//! every [`TICK`] for retries that come due and events stored by other nodes.

use crate::state::AppState;
use crate::views::RequestView;
use docket_domain::access::Role;
use docket_domain::webhook::{self, Attempt};
use docket_store::{AttemptOutcome, ClaimedDelivery, NewEmail};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// Deliveries in flight at once, over all webhooks.
const IN_FLIGHT: usize = 256;
/// Deliveries of one webhook in flight at once.
const PER_WEBHOOK: usize = 32;
/// The longest the worker sleeps between passes.
const TICK: Duration = Duration::from_secs(1);
/// The shortest time between passes, so a burst of events costs a few passes, not one
/// per event.
const MIN_PASS: Duration = Duration::from_millis(50);
/// Events turned into deliveries per webhook per pass.
const ENQUEUE_BATCH: u32 = 500;

/// Runs until `stop` turns true, then waits for the attempts in flight (each bounded by
/// the attempt timeout).
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let settings = state.settings().clone();
    let client = match reqwest::Client::builder()
        .timeout(settings.webhook_timeout())
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Docket-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; webhooks are not delivered");
            return;
        }
    };
    // Leased long enough for one attempt, with room for a slow store.
    let lease = settings.webhook_timeout() * 2 + Duration::from_secs(5);
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    let mut events = state.store().event_signal();
    let store = state.store().clone();
    loop {
        if *stop.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let pass_started = Instant::now();
        let now = docket_domain::now();
        if let Err(e) = store.enqueue_deliveries(now, ENQUEUE_BATCH).await {
            tracing::warn!(error = %e, "could not queue webhook deliveries");
        }
        let free = permits.available_permits();
        let mut full = false;
        let mut claimed_any = false;
        if free > 0 {
            let lease_until = now + chrono::TimeDelta::from_std(lease).unwrap_or_default();
            match store
                .claim_deliveries(now, lease_until, free, PER_WEBHOOK)
                .await
            {
                Ok(claimed) => {
                    full = claimed.len() == free;
                    claimed_any = !claimed.is_empty();
                    for delivery in claimed {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            break;
                        };
                        let (state, client) = (state.clone(), client.clone());
                        tasks.spawn(async move {
                            attempt(&state, &client, delivery).await;
                            state.wake_webhooks();
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not claim webhook deliveries"),
            }
        }
        if full {
            continue;
        }
        if !claimed_any {
            // Nothing in flight started: let a burst of events gather. Otherwise the next
            // pass comes as soon as a delivery finishes (it wakes the worker).
            tokio::time::sleep(MIN_PASS.saturating_sub(pass_started.elapsed())).await;
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = events.changed() => {}
            _ = state.webhooks_woken() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
    while tasks.join_next().await.is_some() {}
    tracing::debug!("webhook worker stopped");
}

/// Sends one delivery and records the attempt and what follows.
async fn attempt(state: &AppState, client: &reqwest::Client, claimed: ClaimedDelivery) {
    let settings = state.settings();
    let at = docket_domain::now();
    let started = Instant::now();
    let result = send(client, &claimed, settings.webhooks_allow_private).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let record = match result {
        Ok(status) if (200..300).contains(&status) => Attempt {
            at,
            status_code: Some(status),
            duration_ms,
            error: None,
        },
        Ok(status) => Attempt {
            at,
            status_code: Some(status),
            duration_ms,
            error: Some(format!("the receiver answered HTTP {status}")),
        },
        Err(error) => Attempt {
            at,
            status_code: None,
            duration_ms,
            error: Some(error),
        },
    };
    let attempts = claimed.delivery.attempts.len() as u32 + 1;
    let mut paused = None;
    let outcome = if record.succeeded() {
        AttemptOutcome::Delivered
    } else {
        let schedule = settings.webhook_retry_schedule();
        match webhook::retry_delay(&schedule, attempts) {
            Some(delay) => {
                let delay = webhook::with_jitter(delay, rand::random::<f64>());
                AttemptOutcome::RetryAt(
                    docket_domain::now() + chrono::TimeDelta::from_std(delay).unwrap_or_default(),
                )
            }
            None => {
                tracing::warn!(webhook.id = %claimed.webhook.id, "webhook paused after sustained failure");
                let pause_reason = format!(
                    "paused after {attempts} failed attempts to deliver event {} (last: {})",
                    claimed.event.id,
                    record.error.as_deref().unwrap_or("no answer")
                );
                paused = Some(pause_reason.clone());
                AttemptOutcome::GiveUp { pause_reason }
            }
        }
    };
    if let Err(e) = state
        .store()
        .record_attempt(claimed.delivery.id, record, outcome)
        .await
    {
        // The lease runs out and the delivery is tried again: at least once.
        tracing::warn!(error = %e, "could not record a webhook attempt");
        return;
    }
    if let Some(reason) = paused {
        if let Err(e) = tell_admins(state, &claimed, &reason).await {
            tracing::warn!(error = %e, "could not tell the workspace a webhook was paused");
        }
    }
}

/// Emails the workspace's owners and admins that a webhook was paused, and why.
async fn tell_admins(
    state: &AppState,
    claimed: &ClaimedDelivery,
    reason: &str,
) -> anyhow::Result<()> {
    let store = state.store();
    let ws = claimed.webhook.workspace_id;
    let template = store
        .email_templates(ws)
        .await?
        .into_iter()
        .find(|t| t.name == "webhook_paused")
        .or_else(|| docket_domain::email::default_template("webhook_paused"))
        .ok_or_else(|| anyhow::anyhow!("no webhook_paused template"))?;
    let now = docket_domain::now();
    for m in store.list_members(ws).await? {
        if !matches!(m.role, Role::Owner | Role::Admin) {
            continue;
        }
        let vars = std::collections::BTreeMap::from([
            ("name", m.name.clone()),
            ("url", claimed.webhook.url.clone()),
            ("reason", reason.to_owned()),
            ("webhook_id", claimed.webhook.id.to_string()),
        ]);
        let email = NewEmail {
            workspace_id: ws,
            request_id: claimed.event.request_id,
            event_id: claimed.event.id,
            to: m.email.as_str().to_owned(),
            subject: docket_domain::email::render(&template.subject, &vars),
            body: docket_domain::email::render(&template.body, &vars),
        };
        store.queue_email(email, now).await?;
    }
    Ok(())
}

/// POSTs the signed payload; the receiver's status, or why there was none.
async fn send(
    client: &reqwest::Client,
    claimed: &ClaimedDelivery,
    allow_private: bool,
) -> Result<u16, String> {
    let url = reqwest::Url::parse(&claimed.webhook.url).map_err(|e| format!("bad URL: {e}"))?;
    if !allow_private {
        check_resolved(&url).await?;
    }
    let body = payload(claimed);
    let id = claimed.event.id.to_string();
    let timestamp = docket_domain::now().timestamp();
    let signature = webhook::sign(&claimed.webhook.secret, &id, timestamp, &body);
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_owned()
            } else if e.is_connect() {
                "could not connect".to_owned()
            } else {
                format!("request failed: {e}")
            }
        })?;
    Ok(response.status().as_u16())
}

/// Refuses a host whose name resolves to a loopback, private or link-local address (the
/// URL was checked when saved, but a name can point anywhere).
async fn check_resolved(url: &reqwest::Url) -> Result<(), String> {
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("could not resolve {host}: {e}"))?;
    for address in addresses {
        if !webhook::is_public(address.ip()) {
            return Err(format!(
                "{host} resolves to {}, a private address; webhooks may not target it",
                address.ip()
            ));
        }
    }
    Ok(())
}

/// The JSON body: Standard Webhooks' `{type, timestamp, data}`, where `data` holds the
/// event (with the changed fields and their previous values) and the request as it is now.
pub fn payload(claimed: &ClaimedDelivery) -> Vec<u8> {
    let body = serde_json::json!({
        "type": claimed.event.kind.as_str(),
        "timestamp": claimed.event.at,
        "data": {
            "event": &claimed.event,
            "changes": &claimed.event.changes,
            "request": claimed.request.clone().map(RequestView::new),
        }
    });
    serde_json::to_vec(&body).unwrap_or_default()
}
