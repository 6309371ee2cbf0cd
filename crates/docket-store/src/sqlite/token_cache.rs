//! Tokens recently resolved by hash, so authenticating a call is not a database read.
//!
//! Every API call resolves its token; the answer changes only when a token is revoked or
//! touched, or its member changes, and in the SQLite shape all of those go through this
//! process's writer. So the cache is exact rather than time-limited: each such write
//! clears it once committed. A generation counter stops a lookup that read the database
//! before a write committed from caching its stale answer after the write cleared the
//! cache. (Tokens issued or members added by `docket admin` beside a running server are
//! not a problem: only found tokens are cached.)

use docket_domain::member::Member;
use docket_domain::token::{Token, TokenHash};
use parking_lot::Mutex;
use std::collections::HashMap;

/// Enough for every active token of a large installation; past it, lookups go to the
/// database rather than evicting.
const CAPACITY: usize = 10_000;

pub(crate) type Resolved = (Token, Option<Member>);

#[derive(Default)]
pub(crate) struct TokenCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every invalidation; a lookup caches only if it did not move.
    generation: u64,
    entries: HashMap<[u8; 32], Resolved>,
}

/// Where a lookup that missed started, to be handed back to [`TokenCache::fill`].
pub(crate) struct Miss(u64);

impl TokenCache {
    pub(crate) fn get(&self, hash: &TokenHash) -> Result<Resolved, Miss> {
        let inner = self.inner.lock();
        match inner.entries.get(&hash.0) {
            Some(found) => Ok(found.clone()),
            None => Err(Miss(inner.generation)),
        }
    }

    pub(crate) fn fill(&self, miss: Miss, hash: &TokenHash, resolved: &Resolved) {
        let mut inner = self.inner.lock();
        if inner.generation == miss.0 && inner.entries.len() < CAPACITY {
            inner.entries.insert(hash.0, resolved.clone());
        }
    }

    /// Forgets everything; called after a write to tokens or members committed.
    pub(crate) fn invalidate(&self) {
        let mut inner = self.inner.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}
