//! Idempotency keys in PostgreSQL: claiming a key for one run of an operation, storing
//! the response to replay, and releasing a claim whose operation failed. The rule is
//! `docket_domain::idempotency`; between nodes, the primary key decides who claims.

use super::rows::{micros, to_json};
use crate::{IdempotencyClaim, Result, StoredResponse};
use docket_domain::{from_micros, idempotency, Timestamp};
use sqlx::{PgPool, Row};

/// See [`crate::Store::idempotency_claim`]. Runs its own transaction, which it commits
/// only once it has claimed or decided.
pub(super) async fn idempotency_claim(
    pool: &PgPool,
    scope: [u8; 32],
    key: &str,
    fingerprint: [u8; 32],
    now: Timestamp,
) -> Result<IdempotencyClaim> {
    let now = micros(now);
    let mut tx = pool.begin().await?;
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

pub(super) async fn idempotency_complete(
    pool: &PgPool,
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
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn idempotency_release(pool: &PgPool, scope: [u8; 32], key: &str) -> Result<()> {
    sqlx::query("delete from idempotency_keys where scope = $1 and key = $2 and status is null")
        .bind(&scope[..])
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}
