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
//!   schema, held to commit (`rows::lock_event_order`), and comes last in its
//!   transaction. Requests are locked `for no key update`, so a foreign key check made
//!   under that lock never waits on a request change. Each event is announced with
//!   `NOTIFY docket_events`, which every node listens to ([`Store::event_signal`]).
//! - Workers on several nodes share deliveries and emails with
//!   `for update skip locked` and a lease; the email cursor moves by compare-and-set.
//!
//! Migrations live in `postgres/migrations/` and are embedded with `sqlx::migrate!`; they
//! are applied by `docket migrate` (or `serve --migrate`), never silently by `serve`.

mod desk;
mod due;
mod files;
mod mail;
mod portable;
mod rows;
#[cfg(feature = "conformance")]
pub mod scratch;
mod webhooks;

use crate::{
    Applied, AttemptOutcome, ClaimedDelivery, EmailOutcome, ExternalKey, FileWrite,
    IdempotencyClaim, Imported, MailEvents, MemberChange, NewEmail, NewLink, PlanChange,
    PlanCreate, PlanLinkUse, QueuedEmail, RecordKind, RequestStats, RequestTypeChange, Result,
    Store, StoreError, StoredResponse, WebhookChange,
};
use anyhow::Context as _;
use async_trait::async_trait;
use docket_domain::email::Template;
use docket_domain::event::{Actor, Event};
use docket_domain::file::{FileId, FilePolicy, FileRecord};
use docket_domain::ids::{
    DeliveryId, EventId, MemberId, RequestId, RequestTypeId, TokenId, WebhookId, WorkspaceId,
};
use docket_domain::link::{LinkId, LinkMode, LinkToken, PublicLink};
use docket_domain::member::{Email, Member};
use docket_domain::query::{Page, RequestQuery, Restriction};
use docket_domain::request::{Planned, Request, RequestType, TypeKey};
use docket_domain::session::Session;
use docket_domain::token::{Token, TokenHash};
use docket_domain::webhook::{Attempt, Delivery, Webhook};
use docket_domain::workflow::Workflow;
use docket_domain::workspace::Workspace;
use docket_domain::{from_micros, idempotency, DomainError, Timestamp};
use rows::*;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Row};
use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// The PostgreSQL migrations, embedded at build time. Never edit one that has landed: add
/// the next.
pub static MIGRATOR: Migrator = sqlx::migrate!("src/postgres/migrations");

/// Connections per node. Each write holds one for a transaction of a few round trips;
/// PostgreSQL's own limit (100 by default) is shared by every node.
const POOL_SIZE: u32 = 16;

pub struct PgStore {
    pool: PgPool,
    /// The newest event seq this process stored or heard of; see [`Store::event_signal`].
    events: Arc<watch::Sender<i64>>,
}

/// The channel every event's seq is announced on at commit (`insert_event`), with the
/// schema's name, so a node's live feeds and workers wake for other nodes' writes too.
const EVENTS_CHANNEL: &str = "docket_events";

/// Listens on [`EVENTS_CHANNEL`] for this schema's events and raises `events` to each
/// announced seq; ends when the store is dropped. A lost connection is reopened (sqlx's
/// listener reconnects); notices sent meanwhile are missed, which feeds cover by polling.
async fn listen_for_events(pool: PgPool, events: Weak<watch::Sender<i64>>) {
    let schema: String = loop {
        match sqlx::query_scalar("select current_schema()::text")
            .fetch_one(&pool)
            .await
        {
            Ok(s) => break s,
            Err(_) if events.strong_count() > 0 => tokio::time::sleep(Duration::from_secs(1)).await,
            Err(_) => return,
        }
    };
    let mut listener = loop {
        let attempt = async {
            let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
            l.listen(EVENTS_CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        };
        match attempt.await {
            Ok(l) => break l,
            Err(e) => {
                if events.strong_count() == 0 {
                    return;
                }
                tracing::warn!(error = %e, "listening for other nodes' events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    loop {
        let received = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
        let Some(sender) = events.upgrade() else {
            return;
        };
        match received {
            Err(_) => {}
            Ok(Ok(n)) => {
                let Some((from, seq)) = n.payload().rsplit_once(' ') else {
                    continue;
                };
                if from != schema {
                    continue;
                }
                if let Ok(seq) = seq.parse::<i64>() {
                    sender.send_if_modified(|latest| {
                        let newer = seq > *latest;
                        if newer {
                            *latest = seq;
                        }
                        newer
                    });
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "listening for other nodes' events");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// How far the database's schema is from this build's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaState {
    Current,
    /// Migrations this build has that the database has not applied.
    Behind {
        pending: Vec<i64>,
    },
    /// The database has migrations this build does not know: a newer Docket ran on it.
    Ahead {
        unknown: Vec<i64>,
    },
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
        tokio::spawn(listen_for_events(pool.clone(), Arc::downgrade(&events)));
        Ok(Self { pool, events })
    }

    /// Applies every pending migration. Safe to run from several nodes at once: sqlx holds
    /// an advisory lock while it migrates.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        if let SchemaState::Ahead { unknown } = self.schema_state().await? {
            anyhow::bail!(
                "the database has migrations {unknown:?} this docket does not know; upgrade docket"
            );
        }
        MIGRATOR
            .run(&self.pool)
            .await
            .context("applying PostgreSQL migrations")?;
        Ok(())
    }

    /// Compares the migrations the database has applied with this build's.
    pub async fn schema_state(&self) -> anyhow::Result<SchemaState> {
        let table: Option<String> =
            sqlx::query_scalar("select to_regclass('_sqlx_migrations')::text")
                .fetch_one(&self.pool)
                .await?;
        let applied: BTreeSet<i64> = match table {
            None => BTreeSet::new(),
            Some(_) => sqlx::query_scalar("select version from _sqlx_migrations where success")
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .collect(),
        };
        let known: BTreeSet<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        let unknown: Vec<i64> = applied.difference(&known).copied().collect();
        if !unknown.is_empty() {
            return Ok(SchemaState::Ahead { unknown });
        }
        let pending: Vec<i64> = known.difference(&applied).copied().collect();
        Ok(if pending.is_empty() {
            SchemaState::Current
        } else {
            SchemaState::Behind { pending }
        })
    }

    /// The connection pool, for tests and operator tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Internal(anyhow::Error::new(e))
    }
}

fn conflict(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Domain(DomainError::Conflict {
        code,
        message: message.into(),
    })
}

/// A stored value that does not parse: corruption, an internal error.
fn bad_value(col: &str, value: &str) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("stored {col} {value:?} does not parse"))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// `e` as `conflict(code, message)` when it is a unique violation, else internal.
fn unique_or(e: sqlx::Error, code: &'static str, message: impl FnOnce() -> String) -> StoreError {
    if is_unique_violation(&e) {
        conflict(code, message())
    } else {
        e.into()
    }
}

async fn insert_request_type_row(c: &mut PgConnection, t: &RequestType) -> Result<()> {
    sqlx::query(
        r"insert into request_types (id, workspace_id, key, name, description, workflow, created_at, updated_at)
          values ($1, $2, $3, $4, $5, $6::json, $7, $8)",
    )
    .bind(t.id.0)
    .bind(t.workspace_id.0)
    .bind(t.key.as_str())
    .bind(&t.name)
    .bind(&t.description)
    .bind(to_json(&t.workflow)?)
    .bind(micros(t.created_at))
    .bind(micros(t.updated_at))
    .execute(c)
    .await
    .map_err(|e| {
        unique_or(e, "type_exists", || {
            format!("a request type with key {} exists", t.key.as_str())
        })
    })?;
    Ok(())
}

async fn insert_member_row(c: &mut PgConnection, m: &Member) -> Result<()> {
    sqlx::query(
        r"insert into members (id, workspace_id, email, name, role, created_at)
          values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(m.id.0)
    .bind(m.workspace_id.0)
    .bind(m.email.as_str())
    .bind(&m.name)
    .bind(m.role.as_str())
    .bind(micros(m.created_at))
    .execute(c)
    .await
    .map_err(|e| {
        unique_or(e, "email_taken", || {
            format!("{} is already a member", m.email.as_str())
        })
    })?;
    Ok(())
}

async fn insert_token_row(c: &mut PgConnection, t: &Token) -> Result<()> {
    sqlx::query(
        r"insert into tokens (id, workspace_id, member_id, name, hash, scopes, expires_at, last_used_at, revoked_at, created_at)
          values ($1, $2, $3, $4, $5, $6::json, $7, $8, $9, $10)",
    )
    .bind(t.id.0)
    .bind(t.workspace_id.0)
    .bind(t.member_id.map(|m| m.0))
    .bind(&t.name)
    .bind(&t.hash.0[..])
    .bind(to_json(&t.scopes)?)
    .bind(t.expires_at.map(micros))
    .bind(t.last_used_at.map(micros))
    .bind(t.revoked_at.map(micros))
    .bind(micros(t.created_at))
    .execute(c)
    .await
    .map_err(|e| unique_or(e, "token_exists", || "a token with this secret exists".into()))?;
    Ok(())
}

/// A request type by key; `lock` is `""`, `" for share"` or `" for update"`.
async fn request_type_in(
    c: &mut PgConnection,
    ws: WorkspaceId,
    key: &str,
    lock: &str,
) -> Result<Option<RequestType>> {
    sqlx::query(&format!(
        "select {REQUEST_TYPE_COLUMNS} from request_types where workspace_id = $1 and key = $2{lock}"
    ))
    .bind(ws.0)
    .bind(key)
    .fetch_optional(c)
    .await?
    .map(|r| request_type_from_row(&r))
    .transpose()
}

async fn request_type_by_id(
    c: &mut PgConnection,
    id: RequestTypeId,
    lock: &str,
) -> Result<RequestType> {
    let row = sqlx::query(&format!(
        "select {REQUEST_TYPE_COLUMNS} from request_types where id = $1{lock}"
    ))
    .bind(id.0)
    .fetch_one(c)
    .await?;
    request_type_from_row(&row)
}

async fn request_in(
    c: &mut PgConnection,
    ws: WorkspaceId,
    id: RequestId,
    lock: &str,
) -> Result<Option<Request>> {
    sqlx::query(&format!(
        "select {REQUEST_COLUMNS} from requests where workspace_id = $1 and id = $2{lock}"
    ))
    .bind(ws.0)
    .bind(id.0)
    .fetch_optional(c)
    .await?
    .map(|r| request_from_row(&r))
    .transpose()
}

async fn member_in(c: &mut PgConnection, ws: WorkspaceId, id: MemberId) -> Result<Option<Member>> {
    sqlx::query(&format!(
        "select {MEMBER_COLUMNS} from members where workspace_id = $1 and id = $2"
    ))
    .bind(ws.0)
    .bind(id.0)
    .fetch_optional(c)
    .await?
    .map(|r| member_from_row(&r))
    .transpose()
}

async fn token_in(
    c: &mut PgConnection,
    ws: WorkspaceId,
    id: TokenId,
    lock: &str,
) -> Result<Option<Token>> {
    sqlx::query(&format!(
        "select {TOKEN_COLUMNS} from tokens where workspace_id = $1 and id = $2{lock}"
    ))
    .bind(ws.0)
    .bind(id.0)
    .fetch_optional(c)
    .await?
    .map(|r| token_from_row(&r))
    .transpose()
}

impl PgStore {
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

/// Allocates the next number, runs the plan and stores the request; the caller writes
/// the plan's events last ([`write_events`]), after any other row it adds.
async fn create_request_in(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    type_key: &TypeKey,
    plan: PlanCreate,
) -> Result<(Planned, Workflow)> {
    let rtype = request_type_in(&mut *tx, ws, type_key.as_str(), " for share")
        .await?
        .ok_or_else(|| {
            DomainError::invalid(
                "type",
                "unknown_type",
                format!("no request type {}", type_key.as_str()),
            )
        })?;
    // The row lock this takes is held to commit: concurrent creates in a workspace queue
    // here, on every node, and a rolled-back create gives its number back.
    let number: i64 = sqlx::query_scalar(
        "update workspaces set next_request_number = next_request_number + 1 where id = $1 returning next_request_number - 1",
    )
    .bind(ws.0)
    .fetch_one(&mut *tx)
    .await?;
    let planned = plan(&rtype, number)?;
    insert_request(&mut *tx, &planned.request).await?;
    Ok((planned, rtype.workflow))
}

/// Writes a plan's event and then its follow-up events, in that order, under the
/// event-order lock (see `rows::lock_event_order`). Always the last writes of a
/// transaction. `workflow` is the request's, when the plan was made from it (see
/// `rows::insert_event`).
async fn write_events(
    tx: &mut PgConnection,
    planned: Planned,
    workflow: Option<&Workflow>,
) -> Result<(Request, Event)> {
    let event = insert_event(&mut *tx, planned.event, workflow).await?;
    for e in planned.follow_ups {
        insert_event(&mut *tx, e, workflow).await?;
    }
    Ok((planned.request, event))
}

const LINK_COLUMNS: &str =
    "id, workspace_id, request_id, token, mode, expires_at, revoked_at, used_count, created_at";

fn link_from_row(row: &sqlx::postgres::PgRow) -> Result<PublicLink> {
    let token: String = row.try_get("token")?;
    let mode: String = row.try_get("mode")?;
    Ok(PublicLink {
        id: LinkId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        request_id: RequestId(row.try_get("request_id")?),
        token: LinkToken::parse(&token).ok_or_else(|| bad_value("token", &token))?,
        mode: LinkMode::parse(&mode).ok_or_else(|| bad_value("mode", &mode))?,
        expires_at: row
            .try_get::<Option<i64>, _>("expires_at")?
            .map(docket_domain::from_micros),
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_at")?
            .map(docket_domain::from_micros),
        used_count: row.try_get("used_count")?,
        created_at: docket_domain::from_micros(row.try_get("created_at")?),
    })
}

async fn link_in(
    c: &mut PgConnection,
    ws: WorkspaceId,
    id: LinkId,
    lock: &str,
) -> Result<Option<PublicLink>> {
    sqlx::query(&format!(
        "select {LINK_COLUMNS} from request_links where workspace_id = $1 and id = $2{lock}"
    ))
    .bind(ws.0)
    .bind(id.0)
    .fetch_optional(c)
    .await?
    .map(|r| link_from_row(&r))
    .transpose()
}

async fn link_with_token(
    c: &mut PgConnection,
    token: &str,
    lock: &str,
) -> Result<Option<PublicLink>> {
    sqlx::query(&format!(
        "select {LINK_COLUMNS} from request_links where token = $1{lock}"
    ))
    .bind(token)
    .fetch_optional(c)
    .await?
    .map(|r| link_from_row(&r))
    .transpose()
}

/// Inserts a link row as it is (a new link, or an imported one).
async fn insert_link_row(c: &mut PgConnection, l: &PublicLink) -> Result<()> {
    sqlx::query(&format!(
        "insert into request_links ({LINK_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(l.id.0)
    .bind(l.workspace_id.0)
    .bind(l.request_id.0)
    .bind(l.token.as_str())
    .bind(l.mode.as_str())
    .bind(l.expires_at.map(micros))
    .bind(l.revoked_at.map(micros))
    .bind(l.used_count)
    .bind(micros(l.created_at))
    .execute(c)
    .await?;
    Ok(())
}

/// Inserts a link, drawing a new token in the (astronomically rare) case that the one
/// drawn is taken. Checked before the insert, so a collision never aborts the transaction.
async fn insert_new_link(
    c: &mut PgConnection,
    request: &Request,
    link: &NewLink,
    now: Timestamp,
) -> Result<PublicLink> {
    for _ in 0..4 {
        let l = PublicLink::new(request, link.mode, link.expires_at, now);
        let taken: bool =
            sqlx::query_scalar("select exists (select 1 from request_links where token = $1)")
                .bind(l.token.as_str())
                .fetch_one(&mut *c)
                .await?;
        if taken {
            continue;
        }
        insert_link_row(c, &l).await?;
        return Ok(l);
    }
    Err(StoreError::Internal(anyhow::anyhow!(
        "could not draw a unique link token"
    )))
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select 1").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_workspace(
        &self,
        workspace: Workspace,
        owner: Member,
        token: Token,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("insert into workspaces (id, name, slug, created_at) values ($1, $2, $3, $4)")
            .bind(workspace.id.0)
            .bind(&workspace.name)
            .bind(&workspace.slug)
            .bind(micros(workspace.created_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                unique_or(e, "slug_taken", || {
                    format!("a workspace with slug {} exists", workspace.slug)
                })
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
        insert_request_type_row(&mut tx, &general).await?;
        insert_member_row(&mut tx, &owner).await?;
        insert_token_row(&mut tx, &token).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_workspaces(&self) -> Result<Vec<Workspace>> {
        sqlx::query(&format!(
            "select {WORKSPACE_COLUMNS} from workspaces order by created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(workspace_from_row)
        .collect()
    }

    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
        sqlx::query(&format!(
            "select {WORKSPACE_COLUMNS} from workspaces where slug = $1"
        ))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| workspace_from_row(&r))
        .transpose()
    }

    async fn insert_member(&self, member: Member) -> Result<Member> {
        let mut c = self.pool.acquire().await?;
        insert_member_row(&mut c, &member).await?;
        Ok(member)
    }

    async fn get_member(&self, ws: WorkspaceId, id: MemberId) -> Result<Option<Member>> {
        member_in(&mut *self.pool.acquire().await?, ws, id).await
    }

    async fn member_by_email(&self, ws: WorkspaceId, email: &Email) -> Result<Option<Member>> {
        sqlx::query(&format!(
            "select {MEMBER_COLUMNS} from members where workspace_id = $1 and email = $2"
        ))
        .bind(ws.0)
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| member_from_row(&r))
        .transpose()
    }

    async fn list_members(&self, ws: WorkspaceId) -> Result<Vec<Member>> {
        sqlx::query(&format!(
            "select {MEMBER_COLUMNS} from members where workspace_id = $1 order by created_at, id"
        ))
        .bind(ws.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(member_from_row)
        .collect()
    }

    async fn update_member(
        &self,
        ws: WorkspaceId,
        id: MemberId,
        change: MemberChange,
    ) -> Result<Member> {
        let mut tx = self.pool.begin().await?;
        if change.may_demote() {
            // Every owner row, in id order, before the member's own: two concurrent
            // demotions queue here, and the second counts the owners the first left.
            sqlx::query(
                "select id from members where workspace_id = $1 and role = 'owner' order by id for update",
            )
            .bind(ws.0)
            .execute(&mut *tx)
            .await?;
        }
        let row = sqlx::query(&format!(
            "select {MEMBER_COLUMNS} from members where workspace_id = $1 and id = $2 for update"
        ))
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(DomainError::NotFound("member"))?;
        let current = member_from_row(&row)?;
        let owners: i64 = if change.demotes_owner(&current) {
            sqlx::query_scalar(
                "select count(*) from members where workspace_id = $1 and role = 'owner'",
            )
            .bind(ws.0)
            .fetch_one(&mut *tx)
            .await?
        } else {
            0
        };
        let m = change.apply(current, owners)?;
        sqlx::query("update members set name = $1, role = $2 where id = $3")
            .bind(&m.name)
            .bind(m.role.as_str())
            .bind(m.id.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(m)
    }

    async fn insert_token(&self, token: Token) -> Result<Token> {
        let mut c = self.pool.acquire().await?;
        insert_token_row(&mut c, &token).await?;
        Ok(token)
    }

    async fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<(Token, Option<Member>)>> {
        let mut c = self.pool.acquire().await?;
        let row = sqlx::query(&format!(
            "select {TOKEN_COLUMNS} from tokens where hash = $1"
        ))
        .bind(&hash.0[..])
        .fetch_optional(&mut *c)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token = token_from_row(&row)?;
        let member = match token.member_id {
            Some(m) => member_in(&mut c, token.workspace_id, m).await?,
            None => None,
        };
        Ok(Some((token, member)))
    }

    async fn list_tokens(&self, ws: WorkspaceId, member: Option<MemberId>) -> Result<Vec<Token>> {
        sqlx::query(&format!(
            "select {TOKEN_COLUMNS} from tokens
             where workspace_id = $1 and ($2::uuid is null or member_id = $2)
             order by created_at, id"
        ))
        .bind(ws.0)
        .bind(member.map(|m| m.0))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(token_from_row)
        .collect()
    }

    async fn get_token(&self, ws: WorkspaceId, id: TokenId) -> Result<Option<Token>> {
        token_in(&mut *self.pool.acquire().await?, ws, id, "").await
    }

    async fn revoke_token(&self, ws: WorkspaceId, id: TokenId, at: Timestamp) -> Result<Token> {
        let mut tx = self.pool.begin().await?;
        let mut t = token_in(&mut tx, ws, id, " for update")
            .await?
            .ok_or(DomainError::NotFound("token"))?;
        if t.revoked_at.is_none() {
            t.revoked_at = Some(at);
            sqlx::query("update tokens set revoked_at = $1 where id = $2")
                .bind(micros(at))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(t)
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> Result<()> {
        sqlx::query("update tokens set last_used_at = $1 where id = $2")
            .bind(micros(at))
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_request_type(&self, rtype: RequestType) -> Result<RequestType> {
        let mut c = self.pool.acquire().await?;
        insert_request_type_row(&mut c, &rtype).await?;
        Ok(rtype)
    }

    async fn list_request_types(&self, ws: WorkspaceId) -> Result<Vec<RequestType>> {
        // `collate "C"`: byte order, as SQLite sorts text, whatever the database's locale.
        sqlx::query(&format!(
            r#"select {REQUEST_TYPE_COLUMNS} from request_types where workspace_id = $1 order by key collate "C""#
        ))
        .bind(ws.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(request_type_from_row)
        .collect()
    }

    async fn get_request_type(
        &self,
        ws: WorkspaceId,
        key: &TypeKey,
    ) -> Result<Option<RequestType>> {
        request_type_in(&mut *self.pool.acquire().await?, ws, key.as_str(), "").await
    }

    async fn update_request_type(
        &self,
        ws: WorkspaceId,
        key: &TypeKey,
        change: RequestTypeChange,
        at: Timestamp,
    ) -> Result<RequestType> {
        let mut tx = self.pool.begin().await?;
        // `for update` waits for every request change holding the type `for share`, and
        // keeps new ones out until this commits.
        let current = request_type_in(&mut tx, ws, key.as_str(), " for update")
            .await?
            .ok_or(DomainError::NotFound("request type"))?;
        let update = change.apply(current, at);
        let t = update.next;
        if !update.dropped.is_empty() {
            let dropped: Vec<&str> = update.dropped.iter().map(|s| s.as_str()).collect();
            let used: Vec<String> = sqlx::query_scalar(
                "select distinct status from requests where type_id = $1 and status = any($2)",
            )
            .bind(t.id.0)
            .bind(&dropped)
            .fetch_all(&mut *tx)
            .await?;
            let in_use: Vec<_> = update
                .dropped
                .iter()
                .filter(|s| used.iter().any(|u| u == s.as_str()))
                .cloned()
                .collect();
            if !in_use.is_empty() {
                return Err(docket_domain::request::statuses_in_use(&in_use).into());
            }
        }
        if update.recategorise {
            for s in t.workflow.statuses() {
                // The version moves too, so cached ETags stop matching.
                sqlx::query(
                    "update requests set category = $1, version = version + 1, updated_at = $4
                     where type_id = $2 and status = $3 and category <> $1",
                )
                .bind(s.category.as_str())
                .bind(t.id.0)
                .bind(s.key.as_str())
                .bind(micros(at))
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query(
            "update request_types set name = $1, description = $2, workflow = $3::json, updated_at = $4 where id = $5",
        )
        .bind(&t.name)
        .bind(&t.description)
        .bind(to_json(&t.workflow)?)
        .bind(micros(at))
        .bind(t.id.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    async fn create_request(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plan: PlanCreate,
    ) -> Result<(Request, Event)> {
        let mut tx = self.pool.begin().await?;
        let (planned, workflow) = create_request_in(&mut tx, ws, type_key, plan).await?;
        let (request, event) = write_events(&mut tx, planned, Some(&workflow)).await?;
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
        let taken: bool = sqlx::query_scalar(
            "select exists (select 1 from request_external_keys where workspace_id = $1 and key_space = $2 and key = $3)",
        )
        .bind(ws.0)
        .bind(&key.space)
        .bind(&key.key)
        .fetch_one(&mut *tx)
        .await?;
        let taken_error = || {
            conflict(
                "external_key_taken",
                format!("a request with {} {:?} exists", key.space, key.key),
            )
        };
        if taken {
            return Err(taken_error());
        }
        let (planned, workflow) = create_request_in(&mut tx, ws, type_key, plan).await?;
        // The primary key decides between concurrent creates with one key: the second
        // insert waits for the first to commit, then fails, and its create rolls back.
        sqlx::query(
            "insert into request_external_keys (workspace_id, key_space, key, request_id) values ($1, $2, $3, $4)",
        )
        .bind(ws.0)
        .bind(&key.space)
        .bind(&key.key)
        .bind(planned.request.id.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                taken_error()
            } else {
                e.into()
            }
        })?;
        let (request, event) = write_events(&mut tx, planned, Some(&workflow)).await?;
        tx.commit().await?;
        self.signal(event.seq);
        Ok((request, event))
    }

    async fn request_by_external_key(
        &self,
        ws: WorkspaceId,
        key: &ExternalKey,
    ) -> Result<Option<Request>> {
        let mut c = self.pool.acquire().await?;
        let id: Option<uuid::Uuid> = sqlx::query_scalar(
            "select request_id from request_external_keys where workspace_id = $1 and key_space = $2 and key = $3",
        )
        .bind(ws.0)
        .bind(&key.space)
        .bind(&key.key)
        .fetch_optional(&mut *c)
        .await?;
        match id {
            Some(id) => request_in(&mut c, ws, RequestId(id), "").await,
            None => Ok(None),
        }
    }

    async fn create_request_with_link(
        &self,
        ws: WorkspaceId,
        type_key: &TypeKey,
        plan: PlanCreate,
        link: NewLink,
    ) -> Result<(Request, Event, PublicLink)> {
        let mut tx = self.pool.begin().await?;
        let (planned, workflow) = create_request_in(&mut tx, ws, type_key, plan).await?;
        let link =
            insert_new_link(&mut tx, &planned.request, &link, planned.request.created_at).await?;
        let (request, event) = write_events(&mut tx, planned, Some(&workflow)).await?;
        tx.commit().await?;
        self.signal(event.seq);
        Ok((request, event, link))
    }

    async fn request_by_number(&self, ws: WorkspaceId, number: i64) -> Result<Option<Request>> {
        sqlx::query(&format!(
            "select {REQUEST_COLUMNS} from requests where workspace_id = $1 and number = $2"
        ))
        .bind(ws.0)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| request_from_row(&r))
        .transpose()
    }

    async fn change_request(
        &self,
        ws: WorkspaceId,
        id: RequestId,
        plan: PlanChange,
    ) -> Result<Applied> {
        let mut tx = self.pool.begin().await?;
        // The type first (shared), then the request: the order `update_request_type`
        // takes them in, so the two cannot deadlock.
        let type_id: Option<uuid::Uuid> =
            sqlx::query_scalar("select type_id from requests where workspace_id = $1 and id = $2")
                .bind(ws.0)
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
        let type_id = RequestTypeId(type_id.ok_or(DomainError::NotFound("request"))?);
        let rtype = request_type_by_id(&mut tx, type_id, " for share").await?;
        // `for no key update`, not `for update`: it does not conflict with the key-share
        // lock a foreign key check takes (an event or a due notice referencing this
        // request), so a transaction holding the event-order lock never waits on it.
        let current = request_in(&mut tx, ws, id, " for no key update")
            .await?
            .ok_or(DomainError::NotFound("request"))?;
        let Some(planned) = plan(&current, &rtype)? else {
            return Ok(Applied::Unchanged(current));
        };
        let updated = update_request(&mut *tx, &planned.request, current.version).await?;
        if updated != 1 {
            // Unreachable under the row lock; kept so a logic error is a conflict, not a
            // lost update.
            return Err(DomainError::PreconditionFailed {
                current: current.version,
            }
            .into());
        }
        let (request, event) = write_events(&mut tx, planned, Some(&rtype.workflow)).await?;
        tx.commit().await?;
        self.signal(event.seq);
        Ok(Applied::Changed { request, event })
    }

    async fn get_request(&self, ws: WorkspaceId, id: RequestId) -> Result<Option<Request>> {
        request_in(&mut *self.pool.acquire().await?, ws, id, "").await
    }

    async fn list_requests(&self, ws: WorkspaceId, query: &RequestQuery) -> Result<Page<Request>> {
        list_requests(&self.pool, ws, query).await
    }

    async fn timeline(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        after_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Event>> {
        sqlx::query(&format!(
            "select {EVENT_COLUMNS} from events
             where workspace_id = $1 and request_id = $2 and seq > $3 order by seq limit $4"
        ))
        .bind(ws.0)
        .bind(request.0)
        .bind(after_seq.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
    }

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

    async fn idempotency_claim(
        &self,
        scope: [u8; 32],
        key: &str,
        fingerprint: [u8; 32],
        now: Timestamp,
    ) -> Result<IdempotencyClaim> {
        let now = micros(now);
        let mut tx = self.pool.begin().await?;
        // The primary key decides between nodes: one insert wins, the others wait for it
        // to commit and then find its row.
        let inserted = sqlx::query(
            "insert into idempotency_keys (scope, key, fingerprint, created_at) values ($1, $2, $3, $4)
             on conflict (scope, key) do nothing",
        )
        .bind(&scope[..])
        .bind(key)
        .bind(&fingerprint[..])
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(IdempotencyClaim::New);
        }
        let row = sqlx::query(
            "select fingerprint, status, content_type, body, headers, created_at from idempotency_keys
             where scope = $1 and key = $2 for update",
        )
        .bind(&scope[..])
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            // Released between the insert and the select: the caller may simply retry.
            return Ok(IdempotencyClaim::InFlight);
        };
        let fp: Vec<u8> = row.try_get("fingerprint")?;
        let status: Option<i32> = row.try_get("status")?;
        let created: i64 = row.try_get("created_at")?;
        let decision = idempotency::decide(
            &fp,
            status.is_some(),
            from_micros(created),
            &fingerprint,
            from_micros(now),
        );
        let claim = if decision == idempotency::Decision::Take {
            sqlx::query(
                "update idempotency_keys set fingerprint = $3, status = null, content_type = null, body = null, headers = null, created_at = $4
                 where scope = $1 and key = $2",
            )
            .bind(&scope[..])
            .bind(key)
            .bind(&fingerprint[..])
            .bind(now)
            .execute(&mut *tx)
            .await?;
            IdempotencyClaim::New
        } else if decision == idempotency::Decision::Mismatch {
            IdempotencyClaim::Mismatch
        } else {
            match status {
                None => IdempotencyClaim::InFlight,
                Some(status) => IdempotencyClaim::Replay(StoredResponse {
                    status: u16::try_from(status).map_err(|_| {
                        crate::StoreError::Internal(anyhow::anyhow!(
                            "stored status {status} is not an HTTP status"
                        ))
                    })?,
                    content_type: row
                        .try_get::<Option<String>, _>("content_type")?
                        .unwrap_or_default(),
                    headers: match row
                        .try_get::<Option<sqlx::types::Json<Vec<(String, String)>>>, _>("headers")?
                    {
                        Some(sqlx::types::Json(headers)) => headers,
                        None => Vec::new(),
                    },
                    body: row
                        .try_get::<Option<Vec<u8>>, _>("body")?
                        .unwrap_or_default(),
                }),
            }
        };
        tx.commit().await?;
        Ok(claim)
    }

    async fn idempotency_complete(
        &self,
        scope: [u8; 32],
        key: &str,
        response: StoredResponse,
    ) -> Result<()> {
        sqlx::query(
            "update idempotency_keys set status = $3, content_type = $4, body = $5, headers = $6::json where scope = $1 and key = $2",
        )
        .bind(&scope[..])
        .bind(key)
        .bind(i32::from(response.status))
        .bind(&response.content_type)
        .bind(&response.body)
        .bind(to_json(&response.headers)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn idempotency_release(&self, scope: [u8; 32], key: &str) -> Result<()> {
        sqlx::query(
            "delete from idempotency_keys where scope = $1 and key = $2 and status is null",
        )
        .bind(&scope[..])
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn workspace_events(
        &self,
        ws: WorkspaceId,
        after_seq: Option<i64>,
        limit: u32,
        hidden: Option<&Restriction>,
    ) -> Result<Vec<Event>> {
        let types = hidden.map(|h| {
            h.types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect::<Vec<_>>()
        });
        let me = hidden.and_then(|h| h.member).map(|m| m.0);
        sqlx::query(&format!(
            "select {EVENT_COLUMNS} from events where workspace_id = $1 and seq > $2
             and ($4::text[] is null or request_id not in (
                 select id from requests where workspace_id = $1 and type_key = any($4)
                 and not coalesce(requester_id = $5, false) and not coalesce(assignee_id = $5, false)))
             order by seq limit $3"
        ))
        .bind(ws.0)
        .bind(after_seq.unwrap_or(0))
        .bind(i64::from(limit))
        .bind(types)
        .bind(me)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
    }

    async fn latest_event_seq(&self, ws: WorkspaceId) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "select coalesce(max(seq), 0)::bigint from events where workspace_id = $1",
        )
        .bind(ws.0)
        .fetch_one(&self.pool)
        .await?)
    }

    fn event_signal(&self) -> watch::Receiver<i64> {
        self.events.subscribe()
    }

    async fn record_due_notices(&self, now: Timestamp, limit: u32) -> Result<Vec<Event>> {
        let mut tx = self.pool.begin().await?;
        let events = due::due_notices(&mut tx, now, limit).await?;
        tx.commit().await?;
        if let Some(last) = events.last() {
            self.signal(last.seq);
        }
        Ok(events)
    }

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

    async fn request_stats(
        &self,
        ws: WorkspaceId,
        since: Timestamp,
        hidden: Option<&Restriction>,
    ) -> Result<RequestStats> {
        desk::request_stats(&mut *self.pool.acquire().await?, ws, since, hidden).await
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

    async fn insert_link(
        &self,
        ws: WorkspaceId,
        request: RequestId,
        link: NewLink,
        now: Timestamp,
    ) -> Result<PublicLink> {
        let mut tx = self.pool.begin().await?;
        let request = request_in(&mut tx, ws, request, " for share")
            .await?
            .filter(|r| r.deleted_at.is_none())
            .ok_or(DomainError::NotFound("request"))?;
        let link = insert_new_link(&mut tx, &request, &link, now).await?;
        tx.commit().await?;
        Ok(link)
    }

    async fn links_of_request(
        &self,
        ws: WorkspaceId,
        request: RequestId,
    ) -> Result<Vec<PublicLink>> {
        sqlx::query(&format!(
            "select {LINK_COLUMNS} from request_links where workspace_id = $1 and request_id = $2 order by created_at, id"
        ))
        .bind(ws.0)
        .bind(request.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(link_from_row)
        .collect()
    }

    async fn link_by_token(&self, token: &LinkToken) -> Result<Option<(PublicLink, Request)>> {
        let mut c = self.pool.acquire().await?;
        let Some(link) = link_with_token(&mut c, token.as_str(), "").await? else {
            return Ok(None);
        };
        let request = request_in(&mut c, link.workspace_id, link.request_id, "")
            .await?
            .ok_or_else(|| StoreError::Internal(anyhow::anyhow!("a link's request is missing")))?;
        Ok(Some((link, request)))
    }

    async fn revoke_link(&self, ws: WorkspaceId, id: LinkId, at: Timestamp) -> Result<PublicLink> {
        let mut tx = self.pool.begin().await?;
        let mut l = link_in(&mut tx, ws, id, " for update")
            .await?
            .ok_or(DomainError::NotFound("link"))?;
        if l.revoked_at.is_none() {
            l.revoked_at = Some(at);
            sqlx::query("update request_links set revoked_at = $1 where id = $2")
                .bind(micros(at))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
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
        let mut l = link_in(&mut tx, ws, id, " for update")
            .await?
            .ok_or(DomainError::NotFound("link"))?;
        l.expires_at = expires_at;
        sqlx::query("update request_links set expires_at = $1 where id = $2")
            .bind(expires_at.map(micros))
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
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
        let found = link_with_token(&mut tx, token.as_str(), "")
            .await?
            .ok_or(DomainError::NotFound("link"))?;
        if files
            .iter()
            .any(|f| f.workspace_id != found.workspace_id || f.request_id != Some(found.request_id))
        {
            return Err(StoreError::Internal(anyhow::anyhow!(
                "a file of a link use names another request"
            )));
        }
        // The lock order of every request write: the type (shared), the request, then
        // the link. Concurrent uses of one link queue on the request's row lock, and each
        // re-reads the link after it, so a one-time link is used once.
        let type_id: uuid::Uuid = sqlx::query_scalar("select type_id from requests where id = $1")
            .bind(found.request_id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(DomainError::NotFound("request"))?;
        let rtype = request_type_by_id(&mut tx, RequestTypeId(type_id), " for share").await?;
        let current = request_in(
            &mut tx,
            found.workspace_id,
            found.request_id,
            " for no key update",
        )
        .await?
        .ok_or(DomainError::NotFound("request"))?;
        let link = link_in(&mut tx, found.workspace_id, found.id, " for update")
            .await?
            .ok_or(DomainError::NotFound("link"))?;
        let (planned, used) = plan(&link, &current, &rtype)?;
        let updated = update_request(&mut *tx, &planned.request, current.version).await?;
        if updated != 1 {
            return Err(DomainError::PreconditionFailed {
                current: current.version,
            }
            .into());
        }
        let counted = sqlx::query(
            "update request_links set used_count = $1 where id = $2 and used_count = $3",
        )
        .bind(used.used_count)
        .bind(link.id.0)
        .bind(link.used_count)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if counted != 1 {
            return Err(StoreError::Internal(anyhow::anyhow!(
                "a link's use count changed under its lock"
            )));
        }
        for f in &files {
            files::insert_file_row(&mut tx, f).await?;
        }
        let (request, event) = write_events(&mut tx, planned, Some(&rtype.workflow)).await?;
        tx.commit().await?;
        self.signal(event.seq);
        Ok((used, request, event))
    }

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
}
