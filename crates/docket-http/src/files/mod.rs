//! Files: receiving uploads into the blob store, serving them back, and signed download
//! URLs. This is the service the native API (`api::files`), the web desk and the
//! recipient portal all call; each checks its own caller's permission first, then:
//!
//! - [`receive`] streams an upload (a raw body, or a multipart field through
//!   [`field_body`]) into the store and records it, optionally attached to a request;
//! - [`download`] answers with the file's bytes, streamed, under safe headers;
//! - [`signed_url`] makes a link that downloads a file without a token until it expires
//!   (served at `/files/{id}/content`, see `api::files::signed`).
//!
//! Layout: [`blobs`] (the blob store: a directory or an S3 bucket, through
//! `object_store`), `receive`, `download`, `signed`. What a file *is* — its record, its
//! safe name, its sniffed type, the workspace's policy — is `docket_domain::file`.
//!
//! ```text
//! // A recipient's upload on the portal, onto the link's request, shown back to them:
//! let upload = files::Upload {
//!     workspace_id: link.workspace_id,
//!     name: field.file_name().unwrap_or("file").to_owned(),
//!     uploaded_by: Uploader::Link { id: link.id },
//!     visibility: Visibility::Shared,
//!     attach: Some(files::Attach { request_id: link.request_id, actor: Actor::default() }),
//!     declared_size: None,
//! };
//! let file = files::receive(&state, upload, files::field_body(field)).await?;
//! ```

pub mod blobs;
mod download;
mod receive;
mod signed;

pub use blobs::Blobs;
pub use download::{content_disposition, download};
pub use receive::{receive, receive_then, Attach, Upload};
pub use signed::{sign, signed_url, verify, SIGNING_KEY_NAME};

use axum::extract::multipart::{Field, MultipartError};
use axum::http::Method;
use bytes::Bytes;
use futures::Stream;

/// The bytes of one multipart field, as the stream [`receive`] takes. (axum's `Field` is
/// such a stream already; this names the pairing, so callers need no multer types.) Take
/// the client's name from `field.file_name()` before handing the field over.
pub fn field_body(
    field: Field<'_>,
) -> impl Stream<Item = Result<Bytes, MultipartError>> + Send + '_ {
    field
}

/// The routes whose handlers stream the request body into the blob store (uploads), as
/// `(method, route)`. They are exempt from the whole-request timeout (an upload times out
/// when its body stalls instead, see [`receive`]), from the server's body limit (the
/// workspace's file policy applies), and from `Idempotency-Key` handling, which would have
/// to buffer the body. A new upload route is added here.
pub const STREAMED_UPLOAD_ROUTES: &[(Method, &str)] = &[
    (Method::POST, "/api/v1/files"),
    (Method::POST, "/api/v1/requests/{id}/files"),
    (Method::POST, "/desk/requests/{number}/files"),
    (Method::POST, "/p/{token}/files"),
    (Method::POST, "/api/v1/requests/{id}/items/{item_id}/files"),
    (Method::POST, "/p/{token}/items/{item_id}/files"),
    (
        Method::POST,
        "/desk/requests/{number}/items/{item_id}/files",
    ),
];

/// Whether a request for `path` streams its body: it matches one of the routes above,
/// where a `{name}` segment matches any one segment. Decided from the path rather than
/// axum's `MatchedPath`, so the middleware around the whole router (outside routing) can
/// ask too.
pub fn streams_request_body(method: &Method, path: &str) -> bool {
    STREAMED_UPLOAD_ROUTES
        .iter()
        .any(|(m, route)| m == method && route_matches(route, path))
}

fn route_matches(route: &str, path: &str) -> bool {
    let mut want = route.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_routes_are_recognised_by_path_and_method() {
        let id = "0190c0c0-0000-7000-8000-000000000000";
        assert!(streams_request_body(&Method::POST, "/api/v1/files"));
        assert!(streams_request_body(
            &Method::POST,
            &format!("/api/v1/requests/{id}/files")
        ));
        assert!(streams_request_body(
            &Method::POST,
            "/desk/requests/12/files"
        ));
        assert!(!streams_request_body(&Method::GET, "/api/v1/files"));
        assert!(!streams_request_body(
            &Method::POST,
            "/api/v1/requests//files"
        ));
        assert!(!streams_request_body(
            &Method::POST,
            &format!("/api/v1/requests/{id}/files/x")
        ));
        assert!(!streams_request_body(
            &Method::POST,
            &format!("/api/v1/requests/{id}")
        ));
        assert!(!streams_request_body(&Method::POST, "/api/v1/files/"));
    }
}
