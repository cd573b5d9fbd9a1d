//! Billing's catalogue and customers: products, prices (one-time or recurring, `lookup_key`),
//! customers with `invoice_settings.default_payment_method` and a `test_clock`, and the
//! customer's saved payment methods (list, detach).
//!
//! Shapes are Stripe's as of API version 2025-03-31 and later; the sandbox answers every
//! `Stripe-Version` with them.

use crate::error::ApiError;
use crate::model::*;
use crate::store::{Filter, Store};
use crate::AppState;

/// The parameters of `POST /v1/products`.
#[allow(missing_docs)] // Stripe's parameters of the same names.
#[derive(Default)]
pub struct NewProduct {
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub active: Option<bool>,
    pub metadata: Metadata,
    pub unit_label: Option<String>,
    pub url: Option<String>,
}

/// `POST /v1/products`.
pub async fn create_product(state: &AppState, new: NewProduct) -> Result<Product, ApiError> {
    let mut tx = state.store.begin().await?;
    let product = insert_product(&mut tx, state, new).await?;
    tx.commit().await?;
    Ok(product)
}

async fn insert_product(
    conn: &mut sqlx::SqliteConnection,
    state: &AppState,
    new: NewProduct,
) -> Result<Product, ApiError> {
    let now = state.clock.now();
    let id = new.id.unwrap_or_else(|| state.ids.new_id("prod"));
    if Store::get_in::<Product>(conn, "product", &id)
        .await?
        .is_some()
    {
        return Err(ApiError::invalid_request(
            "resource_already_exists",
            format!("Product already exists with ID {id}."),
        ));
    }
    let product = Product {
        id,
        object: "product".into(),
        active: new.active.unwrap_or(true),
        created: now,
        default_price: None,
        description: new.description,
        images: vec![],
        livemode: false,
        marketing_features: vec![],
        metadata: new.metadata,
        name: new.name,
        package_dimensions: None,
        shippable: None,
        statement_descriptor: None,
        tax_code: None,
        unit_label: new.unit_label,
        updated: now,
        url: new.url,
    };
    Store::insert(conn, &product.id, "product", now, &product, None).await?;
    Ok(product)
}

/// `recurring[…]` of a new price.
#[derive(Clone, Debug)]
pub struct NewRecurring {
    /// `day`, `week`, `month` or `year`.
    pub interval: String,
    /// How many intervals one period is (default 1).
    pub interval_count: i64,
}

/// Where a new price's product comes from.
pub enum ProductRef {
    /// An existing `prod_…`.
    Id(String),
    /// `product_data[name]`: a product made with the price.
    Data(NewProduct),
}

/// The parameters of `POST /v1/prices` (and of `price_data` on subscription items).
#[allow(missing_docs)] // Stripe's parameters of the same names.
pub struct NewPrice {
    pub product: ProductRef,
    pub currency: String,
    pub unit_amount: i64,
    pub recurring: Option<NewRecurring>,
    pub lookup_key: Option<String>,
    pub transfer_lookup_key: bool,
    pub nickname: Option<String>,
    pub active: Option<bool>,
    pub metadata: Metadata,
}

/// `POST /v1/prices`.
pub async fn create_price(state: &AppState, new: NewPrice) -> Result<Price, ApiError> {
    let mut tx = state.store.begin().await?;
    let price = insert_price(&mut tx, state, new).await?;
    tx.commit().await?;
    Ok(price)
}

/// Makes a price inside `conn`'s transaction (subscriptions' `price_data` use it too).
pub(crate) async fn insert_price(
    conn: &mut sqlx::SqliteConnection,
    state: &AppState,
    new: NewPrice,
) -> Result<Price, ApiError> {
    let now = state.clock.now();
    let product = match new.product {
        ProductRef::Id(id) => {
            Store::get_in::<Product>(conn, "product", &id)
                .await?
                .ok_or_else(|| ApiError::not_found("product", &id))?
                .object
                .id
        }
        ProductRef::Data(p) => insert_product(conn, state, p).await?.id,
    };
    if let Some(rec) = &new.recurring {
        if !matches!(rec.interval.as_str(), "day" | "week" | "month" | "year") {
            return Err(ApiError::invalid_param(
                "recurring[interval]",
                format!(
                    "Invalid recurring[interval]: must be one of day, month, week, or year; got {}",
                    rec.interval
                ),
            ));
        }
        // Stripe's limit: at most one year (12 months, 52 weeks, 365 days, 1 year).
        let max = match rec.interval.as_str() {
            "day" => 365,
            "week" => 52,
            "month" => 12,
            _ => 1,
        };
        if !(1..=max).contains(&rec.interval_count) {
            return Err(ApiError::invalid_param(
                "recurring[interval_count]",
                "The maximum billing frequency is one year.",
            ));
        }
    }
    if new.unit_amount < 0 {
        return Err(ApiError::invalid_param(
            "unit_amount",
            "This value must be greater than or equal to 0.",
        ));
    }
    if let Some(key) = &new.lookup_key {
        let holders: Vec<(String, crate::store::Versioned<Price>)> =
            Store::find_in(conn, "price", &[Filter::eq("lookup_key", key.as_str())]).await?;
        if !holders.is_empty() && !new.transfer_lookup_key {
            return Err(ApiError::invalid_param(
                "lookup_key",
                format!("A price (`{}`) already uses that lookup key.", holders[0].0),
            ));
        }
        // `transfer_lookup_key=true` moves the key from the price that had it.
        for (id, mut held) in holders {
            held.object.lookup_key = None;
            if !Store::update(conn, &id, held.version, &held.object).await? {
                return Err(ApiError::lock_timeout());
            }
        }
    }
    let price = Price {
        id: state.ids.new_id("price"),
        object: "price".into(),
        active: new.active.unwrap_or(true),
        billing_scheme: "per_unit".into(),
        created: now,
        currency: new.currency,
        custom_unit_amount: None,
        livemode: false,
        lookup_key: new.lookup_key,
        metadata: new.metadata,
        nickname: new.nickname,
        product,
        kind: if new.recurring.is_some() {
            "recurring"
        } else {
            "one_time"
        }
        .into(),
        recurring: new.recurring.map(|r| Recurring {
            interval: r.interval,
            interval_count: r.interval_count,
            meter: None,
            usage_type: "licensed".into(),
        }),
        tax_behavior: "unspecified".into(),
        tiers_mode: None,
        transform_quantity: None,
        unit_amount: Some(new.unit_amount),
        unit_amount_decimal: Some(new.unit_amount.to_string()),
    };
    Store::insert(conn, &price.id, "price", now, &price, None).await?;
    Ok(price)
}

/// The parameters of `POST /v1/customers` and `POST /v1/customers/:id` (absent = unchanged).
#[allow(missing_docs)] // Stripe's parameters of the same names.
#[derive(Default)]
pub struct CustomerParams {
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    /// `invoice_settings[default_payment_method]`; `Some(None)` clears it (sent empty).
    pub default_payment_method: Option<Option<String>>,
    /// Only on create.
    pub test_clock: Option<String>,
}

/// `POST /v1/customers`.
pub async fn create_customer(state: &AppState, p: CustomerParams) -> Result<Customer, ApiError> {
    let mut tx = state.store.begin().await?;
    let created = match &p.test_clock {
        Some(clock) => {
            crate::billing::load_clock(&mut tx, clock)
                .await?
                .object
                .frozen_time
        }
        None => state.clock.now(),
    };
    let mut customer = Customer {
        id: state.ids.new_id("cus"),
        object: "customer".into(),
        created,
        email: p.email,
        name: p.name,
        description: p.description,
        invoice_settings: InvoiceSettings::default(),
        livemode: false,
        metadata: p.metadata,
        test_clock: p.test_clock,
    };
    if let Some(Some(pm)) = p.default_payment_method {
        require_owned_pm(&mut tx, &pm, None).await?;
        customer.invoice_settings.default_payment_method = Some(pm);
    }
    Store::insert(
        &mut tx,
        &customer.id,
        "customer",
        customer.created,
        &customer,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(customer)
}

/// Checks the payment method exists and, if `customer` is given, is attached to it (as
/// Stripe requires of a default payment method).
async fn require_owned_pm(
    conn: &mut sqlx::SqliteConnection,
    pm: &str,
    customer: Option<&str>,
) -> Result<(), ApiError> {
    let found = Store::get_in::<PaymentMethod>(conn, "payment_method", pm)
        .await?
        .ok_or_else(|| ApiError::not_found("payment_method", pm))?;
    if let Some(c) = customer {
        if found.object.customer.as_deref() != Some(c) {
            return Err(ApiError::invalid_param(
                "invoice_settings[default_payment_method]",
                format!(
                    "No such PaymentMethod: '{pm}'; It's possible this PaymentMethod exists on one of your \
                     connected accounts, in which case you should retry this request on that connected account."
                ),
            ));
        }
    }
    Ok(())
}

/// `POST /v1/customers/:id`: changes what was sent; `metadata[k]=` (empty) removes a key.
pub async fn update_customer(
    state: &AppState,
    id: &str,
    p: CustomerParams,
    metadata_unset: Vec<String>,
) -> Result<Customer, ApiError> {
    let mut tx = state.store.begin().await?;
    let mut stored = Store::get_in::<Customer>(&mut tx, "customer", id)
        .await?
        .ok_or_else(|| ApiError::not_found("customer", id))?;
    let c = &mut stored.object;
    if p.email.is_some() {
        c.email = p.email;
    }
    if p.name.is_some() {
        c.name = p.name;
    }
    if p.description.is_some() {
        c.description = p.description;
    }
    c.metadata.extend(p.metadata);
    for k in metadata_unset {
        c.metadata.remove(&k);
    }
    // Renewals and retries read the default when they run, so a new one is used next time.
    if let Some(pm) = p.default_payment_method {
        if let Some(pm) = &pm {
            require_owned_pm(&mut tx, pm, Some(id)).await?;
        }
        c.invoice_settings.default_payment_method = pm;
    }
    let customer = stored.object.clone();
    if !Store::update(&mut tx, id, stored.version, &customer).await? {
        return Err(ApiError::lock_timeout());
    }
    let now = state.clock.now();
    crate::payments::emit_at(&mut tx, state, "customer.updated", &customer, now).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(customer)
}

/// `POST /v1/payment_methods/:id/detach`.
pub async fn detach_payment_method(state: &AppState, id: &str) -> Result<PaymentMethod, ApiError> {
    let mut tx = state.store.begin().await?;
    let mut pm = Store::get_in::<PaymentMethod>(&mut tx, "payment_method", id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment_method", id))?;
    if pm.object.customer.is_none() {
        return Err(ApiError::invalid_request(
            "payment_method_unexpected_state",
            "The payment method you provided is not attached to a customer so detachment is impossible.",
        ));
    }
    pm.object.customer = None;
    if !Store::update(&mut tx, id, pm.version, &pm.object).await? {
        return Err(ApiError::lock_timeout());
    }
    let now = state.clock.now();
    crate::payments::emit_at(&mut tx, state, "payment_method.detached", &pm.object, now).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(pm.object)
}

/// The filters of `GET /v1/prices`.
pub fn price_filters(
    active: Option<bool>,
    product: Option<String>,
    kind: Option<String>,
    currency: Option<String>,
    lookup_keys: Vec<String>,
) -> Vec<Filter> {
    let mut f = vec![];
    if let Some(a) = active {
        f.push(Filter::Bool("active".into(), a));
    }
    if let Some(p) = product {
        f.push(Filter::eq("product", p));
    }
    if let Some(t) = kind {
        f.push(Filter::eq("type", t));
    }
    if let Some(c) = currency {
        f.push(Filter::eq("currency", c));
    }
    if !lookup_keys.is_empty() {
        f.push(Filter::In("lookup_key".into(), lookup_keys));
    }
    f
}

/// The filters of a customer's payment-method list.
pub fn pm_list_filters(customer: &str) -> Vec<Filter> {
    vec![Filter::eq("customer", customer), Filter::eq("type", "card")]
}
