//! Stripe's object shapes (the subset the sandbox serves), as clients see them.
// The fields are Stripe's, one-to-one and named as in its API reference, which documents them.
#![allow(missing_docs)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `metadata`: string keys to string values.
pub type Metadata = BTreeMap<String, String>;

/// A tokenized card or bank account (`pm_…`). Never holds the card number, the CVC or the
/// IBAN: only what Stripe shows (`card` or `sepa_debit`, as its `type` says).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub id: String,
    pub object: String,
    pub billing_details: BillingDetails,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sepa_debit: Option<SepaDebitDetails>,
    pub created: i64,
    pub customer: Option<String>,
    pub livemode: bool,
    pub metadata: Metadata,
    #[serde(rename = "type")]
    pub kind: String,
}

/// `payment_method.billing_details`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BillingDetails {
    pub address: Address,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// A postal address (only `postal_code` and `country` are collected by the checkout).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Address {
    pub city: Option<String>,
    pub country: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub postal_code: Option<String>,
    pub state: Option<String>,
}

/// `payment_method.sepa_debit`: the account's country, bank and last four, never the IBAN.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SepaDebitDetails {
    pub bank_code: String,
    pub branch_code: String,
    pub country: String,
    pub fingerprint: String,
    pub generated_from: Value,
    pub last4: String,
}

/// `payment_method.card`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardDetails {
    pub brand: String,
    pub checks: Value,
    pub country: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub fingerprint: String,
    pub funding: String,
    pub last4: String,
    pub networks: Value,
    pub three_d_secure_usage: Value,
    pub wallet: Option<Value>,
}

/// A confirmation token (`ctoken_…`): what Stripe.js collected (a card, billing details, a
/// return URL), ready for the server to confirm one PaymentIntent with. Like a payment method it
/// keeps only what Stripe shows of the card.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConfirmationToken {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub expires_at: i64,
    pub livemode: bool,
    pub mandate_data: Option<Value>,
    pub payment_intent: Option<String>,
    pub payment_method_options: Option<Value>,
    pub payment_method_preview: PaymentMethodPreview,
    pub return_url: Option<String>,
    pub setup_future_usage: Option<String>,
    pub setup_intent: Option<String>,
    pub shipping: Option<Shipping>,
    pub use_stripe_sdk: bool,
}

/// `confirmation_token.payment_method_preview`: the payment method the token will create.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaymentMethodPreview {
    pub billing_details: BillingDetails,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardDetails>,
    #[serde(rename = "type")]
    pub kind: String,
}

/// `shipping` of a confirmation token (and Stripe's other objects).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Shipping {
    pub address: Address,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// A customer (`cus_…`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    // Defaulted so customers stored before Billing still read.
    #[serde(default)]
    pub invoice_settings: InvoiceSettings,
    pub livemode: bool,
    pub metadata: Metadata,
    #[serde(default)]
    pub test_clock: Option<String>,
}

/// `customer.invoice_settings`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InvoiceSettings {
    pub custom_fields: Option<Value>,
    pub default_payment_method: Option<String>,
    pub footer: Option<String>,
    pub rendering_options: Option<Value>,
}

/// A product (`prod_…`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub object: String,
    pub active: bool,
    pub created: i64,
    pub default_price: Option<String>,
    pub description: Option<String>,
    pub images: Vec<String>,
    pub livemode: bool,
    pub marketing_features: Vec<Value>,
    pub metadata: Metadata,
    pub name: String,
    pub package_dimensions: Option<Value>,
    pub shippable: Option<bool>,
    pub statement_descriptor: Option<String>,
    pub tax_code: Option<String>,
    pub unit_label: Option<String>,
    pub updated: i64,
    pub url: Option<String>,
}

/// A price (`price_…`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Price {
    pub id: String,
    pub object: String,
    pub active: bool,
    pub billing_scheme: String,
    pub created: i64,
    pub currency: String,
    pub custom_unit_amount: Option<Value>,
    pub livemode: bool,
    pub lookup_key: Option<String>,
    pub metadata: Metadata,
    pub nickname: Option<String>,
    pub product: String,
    pub recurring: Option<Recurring>,
    pub tax_behavior: String,
    pub tiers_mode: Option<String>,
    pub transform_quantity: Option<Value>,
    #[serde(rename = "type")]
    pub kind: String,
    pub unit_amount: Option<i64>,
    pub unit_amount_decimal: Option<String>,
}

/// `price.recurring`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recurring {
    pub interval: String,
    pub interval_count: i64,
    pub meter: Option<String>,
    pub usage_type: String,
}

/// A subscription (`sub_…`), in the shape of API versions from 2025-03-31 on: the billing
/// period lives on each item (`items.data[].current_period_start/end`), not here.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub object: String,
    pub billing_cycle_anchor: i64,
    pub cancel_at: Option<i64>,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<i64>,
    pub cancellation_details: Value,
    pub collection_method: String,
    pub created: i64,
    pub currency: String,
    pub customer: String,
    pub default_payment_method: Option<String>,
    pub description: Option<String>,
    pub ended_at: Option<i64>,
    pub items: SubscriptionItems,
    pub latest_invoice: Option<String>,
    pub livemode: bool,
    pub metadata: Metadata,
    pub pause_collection: Option<Value>,
    pub payment_settings: Value,
    pub start_date: i64,
    pub status: String,
    pub test_clock: Option<String>,
    pub trial_end: Option<i64>,
    pub trial_start: Option<i64>,
}

/// `subscription.items`: a list object.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubscriptionItems {
    pub object: String,
    pub data: Vec<SubscriptionItem>,
    pub has_more: bool,
    pub url: String,
}

/// A subscription item (`si_…`) with its own billing period.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubscriptionItem {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub current_period_end: i64,
    pub current_period_start: i64,
    pub metadata: Metadata,
    pub price: Price,
    pub quantity: i64,
    pub subscription: String,
}

/// An invoice (`in_…`), post-2025-03-31: the subscription is under
/// `parent.subscription_details`, the payments are `invoice_payment`s (the `payments` list,
/// included when expanded) and the client secret is `confirmation_secret` (likewise).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub object: String,
    pub account_country: String,
    pub amount_due: i64,
    pub amount_overpaid: i64,
    pub amount_paid: i64,
    pub amount_remaining: i64,
    pub attempt_count: i64,
    pub attempted: bool,
    pub auto_advance: bool,
    pub billing_reason: String,
    pub collection_method: String,
    pub created: i64,
    pub currency: String,
    pub customer: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub default_payment_method: Option<String>,
    pub description: Option<String>,
    pub due_date: Option<i64>,
    pub effective_at: Option<i64>,
    pub hosted_invoice_url: Option<String>,
    pub lines: InvoiceLines,
    pub livemode: bool,
    pub metadata: Metadata,
    pub next_payment_attempt: Option<i64>,
    pub number: Option<String>,
    pub parent: Option<Value>,
    pub period_end: i64,
    pub period_start: i64,
    pub status: String,
    pub status_transitions: InvoiceTransitions,
    pub subtotal: i64,
    pub test_clock: Option<String>,
    pub total: i64,
}

/// `invoice.lines`: a list object of line items.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InvoiceLines {
    pub object: String,
    pub data: Vec<Value>,
    pub has_more: bool,
    pub total_count: i64,
    pub url: String,
}

/// `invoice.status_transitions`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InvoiceTransitions {
    pub finalized_at: Option<i64>,
    pub marked_uncollectible_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub voided_at: Option<i64>,
}

/// An invoice payment (`inpay_…`): one PaymentIntent paying (or trying to pay) an invoice.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InvoicePayment {
    pub id: String,
    pub object: String,
    pub amount_paid: Option<i64>,
    pub amount_requested: i64,
    pub created: i64,
    pub currency: String,
    pub invoice: String,
    pub is_default: bool,
    pub livemode: bool,
    pub payment: Value,
    pub status: String,
    pub status_transitions: Value,
}

/// A test clock (`clock_…`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestClock {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub deletes_after: i64,
    pub frozen_time: i64,
    pub livemode: bool,
    pub name: Option<String>,
    pub status: String,
    pub status_details: Value,
}

/// A payment intent (`pi_…`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub object: String,
    pub amount: i64,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub canceled_at: Option<i64>,
    pub cancellation_reason: Option<String>,
    pub capture_method: String,
    pub client_secret: String,
    pub confirmation_method: String,
    pub created: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub last_payment_error: Option<Value>,
    pub latest_charge: Option<String>,
    pub livemode: bool,
    pub metadata: Metadata,
    pub next_action: Option<Value>,
    pub payment_method: Option<String>,
    pub payment_method_types: Vec<String>,
    pub receipt_email: Option<String>,
    pub return_url: Option<String>,
    pub setup_future_usage: Option<String>,
    pub status: String,
}

/// A charge (`ch_…`): one attempt to move money for a payment intent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub object: String,
    pub amount: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub balance_transaction: Option<String>,
    pub billing_details: BillingDetails,
    pub captured: bool,
    pub created: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub disputed: bool,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub livemode: bool,
    pub metadata: Metadata,
    pub outcome: Value,
    pub paid: bool,
    pub payment_intent: String,
    pub payment_method: String,
    pub payment_method_details: Value,
    pub receipt_email: Option<String>,
    pub refunded: bool,
    pub status: String,
}

/// A refund (`re_…`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub object: String,
    pub amount: i64,
    pub balance_transaction: Option<String>,
    pub charge: String,
    pub created: i64,
    pub currency: String,
    pub metadata: Metadata,
    pub payment_intent: String,
    pub reason: Option<String>,
    pub status: String,
}

/// A dispute (`dp_…`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dispute {
    pub id: String,
    pub object: String,
    pub amount: i64,
    pub balance_transactions: Vec<String>,
    pub charge: String,
    pub created: i64,
    pub currency: String,
    pub livemode: bool,
    pub metadata: Metadata,
    pub payment_intent: String,
    pub reason: String,
    pub status: String,
    /// When evidence is due and whether any was given.
    pub evidence_details: EvidenceDetails,
}

/// `dispute.evidence_details`: the deadline the cardholder's bank set for the merchant's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvidenceDetails {
    pub due_by: Option<i64>,
    pub has_evidence: bool,
    pub past_due: bool,
    pub submission_count: i64,
}

/// A balance transaction (`txn_…`): money in or out of the sandbox account's balance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BalanceTransaction {
    pub id: String,
    pub object: String,
    pub amount: i64,
    pub available_on: i64,
    pub created: i64,
    pub currency: String,
    pub description: Option<String>,
    pub fee: i64,
    pub fee_details: Vec<Value>,
    pub net: i64,
    pub reporting_category: String,
    pub source: String,
    pub status: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// An event (`evt_…`), delivered to webhooks and listed at `/v1/events`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub object: String,
    pub api_version: String,
    pub created: i64,
    pub data: EventData,
    pub livemode: bool,
    pub pending_webhooks: i64,
    pub request: Value,
    #[serde(rename = "type")]
    pub kind: String,
}

/// `event.data`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventData {
    pub object: Value,
    /// On `*.updated` events: the previous values of the top-level fields that changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_attributes: Option<Value>,
}

/// A Stripe list object.
pub fn list(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    serde_json::json!({ "object": "list", "data": data, "has_more": has_more, "url": url })
}

/// A setup intent (`seti_…`): saving a card for later (off-session) payments.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetupIntent {
    pub id: String,
    pub object: String,
    pub cancellation_reason: Option<String>,
    pub client_secret: String,
    pub created: i64,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub last_setup_error: Option<Value>,
    pub livemode: bool,
    pub metadata: Metadata,
    pub next_action: Option<Value>,
    pub payment_method: Option<String>,
    pub payment_method_types: Vec<String>,
    pub return_url: Option<String>,
    pub status: String,
    pub usage: String,
}
