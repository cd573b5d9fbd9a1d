//! Property tests for the card rules: Luhn, formatting and caret mapping, secrecy of
//! `CardNumber`'s output, and robustness of every parser against arbitrary input.
#![cfg(not(target_arch = "wasm32"))]

use paywidget_core::card::{
    check_number, digits_only, format_expiry_input, format_number, luhn_check_digit, luhn_valid,
    max_length_for, reformat, Brand, CardNumber, Cvc, Expiry,
};
use proptest::prelude::*;

/// Counts the ASCII digits of `s` before the UTF-16 offset `caret`.
fn digits_before(s: &str, caret: usize) -> usize {
    let mut offset = 0;
    let mut count = 0;
    for ch in s.chars() {
        if offset >= caret {
            break;
        }
        if ch.is_ascii_digit() {
            count += 1;
        }
        offset += ch.len_utf16();
    }
    count
}

/// What a shopper might put in a card number field: mostly digits, with separators and the
/// occasional stray character (including multi-unit UTF-16 ones).
fn field_input() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            8 => proptest::char::range('0', '9'),
            2 => Just(' '),
            1 => Just('-'),
            1 => Just('\u{a0}'),
            1 => Just('x'),
            1 => Just('😀'),
        ],
        0..30,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// A valid card number: a brand prefix, random digits up to a valid length, and the Luhn
/// check digit.
fn valid_card_number() -> impl Strategy<Value = String> {
    let prefixes = prop_oneof![
        Just("4"),
        Just("51"),
        Just("2221"),
        Just("2720"),
        Just("34"),
        Just("37"),
        Just("6011"),
        Just("65"),
        Just("3528"),
        Just("36"),
        Just("300"),
        Just("62"),
        Just("6759"),
        Just("676770"),
        Just("9"),
    ];
    (
        prefixes,
        proptest::collection::vec(0u8..10, 19),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(prefix, filler, pick)| {
            let lengths = Brand::detect(prefix).map_or(&[12usize, 16, 19][..], Brand::lengths);
            let len = *pick.get(lengths);
            let mut payload = prefix.to_string();
            for d in filler.iter().take(len - 1 - prefix.len()) {
                payload.push(char::from(b'0' + d));
            }
            let check = luhn_check_digit(&payload).expect("payload is digits");
            format!("{payload}{check}")
        })
}

proptest! {
    #[test]
    fn appending_the_check_digit_makes_any_payload_valid(payload in "[0-9]{0,30}") {
        let check = luhn_check_digit(&payload).unwrap();
        prop_assert!(check < 10);
        let number = format!("{payload}{check}");
        prop_assert!(luhn_valid(&number));
        // Any other final digit is invalid.
        for other in (0..10u8).filter(|&d| d != check) {
            let wrong = format!("{payload}{other}");
            prop_assert!(!luhn_valid(&wrong), "{}", wrong);
        }
    }

    #[test]
    fn changing_any_single_digit_breaks_luhn(
        payload in "[0-9]{1,25}",
        pos in any::<prop::sample::Index>(),
        delta in 1u8..10,
    ) {
        let number = format!("{payload}{}", luhn_check_digit(&payload).unwrap());
        let mut bytes = number.into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = b'0' + (bytes[i] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(!luhn_valid(&changed), "{changed}");
    }

    #[test]
    fn format_number_is_idempotent_and_keeps_digits(input in field_input()) {
        let formatted = format_number(&input);
        prop_assert_eq!(format_number(&formatted), formatted.clone());
        prop_assert_eq!(format_number(&digits_only(&input)), formatted.clone());
        let digits = digits_only(&input);
        let kept = digits_only(&formatted);
        prop_assert!(digits.starts_with(&kept));
        prop_assert_eq!(kept.len(), digits.len().min(max_length_for(&digits)));
        // Only digits and single spaces, never at either end.
        prop_assert!(formatted.bytes().all(|b| b.is_ascii_digit() || b == b' '));
        prop_assert!(!formatted.starts_with(' ') && !formatted.ends_with(' '));
        prop_assert!(!formatted.contains("  "));
    }

    #[test]
    fn reformat_keeps_the_digits_before_the_caret(input in field_input(), at in 0usize..40) {
        let len16 = input.encode_utf16().count();
        let caret = at.min(len16);
        let out = reformat(&input, caret);
        prop_assert_eq!(&out.text, &format_number(&input));
        prop_assert!(out.caret <= out.text.len());
        let kept = digits_only(&out.text).len();
        prop_assert_eq!(digits_before(&out.text, out.caret), digits_before(&input, caret).min(kept));
        // The caret sits right after a digit (or at 0), never after a space.
        prop_assert!(out.caret == 0 || out.text.as_bytes()[out.caret - 1].is_ascii_digit());
        // Reformatting the output is a no-op.
        prop_assert_eq!(reformat(&out.text, out.caret), out.clone());
    }

    #[test]
    fn card_number_output_never_reveals_more_than_last4(number in valid_card_number()) {
        let card = CardNumber::parse(&number).unwrap();
        prop_assert_eq!(card.expose(), number.as_str());
        for shown in [format!("{card:?}"), card.to_string(), format!("{:?}", Some(&card))] {
            prop_assert!(shown.ends_with(card.last4()) || shown.contains(card.last4()));
            let digits: Vec<char> = shown.chars().collect();
            prop_assert!(
                !digits.windows(5).any(|w| w.iter().all(char::is_ascii_digit)),
                "{} shows 5 consecutive digits", shown
            );
            for window in number.as_bytes().windows(5) {
                prop_assert!(!shown.contains(std::str::from_utf8(window).unwrap()));
            }
        }
    }

    #[test]
    fn parsers_never_panic(input in any::<String>()) {
        let _ = check_number(&input);
        let _ = Brand::detect(&input);
        let _ = reformat(&input, input.len());
        let _ = Cvc::parse(&input, None);
        let _ = Expiry::parse(&input);
        let _ = format_expiry_input(&input);
    }

    #[test]
    fn valid_results_agree_with_their_rules(input in field_input()) {
        if let Ok(card) = check_number(&input) {
            let digits = card.expose();
            prop_assert!(luhn_valid(digits));
            let lengths = card.brand().map_or(&[12usize, 13, 14, 15, 16, 17, 18, 19][..], Brand::lengths);
            prop_assert!(lengths.contains(&digits.len()));
        }
    }

    #[test]
    fn expiry_formatting_is_stable_and_faithful(input in "[0-9/ a-]{0,10}") {
        let formatted = format_expiry_input(&input);
        prop_assert_eq!(format_expiry_input(&formatted), formatted.clone());
        if let Ok(expiry) = Expiry::parse(&input) {
            prop_assert_eq!(Expiry::parse(&formatted), Ok(expiry));
        }
    }

    #[test]
    fn expiry_check_matches_date_order(
        month in 1u8..=12, year in 2000u16..=2099,
        today_month in 1u8..=12, today_year in 2000u16..=2099,
    ) {
        let expiry = Expiry::new(month, year).unwrap();
        let result = expiry.check(today_year, today_month);
        if (year, month) < (today_year, today_month) {
            prop_assert!(result.is_err());
        } else if year > today_year + 20 {
            prop_assert!(result.is_err());
        } else {
            prop_assert_eq!(result, Ok(expiry));
        }
        let text = format!("{month:02}/{:02}", year % 100);
        prop_assert_eq!(Expiry::parse(&text), Ok(expiry));
        prop_assert_eq!(expiry.to_string(), text);
    }
}
