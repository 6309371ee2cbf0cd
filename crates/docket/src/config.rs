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
    /// Where the embedded database (and later, files) live.
    pub data_dir: PathBuf,
    /// `sqlite:PATH`; empty for `<data_dir>/docket.db`.
    pub database_url: Option<String>,
    /// Email of the owner created on first start.
    pub owner_email: String,
    /// Log as JSON lines instead of text.
    pub log_json: bool,
    /// HTTP limits.
    pub http: HttpConfig,
}

/// HTTP limits (see `docket_http::Settings`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("docket-data"),
            database_url: None,
            owner_email: "owner@docket.localhost".into(),
            log_json: false,
            http: HttpConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            body_limit_bytes: s.body_limit_bytes,
            request_timeout_secs: s.request_timeout_secs,
            rate_limit_per_second: s.rate_limit_per_second,
            rate_limit_burst: s.rate_limit_burst,
        }
    }
}

impl HttpConfig {
    pub fn settings(&self) -> Settings {
        Settings {
            body_limit_bytes: self.body_limit_bytes,
            request_timeout_secs: self.request_timeout_secs,
            rate_limit_per_second: self.rate_limit_per_second,
            rate_limit_burst: self.rate_limit_burst,
        }
    }
}

/// Overrides from flags and environment (clap reads both); `None` keeps the file's value.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Overrides {
    /// TOML configuration file.
    #[arg(long, env = "DOCKET_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "DOCKET_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// Data directory [default: ./docket-data].
    #[arg(long, env = "DOCKET_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite:PATH`).
    #[arg(long, env = "DOCKET_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Owner email for the workspace created on first start.
    #[arg(long, env = "DOCKET_OWNER_EMAIL", global = true)]
    pub owner_email: Option<String>,
    /// Log as JSON lines.
    #[arg(long, env = "DOCKET_LOG_JSON", global = true)]
    pub log_json: Option<bool>,
    /// Largest request body in bytes.
    #[arg(long, env = "DOCKET_BODY_LIMIT_BYTES", global = true)]
    pub body_limit_bytes: Option<usize>,
    /// Seconds before a request is abandoned with 408.
    #[arg(long, env = "DOCKET_REQUEST_TIMEOUT_SECS", global = true)]
    pub request_timeout_secs: Option<u64>,
    /// Sustained requests per second per credential.
    #[arg(long, env = "DOCKET_RATE_LIMIT_PER_SECOND", global = true)]
    pub rate_limit_per_second: Option<u32>,
    /// Burst allowance per credential.
    #[arg(long, env = "DOCKET_RATE_LIMIT_BURST", global = true)]
    pub rate_limit_burst: Option<u32>,
}

impl Config {
    pub fn load(o: &Overrides) -> anyhow::Result<Self> {
        let mut c = match &o.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
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
        set!(data_dir <- o.data_dir);
        set!(owner_email <- o.owner_email);
        set!(log_json <- o.log_json);
        set!(http.body_limit_bytes <- o.body_limit_bytes);
        set!(http.request_timeout_secs <- o.request_timeout_secs);
        set!(http.rate_limit_per_second <- o.rate_limit_per_second);
        set!(http.rate_limit_burst <- o.rate_limit_burst);
        if o.database_url.is_some() {
            c.database_url = o.database_url.clone();
        }
        Ok(c)
    }

    pub fn store(&self) -> docket_store::StoreConfig {
        docket_store::StoreConfig { database_url: self.database_url.clone(), data_dir: self.data_dir.clone() }
    }
}
