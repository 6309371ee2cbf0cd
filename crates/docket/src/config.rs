//! The one configuration struct, loaded once from flags, environment and a TOML file.
//!
//! Precedence, highest first: command-line flag, `DOCKET_*` environment variable, the
//! file named by `--config`/`DOCKET_CONFIG`, the default. `docket config` prints the
//! effective configuration as an example file.

use docket_http::Settings;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything `docket serve` can be told.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the embedded database, the mail folder and (by default) file contents live.
    pub data_dir: PathBuf,
    /// `sqlite:PATH` or `postgres://user:password@host/db`; empty for
    /// `<data_dir>/docket.db`.
    pub database_url: Option<String>,
    /// Apply pending PostgreSQL migrations when `serve` starts. Off by default: a schema
    /// shared by several nodes changes when the operator runs `docket migrate`, and
    /// `serve` refuses to start on a schema that is behind. SQLite always migrates on
    /// start.
    pub migrate: bool,
    /// Email of the owner created on first start.
    pub owner_email: String,
    /// Log as JSON lines instead of text.
    pub log_json: bool,
    /// HTTP limits.
    pub http: HttpConfig,
    /// Webhook delivery.
    pub webhooks: WebhookConfig,
    /// Milliseconds between passes of the due-date scheduler (overdue notices, reminders).
    pub scheduler_interval_ms: u64,
    /// Email.
    pub mail: MailConfig,
    /// Where file contents are kept.
    pub files: FilesConfig,
}

/// File contents: a local directory (`<data_dir>/files` by default), or an S3-compatible
/// bucket. With several nodes, use a bucket (or one directory every node mounts): every
/// node must read every node's files.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// `s3://bucket/prefix`, or a directory; unset for `<data_dir>/files`.
    pub url: Option<String>,
    /// The S3 endpoint (MinIO, Ceph, R2, ...); AWS when unset.
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    /// Unset: the standard `AWS_ACCESS_KEY_ID` (and the rest of the `AWS_*` variables).
    pub s3_access_key_id: Option<String>,
    /// Never printed by `docket config`.
    #[serde(skip_serializing)]
    pub s3_secret_access_key: Option<String>,
    /// Accept an `http://` endpoint.
    pub s3_allow_http: bool,
}

/// Email: over SMTP when `smtp_host` is set, else written to `<data_dir>/mail/*.eml`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The `From` address.
    pub from: String,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    /// `none`, `starttls` or `tls`.
    pub smtp_tls: docket_http::settings::SmtpTls,
    pub smtp_username: Option<String>,
    /// Never printed by `docket config`.
    #[serde(skip_serializing)]
    pub smtp_password: Option<String>,
    /// Milliseconds to wait after each failed attempt.
    pub retry_schedule_ms: Vec<u64>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "docket@localhost".into(),
            smtp_host: None,
            smtp_port: 587,
            smtp_tls: docket_http::settings::SmtpTls::Starttls,
            smtp_username: None,
            smtp_password: None,
            retry_schedule_ms: docket_http::settings::default_mail_retry_schedule_ms(),
        }
    }
}

/// Webhook delivery (see `docket_http::Settings`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Allow targets on loopback, private and link-local addresses.
    pub allow_private: bool,
    /// Seconds one attempt may take.
    pub timeout_secs: u64,
    /// Milliseconds to wait after each failed attempt; then the webhook is paused.
    pub retry_schedule_ms: Vec<u64>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            allow_private: s.webhooks_allow_private,
            timeout_secs: s.webhook_timeout_secs,
            retry_schedule_ms: s.webhook_retry_schedule_ms,
        }
    }
}

/// HTTP limits (see `docket_http::Settings`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    /// Seconds a connection may take to send a request's head before it is closed.
    pub header_timeout_secs: u64,
    /// Connections served at once.
    pub max_connections: usize,
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    /// The address people and clients reach Docket at, e.g. `https://desk.example.com`;
    /// public links (`/content_requests/{token}`, `/p/{token}`) are built on it. Defaults
    /// to `http://<listen>`.
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("docket-data"),
            database_url: None,
            migrate: false,
            owner_email: "owner@docket.localhost".into(),
            log_json: false,
            http: HttpConfig::default(),
            webhooks: WebhookConfig::default(),
            scheduler_interval_ms: Settings::default().scheduler_interval_ms,
            mail: MailConfig::default(),
            files: FilesConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            body_limit_bytes: s.body_limit_bytes,
            request_timeout_secs: s.request_timeout_secs,
            header_timeout_secs: s.header_timeout_secs,
            max_connections: s.max_connections,
            rate_limit_per_second: s.rate_limit_per_second,
            rate_limit_burst: s.rate_limit_burst,
            public_url: None,
        }
    }
}

impl Config {
    /// The base public links are built on: the configured public URL, else the listen
    /// address.
    pub fn public_url(&self) -> String {
        self.http
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// What the server is told.
    pub fn settings(&self) -> Settings {
        Settings {
            body_limit_bytes: self.http.body_limit_bytes,
            request_timeout_secs: self.http.request_timeout_secs,
            header_timeout_secs: self.http.header_timeout_secs,
            max_connections: self.http.max_connections,
            rate_limit_per_second: self.http.rate_limit_per_second,
            rate_limit_burst: self.http.rate_limit_burst,
            webhooks_allow_private: self.webhooks.allow_private,
            webhook_timeout_secs: self.webhooks.timeout_secs,
            webhook_retry_schedule_ms: self.webhooks.retry_schedule_ms.clone(),
            scheduler_interval_ms: self.scheduler_interval_ms,
            workers: true,
            mail: Some(docket_http::settings::MailSettings {
                from: self.mail.from.clone(),
                smtp: self
                    .mail
                    .smtp_host
                    .clone()
                    .map(|host| docket_http::settings::SmtpSettings {
                        host,
                        port: self.mail.smtp_port,
                        tls: self.mail.smtp_tls,
                        username: self.mail.smtp_username.clone(),
                        password: self.mail.smtp_password.clone(),
                    }),
                folder: self.data_dir.join("mail"),
                retry_schedule_ms: self.mail.retry_schedule_ms.clone(),
            }),
            public_url: self.public_url(),
            public_url_configured: self.http.public_url.is_some(),
            files: docket_http::settings::FileSettings {
                url: self
                    .files
                    .url
                    .clone()
                    .filter(|u| !u.trim().is_empty())
                    .unwrap_or_else(|| self.data_dir.join("files").to_string_lossy().into_owned()),
                s3: docket_http::settings::S3Settings {
                    endpoint: self.files.s3_endpoint.clone(),
                    region: self.files.s3_region.clone(),
                    access_key_id: self.files.s3_access_key_id.clone(),
                    secret_access_key: self.files.s3_secret_access_key.clone(),
                    allow_http: self.files.s3_allow_http,
                },
                // Read from the database at start (`server_secrets`), shared by every node.
                signing_key: None,
            },
        }
    }
}

/// The settings every command reads: where the configuration and the data are.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Common {
    /// TOML configuration file.
    #[arg(long, env = "DOCKET_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Data directory [default: ./docket-data].
    #[arg(long, env = "DOCKET_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite:PATH` or `postgres://...`) [default: sqlite:<data-dir>/docket.db].
    #[arg(long, env = "DOCKET_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Log as JSON lines.
    #[arg(long, env = "DOCKET_LOG_JSON", global = true)]
    pub log_json: Option<bool>,
}

/// What `serve` (and `config`) may be told beyond [`Common`], by flag or environment (clap
/// reads both); `None` keeps the file's value.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Overrides {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "DOCKET_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Apply pending PostgreSQL migrations on start (`--migrate`, or `--migrate=false`).
    #[arg(long, env = "DOCKET_MIGRATE", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub migrate: Option<bool>,
    /// Owner email for the workspace created on first start.
    #[arg(long, env = "DOCKET_OWNER_EMAIL")]
    pub owner_email: Option<String>,
    /// Largest request body in bytes.
    #[arg(long, env = "DOCKET_BODY_LIMIT_BYTES")]
    pub body_limit_bytes: Option<usize>,
    /// Seconds before a request is abandoned with 408.
    #[arg(long, env = "DOCKET_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Seconds a connection may take to send a request's head before it is closed.
    #[arg(long, env = "DOCKET_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Connections served at once (more wait in the listen backlog).
    #[arg(long, env = "DOCKET_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Sustained requests per second per credential.
    #[arg(long, env = "DOCKET_RATE_LIMIT_PER_SECOND")]
    pub rate_limit_per_second: Option<u32>,
    /// Burst allowance per credential.
    #[arg(long, env = "DOCKET_RATE_LIMIT_BURST")]
    pub rate_limit_burst: Option<u32>,
    /// Let webhooks target loopback and private addresses.
    #[arg(long, env = "DOCKET_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: Option<bool>,
    /// Seconds one webhook attempt may take.
    #[arg(long, env = "DOCKET_WEBHOOK_TIMEOUT_SECS")]
    pub webhook_timeout_secs: Option<u64>,
    /// Milliseconds between failed webhook attempts, comma-separated.
    #[arg(long, env = "DOCKET_WEBHOOK_RETRY_SCHEDULE_MS", value_delimiter = ',')]
    pub webhook_retry_schedule_ms: Option<Vec<u64>>,
    /// Milliseconds between the due-date scheduler's passes.
    #[arg(long, env = "DOCKET_SCHEDULER_INTERVAL_MS")]
    pub scheduler_interval_ms: Option<u64>,
    /// The `From` address of Docket's email.
    #[arg(long, env = "DOCKET_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// SMTP server; without it, email is written to <data-dir>/mail.
    #[arg(long, env = "DOCKET_SMTP_HOST")]
    pub smtp_host: Option<String>,
    #[arg(long, env = "DOCKET_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// none, starttls or tls.
    #[arg(long, env = "DOCKET_SMTP_TLS")]
    pub smtp_tls: Option<docket_http::settings::SmtpTls>,
    #[arg(long, env = "DOCKET_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    #[arg(long, env = "DOCKET_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// Public base URL for links [default: http://<listen>].
    #[arg(long, env = "DOCKET_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Where file contents go: `s3://bucket/prefix`, or a directory [default: <data-dir>/files].
    #[arg(long, env = "DOCKET_FILES_URL")]
    pub files_url: Option<String>,
    /// S3 endpoint for an `s3://` files URL (MinIO, Ceph, R2, ...) [default: AWS].
    #[arg(long, env = "DOCKET_FILES_S3_ENDPOINT")]
    pub files_s3_endpoint: Option<String>,
    #[arg(long, env = "DOCKET_FILES_S3_REGION")]
    pub files_s3_region: Option<String>,
    #[arg(long, env = "DOCKET_FILES_S3_ACCESS_KEY_ID")]
    pub files_s3_access_key_id: Option<String>,
    #[arg(
        long,
        env = "DOCKET_FILES_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub files_s3_secret_access_key: Option<String>,
    /// Accept an `http://` S3 endpoint.
    #[arg(long, env = "DOCKET_FILES_S3_ALLOW_HTTP")]
    pub files_s3_allow_http: Option<bool>,
}

impl Config {
    pub fn load(common: &Common, o: &Overrides) -> anyhow::Result<Self> {
        let mut c = match &common.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        macro_rules! set {
            ($($field:ident).+ <- $value:expr) => {
                if let Some(v) = $value.clone() {
                    c.$($field).+ = v;
                }
            };
        }
        set!(listen <- o.listen);
        set!(data_dir <- common.data_dir);
        set!(owner_email <- o.owner_email);
        set!(log_json <- common.log_json);
        set!(migrate <- o.migrate);
        set!(http.body_limit_bytes <- o.body_limit_bytes);
        set!(http.request_timeout_secs <- o.request_timeout_secs);
        set!(http.header_timeout_secs <- o.header_timeout_secs);
        set!(http.max_connections <- o.max_connections);
        set!(http.rate_limit_per_second <- o.rate_limit_per_second);
        set!(http.rate_limit_burst <- o.rate_limit_burst);
        set!(webhooks.allow_private <- o.webhooks_allow_private);
        set!(webhooks.timeout_secs <- o.webhook_timeout_secs);
        set!(webhooks.retry_schedule_ms <- o.webhook_retry_schedule_ms);
        set!(scheduler_interval_ms <- o.scheduler_interval_ms);
        set!(mail.from <- o.mail_from);
        set!(mail.smtp_port <- o.smtp_port);
        set!(mail.smtp_tls <- o.smtp_tls);
        if o.smtp_host.is_some() {
            c.mail.smtp_host = o.smtp_host.clone();
        }
        if o.smtp_username.is_some() {
            c.mail.smtp_username = o.smtp_username.clone();
        }
        if o.smtp_password.is_some() {
            c.mail.smtp_password = o.smtp_password.clone();
        }
        if o.public_url.is_some() {
            c.http.public_url = o.public_url.clone();
        }
        if c.http.public_url.as_deref().is_some_and(str::is_empty) {
            c.http.public_url = None;
        }
        if common.database_url.is_some() {
            c.database_url = common.database_url.clone();
        }
        for (field, value) in [
            (&mut c.files.url, &o.files_url),
            (&mut c.files.s3_endpoint, &o.files_s3_endpoint),
            (&mut c.files.s3_region, &o.files_s3_region),
            (&mut c.files.s3_access_key_id, &o.files_s3_access_key_id),
            (
                &mut c.files.s3_secret_access_key,
                &o.files_s3_secret_access_key,
            ),
        ] {
            if value.is_some() {
                field.clone_from(value);
            }
        }
        set!(files.s3_allow_http <- o.files_s3_allow_http);
        Ok(c)
    }

    /// `docket config`: the effective configuration as a TOML file `--config` reads, each
    /// setting under a comment saying what it does. The database and files URLs are shown
    /// as they resolve; an unset optional setting is shown commented out, with an example;
    /// secrets are never printed.
    pub fn render(&self) -> anyhow::Result<String> {
        let mut c = self.clone();
        c.database_url
            .get_or_insert_with(|| format!("sqlite:{}", self.data_dir.join("docket.db").display()));
        c.files
            .url
            .get_or_insert_with(|| self.data_dir.join("files").display().to_string());
        let toml::Value::Table(root) = toml::Value::try_from(&c)? else {
            anyhow::bail!("the configuration is not a table");
        };
        let mut out = String::from(
            "# Docket's effective configuration: this file's values, then DOCKET_* variables,\n\
             # then flags. Pass it back with `docket serve --config FILE`.\n",
        );
        let mut section = "";
        for (table, key, doc, example) in CONFIG_DOCS {
            if *table != section {
                section = table;
                out.push_str(&format!("\n[{table}]\n"));
            }
            let value = if table.is_empty() {
                root.get(*key)
            } else {
                root.get(*table).and_then(|t| t.get(*key))
            };
            out.push_str(&format!("\n# {doc}\n"));
            match value {
                Some(v) => out.push_str(&format!("{key} = {v}\n")),
                None => out.push_str(&format!("# {key} = {example}\n")),
            }
        }
        Ok(out)
    }

    pub fn store(&self) -> docket_store::StoreConfig {
        docket_store::StoreConfig {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            migrate: self.migrate,
        }
    }
}

/// Every setting `docket config` prints: its table (`""` for the top level), its key, what
/// it does, and an example for when it is unset. Secrets are left out on purpose.
const CONFIG_DOCS: &[(&str, &str, &str, &str)] = &[
    ("", "listen", "Address to listen on.", "\"127.0.0.1:8080\""),
    ("", "data_dir", "Where the embedded database, the mail folder and (by default) file contents live.", "\"docket-data\""),
    ("", "database_url", "`sqlite:PATH` or `postgres://user:password@host/db`.", "\"sqlite:docket-data/docket.db\""),
    ("", "migrate", "Apply pending PostgreSQL migrations when `serve` starts (SQLite always migrates).", "false"),
    ("", "owner_email", "Email of the owner created on the first start.", "\"owner@docket.localhost\""),
    ("", "log_json", "Log as JSON lines instead of text.", "false"),
    ("", "scheduler_interval_ms", "Milliseconds between passes of the due-date scheduler (overdue notices, reminders).", "30000"),
    ("http", "body_limit_bytes", "Largest request body accepted, in bytes (larger: 413).", "1048576"),
    ("http", "request_timeout_secs", "Seconds a request may take before it is answered 408.", "30"),
    ("http", "header_timeout_secs", "Seconds a connection may take to send a request's head before it is closed.", "10"),
    ("http", "max_connections", "Connections served at once; more wait to be accepted.", "4096"),
    ("http", "rate_limit_per_second", "Requests per second allowed per credential (429 beyond, with Retry-After).", "50"),
    ("http", "rate_limit_burst", "Requests a credential may send at once above the rate.", "200"),
    ("http", "public_url", "The address people reach Docket at; public links and emails are built on it. Unset: http://<listen>, and Gipper's `link_for_copy` is relative.", "\"https://desk.example.com\""),
    ("webhooks", "allow_private", "Allow webhook targets on loopback, private and link-local addresses.", "false"),
    ("webhooks", "timeout_secs", "Seconds one delivery attempt may take.", "10"),
    ("webhooks", "retry_schedule_ms", "Milliseconds to wait after each failed attempt; then the webhook is paused.", "[60000]"),
    ("mail", "from", "The `From` address of every email.", "\"docket@localhost\""),
    ("mail", "smtp_host", "SMTP server; unset: emails are written to <data_dir>/mail/*.eml.", "\"smtp.example.com\""),
    ("mail", "smtp_port", "SMTP port.", "587"),
    ("mail", "smtp_tls", "`none`, `starttls` or `tls`.", "\"starttls\""),
    ("mail", "smtp_username", "SMTP user; the password is DOCKET_SMTP_PASSWORD (never printed).", "\"docket\""),
    ("mail", "retry_schedule_ms", "Milliseconds to wait after each failed send; then the email fails.", "[60000]"),
    ("files", "url", "Where file contents go: a directory, or `s3://bucket/prefix`.", "\"s3://docket-files/production\""),
    ("files", "s3_endpoint", "S3 endpoint (MinIO, Ceph, R2, ...); unset: AWS.", "\"https://minio.internal:9000\""),
    ("files", "s3_region", "S3 region.", "\"eu-west-1\""),
    ("files", "s3_access_key_id", "S3 access key; unset: the standard AWS_* variables. The secret key is DOCKET_FILES_S3_SECRET_ACCESS_KEY (never printed).", "\"AKIA...\""),
    ("files", "s3_allow_http", "Accept an `http://` S3 endpoint.", "false"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// What `docket config` prints is a configuration file that loads back to the same
    /// settings, names every setting there is, and never shows a secret.
    #[test]
    fn the_printed_configuration_loads_back_and_names_every_setting() {
        let mut c = Config::default();
        c.mail.smtp_password = Some("hunter2".into());
        c.files.s3_secret_access_key = Some("s3cret".into());
        c.http.public_url = Some("https://desk.example.com".into());
        let text = c.render().unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("s3cret"),
            "{text}"
        );
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(
            back.http.public_url.as_deref(),
            Some("https://desk.example.com")
        );
        assert_eq!(
            back.database_url.as_deref(),
            Some("sqlite:docket-data/docket.db")
        );
        assert_eq!(back.files.url.as_deref(), Some("docket-data/files"));
        assert_eq!(back.listen, c.listen);
        assert_eq!(back.mail.retry_schedule_ms, c.mail.retry_schedule_ms);

        let toml::Value::Table(all) = toml::Value::try_from(&c).unwrap() else {
            panic!()
        };
        for (key, value) in &all {
            match value {
                toml::Value::Table(t) => {
                    for k in t.keys() {
                        assert!(
                            CONFIG_DOCS.iter().any(|(s, n, ..)| s == key && n == k),
                            "{key}.{k} is not printed"
                        );
                    }
                }
                _ => assert!(
                    CONFIG_DOCS
                        .iter()
                        .any(|(s, n, ..)| s.is_empty() && n == key),
                    "{key} is not printed"
                ),
            }
        }
        // Unset, the public URL is shown commented out, not as a made-up value.
        let text = Config::default().render().unwrap();
        assert!(
            text.contains("\n# public_url = \"https://desk.example.com\"\n"),
            "{text}"
        );
        assert!(text.contains("\n# smtp_host = "), "{text}");
    }
}
