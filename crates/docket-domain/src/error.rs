//! The domain error: every way an operation can be refused for a reason a user can act on.

use crate::access::Scope;
use crate::workflow::{Party, StatusKey};
use serde::Serialize;

/// One invalid field of an input, reported beside the others rather than one at a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's path in the input, e.g. `workflow.statuses[2].key`.
    pub field: String,
    /// A stable machine-readable reason, e.g. `too_long`, `required`, `unknown_status`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Why the domain refused an operation. The HTTP layer maps each variant to one status and
/// one stable error code.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum DomainError {
    /// Input that parsed but breaks a rule; every broken field is listed.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The thing does not exist in this workspace (or belongs to another one).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request was deleted; it keeps its timeline but can no longer change.
    #[error("the request was deleted")]
    Gone,
    /// The caller's role does not allow this at all.
    #[error("{0}")]
    Forbidden(String),
    /// The role would allow it but the token lacks the scope.
    #[error("the token does not have the {0} scope")]
    MissingScope(Scope),
    /// The workflow has no transition between these statuses.
    #[error("the workflow has no transition from {from} to {to}")]
    InvalidTransition { from: StatusKey, to: StatusKey },
    /// The transition exists but none of the parties allowed to take it is the caller.
    #[error("only {allowed} may move a request from {from} to {to}")]
    TransitionForbidden {
        from: StatusKey,
        to: StatusKey,
        allowed: PartyList,
    },
    /// `If-Match` named a version that is no longer current.
    #[error("the request has changed: its current version is {current}")]
    PreconditionFailed { current: i64 },
    /// A uniqueness or state conflict (duplicate key, status still in use, ...).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
}

impl DomainError {
    /// A validation error about one field.
    pub fn invalid(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }
}

/// The parties that may take a transition, printable in an error message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyList(pub Vec<Party>);

impl std::fmt::Display for PartyList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("nobody");
        }
        let names: Vec<String> = self.0.iter().map(Party::describe).collect();
        f.write_str(&names.join(" or "))
    }
}
