//! What a connection may cost the server: a client that sends part of its headers and
//! stops is closed; connections are capped; a body declared larger than the limit is
//! refused at once, before any of it arrives. Over raw TCP, since an HTTP client would
//! not misbehave like this.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes or `within` passes: what arrived, and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_connection_that_stops_halfway_through_its_headers_is_closed() {
        let app = spawn_app_with(Settings { header_timeout_secs: 1, ..test_settings() }).await;
        let mut slow = TcpStream::connect(address(&app)).await.unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: docket\r\nX-Slow: ").await.unwrap();
        let started = Instant::now();
        let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(10)).await;
        assert!(closed, "the server still holds the half-sent request after 10 s");
        assert!(started.elapsed() >= Duration::from_millis(900), "not before the timeout");
        // A connection that sends its whole request is served as usual.
        let mut quick = TcpStream::connect(address(&app)).await.unwrap();
        quick
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: docket\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (answer, _) = read_until_closed(&mut quick, Duration::from_secs(10)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

backend_tests! {
    #[tokio::test]
    async fn connections_beyond_the_cap_wait_until_one_closes() {
        let app = spawn_app_with(Settings { max_connections: 1, ..test_settings() }).await;
        let first = TcpStream::connect(address(&app)).await.unwrap();
        // Let the server accept the first connection before the second arrives.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut second = TcpStream::connect(address(&app)).await.unwrap();
        second
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: docket\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (early, closed) = read_until_closed(&mut second, Duration::from_millis(700)).await;
        assert!(early.is_empty() && !closed, "served beyond the cap: {early}");
        drop(first);
        let (answer, _) = read_until_closed(&mut second, Duration::from_secs(10)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "served once the first closed: {answer}");
    }
}

backend_tests! {
    #[tokio::test]
    async fn a_body_declared_larger_than_the_limit_is_refused_at_once() {
        let app = spawn_app().await;
        for (path, auth, error) in [
            ("/api/v1/requests", "Authorization: Bearer", "\"payload_too_large\""),
            ("/v1/request", "Authorization: Bearer", "payload_too_large"),
            ("/api/v4/content_requests", "Authorization: Bearer", "too large"),
        ] {
            let mut client = TcpStream::connect(address(&app)).await.unwrap();
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: docket\r\n{auth} {OWNER_TOKEN}\r\n\
                 Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{{"
            );
            client.write_all(head.as_bytes()).await.unwrap();
            let started = Instant::now();
            let (answer, _) = read_until_closed(&mut client, Duration::from_secs(5)).await;
            assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
            assert!(answer.contains(error), "{path}: {answer}");
            assert!(started.elapsed() < Duration::from_secs(5), "{path}: answered at once");
        }
    }
}
