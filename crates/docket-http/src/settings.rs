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
    /// Sustained requests per second allowed per credential.
    pub rate_limit_per_second: u32,
    /// Requests a credential may make in a burst above the sustained rate.
    pub rate_limit_burst: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self { body_limit_bytes: 1024 * 1024, request_timeout_secs: 30, rate_limit_per_second: 50, rate_limit_burst: 200 }
    }
}

impl Settings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }
}
