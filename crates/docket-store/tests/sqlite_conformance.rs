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

/// The writer keeps parsed workflows between batches. A workflow changed by another
/// process on the same database (another `SqliteStore` here, as `docket admin` would be)
/// must be seen by the very next move, not after some expiry.
#[tokio::test]
async fn a_workflow_changed_by_another_process_is_seen_by_the_next_move() {
    use docket_domain::request::TypeKey;
    use docket_domain::workflow::{Category, Workflow};
    use docket_store::conformance::{
        create_workspace, edit_workflow, file_request, move_request, titled, workflow_change,
    };

    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("docket.db");
    let server = SqliteStore::open(&path).expect("open the server's store");
    let s = create_workspace(&server, "other-process").await;
    let p = s.owner_principal();
    let request = file_request(&server, &p, titled("Check the contract")).await;
    // The server now holds the general workflow, parsed.
    move_request(&server, &p, request.id, "in_progress").await;

    let other = SqliteStore::open(&path).expect("open the same database again");
    let with_review = edit_workflow(
        &Workflow::general(),
        &[],
        &[("review", Category::Waiting)],
        &[("in_progress", "review")],
    );
    other
        .update_request_type(
            s.id(),
            &TypeKey::general(),
            workflow_change(with_review),
            docket_domain::now(),
        )
        .await
        .expect("the other process adds a review status");

    let moved = move_request(&server, &p, request.id, "review").await;
    assert_eq!(moved.status.as_str(), "review");
    assert_eq!(moved.category, Category::Waiting);
}
