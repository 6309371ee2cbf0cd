//! The harness every HTTP test uses: a real server on a port-0 listener over a fresh
//! database, a client, the owner's token, and helpers for the calls tests make often.
//!
//! Tests written inside [`backend_tests!`] run twice, on SQLite and on PostgreSQL, in the
//! same `cargo test` run: the macro sets the backend (a task-local) around the test body,
//! and `spawn_app` opens a fresh store of that backend. Tests outside it (the OpenAPI
//! document, which does not touch storage) run on SQLite.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use docket_store::postgres::scratch::ScratchSchema;
use docket_store::postgres::PgStore;
use docket_store::Store;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

pub mod chrome;
pub mod web;

pub use docket_http::Settings;

/// The owner token every test workspace is bootstrapped with (`dk_` + 40 characters).
pub const OWNER_TOKEN: &str = "dk_test_owner_token_0123456789abcdefghijklmn";
pub const OWNER_EMAIL: &str = "owner@example.com";

/// The storage backends every HTTP test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite database in a temporary directory.
    Sqlite,
    /// A fresh schema on the PostgreSQL server `DOCKET_TEST_PG_URL` names (default
    /// `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test ends.
    Postgres,
}

tokio::task_local! {
    /// The backend the running test uses; [`backend_tests!`] sets it around each body.
    static BACKEND: Backend;
}

/// The backend of the running test (SQLite outside [`backend_tests!`]).
pub fn current_backend() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// Runs `test` with `backend` as the backend `spawn_app` opens.
pub async fn with_backend<F: std::future::Future<Output = ()>>(backend: Backend, test: F) {
    BACKEND.scope(backend, test).await
}

/// Turns each `async fn name() { body }` into a module `name` with two tests, `sqlite`
/// and `postgres`, that run the same body against each backend. Attributes (the
/// `#[tokio::test]` flavour, doc comments) are kept on both.
#[macro_export]
macro_rules! backend_tests {
    ($(#[$attr:meta])* async fn $name:ident() $body:block $($rest:tt)*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body() $body

            $(#[$attr])*
            async fn sqlite() {
                $crate::common::with_backend($crate::common::Backend::Sqlite, body()).await
            }

            $(#[$attr])*
            async fn postgres() {
                $crate::common::with_backend($crate::common::Backend::Postgres, body()).await
            }
        }
        $crate::backend_tests! { $($rest)* }
    };
    () => {};
}

/// A fresh store of the running test's backend, and what keeps it alive (the temporary
/// directory or the scratch schema), to be dropped after the store.
pub async fn open_test_store() -> (Arc<dyn Store>, Box<dyn std::any::Any + Send>) {
    match current_backend() {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let store = docket_store::sqlite::SqliteStore::open(&dir.path().join("docket.db"))
                .expect("open the SQLite test database");
            (Arc::new(store), Box::new(dir))
        }
        Backend::Postgres => {
            let schema = ScratchSchema::for_tests()
                .await
                .expect("create a scratch schema (is PostgreSQL running? see DOCKET_TEST_PG_URL)");
            let store = PgStore::connect_with_pool_size(schema.url(), 4)
                .await
                .expect("connect to the scratch schema");
            store.migrate().await.expect("migrate the scratch schema");
            (Arc::new(store), Box::new(schema))
        }
    }
}

/// Settings for tests: production defaults, with rate limits out of the way.
pub fn test_settings() -> Settings {
    Settings {
        rate_limit_per_second: 100_000,
        rate_limit_burst: 100_000,
        ..Default::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings()).await
}

/// The `.eml` files an app made by [`spawn_app_mailing_to`] wrote so far, as text.
pub fn mails(folder: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// An app that writes its emails as `.eml` files into `folder` (no SMTP server), with
/// its scheduler ticking every 50 ms.
pub async fn spawn_app_mailing_to(folder: &std::path::Path) -> TestApp {
    spawn_app_with(Settings {
        mail: Some(docket_http::settings::MailSettings {
            from: "desk@docket.example".into(),
            smtp: None,
            folder: folder.to_path_buf(),
            retry_schedule_ms: vec![100],
        }),
        scheduler_interval_ms: 50,
        ..test_settings()
    })
    .await
}

/// A server with these settings over a fresh, bootstrapped database. The listener is
/// bound before the server task starts, so the first call can be made at once.
pub async fn spawn_app_with(mut settings: Settings) -> TestApp {
    let (store, guard) = open_test_store().await;
    // File contents go to `<temp>/files` unless the test chose a store; the temporary
    // directory around it shows that nothing is written beside it.
    let files_root = tempfile::tempdir().expect("temporary directory for files");
    let files_dir = files_root.path().join("files");
    if settings.files.url == docket_http::settings::FileSettings::default().url {
        settings.files.url = files_dir.to_str().expect("a UTF-8 path").to_owned();
    }
    docket_http::bootstrap::ensure_first_workspace(&*store, Some(OWNER_TOKEN), OWNER_EMAIL)
        .await
        .expect("bootstrap the first workspace")
        .expect("the database was empty");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port");
    let address = listener.local_addr().expect("local address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server_store = store.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        if let Err(e) = docket_http::launch(settings, server_store, listener, shutdown).await {
            panic!("the server failed: {e:#}");
        }
    });
    let mut app = TestApp {
        base: format!("http://{address}"),
        client: reqwest::Client::new(),
        owner_token: OWNER_TOKEN.to_owned(),
        owner_id: String::new(),
        workspace_id: String::new(),
        store,
        files_dir,
        _stop: stop,
        _guard: guard,
        _files_root: files_root,
    };
    let me = app.get(OWNER_TOKEN, "/api/v1/me").await.ok();
    app.owner_id = me.body["member"]["id"]
        .as_str()
        .expect("owner member id")
        .to_owned();
    app.workspace_id = me.body["workspace"]["id"]
        .as_str()
        .expect("workspace id")
        .to_owned();
    app
}

pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client: reqwest::Client,
    pub owner_token: String,
    pub owner_id: String,
    pub workspace_id: String,
    /// The server's store, for setting up what the API cannot (a second workspace, an
    /// expired token).
    pub store: Arc<dyn Store>,
    /// Where the server keeps file contents (a fresh directory per test, inside an
    /// otherwise empty temporary directory).
    pub files_dir: std::path::PathBuf,
    /// Dropping it stops the server.
    _stop: oneshot::Sender<()>,
    /// Dropped last: the database lives here (a temporary directory or a scratch schema).
    _guard: Box<dyn std::any::Any + Send>,
    _files_root: tempfile::TempDir,
}

/// A response, read completely.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON; `Null` when empty, a string when not JSON.
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The stable error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts a 2xx and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(
            self.status.is_success(),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        self
    }

    /// Asserts the status and, for errors, the code and a well-formed envelope.
    #[track_caller]
    pub fn expect(self, status: u16, code: &str) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        if status >= 400 {
            assert_eq!(
                self.code(),
                code,
                "unexpected error code; body: {}",
                self.body
            );
            assert_envelope(&self);
        }
        self
    }
}

/// Every error answers `{"error": {code, message, request_id}}` with the request id of the
/// response's `X-Request-Id`, and nothing the tests send may cause a server error.
#[track_caller]
pub fn assert_envelope(r: &Reply) {
    assert!(
        r.status.as_u16() < 500,
        "server error: {} {}",
        r.status,
        r.body
    );
    let error = &r.body["error"];
    assert!(
        error["code"].as_str().is_some_and(|c| !c.is_empty()),
        "no error.code in {}",
        r.body
    );
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no error.message in {}",
        r.body
    );
    let id = r
        .header("x-request-id")
        .expect("every response has X-Request-Id");
    assert_eq!(
        error["request_id"].as_str(),
        Some(id),
        "error.request_id differs from X-Request-Id"
    );
}

static UNIQUE: AtomicUsize = AtomicUsize::new(0);

/// A process-wide unique number, for emails, keys and names.
pub fn unique() -> usize {
    UNIQUE.fetch_add(1, Ordering::Relaxed)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request builder for `path`, authorised with `token` when given.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let b = self.client.request(method, self.url(path));
        match token {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }

    /// Sends and reads the whole response.
    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        let response = builder.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("read the body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, token: &str, path: &str) -> Reply {
        self.send(self.request(Method::GET, path, Some(token)))
            .await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        self.send(self.request(Method::POST, path, Some(token)).json(&body))
            .await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Reply {
        self.send(self.request(Method::PATCH, path, Some(token)).json(&body))
            .await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Reply {
        self.send(self.request(Method::DELETE, path, Some(token)))
            .await
    }

    /// Adds a member with `role` and issues them a token with every scope of the role.
    /// Returns `(member_id, token)`.
    pub async fn add_member(&self, role: &str) -> (String, String) {
        let n = unique();
        let member = self
            .post(&self.owner_token, "/api/v1/members", json!({ "email": format!("{role}{n}@example.com"), "name": format!("{role} {n}"), "role": role }))
            .await
            .expect(201, "");
        let id = member.body["id"].as_str().expect("member id").to_owned();
        let token = self
            .post(
                &self.owner_token,
                "/api/v1/tokens",
                json!({ "name": format!("{role} token"), "member_id": id }),
            )
            .await
            .expect(201, "");
        (
            id,
            token.body["token"]
                .as_str()
                .expect("token secret")
                .to_owned(),
        )
    }

    /// Issues a token for the member `token` acts for, narrowed to `scopes`.
    pub async fn token_with_scopes(&self, token: &str, scopes: &[&str]) -> String {
        let issued = self
            .post(
                token,
                "/api/v1/tokens",
                json!({ "name": "narrowed", "scopes": scopes }),
            )
            .await
            .expect(201, "");
        issued.body["token"]
            .as_str()
            .expect("token secret")
            .to_owned()
    }

    /// Files a request as `token`; asserts 201 and returns the request.
    pub async fn create_request(&self, token: &str, body: Value) -> Value {
        self.post(token, "/api/v1/requests", body)
            .await
            .expect(201, "")
            .body
    }

    /// Files a request titled `title` as the owner and returns its id.
    pub async fn request_id(&self, title: &str) -> String {
        self.create_request(&self.owner_token, json!({ "title": title }))
            .await["id"]
            .as_str()
            .expect("request id")
            .to_owned()
    }

    /// A second workspace in the same database, with its own owner; returns the owner's
    /// token.
    pub async fn other_workspace(&self, slug: &str) -> String {
        let made = docket_http::bootstrap::create_workspace(
            &*self.store,
            "Other",
            slug,
            &format!("boss@{slug}.example"),
            "Boss",
            None,
        )
        .await
        .expect("create a second workspace");
        made.secret.expose().to_owned()
    }

    /// Every request the list returns for `query`, following cursors.
    pub async fn list_all(&self, token: &str, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if query.is_empty() { "" } else { "&" };
            let path = match &cursor {
                Some(c) => format!("/api/v1/requests?{query}{sep}cursor={c}"),
                None => format!("/api/v1/requests?{query}"),
            };
            let page = self.get(token, &path).await.expect(200, "");
            out.extend(
                page.body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .cloned(),
            );
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}

/// The `field` of every item, as strings.
pub fn strings(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            i[field]
                .as_str()
                .map_or_else(|| i[field].to_string(), str::to_owned)
        })
        .collect()
}
