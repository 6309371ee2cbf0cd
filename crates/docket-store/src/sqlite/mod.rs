//! The embedded SQLite backend, Docket's default.
//!
//! WAL mode with `synchronous = FULL`: a commit is on disk before it returns. All writes
//! go through `writer::Writer` (group commit); reads take a connection from a small pool
//! and run on the calling task, because an indexed SQLite read costs microseconds — less
//! than handing it to another thread. Lists, which can scan, run on the blocking pool.
//!
//! Each area has its own file, named as in `postgres/`: free functions that take the
//! connection (the writer's, inside its transaction, or a reader's). This file holds the
//! one `impl Store`, in the trait's order, whose methods pick the writer or a reader, run
//! the area's function, and then raise the event signal or clear a cache.

// The WAL hook is a C callback; see the module doc.
#[allow(unsafe_code)]
mod checkpoint;
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
mod read_pool;
mod requests;
mod rows;
mod schema;
mod token_cache;
mod type_cache;
mod types;
#[allow(unsafe_code)] // SQLite's VFS is a C interface; see the module doc.
mod wal_gather;
mod webhooks;
mod workspaces;
mod writer;

use crate::{
    Applied, AttemptOutcome, ClaimedDelivery, EmailOutcome, ExternalKey, FileWrite,
    IdempotencyClaim, Imported, MailEvents, MemberChange, NewEmail, NewLink, PlanChange,
    PlanCreate, PlanItems, PlanLinkUse, QueuedEmail, RecordKind, RequestStats, RequestTypeChange,
    Result, Store, StoredResponse, WebhookChange,
};
use async_trait::async_trait;
use checkpoint::Checkpoints;
use docket_domain::email::Template;
use docket_domain::event::{Actor, Event};
use docket_domain::file::{FileId, FilePolicy, FileRecord};
use docket_domain::ids::{DeliveryId, EventId, WebhookId};
use docket_domain::ids::{ItemId, MemberId, RequestId, TokenId, WorkspaceId};
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
use read_pool::ReadPool;
use rusqlite::Connection;
use std::path::Path;
use std::sync::Arc;
use type_cache::TypeCache;
use writer::{BatchEdge, Writer};

pub struct SqliteStore {
    writer: Writer,
    readers: Arc<ReadPool>,
    types: TypeCache,
    tokens: token_cache::TokenCache,
    /// The latest event this process stored; see [`Store::event_signal`].
    events: tokio::sync::watch::Sender<i64>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        // The writer's connection gathers each commit's WAL frames into one write.
        let conn = Connection::open_with_flags_and_vfs(
            path,
            rusqlite::OpenFlags::default(),
            wal_gather::register().map_err(anyhow::Error::msg)?,
        )?;
        // synchronous = full: a commit is fsync'd before it returns, so an acknowledged
        // write survives power loss (and `wal_gather` needs it: see `register`).
        // temp_store = memory keeps statement journals off the disk; mmap keeps hot pages
        // out of read syscalls. The page cache stays small: at the end of every
        // transaction SQLite scans its whole hash table (`pcache1TruncateUnsafe`), which
        // cost 8% of the status-change benchmark at 64 MiB and 2.2% at 8 MiB; 2 MiB took
        // 2–4% off a status change's CPU and 1% off a create's (same-time A/B). Pages the
        // cache drops are read again from the mmap or, if recent, from the WAL.
        conn.execute_batch(
            "pragma journal_mode = wal;
             pragma synchronous = full;
             pragma foreign_keys = on;
             pragma busy_timeout = 5000;
             pragma temp_store = memory;
             pragma cache_size = -2048;
             pragma mmap_size = 268435456;",
        )?;
        schema::migrate(&conn)?;
        // Checkpoints run on their own thread and connection; see `checkpoint`.
        let checkpoints = Checkpoints::start(&conn, path, checkpoint::Policy::default())?;
        let types = TypeCache::default();
        let hook = types.clone();
        let on_batch = move |c: &Connection, edge| match edge {
            BatchEdge::Answered => checkpoints.after_batch(c),
            edge => hook.on_batch(c, edge),
        };
        Ok(Self {
            writer: Writer::start(conn, Box::new(on_batch))?,
            readers: Arc::new(ReadPool::new(path.to_path_buf())),
            types,
            tokens: Default::default(),
            events: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Runs `f` on a reader, on the calling task.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.readers.with(f)
    }

    /// Runs `f` on the writer, in its next group transaction (see [`Writer::write`]).
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.writer.write(f).await
    }

    /// Raises [`Store::event_signal`] when a file write recorded an event.
    fn signal_file_event(&self, written: &FileWrite) {
        if let (_, Some(event)) = written {
            self.events.send_replace(event.seq);
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        self.read(|c| Ok(c.query_row("select 1", [], |_| Ok(()))?))?;
        self.write(|_| Ok(())).await
    }

    // Workspaces.
    async fn create_workspace(
        &self,
        workspace: Workspace,
        owner: Member,
        token: Token,
    ) -> Result<()> {
        self.write(move |c| workspaces::create_workspace(c, workspace, owner, token))
            .await
    }

    async fn list_workspaces(&self) -> Result<Vec<Workspace>> {
        self.read(workspaces::list_workspaces)
    }

    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        self.read(|c| workspaces::workspace_by_slug(c, slug))
    }

    async fn get_workspace(&self, ws: WorkspaceId) -> Result<Option<Workspace>> {
        self.read(|c| workspaces::get_workspace(c, ws))
    }

    // Members.
    async fn insert_member(&self, member: Member) -> Result<Member> {
        self.write(move |c| members::insert_member(c, member)).await
    }

    async fn get_member(&self, ws: WorkspaceId, id: MemberId) -> Result<Option<Member>> {
        self.read(|c| members::member_in(c, ws, id))
    }

    async fn member_by_email(&self, ws: WorkspaceId, email: &Email) -> Result<Option<Member>> {
        self.read(|c| members::member_by_email(c, ws, email))
    }

    async fn list_members(&self, ws: WorkspaceId) -> Result<Vec<Member>> {
        self.read(|c| members::list_members(c, ws))
    }

    async fn update_member(
        &self,
        ws: WorkspaceId,
        id: MemberId,
        change: MemberChange,
    ) -> Result<Member> {
        let written = self
            .write(move |c| members::update_member(c, ws, id, change))
            .await;
        // Committed (or not): either way, cached tokens may now be stale.
        self.tokens.invalidate();
        written
    }

    // Web desk sign-in.
    async fn set_password(
        &self,
        ws: WorkspaceId,
        member: MemberId,
        hash: Option<String>,
    ) -> Result<()> {
        self.write(move |c| desk::set_password(c, ws, member, hash))
            .await
    }

    async fn password_candidates(&self, email: &Email) -> Result<Vec<(Member, String)>> {
        self.read(|c| desk::password_candidates(c, email))
    }

    async fn insert_session(&self, session: Session) -> Result<()> {
        self.write(move |c| desk::insert_session(c, &session)).await
    }

    async fn session_by_hash(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(Session, Member)>> {
        self.read(|c| desk::session_by_hash(c, hash, now))
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<()> {
        let hash = *hash;
        self.write(move |c| desk::delete_session(c, &hash)).await
    }

    // Tokens.
    async fn insert_token(&self, token: Token) -> Result<Token> {
        self.write(move |c| members::insert_token(c, token)).await
    }

    async fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<(Token, Option<Member>)>> {
        let miss = match self.tokens.get(hash) {
            Ok(found) => return Ok(Some(found)),
            Err(miss) => miss,
        };
        let found = self.read(|c| members::token_by_hash(c, hash))?;
        if let Some(resolved) = &found {
            self.tokens.fill(miss, hash, resolved);
        }
        Ok(found)
    }

    async fn list_tokens(&self, ws: WorkspaceId, member: Option<MemberId>) -> Result<Vec<Token>> {
        self.read(|c| members::list_tokens(c, ws, member))
    }

    async fn get_token(&self, ws: WorkspaceId, id: TokenId) -> Result<Option<Token>> {
        self.read(|c| members::token_in(c, ws, id))
    }

    async fn revoke_token(&self, ws: WorkspaceId, id: TokenId, at: Timestamp) -> Result<Token> {
        let written = self
            .write(move |c| members::revoke_token(c, ws, id, at))
            .await;
        // Committed (or not): either way, cached tokens may now be stale.
        self.tokens.invalidate();
        written
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> Result<()> {
        let written = self.write(move |c| members::touch_token(c, id, at)).await;
        // Committed (or not): either way, cached tokens may now be stale.
        self.tokens.invalidate();
        written
    }

    // Request types.
    async fn insert_request_type(&self, rtype: RequestType) -> Result<RequestType> {
        self.write(move |c| types::insert_request_type(c, rtype))
            .await
    }

    async fn list_request_types(&self, ws: WorkspaceId) -> Result<Vec<RequestType>> {
        self.read(|c| types::list_request_types(c, ws))
    }

    async fn get_request_type(
        &self,
        ws: WorkspaceId,
        key: &TypeKey,
    ) -> Result<Option<RequestType>> {
        self.read(|c| types::request_type_in(c, ws, key.as_str()))
    }

    async fn update_request_type(
        &self,
        ws: WorkspaceId,
        key: &TypeKey,
        change: RequestTypeChange,
        at: Timestamp,
    ) -> Result<RequestType> {
        let key = key.clone();
        let cache = self.types.clone();
        self.write(move |c| types::update_request_type(c, &cache, ws, &key, change, at))
            .await
    }

    // Requests.
    async fn create_request(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plan: PlanCreate,
    ) -> Result<(Request, Event)> {
        let type_key = type_key.clone();
        let created = self
            .write(move |c| requests::create_request(c, ws, &type_key, plan))
            .await?;
        self.events.send_replace(created.1.seq);
        Ok(created)
    }

    async fn create_request_with_key(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        key: ExternalKey,
        plan: PlanCreate,
    ) -> Result<(Request, Event)> {
        let type_key = type_key.clone();
        let created = self
            .write(move |c| requests::create_request_with_key(c, ws, &type_key, key, plan))
            .await?;
        self.events.send_replace(created.1.seq);
        Ok(created)
    }

    async fn request_by_external_key(
        &self,
        ws: WorkspaceId,
        key: &ExternalKey,
    ) -> Result<Option<Request>> {
        self.read(|c| requests::request_by_external_key(c, ws, key))
    }

    async fn change_request(
        &self,
        ws: WorkspaceId,
        id: RequestId,
        plan: PlanChange,
    ) -> Result<Applied> {
        let cache = self.types.clone();
        let applied = self
            .write(move |c| requests::change_request(c, &cache, ws, id, plan))
            .await?;
        if let Applied::Changed { event, .. } = &applied {
            self.events.send_replace(event.seq);
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
        let type_key = type_key.clone();
        let created = self
            .write(move |c| requests::create_request_with_link(c, ws, &type_key, plan, link))
            .await?;
        self.events.send_replace(created.1.seq);
        Ok(created)
    }

    async fn create_requests_with_links(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plans: Vec<PlanCreate>,
        link: NewLink,
    ) -> Result<Vec<(Request, Event, PublicLink)>> {
        let type_key = type_key.clone();
        let created = self
            .write(move |c| requests::create_requests_with_links(c, ws, &type_key, plans, link))
            .await?;
        if let Some((_, event, _)) = created.last() {
            self.events.send_replace(event.seq);
        }
        Ok(created)
    }

    async fn request_by_number(&self, ws: WorkspaceId, number: i64) -> Result<Option<Request>> {
        self.read(|c| requests::request_by_number(c, ws, number))
    }

    async fn get_request(&self, ws: WorkspaceId, id: RequestId) -> Result<Option<Request>> {
        self.read(|c| requests::request_in(c, ws, id))
    }

    async fn list_requests(&self, ws: WorkspaceId, query: &RequestQuery) -> Result<Page<Request>> {
        let query = query.clone();
        self.readers
            .with_blocking(move |c| requests::list_requests(c, ws, &query))
            .await
    }

    async fn request_stats(
        &self,
        ws: WorkspaceId,
        since: Timestamp,
        hidden: Option<&Restriction>,
    ) -> Result<RequestStats> {
        self.read(|c| desk::request_stats(c, ws, since, hidden))
    }

    async fn timeline(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        after_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Event>> {
        self.read(|c| requests::timeline(c, ws, request, after_seq, limit))
    }

    // Requested items.
    async fn list_items(&self, ws: WorkspaceId, request: RequestId) -> Result<Vec<Item>> {
        self.read(|c| items::list_items(c, ws, request))
    }

    async fn request_of_item(&self, ws: WorkspaceId, item: ItemId) -> Result<Option<RequestId>> {
        self.read(|c| items::request_of_item(c, ws, item))
    }

    async fn item_submissions(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        item: Option<ItemId>,
    ) -> Result<Vec<Submission>> {
        self.read(|c| items::item_submissions(c, ws, request, item))
    }

    async fn change_items(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        files: Vec<FileRecord>,
        plan: PlanItems,
    ) -> Result<(Applied, Vec<Item>)> {
        let cache = self.types.clone();
        let changed = self
            .write(move |c| items::change_items(c, &cache, ws, request, files, plan))
            .await?;
        if let Applied::Changed { event, .. } = &changed.0 {
            self.events.send_replace(event.seq);
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
        self.read(|c| events::workspace_events(c, ws, after_seq, limit, hidden))
    }

    async fn latest_event_seq(&self, ws: WorkspaceId) -> Result<i64> {
        self.read(|c| events::latest_event_seq(c, ws))
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<i64> {
        self.events.subscribe()
    }

    // Due dates.
    async fn record_due_notices(&self, now: Timestamp, limit: u32) -> Result<Vec<Event>> {
        let types = self.types.clone();
        let events = self
            .write(move |c| due::due_notices(c, &types, now, limit))
            .await?;
        if let Some(last) = events.last() {
            self.events.send_replace(last.seq);
        }
        Ok(events)
    }

    // Email.
    async fn mail_events_after(&self, after_seq: i64, limit: u32) -> Result<MailEvents> {
        self.read(|c| mail::mail_events_after(c, after_seq, limit))
    }

    async fn outbox_cursor(&self, name: &str) -> Result<i64> {
        let name = name.to_owned();
        self.write(move |c| mail::outbox_cursor(c, &name)).await
    }

    async fn queue_emails(
        &self,
        name: &str,
        from_seq: i64,
        to_seq: i64,
        emails: Vec<NewEmail>,
        now: Timestamp,
    ) -> Result<bool> {
        let name = name.to_owned();
        self.write(move |c| mail::queue_emails(c, &name, from_seq, to_seq, emails, now))
            .await
    }

    async fn queue_email(&self, email: NewEmail, now: Timestamp) -> Result<()> {
        self.write(move |c| mail::insert_email(c, email, now)).await
    }

    async fn claim_emails(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<QueuedEmail>> {
        self.write(move |c| mail::claim_emails(c, now, lease_until, limit))
            .await
    }

    async fn record_email(&self, id: &str, outcome: EmailOutcome, now: Timestamp) -> Result<()> {
        let id = id.to_owned();
        let failure_event = self
            .write(move |c| mail::record_email(c, &id, outcome, now))
            .await?;
        if let Some(seq) = failure_event {
            self.events.send_replace(seq);
        }
        Ok(())
    }

    async fn email_templates(&self, ws: WorkspaceId) -> Result<Vec<Template>> {
        self.read(|c| mail::email_templates(c, ws))
    }

    async fn set_email_template(
        &self,
        ws: WorkspaceId,
        template: Template,
        at: Timestamp,
    ) -> Result<()> {
        self.write(move |c| mail::set_email_template(c, ws, &template, at))
            .await
    }

    async fn delete_email_template(&self, ws: WorkspaceId, name: &str) -> Result<bool> {
        let name = name.to_owned();
        self.write(move |c| mail::delete_email_template(c, ws, &name))
            .await
    }

    // Webhooks and their deliveries (the outbox is the events table: each webhook keeps a
    // cursor into it).
    async fn insert_webhook(&self, webhook: Webhook) -> Result<Webhook> {
        self.write(move |c| webhooks::insert_webhook(c, &webhook).map(|_| webhook))
            .await
    }

    async fn list_webhooks(&self, ws: WorkspaceId) -> Result<Vec<Webhook>> {
        self.read(|c| webhooks::list_webhooks(c, ws))
    }

    async fn get_webhook(&self, ws: WorkspaceId, id: WebhookId) -> Result<Option<Webhook>> {
        self.read(|c| webhooks::get_webhook(c, ws, id))
    }

    async fn update_webhook(
        &self,
        ws: WorkspaceId,
        id: WebhookId,
        change: WebhookChange,
        at: Timestamp,
    ) -> Result<Webhook> {
        self.write(move |c| webhooks::update_webhook(c, ws, id, change, at))
            .await
    }

    async fn delete_webhook(&self, ws: WorkspaceId, id: WebhookId) -> Result<()> {
        self.write(move |c| webhooks::delete_webhook(c, ws, id))
            .await
    }

    async fn enqueue_deliveries(&self, now: Timestamp, max_events: u32) -> Result<usize> {
        self.write(move |c| webhooks::enqueue_deliveries(c, now, max_events))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
        per_webhook: usize,
    ) -> Result<Vec<ClaimedDelivery>> {
        self.write(move |c| webhooks::claim_deliveries(c, now, lease_until, limit, per_webhook))
            .await
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        attempt: Attempt,
        outcome: AttemptOutcome,
    ) -> Result<()> {
        self.write(move |c| webhooks::record_attempt(c, id, attempt, outcome))
            .await
    }

    async fn list_deliveries(
        &self,
        ws: WorkspaceId,
        webhook: WebhookId,
        before: Option<DeliveryId>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        self.read(|c| webhooks::list_deliveries(c, ws, webhook, before, limit))
    }

    async fn redeliver(
        &self,
        ws: WorkspaceId,
        webhook: WebhookId,
        event: EventId,
        now: Timestamp,
    ) -> Result<Delivery> {
        self.write(move |c| webhooks::redeliver(c, ws, webhook, event, now))
            .await
    }

    // Public links.
    async fn insert_link(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        link: NewLink,
        now: Timestamp,
    ) -> Result<PublicLink> {
        self.write(move |c| links::insert_link(c, ws, request, link, now))
            .await
    }

    async fn links_of_request(
        &self,
        ws: WorkspaceId,
        request: RequestId,
    ) -> Result<Vec<PublicLink>> {
        self.read(|c| links::links_of_request(c, ws, request))
    }

    async fn link_by_token(&self, token: &LinkToken) -> Result<Option<(PublicLink, Request)>> {
        self.read(|c| links::link_by_token(c, token.as_str()))
    }

    async fn revoke_link(&self, ws: WorkspaceId, id: LinkId, at: Timestamp) -> Result<PublicLink> {
        self.write(move |c| links::revoke_link(c, ws, id, at)).await
    }

    async fn set_link_expiry(
        &self,
        ws: WorkspaceId,
        id: LinkId,
        expires_at: Option<Timestamp>,
    ) -> Result<PublicLink> {
        self.write(move |c| links::set_link_expiry(c, ws, id, expires_at))
            .await
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
        let token = token.as_str().to_owned();
        let cache = self.types.clone();
        let used = self
            .write(move |c| links::use_link_with_files(c, &cache, &token, files, plan))
            .await?;
        self.events.send_replace(used.2.seq);
        Ok(used)
    }

    // Files (records only: the bytes live in the blob store, which the caller writes
    // before inserting a record and deletes after deleting one).
    async fn insert_file(
        &self,
        file: FileRecord,
        actor: Actor,
        at: Timestamp,
    ) -> Result<FileWrite> {
        let written = self
            .write(move |c| files::insert_file(c, file, actor, at))
            .await?;
        self.signal_file_event(&written);
        Ok(written)
    }

    async fn get_file(&self, ws: WorkspaceId, id: FileId) -> Result<Option<FileRecord>> {
        self.read(|c| files::file_in(c, ws, id))
    }

    async fn file_by_id(&self, id: FileId) -> Result<Option<FileRecord>> {
        self.read(|c| files::file_by_id(c, id))
    }

    async fn list_files(
        &self,
        ws: WorkspaceId,
        request: Option<RequestId>,
        after: Option<FileId>,
        limit: u32,
    ) -> Result<Vec<FileRecord>> {
        self.read(|c| files::list_files(c, ws, request, after, limit))
    }

    async fn attach_file(
        &self,
        ws: WorkspaceId,
        id: FileId,
        request: RequestId,
        actor: Actor,
        at: Timestamp,
    ) -> Result<FileWrite> {
        let written = self
            .write(move |c| files::attach_file(c, ws, id, request, actor, at))
            .await?;
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
        let written = self
            .write(move |c| files::detach_file(c, ws, id, actor, at))
            .await?;
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
        let written = self
            .write(move |c| files::delete_file(c, ws, id, actor, at))
            .await?;
        self.signal_file_event(&written);
        Ok(written)
    }

    async fn file_policy(&self, ws: WorkspaceId) -> Result<Option<FilePolicy>> {
        self.read(|c| files::file_policy(c, ws))
    }

    async fn set_file_policy(
        &self,
        ws: WorkspaceId,
        policy: FilePolicy,
        at: Timestamp,
    ) -> Result<()> {
        self.write(move |c| files::set_file_policy(c, ws, &policy, at))
            .await
    }

    async fn server_secret(
        &self,
        name: &str,
        candidate: Vec<u8>,
        at: Timestamp,
    ) -> Result<Vec<u8>> {
        let name = name.to_owned();
        self.write(move |c| files::server_secret(c, &name, &candidate, at))
            .await
    }

    // Export and import.
    async fn export_requests(
        &self,
        ws: WorkspaceId,
        after: Option<RequestId>,
        limit: u32,
    ) -> Result<Vec<Request>> {
        self.read(|c| portable::export_requests(c, ws, after, limit))
    }

    async fn export_records(
        &self,
        ws: WorkspaceId,
        kind: RecordKind,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Imported>> {
        self.read(|c| portable::export_records(c, ws, kind, offset, limit))
    }

    async fn import(&self, record: Imported) -> Result<()> {
        self.write(move |c| portable::import(c, record)).await
    }

    // Idempotency keys, scoped by the caller's credential.
    async fn idempotency_claim(
        &self,
        scope: [u8; 32],
        key: &str,
        fingerprint: [u8; 32],
        now: Timestamp,
    ) -> Result<IdempotencyClaim> {
        let key = key.to_owned();
        self.write(move |c| idempotency::idempotency_claim(c, scope, &key, fingerprint, now))
            .await
    }

    async fn idempotency_complete(
        &self,
        scope: [u8; 32],
        key: &str,
        response: StoredResponse,
    ) -> Result<()> {
        let key = key.to_owned();
        self.write(move |c| idempotency::idempotency_complete(c, scope, &key, response))
            .await
    }

    async fn idempotency_release(&self, scope: [u8; 32], key: &str) -> Result<()> {
        let key = key.to_owned();
        self.write(move |c| idempotency::idempotency_release(c, scope, &key))
            .await
    }
}
