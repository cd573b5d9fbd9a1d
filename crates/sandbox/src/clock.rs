//! Injectable time and id sources, so tests are deterministic.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// The current time.
pub trait Clock: Send + Sync + 'static {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> i64;
    /// Unix time in seconds (Stripe's `created`).
    fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A clock tests move by hand.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at `unix_secs`.
    pub fn at(unix_secs: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(unix_secs * 1000)))
    }
    /// Moves time forward.
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Makes object ids such as `pi_…`.
pub trait IdSource: Send + Sync + 'static {
    /// A new id with Stripe's `prefix` (e.g. `pi`).
    fn new_id(&self, prefix: &str) -> String;
}

/// Random ids in Stripe's style: the prefix and 24 base-62 characters.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomIds;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl IdSource for RandomIds {
    fn new_id(&self, prefix: &str) -> String {
        let mut n = uuid::Uuid::new_v4().as_u128();
        let mut s = String::with_capacity(prefix.len() + 25);
        s.push_str(prefix);
        s.push('_');
        for _ in 0..24 {
            s.push(BASE62[(n % 62) as usize] as char);
            n /= 62;
        }
        s
    }
}

/// Sequential ids (`pi_test0001`, …) for tests.
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicU64);

impl IdSource for SequentialIds {
    fn new_id(&self, prefix: &str) -> String {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        format!("{prefix}_test{n:06}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_look_like_stripe_ids_and_differ() {
        let a = RandomIds.new_id("pi");
        assert!(a.starts_with("pi_") && a.len() == 27, "{a}");
        assert_ne!(a, RandomIds.new_id("pi"));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at(1_700_000_000);
        assert_eq!(c.now(), 1_700_000_000);
        c.advance_secs(86_400);
        assert_eq!(c.now(), 1_700_086_400);
    }
}
