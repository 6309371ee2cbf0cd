//! Members: the people of a workspace, each with one role.

use crate::access::Role;
use crate::error::{DomainError, FieldError};
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

/// Whether `p` may give or take away `role`: only owners make or unmake owners.
pub fn may_grant(p: &crate::access::Principal, role: Role) -> Result<(), DomainError> {
    if role == Role::Owner && p.role().is_some_and(|r| r != Role::Owner) {
        return Err(DomainError::Forbidden(
            "only an owner may grant or remove the owner role".into(),
        ));
    }
    Ok(())
}

/// A change to a member; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct MemberChange {
    pub name: Option<String>,
    pub role: Option<Role>,
}

impl MemberChange {
    /// Whether the change could take an owner's role away (it sets a role other than
    /// owner): a store locks the workspace's owners before reading the member, so two
    /// concurrent demotions count the owners one after the other.
    pub fn may_demote(&self) -> bool {
        self.role.is_some_and(|r| r != Role::Owner)
    }

    /// Whether it takes `current`'s owner role away, so the workspace's owners must be
    /// counted before it is applied.
    pub fn demotes_owner(&self, current: &Member) -> bool {
        current.role == Role::Owner && self.may_demote()
    }

    /// `current` after the change. `owners` is the workspace's number of owners, read in
    /// the same transaction (only needed when [`MemberChange::demotes_owner`]): a
    /// workspace keeps at least one owner.
    pub fn apply(self, mut current: Member, owners: i64) -> Result<Member, DomainError> {
        if self.demotes_owner(&current) && owners <= 1 {
            return Err(DomainError::Conflict {
                code: "last_owner",
                message: "a workspace keeps at least one owner".into(),
            });
        }
        if let Some(name) = self.name {
            current.name = name;
        }
        if let Some(role) = self.role {
            current.role = role;
        }
        Ok(current)
    }
}

#[cfg(test)]
mod change_tests {
    use super::*;

    fn member(role: Role) -> Member {
        Member {
            id: MemberId::new(),
            workspace_id: WorkspaceId::new(),
            email: Email::parse("a@example.com").unwrap(),
            name: "A".into(),
            role,
            created_at: crate::now(),
        }
    }

    #[test]
    fn only_owners_grant_or_remove_the_owner_role() {
        let as_role = |role| {
            crate::access::Principal::for_token(
                WorkspaceId::new(),
                Some(crate::access::Acting {
                    id: MemberId::new(),
                    role,
                }),
                None,
                crate::access::ScopeSet::empty(),
            )
        };
        assert!(may_grant(&as_role(Role::Owner), Role::Owner).is_ok());
        assert!(matches!(
            may_grant(&as_role(Role::Admin), Role::Owner),
            Err(DomainError::Forbidden(_))
        ));
        assert!(may_grant(&as_role(Role::Admin), Role::Moderator).is_ok());
    }

    #[test]
    fn the_last_owner_keeps_the_role_and_others_change_freely() {
        let demote = MemberChange {
            role: Some(Role::Admin),
            ..Default::default()
        };
        assert!(demote.demotes_owner(&member(Role::Owner)));
        let refused = demote.clone().apply(member(Role::Owner), 1).unwrap_err();
        assert!(matches!(
            refused,
            DomainError::Conflict {
                code: "last_owner",
                ..
            }
        ));
        assert_eq!(
            demote.clone().apply(member(Role::Owner), 2).unwrap().role,
            Role::Admin
        );
        // Not an owner: the count does not matter.
        assert!(!demote.demotes_owner(&member(Role::Member)));
        assert_eq!(
            demote.apply(member(Role::Member), 0).unwrap().role,
            Role::Admin
        );
        let rename = MemberChange {
            name: Some("B".into()),
            ..Default::default()
        };
        assert!(!rename.may_demote());
        let renamed = rename.apply(member(Role::Owner), 1).unwrap();
        assert_eq!((renamed.name.as_str(), renamed.role), ("B", Role::Owner));
    }
}
