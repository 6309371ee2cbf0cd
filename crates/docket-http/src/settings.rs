//! The server's settings: what the HTTP layer needs to know, with production defaults.

use serde::Deserialize;
use std::time::Duration;

/// Limits and knobs of the HTTP server. The binary fills this from flags, environment and
/// the configuration file; tests build it directly.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Largest request body accepted, in bytes (413 beyond).
    pub body_limit_bytes: usize,
    /// A request still running after this many seconds is abandoned with 408.
    pub request_timeout_secs: u64,
    /// A connection that has not sent a request's whole head within this many seconds is
    /// closed (slow clients that hold connections open, "slowloris").
    pub header_timeout_secs: u64,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Sustained requests per second allowed per credential.
    pub rate_limit_per_second: u32,
    /// Requests a credential may make in a burst above the sustained rate.
    pub rate_limit_burst: u32,
    /// Let webhooks target loopback, private and link-local addresses (a receiver on the
    /// same host or network). Off by default: a webhook URL must not reach internal
    /// services.
    pub webhooks_allow_private: bool,
    /// Seconds one delivery attempt may take before it counts as failed.
    pub webhook_timeout_secs: u64,
    /// Waits between failed attempts, in milliseconds; after the last one the delivery
    /// fails and the webhook is paused. Default: 5 s, 1 min, 5 min, 30 min, 1 h, 2 h, 4 h,
    /// 8 h, 12 h, 24 h, 24 h (about three days).
    pub webhook_retry_schedule_ms: Vec<u64>,
    /// Milliseconds between the due-date scheduler's passes (overdue notices and
    /// reminders).
    pub scheduler_interval_ms: u64,
    /// Run the background workers (webhook delivery, the due-date scheduler, email) in
    /// this process.
    pub workers: bool,
    /// Email; `None` sends none (messages stay queued).
    pub mail: Option<MailSettings>,
    /// Base URL public links are built on (`https://desk.example.com`), without a
    /// trailing slash. Empty makes links relative (`/content_requests/{token}`).
    pub public_url: String,
    /// Whether the operator named the public URL (`public_url` is otherwise the listen
    /// address): Gipper's `link_for_copy` is relative unless one is configured, as on
    /// Gipper's page.
    pub public_url_configured: bool,
    /// Where file contents are kept, and the key download URLs are signed with.
    pub files: FileSettings,
}

/// Where file contents are kept (see `crate::files`).
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileSettings {
    /// `s3://bucket/prefix` for an S3-compatible store; anything else is a local directory
    /// (a path, or `file:///path`), created if missing.
    pub url: String,
    /// How to reach the S3 store (used with an `s3://` URL). What is left unset comes from
    /// the standard `AWS_*` environment variables.
    pub s3: S3Settings,
    /// The key download URLs are signed with. `None` (the normal case): the one kept in the
    /// database (`server_secrets`), made at first start and shared by every node, which
    /// `launch` reads.
    #[serde(skip)]
    pub signing_key: Option<Vec<u8>>,
}

/// An S3-compatible store: AWS, or MinIO, Ceph, R2, moto... with an endpoint.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// `https://minio.internal:9000`; AWS when unset.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Accept an `http://` endpoint (a store on the same host or network).
    pub allow_http: bool,
}

impl Default for FileSettings {
    fn default() -> Self {
        Self {
            url: "docket-data/files".into(),
            s3: S3Settings::default(),
            signing_key: None,
        }
    }
}

/// Secrets are never printed.
impl std::fmt::Debug for FileSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSettings")
            .field("url", &self.url)
            .field("s3", &self.s3)
            .field("signing_key", &self.signing_key.as_ref().map(|_| "***"))
            .finish()
    }
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// How email leaves Docket.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// The `From` address.
    pub from: String,
    /// The SMTP server; without one, messages are written to `folder` as `.eml` files.
    pub smtp: Option<SmtpSettings>,
    /// Where messages go when there is no SMTP server.
    pub folder: std::path::PathBuf,
    /// Milliseconds to wait after each failed attempt (a temporary SMTP refusal or an
    /// unreachable server); after the last the message fails.
    pub retry_schedule_ms: Vec<u64>,
}

/// An SMTP server.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

impl std::str::FromStr for SmtpTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(SmtpTls::None),
            "starttls" => Ok(SmtpTls::Starttls),
            "tls" => Ok(SmtpTls::Tls),
            _ => Err(format!("SMTP TLS is none, starttls or tls, not {s:?}")),
        }
    }
}

/// Waits between failed email attempts: 1 min, 5 min, 30 min, 2 h, 6 h.
pub fn default_mail_retry_schedule_ms() -> Vec<u64> {
    vec![60_000, 300_000, 1_800_000, 7_200_000, 21_600_000]
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            header_timeout_secs: 10,
            max_connections: 4096,
            rate_limit_per_second: 50,
            rate_limit_burst: 200,
            webhooks_allow_private: false,
            webhook_timeout_secs: 10,
            webhook_retry_schedule_ms: docket_domain::webhook::default_retry_schedule()
                .iter()
                .map(|d| d.as_millis() as u64)
                .collect(),
            scheduler_interval_ms: 30_000,
            workers: true,
            mail: None,
            public_url: String::new(),
            public_url_configured: false,
            files: FileSettings::default(),
        }
    }
}

impl Settings {
    /// `path` (starting with `/`) under the public base URL.
    pub fn public_link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs.max(1))
    }

    pub fn webhook_timeout(&self) -> Duration {
        Duration::from_secs(self.webhook_timeout_secs.max(1))
    }

    pub fn webhook_retry_schedule(&self) -> Vec<Duration> {
        self.webhook_retry_schedule_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect()
    }
}
