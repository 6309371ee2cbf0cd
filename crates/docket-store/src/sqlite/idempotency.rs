//! Idempotency keys in SQLite: claiming a key for one run of an operation, storing the
//! response to replay, and releasing a claim whose operation failed. The rule is
//! `docket_domain::idempotency`.

use super::rows::{json_or_default, micros, to_json};
use crate::{IdempotencyClaim, Result, StoredResponse};
use docket_domain::{from_micros, idempotency, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};

/// See [`crate::Store::idempotency_claim`]. Runs on the writer.
pub(super) fn idempotency_claim(
    c: &Connection,
    scope: [u8; 32],
    key: &str,
    fingerprint: [u8; 32],
    now: Timestamp,
) -> Result<IdempotencyClaim> {
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
    match idempotency::decide(
        &fp,
        response.is_some(),
        from_micros(created),
        &fingerprint,
        from_micros(now),
    ) {
        idempotency::Decision::Take => claim(c),
        idempotency::Decision::Mismatch => Ok(IdempotencyClaim::Mismatch),
        idempotency::Decision::InFlight => Ok(IdempotencyClaim::InFlight),
        idempotency::Decision::Replay => {
            Ok(response.map_or(IdempotencyClaim::InFlight, IdempotencyClaim::Replay))
        }
    }
}

pub(super) fn idempotency_complete(
    c: &Connection,
    scope: [u8; 32],
    key: &str,
    response: StoredResponse,
) -> Result<()> {
    c.prepare_cached("update idempotency_keys set status = ?3, content_type = ?4, body = ?5, headers = ?6 where scope = ?1 and key = ?2")?
        .execute(params![&scope[..], key, response.status, response.content_type, response.body, to_json(&response.headers)?])?;
    Ok(())
}

pub(super) fn idempotency_release(c: &Connection, scope: [u8; 32], key: &str) -> Result<()> {
    c.prepare_cached(
        "delete from idempotency_keys where scope = ?1 and key = ?2 and status is null",
    )?
    .execute(params![&scope[..], key])?;
    Ok(())
}
