//! A VFS shim for the writer's connection: the WAL frames of one commit reach the file
//! in a few large writes instead of two small writes per frame.
//!
//! SQLite writes each WAL frame with two `pwrite`s, its 24-byte header and then its page.
//! A frame is 4 120 bytes, so almost every one of those writes covers part of a file
//! page. When the WAL is reused after a checkpoint and the OS has meanwhile dropped its
//! pages from the cache (the development machine's kernel reclaims idle page cache
//! aggressively: `kdamond` runs, and the cache held about 200 MB after gigabytes of
//! builds), the kernel must read such a page from disk before it can change it: a
//! synchronous read inside a frame write. Those writes were 7.7–10% of the server's CPU
//! in the status-change benchmark (a fifth of the writer thread); with the shim, 1.2%.
//!
//! The shim wraps the default VFS and changes only files SQLite opens as a WAL. Writes
//! that continue one another are kept in memory and written in 64 KiB pieces before
//! anything else can observe the file: before a sync, a read, a truncate, a size query,
//! a file control or a close. SQLite makes a commit visible to other connections only
//! after its sync (the writer runs with `synchronous = full`), and acknowledges it only
//! after that, so what is durable and what is visible are exactly as without the shim;
//! a crash loses only writes no commit had yet synced, which SQLite ignores on recovery
//! anyway. A write error surfaces at the sync, which fails the commit.
//!
//! The other connections (the read pool, `docket admin`) use the default VFS: they only
//! read the WAL, and they share SQLite's locks with the writer because the shim calls the
//! default VFS's own file methods.

use rusqlite::ffi;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

/// The name to open a connection with (`Connection::open_with_flags_and_vfs`).
pub(crate) const NAME: &str = "docket-wal-gather";
const NAME_C: &CStr = c"docket-wal-gather";

/// Pending bytes are written once they pass this, so one huge transaction does not hold
/// its whole WAL in memory.
const WRITE_AT: usize = 4 << 20;

/// The largest write passed on at once (see `write_pending`).
const PIECE: i64 = 64 << 10;

/// The registered shim and what it wraps.
struct Shim {
    real: *mut ffi::sqlite3_vfs,
    /// Where a WAL file's [`Pending`] bytes live: after the default VFS's own file struct,
    /// in the allocation SQLite makes for every file of the shim.
    pending_offset: usize,
}

// The pointers are to SQLite's process-wide VFS objects, which live as long as the process.
unsafe impl Send for Shim {}
unsafe impl Sync for Shim {}

/// The method table of wrapped WAL files, made from the default VFS's table. Only files
/// whose own table is `real` are wrapped, so it is every wrapped file's real table.
struct Methods {
    real: *const ffi::sqlite3_io_methods,
    ours: *const ffi::sqlite3_io_methods,
}

unsafe impl Send for Methods {}
unsafe impl Sync for Methods {}

static SHIM: OnceLock<Result<Shim, String>> = OnceLock::new();
static METHODS: OnceLock<Methods> = OnceLock::new();

/// Bytes written to a WAL but not yet passed on: `bytes` belong at file offset `start`.
/// Made when a WAL is opened, dropped when it is closed; other files have none.
#[derive(Default)]
struct Pending {
    start: i64,
    bytes: Vec<u8>,
}

/// Registers the shim (once per process); returns its name to open connections with.
///
/// A connection opened with it must run with `synchronous = full`: SQLite then syncs the
/// WAL before it publishes a commit to other connections, and that sync is what writes
/// the pending bytes. With a weaker setting a commit would be published unsynced, and
/// other connections would read frames that are still pending.
pub(crate) fn register() -> Result<&'static str, String> {
    let shim = SHIM.get_or_init(|| unsafe {
        // Initialises SQLite if needed; null asks for the default VFS.
        let real = ffi::sqlite3_vfs_find(std::ptr::null());
        if real.is_null() {
            return Err("SQLite has no default VFS".into());
        }
        let pending_offset =
            ((*real).szOsFile as usize).next_multiple_of(std::mem::align_of::<Pending>());
        // Every other method of the default VFS ignores the VFS it is called with, apart
        // from reading `mxPathname`, which the copy keeps.
        let mut vfs = *real;
        vfs.pNext = std::ptr::null_mut();
        vfs.zName = NAME_C.as_ptr();
        vfs.szOsFile = (pending_offset + std::mem::size_of::<Pending>()) as c_int;
        vfs.xOpen = Some(open);
        let vfs = Box::leak(Box::new(vfs));
        let rc = ffi::sqlite3_vfs_register(vfs, 0);
        if rc != ffi::SQLITE_OK {
            return Err(format!("registering the WAL VFS failed with code {rc}"));
        }
        Ok(Shim {
            real,
            pending_offset,
        })
    });
    shim.as_ref().map(|_| NAME).map_err(Clone::clone)
}

fn shim() -> &'static Shim {
    // Files of the shim exist only once it is registered.
    SHIM.get()
        .and_then(|s| s.as_ref().ok())
        .expect("registered")
}

/// The pending bytes of a wrapped WAL.
unsafe fn pending<'a>(file: *mut ffi::sqlite3_file) -> &'a mut Pending {
    &mut *((file as *mut u8).add(shim().pending_offset) as *mut Pending)
}

/// The default VFS's methods of a wrapped WAL.
unsafe fn real() -> &'static ffi::sqlite3_io_methods {
    &*METHODS.get().expect("a WAL was wrapped").real
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let shim = shim();
    // The default VFS's file struct starts where SQLite's does, so its own methods can be
    // called with `file` unchanged.
    let Some(real_open) = (*shim.real).xOpen else {
        return ffi::SQLITE_ERROR;
    };
    let rc = real_open(shim.real, name, file, flags, out_flags);
    let real_methods = (*file).pMethods;
    if rc != ffi::SQLITE_OK || flags & ffi::SQLITE_OPEN_WAL == 0 || real_methods.is_null() {
        return rc;
    }
    let methods = METHODS.get_or_init(|| {
        let mut ours = *real_methods;
        ours.xClose = Some(close);
        ours.xRead = Some(read);
        ours.xWrite = Some(write);
        ours.xTruncate = Some(truncate);
        ours.xSync = Some(sync);
        ours.xFileSize = Some(file_size);
        ours.xFileControl = Some(file_control);
        Methods {
            real: real_methods,
            ours: Box::leak(Box::new(ours)),
        }
    });
    if methods.real != real_methods {
        // A file with another locking style than the first WAL: left as it is.
        return rc;
    }
    ((file as *mut u8).add(shim.pending_offset) as *mut Pending).write(Pending::default());
    (*file).pMethods = methods.ours;
    rc
}

/// Passes the pending bytes on to the file.
unsafe fn write_pending(file: *mut ffi::sqlite3_file) -> c_int {
    let pending = pending(file);
    if pending.bytes.is_empty() {
        return ffi::SQLITE_OK;
    }
    let Some(real_write) = real().xWrite else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    // The default VFS writes at most 128 KiB per call, so the bytes go in pieces that end
    // on 64 KiB boundaries of the file: every piece but the first and the last covers
    // whole pages.
    let mut rc = ffi::SQLITE_OK;
    let mut at = 0usize;
    while at < pending.bytes.len() && rc == ffi::SQLITE_OK {
        let offset = pending.start + at as i64;
        let boundary = (offset / PIECE + 1) * PIECE;
        let len = ((boundary - offset) as usize).min(pending.bytes.len() - at);
        rc = real_write(
            file,
            pending.bytes[at..].as_ptr() as *const c_void,
            len as c_int,
            offset,
        );
        at += len;
    }
    // On failure the bytes are dropped, as a failed write would have dropped them: the
    // error fails the transaction, which SQLite then rolls back.
    pending.bytes.clear();
    rc
}

/// Writes what is pending, then calls the default VFS's method through `call`;
/// `missing` if the default VFS has no such method.
unsafe fn after_pending(
    file: *mut ffi::sqlite3_file,
    missing: c_int,
    call: impl FnOnce(&ffi::sqlite3_io_methods) -> Option<c_int>,
) -> c_int {
    match write_pending(file) {
        ffi::SQLITE_OK => call(real()).unwrap_or(missing),
        failed => failed,
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    let bytes = std::slice::from_raw_parts(data as *const u8, amount as usize);
    let pending = pending(file);
    let end = pending.start + pending.bytes.len() as i64;
    if !pending.bytes.is_empty() {
        if offset == end {
            pending.bytes.extend_from_slice(bytes);
            return if pending.bytes.len() >= WRITE_AT {
                write_pending(file)
            } else {
                ffi::SQLITE_OK
            };
        }
        if offset >= pending.start && offset + amount as i64 <= end {
            // A frame of this transaction rewritten in place (a page changed again after
            // SQLite spilled it).
            let at = (offset - pending.start) as usize;
            pending.bytes[at..at + bytes.len()].copy_from_slice(bytes);
            return ffi::SQLITE_OK;
        }
        let rc = write_pending(file);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    pending.start = offset;
    pending.bytes.extend_from_slice(bytes);
    ffi::SQLITE_OK
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    data: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    after_pending(file, ffi::SQLITE_IOERR_READ, |m| {
        m.xRead.map(|f| f(file, data, amount, offset))
    })
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    after_pending(file, ffi::SQLITE_IOERR_TRUNCATE, |m| {
        m.xTruncate.map(|f| f(file, size))
    })
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    after_pending(file, ffi::SQLITE_IOERR_FSYNC, |m| {
        m.xSync.map(|f| f(file, flags))
    })
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    after_pending(file, ffi::SQLITE_IOERR_FSTAT, |m| {
        m.xFileSize.map(|f| f(file, size))
    })
}

/// Some controls size or query the file; none is frequent on a WAL.
unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    after_pending(file, ffi::SQLITE_NOTFOUND, |m| {
        m.xFileControl.map(|f| f(file, op, arg))
    })
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let written = write_pending(file);
    std::ptr::drop_in_place(pending(file) as *mut Pending);
    let closed = real().xClose.map_or(ffi::SQLITE_OK, |f| f(file));
    if written != ffi::SQLITE_OK {
        written
    } else {
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::register;
    use rusqlite::{Connection, OpenFlags};

    fn writer(path: &std::path::Path) -> Connection {
        let conn = Connection::open_with_flags_and_vfs(
            path,
            OpenFlags::default(),
            register().expect("register"),
        )
        .expect("open");
        conn.execute_batch(
            "pragma journal_mode = wal; pragma synchronous = full; pragma wal_autocheckpoint = 50;",
        )
        .expect("pragmas");
        conn
    }

    fn count(c: &Connection) -> i64 {
        c.query_row("select count(*) from t", [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn commits_are_read_by_other_connections_and_reach_the_wal_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("g.db");
        let w = writer(&path);
        w.execute_batch("create table t (k integer primary key, v blob)")
            .expect("table");
        let reader = Connection::open(&path).expect("reader");
        for round in 0..40i64 {
            let tx = w.unchecked_transaction().expect("begin");
            for i in 0..25i64 {
                tx.execute(
                    "insert or replace into t (k, v) values (?1, randomblob(3000))",
                    [(round * 7 + i) % 300],
                )
                .expect("insert");
            }
            tx.commit().expect("commit");
            assert_eq!(
                count(&reader),
                count(&w),
                "a committed write is visible to readers"
            );
        }
        let expected: i64 = w
            .query_row("select sum(length(v)) from t", [], |r| r.get(0))
            .expect("sum");
        drop(reader);
        // A copy of the files without the shared-memory index: opening it rebuilds the
        // index from the WAL's bytes, so this reads what reached the disk.
        let copy = dir.path().join("copy.db");
        std::fs::copy(&path, &copy).expect("copy db");
        std::fs::copy(dir.path().join("g.db-wal"), dir.path().join("copy.db-wal"))
            .expect("copy wal");
        let again = Connection::open(&copy).expect("open the copy");
        let check: String = again
            .query_row("pragma integrity_check", [], |r| r.get(0))
            .expect("check");
        assert_eq!(check, "ok");
        let got: i64 = again
            .query_row("select sum(length(v)) from t", [], |r| r.get(0))
            .expect("sum");
        assert_eq!(got, expected);
        drop(w);
    }

    #[test]
    fn a_transaction_larger_than_the_cache_spills_and_rolls_back_cleanly() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s.db");
        let w = writer(&path);
        w.execute_batch("pragma cache_size = 20; create table t (k integer primary key, v blob); insert into t values (1, 'kept')")
            .expect("setup");
        // Far more pages than the cache holds: SQLite writes frames before the commit,
        // reads some back, and rewrites some in place.
        let tx = w.unchecked_transaction().expect("begin");
        for i in 2..3000i64 {
            tx.execute("insert into t values (?1, randomblob(1500))", [i])
                .expect("insert");
        }
        for i in (2..3000i64).step_by(3) {
            tx.execute("update t set v = randomblob(1400) where k = ?1", [i])
                .expect("update");
        }
        assert_eq!(count(&tx), 2999);
        tx.rollback().expect("rollback");
        assert_eq!(count(&w), 1, "nothing of the rolled-back transaction stays");
        w.execute("insert into t values (2, 'next')", [])
            .expect("a later write works");
        let reader = Connection::open(&path).expect("reader");
        assert_eq!(count(&reader), 2);
    }
}
