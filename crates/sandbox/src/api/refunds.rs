//! `/v1/refunds` and `/v1/disputes/:id`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::{expand, expand_of, list_objects, ok, take_expand};
use crate::auth::SecretKey;
use crate::error::ApiError;
use crate::model::{Dispute, Refund};
use crate::params::Params;
use crate::payments;
use crate::SharedState;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/refunds", post(create).get(list_all))
        .route("/v1/refunds/{id}", get(retrieve))
        .route("/v1/disputes/{id}", get(retrieve_dispute))
}

async fn create(
    State(state): State<SharedState>,
    _: SecretKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let payment_intent = p.take("payment_intent");
    let charge = p.take("charge");
    let amount = p.take_i64("amount")?;
    let reason = p.take_enum(
        "reason",
        &["duplicate", "fraudulent", "requested_by_customer"],
    )?;
    let metadata = p.take_map("metadata");
    let expand = take_expand(&mut p);
    p.finish()?;
    let refund = payments::refund(&state, payment_intent, charge, amount, reason, metadata).await?;
    ok(&expand::one(&state, "refund", serde_json::to_value(refund)?, &expand).await?)
}

async fn retrieve(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let expand = expand_of(q)?;
    let refund = payments::get::<Refund>(&state, "refund", &id).await?;
    ok(&expand::one(&state, "refund", serde_json::to_value(refund)?, &expand).await?)
}

async fn retrieve_dispute(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let expand = expand_of(q)?;
    let dispute = payments::get::<Dispute>(&state, "dispute", &id).await?;
    ok(&expand::one(&state, "dispute", serde_json::to_value(dispute)?, &expand).await?)
}

async fn list_all(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    list_objects(
        &state,
        q,
        "refund",
        "/v1/refunds",
        Some("payment_intent"),
        |v| v,
    )
    .await
}
