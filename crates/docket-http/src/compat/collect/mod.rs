//! Collect (document-collection requests), served under `/v1`.
//!
//! - `POST /v1/request`, `POST /v1/requests` (up to 50 contacts), `PATCH /v1/request`
//!   (id in the body), `GET /v1/requests`, `GET /v1/requests/{id}` (with the request's
//!   elements), `PATCH /v1/elements`, `GET /v1/campaigns`.
//! - A campaign's elements are its type's items template; each request gets its own copy
//!   (all, or the `items` named at creation), see `elements.rs`.
//! - A campaign is a Docket request type whose key is `collect` or starts with
//!   `collect-`; `campaignId` is that key. Every workspace has the built-in `collect`
//!   campaign (created on first use) with Collect's five statuses; a custom status is an
//!   extra status added to the campaign's workflow through `/api/v1/request-types`.
//! - The contact and the message flags live in the request's data, under `contact` and
//!   `collect`; the rest of the data is Collect's `data` object.
//! - Credential: the Docket API token as HTTP Basic password with an empty user name
//!   (`curl --user ":TOKEN"`); `Authorization: Bearer` works too.

mod create;
mod elements;
mod error;
mod read;
mod update;

pub use error::CollectError;

use crate::auth::{authenticate, bearer};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use chrono::SecondsFormat;
use docket_domain::access::Principal;
use docket_domain::ids::WorkspaceId;
use docket_domain::link::PublicLink;
use docket_domain::request::{Request, RequestType, TypeKey};
use docket_domain::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::middleware::idempotency;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/v1/request",
            idempotency::keyed(state, post(create::create).patch(update::update)),
        )
        .route(
            "/v1/requests",
            idempotency::keyed(state, get(read::list).post(create::create_many)),
        )
        .route("/v1/elements", axum::routing::patch(elements::patch))
        .route("/v1/requests/{id}", get(read::get))
        .route("/v1/campaigns", get(read::campaigns))
}

/// The key of the campaign every workspace has.
pub const BUILTIN_CAMPAIGN: &str = crate::compat::builtin::COLLECT_CAMPAIGN.key;
/// Request-data keys Collect's own fields live under; a client's `data` may not use them.
const CONTACT_KEY: &str = "contact";
const FLAGS_KEY: &str = "collect";

/// Whether a request type is a Collect campaign.
pub fn is_campaign(key: &TypeKey) -> bool {
    key.as_str() == BUILTIN_CAMPAIGN || key.as_str().starts_with("collect-")
}

/// The caller, from `Authorization: Basic base64(":TOKEN")` (or `Bearer TOKEN`).
pub struct CollectAuth(pub Principal);

impl FromRequestParts<AppState> for CollectAuth {
    type Rejection = CollectError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = basic_secret(parts)
            .or_else(|| bearer(parts).map(str::to_owned))
            .ok_or(CollectError::Unauthorized)?;
        authenticate(state, &secret)
            .await
            .map(CollectAuth)
            .map_err(CollectError::from)
    }
}

/// The API key of an HTTP Basic header: the password, or the user name when the password
/// is empty (`--user "KEY:"`).
fn basic_secret(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
    let key = if password.is_empty() { user } else { password };
    (!key.is_empty()).then(|| key.to_owned())
}

/// The built-in campaign, created in the workspace the first time it is needed.
pub async fn ensure_builtin_campaign(
    state: &AppState,
    ws: WorkspaceId,
) -> Result<RequestType, CollectError> {
    Ok(crate::compat::builtin::ensure(state, ws, crate::compat::builtin::COLLECT_CAMPAIGN).await?)
}

/// Collect's date-time format: `2023-02-21T10:31:52Z`.
fn date(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `{"useBranding", "brandingId"}`: Docket has no branding settings yet.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Branding {
    pub use_branding: bool,
    pub branding_id: Option<String>,
}

/// A request as Collect shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectRequest {
    #[serde(rename = "_id")]
    pub id: String,
    pub campaign_id: String,
    pub created_at: String,
    pub portal_url: Option<String>,
    pub status: String,
    pub due_date: Option<String>,
    pub privacy: &'static str,
    pub contact: Value,
    pub branding: Branding,
    pub assigned_to: Option<String>,
    pub data: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_completion_message: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_rejection_message: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_reopen_message: Option<bool>,
    /// `forms`, `documents`, `texts` and `pages`: on `GET /v1/requests/{id}`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub elements: Option<elements::Elements>,
}

impl CollectRequest {
    /// `link` is the request's portal link (its newest), if it has one.
    pub fn new(state: &AppState, r: &Request, link: Option<&PublicLink>) -> Self {
        let mut data = r.data.clone();
        let contact = data.remove(CONTACT_KEY).unwrap_or(Value::Null);
        let flags = data.remove(FLAGS_KEY);
        let flag = |name: &str| flags.as_ref().and_then(|f| f[name].as_bool());
        Self {
            id: r.id.to_string(),
            campaign_id: r.type_key.as_str().to_owned(),
            created_at: date(r.created_at),
            portal_url: link.map(|l| {
                state
                    .settings()
                    .public_link(&format!("/p/{}", l.token.as_str()))
            }),
            status: r.status.as_str().to_owned(),
            due_date: r.due_at.map(date),
            privacy: "private",
            contact,
            branding: Branding {
                use_branding: false,
                branding_id: None,
            },
            assigned_to: r.assignee_id.map(|m| m.to_string()),
            data,
            send_completion_message: flag("sendCompletionMessage"),
            send_rejection_message: flag("sendRejectionMessage"),
            send_reopen_message: flag("sendReopenMessage"),
            elements: None,
        }
    }
}

/// Collect's success envelope: `{"errors": [], "request": {...}}`.
#[derive(Serialize)]
pub struct RequestEnvelope {
    pub errors: Vec<Value>,
    pub request: CollectRequest,
}

/// Renders a request with its newest link.
pub async fn render(state: &AppState, r: &Request) -> Result<CollectRequest, CollectError> {
    let links = state.store().links_of_request(r.workspace_id, r.id).await?;
    Ok(CollectRequest::new(state, r, links.last()))
}

/// Parses a JSON body into `T`; anything malformed is Collect's 400.
pub fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CollectError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        CollectError::BadRequest(format!("invalid body at {path}: {}", e.into_inner()))
    })?;
    de.end()
        .map_err(|e| CollectError::BadRequest(format!("invalid JSON: {e}")))?;
    Ok(value)
}

/// Refuses a client `data` object that would overwrite Collect's own fields.
fn check_client_data(data: &Map<String, Value>) -> Result<(), CollectError> {
    for reserved in [CONTACT_KEY, FLAGS_KEY] {
        if data.contains_key(reserved) {
            return Err(CollectError::BadRequest(format!(
                "data.{reserved} is reserved; send the contact as `contact`"
            )));
        }
    }
    Ok(())
}

/// Parses `assignedTo`: a member id, or `unset`.
fn parse_assignee(
    raw: &str,
) -> Result<docket_domain::request::Patch<docket_domain::ids::MemberId>, CollectError> {
    use docket_domain::request::Patch;
    if raw == "unset" {
        return Ok(Patch::Clear);
    }
    raw.parse()
        .map(Patch::Set)
        .map_err(|_| CollectError::BadRequest(format!("assignedTo {raw:?} is not a member id")))
}

/// Parses an ISO 8601 `dueDate`.
fn parse_due(raw: &str) -> Result<Timestamp, CollectError> {
    crate::time::parse_instant("dueDate", raw)
        .map_err(|_| CollectError::BadRequest(format!("dueDate {raw:?} is not an ISO 8601 date")))
}

/// Checks that `assignedTo` names a member of the workspace.
async fn check_member(
    state: &AppState,
    ws: WorkspaceId,
    id: docket_domain::ids::MemberId,
) -> Result<(), CollectError> {
    if crate::ops::requests::may_be_assigned(state, ws, id).await? {
        Ok(())
    } else {
        Err(CollectError::BadRequest(
            "assignedTo names no member of this team".into(),
        ))
    }
}
