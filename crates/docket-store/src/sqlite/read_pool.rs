//! A small pool of read-only connections. WAL lets them read while the writer commits.

use crate::Result;
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;

/// Idle connections kept; more are opened under load and closed when returned.
const KEEP: usize = 16;

pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Permits for reads run off the async workers ([`ReadPool::with_blocking`]): one per
    /// CPU and one more. Without a bound, 64 concurrent lists ran on 64 blocking threads:
    /// the async worker that parses requests and writes responses got a 65th of the CPU,
    /// and every thread's caches went cold. On one CPU, two permits served 6 550–6 870
    /// lists/s with a p99 of 15–16 ms; 64 served 4 270–4 460/s with a p99 of 102–307 ms,
    /// and 4 or 8 permits 5 430–5 550/s.
    blocking: tokio::sync::Semaphore,
}

impl ReadPool {
    pub(crate) fn new(path: PathBuf) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            path,
            idle: Mutex::new(Vec::new()),
            blocking: tokio::sync::Semaphore::new(cpus + 1),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute_batch("pragma busy_timeout = 5000; pragma query_only = on; pragma mmap_size = 268435456; pragma cache_size = -16384;")?;
        Ok(conn)
    }

    /// Runs `f` on an idle connection (or a new one) and returns the connection after.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = self.idle.lock().pop();
        let conn = match idle {
            Some(c) => c,
            None => self.open()?,
        };
        let out = f(&conn);
        let mut idle = self.idle.lock();
        if idle.len() < KEEP {
            idle.push(conn);
        }
        out
    }

    /// Runs `f` like [`ReadPool::with`], on tokio's blocking threads: for reads long
    /// enough to stall the requests sharing an async worker.
    pub(crate) async fn with_blocking<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .blocking
            .acquire()
            .await
            .map_err(super::errors::internal)?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|e| super::errors::internal(format!("read task failed: {e}")))?
    }
}
