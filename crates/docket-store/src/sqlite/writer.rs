//! The single writer thread and its group commit.
//!
//! SQLite allows one writer at a time, and a durable commit costs an fsync (about 130 µs
//! here), so one transaction per request would cap Docket near 4 500 writes/s. Instead
//! every write is a job sent to one thread, which takes all the jobs waiting, runs them
//! one after another inside one transaction, commits once, and only then answers each
//! caller. A caller is answered success only after the commit (and its fsync) returned.
//!
//! Jobs do not get a savepoint each (that cost a sixth of the status-change throughput).
//! Instead every job keeps one rule: it refuses (a `DomainError`: stale version, invalid
//! move, taken key, unknown member) before its first write, or by a statement that wrote
//! nothing (SQLite undoes a failed statement). The writer checks the rule with SQLite's
//! change counter: a job that failed without changing a row leaves the batch intact; a
//! job that failed after changing rows (a bug, or a disk error) poisons the transaction,
//! which is rolled back whole: every job already run in it is answered with an internal
//! error (nothing of theirs was written), and the jobs not yet run go on to the next
//! batch.

use super::errors::internal;
use crate::{Result, StoreError};
use rusqlite::Connection;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use tokio::sync::{mpsc, oneshot};

/// Runs inside the transaction; returns whether it failed and how to answer its caller
/// once the batch's fate is known.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Told when a batch's transaction begins, when one is rolled back and when a batch's
/// callers have been answered: caches the writer keeps are checked once per batch and
/// dropped when what they saw is undone, and checkpoints run between batches.
pub(crate) type BatchHook = Box<dyn FnMut(&Connection, BatchEdge) + Send>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BatchEdge {
    Begun,
    RolledBack,
    Answered,
}

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
    pub(crate) fn start(conn: Connection, hook: BatchHook) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>(4096);
        std::thread::Builder::new()
            .name("docket-sqlite-writer".into())
            .spawn(move || run(conn, rx, hook))?;
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
        self.jobs
            .send(job)
            .await
            .map_err(|_| internal("the writer has stopped"))?;
        rx.await
            .map_err(|_| internal("the writer stopped before answering"))?
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Job>, mut hook: BatchHook) {
    // Jobs carried over from a batch that was rolled back before they ran.
    let mut carried: VecDeque<Job> = VecDeque::new();
    loop {
        let mut batch: VecDeque<Job> = std::mem::take(&mut carried);
        if batch.is_empty() {
            match rx.blocking_recv() {
                Some(first) => batch.push_back(first),
                None => break,
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push_back(job),
                Err(_) => break,
            }
        }
        if let Err(e) = exec(&conn, "begin immediate") {
            // Dropping the jobs unrun drops their answer channels: each caller gets an
            // internal error and nothing was written.
            tracing::error!(error = %e, jobs = batch.len(), "could not begin a write transaction");
            continue;
        }
        hook(&conn, BatchEdge::Begun);
        let mut replies = Vec::with_capacity(batch.len());
        let mut poisoned = false;
        while let Some(job) = batch.pop_front() {
            let before = conn.total_changes();
            let (failed, reply) = job(&conn);
            replies.push(reply);
            if failed && conn.total_changes() != before {
                tracing::error!("a write failed after changing rows; rolling back its batch");
                poisoned = true;
                break;
            }
        }
        carried = batch;
        let commit = if poisoned {
            let _ = conn.execute_batch("rollback");
            hook(&conn, BatchEdge::RolledBack);
            Err("the transaction was rolled back".to_owned())
        } else {
            let commit = exec(&conn, "commit").map_err(|e| e.to_string());
            if let Err(e) = &commit {
                tracing::error!(error = %e, "group commit failed");
                let _ = conn.execute_batch("rollback");
                hook(&conn, BatchEdge::RolledBack);
            }
            commit
        };
        for reply in replies {
            reply(commit.clone());
        }
        hook(&conn, BatchEdge::Answered);
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

#[cfg(test)]
mod tests {
    use super::Writer;
    use crate::{Result, StoreError};
    use docket_domain::DomainError;
    use rusqlite::Connection;
    use std::time::Duration;

    fn writer() -> (Writer, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        conn.execute_batch("pragma journal_mode = wal; create table t (v text primary key);")
            .expect("schema");
        (
            Writer::start(conn, Box::new(|_, _| {})).expect("start"),
            dir,
        )
    }

    fn insert(v: &'static str) -> impl FnOnce(&Connection) -> Result<()> + Send {
        move |c| {
            c.execute("insert into t (v) values (?1)", [v])?;
            Ok(())
        }
    }

    fn refuse(c: &Connection) -> Result<()> {
        let _: i64 = c.query_row("select count(*) from t", [], |r| r.get(0))?;
        Err(DomainError::NotFound("thing").into())
    }

    fn insert_then_fail(c: &Connection) -> Result<()> {
        c.execute("insert into t (v) values ('half')", [])?;
        Err(DomainError::NotFound("thing").into())
    }

    async fn stored(w: &Writer) -> Vec<String> {
        w.write(|c| {
            let mut stmt = c.prepare("select v from t order by v")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
        .expect("read")
    }

    /// Holds the writer busy so the jobs sent meanwhile form one batch.
    fn hold(w: &Writer) -> tokio::task::JoinHandle<Result<()>> {
        let w = w.clone();
        tokio::spawn(async move {
            w.write(|_| {
                std::thread::sleep(Duration::from_millis(200));
                Ok(())
            })
            .await
        })
    }

    fn send<F>(w: &Writer, f: F) -> tokio::task::JoinHandle<Result<()>>
    where
        F: FnOnce(&Connection) -> Result<()> + Send + 'static,
    {
        let w = w.clone();
        tokio::spawn(async move { w.write(f).await })
    }

    #[tokio::test]
    async fn a_refusal_before_writing_leaves_the_rest_of_the_batch_committed() {
        let (w, _dir) = writer();
        let held = hold(&w);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let a = send(&w, insert("a"));
        tokio::time::sleep(Duration::from_millis(10)).await;
        let refused = send(&w, refuse);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let b = send(&w, insert("b"));
        held.await.unwrap().expect("held");
        a.await.unwrap().expect("a committed");
        assert!(matches!(
            refused.await.unwrap(),
            Err(StoreError::Domain(DomainError::NotFound(_)))
        ));
        b.await.unwrap().expect("b committed");
        assert_eq!(stored(&w).await, ["a", "b"]);
    }

    #[tokio::test]
    async fn a_failure_after_writing_rolls_back_its_batch_and_later_jobs_still_run() {
        let (w, _dir) = writer();
        let held = hold(&w);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let a = send(&w, insert("a"));
        tokio::time::sleep(Duration::from_millis(10)).await;
        let half = send(&w, insert_then_fail);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let b = send(&w, insert("b"));
        held.await.unwrap().expect("held");
        assert!(
            matches!(a.await.unwrap(), Err(StoreError::Internal(_))),
            "a ran in the poisoned batch: told it failed"
        );
        assert!(
            matches!(half.await.unwrap(), Err(StoreError::Domain(_))),
            "the failing job keeps its own error"
        );
        b.await.unwrap().expect("b ran in the next batch");
        assert_eq!(
            stored(&w).await,
            ["b"],
            "nothing of the rolled-back batch stays"
        );
    }
}
