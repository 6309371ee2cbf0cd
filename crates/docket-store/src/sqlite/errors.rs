//! What SQLite's failures become: refusals a client can act on ([`conflict`]), or internal
//! errors.

use crate::StoreError;
use docket_domain::DomainError;

pub(crate) fn internal(msg: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("{msg}"))
}

pub(super) fn conflict(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Domain(DomainError::Conflict {
        code,
        message: message.into(),
    })
}

pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

pub(super) fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}
