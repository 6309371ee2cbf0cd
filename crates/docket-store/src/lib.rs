//! Storage: the one trait the server talks to, and its backends.
//!
//! Layout:
//! - [`Store`]: every read and write Docket makes, as domain types in and out. Writes that
//!   depend on current state take a *plan* closure from `docket_domain::request` and run it
//!   inside the backend's transaction, so the rule and the write are atomic.
//! - [`sqlite`]: the embedded default. One writer thread commits concurrent writes together
//!   (group commit); readers use a small connection pool.
//! - [`postgres`]: for several nodes on one database. Each write is a transaction that
//!   serialises on row locks; migrations are applied by `docket migrate`, not on start.
//! - [`portable`]: the JSON-lines export format, read and written through [`Store`].
//! - `conformance` (feature `conformance`): the behaviour suite every backend must pass.
//!
//! A backend is chosen once, at start-up, from the database URL ([`open`]).

mod config;
pub mod portable;
pub mod postgres;
pub mod sqlite;

#[cfg(feature = "conformance")]
pub mod conformance;

use async_trait::async_trait;
use docket_domain::email::Template;
use docket_domain::event::{Actor, Event};
use docket_domain::file::{FileId, FilePolicy, FileRecord};
use docket_domain::ids::{
    DeliveryId, EventId, ItemId, MemberId, RequestId, TokenId, WebhookId, WorkspaceId,
};
use docket_domain::item::{Item, ItemWrites, ProgressFilter, Submission};
use docket_domain::link::{LinkId, LinkMode, LinkToken, PublicLink};
use docket_domain::member::{Email, Member};
use docket_domain::query::{Page, RequestQuery, Restriction};
use docket_domain::request::{Planned, Request, RequestType, TypeKey};
use docket_domain::session::Session;
use docket_domain::token::{Token, TokenHash};
use docket_domain::webhook::{Attempt, Delivery, Webhook};
use docket_domain::workflow::{Category, StatusKey};
use docket_domain::workspace::Workspace;
use docket_domain::{DomainError, Timestamp};

pub use config::{migrate, open, redact, Backend, StoreConfig};

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
pub type PlanChange =
    Box<dyn FnOnce(&Request, &RequestType) -> Result<Option<Planned>, DomainError> + Send>;

/// Plans a change to a request's items given the request, its type and its items in
/// order (see `docket_domain::item::plan_items`); `Ok(None)` is "no change".
pub type PlanItems =
    Box<dyn FnOnce(&Request, &RequestType, &[Item]) -> Result<Option<Planned>, DomainError> + Send>;

/// Plans one use of a public link given the link, its request and the request's type
/// (see `docket_domain::link::plan_link_use`): the next request and event, and the link
/// with its use counted.
pub type PlanLinkUse = Box<
    dyn FnOnce(
            &PublicLink,
            &Request,
            &RequestType,
            &[Item],
        ) -> Result<(Planned, PublicLink), DomainError>
        + Send,
>;

/// What a file write did: the file as it is now, and the `request.updated` event it wrote
/// on its request's timeline when it attached or detached the file (`None` when it
/// changed no request).
pub type FileWrite = (FileRecord, Option<Event>);

/// The public link to create together with a new request.
#[derive(Clone, Debug)]
pub struct NewLink {
    pub mode: LinkMode,
    pub expires_at: Option<Timestamp>,
}

/// What applying a [`PlanChange`] did.
#[derive(Clone, Debug)]
pub enum Applied {
    Changed { request: Request, event: Event },
    Unchanged(Request),
}

impl Applied {
    /// The request as it is after the change, whether or not anything changed.
    pub fn into_request(self) -> Request {
        match self {
            Applied::Changed { request, .. } | Applied::Unchanged(request) => request,
        }
    }
}

/// A name a client gave a request, unique per workspace within a key space (e.g. Open
/// Notes' `request_id` in the space `opennotes.request_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalKey {
    pub space: String,
    pub key: String,
}

/// The condition on a request's `items_*` columns that [`ProgressFilter::matches`] states
/// on its progress, for both backends' lists (checked against it in the conformance suite).
pub(crate) fn progress_sql(filter: ProgressFilter) -> &'static str {
    match filter {
        ProgressFilter::Incomplete => "items_required_answered < items_required",
        ProgressFilter::AwaitingReview => "items_submitted > 0",
        ProgressFilter::Rejected => "items_rejected > 0",
        ProgressFilter::Complete => {
            "items_total > 0 and items_required_approved = items_required and items_submitted = 0 and items_rejected = 0"
        }
    }
}

/// The domain's unfinished categories as an SQL list, `('open', 'in_progress', 'waiting')`,
/// for the queries of both backends that count or scan unfinished requests. (The partial
/// indexes of the migrations spell it out: a migration is fixed once shipped.)
pub(crate) fn unfinished_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let list: Vec<String> = Category::unfinished()
            .map(|c| format!("'{}'", c.as_str()))
            .collect();
        format!("({})", list.join(", "))
    });
    &SQL
}

// The changes a store applies are the domain's, with their rules.
pub use docket_domain::member::MemberChange;
pub use docket_domain::request::RequestTypeChange;
pub use docket_domain::webhook::WebhookChange;

/// The outcome of claiming an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// First use: run the operation, then `idempotency_complete`.
    New,
    /// Same key and same request: send this stored response again.
    Replay(StoredResponse),
    /// Same key, different request.
    Mismatch,
    /// Same key, and the first request is still being processed.
    InFlight,
}

/// A delivery leased to one worker for one attempt, with what the payload is made of.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    pub delivery: Delivery,
    pub webhook: Webhook,
    pub event: Event,
    /// The request as it is now (deleted requests included).
    pub request: Option<Request>,
}

pub use docket_domain::webhook::AttemptOutcome;

/// An email rendered from an event, waiting to be queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEmail {
    pub workspace_id: WorkspaceId,
    pub request_id: RequestId,
    pub event_id: EventId,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// One pass of the email planner over the events: those that may send email, and how far
/// the pass looked (the planner's cursor moves there, past the events that send nothing).
#[derive(Clone, Debug, PartialEq)]
pub struct MailEvents {
    pub events: Vec<Event>,
    pub through: i64,
}

impl MailEvents {
    /// A pass that asked for at most `limit` flagged events after `after` and found
    /// `events` among those up to `newest`: a full page covers up to its last event (more
    /// may follow), a shorter one up to `newest`.
    pub fn new(events: Vec<Event>, after: i64, newest: i64, limit: u32) -> Self {
        let through = match events.last() {
            Some(last) if events.len() as u64 >= u64::from(limit) => last.seq,
            _ => newest.max(after),
        };
        Self { events, through }
    }
}

/// A queued email leased to the mail worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedEmail {
    pub id: String,
    pub email: NewEmail,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What sending a queued email led to.
#[derive(Clone, Debug, PartialEq)]
pub enum EmailOutcome {
    Sent,
    RetryAt {
        at: Timestamp,
        error: String,
    },
    /// Refused for good (or out of attempts): the email is `failed` and an `email.failed`
    /// event goes on the request's timeline.
    Failed {
        error: String,
    },
}

/// How many unfinished requests of one type are in one status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCount {
    pub type_key: TypeKey,
    pub status: StatusKey,
    pub category: Category,
    pub count: i64,
}

/// What the web desk's dashboard is drawn from: unfinished (open, in progress or waiting)
/// live requests counted by status and by assignee, and the requests opened and completed
/// since a moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestStats {
    pub open_by_status: Vec<StatusCount>,
    /// `None` counts the unassigned.
    pub open_by_assignee: Vec<(Option<MemberId>, i64)>,
    /// When each live request created since the moment was created.
    pub opened: Vec<Timestamp>,
    /// For each move into a `done` status since the moment: the request's creation time
    /// and the time of the move.
    pub completed: Vec<(Timestamp, Timestamp)>,
}

/// A response kept under an idempotency key, to be sent again on a retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    /// Other headers a client acts on (`Location`, `ETag`), in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A record being imported (`docket import`), stored exactly as exported: same ids, same
/// numbers, same timestamps. Events get fresh `seq`s in the order given.
#[derive(Clone, Debug)]
pub enum Imported {
    Workspace(Workspace),
    Member(Member),
    Token(Token),
    RequestType(RequestType),
    Request {
        request: Box<Request>,
        events: Vec<Event>,
        /// Its items and their submissions.
        items: ItemWrites,
    },
    /// A file record (its bytes travel separately: copy the blob store).
    File(Box<FileRecord>),
    FilePolicy {
        workspace_id: WorkspaceId,
        policy: FilePolicy,
    },
    /// A member's desk password, as its argon2id hash.
    Password {
        workspace_id: WorkspaceId,
        member_id: MemberId,
        hash: String,
    },
    Link(Box<PublicLink>),
    ExternalKey {
        workspace_id: WorkspaceId,
        request_id: RequestId,
        key: ExternalKey,
    },
    /// A due-date notice already sent, so it is not sent again.
    Notice {
        workspace_id: WorkspaceId,
        notice: DueNotice,
    },
    EmailTemplate {
        workspace_id: WorkspaceId,
        template: Template,
        updated_at: Timestamp,
    },
    /// A queued, sent or failed email.
    Email(Box<StoredEmail>),
    /// Events the email planner has not looked at yet. Imported events are never planned
    /// (their emails, sent or queued, travel as [`Imported::Email`]) except these.
    PendingMail {
        workspace_id: WorkspaceId,
        events: Vec<EventId>,
    },
    /// A webhook, its secret as stored. An import starts it after the newest stored event:
    /// what it had not yet turned into deliveries travels as pending deliveries.
    /// `after_seq` is the source's cursor, read by an export and ignored by an import.
    Webhook {
        webhook: Box<Webhook>,
        after_seq: i64,
    },
    Delivery {
        workspace_id: WorkspaceId,
        delivery: Box<Delivery>,
    },
}

/// The records [`Store::export_records`] reads, besides those with methods of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Passwords,
    Links,
    ExternalKeys,
    Notices,
    EmailTemplates,
    Emails,
    /// One [`Imported::PendingMail`] (or none).
    PendingMail,
    Webhooks,
    Deliveries,
}

/// A due-date notice recorded for a request (`kind`: `overdue` or `reminder:<minutes>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueNotice {
    pub request_id: RequestId,
    pub due_at: Timestamp,
    pub kind: String,
    pub created_at: Timestamp,
}

/// An email as the outbox keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEmail {
    pub id: String,
    pub email: NewEmail,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
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
    async fn create_workspace(
        &self,
        workspace: Workspace,
        owner: Member,
        token: Token,
    ) -> Result<()>;
    async fn list_workspaces(&self) -> Result<Vec<Workspace>>;
    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>>;
    async fn get_workspace(&self, ws: WorkspaceId) -> Result<Option<Workspace>>;

    // Members.
    /// Adds a member; `Conflict { code: "email_taken" }` if the email is in the workspace.
    async fn insert_member(&self, member: Member) -> Result<Member>;
    async fn get_member(&self, ws: WorkspaceId, id: MemberId) -> Result<Option<Member>>;
    async fn member_by_email(&self, ws: WorkspaceId, email: &Email) -> Result<Option<Member>>;
    async fn list_members(&self, ws: WorkspaceId) -> Result<Vec<Member>>;
    /// Changes a member; demoting the last owner is `Conflict { code: "last_owner" }`,
    /// checked in the same transaction as the write.
    async fn update_member(
        &self,
        ws: WorkspaceId,
        id: MemberId,
        change: MemberChange,
    ) -> Result<Member>;

    // Web desk sign-in.
    /// Sets (or with `None` removes) a member's password hash, and ends the member's
    /// sessions so a changed password signs every browser out. `NotFound` outside the
    /// workspace.
    async fn set_password(
        &self,
        ws: WorkspaceId,
        member: MemberId,
        hash: Option<String>,
    ) -> Result<()>;
    /// Every member with this email and a password, in any workspace, oldest first, with
    /// the password hash: the sign-in form names no workspace.
    async fn password_candidates(&self, email: &Email) -> Result<Vec<(Member, String)>>;
    async fn insert_session(&self, session: Session) -> Result<()>;
    /// The session with this hash and its member, if it is still active at `now`.
    async fn session_by_hash(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(Session, Member)>>;
    /// Ends a session (sign-out); ending an unknown one is not an error.
    async fn delete_session(&self, hash: &TokenHash) -> Result<()>;

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
    async fn get_request_type(&self, ws: WorkspaceId, key: &TypeKey)
        -> Result<Option<RequestType>>;
    /// Changes a type; a new workflow may not drop a status requests are still in
    /// (`Conflict { code: "status_in_use" }`; deleted requests count, since they stay
    /// readable with their status). A status whose category changes moves its requests'
    /// category too, and bumps their version so cached ETags stop matching.
    async fn update_request_type(
        &self,
        ws: WorkspaceId,
        key: &TypeKey,
        change: RequestTypeChange,
        at: Timestamp,
    ) -> Result<RequestType>;

    // Requests.
    /// Allocates the next number, runs `plan`, and stores the request and its event.
    async fn create_request(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plan: PlanCreate,
    ) -> Result<(Request, Event)>;
    /// Like [`Store::create_request`], and records `key` as the request's external key in
    /// the same transaction; `Conflict { code: "external_key_taken" }` if another request
    /// of the workspace already has it.
    async fn create_request_with_key(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        key: ExternalKey,
        plan: PlanCreate,
    ) -> Result<(Request, Event)>;
    /// The request (deleted or not) a client named with this external key.
    async fn request_by_external_key(
        &self,
        ws: WorkspaceId,
        key: &ExternalKey,
    ) -> Result<Option<Request>>;
    /// Runs `plan` on the current request and stores the result and its event atomically.
    async fn change_request(
        &self,
        ws: WorkspaceId,
        id: RequestId,
        plan: PlanChange,
    ) -> Result<Applied>;
    /// Like `create_request`, and also creates a public link to the new request in the
    /// same transaction, so a request is never left without the link its client asked for.
    async fn create_request_with_link(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plan: PlanCreate,
        link: NewLink,
    ) -> Result<(Request, Event, PublicLink)>;
    /// Several requests of one type, each with its own new link, in one transaction: all
    /// are created or none is (one plan's refusal creates nothing). The requests get
    /// consecutive numbers, in the order of `plans`.
    async fn create_requests_with_links(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plans: Vec<PlanCreate>,
        link: NewLink,
    ) -> Result<Vec<(Request, Event, PublicLink)>>;
    /// A request by its per-workspace number, deleted or not.
    async fn request_by_number(&self, ws: WorkspaceId, number: i64) -> Result<Option<Request>>;
    /// A request, deleted or not.
    async fn get_request(&self, ws: WorkspaceId, id: RequestId) -> Result<Option<Request>>;
    /// Live (not deleted) requests matching the query, one page.
    async fn list_requests(&self, ws: WorkspaceId, query: &RequestQuery) -> Result<Page<Request>>;
    /// The dashboard's figures for a workspace (see [`RequestStats`]), with `opened` and
    /// `completed` counted from `since`.
    /// Counts only the requests `hidden` (see [`Restriction`]) leaves visible.
    async fn request_stats(
        &self,
        ws: WorkspaceId,
        since: Timestamp,
        hidden: Option<&Restriction>,
    ) -> Result<RequestStats>;
    /// A request's events in order, after `after_seq`, at most `limit`.
    async fn timeline(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        after_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Event>>;

    // Requested items.
    /// A request's items in order (a deleted request's too); empty when it has none or is
    /// not in the workspace.
    async fn list_items(&self, ws: WorkspaceId, request: RequestId) -> Result<Vec<Item>>;
    /// The request item `item` belongs to, if it is one of the workspace's.
    async fn request_of_item(&self, ws: WorkspaceId, item: ItemId) -> Result<Option<RequestId>>;
    /// The submissions to a request's items (or only to `item`), each item's oldest first
    /// (kept after the item is removed).
    async fn item_submissions(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        item: Option<ItemId>,
    ) -> Result<Vec<Submission>>;
    /// Runs `plan` on the request (`NotFound` when it is not in the workspace), its type and
    /// its items, and writes what it planned in one transaction: the request (its version
    /// checked), `files` (new records of the request, e.g. an upload onto an item, stored
    /// before the plan's item writes), the item writes and the events. Returns what was
    /// applied and the request's items after it.
    async fn change_items(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        files: Vec<FileRecord>,
        plan: PlanItems,
    ) -> Result<(Applied, Vec<Item>)>;

    // The change feed.
    /// A workspace's events in the order they were stored, after `after_seq`, at most
    /// `limit`: every request's, deleted or not, but those of requests `hidden` hides.
    async fn workspace_events(
        &self,
        ws: WorkspaceId,
        after_seq: Option<i64>,
        limit: u32,
        hidden: Option<&Restriction>,
    ) -> Result<Vec<Event>>;
    /// The `seq` of the workspace's newest event, 0 when it has none.
    async fn latest_event_seq(&self, ws: WorkspaceId) -> Result<i64>;
    /// Changes whenever this process stores an event (the value is that event's `seq`), so
    /// live feeds wake at once instead of polling. On SQLite only this process's writes
    /// are seen; on PostgreSQL other nodes' writes are too (`LISTEN`/`NOTIFY`), but a
    /// dropped listener connection can miss some: feeds also poll.
    fn event_signal(&self) -> tokio::sync::watch::Receiver<i64>;

    // Due dates.
    /// The scheduler's step: appends `request.reminder` to each live, unfinished request
    /// whose due time is within one of its workflow's reminder lead times, and
    /// `request.overdue` to each whose due time passed, each once per request, due time
    /// and lead time however many nodes ask (a reminder whose moment passed unsent while
    /// the request became overdue is skipped). Requests are examined in pages of `limit`;
    /// returns the events written.
    async fn record_due_notices(&self, now: Timestamp, limit: u32) -> Result<Vec<Event>>;

    // Email.
    /// Every workspace's events after `after_seq` that may send email (flagged when written,
    /// see `docket_domain::email::worth_planning`), in order, at most `limit`, and the seq
    /// the planner has covered with them: the newest event when fewer than `limit` came
    /// back, else the last one returned.
    async fn mail_events_after(&self, after_seq: i64, limit: u32) -> Result<MailEvents>;
    /// Where the outbox consumer `name` stands; a new consumer starts at the newest event
    /// (it does not replay history).
    async fn outbox_cursor(&self, name: &str) -> Result<i64>;
    /// Queues `emails` and moves consumer `name` from `from_seq` to `to_seq`, atomically,
    /// only if it still stands at `from_seq` (so two nodes never queue one event twice).
    /// Returns whether it did.
    async fn queue_emails(
        &self,
        name: &str,
        from_seq: i64,
        to_seq: i64,
        emails: Vec<NewEmail>,
        now: Timestamp,
    ) -> Result<bool>;
    /// Queues one email outside the event planner (e.g. telling owners a webhook was
    /// paused).
    async fn queue_email(&self, email: NewEmail, now: Timestamp) -> Result<()>;
    /// Leases up to `limit` due emails until `lease_until`.
    async fn claim_emails(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<QueuedEmail>>;
    async fn record_email(&self, id: &str, outcome: EmailOutcome, now: Timestamp) -> Result<()>;
    /// A workspace's template overrides.
    async fn email_templates(&self, ws: WorkspaceId) -> Result<Vec<Template>>;
    async fn set_email_template(
        &self,
        ws: WorkspaceId,
        template: Template,
        at: Timestamp,
    ) -> Result<()>;
    /// Removes an override (the shipped template applies again); false if there was none.
    async fn delete_email_template(&self, ws: WorkspaceId, name: &str) -> Result<bool>;

    // Webhooks and their deliveries (the outbox is the events table: each webhook keeps a
    // cursor into it).
    /// Adds a webhook that receives the workspace's events from now on.
    async fn insert_webhook(&self, webhook: Webhook) -> Result<Webhook>;
    async fn list_webhooks(&self, ws: WorkspaceId) -> Result<Vec<Webhook>>;
    async fn get_webhook(&self, ws: WorkspaceId, id: WebhookId) -> Result<Option<Webhook>>;
    async fn update_webhook(
        &self,
        ws: WorkspaceId,
        id: WebhookId,
        change: WebhookChange,
        at: Timestamp,
    ) -> Result<Webhook>;
    /// Removes a webhook and its delivery log.
    async fn delete_webhook(&self, ws: WorkspaceId, id: WebhookId) -> Result<()>;
    /// The outbox step: for every webhook (paused ones too, so nothing is missed while
    /// paused), turns the events stored since its cursor into pending deliveries and
    /// moves the cursor, atomically; at most `max_events` events per webhook per call.
    /// Returns how many deliveries it queued.
    async fn enqueue_deliveries(&self, now: Timestamp, max_events: u32) -> Result<usize>;
    /// Leases up to `limit` pending deliveries due at `now` to the caller until
    /// `lease_until`, at most `per_webhook` of any one active webhook, and only the oldest
    /// pending delivery of each (webhook, request), so a request's events arrive in order.
    /// A lease that runs out (a crashed worker) makes the delivery due again.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
        per_webhook: usize,
    ) -> Result<Vec<ClaimedDelivery>>;
    /// Records an attempt on a claimed delivery and what happens next.
    async fn record_attempt(
        &self,
        id: DeliveryId,
        attempt: Attempt,
        outcome: AttemptOutcome,
    ) -> Result<()>;
    /// A webhook's deliveries, newest first, before the delivery `before`.
    async fn list_deliveries(
        &self,
        ws: WorkspaceId,
        webhook: WebhookId,
        before: Option<DeliveryId>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
    /// Queues one event again for one webhook (a new pending delivery, due now).
    async fn redeliver(
        &self,
        ws: WorkspaceId,
        webhook: WebhookId,
        event: EventId,
        now: Timestamp,
    ) -> Result<Delivery>;
    // Public links.
    /// Adds a public link to a live request of the workspace (`NotFound` otherwise).
    async fn insert_link(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        link: NewLink,
        now: Timestamp,
    ) -> Result<PublicLink>;
    /// A request's links, oldest first.
    async fn links_of_request(
        &self,
        ws: WorkspaceId,
        request: RequestId,
    ) -> Result<Vec<PublicLink>>;
    /// The link with this token and its request, whatever their state (the caller checks).
    /// The one lookup not scoped to a workspace: the token is the credential.
    async fn link_by_token(&self, token: &LinkToken) -> Result<Option<(PublicLink, Request)>>;
    /// Revokes a link (idempotent); `NotFound` if it is not a link of this workspace.
    async fn revoke_link(&self, ws: WorkspaceId, id: LinkId, at: Timestamp) -> Result<PublicLink>;
    /// Moves a link's expiry (`None`: never expires); `NotFound` outside the workspace.
    async fn set_link_expiry(
        &self,
        ws: WorkspaceId,
        id: LinkId,
        expires_at: Option<Timestamp>,
    ) -> Result<PublicLink>;
    /// Uses the link with this token: reads the link, its request and type, runs `plan`,
    /// and writes the request, its event and the link's use count in one transaction, so
    /// a one-time link is used exactly once however many callers race. `NotFound("link")`
    /// when no link has this token.
    async fn use_link(
        &self,
        token: &LinkToken,
        plan: PlanLinkUse,
    ) -> Result<(PublicLink, Request, Event)>;

    /// Like [`Store::use_link`], and stores `files` attached to the link's request in the
    /// same transaction (the plan records them on its event, see
    /// `docket_domain::file::attached_change`). Every file must name the link's workspace
    /// and request.
    async fn use_link_with_files(
        &self,
        token: &LinkToken,
        files: Vec<FileRecord>,
        plan: PlanLinkUse,
    ) -> Result<(PublicLink, Request, Event)>;

    // Files (records only: the bytes live in the blob store, which the caller writes
    // before inserting a record and deletes after deleting one).
    /// Stores a new file record. When `file.request_id` names a request, the file is
    /// attached to it in the same transaction, as [`Store::attach_file`] does: `NotFound`
    /// when the request is not in the workspace, `Gone` when it was deleted.
    async fn insert_file(&self, file: FileRecord, actor: Actor, at: Timestamp)
        -> Result<FileWrite>;
    async fn get_file(&self, ws: WorkspaceId, id: FileId) -> Result<Option<FileRecord>>;
    /// The file with this id, whatever its workspace: the one file lookup not scoped to a
    /// workspace, for signed download URLs, whose verified signature is the credential.
    async fn file_by_id(&self, id: FileId) -> Result<Option<FileRecord>>;
    /// A workspace's files (only `request`'s when given), oldest first, after the file
    /// `after`, at most `limit`.
    async fn list_files(
        &self,
        ws: WorkspaceId,
        request: Option<RequestId>,
        after: Option<FileId>,
        limit: u32,
    ) -> Result<Vec<FileRecord>>;
    /// Attaches a file to a request: sets the file's request, bumps the request's version
    /// and writes its `request.updated` event (`{field: "files", old: null, new: {...}}`)
    /// in one transaction, planned by `docket_domain::file::plan_attach` as `actor`.
    /// Already attached to this request: nothing changes (no event). Attached to another:
    /// `Conflict { code: "file_attached" }`. `NotFound` for a file or request outside the
    /// workspace, `Gone` for a deleted request.
    async fn attach_file(
        &self,
        ws: WorkspaceId,
        id: FileId,
        request: RequestId,
        actor: Actor,
        at: Timestamp,
    ) -> Result<FileWrite>;
    /// Detaches a file from its request, recording `{field: "files", old: {...}, new:
    /// null}` on the request's timeline in the same transaction. A file attached to no
    /// request is returned unchanged.
    async fn detach_file(
        &self,
        ws: WorkspaceId,
        id: FileId,
        actor: Actor,
        at: Timestamp,
    ) -> Result<FileWrite>;
    /// Deletes a file record, and records the detachment on its request's timeline (if
    /// it had one) in the same transaction. Returns the record as it was.
    async fn delete_file(
        &self,
        ws: WorkspaceId,
        id: FileId,
        actor: Actor,
        at: Timestamp,
    ) -> Result<FileWrite>;
    /// The workspace's file policy; `None` until one is set (the default applies).
    async fn file_policy(&self, ws: WorkspaceId) -> Result<Option<FilePolicy>>;
    async fn set_file_policy(
        &self,
        ws: WorkspaceId,
        policy: FilePolicy,
        at: Timestamp,
    ) -> Result<()>;

    /// The server-wide secret called `name` (e.g. the key download URLs are signed with).
    /// The first call stores `candidate`; every later call, on any node, returns that
    /// first value, so all nodes sharing the database share the secret.
    async fn server_secret(&self, name: &str, candidate: Vec<u8>, at: Timestamp)
        -> Result<Vec<u8>>;

    // Export and import.
    /// Every request of a workspace, deleted ones included, in id order after `after`.
    async fn export_requests(
        &self,
        ws: WorkspaceId,
        after: Option<RequestId>,
        limit: u32,
    ) -> Result<Vec<Request>>;
    /// Up to `limit` records of `kind` of a workspace, skipping the first `offset`, in a
    /// fixed order (so an export is the same every time).
    async fn export_records(
        &self,
        ws: WorkspaceId,
        kind: RecordKind,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Imported>>;
    /// Stores one exported record as it is; a request also moves the workspace's next
    /// number past its own. Conflicts (an existing slug, email, key) are refused as usual.
    async fn import(&self, record: Imported) -> Result<()>;

    // Idempotency keys, scoped by the caller's credential.
    async fn idempotency_claim(
        &self,
        scope: [u8; 32],
        key: &str,
        fingerprint: [u8; 32],
        now: Timestamp,
    ) -> Result<IdempotencyClaim>;
    async fn idempotency_complete(
        &self,
        scope: [u8; 32],
        key: &str,
        response: StoredResponse,
    ) -> Result<()>;
    /// Forgets a claim whose operation failed on the server, so a retry can run.
    async fn idempotency_release(&self, scope: [u8; 32], key: &str) -> Result<()>;
}

#[cfg(test)]
mod tests {
    /// The list the queries use is the one the migrations' partial indexes spell out, so
    /// those queries can use them.
    #[test]
    fn unfinished_categories_match_the_partial_indexes() {
        assert_eq!(
            super::unfinished_sql(),
            "('open', 'in_progress', 'waiting')"
        );
        for m in [
            include_str!("sqlite/migrations/0004_due_notices.sql"),
            include_str!("postgres/migrations/0002_webhooks_email_links.sql"),
        ] {
            assert!(m.contains(&format!("category in {}", super::unfinished_sql())));
        }
    }
}
