//! Property tests for IBANs: every valid IBAN of every country parses however it is grouped,
//! single typos and swapped neighbours are caught, nothing prints more than the country and the
//! last four, and no input makes the parser panic.
#![cfg(not(target_arch = "wasm32"))]

use paywidget_core::bank::{
    format_iban_input, iban_check_digits, iban_countries, Iban, IbanError, MAX_IBAN_LENGTH,
};
use proptest::prelude::*;

/// A valid IBAN of a random country: its BBAN digits, its computed check digits.
fn any_iban() -> impl Strategy<Value = String> {
    let countries: Vec<(&str, usize)> = iban_countries().collect();
    (
        0..countries.len(),
        proptest::collection::vec(0u8..10, MAX_IBAN_LENGTH),
    )
        .prop_map(move |(c, digits)| {
            let (country, length) = countries[c];
            let bban: String = digits[..length - 4]
                .iter()
                .map(|d| char::from(b'0' + d))
                .collect();
            format!("{country}{}{bban}", iban_check_digits(country, &bban))
        })
}

proptest! {
    #[test]
    fn every_valid_iban_parses_however_it_is_grouped(iban in any_iban()) {
        let parsed = Iban::parse(&iban).unwrap();
        prop_assert_eq!(parsed.expose(), iban.as_str());
        prop_assert_eq!(Iban::parse(&format_iban_input(&iban)).unwrap(), parsed.clone());
        // What it prints never holds more than the country and the last four.
        let shown = format!("{parsed} {parsed:?}");
        prop_assert!(!shown.contains(&iban[4..iban.len() - 4]));
    }

    #[test]
    fn a_single_mistyped_digit_is_caught(iban in any_iban(), at in 2usize..34, by in 1u8..10) {
        let at = at.min(iban.len() - 1);
        let mut typo = iban.into_bytes();
        typo[at] = b'0' + (typo[at] - b'0' + by) % 10;
        let typo = String::from_utf8(typo).unwrap();
        prop_assert_eq!(Iban::parse(&typo), Err(IbanError::Invalid));
    }

    #[test]
    fn two_swapped_neighbours_are_caught(iban in any_iban(), at in 4usize..33) {
        let at = at.min(iban.len() - 2);
        let mut swapped = iban.clone().into_bytes();
        swapped.swap(at, at + 1);
        let swapped = String::from_utf8(swapped).unwrap();
        prop_assume!(swapped != iban);
        prop_assert_eq!(Iban::parse(&swapped), Err(IbanError::Invalid));
    }

    #[test]
    fn any_input_is_answered_never_panics(s in "\\PC{0,80}") {
        let _ = Iban::parse(&s);
        prop_assert!(format_iban_input(&s).len() <= MAX_IBAN_LENGTH + MAX_IBAN_LENGTH / 4);
    }
}
