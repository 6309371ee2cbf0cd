//! WAL checkpoints on their own thread, so no write waits for one.
//!
//! SQLite's automatic checkpoint runs inside the commit that takes the WAL past its
//! threshold: that commit copies every page the WAL holds into the database file and
//! syncs it before it returns. In the status-change benchmark that happened about five
//! times a second: the writer copied for 2.7–8.3 ms, then waited for the disk, while
//! every caller waited for it (the p99 was 27–36 ms), and the CPU idled for about 5% of
//! the run (BENCHMARKS.md, seventh session).
//!
//! Here a checkpointer thread with its own connection copies the WAL into the database
//! while the writer goes on committing. One thing it cannot do is restart the WAL: SQLite
//! writes from the start of the WAL again only when a write begins with every frame
//! copied, and under steady writes the writer has always added frames a pass did not
//! copy. So the writer finishes the job: between two batches, once a pass has left only
//! a few frames uncopied, it copies those itself (a short copy and one sync), and its
//! next commit starts the WAL over. A pass that left many frames is followed by another.
//! If the passes cannot keep up, the writer checkpoints in full at a hard limit, as
//! SQLite would have.
//!
//! Durability is SQLite's own: the checkpointer's connection runs with `synchronous =
//! full`, so a pass syncs the database file before it records the frames as copied.

use parking_lot::Mutex;
use rusqlite::{ffi, Connection};
use std::ffi::{c_char, c_int, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

/// When the checkpoints start and when the writer takes over, in WAL frames (a frame is a
/// page, 4 KiB, plus 24 bytes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    /// A pass starts once the WAL holds this many frames (64 MiB). Status-change runs
    /// served 31 100-31 200/s with 16 000, 30 100-30 500/s with 8 000 (the automatic
    /// checkpoint's threshold before) and 29 000-30 000/s with 4 000; 32 000 was no
    /// better than 16 000. A longer WAL copies a page changed many times once, but makes
    /// every page lookup search a longer WAL index.
    pub start_at: i64,
    /// The writer copies what a pass left if it is at most this many frames.
    pub finish_at_most: i64,
    /// Past this, the writer checkpoints in full itself whenever no pass is running.
    pub hard_limit: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            start_at: 16_000,
            finish_at_most: 500,
            hard_limit: 64_000,
        }
    }
}

/// The writer's side: told after every answered batch, it starts passes and finishes them.
pub(crate) struct Checkpoints {
    policy: Policy,
    /// Frames in the WAL after the writer's last commit, from SQLite's WAL hook.
    frames: &'static AtomicI64,
    shared: Arc<Shared>,
    wake: mpsc::SyncSender<()>,
}

#[derive(Default)]
struct Shared {
    running: AtomicBool,
    /// What the last pass left: the frames in the WAL then, and how many it had copied.
    finished: Mutex<Option<(i64, i64)>>,
}

impl Checkpoints {
    /// Takes over checkpointing from `writer` (turning its automatic checkpoint off) and
    /// starts the checkpointer thread on its own connection to the database at `path`.
    ///
    /// What a pass leaves uncopied when writes stop waits for the next write. Readers do
    /// not pay for it: SQLite searches only the WAL frames after the last copied one.
    pub(crate) fn start(writer: &Connection, path: &Path, policy: Policy) -> anyhow::Result<Self> {
        let conn = Connection::open(path)?;
        conn.execute_batch("pragma synchronous = full; pragma busy_timeout = 5000;")?;
        let frames = install_wal_hook(writer);
        let shared = Arc::new(Shared::default());
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("docket-sqlite-checkpoint".into())
            .spawn(move || {
                lower_priority();
                // Ends when the writer's side is dropped.
                while woken.recv().is_ok() {
                    match passive_checkpoint(&conn) {
                        Ok(result) => *thread_shared.finished.lock() = Some(result),
                        Err(e) => tracing::warn!(error = %e, "a WAL checkpoint failed"),
                    }
                    thread_shared.running.store(false, Ordering::Release);
                }
            })?;
        Ok(Self {
            policy,
            frames,
            shared,
            wake,
        })
    }

    /// Called by the writer between batches, after the last one was answered.
    pub(crate) fn after_batch(&self, writer: &Connection) {
        let frames = self.frames.load(Ordering::Relaxed);
        if self.shared.running.load(Ordering::Acquire) {
            return;
        }
        let finished = self.shared.finished.lock().take();
        if let Some((log, copied)) = finished {
            // A log shorter than at the pass means the WAL has started over since.
            if frames >= log && frames - copied <= self.policy.finish_at_most {
                self.finish(writer);
                return;
            }
        }
        if frames >= self.policy.hard_limit {
            self.finish(writer);
        } else if frames >= self.policy.start_at {
            self.shared.running.store(true, Ordering::Release);
            if self.wake.try_send(()).is_err() {
                self.shared.running.store(false, Ordering::Release);
            }
        }
    }

    /// Copies the rest of the WAL on the writer's connection.
    fn finish(&self, writer: &Connection) {
        match passive_checkpoint(writer) {
            // Readers still on older frames can keep some uncopied: the next batch tries again.
            Ok(result) => *self.shared.finished.lock() = Some(result),
            Err(e) => tracing::warn!(error = %e, "a WAL checkpoint failed"),
        }
    }
}

/// Gives the calling thread the lowest CPU priority (`nice` 19). A pass is never urgent:
/// the WAL only grows meanwhile, up to the hard limit. At the lowest priority it runs
/// mostly while the CPU would otherwise idle, waiting for a commit's sync: on one CPU,
/// status changes kept it busy 96% of the time instead of 91%, and served 32 150-32 200/s
/// instead of 31 070-31 360/s (interleaved runs).
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: plain system calls on the calling thread, with no pointers. On Linux a
    // thread's nice value is its own, so this leaves the other threads alone.
    let failed = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19) != 0
    };
    if failed {
        tracing::debug!("could not lower the checkpoint thread's priority");
    }
}

/// Elsewhere `setpriority` would apply to the whole process: the thread keeps its priority.
#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// Runs a passive checkpoint (it never waits for readers or the writer); returns the
/// frames in the WAL and how many of them are now copied into the database.
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("pragma wal_checkpoint(passive)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

/// Replaces SQLite's automatic checkpoint on `conn` with a hook that records the WAL's
/// length after each commit; returns where it is recorded.
fn install_wal_hook(conn: &Connection) -> &'static AtomicI64 {
    // One small allocation per opened store, kept for the life of the process: the hook
    // may be called as long as the connection lives, which this module does not control.
    let frames: &'static AtomicI64 = Box::leak(Box::new(AtomicI64::new(0)));
    unsafe extern "C" fn record(
        ctx: *mut c_void,
        _db: *mut ffi::sqlite3,
        _name: *const c_char,
        frames: c_int,
    ) -> c_int {
        // SAFETY: `ctx` is the leaked `AtomicI64` passed below, which is never freed.
        let counter = unsafe { &*(ctx as *const AtomicI64) };
        counter.store(i64::from(frames), Ordering::Relaxed);
        ffi::SQLITE_OK
    }
    // SAFETY: the handle is the live connection's; the context pointer stays valid forever.
    unsafe {
        ffi::sqlite3_wal_hook(
            conn.handle(),
            Some(record),
            frames as *const AtomicI64 as *mut c_void,
        );
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::{Checkpoints, Policy};
    use rusqlite::Connection;
    use std::path::Path;
    use std::sync::atomic::Ordering;

    fn wal_frames(path: &Path) -> u64 {
        let wal = path.with_extension("db-wal");
        std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0) / (4096 + 24)
    }

    #[test]
    fn the_wal_starts_over_under_steady_writes_and_nothing_is_lost() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).expect("open");
        writer
            .execute_batch(
                "pragma journal_mode = wal; pragma synchronous = full;
                 create table t (k integer primary key, v blob);",
            )
            .expect("schema");
        let policy = Policy {
            start_at: 200,
            finish_at_most: 50,
            hard_limit: 2000,
        };
        let checkpoints = Checkpoints::start(&writer, &path, policy).expect("start");
        let mut longest = 0;
        for i in 0..3000i64 {
            // Each commit adds a few frames: one new row of a page's size.
            writer
                .execute("insert into t (k, v) values (?1, zeroblob(3000))", [i])
                .expect("insert");
            checkpoints.after_batch(&writer);
            longest = longest.max(checkpoints.frames.load(Ordering::Relaxed));
        }
        // Without the writer finishing the passes, the WAL would hold every commit's
        // frames (several thousand); it never reaches the hard limit either.
        assert!(longest < policy.hard_limit, "WAL grew to {longest} frames");
        assert!(
            wal_frames(&path) < policy.hard_limit as u64,
            "WAL file holds {} frames",
            wal_frames(&path)
        );
        drop(checkpoints);
        drop(writer);
        let reader = Connection::open(&path).expect("reopen");
        let (n, sum): (i64, i64) = reader
            .query_row("select count(*), sum(k) from t", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("count");
        assert_eq!((n, sum), (3000, 3000 * 2999 / 2));
    }
}
