//! Fault injection for testing clients' retry logic (off by default): added latency, a fraction
//! of requests answered 429 or 500 without effect, and a fraction whose effect is committed but whose
//! response is lost (the connection is dropped mid-response).
//!
//! Fractions are applied deterministically (request n fails when ⌊n·f⌋ > ⌊(n−1)·f⌋), so a test
//! that sets 0.5 sees exactly every second request fail.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::SharedState;

/// What to inject.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSettings {
    /// Added to every API request, in milliseconds.
    pub latency_ms: u64,
    /// Fraction (0–1) of requests answered 500 before they have any effect.
    pub error_rate: f64,
    /// Fraction (0–1) of requests that take effect but whose response is lost.
    pub lost_response_rate: f64,
    /// Fraction (0–1) of requests answered 429 `rate_limit` before they have any effect.
    pub rate_limit_rate: f64,
}

impl FaultSettings {
    /// Checks the fractions are within 0–1.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("error_rate", self.error_rate),
            ("lost_response_rate", self.lost_response_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 1, got {v}"));
            }
        }
        Ok(())
    }
}

/// The faults in force and the request counters that pace them.
#[derive(Debug)]
pub struct FaultState {
    settings: Mutex<FaultSettings>,
    errors: AtomicU64,
    losses: AtomicU64,
    limits: AtomicU64,
}

impl FaultState {
    /// Starts with `settings`.
    pub fn new(settings: FaultSettings) -> Self {
        FaultState {
            settings: Mutex::new(settings),
            errors: AtomicU64::new(0),
            losses: AtomicU64::new(0),
            limits: AtomicU64::new(0),
        }
    }

    /// The current settings.
    pub fn get(&self) -> FaultSettings {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the settings and restarts the pacing.
    pub fn set(&self, settings: FaultSettings) {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = settings;
        self.errors.store(0, Ordering::SeqCst);
        self.losses.store(0, Ordering::SeqCst);
        self.limits.store(0, Ordering::SeqCst);
    }
}

fn hit(counter: &AtomicU64, rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
    (n as f64 * rate).floor() > ((n - 1) as f64 * rate).floor()
}

/// Middleware for `/v1/…`.
pub async fn layer(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let settings = state.faults.get();
    if settings.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(settings.latency_ms)).await;
    }
    if hit(&state.faults.limits, settings.rate_limit_rate) {
        return ApiError::rate_limited().into_response();
    }
    if hit(&state.faults.errors, settings.error_rate) {
        tracing::info!("fault injection: answering 500 without effect");
        return ApiError::internal("injected fault (no effect)").into_response();
    }
    let response = next.run(req).await;
    if hit(&state.faults.losses, settings.lost_response_rate) {
        tracing::info!("fault injection: effect committed, dropping the response");
        let (parts, _) = response.into_parts();
        let broken = futures_util::stream::once(async {
            Err::<bytes::Bytes, std::io::Error>(std::io::Error::other(
                "injected fault: response lost",
            ))
        });
        return Response::from_parts(parts, Body::from_stream(broken));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_paced_exactly() {
        let c = AtomicU64::new(0);
        let hits: Vec<bool> = (0..6).map(|_| hit(&c, 0.5)).collect();
        assert_eq!(hits, [false, true, false, true, false, true]);
        let c = AtomicU64::new(0);
        assert!((0..10).all(|_| hit(&c, 1.0)));
        let c = AtomicU64::new(0);
        assert!((0..10).all(|_| !hit(&c, 0.0)));
    }
}
