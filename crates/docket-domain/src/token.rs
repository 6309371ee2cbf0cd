//! API tokens: long random secrets shown once and stored only as a SHA-256 hash.
//!
//! A token has at least 128 random bits (Docket issues 256), so a fast hash is as safe as a
//! slow one and keeps authentication to one indexed lookup per call. Argon2 is for
//! passwords, which are guessable; these are not.

use crate::access::{Principal, Role, Scope, ScopeSet};
use crate::error::DomainError;
use crate::ids::{MemberId, TokenId, WorkspaceId};
use crate::member::Member;
use crate::Timestamp;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "dk_";

/// A token's secret value. Never logged; its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(***)")
    }
}

impl TokenSecret {
    /// A fresh secret: `dk_` and 256 random bits in URL-safe base64.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// An operator-chosen secret (e.g. `DOCKET_ADMIN_TOKEN`): `dk_` and at least 32 more
    /// characters, none of them whitespace.
    pub fn from_configured(s: &str) -> Result<Self, String> {
        match s.strip_prefix(PREFIX) {
            Some(rest)
                if rest.chars().count() >= 32
                    && !rest.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                Ok(Self(s.to_owned()))
            }
            _ => Err("a token must start with dk_ and have at least 32 characters after it".into()),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

/// The SHA-256 of a token's secret: what the database stores and looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn of(presented: &str) -> Self {
        Self(Sha256::digest(presented.as_bytes()).into())
    }
}

/// A token's record (never its secret).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Token {
    pub id: TokenId,
    #[serde(skip)]
    pub workspace_id: WorkspaceId,
    /// The member it acts for; absent for a system token issued by an operator.
    pub member_id: Option<MemberId>,
    pub name: String,
    /// The scopes it was issued with; empty means "everything the member's role allows".
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub hash: TokenHash,
}

impl Token {
    pub fn new(
        workspace_id: WorkspaceId,
        member_id: Option<MemberId>,
        name: &str,
        scopes: Vec<Scope>,
        expires_at: Option<Timestamp>,
        secret: &TokenSecret,
        now: Timestamp,
    ) -> Self {
        let mut scopes = scopes;
        scopes.sort();
        scopes.dedup();
        Self {
            id: TokenId::new(),
            workspace_id,
            member_id,
            name: name.trim().to_owned(),
            scopes,
            expires_at,
            last_used_at: None,
            revoked_at: None,
            created_at: now,
            hash: secret.hash(),
        }
    }

    pub fn scope_set(&self) -> ScopeSet {
        ScopeSet::of(&self.scopes)
    }

    /// Usable now: not revoked and not expired.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Acting;

    fn member(ws: WorkspaceId, role: Role) -> Member {
        Member {
            id: MemberId::new(),
            workspace_id: ws,
            email: crate::member::Email::parse("m@example.com").unwrap(),
            name: "M".into(),
            role,
            created_at: crate::now(),
        }
    }

    fn caller(m: &Member) -> Principal {
        Principal::for_token(
            m.workspace_id,
            Some(Acting {
                id: m.id,
                role: m.role,
            }),
            None,
            ScopeSet::empty(),
        )
    }

    fn asking(scopes: Vec<Scope>, member_id: Option<MemberId>) -> TokenRequest {
        TokenRequest {
            name: " ci ".into(),
            scopes,
            expires_at: None,
            member_id,
        }
    }

    #[test]
    fn tokens_stay_within_the_role_and_the_caller_and_owners_issue_for_owners() {
        let ws = WorkspaceId::new();
        let now = crate::now();
        let (owner, admin, plain) = (
            member(ws, Role::Owner),
            member(ws, Role::Admin),
            member(ws, Role::Member),
        );
        // Your own token, scopes within your role: issued, the name trimmed.
        let (_, t) = asking(vec![Scope::RequestsRead], None)
            .plan(&caller(&plain), &plain, now)
            .unwrap();
        assert_eq!((t.name.as_str(), t.member_id), ("ci", Some(plain.id)));
        // Beyond the role: refused, naming what is beyond.
        let beyond = asking(vec![Scope::MembersWrite], None).plan(&caller(&plain), &plain, now);
        assert!(
            matches!(beyond, Err(DomainError::Validation(ref f)) if f[0].code == "scope_not_allowed")
        );
        // Naming another member needs an admin; an admin may not issue for an owner.
        assert!(matches!(
            asking(vec![], Some(admin.id)).holder(&caller(&plain)),
            Err(DomainError::Forbidden(_))
        ));
        assert_eq!(
            asking(vec![], Some(plain.id))
                .holder(&caller(&admin))
                .unwrap(),
            plain.id
        );
        assert!(matches!(
            asking(vec![], Some(owner.id)).plan(&caller(&admin), &owner, now),
            Err(DomainError::Forbidden(_))
        ));
        assert!(asking(vec![], Some(owner.id))
            .plan(&caller(&owner), &owner, now)
            .is_ok());
        // Expired or nameless: refused.
        let mut past = asking(vec![], None);
        past.expires_at = Some(now - chrono::TimeDelta::seconds(1));
        assert!(matches!(
            past.plan(&caller(&plain), &plain, now),
            Err(DomainError::Validation(_))
        ));
        let mut nameless = asking(vec![], None);
        nameless.name = "  ".into();
        assert!(matches!(
            nameless.plan(&caller(&plain), &plain, now),
            Err(DomainError::Validation(_))
        ));
    }

    #[test]
    fn generated_secrets_are_long_prefixed_and_distinct() {
        let a = TokenSecret::generate();
        let b = TokenSecret::generate();
        assert!(a.expose().starts_with("dk_"));
        assert!(a.expose().len() >= 3 + 43);
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn configured_secrets_need_the_prefix_and_length() {
        assert!(TokenSecret::from_configured("dk_short").is_err());
        assert!(TokenSecret::from_configured("xx_0123456789abcdef0123456789abcdef").is_err());
        assert!(TokenSecret::from_configured("dk_0123456789abcdef0123456789abcdef").is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = TokenSecret::generate();
        assert!(!format!("{s:?}").contains(&s.expose()[3..]));
    }
}

/// A token asked for, before it is judged.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub name: String,
    /// Empty: everything the member's role allows.
    pub scopes: Vec<Scope>,
    pub expires_at: Option<Timestamp>,
    /// The member it is to act for; the caller when `None`.
    pub member_id: Option<MemberId>,
}

impl TokenRequest {
    /// The member the token is to act for: the one named (only owners and admins may
    /// name another), else the caller (a system token must name one).
    pub fn holder(&self, p: &Principal) -> Result<MemberId, DomainError> {
        match (self.member_id, p.member_id()) {
            (Some(target), me) if Some(target) != me => {
                if p.is_admin() {
                    Ok(target)
                } else {
                    Err(DomainError::Forbidden(
                        "only owners and admins may issue tokens to other members".into(),
                    ))
                }
            }
            (Some(target), _) => Ok(target),
            (None, Some(me)) => Ok(me),
            (None, None) => Err(DomainError::invalid(
                "member_id",
                "required",
                "a system token must name the member the new token acts for",
            )),
        }
    }

    /// Judges the request for `member` (its [`TokenRequest::holder`]) and makes the token
    /// and its secret: a name of 1-100 characters, an expiry in the future, a token for an
    /// owner only from an owner (an admin could otherwise mint one and grant themselves
    /// the owner role), scopes within the member's role and within the caller's own (a
    /// token never mints one more powerful than itself).
    pub fn plan(
        self,
        p: &Principal,
        member: &Member,
        now: Timestamp,
    ) -> Result<(TokenSecret, Token), DomainError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(DomainError::invalid(
                "name",
                "invalid",
                "a token name has 1-100 characters",
            ));
        }
        if self.expires_at.is_some_and(|e| e <= now) {
            return Err(DomainError::invalid(
                "expires_at",
                "in_the_past",
                "a token must expire in the future",
            ));
        }
        if member.role == Role::Owner && p.role().is_some_and(|r| r != Role::Owner) {
            return Err(DomainError::Forbidden(
                "only an owner may issue tokens to an owner".into(),
            ));
        }
        let requested = ScopeSet::of(&self.scopes);
        if !requested.is_subset_of(member.role.scopes()) {
            let beyond: Vec<String> = self
                .scopes
                .iter()
                .filter(|s| !member.role.scopes().contains(**s))
                .map(|s| s.to_string())
                .collect();
            return Err(DomainError::invalid(
                "scopes",
                "scope_not_allowed",
                format!(
                    "the {} role does not allow {}",
                    member.role,
                    beyond.join(", ")
                ),
            ));
        }
        let resolved = if requested.is_empty() {
            member.role.scopes()
        } else {
            requested
        };
        if !resolved.is_subset_of(p.scopes()) {
            return Err(DomainError::Forbidden(
                "a token may only issue tokens within its own scopes".into(),
            ));
        }
        let secret = TokenSecret::generate();
        let token = Token::new(
            p.workspace_id,
            Some(member.id),
            name,
            self.scopes,
            self.expires_at,
            &secret,
            now,
        );
        Ok((secret, token))
    }
}
