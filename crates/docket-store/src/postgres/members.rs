//! Members and their API tokens in PostgreSQL. Demoting an owner locks every owner row
//! first, so the last owner cannot be demoted by two nodes at once.

use super::errors::unique_or;
use super::rows::{
    member_from_row, micros, to_json, token_from_row, MEMBER_COLUMNS, TOKEN_COLUMNS,
};
use crate::{MemberChange, Result};
use docket_domain::ids::{MemberId, TokenId, WorkspaceId};
use docket_domain::member::{Email, Member};
use docket_domain::token::{Token, TokenHash};
use docket_domain::{DomainError, Timestamp};
use sqlx::{PgConnection, PgPool};

pub(super) async fn insert_member_row(c: &mut PgConnection, m: &Member) -> Result<()> {
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

pub(super) async fn insert_token_row(c: &mut PgConnection, t: &Token) -> Result<()> {
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

pub(super) async fn member_in(
    c: &mut PgConnection,
    ws: WorkspaceId,
    id: MemberId,
) -> Result<Option<Member>> {
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

pub(super) async fn token_in(
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

// Members.

pub(super) async fn insert_member(c: &mut PgConnection, member: Member) -> Result<Member> {
    insert_member_row(c, &member).await?;
    Ok(member)
}

pub(super) async fn member_by_email(
    pool: &PgPool,
    ws: WorkspaceId,
    email: &Email,
) -> Result<Option<Member>> {
    sqlx::query(&format!(
        "select {MEMBER_COLUMNS} from members where workspace_id = $1 and email = $2"
    ))
    .bind(ws.0)
    .bind(email.as_str())
    .fetch_optional(pool)
    .await?
    .map(|r| member_from_row(&r))
    .transpose()
}

pub(super) async fn list_members(pool: &PgPool, ws: WorkspaceId) -> Result<Vec<Member>> {
    sqlx::query(&format!(
        "select {MEMBER_COLUMNS} from members where workspace_id = $1 order by created_at, id"
    ))
    .bind(ws.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(member_from_row)
    .collect()
}

/// See [`crate::Store::update_member`]. Runs in the caller's transaction.
pub(super) async fn update_member(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    id: MemberId,
    change: MemberChange,
) -> Result<Member> {
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
    Ok(m)
}

// Tokens.

pub(super) async fn insert_token(c: &mut PgConnection, token: Token) -> Result<Token> {
    insert_token_row(c, &token).await?;
    Ok(token)
}

pub(super) async fn token_by_hash(
    c: &mut PgConnection,
    hash: &TokenHash,
) -> Result<Option<(Token, Option<Member>)>> {
    let row = sqlx::query(&format!(
        "select {TOKEN_COLUMNS} from tokens where hash = $1"
    ))
    .bind(&hash.0[..])
    .fetch_optional(&mut *c)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let token = token_from_row(&row)?;
    let member = match token.member_id {
        Some(m) => member_in(c, token.workspace_id, m).await?,
        None => None,
    };
    Ok(Some((token, member)))
}

pub(super) async fn list_tokens(
    pool: &PgPool,
    ws: WorkspaceId,
    member: Option<MemberId>,
) -> Result<Vec<Token>> {
    sqlx::query(&format!(
        "select {TOKEN_COLUMNS} from tokens
         where workspace_id = $1 and ($2::uuid is null or member_id = $2)
         order by created_at, id"
    ))
    .bind(ws.0)
    .bind(member.map(|m| m.0))
    .fetch_all(pool)
    .await?
    .iter()
    .map(token_from_row)
    .collect()
}

pub(super) async fn revoke_token(
    tx: &mut PgConnection,
    ws: WorkspaceId,
    id: TokenId,
    at: Timestamp,
) -> Result<Token> {
    let mut t = token_in(tx, ws, id, " for update")
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
    Ok(t)
}

pub(super) async fn touch_token(pool: &PgPool, id: TokenId, at: Timestamp) -> Result<()> {
    sqlx::query("update tokens set last_used_at = $1 where id = $2")
        .bind(micros(at))
        .bind(id.0)
        .execute(pool)
        .await?;
    Ok(())
}
