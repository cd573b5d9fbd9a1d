//! Test cards: validating card details at tokenization and the scripted outcome of each
//! Stripe test number (declines, 3-D Secure — including the recurring cards whose off-session
//! outcome depends on whether they were set up — disputes, Radar's risk levels).
//!
//! The outcome is decided once, when the card is tokenized, and stored with the payment method
//! as a [`Behaviour`]; the number itself is dropped there and never stored, logged or echoed.
//!
//! **Radar.** Every charge has Stripe's `outcome` ([`outcome`]): `network_status`, `reason`,
//! `risk_level` (`normal`, `elevated`, `highest`), `risk_score`, `seller_message`, `type`
//! (`authorized`, `issuer_declined`, `blocked`). Radar's test cards, as Stripe's "Testing Radar":
//! 4100000000000019 (highest risk, always blocked) and 4000000000004954 (highest risk, blocked
//! by the default rule "Block if :risk_level: = 'highest'", which the sandbox always applies)
//! fail with `card_declined` / `fraudulent`, the charge `blocked` (`not_sent_to_network`,
//! reason `highest_risk_level`); 4000000000009235 is authorized with `risk_level: elevated`
//! (the sandbox has no review queue). Setting such a card up (a SetupIntent) is refused as a
//! decline is. Every other card is `normal`.

use hmac::{Hmac, Mac};
use paywidget_core::card::{Brand, CardNumber, Cvc, Expiry, ExpiryError, NumberError};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::ApiError;

/// What happens when a payment with this card is confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Behaviour {
    /// The charge succeeds.
    Succeed,
    /// The charge succeeds, then the cardholder disputes it (`charge.dispute.created`).
    SucceedThenDispute,
    /// 3-D Secure authentication is required on every payment (`requires_action`); off-session
    /// payments fail with `authentication_required` (4000002760003184).
    ThreeDSecure,
    /// Authentication on-session; off-session payments succeed once the card was set up
    /// (a SetupIntent, or a payment with `setup_future_usage`), else need authentication
    /// (4000002500003155).
    ThreeDSecureUnlessSetUp,
    /// Authentication on-session; every off-session payment succeeds (4000003800000446).
    ThreeDSecureOnSessionOnly,
    /// Setting up and attaching succeed; every charge is declined (4000000000000341).
    ChargeDeclined {
        /// `error.code`.
        code: String,
        /// `error.decline_code`.
        decline_code: String,
        /// Stripe's message.
        message: String,
    },
    /// Authentication, then the payment is declined anyway (4000008260003178).
    ThreeDSecureThenDecline {
        /// `error.code`.
        code: String,
        /// `error.decline_code`.
        decline_code: String,
        /// Stripe's message.
        message: String,
    },
    /// Radar blocks every charge: highest risk (4100000000000019, 4000000000004954).
    Blocked,
    /// The charge succeeds with an elevated risk level (4000000000009235).
    ElevatedRisk,
    /// The charge is declined with Stripe's `code` and `decline_code`.
    Decline {
        /// `error.code`, e.g. `card_declined`.
        code: String,
        /// `error.decline_code`, e.g. `insufficient_funds`.
        decline_code: String,
        /// Stripe's message for it.
        message: String,
    },
}

/// One row of the test-card table: the number, what it does, and the README's description.
pub struct TestCard {
    /// The card number.
    pub number: &'static str,
    /// `code`/`decline_code` for declines, or `None` for the non-decline behaviours.
    pub decline: Option<(&'static str, &'static str, &'static str)>,
    /// A special non-decline behaviour.
    pub special: Option<Behaviour>,
}

const fn decline(
    number: &'static str,
    code: &'static str,
    decline_code: &'static str,
    message: &'static str,
) -> TestCard {
    TestCard {
        number,
        decline: Some((code, decline_code, message)),
        special: None,
    }
}

/// Stripe's test numbers with scripted outcomes; any other valid number succeeds.
pub const SCRIPTED: &[TestCard] = &[
    decline(
        "4000000000000002",
        "card_declined",
        "generic_decline",
        "Your card was declined.",
    ),
    decline(
        "4000000000009995",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    decline(
        "4000000000009987",
        "card_declined",
        "lost_card",
        "Your card was declined.",
    ),
    decline(
        "4000000000009979",
        "card_declined",
        "stolen_card",
        "Your card was declined.",
    ),
    decline(
        "4000000000000069",
        "expired_card",
        "expired_card",
        "Your card has expired.",
    ),
    decline(
        "4000000000000127",
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    decline(
        "4000000000000119",
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    TestCard {
        number: "4100000000000019",
        decline: None,
        special: Some(Behaviour::Blocked),
    },
    TestCard {
        number: "4000000000004954",
        decline: None,
        special: Some(Behaviour::Blocked),
    },
    TestCard {
        number: "4000000000009235",
        decline: None,
        special: Some(Behaviour::ElevatedRisk),
    },
    TestCard {
        number: "4000002500003155",
        decline: None,
        special: Some(Behaviour::ThreeDSecureUnlessSetUp),
    },
    TestCard {
        number: "4000003800000446",
        decline: None,
        special: Some(Behaviour::ThreeDSecureOnSessionOnly),
    },
    TestCard {
        number: "4000002760003184",
        decline: None,
        special: Some(Behaviour::ThreeDSecure),
    },
    TestCard {
        number: "4000000000000259",
        decline: None,
        special: Some(Behaviour::SucceedThenDispute),
    },
];

/// The scripted behaviour of a card number.
pub fn behaviour(number: &CardNumber) -> Behaviour {
    // Not `const` rows: their behaviours own strings.
    if number.expose() == "4000000000000341" {
        return Behaviour::ChargeDeclined {
            code: "card_declined".into(),
            decline_code: "generic_decline".into(),
            message: "Your card was declined.".into(),
        };
    }
    if number.expose() == "4000008260003178" {
        return Behaviour::ThreeDSecureThenDecline {
            code: "card_declined".into(),
            decline_code: "insufficient_funds".into(),
            message: "Your card has insufficient funds.".into(),
        };
    }
    SCRIPTED
        .iter()
        .find(|c| c.number == number.expose())
        .map(|c| match (&c.decline, &c.special) {
            (Some((code, decline_code, message)), _) => Behaviour::Decline {
                code: (*code).into(),
                decline_code: (*decline_code).into(),
                message: (*message).into(),
            },
            (None, Some(b)) => b.clone(),
            (None, None) => Behaviour::Succeed,
        })
        .unwrap_or(Behaviour::Succeed)
}

/// Radar's evaluation of a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiskLevel {
    /// Most payments.
    Normal,
    /// Authorized (Stripe would place it in review with a review rule).
    Elevated,
    /// Blocked by Radar.
    Highest,
}

impl RiskLevel {
    /// Stripe's `risk_level`.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Normal => "normal",
            RiskLevel::Elevated => "elevated",
            RiskLevel::Highest => "highest",
        }
    }

    /// The sandbox's `risk_score` (0–100) for the level: fixed values inside Stripe's bands
    /// (elevated from 65, highest from 75).
    pub fn score(self) -> i64 {
        match self {
            RiskLevel::Normal => 20,
            RiskLevel::Elevated => 70,
            RiskLevel::Highest => 90,
        }
    }
}

impl Behaviour {
    /// Radar's risk level for payments with the card.
    pub fn risk_level(&self) -> RiskLevel {
        match self {
            Behaviour::Blocked => RiskLevel::Highest,
            Behaviour::ElevatedRisk => RiskLevel::Elevated,
            _ => RiskLevel::Normal,
        }
    }
}

/// The error of a payment Radar blocks: Stripe's `code`, `decline_code` and message.
pub fn blocked_error() -> (String, String, String) {
    (
        "card_declined".into(),
        "fraudulent".into(),
        "Your card was declined.".into(),
    )
}

/// A charge's `outcome`, as Stripe's: blocked by Radar at the highest risk level, else declined
/// by the issuer with `decline_code`, else authorized.
pub fn outcome(risk: RiskLevel, decline_code: Option<&str>) -> serde_json::Value {
    let (network_status, reason, seller_message, kind) = match (risk, decline_code) {
        (RiskLevel::Highest, _) => (
            "not_sent_to_network",
            Some("highest_risk_level".to_owned()),
            "Stripe blocked this payment as too risky.".to_owned(),
            "blocked",
        ),
        (_, Some(code)) => (
            "declined_by_network",
            Some(code.to_owned()),
            if code == "generic_decline" {
                "The bank did not return any further details with this decline.".to_owned()
            } else {
                format!("The bank returned the decline code `{code}`.")
            },
            "issuer_declined",
        ),
        (_, None) => (
            "approved_by_network",
            None,
            "Payment complete.".to_owned(),
            "authorized",
        ),
    };
    serde_json::json!({
        "advice_code": null,
        "network_advice_code": null,
        "network_decline_code": null,
        "network_status": network_status,
        "reason": reason,
        "risk_level": risk.as_str(),
        "risk_score": risk.score(),
        "rule": null,
        "seller_message": seller_message,
        "type": kind,
    })
}

/// `card.funding` for Stripe's debit and prepaid test numbers; credit otherwise.
pub fn funding(number: &CardNumber) -> &'static str {
    match number.expose() {
        "4000056655665556" | "5200828282828210" | "6011981111111113" | "6200000000000047" => {
            "debit"
        }
        "5105105105105100" => "prepaid",
        _ => "credit",
    }
}

/// `card.country`: Stripe's test cards are US-issued except these.
pub fn country(number: &CardNumber) -> &'static str {
    match number.brand() {
        Some(Brand::Jcb) => "JP",
        Some(Brand::UnionPay) => "CN",
        _ => "US",
    }
}

/// `card.fingerprint`: the same for the same number in this sandbox, and not reversible (a
/// keyed HMAC, so the small space of card numbers cannot be searched without the key).
pub fn fingerprint(number: &CardNumber, key: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(format!("paywidget-sandbox-fingerprint:{key}").as_bytes())
            .expect("HMAC takes any key length");
    mac.update(number.expose().as_bytes());
    let digest = mac.finalize().into_bytes();
    hex::encode(&digest[..8])
}

/// The validated card details of a `POST /v1/payment_methods` request.
#[derive(Debug)]
pub struct CardInput {
    /// The number (prints only its last four digits).
    pub number: CardNumber,
    /// The expiry.
    pub expiry: Expiry,
}

/// Validates card details as Stripe does, with its error codes and params. `today` is
/// (year, month).
pub fn validate(
    number: Option<&str>,
    exp_month: Option<&str>,
    exp_year: Option<&str>,
    cvc: Option<&str>,
    today: (u16, u8),
) -> Result<CardInput, ApiError> {
    let number = number.ok_or_else(|| ApiError::missing_param("card[number]"))?;
    let number = CardNumber::parse(number).map_err(|e| match e {
        NumberError::Invalid { .. } => ApiError::card(
            "incorrect_number",
            None,
            "Your card number is incorrect.",
            Some("card[number]"),
        ),
        _ => ApiError::card(
            "invalid_number",
            None,
            "Your card number is not a valid card number.",
            Some("card[number]"),
        ),
    })?;
    let month_err = || {
        ApiError::card(
            "invalid_expiry_month",
            None,
            "Your card's expiration month is invalid.",
            Some("card[exp_month]"),
        )
    };
    let year_err = || {
        ApiError::card(
            "invalid_expiry_year",
            None,
            "Your card's expiration year is invalid.",
            Some("card[exp_year]"),
        )
    };
    let month: u8 = exp_month
        .ok_or_else(|| ApiError::missing_param("card[exp_month]"))?
        .trim()
        .parse()
        .map_err(|_| month_err())?;
    if !(1..=12).contains(&month) {
        return Err(month_err());
    }
    let year: u16 = exp_year
        .ok_or_else(|| ApiError::missing_param("card[exp_year]"))?
        .trim()
        .parse()
        .map_err(|_| year_err())?;
    // Stripe accepts two-digit years.
    let year = if year < 100 { 2000 + year } else { year };
    let expiry = Expiry::parse(&format!("{month:02}/{year}"))
        .and_then(|e| e.check(today.0, today.1))
        .map_err(|e| match e {
            ExpiryError::InvalidMonth => month_err(),
            _ => year_err(),
        })?;
    if let Some(cvc) = cvc {
        Cvc::parse(cvc, number.brand()).map_err(|_| {
            ApiError::card(
                "invalid_cvc",
                None,
                "Your card's security code is invalid.",
                Some("card[cvc]"),
            )
        })?;
    }
    Ok(CardInput { number, expiry })
}

/// Stripe's `card.brand` for a number.
pub fn brand_code(number: &CardNumber) -> &'static str {
    number.brand().map_or("unknown", Brand::stripe_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(n: &str) -> CardNumber {
        CardNumber::parse(n).unwrap()
    }

    #[test]
    fn scripted_numbers_have_their_outcomes() {
        assert_eq!(behaviour(&card("4242424242424242")), Behaviour::Succeed);
        assert_eq!(
            behaviour(&card("4000002500003155")),
            Behaviour::ThreeDSecureUnlessSetUp
        );
        assert_eq!(
            behaviour(&card("4000002760003184")),
            Behaviour::ThreeDSecure
        );
        assert_eq!(
            behaviour(&card("4000000000000259")),
            Behaviour::SucceedThenDispute
        );
        match behaviour(&card("4000000000009995")) {
            Behaviour::Decline {
                code, decline_code, ..
            } => {
                assert_eq!(
                    (code.as_str(), decline_code.as_str()),
                    ("card_declined", "insufficient_funds")
                )
            }
            other => panic!("{other:?}"),
        }
        for c in SCRIPTED {
            assert!(
                CardNumber::parse(c.number).is_ok(),
                "{} is a valid number",
                c.number
            );
        }
    }

    #[test]
    fn radar_cards_have_their_risk_levels() {
        assert_eq!(behaviour(&card("4100000000000019")), Behaviour::Blocked);
        assert_eq!(behaviour(&card("4000000000004954")), Behaviour::Blocked);
        assert_eq!(
            behaviour(&card("4000000000009235")),
            Behaviour::ElevatedRisk
        );
        assert_eq!(Behaviour::Blocked.risk_level(), RiskLevel::Highest);
        assert_eq!(Behaviour::ElevatedRisk.risk_level(), RiskLevel::Elevated);
        assert_eq!(
            behaviour(&card("4000000000000002")).risk_level(),
            RiskLevel::Normal
        );
        let blocked = outcome(RiskLevel::Highest, Some("fraudulent"));
        assert_eq!(blocked["type"], "blocked");
        assert_eq!(blocked["reason"], "highest_risk_level");
        assert_eq!(blocked["network_status"], "not_sent_to_network");
        let declined = outcome(RiskLevel::Normal, Some("insufficient_funds"));
        assert_eq!(declined["type"], "issuer_declined");
        assert_eq!(declined["reason"], "insufficient_funds");
        let elevated = outcome(RiskLevel::Elevated, None);
        assert_eq!(
            (
                &elevated["type"],
                &elevated["risk_level"],
                &elevated["reason"]
            ),
            (
                &serde_json::json!("authorized"),
                &serde_json::json!("elevated"),
                &serde_json::Value::Null
            )
        );
        for level in [RiskLevel::Normal, RiskLevel::Elevated, RiskLevel::Highest] {
            assert!((0..=100).contains(&level.score()));
        }
    }

    #[test]
    fn fingerprint_is_stable_per_number_and_key() {
        let a = fingerprint(&card("4242424242424242"), "k");
        assert_eq!(a, fingerprint(&card("4242424242424242"), "k"));
        assert_ne!(a, fingerprint(&card("5555555555554444"), "k"));
        assert_ne!(a, fingerprint(&card("4242424242424242"), "other"));
        assert!(!a.contains("4242"));
    }

    #[test]
    fn validation_codes_match_stripe() {
        let today = (2026, 11);
        let code = |n, m, y, c| {
            validate(Some(n), Some(m), Some(y), Some(c), today)
                .unwrap_err()
                .code
                .clone()
                .unwrap()
        };
        assert_eq!(
            code("4242424242424241", "12", "2030", "123"),
            "incorrect_number"
        );
        assert_eq!(code("4242", "12", "2030", "123"), "invalid_number");
        assert_eq!(
            code("4242424242424242", "13", "2030", "123"),
            "invalid_expiry_month"
        );
        assert_eq!(
            code("4242424242424242", "10", "2026", "123"),
            "invalid_expiry_year"
        );
        assert_eq!(
            code("4242424242424242", "12", "2099", "123"),
            "invalid_expiry_year"
        );
        assert_eq!(code("4242424242424242", "12", "2030", "12"), "invalid_cvc");
        assert_eq!(code("378282246310005", "12", "2030", "123"), "invalid_cvc");
        let ok = validate(
            Some("4242 4242 4242 4242"),
            Some("11"),
            Some("26"),
            Some("123"),
            today,
        )
        .unwrap();
        assert_eq!((ok.expiry.month(), ok.expiry.year()), (11, 2026));
    }
}
