//! Signed download URLs: `/files/{id}/content?expires=…&signature=…` downloads a file
//! without a token until it expires.
//!
//! The signature is HMAC-SHA256, keyed with the deployment's signing key (made at first
//! start and kept in the database, so every node verifies every node's URLs), over a
//! context string, the file id and the expiry in Unix seconds; it travels as unpadded
//! base64url. Changing the id or the expiry breaks it; only the key can make one.

use crate::error::ApiError;
use crate::state::AppState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use docket_domain::file::{FileId, FileRecord};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// The name of the signing key in `Store::server_secret`.
pub const SIGNING_KEY_NAME: &str = "file_url_signing_key";

/// Separates these signatures from any other use of the key.
const CONTEXT: &[u8] = b"docket file download v1\n";

/// A URL that downloads `file` without a token until the returned instant (`ttl` from now,
/// rounded up to the second), built on the public URL. The caller decides who may have
/// one, and how long a `ttl` to allow.
pub fn signed_url(state: &AppState, file: &FileRecord, ttl: Duration) -> (String, DateTime<Utc>) {
    let now = docket_domain::now();
    let ttl = chrono::TimeDelta::from_std(ttl).unwrap_or(chrono::TimeDelta::MAX);
    let at = now.checked_add_signed(ttl).unwrap_or(now);
    let expires = at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0);
    let signature = sign(state.signing_key(), file.id, expires);
    let url = state.settings().public_link(&format!(
        "/files/{}/content?expires={expires}&signature={signature}",
        file.id
    ));
    (url, DateTime::from_timestamp(expires, 0).unwrap_or(at))
}

/// The signature of `(id, expires)` under `key`.
pub fn sign(key: &[u8], id: FileId, expires: i64) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, id, expires).finalize().into_bytes())
}

/// Checks a presented signature (in constant time), then the expiry: 403
/// `signature_invalid` for anything not made with the key for this id and expiry, 403
/// `signature_expired` for a genuine one whose time has passed.
pub fn verify(
    key: &[u8],
    id: FileId,
    expires: i64,
    signature: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let presented = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| ApiError::SignatureInvalid)?;
    mac(key, id, expires)
        .verify_slice(&presented)
        .map_err(|_| ApiError::SignatureInvalid)?;
    if now.timestamp() >= expires {
        return Err(ApiError::SignatureExpired);
    }
    Ok(())
}

fn mac(key: &[u8], id: FileId, expires: i64) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(CONTEXT);
    mac.update(id.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_file_and_expiry_only() {
        let key = [7u8; 32];
        let id = FileId::new();
        let now = docket_domain::now();
        let expires = now.timestamp() + 60;
        let sig = sign(&key, id, expires);
        assert!(verify(&key, id, expires, &sig, now).is_ok());
        let invalid = |r: Result<(), ApiError>| matches!(r, Err(ApiError::SignatureInvalid));
        assert!(invalid(verify(&key, id, expires + 1, &sig, now)));
        assert!(invalid(verify(&key, FileId::new(), expires, &sig, now)));
        assert!(invalid(verify(&[8u8; 32], id, expires, &sig, now)));
        assert!(invalid(verify(&key, id, expires, "not base64!", now)));
        let mut tampered = sig.clone();
        tampered.replace_range(0..1, if sig.starts_with('A') { "B" } else { "A" });
        assert!(invalid(verify(&key, id, expires, &tampered, now)));
        let later = now + chrono::TimeDelta::seconds(61);
        assert!(matches!(
            verify(&key, id, expires, &sig, later),
            Err(ApiError::SignatureExpired)
        ));
    }
}
