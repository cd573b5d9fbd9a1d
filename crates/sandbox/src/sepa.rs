//! SEPA Direct Debit: bank accounts as payment methods (the IBAN is parsed with core's [`Iban`]
//! and dropped; only its country, bank code, last four and a keyed fingerprint are kept),
//! mandates, and Stripe's test IBANs with their documented outcomes. A debit is `processing`
//! until its settlement time on the sandbox's clock (or its customer's test clock), then
//! `succeeded` or `requires_payment_method` ([`crate::payments::settle_debits`]).

use hmac::{Hmac, Mac};
use paywidget_core::bank::Iban;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use crate::error::ApiError;
use crate::model::SepaDebitDetails;

/// How long Stripe's "delayed" test IBANs stay `processing` (its "at least three minutes").
pub const DELAYED_SECS: i64 = 180;

/// How long every other debit stays `processing` (Stripe's test mode: a few seconds), so that a
/// client sees the pending state before the outcome.
pub const SETTLE_SECS: i64 = 5;

/// What a debit from this account does once confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Debit {
    /// `processing`, then `succeeded` after `after` seconds.
    Succeeds {
        /// Seconds of `processing`.
        after: i64,
    },
    /// `processing`, then `requires_payment_method` with `code` after `after` seconds.
    Fails {
        /// The failure code (`last_payment_error.code`, the charge's `failure_code`).
        code: String,
        /// Stripe's message.
        message: String,
        /// Seconds of `processing`.
        after: i64,
    },
    /// `processing`, `succeeded`, then disputed at once.
    Disputed,
}

impl Debit {
    /// Seconds it stays `processing`.
    pub fn after(&self) -> i64 {
        match self {
            Debit::Succeeds { after } | Debit::Fails { after, .. } => *after,
            Debit::Disputed => SETTLE_SECS,
        }
    }
}

/// Stripe's SEPA Direct Debit test IBANs (Austrian and German) and what each does; any other
/// valid SEPA IBAN succeeds.
pub fn debit_of(iban: &Iban) -> Debit {
    let fails = |code: &str, message: &str, after| Debit::Fails {
        code: code.into(),
        message: message.into(),
        after,
    };
    match iban.expose() {
        "AT861904300235473202" | "DE62370400440532013001" => fails(
            "insufficient_funds",
            "The customer's account has insufficient funds to cover this payment.",
            SETTLE_SECS,
        ),
        "AT591904300235473203" | "DE35370400440532013002" => Debit::Disputed,
        "AT321904300235473204" => Debit::Succeeds {
            after: DELAYED_SECS,
        },
        "AT981904300000343434" => fails(
            "charge_exceeds_source_limit",
            "This payment exceeds the account's weekly volume limit.",
            SETTLE_SECS,
        ),
        "AT601904300000121212" => fails(
            "charge_exceeds_weekly_limit",
            "This payment exceeds the account's transaction volume limit.",
            SETTLE_SECS,
        ),
        _ => Debit::Succeeds { after: SETTLE_SECS },
    }
}

/// What the payment method shows of the account. The bank code is what follows the check
/// digits (its length varies by country; the first eight characters, at most, as a stand-in).
pub fn details_of(iban: &Iban, key: &str) -> SepaDebitDetails {
    let bban = &iban.expose()[4..];
    let bank = &bban[..bban.len().min(8)];
    SepaDebitDetails {
        bank_code: bank.to_owned(),
        branch_code: String::new(),
        country: iban.country().to_owned(),
        fingerprint: fingerprint(iban, key),
        generated_from: json!({ "charge": null, "setup_attempt": null }),
        last4: iban.last4().to_owned(),
    }
}

/// The same for the same account in this sandbox, and not reversible.
fn fingerprint(iban: &Iban, key: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(
        format!("paywidget-sandbox-iban-fingerprint:{key}").as_bytes(),
    )
    .expect("HMAC takes any key length");
    mac.update(iban.expose().as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..8])
}

/// Parses `sepa_debit[iban]` as sent (named `param` in errors), never echoing it.
pub fn parse_iban(input: Option<&str>, param: &str) -> Result<Iban, ApiError> {
    let input = input.ok_or_else(|| ApiError::missing_param(param))?;
    let mut e = ApiError::invalid_request(
        "invalid_bank_account_iban",
        "The IBAN you provided is invalid or is not in the Single Euro Payments Area.",
    );
    e.param = Some(param.to_owned());
    match Iban::parse(input) {
        Ok(iban) if iban.is_sepa() => Ok(iban),
        _ => Err(e),
    }
}

/// Online acceptance of a mandate (`mandate_data[customer_acceptance]`).
#[derive(Clone, Debug, Default)]
pub struct Acceptance {
    /// The payer's IP address.
    pub ip_address: Option<String>,
    /// The payer's browser.
    pub user_agent: Option<String>,
}

/// A mandate object for `payment_method`, accepted online at `now`.
pub fn mandate(
    id: &str,
    reference: &str,
    payment_method: &str,
    acceptance: &Acceptance,
    now: i64,
    base_url: &str,
) -> serde_json::Value {
    json!({
        "id": id,
        "object": "mandate",
        "customer_acceptance": {
            "accepted_at": now,
            "online": { "ip_address": acceptance.ip_address, "user_agent": acceptance.user_agent },
            "type": "online",
        },
        "livemode": false,
        "multi_use": {},
        "payment_method": payment_method,
        "payment_method_details": {
            "sepa_debit": { "reference": reference, "url": format!("{base_url}/sandbox/mandates/{id}") },
            "type": "sepa_debit",
        },
        "status": "active",
        "type": "multi_use",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ibans_do_what_stripe_documents_and_nothing_keeps_the_iban() {
        let of = |s: &str| debit_of(&Iban::parse(s).unwrap());
        assert_eq!(
            of("DE89370400440532013000"),
            Debit::Succeeds { after: SETTLE_SECS }
        );
        assert_eq!(
            of("AT321904300235473204"),
            Debit::Succeeds {
                after: DELAYED_SECS
            }
        );
        assert!(
            matches!(of("DE62370400440532013001"), Debit::Fails { code, .. } if code == "insufficient_funds")
        );
        assert_eq!(of("AT591904300235473203"), Debit::Disputed);
        let iban = Iban::parse("DE89370400440532013000").unwrap();
        let shown = serde_json::to_string(&details_of(&iban, "k")).unwrap();
        assert!(!shown.contains("370400440532013000"), "{shown}");
        assert!(shown.contains("\"last4\":\"3000\"") && shown.contains("\"country\":\"DE\""));
        // Not in SEPA, or not an IBAN: refused without repeating it.
        for bad in ["SA0380000000608010167519", "DE89370400440532013001"] {
            let e = parse_iban(Some(bad), "sepa_debit[iban]").unwrap_err();
            assert!(!format!("{e:?}").contains(&bad[4..]), "{e:?}");
        }
    }
}
