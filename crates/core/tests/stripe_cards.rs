//! Every Stripe public test card for the supported brands must parse, pass Luhn, be
//! detected as the right brand and format as the widget will show it.
#![cfg(not(target_arch = "wasm32"))]

use paywidget_core::card::{
    format_number, luhn_valid, reformat, typical_length_for, Brand, CardNumber, Cvc, NumberError,
};

/// Stripe's public test card numbers (https://docs.stripe.com/testing) and their brands.
/// Test-only data: these must never end up in library code.
pub const STRIPE_TEST_CARDS: &[(&str, Brand)] = &[
    ("4242424242424242", Brand::Visa),
    ("4000056655665556", Brand::Visa),
    ("5555555555554444", Brand::Mastercard),
    ("2223003122003222", Brand::Mastercard),
    ("5200828282828210", Brand::Mastercard),
    ("5105105105105100", Brand::Mastercard),
    ("378282246310005", Brand::Amex),
    ("371449635398431", Brand::Amex),
    ("6011111111111117", Brand::Discover),
    ("6011000990139424", Brand::Discover),
    ("6011981111111113", Brand::Discover),
    ("3056930009020004", Brand::DinersClub),
    ("36227206271667", Brand::DinersClub),
    ("3566002020360505", Brand::Jcb),
    ("6200000000000005", Brand::UnionPay),
    ("6200000000000047", Brand::UnionPay),
    ("6205500000000000004", Brand::UnionPay),
    // Declines and 3D Secure.
    ("4000000000000002", Brand::Visa),
    ("4000000000009995", Brand::Visa),
    ("4000000000009987", Brand::Visa),
    ("4000000000009979", Brand::Visa),
    ("4000000000000069", Brand::Visa),
    ("4000000000000127", Brand::Visa),
    ("4000000000000119", Brand::Visa),
    ("4000002500003155", Brand::Visa),
    ("4000002760003184", Brand::Visa),
    ("4000000000003220", Brand::Visa),
    ("4000000000000341", Brand::Visa),
    ("4000000000000259", Brand::Visa),
    ("4100000000000019", Brand::Visa),
    ("4000000000000101", Brand::Visa),
];

#[test]
fn every_test_card_parses_with_its_brand() {
    for &(number, brand) in STRIPE_TEST_CARDS {
        assert!(luhn_valid(number), "{number} fails Luhn");
        assert_eq!(Brand::detect(number), Some(brand), "{number}");
        let card = CardNumber::parse(number).unwrap_or_else(|e| panic!("{number}: {e}"));
        assert_eq!(card.brand(), Some(brand), "{number}");
        assert_eq!(card.expose(), number);
        assert_eq!(card.last4(), &number[number.len() - 4..]);
        assert!(brand.lengths().contains(&number.len()), "{number}");
    }
}

#[test]
fn every_test_card_parses_as_formatted_and_pasted() {
    for &(number, _) in STRIPE_TEST_CARDS {
        let formatted = format_number(number);
        assert_eq!(CardNumber::parse(&formatted).unwrap().expose(), number);
        let dashed = formatted.replace(' ', "-");
        assert_eq!(CardNumber::parse(&dashed).unwrap().expose(), number);
        let pasted = reformat(&dashed, dashed.len());
        assert_eq!(pasted.text, formatted);
        assert_eq!(pasted.caret, formatted.len());
    }
}

#[test]
fn test_cards_format_by_brand() {
    assert_eq!(format_number("4242424242424242"), "4242 4242 4242 4242");
    assert_eq!(format_number("378282246310005"), "3782 822463 10005");
    assert_eq!(format_number("36227206271667"), "3622 720627 1667");
    assert_eq!(format_number("3056930009020004"), "3056 9300 0902 0004");
    assert_eq!(
        format_number("6205500000000000004"),
        "6205 5000 0000 0000 004"
    );
}

#[test]
fn mistyped_test_cards_are_rejected() {
    for &(number, _) in STRIPE_TEST_CARDS {
        // Changing the last digit always breaks the checksum.
        let last = number.as_bytes()[number.len() - 1] - b'0';
        let wrong = format!("{}{}", &number[..number.len() - 1], (last + 1) % 10);
        let err = CardNumber::parse(&wrong).unwrap_err();
        assert!(
            matches!(err, NumberError::Invalid { .. }),
            "{wrong}: {err:?}"
        );
        assert!(err.is_final(), "{wrong}");
        // Dropping the last digit leaves a number the shopper may still be typing, unless
        // that is already past the typical length (the 19-digit UnionPay card).
        let short = &number[..number.len() - 1];
        if short.len() < typical_length_for(short) {
            let err = CardNumber::parse(short).unwrap_err();
            assert!(!err.is_final(), "{short}: {err:?}");
        }
    }
}

#[test]
fn test_card_cvcs() {
    for &(number, brand) in STRIPE_TEST_CARDS {
        let card = CardNumber::parse(number).unwrap();
        let cvc = if brand == Brand::Amex { "1234" } else { "123" };
        assert_eq!(Cvc::parse(cvc, card.brand()).unwrap().expose(), cvc);
    }
}
