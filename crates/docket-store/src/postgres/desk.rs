//! What the web desk needs of PostgreSQL: passwords, sessions and the dashboard's figures.
//! The same behaviour as `sqlite/desk.rs`.

use super::rows::{bad, get, member_from_row, micros, parsed, MEMBER_COLUMNS};
use crate::{RequestStats, Result, StatusCount};
use docket_domain::ids::{MemberId, WorkspaceId};
use docket_domain::member::{Email, Member};
use docket_domain::query::Restriction;
use docket_domain::request::TypeKey;
use docket_domain::session::Session;
use docket_domain::token::TokenHash;
use docket_domain::workflow::{Category, StatusKey};
use docket_domain::{from_micros, DomainError, Timestamp};
use sqlx::{PgConnection, Row};

pub(super) async fn set_password(
    c: &mut PgConnection,
    ws: WorkspaceId,
    member: MemberId,
    hash: Option<String>,
) -> Result<()> {
    let changed =
        sqlx::query("update members set password_hash = $1 where workspace_id = $2 and id = $3")
            .bind(hash)
            .bind(ws.0)
            .bind(member.0)
            .execute(&mut *c)
            .await?
            .rows_affected();
    if changed == 0 {
        return Err(DomainError::NotFound("member").into());
    }
    sqlx::query("delete from sessions where member_id = $1")
        .bind(member.0)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub(super) async fn password_candidates(
    c: &mut PgConnection,
    email: &Email,
) -> Result<Vec<(Member, String)>> {
    sqlx::query(&format!(
        "select {MEMBER_COLUMNS}, password_hash from members
         where email = $1 and password_hash is not null order by created_at, id"
    ))
    .bind(email.as_str())
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((member_from_row(r)?, get(r, "password_hash")?)))
    .collect()
}

pub(super) async fn insert_session(c: &mut PgConnection, s: &Session) -> Result<()> {
    sqlx::query(
        "insert into sessions (hash, workspace_id, member_id, csrf, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(s.hash.0.as_slice())
    .bind(s.workspace_id.0)
    .bind(s.member_id.0)
    .bind(&s.csrf)
    .bind(micros(s.created_at))
    .bind(micros(s.expires_at))
    .execute(&mut *c)
    .await?;
    // Sign-ins are rare: sweep expired sessions here rather than with a worker.
    sqlx::query("delete from sessions where expires_at <= $1")
        .bind(micros(s.created_at))
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub(super) async fn session_by_hash(
    c: &mut PgConnection,
    hash: &TokenHash,
    now: Timestamp,
) -> Result<Option<(Session, Member)>> {
    let columns = MEMBER_COLUMNS
        .split(", ")
        .map(|col| format!("m.{col}"))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(row) = sqlx::query(&format!(
        "select {columns}, s.csrf, s.created_at as session_created_at, s.expires_at from sessions s
         join members m on m.workspace_id = s.workspace_id and m.id = s.member_id
         where s.hash = $1 and s.expires_at > $2"
    ))
    .bind(hash.0.as_slice())
    .bind(micros(now))
    .fetch_optional(c)
    .await?
    else {
        return Ok(None);
    };
    let member = member_from_row(&row)?;
    let session = Session {
        hash: *hash,
        workspace_id: member.workspace_id,
        member_id: member.id,
        csrf: get(&row, "csrf")?,
        created_at: from_micros(get(&row, "session_created_at")?),
        expires_at: from_micros(get(&row, "expires_at")?),
    };
    Ok(Some((session, member)))
}

pub(super) async fn delete_session(c: &mut PgConnection, hash: &TokenHash) -> Result<()> {
    sqlx::query("delete from sessions where hash = $1")
        .bind(hash.0.as_slice())
        .execute(c)
        .await?;
    Ok(())
}

/// The requests a restriction leaves visible: parameter `${n}` the hidden types (empty:
/// none hidden), `${n+1}` the caller's member id.
fn visible(prefix: &str, n: usize) -> String {
    let m = n + 1;
    format!(
        "({prefix}type_key <> all(${n}) or {prefix}requester_id = ${m} or {prefix}assignee_id = ${m})"
    )
}

pub(super) async fn request_stats(
    c: &mut PgConnection,
    ws: WorkspaceId,
    since: Timestamp,
    hidden: Option<&Restriction>,
) -> Result<RequestStats> {
    let types: Vec<String> = hidden
        .map(|h| h.types.iter().map(|t| t.as_str().to_owned()).collect())
        .unwrap_or_default();
    let me = hidden.and_then(|h| h.member).map(|m| m.0);
    let unfinished = crate::unfinished_sql();
    let (first, since_too, aliased) = (visible("", 2), visible("", 3), visible("r.", 3));
    let open_by_status = sqlx::query(&format!(
        "select type_key, status, category, count(*) as n from requests
         where workspace_id = $1 and deleted_at is null and category in {unfinished}
           and {first}
         group by type_key, status, category order by type_key, count(*) desc"
    ))
    .bind(ws.0)
    .bind(&types)
    .bind(me)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| {
        Ok(StatusCount {
            type_key: parsed(r, "type_key", TypeKey::parse)?,
            status: parsed(r, "status", StatusKey::parse)?,
            category: parsed(r, "category", str::parse::<Category>)?,
            count: get(r, "n")?,
        })
    })
    .collect::<Result<_>>()?;
    let open_by_assignee = sqlx::query(&format!(
        "select assignee_id, count(*) as n from requests
         where workspace_id = $1 and deleted_at is null and category in {unfinished}
           and {first}
         group by assignee_id order by count(*) desc"
    ))
    .bind(ws.0)
    .bind(&types)
    .bind(me)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| {
        let id: Option<uuid::Uuid> = get(r, "assignee_id")?;
        Ok((id.map(MemberId), get(r, "n")?))
    })
    .collect::<Result<_>>()?;
    let opened = sqlx::query(&format!(
        "select created_at from requests
         where workspace_id = $1 and deleted_at is null and created_at >= $2 and {since_too}
         order by created_at"
    ))
    .bind(ws.0)
    .bind(micros(since))
    .bind(&types)
    .bind(me)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| Ok(from_micros(r.try_get(0).map_err(|e| bad("created_at", e))?)))
    .collect::<Result<_>>()?;
    let completed = sqlx::query(&format!(
        "select r.created_at, e.at from events e join requests r on r.id = e.request_id
         where e.workspace_id = $1 and e.at >= $2 and r.deleted_at is null and {aliased}
           and exists (select 1 from json_array_elements(e.changes) j
                       where j->>'field' = 'category' and j->>'new' = 'done')
         order by e.at"
    ))
    .bind(ws.0)
    .bind(micros(since))
    .bind(&types)
    .bind(me)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| {
        Ok((
            from_micros(get(r, "created_at")?),
            from_micros(get(r, "at")?),
        ))
    })
    .collect::<Result<_>>()?;
    Ok(RequestStats {
        open_by_status,
        open_by_assignee,
        opened,
        completed,
    })
}
