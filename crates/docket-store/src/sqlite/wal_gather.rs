//! A VFS shim for the writer's connection: the WAL frames of one commit reach the file
//! in one write instead of two writes per frame.
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
//! that continue one another are kept in memory and written as one `pwrite` before
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
    /// Where a file's [`Gather`] state starts: after the default VFS's own file struct.
    state_offset: usize,
}

// The pointers are to SQLite's process-wide VFS objects, which live as long as the process.
unsafe impl Send for Shim {}
unsafe impl Sync for Shim {}

/// The method table of wrapped WAL files, made from the default VFS's table.
struct Methods {
    real: *const ffi::sqlite3_io_methods,
    ours: *const ffi::sqlite3_io_methods,
}

unsafe impl Send for Methods {}
unsafe impl Sync for Methods {}

static SHIM: OnceLock<Result<Shim, String>> = OnceLock::new();
static METHODS: OnceLock<Methods> = OnceLock::new();

/// Kept after the default VFS's file struct, in the allocation SQLite makes for a file.
#[repr(C)]
struct Gather {
    /// Null for files the shim does not change (everything but a WAL).
    real_methods: *const ffi::sqlite3_io_methods,
    pending: *mut Pending,
}

/// Bytes written but not yet passed on: `bytes` belong at file offset `start`.
#[derive(Default)]
struct Pending {
    start: i64,
    bytes: Vec<u8>,
}

/// Registers the shim (once per process); returns its name to open connections with.
pub(crate) fn register() -> Result<&'static str, String> {
    let shim = SHIM.get_or_init(|| unsafe {
        // Initialises SQLite if needed; null asks for the default VFS.
        let real = ffi::sqlite3_vfs_find(std::ptr::null());
        if real.is_null() {
            return Err("SQLite has no default VFS".into());
        }
        let state_offset = ((*real).szOsFile as usize).next_multiple_of(8);
        // Every other method of the default VFS ignores the VFS it is called with, apart
        // from reading `mxPathname`, which the copy keeps.
        let mut vfs = *real;
        vfs.pNext = std::ptr::null_mut();
        vfs.zName = NAME_C.as_ptr();
        vfs.szOsFile = (state_offset + std::mem::size_of::<Gather>()) as c_int;
        vfs.xOpen = Some(open);
        let vfs = Box::leak(Box::new(vfs));
        let rc = ffi::sqlite3_vfs_register(vfs, 0);
        if rc != ffi::SQLITE_OK {
            return Err(format!("registering the WAL VFS failed with code {rc}"));
        }
        Ok(Shim { real, state_offset })
    });
    shim.as_ref().map(|_| NAME).map_err(Clone::clone)
}

unsafe fn state<'a>(file: *mut ffi::sqlite3_file) -> &'a mut Gather {
    let shim = SHIM
        .get()
        .and_then(|s| s.as_ref().ok())
        .expect("registered");
    &mut *((file as *mut u8).add(shim.state_offset) as *mut Gather)
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let Some(Ok(shim)) = SHIM.get() else {
        return ffi::SQLITE_ERROR;
    };
    let gather = (file as *mut u8).add(shim.state_offset) as *mut Gather;
    gather.write(Gather {
        real_methods: std::ptr::null(),
        pending: std::ptr::null_mut(),
    });
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
    (*gather).real_methods = real_methods;
    (*gather).pending = Box::into_raw(Box::default());
    (*file).pMethods = methods.ours;
    rc
}

/// Passes the pending bytes on to the file.
unsafe fn write_pending(file: *mut ffi::sqlite3_file) -> c_int {
    let gather = state(file);
    let pending = &mut *gather.pending;
    if pending.bytes.is_empty() {
        return ffi::SQLITE_OK;
    }
    let Some(real_write) = (*gather.real_methods).xWrite else {
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

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    let bytes = std::slice::from_raw_parts(data as *const u8, amount as usize);
    let pending = &mut *state(file).pending;
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
    let rc = write_pending(file);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match (*state(file).real_methods).xRead {
        Some(f) => f(file, data, amount, offset),
        None => ffi::SQLITE_IOERR_READ,
    }
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    let rc = write_pending(file);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match (*state(file).real_methods).xTruncate {
        Some(f) => f(file, size),
        None => ffi::SQLITE_IOERR_TRUNCATE,
    }
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    let rc = write_pending(file);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match (*state(file).real_methods).xSync {
        Some(f) => f(file, flags),
        None => ffi::SQLITE_IOERR_FSYNC,
    }
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    let rc = write_pending(file);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match (*state(file).real_methods).xFileSize {
        Some(f) => f(file, size),
        None => ffi::SQLITE_IOERR_FSTAT,
    }
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // Some controls size or query the file; none is frequent on a WAL.
    let rc = write_pending(file);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match (*state(file).real_methods).xFileControl {
        Some(f) => f(file, op, arg),
        None => ffi::SQLITE_NOTFOUND,
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let written = write_pending(file);
    let gather = state(file);
    drop(Box::from_raw(gather.pending));
    gather.pending = std::ptr::null_mut();
    let closed = match (*gather.real_methods).xClose {
        Some(f) => f(file),
        None => ffi::SQLITE_OK,
    };
    if written != ffi::SQLITE_OK {
        written
    } else {
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn commits_are_read_by_other_connections_and_survive_reopening() {
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
            let seen: i64 = reader
                .query_row("select count(*) from t", [], |r| r.get(0))
                .expect("count");
            let written: i64 = w
                .query_row("select count(*) from t", [], |r| r.get(0))
                .expect("count");
            assert_eq!(seen, written, "a committed write is visible to readers");
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
        let inside: i64 = tx
            .query_row("select count(*) from t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(inside, 2999);
        tx.rollback().expect("rollback");
        let after: i64 = w
            .query_row("select count(*) from t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(after, 1, "nothing of the rolled-back transaction stays");
        w.execute("insert into t values (2, 'next')", [])
            .expect("a later write works");
        let reader = Connection::open(&path).expect("reader");
        let seen: i64 = reader
            .query_row("select count(*) from t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(seen, 2);
    }
}
