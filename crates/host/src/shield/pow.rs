//! The shield's proof of work: a challenge the host signs (HMAC-SHA256) and binds to one
//! session and one pay attempt, expiring after a few minutes; the page finds a nonce such that
//! `SHA-256(challenge ":" nonce)` starts with `difficulty` zero bits. Checking it costs the
//! host one hash; finding it costs the payer about 2^difficulty. Each challenge is accepted
//! once (its id is recorded).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How long a challenge may be answered, seconds.
pub const TTL_SECS: i64 = 300;

/// Why a proof is not accepted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PowError {
    /// Not a challenge this host issued (malformed, or the signature does not match).
    #[error("not a challenge we issued")]
    Forged,
    /// Issued for another session or attempt.
    #[error("issued for another session or attempt")]
    WrongSubject,
    /// Too old.
    #[error("expired")]
    Expired,
    /// Easier than what is required now (risk rose since it was issued).
    #[error("too easy for the risk now")]
    TooEasy,
    /// The nonce does not solve it.
    #[error("not solved")]
    Unsolved,
}

/// The parts of a checked challenge.
#[derive(Debug, PartialEq, Eq)]
pub struct Checked {
    /// Its unique id (for single use).
    pub id: String,
    /// When it expires.
    pub expires: i64,
}

/// The HMAC key for challenges, from the host's long-term secret.
pub fn key_from(secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"paywidget proof of work v1\0");
    h.update(secret);
    h.finalize().into()
}

fn attempt_tag(attempt_key: &str) -> String {
    hex::encode(&Sha256::digest(attempt_key.as_bytes())[..8])
}

fn sign(key: &[u8; 32], payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// A new challenge for `session`'s attempt `attempt_key`.
pub fn issue(key: &[u8; 32], session: &str, attempt_key: &str, difficulty: u8, now: i64) -> String {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).expect("the OS random source");
    let payload = format!(
        "pw1.{session}.{}.{difficulty}.{}.{}",
        attempt_tag(attempt_key),
        now + TTL_SECS,
        hex::encode(nonce)
    );
    let mac = sign(key, &payload);
    format!("{payload}.{mac}")
}

/// The number of leading zero bits of `bytes`.
pub fn leading_zero_bits(bytes: &[u8]) -> u32 {
    let mut n = 0;
    for b in bytes {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

/// Whether `nonce` solves `challenge` at `difficulty` bits.
pub fn solves(challenge: &str, nonce: &str, difficulty: u8) -> bool {
    let digest = Sha256::digest(format!("{challenge}:{nonce}").as_bytes());
    leading_zero_bits(&digest) >= u32::from(difficulty)
}

/// Finds a nonce (as the page's worker does; for tests and the attack simulator's bots).
pub fn solve(challenge: &str, difficulty: u8) -> String {
    (0u64..)
        .map(|n| n.to_string())
        .find(|n| solves(challenge, n, difficulty))
        .unwrap_or_default()
}

/// Checks a proof for `session`'s attempt `attempt_key` at a required `difficulty` now.
pub fn check(
    key: &[u8; 32],
    challenge: &str,
    nonce: &str,
    session: &str,
    attempt_key: &str,
    required: u8,
    now: i64,
) -> Result<Checked, PowError> {
    let (payload, mac) = challenge.rsplit_once('.').ok_or(PowError::Forged)?;
    let expected = sign(key, payload);
    // Constant time: a forger learns nothing from how long the comparison took.
    let same = expected.len() == mac.len()
        && expected
            .bytes()
            .zip(mac.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(PowError::Forged);
    }
    let parts: Vec<&str> = payload.split('.').collect();
    let [version, for_session, tag, difficulty, expires, id] = parts[..] else {
        return Err(PowError::Forged);
    };
    let (Ok(difficulty), Ok(expires)) = (difficulty.parse::<u8>(), expires.parse::<i64>()) else {
        return Err(PowError::Forged);
    };
    if version != "pw1" {
        return Err(PowError::Forged);
    }
    if for_session != session || tag != attempt_tag(attempt_key) {
        return Err(PowError::WrongSubject);
    }
    if now > expires {
        return Err(PowError::Expired);
    }
    if difficulty < required {
        return Err(PowError::TooEasy);
    }
    if nonce.len() > 20 || !solves(challenge, nonce, difficulty) {
        return Err(PowError::Unsolved);
    }
    Ok(Checked {
        id: id.to_owned(),
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_solved_challenge_checks_and_counts_zero_bits() {
        assert_eq!(leading_zero_bits(&[0, 0x10, 0xff]), 11);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        let c = issue(&KEY, "cs_1", "k1", 8, NOW);
        let nonce = solve(&c, 8);
        let ok = check(&KEY, &c, &nonce, "cs_1", "k1", 8, NOW + 10).unwrap();
        assert_eq!(ok.expires, NOW + TTL_SECS);
        assert_eq!(ok.id.len(), 16);
    }

    #[test]
    fn wrong_session_attempt_expiry_difficulty_nonce_and_forgeries_are_refused() {
        let c = issue(&KEY, "cs_1", "k1", 8, NOW);
        let nonce = solve(&c, 8);
        let at = |s, k, req, now| check(&KEY, &c, &nonce, s, k, req, now);
        assert_eq!(at("cs_2", "k1", 8, NOW), Err(PowError::WrongSubject));
        assert_eq!(at("cs_1", "k2", 8, NOW), Err(PowError::WrongSubject));
        assert_eq!(
            at("cs_1", "k1", 8, NOW + TTL_SECS + 1),
            Err(PowError::Expired)
        );
        assert_eq!(at("cs_1", "k1", 12, NOW), Err(PowError::TooEasy));
        // A nonce that does not solve it (some nonce in 0..50 fails at 8 bits).
        let bad = (0..50)
            .map(|n: u32| n.to_string())
            .find(|n| !solves(&c, n, 8))
            .unwrap();
        assert_eq!(
            check(&KEY, &c, &bad, "cs_1", "k1", 8, NOW),
            Err(PowError::Unsolved)
        );
        // Lowering the difficulty in the text breaks the signature.
        let easier = c.replacen(".8.", ".1.", 1);
        assert_eq!(
            check(&KEY, &easier, "0", "cs_1", "k1", 1, NOW),
            Err(PowError::Forged)
        );
        // Another host's key.
        assert_eq!(
            check(&[8; 32], &c, &nonce, "cs_1", "k1", 8, NOW),
            Err(PowError::Forged)
        );
        assert_eq!(
            check(&KEY, "garbage", "0", "cs_1", "k1", 8, NOW),
            Err(PowError::Forged)
        );
    }
}
