//! The words the checkout shows beside and on its Pay button. The widget shows them; the host
//! quotes them, word for word, as the terms a payer accepted by paying (a dispute's evidence).

use super::Frequency;
use crate::money::Amount;

/// The terms of a recurring gift in plain words, under the button: "25.00 USD every month,
/// starting today. Cancel any time." (`None` for a one-time gift).
pub fn recurring_terms(frequency: Frequency, total: Option<Amount>) -> Option<String> {
    frequency.interval()?;
    Some(match total {
        Some(t) => format!(
            "{t} {}, starting today. Cancel any time.",
            frequency.every()
        ),
        None => format!(
            "Charged {}, starting today. Cancel any time.",
            frequency.every()
        ),
    })
}

/// A frequency chip's words.
pub fn frequency_label(f: Frequency) -> &'static str {
    match f {
        Frequency::OneTime => "One-time",
        Frequency::Monthly => "Monthly",
        Frequency::Yearly => "Yearly",
    }
}

/// The Pay button's words: "Donate 25.00 USD" / "Donate 25.00 USD monthly" / "Pay 49.00 EUR".
pub fn pay_label(donation: bool, total: Option<Amount>, frequency: Frequency) -> String {
    let verb = if donation { "Donate" } else { "Pay" };
    let every = match frequency {
        Frequency::OneTime => "",
        Frequency::Monthly => " monthly",
        Frequency::Yearly => " yearly",
    };
    match total {
        Some(t) => format!("{verb} {t}{every}"),
        None => verb.to_owned(),
    }
}

/// The SEPA Direct Debit mandate a payer accepts by paying from their bank account, shown above
/// the Pay button (Stripe's standard wording, with the merchant's name).
pub fn sepa_mandate(merchant: &str) -> String {
    format!(
        "By providing your IBAN and confirming this payment, you authorise {merchant} and Stripe, \
         our payment service provider, to send instructions to your bank to debit your account, \
         and your bank to debit your account in accordance with those instructions. You are \
         entitled to a refund from your bank under the terms and conditions of your agreement \
         with your bank. A refund must be claimed within 8 weeks starting from the date on \
         which your account was debited."
    )
}

/// [`pay_label`] in the reader's language: `t` looks up a key of the translators' files
/// (`donate_amount`, `pay_monthly`, …).
pub fn pay_label_in(
    t: &dyn Fn(&str) -> String,
    donation: bool,
    total: Option<Amount>,
    frequency: Frequency,
) -> String {
    let Some(total) = total else {
        return t(if donation { "donate" } else { "pay" });
    };
    let key = match (donation, frequency) {
        (true, Frequency::OneTime) => "donate_amount",
        (true, Frequency::Monthly) => "donate_monthly",
        (true, Frequency::Yearly) => "donate_yearly",
        (false, Frequency::OneTime) => "pay_amount",
        (false, Frequency::Monthly) => "pay_monthly",
        (false, Frequency::Yearly) => "pay_yearly",
    };
    crate::lang::fill(&t(key), &[("amount", &total.to_string())])
}

/// [`recurring_terms`] in the reader's language (`None` for a one-time gift or no total yet).
pub fn recurring_terms_in(
    t: &dyn Fn(&str) -> String,
    frequency: Frequency,
    total: Option<Amount>,
) -> Option<String> {
    let key = match frequency {
        Frequency::OneTime => return None,
        Frequency::Monthly => "terms_monthly",
        Frequency::Yearly => "terms_yearly",
    };
    Some(crate::lang::fill(
        &t(key),
        &[("amount", &total?.to_string())],
    ))
}

/// A frequency chip's key in the translators' files.
pub fn frequency_key(f: Frequency) -> &'static str {
    match f {
        Frequency::OneTime => "one_time",
        Frequency::Monthly => "monthly",
        Frequency::Yearly => "yearly",
    }
}
