//! A tiny browser for the HTML tests: one session cookie, no redirects followed (tests
//! assert them), forms posted with the page's CSRF token.

use super::TestApp;
use reqwest::{Method, StatusCode};

/// A page or a redirect, read completely.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub html: String,
}

impl Page {
    /// The value of the first `name="csrf"` hidden field.
    pub fn csrf(&self) -> String {
        self.field("csrf").expect("the page has a CSRF token")
    }

    /// The value of the first input named `name`, HTML entities decoded.
    pub fn field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker)? + marker.len();
        let end = self.html[start..].find('"')? + start;
        Some(unescape(&self.html[start..end]))
    }

    /// The text of the element with this id, tags stripped.
    pub fn text_of(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let at = self.html.find(&marker)?;
        let open_end = self.html[at..].find('>')? + at + 1;
        let close = self.html[open_end..].find("</")? + open_end;
        Some(unescape(self.html[open_end..close].trim()))
    }
}

pub fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub struct Browser {
    client: reqwest::Client,
    base: String,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            base: app.base.clone(),
            cookie: None,
        }
    }

    async fn send(&self, b: reqwest::RequestBuilder) -> Page {
        let b = match &self.cookie {
            Some(c) => b.header("cookie", c),
            None => b,
        };
        let r = b.send().await.expect("the server answers");
        let header = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (status, location, set_cookie) = (r.status(), header("location"), header("set-cookie"));
        let html = r.text().await.expect("read the page");
        assert!(status.as_u16() < 500, "server error {status}: {html}");
        Page {
            status,
            location,
            set_cookie,
            html,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(
            self.client
                .request(Method::GET, format!("{}{path}", self.base)),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(
            self.client
                .request(Method::POST, format!("{}{path}", self.base))
                .form(form),
        )
        .await
    }

    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Page {
        self.send(
            self.client
                .request(Method::POST, format!("{}{path}", self.base))
                .multipart(form),
        )
        .await
    }

    /// Signs in; panics unless the desk accepts the credentials.
    pub async fn sign_in(&mut self, email: &str, password: &str) {
        let page = self
            .post(
                "/desk/login",
                &[("email", email), ("password", password), ("next", "/desk")],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-in refused: {}",
            page.html
        );
        let cookie = page.set_cookie.expect("a session cookie");
        self.cookie = Some(cookie.split(';').next().unwrap_or_default().to_owned());
    }
}

/// Gives the member with this id a desk password.
pub async fn set_password(app: &TestApp, member_id: &str, password: &str) {
    let hash = docket_domain::session::hash_password(password).expect("a valid password");
    app.store
        .set_password(
            app.workspace_id.parse().expect("workspace id"),
            member_id.parse().expect("member id"),
            Some(hash),
        )
        .await
        .expect("set the password");
}

/// A member with `role` who can sign in: `(member_id, email, api token)`.
pub async fn desk_member(app: &TestApp, role: &str, password: &str) -> (String, String, String) {
    let (id, token) = app.add_member(role).await;
    let me = app.get(&token, "/api/v1/me").await.ok();
    let email = me.body["member"]["email"]
        .as_str()
        .expect("email")
        .to_owned();
    set_password(app, &id, password).await;
    (id, email, token)
}

/// A request type a recipient can complete through a public link: asked → received
/// (the recipient or `requests:manage`), withdrawn from anywhere by `requests:manage`.
pub async fn documents_type(app: &TestApp) {
    app.post(
        super::OWNER_TOKEN,
        "/api/v1/request-types",
        serde_json::json!({ "key": "documents", "name": "Documents", "workflow": {
        "statuses": [
            {"key": "asked", "label": "Asked", "category": "open", "initial": true},
            {"key": "received", "label": "Received", "category": "done"},
            {"key": "withdrawn", "label": "Withdrawn", "category": "canceled"}
        ],
        "transitions": [
            {"from": "asked", "to": "received", "by": ["recipient", "requests:manage"]},
            {"from": "*", "to": "withdrawn", "by": ["requests:manage"]}
        ]}}),
    )
    .await
    .expect(201, "");
}
