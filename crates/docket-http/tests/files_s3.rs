//! Files in an S3-compatible bucket: the same uploads, downloads and clean-ups as
//! `files.rs`, against a real S3 API — moto's server (`pip install "moto[server]"`,
//! started by each test on a free port) — with the prefix of `s3://bucket/prefix`.

mod common;

use common::*;
use docket_http::settings::{FileSettings, S3Settings};
use reqwest::Method;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const MIB: usize = 1024 * 1024;
const BUCKET: &str = "docket-files";
const PREFIX: &str = "desk/files";

/// moto's S3 server on a free port, killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server runs (pip install \"moto[server]\")");
        let endpoint = format!("http://127.0.0.1:{port}");
        let moto = Self { child, endpoint };
        // Ready when it answers; the bucket is made then.
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = client
                .put(format!("{}/{BUCKET}", moto.endpoint))
                .send()
                .await
            {
                assert!(
                    r.status().is_success(),
                    "creating the bucket: {}",
                    r.status()
                );
                return moto;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not start");
    }

    fn settings(&self) -> Settings {
        Settings {
            files: FileSettings {
                url: format!("s3://{BUCKET}/{PREFIX}"),
                s3: S3Settings {
                    endpoint: Some(self.endpoint.clone()),
                    region: Some("us-east-1".into()),
                    access_key_id: Some("testing".into()),
                    secret_access_key: Some("testing".into()),
                    allow_http: true,
                },
                signing_key: None,
            },
            ..test_settings()
        }
    }

    /// The keys in the bucket.
    async fn keys(&self) -> Vec<String> {
        let xml = reqwest::get(format!("{}/{BUCKET}?list-type=2", self.endpoint))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        xml.split("<Key>")
            .skip(1)
            .map(|s| s.split("</Key>").next().unwrap().to_owned())
            .collect()
    }

    /// How many multipart uploads are begun and neither completed nor aborted.
    async fn open_uploads(&self) -> usize {
        let xml = reqwest::get(format!("{}/{BUCKET}?uploads", self.endpoint))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        xml.matches("<UploadId>").count()
    }

    /// Waits (up to 10 s) until the bucket holds no object and no open upload.
    async fn eventually_clean(&self) {
        for _ in 0..200 {
            if self.keys().await.is_empty() && self.open_uploads().await == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "left in the bucket: {:?}, {} open uploads",
            self.keys().await,
            self.open_uploads().await
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn png(n: usize) -> Vec<u8> {
    let mut b = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut x: u32 = 88172645;
    while b.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.push(x as u8);
    }
    b
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn files_live_in_an_s3_bucket_under_its_prefix() {
        let moto = Moto::start().await;
        let app = spawn_app_with(moto.settings()).await;
        let t = app.owner_token.clone();

        // One put for a small file; a multipart upload past a part.
        let mut ids = Vec::new();
        for (name, bytes) in [("small.png", png(1000)), ("large.png", png(11 * MIB + 5))] {
            let r = app
                .send(app.request(Method::POST, &format!("/api/v1/files?name={name}"), Some(&t)).body(bytes.clone()))
                .await
                .expect(201, "");
            let id = r.body["id"].as_str().unwrap().to_owned();
            assert_eq!(r.body["size"], bytes.len());
            let got = app.request(Method::GET, &format!("/api/v1/files/{id}/content"), Some(&t)).send().await.unwrap();
            assert_eq!(got.status(), 200);
            assert_eq!(got.headers()["content-length"], bytes.len().to_string().as_str());
            assert!(got.bytes().await.unwrap().to_vec() == bytes, "{name} comes back whole");
            ids.push(id);
        }
        let mut keys = moto.keys().await;
        keys.sort();
        let mut want: Vec<String> = ids.iter().map(|id| format!("{PREFIX}/{}/{id}", app.workspace_id)).collect();
        want.sort();
        assert_eq!(keys, want);
        assert_eq!(moto.open_uploads().await, 0);

        // Signed URLs read from the bucket too.
        let signed = app.post(&t, &format!("/api/v1/files/{}/signed-url", ids[0]), json!({})).await.expect(200, "");
        let got = app.request(Method::GET, signed.body["url"].as_str().unwrap(), None).send().await.unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(got.bytes().await.unwrap().len(), 1000);

        // Deleting a file deletes its object.
        for id in &ids {
            app.delete(&t, &format!("/api/v1/files/{id}")).await.expect(204, "");
        }
        moto.eventually_clean().await;
    }
}

backend_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refused_and_interrupted_uploads_abort_their_multipart_upload() {
        let moto = Moto::start().await;
        let app = spawn_app_with(moto.settings()).await;
        let t = app.owner_token.clone();

        // Refused past the limit, after the multipart upload began.
        app.send(
            app.request(Method::PUT, "/api/v1/files/policy", Some(&t))
                .json(&json!({"max_bytes": 7 * MIB, "allowed_types": ["image/*"]})),
        )
        .await
        .expect(200, "");
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = png(12 * MIB).chunks(256 * 1024).map(|c| Ok(c.to_vec())).collect();
        app.send(
            app.request(Method::POST, "/api/v1/files?name=big.png", Some(&t))
                .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks))),
        )
        .await
        .expect(413, "file_too_large");
        moto.eventually_clean().await;

        // The client hangs up once the multipart upload is under way.
        let address = app.base.trim_start_matches("http://").to_owned();
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = format!(
            "POST /api/v1/files?name=cut.png HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {t}\r\ncontent-length: {}\r\n\r\n",
            7 * MIB
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&png(6 * MIB)).await.unwrap();
        let mut begun = false;
        for _ in 0..200 {
            if moto.open_uploads().await > 0 {
                begun = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(begun, "the multipart upload had begun before the client hung up");
        drop(socket);
        moto.eventually_clean().await;
        let listed = app.get(&t, "/api/v1/files").await.expect(200, "");
        assert!(listed.body["items"].as_array().unwrap().is_empty());
    }
}
