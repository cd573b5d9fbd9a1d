//! The gateway objects the host reads outside events, as serde types in Stripe's shapes
//! (API 2025-03-31 and later): parsed once here, so domain code never indexes JSON.

use std::collections::BTreeMap;

use serde::Deserialize;

pub use super::events::Invoice;
use super::{NextAction, PaymentIntent};

/// A list page (`{data, has_more}`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct List<T> {
    /// This page's objects.
    pub data: Vec<T>,
    /// Whether more follow.
    #[serde(default)]
    pub has_more: bool,
}

/// A card's details as a payment method shows them.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct CardDetails {
    /// The gateway's fingerprint of the card number (the same card, the same fingerprint).
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// A payment method (`pm_…`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PaymentMethod {
    /// `pm_…`.
    pub id: String,
    /// `card`, `sepa_debit`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Its card, for a card.
    #[serde(default)]
    pub card: Option<CardDetails>,
    /// Its bank account, for a SEPA Direct Debit.
    #[serde(default)]
    pub sepa_debit: Option<SepaDebitDetails>,
}

impl PaymentMethod {
    /// A bank debit: confirmed with the payer's mandate, `processing` until the bank settles.
    pub fn is_bank_debit(&self) -> bool {
        self.kind == "sepa_debit"
    }

    /// The gateway's fingerprint of the card or the account (the same for the same one).
    pub fn fingerprint(&self) -> Option<String> {
        self.card
            .as_ref()
            .and_then(|c| c.fingerprint.clone())
            .or_else(|| self.sepa_debit.as_ref().and_then(|b| b.fingerprint.clone()))
    }
}

/// `payment_method.sepa_debit`: what the gateway shows of an account (never its IBAN).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SepaDebitDetails {
    /// The same for the same account.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Its last four characters.
    #[serde(default)]
    pub last4: Option<String>,
}

/// What a confirmation token will pay with.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct PaymentMethodPreview {
    /// Its card, for a card.
    #[serde(default)]
    pub card: Option<CardDetails>,
}

/// A confirmation token (`ctoken_…`), from the gateway's own fields.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ConfirmationToken {
    /// `ctoken_…`.
    pub id: String,
    /// The payment method it carries.
    #[serde(default)]
    pub payment_method_preview: Option<PaymentMethodPreview>,
}

/// A price (`price_…`), as far as the host reads it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Price {
    /// `price_…`.
    pub id: String,
    /// Its product.
    #[serde(default)]
    pub product: Option<String>,
}

/// One item of a subscription.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SubscriptionItem {
    /// `si_…`.
    pub id: String,
    /// What it charges.
    pub price: Price,
    /// The end of its current period (on the item since API 2025-03-31).
    #[serde(default)]
    pub current_period_end: Option<i64>,
}

/// A subscription (`sub_…`), as the host reads it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Subscription {
    /// `sub_…`.
    pub id: String,
    /// `cus_…`.
    pub customer: String,
    /// Its status.
    pub status: crate::store::SubscriptionStatus,
    /// Its items.
    pub items: List<SubscriptionItem>,
    /// The end of its current period (older API versions).
    #[serde(default)]
    pub current_period_end: Option<i64>,
    /// Our `session_id` (a hint).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl Subscription {
    /// Its first item.
    pub fn item(&self) -> Option<&SubscriptionItem> {
        self.items.data.first()
    }

    /// The end of its current period.
    pub fn period_end(&self) -> Option<i64> {
        self.item()
            .and_then(|i| i.current_period_end)
            .or(self.current_period_end)
    }
}

/// `last_setup_error`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct SetupError {
    /// Stripe's `code`.
    #[serde(default)]
    pub code: Option<String>,
    /// Stripe's `decline_code`.
    #[serde(default)]
    pub decline_code: Option<String>,
}

/// A SetupIntent's status.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SetupStatus {
    /// The card is saved.
    Succeeded,
    /// The bank asks the cardholder (3-D Secure).
    RequiresAction,
    /// Any other state: not saved.
    #[serde(other)]
    Other,
}

/// A SetupIntent (`seti_…`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SetupIntent {
    /// `seti_…`.
    pub id: String,
    /// Where it stands.
    pub status: SetupStatus,
    /// Its customer.
    #[serde(default)]
    pub customer: Option<String>,
    /// The saved payment method.
    #[serde(default)]
    pub payment_method: Option<String>,
    /// What the cardholder must do next.
    #[serde(default)]
    pub next_action: Option<NextAction>,
    /// For the gateway's own script.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub last_setup_error: Option<SetupError>,
}

impl SetupIntent {
    /// The bank's page, when `requires_action`.
    pub fn redirect_url(&self) -> Option<String> {
        self.next_action.as_ref()?.url()
    }
}

/// What an invoice payment paid with.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct InvoicePaymentMethod {
    /// The payment intent (unexpanded).
    #[serde(default)]
    pub payment_intent: Option<String>,
}

/// An invoice payment (`inpay_…`, API 2025-03-31): which invoice a payment intent paid.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct InvoicePayment {
    /// `inpay_…`.
    pub id: String,
    /// The invoice it paid.
    pub invoice: String,
    /// What paid it.
    pub payment: InvoicePaymentMethod,
}

/// An object of a list the host walks by creation time.
pub trait Listed {
    /// Its id (the cursor for the next page).
    fn id(&self) -> &str;
    /// When it was created.
    fn created(&self) -> i64;
}

impl Listed for PaymentIntent {
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created.unwrap_or(0)
    }
}

impl Listed for Invoice {
    fn id(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }
    fn created(&self) -> i64 {
        self.created.unwrap_or(0)
    }
}

/// A payout (`po_…`): what the gateway sent to the merchant's bank on a day, in a currency.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Payout {
    /// `po_…`.
    pub id: String,
    /// What it pays out (minor units; the sum of its balance transactions' nets).
    pub amount: i64,
    /// When it arrives (or arrived) at the bank.
    pub arrival_date: i64,
    /// Lower-case ISO code.
    pub currency: String,
    /// `paid`, `pending`, `in_transit`, `canceled`, `failed`.
    pub status: String,
}

/// What a balance transaction moved: a charge, a refund or a dispute, expanded
/// (`expand[]=data.source`), or only its id when the gateway did not expand it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum BalanceSource {
    /// The object.
    Expanded(BalanceSourceObject),
    /// Its id.
    Id(String),
}

/// The fields of a balance transaction's source that name the payment.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct BalanceSourceObject {
    /// `ch_…`, `re_…`, `dp_…`.
    pub id: String,
    /// The payment it belongs to.
    #[serde(default)]
    pub payment_intent: Option<String>,
}

impl BalanceSource {
    /// The payment intent the money moved for, when the source was expanded.
    pub fn payment_intent(&self) -> Option<&str> {
        match self {
            BalanceSource::Expanded(o) => o.payment_intent.as_deref(),
            BalanceSource::Id(_) => None,
        }
    }

    /// The source's id.
    pub fn id(&self) -> &str {
        match self {
            BalanceSource::Expanded(o) => &o.id,
            BalanceSource::Id(id) => id,
        }
    }
}

/// A balance transaction (`txn_…`): money into or out of the gateway balance.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct BalanceTransaction {
    /// `txn_…`.
    pub id: String,
    /// Gross (minor units; negative for refunds and disputes).
    pub amount: i64,
    /// The gateway's fee.
    pub fee: i64,
    /// `amount - fee`.
    pub net: i64,
    /// Lower-case ISO code.
    pub currency: String,
    /// `charge`, `refund`, `dispute`, `payout`…
    pub reporting_category: String,
    /// What moved it.
    #[serde(default)]
    pub source: Option<BalanceSource>,
}
