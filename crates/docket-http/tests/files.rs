//! Files over real HTTP, on SQLite and PostgreSQL: uploads (multipart and raw) that
//! stream into the files directory, downloads byte for byte with safe headers, lists,
//! deletes, attaching to requests with the timeline event, the workspace's policy (size
//! and sniffed type), hostile names, interrupted uploads that leave nothing behind,
//! signed URLs, workspace isolation and scopes.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const MIB: usize = 1024 * 1024;

/// `n` bytes that sniff as a PNG: the signature and an IHDR chunk, then filler.
fn png(n: usize) -> Vec<u8> {
    let mut b = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
    ];
    let mut x: u32 = 2463534242;
    while b.len() < n {
        // xorshift: bytes that do not compress into a pattern by accident.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.push(x as u8);
    }
    b.truncate(n);
    b
}

/// A minimal 64-bit ELF header: what an uploaded program starts with.
fn elf() -> Vec<u8> {
    let mut b = vec![
        0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0,
    ];
    b.resize(4096, 0);
    b
}

fn sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Sends `bytes` as the raw body of `POST path`.
async fn upload_raw(
    app: &TestApp,
    token: &str,
    path: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> Reply {
    app.send(
        app.request(Method::POST, path, Some(token))
            .header("content-type", content_type)
            .body(bytes),
    )
    .await
}

/// Sends a multipart form to `POST path`: the text parts first, then a `file` part.
async fn upload_form(
    app: &TestApp,
    token: &str,
    path: &str,
    filename: &str,
    bytes: Vec<u8>,
    parts: &[(&str, &str)],
) -> Reply {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in parts {
        form = form.text(name.to_string(), value.to_string());
    }
    let file = reqwest::multipart::Part::bytes(bytes)
        .file_name(filename.to_owned())
        .mime_str("application/pdf")
        .unwrap();
    form = form.part("file", file);
    app.send(app.request(Method::POST, path, Some(token)).multipart(form))
        .await
}

/// Downloads `path` (with `token` when given) and returns the status, headers and bytes.
async fn fetch(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = app.request(Method::GET, path, token).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

/// Every regular file under `dir`, as paths relative to it.
fn objects(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Waits (up to 10 s) until the files directory holds no file: aborting a multipart
/// upload removes its staging file on a task of its own.
async fn eventually_empty(dir: &Path) {
    for _ in 0..200 {
        if objects(dir).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("files were left behind: {:?}", objects(dir));
}

async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = app
        .get(token, &format!("/api/v1/files{query}"))
        .await
        .expect(200, "");
    r.body["items"].as_array().unwrap().clone()
}

/// The `files` changes on a request's timeline.
async fn file_changes(app: &TestApp, request: &str) -> Vec<Value> {
    let t = app
        .get(
            &app.owner_token,
            &format!("/api/v1/requests/{request}/timeline"),
        )
        .await
        .expect(200, "");
    t.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "request.updated")
        .flat_map(|e| e["changes"].as_array().unwrap().clone())
        .filter(|c| c["field"] == "files")
        .collect()
}

async fn set_policy(app: &TestApp, max_bytes: usize, types: &[&str]) {
    app.send(
        app.request(Method::PUT, "/api/v1/files/policy", Some(&app.owner_token))
            .json(&json!({"max_bytes": max_bytes, "allowed_types": types})),
    )
    .await
    .expect(200, "");
}

backend_tests! {
    #[tokio::test]
    async fn raw_and_multipart_uploads_download_byte_for_byte() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();

        let text = b"Dear desk,\nthe contract is attached.\n".to_vec();
        let r = upload_raw(&app, &t, "/api/v1/files?name=note.txt", text.clone(), "application/x-whatever").await.expect(201, "");
        let id = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(r.header("location"), Some(format!("/api/v1/files/{id}").as_str()));
        assert_eq!(r.body["name"], "note.txt");
        assert_eq!(r.body["content_type"], "text/plain");
        assert_eq!(r.body["size"], text.len());
        assert_eq!(r.body["sha256"], sha256(&text));
        assert_eq!(r.body["visibility"], "internal");
        assert_eq!(r.body["request_id"], Value::Null);
        assert_eq!(r.body["uploaded_by"], json!({"kind": "member", "id": app.owner_id}));
        assert_eq!(r.body["download_url"], format!("/api/v1/files/{id}/content"));
        assert!(r.body.get("storage_key").is_none(), "where bytes live is not the client's business");
        assert_eq!(objects(&app.files_dir), [PathBuf::from(&app.workspace_id).join(&id)]);

        let (status, headers, body) = fetch(&app, Some(&t), &format!("/api/v1/files/{id}/content")).await;
        assert_eq!(status, 200);
        assert_eq!(body, text);
        assert_eq!(headers["content-type"], "text/plain");
        assert_eq!(headers["content-length"], text.len().to_string().as_str());
        assert_eq!(headers["content-disposition"], "attachment; filename*=UTF-8''note.txt");
        assert_eq!(headers["etag"], format!("\"{}\"", sha256(&text)).as_str());
        assert_eq!(headers["x-content-type-options"], "nosniff");

        // Larger than one part: streamed to the store as a multipart upload.
        let big = png(7 * MIB + 123);
        let r = upload_form(&app, &t, "/api/v1/files", "Café photo.png", big.clone(), &[("visibility", "shared")]).await.expect(201, "");
        let big_id = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(r.body["name"], "Café photo.png");
        assert_eq!(r.body["content_type"], "image/png");
        assert_eq!(r.body["size"], big.len());
        assert_eq!(r.body["sha256"], sha256(&big));
        assert_eq!(r.body["visibility"], "shared");
        let (status, headers, body) = fetch(&app, Some(&t), &format!("/api/v1/files/{big_id}/content")).await;
        assert_eq!(status, 200);
        assert!(body == big, "the bytes come back as they went in");
        assert_eq!(headers["content-type"], "image/png");
        assert_eq!(headers["content-length"], big.len().to_string().as_str());
        assert_eq!(headers["content-disposition"], "attachment; filename*=UTF-8''Caf%C3%A9%20photo.png");

        // The raw body's name may come from Content-Disposition.
        let r = app
            .send(
                app.request(Method::POST, "/api/v1/files", Some(&t))
                    .header("content-disposition", "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.txt")
                    .body("cv"),
            )
            .await
            .expect(201, "");
        assert_eq!(r.body["name"], "résumé.txt");
        let r = upload_raw(&app, &t, "/api/v1/files", b"x".to_vec(), "text/plain").await.expect(201, "");
        assert_eq!(r.body["name"], "file");
        let r = upload_raw(&app, &t, "/api/v1/files?name=empty.txt", Vec::new(), "text/plain").await.expect(201, "");
        assert_eq!(r.body["size"], 0);

        // An upload is never buffered, so an Idempotency-Key does not hold it to the JSON
        // body limit (the key is ignored on uploads).
        let two = png(2 * MIB);
        let r = app
            .send(
                app.request(Method::POST, "/api/v1/files?name=keyed.png", Some(&t))
                    .header("idempotency-key", "upload-1")
                    .body(two.clone()),
            )
            .await
            .expect(201, "");
        assert_eq!(r.body["size"], two.len());
    }
}

backend_tests! {
    #[tokio::test]
    async fn files_are_listed_read_and_deleted_with_their_bytes() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();
        let mut ids = Vec::new();
        for i in 0..3 {
            let r = upload_raw(&app, &t, &format!("/api/v1/files?name=n{i}.txt"), format!("note {i}").into_bytes(), "text/plain").await.expect(201, "");
            ids.push(r.body["id"].as_str().unwrap().to_owned());
        }
        let page = app.get(&t, "/api/v1/files?limit=2").await.expect(200, "");
        assert_eq!(strings(page.body["items"].as_array().unwrap(), "id"), ids[..2]);
        let cursor = page.body["next_cursor"].as_str().unwrap();
        let rest = app.get(&t, &format!("/api/v1/files?limit=2&cursor={cursor}")).await.expect(200, "");
        assert_eq!(strings(rest.body["items"].as_array().unwrap(), "id"), ids[2..]);
        assert_eq!(rest.body["next_cursor"], Value::Null);
        app.get(&t, "/api/v1/files?cursor=nope").await.expect(400, "invalid_cursor");
        app.get(&t, "/api/v1/files?limit=0").await.expect(400, "invalid_query");

        let one = app.get(&t, &format!("/api/v1/files/{}", ids[1])).await.expect(200, "");
        assert_eq!(one.body["name"], "n1.txt");
        app.get(&t, "/api/v1/files/not-an-id").await.expect(404, "not_found");

        app.delete(&t, &format!("/api/v1/files/{}", ids[1])).await.expect(204, "");
        app.get(&t, &format!("/api/v1/files/{}", ids[1])).await.expect(404, "not_found");
        app.get(&t, &format!("/api/v1/files/{}/content", ids[1])).await.expect(404, "not_found");
        app.delete(&t, &format!("/api/v1/files/{}", ids[1])).await.expect(404, "not_found");
        assert_eq!(listed(&app, &t, "").await.len(), 2);
        let left: Vec<PathBuf> = objects(&app.files_dir);
        assert_eq!(left.len(), 2, "the deleted file's bytes are gone: {left:?}");
        assert!(!left.iter().any(|p| p.ends_with(&ids[1])));
    }
}

backend_tests! {
    #[tokio::test]
    async fn files_on_requests_are_recorded_on_the_timeline() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();
        let request = app.request_id("Send the contract").await;
        let other = app.request_id("Another").await;
        let version = |r: &Reply| r.header("etag").unwrap().to_owned();
        let before = app.get(&t, &format!("/api/v1/requests/{request}")).await.expect(200, "");

        // Straight onto the request.
        let onto = upload_raw(&app, &t, &format!("/api/v1/requests/{request}/files?name=contract.pdf"), b"%PDF-1.7\n%%EOF\n".to_vec(), "application/pdf").await.expect(201, "");
        let onto_id = onto.body["id"].as_str().unwrap().to_owned();
        assert_eq!(onto.body["request_id"], request.as_str());
        assert_eq!(onto.body["content_type"], "application/pdf");
        let after = app.get(&t, &format!("/api/v1/requests/{request}")).await.expect(200, "");
        assert_ne!(version(&after), version(&before), "attaching is a new version of the request");
        assert_eq!(after.body["version"], before.body["version"].as_i64().unwrap() + 1);
        let changes = file_changes(&app, &request).await;
        assert_eq!(changes, [json!({
            "field": "files", "old": null,
            "new": {"id": onto_id, "name": "contract.pdf", "size": 15, "content_type": "application/pdf"}
        })]);

        // Through /files with request_id, as a query parameter and as a form part.
        let q = upload_raw(&app, &t, &format!("/api/v1/files?name=q.txt&request_id={request}"), b"q".to_vec(), "text/plain").await.expect(201, "");
        assert_eq!(q.body["request_id"], request.as_str());
        let f = upload_form(&app, &t, "/api/v1/files", "f.png", png(100), &[("request_id", &request)]).await.expect(201, "");
        assert_eq!(f.body["request_id"], request.as_str());

        // An unattached file attached later; attaching twice changes nothing.
        let loose = upload_raw(&app, &t, "/api/v1/files?name=loose.txt", b"loose".to_vec(), "text/plain").await.expect(201, "");
        let loose_id = loose.body["id"].as_str().unwrap().to_owned();
        let put = |req: &str, file: &str| app.request(Method::PUT, &format!("/api/v1/requests/{req}/files/{file}"), Some(&app.owner_token));
        let r = app.send(put(&request, &loose_id)).await.expect(200, "");
        assert_eq!(r.body["request_id"], request.as_str());
        app.send(put(&request, &loose_id)).await.expect(200, "");
        assert_eq!(file_changes(&app, &request).await.len(), 4);
        app.send(put(&other, &loose_id)).await.expect(409, "file_attached");
        app.send(put(&other, "not-an-id")).await.expect(404, "not_found");

        let on_request = app.get(&t, &format!("/api/v1/requests/{request}/files")).await.expect(200, "");
        assert_eq!(on_request.body["items"].as_array().unwrap().len(), 4);
        assert_eq!(listed(&app, &t, &format!("?request_id={request}")).await.len(), 4);
        assert!(listed(&app, &t, &format!("?request_id={other}")).await.is_empty());

        // Taking a file off keeps it; deleting an attached file records it too.
        app.delete(&t, &format!("/api/v1/requests/{request}/files/{loose_id}")).await.expect(204, "");
        app.delete(&t, &format!("/api/v1/requests/{request}/files/{loose_id}")).await.expect(404, "not_found");
        assert_eq!(app.get(&t, &format!("/api/v1/files/{loose_id}")).await.expect(200, "").body["request_id"], Value::Null);
        app.delete(&t, &format!("/api/v1/files/{onto_id}")).await.expect(204, "");
        let changes = file_changes(&app, &request).await;
        assert_eq!(changes.len(), 6);
        assert_eq!(changes[4]["old"]["id"], loose_id.as_str());
        assert_eq!(changes[4]["new"], Value::Null);
        assert_eq!(changes[5]["old"]["name"], "contract.pdf");
        assert_eq!(changes[5]["new"], Value::Null);

        // The change feed carries it like any change.
        let feed = app.get(&t, "/api/v1/events").await.expect(200, "");
        assert!(feed.body["items"].as_array().unwrap().iter().any(|e| e["changes"][0]["field"] == "files"));

        // A deleted request takes no files (refused before the body is read).
        app.delete(&t, &format!("/api/v1/requests/{other}")).await.expect(204, "");
        upload_raw(&app, &t, &format!("/api/v1/requests/{other}/files?name=late.txt"), b"late".to_vec(), "text/plain").await.expect(410, "gone");
        app.send(put(&other, &loose_id)).await.expect(410, "gone");
        upload_raw(&app, &t, "/api/v1/requests/0190a0b0-0000-7000-8000-000000000000/files", b"x".to_vec(), "text/plain").await.expect(404, "not_found");
    }
}

backend_tests! {
    #[tokio::test]
    async fn files_over_the_limit_are_refused_while_streaming_and_leave_nothing() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();
        set_policy(&app, MIB, &["image/*", "text/plain"]).await;

        // A streamed body with no length: refused once it passes the limit.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = png(3 * MIB).chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        let r = app
            .send(
                app.request(Method::POST, "/api/v1/files?name=big.png", Some(&t))
                    .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks))),
            )
            .await
            .expect(413, "file_too_large");
        assert_eq!(r.body["error"]["details"]["limit"], MIB);

        // Announced too large: refused before a byte is read.
        upload_raw(&app, &t, "/api/v1/files?name=big.png", png(MIB + 1), "image/png").await.expect(413, "file_too_large");
        upload_form(&app, &t, "/api/v1/files", "big.png", png(2 * MIB), &[]).await.expect(413, "file_too_large");
        // Exactly the limit is fine.
        let r = upload_raw(&app, &t, "/api/v1/files?name=max.png", png(MIB), "image/png").await.expect(201, "");
        app.delete(&t, &format!("/api/v1/files/{}", r.body["id"].as_str().unwrap())).await.expect(204, "");

        // Past a part: the multipart upload already begun is aborted.
        set_policy(&app, 6 * MIB, &["image/*"]).await;
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = png(9 * MIB).chunks(256 * 1024).map(|c| Ok(c.to_vec())).collect();
        app.send(
            app.request(Method::POST, "/api/v1/files?name=bigger.png", Some(&t))
                .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks))),
        )
        .await
        .expect(413, "file_too_large");

        eventually_empty(&app.files_dir).await;
        assert!(listed(&app, &t, "").await.is_empty());
    }
}

backend_tests! {
    #[tokio::test]
    async fn types_are_sniffed_from_the_bytes_and_checked_against_the_policy() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();
        // A PNG named and sent as a PDF is a PNG.
        let r = upload_raw(&app, &t, "/api/v1/files?name=x.pdf", png(500), "application/pdf").await.expect(201, "");
        assert_eq!(r.body["content_type"], "image/png");
        assert_eq!(r.body["name"], "x.pdf");
        let (_, headers, _) = fetch(&app, Some(&t), &format!("/api/v1/files/{}/content", r.body["id"].as_str().unwrap())).await;
        assert_eq!(headers["content-type"], "image/png");

        // A program is refused, whatever it claims to be, and nothing is kept.
        let r = upload_raw(&app, &t, "/api/v1/files?name=invoice.pdf", elf(), "application/pdf").await.expect(415, "unsupported_type");
        assert_eq!(r.body["error"]["details"]["content_type"], "application/x-executable");
        upload_form(&app, &t, "/api/v1/files", "invoice.pdf", elf(), &[]).await.expect(415, "unsupported_type");
        upload_raw(&app, &t, "/api/v1/files?name=page.txt", b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec(), "text/plain").await.expect(415, "unsupported_type");
        upload_raw(&app, &t, "/api/v1/files?name=blob", vec![0, 1, 2, 3, 0xff], "image/png").await.expect(415, "unsupported_type");
        assert_eq!(listed(&app, &t, "").await.len(), 1);
        assert_eq!(objects(&app.files_dir).len(), 1);

        // Text named .csv is CSV.
        let r = upload_raw(&app, &t, "/api/v1/files?name=data.csv", b"a,b\n1,2\n".to_vec(), "application/octet-stream").await.expect(201, "");
        assert_eq!(r.body["content_type"], "text/csv");

        // A workspace that allows everything takes the program, as what it is.
        set_policy(&app, MIB, &["*/*"]).await;
        let r = upload_raw(&app, &t, "/api/v1/files?name=tool", elf(), "application/pdf").await.expect(201, "");
        assert_eq!(r.body["content_type"], "application/x-executable");
    }
}

backend_tests! {
    #[tokio::test]
    async fn hostile_names_are_sanitised_and_never_touch_the_file_system() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();
        let mut ids = Vec::new();
        for (query, expected) in [
            ("name=..%2F..%2Fetc%2Fpasswd", "passwd"),
            ("name=..%5C..%5Cboot.ini", "boot.ini"),
            ("name=a%00b%0Ac.txt", "abc.txt"),
            ("name=.htaccess", "htaccess"),
            ("name=..", "file"),
        ] {
            let r = upload_raw(&app, &t, &format!("/api/v1/files?{query}"), b"payload".to_vec(), "text/plain").await.expect(201, "");
            assert_eq!(r.body["name"], expected, "{query}");
            ids.push(r.body["id"].as_str().unwrap().to_owned());
        }
        let r = upload_form(&app, &t, "/api/v1/files", "../../../../tmp/evil.png", png(64), &[]).await.expect(201, "");
        assert_eq!(r.body["name"], "evil.png");
        ids.push(r.body["id"].as_str().unwrap().to_owned());
        let r = app
            .send(
                app.request(Method::POST, "/api/v1/files", Some(&t))
                    .header("content-disposition", "attachment; filename=\"../../x/..\\\\y.txt\"")
                    .body("z"),
            )
            .await
            .expect(201, "");
        assert_eq!(r.body["name"], "y.txt");
        ids.push(r.body["id"].as_str().unwrap().to_owned());

        // Every object is `<workspace>/<file id>`, and nothing was written beside the
        // files directory.
        let mut expected: Vec<PathBuf> = ids.iter().map(|id| PathBuf::from(&app.workspace_id).join(id)).collect();
        expected.sort();
        assert_eq!(objects(&app.files_dir), expected);
        let root = app.files_dir.parent().unwrap();
        assert_eq!(objects(root), expected.iter().map(|p| Path::new("files").join(p)).collect::<Vec<_>>());

        let (_, headers, _) = fetch(&app, Some(&t), &format!("/api/v1/files/{}/content", ids[2])).await;
        assert_eq!(headers["content-disposition"], "attachment; filename*=UTF-8''abc.txt");
    }
}

/// Opens a raw connection, sends the head of an upload announcing `announced` bytes and
/// then `body`, waits (up to 10 s) until `ready` says the server got far enough, and
/// hangs up. Returns whether `ready` was reached.
async fn hang_up_mid_upload(
    app: &TestApp,
    announced: usize,
    body: Vec<u8>,
    ready: impl Fn() -> bool,
) -> bool {
    let address = app.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/v1/files?name=big.png HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {}\r\ncontent-type: application/octet-stream\r\ncontent-length: {announced}\r\n\r\n",
        app.owner_token
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&body).await.unwrap();
    socket.flush().await.unwrap();
    let mut reached = false;
    for _ in 0..200 {
        if ready() {
            reached = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(socket);
    reached
}

backend_tests! {
    #[tokio::test]
    async fn an_interrupted_upload_leaves_no_object_and_no_record() {
        let app = spawn_app().await;
        let dir = app.files_dir.clone();
        // Past one part: a multipart upload is under way (its staging file exists) when
        // the client hangs up.
        let staged = hang_up_mid_upload(&app, 20 * MIB, png(6 * MIB), || !objects(&dir).is_empty()).await;
        assert!(staged, "the multipart upload had begun before the client hung up");
        eventually_empty(&dir).await;
        // Within the first part: nothing was written yet, and nothing will be.
        hang_up_mid_upload(&app, 20 * MIB, png(100 * 1024), || true).await;
        eventually_empty(&dir).await;
        assert!(listed(&app, &app.owner_token, "").await.is_empty());
    }
}

backend_tests! {
    #[tokio::test]
    async fn uploads_outlast_the_request_timeout_while_bytes_flow_and_stop_when_they_stall() {
        let app = spawn_app_with(Settings {
            request_timeout_secs: 1,
            ..test_settings()
        })
        .await;
        let t = app.owner_token.clone();
        // Three seconds of a slow but steady body.
        let slow = futures::stream::unfold(0u32, |i| async move {
            if i == 6 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let chunk = if i == 0 { b"slow ".to_vec() } else { b"and steady ".to_vec() };
            Some((Ok::<_, std::io::Error>(chunk), i + 1))
        });
        let r = app
            .send(
                app.request(Method::POST, "/api/v1/files?name=slow.txt", Some(&t))
                    .body(reqwest::Body::wrap_stream(slow)),
            )
            .await
            .expect(201, "");
        assert_eq!(r.body["size"], 5 + 5 * 11);

        // A body that stops arriving is given up, and leaves nothing.
        let stalled = futures::stream::unfold(0u32, |i| async move {
            match i {
                0 => Some((Ok::<_, std::io::Error>(b"start".to_vec()), 1)),
                _ => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    None
                }
            }
        });
        app.send(
            app.request(Method::POST, "/api/v1/files?name=stalled.txt", Some(&t))
                .body(reqwest::Body::wrap_stream(stalled)),
        )
        .await
        .expect(408, "timeout");
        assert_eq!(listed(&app, &t, "").await.len(), 1);
        assert_eq!(objects(&app.files_dir).len(), 1);
        // Other calls keep the whole-request timeout.
        app.get(&t, "/api/v1/files").await.expect(200, "");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_multipart_form_carries_exactly_one_file() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();
        let request = app.request_id("One at a time").await;
        let form = reqwest::multipart::Form::new()
            .text("request_id", request.clone())
            .part("file", reqwest::multipart::Part::bytes(b"one".to_vec()).file_name("1.txt"))
            .part("file", reqwest::multipart::Part::bytes(b"two".to_vec()).file_name("2.txt"));
        app.send(app.request(Method::POST, "/api/v1/files", Some(&t)).multipart(form)).await.expect(422, "validation_failed");
        let form = reqwest::multipart::Form::new().text("visibility", "shared");
        app.send(app.request(Method::POST, "/api/v1/files", Some(&t)).multipart(form)).await.expect(422, "validation_failed");
        let form = reqwest::multipart::Form::new()
            .text("colour", "blue")
            .part("file", reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"));
        app.send(app.request(Method::POST, "/api/v1/files", Some(&t)).multipart(form)).await.expect(422, "validation_failed");
        let form = reqwest::multipart::Form::new()
            .text("visibility", "public")
            .part("file", reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"));
        app.send(app.request(Method::POST, "/api/v1/files", Some(&t)).multipart(form)).await.expect(422, "validation_failed");
        // Nothing was kept, and the request recorded nothing.
        eventually_empty(&app.files_dir).await;
        assert!(listed(&app, &t, "").await.is_empty());
        assert!(file_changes(&app, &request).await.is_empty());
    }
}

backend_tests! {
    #[tokio::test]
    async fn signed_urls_download_without_a_token_until_they_expire() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();
        let bytes = png(2048);
        let r = upload_raw(&app, &t, "/api/v1/files?name=photo.png", bytes.clone(), "image/png").await.expect(201, "");
        let id = r.body["id"].as_str().unwrap().to_owned();
        let sign = |body: Value| app.request(Method::POST, &format!("/api/v1/files/{id}/signed-url"), Some(&app.owner_token)).json(&body);

        let signed = app.send(sign(json!({"expires_in": 1}))).await.expect(200, "");
        let url = signed.body["url"].as_str().unwrap().to_owned();
        assert!(url.starts_with(&format!("/files/{id}/content?expires=")), "{url}");
        let expires_at: chrono::DateTime<chrono::Utc> = signed.body["expires_at"].as_str().unwrap().parse().unwrap();
        assert!(expires_at > chrono::Utc::now() && expires_at <= chrono::Utc::now() + chrono::TimeDelta::seconds(2));

        let (status, headers, body) = fetch(&app, None, &url).await;
        assert_eq!(status, 200);
        assert!(body == bytes);
        assert_eq!(headers["content-type"], "image/png");
        assert_eq!(headers["content-disposition"], "attachment; filename*=UTF-8''photo.png");
        assert_eq!(headers["x-content-type-options"], "nosniff");

        // Tampered: another signature, another expiry, another file, or none.
        let (path, query) = url.split_once('?').unwrap();
        let (expires, signature) = query.split_once("&signature=").unwrap();
        let flipped = format!("{}{}", if signature.starts_with('A') { "B" } else { "A" }, &signature[1..]);
        let later: i64 = expires.trim_start_matches("expires=").parse::<i64>().unwrap() + 3600;
        let other = upload_raw(&app, &t, "/api/v1/files?name=other.txt", b"other".to_vec(), "text/plain").await.expect(201, "");
        let other_id = other.body["id"].as_str().unwrap();
        for bad in [
            format!("{path}?{expires}&signature={flipped}"),
            format!("{path}?expires={later}&signature={signature}"),
            format!("/files/{other_id}/content?{query}"),
            format!("{path}?{expires}"),
            format!("{path}?signature={signature}"),
            path.to_owned(),
        ] {
            let r = app.send(app.request(Method::GET, &bad, None)).await;
            r.expect(403, "signature_invalid");
        }

        // Expired: a genuine signature whose time has passed.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        app.send(app.request(Method::GET, &url, None)).await.expect(403, "signature_expired");

        // Lifetimes: 300 s by default (an empty body), 1 s to 7 days.
        let default = app
            .send(app.request(Method::POST, &format!("/api/v1/files/{id}/signed-url"), Some(&t)))
            .await
            .expect(200, "");
        let at: chrono::DateTime<chrono::Utc> = default.body["expires_at"].as_str().unwrap().parse().unwrap();
        let ttl = at - chrono::Utc::now();
        assert!(ttl > chrono::TimeDelta::seconds(290) && ttl <= chrono::TimeDelta::seconds(301), "{ttl}");
        app.send(sign(json!({"expires_in": 0}))).await.expect(422, "validation_failed");
        app.send(sign(json!({"expires_in": 604801}))).await.expect(422, "validation_failed");
        app.send(sign(json!({"expires_in": 604800}))).await.expect(200, "");
        app.send(sign(json!({"ttl": 5}))).await.expect(422, "validation_failed");

        // A deleted file's URL finds nothing.
        let fresh = app.send(sign(json!({}))).await.expect(200, "");
        app.delete(&t, &format!("/api/v1/files/{id}")).await.expect(204, "");
        let r = app.send(app.request(Method::GET, fresh.body["url"].as_str().unwrap(), None)).await;
        r.expect(404, "not_found");
    }
}

backend_tests! {
    #[tokio::test]
    async fn another_workspaces_files_are_not_found() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();
        let theirs = app.other_workspace("files-other").await;
        let r = upload_raw(&app, &t, "/api/v1/files?name=mine.txt", b"mine".to_vec(), "text/plain").await.expect(201, "");
        let id = r.body["id"].as_str().unwrap().to_owned();
        let their_request = app.create_request(&theirs, json!({"title": "Theirs"})).await["id"].as_str().unwrap().to_owned();

        app.get(&theirs, &format!("/api/v1/files/{id}")).await.expect(404, "not_found");
        app.get(&theirs, &format!("/api/v1/files/{id}/content")).await.expect(404, "not_found");
        app.delete(&theirs, &format!("/api/v1/files/{id}")).await.expect(404, "not_found");
        app.post(&theirs, &format!("/api/v1/files/{id}/signed-url"), json!({})).await.expect(404, "not_found");
        app.send(app.request(Method::PUT, &format!("/api/v1/requests/{their_request}/files/{id}"), Some(&theirs))).await.expect(404, "not_found");
        assert!(listed(&app, &theirs, "").await.is_empty());
        let mine = app.request_id("Mine").await;
        app.get(&theirs, &format!("/api/v1/requests/{mine}/files")).await.expect(404, "not_found");
        upload_raw(&app, &theirs, &format!("/api/v1/requests/{mine}/files?name=x.txt"), b"x".to_vec(), "text/plain").await.expect(404, "not_found");
        upload_raw(&app, &theirs, &format!("/api/v1/files?name=x.txt&request_id={mine}"), b"x".to_vec(), "text/plain").await.expect(404, "not_found");
        // Still there for its owner.
        app.get(&t, &format!("/api/v1/files/{id}")).await.expect(200, "");
    }
}

backend_tests! {
    #[tokio::test]
    async fn scopes_and_roles_decide_who_does_what_with_files() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();
        let (_, member) = app.add_member("member").await;
        let (_, moderator) = app.add_member("moderator").await;
        let read_only = app.token_with_scopes(&member, &["requests:read", "files:read"]).await;
        let no_files = app.token_with_scopes(&member, &["requests:read", "requests:write"]).await;
        let owners = upload_raw(&app, &t, "/api/v1/files?name=owner.txt", b"owner".to_vec(), "text/plain").await.expect(201, "");
        let owners_id = owners.body["id"].as_str().unwrap().to_owned();
        let owners_request = app.request_id("The owner's").await;

        let r = upload_raw(&app, &read_only, "/api/v1/files?name=x.txt", b"x".to_vec(), "text/plain").await.expect(403, "missing_scope");
        assert_eq!(r.body["error"]["details"]["scope"], "files:write");
        let r = app.get(&no_files, "/api/v1/files").await.expect(403, "missing_scope");
        assert_eq!(r.body["error"]["details"]["scope"], "files:read");
        app.get(&no_files, &format!("/api/v1/files/{owners_id}/content")).await.expect(403, "missing_scope");
        app.get(&read_only, &format!("/api/v1/files/{owners_id}/content")).await.expect(200, "");

        // A member puts files on their own requests only, and deletes their own files.
        upload_raw(&app, &member, &format!("/api/v1/requests/{owners_request}/files?name=x.txt"), b"x".to_vec(), "text/plain").await.expect(403, "forbidden");
        let mine = app.create_request(&member, json!({"title": "Mine"})).await["id"].as_str().unwrap().to_owned();
        let onto = upload_raw(&app, &member, &format!("/api/v1/requests/{mine}/files?name=m.txt"), b"m".to_vec(), "text/plain").await.expect(201, "");
        assert_eq!(onto.body["uploaded_by"]["kind"], "member");
        app.delete(&member, &format!("/api/v1/files/{owners_id}")).await.expect(403, "forbidden");
        app.delete(&member, &format!("/api/v1/files/{}", onto.body["id"].as_str().unwrap())).await.expect(204, "");
        // A moderator manages every request's files.
        upload_raw(&app, &moderator, &format!("/api/v1/requests/{mine}/files?name=mod.txt"), b"m".to_vec(), "text/plain").await.expect(201, "");
        app.delete(&moderator, &format!("/api/v1/files/{owners_id}")).await.expect(204, "");

        // The policy: everyone with files:read reads it; owners and admins change it.
        let policy = app.get(&member, "/api/v1/files/policy").await.expect(200, "");
        assert_eq!(policy.body["max_bytes"], 25 * MIB);
        let change = json!({"max_bytes": 1000, "allowed_types": ["image/*"]});
        for token in [&member, &moderator] {
            app.send(app.request(Method::PUT, "/api/v1/files/policy", Some(token)).json(&change)).await.expect(403, "forbidden");
        }
        let r = app.send(app.request(Method::PUT, "/api/v1/files/policy", Some(&read_only)).json(&change)).await.expect(403, "missing_scope");
        assert_eq!(r.body["error"]["details"]["scope"], "files:write");
    }
}

backend_tests! {
    #[tokio::test]
    async fn the_file_policy_is_read_and_replaced() {
        let app = spawn_app().await;
        let t = app.owner_token.clone();
        let r = app.get(&t, "/api/v1/files/policy").await.expect(200, "");
        assert_eq!(r.body["max_bytes"], 25 * MIB);
        let types = r.body["allowed_types"].as_array().unwrap();
        for t in ["image/*", "application/pdf", "text/plain", "text/csv", "application/zip", "video/mp4"] {
            assert!(types.contains(&json!(t)), "{t} is allowed by default");
        }
        let put = |body: Value| app.request(Method::PUT, "/api/v1/files/policy", Some(&app.owner_token)).json(&body);
        let r = app.send(put(json!({"max_bytes": 0, "allowed_types": ["pdf"]}))).await.expect(422, "validation_failed");
        let fields = strings(r.body["error"]["details"].as_array().unwrap(), "field");
        assert_eq!(fields, ["max_bytes", "allowed_types[0]"]);
        app.send(put(json!({"max_bytes": 10}))).await.expect(422, "validation_failed");
        let r = app.send(put(json!({"max_bytes": 2048, "allowed_types": ["Image/*", "application/pdf", "image/*"]}))).await.expect(200, "");
        assert_eq!(r.body, json!({"max_bytes": 2048, "allowed_types": ["image/*", "application/pdf"]}));
        assert_eq!(app.get(&t, "/api/v1/files/policy").await.expect(200, "").body, r.body);
        upload_raw(&app, &t, "/api/v1/files?name=n.txt", b"text".to_vec(), "text/plain").await.expect(415, "unsupported_type");
        upload_raw(&app, &t, "/api/v1/files?name=p.png", png(2049), "image/png").await.expect(413, "file_too_large");
        upload_raw(&app, &t, "/api/v1/files?name=p.png", png(2048), "image/png").await.expect(201, "");
        // Another workspace keeps the default.
        let theirs = app.other_workspace("policy-other").await;
        assert_eq!(app.get(&theirs, "/api/v1/files/policy").await.expect(200, "").body["max_bytes"], 25 * MIB);
    }
}
