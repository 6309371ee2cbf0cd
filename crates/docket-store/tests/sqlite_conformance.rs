//! The storage conformance suite (`docket_store::conformance`) on SQLite: every check runs
//! against its own fresh database in a temporary directory, removed when the test ends.

use docket_store::sqlite::SqliteStore;
use docket_store::Store;
use std::sync::Arc;
use tempfile::TempDir;

/// A fresh SQLite store, and the directory holding it (kept alive for the test).
fn sqlite_store() -> (Arc<dyn Store>, TempDir) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let store = SqliteStore::open(&dir.path().join("docket.db")).expect("open a SQLite store");
    (Arc::new(store), dir)
}

docket_store::conformance_tests!(sqlite_store());
