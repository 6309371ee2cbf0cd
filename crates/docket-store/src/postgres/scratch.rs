//! Throw-away PostgreSQL schemas for tests (feature `conformance`).
//!
//! A schema per test, not a database per test: `create schema` is a catalog insert, while
//! `create database` copies a template and costs a checkpoint's worth of I/O. The
//! connection URL carries `options=-c search_path=<schema>`, so every connection Docket
//! opens with it (in this process or in a `docket serve` child) sees only that schema.

use anyhow::Context as _;
use sqlx::{Connection, PgConnection};

/// The server tests use: `DOCKET_TEST_PG_URL`, or a local `postgres` superuser.
pub fn test_base_url() -> String {
    std::env::var("DOCKET_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A freshly created, empty schema, dropped (with everything in it) when this is dropped.
#[derive(Debug)]
pub struct ScratchSchema {
    base_url: String,
    name: String,
    url: String,
}

impl ScratchSchema {
    /// Creates `docket_test_<random>` on the server `base_url` names.
    pub async fn create(base_url: &str) -> anyhow::Result<Self> {
        let name = format!("docket_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(base_url)
            .await
            .with_context(|| format!("connecting to {}", crate::redact(base_url)))?;
        sqlx::query(&format!("create schema {name}"))
            .execute(&mut conn)
            .await
            .context("creating a scratch schema")?;
        conn.close().await?;
        let sep = if base_url.contains('?') { '&' } else { '?' };
        // The application name marks every connection of the test, so the cleanup can end
        // them (see `Drop`).
        let url =
            format!("{base_url}{sep}application_name={name}&options=-c%20search_path%3D{name}");
        Ok(Self {
            base_url: base_url.to_owned(),
            name,
            url,
        })
    }

    /// Creates one on [`test_base_url`].
    pub async fn for_tests() -> anyhow::Result<Self> {
        Self::create(&test_base_url()).await
    }

    /// A URL whose connections use only this schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        let (base_url, name) = (self.base_url.clone(), self.name.clone());
        // Drop may run inside a Tokio runtime, which cannot block on a future: clean up
        // on a thread of our own, and wait for it so no schema outlives its test.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&base_url).await?;
                // The test's own connections may still be open, even mid-transaction: this
                // runs while the test's runtime is blocked in this drop, so they cannot
                // finish. End them, or `drop schema` would wait on their locks.
                sqlx::query(
                    "select pg_terminate_backend(pid) from pg_stat_activity
                     where application_name = $1 and pid <> pg_backend_pid()",
                )
                .bind(&name)
                .execute(&mut conn)
                .await?;
                sqlx::query("set lock_timeout = '30s'")
                    .execute(&mut conn)
                    .await?;
                sqlx::query(&format!("drop schema if exists {name} cascade"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
                anyhow::Ok(())
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop scratch schema {}: {e:#}", self.name),
            Err(_) => eprintln!("dropping scratch schema {} panicked", self.name),
        }
    }
}
