//! The IBAN newtype: parsed once from what a payer typed (country length, ISO 13616 mod-97
//! check), grouped by four while typed, and never printed beyond its country and last four.

use std::fmt;
use std::str::FromStr;

/// Why an IBAN field's content is not (yet) a valid IBAN. As for card numbers, some states are
/// normal while the payer is still typing: [`IbanError::is_final`] says when to show it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IbanError {
    /// Nothing but separators (or nothing at all).
    #[error("Enter your IBAN.")]
    Empty,
    /// Something other than letters, digits, spaces and dashes.
    #[error("Your IBAN can only contain letters and digits.")]
    InvalidCharacter,
    /// It does not start with a country code this checkout knows, then two check digits.
    #[error("Your IBAN should start with a country code, such as DE or FR.")]
    UnknownCountry,
    /// Shorter than its country's IBANs: more may still be coming.
    #[error("Your IBAN is incomplete.")]
    Incomplete,
    /// Longer than its country's IBANs.
    #[error("Your IBAN is too long for its country.")]
    TooLong,
    /// Its country's length, but the check digits do not match (a typo).
    #[error("Your IBAN is invalid. Check it for a typo.")]
    Invalid,
}

impl IbanError {
    /// Its message's key in the checkout's translators' files (`locales/*.json`).
    pub fn key(&self) -> &'static str {
        match self {
            IbanError::Empty => "err_iban_empty",
            IbanError::InvalidCharacter => "err_iban_chars",
            IbanError::UnknownCountry => "err_iban_country",
            IbanError::Incomplete => "err_iban_incomplete",
            IbanError::TooLong => "err_iban_long",
            IbanError::Invalid => "err_iban_invalid",
        }
    }
}

impl IbanError {
    /// Whether typing more cannot fix it, so the form may say so while the payer types:
    /// never for [`Empty`](Self::Empty) and [`Incomplete`](Self::Incomplete).
    pub fn is_final(&self) -> bool {
        !matches!(self, IbanError::Empty | IbanError::Incomplete)
    }
}

/// The IBAN countries (ISO 13616 registry) with their IBAN lengths, and whether the country is
/// in the Single Euro Payments Area (where SEPA Direct Debit works).
const COUNTRIES: &[(&str, usize, bool)] = &[
    ("AD", 24, true),
    ("AE", 23, false),
    ("AL", 28, false),
    ("AT", 20, true),
    ("AZ", 28, false),
    ("BA", 20, false),
    ("BE", 16, true),
    ("BG", 22, true),
    ("BH", 22, false),
    ("BR", 29, false),
    ("BY", 28, false),
    ("CH", 21, true),
    ("CR", 22, false),
    ("CY", 28, true),
    ("CZ", 24, true),
    ("DE", 22, true),
    ("DK", 18, true),
    ("DO", 28, false),
    ("EE", 20, true),
    ("EG", 29, false),
    ("ES", 24, true),
    ("FI", 18, true),
    ("FO", 18, false),
    ("FR", 27, true),
    ("GB", 22, true),
    ("GE", 22, false),
    ("GI", 23, true),
    ("GL", 18, false),
    ("GR", 27, true),
    ("GT", 28, false),
    ("HR", 21, true),
    ("HU", 28, true),
    ("IE", 22, true),
    ("IL", 23, false),
    ("IQ", 23, false),
    ("IS", 26, true),
    ("IT", 27, true),
    ("JO", 30, false),
    ("KW", 30, false),
    ("KZ", 20, false),
    ("LB", 28, false),
    ("LC", 32, false),
    ("LI", 21, true),
    ("LT", 20, true),
    ("LU", 20, true),
    ("LV", 21, true),
    ("MC", 27, true),
    ("MD", 24, false),
    ("ME", 22, false),
    ("MK", 19, false),
    ("MR", 27, false),
    ("MT", 31, true),
    ("MU", 30, false),
    ("NL", 18, true),
    ("NO", 15, true),
    ("PK", 24, false),
    ("PL", 28, true),
    ("PS", 29, false),
    ("PT", 25, true),
    ("QA", 29, false),
    ("RO", 24, true),
    ("RS", 22, false),
    ("SA", 24, false),
    ("SC", 31, false),
    ("SE", 24, true),
    ("SI", 19, true),
    ("SK", 24, true),
    ("SM", 27, true),
    ("ST", 25, false),
    ("SV", 28, false),
    ("TL", 23, false),
    ("TN", 24, false),
    ("TR", 26, false),
    ("UA", 29, false),
    ("VA", 22, true),
    ("VG", 24, false),
    ("XK", 20, false),
];

/// The longest IBAN of any country.
pub const MAX_IBAN_LENGTH: usize = 34;

/// Every country with IBANs (ISO 13616's registry), with its IBAN length.
pub fn iban_countries() -> impl Iterator<Item = (&'static str, usize)> {
    COUNTRIES.iter().map(|(c, n, _)| (*c, *n))
}

/// The IBAN length of `country` (two upper-case letters), if it has IBANs.
pub fn iban_length(country: &str) -> Option<usize> {
    COUNTRIES
        .iter()
        .find(|(c, _, _)| *c == country)
        .map(|(_, n, _)| *n)
}

/// A valid IBAN in its electronic form (upper case, no separators).
///
/// Built only by [`Iban::parse`]. `Debug` and `Display` show the country and the last four
/// characters; the whole IBAN is reachable only through the loudly named [`Iban::expose`], for
/// the gateway. It has no `Serialize`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iban(String);

impl Iban {
    /// Parses an IBAN as typed or pasted: spaces and dashes are separators, letters of either
    /// case; then its country's length and the mod-97 check.
    pub fn parse(input: &str) -> Result<Iban, IbanError> {
        let mut chars = String::new();
        for ch in input.chars() {
            if ch.is_ascii_alphanumeric() {
                // One more than the longest IBAN: enough to say "too long" without copying a
                // pasted novel.
                if chars.len() > MAX_IBAN_LENGTH {
                    return Err(IbanError::TooLong);
                }
                chars.push(ch.to_ascii_uppercase());
            } else if !(ch.is_whitespace() || ch == '-') {
                return Err(IbanError::InvalidCharacter);
            }
        }
        if chars.is_empty() {
            return Err(IbanError::Empty);
        }
        let bytes = chars.as_bytes();
        let letters = bytes.iter().take(2).all(u8::is_ascii_uppercase);
        let digits = bytes.iter().skip(2).take(2).all(u8::is_ascii_digit);
        if !letters || !digits {
            return Err(IbanError::UnknownCountry);
        }
        if chars.len() < 2 {
            return Err(IbanError::Incomplete);
        }
        let Some(length) = iban_length(&chars[..2]) else {
            return Err(IbanError::UnknownCountry);
        };
        if chars.len() < length {
            return Err(IbanError::Incomplete);
        }
        if chars.len() > length {
            return Err(IbanError::TooLong);
        }
        if mod97(&chars) != 1 {
            return Err(IbanError::Invalid);
        }
        Ok(Iban(chars))
    }

    /// Its country code, e.g. `DE`.
    pub fn country(&self) -> &str {
        &self.0[..2]
    }

    /// Whether its country is in the Single Euro Payments Area.
    pub fn is_sepa(&self) -> bool {
        COUNTRIES
            .iter()
            .any(|(c, _, sepa)| *sepa && *c == self.country())
    }

    /// The last four characters, for "DE •••• 3000".
    pub fn last4(&self) -> &str {
        // The shortest IBAN (Norway's) has 15 characters, all ASCII.
        &self.0[self.0.len() - 4..]
    }

    /// The whole IBAN, electronic form. Only for sending to the gateway.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// ISO 7064 MOD 97-10 over the IBAN with its first four characters moved to the end and each
/// letter read as two digits (A = 10 … Z = 35). `chars` is upper-case ASCII alphanumeric.
fn mod97(chars: &str) -> u32 {
    let (head, tail) = chars.split_at(4);
    tail.bytes().chain(head.bytes()).fold(0u32, |acc, b| {
        if b.is_ascii_digit() {
            (acc * 10 + u32::from(b - b'0')) % 97
        } else {
            (acc * 100 + u32::from(b - b'A') + 10) % 97
        }
    })
}

/// The check digits that make `country` + `bban` a valid IBAN (tests and the sandbox's own
/// test accounts): `98 − mod97(country 00 bban)`.
pub fn iban_check_digits(country: &str, bban: &str) -> String {
    let draft = format!("{country}00{}", bban.to_ascii_uppercase());
    format!("{:02}", 98 - mod97(&draft))
}

impl FromStr for Iban {
    type Err = IbanError;

    /// Same as [`Iban::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Iban::parse(s)
    }
}

impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({} **** {})", self.country(), self.last4())
    }
}

impl fmt::Display for Iban {
    /// `DE •••• 3000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} •••• {}", self.country(), self.last4())
    }
}

/// An IBAN field's content as the payer should see it while typing: letters upper-cased,
/// separators dropped, groups of four (`DE89 3704 0044 0532 0130 00`), at most
/// [`MAX_IBAN_LENGTH`] characters; anything else typed is left out.
pub fn format_iban_input(input: &str) -> String {
    let mut out = String::new();
    let kept = input
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(MAX_IBAN_LENGTH);
    for (n, ch) in kept.enumerate() {
        if n > 0 && n % 4 == 0 {
            out.push(' ');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published example IBANs (the ECBS and national banks' examples).
    const VALID: &[&str] = &[
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "AT611904300234573201",
        "BE68539007547034",
        "NO9386011117947",
        "MT84MALT011000012345MTLCAST001S",
        "CH9300762011623852957",
    ];

    #[test]
    fn parses_published_examples_as_typed() {
        for iban in VALID {
            let parsed = Iban::parse(iban).unwrap();
            assert_eq!(parsed.expose(), *iban);
            let typed = format_iban_input(&iban.to_lowercase());
            assert_eq!(Iban::parse(&typed).unwrap(), parsed, "{typed}");
        }
        let de = Iban::parse("de89 3704-0044 0532 0130 00").unwrap();
        assert_eq!(
            (de.country(), de.last4(), de.is_sepa()),
            ("DE", "3000", true)
        );
        assert!(!Iban::parse("SA0380000000608010167519").unwrap().is_sepa());
    }

    #[test]
    fn each_error_as_the_payer_meets_it() {
        assert_eq!(Iban::parse(" - "), Err(IbanError::Empty));
        assert_eq!(Iban::parse("DE89_3704"), Err(IbanError::InvalidCharacter));
        assert_eq!(Iban::parse("DE89\u{663}"), Err(IbanError::InvalidCharacter));
        assert_eq!(Iban::parse("D"), Err(IbanError::Incomplete));
        assert_eq!(Iban::parse("DE8"), Err(IbanError::Incomplete));
        assert_eq!(Iban::parse("DE89 3704"), Err(IbanError::Incomplete));
        assert_eq!(
            Iban::parse("ZZ89370400440532013000"),
            Err(IbanError::UnknownCountry)
        );
        assert_eq!(Iban::parse("1234"), Err(IbanError::UnknownCountry));
        assert_eq!(
            Iban::parse("DEXX370400440532013000"),
            Err(IbanError::UnknownCountry)
        );
        assert_eq!(
            Iban::parse("DE893704004405320130001"),
            Err(IbanError::TooLong)
        );
        assert_eq!(
            Iban::parse("DE88370400440532013000"),
            Err(IbanError::Invalid)
        );
        assert_eq!(Iban::parse(&"DE".repeat(10_000)), Err(IbanError::TooLong));
        assert!(!IbanError::Incomplete.is_final() && IbanError::Invalid.is_final());
    }

    #[test]
    fn prints_only_country_and_last_four() {
        let de = Iban::parse("DE89370400440532013000").unwrap();
        assert_eq!(de.to_string(), "DE •••• 3000");
        assert_eq!(format!("{de:?}"), "Iban(DE **** 3000)");
        assert_eq!(
            format_iban_input("de89370400440532013000"),
            "DE89 3704 0044 0532 0130 00"
        );
        assert_eq!(iban_check_digits("DE", "370400440532013000"), "89");
    }
}
