//! What PostgreSQL's failures become: refusals a client can act on ([`conflict`]), or
//! internal errors.

use crate::StoreError;
use docket_domain::DomainError;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Internal(anyhow::Error::new(e))
    }
}

pub(super) fn internal(msg: &str) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("{msg}"))
}

pub(super) fn conflict(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Domain(DomainError::Conflict {
        code,
        message: message.into(),
    })
}

/// A stored value that does not parse: corruption, an internal error.
pub(super) fn bad_value(col: &str, value: &str) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("stored {col} {value:?} does not parse"))
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// `e` as `conflict(code, message)` when it is a unique violation, else internal.
pub(super) fn unique_or(
    e: sqlx::Error,
    code: &'static str,
    message: impl FnOnce() -> String,
) -> StoreError {
    if is_unique_violation(&e) {
        conflict(code, message())
    } else {
        e.into()
    }
}
