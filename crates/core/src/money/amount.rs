//! The amount newtype: an integer number of minor units in one currency, with checked
//! arithmetic and plain formatting.

use std::fmt;

use super::{Currency, DecimalSeparator, MoneyError, ParseRules};

/// An exact amount of money: an integer number of the currency's minor units (cents for
/// USD, yen for JPY, fils for KWD).
///
/// Arithmetic is checked: it fails on mixed currencies or overflow instead of panicking or
/// wrapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Amount {
    minor: i64,
    currency: Currency,
}

impl Amount {
    /// An amount of `minor` minor units, e.g. `from_minor(1250, Currency::Usd)` is $12.50.
    pub fn from_minor(minor: i64, currency: Currency) -> Amount {
        Amount { minor, currency }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Amount {
        Amount::from_minor(0, currency)
    }

    /// The amount in minor units (what Stripe's `amount` field takes for most currencies).
    pub fn minor(self) -> i64 {
        self.minor
    }

    /// The amount's currency.
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(self) -> bool {
        self.minor == 0
    }

    /// Whether the amount is greater than zero.
    pub fn is_positive(self) -> bool {
        self.minor > 0
    }

    /// Whether the amount is less than zero.
    pub fn is_negative(self) -> bool {
        self.minor < 0
    }

    fn same_currency(self, other: Amount) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`; fails on different currencies or overflow.
    pub fn checked_add(self, other: Amount) -> Result<Amount, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Amount::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`; fails on different currencies or overflow.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Amount::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// `self * factor` (e.g. a unit price times a quantity); fails on overflow.
    pub fn checked_mul(self, factor: i64) -> Result<Amount, MoneyError> {
        self.minor
            .checked_mul(factor)
            .map(|minor| Amount::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// Parses an amount as a shopper types it, in `currency`, with the caller's choice of
    /// decimal separator ([`DecimalSeparator`]) and sign rules ([`ParseRules`]):
    /// `"1,234.56"` (Dot) and `"1 234,56"` (Comma) are both 123456 cents of USD, `"12.5"`
    /// is 1250, and `"12.5"` in JPY is [`MoneyError::TooManyDecimals`]. The full grammar is
    /// documented on [`DecimalSeparator`]. Never panics, whatever the input.
    pub fn parse(
        input: &str,
        currency: Currency,
        separator: DecimalSeparator,
        rules: ParseRules,
    ) -> Result<Amount, MoneyError> {
        super::parse::parse_minor(input, currency, separator, rules)
            .map(|minor| Amount::from_minor(minor, currency))
    }

    /// The amount as a plain number: `'.'` as the decimal point, exactly
    /// [`Currency::minor_units`] decimals, no grouping and no symbol: `"1234.56"`,
    /// `"-0.05"`, `"1000"` (JPY), `"1.234"` (KWD). Suitable for `<input>` values and
    /// APIs; it parses back with [`DecimalSeparator::Dot`].
    pub fn format_plain(self) -> String {
        let exp = u32::from(self.currency.minor_units());
        // `unsigned_abs` makes `i64::MIN` representable.
        let magnitude = self.minor.unsigned_abs();
        let sign = if self.minor < 0 { "-" } else { "" };
        if exp == 0 {
            return format!("{sign}{magnitude}");
        }
        let scale = 10u64.pow(exp);
        let whole = magnitude / scale;
        let frac = magnitude % scale;
        format!("{sign}{whole}.{frac:0width$}", width = exp as usize)
    }

    /// The amount as short as it reads unambiguously beside its currency's name: a whole
    /// amount without its zero decimals (`"10"`, `"1000"`), else as [`Amount::format_plain`]
    /// (`"12.50"`). For amount chips under a heading that names the currency.
    pub fn format_short(self) -> String {
        let plain = self.format_plain();
        match plain.split_once('.') {
            Some((whole, frac)) if frac.bytes().all(|b| b == b'0') => whole.to_owned(),
            _ => plain,
        }
    }
}

impl fmt::Display for Amount {
    /// The plain amount and the currency code: `12.50 USD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format_plain(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::Usd)
    }

    #[test]
    fn accessors_and_predicates() {
        let a = usd(1250);
        assert_eq!(a.minor(), 1250);
        assert_eq!(a.currency(), Currency::Usd);
        assert!(a.is_positive() && !a.is_negative() && !a.is_zero());
        assert!(usd(-1).is_negative());
        let zero = Amount::zero(Currency::Jpy);
        assert!(zero.is_zero() && !zero.is_positive() && !zero.is_negative());
        assert_eq!(zero.currency(), Currency::Jpy);
    }

    #[test]
    fn format_plain_by_exponent() {
        assert_eq!(usd(123456).format_plain(), "1234.56");
        assert_eq!(usd(-5).format_plain(), "-0.05");
        assert_eq!(usd(0).format_plain(), "0.00");
        assert_eq!(usd(100).format_plain(), "1.00");
        assert_eq!(
            Amount::from_minor(1000, Currency::Jpy).format_plain(),
            "1000"
        );
        assert_eq!(Amount::from_minor(-7, Currency::Jpy).format_plain(), "-7");
        assert_eq!(
            Amount::from_minor(1234, Currency::Kwd).format_plain(),
            "1.234"
        );
        assert_eq!(Amount::from_minor(5, Currency::Kwd).format_plain(), "0.005");
        assert_eq!(usd(i64::MIN).format_plain(), "-92233720368547758.08");
        assert_eq!(usd(i64::MAX).format_plain(), "92233720368547758.07");
    }

    #[test]
    fn display_appends_the_code() {
        assert_eq!(usd(1250).to_string(), "12.50 USD");
        assert_eq!(
            Amount::from_minor(500, Currency::Jpy).to_string(),
            "500 JPY"
        );
        assert_eq!(
            Amount::from_minor(1500, Currency::Kwd).to_string(),
            "1.500 KWD"
        );
    }

    #[test]
    fn arithmetic() {
        assert_eq!(usd(1250).checked_add(usd(50)), Ok(usd(1300)));
        assert_eq!(usd(1250).checked_sub(usd(1300)), Ok(usd(-50)));
        assert_eq!(usd(1250).checked_mul(3), Ok(usd(3750)));
        assert_eq!(usd(1250).checked_mul(-1), Ok(usd(-1250)));
        let jpy = Amount::from_minor(100, Currency::Jpy);
        assert_eq!(
            usd(1).checked_add(jpy),
            Err(MoneyError::CurrencyMismatch {
                left: Currency::Usd,
                right: Currency::Jpy
            })
        );
        assert_eq!(
            usd(1).checked_sub(jpy),
            Err(MoneyError::CurrencyMismatch {
                left: Currency::Usd,
                right: Currency::Jpy
            })
        );
    }

    #[test]
    fn arithmetic_overflow_is_an_error() {
        assert_eq!(usd(i64::MAX).checked_add(usd(1)), Err(MoneyError::Overflow));
        assert_eq!(usd(i64::MIN).checked_sub(usd(1)), Err(MoneyError::Overflow));
        assert_eq!(usd(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(usd(i64::MIN).checked_mul(-1), Err(MoneyError::Overflow));
    }

    #[test]
    fn short_amounts_drop_only_zero_decimals() {
        assert_eq!(usd(1000).format_short(), "10");
        assert_eq!(usd(1250).format_short(), "12.50");
        assert_eq!(usd(1205).format_short(), "12.05");
        assert_eq!(usd(5).format_short(), "0.05");
        assert_eq!(
            Amount::from_minor(1000, Currency::Jpy).format_short(),
            "1000"
        );
    }

    #[test]
    fn parse_delegates_with_currency_rules() {
        let rules = ParseRules::default();
        assert_eq!(
            Amount::parse("12.50", Currency::Usd, DecimalSeparator::Dot, rules),
            Ok(usd(1250))
        );
        assert_eq!(
            Amount::parse("1.234", Currency::Kwd, DecimalSeparator::Dot, rules),
            Ok(Amount::from_minor(1234, Currency::Kwd))
        );
        assert_eq!(
            Amount::parse("12.5", Currency::Jpy, DecimalSeparator::Dot, rules),
            Err(MoneyError::TooManyDecimals {
                currency: Currency::Jpy,
                max: 0
            })
        );
    }
}
