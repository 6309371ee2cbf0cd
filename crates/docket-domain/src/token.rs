//! API tokens: long random secrets shown once and stored only as a SHA-256 hash.
//!
//! A token has at least 128 random bits (Docket issues 256), so a fast hash is as safe as a
//! slow one and keeps authentication to one indexed lookup per call. Argon2 is for
//! passwords, which are guessable; these are not.

use crate::access::{Scope, ScopeSet};
use crate::ids::{MemberId, TokenId, WorkspaceId};
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
