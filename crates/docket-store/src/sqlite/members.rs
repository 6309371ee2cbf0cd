//! Members and their API tokens in SQLite.
//!
//! The token cache (`token_cache.rs`) is `mod.rs`'s business: it clears it after every
//! write here that can change what a token resolves to.

use super::errors::{conflict, is_unique_violation};
use super::rows::{
    member_from_row, micros, to_json, token_from_row, MEMBER_COLUMNS, TOKEN_COLUMNS,
};
use crate::{MemberChange, Result};
use docket_domain::ids::{MemberId, TokenId, WorkspaceId};
use docket_domain::member::{Email, Member};
use docket_domain::token::{Token, TokenHash};
use docket_domain::{DomainError, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) fn insert_member_row(conn: &Connection, m: &Member) -> Result<()> {
    conn.prepare_cached("insert into members (id, workspace_id, email, name, role, created_at) values (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![m.id.to_string(), m.workspace_id.to_string(), m.email.as_str(), m.name, m.role.as_str(), micros(m.created_at)])
        .map_err(|e| if is_unique_violation(&e) { conflict("email_taken", format!("{} is already a member", m.email.as_str())) } else { e.into() })?;
    Ok(())
}

pub(super) fn insert_token_row(conn: &Connection, t: &Token) -> Result<()> {
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

pub(super) fn member_in(
    conn: &Connection,
    ws: WorkspaceId,
    id: MemberId,
) -> Result<Option<Member>> {
    Ok(conn
        .prepare_cached(&format!(
            "select {MEMBER_COLUMNS} from members where workspace_id = ?1 and id = ?2"
        ))?
        .query_row(params![ws.to_string(), id.to_string()], member_from_row)
        .optional()?)
}

pub(super) fn token_in(conn: &Connection, ws: WorkspaceId, id: TokenId) -> Result<Option<Token>> {
    Ok(conn
        .prepare_cached(&format!(
            "select {TOKEN_COLUMNS} from tokens where workspace_id = ?1 and id = ?2"
        ))?
        .query_row(params![ws.to_string(), id.to_string()], token_from_row)
        .optional()?)
}

// Members.

pub(super) fn insert_member(c: &Connection, member: Member) -> Result<Member> {
    insert_member_row(c, &member).map(|_| member)
}

pub(super) fn member_by_email(
    c: &Connection,
    ws: WorkspaceId,
    email: &Email,
) -> Result<Option<Member>> {
    Ok(c.prepare_cached(&format!(
        "select {MEMBER_COLUMNS} from members where workspace_id = ?1 and email = ?2"
    ))?
    .query_row(params![ws.to_string(), email.as_str()], member_from_row)
    .optional()?)
}

pub(super) fn list_members(c: &Connection, ws: WorkspaceId) -> Result<Vec<Member>> {
    let mut stmt = c.prepare_cached(&format!(
        "select {MEMBER_COLUMNS} from members where workspace_id = ?1 order by created_at, id"
    ))?;
    let rows = stmt.query_map([ws.to_string()], member_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// See [`crate::Store::update_member`]. Runs on the writer.
pub(super) fn update_member(
    c: &Connection,
    ws: WorkspaceId,
    id: MemberId,
    change: MemberChange,
) -> Result<Member> {
    let current = member_in(c, ws, id)?.ok_or(DomainError::NotFound("member"))?;
    // Counted inside the writer's transaction, so two concurrent demotions
    // cannot both see "another owner remains".
    let owners: i64 = if change.demotes_owner(&current) {
        c.prepare_cached("select count(*) from members where workspace_id = ?1 and role = 'owner'")?
            .query_row([ws.to_string()], |r| r.get(0))?
    } else {
        0
    };
    let m = change.apply(current, owners)?;
    c.prepare_cached("update members set name = ?1, role = ?2 where id = ?3")?
        .execute(params![m.name, m.role.as_str(), m.id.to_string()])?;
    Ok(m)
}

// Tokens.

pub(super) fn insert_token(c: &Connection, token: Token) -> Result<Token> {
    insert_token_row(c, &token).map(|_| token)
}

/// The token with this hash and its member, read from the database (`mod.rs` looks in
/// the token cache first).
pub(super) fn token_by_hash(
    c: &Connection,
    hash: &TokenHash,
) -> Result<Option<(Token, Option<Member>)>> {
    let token = c
        .prepare_cached(&format!(
            "select {TOKEN_COLUMNS} from tokens where hash = ?1"
        ))?
        .query_row([&hash.0[..]], token_from_row)
        .optional()?;
    let Some(token) = token else { return Ok(None) };
    let member = match token.member_id {
        Some(m) => member_in(c, token.workspace_id, m)?,
        None => None,
    };
    Ok(Some((token, member)))
}

pub(super) fn list_tokens(
    c: &Connection,
    ws: WorkspaceId,
    member: Option<MemberId>,
) -> Result<Vec<Token>> {
    let mut stmt = c.prepare_cached(&format!(
        "select {TOKEN_COLUMNS} from tokens where workspace_id = ?1 and (?2 is null or member_id = ?2) order by created_at, id"
    ))?;
    let rows = stmt.query_map(
        params![ws.to_string(), member.map(|m| m.to_string())],
        token_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn revoke_token(
    c: &Connection,
    ws: WorkspaceId,
    id: TokenId,
    at: Timestamp,
) -> Result<Token> {
    let mut t = token_in(c, ws, id)?.ok_or(DomainError::NotFound("token"))?;
    if t.revoked_at.is_none() {
        t.revoked_at = Some(at);
        c.prepare_cached("update tokens set revoked_at = ?1 where id = ?2")?
            .execute(params![micros(at), id.to_string()])?;
    }
    Ok(t)
}

pub(super) fn touch_token(c: &Connection, id: TokenId, at: Timestamp) -> Result<()> {
    c.prepare_cached("update tokens set last_used_at = ?1 where id = ?2")?
        .execute(params![micros(at), id.to_string()])?;
    Ok(())
}
