//! What the web desk needs of SQLite: passwords, sessions and the dashboard's figures.

use super::rows::{member_from_row, micros, MEMBER_COLUMNS};
use crate::{RequestStats, Result, StatusCount};
use docket_domain::ids::{MemberId, WorkspaceId};
use docket_domain::member::{Email, Member};
use docket_domain::query::Restriction;
use docket_domain::session::Session;
use docket_domain::token::TokenHash;
use docket_domain::{from_micros, DomainError, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) fn set_password(
    c: &Connection,
    ws: WorkspaceId,
    member: MemberId,
    hash: Option<String>,
) -> Result<()> {
    let changed = c
        .prepare_cached(
            "update members set password_hash = ?1 where workspace_id = ?2 and id = ?3",
        )?
        .execute(params![hash, ws.to_string(), member.to_string()])?;
    if changed == 0 {
        return Err(DomainError::NotFound("member").into());
    }
    c.prepare_cached("delete from sessions where member_id = ?1")?
        .execute([member.to_string()])?;
    Ok(())
}

pub(super) fn password_candidates(c: &Connection, email: &Email) -> Result<Vec<(Member, String)>> {
    let mut stmt = c.prepare_cached(&format!(
        "select {MEMBER_COLUMNS}, password_hash from members
         where email = ?1 and password_hash is not null order by created_at, id"
    ))?;
    let rows = stmt.query_map([email.as_str()], |r| Ok((member_from_row(r)?, r.get(6)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn insert_session(c: &Connection, s: &Session) -> Result<()> {
    c.prepare_cached(
        "insert into sessions (hash, workspace_id, member_id, csrf, created_at, expires_at)
         values (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        s.hash.0.as_slice(),
        s.workspace_id.to_string(),
        s.member_id.to_string(),
        s.csrf,
        micros(s.created_at),
        micros(s.expires_at)
    ])?;
    // Sign-ins are rare: sweep expired sessions here rather than with a worker.
    c.prepare_cached("delete from sessions where expires_at <= ?1")?
        .execute([micros(s.created_at)])?;
    Ok(())
}

pub(super) fn session_by_hash(
    c: &Connection,
    hash: &TokenHash,
    now: Timestamp,
) -> Result<Option<(Session, Member)>> {
    let columns = MEMBER_COLUMNS
        .split(", ")
        .map(|col| format!("m.{col}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(c.prepare_cached(&format!(
        "select {columns}, s.csrf, s.created_at, s.expires_at from sessions s
             join members m on m.workspace_id = s.workspace_id and m.id = s.member_id
             where s.hash = ?1 and s.expires_at > ?2"
    ))?
    .query_row(params![hash.0.as_slice(), micros(now)], |r| {
        let member = member_from_row(r)?;
        let session = Session {
            hash: *hash,
            workspace_id: member.workspace_id,
            member_id: member.id,
            csrf: r.get(6)?,
            created_at: from_micros(r.get(7)?),
            expires_at: from_micros(r.get(8)?),
        };
        Ok((session, member))
    })
    .optional()?)
}

pub(super) fn delete_session(c: &Connection, hash: &TokenHash) -> Result<()> {
    c.prepare_cached("delete from sessions where hash = ?1")?
        .execute([hash.0.as_slice()])?;
    Ok(())
}

/// The requests a restriction leaves visible: parameter `?{n}` the hidden types as a JSON
/// array (empty: none hidden), `?{n+1}` the caller's member id.
fn visible(prefix: &str, n: usize) -> String {
    let m = n + 1;
    format!(
        "({prefix}type_key not in (select value from json_each(?{n})) \
         or {prefix}requester_id = ?{m} or {prefix}assignee_id = ?{m})"
    )
}

pub(super) fn request_stats(
    c: &Connection,
    ws: WorkspaceId,
    since: Timestamp,
    hidden: Option<&Restriction>,
) -> Result<RequestStats> {
    let ws = ws.to_string();
    let types: Vec<&str> = hidden
        .map(|h| h.types.iter().map(|t| t.as_str()).collect())
        .unwrap_or_default();
    let types = serde_json::to_string(&types).map_err(anyhow::Error::from)?;
    let me = hidden.and_then(|h| h.member).map(|m| m.to_string());
    let unfinished = crate::unfinished_sql();
    let (first, since_too) = (visible("", 2), visible("", 3));
    let bad = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    let open_by_status = c
        .prepare_cached(&format!(
            "select type_key, status, category, count(*) from requests
             where workspace_id = ?1 and deleted_at is null and category in {unfinished}
               and {first}
             group by type_key, status, category order by type_key, count(*) desc"
        ))?
        .query_map(params![ws, types, me], |r| {
            Ok(StatusCount {
                type_key: docket_domain::request::TypeKey::parse(&r.get::<_, String>(0)?)
                    .map_err(|e| bad(0, e))?,
                status: docket_domain::workflow::StatusKey::parse(&r.get::<_, String>(1)?)
                    .map_err(|e| bad(1, e))?,
                category: r.get::<_, String>(2)?.parse().map_err(|e| bad(2, e))?,
                count: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let open_by_assignee = c
        .prepare_cached(&format!(
            "select assignee_id, count(*) from requests
             where workspace_id = ?1 and deleted_at is null and category in {unfinished}
               and {first}
             group by assignee_id order by count(*) desc"
        ))?
        .query_map(params![ws, types, me], |r| {
            let id: Option<String> = r.get(0)?;
            let id = id
                .map(|s| s.parse::<MemberId>().map_err(|e| bad(0, e.to_string())))
                .transpose()?;
            Ok((id, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let opened = c
        .prepare_cached(&format!(
            "select created_at from requests
             where workspace_id = ?1 and deleted_at is null and created_at >= ?2 and {since_too}
             order by created_at"
        ))?
        .query_map(params![ws, micros(since), types, me], |r| {
            Ok(from_micros(r.get(0)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let aliased = visible("r.", 3);
    let completed = c
        .prepare_cached(&format!(
            "select r.created_at, e.at from events e join requests r on r.id = e.request_id
             where e.workspace_id = ?1 and e.at >= ?2 and r.deleted_at is null and {aliased}
               and exists (select 1 from json_each(e.changes) j
                           where json_extract(j.value, '$.field') = 'category'
                             and json_extract(j.value, '$.new') = 'done')
             order by e.at"
        ))?
        .query_map(params![ws, micros(since), types, me], |r| {
            Ok((from_micros(r.get(0)?), from_micros(r.get(1)?)))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(RequestStats {
        open_by_status,
        open_by_assignee,
        opened,
        completed,
    })
}
