//! The blob store: where file contents live, a local directory or an S3-compatible bucket.
//!
//! Both are `object_store` implementations behind its `ObjectStore` trait, chosen once from
//! `Settings::files.url`; Docket adds no trait of its own on top. [`BlobWriter`] is the
//! one way bytes go in: held in memory up to one part, then streamed as a multipart upload
//! that is aborted if the writer is dropped unfinished.

use crate::settings::FileSettings;
use anyhow::Context as _;
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use std::sync::Arc;

/// The size of a multipart upload's parts, and the most a small file is held in memory:
/// S3's minimum part size.
pub const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts being uploaded at once by one upload; with the part being filled, an upload holds
/// at most three parts (15 MiB) in memory whatever the file's size.
const PARTS_IN_FLIGHT: usize = 2;

/// The configured blob store; cheap to clone.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blobs({})", self.store)
    }
}

impl Blobs {
    /// Opens the store `settings.url` names: `s3://bucket/prefix`, or a local directory
    /// (created if missing). Nothing is contacted yet.
    pub fn open(settings: &FileSettings) -> anyhow::Result<Self> {
        let url = settings.url.trim();
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            anyhow::ensure!(!bucket.is_empty(), "the files URL {url} names no bucket");
            let s3 = &settings.s3;
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_allow_http(s3.allow_http);
            if let Some(endpoint) = &s3.endpoint {
                builder = builder.with_endpoint(endpoint);
            }
            if let Some(region) = &s3.region {
                builder = builder.with_region(region);
            }
            if let Some(key) = &s3.access_key_id {
                builder = builder.with_access_key_id(key);
            }
            if let Some(secret) = &s3.secret_access_key {
                builder = builder.with_secret_access_key(secret);
            }
            let bucket_store = builder
                .build()
                .with_context(|| format!("configuring the S3 store {url}"))?;
            let prefix = prefix.trim_matches('/');
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(bucket_store)
            } else {
                let prefix = Path::parse(prefix)
                    .with_context(|| format!("the prefix of the files URL {url}"))?;
                Arc::new(PrefixStore::new(bucket_store, prefix))
            };
            return Ok(Self { store });
        }
        let dir = url.strip_prefix("file://").unwrap_or(url);
        anyhow::ensure!(!dir.is_empty(), "the files directory is not set");
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the files directory {dir}"))?;
        let local = LocalFileSystem::new_with_prefix(dir)
            .with_context(|| format!("opening the files directory {dir}"))?
            .with_automatic_cleanup(true);
        Ok(Self {
            store: Arc::new(local),
        })
    }

    /// Any `object_store` implementation (tests use the in-memory one).
    pub fn from_store(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Deletes an object; one that is already gone is fine.
    pub async fn delete(&self, path: &Path) -> object_store::Result<()> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A storage key as a path in the store; `None` for a key that is not a clean path (empty
/// segments, `.` or `..`), which no object of Docket's can have.
pub fn path_of(key: &str) -> Option<Path> {
    let path = Path::parse(key).ok()?;
    (!key.is_empty()).then_some(path)
}

/// Bytes on their way to one object. Small files are buffered and written with one `put`
/// (atomic: the object appears whole or not at all); past [`PART_BYTES`] the writer
/// switches to a multipart upload, which becomes visible only at [`BlobWriter::finish`].
/// An unfinished writer is aborted when dropped (on a spawned task), so an upload that
/// fails, is refused mid-way, or whose handler is dropped (the client went away) leaves
/// no object behind.
pub struct BlobWriter {
    blobs: Blobs,
    path: Path,
    buffered: Vec<Bytes>,
    buffered_len: usize,
    multipart: Option<WriteMultipart>,
}

impl BlobWriter {
    pub fn new(blobs: &Blobs, path: Path) -> Self {
        Self {
            blobs: blobs.clone(),
            path,
            buffered: Vec::new(),
            buffered_len: 0,
            multipart: None,
        }
    }

    /// Adds a chunk, waiting while too many parts are in flight (back pressure on the
    /// client instead of memory).
    pub async fn write(&mut self, chunk: Bytes) -> object_store::Result<()> {
        if let Some(upload) = &mut self.multipart {
            upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            upload.put(chunk);
            return Ok(());
        }
        self.buffered_len += chunk.len();
        self.buffered.push(chunk);
        if self.buffered_len >= PART_BYTES {
            let upload = self.blobs.store.put_multipart(&self.path).await?;
            let mut upload = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            for b in self.buffered.drain(..) {
                upload.put(b);
            }
            self.buffered_len = 0;
            self.multipart = Some(upload);
        }
        Ok(())
    }

    /// Makes the object visible, whole. On failure nothing is left (the upload is aborted).
    pub async fn finish(mut self) -> object_store::Result<()> {
        match self.multipart.take() {
            Some(mut upload) => {
                if let Err(e) = upload.wait_for_capacity(0).await {
                    abort(upload).await;
                    return Err(e);
                }
                // `finish` aborts the upload itself when completing it fails.
                upload.finish().await.map(drop)
            }
            None => {
                let payload: PutPayload = std::mem::take(&mut self.buffered).into_iter().collect();
                self.blobs.store.put(&self.path, payload).await.map(drop)
            }
        }
    }

    /// Gives the upload up and removes what was written of it.
    pub async fn abort(mut self) {
        if let Some(upload) = self.multipart.take() {
            abort(upload).await;
        }
    }
}

async fn abort(upload: WriteMultipart) {
    if let Err(e) = upload.abort().await {
        tracing::warn!(error = %e, "could not abort a multipart upload; its parts remain until the store's lifecycle rule removes them");
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if let Some(upload) = self.multipart.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(abort(upload));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn blobs() -> Blobs {
        Blobs::from_store(Arc::new(InMemory::new()))
    }

    async fn objects(b: &Blobs) -> usize {
        use futures::TryStreamExt;
        b.store()
            .list(None)
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len()
    }

    #[tokio::test]
    async fn small_and_large_objects_arrive_whole() {
        let b = blobs();
        for size in [0usize, 10, PART_BYTES - 1, PART_BYTES, 2 * PART_BYTES + 17] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let path = Path::from(format!("ws/{size}"));
            let mut w = BlobWriter::new(&b, path.clone());
            for chunk in data.chunks(64 * 1024) {
                w.write(Bytes::copy_from_slice(chunk)).await.unwrap();
            }
            w.finish().await.unwrap();
            let got = b.store().get(&path).await.unwrap().bytes().await.unwrap();
            assert_eq!(got.len(), size);
            assert!(got == data, "the bytes of a {size}-byte object");
        }
    }

    #[tokio::test]
    async fn an_aborted_or_dropped_writer_leaves_nothing() {
        let b = blobs();
        let mut w = BlobWriter::new(&b, Path::from("ws/aborted"));
        w.write(Bytes::from(vec![1u8; PART_BYTES + 1]))
            .await
            .unwrap();
        w.abort().await;
        let mut w = BlobWriter::new(&b, Path::from("ws/dropped"));
        w.write(Bytes::from(vec![1u8; 10])).await.unwrap();
        drop(w);
        assert_eq!(objects(&b).await, 0);
    }

    #[test]
    fn only_clean_keys_are_paths() {
        assert!(path_of("a/b.png").is_some());
        assert!(path_of("").is_none());
        assert!(path_of("../x").is_none());
        assert!(path_of("a//b").is_none());
        assert!(path_of("a/./b").is_none());
    }
}
