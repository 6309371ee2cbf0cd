//! The state every handler, worker and operation shares: the store, the settings, the
//! blob store and the signing key. It lives apart from `app` (which assembles the router
//! of every feature) so that a feature depends on the state, not on every other feature.

use crate::files::Blobs;
use crate::settings::Settings;
use docket_store::Store;
use rand::RngCore;
use std::sync::Arc;

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    settings: Settings,
    /// Wakes the webhook worker early (a delivery finished, a redelivery was queued).
    webhooks: tokio::sync::Notify,
    /// Where file contents live.
    blobs: Blobs,
    /// The key download URLs are signed with: `settings.files.signing_key`.
    signing_key: Vec<u8>,
}

impl AppState {
    /// The state of a server over `store`, keeping file contents in `blobs`. Download URLs
    /// are signed with `settings.files.signing_key`, or, when it is unset, a key made for
    /// this process alone (`launch` sets the deployment's shared key).
    pub fn new(store: Arc<dyn Store>, settings: Settings, blobs: Blobs) -> Self {
        let signing_key = settings.files.signing_key.clone().unwrap_or_else(|| {
            let mut key = vec![0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            key
        });
        Self {
            inner: Arc::new(Inner {
                store,
                settings,
                webhooks: tokio::sync::Notify::new(),
                blobs,
                signing_key,
            }),
        }
    }

    /// The blob store file contents live in.
    pub fn blobs(&self) -> &Blobs {
        &self.inner.blobs
    }

    /// The key download URLs are signed and checked with.
    pub fn signing_key(&self) -> &[u8] {
        &self.inner.signing_key
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Asks the webhook worker for a pass now.
    pub fn wake_webhooks(&self) {
        self.inner.webhooks.notify_one();
    }

    /// Resolves when someone asked the webhook worker for a pass.
    pub async fn webhooks_woken(&self) {
        self.inner.webhooks.notified().await
    }
}
