//! The embedded SQLite backend, Docket's default.
//!
//! WAL mode with `synchronous = FULL`: a commit is on disk before it returns. All writes
//! go through [`writer::Writer`] (group commit); reads take a connection from a small pool
//! and run on the calling task, because an indexed SQLite read costs microseconds — less
//! than handing it to another thread. Lists, which can scan, run on the blocking pool.

mod read_pool;
mod rows;
mod writer;

use crate::{Applied, IdempotencyClaim, MemberChange, PlanChange, PlanCreate, RequestTypeChange, Result, Store, StoreError};
use async_trait::async_trait;
use docket_domain::event::Event;
use docket_domain::ids::{MemberId, RequestId, RequestTypeId, TokenId, WorkspaceId};
use docket_domain::member::{Email, Member};
use docket_domain::query::{Page, RequestQuery};
use docket_domain::request::{Request, RequestType, TypeKey};
use docket_domain::token::{Token, TokenHash};
use docket_domain::workflow::Workflow;
use docket_domain::workspace::Workspace;
use docket_domain::{DomainError, Timestamp};
use read_pool::ReadPool;
use rows::*;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Arc;
use writer::Writer;

/// Migrations in order; `PRAGMA user_version` records how many have been applied.
/// Never edit one that has landed: add the next.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];

/// How long an unfinished idempotency claim blocks a retry before it is presumed lost.
const IDEMPOTENCY_IN_FLIGHT_MICROS: i64 = 60 * 1_000_000;
/// How long a finished idempotency key is remembered.
const IDEMPOTENCY_TTL_MICROS: i64 = 24 * 3600 * 1_000_000;

pub struct SqliteStore {
    writer: Writer,
    readers: Arc<ReadPool>,
}

pub(crate) fn internal(msg: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("{msg}"))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "pragma journal_mode = wal;
             pragma synchronous = full;
             pragma foreign_keys = on;
             pragma busy_timeout = 5000;",
        )?;
        migrate(&conn)?;
        Ok(Self { writer: Writer::start(conn)?, readers: Arc::new(ReadPool::new(path.to_path_buf())) })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.readers.with(f)
    }
}

fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let applied: usize = conn.query_row("pragma user_version", [], |r| r.get(0))?;
    if applied > MIGRATIONS.len() {
        anyhow::bail!("the database schema (version {applied}) is newer than this docket ({}); upgrade docket", MIGRATIONS.len());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = i + 1;
        conn.execute_batch(&format!("begin immediate; {sql}\n; pragma user_version = {version}; commit;"))?;
        tracing::info!(version, "applied sqlite migration");
    }
    Ok(())
}

fn conflict(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Domain(DomainError::Conflict { code, message: message.into() })
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
        .prepare_cached(&format!("select {REQUEST_TYPE_COLUMNS} from request_types where workspace_id = ?1 and key = ?2"))?
        .query_row(params![ws.to_string(), key], request_type_from_row)
        .optional()?)
}

fn request_type_by_id(conn: &Connection, id: RequestTypeId) -> Result<RequestType> {
    Ok(conn
        .prepare_cached(&format!("select {REQUEST_TYPE_COLUMNS} from request_types where id = ?1"))?
        .query_row(params![id.to_string()], request_type_from_row)?)
}

fn request_in(conn: &Connection, ws: WorkspaceId, id: RequestId) -> Result<Option<Request>> {
    Ok(conn
        .prepare_cached(&format!("select {REQUEST_COLUMNS} from requests where workspace_id = ?1 and id = ?2"))?
        .query_row(params![ws.to_string(), id.to_string()], request_from_row)
        .optional()?)
}

fn member_in(conn: &Connection, ws: WorkspaceId, id: MemberId) -> Result<Option<Member>> {
    Ok(conn
        .prepare_cached(&format!("select {MEMBER_COLUMNS} from members where workspace_id = ?1 and id = ?2"))?
        .query_row(params![ws.to_string(), id.to_string()], member_from_row)
        .optional()?)
}

fn token_in(conn: &Connection, ws: WorkspaceId, id: TokenId) -> Result<Option<Token>> {
    Ok(conn
        .prepare_cached(&format!("select {TOKEN_COLUMNS} from tokens where workspace_id = ?1 and id = ?2"))?
        .query_row(params![ws.to_string(), id.to_string()], token_from_row)
        .optional()?)
}

/// Maps a foreign-key failure on a request write to the field the client got wrong.
fn request_write_error(e: rusqlite::Error) -> StoreError {
    if is_foreign_key_violation(&e) {
        DomainError::invalid("assignee_id", "unknown_member", "no member with this id in the workspace").into()
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

    async fn create_workspace(&self, workspace: Workspace, owner: Member, token: Token) -> Result<()> {
        self.writer
            .write(move |c| {
                c.prepare_cached("insert into workspaces (id, name, slug, created_at) values (?1, ?2, ?3, ?4)")?
                    .execute(params![workspace.id.to_string(), workspace.name, workspace.slug, micros(workspace.created_at)])
                    .map_err(|e| if is_unique_violation(&e) { conflict("slug_taken", format!("a workspace with slug {} exists", workspace.slug)) } else { e.into() })?;
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
            let mut stmt = c.prepare_cached("select id, name, slug, created_at from workspaces order by created_at, id")?;
            let rows = stmt.query_map([], workspace_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        self.read(|c| {
            Ok(c.prepare_cached("select id, name, slug, created_at from workspaces where slug = ?1")?
                .query_row([slug], workspace_from_row)
                .optional()?)
        })
    }

    async fn insert_member(&self, member: Member) -> Result<Member> {
        self.writer.write(move |c| insert_member_row(c, &member).map(|_| member)).await
    }

    async fn get_member(&self, ws: WorkspaceId, id: MemberId) -> Result<Option<Member>> {
        self.read(|c| member_in(c, ws, id))
    }

    async fn member_by_email(&self, ws: WorkspaceId, email: &Email) -> Result<Option<Member>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!("select {MEMBER_COLUMNS} from members where workspace_id = ?1 and email = ?2"))?
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

    async fn update_member(&self, ws: WorkspaceId, id: MemberId, change: MemberChange) -> Result<Member> {
        self.writer
            .write(move |c| {
                let mut m = member_in(c, ws, id)?.ok_or(DomainError::NotFound("member"))?;
                if let Some(name) = change.name {
                    m.name = name;
                }
                if let Some(role) = change.role {
                    m.role = role;
                }
                c.prepare_cached("update members set name = ?1, role = ?2 where id = ?3")?.execute(params![m.name, m.role.as_str(), m.id.to_string()])?;
                Ok(m)
            })
            .await
    }

    async fn insert_token(&self, token: Token) -> Result<Token> {
        self.writer.write(move |c| insert_token_row(c, &token).map(|_| token)).await
    }

    async fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<(Token, Option<Member>)>> {
        let hash = hash.0;
        self.read(move |c| {
            let token = c
                .prepare_cached(&format!("select {TOKEN_COLUMNS} from tokens where hash = ?1"))?
                .query_row([&hash[..]], token_from_row)
                .optional()?;
            let Some(token) = token else { return Ok(None) };
            let member = match token.member_id {
                Some(m) => member_in(c, token.workspace_id, m)?,
                None => None,
            };
            Ok(Some((token, member)))
        })
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
        self.writer
            .write(move |c| {
                let mut t = token_in(c, ws, id)?.ok_or(DomainError::NotFound("token"))?;
                if t.revoked_at.is_none() {
                    t.revoked_at = Some(at);
                    c.prepare_cached("update tokens set revoked_at = ?1 where id = ?2")?.execute(params![micros(at), id.to_string()])?;
                }
                Ok(t)
            })
            .await
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> Result<()> {
        self.writer
            .write(move |c| {
                c.prepare_cached("update tokens set last_used_at = ?1 where id = ?2")?.execute(params![micros(at), id.to_string()])?;
                Ok(())
            })
            .await
    }

    async fn insert_request_type(&self, rtype: RequestType) -> Result<RequestType> {
        self.writer.write(move |c| insert_request_type_row(c, &rtype).map(|_| rtype)).await
    }

    async fn list_request_types(&self, ws: WorkspaceId) -> Result<Vec<RequestType>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!("select {REQUEST_TYPE_COLUMNS} from request_types where workspace_id = ?1 order by key"))?;
            let rows = stmt.query_map([ws.to_string()], request_type_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn get_request_type(&self, ws: WorkspaceId, key: &TypeKey) -> Result<Option<RequestType>> {
        self.read(|c| request_type_in(c, ws, key.as_str()))
    }

    async fn update_request_type(&self, ws: WorkspaceId, key: &TypeKey, change: RequestTypeChange, at: Timestamp) -> Result<RequestType> {
        let key = key.clone();
        self.writer
            .write(move |c| {
                let mut t = request_type_in(c, ws, key.as_str())?.ok_or(DomainError::NotFound("request type"))?;
                if let Some(name) = change.name {
                    t.name = name;
                }
                if let Some(description) = change.description {
                    t.description = description;
                }
                if let Some(workflow) = change.workflow {
                    let mut stmt = c.prepare_cached("select distinct status from requests where type_id = ?1")?;
                    let used: Vec<String> = stmt.query_map([t.id.to_string()], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
                    let dropped: Vec<&String> = used.iter().filter(|s| !workflow.statuses().iter().any(|x| x.key.as_str() == s.as_str())).collect();
                    if !dropped.is_empty() {
                        let list: Vec<&str> = dropped.iter().map(|s| s.as_str()).collect();
                        return Err(conflict("status_in_use", format!("requests are still in status {}; move them first", list.join(", "))));
                    }
                    // A status may keep its key but change category: keep requests' category in step.
                    for s in workflow.statuses() {
                        c.prepare_cached("update requests set category = ?1 where type_id = ?2 and status = ?3 and category <> ?1")?
                            .execute(params![s.category.as_str(), t.id.to_string(), s.key.as_str()])?;
                    }
                    t.workflow = workflow;
                }
                t.updated_at = at;
                c.prepare_cached("update request_types set name = ?1, description = ?2, workflow = ?3, updated_at = ?4 where id = ?5")?
                    .execute(params![t.name, t.description, to_json(&t.workflow)?, micros(at), t.id.to_string()])?;
                Ok(t)
            })
            .await
    }

    async fn create_request(&self, ws: WorkspaceId, type_key: &TypeKey, plan: PlanCreate) -> Result<(Request, Event)> {
        let type_key = type_key.clone();
        self.writer
            .write(move |c| {
                let rtype = request_type_in(c, ws, type_key.as_str())?
                    .ok_or_else(|| DomainError::invalid("type", "unknown_type", format!("no request type {}", type_key.as_str())))?;
                let number: i64 = c
                    .prepare_cached("update workspaces set next_request_number = next_request_number + 1 where id = ?1 returning next_request_number - 1")?
                    .query_row([ws.to_string()], |r| r.get(0))?;
                let planned = plan(&rtype, number)?;
                insert_request(c, &planned.request).map_err(request_write_error)?;
                let event = insert_event(c, planned.event)?;
                Ok((planned.request, event))
            })
            .await
    }

    async fn change_request(&self, ws: WorkspaceId, id: RequestId, plan: PlanChange) -> Result<Applied> {
        self.writer
            .write(move |c| {
                let current = request_in(c, ws, id)?.ok_or(DomainError::NotFound("request"))?;
                let rtype = request_type_by_id(c, current.type_id)?;
                let Some(planned) = plan(&current, &rtype)? else { return Ok(Applied::Unchanged(current)) };
                let updated = update_request(c, &planned.request, current.version).map_err(request_write_error)?;
                if updated != 1 {
                    // Unreachable with one writer; kept so a logic error is a conflict, not a lost update.
                    return Err(DomainError::PreconditionFailed { current: current.version }.into());
                }
                let event = insert_event(c, planned.event)?;
                Ok(Applied::Changed { request: planned.request, event })
            })
            .await
    }

    async fn get_request(&self, ws: WorkspaceId, id: RequestId) -> Result<Option<Request>> {
        self.read(|c| request_in(c, ws, id))
    }

    async fn list_requests(&self, ws: WorkspaceId, query: &RequestQuery) -> Result<Page<Request>> {
        let readers = self.readers.clone();
        let query = query.clone();
        tokio::task::spawn_blocking(move || readers.with(|c| list_requests(c, ws, &query)))
            .await
            .map_err(|e| internal(format!("list task failed: {e}")))?
    }

    async fn timeline(&self, ws: WorkspaceId, request: RequestId, after_seq: Option<i64>, limit: u32) -> Result<Vec<Event>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "select {EVENT_COLUMNS} from events where workspace_id = ?1 and request_id = ?2 and seq > ?3 order by seq limit ?4"
            ))?;
            let rows = stmt.query_map(params![ws.to_string(), request.to_string(), after_seq.unwrap_or(0), limit], event_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn idempotency_claim(&self, scope: [u8; 32], key: &str, fingerprint: [u8; 32], now: Timestamp) -> Result<IdempotencyClaim> {
        let key = key.to_owned();
        self.writer
            .write(move |c| {
                let now = micros(now);
                let existing = c
                    .prepare_cached("select fingerprint, status, content_type, body, created_at from idempotency_keys where scope = ?1 and key = ?2")?
                    .query_row(params![&scope[..], key], |r| {
                        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<u16>>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, Option<Vec<u8>>>(3)?, r.get::<_, i64>(4)?))
                    })
                    .optional()?;
                let claim = |c: &Connection| -> Result<IdempotencyClaim> {
                    c.prepare_cached(
                        "insert into idempotency_keys (scope, key, fingerprint, created_at) values (?1, ?2, ?3, ?4)
                         on conflict (scope, key) do update set fingerprint = excluded.fingerprint, status = null, content_type = null, body = null, created_at = excluded.created_at",
                    )?
                    .execute(params![&scope[..], key, &fingerprint[..], now])?;
                    Ok(IdempotencyClaim::New)
                };
                match existing {
                    None => claim(c),
                    Some((_, _, _, _, created)) if now - created > IDEMPOTENCY_TTL_MICROS => claim(c),
                    Some((fp, _, _, _, _)) if fp != fingerprint => Ok(IdempotencyClaim::Mismatch),
                    Some((_, None, _, _, created)) if now - created > IDEMPOTENCY_IN_FLIGHT_MICROS => claim(c),
                    Some((_, None, _, _, _)) => Ok(IdempotencyClaim::InFlight),
                    Some((_, Some(status), content_type, body, _)) => Ok(IdempotencyClaim::Replay {
                        status,
                        content_type: content_type.unwrap_or_default(),
                        body: body.unwrap_or_default(),
                    }),
                }
            })
            .await
    }

    async fn idempotency_complete(&self, scope: [u8; 32], key: &str, status: u16, content_type: &str, body: &[u8]) -> Result<()> {
        let (key, content_type, body) = (key.to_owned(), content_type.to_owned(), body.to_vec());
        self.writer
            .write(move |c| {
                c.prepare_cached("update idempotency_keys set status = ?3, content_type = ?4, body = ?5 where scope = ?1 and key = ?2")?
                    .execute(params![&scope[..], key, status, content_type, body])?;
                Ok(())
            })
            .await
    }

    async fn idempotency_release(&self, scope: [u8; 32], key: &str) -> Result<()> {
        let key = key.to_owned();
        self.writer
            .write(move |c| {
                c.prepare_cached("delete from idempotency_keys where scope = ?1 and key = ?2 and status is null")?.execute(params![&scope[..], key])?;
                Ok(())
            })
            .await
    }
}
