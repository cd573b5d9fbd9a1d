//! The gateway's domain: tokenizing cards, the payment-intent state machine, charges, refunds,
//! disputes, balance transactions and the events they emit.
//!
//! Each operation runs in one SQLite transaction and updates objects optimistically (on their
//! version), so concurrent requests never charge twice; events and their webhook deliveries are
//! written in the same transaction as the change they describe.

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::SqliteConnection;

use crate::cards::{self, Behaviour};
use crate::error::ApiError;
use crate::model::*;
use crate::store::Store;
use crate::{AppState, API_VERSION};

/// Stripe's processing fee rule used by the sandbox: 2.9 % (rounded half up) + 30 minor units.
pub fn processing_fee(amount: i64) -> i64 {
    (amount * 29 + 500) / 1000 + 30
}

/// The sandbox's dispute fee, in minor units (like Stripe's $15).
pub const DISPUTE_FEE: i64 = 1500;

/// When funds from a transaction created at `created` become available: midnight UTC two days
/// later. All transactions available on one day form that day's payout.
pub fn available_on(created: i64) -> i64 {
    (created.div_euclid(86_400) + 2) * 86_400
}

/// A card to tokenize, already validated.
pub struct NewPaymentMethod {
    /// The card, checked.
    pub card: cards::CardInput,
    /// Name, email, address as sent.
    pub billing_details: BillingDetails,
    /// The client's metadata.
    pub metadata: Metadata,
}

/// `POST /v1/payment_methods`: stores what Stripe shows of a card and its scripted behaviour;
/// the number and CVC go no further than this function.
pub async fn create_payment_method(
    state: &AppState,
    new: NewPaymentMethod,
) -> Result<PaymentMethod, ApiError> {
    let (pm, behaviour) = payment_method_of(state, new);
    let internal = serde_json::to_value(behaviour)?;
    store_payment_method(state, pm, &internal).await
}

/// Stores a new payment method with what the sandbox keeps beside it (its scripted outcome).
async fn store_payment_method(
    state: &AppState,
    pm: PaymentMethod,
    internal: &Value,
) -> Result<PaymentMethod, ApiError> {
    let mut tx = state.store.begin().await?;
    Store::insert(
        &mut tx,
        &pm.id,
        "payment_method",
        pm.created,
        &pm,
        Some(internal),
    )
    .await?;
    tx.commit().await?;
    Ok(pm)
}

/// What a payment method shows of a validated card and the card's scripted behaviour (the
/// number and CVC are dropped with `new`). Shared with confirmation tokens, whose preview is
/// exactly this payment method.
pub fn payment_method_of(state: &AppState, new: NewPaymentMethod) -> (PaymentMethod, Behaviour) {
    let number = &new.card.number;
    let pm = PaymentMethod {
        id: state.ids.new_id("pm"),
        object: "payment_method".into(),
        billing_details: new.billing_details,
        sepa_debit: None,
        card: Some(CardDetails {
            brand: cards::brand_code(number).into(),
            checks: json!({ "address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass" }),
            country: cards::country(number).into(),
            exp_month: new.card.expiry.month(),
            exp_year: new.card.expiry.year(),
            fingerprint: cards::fingerprint(number, &state.config.secret_key),
            funding: cards::funding(number).into(),
            last4: number.last4().into(),
            networks: json!({ "available": [cards::brand_code(number)], "preferred": null }),
            three_d_secure_usage: json!({ "supported": true }),
            wallet: None,
        }),
        created: state.clock.now(),
        customer: None,
        livemode: false,
        metadata: new.metadata,
        kind: "card".into(),
    };
    let behaviour = cards::behaviour(number);
    (pm, behaviour)
}

/// `POST /v1/payment_methods` with `type=sepa_debit`: what Stripe shows of the account and the
/// debit's scripted outcome; the IBAN goes no further than this function.
pub async fn create_sepa_method(
    state: &AppState,
    iban: paywidget_core::bank::Iban,
    billing_details: BillingDetails,
    metadata: Metadata,
) -> Result<PaymentMethod, ApiError> {
    let pm = PaymentMethod {
        id: state.ids.new_id("pm"),
        object: "payment_method".into(),
        billing_details,
        card: None,
        sepa_debit: Some(crate::sepa::details_of(&iban, &state.config.secret_key)),
        created: state.clock.now(),
        customer: None,
        livemode: false,
        metadata,
        kind: "sepa_debit".into(),
    };
    let internal = json!({ "debit": crate::sepa::debit_of(&iban) });
    store_payment_method(state, pm, &internal).await
}

pub(crate) async fn require_customer(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<(), ApiError> {
    Store::get_in::<Customer>(conn, "customer", id)
        .await?
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("customer", id))
}

/// `POST /v1/payment_methods/:id/attach`.
pub async fn attach_payment_method(
    state: &AppState,
    pm_id: &str,
    customer: &str,
) -> Result<PaymentMethod, ApiError> {
    let mut tx = state.store.begin().await?;
    require_customer(&mut tx, customer).await?;
    let mut pm = Store::get_in::<PaymentMethod>(&mut tx, "payment_method", pm_id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment_method", pm_id))?;
    if pm.object.customer.as_deref().is_some_and(|c| c != customer) {
        return Err(ApiError::invalid_request(
            "payment_method_unexpected_state",
            "The payment method you provided has already been attached to a customer.",
        ));
    }
    pm.object.customer = Some(customer.to_owned());
    if !Store::update(&mut tx, pm_id, pm.version, &pm.object).await? {
        return Err(ApiError::lock_timeout());
    }
    tx.commit().await?;
    Ok(pm.object)
}

/// The parameters of `POST /v1/payment_intents`.
// Fields are Stripe's parameters of the same names (its API reference documents them).
#[allow(missing_docs)]
#[derive(Default)]
pub struct NewPaymentIntent {
    pub amount: i64,
    pub currency: String,
    pub capture_method: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub receipt_email: Option<String>,
    pub setup_future_usage: Option<String>,
    pub confirm: Option<ConfirmParams>,
    pub payment_method: Option<String>,
    pub return_url: Option<String>,
}

/// The parameters of a confirmation (also accepted on create with `confirm=true`).
#[allow(missing_docs)] // Stripe's parameters of the same names.
#[derive(Default)]
pub struct ConfirmParams {
    pub payment_method: Option<String>,
    /// A `ctoken_…`: its card becomes the payment method (never together with `payment_method`).
    pub confirmation_token: Option<String>,
    pub return_url: Option<String>,
    pub off_session: bool,
    pub receipt_email: Option<String>,
    pub setup_future_usage: Option<String>,
    /// `mandate_data[customer_acceptance]` (a bank debit's mandate, accepted now).
    pub mandate_data: Option<crate::sepa::Acceptance>,
    /// `mandate`: an existing mandate's id (an off-session debit).
    pub mandate: Option<String>,
}

/// `POST /v1/payment_intents`.
pub async fn create_payment_intent(
    state: &AppState,
    new: NewPaymentIntent,
) -> Result<PaymentIntent, ApiError> {
    let confirm_params = new.confirm;
    let new = NewPaymentIntent {
        confirm: None,
        ..new
    };
    let pi = intent_of(state, new, state.clock.now());
    let id = pi.id.clone();
    let mut tx = state.store.begin().await?;
    if let Some(c) = &pi.customer {
        require_customer(&mut tx, c).await?;
    }
    if let Some(pm) = &pi.payment_method {
        if Store::get_in::<PaymentMethod>(&mut tx, "payment_method", pm)
            .await?
            .is_none()
        {
            return Err(ApiError::not_found("payment_method", pm));
        }
    }
    // A bad token fails the whole request, as Stripe does, rather than leaving an intent behind.
    if let Some(token) = confirm_params
        .as_ref()
        .and_then(|c| c.confirmation_token.as_deref())
    {
        crate::confirmation_tokens::require_usable(&mut tx, state, token).await?;
    }
    Store::insert(&mut tx, &pi.id, "payment_intent", pi.created, &pi, None).await?;
    tx.commit().await?;
    match confirm_params {
        Some(params) => confirm(state, &id, params).await,
        None => Ok(pi),
    }
}

/// Inserts a new payment intent inside the caller's transaction (an invoice's).
pub(crate) async fn insert_intent(
    conn: &mut SqliteConnection,
    state: &AppState,
    new: NewPaymentIntent,
    now: i64,
) -> Result<PaymentIntent, ApiError> {
    let pi = intent_of(state, new, now);
    Store::insert(conn, &pi.id, "payment_intent", pi.created, &pi, None).await?;
    Ok(pi)
}

/// A new payment intent (not stored) created at `now`.
fn intent_of(state: &AppState, new: NewPaymentIntent, now: i64) -> PaymentIntent {
    let id = state.ids.new_id("pi");
    let secret = format!(
        "{id}_secret_{}",
        state.ids.new_id("s").trim_start_matches("s_")
    );
    PaymentIntent {
        id: id.clone(),
        object: "payment_intent".into(),
        amount: new.amount,
        amount_capturable: 0,
        amount_received: 0,
        canceled_at: None,
        cancellation_reason: None,
        capture_method: new.capture_method,
        client_secret: secret,
        confirmation_method: "automatic".into(),
        created: now,
        currency: new.currency,
        customer: new.customer,
        description: new.description,
        last_payment_error: None,
        latest_charge: None,
        livemode: false,
        metadata: new.metadata,
        next_action: None,
        payment_method: new.payment_method.clone(),
        payment_method_types: vec!["card".into()],
        receipt_email: new.receipt_email,
        return_url: new.return_url,
        setup_future_usage: new.setup_future_usage,
        status: if new.payment_method.is_some() {
            "requires_confirmation"
        } else {
            "requires_payment_method"
        }
        .into(),
    }
}

/// Stripe's answer to `payment_method` and `confirmation_token` in one request.
pub fn both_payment_method_and_token() -> ApiError {
    ApiError::invalid_param(
        "confirmation_token",
        "You may only specify one of these parameters: confirmation_token, payment_method.",
    )
}

fn unexpected_state(pi: &PaymentIntent, action: &str) -> ApiError {
    ApiError::unexpected_state(format!(
        "This PaymentIntent's {action} could not be performed because it has a status of {}.",
        pi.status
    ))
}

/// What a confirmation did, inside its transaction.
pub enum Confirmed {
    /// Succeeded, requires capture or requires action.
    Done(PaymentIntent),
    /// Declined: the intent (saved, `requires_payment_method`) and the 402 card error.
    Declined(PaymentIntent, ApiError),
}

/// `POST /v1/payment_intents/:id/confirm`: charges the card, or asks for 3-D Secure, or
/// records the decline (and answers 402 with Stripe's card error).
pub async fn confirm(
    state: &AppState,
    pi_id: &str,
    params: ConfirmParams,
) -> Result<PaymentIntent, ApiError> {
    let mut tx = state.store.begin().await?;
    let now = state.clock.now();
    let done = confirm_in(&mut tx, state, pi_id, params, now).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    match done {
        Confirmed::Done(pi) => Ok(pi),
        Confirmed::Declined(_, e) => Err(e),
    }
}

/// The confirmation inside the caller's transaction at time `now` (a test clock's, for
/// Billing's off-session attempts). A payment of an invoice updates the invoice and its
/// subscription in the same transaction ([`crate::billing::after_payment`]).
pub async fn confirm_in(
    tx: &mut SqliteConnection,
    state: &AppState,
    pi_id: &str,
    params: ConfirmParams,
    now: i64,
) -> Result<Confirmed, ApiError> {
    let current = load_pi(tx, pi_id).await?;
    let version = current.version;
    let mut pi = current.object;
    if !matches!(
        pi.status.as_str(),
        "requires_payment_method" | "requires_confirmation"
    ) {
        return Err(unexpected_state(&pi, "confirm"));
    }
    if params.payment_method.is_some() && params.confirmation_token.is_some() {
        return Err(both_payment_method_and_token());
    }
    if let Some(token) = &params.confirmation_token {
        // The token's values are written onto the intent; the confirmation's own win.
        let used = crate::confirmation_tokens::redeem(tx, state, token, &pi.id).await?;
        pi.payment_method = Some(used.payment_method);
        if used.return_url.is_some() {
            pi.return_url = used.return_url;
        }
        if used.setup_future_usage.is_some() {
            pi.setup_future_usage = used.setup_future_usage;
        }
    }
    if let Some(pm) = params.payment_method {
        pi.payment_method = Some(pm);
    }
    if params.return_url.is_some() {
        pi.return_url = params.return_url;
    }
    if params.receipt_email.is_some() {
        pi.receipt_email = params.receipt_email;
    }
    if params.setup_future_usage.is_some() {
        pi.setup_future_usage = params.setup_future_usage;
    }
    let pm_id = pi.payment_method.clone().ok_or_else(|| {
        ApiError::unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the \
             PaymentIntent with a payment method, pass it as payment_method.",
        )
    })?;
    let pm = Store::get_in::<PaymentMethod>(tx, "payment_method", &pm_id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment_method", &pm_id))?;
    if let (Some(owner), Some(customer)) = (&pm.object.customer, &pi.customer) {
        if owner != customer {
            return Err(ApiError::invalid_param(
                "payment_method",
                "The provided PaymentMethod belongs to another customer.",
            ));
        }
    }
    if pm.object.kind == "sepa_debit" {
        let debit = pm
            .internal
            .as_ref()
            .and_then(|i| i.get("debit"))
            .cloned()
            .map(serde_json::from_value)
            .transpose()?
            .unwrap_or(crate::sepa::Debit::Succeeds {
                after: crate::sepa::SETTLE_SECS,
            });
        let mandate = (params.mandate_data, params.mandate, params.off_session);
        return confirm_debit(tx, state, pi, version, &pm, debit, mandate, now).await;
    }
    let behaviour: Behaviour = pm
        .internal
        .clone()
        .map(serde_json::from_value)
        .transpose()?
        .unwrap_or(Behaviour::Succeed);
    let dispute_later = behaviour == Behaviour::SucceedThenDispute;
    let risk = behaviour.risk_level();
    let set_up = is_set_up(&pm.internal);
    let off = params.off_session;
    let needs_auth = || {
        Some((
            "authentication_required".to_owned(),
            "authentication_required".to_owned(),
            "Your card was declined. This transaction requires authentication.".to_owned(),
        ))
    };

    let decline = match behaviour {
        Behaviour::ThreeDSecure if off => needs_auth(),
        Behaviour::ThreeDSecureUnlessSetUp if off && !set_up => needs_auth(),
        Behaviour::ThreeDSecureUnlessSetUp | Behaviour::ThreeDSecureOnSessionOnly if off => None,
        Behaviour::ThreeDSecureThenDecline {
            code,
            decline_code,
            message,
        } if off => Some((code, decline_code, message)),
        Behaviour::ThreeDSecure
        | Behaviour::ThreeDSecureUnlessSetUp
        | Behaviour::ThreeDSecureOnSessionOnly
        | Behaviour::ThreeDSecureThenDecline { .. } => {
            pi.status = "requires_action".into();
            pi.last_payment_error = None;
            pi.next_action = Some(json!({
                "type": "redirect_to_url",
                "redirect_to_url": {
                    "url": format!("{}/sandbox/3ds/{}?client_secret={}", state.base_url, pi.id, pi.client_secret),
                    "return_url": pi.return_url,
                }
            }));
            save_pi(tx, &pi, version).await?;
            emit_at(tx, state, "payment_intent.requires_action", &pi, now).await?;
            crate::billing::after_payment(tx, state, &pi, now).await?;
            return Ok(Confirmed::Done(pi));
        }
        Behaviour::Decline {
            code,
            decline_code,
            message,
        }
        | Behaviour::ChargeDeclined {
            code,
            decline_code,
            message,
        } => Some((code, decline_code, message)),
        // Radar blocks it before it reaches the network, on or off session.
        Behaviour::Blocked => Some(cards::blocked_error()),
        Behaviour::Succeed | Behaviour::SucceedThenDispute | Behaviour::ElevatedRisk => None,
    };

    if let Some((code, decline_code, message)) = decline {
        let charge = new_charge(
            state,
            &pi,
            &pm.object,
            now,
            risk,
            Some((&code, &decline_code, &message)),
        );
        Store::insert(tx, &charge.id, "charge", now, &charge, None).await?;
        let pm_json = serde_json::to_value(&pm.object)?;
        pi.status = "requires_payment_method".into();
        pi.latest_charge = Some(charge.id.clone());
        pi.payment_method = None;
        pi.next_action = None;
        pi.last_payment_error = Some(json!({
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "charge": charge.id,
            "payment_method": pm_json,
        }));
        save_pi(tx, &pi, version).await?;
        emit_at(tx, state, "payment_intent.payment_failed", &pi, now).await?;
        crate::billing::after_payment(tx, state, &pi, now).await?;
        let mut err = ApiError::card(&code, Some(&decline_code), message, None);
        err.charge = Some(charge.id);
        err.payment_method = Some(pm_json);
        err.payment_intent = Some(serde_json::to_value(&pi)?);
        return Ok(Confirmed::Declined(pi, err));
    }

    succeed(tx, state, &mut pi, &pm.object, dispute_later, risk, now).await?;
    save_pi(tx, &pi, version).await?;
    crate::billing::after_payment(tx, state, &pi, now).await?;
    Ok(Confirmed::Done(pi))
}

/// A bank debit's confirmation: its mandate (accepted now, named, or the account's own for an
/// off-session debit), a pending charge, and `processing` until its settlement time on the
/// sandbox's clock or its customer's test clock ([`settle_debits_in`]).
#[allow(clippy::too_many_arguments)] // the confirmation's parts, each used once
async fn confirm_debit(
    tx: &mut SqliteConnection,
    state: &AppState,
    mut pi: PaymentIntent,
    version: i64,
    pm: &crate::store::Versioned<PaymentMethod>,
    debit: crate::sepa::Debit,
    (acceptance, named, off_session): (Option<crate::sepa::Acceptance>, Option<String>, bool),
    now: i64,
) -> Result<Confirmed, ApiError> {
    if pi.currency != "eur" {
        return Err(ApiError::invalid_param(
            "currency",
            format!(
                "The currency provided ({}) is invalid. Payments with sepa_debit support the following currencies: eur.",
                pi.currency
            ),
        ));
    }
    let own = pm
        .internal
        .as_ref()
        .and_then(|i| i.get("mandate"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mandate = match (acceptance, named, own) {
        (Some(accepted), _, _) => {
            let id = state.ids.new_id("mandate");
            let reference = state.ids.new_id("ref").to_uppercase().replace('_', "");
            let m = crate::sepa::mandate(&id, &reference, &pm.object.id, &accepted, now, &state.base_url);
            Store::insert(tx, &id, "mandate", now, &m, None).await?;
            let mut internal = pm.internal.clone().unwrap_or_else(|| json!({}));
            internal["mandate"] = json!(id);
            if !Store::update_with_internal(tx, &pm.object.id, pm.version, &pm.object, &internal).await? {
                return Err(ApiError::lock_timeout());
            }
            id
        }
        (None, Some(named), own) => {
            if own.as_deref() != Some(named.as_str()) {
                return Err(ApiError::invalid_param(
                    "mandate",
                    "The mandate does not belong to this payment method.",
                ));
            }
            named
        }
        (None, None, Some(own)) if off_session => own,
        _ => {
            return Err(ApiError::invalid_param(
                "mandate_data",
                "This PaymentIntent requires a mandate, but no existing mandate was found. Collect mandate acceptance from the customer and try again, providing acceptance data in the mandate_data parameter.",
            ))
        }
    };
    let mut charge = new_charge(state, &pi, &pm.object, now, cards::RiskLevel::Normal, None);
    charge.status = "pending".into();
    charge.paid = false;
    charge.payment_method_details["sepa_debit"]["mandate"] = json!(mandate);
    Store::insert(tx, &charge.id, "charge", now, &charge, None).await?;
    pi.status = "processing".into();
    pi.latest_charge = Some(charge.id.clone());
    pi.next_action = None;
    pi.last_payment_error = None;
    pi.payment_method_types = vec!["sepa_debit".into()];
    // A customer on a test clock is debited on that clock's time.
    let clock = match &pi.customer {
        Some(c) => Store::get_in::<Customer>(tx, "customer", c)
            .await?
            .and_then(|c| c.object.test_clock),
        None => None,
    };
    let start = match &clock {
        Some(id) => Store::get_in::<Value>(tx, "test_helpers.test_clock", id)
            .await?
            .and_then(|c| c.object.get("frozen_time").and_then(Value::as_i64))
            .unwrap_or(now),
        None => now,
    };
    let internal = json!({
        "debit": debit,
        "settle_at": start + debit.after(),
        "test_clock": clock,
    });
    if !Store::update_with_internal(tx, &pi.id, version, &pi, &internal).await? {
        return Err(ApiError::lock_timeout());
    }
    emit_at(tx, state, "payment_intent.processing", &pi, now).await?;
    crate::billing::after_payment(tx, state, &pi, now).await?;
    Ok(Confirmed::Done(pi))
}

/// Settles every bank debit due by `until` on `clock` (`None`: the sandbox's own clock): it
/// succeeds (and, for the disputed test IBANs, is disputed at once) or fails with its code.
pub(crate) async fn settle_debits_in(
    conn: &mut SqliteConnection,
    state: &AppState,
    clock: Option<&str>,
    until: i64,
) -> Result<usize, ApiError> {
    let processing = Store::find_in::<PaymentIntent>(
        conn,
        "payment_intent",
        &[crate::store::Filter::eq("status", "processing")],
    )
    .await?;
    let mut settled = 0;
    for (id, v) in processing {
        let Some(internal) = v.internal.clone() else {
            continue;
        };
        let on = internal.get("test_clock").and_then(Value::as_str);
        let at = internal.get("settle_at").and_then(Value::as_i64);
        let debit = internal.get("debit").cloned();
        let (Some(at), Some(debit)) = (at, debit) else {
            continue;
        };
        if on != clock || at > until {
            continue;
        }
        let debit: crate::sepa::Debit = serde_json::from_value(debit)?;
        settle_debit(conn, state, &id, v, debit, at).await?;
        settled += 1;
    }
    Ok(settled)
}

/// [`settle_debits_in`] on the sandbox's own clock, in its own transaction (the worker's).
pub async fn settle_debits(state: &AppState) -> Result<usize, ApiError> {
    let mut tx = state.store.begin().await?;
    let n = settle_debits_in(&mut tx, state, None, state.clock.now()).await?;
    tx.commit().await?;
    if n > 0 {
        state.deliveries_queued.notify_one();
    }
    Ok(n)
}

async fn settle_debit(
    conn: &mut SqliteConnection,
    state: &AppState,
    id: &str,
    v: crate::store::Versioned<PaymentIntent>,
    debit: crate::sepa::Debit,
    at: i64,
) -> Result<(), ApiError> {
    let mut pi = v.object;
    let charge_id = pi.latest_charge.clone().unwrap_or_default();
    let mut c = Store::get_in::<Charge>(conn, "charge", &charge_id)
        .await?
        .ok_or_else(|| ApiError::not_found("charge", &charge_id))?;
    match debit {
        crate::sepa::Debit::Fails { code, message, .. } => {
            c.object.status = "failed".into();
            c.object.failure_code = Some(code.clone());
            c.object.failure_message = Some(message.clone());
            let pm = match &pi.payment_method {
                Some(pm) => Store::get_in::<Value>(conn, "payment_method", pm)
                    .await?
                    .map(|v| v.object),
                None => None,
            };
            pi.status = "requires_payment_method".into();
            pi.payment_method = None;
            pi.last_payment_error = Some(json!({
                "type": "invalid_request_error",
                "code": code,
                "decline_code": null,
                "message": message,
                "charge": charge_id,
                "payment_method": pm,
            }));
            Store::update(conn, &charge_id, c.version, &c.object).await?;
            Store::update_with_internal(conn, id, v.version, &pi, &json!({ "settled": at }))
                .await?;
            emit_at(conn, state, "payment_intent.payment_failed", &pi, at).await?;
        }
        crate::sepa::Debit::Succeeds { .. } | crate::sepa::Debit::Disputed => {
            let mut charge = c.object;
            let amount = pi.amount;
            capture_charge(conn, state, &mut pi, &mut charge, amount, at).await?;
            charge.status = "succeeded".into();
            charge.paid = true;
            if debit == crate::sepa::Debit::Disputed {
                open_dispute(conn, state, &pi, &mut charge, at).await?;
            }
            let version = Store::get_in::<Charge>(conn, "charge", &charge_id)
                .await?
                .map_or(c.version, |c| c.version);
            Store::update(conn, &charge_id, version, &charge).await?;
            Store::update_with_internal(conn, id, v.version, &pi, &json!({ "settled": at }))
                .await?;
            emit_at(conn, state, "payment_intent.succeeded", &pi, at).await?;
        }
    }
    crate::billing::after_payment(conn, state, &pi, at).await?;
    Ok(())
}

/// Authorises (and, for automatic capture, captures) the payment.
async fn succeed(
    conn: &mut SqliteConnection,
    state: &AppState,
    pi: &mut PaymentIntent,
    pm: &PaymentMethod,
    dispute_later: bool,
    risk: cards::RiskLevel,
    now: i64,
) -> Result<(), ApiError> {
    let mut charge = new_charge(state, pi, pm, now, risk, None);
    pi.latest_charge = Some(charge.id.clone());
    pi.next_action = None;
    pi.last_payment_error = None;
    if pi.setup_future_usage.is_some() {
        // Saved for later: the recurring test cards treat it as set up from now on.
        mark_set_up(conn, &pm.id).await?;
        if pi.setup_future_usage.as_deref() == Some("off_session") {
            if let Some(customer) = pi.customer.clone() {
                attach_in(conn, &pm.id, &customer).await?;
            }
        }
    }
    if pi.capture_method == "manual" {
        pi.status = "requires_capture".into();
        pi.amount_capturable = pi.amount;
        // Remembered beside the charge so that capturing it later opens the dispute.
        let internal = dispute_later.then(|| json!({ "dispute_on_capture": true }));
        Store::insert(conn, &charge.id, "charge", now, &charge, internal.as_ref()).await?;
        emit_at(
            conn,
            state,
            "payment_intent.amount_capturable_updated",
            pi,
            now,
        )
        .await?;
        return Ok(());
    }
    capture_charge(conn, state, pi, &mut charge, pi.amount, now).await?;
    Store::insert(conn, &charge.id, "charge", now, &charge, None).await?;
    emit_at(conn, state, "payment_intent.succeeded", pi, now).await?;
    if dispute_later {
        open_dispute(conn, state, pi, &mut charge, now).await?;
        let version = Store::get_in::<Charge>(conn, "charge", &charge.id)
            .await?
            .map_or(0, |c| c.version);
        Store::update(conn, &charge.id, version, &charge).await?;
    }
    Ok(())
}

/// Whether a payment method's card was set up for future use (beside its behaviour).
fn is_set_up(internal: &Option<Value>) -> bool {
    internal
        .as_ref()
        .and_then(|i| i.get("set_up"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Records that the card was set up (a succeeded SetupIntent, or a payment saving it).
pub(crate) async fn mark_set_up(conn: &mut SqliteConnection, pm_id: &str) -> Result<(), ApiError> {
    if let Some(pm) = Store::get_in::<PaymentMethod>(conn, "payment_method", pm_id).await? {
        let mut internal = pm
            .internal
            .clone()
            .unwrap_or_else(|| json!({ "kind": "succeed" }));
        internal["set_up"] = json!(true);
        if !Store::update_with_internal(conn, pm_id, pm.version, &pm.object, &internal).await? {
            return Err(ApiError::lock_timeout());
        }
    }
    Ok(())
}

pub(crate) async fn attach_in(
    conn: &mut SqliteConnection,
    pm_id: &str,
    customer: &str,
) -> Result<(), ApiError> {
    if let Some(mut pm) = Store::get_in::<PaymentMethod>(conn, "payment_method", pm_id).await? {
        if pm.object.customer.is_none() {
            pm.object.customer = Some(customer.to_owned());
            Store::update(conn, pm_id, pm.version, &pm.object).await?;
        }
    }
    Ok(())
}

/// Marks `amount` of the charge captured, records its balance transaction and settles the
/// payment intent as succeeded.
async fn capture_charge(
    conn: &mut SqliteConnection,
    state: &AppState,
    pi: &mut PaymentIntent,
    charge: &mut Charge,
    amount: i64,
    now: i64,
) -> Result<(), ApiError> {
    let fee = processing_fee(amount);
    let txn = balance_transaction(
        state,
        now,
        amount,
        fee,
        &pi.currency,
        &charge.id,
        "charge",
        "charge",
        pi.description.clone(),
    );
    Store::insert(conn, &txn.id, "balance_transaction", now, &txn, None).await?;
    charge.captured = true;
    charge.amount_captured = amount;
    charge.balance_transaction = Some(txn.id);
    pi.status = "succeeded".into();
    pi.amount_received = amount;
    pi.amount_capturable = 0;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn balance_transaction(
    state: &AppState,
    now: i64,
    amount: i64,
    fee: i64,
    currency: &str,
    source: &str,
    kind: &str,
    category: &str,
    description: Option<String>,
) -> BalanceTransaction {
    BalanceTransaction {
        id: state.ids.new_id("txn"),
        object: "balance_transaction".into(),
        amount,
        available_on: available_on(now),
        created: now,
        currency: currency.into(),
        description,
        fee,
        fee_details: if fee == 0 {
            vec![]
        } else {
            vec![
                json!({ "amount": fee, "application": null, "currency": currency,
                          "description": "Stripe processing fees", "type": "stripe_fee" }),
            ]
        },
        net: amount - fee,
        reporting_category: category.into(),
        source: source.into(),
        status: "pending".into(),
        kind: kind.into(),
    }
}

/// The risk level of a stored payment method's card.
fn behaviour_risk(internal: &Option<Value>) -> Result<cards::RiskLevel, ApiError> {
    let behaviour: Behaviour = internal
        .clone()
        .map(serde_json::from_value)
        .transpose()?
        .unwrap_or(Behaviour::Succeed);
    Ok(behaviour.risk_level())
}

/// A charge of `pi` with `pm`; `failure` is (`code`, `decline_code`, message) of a decline.
fn new_charge(
    state: &AppState,
    pi: &PaymentIntent,
    pm: &PaymentMethod,
    now: i64,
    risk: cards::RiskLevel,
    failure: Option<(&str, &str, &str)>,
) -> Charge {
    let failed = failure.is_some();
    Charge {
        id: state.ids.new_id("ch"),
        object: "charge".into(),
        amount: pi.amount,
        amount_captured: 0,
        amount_refunded: 0,
        balance_transaction: None,
        billing_details: pm.billing_details.clone(),
        captured: false,
        created: now,
        currency: pi.currency.clone(),
        customer: pi.customer.clone(),
        description: pi.description.clone(),
        disputed: false,
        failure_code: failure.map(|f| f.0.to_owned()),
        failure_message: failure.map(|f| f.2.to_owned()),
        livemode: false,
        metadata: pi.metadata.clone(),
        outcome: cards::outcome(risk, failure.map(|f| f.1)),
        paid: !failed,
        payment_intent: pi.id.clone(),
        payment_method: pm.id.clone(),
        payment_method_details: match (&pm.card, &pm.sepa_debit) {
            (Some(card), _) => json!({ "type": "card", "card": {
                "brand": card.brand, "country": card.country, "exp_month": card.exp_month,
                "exp_year": card.exp_year, "fingerprint": card.fingerprint, "funding": card.funding,
                "last4": card.last4,
            }}),
            (None, Some(bank)) => json!({ "type": "sepa_debit", "sepa_debit": {
                "bank_code": bank.bank_code, "branch_code": bank.branch_code, "country": bank.country,
                "fingerprint": bank.fingerprint, "last4": bank.last4, "mandate": null,
            }}),
            (None, None) => json!({ "type": pm.kind }),
        },
        receipt_email: pi.receipt_email.clone(),
        refunded: false,
        status: if failed { "failed" } else { "succeeded" }.into(),
    }
}

/// The payment intent `id` with its version, or Stripe's 404.
async fn load_pi(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<crate::store::Versioned<PaymentIntent>, ApiError> {
    Store::get_in::<PaymentIntent>(conn, "payment_intent", id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment_intent", id))
}

async fn save_pi(
    conn: &mut SqliteConnection,
    pi: &PaymentIntent,
    version: i64,
) -> Result<(), ApiError> {
    if Store::update(conn, &pi.id, version, pi).await? {
        Ok(())
    } else {
        Err(ApiError::lock_timeout())
    }
}

/// `GET /v1/payment_intents/:id` and friends.
pub async fn get<T: serde::de::DeserializeOwned>(
    state: &AppState,
    kind: &str,
    id: &str,
) -> Result<T, ApiError> {
    state
        .store
        .get::<T>(kind, id)
        .await?
        .map(|v| v.object)
        .ok_or_else(|| ApiError::not_found(kind, id))
}

/// `POST /v1/payment_intents/:id/capture`.
pub async fn capture(
    state: &AppState,
    pi_id: &str,
    amount_to_capture: Option<i64>,
) -> Result<PaymentIntent, ApiError> {
    let mut tx = state.store.begin().await?;
    let current = load_pi(&mut tx, pi_id).await?;
    let mut pi = current.object;
    if pi.status != "requires_capture" {
        return Err(unexpected_state(&pi, "capture"));
    }
    let amount = amount_to_capture.unwrap_or(pi.amount_capturable);
    if amount <= 0 || amount > pi.amount_capturable {
        return Err(ApiError::invalid_param(
            "amount_to_capture",
            format!(
                "amount_to_capture must be between 1 and {}.",
                pi.amount_capturable
            ),
        ));
    }
    let charge_id = pi
        .latest_charge
        .clone()
        .ok_or_else(|| ApiError::internal("requires_capture without a charge"))?;
    let ch = Store::get_in::<Charge>(&mut tx, "charge", &charge_id)
        .await?
        .ok_or_else(|| ApiError::internal("missing charge"))?;
    let mut charge = ch.object;
    let now = state.clock.now();
    capture_charge(&mut tx, state, &mut pi, &mut charge, amount, now).await?;
    emit(&mut tx, state, "payment_intent.succeeded", &pi).await?;
    let dispute_on_capture = ch
        .internal
        .as_ref()
        .and_then(|i| i.get("dispute_on_capture"))
        .is_some();
    if dispute_on_capture {
        open_dispute(&mut tx, state, &pi, &mut charge, now).await?;
    }
    if !Store::update(&mut tx, &charge.id, ch.version, &charge).await? {
        return Err(ApiError::lock_timeout());
    }
    save_pi(&mut tx, &pi, current.version).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(pi)
}

/// `POST /v1/payment_intents/:id/cancel`.
pub async fn cancel(
    state: &AppState,
    pi_id: &str,
    reason: Option<String>,
) -> Result<PaymentIntent, ApiError> {
    let mut tx = state.store.begin().await?;
    let pi = cancel_in(&mut tx, state, pi_id, reason, state.clock.now()).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(pi)
}

/// Cancels inside the caller's transaction at `now` (Billing voids an invoice's intent so).
pub(crate) async fn cancel_in(
    tx: &mut SqliteConnection,
    state: &AppState,
    pi_id: &str,
    reason: Option<String>,
    now: i64,
) -> Result<PaymentIntent, ApiError> {
    let current = load_pi(tx, pi_id).await?;
    let mut pi = current.object;
    if !matches!(
        pi.status.as_str(),
        "requires_payment_method"
            | "requires_confirmation"
            | "requires_action"
            | "requires_capture"
    ) {
        return Err(ApiError::unexpected_state(format!(
            "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of \
             the following statuses may be canceled: requires_payment_method, requires_capture, \
             requires_confirmation, requires_action, processing.",
            pi.status
        )));
    }
    pi.status = "canceled".into();
    pi.canceled_at = Some(now);
    pi.cancellation_reason = reason;
    pi.next_action = None;
    pi.amount_capturable = 0;
    save_pi(tx, &pi, current.version).await?;
    emit_at(tx, state, "payment_intent.canceled", &pi, now).await?;
    Ok(pi)
}

/// Completes or fails 3-D Secure for a payment intent in `requires_action` (the challenge page).
pub async fn finish_three_d_secure(
    state: &AppState,
    pi_id: &str,
    client_secret: &str,
    complete: bool,
) -> Result<PaymentIntent, ApiError> {
    let mut tx = state.store.begin().await?;
    let current = load_pi(&mut tx, pi_id).await?;
    let mut pi = current.object;
    if pi.client_secret != client_secret {
        return Err(ApiError::not_found("payment_intent", pi_id));
    }
    if pi.status != "requires_action" {
        return Err(unexpected_state(&pi, "authentication"));
    }
    let now = state.clock.now();
    let pm_id = pi
        .payment_method
        .clone()
        .ok_or_else(|| ApiError::internal("requires_action without pm"))?;
    let pm = Store::get_in::<PaymentMethod>(&mut tx, "payment_method", &pm_id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment_method", &pm_id))?;
    let behaviour: Behaviour = pm
        .internal
        .clone()
        .map(serde_json::from_value)
        .transpose()?
        .unwrap_or(Behaviour::Succeed);
    if let (
        true,
        Behaviour::ThreeDSecureThenDecline {
            code,
            decline_code,
            message,
        },
    ) = (complete, behaviour)
    {
        // Authenticated, then declined by the issuer anyway.
        let charge = new_charge(
            state,
            &pi,
            &pm.object,
            now,
            cards::RiskLevel::Normal,
            Some((&code, &decline_code, &message)),
        );
        Store::insert(&mut tx, &charge.id, "charge", now, &charge, None).await?;
        pi.status = "requires_payment_method".into();
        pi.latest_charge = Some(charge.id.clone());
        pi.payment_method = None;
        pi.next_action = None;
        pi.last_payment_error = Some(json!({
            "type": "card_error", "code": code, "decline_code": decline_code, "message": message,
            "charge": charge.id, "payment_method": serde_json::to_value(&pm.object)?,
        }));
        emit(&mut tx, state, "payment_intent.payment_failed", &pi).await?;
    } else if complete {
        let risk = behaviour_risk(&pm.internal)?;
        succeed(&mut tx, state, &mut pi, &pm.object, false, risk, now).await?;
    } else {
        pi.status = "requires_payment_method".into();
        pi.next_action = None;
        pi.payment_method = None;
        pi.last_payment_error = Some(json!({
            "type": "invalid_request_error",
            "code": "payment_intent_authentication_failure",
            "message": "The provided PaymentMethod has failed authentication. You can provide payment_method_data \
                        or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
            "payment_method": serde_json::to_value(&pm.object)?,
        }));
        emit(&mut tx, state, "payment_intent.payment_failed", &pi).await?;
    }
    save_pi(&mut tx, &pi, current.version).await?;
    crate::billing::after_payment(&mut tx, state, &pi, now).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(pi)
}

/// `POST /v1/refunds`: refunds `amount` (default: what is left) of a payment intent's charge.
pub async fn refund(
    state: &AppState,
    payment_intent: Option<String>,
    charge: Option<String>,
    amount: Option<i64>,
    reason: Option<String>,
    metadata: Metadata,
) -> Result<Refund, ApiError> {
    let mut tx = state.store.begin().await?;
    let charge_id = match (payment_intent, charge) {
        (_, Some(ch)) => ch,
        (Some(pi_id), None) => {
            let pi = load_pi(&mut tx, &pi_id).await?;
            if pi.object.status != "succeeded" {
                return Err(ApiError::invalid_request(
                    "charge_not_refundable",
                    format!(
                        "This PaymentIntent ({pi_id}) does not have a successful charge to refund."
                    ),
                ));
            }
            pi.object
                .latest_charge
                .ok_or_else(|| ApiError::internal("succeeded without charge"))?
        }
        (None, None) => return Err(ApiError::missing_param("payment_intent")),
    };
    let ch = Store::get_in::<Charge>(&mut tx, "charge", &charge_id)
        .await?
        .ok_or_else(|| ApiError::not_found("charge", &charge_id))?;
    let mut charge = ch.object;
    let remaining = charge.amount_captured - charge.amount_refunded;
    if remaining <= 0 {
        return Err(ApiError::invalid_request(
            "charge_already_refunded",
            format!("Charge {charge_id} has already been refunded."),
        ));
    }
    let amount = amount.unwrap_or(remaining);
    if amount <= 0 {
        return Err(ApiError::invalid_param(
            "amount",
            "Refund amount must be positive.",
        ));
    }
    if amount > remaining {
        let mut e = ApiError::invalid_request(
            "amount_too_large",
            format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"),
        );
        e.param = Some("amount".into());
        return Err(e);
    }
    let now = state.clock.now();
    let id = state.ids.new_id("re");
    let txn = balance_transaction(
        state,
        now,
        -amount,
        0,
        &charge.currency,
        &id,
        "refund",
        "refund",
        Some("REFUND FOR CHARGE".into()),
    );
    Store::insert(&mut tx, &txn.id, "balance_transaction", now, &txn, None).await?;
    let refund = Refund {
        id,
        object: "refund".into(),
        amount,
        balance_transaction: Some(txn.id),
        charge: charge.id.clone(),
        created: now,
        currency: charge.currency.clone(),
        metadata,
        payment_intent: charge.payment_intent.clone(),
        reason,
        status: "succeeded".into(),
    };
    Store::insert(&mut tx, &refund.id, "refund", now, &refund, None).await?;
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded == charge.amount_captured;
    if !Store::update(&mut tx, &charge.id, ch.version, &charge).await? {
        return Err(ApiError::lock_timeout());
    }
    emit(&mut tx, state, "charge.refunded", &charge).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(refund)
}

/// Opens a dispute on a succeeded payment intent (the test card 4000000000000259 does this by
/// itself; `paywidget sandbox dispute <pi>` for any other).
pub async fn dispute(state: &AppState, pi_id: &str) -> Result<Dispute, ApiError> {
    let mut tx = state.store.begin().await?;
    let pi = load_pi(&mut tx, pi_id).await?.object;
    if pi.status != "succeeded" {
        return Err(unexpected_state(&pi, "dispute"));
    }
    let charge_id = pi
        .latest_charge
        .clone()
        .ok_or_else(|| ApiError::internal("succeeded without charge"))?;
    let ch = Store::get_in::<Charge>(&mut tx, "charge", &charge_id)
        .await?
        .ok_or_else(|| ApiError::internal("missing charge"))?;
    let mut charge = ch.object;
    if charge.disputed {
        return Err(ApiError::invalid_request(
            "charge_disputed",
            format!("Charge {charge_id} is already disputed."),
        ));
    }
    let dispute = open_dispute(&mut tx, state, &pi, &mut charge, state.clock.now()).await?;
    if !Store::update(&mut tx, &charge.id, ch.version, &charge).await? {
        return Err(ApiError::lock_timeout());
    }
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(dispute)
}

async fn open_dispute(
    conn: &mut SqliteConnection,
    state: &AppState,
    pi: &PaymentIntent,
    charge: &mut Charge,
    now: i64,
) -> Result<Dispute, ApiError> {
    let id = state.ids.new_id("dp");
    let txn = balance_transaction(
        state,
        now,
        -charge.amount_captured,
        DISPUTE_FEE,
        &charge.currency,
        &id,
        "adjustment",
        "dispute",
        Some("Chargeback withdrawal".into()),
    );
    Store::insert(conn, &txn.id, "balance_transaction", now, &txn, None).await?;
    let dispute = Dispute {
        id,
        object: "dispute".into(),
        amount: charge.amount_captured,
        balance_transactions: vec![txn.id],
        charge: charge.id.clone(),
        created: now,
        currency: charge.currency.clone(),
        livemode: false,
        metadata: Metadata::new(),
        payment_intent: pi.id.clone(),
        reason: "fraudulent".into(),
        status: "needs_response".into(),
        // The bank gives the merchant a week to answer here (networks set 7 to 21 days).
        evidence_details: crate::model::EvidenceDetails {
            due_by: Some(now + DISPUTE_RESPONSE_SECS),
            has_evidence: false,
            past_due: false,
            submission_count: 0,
        },
    };
    Store::insert(conn, &dispute.id, "dispute", now, &dispute, None).await?;
    charge.disputed = true;
    emit(conn, state, "charge.dispute.created", &dispute).await?;
    Ok(dispute)
}

/// Records an event about `object` and queues it for every webhook endpoint.
pub async fn emit<T: Serialize>(
    conn: &mut SqliteConnection,
    state: &AppState,
    kind: &str,
    object: &T,
) -> Result<String, ApiError> {
    emit_at(conn, state, kind, object, state.clock.now()).await
}

/// [`emit`] with the event's `created` given: a test clock's time for what happens on it.
/// Deliveries are queued for now (real time), whatever the event's time.
pub async fn emit_at<T: Serialize>(
    conn: &mut SqliteConnection,
    state: &AppState,
    kind: &str,
    object: &T,
    now: i64,
) -> Result<String, ApiError> {
    insert_event(conn, state, kind, serde_json::to_value(object)?, None, now).await
}

/// An `*.updated` event: `data.previous_attributes` holds the previous value of each top-level
/// field of `before` that differs in `after`, as Stripe's.
pub async fn emit_updated_at<T: Serialize>(
    conn: &mut SqliteConnection,
    state: &AppState,
    kind: &str,
    before: &T,
    after: &T,
    now: i64,
) -> Result<String, ApiError> {
    let before = serde_json::to_value(before)?;
    let after = serde_json::to_value(after)?;
    let previous = previous_attributes(&before, &after);
    insert_event(conn, state, kind, after, Some(previous), now).await
}

/// The top-level fields of `before` whose values differ in `after` (absent ones as `null`).
pub fn previous_attributes(before: &Value, after: &Value) -> Value {
    let mut previous = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (key, old) in b {
            if a.get(key) != Some(old) {
                previous.insert(key.clone(), old.clone());
            }
        }
        for key in a.keys().filter(|k| !b.contains_key(*k)) {
            previous.insert(key.clone(), Value::Null);
        }
    }
    Value::Object(previous)
}

async fn insert_event(
    conn: &mut SqliteConnection,
    state: &AppState,
    kind: &str,
    object: Value,
    previous_attributes: Option<Value>,
    now: i64,
) -> Result<String, ApiError> {
    let mut object = object;
    crate::shape::complete(&mut object);
    let event = Event {
        id: state.ids.new_id("evt"),
        object: "event".into(),
        api_version: API_VERSION.into(),
        created: now,
        data: EventData {
            object,
            previous_attributes,
        },
        livemode: false,
        pending_webhooks: state.config.webhooks.len() as i64,
        request: json!({ "id": null, "idempotency_key": null }),
        kind: kind.into(),
    };
    Store::insert(conn, &event.id, "event", now, &event, None).await?;
    for endpoint in &state.config.webhooks {
        Store::enqueue_delivery(
            conn,
            &event.id,
            kind,
            &endpoint.url,
            &endpoint.secret,
            state.clock.now_ms(),
        )
        .await?;
    }
    Ok(event.id)
}

/// `GET /v1/balance_transactions` items with `status` as of now.
pub fn with_status(mut txn: Value, now: i64) -> Value {
    let available = txn
        .get("available_on")
        .and_then(Value::as_i64)
        .is_some_and(|t| t <= now);
    txn["status"] = json!(if available { "available" } else { "pending" });
    txn
}

/// How long a merchant has to answer a dispute in the sandbox: 7 days.
pub const DISPUTE_RESPONSE_SECS: i64 = 7 * 86_400;

/// The id [`payouts`] gives a batch, `po_sandbox_<currency>_<day>`, back as (currency, day).
pub fn payout_id_parts(id: &str) -> Option<(String, i64)> {
    let rest = id.strip_prefix("po_sandbox_")?;
    let (currency, day) = rest.split_once('_')?;
    Some((currency.to_owned(), day.parse().ok()?))
}

/// Payout-like daily batches: every balance transaction available on the same day (and in the
/// same currency) is paid out together; newest first.
pub fn payouts(txns: &[Value], now: i64) -> Vec<Value> {
    use std::collections::BTreeMap;
    let mut batches: BTreeMap<(i64, String), (i64, usize)> = BTreeMap::new();
    for t in txns {
        let day = t["available_on"].as_i64().unwrap_or(0);
        let currency = t["currency"].as_str().unwrap_or("").to_owned();
        let entry = batches.entry((day, currency)).or_default();
        entry.0 += t["net"].as_i64().unwrap_or(0);
        entry.1 += 1;
    }
    batches
        .into_iter()
        .rev()
        .map(|((day, currency), (amount, count))| {
            json!({
                "id": format!("po_sandbox_{currency}_{day}"),
                "object": "payout",
                "amount": amount,
                "arrival_date": day,
                "automatic": true,
                "balance_transaction_count": count,
                "created": day,
                "currency": currency,
                "livemode": false,
                "method": "standard",
                "status": if day <= now { "paid" } else { "pending" },
                "type": "bank_account",
            })
        })
        .collect()
}

/// Emits `payout.paid` once for each daily batch that has reached the bank on the sandbox's
/// clock (its arrival day has come), as Stripe does when a payout is paid; returns how many.
/// A marker object (`payout_paid`, the payout's id) makes each announcement happen once.
pub async fn announce_payouts(state: &AppState) -> Result<usize, ApiError> {
    let txns = state.store.all("balance_transaction").await?;
    let now = state.clock.now();
    let mut conn = state.store.begin().await?;
    let mut told = 0;
    for payout in payouts(&txns, now) {
        let Some(id) = payout["id"].as_str().map(str::to_owned) else {
            continue;
        };
        if payout["status"] != "paid"
            || Store::get_in::<Value>(&mut conn, "payout_paid", &id)
                .await?
                .is_some()
        {
            continue;
        }
        Store::insert(&mut conn, &id, "payout_paid", now, &payout, None).await?;
        emit(&mut conn, state, "payout.paid", &payout).await?;
        told += 1;
    }
    conn.commit().await?;
    if told > 0 {
        state.deliveries_queued.notify_one();
    }
    Ok(told)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_rule() {
        assert_eq!(processing_fee(1000), 59); // 29 + 30
        assert_eq!(processing_fee(2000), 88); // 58 + 30
        assert_eq!(processing_fee(50), 31); // 1.45 rounds to 1
        assert_eq!(processing_fee(17), 30); // 0.493 rounds to 0
    }

    #[test]
    fn available_two_days_later_at_midnight() {
        let created = 1_763_900_000; // 2025-11-23 12:13:20 UTC
        assert_eq!(available_on(created), 1_764_028_800); // 2025-11-25 00:00 UTC
    }

    #[test]
    fn payout_ids_name_their_batch() {
        assert_eq!(
            payout_id_parts("po_sandbox_usd_172800"),
            Some(("usd".into(), 172_800))
        );
        assert_eq!(payout_id_parts("po_other"), None);
        assert_eq!(payout_id_parts("po_sandbox_usd_x"), None);
    }

    #[test]
    fn payouts_group_by_day_and_currency() {
        let t = |day: i64, cur: &str, net: i64| json!({ "available_on": day, "currency": cur, "net": net });
        let p = payouts(
            &[
                t(86_400, "usd", 100),
                t(86_400, "usd", -30),
                t(86_400, "eur", 5),
                t(172_800, "usd", 7),
            ],
            100_000,
        );
        assert_eq!(p.len(), 3);
        assert_eq!(p[0]["amount"], 7);
        assert_eq!(p[0]["status"], "pending");
        let usd_day1 = p
            .iter()
            .find(|x| x["currency"] == "usd" && x["arrival_date"] == 86_400)
            .unwrap();
        assert_eq!(usd_day1["amount"], 70);
        assert_eq!(usd_day1["status"], "paid");
    }
}
