//! Licence keys signed with Ed25519: compact, copy-paste friendly (`PW1-XXXXX-XXXXX-…`, base32)
//! and verifiable offline with the public key the host publishes.
//!
//! Key bytes: a payload (version 1, issued and expiry as days since 1970, seats, product, order)
//! followed by the 64-byte signature over it.

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use paywidget_core::api::VerifyAnswer;

use crate::error::DomainError;

/// What a licence grants: the contract's claims, signed into the key as they are.
pub type Licence = paywidget_core::api::LicenceClaims;

/// Why a key does not verify.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LicenceError {
    /// Not a paywidget key at all.
    #[error("this is not a paywidget licence key")]
    Malformed,
    /// The signature does not match (tampered, or another issuer).
    #[error("the licence key's signature is not valid")]
    BadSignature,
}

const PREFIX: &str = "PW1";

fn encode_payload(l: &Licence) -> Vec<u8> {
    let mut p = vec![1u8];
    p.extend_from_slice(&l.issued_day.to_be_bytes());
    p.extend_from_slice(&l.expires_day.unwrap_or(0).to_be_bytes());
    p.extend_from_slice(&l.seats.to_be_bytes());
    for s in [&l.product, &l.order] {
        let bytes = &s.as_bytes()[..s.len().min(255)];
        p.push(bytes.len() as u8);
        p.extend_from_slice(bytes);
    }
    p
}

fn decode_payload(p: &[u8]) -> Option<Licence> {
    let (&version, rest) = p.split_first()?;
    if version != 1 || rest.len() < 10 {
        return None;
    }
    let issued_day = u32::from_be_bytes(rest[0..4].try_into().ok()?);
    let expires = u32::from_be_bytes(rest[4..8].try_into().ok()?);
    let seats = u16::from_be_bytes(rest[8..10].try_into().ok()?);
    let mut rest = &rest[10..];
    let mut strings = Vec::new();
    for _ in 0..2 {
        let (&len, tail) = rest.split_first()?;
        let s = tail.get(..len as usize)?;
        strings.push(String::from_utf8(s.to_vec()).ok()?);
        rest = &tail[len as usize..];
    }
    if !rest.is_empty() {
        return None;
    }
    let order = strings.pop()?;
    let product = strings.pop()?;
    Some(Licence {
        product,
        seats,
        issued_day,
        expires_day: (expires != 0).then_some(expires),
        order,
    })
}

/// Signs `licence` into a key like `PW1-ABCDE-FGHIJ-…`.
pub fn issue(key: &SigningKey, licence: &Licence) -> String {
    let mut bytes = encode_payload(licence);
    let signature = key.sign(&bytes);
    bytes.extend_from_slice(&signature.to_bytes());
    let encoded = BASE32_NOPAD.encode(&bytes);
    let groups: Vec<&str> = encoded
        .as_bytes()
        .chunks(5)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!("{PREFIX}-{}", groups.join("-"))
}

/// Verifies a key offline with the issuer's public key. Dashes, spaces and case do not matter.
pub fn verify(public: &VerifyingKey, key: &str) -> Result<Licence, LicenceError> {
    let compact: String = key
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    let body = compact
        .strip_prefix(PREFIX)
        .ok_or(LicenceError::Malformed)?;
    let bytes = BASE32_NOPAD
        .decode(body.as_bytes())
        .map_err(|_| LicenceError::Malformed)?;
    if bytes.len() < 64 + 11 {
        return Err(LicenceError::Malformed);
    }
    let (payload, sig) = bytes.split_at(bytes.len() - 64);
    let sig = Signature::from_bytes(sig.try_into().map_err(|_| LicenceError::Malformed)?);
    public
        .verify(payload, &sig)
        .map_err(|_| LicenceError::BadSignature)?;
    decode_payload(payload).ok_or(LicenceError::Malformed)
}

/// `POST /api/licenses/verify`: whether `key` is one we signed, and if so whether it is still
/// good (not revoked by a refund or dispute, not past its last day by the host's clock).
pub async fn check(state: &crate::HostState, key: &str) -> Result<VerifyAnswer, DomainError> {
    match verify(&state.signing_key.verifying_key(), key) {
        Err(e) => Ok(VerifyAnswer::Invalid {
            valid: false,
            reason: e.to_string(),
        }),
        Ok(l) => {
            // An order we have no fulfilment for is treated as revoked.
            let revoked = state
                .store
                .fulfilment(&l.order)
                .await?
                .is_none_or(|f| f.revoked);
            let expired = l.expires_day.is_some_and(|d| state.clock.today() > d);
            Ok(VerifyAnswer::Checked {
                valid: !revoked && !expired,
                revoked,
                expired,
                licence: l,
            })
        }
    }
}

/// A new random signing key.
pub fn generate() -> SigningKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the OS random source");
    SigningKey::from_bytes(&seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Licence {
        Licence {
            product: "Acme Pro".into(),
            seats: 5,
            issued_day: 20_415,
            expires_day: Some(20_780),
            order: "cs_abc123".into(),
        }
    }

    #[test]
    fn issue_then_verify_round_trips() {
        let k = SigningKey::from_bytes(&[7u8; 32]);
        let key = issue(&k, &sample());
        assert!(key.starts_with("PW1-"));
        assert!(key.split('-').skip(1).all(|g| g.len() <= 5));
        assert_eq!(verify(&k.verifying_key(), &key).unwrap(), sample());
        // Case, spaces and dashes do not matter when pasting.
        let sloppy = key.to_lowercase().replace('-', " ");
        assert_eq!(verify(&k.verifying_key(), &sloppy).unwrap(), sample());
    }

    #[test]
    fn tampering_and_other_issuers_fail() {
        let k = SigningKey::from_bytes(&[7u8; 32]);
        let key = issue(&k, &sample());
        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert_eq!(
            verify(&other.verifying_key(), &key),
            Err(LicenceError::BadSignature)
        );
        // Flip one character of the payload.
        let mut chars: Vec<char> = key.chars().collect();
        let i = 6;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(verify(&k.verifying_key(), &tampered).is_err());
        assert_eq!(
            verify(&k.verifying_key(), "hello"),
            Err(LicenceError::Malformed)
        );
    }

    #[test]
    fn perpetual_licence() {
        let k = generate();
        let l = Licence {
            expires_day: None,
            ..sample()
        };
        assert_eq!(
            verify(&k.verifying_key(), &issue(&k, &l))
                .unwrap()
                .expires_day,
            None
        );
    }
}
