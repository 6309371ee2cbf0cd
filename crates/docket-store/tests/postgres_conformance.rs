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
