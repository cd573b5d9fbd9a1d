//! `/v1/customers`: create (optionally on a test clock), retrieve, update, list, and the
//! customer's payment methods.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::{list_objects, ok, paging, take_expand};
use crate::auth::SecretKey;
use crate::catalogue::{self, CustomerParams};
use crate::error::ApiError;
use crate::model::{list, Customer};
use crate::params::Params;
use crate::{payments, SharedState};

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/customers", post(create).get(list_all))
        .route("/v1/customers/{id}", get(retrieve).post(update))
        .route("/v1/customers/{id}/payment_methods", get(payment_methods))
}

/// The parameters create and update share; `metadata[k]=` (empty) lists `k` for removal.
fn take_params(p: &mut Params) -> (CustomerParams, Vec<String>) {
    let unset: Vec<String> = p.take_empty_map("metadata");
    let key = "invoice_settings[default_payment_method]";
    let default_payment_method = p
        .take_present(key)
        .map(|v| Some(v).filter(|s| !s.is_empty()));
    let params = CustomerParams {
        email: p.take("email"),
        name: p.take("name"),
        description: p.take("description"),
        metadata: p.take_map("metadata"),
        default_payment_method,
        test_clock: None,
    };
    (params, unset)
}

async fn create(
    State(state): State<SharedState>,
    _: SecretKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let (mut params, _) = take_params(&mut p);
    params.test_clock = p.take("test_clock");
    p.take("payment_method");
    take_expand(&mut p);
    p.finish()?;
    ok(&catalogue::create_customer(&state, params).await?)
}

async fn retrieve(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::get::<Customer>(&state, "customer", &id).await?)
}

async fn update(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let (params, unset) = take_params(&mut p);
    take_expand(&mut p);
    p.finish()?;
    ok(&catalogue::update_customer(&state, &id, params, unset).await?)
}

async fn list_all(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    list_objects(&state, q, "customer", "/v1/customers", Some("email"), |v| v).await
}

async fn payment_methods(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let (limit, after) = paging(&mut p)?;
    p.take_enum("type", &["card"])?;
    p.finish()?;
    payments::get::<Customer>(&state, "customer", &id).await?;
    let (items, more) = state
        .store
        .list(
            "payment_method",
            limit,
            after.as_deref(),
            &catalogue::pm_list_filters(&id),
        )
        .await?;
    ok(&list(
        &format!("/v1/customers/{id}/payment_methods"),
        items,
        more,
    ))
}
