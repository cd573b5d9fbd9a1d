//! Read-only reporting: `/v1/events`, `/v1/charges`, `/v1/balance_transactions`, `/v1/payouts`.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::{list_objects, ok};
use crate::auth::SecretKey;
use crate::error::ApiError;
use crate::model::{list, Charge, Event};
use crate::params::Params;
use crate::payments;
use crate::SharedState;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/events", get(list_events))
        .route("/v1/events/{id}", get(retrieve_event))
        .route("/v1/charges/{id}", get(retrieve_charge))
        .route("/v1/balance_transactions", get(list_balance))
        .route("/v1/payouts", get(list_payouts))
}

async fn list_events(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    list_objects(&state, q, "event", "/v1/events", Some("type"), |v| v).await
}

async fn retrieve_event(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::get::<Event>(&state, "event", &id).await?)
}

async fn retrieve_charge(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::get::<Charge>(&state, "charge", &id).await?)
}

async fn list_balance(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    list_objects(
        &state,
        q,
        "balance_transaction",
        "/v1/balance_transactions",
        Some("type"),
        |t| payments::with_status(t, now),
    )
    .await
}

async fn list_payouts(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let limit = p.take_i64("limit")?.unwrap_or(10).clamp(1, 100) as usize;
    p.finish()?;
    let txns = state.store.all("balance_transaction").await?;
    let mut batches = payments::payouts(&txns, state.clock.now());
    let more = batches.len() > limit;
    batches.truncate(limit);
    ok(&list("/v1/payouts", batches, more))
}
