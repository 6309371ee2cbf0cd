//! Who may do what: member roles, token scopes, and the principal a call acts as.
//!
//! A token's power is its member's role narrowed by the token's scopes. Checks go through
//! [`Principal::require`], which tells apart "your role can never do this" (403
//! `forbidden`) from "your role could, but this token was not given the scope" (403
//! `missing_scope`, naming the scope) — the second is the one an integrator can fix.

use crate::error::DomainError;
use crate::ids::{MemberId, TokenId, WorkspaceId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A member's role in a workspace. Ordered from most to least powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including making other owners.
    Owner,
    /// Everything except granting or removing the owner role.
    Admin,
    /// Manages every request; cannot change workflows, members or other people's tokens.
    Moderator,
    /// Creates requests and acts on their own (and on those assigned to them).
    Member,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Moderator, Role::Member];

    /// The scopes this role grants; a token of a member with this role can hold no more.
    pub fn scopes(self) -> ScopeSet {
        match self {
            Role::Owner | Role::Admin => ScopeSet::all(),
            Role::Moderator => ScopeSet::of(&[
                Scope::RequestsRead,
                Scope::RequestsWrite,
                Scope::RequestsManage,
                Scope::MembersRead,
                Scope::TokensWrite,
                Scope::FilesRead,
                Scope::FilesWrite,
            ]),
            Role::Member => ScopeSet::of(&[
                Scope::RequestsRead,
                Scope::RequestsWrite,
                Scope::MembersRead,
                Scope::TokensWrite,
                Scope::FilesRead,
                Scope::FilesWrite,
            ]),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Member => "member",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}: expected owner, admin, moderator or member")
            })
    }
}

/// A token scope. Later features add theirs here; the set is closed so a typo is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    RequestsRead,
    RequestsWrite,
    RequestsManage,
    WorkflowsWrite,
    MembersRead,
    MembersWrite,
    TokensWrite,
    WebhooksWrite,
    /// List, read and download files, and sign download URLs.
    FilesRead,
    /// Upload, attach, detach and delete files (and, for owners and admins, set the
    /// workspace's file policy).
    FilesWrite,
}

impl Scope {
    pub const ALL: [Scope; 10] = [
        Scope::RequestsRead,
        Scope::RequestsWrite,
        Scope::RequestsManage,
        Scope::WorkflowsWrite,
        Scope::MembersRead,
        Scope::MembersWrite,
        Scope::TokensWrite,
        Scope::WebhooksWrite,
        Scope::FilesRead,
        Scope::FilesWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::RequestsRead => "requests:read",
            Scope::RequestsWrite => "requests:write",
            Scope::RequestsManage => "requests:manage",
            Scope::WorkflowsWrite => "workflows:write",
            Scope::MembersRead => "members:read",
            Scope::MembersWrite => "members:write",
            Scope::TokensWrite => "tokens:write",
            Scope::WebhooksWrite => "webhooks:write",
            Scope::FilesRead => "files:read",
            Scope::FilesWrite => "files:write",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown scope {s:?}"))
    }
}

impl utoipa::PartialSchema for Scope {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::string_schema(
            "A token scope.",
            Some(Scope::ALL.iter().map(|s| s.as_str()).collect()),
        )
    }
}

impl utoipa::ToSchema for Scope {}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of scopes, as a bit set: checked on every call, so it must be cheap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(u32);

impl ScopeSet {
    pub fn empty() -> Self {
        Self(0)
    }

    pub fn all() -> Self {
        Self::of(&Scope::ALL)
    }

    pub fn of(scopes: &[Scope]) -> Self {
        Self(scopes.iter().fold(0, |acc, s| acc | s.bit()))
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn is_subset_of(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn intersect(self, other: ScopeSet) -> Self {
        Self(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn to_vec(self) -> Vec<Scope> {
        Scope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .collect()
    }
}

/// The member a call acts for, with the role that bounds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acting {
    pub id: MemberId,
    pub role: Role,
}

/// Who is making a call: a workspace, the member (none for a system token) and the
/// effective scopes. Built once per call by authentication and passed everywhere.
#[derive(Clone, Debug)]
pub struct Principal {
    pub workspace_id: WorkspaceId,
    /// The member the token belongs to; `None` for a system token issued by an operator.
    pub member: Option<Acting>,
    pub token_id: Option<TokenId>,
    /// What the role (or, for a system token, the operator) allows.
    granted: ScopeSet,
    /// `granted` narrowed by the token's scopes: what this call may do.
    effective: ScopeSet,
}

impl Principal {
    /// A principal for a token. `token_scopes` empty means "everything the role allows".
    pub fn for_token(
        workspace_id: WorkspaceId,
        member: Option<Acting>,
        token_id: Option<TokenId>,
        token_scopes: ScopeSet,
    ) -> Self {
        let granted = member.map_or(ScopeSet::all(), |m| m.role.scopes());
        let effective = if token_scopes.is_empty() {
            granted
        } else {
            granted.intersect(token_scopes)
        };
        Self {
            workspace_id,
            member,
            token_id,
            granted,
            effective,
        }
    }

    pub fn member_id(&self) -> Option<MemberId> {
        self.member.map(|m| m.id)
    }

    pub fn role(&self) -> Option<Role> {
        self.member.map(|m| m.role)
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.effective.contains(scope)
    }

    pub fn scopes(&self) -> ScopeSet {
        self.effective
    }

    /// Refuses unless the call may use `scope`, saying whether the role or the token is why.
    pub fn require(&self, scope: Scope) -> Result<(), DomainError> {
        if self.effective.contains(scope) {
            Ok(())
        } else if self.granted.contains(scope) {
            Err(DomainError::MissingScope(scope))
        } else {
            let role = self
                .role()
                .map_or("system token".to_owned(), |r| format!("{r} role"));
            Err(DomainError::Forbidden(format!(
                "the {role} does not allow {scope}"
            )))
        }
    }

    /// True when the caller may act on workspace-level settings reserved to owners/admins.
    pub fn is_admin(&self) -> bool {
        matches!(self.role(), None | Some(Role::Owner | Role::Admin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, scopes: &[Scope]) -> Principal {
        Principal::for_token(
            WorkspaceId::new(),
            Some(Acting {
                id: MemberId::new(),
                role,
            }),
            None,
            ScopeSet::of(scopes),
        )
    }

    #[test]
    fn token_without_scopes_gets_everything_the_role_allows() {
        let p = principal(Role::Moderator, &[]);
        assert!(p.has(Scope::RequestsManage));
        assert!(!p.has(Scope::WorkflowsWrite));
    }

    #[test]
    fn scopes_narrow_the_role_and_never_widen_it() {
        let p = principal(Role::Member, &[Scope::RequestsRead, Scope::WorkflowsWrite]);
        assert!(p.has(Scope::RequestsRead));
        assert!(!p.has(Scope::RequestsWrite));
        assert!(!p.has(Scope::WorkflowsWrite));
    }

    #[test]
    fn require_names_the_missing_scope_only_when_the_role_would_allow_it() {
        let p = principal(Role::Member, &[Scope::RequestsRead]);
        assert_eq!(
            p.require(Scope::RequestsWrite),
            Err(DomainError::MissingScope(Scope::RequestsWrite))
        );
        assert!(matches!(
            p.require(Scope::MembersWrite),
            Err(DomainError::Forbidden(_))
        ));
    }

    #[test]
    fn scope_names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        assert!("requests:delete".parse::<Scope>().is_err());
    }
}
