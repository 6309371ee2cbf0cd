//! Names for ids: the workspace's members and request types, loaded once per page so
//! tables show "Ada Lovelace" and "Waiting for client" rather than ids and keys.

use crate::error::ApiError;
use crate::state::AppState;
use docket_domain::ids::{MemberId, WorkspaceId};
use docket_domain::member::Member;
use docket_domain::request::{RequestType, TypeKey};
use docket_domain::workflow::StatusKey;

pub struct Directory {
    pub members: Vec<Member>,
    pub types: Vec<RequestType>,
}

/// One option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>, current: &str) -> Self {
        let value = value.into();
        Self {
            selected: value == current,
            label: label.into(),
            value,
        }
    }
}

impl Directory {
    pub async fn load(state: &AppState, ws: WorkspaceId) -> Result<Self, ApiError> {
        Ok(Self {
            members: state.store().list_members(ws).await?,
            types: state.store().list_request_types(ws).await?,
        })
    }

    pub fn member_name(&self, id: Option<MemberId>, none: &str) -> String {
        match id {
            None => none.to_owned(),
            Some(id) => self
                .members
                .iter()
                .find(|m| m.id == id)
                .map_or_else(|| "a former member".to_owned(), |m| m.name.clone()),
        }
    }

    pub fn rtype(&self, key: &TypeKey) -> Option<&RequestType> {
        self.types.iter().find(|t| &t.key == key)
    }

    pub fn type_name(&self, key: &TypeKey) -> String {
        self.rtype(key)
            .map_or_else(|| key.as_str().to_owned(), |t| t.name.clone())
    }

    pub fn status_label(&self, key: &TypeKey, status: &StatusKey) -> String {
        self.rtype(key)
            .and_then(|t| t.workflow.status(status))
            .map_or_else(|| status.as_str().to_owned(), |s| s.label.clone())
    }

    /// The members as assignee choices, with "Unassigned" first.
    pub fn assignee_choices(&self, current: Option<MemberId>) -> Vec<Choice> {
        let current = current.map(|c| c.to_string()).unwrap_or_default();
        std::iter::once(Choice::new("", "Unassigned", &current))
            .chain(
                self.members
                    .iter()
                    .map(|m| Choice::new(m.id.to_string(), m.name.clone(), &current)),
            )
            .collect()
    }

    pub fn type_choices(&self, current: &str) -> Vec<Choice> {
        self.types
            .iter()
            .map(|t| Choice::new(t.key.as_str(), t.name.clone(), current))
            .collect()
    }
}
