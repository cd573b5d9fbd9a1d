//! `/v1/products` and `/v1/prices`: Billing's catalogue.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use paywidget_core::money::Currency;

use super::{ok, paging, take_expand};
use crate::auth::SecretKey;
use crate::catalogue::{self, NewPrice, NewProduct, NewRecurring, ProductRef};
use crate::error::ApiError;
use crate::model::{list, Price, Product};
use crate::params::Params;
use crate::store::Filter;
use crate::{payments, SharedState};

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/products", post(create_product).get(list_products))
        .route("/v1/products/{id}", get(retrieve_product))
        .route("/v1/prices", post(create_price).get(list_prices))
        .route("/v1/prices/{id}", get(retrieve_price))
}

/// A currency code as Stripe spells it (lowercase), or Stripe's error naming `param`.
pub(super) fn currency(param: &str, code: &str) -> Result<String, ApiError> {
    Currency::from_code(code)
        .map(|c| c.stripe_code().to_owned())
        .map_err(|_| ApiError::invalid_param(param, format!("Invalid currency: {code}.")))
}

/// `recurring[interval]` and `recurring[interval_count]` under `prefix` (`recurring`, or
/// `items[0][price_data][recurring]`).
pub(super) fn take_recurring(
    p: &mut Params,
    prefix: &str,
) -> Result<Option<NewRecurring>, ApiError> {
    let interval = p.take_enum(
        &format!("{prefix}[interval]"),
        &["day", "week", "month", "year"],
    )?;
    let count = p.take_i64(&format!("{prefix}[interval_count]"))?;
    let _ = p.take_enum(&format!("{prefix}[usage_type]"), &["licensed"])?;
    match (interval, count) {
        (Some(interval), count) => Ok(Some(NewRecurring {
            interval,
            interval_count: count.unwrap_or(1),
        })),
        (None, Some(_)) => Err(ApiError::missing_param(&format!("{prefix}[interval]"))),
        (None, None) => Ok(None),
    }
}

async fn create_product(
    State(state): State<SharedState>,
    _: SecretKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let new = NewProduct {
        id: p.take("id"),
        name: p.require("name")?,
        description: p.take("description"),
        active: p.take_bool("active")?,
        metadata: p.take_map("metadata"),
        unit_label: p.take("unit_label"),
        url: p.take("url"),
    };
    take_expand(&mut p);
    p.finish()?;
    ok(&catalogue::create_product(&state, new).await?)
}

async fn retrieve_product(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::get::<Product>(&state, "product", &id).await?)
}

async fn list_products(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let (limit, after) = paging(&mut p)?;
    let mut filters = Vec::new();
    if let Some(a) = p.take_bool("active")? {
        filters.push(Filter::Bool("active".into(), a));
    }
    let ids = p.take_list("ids");
    if !ids.is_empty() {
        filters.push(Filter::In("id".into(), ids));
    }
    p.finish()?;
    let (items, more) = state
        .store
        .list("product", limit, after.as_deref(), &filters)
        .await?;
    ok(&list("/v1/products", items, more))
}

async fn create_price(
    State(state): State<SharedState>,
    _: SecretKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let product = match (p.take("product"), p.take("product_data[name]")) {
        (Some(id), None) => ProductRef::Id(id),
        (None, Some(name)) => ProductRef::Data(NewProduct {
            name,
            metadata: p.take_map("product_data[metadata]"),
            unit_label: p.take("product_data[unit_label]"),
            active: p.take_bool("product_data[active]")?,
            ..Default::default()
        }),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_param(
                "product_data",
                "You may only specify one of these parameters: product, product_data.",
            ))
        }
        (None, None) => return Err(ApiError::missing_param("product")),
    };
    let currency = currency("currency", &p.require("currency")?)?;
    let unit_amount = p
        .take_i64("unit_amount")?
        .ok_or_else(|| ApiError::missing_param("unit_amount"))?;
    let new = NewPrice {
        product,
        currency,
        unit_amount,
        recurring: take_recurring(&mut p, "recurring")?,
        lookup_key: p.take("lookup_key"),
        transfer_lookup_key: p.take_bool("transfer_lookup_key")?.unwrap_or(false),
        nickname: p.take("nickname"),
        active: p.take_bool("active")?,
        metadata: p.take_map("metadata"),
    };
    p.take_enum("billing_scheme", &["per_unit"])?;
    p.take_enum("tax_behavior", &["unspecified", "exclusive", "inclusive"])?;
    take_expand(&mut p);
    p.finish()?;
    ok(&catalogue::create_price(&state, new).await?)
}

async fn retrieve_price(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::get::<Price>(&state, "price", &id).await?)
}

async fn list_prices(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let (limit, after) = paging(&mut p)?;
    let filters = catalogue::price_filters(
        p.take_bool("active")?,
        p.take("product"),
        p.take_enum("type", &["one_time", "recurring"])?,
        p.take("currency"),
        p.take_list("lookup_keys"),
    );
    p.finish()?;
    let (items, more) = state
        .store
        .list("price", limit, after.as_deref(), &filters)
        .await?;
    ok(&list("/v1/prices", items, more))
}
