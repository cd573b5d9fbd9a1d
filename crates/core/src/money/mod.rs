//! Money: ISO 4217 currencies and exact amounts in minor units (cents), with parsing of
//! amounts as shoppers type them and plain formatting for inputs and APIs.
//!
//! Amounts are integers of minor units end to end, never floats, so that the widget and the
//! servers agree to the cent.

mod amount;
mod currency;
mod fee;
mod locale;
mod parse;

pub use amount::Amount;
pub use currency::Currency;
pub use fee::FeeRule;
pub use locale::Locale;
pub use parse::{DecimalSeparator, ParseRules};

/// Why an amount or currency could not be parsed or computed. Messages can be shown to a
/// shopper (e.g. for a donation amount field).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Nothing was entered.
    #[error("Enter an amount.")]
    Empty,
    /// Something other than digits, a sign, separators and spaces was entered (currency
    /// symbols included).
    #[error("Enter the amount as a number, without a currency symbol.")]
    InvalidCharacter,
    /// A decimal or grouping separator is where it cannot be: two decimal separators,
    /// grouping after the decimal separator, or groups that are not of three digits.
    #[error("Your amount has a separator in the wrong place.")]
    MisplacedSeparator,
    /// More decimal places than the currency's minor unit allows.
    #[error("{}", too_many_decimals_message(.currency, *.max))]
    TooManyDecimals {
        /// The amount's currency.
        currency: Currency,
        /// Its number of decimal places ([`Currency::minor_units`]).
        max: u8,
    },
    /// The amount is negative but the rules do not allow it.
    #[error("The amount can't be negative.")]
    Negative,
    /// The amount is zero but the rules do not allow it.
    #[error("The amount must be more than zero.")]
    Zero,
    /// The amount does not fit in 64-bit minor units.
    #[error("That amount is too large.")]
    Overflow,
    /// The currency code is not one of [`Currency::ALL`].
    #[error("The currency \"{0}\" is not supported.")]
    UnknownCurrency(String),
    /// Two amounts in different currencies were combined.
    #[error("Amounts in {left} and {right} can't be combined.")]
    CurrencyMismatch {
        /// The currency of the amount the operation was called on.
        left: Currency,
        /// The currency of the other amount.
        right: Currency,
    },
}

impl MoneyError {
    /// Its message's key in the checkout's translators' files (`locales/*.json`), with the
    /// values of its placeholders (`{currency}`, `{max}`).
    pub fn key(&self) -> (&'static str, Vec<(&'static str, String)>) {
        match self {
            MoneyError::Empty => ("error_amount", vec![]),
            MoneyError::InvalidCharacter => ("err_amount_chars", vec![]),
            MoneyError::MisplacedSeparator => ("err_amount_separator", vec![]),
            MoneyError::TooManyDecimals { currency, max: 0 } => (
                "err_amount_no_decimals",
                vec![("currency", currency.code().to_owned())],
            ),
            MoneyError::TooManyDecimals { currency, max } => (
                "err_amount_decimals",
                vec![
                    ("currency", currency.code().to_owned()),
                    ("max", max.to_string()),
                ],
            ),
            MoneyError::Negative => ("err_amount_negative", vec![]),
            MoneyError::Zero => ("err_amount_zero", vec![]),
            // Not met while typing an amount: the form says it is too large either way.
            MoneyError::Overflow
            | MoneyError::UnknownCurrency(_)
            | MoneyError::CurrencyMismatch { .. } => ("err_amount_large", vec![]),
        }
    }
}

fn too_many_decimals_message(currency: &Currency, max: u8) -> String {
    match max {
        0 => format!("{currency} amounts can't have decimal places."),
        1 => format!("{currency} amounts have at most 1 decimal place."),
        n => format!("{currency} amounts have at most {n} decimal places."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_well() {
        let usd = MoneyError::TooManyDecimals {
            currency: Currency::Usd,
            max: 2,
        };
        assert_eq!(
            usd.to_string(),
            "USD amounts have at most 2 decimal places."
        );
        let jpy = MoneyError::TooManyDecimals {
            currency: Currency::Jpy,
            max: 0,
        };
        assert_eq!(jpy.to_string(), "JPY amounts can't have decimal places.");
        assert_eq!(
            MoneyError::UnknownCurrency("XYZ".into()).to_string(),
            "The currency \"XYZ\" is not supported."
        );
        assert_eq!(
            MoneyError::CurrencyMismatch {
                left: Currency::Usd,
                right: Currency::Eur
            }
            .to_string(),
            "Amounts in USD and EUR can't be combined."
        );
        assert_eq!(MoneyError::Empty.to_string(), "Enter an amount.");
    }
}
