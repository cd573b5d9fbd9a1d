//! The wire contract: every JSON request and answer between the checkout page and the host
//! (and the two gateway answers the page reads), used by both sides. With the `serde` feature
//! the types (de)serialize; the host encodes with serde_json, the page decodes with
//! [`decode`] (small, and never formats error text, to keep the wasm light).
//!
//! Amounts are integer minor units next to the `currency` they are in.

mod codes;
mod currencies;
#[cfg(feature = "serde")]
pub mod decode;
mod variant;
pub mod wording;

use std::collections::BTreeMap;

pub use currencies::{currency_of_region, CurrencyOption};
pub use variant::FormVariant;

pub use codes::{
    CampaignKind, CardCapture, CardField, DeclineCode, ErrorCode, Frequency, SessionStatus,
};

use crate::money::{Amount, Currency};

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// The gateway API version the host pins (`Stripe-Version`) and the sandbox speaks: the one
/// stripe-python 16.x pins by default (Billing in the post-2025-03-31 shapes: `current_period_*`
/// on subscription items, an invoice's payment through `confirmation_secret` and its payments).
pub const STRIPE_API_VERSION: &str = "2026-10-28.endive";

/// Donor fee coverage: `percent` of the amount (rounded up) plus `fixed` minor units.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub struct FeeCoverage {
    /// Percent of the amount, e.g. 2.9.
    pub percent: f64,
    /// Fixed minor units, e.g. 30.
    pub fixed: i64,
}

/// `GET /api/campaigns/:id`: what the form needs to know about a campaign.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct CampaignView {
    /// The campaign id.
    pub id: String,
    /// Donation or licence.
    pub kind: CampaignKind,
    /// Heading.
    pub title: String,
    /// The merchant's display name.
    pub merchant_name: String,
    /// The campaign's currency.
    pub currency: Currency,
    /// Donation: suggested amounts (minor units).
    pub suggested_amounts: Vec<i64>,
    /// Donation: smallest amount (minor units).
    pub min_amount: Option<i64>,
    /// Donation: largest amount (minor units).
    pub max_amount: Option<i64>,
    /// Licence: the price (minor units).
    pub price: Option<i64>,
    /// Fee coverage offered to donors.
    pub fee_coverage: Option<FeeCoverage>,
    /// Where the page tokenizes cards.
    pub gateway_url: String,
    /// Our card fields, or the gateway's own (then `gateway_js_url` is its script). Absent
    /// (an older host): our fields.
    #[cfg_attr(feature = "serde", serde(default))]
    pub card_capture: CardCapture,
    /// The gateway's browser script (Stripe.js or the sandbox's counterpart), for
    /// [`CardCapture::GatewayFields`].
    #[cfg_attr(feature = "serde", serde(default))]
    pub gateway_js_url: Option<String>,
    /// The merchant's publishable key (`pk_…`).
    pub publishable_key: String,
    /// Logo shown above the title, 48×48.
    pub logo_url: Option<String>,
    /// Ask for the billing postal code.
    pub collect_postal_code: bool,
    /// Merchant origins allowed to embed this checkout (the overlay's postMessage partners).
    pub allowed_origins: Vec<String>,
    /// Donation frequencies offered, the default first (absent: one-time only).
    #[cfg_attr(feature = "serde", serde(default))]
    pub frequencies: Vec<Frequency>,
    /// Licence subscription tiers (absent: a one-time licence at `price`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub tiers: Vec<TierView>,
    /// Before a one-time gift is paid, ask once whether the donor would rather give a smaller
    /// amount every month.
    #[cfg_attr(feature = "serde", serde(default))]
    pub monthly_prompt: bool,
    /// A euro campaign also takes SEPA Direct Debit: the form offers "Card | Bank account"
    /// (absent: cards only).
    #[cfg_attr(feature = "serde", serde(default))]
    pub sepa_debit: bool,
    /// Further currencies the campaign takes, each with its own amounts (absent: only
    /// `currency`). [`CampaignView::in_currency`] gives the campaign in one of them.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub currencies: Vec<CurrencyOption>,
}

/// A licence subscription tier: its seats and prices per period.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct TierView {
    /// The tier's id, sent back in [`NewSession::tier`].
    pub id: String,
    /// Its name, e.g. `Pro`.
    pub name: String,
    /// Seats (activations) it allows.
    pub seats: u16,
    /// Price per month (minor units), when offered monthly.
    pub monthly: Option<i64>,
    /// Price per year (minor units), when offered yearly.
    pub yearly: Option<i64>,
}

impl TierView {
    /// The price for `frequency`, if this tier is offered so.
    pub fn price(&self, frequency: Frequency) -> Option<i64> {
        match frequency {
            Frequency::Monthly => self.monthly,
            Frequency::Yearly => self.yearly,
            Frequency::OneTime => None,
        }
    }
}

/// `POST /api/sessions`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub struct NewSession {
    /// The campaign id.
    pub campaign: String,
    /// Donation amount in minor units (ignored for licences: the price is the price).
    pub amount: Option<i64>,
    /// The donor chose to cover the fees.
    #[cfg_attr(feature = "serde", serde(default))]
    pub cover_fee: bool,
    /// For the receipt or licence email.
    #[cfg_attr(feature = "serde", serde(default))]
    pub email: Option<String>,
    /// For the receipt.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<String>,
    /// One-time (the default) or recurring, among the campaign's `frequencies`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub frequency: Frequency,
    /// A licence subscription's tier (its `TierView::id`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub tier: Option<String>,
    /// The currency the donor pays in, among the campaign's (absent: the campaign's own).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub currency: Option<Currency>,
}

/// The answer to `POST /api/sessions`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct SessionCreated {
    /// `cs_…`.
    pub id: String,
    /// The amount decided by the host (minor units).
    pub amount: i64,
    /// Fee coverage added (minor units).
    pub fee: i64,
    /// `amount + fee`.
    pub total: i64,
    /// Their currency.
    pub currency: Currency,
    /// The total as text, e.g. `26.03 USD`.
    pub display_total: String,
}

/// `POST /api/sessions/:id/pay`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub struct PayRequest {
    /// A payment method token from our own fields (`pm_…`): never card data.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub payment_method: Option<String>,
    /// A confirmation token from the gateway's own fields (`ctoken_…`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub confirmation_token: Option<String>,
    /// One key per attempt, chosen by the page; retries of the attempt reuse it.
    pub idempotency_key: String,
    /// The answer to a [`PayOutcome::Challenge`]: the challenge as issued and the nonce found.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub proof: Option<Proof>,
}

/// A solved proof of work: `SHA-256(challenge ":" nonce)` starts with the challenge's number
/// of zero bits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Proof {
    /// The challenge, exactly as the host issued it.
    pub challenge: String,
    /// The nonce, in decimal.
    pub nonce: String,
}

impl PayRequest {
    /// A request paying with `token`.
    pub fn new(token: &PaymentToken, idempotency_key: String) -> PayRequest {
        let (pm, ct) = match token {
            PaymentToken::PaymentMethod(t) => (Some(t.clone()), None),
            PaymentToken::ConfirmationToken(t) => (None, Some(t.clone())),
        };
        PayRequest {
            payment_method: pm,
            confirmation_token: ct,
            idempotency_key,
            proof: None,
        }
    }

    /// The one token the request carries, parsed.
    pub fn token(&self) -> Option<PaymentToken> {
        match (&self.payment_method, &self.confirmation_token) {
            (Some(pm), None) => PaymentToken::parse(pm).filter(PaymentToken::is_payment_method),
            (None, Some(ct)) => PaymentToken::parse(ct).filter(|t| !t.is_payment_method()),
            _ => None,
        }
    }
}

/// What the gateway gave the page for the card, in either capture mode: the host pays with it
/// (one pay interface for both; subscriptions and card updates take the same).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentToken {
    /// `pm_…`: a payment method tokenized from our own fields.
    PaymentMethod(String),
    /// `ctoken_…`: a confirmation token from the gateway's own fields.
    ConfirmationToken(String),
}

impl PaymentToken {
    /// Parses a token by its prefix (ASCII letters, digits and `_`, at most 255 bytes).
    pub fn parse(text: &str) -> Option<PaymentToken> {
        let well_formed =
            text.len() <= 255 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !well_formed {
            return None;
        }
        if text.len() > 3 && text.starts_with("pm_") {
            Some(PaymentToken::PaymentMethod(text.to_owned()))
        } else if text.len() > 7 && text.starts_with("ctoken_") {
            Some(PaymentToken::ConfirmationToken(text.to_owned()))
        } else {
            None
        }
    }

    /// A `pm_…`.
    pub fn is_payment_method(&self) -> bool {
        matches!(self, PaymentToken::PaymentMethod(_))
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        match self {
            PaymentToken::PaymentMethod(t) | PaymentToken::ConfirmationToken(t) => t,
        }
    }

    /// The gateway parameter that carries it.
    pub fn param(&self) -> &'static str {
        match self {
            PaymentToken::PaymentMethod(_) => "payment_method",
            PaymentToken::ConfirmationToken(_) => "confirmation_token",
        }
    }
}

/// What a pay attempt came to. On the wire: `{"status": "declined", "code": …, "message": …}`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "status", rename_all = "snake_case")
)]
pub enum PayOutcome {
    /// The gateway charged the card; fulfilment follows its webhook.
    Succeeded,
    /// 3-D Secure: send the shopper to `redirect_url`.
    RequiresAction {
        /// The bank's page.
        redirect_url: String,
        /// For the gateway's own fields: the payment's client secret, handed to the gateway's
        /// script (`handleNextAction`), which shows the bank's page itself.
        #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
        client_secret: Option<String>,
    },
    /// Declined: `code` from the gateway and a message for the shopper.
    Declined {
        /// Why.
        code: DeclineCode,
        /// What to tell the shopper.
        message: String,
    },
    /// The gateway has not decided yet; poll the session.
    Processing,
    /// Not charged yet: the host asks for a proof of work first (card-testing defence). Solve
    /// it and send the same request again with [`PayRequest::proof`].
    Challenge {
        /// What to hash (opaque; bound by the host to this session and attempt, expiring).
        challenge: String,
        /// The leading zero bits required.
        difficulty: u8,
    },
    /// An outcome this build does not know: treated as "not decided yet", never as success.
    Unknown,
}

/// `PayOutcome` as it travels, flat: decoding it this way (instead of serde's internally
/// tagged enums, which buffer the whole object) keeps the page's decoder small.
#[cfg(feature = "serde")]
#[derive(Deserialize)]
struct PayOutcomeWire {
    status: String,
    #[serde(default)]
    redirect_url: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    code: Option<DeclineCode>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    difficulty: Option<u8>,
}

#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for PayOutcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = PayOutcomeWire::deserialize(d)?;
        let missing = || serde::de::Error::custom("pay outcome without its fields");
        Ok(match w.status.as_str() {
            "succeeded" => PayOutcome::Succeeded,
            "processing" => PayOutcome::Processing,
            "requires_action" => PayOutcome::RequiresAction {
                redirect_url: w.redirect_url.ok_or_else(missing)?,
                client_secret: w.client_secret,
            },
            "declined" => PayOutcome::Declined {
                code: w.code.ok_or_else(missing)?,
                message: w.message.ok_or_else(missing)?,
            },
            "challenge" => PayOutcome::Challenge {
                challenge: w.challenge.ok_or_else(missing)?,
                difficulty: w.difficulty.ok_or_else(missing)?,
            },
            _ => PayOutcome::Unknown,
        })
    }
}

/// A decline as the session remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct DeclineView {
    /// Why.
    pub code: DeclineCode,
    /// What to tell the shopper.
    pub message: String,
}

/// A licence as the confirmation page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct LicenceView {
    /// The signed key.
    pub key: String,
    /// Revoked after a refund or dispute: it no longer verifies.
    pub revoked: bool,
    /// Setup steps per platform, as sanitized HTML.
    pub instructions_html: BTreeMap<String, String>,
}

/// A donation receipt as the confirmation page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ReceiptView {
    /// Gapless per merchant, e.g. `HOPE-000042`.
    pub number: String,
    /// The organisation named on the receipt.
    pub org_name: Option<String>,
    /// The tax statement.
    pub tax_statement: Option<String>,
    /// The campaign's extra receipt text.
    pub text: Option<String>,
    /// The donation was refunded (the receipt no longer stands).
    pub refunded: bool,
    /// Minor units refunded so far: above zero and below the total, the receipt stands for the
    /// rest (a partial refund). Absent from older hosts' answers.
    #[cfg_attr(feature = "serde", serde(default))]
    pub refunded_minor: i64,
}

/// `GET /api/sessions/:id`: the session as the pages see it. `L` and `R` are the licence and
/// receipt parts: a page that never shows them decodes [`SessionProgress`] instead, skipping
/// them (the form's wasm then carries no code to decode them).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(bound(deserialize = "L: Deserialize<'de>, R: Deserialize<'de>"))
)]
pub struct SessionView<L = LicenceView, R = ReceiptView> {
    /// `cs_…`.
    pub id: String,
    /// One-time or recurring.
    #[cfg_attr(feature = "serde", serde(default))]
    pub frequency: Frequency,
    /// Where it is.
    pub status: SessionStatus,
    /// Minor units.
    pub amount: i64,
    /// Minor units.
    pub fee: i64,
    /// `amount + fee`.
    pub total: i64,
    /// Their currency.
    pub currency: Currency,
    /// Donation or licence.
    pub kind: CampaignKind,
    /// When `declined`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub decline: Option<DeclineView>,
    /// When `requires_action`: the bank's page.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub redirect_url: Option<String>,
    /// Unix seconds the fulfilment happened.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub confirmed_at: Option<i64>,
    /// Where the email went, masked (`d•••@example.org`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub emailed_to: Option<String>,
    /// The licence, for licence campaigns once fulfilled.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub license: Option<L>,
    /// The receipt, for donations once fulfilled.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub receipt: Option<R>,
    /// The merchant's own page to go back to.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub success_url: Option<String>,
    /// The merchant's name, for "Back to …".
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub merchant_name: Option<String>,
}

/// A part of an answer this page reads past without decoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped;

#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Skipped)
    }
}

/// The session as the pay flow needs it: status, decline, 3-D Secure; no receipt or licence.
pub type SessionProgress = SessionView<Skipped, Skipped>;

impl<L, R> SessionView<L, R> {
    /// The total as money.
    pub fn total_amount(&self) -> Amount {
        Amount::from_minor(self.total, self.currency)
    }
}

/// `GET /api/licenses/public-key`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct PublicKeyView {
    /// Always `Ed25519`.
    pub algorithm: String,
    /// The 32-byte key, hex.
    pub public_key_hex: String,
    /// The 32-byte key, base64.
    pub public_key_base64: String,
}

/// `POST /api/licenses/verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub struct VerifyRequest {
    /// The licence key as the customer pasted it.
    pub key: String,
}

/// What a licence grants (the claims signed into its key).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct LicenceClaims {
    /// Product name.
    pub product: String,
    /// Seats.
    pub seats: u16,
    /// Issue day (days since 1970-01-01, UTC).
    pub issued_day: u32,
    /// Last valid day, or `None` for perpetual.
    pub expires_day: Option<u32>,
    /// The order (checkout session) it was issued for.
    pub order: String,
}

/// The answer to `POST /api/licenses/verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize), serde(untagged))]
pub enum VerifyAnswer {
    /// The key is ours: whether it is still good.
    Checked {
        /// Signed by us, not revoked, not expired.
        valid: bool,
        /// Revoked (refund, dispute) or unknown order.
        revoked: bool,
        /// Past its last day.
        expired: bool,
        /// The last day it is good for (days since 1970-01-01), `None` for perpetual.
        #[cfg_attr(feature = "serde", serde(default))]
        valid_until_day: Option<u32>,
        /// `active`, `past_due` (a subscription's renewal failed: still valid in its grace
        /// days), `expired` or `revoked`.
        #[cfg_attr(feature = "serde", serde(default))]
        status: String,
        /// Seats taken by activations.
        #[cfg_attr(feature = "serde", serde(default))]
        seats_used: u16,
        /// What it grants.
        licence: LicenceClaims,
    },
    /// Not a key we signed.
    Invalid {
        /// Always false.
        valid: bool,
        /// Why, fit to show.
        reason: String,
    },
}

/// `POST /api/licenses/activate` and `POST /api/licenses/deactivate`: one installation
/// (`instance`: the app's own id for the machine, 1–64 of `A–Z a–z 0–9 . _ : -`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub struct ActivationRequest {
    /// The licence key.
    pub key: String,
    /// The installation.
    pub instance: String,
}

/// An activation: a signed lease the app keeps and verifies offline until `valid_until_day`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ActivationView {
    /// `PWL1-…`: Ed25519 over order, instance and the last valid day (the host's public key
    /// verifies it).
    pub lease: String,
    /// The installation.
    pub instance: String,
    /// The lease's last valid day (days since 1970-01-01), `None` for a perpetual licence.
    pub valid_until_day: Option<u32>,
    /// The licence's seats.
    pub seats: u16,
    /// Seats taken, this one included.
    pub seats_used: u16,
}

/// `POST /api/licenses/deactivate`'s answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct DeactivationView {
    /// Whether that instance was active (deactivating twice is harmless).
    pub deactivated: bool,
    /// The licence's seats.
    pub seats: u16,
    /// Seats still taken.
    pub seats_used: u16,
}

/// What a lease grants (signed into it).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct LeaseClaims {
    /// The licence's order.
    pub order: String,
    /// The installation.
    pub instance: String,
    /// Last valid day, `None` for perpetual.
    pub valid_until_day: Option<u32>,
}

/// `GET /api/update-card/:link`: what the update-card page (from a failed renewal's mail)
/// shows.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct UpdateCardView {
    /// The gift's campaign (its capture mode, gateway and key).
    pub campaign: CampaignView,
    /// The checkout session that started the gift.
    pub session: String,
    /// Each period's amount (minor units).
    pub amount: i64,
    /// It as text, e.g. `10.00 USD`.
    pub display_amount: String,
    /// How often.
    pub frequency: Frequency,
}

/// `POST /api/update-card`: the new card's token (exactly one of the two) for the link's gift.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub struct UpdateCardRequest {
    /// The signed link's token.
    pub link: String,
    /// From our own fields.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub payment_method: Option<String>,
    /// From the gateway's own fields.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub confirmation_token: Option<String>,
    /// Back from the bank's 3-D Secure page: the SetupIntent it authenticated (`seti_…`),
    /// instead of a new card.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub setup_intent: Option<String>,
    /// One key per attempt.
    pub idempotency_key: String,
}

impl UpdateCardRequest {
    /// The card's one token, parsed.
    pub fn card(&self) -> Option<PaymentToken> {
        PayRequest {
            payment_method: self.payment_method.clone(),
            confirmation_token: self.confirmation_token.clone(),
            idempotency_key: String::new(),
            proof: None,
        }
        .token()
    }
}

/// `POST /webhooks/gateway`'s answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct WebhookAck {
    /// Always true (else the answer is an error).
    pub received: bool,
    /// The event had been applied before.
    pub duplicate: bool,
}

/// The body of every error answer: `{"error": {"code", "message"}}`. The gateway's errors
/// have the same outer shape (with more, optional fields).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ErrorBody {
    /// The error.
    pub error: ApiError,
}

/// An error: a stable code and a message fit to show.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ApiError {
    /// Stable code (`amount_too_small`; at the gateway `incorrect_number`, `card_declined`…).
    pub code: ErrorCode,
    /// Safe to show.
    pub message: String,
    /// The gateway's decline reason, when it has one.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub decline_code: Option<DeclineCode>,
}

/// The gateway's answer to the page's `POST /v1/payment_methods` (only the token is read).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct PaymentMethodCreated {
    /// `pm_…`.
    pub id: String,
}

#[cfg(feature = "serde")]
mod currency_serde {
    //! Currencies travel as their ISO code (`"USD"`); Stripe's lowercase spelling is accepted.
    use crate::money::Currency;

    impl serde::Serialize for Currency {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(self.code())
        }
    }

    impl<'de> serde::Deserialize<'de> for Currency {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let code = <String as serde::Deserialize>::deserialize(d)?;
            Currency::from_code(&code).map_err(|_| serde::de::Error::custom("unknown currency"))
        }
    }
}
