//! The `Stripe-Signature` scheme, written once for the sandbox (which signs), the host (which
//! verifies) and the tests: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with
//! the whole `whsec_…` secret. Verification accepts any `v1` under any of the given secrets
//! (secret rotation), says which secret matched, and refuses timestamps outside the tolerance.
//!
//! The header is unauthenticated input, so its cost is bounded before any MAC is computed: at
//! most [`MAX_HEADER_LEN`] bytes and [`MAX_SIGNATURES`] well-formed `v1` entries, and the MAC of
//! the body is computed once per secret, however many entries there are.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How old a signature's timestamp may be, as Stripe's libraries default to.
pub const TOLERANCE_SECS: i64 = 300;

/// The longest `Stripe-Signature` header read (Stripe sends one `t` and one `v1` per secret
/// being rolled: about 150 bytes).
pub const MAX_HEADER_LEN: usize = 4096;

/// The most `v1` entries compared (one per secret a sender is rolling).
pub const MAX_SIGNATURES: usize = 8;

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
    /// The header is longer than [`MAX_HEADER_LEN`] or has more than [`MAX_SIGNATURES`] entries.
    #[error("signature header too large")]
    TooLarge,
}

/// A header that verified: its signed time and which of the secrets matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The signed timestamp.
    pub t: i64,
    /// The index, in the secrets given, of the one that matched.
    pub secret: usize,
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
/// (constant-time comparison); returns the signed timestamp and the secret that matched.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[&str],
    now: i64,
) -> Result<Verified, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if header.len() > MAX_HEADER_LEN {
        return Err(SignatureError::TooLarge);
    }
    let mut t = None;
    let mut signatures: Vec<[u8; 32]> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => {
                // Only a well-formed SHA-256 tag can match; the rest costs nothing more.
                let mut tag = [0u8; 32];
                if v.len() == 64 && hex::decode_to_slice(v, &mut tag).is_ok() {
                    if signatures.len() == MAX_SIGNATURES {
                        return Err(SignatureError::TooLarge);
                    }
                    signatures.push(tag);
                }
            }
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::NoTimestamp)?;
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    for (index, secret) in secrets.iter().enumerate() {
        // The body is hashed once per secret; each entry only finalizes a copy of that state.
        let keyed = mac(secret, t, body);
        if signatures
            .iter()
            .any(|sig| keyed.clone().verify_slice(sig).is_ok())
        {
            return Ok(Verified { t, secret: index });
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
            Ok(Verified {
                t: 1_700_000_000,
                secret: 0
            })
        );
    }

    #[test]
    fn accepts_any_matching_v1_and_any_secret() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign("whsec_b", 1000, body);
        let v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t=1000,v1={},v1={v1}", "00".repeat(32));
        assert_eq!(
            verify(Some(&header), body, &["whsec_a", "whsec_b"], 1100).map(|v| v.secret),
            Ok(1),
            "the secret that matched is named"
        );
    }

    #[test]
    fn a_header_flooded_with_entries_is_refused_before_any_mac() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign("whsec_a", 1000, body);
        // Tens of thousands of empty or malformed entries cost a scan, not a MAC each.
        let flood = format!("{good}{}", ",v1=".repeat(20_000));
        assert_eq!(
            verify(Some(&flood), body, &["whsec_a"], 1000),
            Err(SignatureError::TooLarge)
        );
        let many = format!("t=1000{}", format!(",v1={}", "ab".repeat(32)).repeat(9));
        assert_eq!(
            verify(Some(&many), body, &["whsec_a"], 1000),
            Err(SignatureError::TooLarge)
        );
        // Malformed entries within the length are skipped; the good one still matches.
        let junk = format!("{good},v1=,v1=zz,v1=00");
        assert!(verify(Some(&junk), body, &["whsec_a"], 1000).is_ok());
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
