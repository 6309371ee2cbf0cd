//! The storage conformance suite (`docket_store::conformance`) on PostgreSQL: every check
//! runs against its own freshly created, migrated schema on the server
//! `DOCKET_TEST_PG_URL` names (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! dropped when the test ends.

use docket_store::postgres::scratch::ScratchSchema;
use docket_store::postgres::PgStore;
use std::sync::Arc;

/// A fresh, migrated PostgreSQL store, and the schema holding it (dropped last).
async fn postgres_store() -> (Arc<PgStore>, ScratchSchema) {
    let schema = ScratchSchema::for_tests()
        .await
        .expect("create a scratch schema (is PostgreSQL running? see DOCKET_TEST_PG_URL)");
    let store = PgStore::connect_with_pool_size(schema.url(), 4)
        .await
        .expect("connect to the scratch schema");
    store.migrate().await.expect("migrate the scratch schema");
    (Arc::new(store), schema)
}

docket_store::conformance_tests!(postgres_store().await);

/// Another node's writes wake this node's feeds and workers: each event is announced with
/// `NOTIFY` at commit, and a second store on the same schema (another `docket serve`)
/// raises its `event_signal` to the announced seq without writing anything itself.
#[tokio::test]
async fn an_event_written_by_another_node_raises_this_nodes_signal() {
    use docket_store::conformance::{create_workspace, file_request, titled};
    use docket_store::Store;
    use std::time::{Duration, Instant};

    let (writer, schema) = postgres_store().await;
    let watcher = PgStore::connect_with_pool_size(schema.url(), 2)
        .await
        .expect("connect a second node to the same schema");
    let mut signal = watcher.event_signal();
    let s = create_workspace(&*writer, "notify").await;
    let p = s.owner_principal();
    // The watcher starts listening in the background, so a notice sent before it listens
    // is missed; keep writing until one arrives or the deadline passes.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        file_request(&*writer, &p, titled("Wake the other node")).await;
        let heard = tokio::time::timeout(Duration::from_millis(300), signal.changed()).await;
        if matches!(heard, Ok(Ok(()))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second node never heard of the first node's events"
        );
    }
    let heard = *signal.borrow();
    let latest = writer
        .mail_events_after(0, u32::MAX)
        .await
        .expect("read the events")
        .through;
    assert!(
        heard > 0 && heard <= latest,
        "the signal carries a stored seq: heard {heard}, latest {latest}"
    );
}
