//! The card number newtype: parsed once from shopper input, never printed in full.

use std::fmt;
use std::str::FromStr;

use super::brand::{lengths_for, typical_length_for, Brand};
use super::luhn::luhn_valid;

/// Why a card number field's content is not (yet) a valid card number.
///
/// Several states are normal while the shopper is still typing; [`NumberError::is_final`]
/// tells the UI whether to show the message now or wait for the field to lose focus.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Nothing but separators (or nothing at all) was entered.
    #[error("Enter your card number.")]
    Empty,
    /// Something other than digits, spaces and dashes was entered.
    #[error("Your card number can only contain digits.")]
    InvalidCharacter,
    /// Fewer digits than a valid length for the brand: more may still be coming.
    #[error("Your card number is incomplete.")]
    Incomplete,
    /// The number has a valid length but fails the checksum.
    ///
    /// `final_` records whether the shopper has already typed the brand's typical number of
    /// digits ([`typical_length_for`]): below that, a failing checksum is most likely just a
    /// number in progress (a 13-digit prefix of a 16-digit Visa), so it is not final.
    #[error("Your card number is invalid.")]
    Invalid {
        /// Whether typing more digits is unlikely to help (see [`NumberError::is_final`]).
        final_: bool,
    },
    /// More digits than the brand's longest valid length (19 when the brand is unknown).
    #[error("Your card number is too long.")]
    TooLong,
}

impl NumberError {
    /// Its message's key in the checkout's translators' files (`locales/*.json`).
    pub fn key(&self) -> &'static str {
        match self {
            NumberError::Empty => "err_card_number_empty",
            NumberError::InvalidCharacter => "err_card_number_chars",
            NumberError::Incomplete => "err_card_number_incomplete",
            NumberError::Invalid { .. } => "err_card_number_invalid",
            NumberError::TooLong => "err_card_number_long",
        }
    }
}

impl NumberError {
    /// Whether typing more digits cannot fix this, so the UI may show it while the shopper
    /// is still typing: always for [`InvalidCharacter`](Self::InvalidCharacter) and
    /// [`TooLong`](Self::TooLong), for [`Invalid`](Self::Invalid) once the typical length is
    /// reached, never for [`Empty`](Self::Empty) and [`Incomplete`](Self::Incomplete).
    ///
    /// The `Invalid` rule is a deliberate heuristic: a 16-digit Visa could in theory grow
    /// into a valid 19-digit one, but a shopper who has typed 16 digits believes they are
    /// done and needs to hear about the typo.
    pub fn is_final(&self) -> bool {
        match self {
            NumberError::Empty | NumberError::Incomplete => false,
            NumberError::Invalid { final_ } => *final_,
            NumberError::InvalidCharacter | NumberError::TooLong => true,
        }
    }
}

/// A card number that has a valid length for its brand and passes the Luhn checksum.
///
/// It can only be built by [`CardNumber::parse`]. Its `Debug` and `Display` output show at
/// most the last four digits, so it is safe to log by accident; the full number is only
/// reachable through the deliberately named [`CardNumber::expose`]. It has no `Serialize`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CardNumber(String);

impl CardNumber {
    /// Parses a card number as typed or pasted: spaces (any Unicode whitespace) and dashes
    /// are accepted as separators and dropped. The digits must have a valid length for
    /// their brand (12..=19 when the brand is unknown) and pass the Luhn checksum.
    pub fn parse(input: &str) -> Result<CardNumber, NumberError> {
        let mut digits = String::new();
        let mut count = 0usize;
        for ch in input.chars() {
            if ch.is_ascii_digit() {
                count += 1;
                // Keep one digit more than any valid length: enough to detect the brand
                // and report TooLong without copying a huge paste.
                if count <= 20 {
                    digits.push(ch);
                }
            } else if !(ch.is_whitespace() || ch == '-') {
                return Err(NumberError::InvalidCharacter);
            }
        }
        if count == 0 {
            return Err(NumberError::Empty);
        }
        let lengths = lengths_for(&digits);
        let max = lengths.last().copied().unwrap_or(19);
        if count > max {
            return Err(NumberError::TooLong);
        }
        if !lengths.contains(&count) {
            // Below the maximum, every length is the prefix of a longer valid one.
            return Err(NumberError::Incomplete);
        }
        if !luhn_valid(&digits) {
            return Err(NumberError::Invalid {
                final_: count >= typical_length_for(&digits),
            });
        }
        Ok(CardNumber(digits))
    }

    /// The card's brand, or `None` for a valid number from a network not listed in
    /// [`Brand`].
    pub fn brand(&self) -> Option<Brand> {
        Brand::detect(&self.0)
    }

    /// The last four digits, for "Visa ending in 4242".
    pub fn last4(&self) -> &str {
        // A parsed number has at least 12 ASCII digits.
        &self.0[self.0.len() - 4..]
    }

    /// The full digits. Only for sending to the payment gateway; the name is deliberately
    /// loud so that every call site is easy to find in review.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for CardNumber {
    type Err = NumberError;

    /// Same as [`CardNumber::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CardNumber::parse(s)
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(**** {})", self.last4())
    }
}

impl fmt::Display for CardNumber {
    /// `•••• 4242`: what a shopper sees for a saved card.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "•••• {}", self.last4())
    }
}

/// Checks a card number field's content for the UI; the same as [`CardNumber::parse`],
/// named for call sites that only want the state (valid, or which [`NumberError`]).
pub fn check_number(input: &str) -> Result<CardNumber, NumberError> {
    CardNumber::parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_separators() {
        let n = CardNumber::parse("4242 4242-4242\u{a0}4242").unwrap();
        assert_eq!(n.expose(), "4242424242424242");
        assert_eq!(n.brand(), Some(Brand::Visa));
        assert_eq!(n.last4(), "4242");
        assert_eq!(" 4242424242424242 ".parse::<CardNumber>(), Ok(n));
    }

    #[test]
    fn empty_and_invalid_characters() {
        assert_eq!(CardNumber::parse(""), Err(NumberError::Empty));
        assert_eq!(CardNumber::parse("  - "), Err(NumberError::Empty));
        assert_eq!(
            CardNumber::parse("4242a"),
            Err(NumberError::InvalidCharacter)
        );
        assert_eq!(
            CardNumber::parse("4242.4242"),
            Err(NumberError::InvalidCharacter)
        );
        assert_eq!(
            CardNumber::parse("42\u{663}2"),
            Err(NumberError::InvalidCharacter)
        );
    }

    #[test]
    fn incomplete_below_a_valid_length() {
        assert_eq!(CardNumber::parse("4"), Err(NumberError::Incomplete));
        assert_eq!(
            CardNumber::parse("424242424242"),
            Err(NumberError::Incomplete)
        );
        // 14 and 15 digits are not Visa lengths, but 16 is still reachable.
        assert_eq!(
            CardNumber::parse("42424242424242"),
            Err(NumberError::Incomplete)
        );
        // 17 and 18 digits can still become a 19-digit Visa.
        assert_eq!(
            CardNumber::parse("42424242424242424"),
            Err(NumberError::Incomplete)
        );
        // Unknown brand: incomplete below 12.
        assert_eq!(
            CardNumber::parse("99999999999"),
            Err(NumberError::Incomplete)
        );
    }

    #[test]
    fn invalid_checksum_is_final_only_from_the_typical_length() {
        let early = CardNumber::parse("4242424242421").unwrap_err();
        assert_eq!(early, NumberError::Invalid { final_: false });
        assert!(!early.is_final());
        let at_typical = CardNumber::parse("4242424242424241").unwrap_err();
        assert_eq!(at_typical, NumberError::Invalid { final_: true });
        assert!(at_typical.is_final());
        // Amex's typical length is 15; Diners 36 is 14.
        assert!(CardNumber::parse("378282246310006").unwrap_err().is_final());
        assert!(CardNumber::parse("36227206271668").unwrap_err().is_final());
        // Unknown brand at 12 digits: not yet final.
        assert_eq!(
            CardNumber::parse("999999999999"),
            Err(NumberError::Invalid { final_: false })
        );
    }

    #[test]
    fn too_long_for_the_brand() {
        assert_eq!(
            CardNumber::parse("3782822463100051"),
            Err(NumberError::TooLong)
        );
        assert_eq!(
            CardNumber::parse("55555555555544440"),
            Err(NumberError::TooLong)
        );
        assert_eq!(
            CardNumber::parse("42424242424242424242"),
            Err(NumberError::TooLong)
        );
        assert_eq!(
            CardNumber::parse(&"9".repeat(10_000)),
            Err(NumberError::TooLong)
        );
        assert!(NumberError::TooLong.is_final());
        assert!(NumberError::InvalidCharacter.is_final());
        assert!(!NumberError::Empty.is_final());
        assert!(!NumberError::Incomplete.is_final());
    }

    #[test]
    fn unknown_brand_is_accepted_at_any_iso_length() {
        // 12 digits, unassigned prefix 9, Luhn-valid.
        let n = CardNumber::parse("999999999991").unwrap();
        assert_eq!(n.brand(), None);
        assert_eq!(n.last4(), "9991");
    }

    #[test]
    fn debug_and_display_hide_all_but_last4() {
        let n = CardNumber::parse("4000056655665556").unwrap();
        assert_eq!(format!("{n:?}"), "CardNumber(**** 5556)");
        assert_eq!(n.to_string(), "•••• 5556");
        assert_eq!(format!("{:?}", Ok::<_, ()>(n)), "Ok(CardNumber(**** 5556))");
    }

    #[test]
    fn messages_read_well() {
        assert_eq!(NumberError::Empty.to_string(), "Enter your card number.");
        assert_eq!(
            NumberError::Incomplete.to_string(),
            "Your card number is incomplete."
        );
        assert_eq!(
            NumberError::Invalid { final_: true }.to_string(),
            "Your card number is invalid."
        );
        assert_eq!(
            NumberError::TooLong.to_string(),
            "Your card number is too long."
        );
        assert_eq!(
            NumberError::InvalidCharacter.to_string(),
            "Your card number can only contain digits."
        );
    }

    #[test]
    fn check_number_is_parse() {
        assert_eq!(
            check_number("4242 4242 4242 4242"),
            CardNumber::parse("4242424242424242")
        );
        assert_eq!(check_number("4242"), Err(NumberError::Incomplete));
    }
}
