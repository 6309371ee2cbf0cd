//! The embedded SQLite backend, Docket's default.
//!
//! WAL mode with `synchronous = FULL`: a commit is on disk before it returns. All writes
//! go through `writer::Writer` (group commit); reads take a connection from a small pool
//! and run on the calling task, because an indexed SQLite read costs microseconds — less
//! than handing it to another thread. Lists, which can scan, run on the blocking pool.

mod desk;
mod due;
// The WAL hook is a C callback; see the module doc.
#[allow(unsafe_code)]
mod checkpoint;
mod files;
mod mail;
mod portable;
mod read_pool;
mod rows;
mod token_cache;
#[allow(unsafe_code)] // SQLite's VFS is a C interface; see the module doc.
mod wal_gather;
mod webhooks;
mod writer;

use crate::{
    Applied, AttemptOutcome, ClaimedDelivery, EmailOutcome, ExternalKey, FileWrite,
    IdempotencyClaim, Imported, MailEvents, MemberChange, NewEmail, NewLink, PlanChange,
    PlanCreate, PlanLinkUse, QueuedEmail, RecordKind, RequestStats, RequestTypeChange, Result,
    Store, StoreError, StoredResponse, WebhookChange,
};
use async_trait::async_trait;
use checkpoint::Checkpoints;
use docket_domain::email::Template;
use docket_domain::event::{Actor, Event};
use docket_domain::file::{FileId, FilePolicy, FileRecord};
use docket_domain::ids::{DeliveryId, EventId, WebhookId};
use docket_domain::ids::{MemberId, RequestId, RequestTypeId, TokenId, WorkspaceId};
use docket_domain::link::{LinkId, LinkToken, PublicLink};
use docket_domain::member::{Email, Member};
use docket_domain::query::{Page, RequestQuery, Restriction};
use docket_domain::request::{Request, RequestType, TypeKey};
use docket_domain::session::Session;
use docket_domain::token::{Token, TokenHash};
use docket_domain::webhook::{Attempt, Delivery, Webhook};
use docket_domain::workflow::Workflow;
use docket_domain::workspace::Workspace;
use docket_domain::{from_micros, idempotency, DomainError, Timestamp};
use read_pool::ReadPool;
use rows::*;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Arc;
use writer::{BatchEdge, Writer};

/// Migrations in order; `PRAGMA user_version` records how many have been applied.
/// Never edit one that has landed: add the next.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_replay_headers_lean_indexes.sql"),
    include_str!("migrations/0003_webhooks.sql"),
    include_str!("migrations/0004_due_notices.sql"),
    include_str!("migrations/0005_email.sql"),
    include_str!("migrations/0006_request_links.sql"),
    include_str!("migrations/0007_external_keys.sql"),
    include_str!("migrations/0008_files.sql"),
    include_str!("migrations/0009_desk.sql"),
    include_str!("migrations/0010_fts_update_columns.sql"),
    include_str!("migrations/0011_mail_flag.sql"),
    include_str!("migrations/0012_storyden_visibility.sql"),
    include_str!("migrations/0013_requests_by_type.sql"),
];

pub struct SqliteStore {
    writer: Writer,
    readers: Arc<ReadPool>,
    types: TypeCache,
    tokens: token_cache::TokenCache,
    /// The latest event this process stored; see [`Store::event_signal`].
    events: tokio::sync::watch::Sender<i64>,
}

/// Parsed request types by id, kept by the writer so a status change neither reads nor
/// parses the workflow. It stays true because every write of a request type in this
/// process goes through the writer and drops its entry; it is emptied when a batch is
/// rolled back, and when another process (say `docket admin`) committed to the database
/// since the last batch, which SQLite's `data_version` tells once per batch.
#[derive(Clone, Default)]
struct TypeCache(Arc<parking_lot::Mutex<TypeCacheInner>>);

#[derive(Default)]
struct TypeCacheInner {
    types: std::collections::HashMap<RequestTypeId, Arc<RequestType>>,
    data_version: i64,
}

impl TypeCache {
    fn forget(&self, id: RequestTypeId) {
        self.0.lock().types.remove(&id);
    }

    /// The writer's batch hook: see the type's documentation.
    fn on_batch(&self, conn: &Connection, edge: BatchEdge) {
        let mut inner = self.0.lock();
        match edge {
            BatchEdge::RolledBack => inner.types.clear(),
            BatchEdge::Answered => {}
            BatchEdge::Begun => {
                let version = conn
                    .prepare_cached("pragma data_version")
                    .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
                    .unwrap_or(-1);
                if version != inner.data_version || version == -1 {
                    inner.types.clear();
                    inner.data_version = version;
                }
            }
        }
    }
}

fn request_type_cached(
    conn: &Connection,
    cache: &TypeCache,
    id: RequestTypeId,
) -> Result<Arc<RequestType>> {
    if let Some(t) = cache.0.lock().types.get(&id) {
        return Ok(t.clone());
    }
    let t = Arc::new(request_type_by_id(conn, id)?);
    cache.0.lock().types.insert(id, t.clone());
    Ok(t)
}

pub(crate) fn internal(msg: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("{msg}"))
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
        migrate(&conn)?;
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

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.readers.with(f)
    }

    /// Raises [`Store::event_signal`] when a file write recorded an event.
    fn signal_file_event(&self, written: &FileWrite) {
        if let (_, Some(event)) = written {
            self.events.send_replace(event.seq);
        }
    }
}

fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let applied: usize = conn.query_row("pragma user_version", [], |r| r.get(0))?;
    if applied > MIGRATIONS.len() {
        anyhow::bail!("the database schema (version {applied}) is newer than this docket ({}); upgrade docket", MIGRATIONS.len());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = i + 1;
        conn.execute_batch(&format!(
            "begin immediate; {sql}\n; pragma user_version = {version}; commit;"
        ))?;
        tracing::info!(version, "applied sqlite migration");
    }
    Ok(())
}

fn conflict(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Domain(DomainError::Conflict {
        code,
        message: message.into(),
    })
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

fn insert_request_type_row(conn: &Connection, t: &RequestType) -> Result<()> {
    conn.prepare_cached(
        "insert into request_types (id, workspace_id, key, name, description, workflow, created_at, updated_at)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        t.id.to_string(),
        t.workspace_id.to_string(),
        t.key.as_str(),
        t.name,
        t.description,
        to_json(&t.workflow)?,
        micros(t.created_at),
        micros(t.updated_at)
    ])
    .map_err(|e| if is_unique_violation(&e) { conflict("type_exists", format!("a request type with key {} exists", t.key.as_str())) } else { e.into() })?;
    Ok(())
}

fn insert_member_row(conn: &Connection, m: &Member) -> Result<()> {
    conn.prepare_cached("insert into members (id, workspace_id, email, name, role, created_at) values (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![m.id.to_string(), m.workspace_id.to_string(), m.email.as_str(), m.name, m.role.as_str(), micros(m.created_at)])
        .map_err(|e| if is_unique_violation(&e) { conflict("email_taken", format!("{} is already a member", m.email.as_str())) } else { e.into() })?;
    Ok(())
}

fn insert_token_row(conn: &Connection, t: &Token) -> Result<()> {
    conn.prepare_cached(
        "insert into tokens (id, workspace_id, member_id, name, hash, scopes, expires_at, last_used_at, revoked_at, created_at)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        t.id.to_string(),
        t.workspace_id.to_string(),
        t.member_id.map(|m| m.to_string()),
        t.name,
        &t.hash.0[..],
        to_json(&t.scopes)?,
        t.expires_at.map(micros),
        t.last_used_at.map(micros),
        t.revoked_at.map(micros),
        micros(t.created_at)
    ])
    .map_err(|e| if is_unique_violation(&e) { conflict("token_exists", "a token with this secret exists") } else { e.into() })?;
    Ok(())
}

fn request_type_in(conn: &Connection, ws: WorkspaceId, key: &str) -> Result<Option<RequestType>> {
    Ok(conn
        .prepare_cached(&format!(
            "select {REQUEST_TYPE_COLUMNS} from request_types where workspace_id = ?1 and key = ?2"
        ))?
        .query_row(params![ws.to_string(), key], request_type_from_row)
        .optional()?)
}

fn request_type_by_id(conn: &Connection, id: RequestTypeId) -> Result<RequestType> {
    Ok(conn
        .prepare_cached(&format!(
            "select {REQUEST_TYPE_COLUMNS} from request_types where id = ?1"
        ))?
        .query_row(params![id.to_string()], request_type_from_row)?)
}

fn request_in(conn: &Connection, ws: WorkspaceId, id: RequestId) -> Result<Option<Request>> {
    // A literal: every read and change of a request passes here.
    Ok(conn
        .prepare_cached(concat!(
            "select ",
            rows::request_columns!(),
            " from requests where workspace_id = ?1 and id = ?2"
        ))?
        .query_row(params![ws.to_string(), id.to_string()], request_from_row)
        .optional()?)
}

fn member_in(conn: &Connection, ws: WorkspaceId, id: MemberId) -> Result<Option<Member>> {
    Ok(conn
        .prepare_cached(&format!(
            "select {MEMBER_COLUMNS} from members where workspace_id = ?1 and id = ?2"
        ))?
        .query_row(params![ws.to_string(), id.to_string()], member_from_row)
        .optional()?)
}

fn token_in(conn: &Connection, ws: WorkspaceId, id: TokenId) -> Result<Option<Token>> {
    Ok(conn
        .prepare_cached(&format!(
            "select {TOKEN_COLUMNS} from tokens where workspace_id = ?1 and id = ?2"
        ))?
        .query_row(params![ws.to_string(), id.to_string()], token_from_row)
        .optional()?)
}

fn link_in(conn: &Connection, ws: WorkspaceId, id: LinkId) -> Result<Option<PublicLink>> {
    Ok(conn
        .prepare_cached(&format!(
            "select {LINK_COLUMNS} from request_links where workspace_id = ?1 and id = ?2"
        ))?
        .query_row(params![ws.to_string(), id.to_string()], link_from_row)
        .optional()?)
}

fn link_with_token(conn: &Connection, token: &str) -> Result<Option<PublicLink>> {
    Ok(conn
        .prepare_cached(&format!(
            "select {LINK_COLUMNS} from request_links where token = ?1"
        ))?
        .query_row([token], link_from_row)
        .optional()?)
}

/// Allocates the next number, runs the plan and stores the request and its event.
fn create_request_in(
    c: &Connection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    plan: PlanCreate,
) -> Result<(Request, Event)> {
    let rtype = request_type_in(c, ws, type_key.as_str())?.ok_or_else(|| {
        DomainError::invalid(
            "type",
            "unknown_type",
            format!("no request type {}", type_key.as_str()),
        )
    })?;
    // Refusals come before the first write (see writer.rs): plan, then insert the request
    // (a bad member id fails that statement alone), then take the number.
    let number: i64 = c
        .prepare_cached("select next_request_number from workspaces where id = ?1")?
        .query_row([ws.to_string()], |r| r.get(0))?;
    let planned = plan(&rtype, number)?;
    insert_request(c, &planned.request).map_err(request_write_error)?;
    c.prepare_cached("update workspaces set next_request_number = ?2 where id = ?1")?
        .execute(params![ws.to_string(), number + 1])?;
    let event = insert_event(c, planned.event, Some(&rtype.workflow))?;
    for e in planned.follow_ups {
        insert_event(c, e, Some(&rtype.workflow))?;
    }
    Ok((planned.request, event))
}

/// Inserts a link, drawing a new token in the (astronomically rare) case of a collision.
fn insert_new_link(
    c: &Connection,
    request: &Request,
    link: &NewLink,
    now: Timestamp,
) -> Result<PublicLink> {
    for _ in 0..4 {
        let l = PublicLink::new(request, link.mode, link.expires_at, now);
        match insert_link(c, &l) {
            Ok(_) => return Ok(l),
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(internal("could not draw a unique link token"))
}

/// Maps a foreign-key failure on a request write to the field the client got wrong.
fn request_write_error(e: rusqlite::Error) -> StoreError {
    if is_foreign_key_violation(&e) {
        DomainError::invalid(
            "assignee_id",
            "unknown_member",
            "no member with this id in the workspace",
        )
        .into()
    } else {
        e.into()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        self.read(|c| Ok(c.query_row("select 1", [], |_| Ok(()))?))?;
        self.writer.write(|_| Ok(())).await
    }

    async fn create_workspace(
        &self,
        workspace: Workspace,
        owner: Member,
        token: Token,
    ) -> Result<()> {
        self.writer
            .write(move |c| {
                c.prepare_cached(
                    "insert into workspaces (id, name, slug, created_at) values (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    workspace.id.to_string(),
                    workspace.name,
                    workspace.slug,
                    micros(workspace.created_at)
                ])
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        conflict(
                            "slug_taken",
                            format!("a workspace with slug {} exists", workspace.slug),
                        )
                    } else {
                        e.into()
                    }
                })?;
                let general = RequestType {
                    id: RequestTypeId::new(),
                    workspace_id: workspace.id,
                    key: TypeKey::general(),
                    name: "General".into(),
                    description: "A general-purpose request.".into(),
                    workflow: Workflow::general(),
                    created_at: workspace.created_at,
                    updated_at: workspace.created_at,
                };
                insert_request_type_row(c, &general)?;
                insert_member_row(c, &owner)?;
                insert_token_row(c, &token)
            })
            .await
    }

    async fn list_workspaces(&self) -> Result<Vec<Workspace>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "select id, name, slug, created_at from workspaces order by created_at, id",
            )?;
            let rows = stmt.query_map([], workspace_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "select id, name, slug, created_at from workspaces where slug = ?1",
            )?
            .query_row([slug], workspace_from_row)
            .optional()?)
        })
    }

    async fn insert_member(&self, member: Member) -> Result<Member> {
        self.writer
            .write(move |c| insert_member_row(c, &member).map(|_| member))
            .await
    }

    async fn get_member(&self, ws: WorkspaceId, id: MemberId) -> Result<Option<Member>> {
        self.read(|c| member_in(c, ws, id))
    }

    async fn member_by_email(&self, ws: WorkspaceId, email: &Email) -> Result<Option<Member>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "select {MEMBER_COLUMNS} from members where workspace_id = ?1 and email = ?2"
            ))?
            .query_row(params![ws.to_string(), email.as_str()], member_from_row)
            .optional()?)
        })
    }

    async fn list_members(&self, ws: WorkspaceId) -> Result<Vec<Member>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!("select {MEMBER_COLUMNS} from members where workspace_id = ?1 order by created_at, id"))?;
            let rows = stmt.query_map([ws.to_string()], member_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn update_member(
        &self,
        ws: WorkspaceId,
        id: MemberId,
        change: MemberChange,
    ) -> Result<Member> {
        let written = self
            .writer
            .write(move |c| {
                let current = member_in(c, ws, id)?.ok_or(DomainError::NotFound("member"))?;
                // Counted inside the writer's transaction, so two concurrent demotions
                // cannot both see "another owner remains".
                let owners: i64 = if change.demotes_owner(&current) {
                    c.prepare_cached(
                        "select count(*) from members where workspace_id = ?1 and role = 'owner'",
                    )?
                    .query_row([ws.to_string()], |r| r.get(0))?
                } else {
                    0
                };
                let m = change.apply(current, owners)?;
                c.prepare_cached("update members set name = ?1, role = ?2 where id = ?3")?
                    .execute(params![m.name, m.role.as_str(), m.id.to_string()])?;
                Ok(m)
            })
            .await;
        // Committed (or not): either way, cached tokens may now be stale.
        self.tokens.invalidate();
        written
    }

    async fn set_password(
        &self,
        ws: WorkspaceId,
        member: MemberId,
        hash: Option<String>,
    ) -> Result<()> {
        self.writer
            .write(move |c| desk::set_password(c, ws, member, hash))
            .await
    }

    async fn password_candidates(&self, email: &Email) -> Result<Vec<(Member, String)>> {
        self.read(|c| desk::password_candidates(c, email))
    }

    async fn insert_session(&self, session: Session) -> Result<()> {
        self.writer
            .write(move |c| desk::insert_session(c, &session))
            .await
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
        self.writer
            .write(move |c| desk::delete_session(c, &hash))
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

    async fn insert_token(&self, token: Token) -> Result<Token> {
        self.writer
            .write(move |c| insert_token_row(c, &token).map(|_| token))
            .await
    }

    async fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<(Token, Option<Member>)>> {
        let miss = match self.tokens.get(hash) {
            Ok(found) => return Ok(Some(found)),
            Err(miss) => miss,
        };
        let key = hash.0;
        let found = self.read(move |c| {
            let token = c
                .prepare_cached(&format!(
                    "select {TOKEN_COLUMNS} from tokens where hash = ?1"
                ))?
                .query_row([&key[..]], token_from_row)
                .optional()?;
            let Some(token) = token else { return Ok(None) };
            let member = match token.member_id {
                Some(m) => member_in(c, token.workspace_id, m)?,
                None => None,
            };
            Ok(Some((token, member)))
        })?;
        if let Some(resolved) = &found {
            self.tokens.fill(miss, hash, resolved);
        }
        Ok(found)
    }

    async fn list_tokens(&self, ws: WorkspaceId, member: Option<MemberId>) -> Result<Vec<Token>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "select {TOKEN_COLUMNS} from tokens where workspace_id = ?1 and (?2 is null or member_id = ?2) order by created_at, id"
            ))?;
            let rows = stmt.query_map(params![ws.to_string(), member.map(|m| m.to_string())], token_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn get_token(&self, ws: WorkspaceId, id: TokenId) -> Result<Option<Token>> {
        self.read(|c| token_in(c, ws, id))
    }

    async fn revoke_token(&self, ws: WorkspaceId, id: TokenId, at: Timestamp) -> Result<Token> {
        let written = self
            .writer
            .write(move |c| {
                let mut t = token_in(c, ws, id)?.ok_or(DomainError::NotFound("token"))?;
                if t.revoked_at.is_none() {
                    t.revoked_at = Some(at);
                    c.prepare_cached("update tokens set revoked_at = ?1 where id = ?2")?
                        .execute(params![micros(at), id.to_string()])?;
                }
                Ok(t)
            })
            .await;
        // Committed (or not): either way, cached tokens may now be stale.
        self.tokens.invalidate();
        written
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> Result<()> {
        let written = self
            .writer
            .write(move |c| {
                c.prepare_cached("update tokens set last_used_at = ?1 where id = ?2")?
                    .execute(params![micros(at), id.to_string()])?;
                Ok(())
            })
            .await;
        // Committed (or not): either way, cached tokens may now be stale.
        self.tokens.invalidate();
        written
    }

    async fn insert_request_type(&self, rtype: RequestType) -> Result<RequestType> {
        self.writer
            .write(move |c| insert_request_type_row(c, &rtype).map(|_| rtype))
            .await
    }

    async fn list_request_types(&self, ws: WorkspaceId) -> Result<Vec<RequestType>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!("select {REQUEST_TYPE_COLUMNS} from request_types where workspace_id = ?1 order by key"))?;
            let rows = stmt.query_map([ws.to_string()], request_type_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn get_request_type(
        &self,
        ws: WorkspaceId,
        key: &TypeKey,
    ) -> Result<Option<RequestType>> {
        self.read(|c| request_type_in(c, ws, key.as_str()))
    }

    async fn update_request_type(
        &self,
        ws: WorkspaceId,
        key: &TypeKey,
        change: RequestTypeChange,
        at: Timestamp,
    ) -> Result<RequestType> {
        let key = key.clone();
        let types = self.types.clone();
        self.writer
            .write(move |c| {
                let current = request_type_in(c, ws, key.as_str())?.ok_or(DomainError::NotFound("request type"))?;
                let update = change.apply(current, at);
                let t = update.next;
                // Each dropped status through the (workspace, status) index the list
                // filter uses anyway.
                let mut in_use = Vec::new();
                for status in update.dropped {
                    let used: bool = c
                        .prepare_cached("select exists (select 1 from requests where workspace_id = ?1 and status = ?2 and type_id = ?3)")?
                        .query_row(params![ws.to_string(), status.as_str(), t.id.to_string()], |r| r.get(0))?;
                    if used {
                        in_use.push(status);
                    }
                }
                if !in_use.is_empty() {
                    return Err(docket_domain::request::statuses_in_use(&in_use).into());
                }
                if update.recategorise {
                    for s in t.workflow.statuses() {
                        c.prepare_cached("update requests set category = ?1, version = version + 1, updated_at = ?4 where workspace_id = ?5 and status = ?3 and type_id = ?2 and category <> ?1")?
                            .execute(params![s.category.as_str(), t.id.to_string(), s.key.as_str(), micros(at), ws.to_string()])?;
                    }
                }
                c.prepare_cached("update request_types set name = ?1, description = ?2, workflow = ?3, updated_at = ?4 where id = ?5")?
                    .execute(params![t.name, t.description, to_json(&t.workflow)?, micros(at), t.id.to_string()])?;
                types.forget(t.id);
                Ok(t)
            })
            .await
    }

    async fn create_request(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plan: PlanCreate,
    ) -> Result<(Request, Event)> {
        let type_key = type_key.clone();
        let created = self
            .writer
            .write(move |c| create_request_in(c, ws, &type_key, plan))
            .await?;
        self.events.send_replace(created.1.seq);
        Ok(created)
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
            .writer
            .write(move |c| {
                let (request, event) = create_request_in(c, ws, &type_key, plan)?;
                let link = insert_new_link(c, &request, &link, request.created_at)?;
                Ok((request, event, link))
            })
            .await?;
        self.events.send_replace(created.1.seq);
        Ok(created)
    }

    async fn request_by_number(&self, ws: WorkspaceId, number: i64) -> Result<Option<Request>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "select {REQUEST_COLUMNS} from requests where workspace_id = ?1 and number = ?2"
            ))?
            .query_row(params![ws.to_string(), number], request_from_row)
            .optional()?)
        })
    }

    async fn insert_link(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        link: NewLink,
        now: Timestamp,
    ) -> Result<PublicLink> {
        self.writer
            .write(move |c| {
                let request = request_in(c, ws, request)?
                    .filter(|r| r.deleted_at.is_none())
                    .ok_or(DomainError::NotFound("request"))?;
                insert_new_link(c, &request, &link, now)
            })
            .await
    }

    async fn links_of_request(
        &self,
        ws: WorkspaceId,
        request: RequestId,
    ) -> Result<Vec<PublicLink>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "select {LINK_COLUMNS} from request_links where workspace_id = ?1 and request_id = ?2 order by created_at, id"
            ))?;
            let rows = stmt.query_map(params![ws.to_string(), request.to_string()], link_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn link_by_token(&self, token: &LinkToken) -> Result<Option<(PublicLink, Request)>> {
        let token = token.as_str().to_owned();
        self.read(move |c| {
            let Some(link) = link_with_token(c, &token)? else {
                return Ok(None);
            };
            let request = request_in(c, link.workspace_id, link.request_id)?
                .ok_or_else(|| internal("a link's request is missing"))?;
            Ok(Some((link, request)))
        })
    }

    async fn revoke_link(&self, ws: WorkspaceId, id: LinkId, at: Timestamp) -> Result<PublicLink> {
        self.writer
            .write(move |c| {
                let mut l = link_in(c, ws, id)?.ok_or(DomainError::NotFound("link"))?;
                if l.revoked_at.is_none() {
                    l.revoked_at = Some(at);
                    c.prepare_cached("update request_links set revoked_at = ?1 where id = ?2")?
                        .execute(params![micros(at), id.to_string()])?;
                }
                Ok(l)
            })
            .await
    }

    async fn set_link_expiry(
        &self,
        ws: WorkspaceId,
        id: LinkId,
        expires_at: Option<Timestamp>,
    ) -> Result<PublicLink> {
        self.writer
            .write(move |c| {
                let mut l = link_in(c, ws, id)?.ok_or(DomainError::NotFound("link"))?;
                l.expires_at = expires_at;
                c.prepare_cached("update request_links set expires_at = ?1 where id = ?2")?
                    .execute(params![expires_at.map(micros), id.to_string()])?;
                Ok(l)
            })
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
        let types = self.types.clone();
        let used = self
            .writer
            .write(move |c| {
                let link = link_with_token(c, &token)?.ok_or(DomainError::NotFound("link"))?;
                let current = request_in(c, link.workspace_id, link.request_id)?
                    .ok_or(DomainError::NotFound("request"))?;
                if files.iter().any(|f| f.workspace_id != link.workspace_id || f.request_id != Some(link.request_id)) {
                    return Err(internal("a file of a link use names another request"));
                }
                let rtype = request_type_cached(c, &types, current.type_id)?;
                let (planned, used) = plan(&link, &current, &rtype)?;
                // The request first: a bad value fails that statement alone, before any
                // write (see writer.rs). Both writes check what the plan was made from;
                // with one writer they always match.
                let updated = update_request(c, &current, &planned.request)
                    .map_err(request_write_error)?;
                if updated != 1 {
                    return Err(DomainError::PreconditionFailed { current: current.version }.into());
                }
                let counted = c
                    .prepare_cached("update request_links set used_count = ?1 where id = ?2 and used_count = ?3")?
                    .execute(params![used.used_count, link.id.to_string(), link.used_count])?;
                if counted != 1 {
                    return Err(internal("a link's use count changed under the writer"));
                }
                for f in &files {
                    files::insert_file_row(c, f)?;
                }
                let event = insert_event(c, planned.event, Some(&rtype.workflow))?;
                for e in planned.follow_ups {
                    insert_event(c, e, Some(&rtype.workflow))?;
                }
                Ok((used, planned.request, event))
            })
            .await?;
        self.events.send_replace(used.2.seq);
        Ok(used)
    }

    async fn insert_file(
        &self,
        file: FileRecord,
        actor: Actor,
        at: Timestamp,
    ) -> Result<FileWrite> {
        let written = self
            .writer
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
            .writer
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
            .writer
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
            .writer
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
        self.writer
            .write(move |c| files::set_file_policy(c, ws, &policy, at))
            .await
    }

    async fn server_secret(
        &self,
        name: &str,
        candidate: Vec<u8>,
        at: Timestamp,
    ) -> Result<Vec<u8>> {
        let name = name.to_owned();
        self.writer
            .write(move |c| files::server_secret(c, &name, &candidate, at))
            .await
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
            .writer
            .write(move |c| {
                // Checked before any write (see writer.rs); with one writer it cannot be
                // taken between this read and the insert below.
                let taken: Option<String> = c
                    .prepare_cached("select request_id from request_external_keys where workspace_id = ?1 and key_space = ?2 and key = ?3")?
                    .query_row(params![ws.to_string(), key.space, key.key], |r| r.get(0))
                    .optional()?;
                if taken.is_some() {
                    return Err(conflict("external_key_taken", format!("a request with {} {:?} exists", key.space, key.key)));
                }
                let (request, event) = create_request_in(c, ws, &type_key, plan)?;
                c.prepare_cached("insert into request_external_keys (workspace_id, key_space, key, request_id) values (?1, ?2, ?3, ?4)")?
                    .execute(params![ws.to_string(), key.space, key.key, request.id.to_string()])?;
                Ok((request, event))
            })
            .await?;
        self.events.send_replace(created.1.seq);
        Ok(created)
    }

    async fn request_by_external_key(
        &self,
        ws: WorkspaceId,
        key: &ExternalKey,
    ) -> Result<Option<Request>> {
        self.read(|c| {
            let id: Option<String> = c
                .prepare_cached("select request_id from request_external_keys where workspace_id = ?1 and key_space = ?2 and key = ?3")?
                .query_row(params![ws.to_string(), key.space, key.key], |r| r.get(0))
                .optional()?;
            match id {
                Some(id) => {
                    let id: RequestId = id.parse().map_err(|e| internal(format!("stored request id: {e}")))?;
                    request_in(c, ws, id)
                }
                None => Ok(None),
            }
        })
    }

    async fn change_request(
        &self,
        ws: WorkspaceId,
        id: RequestId,
        plan: PlanChange,
    ) -> Result<Applied> {
        let types = self.types.clone();
        let applied = self
            .writer
            .write(move |c| {
                let current = request_in(c, ws, id)?.ok_or(DomainError::NotFound("request"))?;
                let rtype = request_type_cached(c, &types, current.type_id)?;
                let Some(planned) = plan(&current, &rtype)? else {
                    return Ok(Applied::Unchanged(current));
                };
                let updated =
                    update_request(c, &current, &planned.request).map_err(request_write_error)?;
                if updated != 1 {
                    // Unreachable with one writer; kept so a logic error is a conflict, not a lost update.
                    return Err(DomainError::PreconditionFailed {
                        current: current.version,
                    }
                    .into());
                }
                let event = insert_event(c, planned.event, Some(&rtype.workflow))?;
                for e in planned.follow_ups {
                    insert_event(c, e, Some(&rtype.workflow))?;
                }
                Ok(Applied::Changed {
                    request: planned.request,
                    event,
                })
            })
            .await?;
        if let Applied::Changed { event, .. } = &applied {
            self.events.send_replace(event.seq);
        }
        Ok(applied)
    }

    async fn get_request(&self, ws: WorkspaceId, id: RequestId) -> Result<Option<Request>> {
        self.read(|c| request_in(c, ws, id))
    }

    async fn list_requests(&self, ws: WorkspaceId, query: &RequestQuery) -> Result<Page<Request>> {
        let query = query.clone();
        self.readers
            .with_blocking(move |c| list_requests(c, ws, &query))
            .await
    }

    async fn timeline(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        after_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Event>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "select {EVENT_COLUMNS} from events where workspace_id = ?1 and request_id = ?2 and seq > ?3 order by seq limit ?4"
            ))?;
            let rows = stmt.query_map(params![ws.to_string(), request.to_string(), after_seq.unwrap_or(0), limit], event_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn workspace_events(
        &self,
        ws: WorkspaceId,
        after_seq: Option<i64>,
        limit: u32,
        hidden: Option<&Restriction>,
    ) -> Result<Vec<Event>> {
        let types = hidden.map(|h| {
            serde_json::Value::from(h.types.iter().map(|t| t.as_str()).collect::<Vec<_>>())
                .to_string()
        });
        let me = hidden.and_then(|h| h.member).map(|m| m.to_string());
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "select {EVENT_COLUMNS} from events where workspace_id = ?1 and seq > ?2
                 and (?4 is null or request_id not in (
                     select id from requests where workspace_id = ?1
                     and type_key in (select value from json_each(?4))
                     and coalesce(requester_id = ?5, 0) = 0 and coalesce(assignee_id = ?5, 0) = 0))
                 order by seq limit ?3"
            ))?;
            let rows = stmt.query_map(
                params![ws.to_string(), after_seq.unwrap_or(0), limit, types, me],
                event_from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn latest_event_seq(&self, ws: WorkspaceId) -> Result<i64> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "select coalesce(max(seq), 0) from events where workspace_id = ?1",
            )?
            .query_row([ws.to_string()], |r| r.get(0))?)
        })
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<i64> {
        self.events.subscribe()
    }

    async fn record_due_notices(&self, now: Timestamp, limit: u32) -> Result<Vec<Event>> {
        let types = self.types.clone();
        let events = self
            .writer
            .write(move |c| due::due_notices(c, &types, now, limit))
            .await?;
        if let Some(last) = events.last() {
            self.events.send_replace(last.seq);
        }
        Ok(events)
    }

    async fn mail_events_after(&self, after_seq: i64, limit: u32) -> Result<MailEvents> {
        self.read(|c| mail::mail_events_after(c, after_seq, limit))
    }

    async fn outbox_cursor(&self, name: &str) -> Result<i64> {
        let name = name.to_owned();
        self.writer
            .write(move |c| mail::outbox_cursor(c, &name))
            .await
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
        self.writer
            .write(move |c| mail::queue_emails(c, &name, from_seq, to_seq, emails, now))
            .await
    }

    async fn queue_email(&self, email: NewEmail, now: Timestamp) -> Result<()> {
        self.writer
            .write(move |c| mail::insert_email(c, email, now))
            .await
    }

    async fn claim_emails(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<QueuedEmail>> {
        self.writer
            .write(move |c| mail::claim_emails(c, now, lease_until, limit))
            .await
    }

    async fn record_email(&self, id: &str, outcome: EmailOutcome, now: Timestamp) -> Result<()> {
        let id = id.to_owned();
        let failure_event = self
            .writer
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
        self.writer
            .write(move |c| mail::set_email_template(c, ws, &template, at))
            .await
    }

    async fn delete_email_template(&self, ws: WorkspaceId, name: &str) -> Result<bool> {
        let name = name.to_owned();
        self.writer
            .write(move |c| mail::delete_email_template(c, ws, &name))
            .await
    }

    async fn insert_webhook(&self, webhook: Webhook) -> Result<Webhook> {
        self.writer
            .write(move |c| webhooks::insert_webhook(c, &webhook).map(|_| webhook))
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
        self.writer
            .write(move |c| webhooks::update_webhook(c, ws, id, change, at))
            .await
    }

    async fn delete_webhook(&self, ws: WorkspaceId, id: WebhookId) -> Result<()> {
        self.writer
            .write(move |c| webhooks::delete_webhook(c, ws, id))
            .await
    }

    async fn enqueue_deliveries(&self, now: Timestamp, max_events: u32) -> Result<usize> {
        self.writer
            .write(move |c| webhooks::enqueue_deliveries(c, now, max_events))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
        per_webhook: usize,
    ) -> Result<Vec<ClaimedDelivery>> {
        self.writer
            .write(move |c| webhooks::claim_deliveries(c, now, lease_until, limit, per_webhook))
            .await
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        attempt: Attempt,
        outcome: AttemptOutcome,
    ) -> Result<()> {
        self.writer
            .write(move |c| webhooks::record_attempt(c, id, attempt, outcome))
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
        self.writer
            .write(move |c| webhooks::redeliver(c, ws, webhook, event, now))
            .await
    }

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
        self.writer
            .write(move |c| portable::import(c, record))
            .await
    }

    async fn idempotency_claim(
        &self,
        scope: [u8; 32],
        key: &str,
        fingerprint: [u8; 32],
        now: Timestamp,
    ) -> Result<IdempotencyClaim> {
        let key = key.to_owned();
        self.writer
            .write(move |c| {
                let now = micros(now);
                let existing = c
                    .prepare_cached("select fingerprint, status, content_type, body, created_at, headers from idempotency_keys where scope = ?1 and key = ?2")?
                    .query_row(params![&scope[..], key], |r| {
                        let response = match r.get::<_, Option<u16>>(1)? {
                            None => None,
                            Some(status) => Some(StoredResponse {
                                status,
                                content_type: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                                headers: json_or_default::<Vec<(String, String)>>(r, 5)?,
                                body: r.get::<_, Option<Vec<u8>>>(3)?.unwrap_or_default(),
                            }),
                        };
                        Ok((r.get::<_, Vec<u8>>(0)?, response, r.get::<_, i64>(4)?))
                    })
                    .optional()?;
                let claim = |c: &Connection| -> Result<IdempotencyClaim> {
                    c.prepare_cached(
                        "insert into idempotency_keys (scope, key, fingerprint, created_at) values (?1, ?2, ?3, ?4)
                         on conflict (scope, key) do update set fingerprint = excluded.fingerprint, status = null, content_type = null, body = null, headers = null, created_at = excluded.created_at",
                    )?
                    .execute(params![&scope[..], key, &fingerprint[..], now])?;
                    Ok(IdempotencyClaim::New)
                };
                let Some((fp, response, created)) = existing else {
                    return claim(c);
                };
                match idempotency::decide(&fp, response.is_some(), from_micros(created), &fingerprint, from_micros(now)) {
                    idempotency::Decision::Take => claim(c),
                    idempotency::Decision::Mismatch => Ok(IdempotencyClaim::Mismatch),
                    idempotency::Decision::InFlight => Ok(IdempotencyClaim::InFlight),
                    idempotency::Decision::Replay => Ok(response.map_or(IdempotencyClaim::InFlight, IdempotencyClaim::Replay)),
                }
            })
            .await
    }

    async fn idempotency_complete(
        &self,
        scope: [u8; 32],
        key: &str,
        response: StoredResponse,
    ) -> Result<()> {
        let key = key.to_owned();
        self.writer
            .write(move |c| {
                c.prepare_cached("update idempotency_keys set status = ?3, content_type = ?4, body = ?5, headers = ?6 where scope = ?1 and key = ?2")?
                    .execute(params![&scope[..], key, response.status, response.content_type, response.body, to_json(&response.headers)?])?;
                Ok(())
            })
            .await
    }

    async fn idempotency_release(&self, scope: [u8; 32], key: &str) -> Result<()> {
        let key = key.to_owned();
        self.writer
            .write(move |c| {
                c.prepare_cached(
                    "delete from idempotency_keys where scope = ?1 and key = ?2 and status is null",
                )?
                .execute(params![&scope[..], key])?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database at the schema before the email flag, holding events 1-3 (with foreign
    /// keys off, so no parent rows are needed), with the email cursor at `cursor` if any;
    /// then the flag's migration. Returns the flagged seqs.
    fn flagged_after_upgrade(cursor: Option<i64>) -> Vec<i64> {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("pragma foreign_keys = off")
            .expect("foreign keys off");
        let before_flag = MIGRATIONS
            .iter()
            .position(|m| m.contains("add column mail"))
            .expect("the flag's migration");
        for sql in &MIGRATIONS[..before_flag] {
            conn.execute_batch(sql).expect("an earlier migration");
        }
        conn.execute_batch(&format!("pragma user_version = {before_flag}"))
            .expect("version");
        for seq in 1..=3 {
            conn.execute(
                "insert into events (seq, id, workspace_id, request_id, kind, at, changes)
                 values (?1, ?2, 'w', 'r', 'request.updated', 0, '[]')",
                params![seq, format!("e{seq}")],
            )
            .expect("an event");
        }
        if let Some(seq) = cursor {
            conn.execute(
                "insert into outbox_cursors (name, seq) values ('email', ?1)",
                [seq],
            )
            .expect("the cursor");
        }
        migrate(&conn).expect("upgrade");
        let mut stmt = conn
            .prepare("select seq from events where mail = 1 order by seq")
            .expect("query");
        let seqs = stmt.query_map([], |r| r.get(0)).expect("rows");
        seqs.collect::<rusqlite::Result<_>>().expect("seqs")
    }

    #[test]
    fn upgrading_flags_the_events_the_email_planner_has_not_reached() {
        assert_eq!(flagged_after_upgrade(Some(1)), [2, 3]);
        assert_eq!(
            flagged_after_upgrade(None),
            Vec::<i64>::new(),
            "a planner without a cursor starts after the newest event"
        );
    }
}
