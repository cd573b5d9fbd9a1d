//! The gateway's webhook events as types, parsed once at the edge: an envelope (`id`, `type`)
//! and, for every type the host acts on, its object in the shape Stripe documents. An event of
//! a handled type whose object does not parse is an error (the gateway retries it), never
//! "acknowledged and ignored"; types the host does not handle are [`Event::Other`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::objects::Payout;
use super::PaymentIntent;

/// What a payment intent event says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentIntentEvent {
    /// `payment_intent.succeeded`.
    Succeeded,
    /// `payment_intent.payment_failed`.
    PaymentFailed,
    /// `payment_intent.requires_action`.
    RequiresAction,
    /// `payment_intent.canceled`.
    Canceled,
}

/// What an invoice event says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvoiceEvent {
    /// `invoice.paid`.
    Paid,
    /// `invoice.payment_failed`.
    PaymentFailed,
    /// `invoice.upcoming`.
    Upcoming,
}

/// What a dispute event says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisputeEvent {
    /// `charge.dispute.created`.
    Created,
    /// `charge.dispute.closed`.
    Closed,
}

/// A charge (`ch_…`) as a refund event shows it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Charge {
    /// `ch_…`.
    pub id: String,
    /// The payment intent it belongs to.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Minor units charged.
    pub amount: i64,
    /// Minor units refunded so far.
    pub amount_refunded: i64,
    /// Whether the whole amount is refunded.
    pub refunded: bool,
}

/// An invoice's status.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Being written.
    Draft,
    /// Finalised, waiting for payment.
    Open,
    /// Paid.
    Paid,
    /// Given up on.
    Uncollectible,
    /// Cancelled.
    Void,
    /// A status newer than this host.
    #[serde(other)]
    Other,
}

/// A dispute's status.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    /// Closed in the merchant's favour.
    Won,
    /// Closed in the cardholder's favour.
    Lost,
    /// Still open (needs response, under review, warnings …).
    #[serde(other)]
    Open,
}

impl DisputeStatus {
    /// As the merchant's webhooks say it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisputeStatus::Won => "won",
            DisputeStatus::Lost => "lost",
            DisputeStatus::Open => "open",
        }
    }
}

/// A dispute (`dp_…`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Dispute {
    /// `dp_…`.
    pub id: String,
    /// The disputed charge.
    pub charge: String,
    /// Its payment intent.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Where it stands.
    pub status: DisputeStatus,
    /// The disputed amount (minor units).
    #[serde(default)]
    pub amount: Option<i64>,
    /// Its currency, lower case.
    #[serde(default)]
    pub currency: Option<String>,
    /// The cardholder's bank's reason (`fraudulent`, `product_not_received`, …).
    #[serde(default)]
    pub reason: Option<String>,
    /// The deadline for the merchant's evidence.
    #[serde(default)]
    pub evidence_details: Option<EvidenceDetails>,
}

/// `dispute.evidence_details`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct EvidenceDetails {
    /// When evidence is due (unix seconds).
    #[serde(default)]
    pub due_by: Option<i64>,
}

/// `parent.subscription_details` of an invoice (API 2025-03-31 and later).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct SubscriptionDetails {
    /// `sub_…`.
    #[serde(default)]
    pub subscription: Option<String>,
    /// The subscription's metadata at the invoice's time.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// An invoice's `parent`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct InvoiceParent {
    /// Present for a subscription's invoice.
    #[serde(default)]
    pub subscription_details: Option<SubscriptionDetails>,
}

/// A period (`start`, `end`, unix seconds).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct Period {
    /// Start.
    pub start: i64,
    /// End.
    pub end: i64,
}

/// One invoice line.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct InvoiceLine {
    /// The period it bills.
    #[serde(default)]
    pub period: Option<Period>,
}

/// A list of invoice lines.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct InvoiceLines {
    /// The lines.
    #[serde(default)]
    pub data: Vec<InvoiceLine>,
}

/// An invoice (`in_…`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Invoice {
    /// `in_…` (an upcoming invoice has none).
    #[serde(default)]
    pub id: Option<String>,
    /// Minor units paid.
    #[serde(default)]
    pub amount_paid: i64,
    /// Minor units due.
    #[serde(default)]
    pub amount_due: Option<i64>,
    /// Lowercase ISO code.
    pub currency: String,
    /// `subscription_create`, `subscription_cycle`, …
    #[serde(default)]
    pub billing_reason: Option<String>,
    /// Its status (absent in some event payloads).
    #[serde(default)]
    pub status: Option<InvoiceStatus>,
    /// When it was created.
    #[serde(default)]
    pub created: Option<i64>,
    /// The subscription, since API 2025-03-31.
    #[serde(default)]
    pub parent: Option<InvoiceParent>,
    /// The subscription, before API 2025-03-31.
    #[serde(default)]
    pub subscription: Option<String>,
    /// Its lines.
    #[serde(default)]
    pub lines: InvoiceLines,
    /// The end of its period (older shapes).
    #[serde(default)]
    pub period_end: Option<i64>,
    /// When the gateway tries again (a failed renewal).
    #[serde(default)]
    pub next_payment_attempt: Option<i64>,
}

impl Invoice {
    /// The subscription it bills.
    pub fn subscription(&self) -> Option<&str> {
        self.details()
            .and_then(|d| d.subscription.as_deref())
            .or(self.subscription.as_deref())
    }

    /// The session the subscription's metadata names (a hint, never the authority).
    pub fn claimed_session(&self) -> Option<&str> {
        self.details()
            .and_then(|d| d.metadata.as_ref())
            .and_then(|m| m.get("session_id"))
            .map(String::as_str)
    }

    fn details(&self) -> Option<&SubscriptionDetails> {
        self.parent.as_ref()?.subscription_details.as_ref()
    }

    /// Whether it is a subscription's first invoice (the checkout's own payment).
    pub fn is_first(&self) -> bool {
        self.billing_reason.as_deref() == Some(crate::store::InvoiceRow::FIRST)
    }

    /// The first line's period.
    pub fn period(&self) -> Option<Period> {
        self.lines.data.first().and_then(|l| l.period)
    }
}

/// Why a subscription was cancelled.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct CancellationDetails {
    /// `cancellation_requested`, `payment_failed`, …
    #[serde(default)]
    pub reason: Option<String>,
}

/// A subscription (`sub_…`) as its events show it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SubscriptionObject {
    /// `sub_…`.
    pub id: String,
    /// Its status.
    pub status: crate::store::SubscriptionStatus,
    /// Our `session_id` (a hint).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Why it ended.
    #[serde(default)]
    pub cancellation_details: Option<CancellationDetails>,
}

/// A webhook event the host understands.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A payment intent moved.
    PaymentIntent(PaymentIntentEvent, Box<PaymentIntent>),
    /// A charge was refunded (in part or whole).
    ChargeRefunded(Charge),
    /// A dispute was opened or closed.
    Dispute(DisputeEvent, Dispute),
    /// An invoice of a subscription.
    Invoice(InvoiceEvent, Box<Invoice>),
    /// A subscription changed (`customer.subscription.*`).
    Subscription(SubscriptionObject),
    /// A payout reached the merchant's bank (`payout.paid`).
    PayoutPaid(Payout),
    /// A type the host does not act on: acknowledged and ignored.
    Other,
}

/// An event as delivered: its id, its type's name, and what it says.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// `evt_…` (the dedupe key).
    pub id: String,
    /// The type's name (`payment_intent.succeeded`, …), for the record and the log.
    pub kind: String,
    /// The parsed event.
    pub event: Event,
    /// When the gateway made it (how late it arrives).
    pub created: Option<i64>,
}

/// Why an event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not an event envelope at all.
    #[error("not an event: {0}")]
    Envelope(serde_json::Error),
    /// A handled type whose object has another shape.
    #[error("{kind}: unexpected object: {source}")]
    Object {
        /// The event's type.
        kind: String,
        /// What serde said.
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct RawEnvelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    created: Option<i64>,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: serde_json::Value,
}

/// Parses a webhook body.
pub fn parse(body: &[u8]) -> Result<Envelope, EventError> {
    let raw: RawEnvelope = serde_json::from_slice(body).map_err(EventError::Envelope)?;
    let event = parse_object(&raw.kind, raw.data.object)?;
    Ok(Envelope {
        id: raw.id,
        kind: raw.kind,
        event,
        created: raw.created,
    })
}

/// Parses the object of an event of type `kind`.
pub fn parse_object(kind: &str, object: serde_json::Value) -> Result<Event, EventError> {
    fn typed<T: serde::de::DeserializeOwned>(
        kind: &str,
        object: serde_json::Value,
    ) -> Result<T, EventError> {
        serde_json::from_value(object).map_err(|source| EventError::Object {
            kind: kind.to_owned(),
            source,
        })
    }
    let pi = |k| -> Result<Event, EventError> {
        Ok(Event::PaymentIntent(
            k,
            Box::new(typed(kind, object.clone())?),
        ))
    };
    let invoice = |k| -> Result<Event, EventError> {
        Ok(Event::Invoice(k, Box::new(typed(kind, object.clone())?)))
    };
    match kind {
        "payment_intent.succeeded" => pi(PaymentIntentEvent::Succeeded),
        "payment_intent.payment_failed" => pi(PaymentIntentEvent::PaymentFailed),
        "payment_intent.requires_action" => pi(PaymentIntentEvent::RequiresAction),
        "payment_intent.canceled" => pi(PaymentIntentEvent::Canceled),
        "charge.refunded" => Ok(Event::ChargeRefunded(typed(kind, object)?)),
        "charge.dispute.created" => Ok(Event::Dispute(DisputeEvent::Created, typed(kind, object)?)),
        "charge.dispute.closed" => Ok(Event::Dispute(DisputeEvent::Closed, typed(kind, object)?)),
        "payout.paid" => Ok(Event::PayoutPaid(typed(kind, object)?)),
        "invoice.paid" => invoice(InvoiceEvent::Paid),
        "invoice.payment_failed" => invoice(InvoiceEvent::PaymentFailed),
        "invoice.upcoming" => invoice(InvoiceEvent::Upcoming),
        k if k.starts_with("customer.subscription.") => {
            Ok(Event::Subscription(typed(kind, object)?))
        }
        _ => Ok(Event::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handled_types_parse_into_their_objects() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":
            {"id":"pi_1","status":"succeeded","amount":500,"amount_received":500,"currency":"usd","metadata":{"session_id":"cs_1"}}}}"#;
        let e = parse(body).unwrap();
        assert_eq!(
            (e.id.as_str(), e.kind.as_str()),
            ("evt_1", "payment_intent.succeeded")
        );
        let Event::PaymentIntent(PaymentIntentEvent::Succeeded, pi) = e.event else {
            panic!("{:?}", e.event)
        };
        assert_eq!((pi.id.as_str(), pi.amount_received), ("pi_1", Some(500)));
        let closed = br#"{"id":"evt_2","type":"charge.dispute.closed","data":{"object":
            {"id":"dp_1","charge":"ch_1","payment_intent":"pi_1","status":"won","amount":5}}}"#;
        assert!(matches!(
            parse(closed).unwrap().event,
            Event::Dispute(
                DisputeEvent::Closed,
                Dispute {
                    status: DisputeStatus::Won,
                    ..
                }
            )
        ));
    }

    #[test]
    fn a_handled_type_of_another_shape_is_an_error_and_others_are_ignored() {
        let odd = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":7}}}"#;
        assert!(matches!(parse(odd), Err(EventError::Object { .. })));
        let unknown = br#"{"id":"evt_1","type":"product.created","data":{"object":{"x":1}}}"#;
        assert_eq!(parse(unknown).unwrap().event, Event::Other);
        assert!(matches!(parse(b"{}"), Err(EventError::Envelope(_))));
    }
}
