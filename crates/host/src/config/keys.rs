//! The host's keys, one per purpose, each derived with HKDF-SHA256 from one configured secret
//! (a file or an environment variable, never the database): whoever reads a backup or a replica
//! of the database can forge nothing. A key answers for one thing only — signing licences,
//! keying sign-in codes, proofs of work, update-card links — so a leak or a misuse of one is
//! not a leak of the others.

use base64::Engine;
use ed25519_dalek::SigningKey;
use hkdf::Hkdf;
use sha2::Sha256;

use crate::config::HostConfig;

/// The fixed secret of `dev_secret = true` (the sandbox, the demo, tests): public, so anything
/// keyed with it protects nothing.
const DEV_SECRET: &[u8; 32] = b"paywidget development secret v1!";

/// The least secret taken: 32 bytes (256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

/// Every key the host uses.
pub struct Keys {
    /// Signs licence keys and leases (Ed25519).
    pub licence: SigningKey,
    /// Keys the stored hashes of portal sign-in codes (a copy of the database cannot try the
    /// million codes).
    pub portal_codes: [u8; 32],
    /// Signs proof-of-work challenges.
    pub proof_of_work: [u8; 32],
    /// Signs update-card links.
    pub update_card: [u8; 32],
    /// Keys licences' order references (what keys and leases name instead of the session).
    pub order_refs: [u8; 32],
    /// Derives each outgoing webhook endpoint's signing secret (with the endpoint's salt).
    pub hooks: [u8; 32],
    /// Whether they come from the public development secret.
    pub development: bool,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

/// The 32-byte key for `label` from `secret`.
fn derive(secret: &[u8], label: &str) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(b"paywidget host keys v1"), secret);
    let mut out = [0u8; 32];
    hk.expand(label.as_bytes(), &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    out
}

impl Keys {
    /// The keys from the host's secret; `licence_seed` pins the licence key instead.
    pub fn derive(secret: &[u8], licence_seed: Option<[u8; 32]>, development: bool) -> Keys {
        Keys {
            licence: SigningKey::from_bytes(
                &licence_seed.unwrap_or_else(|| derive(secret, "licence signing")),
            ),
            portal_codes: derive(secret, "portal sign-in codes"),
            proof_of_work: derive(secret, "proof of work"),
            update_card: derive(secret, "update-card links"),
            order_refs: derive(secret, "order references"),
            hooks: derive(secret, "outgoing webhook secrets"),
            development,
        }
    }
}

/// Why the keys could not be made.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct KeyError {
    /// The setting at fault.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

fn decode(key: &'static str, text: &str) -> Result<Vec<u8>, KeyError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| KeyError {
            key,
            message: "not base64 (make one with `openssl rand -base64 32`)".into(),
        })?;
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(KeyError {
            key,
            message: format!(
                "{} bytes; at least {MIN_SECRET_BYTES} random bytes are needed",
                bytes.len()
            ),
        });
    }
    Ok(bytes)
}

/// The keys `config` names: the secret from `PAYWIDGET_SECRET`, else `server.secret_file`,
/// else (only with `server.dev_secret = true` and no live gateway key) the development
/// secret. Without any, the host does not start.
pub fn load(config: &HostConfig) -> Result<Keys, KeyError> {
    let server = &config.server;
    let licence_seed = match &server.license_signing_key {
        Some(k) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(k.expose().trim())
                .map_err(|_| KeyError {
                    key: "server.license_signing_key",
                    message: "not base64".into(),
                })?;
            Some(bytes.try_into().map_err(|_| KeyError {
                key: "server.license_signing_key",
                message: "must be 32 bytes".into(),
            })?)
        }
        None => None,
    };
    if let Some(secret) = &server.secret {
        let bytes = decode("PAYWIDGET_SECRET", secret.expose())?;
        return Ok(Keys::derive(&bytes, licence_seed, false));
    }
    if let Some(path) = &server.secret_file {
        let text = std::fs::read_to_string(path).map_err(|e| KeyError {
            key: "server.secret_file",
            message: format!("{}: {e}", path.display()),
        })?;
        let bytes = decode("server.secret_file", &text)?;
        return Ok(Keys::derive(&bytes, licence_seed, false));
    }
    if !server.dev_secret {
        return Err(KeyError {
            key: "server.secret_file",
            message: "the host needs its secret: set PAYWIDGET_SECRET or server.secret_file to \
                      the base64 of 32 random bytes (`openssl rand -base64 32`); \
                      `dev_secret = true` is for the sandbox only"
                .into(),
        });
    }
    if let Some(m) = config
        .merchants
        .iter()
        .find(|m| m.secret_key.expose().contains("_live_"))
    {
        return Err(KeyError {
            key: "server.dev_secret",
            message: format!(
                "merchant {} has a live gateway key: a public development secret cannot guard \
                 real money; set PAYWIDGET_SECRET or server.secret_file",
                m.id
            ),
        });
    }
    tracing::warn!(
        "keys derived from the public development secret (server.dev_secret): for the sandbox only"
    );
    Ok(Keys::derive(DEV_SECRET, licence_seed, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_has_its_own_key_and_the_secret_decides_them_all() {
        let a = Keys::derive(&[1u8; 32], None, false);
        let b = Keys::derive(&[2u8; 32], None, false);
        let purposes = [
            a.portal_codes,
            a.proof_of_work,
            a.update_card,
            a.order_refs,
            a.licence.to_bytes(),
        ];
        for (i, x) in purposes.iter().enumerate() {
            for y in &purposes[i + 1..] {
                assert_ne!(x, y, "one key per purpose");
            }
        }
        assert_ne!(a.portal_codes, b.portal_codes);
        assert_ne!(a.licence.to_bytes(), b.licence.to_bytes());
        // Stable: the same secret gives the same keys (hosts sharing a database agree).
        let again = Keys::derive(&[1u8; 32], None, false);
        assert_eq!(again.update_card, a.update_card);
        // A pinned licence seed wins, the rest still follow the secret.
        let pinned = Keys::derive(&[2u8; 32], Some([9u8; 32]), false);
        assert_eq!(pinned.licence.to_bytes(), [9u8; 32]);
        assert_eq!(format!("{a:?}"), "Keys([redacted])");
    }

    #[test]
    fn short_or_malformed_secrets_are_refused() {
        assert!(decode("PAYWIDGET_SECRET", "c2hvcnQ=").is_err());
        assert!(decode("PAYWIDGET_SECRET", "not base64!").is_err());
        let ok = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(
            decode("PAYWIDGET_SECRET", &format!("{ok}\n"))
                .unwrap()
                .len(),
            32
        );
    }
}
