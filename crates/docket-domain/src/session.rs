//! Web desk sign-in: member passwords and the sessions a browser holds.
//!
//! Passwords are guessable, so they are stored as argon2id hashes (slow on purpose, and
//! only ever computed at sign-in). A session is like an API token: a long random secret in
//! an HttpOnly cookie, stored only as its SHA-256 ([`TokenHash`]), looked up once per page.
//! Each session also carries a random CSRF token that every form posts back.

use crate::ids::{MemberId, WorkspaceId};
use crate::token::TokenHash;
use crate::{FieldError, Timestamp};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;

/// The shortest password the desk accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::days(14);

/// Checks a new password's shape and hashes it (argon2id, random salt). Slow: call it off
/// the async runtime.
pub fn hash_password(password: &str) -> Result<String, FieldError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=1024).contains(&chars) {
        return Err(FieldError::new(
            "password",
            "invalid",
            format!("a password has {MIN_PASSWORD_CHARS} to 1024 characters"),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| FieldError::new("password", "invalid", e.to_string()))
}

/// Whether `password` matches `hash`. Slow: call it off the async runtime. A hash that does
/// not parse matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A signed-in browser.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// SHA-256 of the cookie's secret.
    pub hash: TokenHash,
    pub workspace_id: WorkspaceId,
    pub member_id: MemberId,
    /// Posted back by every form of the session (a hidden field), so another site cannot
    /// make the browser submit one.
    pub csrf: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Session {
    /// A new session for `member` and the cookie secret that opens it (shown once, to the
    /// browser).
    pub fn start(workspace_id: WorkspaceId, member_id: MemberId, now: Timestamp) -> (String, Self) {
        let secret = random_secret();
        let session = Self {
            hash: TokenHash::of(&secret),
            workspace_id,
            member_id,
            csrf: random_secret(),
            created_at: now,
            expires_at: now + SESSION_LIFETIME,
        };
        (secret, session)
    }

    pub fn is_active(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }

    /// Whether a posted CSRF token is this session's, compared in constant time.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        let (a, b) = (self.csrf.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// 256 random bits, URL-safe base64.
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn sessions_expire_and_check_their_csrf_token() {
        let now = crate::now();
        let (secret, s) = Session::start(WorkspaceId::new(), MemberId::new(), now);
        assert_eq!(s.hash, TokenHash::of(&secret));
        assert!(s.is_active(now));
        assert!(!s.is_active(now + SESSION_LIFETIME));
        assert!(s.csrf_matches(&s.csrf.clone()));
        assert!(!s.csrf_matches("nope"));
        assert_ne!(secret, s.csrf);
    }
}
