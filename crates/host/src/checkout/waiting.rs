//! Waiting for a session to move: a page asking for its confirmation is answered the moment the
//! gateway's webhook has moved the session, instead of asking again and again. This host wakes
//! its waiters when it applies a webhook; a webhook that reached another host (several hosts on
//! one PostgreSQL) is seen by a re-read every [`RECHECK`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paywidget_core::api::{SessionStatus, SessionView};
use tokio::sync::Notify;

use crate::support::error::DomainError;
use crate::HostState;

/// The longest a request may wait (a client asking for more gets this).
pub const MAX_WAIT: Duration = Duration::from_secs(20);

/// Requests waiting at once in this process. Past it, a request is answered at once (the page
/// asks again after its pause): a crowd of idle requests cannot hold the host's memory.
pub const MAX_WAITERS: usize = 4096;

/// How often a waiting request re-reads its session (a webhook applied by another host).
pub const RECHECK: Duration = Duration::from_millis(250);

/// The sessions someone is waiting on, each with its wake-up.
#[derive(Debug, Default)]
pub struct Moves {
    waiting: Mutex<HashMap<String, Arc<Notify>>>,
    count: AtomicUsize,
}

impl Moves {
    /// Session `id` moved (a webhook's transaction committed): its waiters re-read it now.
    pub fn moved(&self, id: &str) {
        let waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = waiting.get(id) {
            n.notify_waiters();
        }
    }

    /// Requests waiting now (the health view and the tests).
    pub fn waiters(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// A place among the waiters of `id`, unless [`MAX_WAITERS`] are waiting.
    fn watch(&self, id: &str) -> Option<Watch<'_>> {
        // Counted before the check, so concurrent requests cannot all slip under the cap.
        if self.count.fetch_add(1, Ordering::AcqRel) >= MAX_WAITERS {
            self.count.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let notify = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.to_owned())
            .or_default()
            .clone();
        Some(Watch {
            moves: self,
            id: id.to_owned(),
            notify,
        })
    }
}

/// One waiting request; leaving removes the session's entry when it was the last.
struct Watch<'a> {
    moves: &'a Moves,
    id: String,
    notify: Arc<Notify>,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        let mut waiting = self.moves.waiting.lock().unwrap_or_else(|e| e.into_inner());
        // The map's and this one: nobody else waits on it.
        if Arc::strong_count(&self.notify) == 2 {
            waiting.remove(&self.id);
        }
        self.moves.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A status only the gateway (its webhook, or the bank's verification) moves on from: worth
/// waiting on. An open or settled session moves only when someone acts.
pub fn moves_by_itself(status: SessionStatus) -> bool {
    matches!(
        status,
        SessionStatus::Paid | SessionStatus::Processing | SessionStatus::RequiresAction
    )
}

/// The session's view as soon as its status differs from its status now, or after `wait` (at
/// most [`MAX_WAIT`]): whichever comes first. A session that does not move by itself is
/// answered at once.
pub async fn view_after(
    state: &HostState,
    id: &str,
    wait: Duration,
) -> Result<SessionView, DomainError> {
    let first = super::view(state, id).await?;
    let seen = first.status;
    if wait.is_zero() || !moves_by_itself(seen) {
        return Ok(first);
    }
    let Some(watch) = state.moves.watch(id) else {
        return Ok(first);
    };
    let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
    loop {
        // Registered before the re-read: a webhook committing between the two still wakes it.
        let notified = watch.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let view = super::view(state, id).await?;
        let now = tokio::time::Instant::now();
        if view.status != seen || now >= deadline {
            return Ok(view);
        }
        let _ = tokio::time::timeout(RECHECK.min(deadline - now), notified).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_holds_and_entries_go_with_their_last_waiter() {
        let moves = Moves::default();
        let mut held: Vec<Watch<'_>> = (0..MAX_WAITERS)
            .map(|i| {
                moves
                    .watch(&format!("cs_{}", i % 3))
                    .expect("under the cap")
            })
            .collect();
        assert!(
            moves.watch("cs_x").is_none(),
            "past the cap: answered at once"
        );
        assert_eq!(moves.waiters(), MAX_WAITERS);
        assert_eq!(moves.waiting.lock().unwrap().len(), 3);
        held.truncate(1);
        assert_eq!(moves.waiters(), 1);
        assert_eq!(moves.waiting.lock().unwrap().len(), 1);
        drop(held);
        assert_eq!(moves.waiters(), 0);
        assert!(moves.waiting.lock().unwrap().is_empty());
    }
}
