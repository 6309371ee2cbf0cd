//! Where and how to store data: the configuration, the backend its database URL names, and
//! opening that backend once, at start-up.

use crate::{postgres, sqlite, Store};
use std::path::Path;
use std::sync::Arc;

/// Where and how to store data.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `sqlite:PATH`, `postgres://...` / `postgresql://...`, or none for
    /// `<data_dir>/docket.db`.
    pub database_url: Option<String>,
    pub data_dir: std::path::PathBuf,
    /// Apply pending PostgreSQL migrations when opening. SQLite always migrates on open
    /// (one process owns the file); a PostgreSQL schema is shared by every node, so it is
    /// changed only when the operator says so.
    pub migrate: bool,
}

/// The backend a database URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl StoreConfig {
    /// Which backend, from the URL's scheme.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        match self.database_url.as_deref() {
            None | Some("") => Ok(Backend::Sqlite(self.data_dir.join("docket.db"))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Backend::Postgres(url.to_owned()))
            }
            Some(url) => match url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
            {
                Some(path) => Ok(Backend::Sqlite(Path::new(path).to_path_buf())),
                None => anyhow::bail!(
                    "unsupported database URL (expected sqlite:PATH or postgres://...): {}",
                    redact(url)
                ),
            },
        }
    }
}

/// Opens the backend the configuration names. SQLite is migrated to the current schema;
/// PostgreSQL is migrated if `config.migrate`, and otherwise refused while its schema is
/// behind this build (the operator runs `docket migrate`).
pub async fn open(config: &StoreConfig) -> anyhow::Result<Arc<dyn Store>> {
    match config.backend()? {
        Backend::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            Ok(Arc::new(sqlite::SqliteStore::open(&path)?))
        }
        Backend::Postgres(url) => {
            let store = postgres::PgStore::connect(&url).await?;
            if config.migrate {
                store.migrate().await?;
            }
            match store.schema_state().await? {
                postgres::SchemaState::Current => Ok(Arc::new(store)),
                postgres::SchemaState::Behind { pending } => anyhow::bail!(
                    "the PostgreSQL database at {} is behind this docket's schema (pending migrations: {pending:?}); \
                     run `docket migrate` first, or start with `--migrate` (DOCKET_MIGRATE=true)",
                    redact(&url)
                ),
                postgres::SchemaState::Ahead { unknown } => anyhow::bail!(
                    "the PostgreSQL database at {} has migrations this docket does not know ({unknown:?}); upgrade docket",
                    redact(&url)
                ),
            }
        }
    }
}

/// Brings the configured database to the current schema (`docket migrate`).
pub async fn migrate(config: &StoreConfig) -> anyhow::Result<()> {
    open(&StoreConfig {
        migrate: true,
        ..config.clone()
    })
    .await
    .map(drop)
}

/// A database URL with any password removed, for error messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}
