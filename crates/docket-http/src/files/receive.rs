//! Receiving an upload: from a byte stream to an object in the blob store and its record.

use super::blobs::{path_of, BlobWriter};
use crate::error::ApiError;
use crate::state::AppState;
use bytes::Bytes;
use docket_domain::event::Actor;
use docket_domain::file::{
    sniff_content_type, storage_key, FileId, FileName, FileRecord, Uploader, Visibility,
    SNIFF_BYTES,
};
use docket_domain::ids::{RequestId, WorkspaceId};
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// What is being uploaded, besides its bytes.
#[derive(Clone, Debug)]
pub struct Upload {
    pub workspace_id: WorkspaceId,
    /// The name the client gave; it is sanitised ([`FileName::sanitize`]), and only ever a
    /// label.
    pub name: String,
    pub uploaded_by: Uploader,
    pub visibility: Visibility,
    /// Attach the file to a request in the same transaction that stores its record.
    pub attach: Option<Attach>,
    /// The length the client announced (`Content-Length` of a raw body), if any: a file
    /// announced larger than the workspace allows is refused before a byte is read.
    pub declared_size: Option<u64>,
}

/// The request an upload goes onto, and who the request's timeline says attached it. The
/// caller has already checked that this actor may edit the request (for a member:
/// `docket_domain::file::check_may_attach`; for a link's holder: that the link is usable).
#[derive(Clone, Copy, Debug)]
pub struct Attach {
    pub request_id: RequestId,
    /// `Actor::default()` for a public link's holder, who has no account.
    pub actor: Actor,
}

/// Streams `body` into the blob store and stores the file's record, returning it.
///
/// The bytes are never held whole: the first [`SNIFF_BYTES`] are kept to judge the type,
/// then everything streams to the store ([`BlobWriter`]: one `put` for files up to a part,
/// a multipart upload beyond) while the SHA-256 and the size are computed. The workspace's
/// policy is applied as the bytes arrive: 413 `file_too_large` as soon as the size passes
/// `max_bytes` (the rest is not read), 415 `unsupported_type` when the sniffed type is not
/// allowed (before anything is written). A body that fails (the client went away) is 400
/// `upload_interrupted`; one that stalls longer than the request timeout between chunks
/// is 408 `timeout`. Whatever fails, and also if this future is dropped midway, no object
/// and no record remain: the upload is aborted, and an object whose record could not be
/// stored is deleted. Once every byte has arrived, completing the object and storing the
/// record run on a task of their own, so a client leaving at that moment cannot separate
/// the two.
pub async fn receive<E: std::fmt::Display>(
    state: &AppState,
    upload: Upload,
    body: impl Stream<Item = Result<Bytes, E>> + Send,
) -> Result<FileRecord, ApiError> {
    let store = state.store().clone();
    let actor = upload.attach.map(|a| a.actor).unwrap_or_default();
    receive_then(state, upload, body, move |record| async move {
        let (file, _) = store
            .insert_file(record, actor, docket_domain::now())
            .await?;
        Ok(file)
    })
    .await
}

/// Like [`receive`], but once every byte has arrived the record is handed to `commit`,
/// which stores it (with whatever else belongs in the same transaction, e.g. an item's
/// submission) instead of a plain insert; when `commit` fails, the object is deleted.
pub async fn receive_then<E, T, F, Fut>(
    state: &AppState,
    upload: Upload,
    body: impl Stream<Item = Result<Bytes, E>> + Send,
    commit: F,
) -> Result<T, ApiError>
where
    E: std::fmt::Display,
    T: Send + 'static,
    F: FnOnce(FileRecord) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, ApiError>> + Send,
{
    let ws = upload.workspace_id;
    let policy = state.store().file_policy(ws).await?.unwrap_or_default();
    let limit = policy.max_bytes;
    if upload.declared_size.is_some_and(|n| n > limit) {
        return Err(ApiError::FileTooLarge { limit });
    }
    let name = FileName::sanitize(&upload.name);
    let id = FileId::new();
    let key = storage_key(ws, id);
    let path = path_of(&key).ok_or_else(|| ApiError::Internal(anyhow::anyhow!("bad key {key}")))?;
    let idle = state.settings().request_timeout();
    let mut body = std::pin::pin!(body);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;

    // The head: enough to judge the type before anything is written.
    let mut head: Vec<u8> = Vec::new();
    let mut pending: Vec<Bytes> = Vec::new();
    let mut ended = false;
    while head.len() < SNIFF_BYTES {
        match next_chunk(&mut body, idle).await? {
            Some(chunk) => {
                size += chunk.len() as u64;
                if size > limit {
                    return Err(ApiError::FileTooLarge { limit });
                }
                hasher.update(&chunk);
                let room = SNIFF_BYTES - head.len();
                head.extend_from_slice(&chunk[..chunk.len().min(room)]);
                pending.push(chunk);
            }
            None => {
                ended = true;
                break;
            }
        }
    }
    let content_type = sniff_content_type(&head, &name, ended);
    if !policy.allows(&content_type) {
        return Err(ApiError::UnsupportedType { content_type });
    }
    drop(head);

    // The rest streams to the store; any early return drops (and so aborts) the writer.
    let mut writer = BlobWriter::new(state.blobs(), path.clone());
    for chunk in pending {
        writer.write(chunk).await.map_err(storage_error)?;
    }
    while !ended {
        match next_chunk(&mut body, idle).await {
            Ok(Some(chunk)) => {
                size += chunk.len() as u64;
                if size > limit {
                    writer.abort().await;
                    return Err(ApiError::FileTooLarge { limit });
                }
                hasher.update(&chunk);
                writer.write(chunk).await.map_err(storage_error)?;
            }
            Ok(None) => ended = true,
            Err(e) => {
                writer.abort().await;
                return Err(e);
            }
        }
    }
    let attach = upload.attach;
    let record = FileRecord {
        id,
        workspace_id: ws,
        request_id: attach.map(|a| a.request_id),
        name,
        content_type,
        size,
        sha256: Some(hex::encode(hasher.finalize())),
        uploaded_by: upload.uploaded_by,
        visibility: upload.visibility,
        storage_key: key,
        created_at: docket_domain::now(),
    };
    // Every byte arrived: completing the object and storing its record run on a task of
    // their own, so that the two always go together even if this future is dropped now.
    let blobs = state.blobs().clone();
    let (id, size, content_type) = (record.id, record.size, record.content_type.clone());
    let stored = tokio::spawn(async move {
        writer.finish().await.map_err(storage_error)?;
        let written = commit(record).await;
        if written.is_err() {
            if let Err(e) = blobs.delete(&path).await {
                tracing::error!(error = %e, file.key = %path, "could not delete the object of a refused upload");
            }
        }
        written
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("storing a file: {e}")))??;
    tracing::info!(file.id = %id, workspace.id = %ws, file.size = size, file.content_type = %content_type, "file received");
    Ok(stored)
}

/// The next chunk of the body; an error or a stall ends the upload.
async fn next_chunk<E: std::fmt::Display>(
    body: &mut (impl Stream<Item = Result<Bytes, E>> + Unpin),
    idle: Duration,
) -> Result<Option<Bytes>, ApiError> {
    match tokio::time::timeout(idle, body.next()).await {
        Err(_) => Err(ApiError::UploadStalled),
        Ok(None) => Ok(None),
        Ok(Some(Ok(chunk))) => Ok(Some(chunk)),
        Ok(Some(Err(e))) => {
            tracing::info!(error = %e, "an upload's body failed");
            Err(ApiError::UploadInterrupted)
        }
    }
}

fn storage_error(e: object_store::Error) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context("writing to the blob store"))
}
