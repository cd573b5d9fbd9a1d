//! Sandbox-only control endpoints (secret key): the webhook delivery log, fault injection and
//! opening a dispute, for scripting scenarios (`paywidget sandbox deliveries|dispute`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::ok;
use crate::auth::SecretKey;
use crate::error::ApiError;
use crate::faults::FaultSettings;
use crate::model::list;
use crate::params::Params;
use crate::payments;
use crate::SharedState;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/_sandbox/deliveries", get(deliveries))
        .route("/_sandbox/faults", get(get_faults).post(set_faults))
        .route("/_sandbox/payment_intents/{id}/dispute", post(dispute))
}

async fn deliveries(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let limit = p.take_i64("limit")?.unwrap_or(100).clamp(1, 1000);
    p.finish()?;
    let rows = state.store.deliveries(limit).await?;
    let rows = rows
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    ok(&list("/_sandbox/deliveries", rows, false))
}

async fn get_faults(State(state): State<SharedState>, _: SecretKey) -> Result<Response, ApiError> {
    ok(&state.faults.get())
}

async fn set_faults(
    State(state): State<SharedState>,
    _: SecretKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let rate = |p: &mut Params, key: &str| -> Result<f64, ApiError> {
        match p.take(key) {
            None => Ok(0.0),
            Some(v) => v
                .parse()
                .map_err(|_| ApiError::invalid_param(key, format!("Invalid number: {v}"))),
        }
    };
    let settings = FaultSettings {
        latency_ms: p.take_i64("latency_ms")?.unwrap_or(0).max(0) as u64,
        error_rate: rate(&mut p, "error_rate")?,
        lost_response_rate: rate(&mut p, "lost_response_rate")?,
        rate_limit_rate: rate(&mut p, "rate_limit_rate")?,
    };
    p.finish()?;
    settings
        .validate()
        .map_err(|m| ApiError::invalid_param("error_rate", m))?;
    state.faults.set(settings);
    ok(&settings)
}

async fn dispute(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::dispute(&state, &id).await?)
}
