//! `/v1/invoices` (retrieve, list, pay) and `/v1/invoice_payments` (list, retrieve): how a
//! subscription's invoices are paid in API versions from 2025-03-31 on.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::{ok, paging};
use crate::auth::SecretKey;
use crate::billing;
use crate::error::ApiError;
use crate::model::{list, InvoicePayment};
use crate::params::Params;
use crate::store::Filter;
use crate::{payments, SharedState};

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/invoices", get(list_all))
        .route("/v1/invoices/{id}", get(retrieve))
        .route("/v1/invoices/{id}/pay", post(pay))
        .route("/v1/invoice_payments", get(list_payments))
        .route("/v1/invoice_payments/{id}", get(retrieve_payment))
}

async fn retrieve(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let expand = p.take_list("expand");
    p.finish()?;
    ok(&billing::retrieve_invoice(&state, &id, &expand).await?)
}

async fn list_all(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    billing::catch_up(&state).await?;
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let expand = p.take_list("expand");
    let (limit, after) = paging(&mut p)?;
    let mut filters = billing::invoice_filters(
        p.take("customer"),
        p.take("subscription"),
        p.take_enum(
            "status",
            &["draft", "open", "paid", "uncollectible", "void"],
        )?,
    );
    filters.extend(super::created_filters(&mut p)?);
    p.take_enum("collection_method", &["charge_automatically"])?;
    p.finish()?;
    let (items, more) = state
        .store
        .list("invoice", limit, after.as_deref(), &filters)
        .await?;
    let items = billing::expand_invoices(&state, items, &expand).await?;
    ok(&list("/v1/invoices", items, more))
}

async fn pay(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let payment_method = p.take("payment_method");
    // Stripe's default: the customer is not present.
    if p.take_bool("off_session")? == Some(false) {
        return Err(ApiError::invalid_param(
            "off_session",
            "The sandbox pays invoices off-session only; confirm the invoice's PaymentIntent \
             (its confirmation_secret) to pay on-session.",
        ));
    }
    p.take_bool("forgive")?;
    let expand = p.take_list("expand");
    p.finish()?;
    let inv = billing::pay_invoice(&state, &id, payment_method).await?;
    ok(&billing::retrieve_invoice(&state, &inv.id, &expand).await?)
}

/// `GET /v1/invoice_payments?invoice=…` (or `payment[payment_intent]=…`), oldest payment first
/// is not promised: newest first, as every Stripe list.
async fn list_payments(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    billing::catch_up(&state).await?;
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let (limit, after) = paging(&mut p)?;
    let mut filters = Vec::new();
    if let Some(i) = p.take("invoice") {
        filters.push(Filter::eq("invoice", i));
    }
    if let Some(pi) = p.take("payment[payment_intent]") {
        filters.push(Filter::eq("payment.payment_intent", pi));
    }
    p.take_enum("payment[type]", &["payment_intent"])?;
    if let Some(s) = p.take_enum("status", &["canceled", "open", "paid"])? {
        filters.push(Filter::eq("status", s));
    }
    p.finish()?;
    let (items, more) = state
        .store
        .list("invoice_payment", limit, after.as_deref(), &filters)
        .await?;
    ok(&list("/v1/invoice_payments", items, more))
}

async fn retrieve_payment(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::get::<InvoicePayment>(&state, "invoice_payment", &id).await?)
}
