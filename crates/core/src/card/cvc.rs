//! The card security code (CVC/CVV) newtype: length depends on the brand, never printed.

use std::fmt;

use super::brand::Brand;

/// Why a security code field's content is not (yet) a valid security code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum CvcError {
    /// Nothing was entered.
    #[error("Enter your card's security code.")]
    Empty,
    /// Fewer digits than the brand's security code has.
    #[error("Your card's security code is incomplete.")]
    Incomplete,
    /// Something other than digits was entered.
    #[error("Your card's security code can only contain digits.")]
    InvalidCharacter,
    /// More digits than the brand's security code has.
    #[error("Your card's security code is too long.")]
    TooLong,
}

impl CvcError {
    /// Its message's key in the checkout's translators' files (`locales/*.json`).
    pub fn key(&self) -> &'static str {
        match self {
            CvcError::Empty => "err_cvc_empty",
            CvcError::Incomplete => "err_cvc_incomplete",
            CvcError::InvalidCharacter => "err_cvc_chars",
            CvcError::TooLong => "err_cvc_long",
        }
    }
}

impl CvcError {
    /// Whether typing more digits cannot fix this: true for
    /// [`InvalidCharacter`](Self::InvalidCharacter) and [`TooLong`](Self::TooLong).
    pub fn is_final(&self) -> bool {
        matches!(self, CvcError::InvalidCharacter | CvcError::TooLong)
    }
}

/// A security code of the right length for the card's brand.
///
/// `Debug` prints `Cvc(***)` and `Display` prints `***`, whatever the length, so that
/// neither the digits nor their count leak into logs. Read it with [`Cvc::expose`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cvc(String);

impl Cvc {
    /// Parses a security code for a card of `brand`: 4 digits for Amex, otherwise 3
    /// (also when the brand is unknown). Surrounding whitespace is ignored.
    pub fn parse(input: &str, brand: Option<Brand>) -> Result<Cvc, CvcError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(CvcError::Empty);
        }
        if !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CvcError::InvalidCharacter);
        }
        let expected = brand.map_or(3, Brand::cvc_length);
        match input.len() {
            n if n < expected => Err(CvcError::Incomplete),
            n if n > expected => Err(CvcError::TooLong),
            _ => Ok(Cvc(input.to_string())),
        }
    }

    /// The digits. Only for sending to the payment gateway; the name is deliberately loud
    /// so that every call site is easy to find in review.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvc(***)")
    }
}

impl fmt::Display for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_by_brand() {
        assert_eq!(
            Cvc::parse("123", Some(Brand::Visa)).unwrap().expose(),
            "123"
        );
        assert_eq!(
            Cvc::parse("1234", Some(Brand::Amex)).unwrap().expose(),
            "1234"
        );
        assert_eq!(Cvc::parse(" 123 ", None).unwrap().expose(), "123");
        assert_eq!(
            Cvc::parse("123", Some(Brand::Amex)),
            Err(CvcError::Incomplete)
        );
        assert_eq!(
            Cvc::parse("1234", Some(Brand::Mastercard)),
            Err(CvcError::TooLong)
        );
        assert_eq!(Cvc::parse("1234", None), Err(CvcError::TooLong));
        assert_eq!(Cvc::parse("12", None), Err(CvcError::Incomplete));
    }

    #[test]
    fn empty_and_invalid() {
        assert_eq!(Cvc::parse("", None), Err(CvcError::Empty));
        assert_eq!(Cvc::parse("  ", Some(Brand::Visa)), Err(CvcError::Empty));
        assert_eq!(Cvc::parse("12a", None), Err(CvcError::InvalidCharacter));
        assert_eq!(Cvc::parse("1 23", None), Err(CvcError::InvalidCharacter));
        assert_eq!(Cvc::parse("١٢٣", None), Err(CvcError::InvalidCharacter));
    }

    #[test]
    fn finality() {
        assert!(!CvcError::Empty.is_final());
        assert!(!CvcError::Incomplete.is_final());
        assert!(CvcError::InvalidCharacter.is_final());
        assert!(CvcError::TooLong.is_final());
    }

    #[test]
    fn never_printed() {
        let cvc = Cvc::parse("9876", Some(Brand::Amex)).unwrap();
        assert_eq!(format!("{cvc:?}"), "Cvc(***)");
        assert_eq!(cvc.to_string(), "***");
    }

    #[test]
    fn messages_read_well() {
        assert_eq!(
            CvcError::Incomplete.to_string(),
            "Your card's security code is incomplete."
        );
        assert_eq!(
            CvcError::Empty.to_string(),
            "Enter your card's security code."
        );
    }
}
