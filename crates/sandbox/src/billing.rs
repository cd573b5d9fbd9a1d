//! Billing: subscriptions, their invoices and invoice payments, and test clocks.
//!
//! **Shapes.** Stripe's as of API version 2025-03-31 ("basil") and later, whatever
//! `Stripe-Version` a request sends (older versions get the new shapes too):
//! - a subscription's billing period is on its items (`items.data[].current_period_start/end`);
//! - an invoice names its subscription under `parent.subscription_details.subscription`, with
//!   the subscription's `metadata` copied into `parent.subscription_details.metadata`;
//! - an invoice is paid by a PaymentIntent reached through its `invoice_payment`s
//!   (`GET /v1/invoice_payments?invoice=…`, or `expand[]=payments`, objects
//!   `{payment: {type: "payment_intent", payment_intent}, status, amount_paid}`) and its client
//!   secret is `confirmation_secret {client_secret, type: "payment_intent"}` (with
//!   `expand[]=confirmation_secret`); there is no `invoice.payment_intent`.
//!
//! **Time.** A customer created with a `test_clock` lives on that clock's `frozen_time`: its
//! subscriptions' periods, renewals, retries and the 23-hour `incomplete_expired` rule run when
//! the clock is advanced, in time order, each at its own time (events carry that time as
//! `created`). Subscriptions of customers without a test clock follow the sandbox's injected
//! clock, caught up whenever a subscription, invoice or invoice payment is read or changed
//! (there is no background timer).
//!
//! **Renewals.** At a period end the next period's invoice (`billing_reason:
//! subscription_cycle`; its lines' `period` is the new period, the invoice's
//! `period_start/end` the one that ended, as Stripe's) is finalized and charged off-session with
//! the default payment method (the subscription's, else the customer's
//! `invoice_settings.default_payment_method`, read at each attempt). A failure leaves it `open`,
//! the subscription `past_due`, and schedules retries per [`BillingSettings`]; hard declines and
//! authentication failures are not retried. At the end of the retry window (the last retry day
//! after the first failure) a still-open invoice ends the subscription (`canceled`) or marks it
//! `unpaid` (the invoice `uncollectible`). `invoice.upcoming` is sent before every renewal,
//! whatever the interval, [`BillingSettings::upcoming_days`] ahead (Stripe's "upcoming renewal
//! events" setting, 7 days by default), never before the period began.
//!
//! **Updates.** Prorations for a price or quantity change are approximated: the unused and
//! remaining fractions of the current period (by seconds) of the old and new amounts, added as
//! lines to the next renewal invoice. Changing an item's price to one with another billing
//! interval is refused unless the same update sets `trial_end` (below).
//!
//! **Trials.** `trial_end` (a timestamp, or `now`) on `POST /v1/subscriptions/:id` — and
//! `trial_end` or `trial_period_days` on create — gives a free period up to that moment: the
//! subscription is `trialing` (`trial_start` when the trial began, `trial_end`), its items'
//! period runs to `trial_end` and `billing_cycle_anchor` becomes `trial_end`. Nothing is charged
//! during the trial (a created subscription's first invoice is for 0, with its lines free). At
//! `trial_end` the subscription renews as at any period end (`subscription_cycle`, charged
//! off-session; `active` from then on, `past_due` if the payment fails) and its cycles follow
//! the new anchor with its items' price interval. This is Stripe's documented way of changing a
//! subscription's billing cycle (or interval, with an item price swap in the same update)
//! without charging now; with `proration_behavior=none` nothing is prorated, else the unused
//! time of the paid period is credited on the invoice at the trial's end. `trial_end=now` ends
//! the period at once and renews now. `customer.subscription.trial_will_end` is sent 3 days
//! before the end (at once for a shorter trial). `customer.subscription.updated` events carry
//! `data.previous_attributes`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::SqliteConnection;

use crate::catalogue::{self, NewPrice, NewRecurring, ProductRef};
use crate::error::ApiError;
use crate::model::*;
use crate::payments::{self, emit_at, emit_updated_at, ConfirmParams, Confirmed, NewPaymentIntent};
use crate::store::{Filter, Store, Versioned};
use crate::AppState;

const DAY: i64 = 86_400;
/// `customer.subscription.trial_will_end` is sent this long before a trial ends.
pub const TRIAL_WILL_END_SECS: i64 = 3 * DAY;
/// The latest `trial_end` accepted, counted from now (Stripe's two years).
pub const MAX_TRIAL_SECS: i64 = 730 * DAY;
/// An `incomplete` subscription whose first invoice is unpaid this long becomes
/// `incomplete_expired`, as Stripe's.
pub const INCOMPLETE_EXPIRY_SECS: i64 = 23 * 60 * 60;

/// Decline codes Stripe does not retry (the card will not work again).
pub const HARD_DECLINES: &[&str] = &[
    "stolen_card",
    "lost_card",
    "pickup_card",
    "fraudulent",
    "incorrect_number",
    "invalid_account",
    "restricted_card",
    "do_not_honor_permanently",
];

/// How failed renewal payments are retried and what happens after the last retry.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct BillingSettings {
    /// Days after the first failed attempt at which it is retried (default 1, 3, 5, 7).
    pub retry_days: Vec<i64>,
    /// What a subscription becomes when its invoice is still unpaid at the end of the window.
    pub after_retries: AfterRetries,
    /// Days before each renewal that `invoice.upcoming` is sent (Stripe's default 7; 0: none).
    pub upcoming_days: i64,
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            retry_days: vec![1, 3, 5, 7],
            after_retries: AfterRetries::Cancel,
            upcoming_days: 7,
        }
    }
}

/// The end of a failed renewal (Stripe's "subscription status after all retries fail").
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AfterRetries {
    /// The subscription is `canceled` (`customer.subscription.deleted`).
    Cancel,
    /// The subscription is `unpaid` and the invoice `uncollectible`.
    Unpaid,
}

/// Sandbox-only facts kept beside a subscription.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SubInternal {
    /// The period end `invoice.upcoming` was sent for.
    upcoming_sent_for: Option<i64>,
    /// The trial end `customer.subscription.trial_will_end` was sent for.
    #[serde(default)]
    trial_will_end_sent_for: Option<i64>,
    /// Proration lines waiting for the next invoice.
    pending: Vec<PendingLine>,
}

/// A proration line waiting for the next invoice.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PendingLine {
    description: String,
    amount: i64,
    start: i64,
    end: i64,
    price: String,
    product: String,
    item: String,
    quantity: i64,
}

/// Sandbox-only facts kept beside an invoice: its payment and its retry schedule.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct InvoiceInternal {
    payment_intent: Option<String>,
    invoice_payment: Option<String>,
    /// When the first attempt failed (the retry schedule counts from it).
    first_failed_at: Option<i64>,
    /// Automatic retries made so far.
    auto_retries: usize,
    /// False after a hard decline or failed authentication.
    retryable: bool,
}

fn internal_of<T: serde::de::DeserializeOwned + Default>(v: &Option<Value>) -> Result<T, ApiError> {
    Ok(v.clone()
        .map(serde_json::from_value)
        .transpose()?
        .unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Periods

/// `anchor` moved by `n` periods of `count` × `interval`; months and years keep the anchor's
/// day, clamped to the month's length (Jan 31 → Feb 28 → Mar 31), as Stripe's billing cycle.
pub fn add_interval(anchor: i64, interval: &str, count: i64, n: i64) -> i64 {
    let months = match interval {
        "day" => return anchor + n * count * DAY,
        "week" => return anchor + n * count * 7 * DAY,
        "year" => n * count * 12,
        _ => n * count,
    };
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(anchor) else {
        return anchor;
    };
    let total = i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1 + months;
    let year = i32::try_from(total.div_euclid(12)).unwrap_or(9999);
    let month = u8::try_from(total.rem_euclid(12) + 1).unwrap_or(1);
    let Ok(month) = time::Month::try_from(month) else {
        return anchor;
    };
    let day = t.day().min(month.length(year));
    time::Date::from_calendar_date(year, month, day)
        .map(|d| d.with_time(t.time()).assume_utc().unix_timestamp())
        .unwrap_or(anchor)
}

/// The first period boundary after `after` counted from `anchor`.
pub fn next_boundary(anchor: i64, interval: &str, count: i64, after: i64) -> i64 {
    (1..100_000)
        .map(|n| add_interval(anchor, interval, count, n))
        .find(|&end| end > after)
        .unwrap_or(after + DAY)
}

// ---------------------------------------------------------------------------------------------
// Loading and saving

/// A test clock by id.
pub async fn load_clock(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Versioned<TestClock>, ApiError> {
    Store::get_in::<TestClock>(conn, "test_helpers.test_clock", id)
        .await?
        .ok_or_else(|| ApiError::not_found("test_clock", id))
}

/// Now for objects on `clock` (its frozen time), or the sandbox's clock.
async fn now_for(
    conn: &mut SqliteConnection,
    state: &AppState,
    clock: Option<&str>,
) -> Result<i64, ApiError> {
    match clock {
        Some(c) => Ok(load_clock(conn, c).await?.object.frozen_time),
        None => Ok(state.clock.now()),
    }
}

async fn load_customer(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Versioned<Customer>, ApiError> {
    Store::get_in::<Customer>(conn, "customer", id)
        .await?
        .ok_or_else(|| ApiError::not_found("customer", id))
}

async fn load_sub(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<(Versioned<Subscription>, SubInternal), ApiError> {
    let v = Store::get_in::<Subscription>(conn, "subscription", id)
        .await?
        .ok_or_else(|| ApiError::not_found("subscription", id))?;
    let internal = internal_of(&v.internal)?;
    Ok((v, internal))
}

async fn save_sub(
    conn: &mut SqliteConnection,
    sub: &Subscription,
    version: i64,
    internal: &SubInternal,
) -> Result<(), ApiError> {
    if Store::update_with_internal(
        conn,
        &sub.id,
        version,
        sub,
        &serde_json::to_value(internal)?,
    )
    .await?
    {
        Ok(())
    } else {
        Err(ApiError::lock_timeout())
    }
}

async fn load_invoice(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<(Versioned<Invoice>, InvoiceInternal), ApiError> {
    let v = Store::get_in::<Invoice>(conn, "invoice", id)
        .await?
        .ok_or_else(|| ApiError::not_found("invoice", id))?;
    let internal = internal_of(&v.internal)?;
    Ok((v, internal))
}

async fn save_invoice(
    conn: &mut SqliteConnection,
    inv: &Invoice,
    version: i64,
    internal: &InvoiceInternal,
) -> Result<(), ApiError> {
    if Store::update_with_internal(
        conn,
        &inv.id,
        version,
        inv,
        &serde_json::to_value(internal)?,
    )
    .await?
    {
        Ok(())
    } else {
        Err(ApiError::lock_timeout())
    }
}

/// Reads, changes and saves a subscription in one step.
async fn modify_sub<F>(
    conn: &mut SqliteConnection,
    id: &str,
    f: F,
) -> Result<Subscription, ApiError>
where
    F: FnOnce(&mut Subscription, &mut SubInternal),
{
    let (v, mut internal) = load_sub(conn, id).await?;
    let mut sub = v.object;
    f(&mut sub, &mut internal);
    save_sub(conn, &sub, v.version, &internal).await?;
    Ok(sub)
}

/// The subscription of an invoice, from `parent.subscription_details.subscription`.
fn subscription_of(inv: &Invoice) -> Option<String> {
    inv.parent
        .as_ref()
        .and_then(|p| p["subscription_details"]["subscription"].as_str())
        .map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Trials

/// The `trial_end` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrialEnd {
    /// `trial_end=now`: the trial (or the current period) ends at once.
    Now,
    /// A unix timestamp.
    At(i64),
}

impl TrialEnd {
    /// Parses `now` or an integer timestamp, as Stripe's.
    pub fn parse(param: &str, value: &str) -> Result<TrialEnd, ApiError> {
        if value == "now" {
            return Ok(TrialEnd::Now);
        }
        value.parse().map(TrialEnd::At).map_err(|_| {
            ApiError::invalid_param(
                param,
                format!("Invalid timestamp: must be an integer Unix timestamp or `now` ({value})."),
            )
        })
    }

    /// The moment the trial ends, given now: `now`, or a time after it and at most two years on.
    fn at(self, now: i64) -> Result<i64, ApiError> {
        match self {
            TrialEnd::Now => Ok(now),
            TrialEnd::At(t) if t <= now => Err(ApiError::invalid_param(
                "trial_end",
                "Invalid timestamp: must be an integer Unix timestamp in the future.",
            )),
            TrialEnd::At(t) if t > now + MAX_TRIAL_SECS => Err(ApiError::invalid_param(
                "trial_end",
                "Invalid timestamp: can be no more than two years in the future.",
            )),
            TrialEnd::At(t) => Ok(t),
        }
    }
}

/// Starts (or moves the end of) a trial ending at `end` > `now`: `trialing`, the items' period
/// up to `end` (from `now`, or from the trial's start when it is already trialing), and the
/// billing cycle anchored at `end`. Returns whether `trial_will_end` is due at once (the trial
/// is shorter than the notice), recording it as sent.
fn start_trial(sub: &mut Subscription, internal: &mut SubInternal, end: i64, now: i64) -> bool {
    let start = match (sub.status.as_str(), sub.trial_start) {
        ("trialing", Some(start)) => start,
        _ => now,
    };
    sub.status = "trialing".into();
    sub.trial_start = Some(start);
    sub.trial_end = Some(end);
    sub.billing_cycle_anchor = end;
    for item in &mut sub.items.data {
        item.current_period_start = start;
        item.current_period_end = end;
    }
    let notice_now = end - TRIAL_WILL_END_SECS <= now;
    if notice_now {
        internal.trial_will_end_sent_for = Some(end);
    }
    notice_now
}

// ---------------------------------------------------------------------------------------------
// Creating subscriptions

/// `items[n][price_data]`.
#[allow(missing_docs)] // Stripe's parameters of the same names.
pub struct NewPriceData {
    pub currency: String,
    pub product: String,
    pub unit_amount: i64,
    pub recurring: NewRecurring,
}

/// One of `items[n]`.
#[allow(missing_docs)] // Stripe's parameters of the same names.
pub struct NewItem {
    pub price: Option<String>,
    pub price_data: Option<NewPriceData>,
    pub quantity: i64,
    pub metadata: Metadata,
}

/// The parameters of `POST /v1/subscriptions`.
#[allow(missing_docs)] // Stripe's parameters of the same names.
pub struct NewSubscription {
    pub customer: String,
    pub items: Vec<NewItem>,
    /// `allow_incomplete` (Stripe's default), `default_incomplete` or `error_if_incomplete`.
    pub payment_behavior: String,
    pub save_default_payment_method: Option<String>,
    pub default_payment_method: Option<String>,
    pub metadata: Metadata,
    pub description: Option<String>,
    pub cancel_at_period_end: bool,
    /// A trial: `trial_end=now` means none.
    pub trial_end: Option<TrialEnd>,
    /// A trial of this many days from now (not with `trial_end`).
    pub trial_period_days: Option<i64>,
}

/// `POST /v1/subscriptions`: the subscription, its first invoice (finalized, `open`) and that
/// invoice's PaymentIntent, in one transaction; paid at once unless `default_incomplete`. With
/// a trial the subscription is `trialing` and its first invoice is for 0 (paid at once).
pub async fn create_subscription(
    state: &AppState,
    new: NewSubscription,
) -> Result<Subscription, ApiError> {
    let mut tx = state.store.begin().await?;
    let customer = load_customer(&mut tx, &new.customer).await?.object;
    let now = now_for(&mut tx, state, customer.test_clock.as_deref()).await?;
    if let Some(pm) = &new.default_payment_method {
        require_customers_pm(&mut tx, pm, &customer.id, "default_payment_method").await?;
    }
    if new.items.is_empty() {
        return Err(ApiError::missing_param("items"));
    }
    let trial_end = match (new.trial_end, new.trial_period_days) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_param(
                "trial_period_days",
                "You may only specify one of these parameters: trial_end, trial_period_days.",
            ))
        }
        (Some(TrialEnd::Now), None) | (None, None) => None,
        (Some(t), None) => Some(t.at(now)?),
        (None, Some(days)) if !(0..=730).contains(&days) => {
            return Err(ApiError::invalid_param(
                "trial_period_days",
                "trial_period_days must be between 0 and 730.",
            ))
        }
        (None, Some(0)) => None,
        (None, Some(days)) => Some(now + days * DAY),
    };
    let id = state.ids.new_id("sub");
    let mut prices = Vec::new();
    for (n, item) in new.items.iter().enumerate() {
        let price = resolve_price(&mut tx, state, item, n).await?;
        prices.push(price);
    }
    let currency = prices[0].currency.clone();
    let Some(rec) = prices[0].recurring.clone() else {
        return Err(ApiError::internal(
            "resolve_price returned a one-time price",
        ));
    };
    if let Some((n, _)) = prices.iter().enumerate().find(|(_, p)| {
        p.currency != currency
            || p.recurring
                .as_ref()
                .map(|r| (&r.interval, r.interval_count))
                != Some((&rec.interval, rec.interval_count))
    }) {
        return Err(ApiError::invalid_param(
            &format!("items[{n}][price]"),
            "All prices on a subscription must have the same `currency` and `recurring[interval]` \
             with `recurring[interval_count]`.",
        ));
    }
    let end = trial_end.unwrap_or_else(|| add_interval(now, &rec.interval, rec.interval_count, 1));
    let items = new
        .items
        .iter()
        .zip(prices)
        .map(|(item, price)| SubscriptionItem {
            id: state.ids.new_id("si"),
            object: "subscription_item".into(),
            created: now,
            current_period_end: end,
            current_period_start: now,
            metadata: item.metadata.clone(),
            price,
            quantity: item.quantity,
            subscription: id.clone(),
        })
        .collect();
    let mut sub = Subscription {
        id: id.clone(),
        object: "subscription".into(),
        billing_cycle_anchor: now,
        cancel_at: None,
        cancel_at_period_end: new.cancel_at_period_end,
        canceled_at: None,
        cancellation_details: json!({ "comment": null, "feedback": null, "reason": null }),
        collection_method: "charge_automatically".into(),
        created: now,
        currency,
        customer: customer.id.clone(),
        default_payment_method: new.default_payment_method,
        description: new.description,
        ended_at: None,
        items: SubscriptionItems {
            object: "list".into(),
            data: items,
            has_more: false,
            url: format!("/v1/subscription_items?subscription={id}"),
        },
        latest_invoice: None,
        livemode: false,
        metadata: new.metadata,
        pause_collection: None,
        payment_settings: json!({
            "payment_method_options": null,
            "payment_method_types": null,
            "save_default_payment_method": new.save_default_payment_method.as_deref().unwrap_or("off"),
        }),
        start_date: now,
        status: "incomplete".into(),
        test_clock: customer.test_clock.clone(),
        trial_end: None,
        trial_start: None,
    };
    let mut internal = SubInternal::default();
    let trial_notice_now = match trial_end {
        Some(end) => start_trial(&mut sub, &mut internal, end, now),
        None => false,
    };
    let internal = serde_json::to_value(internal)?;
    Store::insert(&mut tx, &id, "subscription", now, &sub, Some(&internal)).await?;
    let invoice = create_invoice(
        &mut tx,
        state,
        &sub,
        &customer,
        "subscription_create",
        (now, end),
        (now, now),
        Vec::new(),
        now,
    )
    .await?;
    sub = modify_sub(&mut tx, &id, |s, _| {
        s.latest_invoice = Some(invoice.id.clone())
    })
    .await?;
    emit_at(&mut tx, state, "customer.subscription.created", &sub, now).await?;
    if trial_notice_now {
        emit_at(
            &mut tx,
            state,
            "customer.subscription.trial_will_end",
            &sub,
            now,
        )
        .await?;
    }
    let invoice = finalize(&mut tx, state, &invoice.id, now).await?;

    if invoice.amount_due == 0 {
        mark_paid(&mut tx, state, &invoice.id, None, now).await?;
    } else if new.payment_behavior != "default_incomplete" {
        let strict = new.payment_behavior == "error_if_incomplete";
        match default_pm(&mut tx, &sub, &customer).await? {
            Some(pm) => {
                // On-session: the customer is creating the subscription.
                let done = attempt(&mut tx, state, &invoice.id, &pm, false, now).await?;
                match done {
                    // The transaction is dropped: nothing was created, as Stripe's.
                    Confirmed::Declined(_, e) if strict => return Err(e),
                    Confirmed::Done(pi) if strict && pi.status != "succeeded" => {
                        return Err(ApiError::card(
                            "subscription_payment_intent_requires_action",
                            None,
                            "Payment for this subscription requires additional user action before it can be \
                             completed successfully.",
                            None,
                        ));
                    }
                    _ => {}
                }
            }
            None if strict => {
                return Err(ApiError::invalid_request(
                    "resource_missing",
                    "This customer has no attached payment source or default payment method. Please \
                     consider adding a default payment method.",
                ));
            }
            None => {}
        }
    }
    let sub = load_sub(&mut tx, &id).await?.0.object;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(sub)
}

/// The price of `items[n]`: an existing recurring price or one made from `price_data`.
async fn resolve_price(
    conn: &mut SqliteConnection,
    state: &AppState,
    item: &NewItem,
    n: usize,
) -> Result<Price, ApiError> {
    let price = match (&item.price, &item.price_data) {
        (Some(id), None) => {
            Store::get_in::<Price>(conn, "price", id)
                .await?
                .ok_or_else(|| ApiError::not_found(&format!("items[{n}][price]"), id))?
                .object
        }
        (None, Some(data)) => {
            catalogue::insert_price(
                conn,
                state,
                NewPrice {
                    product: ProductRef::Id(data.product.clone()),
                    currency: data.currency.clone(),
                    unit_amount: data.unit_amount,
                    recurring: Some(data.recurring.clone()),
                    lookup_key: None,
                    transfer_lookup_key: false,
                    nickname: None,
                    // Stripe's inline prices cannot be reused from the catalogue.
                    active: Some(false),
                    metadata: Metadata::new(),
                },
            )
            .await?
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_param(
                &format!("items[{n}][price_data]"),
                "You may only specify one of these parameters: price, price_data.",
            ))
        }
        (None, None) => return Err(ApiError::missing_param(&format!("items[{n}][price]"))),
    };
    if price.recurring.is_none() {
        return Err(ApiError::invalid_param(
            &format!("items[{n}][price]"),
            "The price specified is set to `type=one_time` but this field only accepts prices with \
             `type=recurring`.",
        ));
    }
    Ok(price)
}

async fn require_customers_pm(
    conn: &mut SqliteConnection,
    pm: &str,
    customer: &str,
    param: &str,
) -> Result<(), ApiError> {
    let found = Store::get_in::<PaymentMethod>(conn, "payment_method", pm)
        .await?
        .ok_or_else(|| ApiError::not_found(param, pm))?;
    if found.object.customer.as_deref() != Some(customer) {
        return Err(ApiError::invalid_param(
            param,
            format!("The customer does not have a payment method with the ID {pm}. The payment method must be attached to the customer."),
        ));
    }
    Ok(())
}

/// What renewals charge: the subscription's default payment method, else the customer's.
async fn default_pm(
    conn: &mut SqliteConnection,
    sub: &Subscription,
    customer: &Customer,
) -> Result<Option<String>, ApiError> {
    if sub.default_payment_method.is_some() {
        return Ok(sub.default_payment_method.clone());
    }
    // Re-read: the customer's default may have changed within this transaction.
    let c = load_customer(conn, &customer.id).await?.object;
    Ok(c.invoice_settings.default_payment_method)
}

// ---------------------------------------------------------------------------------------------
// Invoices

/// A line for each item (its price × quantity over `period`) and each pending proration.
async fn lines_for(
    conn: &mut SqliteConnection,
    state: &AppState,
    sub: &Subscription,
    invoice_id: &str,
    period: (i64, i64),
    pending: &[PendingLine],
) -> Result<Vec<Value>, ApiError> {
    let mut lines = Vec::new();
    // A period within the trial is free (the first invoice of a subscription with a trial).
    let free = sub.trial_end.is_some_and(|end| period.1 <= end);
    for item in &sub.items.data {
        let unit = if free {
            0
        } else {
            item.price.unit_amount.unwrap_or(0)
        };
        let name = Store::get_in::<Product>(conn, "product", &item.price.product)
            .await?
            .map_or_else(|| item.price.product.clone(), |p| p.object.name);
        let per = item
            .price
            .recurring
            .as_ref()
            .map(|r| {
                if r.interval_count == 1 {
                    r.interval.clone()
                } else {
                    format!("every {} {}s", r.interval_count, r.interval)
                }
            })
            .unwrap_or_default();
        let description = if free {
            format!("Trial period for {name}")
        } else {
            format!(
                "{} × {} (at {} / {})",
                item.quantity,
                name,
                display_amount(unit, &item.price.currency),
                per
            )
        };
        lines.push(line(
            state,
            invoice_id,
            sub,
            &item.id,
            &item.price.id,
            &item.price.product,
            unit * item.quantity,
            item.quantity,
            description,
            period,
            false,
        ));
    }
    for p in pending {
        lines.push(line(
            state,
            invoice_id,
            sub,
            &p.item,
            &p.price,
            &p.product,
            p.amount,
            p.quantity,
            p.description.clone(),
            (p.start, p.end),
            true,
        ));
    }
    Ok(lines)
}

fn display_amount(minor: i64, currency: &str) -> String {
    paywidget_core::money::Currency::from_code(currency)
        .map(|c| paywidget_core::money::Amount::from_minor(minor, c).to_string())
        .unwrap_or_else(|_| format!("{minor} {currency}"))
}

/// One `line_item`, in the post-2025-03-31 shape (`parent.subscription_item_details`,
/// `pricing.price_details`).
#[allow(clippy::too_many_arguments)]
fn line(
    state: &AppState,
    invoice_id: &str,
    sub: &Subscription,
    item: &str,
    price: &str,
    product: &str,
    amount: i64,
    quantity: i64,
    description: String,
    period: (i64, i64),
    proration: bool,
) -> Value {
    json!({
        "id": state.ids.new_id("il"),
        "object": "line_item",
        "amount": amount,
        "currency": sub.currency,
        "description": description,
        "discount_amounts": [],
        "discountable": !proration,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": false,
        "metadata": {},
        "parent": {
            "type": "subscription_item_details",
            "invoice_item_details": null,
            "subscription_item_details": {
                "invoice_item": null,
                "proration": proration,
                "proration_details": { "credited_items": null },
                "subscription": sub.id,
                "subscription_item": item,
            },
        },
        "period": { "end": period.1, "start": period.0 },
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": { "price": price, "product": product },
            "type": "price_details",
            "unit_amount_decimal": if quantity == 0 { "0".to_owned() } else { (amount / quantity).to_string() },
        },
        "quantity": quantity,
        "taxes": [],
    })
}

/// A draft invoice of the subscription's items over `line_period` (`invoice.created`).
#[allow(clippy::too_many_arguments)]
async fn create_invoice(
    conn: &mut SqliteConnection,
    state: &AppState,
    sub: &Subscription,
    customer: &Customer,
    reason: &str,
    line_period: (i64, i64),
    invoice_period: (i64, i64),
    pending: Vec<PendingLine>,
    now: i64,
) -> Result<Invoice, ApiError> {
    let inv = build_invoice(
        conn,
        state,
        &state.ids.new_id("in"),
        sub,
        customer,
        reason,
        line_period,
        invoice_period,
        &pending,
        now,
    )
    .await?;
    let internal = serde_json::to_value(InvoiceInternal {
        retryable: true,
        ..Default::default()
    })?;
    Store::insert(conn, &inv.id, "invoice", now, &inv, Some(&internal)).await?;
    emit_at(conn, state, "invoice.created", &inv, now).await?;
    Ok(inv)
}

#[allow(clippy::too_many_arguments)]
async fn build_invoice(
    conn: &mut SqliteConnection,
    state: &AppState,
    id: &str,
    sub: &Subscription,
    customer: &Customer,
    reason: &str,
    line_period: (i64, i64),
    invoice_period: (i64, i64),
    pending: &[PendingLine],
    now: i64,
) -> Result<Invoice, ApiError> {
    let lines = lines_for(conn, state, sub, id, line_period, pending).await?;
    let total: i64 = lines.iter().filter_map(|l| l["amount"].as_i64()).sum();
    // A credit larger than the charge leaves nothing due (Stripe would credit the balance).
    let due = total.max(0);
    Ok(Invoice {
        id: id.to_owned(),
        object: "invoice".into(),
        account_country: "US".into(),
        amount_due: due,
        amount_overpaid: 0,
        amount_paid: 0,
        amount_remaining: due,
        attempt_count: 0,
        attempted: false,
        auto_advance: true,
        billing_reason: reason.into(),
        collection_method: "charge_automatically".into(),
        created: now,
        currency: sub.currency.clone(),
        customer: customer.id.clone(),
        customer_email: customer.email.clone(),
        customer_name: customer.name.clone(),
        default_payment_method: None,
        description: None,
        due_date: None,
        effective_at: None,
        hosted_invoice_url: None,
        lines: InvoiceLines {
            object: "list".into(),
            total_count: lines.len() as i64,
            data: lines,
            has_more: false,
            url: format!("/v1/invoices/{id}/lines"),
        },
        livemode: false,
        metadata: Metadata::new(),
        next_payment_attempt: None,
        number: None,
        parent: Some(json!({
            "type": "subscription_details",
            "quote_details": null,
            "subscription_details": { "metadata": sub.metadata, "subscription": sub.id },
        })),
        period_end: invoice_period.1,
        period_start: invoice_period.0,
        status: "draft".into(),
        status_transitions: InvoiceTransitions::default(),
        subtotal: total,
        test_clock: sub.test_clock.clone(),
        total,
    })
}

/// Finalizes a draft: `open`, numbered, with its PaymentIntent and `invoice_payment` when
/// something is due (`invoice.finalized`).
async fn finalize(
    conn: &mut SqliteConnection,
    state: &AppState,
    id: &str,
    now: i64,
) -> Result<Invoice, ApiError> {
    let (v, mut internal) = load_invoice(conn, id).await?;
    let mut inv = v.object;
    let finalized = Store::find_in::<Value>(
        conn,
        "invoice",
        &[Filter::eq("customer", inv.customer.as_str())],
    )
    .await?
    .into_iter()
    .filter(|(_, i)| i.object["number"].is_string())
    .count();
    let prefix: String = inv
        .customer
        .trim_start_matches("cus_")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    inv.number = Some(format!("{prefix}-{:04}", finalized + 1));
    inv.status = "open".into();
    inv.effective_at = Some(now);
    inv.status_transitions.finalized_at = Some(now);
    if inv.amount_due > 0 {
        let sub = match subscription_of(&inv) {
            Some(s) => Some(load_sub(conn, &s).await?.0.object),
            None => None,
        };
        let saves = sub.as_ref().is_some_and(|s| {
            s.payment_settings["save_default_payment_method"] == "on_subscription"
        });
        let pi = payments::insert_intent(
            conn,
            state,
            NewPaymentIntent {
                amount: inv.amount_due,
                currency: inv.currency.clone(),
                capture_method: "automatic".into(),
                customer: Some(inv.customer.clone()),
                description: Some(
                    if inv.billing_reason == "subscription_create" {
                        "Subscription creation"
                    } else {
                        "Subscription update"
                    }
                    .into(),
                ),
                // With `on_subscription`, the card confirmed for the first invoice is kept
                // (attached to the customer) for the renewals, as Stripe's.
                setup_future_usage: (saves && inv.billing_reason == "subscription_create")
                    .then(|| "off_session".into()),
                ..Default::default()
            },
            now,
        )
        .await?;
        let payment = InvoicePayment {
            id: state.ids.new_id("inpay"),
            object: "invoice_payment".into(),
            amount_paid: None,
            amount_requested: inv.amount_due,
            created: now,
            currency: inv.currency.clone(),
            invoice: inv.id.clone(),
            is_default: true,
            livemode: false,
            payment: json!({ "type": "payment_intent", "payment_intent": pi.id }),
            status: "open".into(),
            status_transitions: json!({ "canceled_at": null, "paid_at": null }),
        };
        Store::insert(conn, &payment.id, "invoice_payment", now, &payment, None).await?;
        internal.payment_intent = Some(pi.id);
        internal.invoice_payment = Some(payment.id);
    }
    save_invoice(conn, &inv, v.version, &internal).await?;
    emit_at(conn, state, "invoice.finalized", &inv, now).await?;
    Ok(inv)
}

/// Confirms the invoice's PaymentIntent with `pm` at `now`; the outcome reaches the invoice
/// through [`after_payment`].
async fn attempt(
    conn: &mut SqliteConnection,
    state: &AppState,
    invoice: &str,
    pm: &str,
    off_session: bool,
    now: i64,
) -> Result<Confirmed, ApiError> {
    let (_, internal) = load_invoice(conn, invoice).await?;
    let pi = internal
        .payment_intent
        .ok_or_else(|| ApiError::internal("an invoice with an amount due has no payment intent"))?;
    payments::confirm_in(
        conn,
        state,
        &pi,
        ConfirmParams {
            payment_method: Some(pm.to_owned()),
            off_session,
            ..Default::default()
        },
        now,
    )
    .await
}

/// Called by every confirmation (and 3-D Secure's end) after the intent is saved: if it pays an
/// invoice, the invoice, its payment and its subscription follow, in the same transaction.
pub async fn after_payment(
    conn: &mut SqliteConnection,
    state: &AppState,
    pi: &PaymentIntent,
    now: i64,
) -> Result<(), ApiError> {
    let found = Store::find_in::<InvoicePayment>(
        conn,
        "invoice_payment",
        &[Filter::eq("payment.payment_intent", pi.id.as_str())],
    )
    .await?;
    let Some((_, payment)) = found.into_iter().next() else {
        return Ok(());
    };
    let invoice = payment.object.invoice;
    match pi.status.as_str() {
        "succeeded" => mark_paid(conn, state, &invoice, Some(pi), now).await,
        "requires_action" => {
            let (v, _) = load_invoice(conn, &invoice).await?;
            emit_at(
                conn,
                state,
                "invoice.payment_action_required",
                &v.object,
                now,
            )
            .await?;
            Ok(())
        }
        "requires_payment_method" => {
            let err = pi.last_payment_error.clone().unwrap_or(Value::Null);
            record_failure(
                conn,
                state,
                &invoice,
                err["code"].as_str(),
                err["decline_code"].as_str(),
                now,
            )
            .await
        }
        _ => Ok(()),
    }
}

/// The invoice is paid (`invoice.paid`, `invoice.payment_succeeded`, `invoice_payment.paid`);
/// its subscription becomes `active` and, with `save_default_payment_method=on_subscription`,
/// keeps the card as its default payment method.
async fn mark_paid(
    conn: &mut SqliteConnection,
    state: &AppState,
    invoice: &str,
    pi: Option<&PaymentIntent>,
    now: i64,
) -> Result<(), ApiError> {
    let (v, mut internal) = load_invoice(conn, invoice).await?;
    let mut inv = v.object;
    if !matches!(inv.status.as_str(), "open" | "uncollectible") {
        return Ok(());
    }
    inv.status = "paid".into();
    inv.amount_paid = inv.amount_due;
    inv.amount_remaining = 0;
    if pi.is_some() {
        inv.attempt_count += 1;
        inv.attempted = true;
    }
    inv.next_payment_attempt = None;
    inv.status_transitions.paid_at = Some(now);
    internal.first_failed_at = None;
    save_invoice(conn, &inv, v.version, &internal).await?;
    emit_at(conn, state, "invoice.paid", &inv, now).await?;
    emit_at(conn, state, "invoice.payment_succeeded", &inv, now).await?;
    if let Some(pay_id) = &internal.invoice_payment {
        if let Some(mut pay) =
            Store::get_in::<InvoicePayment>(conn, "invoice_payment", pay_id).await?
        {
            pay.object.status = "paid".into();
            pay.object.amount_paid = Some(inv.amount_paid);
            pay.object.status_transitions["paid_at"] = json!(now);
            if !Store::update(conn, pay_id, pay.version, &pay.object).await? {
                return Err(ApiError::lock_timeout());
            }
            emit_at(conn, state, "invoice_payment.paid", &pay.object, now).await?;
        }
    }
    let Some(sub_id) = subscription_of(&inv) else {
        return Ok(());
    };
    let (sv, si) = load_sub(conn, &sub_id).await?;
    let mut sub = sv.object.clone();
    if matches!(sub.status.as_str(), "incomplete" | "past_due" | "unpaid") {
        sub.status = "active".into();
    }
    if sub.payment_settings["save_default_payment_method"] == "on_subscription" {
        if let Some(pm) = pi.and_then(|p| p.payment_method.clone()) {
            sub.default_payment_method = Some(pm);
        }
    }
    if serde_json::to_value(&sub)? != serde_json::to_value(&sv.object)? {
        save_sub(conn, &sub, sv.version, &si).await?;
        emit_updated_at(
            conn,
            state,
            "customer.subscription.updated",
            &sv.object,
            &sub,
            now,
        )
        .await?;
    }
    Ok(())
}

/// A failed attempt: `attempt_count`+1, the next retry per the schedule (none for the first
/// invoice, hard declines and failed authentication), `invoice.payment_failed` (and
/// `invoice.payment_action_required` when authentication is needed), the subscription
/// `past_due`.
async fn record_failure(
    conn: &mut SqliteConnection,
    state: &AppState,
    invoice: &str,
    code: Option<&str>,
    decline_code: Option<&str>,
    now: i64,
) -> Result<(), ApiError> {
    let (v, mut internal) = load_invoice(conn, invoice).await?;
    let mut inv = v.object;
    if !matches!(inv.status.as_str(), "open" | "uncollectible") {
        return Ok(());
    }
    inv.attempt_count += 1;
    inv.attempted = true;
    let needs_auth = code == Some("authentication_required");
    let hard = decline_code.is_some_and(|d| HARD_DECLINES.contains(&d))
        || code.is_some_and(|c| {
            matches!(
                c,
                "authentication_required"
                    | "incorrect_number"
                    | "payment_intent_authentication_failure"
            )
        });
    let renewal = inv.billing_reason != "subscription_create";
    if renewal {
        if internal.first_failed_at.is_none() {
            internal.first_failed_at = Some(now);
            internal.retryable = true;
        }
        if hard {
            internal.retryable = false;
        }
        let days = &state.billing.retry_days;
        inv.next_payment_attempt = match (internal.retryable, internal.first_failed_at) {
            (true, Some(first)) if internal.auto_retries < days.len() => {
                Some(first + days[internal.auto_retries] * DAY)
            }
            _ => None,
        };
    }
    save_invoice(conn, &inv, v.version, &internal).await?;
    emit_at(conn, state, "invoice.payment_failed", &inv, now).await?;
    if needs_auth {
        emit_at(conn, state, "invoice.payment_action_required", &inv, now).await?;
    }
    if let (true, Some(sub_id)) = (renewal, subscription_of(&inv)) {
        let (sv, si) = load_sub(conn, &sub_id).await?;
        let mut sub = sv.object.clone();
        if sub.status == "active" {
            sub.status = "past_due".into();
            save_sub(conn, &sub, sv.version, &si).await?;
            emit_updated_at(
                conn,
                state,
                "customer.subscription.updated",
                &sv.object,
                &sub,
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// Voids an open invoice (its PaymentIntent canceled, its payment `canceled`).
async fn void(
    conn: &mut SqliteConnection,
    state: &AppState,
    invoice: &str,
    now: i64,
) -> Result<(), ApiError> {
    let (v, internal) = load_invoice(conn, invoice).await?;
    let mut inv = v.object;
    inv.status = "void".into();
    inv.next_payment_attempt = None;
    inv.status_transitions.voided_at = Some(now);
    save_invoice(conn, &inv, v.version, &internal).await?;
    if let Some(pi) = &internal.payment_intent {
        let current: Option<Versioned<PaymentIntent>> =
            Store::get_in(conn, "payment_intent", pi).await?;
        if current.is_some_and(|p| p.object.status != "succeeded" && p.object.status != "canceled")
        {
            payments::cancel_in(conn, state, pi, Some("void_invoice".into()), now).await?;
        }
    }
    if let Some(pay_id) = &internal.invoice_payment {
        if let Some(mut pay) =
            Store::get_in::<InvoicePayment>(conn, "invoice_payment", pay_id).await?
        {
            pay.object.status = "canceled".into();
            pay.object.status_transitions["canceled_at"] = json!(now);
            if !Store::update(conn, pay_id, pay.version, &pay.object).await? {
                return Err(ApiError::lock_timeout());
            }
        }
    }
    emit_at(conn, state, "invoice.voided", &inv, now).await?;
    Ok(())
}

async fn mark_uncollectible(
    conn: &mut SqliteConnection,
    state: &AppState,
    invoice: &str,
    now: i64,
) -> Result<(), ApiError> {
    let (v, internal) = load_invoice(conn, invoice).await?;
    let mut inv = v.object;
    inv.status = "uncollectible".into();
    inv.next_payment_attempt = None;
    inv.status_transitions.marked_uncollectible_at = Some(now);
    save_invoice(conn, &inv, v.version, &internal).await?;
    emit_at(conn, state, "invoice.marked_uncollectible", &inv, now).await?;
    Ok(())
}

/// `POST /v1/invoices/:id/pay`: charges an `open` (or `uncollectible`) invoice now, off-session,
/// with `payment_method` or the default one; a decline answers 402 as Stripe's.
pub async fn pay_invoice(
    state: &AppState,
    id: &str,
    payment_method: Option<String>,
) -> Result<Invoice, ApiError> {
    let mut tx = state.store.begin().await?;
    let (v, _) = load_invoice(&mut tx, id).await?;
    let inv = v.object;
    let now = now_for(&mut tx, state, inv.test_clock.as_deref()).await?;
    run_until(&mut tx, state, inv.test_clock.as_deref(), now).await?;
    let (v, _) = load_invoice(&mut tx, id).await?;
    let inv = v.object;
    match inv.status.as_str() {
        "open" | "uncollectible" => {}
        "paid" => {
            return Err(ApiError::invalid_request(
                "invoice_already_paid",
                "Invoice is already paid",
            ))
        }
        other => {
            return Err(ApiError::invalid_request(
                "invoice_not_payable",
                format!(
                "You can only pay an invoice that is open or uncollectible; this one is {other}."
            ),
            ))
        }
    }
    if inv.amount_due == 0 {
        mark_paid(&mut tx, state, id, None, now).await?;
    } else {
        let customer = load_customer(&mut tx, &inv.customer).await?.object;
        let pm = match payment_method {
            Some(pm) => Some(pm),
            None => match subscription_of(&inv) {
                Some(s) => {
                    let sub = load_sub(&mut tx, &s).await?.0.object;
                    default_pm(&mut tx, &sub, &customer).await?
                }
                None => customer.invoice_settings.default_payment_method.clone(),
            },
        };
        let pm = pm.ok_or_else(|| {
            ApiError::invalid_request(
                "invoice_no_customer_payment_method",
                "This customer has no attached payment source or default payment method. Please consider \
                 adding a default payment method.",
            )
        })?;
        if let Confirmed::Declined(_, e) = attempt(&mut tx, state, id, &pm, true, now).await? {
            tx.commit().await?;
            state.deliveries_queued.notify_one();
            return Err(e);
        }
    }
    let inv = load_invoice(&mut tx, id).await?.0.object;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(inv)
}

// ---------------------------------------------------------------------------------------------
// The billing clock

/// Something due on a subscription's timeline.
#[derive(Debug)]
enum Action {
    /// 23 h after creation, still `incomplete`.
    Expire,
    /// An automatic retry of an open renewal invoice.
    Retry(String),
    /// The retry window of an open renewal invoice is over.
    End(String),
    /// `invoice.upcoming` before a renewal.
    Upcoming,
    /// `customer.subscription.trial_will_end` before a trial ends.
    TrialWillEnd,
    /// The period (or trial) ends: renew, or cancel at the period end.
    PeriodEnd,
}

impl Action {
    /// Among actions due at the same second: expiry, then payments, then the period's end.
    fn rank(&self) -> u8 {
        match self {
            Action::Expire => 0,
            Action::Retry(_) => 1,
            Action::End(_) => 2,
            Action::Upcoming => 3,
            Action::TrialWillEnd => 4,
            Action::PeriodEnd => 5,
        }
    }
}

fn clock_filter(clock: Option<&str>) -> Filter {
    match clock {
        Some(c) => Filter::eq("test_clock", c),
        None => Filter::Null("test_clock".into()),
    }
}

/// The earliest action due at or before `until` on one subscription, given its open invoices.
/// Among actions due at the same second, the lower [`Action::rank`] first.
fn due_of(
    state: &AppState,
    sub: &Versioned<Subscription>,
    open: &[&Versioned<Invoice>],
    until: i64,
) -> Result<Option<(i64, Action)>, ApiError> {
    let mut best: Option<(i64, Action)> = None;
    let mut consider = |at: i64, action: Action| {
        if at > until {
            return;
        }
        let better = match &best {
            None => true,
            Some((t, a)) => (at, action.rank()) < (*t, a.rank()),
        };
        if better {
            best = Some((at, action));
        }
    };
    let internal: SubInternal = internal_of(&sub.internal)?;
    let sub = &sub.object;
    if matches!(sub.status.as_str(), "canceled" | "incomplete_expired") {
        return Ok(None);
    }
    if sub.status == "incomplete" {
        consider(sub.created + INCOMPLETE_EXPIRY_SECS, Action::Expire);
        return Ok(best);
    }
    let Some(item) = sub.items.data.first() else {
        return Ok(None);
    };
    let end = item.current_period_end;
    consider(end, Action::PeriodEnd);
    let notice = state.billing.upcoming_days;
    if notice > 0 && !sub.cancel_at_period_end && internal.upcoming_sent_for != Some(end) {
        // Never before the period began (a period or trial shorter than the notice: at its
        // start).
        let at = (end - notice * DAY).max(item.current_period_start);
        consider(at, Action::Upcoming);
    }
    if let (Some(trial_end), "trialing") = (sub.trial_end, sub.status.as_str()) {
        if internal.trial_will_end_sent_for != Some(trial_end) {
            consider(trial_end - TRIAL_WILL_END_SECS, Action::TrialWillEnd);
        }
    }
    for inv in open {
        let ii: InvoiceInternal = internal_of(&inv.internal)?;
        let Some(first) = ii.first_failed_at else {
            continue;
        };
        match inv.object.next_payment_attempt {
            Some(at) => consider(at, Action::Retry(inv.object.id.clone())),
            None => {
                let last = state.billing.retry_days.last().copied().unwrap_or(0);
                consider(first + last * DAY, Action::End(inv.object.id.clone()));
            }
        }
    }
    Ok(best)
}

/// The open invoices of one subscription.
async fn open_invoices_of(
    conn: &mut SqliteConnection,
    sub: &str,
) -> Result<Vec<Versioned<Invoice>>, ApiError> {
    Ok(Store::find_in::<Invoice>(
        conn,
        "invoice",
        &[
            Filter::eq("parent.subscription_details.subscription", sub),
            Filter::eq("status", "open"),
        ],
    )
    .await?
    .into_iter()
    .map(|(_, v)| v)
    .collect())
}

/// Runs, in time order, everything due up to `until` on the subscriptions on `clock` (or on
/// the sandbox's clock for `None`), each at its own time.
///
/// What is due is worked out once for every subscription (two queries), then, after each
/// action, again only for the subscription it changed: one subscription's timeline never moves
/// another's, and a clock with a thousand subscriptions must advance in seconds, not by
/// rescanning all of them (and their invoices) at every step. Ties go to the earlier action
/// rank, then to the subscription created first.
pub(crate) async fn run_until(
    conn: &mut SqliteConnection,
    state: &AppState,
    clock: Option<&str>,
    until: i64,
) -> Result<(), ApiError> {
    let subs = Store::find_in::<Subscription>(
        conn,
        "subscription",
        &[
            clock_filter(clock),
            Filter::NotEq("status".into(), "canceled".into()),
            Filter::NotEq("status".into(), "incomplete_expired".into()),
        ],
    )
    .await?;
    if subs.is_empty() {
        return Ok(());
    }
    let open = Store::find_in::<Invoice>(conn, "invoice", &[Filter::eq("status", "open")]).await?;
    let mut open_by_sub: std::collections::HashMap<String, Vec<&Versioned<Invoice>>> =
        std::collections::HashMap::new();
    for (_, inv) in &open {
        if let Some(sub) = subscription_of(&inv.object) {
            open_by_sub.entry(sub).or_default().push(inv);
        }
    }
    let mut due = Vec::with_capacity(subs.len());
    for (id, v) in &subs {
        let invoices = open_by_sub.get(id).map_or(&[][..], Vec::as_slice);
        due.push(due_of(state, v, invoices, until)?);
    }
    // A bound against a timeline that never settles (each step moves time or state forward).
    for _ in 0..100_000 {
        let next = due
            .iter()
            .enumerate()
            .filter_map(|(n, d)| d.as_ref().map(|(at, a)| (*at, a.rank(), n)))
            .min();
        let Some((n, (at, action))) = next.and_then(|(_, _, n)| Some((n, due[n].take()?))) else {
            return Ok(());
        };
        let id = subs[n].0.as_str();
        run_action(conn, state, id, action, at).await?;
        let (v, _) = load_sub(conn, id).await?;
        let invoices = open_invoices_of(conn, id).await?;
        let invoices: Vec<&Versioned<Invoice>> = invoices.iter().collect();
        due[n] = due_of(state, &v, &invoices, until)?;
    }
    Err(ApiError::internal("the billing clock did not settle"))
}

/// Catches up the subscriptions that follow the sandbox's own clock (read and write paths call
/// this first).
pub async fn catch_up(state: &AppState) -> Result<(), ApiError> {
    let mut tx = state.store.begin().await?;
    run_until(&mut tx, state, None, state.clock.now()).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(())
}

async fn run_action(
    conn: &mut SqliteConnection,
    state: &AppState,
    sub_id: &str,
    action: Action,
    at: i64,
) -> Result<(), ApiError> {
    match action {
        Action::Expire => {
            let sub = modify_sub(conn, sub_id, |s, _| {
                s.status = "incomplete_expired".into();
                s.ended_at = Some(at);
            })
            .await?;
            if let Some(inv) = &sub.latest_invoice {
                let (v, _) = load_invoice(conn, inv).await?;
                if v.object.status == "open" {
                    void(conn, state, inv, at).await?;
                }
            }
            // The subscription has ended for good: Stripe's "deleted".
            emit_at(conn, state, "customer.subscription.deleted", &sub, at).await?;
        }
        Action::Upcoming => {
            let (v, internal) = load_sub(conn, sub_id).await?;
            let sub = v.object;
            let Some(item) = sub.items.data.first() else {
                return Ok(());
            };
            let (start, end) = (item.current_period_end, next_period_end(&sub));
            let customer = load_customer(conn, &sub.customer).await?.object;
            let preview_id = format!("upcoming_in_{}", sub.id.trim_start_matches("sub_"));
            let mut preview = build_invoice(
                conn,
                state,
                &preview_id,
                &sub,
                &customer,
                "upcoming",
                (start, end),
                (item.current_period_start, start),
                &internal.pending,
                at,
            )
            .await?;
            preview.next_payment_attempt = Some(start);
            let mut internal = internal;
            internal.upcoming_sent_for = Some(start);
            save_sub(conn, &sub, v.version, &internal).await?;
            emit_at(conn, state, "invoice.upcoming", &preview, at).await?;
        }
        Action::TrialWillEnd => {
            let sub = modify_sub(conn, sub_id, |s, i| {
                i.trial_will_end_sent_for = s.trial_end;
            })
            .await?;
            emit_at(
                conn,
                state,
                "customer.subscription.trial_will_end",
                &sub,
                at,
            )
            .await?;
        }
        Action::PeriodEnd => period_end(conn, state, sub_id, at).await?,
        Action::Retry(invoice) => {
            let (v, mut internal) = load_invoice(conn, &invoice).await?;
            let mut inv = v.object;
            internal.auto_retries += 1;
            inv.next_payment_attempt = None;
            save_invoice(conn, &inv, v.version, &internal).await?;
            charge_off_session(conn, state, sub_id, &invoice, at).await?;
        }
        Action::End(invoice) => match state.billing.after_retries {
            AfterRetries::Cancel => {
                let sub = modify_sub(conn, sub_id, |s, _| {
                    s.status = "canceled".into();
                    s.canceled_at = Some(at);
                    s.ended_at = Some(at);
                    s.cancellation_details["reason"] = json!("payment_failed");
                })
                .await?;
                emit_at(conn, state, "customer.subscription.deleted", &sub, at).await?;
            }
            AfterRetries::Unpaid => {
                mark_uncollectible(conn, state, &invoice, at).await?;
                let (v, si) = load_sub(conn, sub_id).await?;
                let mut sub = v.object.clone();
                if sub.status != "unpaid" {
                    sub.status = "unpaid".into();
                    save_sub(conn, &sub, v.version, &si).await?;
                    emit_updated_at(
                        conn,
                        state,
                        "customer.subscription.updated",
                        &v.object,
                        &sub,
                        at,
                    )
                    .await?;
                }
            }
        },
    }
    Ok(())
}

/// The end of the current period counted from the billing cycle anchor.
fn next_period_end(sub: &Subscription) -> i64 {
    let Some(item) = sub.items.data.first() else {
        return sub.billing_cycle_anchor;
    };
    let (interval, count) = item
        .price
        .recurring
        .as_ref()
        .map_or(("month", 1), |r| (r.interval.as_str(), r.interval_count));
    next_boundary(
        sub.billing_cycle_anchor,
        interval,
        count,
        item.current_period_end,
    )
}

/// A period ends: cancel (`cancel_at_period_end`), or move the items to the next period and
/// invoice it — charged off-session, or per `pause_collection`.
async fn period_end(
    conn: &mut SqliteConnection,
    state: &AppState,
    sub_id: &str,
    at: i64,
) -> Result<(), ApiError> {
    let (v, mut internal) = load_sub(conn, sub_id).await?;
    let before = v.object.clone();
    let mut sub = v.object;
    if sub.cancel_at_period_end {
        sub.status = "canceled".into();
        sub.ended_at = Some(at);
        sub.canceled_at = sub.canceled_at.or(Some(at));
        save_sub(conn, &sub, v.version, &internal).await?;
        emit_at(conn, state, "customer.subscription.deleted", &sub, at).await?;
        return Ok(());
    }
    let old = sub
        .items
        .data
        .first()
        .map(|i| (i.current_period_start, i.current_period_end))
        .unwrap_or((at, at));
    let next = next_period_end(&sub);
    for item in &mut sub.items.data {
        item.current_period_start = old.1;
        item.current_period_end = next;
    }
    // A trial's end: the subscription is active from now (past_due if this payment fails).
    if sub.status == "trialing" {
        sub.status = "active".into();
    }
    let pending = std::mem::take(&mut internal.pending);
    let customer = load_customer(conn, &sub.customer).await?.object;
    let inv = create_invoice(
        conn,
        state,
        &sub,
        &customer,
        "subscription_cycle",
        (old.1, next),
        old,
        pending,
        at,
    )
    .await?;
    sub.latest_invoice = Some(inv.id.clone());
    save_sub(conn, &sub, v.version, &internal).await?;
    emit_updated_at(
        conn,
        state,
        "customer.subscription.updated",
        &before,
        &sub,
        at,
    )
    .await?;
    let pause = sub
        .pause_collection
        .as_ref()
        .and_then(|p| p["behavior"].as_str())
        .map(str::to_owned);
    match pause.as_deref() {
        // Left as a draft: nothing is finalized or charged.
        Some("keep_as_draft") => {}
        Some("void") => {
            finalize(conn, state, &inv.id, at).await?;
            void(conn, state, &inv.id, at).await?;
        }
        Some(_) => {
            finalize(conn, state, &inv.id, at).await?;
            mark_uncollectible(conn, state, &inv.id, at).await?;
        }
        None => {
            let inv = finalize(conn, state, &inv.id, at).await?;
            if inv.amount_due == 0 {
                mark_paid(conn, state, &inv.id, None, at).await?;
            } else {
                charge_off_session(conn, state, sub_id, &inv.id, at).await?;
            }
        }
    }
    Ok(())
}

/// An automatic attempt: the default payment method, off-session. A confirmation the sandbox
/// refuses (no payment method, one of another customer, an intent awaiting authentication)
/// counts as a failed attempt.
async fn charge_off_session(
    conn: &mut SqliteConnection,
    state: &AppState,
    sub_id: &str,
    invoice: &str,
    at: i64,
) -> Result<(), ApiError> {
    let sub = load_sub(conn, sub_id).await?.0.object;
    let customer = load_customer(conn, &sub.customer).await?.object;
    let Some(pm) = default_pm(conn, &sub, &customer).await? else {
        return record_failure(conn, state, invoice, None, None, at).await;
    };
    match attempt(conn, state, invoice, &pm, true, at).await {
        Ok(_) => Ok(()),
        Err(e) if e.status.is_client_error() => {
            record_failure(conn, state, invoice, e.code.as_deref(), None, at).await
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Updates and cancellation

/// One of `items[n]` of an update.
#[allow(missing_docs)] // Stripe's parameters of the same names.
pub struct ItemUpdate {
    pub id: Option<String>,
    pub price: Option<String>,
    pub quantity: Option<i64>,
}

/// The parameters of `POST /v1/subscriptions/:id` (absent = unchanged).
#[allow(missing_docs)] // Stripe's parameters of the same names.
#[derive(Default)]
pub struct SubscriptionUpdate {
    pub cancel_at_period_end: Option<bool>,
    /// `Some(None)`: `pause_collection=` (resume); `Some(Some(behavior))`: pause.
    pub pause_collection: Option<Option<String>>,
    /// `Some(None)` clears it.
    pub default_payment_method: Option<Option<String>>,
    pub items: Vec<ItemUpdate>,
    /// `create_prorations` (Stripe's default) or `none`.
    pub proration_behavior: Option<String>,
    pub metadata: Metadata,
    pub metadata_unset: Vec<String>,
    pub description: Option<String>,
    /// Starts, moves or ends (`now`) a trial; lets `items` change the billing interval.
    pub trial_end: Option<TrialEnd>,
}

/// `POST /v1/subscriptions/:id`. With `trial_end` the current period ends at the trial's end
/// (at once for `now`, renewing now) and a new billing cycle starts there.
pub async fn update_subscription(
    state: &AppState,
    id: &str,
    upd: SubscriptionUpdate,
) -> Result<Subscription, ApiError> {
    let mut tx = state.store.begin().await?;
    let clock = load_sub(&mut tx, id).await?.0.object.test_clock;
    let now = now_for(&mut tx, state, clock.as_deref()).await?;
    run_until(&mut tx, state, clock.as_deref(), now).await?;
    let (v, mut internal) = load_sub(&mut tx, id).await?;
    let before = v.object.clone();
    let mut sub = v.object;
    if matches!(sub.status.as_str(), "canceled" | "incomplete_expired") {
        return Err(ApiError::invalid_request(
            "resource_missing",
            format!("A canceled subscription can only update its cancellation_details and metadata. ({id})"),
        ));
    }
    let trial_end = match upd.trial_end {
        Some(t) => {
            let at = t.at(now)?;
            if !matches!(sub.status.as_str(), "active" | "trialing") {
                return Err(ApiError::invalid_param(
                    "trial_end",
                    format!(
                        "The sandbox sets `trial_end` only on an active or trialing subscription; \
                         this one is {}.",
                        sub.status
                    ),
                ));
            }
            Some(at)
        }
        None => None,
    };
    if let Some(c) = upd.cancel_at_period_end {
        sub.cancel_at_period_end = c;
        // As Stripe's: `canceled_at` is when cancellation was requested, cleared on undo.
        sub.canceled_at = c.then_some(now);
        sub.cancellation_details["reason"] = if c {
            json!("cancellation_requested")
        } else {
            Value::Null
        };
    }
    if let Some(p) = upd.pause_collection {
        sub.pause_collection =
            p.map(|behavior| json!({ "behavior": behavior, "resumes_at": null }));
    }
    if let Some(pm) = upd.default_payment_method {
        if let Some(pm) = &pm {
            require_customers_pm(&mut tx, pm, &sub.customer, "default_payment_method").await?;
        }
        sub.default_payment_method = pm;
    }
    if upd.description.is_some() {
        sub.description = upd.description;
    }
    sub.metadata.extend(upd.metadata);
    for k in upd.metadata_unset {
        sub.metadata.remove(&k);
    }
    let prorate = upd
        .proration_behavior
        .as_deref()
        .unwrap_or("create_prorations")
        == "create_prorations";
    let n_items = upd.items.len();
    for (n, change) in upd.items.into_iter().enumerate() {
        change_item(
            &mut tx,
            state,
            &mut sub,
            &mut internal,
            n,
            change,
            // A trial ends the current period now: the changes are not prorated over it.
            prorate && trial_end.is_none(),
            trial_end.is_some(),
            now,
        )
        .await?;
    }
    if n_items > 0 && trial_end.is_some() {
        same_interval(&sub)?;
    }
    let mut trial_notice_now = false;
    if let Some(end) = trial_end {
        if prorate && before.status == "active" {
            credit_unused_time(&before, &mut internal, now);
        }
        if end > now {
            trial_notice_now = start_trial(&mut sub, &mut internal, end, now);
        } else {
            // `now`: the period (a trial's, or a paid one) ends at once and renews below.
            if sub.status == "trialing" {
                trial_notice_now = internal.trial_will_end_sent_for != Some(end);
                internal.trial_will_end_sent_for = Some(end);
            } else {
                sub.trial_start = Some(now);
            }
            sub.trial_end = Some(now);
            sub.billing_cycle_anchor = now;
            for item in &mut sub.items.data {
                item.current_period_end = now;
            }
        }
    }
    // Invoices carry a copy of the subscription's metadata from now on.
    save_sub(&mut tx, &sub, v.version, &internal).await?;
    emit_updated_at(
        &mut tx,
        state,
        "customer.subscription.updated",
        &before,
        &sub,
        now,
    )
    .await?;
    if trial_notice_now {
        emit_at(
            &mut tx,
            state,
            "customer.subscription.trial_will_end",
            &sub,
            now,
        )
        .await?;
    }
    if trial_end == Some(now) {
        // The period ends now: its renewal runs in this transaction.
        run_until(&mut tx, state, clock.as_deref(), now).await?;
        sub = load_sub(&mut tx, id).await?.0.object;
    }
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(sub)
}

/// After a change of prices with `trial_end`: every item must still bill at one interval.
fn same_interval(sub: &Subscription) -> Result<(), ApiError> {
    let interval = |i: &SubscriptionItem| {
        i.price
            .recurring
            .as_ref()
            .map(|r| (r.interval.clone(), r.interval_count))
    };
    let first = sub.items.data.first().map(interval);
    match sub
        .items
        .data
        .iter()
        .position(|i| Some(interval(i)) != first)
    {
        Some(n) => Err(ApiError::invalid_param(
            &format!("items[{n}][price]"),
            "All prices on a subscription must have the same `recurring[interval]` with \
             `recurring[interval_count]`.",
        )),
        None => Ok(()),
    }
}

/// The unused time of the paid period of `before`'s items (from `now` to its end), credited on
/// the next invoice: the period ends early for a trial.
fn credit_unused_time(before: &Subscription, internal: &mut SubInternal, now: i64) {
    for item in &before.items.data {
        let (start, end) = (item.current_period_start, item.current_period_end);
        let amount = item.price.unit_amount.unwrap_or(0) * item.quantity;
        if amount == 0 || now >= end {
            continue;
        }
        let span = (end - start).max(1);
        let left = (end - now).clamp(0, span);
        let unused = ((i128::from(amount) * i128::from(left) + i128::from(span) / 2)
            / i128::from(span)) as i64;
        let name = item
            .price
            .nickname
            .clone()
            .unwrap_or_else(|| item.price.product.clone());
        internal.pending.push(PendingLine {
            description: format!("Unused time on {} × {}", item.quantity, name),
            amount: -unused,
            start: now,
            end,
            price: item.price.id.clone(),
            product: item.price.product.clone(),
            item: item.id.clone(),
            quantity: item.quantity,
        });
    }
}

#[allow(clippy::too_many_arguments)]
async fn change_item(
    conn: &mut SqliteConnection,
    state: &AppState,
    sub: &mut Subscription,
    internal: &mut SubInternal,
    n: usize,
    change: ItemUpdate,
    prorate: bool,
    new_cycle: bool,
    now: i64,
) -> Result<(), ApiError> {
    let new_price = match &change.price {
        Some(p) => Some(
            Store::get_in::<Price>(conn, "price", p)
                .await?
                .ok_or_else(|| ApiError::not_found(&format!("items[{n}][price]"), p))?
                .object,
        ),
        None => None,
    };
    let first = sub.items.data.first().cloned();
    if let Some(price) = &new_price {
        if price.recurring.is_none() {
            return Err(ApiError::invalid_param(
                &format!("items[{n}][price]"),
                "The price specified is set to `type=one_time` but this field only accepts prices \
                 with `type=recurring`.",
            ));
        }
        if price.currency != sub.currency {
            return Err(ApiError::invalid_param(
                &format!("items[{n}][price]"),
                format!(
                    "The price specified is in {} but this subscription bills in {}: a \
                     subscription's currency cannot change.",
                    price.currency, sub.currency
                ),
            ));
        }
    }
    if let (Some(price), Some(first), false) = (&new_price, &first, new_cycle) {
        let interval = |p: &Price| {
            p.recurring
                .as_ref()
                .map(|r| (r.interval.clone(), r.interval_count))
        };
        if interval(price) != interval(&first.price) {
            return Err(ApiError::invalid_param(
                &format!("items[{n}][price]"),
                "The sandbox changes an item's price to one with another billing interval only \
                 together with `trial_end`, which starts the new cycle when the trial ends (to \
                 switch at the end of the current period without charging now, send \
                 `trial_end` = the items' `current_period_end` and `proration_behavior=none`).",
            ));
        }
    }
    let (start, end) = first.as_ref().map_or((now, now), |i| {
        (i.current_period_start, i.current_period_end)
    });
    // The share of the period still to come, in seconds.
    let remaining = |amount: i64| -> i64 {
        let span = (end - start).max(1);
        let left = (end - now).clamp(0, span);
        ((i128::from(amount) * i128::from(left) + i128::from(span) / 2) / i128::from(span)) as i64
    };
    let index = match &change.id {
        Some(item_id) => Some(
            sub.items
                .data
                .iter()
                .position(|i| &i.id == item_id)
                .ok_or_else(|| ApiError::not_found(&format!("items[{n}][id]"), item_id))?,
        ),
        None => None,
    };
    match index {
        Some(i) => {
            let item = &mut sub.items.data[i];
            let old_amount = item.price.unit_amount.unwrap_or(0) * item.quantity;
            let old = item.clone();
            if let Some(price) = new_price {
                item.price = price;
            }
            if let Some(q) = change.quantity {
                item.quantity = q;
            }
            let new_amount = item.price.unit_amount.unwrap_or(0) * item.quantity;
            if prorate && old_amount != new_amount && now < end {
                let name = |p: &Price| p.nickname.clone().unwrap_or_else(|| p.product.clone());
                internal.pending.push(PendingLine {
                    description: format!("Unused time on {} × {}", old.quantity, name(&old.price)),
                    amount: -remaining(old_amount),
                    start: now,
                    end,
                    price: old.price.id.clone(),
                    product: old.price.product.clone(),
                    item: old.id.clone(),
                    quantity: old.quantity,
                });
                internal.pending.push(PendingLine {
                    description: format!(
                        "Remaining time on {} × {}",
                        item.quantity,
                        name(&item.price)
                    ),
                    amount: remaining(new_amount),
                    start: now,
                    end,
                    price: item.price.id.clone(),
                    product: item.price.product.clone(),
                    item: item.id.clone(),
                    quantity: item.quantity,
                });
            }
        }
        None => {
            let price =
                new_price.ok_or_else(|| ApiError::missing_param(&format!("items[{n}][price]")))?;
            let quantity = change.quantity.unwrap_or(1);
            let item = SubscriptionItem {
                id: state.ids.new_id("si"),
                object: "subscription_item".into(),
                created: now,
                current_period_end: end,
                current_period_start: start,
                metadata: Metadata::new(),
                quantity,
                subscription: sub.id.clone(),
                price,
            };
            let amount = item.price.unit_amount.unwrap_or(0) * quantity;
            if prorate && amount != 0 && now < end {
                internal.pending.push(PendingLine {
                    description: format!("Remaining time on {} × {}", quantity, item.price.product),
                    amount: remaining(amount),
                    start: now,
                    end,
                    price: item.price.id.clone(),
                    product: item.price.product.clone(),
                    item: item.id.clone(),
                    quantity,
                });
            }
            sub.items.data.push(item);
        }
    }
    Ok(())
}

/// `DELETE /v1/subscriptions/:id`: cancels now (`customer.subscription.deleted`); an unpaid
/// first invoice is voided, other open invoices are no longer retried.
pub async fn cancel_subscription(state: &AppState, id: &str) -> Result<Subscription, ApiError> {
    let mut tx = state.store.begin().await?;
    let clock = load_sub(&mut tx, id).await?.0.object.test_clock;
    let now = now_for(&mut tx, state, clock.as_deref()).await?;
    run_until(&mut tx, state, clock.as_deref(), now).await?;
    let (v, internal) = load_sub(&mut tx, id).await?;
    let mut sub = v.object;
    if matches!(sub.status.as_str(), "canceled" | "incomplete_expired") {
        return Err(ApiError::invalid_request(
            "resource_missing",
            format!("No such subscription: '{id}'"),
        ));
    }
    let open = Store::find_in::<Invoice>(
        &mut tx,
        "invoice",
        &[
            Filter::eq("parent.subscription_details.subscription", id),
            Filter::eq("status", "open"),
        ],
    )
    .await?;
    for (inv_id, inv) in open {
        if inv.object.billing_reason == "subscription_create" {
            void(&mut tx, state, &inv_id, now).await?;
        } else {
            let (v, ii) = load_invoice(&mut tx, &inv_id).await?;
            let mut i = v.object;
            i.next_payment_attempt = None;
            i.auto_advance = false;
            save_invoice(&mut tx, &i, v.version, &ii).await?;
        }
    }
    sub.status = "canceled".into();
    sub.canceled_at = Some(now);
    sub.ended_at = Some(now);
    sub.cancellation_details["reason"] = json!("cancellation_requested");
    save_sub(&mut tx, &sub, v.version, &internal).await?;
    emit_at(&mut tx, state, "customer.subscription.deleted", &sub, now).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(sub)
}

// ---------------------------------------------------------------------------------------------
// Test clocks

/// `POST /v1/test_helpers/test_clocks`.
pub async fn create_clock(
    state: &AppState,
    frozen_time: i64,
    name: Option<String>,
) -> Result<TestClock, ApiError> {
    let now = state.clock.now();
    let clock = TestClock {
        id: state.ids.new_id("clock"),
        object: "test_helpers.test_clock".into(),
        created: now,
        // Stripe deletes clocks after 30 days.
        deletes_after: now + 30 * DAY,
        frozen_time,
        livemode: false,
        name,
        status: "ready".into(),
        status_details: json!({}),
    };
    let mut tx = state.store.begin().await?;
    Store::insert(
        &mut tx,
        &clock.id,
        "test_helpers.test_clock",
        now,
        &clock,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(clock)
}

/// `POST /v1/test_helpers/test_clocks/:id/advance`: moves the clock and runs everything due on
/// it up to the new time, in time order, in one transaction; answers `ready` (the work is done
/// before the answer, so a client polling for `ready` finds it at once).
pub async fn advance_clock(
    state: &AppState,
    id: &str,
    frozen_time: i64,
) -> Result<TestClock, ApiError> {
    let mut tx = state.store.begin().await?;
    let v = load_clock(&mut tx, id).await?;
    let mut clock = v.object;
    if frozen_time <= clock.frozen_time {
        return Err(ApiError::invalid_param(
            "frozen_time",
            "The frozen time must be after the test clock's current frozen time.",
        ));
    }
    let real_now = state.clock.now();
    clock.status = "advancing".into();
    emit_at(
        &mut tx,
        state,
        "test_helpers.test_clock.advancing",
        &clock,
        real_now,
    )
    .await?;
    run_until(&mut tx, state, Some(id), frozen_time).await?;
    // The clock's customers' bank debits due by then settle too.
    crate::payments::settle_debits_in(&mut tx, state, Some(id), frozen_time).await?;
    clock.frozen_time = frozen_time;
    clock.status = "ready".into();
    if !Store::update(&mut tx, id, v.version, &clock).await? {
        return Err(ApiError::lock_timeout());
    }
    emit_at(
        &mut tx,
        state,
        "test_helpers.test_clock.ready",
        &clock,
        real_now,
    )
    .await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(clock)
}

/// `DELETE /v1/test_helpers/test_clocks/:id`: the clock and, as Stripe's, the customers,
/// subscriptions and invoices on it.
pub async fn delete_clock(state: &AppState, id: &str) -> Result<Value, ApiError> {
    let mut tx = state.store.begin().await?;
    load_clock(&mut tx, id).await?;
    for kind in ["subscription", "invoice", "customer"] {
        Store::delete_where(&mut tx, kind, &[Filter::eq("test_clock", id)]).await?;
    }
    Store::delete_where(&mut tx, "test_helpers.test_clock", &[Filter::eq("id", id)]).await?;
    tx.commit().await?;
    Ok(json!({ "id": id, "object": "test_helpers.test_clock", "deleted": true }))
}

// ---------------------------------------------------------------------------------------------
// Reading, with expansion

/// What `expand[]` may name on an invoice.
async fn expand_invoice(
    conn: &mut SqliteConnection,
    mut inv: Value,
    paths: &[&str],
) -> Result<Value, ApiError> {
    let id = inv["id"].as_str().unwrap_or_default().to_owned();
    let internal: InvoiceInternal = match Store::get_in::<Value>(conn, "invoice", &id).await? {
        Some(v) => internal_of(&v.internal)?,
        None => InvoiceInternal::default(),
    };
    for path in paths {
        match *path {
            "confirmation_secret" => {
                let pi = match &internal.payment_intent {
                    Some(pi) => Store::get_in::<PaymentIntent>(conn, "payment_intent", pi).await?,
                    None => None,
                };
                inv["confirmation_secret"] = match pi {
                    Some(pi) => {
                        json!({ "client_secret": pi.object.client_secret, "type": "payment_intent" })
                    }
                    None => Value::Null,
                };
            }
            "payments" | "payments.data.payment.payment_intent" => {
                let mut data = Vec::new();
                for (_, p) in Store::find_in::<Value>(
                    conn,
                    "invoice_payment",
                    &[Filter::eq("invoice", id.as_str())],
                )
                .await?
                {
                    let mut p = p.object;
                    if *path != "payments" {
                        if let Some(pi) = p["payment"]["payment_intent"].as_str().map(str::to_owned)
                        {
                            if let Some(v) =
                                Store::get_in::<Value>(conn, "payment_intent", &pi).await?
                            {
                                p["payment"]["payment_intent"] = v.object;
                            }
                        }
                    }
                    data.push(p);
                }
                inv["payments"] = json!({
                    "object": "list", "data": data, "has_more": false,
                    "url": format!("/v1/invoice_payments?invoice={id}"),
                });
            }
            "customer" => {
                if let Some(c) = inv["customer"].as_str().map(str::to_owned) {
                    if let Some(v) = Store::get_in::<Value>(conn, "customer", &c).await? {
                        inv["customer"] = v.object;
                    }
                }
            }
            other => return Err(cannot_expand(other)),
        }
    }
    Ok(inv)
}

fn cannot_expand(path: &str) -> ApiError {
    ApiError::invalid_param(
        "expand",
        format!("This property cannot be expanded ({path})."),
    )
}

/// What `expand[]` may name on a subscription: `latest_invoice` (and under it what an invoice
/// expands: `latest_invoice.confirmation_secret`, `latest_invoice.payments`, …),
/// `default_payment_method`, `customer`.
async fn expand_subscription(
    conn: &mut SqliteConnection,
    mut sub: Value,
    paths: &[String],
) -> Result<Value, ApiError> {
    let mut invoice_paths: Vec<&str> = Vec::new();
    let mut want_invoice = false;
    for path in paths {
        match path.split_once('.') {
            _ if path == "latest_invoice" => want_invoice = true,
            Some(("latest_invoice", rest)) => {
                want_invoice = true;
                invoice_paths.push(rest);
            }
            _ if path == "default_payment_method" || path == "customer" => {
                let kind = if path == "customer" {
                    "customer"
                } else {
                    "payment_method"
                };
                if let Some(id) = sub[path.as_str()].as_str().map(str::to_owned) {
                    if let Some(v) = Store::get_in::<Value>(conn, kind, &id).await? {
                        sub[path.as_str()] = v.object;
                    }
                }
            }
            _ => return Err(cannot_expand(path)),
        }
    }
    if want_invoice {
        if let Some(id) = sub["latest_invoice"].as_str().map(str::to_owned) {
            if let Some(v) = Store::get_in::<Value>(conn, "invoice", &id).await? {
                sub["latest_invoice"] = expand_invoice(conn, v.object, &invoice_paths).await?;
            }
        }
    }
    Ok(sub)
}

/// A subscription as `GET /v1/subscriptions/:id` answers it (after catching up), expanded.
pub async fn subscription_view(
    state: &AppState,
    sub: &Subscription,
    expand: &[String],
) -> Result<Value, ApiError> {
    let mut conn = state.store.begin().await?;
    let v = expand_subscription(&mut conn, serde_json::to_value(sub)?, expand).await?;
    conn.commit().await?;
    Ok(v)
}

/// `GET /v1/subscriptions/:id`.
pub async fn retrieve_subscription(
    state: &AppState,
    id: &str,
    expand: &[String],
) -> Result<Value, ApiError> {
    catch_up(state).await?;
    let mut conn = state.store.begin().await?;
    let sub = load_sub(&mut conn, id).await?.0.object;
    let v = expand_subscription(&mut conn, serde_json::to_value(&sub)?, expand).await?;
    conn.commit().await?;
    Ok(v)
}

/// `GET /v1/invoices/:id`.
pub async fn retrieve_invoice(
    state: &AppState,
    id: &str,
    expand: &[String],
) -> Result<Value, ApiError> {
    catch_up(state).await?;
    let mut conn = state.store.begin().await?;
    let inv = load_invoice(&mut conn, id).await?.0.object;
    let paths: Vec<&str> = expand.iter().map(String::as_str).collect();
    let v = expand_invoice(&mut conn, serde_json::to_value(&inv)?, &paths).await?;
    conn.commit().await?;
    Ok(v)
}

/// Expands every invoice of a list page (`expand[]=data.confirmation_secret`, …).
pub async fn expand_invoices(
    state: &AppState,
    items: Vec<Value>,
    expand: &[String],
) -> Result<Vec<Value>, ApiError> {
    let paths: Vec<&str> = expand
        .iter()
        .map(|p| p.strip_prefix("data.").ok_or_else(|| cannot_expand(p)))
        .collect::<Result<_, _>>()?;
    let mut conn = state.store.begin().await?;
    let mut out = Vec::with_capacity(items.len());
    for inv in items {
        out.push(expand_invoice(&mut conn, inv, &paths).await?);
    }
    conn.commit().await?;
    Ok(out)
}

/// Expands every subscription of a list page (`expand[]=data.latest_invoice`, …).
pub async fn expand_subscriptions(
    state: &AppState,
    items: Vec<Value>,
    expand: &[String],
) -> Result<Vec<Value>, ApiError> {
    let paths: Vec<String> = expand
        .iter()
        .map(|p| {
            p.strip_prefix("data.")
                .map(str::to_owned)
                .ok_or_else(|| cannot_expand(p))
        })
        .collect::<Result<_, _>>()?;
    let mut conn = state.store.begin().await?;
    let mut out = Vec::with_capacity(items.len());
    for sub in items {
        out.push(expand_subscription(&mut conn, sub, &paths).await?);
    }
    conn.commit().await?;
    Ok(out)
}

/// The filters of `GET /v1/subscriptions`: `customer`, `price`, `status` (`all`; by default
/// every status but `canceled`, as Stripe's).
pub fn subscription_filters(
    customer: Option<String>,
    status: Option<String>,
    test_clock: Option<String>,
) -> Vec<Filter> {
    let mut f = Vec::new();
    if let Some(c) = customer {
        f.push(Filter::eq("customer", c));
    }
    match status.as_deref() {
        Some("all") => {}
        Some(s) => f.push(Filter::eq("status", s)),
        None => f.push(Filter::NotEq("status".into(), "canceled".into())),
    }
    if let Some(t) = test_clock {
        f.push(Filter::eq("test_clock", t));
    }
    f
}

/// The filters of `GET /v1/invoices`.
pub fn invoice_filters(
    customer: Option<String>,
    subscription: Option<String>,
    status: Option<String>,
) -> Vec<Filter> {
    let mut f = Vec::new();
    if let Some(c) = customer {
        f.push(Filter::eq("customer", c));
    }
    if let Some(s) = subscription {
        f.push(Filter::eq("parent.subscription_details.subscription", s));
    }
    if let Some(s) = status {
        f.push(Filter::eq("status", s));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_keep_the_anchor_day_clamped() {
        // 2026-01-31 10:00:00 UTC
        let jan31 = 1_769_853_600;
        let feb = add_interval(jan31, "month", 1, 1);
        let mar = add_interval(jan31, "month", 1, 2);
        let t = |u| time::OffsetDateTime::from_unix_timestamp(u).unwrap();
        assert_eq!(
            (u8::from(t(feb).month()), t(feb).day(), t(feb).hour()),
            (2, 28, 10)
        );
        assert_eq!((u8::from(t(mar).month()), t(mar).day()), (3, 31));
        assert_eq!(add_interval(jan31, "year", 1, 1) - jan31, 365 * DAY);
        assert_eq!(add_interval(jan31, "week", 2, 1) - jan31, 14 * DAY);
        assert_eq!(next_boundary(jan31, "month", 1, feb), mar);
    }
}
