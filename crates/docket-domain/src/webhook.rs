//! Webhook subscriptions: where a workspace's events are sent, how each delivery is
//! signed (Standard Webhooks), when a failed one is retried, and which targets are refused.
//!
//! Delivery itself (HTTP, timeouts, the worker) lives in the server; this module holds the
//! rules, so they are tested without a network.

use crate::event::EventKind;
use crate::ids::{DeliveryId, EventId, RequestId, WebhookId, WorkspaceId};
use crate::FieldError;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::net::IpAddr;
use std::time::Duration;

/// Prefix of a signing secret, as Standard Webhooks writes them.
pub const SECRET_PREFIX: &str = "whsec_";

/// The longest URL accepted.
const MAX_URL: usize = 2000;

/// Whether a subscription receives deliveries. Events keep being queued while paused and
/// go out in order once it is active again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    Active,
    Paused,
}

impl WebhookState {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookState::Active => "active",
            WebhookState::Paused => "paused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(WebhookState::Active),
            "paused" => Some(WebhookState::Paused),
            _ => None,
        }
    }
}

/// A webhook subscription.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: WebhookId,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    pub url: String,
    /// The event types sent; empty means every type.
    pub event_types: Vec<EventKind>,
    pub description: String,
    pub state: WebhookState,
    /// Why Docket paused it (sustained failure); absent when paused by a person.
    pub paused_reason: Option<String>,
    /// The signing secret; shown only when the webhook is created.
    #[serde(skip)]
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    /// Whether an event of this kind goes to this webhook.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.event_types.is_empty() || self.event_types.contains(&kind)
    }
}

/// A fresh signing secret: `whsec_` and 192 random bits in base64.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A checked webhook URL: http or https, with a host, no credentials, and (unless private
/// targets are allowed) not naming a loopback, private or link-local address.
pub fn parse_url(raw: &str, allow_private: bool) -> Result<String, FieldError> {
    let bad = |message: &str| FieldError::new("url", "invalid", message);
    if raw.len() > MAX_URL {
        return Err(bad("a webhook URL has at most 2000 characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("a webhook URL is http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("put credentials in the signing secret, not in the URL"));
    }
    let host = match url.host() {
        Some(h) => h,
        None => return Err(bad("a webhook URL names a host")),
    };
    if !allow_private {
        let refused = match host {
            url::Host::Ipv4(ip) => !is_public(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => !is_public(IpAddr::V6(ip)),
            url::Host::Domain(d) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost") || d.ends_with(".internal")
            }
        };
        if refused {
            return Err(FieldError::new(
                "url",
                "private_target",
                "webhooks may not target loopback, private or link-local addresses",
            ));
        }
    }
    Ok(url.to_string())
}

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), unspecified, multicast, broadcast, documentation, benchmarking
/// (198.18.0.0/15), IETF protocol (192.0.0.0/24) or reserved (240.0.0.0/4) space.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || (a == 192 && b == 0 && c == 0)
                || a >= 240
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link local
        }
    }
}

/// The `webhook-signature` value for a payload: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` keyed with the secret's bytes (Standard Webhooks).
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|s| b64.decode(s).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", b64.encode(mac.finalize().into_bytes()))
}

/// How long to wait after the `attempt`-th failed attempt (1-based) before the next, or
/// `None` when it was the last: 5 s, 1 min, 5 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h, 24 h,
/// 24 h — about three days and three hours from the first attempt to the last.
pub fn retry_delay(schedule: &[Duration], attempt: u32) -> Option<Duration> {
    schedule.get(attempt.checked_sub(1)? as usize).copied()
}

/// The default retry schedule (see [`retry_delay`]).
pub fn default_retry_schedule() -> Vec<Duration> {
    [
        5, 60, 300, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 86400,
    ]
    .into_iter()
    .map(Duration::from_secs)
    .collect()
}

/// Spreads retries of many deliveries that failed together: ±20% of `delay`.
pub fn with_jitter(delay: Duration, unit_random: f64) -> Duration {
    delay.mul_f64(0.8 + 0.4 * unit_random.clamp(0.0, 1.0))
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; `POST …/deliveries` sends it again.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// What an attempt leads to.
#[derive(Clone, Debug, PartialEq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(crate::Timestamp),
    /// The last attempt failed: the delivery is `failed` and the webhook is paused with
    /// this reason (sustained failure).
    GiveUp {
        pause_reason: String,
    },
}

impl AttemptOutcome {
    /// The delivery's state after the attempt, and when it is tried next (only a retry).
    pub fn next_state(&self) -> (DeliveryState, Option<crate::Timestamp>) {
        match self {
            AttemptOutcome::Delivered => (DeliveryState::Delivered, None),
            AttemptOutcome::RetryAt(at) => (DeliveryState::Pending, Some(*at)),
            AttemptOutcome::GiveUp { .. } => (DeliveryState::Failed, None),
        }
    }
}

/// Which due deliveries one claim takes, from `candidates` in the order they are due: at
/// most `limit` in all and at most `per_webhook` of any one webhook, so one busy or slow
/// receiver cannot take every worker's turn.
pub fn fair_share<T>(
    candidates: impl IntoIterator<Item = T>,
    webhook_of: impl Fn(&T) -> WebhookId,
    limit: usize,
    per_webhook: usize,
) -> Vec<T> {
    let mut taken: std::collections::HashMap<WebhookId, usize> = Default::default();
    let mut chosen = Vec::new();
    for c in candidates {
        if chosen.len() >= limit {
            break;
        }
        let n = taken.entry(webhook_of(&c)).or_default();
        if *n < per_webhook {
            *n += 1;
            chosen.push(c);
        }
    }
    chosen
}

/// A change to a webhook; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub event_types: Option<Vec<EventKind>>,
    pub description: Option<String>,
    pub state: Option<WebhookState>,
}

impl WebhookChange {
    /// `w` after the change, at `at`. Changing the state (pausing, or making it active
    /// again) clears the reason Docket paused it.
    pub fn apply(self, mut w: Webhook, at: DateTime<Utc>) -> Webhook {
        if let Some(url) = self.url {
            w.url = url;
        }
        if let Some(types) = self.event_types {
            w.event_types = types;
        }
        if let Some(description) = self.description {
            w.description = description;
        }
        if let Some(state) = self.state {
            if state != w.state {
                w.paused_reason = None;
            }
            w.state = state;
        }
        w.updated_at = at;
        w
    }
}

/// One attempt to deliver: when, what the receiver answered, how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, absent when there was no answer.
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    /// Why it failed, when it did (timeout, refused, non-2xx).
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|c| (200..300).contains(&c))
    }
}

/// One event's delivery to one webhook, with its attempts.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event_id: EventId,
    pub event_type: EventKind,
    pub request_id: RequestId,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_takes_the_oldest_due_up_to_the_limit_and_a_fair_share_per_webhook() {
        let (a, b, c) = (WebhookId::new(), WebhookId::new(), WebhookId::new());
        let due = [
            (a, 1),
            (a, 2),
            (a, 3),
            (b, 4),
            (a, 5),
            (b, 6),
            (b, 7),
            (c, 8),
        ];
        let ids = |v: Vec<(WebhookId, i32)>| v.into_iter().map(|(_, n)| n).collect::<Vec<_>>();
        // Two per webhook: the third and later of a webhook wait, the others go on.
        assert_eq!(ids(fair_share(due, |d| d.0, 10, 2)), [1, 2, 4, 6, 8]);
        // The limit counts only what is taken.
        assert_eq!(ids(fair_share(due, |d| d.0, 3, 2)), [1, 2, 4]);
        assert_eq!(ids(fair_share(due, |d| d.0, 0, 2)), Vec::<i32>::new());
        assert_eq!(ids(fair_share(due, |d| d.0, 10, 1)), [1, 4, 8]);
    }

    #[test]
    fn an_attempt_outcome_sets_the_deliverys_state_and_next_attempt() {
        let at = crate::now();
        assert_eq!(
            AttemptOutcome::Delivered.next_state(),
            (DeliveryState::Delivered, None)
        );
        assert_eq!(
            AttemptOutcome::RetryAt(at).next_state(),
            (DeliveryState::Pending, Some(at))
        );
        let give_up = AttemptOutcome::GiveUp {
            pause_reason: "410 Gone".into(),
        };
        assert_eq!(give_up.next_state(), (DeliveryState::Failed, None));
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name_and_a_new_state_clears_the_pause_reason() {
        let at = crate::now();
        let hook = Webhook {
            id: WebhookId::new(),
            workspace_id: WorkspaceId::new(),
            url: "https://a.example/".into(),
            event_types: vec![EventKind::Created],
            description: "d".into(),
            state: WebhookState::Paused,
            paused_reason: Some("failing".into()),
            secret: generate_secret(),
            created_at: at,
            updated_at: at,
        };
        let later = at + chrono::TimeDelta::seconds(5);
        let renamed = WebhookChange {
            description: Some("e".into()),
            ..Default::default()
        }
        .apply(hook.clone(), later);
        assert_eq!(renamed.description, "e");
        assert_eq!(renamed.paused_reason.as_deref(), Some("failing"));
        assert_eq!(
            (renamed.url.as_str(), renamed.updated_at),
            ("https://a.example/", later)
        );
        let resumed = WebhookChange {
            state: Some(WebhookState::Active),
            event_types: Some(vec![]),
            ..Default::default()
        }
        .apply(hook.clone(), later);
        assert_eq!(
            (resumed.state, resumed.paused_reason),
            (WebhookState::Active, None)
        );
        assert!(resumed.event_types.is_empty());
        let same = WebhookChange {
            state: Some(WebhookState::Paused),
            ..Default::default()
        }
        .apply(hook, later);
        assert_eq!(
            same.paused_reason.as_deref(),
            Some("failing"),
            "no state change, reason kept"
        );
    }

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.10/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:9000/",
            "http://api.localhost/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://198.18.0.1/",
            "http://198.19.255.254/",
            "http://192.0.0.8/",
            "http://240.0.0.1/",
            "http://[2001:db8::1]/",
        ] {
            let e = parse_url(url, false).expect_err(url);
            assert_eq!(e.code, "private_target", "{url}");
            assert!(parse_url(url, true).is_ok(), "{url} when allowed");
        }
        assert!(parse_url("https://hooks.example.com/docket", false).is_ok());
        assert!(parse_url("https://93.184.216.34/x", false).is_ok());
        assert!(parse_url("https://198.20.0.1/x", false).is_ok());
    }

    #[test]
    fn malformed_urls_are_refused() {
        for url in [
            "not a url",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "mailto:ops@example.com",
        ] {
            assert_eq!(
                parse_url(url, true).expect_err(url).code,
                "invalid",
                "{url}"
            );
        }
    }

    #[test]
    fn retries_span_about_three_days() {
        let schedule = default_retry_schedule();
        assert_eq!(retry_delay(&schedule, 1), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(&schedule, 0), None);
        assert_eq!(retry_delay(&schedule, schedule.len() as u32 + 1), None);
        let total: Duration = schedule.iter().sum();
        let hours = total.as_secs_f64() / 3600.0;
        assert!((72.0..80.0).contains(&hours), "{hours} h");
        let d = Duration::from_secs(100);
        assert_eq!(with_jitter(d, 0.0), Duration::from_secs(80));
        assert_eq!(with_jitter(d, 1.0), Duration::from_secs(120));
    }
}
