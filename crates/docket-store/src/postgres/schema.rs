//! The PostgreSQL schema: the embedded migrations, how far a database is from them, and
//! applying them (`docket migrate`; `serve` never migrates silently).

use super::PgStore;
use anyhow::Context as _;
use sqlx::migrate::Migrator;
use std::collections::BTreeSet;

/// The PostgreSQL migrations, embedded at build time. Never edit one that has landed: add
/// the next.
pub static MIGRATOR: Migrator = sqlx::migrate!("src/postgres/migrations");

/// How far the database's schema is from this build's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaState {
    Current,
    /// Migrations this build has that the database has not applied.
    Behind {
        pending: Vec<i64>,
    },
    /// The database has migrations this build does not know: a newer Docket ran on it.
    Ahead {
        unknown: Vec<i64>,
    },
}

impl PgStore {
    /// Applies every pending migration. Safe to run from several nodes at once: sqlx holds
    /// an advisory lock while it migrates.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        if let SchemaState::Ahead { unknown } = self.schema_state().await? {
            anyhow::bail!(
                "the database has migrations {unknown:?} this docket does not know; upgrade docket"
            );
        }
        MIGRATOR
            .run(&self.pool)
            .await
            .context("applying PostgreSQL migrations")?;
        Ok(())
    }

    /// Compares the migrations the database has applied with this build's.
    pub async fn schema_state(&self) -> anyhow::Result<SchemaState> {
        let table: Option<String> =
            sqlx::query_scalar("select to_regclass('_sqlx_migrations')::text")
                .fetch_one(&self.pool)
                .await?;
        let applied: BTreeSet<i64> = match table {
            None => BTreeSet::new(),
            Some(_) => sqlx::query_scalar("select version from _sqlx_migrations where success")
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .collect(),
        };
        let known: BTreeSet<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        let unknown: Vec<i64> = applied.difference(&known).copied().collect();
        if !unknown.is_empty() {
            return Ok(SchemaState::Ahead { unknown });
        }
        let pending: Vec<i64> = known.difference(&applied).copied().collect();
        Ok(if pending.is_empty() {
            SchemaState::Current
        } else {
            SchemaState::Behind { pending }
        })
    }
}
