//! Parsing amounts as shoppers type them, e.g. in a donation field: separators by locale,
//! grouping, signs, and the currency's number of decimals, without ever panicking.

use super::{Currency, MoneyError};

/// Which character the shopper's locale uses as the decimal separator. The caller chooses
/// explicitly (from the page's locale); it is never guessed from the input, because
/// `"1,234"` is a thousand and something in one locale and one and a bit in another.
///
/// Grammar accepted by [`super::Amount::parse`], after trimming surrounding whitespace:
///
/// - an optional sign: `+`, `-` or `−` (U+2212), then the number;
/// - at most one decimal separator (`.` for [`Dot`](Self::Dot), `,` for
///   [`Comma`](Self::Comma)); `"12."` and `".5"` are accepted; the fraction may have at
///   most [`Currency::minor_units`] digits;
/// - grouping characters in the integer part only: the other one of `.`/`,`, spaces
///   (including U+00A0 no-break, U+202F narrow no-break and U+2009 thin spaces) and
///   apostrophes (`'`, `’`, as in Swiss `1'234.56`). Groups after the first must have
///   three digits (`1,234,567`), or follow the Indian lakh/crore pattern (`12,34,567`);
///   anything else, like `12,34.5`, is [`MoneyError::MisplacedSeparator`];
/// - nothing else: currency symbols and letters are [`MoneyError::InvalidCharacter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecimalSeparator {
    /// `1,234.56` (English, Chinese, Japanese, …).
    Dot,
    /// `1.234,56` or `1 234,56` (most of continental Europe, Latin America, …).
    Comma,
}

impl DecimalSeparator {
    /// The separator character.
    pub fn as_char(self) -> char {
        match self {
            DecimalSeparator::Dot => '.',
            DecimalSeparator::Comma => ',',
        }
    }

    /// Whether `ch` groups digits in the integer part under this separator choice.
    fn is_grouping(self, ch: char) -> bool {
        match ch {
            '.' => self == DecimalSeparator::Comma,
            ',' => self == DecimalSeparator::Dot,
            ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '\u{2019}' => true,
            _ => false,
        }
    }
}

/// Which amounts [`super::Amount::parse`] accepts besides positive ones.
///
/// The default accepts neither zero nor negative amounts: what a shopper types is normally a
/// payment or donation, which must be positive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ParseRules {
    /// Accept `0` (otherwise [`MoneyError::Zero`]).
    pub allow_zero: bool,
    /// Accept negative amounts (otherwise [`MoneyError::Negative`]).
    pub allow_negative: bool,
}

impl ParseRules {
    /// Only amounts greater than zero (the default).
    pub const POSITIVE: ParseRules = ParseRules {
        allow_zero: false,
        allow_negative: false,
    };
    /// Zero or more.
    pub const NON_NEGATIVE: ParseRules = ParseRules {
        allow_zero: true,
        allow_negative: false,
    };
    /// Any amount, e.g. for an adjustment typed by staff.
    pub const ANY: ParseRules = ParseRules {
        allow_zero: true,
        allow_negative: true,
    };
}

/// Checks the grouping of an integer part (ASCII digits and grouping characters only) and
/// returns its digits.
fn integer_digits(int_part: &str, separator: DecimalSeparator) -> Result<String, MoneyError> {
    let groups: Vec<&str> = int_part.split(|c| separator.is_grouping(c)).collect();
    if let [only] = groups.as_slice() {
        return Ok((*only).to_string());
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    // Both patterns start with a short group and end with exactly three digits.
    let (first, rest) = lens.split_first().unwrap_or((&0, &[]));
    let western = (1..=3).contains(first) && rest.iter().all(|&n| n == 3);
    let indian = (1..=2).contains(first)
        && rest.last() == Some(&3)
        && rest[..rest.len() - 1].iter().all(|&n| n == 2);
    if western || indian {
        Ok(groups.concat())
    } else {
        Err(MoneyError::MisplacedSeparator)
    }
}

/// Parses `input` into minor units of `currency`; see [`DecimalSeparator`] for the grammar.
pub(super) fn parse_minor(
    input: &str,
    currency: Currency,
    separator: DecimalSeparator,
    rules: ParseRules,
) -> Result<i64, MoneyError> {
    let trimmed = input.trim();
    let (negative, body) = match trimmed.chars().next() {
        Some(c @ ('-' | '\u{2212}')) => (true, &trimmed[c.len_utf8()..]),
        Some('+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    // "- 12" is still clearly minus twelve.
    let body = body.trim_start();
    if body.is_empty() {
        return Err(MoneyError::Empty);
    }
    let decimal = separator.as_char();
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || c == decimal || separator.is_grouping(c))
    {
        return Err(MoneyError::InvalidCharacter);
    }

    let mut pieces = body.split(decimal);
    let int_part = pieces.next().unwrap_or("");
    let frac = pieces.next().unwrap_or("");
    if pieces.next().is_some() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        // A second decimal separator, or grouping after the decimal separator.
        return Err(MoneyError::MisplacedSeparator);
    }
    let int_digits = integer_digits(int_part, separator)?;
    if int_digits.is_empty() && frac.is_empty() {
        // Separators without any digits, like "." or ",".
        return Err(MoneyError::MisplacedSeparator);
    }
    let exp = currency.minor_units();
    if frac.len() > usize::from(exp) {
        return Err(MoneyError::TooManyDecimals { currency, max: exp });
    }

    // Sign rules come before magnitude so that a huge negative number reads "can't be
    // negative" rather than "too large", and "-0" is zero, not negative.
    if int_digits.bytes().chain(frac.bytes()).all(|b| b == b'0') {
        return if rules.allow_zero {
            Ok(0)
        } else {
            Err(MoneyError::Zero)
        };
    }
    if negative && !rules.allow_negative {
        return Err(MoneyError::Negative);
    }

    // Accumulate the magnitude in u64, which holds |i64::MIN| = 2^63; the padding zeros
    // scale the fraction up to whole minor units.
    let padding = std::iter::repeat_n(b'0', usize::from(exp) - frac.len());
    let mut magnitude: u64 = 0;
    for b in int_digits.bytes().chain(frac.bytes()).chain(padding) {
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(b - b'0')))
            .ok_or(MoneyError::Overflow)?;
    }
    if negative {
        // `0 - magnitude` in i128 cannot overflow, and covers i64::MIN.
        i64::try_from(-i128::from(magnitude)).map_err(|_| MoneyError::Overflow)
    } else {
        i64::try_from(magnitude).map_err(|_| MoneyError::Overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Amount;

    const DOT: DecimalSeparator = DecimalSeparator::Dot;
    const COMMA: DecimalSeparator = DecimalSeparator::Comma;

    fn usd(input: &str, sep: DecimalSeparator) -> Result<i64, MoneyError> {
        parse_minor(input, Currency::Usd, sep, ParseRules::default())
    }

    #[test]
    fn plain_numbers() {
        assert_eq!(usd("12", DOT), Ok(1200));
        assert_eq!(usd("12.5", DOT), Ok(1250));
        assert_eq!(usd("12.50", DOT), Ok(1250));
        assert_eq!(usd("0.01", DOT), Ok(1));
        assert_eq!(usd("12.", DOT), Ok(1200));
        assert_eq!(usd(".5", DOT), Ok(50));
        assert_eq!(usd("  12.50\n", DOT), Ok(1250));
        assert_eq!(usd("+12", DOT), Ok(1200));
        assert_eq!(usd("007", DOT), Ok(700));
        assert_eq!(usd("12,5", COMMA), Ok(1250));
        assert_eq!(usd(",5", COMMA), Ok(50));
    }

    #[test]
    fn grouping_by_locale() {
        assert_eq!(usd("1,234.56", DOT), Ok(123456));
        assert_eq!(usd("1,234,567.89", DOT), Ok(123456789));
        assert_eq!(usd("1 234,56", COMMA), Ok(123456));
        assert_eq!(usd("1.234,56", COMMA), Ok(123456));
        assert_eq!(usd("1\u{a0}234,56", COMMA), Ok(123456));
        assert_eq!(usd("1\u{202f}234,56", COMMA), Ok(123456));
        assert_eq!(usd("1\u{2009}234.56", DOT), Ok(123456));
        assert_eq!(usd("1'234.56", DOT), Ok(123456));
        assert_eq!(usd("1\u{2019}234.56", DOT), Ok(123456));
        assert_eq!(usd("1 234 567", DOT), Ok(123456700));
        // Indian lakh/crore grouping.
        assert_eq!(usd("1,00,000.00", DOT), Ok(10000000));
        assert_eq!(usd("12,34,567", DOT), Ok(123456700));
    }

    #[test]
    fn misplaced_separators() {
        for (input, sep) in [
            ("12,34.5", DOT),
            ("1,2,3.4", DOT),
            ("1,,234", DOT),
            ("1,234,", DOT),
            (",123", DOT),
            ("1234,567", DOT),
            ("1.2.3", DOT),
            ("1.234,56", DOT),
            ("1,5,5", COMMA),
            ("1.23,4", COMMA),
            ("12,34.5", COMMA),
            (".", DOT),
            (",", COMMA),
            ("1 2", DOT),
            ("123,45,678", DOT),
        ] {
            assert_eq!(
                usd(input, sep),
                Err(MoneyError::MisplacedSeparator),
                "{input:?} {sep:?}"
            );
        }
        // With Comma as the decimal separator, "12.5" is a misplaced grouping dot.
        assert_eq!(usd("12.5", COMMA), Err(MoneyError::MisplacedSeparator));
    }

    #[test]
    fn invalid_characters_and_empty() {
        assert_eq!(usd("", DOT), Err(MoneyError::Empty));
        assert_eq!(usd("   ", DOT), Err(MoneyError::Empty));
        assert_eq!(usd("-", DOT), Err(MoneyError::Empty));
        for input in [
            "$12", "12 USD", "12€", "1e3", "twelve", "12..", "١٢", "--1", "+-1",
        ] {
            let err = usd(input, DOT).unwrap_err();
            assert!(
                matches!(
                    err,
                    MoneyError::InvalidCharacter | MoneyError::MisplacedSeparator
                ),
                "{input:?}: {err:?}"
            );
        }
        assert_eq!(usd("$12", DOT), Err(MoneyError::InvalidCharacter));
        assert_eq!(usd("12.5.", DOT), Err(MoneyError::MisplacedSeparator));
    }

    #[test]
    fn decimals_per_currency() {
        let rules = ParseRules::default();
        let jpy = |s| parse_minor(s, Currency::Jpy, DOT, rules);
        assert_eq!(jpy("1000"), Ok(1000));
        assert_eq!(jpy("1,000"), Ok(1000));
        assert_eq!(jpy("12."), Ok(12));
        assert_eq!(
            jpy("12.5"),
            Err(MoneyError::TooManyDecimals {
                currency: Currency::Jpy,
                max: 0
            })
        );
        let kwd = |s| parse_minor(s, Currency::Kwd, COMMA, rules);
        assert_eq!(kwd("1,234"), Ok(1234));
        assert_eq!(kwd("1,5"), Ok(1500));
        assert_eq!(kwd("1.000,001"), Ok(1_000_001));
        assert_eq!(
            kwd("1,2345"),
            Err(MoneyError::TooManyDecimals {
                currency: Currency::Kwd,
                max: 3
            })
        );
        assert_eq!(
            usd("12.500", DOT),
            Err(MoneyError::TooManyDecimals {
                currency: Currency::Usd,
                max: 2
            })
        );
    }

    #[test]
    fn sign_and_zero_rules() {
        assert_eq!(usd("0", DOT), Err(MoneyError::Zero));
        assert_eq!(usd("0.00", DOT), Err(MoneyError::Zero));
        assert_eq!(usd("-0", DOT), Err(MoneyError::Zero));
        assert_eq!(usd("-5", DOT), Err(MoneyError::Negative));
        assert_eq!(usd("−5", DOT), Err(MoneyError::Negative));
        let nn = |s| parse_minor(s, Currency::Usd, DOT, ParseRules::NON_NEGATIVE);
        assert_eq!(nn("0"), Ok(0));
        assert_eq!(nn("-0"), Ok(0));
        assert_eq!(nn("-1"), Err(MoneyError::Negative));
        let any = |s| parse_minor(s, Currency::Usd, DOT, ParseRules::ANY);
        assert_eq!(any("-0.05"), Ok(-5));
        assert_eq!(any("- 1,234.56"), Ok(-123456));
        assert_eq!(any("−1"), Ok(-100));
        let negative_only = ParseRules {
            allow_zero: false,
            allow_negative: true,
        };
        assert_eq!(
            parse_minor("0", Currency::Usd, DOT, negative_only),
            Err(MoneyError::Zero)
        );
        assert_eq!(ParseRules::default(), ParseRules::POSITIVE);
    }

    #[test]
    fn overflow_is_an_error() {
        fn any(s: &str) -> Result<i64, MoneyError> {
            parse_minor(s, Currency::Usd, DOT, ParseRules::ANY)
        }
        assert_eq!(any("92233720368547758.07"), Ok(i64::MAX));
        assert_eq!(any("92233720368547758.08"), Err(MoneyError::Overflow));
        assert_eq!(any("-92233720368547758.08"), Ok(i64::MIN));
        assert_eq!(any("-92233720368547758.09"), Err(MoneyError::Overflow));
        assert_eq!(any(&"9".repeat(1000)), Err(MoneyError::Overflow));
        assert_eq!(any(&format!("0{}", "0".repeat(1000))), Ok(0));
        // Leading zeros do not count towards overflow.
        assert_eq!(any(&format!("{}1", "0".repeat(1000))), Ok(100));
        // Without negatives allowed, a huge negative number is reported as negative.
        assert_eq!(
            usd(&format!("-{}", "9".repeat(30)), DOT),
            Err(MoneyError::Negative)
        );
    }

    #[test]
    fn through_amount() {
        let a = Amount::parse("1 234,56", Currency::Eur, COMMA, ParseRules::default());
        assert_eq!(a, Ok(Amount::from_minor(123456, Currency::Eur)));
        assert_eq!(a.unwrap().format_plain(), "1234.56");
        assert_eq!(DOT.as_char(), '.');
        assert_eq!(COMMA.as_char(), ',');
    }
}
