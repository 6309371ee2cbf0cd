//! Serving a file: its object streamed from the blob store with headers that make a
//! browser save it rather than run it.

use super::blobs::path_of;
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use docket_domain::file::FileRecord;
use object_store::ObjectStoreExt;

/// The response that downloads `file`, streamed from the blob store (never read whole):
///
/// - `Content-Type`: the sniffed type; `X-Content-Type-Options: nosniff`, so a browser
///   never second-guesses it, and `Content-Security-Policy: sandbox` for good measure;
/// - `Content-Disposition: attachment; filename*=UTF-8''…` with the sanitised name;
/// - `Content-Length`: the object's size;
/// - `ETag`: the SHA-256 (when known).
///
/// A record whose object is not in the store (an external object that was never put
/// there, or was removed) is 404 `file_missing`. The caller has checked the permission.
pub async fn download(state: &AppState, file: &FileRecord) -> Result<Response, ApiError> {
    let path = path_of(&file.storage_key).ok_or(ApiError::FileMissing)?;
    let got = match state.blobs().store().get(&path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Err(ApiError::FileMissing),
        Err(e) => {
            return Err(ApiError::Internal(
                anyhow::Error::new(e).context("reading from the blob store"),
            ))
        }
    };
    let size = got.meta.size;
    let mut response = Response::new(Body::from_stream(got.into_stream()));
    *response.status_mut() = StatusCode::OK;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&file.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(file.name.as_str())) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(etag) = file
        .sha256
        .as_deref()
        .and_then(|s| HeaderValue::from_str(&format!("\"{s}\"")).ok())
    {
        h.insert(header::ETAG, etag);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Ok(response)
}

/// `attachment; filename*=UTF-8''<name>`, the name percent-encoded as RFC 8187 says
/// (everything but its `attr-char`s), so any Unicode name survives and nothing in it can
/// end the header's value.
pub fn content_disposition(name: &str) -> String {
    let mut out = String::from("attachment; filename*=UTF-8''");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_percent_encoded_in_the_disposition() {
        assert_eq!(
            content_disposition("a b.pdf"),
            "attachment; filename*=UTF-8''a%20b.pdf"
        );
        assert_eq!(
            content_disposition("Café \"x\";.pdf"),
            "attachment; filename*=UTF-8''Caf%C3%A9%20%22x%22%3B.pdf"
        );
    }
}
