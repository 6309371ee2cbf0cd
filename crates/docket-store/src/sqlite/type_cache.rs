//! Parsed request types by id, kept by the writer so a status change neither reads nor
//! parses the workflow.

use super::types::request_type_by_id;
use super::writer::BatchEdge;
use crate::Result;
use docket_domain::ids::RequestTypeId;
use docket_domain::request::RequestType;
use rusqlite::Connection;
use std::sync::Arc;

/// Parsed request types by id, kept by the writer so a status change neither reads nor
/// parses the workflow. It stays true because every write of a request type in this
/// process goes through the writer and drops its entry; it is emptied when a batch is
/// rolled back, and when another process (say `docket admin`) committed to the database
/// since the last batch, which SQLite's `data_version` tells once per batch.
#[derive(Clone, Default)]
pub(super) struct TypeCache(Arc<parking_lot::Mutex<TypeCacheInner>>);

#[derive(Default)]
struct TypeCacheInner {
    types: std::collections::HashMap<RequestTypeId, Arc<RequestType>>,
    data_version: i64,
}

impl TypeCache {
    pub(super) fn forget(&self, id: RequestTypeId) {
        self.0.lock().types.remove(&id);
    }

    /// The writer's batch hook: see the type's documentation.
    pub(super) fn on_batch(&self, conn: &Connection, edge: BatchEdge) {
        let mut inner = self.0.lock();
        match edge {
            BatchEdge::RolledBack => inner.types.clear(),
            BatchEdge::Answered => {}
            BatchEdge::Begun => {
                let version = conn
                    .prepare_cached("pragma data_version")
                    .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
                    .unwrap_or(-1);
                if version != inner.data_version || version == -1 {
                    inner.types.clear();
                    inner.data_version = version;
                }
            }
        }
    }
}

pub(super) fn request_type_cached(
    conn: &Connection,
    cache: &TypeCache,
    id: RequestTypeId,
) -> Result<Arc<RequestType>> {
    if let Some(t) = cache.0.lock().types.get(&id) {
        return Ok(t.clone());
    }
    let t = Arc::new(request_type_by_id(conn, id)?);
    cache.0.lock().types.insert(id, t.clone());
    Ok(t)
}
