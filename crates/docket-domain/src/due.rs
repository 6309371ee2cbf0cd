//! Due dates: the notices a request earns as its due time nears and passes. The scheduler
//! of each node asks its store for candidates; the store records each notice once per
//! request, due time and kind, whichever node gets there first, and writes the events
//! these functions make.

use crate::event::{Event, EventKind};
use crate::ids::EventId;
use crate::request::Request;
use crate::workflow::Workflow;
use crate::Timestamp;

/// A notice a request has earned: its `kind` (`overdue`, or `reminder:<minutes>`, the key
/// it is recorded under) and the timeline event that announces it.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub kind: String,
    pub event: Event,
}

/// How far past `now` the scheduler must look for requests to remind: the longest lead
/// time any of `workflows` names.
pub fn horizon<'a>(workflows: impl IntoIterator<Item = &'a Workflow>, now: Timestamp) -> Timestamp {
    let minutes = workflows
        .into_iter()
        .filter_map(|w| w.reminders().iter().max().copied())
        .max()
        .unwrap_or(0);
    now + chrono::TimeDelta::minutes(i64::from(minutes))
}

/// The notices `r` (of a type following `workflow`) has earned at `now`: once its due time
/// has passed, `overdue`; before that, a reminder for each lead time reached. Finished and
/// deleted requests, and those without a due date, earn none. Notices already recorded are
/// the store's to skip.
pub fn notices(r: &Request, workflow: &Workflow, now: Timestamp) -> Vec<Notice> {
    let Some(due) = r.due_at else {
        return Vec::new();
    };
    if r.deleted_at.is_some() || r.category.is_finished() {
        return Vec::new();
    }
    let notice = |kind: String, event: EventKind, comment: String| Notice {
        kind,
        event: Event {
            id: EventId::new(),
            seq: 0,
            workspace_id: r.workspace_id,
            request_id: r.id,
            kind: event,
            actor: Default::default(),
            at: now,
            changes: Vec::new(),
            comment: Some(comment),
        },
    };
    if due <= now {
        return vec![notice(
            "overdue".into(),
            EventKind::Overdue,
            format!("Overdue: it was due {}", due.to_rfc3339()),
        )];
    }
    workflow
        .reminders()
        .iter()
        .filter(|m| due - chrono::TimeDelta::minutes(i64::from(**m)) <= now)
        .map(|m| {
            notice(
                format!("reminder:{m}"),
                EventKind::Reminder,
                format!("Reminder: due {} ({m} minutes' notice)", due.to_rfc3339()),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Category, WorkflowInput};
    use chrono::TimeDelta;

    fn request() -> Request {
        crate::request::sample("general", "open", Category::Open)
    }

    fn reminding(minutes: &[u32]) -> Workflow {
        let mut input: WorkflowInput =
            serde_json::from_value(serde_json::to_value(Workflow::general()).unwrap()).unwrap();
        input.remind_before_due_minutes = minutes.to_vec();
        Workflow::new(input).unwrap()
    }

    #[test]
    fn reminders_come_at_their_lead_times_then_one_overdue_notice() {
        let now = crate::now();
        let w = reminding(&[1440, 60]);
        let mut r = request();
        let kinds = |r: &Request, at| -> Vec<String> {
            notices(r, &w, at).into_iter().map(|n| n.kind).collect()
        };
        r.due_at = Some(now + TimeDelta::hours(30));
        assert!(kinds(&r, now).is_empty());
        r.due_at = Some(now + TimeDelta::hours(2));
        assert_eq!(kinds(&r, now), vec!["reminder:1440"]);
        r.due_at = Some(now + TimeDelta::minutes(30));
        assert_eq!(kinds(&r, now), vec!["reminder:1440", "reminder:60"]);
        r.due_at = Some(now - TimeDelta::minutes(1));
        let overdue = notices(&r, &w, now);
        assert_eq!(overdue.len(), 1);
        assert_eq!(overdue[0].kind, "overdue");
        assert_eq!(overdue[0].event.kind, EventKind::Overdue);
        assert_eq!(
            (overdue[0].event.request_id, overdue[0].event.at),
            (r.id, now)
        );
        r.category = Category::Done;
        assert!(kinds(&r, now).is_empty(), "finished requests earn nothing");
    }

    #[test]
    fn the_horizon_is_the_longest_lead_time() {
        let now = crate::now();
        let (a, b) = (reminding(&[60]), reminding(&[1440, 5]));
        assert_eq!(horizon([&a, &b], now), now + TimeDelta::minutes(1440));
        assert_eq!(horizon([&Workflow::general()], now), now);
    }
}
