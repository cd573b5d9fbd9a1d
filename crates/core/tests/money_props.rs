//! Property tests for money: formatting round-trips through parsing for every currency,
//! parsing never panics, and checked arithmetic behaves like integer arithmetic.
#![cfg(not(target_arch = "wasm32"))]

use paywidget_core::money::{Amount, Currency, DecimalSeparator, ParseRules};
use proptest::prelude::*;

fn currency() -> impl Strategy<Value = Currency> {
    proptest::sample::select(Currency::ALL)
}

fn separator() -> impl Strategy<Value = DecimalSeparator> {
    prop_oneof![Just(DecimalSeparator::Dot), Just(DecimalSeparator::Comma)]
}

/// Inserts `sep` between groups of three digits of the whole-number part of a plain amount.
fn group_thousands(plain: &str, sep: char) -> String {
    let (sign, rest) = plain
        .strip_prefix('-')
        .map_or(("", plain), |rest| ("-", rest));
    let (whole, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(sep);
        }
        grouped.push(ch);
    }
    match frac {
        Some(frac) => format!("{sign}{grouped}.{frac}"),
        None => format!("{sign}{grouped}"),
    }
}

proptest! {
    #[test]
    fn format_plain_round_trips_for_every_currency(minor in any::<i64>(), currency in currency()) {
        let amount = Amount::from_minor(minor, currency);
        let plain = amount.format_plain();
        let dot = Amount::parse(&plain, currency, DecimalSeparator::Dot, ParseRules::ANY);
        prop_assert_eq!(dot, Ok(amount));
        let comma_text = plain.replace('.', ",");
        let comma = Amount::parse(&comma_text, currency, DecimalSeparator::Comma, ParseRules::ANY);
        prop_assert_eq!(comma, Ok(amount));
        // Grouped the way each locale writes it.
        let grouped = group_thousands(&plain, ',');
        prop_assert_eq!(
            Amount::parse(&grouped, currency, DecimalSeparator::Dot, ParseRules::ANY),
            Ok(amount),
            "{}", grouped
        );
        let grouped = group_thousands(&plain, '\u{a0}').replace('.', ",");
        prop_assert_eq!(
            Amount::parse(&grouped, currency, DecimalSeparator::Comma, ParseRules::ANY),
            Ok(amount),
            "{}", grouped
        );
    }

    #[test]
    fn every_currency_parses_its_own_decimals(whole in 0u32..1_000_000, currency in currency()) {
        let exp = u32::from(currency.minor_units());
        let text = if exp == 0 {
            whole.to_string()
        } else {
            format!("{whole}.{}", "1".repeat(exp as usize))
        };
        let expected = i64::from(whole) * 10i64.pow(exp)
            + (0..exp).fold(0i64, |acc, _| acc * 10 + 1);
        let rules = ParseRules::NON_NEGATIVE;
        prop_assert_eq!(
            Amount::parse(&text, currency, DecimalSeparator::Dot, rules).map(Amount::minor),
            Ok(expected)
        );
        // One decimal more than the currency has is always rejected.
        let too_many = format!("{whole}.{}", "1".repeat(exp as usize + 1));
        prop_assert!(Amount::parse(&too_many, currency, DecimalSeparator::Dot, rules).is_err());
    }

    #[test]
    fn parse_never_panics(
        input in any::<String>(),
        currency in currency(),
        sep in separator(),
        allow_zero in any::<bool>(),
        allow_negative in any::<bool>(),
    ) {
        let rules = ParseRules { allow_zero, allow_negative };
        if let Ok(amount) = Amount::parse(&input, currency, sep, rules) {
            prop_assert_eq!(amount.currency(), currency);
            prop_assert!(allow_zero || !amount.is_zero());
            prop_assert!(allow_negative || !amount.is_negative());
        }
    }

    #[test]
    fn parse_never_panics_on_number_like_input(
        input in "[-+−]?[0-9.,' \u{a0}]{0,40}",
        currency in currency(),
        sep in separator(),
    ) {
        let _ = Amount::parse(&input, currency, sep, ParseRules::ANY);
    }

    #[test]
    fn checked_add_is_commutative_and_exact(a in any::<i64>(), b in any::<i64>(), currency in currency()) {
        let x = Amount::from_minor(a, currency);
        let y = Amount::from_minor(b, currency);
        prop_assert_eq!(x.checked_add(y), y.checked_add(x));
        match a.checked_add(b) {
            Some(sum) => prop_assert_eq!(x.checked_add(y).map(Amount::minor), Ok(sum)),
            None => prop_assert!(x.checked_add(y).is_err()),
        }
        if let Ok(sum) = x.checked_add(y) {
            prop_assert_eq!(sum.checked_sub(y), Ok(x));
        }
    }

    #[test]
    fn mixed_currencies_never_combine(a in any::<i64>(), b in any::<i64>(), c1 in currency(), c2 in currency()) {
        prop_assume!(c1 != c2);
        let x = Amount::from_minor(a, c1);
        let y = Amount::from_minor(b, c2);
        prop_assert!(x.checked_add(y).is_err());
        prop_assert!(x.checked_sub(y).is_err());
    }

    #[test]
    fn checked_mul_matches_integer_arithmetic(a in any::<i64>(), k in any::<i64>()) {
        let x = Amount::from_minor(a, Currency::Usd);
        prop_assert_eq!(x.checked_mul(k).ok().map(Amount::minor), a.checked_mul(k));
    }
}
