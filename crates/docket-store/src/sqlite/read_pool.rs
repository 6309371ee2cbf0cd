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
}

impl ReadPool {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
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
}
