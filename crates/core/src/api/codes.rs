//! The enums both sides of the host's JSON API match on: session statuses (and their rank),
//! campaign kinds, decline codes and error codes. Each is spelled on the wire exactly once, here.

/// Declares a string-coded enum with a catch-all `Other(String)` variant: known codes get a
/// variant, anything else is kept as sent (a newer gateway or host may add codes).
macro_rules! string_codes {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $code:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A code this build does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// Every known code.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),*];

            /// The code as the wire spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $code,)*
                    $name::Other(s) => s,
                }
            }

            /// Reads a code; unknown ones become `Other`.
            pub fn parse(code: &str) -> Self {
                // A search of the table rather than a `match` on strings: smaller in the wasm.
                Self::KNOWN
                    .iter()
                    .find(|known| known.as_str() == code)
                    .cloned()
                    .unwrap_or_else(|| $name::Other(code.to_owned()))
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                Ok($name::parse(&s))
            }
        }
    };
}

string_codes! {
    /// Why the gateway declined a card (Stripe's `decline_code`, else its `code`).
    DeclineCode {
        /// Generic decline.
        CardDeclined => "card_declined",
        /// Generic decline (Stripe's decline_code).
        GenericDecline => "generic_decline",
        /// Not enough money.
        InsufficientFunds => "insufficient_funds",
        /// Card expired.
        ExpiredCard => "expired_card",
        /// Wrong CVC.
        IncorrectCvc => "incorrect_cvc",
        /// CVC malformed.
        InvalidCvc => "invalid_cvc",
        /// Expiry month malformed.
        InvalidExpiryMonth => "invalid_expiry_month",
        /// Expiry year malformed.
        InvalidExpiryYear => "invalid_expiry_year",
        /// Wrong number.
        IncorrectNumber => "incorrect_number",
        /// Number malformed.
        InvalidNumber => "invalid_number",
        /// Postal code check failed.
        IncorrectZip => "incorrect_zip",
        /// The processor failed.
        ProcessingError => "processing_error",
        /// The bank wants 3-D Secure that could not happen.
        AuthenticationRequired => "authentication_required",
        /// 3-D Secure failed.
        AuthenticationFailure => "payment_intent_authentication_failure",
        /// Reported lost (shown as a generic decline).
        LostCard => "lost_card",
        /// Reported stolen (shown as a generic decline).
        StolenCard => "stolen_card",
        /// Suspected fraud (shown as a generic decline).
        Fraudulent => "fraudulent",
        /// The IBAN is malformed or outside the Single Euro Payments Area.
        InvalidIban => "invalid_bank_account_iban",
    }
}

/// The card field a decline is about, so the page can focus it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardField {
    /// The card number.
    Number,
    /// The expiry date.
    Expiry,
    /// The security code (it must be typed again).
    Cvc,
    /// The billing postal code.
    Postal,
    /// A bank account's IBAN.
    Iban,
}

impl DeclineCode {
    /// A specific, safe message for the shopper (lost/stolen/fraud stay generic on purpose).
    pub fn message(&self) -> &'static str {
        match self {
            DeclineCode::InsufficientFunds => "Your card has insufficient funds. Try another card.",
            DeclineCode::ExpiredCard => {
                "Your card has expired. Check the expiry date or use another card."
            }
            DeclineCode::IncorrectCvc => {
                "Your card's security code is incorrect. Check it and try again."
            }
            DeclineCode::ProcessingError => {
                "We couldn't process your card just now. Please try again."
            }
            DeclineCode::AuthenticationRequired | DeclineCode::AuthenticationFailure => {
                "Your bank could not confirm it's you. Try again or use another card."
            }
            DeclineCode::IncorrectNumber | DeclineCode::InvalidNumber => {
                "Your card number is incorrect."
            }
            DeclineCode::InvalidIban => {
                "Your IBAN is invalid or is not in the Single Euro Payments Area."
            }
            _ => "Your card was declined. Try another card or contact your bank.",
        }
    }

    /// Which field the decline is about, if one.
    pub fn field(&self) -> Option<CardField> {
        match self {
            DeclineCode::IncorrectCvc | DeclineCode::InvalidCvc => Some(CardField::Cvc),
            DeclineCode::ExpiredCard
            | DeclineCode::InvalidExpiryMonth
            | DeclineCode::InvalidExpiryYear => Some(CardField::Expiry),
            DeclineCode::IncorrectNumber | DeclineCode::InvalidNumber => Some(CardField::Number),
            DeclineCode::IncorrectZip => Some(CardField::Postal),
            DeclineCode::InvalidIban => Some(CardField::Iban),
            _ => None,
        }
    }
}

string_codes! {
    /// The stable `error.code` of the host's error answers.
    ErrorCode {
        /// The body is not JSON.
        InvalidJson => "invalid_json",
        /// The body does not match the request type.
        InvalidRequest => "invalid_request",
        /// The body carried card data (which only the gateway may receive).
        CardDataNotAccepted => "card_data_not_accepted",
        /// A donation without an amount.
        AmountRequired => "amount_required",
        /// Below the campaign's minimum.
        AmountTooSmall => "amount_too_small",
        /// Above the campaign's maximum.
        AmountTooLarge => "amount_too_large",
        /// The shopper's email does not parse.
        InvalidEmail => "invalid_email",
        /// `payment_method` is not a gateway token.
        InvalidPaymentMethod => "invalid_payment_method",
        /// `idempotency_key` is empty or too long.
        InvalidIdempotencyKey => "invalid_idempotency_key",
        /// A webhook's signature was rejected.
        BadSignature => "bad_signature",
        /// A webhook's body is not an event.
        BadEvent => "bad_event",
        /// The card was declined (outside a pay answer).
        Declined => "declined",
        /// Unknown id.
        NotFound => "not_found",
        /// The same pay attempt is still running: retry it.
        InProgress => "in_progress",
        /// Too many requests from one address.
        RateLimited => "rate_limited",
        /// Too many declined payments from this address, network, email or card (card-testing
        /// defence): refused for a while.
        Blocked => "blocked",
        /// The gateway could not be reached.
        GatewayUnavailable => "gateway_unavailable",
        /// The host's fault.
        Internal => "internal",
        /// Not a licence key we signed.
        InvalidLicense => "invalid_license",
        /// The campaign does not offer that frequency.
        FrequencyNotOffered => "frequency_not_offered",
        /// An activation's instance id is empty, too long or has other characters.
        InvalidInstance => "invalid_instance",
        /// Every seat of the licence is taken: deactivate one first.
        SeatsExhausted => "seats_exhausted",
        /// The licence was revoked (refund, dispute).
        LicenseRevoked => "license_revoked",
        /// The licence is past its last day.
        LicenseExpired => "license_expired",
        /// The merchant suspended the licence (reversible): ask them.
        LicenseSuspended => "license_suspended",
        /// The checkout session is too old to pay: start a new one.
        SessionExpired => "session_expired",
        /// The signed-in staff member's role does not allow this.
        Forbidden => "forbidden",
    }
}

impl ErrorCode {
    /// Whether the error is about the amount (the page points at the amount field).
    pub fn is_about_amount(&self) -> bool {
        matches!(
            self,
            ErrorCode::AmountRequired | ErrorCode::AmountTooSmall | ErrorCode::AmountTooLarge
        )
    }
}

/// How far a checkout session has got.
///
/// States only move to a higher or equal [`rank`](SessionStatus::rank) (a late
/// `payment_failed` never undoes `paid`); `declined`, `requires_action`, `canceled` and
/// `processing` share a rank so a shopper can retry and an undecided payment can still fail. The host's SQL guard is built from [`SessionStatus::ALL`] and `rank`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum SessionStatus {
    /// Created, not paid.
    Open,
    /// The last attempt was declined.
    Declined,
    /// Waiting for 3-D Secure.
    RequiresAction,
    /// The payment was canceled at the gateway.
    Canceled,
    /// The gateway has not decided yet.
    Processing,
    /// Charged; fulfilment follows.
    Paid,
    /// Receipt or licence issued.
    Fulfilled,
    /// Refunded in full (licence revoked).
    Refunded,
    /// Disputed (licence revoked).
    Disputed,
    /// A status this build does not know: the page keeps waiting, never shows success.
    #[cfg_attr(feature = "serde", serde(other))]
    Unknown,
}

impl SessionStatus {
    /// Every status the host writes (not `Unknown`).
    pub const ALL: [SessionStatus; 9] = [
        SessionStatus::Open,
        SessionStatus::Declined,
        SessionStatus::RequiresAction,
        SessionStatus::Canceled,
        SessionStatus::Processing,
        SessionStatus::Paid,
        SessionStatus::Fulfilled,
        SessionStatus::Refunded,
        SessionStatus::Disputed,
    ];

    /// The status as the wire and the database spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Open => "open",
            SessionStatus::Declined => "declined",
            SessionStatus::RequiresAction => "requires_action",
            SessionStatus::Canceled => "canceled",
            SessionStatus::Processing => "processing",
            SessionStatus::Paid => "paid",
            SessionStatus::Fulfilled => "fulfilled",
            SessionStatus::Refunded => "refunded",
            SessionStatus::Disputed => "disputed",
            SessionStatus::Unknown => "unknown",
        }
    }

    /// Reads a stored or sent status; anything unrecognised is `Unknown`.
    pub fn parse(s: &str) -> SessionStatus {
        SessionStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(SessionStatus::Unknown)
    }

    /// How far along the session is. `Unknown` ranks above everything, so a row holding a
    /// status this build cannot read is never moved.
    pub fn rank(self) -> u8 {
        match self {
            SessionStatus::Open => 0,
            // One rank for every undecided or failed attempt: a shopper may retry after a
            // decline, and a payment that was `processing` may still fail or be canceled.
            SessionStatus::Declined
            | SessionStatus::RequiresAction
            | SessionStatus::Canceled
            | SessionStatus::Processing => 1,
            SessionStatus::Paid => 3,
            SessionStatus::Fulfilled => 4,
            SessionStatus::Refunded | SessionStatus::Disputed => 5,
            SessionStatus::Unknown => u8::MAX,
        }
    }

    /// The gateway charged the card (it may since have been refunded or disputed).
    pub fn is_charged(self) -> bool {
        matches!(
            self,
            SessionStatus::Paid
                | SessionStatus::Fulfilled
                | SessionStatus::Refunded
                | SessionStatus::Disputed
        )
    }

    /// The receipt or licence exists (the confirmation page can show it).
    pub fn is_confirmed(self) -> bool {
        matches!(
            self,
            SessionStatus::Fulfilled | SessionStatus::Refunded | SessionStatus::Disputed
        )
    }

    /// Nothing more will happen on its own: the confirmation page stops polling.
    pub fn is_settled(self) -> bool {
        self.is_confirmed() || matches!(self, SessionStatus::Declined | SessionStatus::Canceled)
    }
}

/// Where the checkout collects the card (per merchant).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum CardCapture {
    /// Our own card fields, tokenized straight at the gateway with the publishable key (the
    /// sandbox; or an operator who is PCI compliant for it).
    #[default]
    Direct,
    /// The gateway's own fields in its cross-origin frames (Stripe's Payment Element): the
    /// gateway tokenizes into a confirmation token, and the merchant stays PCI SAQ A.
    GatewayFields,
}

impl CardCapture {
    /// As configuration and the wire spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            CardCapture::Direct => "direct",
            CardCapture::GatewayFields => "gateway_fields",
        }
    }

    /// Reads a configured mode.
    pub fn parse(s: &str) -> Option<CardCapture> {
        match s {
            "direct" => Some(CardCapture::Direct),
            "gateway_fields" => Some(CardCapture::GatewayFields),
            _ => None,
        }
    }
}

/// How often a gift (or a licence) is paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Frequency {
    /// Once.
    #[default]
    OneTime,
    /// Every month, from today.
    Monthly,
    /// Every year, from today.
    Yearly,
}

impl Frequency {
    /// As configuration and the wire spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::OneTime => "one_time",
            Frequency::Monthly => "monthly",
            Frequency::Yearly => "yearly",
        }
    }

    /// Reads a configured or stored frequency.
    pub fn parse(s: &str) -> Option<Frequency> {
        match s {
            "one_time" => Some(Frequency::OneTime),
            "monthly" => Some(Frequency::Monthly),
            "yearly" => Some(Frequency::Yearly),
            _ => None,
        }
    }

    /// The gateway's `recurring[interval]`, `None` for a one-time payment.
    pub fn interval(self) -> Option<&'static str> {
        match self {
            Frequency::OneTime => None,
            Frequency::Monthly => Some("month"),
            Frequency::Yearly => Some("year"),
        }
    }

    /// "every month" / "every year" / "once".
    pub fn every(self) -> &'static str {
        match self {
            Frequency::OneTime => "once",
            Frequency::Monthly => "every month",
            Frequency::Yearly => "every year",
        }
    }
}

/// What a campaign sells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum CampaignKind {
    /// A donation of a chosen amount; fulfilled with a receipt.
    Donation,
    /// A software licence at a fixed price; fulfilled with a signed licence key.
    License,
}

impl CampaignKind {
    /// As the wire and the database spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignKind::Donation => "donation",
            CampaignKind::License => "license",
        }
    }

    /// Reads a stored kind.
    pub fn parse(s: &str) -> Option<CampaignKind> {
        match s {
            "donation" => Some(CampaignKind::Donation),
            "license" => Some(CampaignKind::License),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_rank() {
        for s in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(s.as_str()), s);
            assert!(s.rank() < SessionStatus::Unknown.rank());
        }
        assert_eq!(SessionStatus::parse("teleported"), SessionStatus::Unknown);
        assert!(SessionStatus::Paid.rank() > SessionStatus::Declined.rank());
        assert_eq!(
            SessionStatus::Declined.rank(),
            SessionStatus::RequiresAction.rank()
        );
        assert!(!SessionStatus::Unknown.is_charged());
        assert!(!SessionStatus::Unknown.is_settled());
        assert!(!SessionStatus::Processing.is_charged());
        assert_eq!(
            SessionStatus::Processing.rank(),
            SessionStatus::Declined.rank(),
            "a processing payment may still fail"
        );
    }

    #[test]
    fn codes_keep_what_they_do_not_know() {
        assert_eq!(
            DeclineCode::parse("incorrect_cvc"),
            DeclineCode::IncorrectCvc
        );
        assert_eq!(
            DeclineCode::parse("new_code").as_str(),
            "new_code",
            "unknown codes survive"
        );
        for c in DeclineCode::KNOWN {
            assert_eq!(&DeclineCode::parse(c.as_str()), c);
        }
        for c in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::parse(c.as_str()), c);
        }
        assert_eq!(DeclineCode::IncorrectCvc.field(), Some(CardField::Cvc));
        assert_eq!(DeclineCode::LostCard.field(), None);
        assert_eq!(
            DeclineCode::StolenCard.message(),
            DeclineCode::CardDeclined.message(),
            "stolen stays generic"
        );
    }
}
