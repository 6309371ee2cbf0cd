//! The single writer thread and its group commit.
//!
//! SQLite allows one writer at a time, and a durable commit costs an fsync (about 130 µs
//! here), so one transaction per request would cap Docket near 4 500 writes/s. Instead
//! every write is a job sent to one thread, which takes all the jobs waiting, runs each in
//! its own savepoint inside one transaction, commits once, and only then answers each
//! caller. A job that fails rolls back to its savepoint without disturbing the others; if
//! the commit itself fails, every job in the batch is told so. A caller is answered
//! success only after the commit (and its fsync) returned.

use super::internal;
use crate::{Result, StoreError};
use rusqlite::Connection;
use std::panic::AssertUnwindSafe;
use tokio::sync::{mpsc, oneshot};

/// Runs inside the transaction; returns whether it failed and how to answer its caller
/// once the batch's fate is known.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Enough to amortise one fsync over many writes, small enough to answer promptly.
const MAX_BATCH: usize = 512;

/// The handle writes are sent through; cloning it is cheap.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`. The thread ends once every `Writer` is dropped
    /// and the queued jobs are done.
    pub(crate) fn start(conn: Connection) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>(4096);
        std::thread::Builder::new().name("docket-sqlite-writer".into()).spawn(move || run(conn, rx))?;
        Ok(Self { jobs })
    }

    /// Runs `f` inside the next group transaction and returns its result once committed.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|_| Err(internal("a write panicked")));
            let failed = result.is_err();
            let reply: Reply = Box::new(move |commit| {
                let answer = match commit {
                    Ok(()) => result,
                    // A job that failed on its own keeps its own error.
                    Err(_) if failed => result,
                    Err(e) => Err(internal(format!("commit failed: {e}"))),
                };
                let _ = tx.send(answer);
            });
            (failed, reply)
        });
        self.jobs.send(job).await.map_err(|_| internal("the writer has stopped"))?;
        rx.await.map_err(|_| internal("the writer stopped before answering"))?
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("begin immediate") {
            // Dropping the jobs unrun drops their answer channels: each caller gets an
            // internal error and nothing was written.
            tracing::error!(error = %e, jobs = batch.len(), "could not begin a write transaction");
            continue;
        }
        let mut replies = Vec::with_capacity(batch.len());
        for job in batch {
            let savepoint = exec(&conn, "savepoint job");
            let (failed, reply) = job(&conn);
            let closed = if failed || savepoint.is_err() {
                exec(&conn, "rollback to job").and_then(|_| exec(&conn, "release job"))
            } else {
                exec(&conn, "release job")
            };
            if let Err(e) = closed {
                tracing::error!(error = %e, "could not close a savepoint");
            }
            replies.push(reply);
        }
        let commit = exec(&conn, "commit").map_err(|e| e.to_string());
        if let Err(e) = &commit {
            tracing::error!(error = %e, "group commit failed");
            let _ = conn.execute_batch("rollback");
        }
        for reply in replies {
            reply(commit.clone());
        }
    }
    tracing::debug!("sqlite writer stopped");
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Internal(anyhow::Error::new(e))
    }
}
