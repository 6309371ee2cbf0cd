//! The due-date scheduler: every pass, `Store::record_due_notices` appends
//! `request.overdue` and `request.reminder` events to the requests that earned them. The
//! store writes each notice once however many nodes run this, so every node may.
//! The events then travel like any other: timeline, change feed, webhooks.

use crate::state::AppState;
use std::time::Duration;
use tokio::sync::watch;

/// Requests examined per page of a pass.
const PAGE: u32 = 500;

pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.settings().scheduler_interval_ms.max(10));
    loop {
        if *stop.borrow() {
            break;
        }
        match state
            .store()
            .record_due_notices(docket_domain::now(), PAGE)
            .await
        {
            Ok(events) if !events.is_empty() => {
                tracing::info!(notices = events.len(), "recorded due-date notices")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the due-date scheduler failed a pass"),
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
}
