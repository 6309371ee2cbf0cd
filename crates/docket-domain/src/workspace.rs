//! Workspaces: the tenant. Nothing crosses a workspace boundary.

use crate::error::FieldError;
use crate::ids::WorkspaceId;
use crate::Timestamp;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    /// A short unique handle operators use on the command line.
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

impl Workspace {
    pub fn new(name: &str, slug: &str, now: Timestamp) -> Result<Self, FieldError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(FieldError::new(
                "name",
                "invalid",
                "a workspace name has 1-100 characters",
            ));
        }
        let slug_ok = !slug.is_empty()
            && slug.len() <= 40
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !slug_ok {
            return Err(FieldError::new(
                "slug",
                "invalid",
                "a slug has 1-40 of a-z, 0-9 and -",
            ));
        }
        Ok(Self {
            id: WorkspaceId::new(),
            name: name.to_owned(),
            slug: slug.to_owned(),
            created_at: now,
        })
    }
}
