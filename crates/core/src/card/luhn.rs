//! Digit extraction and the Luhn (mod 10) checksum that every card number carries.

/// Returns the ASCII digits of `input` in order, dropping everything else.
///
/// Used to strip the spaces and dashes shoppers type or paste between digit groups.
pub fn digits_only(input: &str) -> String {
    input.chars().filter(char::is_ascii_digit).collect()
}

/// Sum of the Luhn-transformed digits of `digits`, where the rightmost digit has
/// position `first_doubled` (0: not doubled, 1: doubled). `None` on a non-digit.
fn luhn_sum(digits: &str, first_doubled: usize) -> Option<u32> {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        // Every second digit from the right is doubled; a two-digit product contributes
        // the sum of its digits, which for 10..=18 is `product - 9`.
        let v = if (i + first_doubled) % 2 == 1 {
            let p = d * 2;
            if p > 9 {
                p - 9
            } else {
                p
            }
        } else {
            d
        };
        // Only the total mod 10 matters; reducing as we go means absurdly long input
        // cannot overflow the accumulator.
        sum = (sum + v) % 10;
    }
    Some(sum)
}

/// Whether `digits` passes the Luhn checksum.
///
/// Returns `false` for an empty string or one containing anything but ASCII digits, so that
/// a caller can never mistake unvalidated input for a valid number.
pub fn luhn_valid(digits: &str) -> bool {
    !digits.is_empty() && luhn_sum(digits, 0) == Some(0)
}

/// The Luhn check digit to append to `payload` (all the digits but the last) so that the
/// result passes [`luhn_valid`]; `None` when `payload` contains a non-digit.
///
/// Mostly useful to build test numbers.
pub fn luhn_check_digit(payload: &str) -> Option<u8> {
    // The check digit will sit at position 0 from the right, so the payload's rightmost
    // digit is at position 1 and is doubled.
    let sum = luhn_sum(payload, 1)?;
    // `sum` is already reduced mod 10, so this is a digit 0..=9.
    Some(((10 - sum) % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_only_keeps_ascii_digits_in_order() {
        assert_eq!(digits_only("4242 4242-4242\u{a0}4242"), "4242424242424242");
        assert_eq!(digits_only(""), "");
        assert_eq!(digits_only("abc"), "");
        // Non-ASCII digits (Arabic-Indic three, full-width one) are not card digits.
        assert_eq!(digits_only("1\u{663}2\u{ff11}"), "12");
    }

    #[test]
    fn luhn_accepts_known_valid_numbers() {
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("79927398713"));
        assert!(luhn_valid("0"));
        assert!(luhn_valid("00"));
        assert!(luhn_valid("18"));
    }

    #[test]
    fn luhn_rejects_invalid_and_malformed_input() {
        assert!(!luhn_valid("4242424242424241"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("4242 4242 4242 4242"));
        assert!(!luhn_valid("42424242424242a2"));
        assert!(!luhn_valid("1"));
    }

    #[test]
    fn check_digit_completes_payloads() {
        assert_eq!(luhn_check_digit("7992739871"), Some(3));
        assert_eq!(luhn_check_digit("424242424242424"), Some(2));
        assert_eq!(luhn_check_digit(""), Some(0));
        assert_eq!(luhn_check_digit("12a"), None);
    }

    #[test]
    fn luhn_survives_very_long_input() {
        let long = "9".repeat(100_000);
        // Just must not panic or overflow; the result itself is arithmetic.
        let _ = luhn_valid(&long);
        let payload = "9".repeat(99_999);
        let check = luhn_check_digit(&payload).unwrap();
        assert!(luhn_valid(&format!("{payload}{check}")));
    }
}
