//! Read-only reporting: `/v1/events`, `/v1/charges`, `/v1/mandates`, `/v1/balance_transactions`
//! (list and retrieve), `/v1/payouts`.

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
use crate::store::{Cmp, Filter};
use crate::SharedState;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/events", get(list_events))
        .route("/v1/events/{id}", get(retrieve_event))
        .route("/v1/charges/{id}", get(retrieve_charge))
        .route("/v1/mandates/{id}", get(retrieve_mandate))
        .route("/v1/balance_transactions", get(list_balance))
        .route("/v1/balance_transactions/{id}", get(retrieve_balance))
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
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let expand = super::expand_of(q)?;
    let charge = payments::get::<Charge>(&state, "charge", &id).await?;
    ok(&super::expand::one(&state, "charge", serde_json::to_value(charge)?, &expand).await?)
}

/// `GET /v1/balance_transactions`: `type`, `payout` (the sandbox's daily batches:
/// `po_sandbox_<currency>_<day>`), `created` ranges, paging, and `expand[]=data.source` (the
/// charge, refund or dispute in place of its id, as Stripe expands it).
async fn list_balance(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let expand_source = p.take_list("expand").iter().any(|e| e == "data.source");
    let (limit, after) = super::paging(&mut p)?;
    let mut filters = super::created_filters(&mut p)?;
    if let Some(kind) = p.take("type") {
        filters.push(Filter::eq("type", kind));
    }
    if let Some(payout) = p.take("payout") {
        let (currency, day) = payments::payout_id_parts(&payout)
            .ok_or_else(|| ApiError::not_found("payout", &payout))?;
        filters.push(Filter::eq("currency", currency));
        filters.push(Filter::Cmp("available_on".into(), Cmp::Gte, day));
        filters.push(Filter::Cmp("available_on".into(), Cmp::Lte, day));
    }
    p.finish()?;
    let now = state.clock.now();
    let (items, more) = state
        .store
        .list("balance_transaction", limit, after.as_deref(), &filters)
        .await?;
    let mut out = Vec::with_capacity(items.len());
    for t in items {
        let mut t = payments::with_status(t, now);
        if expand_source {
            let source = t["source"].as_str().unwrap_or_default().to_owned();
            let kind = match source.split('_').next() {
                Some("ch") => Some("charge"),
                Some("re") => Some("refund"),
                Some("dp" | "du") => Some("dispute"),
                _ => None,
            };
            if let Some(kind) = kind {
                if let Ok(object) = payments::get::<serde_json::Value>(&state, kind, &source).await
                {
                    t["source"] = object;
                }
            }
        }
        out.push(t);
    }
    ok(&list("/v1/balance_transactions", out, more))
}

/// `GET /v1/mandates/:id`: a bank debit's mandate.
async fn retrieve_mandate(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::get::<serde_json::Value>(&state, "mandate", &id).await?)
}

/// `GET /v1/balance_transactions/:id`, with its status as of the sandbox's clock.
async fn retrieve_balance(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let expand = super::expand_of(q)?;
    let txn = payments::get::<serde_json::Value>(&state, "balance_transaction", &id).await?;
    let txn = payments::with_status(txn, state.clock.now());
    ok(&super::expand::one(&state, "balance_transaction", txn, &expand).await?)
}

/// `GET /v1/payouts`: `limit`, `starting_after`, `arrival_date` ranges (`[gt]`, `[gte]`,
/// `[lt]`, `[lte]`), newest first.
async fn list_payouts(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let (limit, after) = super::paging(&mut p)?;
    let mut bounds = Vec::new();
    for name in ["gt", "gte", "lt", "lte"] {
        if let Some(n) = p.take_i64(&format!("arrival_date[{name}]"))? {
            bounds.push((Cmp::parse(name).expect("one of the four"), n));
        }
    }
    p.finish()?;
    let txns = state.store.all("balance_transaction").await?;
    let batches: Vec<serde_json::Value> = payments::payouts(&txns, state.clock.now())
        .into_iter()
        .filter(|b| {
            let day = b["arrival_date"].as_i64().unwrap_or(0);
            bounds.iter().all(|(cmp, n)| cmp.holds(day, *n))
        })
        .collect();
    let start = match &after {
        Some(id) => batches
            .iter()
            .position(|b| b["id"].as_str() == Some(id.as_str()))
            .map_or(batches.len(), |i| i + 1),
        None => 0,
    };
    let limit = usize::try_from(limit).unwrap_or(10);
    let page: Vec<serde_json::Value> = batches.iter().skip(start).take(limit).cloned().collect();
    let more = batches.len() > start + page.len();
    ok(&list("/v1/payouts", page, more))
}
