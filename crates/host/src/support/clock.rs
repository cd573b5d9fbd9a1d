//! Injectable time and id sources (as in the sandbox), so session ids, receipt and licence
//! timestamps, the webhook tolerance and licence expiry are deterministic in tests.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// The current time.
pub trait Clock: Send + Sync + 'static {
    /// Unix time in seconds.
    fn now(&self) -> i64;

    /// Days since 1970-01-01 (UTC), as licences count them.
    fn today(&self) -> u32 {
        u32::try_from(self.now().div_euclid(86_400)).unwrap_or(0)
    }
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock tests set and move by hand. Clones share the same time.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at `unix_secs`.
    pub fn at(unix_secs: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(unix_secs)))
    }

    /// Moves time forward (or back, with a negative `secs`).
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// Sets the time.
    pub fn set(&self, unix_secs: i64) {
        self.0.store(unix_secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Makes the host's own ids (checkout sessions, `cs_…`).
pub trait IdSource: Send + Sync + 'static {
    /// A new id: `prefix`, an underscore and a unique tail.
    fn new_id(&self, prefix: &str) -> String;
}

/// Random ids: the prefix and 32 hex digits of a v4 UUID (unguessable: a session id is the
/// only key to its status page).
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn new_id(&self, prefix: &str) -> String {
        format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
    }
}

/// Sequential ids (`cs_test000001`, …) for tests.
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
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at(86_400 * 3 + 5);
        assert_eq!(c.now(), 259_205);
        assert_eq!(c.today(), 3);
        let shared = c.clone();
        shared.advance_secs(86_400);
        assert_eq!(c.today(), 4);
        c.set(0);
        assert_eq!(shared.now(), 0);
    }

    #[test]
    fn ids_have_their_prefix_and_do_not_repeat() {
        let seq = SequentialIds::default();
        assert_eq!(seq.new_id("cs"), "cs_test000001");
        assert_eq!(seq.new_id("cs"), "cs_test000002");
        let (a, b) = (RandomIds.new_id("cs"), RandomIds.new_id("cs"));
        assert!(a.starts_with("cs_") && a.len() == 35 && a != b);
    }
}
