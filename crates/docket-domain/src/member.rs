//! Members: the people of a workspace, each with one role.

use crate::access::Role;
use crate::error::FieldError;
use crate::ids::{MemberId, WorkspaceId};
use crate::Timestamp;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An email address, trimmed and lowercased so that one person has one identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Email)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld`-shaped addresses of at most 254 characters. Delivery is the
    /// real check; this catches typos and junk at the edge.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_lowercase();
        let valid = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control())
                    && !domain.contains('@')
            });
        if valid {
            Ok(Self(s))
        } else {
            Err(FieldError::new("email", "invalid", "not an email address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Email::parse(&String::deserialize(d)?).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub id: MemberId,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A member about to be added.
#[derive(Clone, Debug)]
pub struct NewMember {
    pub email: Email,
    pub name: String,
    pub role: Role,
}

impl NewMember {
    pub fn new(email: Email, name: &str, role: Role) -> Result<Self, FieldError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(FieldError::new(
                "name",
                "invalid",
                "a name has 1-100 characters",
            ));
        }
        Ok(Self {
            email,
            name: name.to_owned(),
            role,
        })
    }

    pub fn into_member(self, workspace_id: WorkspaceId, now: Timestamp) -> Member {
        Member {
            id: MemberId::new(),
            workspace_id,
            email: self.email,
            name: self.name,
            role: self.role,
            created_at: now,
        }
    }
}
