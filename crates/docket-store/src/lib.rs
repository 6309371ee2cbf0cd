//! Storage: the one trait the server talks to, and its backends.
//!
//! Layout:
//! - [`Store`]: every read and write Docket makes, as domain types in and out. Writes that
//!   depend on current state take a *plan* closure from `docket_domain::request` and run it
//!   inside the backend's transaction, so the rule and the write are atomic.
//! - [`sqlite`]: the embedded default. One writer thread commits concurrent writes together
//!   (group commit); readers use a small connection pool.
//! - `conformance` (feature `conformance`): the behaviour suite every backend must pass.
//!
//! A backend is chosen once, at start-up, from the database URL ([`open`]).

pub mod sqlite;

#[cfg(feature = "conformance")]
pub mod conformance;

use async_trait::async_trait;
use docket_domain::event::Event;
use docket_domain::ids::{MemberId, RequestId, TokenId, WorkspaceId};
use docket_domain::member::{Email, Member};
use docket_domain::query::{Page, RequestQuery};
use docket_domain::request::{Planned, Request, RequestType, TypeKey};
use docket_domain::token::{Token, TokenHash};
use docket_domain::workflow::Workflow;
use docket_domain::workspace::Workspace;
use docket_domain::{access::Role, DomainError, Timestamp};
use std::path::Path;
use std::sync::Arc;

/// A storage failure. `Domain` carries a refusal a client can act on; `Internal` is an
/// outage or a bug, logged once at the HTTP boundary and never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("storage failure: {0:#}")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Plans a new request given its type and the number the backend allocated.
pub type PlanCreate = Box<dyn FnOnce(&RequestType, i64) -> Result<Planned, DomainError> + Send>;

/// Plans a change to a request given its current state and type; `Ok(None)` is "no change".
pub type PlanChange = Box<dyn FnOnce(&Request, &RequestType) -> Result<Option<Planned>, DomainError> + Send>;

/// What applying a [`PlanChange`] did.
#[derive(Clone, Debug)]
pub enum Applied {
    Changed { request: Request, event: Event },
    Unchanged(Request),
}

/// A change to a member; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct MemberChange {
    pub name: Option<String>,
    pub role: Option<Role>,
}

/// A change to a request type; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct RequestTypeChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub workflow: Option<Workflow>,
}

/// The outcome of claiming an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// First use: run the operation, then `idempotency_complete`.
    New,
    /// Same key and same request: send this stored response again.
    Replay { status: u16, content_type: String, body: Vec<u8> },
    /// Same key, different request.
    Mismatch,
    /// Same key, and the first request is still being processed.
    InFlight,
}

/// Everything Docket persists. Every method is scoped to a workspace where the data is;
/// an object of another workspace is simply not found.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Ready to serve: the database answers.
    async fn ping(&self) -> Result<()>;

    // Workspaces.
    /// Creates a workspace with its built-in request type, its owner and the owner's token,
    /// atomically.
    async fn create_workspace(&self, workspace: Workspace, owner: Member, token: Token) -> Result<()>;
    async fn list_workspaces(&self) -> Result<Vec<Workspace>>;
    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>>;

    // Members.
    /// Adds a member; `Conflict { code: "email_taken" }` if the email is in the workspace.
    async fn insert_member(&self, member: Member) -> Result<Member>;
    async fn get_member(&self, ws: WorkspaceId, id: MemberId) -> Result<Option<Member>>;
    async fn member_by_email(&self, ws: WorkspaceId, email: &Email) -> Result<Option<Member>>;
    async fn list_members(&self, ws: WorkspaceId) -> Result<Vec<Member>>;
    async fn update_member(&self, ws: WorkspaceId, id: MemberId, change: MemberChange) -> Result<Member>;

    // Tokens.
    async fn insert_token(&self, token: Token) -> Result<Token>;
    /// The token with this hash and its member, whatever its state (the caller checks).
    async fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<(Token, Option<Member>)>>;
    /// Tokens of a workspace, or of one member.
    async fn list_tokens(&self, ws: WorkspaceId, member: Option<MemberId>) -> Result<Vec<Token>>;
    async fn get_token(&self, ws: WorkspaceId, id: TokenId) -> Result<Option<Token>>;
    async fn revoke_token(&self, ws: WorkspaceId, id: TokenId, at: Timestamp) -> Result<Token>;
    /// Records use; callers throttle this so it is not a write per request.
    async fn touch_token(&self, id: TokenId, at: Timestamp) -> Result<()>;

    // Request types.
    /// Adds a type; `Conflict { code: "type_exists" }` if the key is taken.
    async fn insert_request_type(&self, rtype: RequestType) -> Result<RequestType>;
    async fn list_request_types(&self, ws: WorkspaceId) -> Result<Vec<RequestType>>;
    async fn get_request_type(&self, ws: WorkspaceId, key: &TypeKey) -> Result<Option<RequestType>>;
    /// Changes a type; a new workflow may not drop a status requests are still in
    /// (`Conflict { code: "status_in_use" }`).
    async fn update_request_type(&self, ws: WorkspaceId, key: &TypeKey, change: RequestTypeChange, at: Timestamp) -> Result<RequestType>;

    // Requests.
    /// Allocates the next number, runs `plan`, and stores the request and its event.
    async fn create_request(&self, ws: WorkspaceId, type_key: &TypeKey, plan: PlanCreate) -> Result<(Request, Event)>;
    /// Runs `plan` on the current request and stores the result and its event atomically.
    async fn change_request(&self, ws: WorkspaceId, id: RequestId, plan: PlanChange) -> Result<Applied>;
    /// A request, deleted or not.
    async fn get_request(&self, ws: WorkspaceId, id: RequestId) -> Result<Option<Request>>;
    /// Live (not deleted) requests matching the query, one page.
    async fn list_requests(&self, ws: WorkspaceId, query: &RequestQuery) -> Result<Page<Request>>;
    /// A request's events in order, after `after_seq`, at most `limit`.
    async fn timeline(&self, ws: WorkspaceId, request: RequestId, after_seq: Option<i64>, limit: u32) -> Result<Vec<Event>>;

    // Idempotency keys, scoped by the caller's credential.
    async fn idempotency_claim(&self, scope: [u8; 32], key: &str, fingerprint: [u8; 32], now: Timestamp) -> Result<IdempotencyClaim>;
    async fn idempotency_complete(&self, scope: [u8; 32], key: &str, status: u16, content_type: &str, body: &[u8]) -> Result<()>;
    /// Forgets a claim whose operation failed on the server, so a retry can run.
    async fn idempotency_release(&self, scope: [u8; 32], key: &str) -> Result<()>;
}

/// Where and how to store data.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `sqlite:path` or none for `<data_dir>/docket.db`.
    pub database_url: Option<String>,
    pub data_dir: std::path::PathBuf,
}

/// Opens the backend the configuration names, migrating it to the current schema.
pub async fn open(config: &StoreConfig) -> anyhow::Result<Arc<dyn Store>> {
    let path = match config.database_url.as_deref() {
        None | Some("") => config.data_dir.join("docket.db"),
        Some(url) => match url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            Some(path) => Path::new(path).to_path_buf(),
            None => anyhow::bail!("unsupported database URL (expected sqlite:PATH): {}", redact(url)),
        },
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    Ok(Arc::new(sqlite::SqliteStore::open(&path)?))
}

/// A database URL with any password removed, for error messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}
