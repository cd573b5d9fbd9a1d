//! The `Stripe-Signature` scheme, written once for the sandbox (which signs), the host (which
//! verifies) and the tests: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with
//! the whole `whsec_…` secret. Verification accepts any `v1` under any of the given secrets
//! (secret rotation) and refuses timestamps outside the tolerance.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How old a signature's timestamp may be, as Stripe's libraries default to.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header.
    #[error("missing Stripe-Signature header")]
    Missing,
    /// No `t=` in the header.
    #[error("no timestamp")]
    NoTimestamp,
    /// `t` is more than [`TOLERANCE_SECS`] from now.
    #[error("timestamp outside the tolerance")]
    Stale,
    /// No `v1` matched.
    #[error("no matching v1 signature")]
    NoMatch,
}

fn mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Stripe-Signature` header for `body` sent at unix time `t`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!(
        "t={t},v1={}",
        hex::encode(mac(secret, t, body).finalize().into_bytes())
    )
}

/// Checks a `Stripe-Signature` header against the raw body with any of `secrets`
/// (constant-time comparison); returns the signed timestamp.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[&str],
    now: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => {
                if let Ok(bytes) = hex::decode(v) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::NoTimestamp)?;
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    for secret in secrets {
        for sig in &signatures {
            if mac(secret, t, body).verify_slice(sig).is_ok() {
                return Ok(t);
            }
        }
    }
    Err(SignatureError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_stripe_documents() {
        let h = sign("whsec_test", 1_700_000_000, b"{}");
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(h.len(), "t=1700000000,v1=".len() + 64);
        assert_eq!(
            verify(Some(&h), b"{}", &["whsec_test"], 1_700_000_100),
            Ok(1_700_000_000)
        );
    }

    #[test]
    fn accepts_any_matching_v1_and_any_secret() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign("whsec_b", 1000, body);
        let v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t=1000,v1={},v1={v1}", "00".repeat(32));
        assert!(verify(Some(&header), body, &["whsec_a", "whsec_b"], 1100).is_ok());
    }

    #[test]
    fn rejects_missing_stale_wrong_and_tampered() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign("whsec_a", 1000, body);
        assert_eq!(
            verify(None, body, &["whsec_a"], 1000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some(&good), body, &["whsec_a"], 1000 + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&good), body, &["whsec_other"], 1000),
            Err(SignatureError::NoMatch)
        );
        assert!(verify(Some(&good), br#"{"id":"evt_2"}"#, &["whsec_a"], 1000).is_err());
        assert_eq!(
            verify(Some("garbage"), body, &["whsec_a"], 1000),
            Err(SignatureError::NoTimestamp)
        );
    }
}
