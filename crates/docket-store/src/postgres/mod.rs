//! The PostgreSQL backend, for running several Docket nodes on one database.
//!
//! Every write is one transaction on a pooled connection, committed with PostgreSQL's
//! default `synchronous_commit = on`: acknowledged means on disk. Concurrency that the
//! SQLite backend gets from its single writer thread comes from row locks here:
//!
//! - A request change locks the request's type `for share`, then the request
//!   `for update`, runs the plan, and writes `where version = old`. Two nodes changing one
//!   request queue on the row lock; the second sees the first's version and is refused.
//! - A create locks the type `for share` and takes the next number with
//!   `update workspaces ... returning` in the same transaction, so numbers are sequential
//!   per workspace and never reused, whichever node allocates them.
//! - A workflow change locks its type `for update`, so no request can move into a status
//!   the change is dropping while it checks. Types are always locked before requests, so
//!   these paths cannot deadlock.
//! - Idempotency keys are rows under a primary key: `insert ... on conflict do nothing`
//!   decides which node's request runs.
//! - Events become visible in `seq` order: every event write takes one advisory lock per
//!   schema, held to commit (`events::lock_event_order`), and comes last in its
//!   transaction. Requests are locked `for no key update`, so a foreign key check made
//!   under that lock never waits on a request change. Each event is announced with
//!   `NOTIFY docket_events`, which every node listens to ([`Store::event_signal`]).
//! - Workers on several nodes share deliveries and emails with
//!   `for update skip locked` and a lease; the email cursor moves by compare-and-set.
//!
//! Migrations live in `postgres/migrations/` and are embedded with `sqlx::migrate!`; they
//! are applied by `docket migrate` (or `serve --migrate`), never silently by `serve`.
//!
//! Each area has its own file, named as in `sqlite/`: free functions that take the
//! transaction, a connection or the pool. This file holds the one `impl Store`, in the
//! trait's order, whose methods open the transaction (or take a connection), run the
//! area's function, commit, and raise the event signal.

mod desk;
mod due;
mod errors;
mod events;
mod files;
mod idempotency;
mod items;
mod links;
mod mail;
mod members;
mod portable;
mod requests;
mod rows;
mod schema;
#[cfg(feature = "conformance")]
pub mod scratch;
mod types;
mod webhooks;
mod workspaces;

pub use schema::{SchemaState, MIGRATOR};

use crate::{
    Applied, AttemptOutcome, ClaimedDelivery, EmailOutcome, ExternalKey, FileWrite,
    IdempotencyClaim, Imported, MailEvents, MemberChange, NewEmail, NewLink, PlanChange,
    PlanCreate, PlanItems, PlanLinkUse, QueuedEmail, RecordKind, RequestStats, RequestTypeChange,
    Result, Store, StoredResponse, WebhookChange,
};
use anyhow::Context as _;
use async_trait::async_trait;
use docket_domain::email::Template;
use docket_domain::event::{Actor, Event};
use docket_domain::file::{FileId, FilePolicy, FileRecord};
use docket_domain::ids::{
    DeliveryId, EventId, ItemId, MemberId, RequestId, TokenId, WebhookId, WorkspaceId,
};
use docket_domain::item::{Item, Submission};
use docket_domain::link::{LinkId, LinkToken, PublicLink};
use docket_domain::member::{Email, Member};
use docket_domain::query::{Page, RequestQuery, Restriction};
use docket_domain::request::{Request, RequestType, TypeKey};
use docket_domain::session::Session;
use docket_domain::token::{Token, TokenHash};
use docket_domain::webhook::{Attempt, Delivery, Webhook};
use docket_domain::workspace::Workspace;
use docket_domain::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Connections per node. Each write holds one for a transaction of a few round trips;
/// PostgreSQL's own limit (100 by default) is shared by every node.
const POOL_SIZE: u32 = 16;

pub struct PgStore {
    pool: PgPool,
    /// The newest event seq this process stored or heard of; see [`Store::event_signal`].
    events: Arc<watch::Sender<i64>>,
}

impl PgStore {
    /// Connects without touching the schema; see [`PgStore::schema_state`] and
    /// [`PgStore::migrate`].
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with_pool_size(url, POOL_SIZE).await
    }

    /// [`PgStore::connect`] with at most `max_connections` connections. Tests use a small
    /// pool, so many of them at once stay under the server's `max_connections`.
    pub async fn connect_with_pool_size(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .with_context(|| format!("parsing the database URL {}", crate::redact(url)))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to {}", crate::redact(url)))?;
        let events = Arc::new(watch::Sender::new(0));
        tokio::spawn(events::listen_for_events(
            pool.clone(),
            Arc::downgrade(&events),
        ));
        Ok(Self { pool, events })
    }

    /// The connection pool, for tests and operator tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Raises [`Store::event_signal`] when a file write recorded an event.
    fn signal_file_event(&self, written: &FileWrite) {
        if let (_, Some(event)) = written {
            self.signal(event.seq);
        }
    }

    /// Raises [`Store::event_signal`] to `seq` after a commit (the listener may have
    /// heard of newer events already).
    fn signal(&self, seq: i64) {
        self.events.send_if_modified(|latest| {
            let newer = seq > *latest;
            if newer {
                *latest = seq;
            }
            newer
        });
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select 1").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
    // Workspaces.
    async fn create_workspace(
        &self,
        workspace: Workspace,
        owner: Member,
        token: Token,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        workspaces::create_workspace(&mut tx, workspace, owner, token).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_workspaces(&self) -> Result<Vec<Workspace>> {
        workspaces::list_workspaces(&self.pool).await
    }

    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        workspaces::workspace_by_slug(&self.pool, slug).await
    }

    async fn get_workspace(&self, ws: WorkspaceId) -> Result<Option<Workspace>> {
        workspaces::get_workspace(&self.pool, ws).await
    }

    // Members.
    async fn insert_member(&self, member: Member) -> Result<Member> {
        members::insert_member(&mut *self.pool.acquire().await?, member).await
    }

    async fn get_member(&self, ws: WorkspaceId, id: MemberId) -> Result<Option<Member>> {
        members::member_in(&mut *self.pool.acquire().await?, ws, id).await
    }

    async fn member_by_email(&self, ws: WorkspaceId, email: &Email) -> Result<Option<Member>> {
        members::member_by_email(&self.pool, ws, email).await
    }

    async fn list_members(&self, ws: WorkspaceId) -> Result<Vec<Member>> {
        members::list_members(&self.pool, ws).await
    }

    async fn update_member(
        &self,
        ws: WorkspaceId,
        id: MemberId,
        change: MemberChange,
    ) -> Result<Member> {
        let mut tx = self.pool.begin().await?;
        let m = members::update_member(&mut tx, ws, id, change).await?;
        tx.commit().await?;
        Ok(m)
    }

    // Web desk sign-in.
    async fn set_password(
        &self,
        ws: WorkspaceId,
        member: MemberId,
        hash: Option<String>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        desk::set_password(&mut tx, ws, member, hash).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn password_candidates(&self, email: &Email) -> Result<Vec<(Member, String)>> {
        desk::password_candidates(&mut *self.pool.acquire().await?, email).await
    }

    async fn insert_session(&self, session: Session) -> Result<()> {
        desk::insert_session(&mut *self.pool.acquire().await?, &session).await
    }

    async fn session_by_hash(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(Session, Member)>> {
        desk::session_by_hash(&mut *self.pool.acquire().await?, hash, now).await
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<()> {
        desk::delete_session(&mut *self.pool.acquire().await?, hash).await
    }

    // Tokens.
    async fn insert_token(&self, token: Token) -> Result<Token> {
        members::insert_token(&mut *self.pool.acquire().await?, token).await
    }

    async fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<(Token, Option<Member>)>> {
        members::token_by_hash(&mut *self.pool.acquire().await?, hash).await
    }

    async fn list_tokens(&self, ws: WorkspaceId, member: Option<MemberId>) -> Result<Vec<Token>> {
        members::list_tokens(&self.pool, ws, member).await
    }

    async fn get_token(&self, ws: WorkspaceId, id: TokenId) -> Result<Option<Token>> {
        members::token_in(&mut *self.pool.acquire().await?, ws, id, "").await
    }

    async fn revoke_token(&self, ws: WorkspaceId, id: TokenId, at: Timestamp) -> Result<Token> {
        let mut tx = self.pool.begin().await?;
        let t = members::revoke_token(&mut tx, ws, id, at).await?;
        tx.commit().await?;
        Ok(t)
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> Result<()> {
        members::touch_token(&self.pool, id, at).await
    }

    // Request types.
    async fn insert_request_type(&self, rtype: RequestType) -> Result<RequestType> {
        types::insert_request_type(&mut *self.pool.acquire().await?, rtype).await
    }

    async fn list_request_types(&self, ws: WorkspaceId) -> Result<Vec<RequestType>> {
        types::list_request_types(&self.pool, ws).await
    }

    async fn get_request_type(
        &self,
        ws: WorkspaceId,
        key: &TypeKey,
    ) -> Result<Option<RequestType>> {
        types::request_type_in(&mut *self.pool.acquire().await?, ws, key.as_str(), "").await
    }

    async fn update_request_type(
        &self,
        ws: WorkspaceId,
        key: &TypeKey,
        change: RequestTypeChange,
        at: Timestamp,
    ) -> Result<RequestType> {
        let mut tx = self.pool.begin().await?;
        let t = types::update_request_type(&mut tx, ws, key, change, at).await?;
        tx.commit().await?;
        Ok(t)
    }

    // Requests.
    async fn create_request(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plan: PlanCreate,
    ) -> Result<(Request, Event)> {
        let mut tx = self.pool.begin().await?;
        let (request, event) = requests::create_request(&mut tx, ws, type_key, plan).await?;
        tx.commit().await?;
        self.signal(event.seq);
        Ok((request, event))
    }

    async fn create_request_with_key(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        key: ExternalKey,
        plan: PlanCreate,
    ) -> Result<(Request, Event)> {
        let mut tx = self.pool.begin().await?;
        let (request, event) =
            requests::create_request_with_key(&mut tx, ws, type_key, key, plan).await?;
        tx.commit().await?;
        self.signal(event.seq);
        Ok((request, event))
    }

    async fn request_by_external_key(
        &self,
        ws: WorkspaceId,
        key: &ExternalKey,
    ) -> Result<Option<Request>> {
        requests::request_by_external_key(&mut *self.pool.acquire().await?, ws, key).await
    }

    async fn change_request(
        &self,
        ws: WorkspaceId,
        id: RequestId,
        plan: PlanChange,
    ) -> Result<Applied> {
        let mut tx = self.pool.begin().await?;
        let applied = requests::change_request(&mut tx, ws, id, plan).await?;
        // An unchanged request wrote nothing: its transaction is rolled back, not
        // committed.
        if let Applied::Changed { event, .. } = &applied {
            tx.commit().await?;
            self.signal(event.seq);
        }
        Ok(applied)
    }

    async fn create_request_with_link(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plan: PlanCreate,
        link: NewLink,
    ) -> Result<(Request, Event, PublicLink)> {
        let mut tx = self.pool.begin().await?;
        let (request, event, link) =
            requests::create_request_with_link(&mut tx, ws, type_key, plan, link).await?;
        tx.commit().await?;
        self.signal(event.seq);
        Ok((request, event, link))
    }

    async fn create_requests_with_links(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plans: Vec<PlanCreate>,
        link: NewLink,
    ) -> Result<Vec<(Request, Event, PublicLink)>> {
        let mut tx = self.pool.begin().await?;
        let created =
            requests::create_requests_with_links(&mut tx, ws, type_key, plans, link).await?;
        tx.commit().await?;
        if let Some((_, event, _)) = created.last() {
            self.signal(event.seq);
        }
        Ok(created)
    }

    async fn request_by_number(&self, ws: WorkspaceId, number: i64) -> Result<Option<Request>> {
        requests::request_by_number(&self.pool, ws, number).await
    }

    async fn get_request(&self, ws: WorkspaceId, id: RequestId) -> Result<Option<Request>> {
        requests::request_in(&mut *self.pool.acquire().await?, ws, id, "").await
    }

    async fn list_requests(&self, ws: WorkspaceId, query: &RequestQuery) -> Result<Page<Request>> {
        requests::list_requests(&self.pool, ws, query).await
    }

    async fn request_stats(
        &self,
        ws: WorkspaceId,
        since: Timestamp,
        hidden: Option<&Restriction>,
    ) -> Result<RequestStats> {
        desk::request_stats(&mut *self.pool.acquire().await?, ws, since, hidden).await
    }

    async fn timeline(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        after_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Event>> {
        requests::timeline(&self.pool, ws, request, after_seq, limit).await
    }

    // Requested items.
    async fn list_items(&self, ws: WorkspaceId, request: RequestId) -> Result<Vec<Item>> {
        items::list_items(&self.pool, ws, request).await
    }

    async fn request_of_item(&self, ws: WorkspaceId, item: ItemId) -> Result<Option<RequestId>> {
        items::request_of_item(&self.pool, ws, item).await
    }

    async fn item_submissions(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        item: Option<ItemId>,
    ) -> Result<Vec<Submission>> {
        items::item_submissions(&self.pool, ws, request, item).await
    }

    async fn change_items(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        files: Vec<FileRecord>,
        plan: PlanItems,
    ) -> Result<(Applied, Vec<Item>)> {
        let mut tx = self.pool.begin().await?;
        let changed = items::change_items(&mut tx, ws, request, files, plan).await?;
        // Nothing changed, nothing written: rolled back, not committed.
        if let Applied::Changed { event, .. } = &changed.0 {
            tx.commit().await?;
            self.signal(event.seq);
        }
        Ok(changed)
    }

    // The change feed.
    async fn workspace_events(
        &self,
        ws: WorkspaceId,
        after_seq: Option<i64>,
        limit: u32,
        hidden: Option<&Restriction>,
    ) -> Result<Vec<Event>> {
        events::workspace_events(&self.pool, ws, after_seq, limit, hidden).await
    }

    async fn latest_event_seq(&self, ws: WorkspaceId) -> Result<i64> {
        events::latest_event_seq(&self.pool, ws).await
    }

    fn event_signal(&self) -> watch::Receiver<i64> {
        self.events.subscribe()
    }

    // Due dates.
    async fn record_due_notices(&self, now: Timestamp, limit: u32) -> Result<Vec<Event>> {
        let mut tx = self.pool.begin().await?;
        let events = due::due_notices(&mut tx, now, limit).await?;
        tx.commit().await?;
        if let Some(last) = events.last() {
            self.signal(last.seq);
        }
        Ok(events)
    }

    // Email.
    async fn mail_events_after(&self, after_seq: i64, limit: u32) -> Result<MailEvents> {
        mail::mail_events_after(&mut *self.pool.acquire().await?, after_seq, limit).await
    }

    async fn outbox_cursor(&self, name: &str) -> Result<i64> {
        mail::outbox_cursor(&mut *self.pool.acquire().await?, name).await
    }

    async fn queue_emails(
        &self,
        name: &str,
        from_seq: i64,
        to_seq: i64,
        emails: Vec<NewEmail>,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let moved = mail::queue_emails(&mut tx, name, from_seq, to_seq, emails, now).await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn queue_email(&self, email: NewEmail, now: Timestamp) -> Result<()> {
        mail::insert_email(&mut *self.pool.acquire().await?, email, now).await
    }

    async fn claim_emails(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<QueuedEmail>> {
        let mut tx = self.pool.begin().await?;
        let claimed = mail::claim_emails(&mut tx, now, lease_until, limit).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn record_email(&self, id: &str, outcome: EmailOutcome, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let failure_event = mail::record_email(&mut tx, id, outcome, now).await?;
        tx.commit().await?;
        if let Some(seq) = failure_event {
            self.signal(seq);
        }
        Ok(())
    }

    async fn email_templates(&self, ws: WorkspaceId) -> Result<Vec<Template>> {
        mail::email_templates(&mut *self.pool.acquire().await?, ws).await
    }

    async fn set_email_template(
        &self,
        ws: WorkspaceId,
        template: Template,
        at: Timestamp,
    ) -> Result<()> {
        mail::set_email_template(&mut *self.pool.acquire().await?, ws, &template, at).await
    }

    async fn delete_email_template(&self, ws: WorkspaceId, name: &str) -> Result<bool> {
        mail::delete_email_template(&mut *self.pool.acquire().await?, ws, name).await
    }

    // Webhooks and their deliveries (the outbox is the events table: each webhook keeps a
    // cursor into it).
    async fn insert_webhook(&self, webhook: Webhook) -> Result<Webhook> {
        webhooks::insert_webhook(&mut *self.pool.acquire().await?, &webhook).await?;
        Ok(webhook)
    }

    async fn list_webhooks(&self, ws: WorkspaceId) -> Result<Vec<Webhook>> {
        webhooks::list_webhooks(&mut *self.pool.acquire().await?, ws).await
    }

    async fn get_webhook(&self, ws: WorkspaceId, id: WebhookId) -> Result<Option<Webhook>> {
        webhooks::get_webhook(&mut *self.pool.acquire().await?, ws, id, "").await
    }

    async fn update_webhook(
        &self,
        ws: WorkspaceId,
        id: WebhookId,
        change: WebhookChange,
        at: Timestamp,
    ) -> Result<Webhook> {
        let mut tx = self.pool.begin().await?;
        let w = webhooks::update_webhook(&mut tx, ws, id, change, at).await?;
        tx.commit().await?;
        Ok(w)
    }

    async fn delete_webhook(&self, ws: WorkspaceId, id: WebhookId) -> Result<()> {
        webhooks::delete_webhook(&mut *self.pool.acquire().await?, ws, id).await
    }

    async fn enqueue_deliveries(&self, now: Timestamp, max_events: u32) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let queued = webhooks::enqueue_deliveries(&mut tx, now, max_events).await?;
        tx.commit().await?;
        Ok(queued)
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
        per_webhook: usize,
    ) -> Result<Vec<ClaimedDelivery>> {
        let mut tx = self.pool.begin().await?;
        let claimed =
            webhooks::claim_deliveries(&mut tx, now, lease_until, limit, per_webhook).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        attempt: Attempt,
        outcome: AttemptOutcome,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        webhooks::record_attempt(&mut tx, id, attempt, outcome).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_deliveries(
        &self,
        ws: WorkspaceId,
        webhook: WebhookId,
        before: Option<DeliveryId>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        webhooks::list_deliveries(&mut *self.pool.acquire().await?, ws, webhook, before, limit)
            .await
    }

    async fn redeliver(
        &self,
        ws: WorkspaceId,
        webhook: WebhookId,
        event: EventId,
        now: Timestamp,
    ) -> Result<Delivery> {
        webhooks::redeliver(&mut *self.pool.acquire().await?, ws, webhook, event, now).await
    }

    // Public links.
    async fn insert_link(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        link: NewLink,
        now: Timestamp,
    ) -> Result<PublicLink> {
        let mut tx = self.pool.begin().await?;
        let link = links::insert_link(&mut tx, ws, request, link, now).await?;
        tx.commit().await?;
        Ok(link)
    }

    async fn links_of_request(
        &self,
        ws: WorkspaceId,
        request: RequestId,
    ) -> Result<Vec<PublicLink>> {
        links::links_of_request(&self.pool, ws, request).await
    }

    async fn link_by_token(&self, token: &LinkToken) -> Result<Option<(PublicLink, Request)>> {
        links::link_by_token(&mut *self.pool.acquire().await?, token.as_str()).await
    }

    async fn revoke_link(&self, ws: WorkspaceId, id: LinkId, at: Timestamp) -> Result<PublicLink> {
        let mut tx = self.pool.begin().await?;
        let l = links::revoke_link(&mut tx, ws, id, at).await?;
        tx.commit().await?;
        Ok(l)
    }

    async fn set_link_expiry(
        &self,
        ws: WorkspaceId,
        id: LinkId,
        expires_at: Option<Timestamp>,
    ) -> Result<PublicLink> {
        let mut tx = self.pool.begin().await?;
        let l = links::set_link_expiry(&mut tx, ws, id, expires_at).await?;
        tx.commit().await?;
        Ok(l)
    }

    async fn use_link(
        &self,
        token: &LinkToken,
        plan: PlanLinkUse,
    ) -> Result<(PublicLink, Request, Event)> {
        self.use_link_with_files(token, Vec::new(), plan).await
    }

    async fn use_link_with_files(
        &self,
        token: &LinkToken,
        files: Vec<FileRecord>,
        plan: PlanLinkUse,
    ) -> Result<(PublicLink, Request, Event)> {
        let mut tx = self.pool.begin().await?;
        let (used, request, event) =
            links::use_link_with_files(&mut tx, token.as_str(), files, plan).await?;
        tx.commit().await?;
        self.signal(event.seq);
        Ok((used, request, event))
    }

    // Files (records only: the bytes live in the blob store, which the caller writes
    // before inserting a record and deletes after deleting one).
    async fn insert_file(
        &self,
        file: FileRecord,
        actor: Actor,
        at: Timestamp,
    ) -> Result<FileWrite> {
        let mut tx = self.pool.begin().await?;
        let written = files::insert_file(&mut tx, file, actor, at).await?;
        tx.commit().await?;
        self.signal_file_event(&written);
        Ok(written)
    }

    async fn get_file(&self, ws: WorkspaceId, id: FileId) -> Result<Option<FileRecord>> {
        files::file_in(&mut *self.pool.acquire().await?, ws, id, "").await
    }

    async fn file_by_id(&self, id: FileId) -> Result<Option<FileRecord>> {
        files::file_by_id(&mut *self.pool.acquire().await?, id).await
    }

    async fn list_files(
        &self,
        ws: WorkspaceId,
        request: Option<RequestId>,
        after: Option<FileId>,
        limit: u32,
    ) -> Result<Vec<FileRecord>> {
        files::list_files(&mut *self.pool.acquire().await?, ws, request, after, limit).await
    }

    async fn attach_file(
        &self,
        ws: WorkspaceId,
        id: FileId,
        request: RequestId,
        actor: Actor,
        at: Timestamp,
    ) -> Result<FileWrite> {
        let mut tx = self.pool.begin().await?;
        let written = files::attach_file(&mut tx, ws, id, request, actor, at).await?;
        tx.commit().await?;
        self.signal_file_event(&written);
        Ok(written)
    }

    async fn detach_file(
        &self,
        ws: WorkspaceId,
        id: FileId,
        actor: Actor,
        at: Timestamp,
    ) -> Result<FileWrite> {
        let mut tx = self.pool.begin().await?;
        let written = files::detach_file(&mut tx, ws, id, actor, at).await?;
        tx.commit().await?;
        self.signal_file_event(&written);
        Ok(written)
    }

    async fn delete_file(
        &self,
        ws: WorkspaceId,
        id: FileId,
        actor: Actor,
        at: Timestamp,
    ) -> Result<FileWrite> {
        let mut tx = self.pool.begin().await?;
        let written = files::delete_file(&mut tx, ws, id, actor, at).await?;
        tx.commit().await?;
        self.signal_file_event(&written);
        Ok(written)
    }

    async fn file_policy(&self, ws: WorkspaceId) -> Result<Option<FilePolicy>> {
        files::file_policy(&mut *self.pool.acquire().await?, ws).await
    }

    async fn set_file_policy(
        &self,
        ws: WorkspaceId,
        policy: FilePolicy,
        at: Timestamp,
    ) -> Result<()> {
        files::set_file_policy(&mut *self.pool.acquire().await?, ws, &policy, at).await
    }

    async fn server_secret(
        &self,
        name: &str,
        candidate: Vec<u8>,
        at: Timestamp,
    ) -> Result<Vec<u8>> {
        files::server_secret(&mut *self.pool.acquire().await?, name, &candidate, at).await
    }

    // Export and import.
    async fn export_requests(
        &self,
        ws: WorkspaceId,
        after: Option<RequestId>,
        limit: u32,
    ) -> Result<Vec<Request>> {
        portable::export_requests(&self.pool, ws, after, limit).await
    }

    async fn export_records(
        &self,
        ws: WorkspaceId,
        kind: RecordKind,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Imported>> {
        portable::export_records(&self.pool, ws, kind, offset, limit).await
    }

    async fn import(&self, record: Imported) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        portable::import(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    // Idempotency keys, scoped by the caller's credential.
    async fn idempotency_claim(
        &self,
        scope: [u8; 32],
        key: &str,
        fingerprint: [u8; 32],
        now: Timestamp,
    ) -> Result<IdempotencyClaim> {
        idempotency::idempotency_claim(&self.pool, scope, key, fingerprint, now).await
    }

    async fn idempotency_complete(
        &self,
        scope: [u8; 32],
        key: &str,
        response: StoredResponse,
    ) -> Result<()> {
        idempotency::idempotency_complete(&self.pool, scope, key, response).await
    }

    async fn idempotency_release(&self, scope: [u8; 32], key: &str) -> Result<()> {
        idempotency::idempotency_release(&self.pool, scope, key).await
    }
}
