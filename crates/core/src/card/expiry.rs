//! Card expiry dates: parsing the many ways shoppers write them, live formatting of the
//! field as "MM / YY", and checking against today's date (passed in by the caller).

use std::fmt;
use std::str::FromStr;

/// How many years ahead of today an expiry date may be; issuers do not go beyond this, so a
/// later year is almost certainly a typo.
const MAX_YEARS_AHEAD: u16 = 20;

/// Why an expiry date field's content is not (yet) a usable expiry date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ExpiryError {
    /// Nothing was entered.
    #[error("Enter your card's expiry date.")]
    Empty,
    /// The month or the year is still missing digits.
    #[error("Your card's expiry date is incomplete.")]
    Incomplete,
    /// Something other than digits, spaces, `/` and `-` was entered, or too many parts.
    #[error("Enter your card's expiry date as MM / YY.")]
    InvalidCharacter,
    /// The month is not 1..=12.
    #[error("Your card's expiry month is invalid.")]
    InvalidMonth,
    /// The year is not a 2-digit year or a 4-digit year in 2000..=2099.
    #[error("Your card's expiry year is invalid.")]
    InvalidYear,
    /// The expiry month is before today's month.
    #[error("Your card has expired.")]
    Expired,
    /// The expiry year is more than 20 years after today's.
    #[error("Your card's expiry year is too far in the future.")]
    TooFarAhead,
}

impl ExpiryError {
    /// Its message's key in the checkout's translators' files (`locales/*.json`).
    pub fn key(&self) -> &'static str {
        match self {
            ExpiryError::Empty => "err_expiry_empty",
            ExpiryError::Incomplete => "err_expiry_incomplete",
            ExpiryError::InvalidCharacter => "err_expiry_format",
            ExpiryError::InvalidMonth => "err_expiry_month",
            ExpiryError::InvalidYear => "err_expiry_year",
            ExpiryError::Expired => "err_expiry_past",
            ExpiryError::TooFarAhead => "err_expiry_far",
        }
    }
}

impl ExpiryError {
    /// Whether typing more digits cannot fix this, so the UI may show it while the shopper
    /// is still typing. Only [`Empty`](Self::Empty) and [`Incomplete`](Self::Incomplete) are
    /// not final; in particular [`InvalidMonth`](Self::InvalidMonth) is reported as soon as
    /// the month is impossible ("13", "00").
    ///
    /// [`Expired`](Self::Expired) is final even for "12 / 20", which could be the start of a
    /// 4-digit "2025": the field asks for a 2-digit year (see [`format_expiry_input`]).
    pub fn is_final(&self) -> bool {
        !matches!(self, ExpiryError::Empty | ExpiryError::Incomplete)
    }
}

/// A card expiry month: month 1..=12 of a year in 2000..=2099.
///
/// Ordering is chronological. A card is valid through the end of its expiry month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Expiry {
    // Year first, so that the derived ordering is chronological.
    year: u16,
    month: u8,
}

/// The digit groups of an expiry input, before any interpretation.
struct Parts {
    /// Runs of ASCII digits, in order.
    groups: Vec<String>,
    /// Whether a `/` or `-` follows the first group, i.e. the shopper ended the month.
    month_ended: bool,
    /// Whether a `/` or `-` comes before any digit.
    leading_separator: bool,
}

fn is_separator(ch: char) -> bool {
    ch == '/' || ch == '-'
}

/// Splits `input` into digit groups. Whitespace and separators both end a group. With
/// `lenient`, other characters are ignored (for live formatting); otherwise they are an
/// error.
fn split(input: &str, lenient: bool) -> Result<Parts, ExpiryError> {
    let mut parts = Parts {
        groups: Vec::new(),
        month_ended: false,
        leading_separator: false,
    };
    let mut current = String::new();
    for ch in input.chars() {
        if ch.is_ascii_digit() {
            current.push(ch);
        } else if ch.is_whitespace() || is_separator(ch) {
            if !current.is_empty() {
                parts.groups.push(std::mem::take(&mut current));
            }
            if is_separator(ch) {
                match parts.groups.len() {
                    0 => parts.leading_separator = true,
                    1 => parts.month_ended = true,
                    _ => {}
                }
            }
        } else if !lenient {
            return Err(ExpiryError::InvalidCharacter);
        }
    }
    if !current.is_empty() {
        parts.groups.push(current);
    }
    Ok(parts)
}

/// Splits digits typed without a separator into month and year: a first digit of 2..=9 can
/// only be a one-digit month, otherwise the month takes two digits ("123" is 12 / 3).
fn split_run(digits: &str) -> (&str, &str) {
    let month_len = match digits.as_bytes().first() {
        Some(b'2'..=b'9') => 1,
        _ => 2.min(digits.len()),
    };
    digits.split_at(month_len)
}

fn parse_month(month: &str, ended: bool) -> Result<u8, ExpiryError> {
    if month.len() > 2 {
        return Err(ExpiryError::InvalidMonth);
    }
    // A lone 0 or 1 may still become 01..=12 unless the shopper already ended the month.
    if month.len() < 2 && !ended && matches!(month, "" | "0" | "1") {
        return Err(ExpiryError::Incomplete);
    }
    match month.parse::<u8>() {
        Ok(m @ 1..=12) => Ok(m),
        Ok(_) => Err(ExpiryError::InvalidMonth),
        Err(_) => Err(ExpiryError::Incomplete),
    }
}

fn parse_year(year: &str) -> Result<u16, ExpiryError> {
    match year.len() {
        0 | 1 => Err(ExpiryError::Incomplete),
        2 => year
            .parse::<u16>()
            .map(|yy| 2000 + yy)
            .map_err(|_| ExpiryError::InvalidYear),
        // "202" is on its way to "2025"; "253" is not on its way to anything.
        3 if year.starts_with("20") => Err(ExpiryError::Incomplete),
        4 => match year.parse::<u16>() {
            Ok(y @ 2000..=2099) => Ok(y),
            _ => Err(ExpiryError::InvalidYear),
        },
        _ => Err(ExpiryError::InvalidYear),
    }
}

impl Expiry {
    /// Builds an expiry from a month (1..=12) and a 4-digit year (2000..=2099).
    pub fn new(month: u8, year: u16) -> Result<Expiry, ExpiryError> {
        if !(1..=12).contains(&month) {
            return Err(ExpiryError::InvalidMonth);
        }
        if !(2000..=2099).contains(&year) {
            return Err(ExpiryError::InvalidYear);
        }
        Ok(Expiry { year, month })
    }

    /// Parses an expiry date as typed: `"MM/YY"`, `"MM / YY"`, `"MM/YYYY"`, `"M/YY"`,
    /// `"MM-YY"`, `"MM YY"`, or digits only (`"MMYY"`, `"MMYYYY"`, and `"MYY"` when the month
    /// is 2..=9). Two-digit years are 2000 + YY.
    ///
    /// Digits without a separator are read as the formatter shows them: a first digit of
    /// 2..=9 is a whole month, otherwise the month is two digits (`"123"` is December and an
    /// incomplete year, `"13"` an invalid month).
    pub fn parse(input: &str) -> Result<Expiry, ExpiryError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ExpiryError::Empty);
        }
        let parts = split(input, false)?;
        if parts.leading_separator {
            return Err(ExpiryError::Incomplete);
        }
        let (month, year, ended) = match parts.groups.as_slice() {
            [] => return Err(ExpiryError::Incomplete),
            [run] if !parts.month_ended => {
                let (month, year) = split_run(run);
                (month, year, false)
            }
            [month] => (month.as_str(), "", true),
            [month, year] => (month.as_str(), year.as_str(), true),
            _ => return Err(ExpiryError::InvalidCharacter),
        };
        // The month is checked first so that "13" is reported before the year is typed.
        let month = parse_month(month, ended)?;
        let year = parse_year(year)?;
        Ok(Expiry { year, month })
    }

    /// Checks the expiry against today's date (passed in, so this stays pure): the card is
    /// valid through the end of its month, so the current month is still fine, and at most
    /// 20 years ahead (`year > today_year + 20` is [`ExpiryError::TooFarAhead`]).
    pub fn check(self, today_year: u16, today_month: u8) -> Result<Expiry, ExpiryError> {
        if (self.year, self.month) < (today_year, today_month) {
            return Err(ExpiryError::Expired);
        }
        // Widen so that a far-future `today_year` cannot overflow.
        if u32::from(self.year) > u32::from(today_year) + u32::from(MAX_YEARS_AHEAD) {
            return Err(ExpiryError::TooFarAhead);
        }
        Ok(self)
    }

    /// [`Expiry::parse`] followed by [`Expiry::check`].
    pub fn parse_and_check(
        input: &str,
        today_year: u16,
        today_month: u8,
    ) -> Result<Expiry, ExpiryError> {
        Expiry::parse(input)?.check(today_year, today_month)
    }

    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The 4-digit year, e.g. 2030.
    pub fn year(self) -> u16 {
        self.year
    }
}

impl FromStr for Expiry {
    type Err = ExpiryError;

    /// Same as [`Expiry::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Expiry::parse(s)
    }
}

impl fmt::Display for Expiry {
    /// `MM/YY`, as printed on cards.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}/{:02}", self.month, self.year % 100)
    }
}

/// Formats the expiry field as the shopper types, towards `"MM / YY"`.
///
/// - Digits only: `"1"` → `"1"`, `"12"` → `"12"`, `"123"` → `"12 / 3"`, `"1234"` →
///   `"12 / 34"`; a first digit of 2..=9 can only be a month, so `"5"` → `"05"` and `"525"`
///   → `"05 / 25"`.
/// - The separator appears only once a year digit exists, so backspacing over `"12 / "`
///   leaves `"12"` instead of trapping the caret behind the separator.
/// - A month ended explicitly is padded: `"1/"` → `"01"`, `"1/25"` → `"01 / 25"`.
/// - Years are two digits; a 4-digit year is shortened once complete (`"12/2025"` →
///   `"12 / 25"`), and a year starting with "20" may show a third digit on the way there.
/// - Characters other than digits, whitespace, `/` and `-` are dropped.
///
/// The output always parses with [`Expiry::parse`] to the same date as the input when the
/// input parsed.
pub fn format_expiry_input(input: &str) -> String {
    // Lenient splitting cannot fail.
    let Ok(parts) = split(input, true) else {
        return String::new();
    };
    // A month the shopper ended with a separator is kept as typed ("1/" is "01"). With no
    // year yet it is shown without the separator, so it must mean what those plain digits
    // mean; "20/" would not ("20" reads as "02 / 0"), so it gets the plain-digits reading
    // and formatting stays idempotent.
    let explicit_month = match parts.groups.as_slice() {
        [first, rest @ ..] if first.len() <= 2 => {
            !rest.is_empty()
                || (parts.month_ended && (first.len() == 1 || split_run(first).0 == first))
        }
        _ => false,
    };
    let (month, year) = match parts.groups.as_slice() {
        [first, rest @ ..] if explicit_month => {
            let month = match first.as_bytes() {
                [d @ b'1'..=b'9'] => format!("0{}", char::from(*d)),
                _ => first.clone(),
            };
            (month, rest.concat())
        }
        groups => {
            let all = groups.concat();
            let (month, year) = split_run(&all);
            let month = if month.len() == 1 && month != "0" && month != "1" {
                format!("0{month}")
            } else {
                month.to_string()
            };
            (month, year.to_string())
        }
    };
    let year = if year.starts_with("20") && year.len() >= 3 {
        if year.len() >= 4 {
            year[2..4].to_string()
        } else {
            year
        }
    } else {
        year.chars().take(2).collect()
    };
    if year.is_empty() {
        month
    } else {
        format!("{month} / {year}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(month: u8, year: u16) -> Result<Expiry, ExpiryError> {
        Expiry::new(month, year)
    }

    #[test]
    fn parses_all_accepted_formats() {
        for input in [
            "12/25", "12 / 25", "12/2025", "122025", "1225", "12-25", "12 25", " 12/25 ", "12 /25",
            "12/ 2025",
        ] {
            assert_eq!(Expiry::parse(input), ok(12, 2025), "{input:?}");
        }
        for input in ["1/30", "01/30", "0130", "01 / 2030", "1 / 30", "1-2030"] {
            assert_eq!(Expiry::parse(input), ok(1, 2030), "{input:?}");
        }
        assert_eq!(Expiry::parse("525"), ok(5, 2025));
        assert_eq!(Expiry::parse("5/25"), ok(5, 2025));
        assert_eq!(Expiry::parse("92099"), ok(9, 2099));
    }

    #[test]
    fn empty_and_incomplete() {
        assert_eq!(Expiry::parse(""), Err(ExpiryError::Empty));
        assert_eq!(Expiry::parse("   "), Err(ExpiryError::Empty));
        for input in [
            "1", "0", "12", "12 /", "12/", "1/", "12/2", "123", "12/202", "12 / 202", "/25", "-",
            "5", "52",
        ] {
            assert_eq!(
                Expiry::parse(input),
                Err(ExpiryError::Incomplete),
                "{input:?}"
            );
        }
        assert!(!ExpiryError::Empty.is_final());
        assert!(!ExpiryError::Incomplete.is_final());
    }

    #[test]
    fn invalid_month_is_reported_immediately() {
        for input in [
            "13", "00", "19", "0/25", "00/25", "13/25", "123/25", "1325", "00 / 25", "13/",
        ] {
            let err = Expiry::parse(input).unwrap_err();
            assert_eq!(err, ExpiryError::InvalidMonth, "{input:?}");
            assert!(err.is_final());
        }
    }

    #[test]
    fn invalid_year_and_characters() {
        for input in ["12/253", "12/1999", "12/2100", "12/20255", "1225255"] {
            assert_eq!(
                Expiry::parse(input),
                Err(ExpiryError::InvalidYear),
                "{input:?}"
            );
        }
        for input in [
            "12.25",
            "ab",
            "12/25 x",
            "1/2/25",
            "12 / 25 / 2025",
            "١٢/٢٥",
        ] {
            assert_eq!(
                Expiry::parse(input),
                Err(ExpiryError::InvalidCharacter),
                "{input:?}"
            );
        }
        assert!(ExpiryError::InvalidYear.is_final());
        assert!(ExpiryError::InvalidCharacter.is_final());
    }

    #[test]
    fn check_edge_dates() {
        let june_2025 = ok(6, 2025).unwrap();
        // Same month as today: still valid (valid through the end of the month).
        assert_eq!(june_2025.check(2025, 6), Ok(june_2025));
        // Previous month: expired.
        assert_eq!(
            ok(5, 2025).unwrap().check(2025, 6),
            Err(ExpiryError::Expired)
        );
        // December of last year, checked in January: expired; January this year: valid.
        assert_eq!(
            ok(12, 2025).unwrap().check(2026, 1),
            Err(ExpiryError::Expired)
        );
        assert_eq!(
            ok(1, 2026).unwrap().check(2026, 1),
            Ok(ok(1, 2026).unwrap())
        );
        // December checked in December, then the year rolls over.
        assert!(ok(12, 2025).unwrap().check(2025, 12).is_ok());
        // +20 years is fine (any month), +21 is too far.
        assert!(ok(12, 2045).unwrap().check(2025, 6).is_ok());
        assert_eq!(
            ok(1, 2046).unwrap().check(2025, 6),
            Err(ExpiryError::TooFarAhead)
        );
        // No overflow even with an absurd "today".
        assert_eq!(
            ok(1, 2030).unwrap().check(u16::MAX, 12),
            Err(ExpiryError::Expired)
        );
        assert!(ExpiryError::Expired.is_final());
        assert!(ExpiryError::TooFarAhead.is_final());
    }

    #[test]
    fn parse_and_check_combines_both() {
        assert_eq!(Expiry::parse_and_check("06/25", 2025, 6), ok(6, 2025));
        assert_eq!(
            Expiry::parse_and_check("05/25", 2025, 6),
            Err(ExpiryError::Expired)
        );
        assert_eq!(
            Expiry::parse_and_check("1", 2025, 6),
            Err(ExpiryError::Incomplete)
        );
        assert_eq!("12/30".parse::<Expiry>(), ok(12, 2030));
    }

    #[test]
    fn new_getters_display_and_order() {
        let e = ok(3, 2031).unwrap();
        assert_eq!((e.month(), e.year()), (3, 2031));
        assert_eq!(e.to_string(), "03/31");
        assert_eq!(ok(1, 2000).unwrap().to_string(), "01/00");
        assert_eq!(Expiry::new(0, 2030), Err(ExpiryError::InvalidMonth));
        assert_eq!(Expiry::new(13, 2030), Err(ExpiryError::InvalidMonth));
        assert_eq!(Expiry::new(1, 1999), Err(ExpiryError::InvalidYear));
        assert!(ok(12, 2030).unwrap() < ok(1, 2031).unwrap());
        assert!(ok(2, 2030).unwrap() > ok(1, 2030).unwrap());
    }

    #[test]
    fn messages_read_well() {
        assert_eq!(
            ExpiryError::Incomplete.to_string(),
            "Your card's expiry date is incomplete."
        );
        assert_eq!(
            ExpiryError::InvalidMonth.to_string(),
            "Your card's expiry month is invalid."
        );
        assert_eq!(ExpiryError::Expired.to_string(), "Your card has expired.");
        assert_eq!(
            ExpiryError::TooFarAhead.to_string(),
            "Your card's expiry year is too far in the future."
        );
    }

    #[test]
    fn formats_while_typing() {
        let cases = [
            ("", ""),
            ("1", "1"),
            ("0", "0"),
            ("12", "12"),
            ("123", "12 / 3"),
            ("1234", "12 / 34"),
            ("12345", "12 / 34"),
            ("2", "02"),
            ("9", "09"),
            ("52", "05 / 2"),
            ("525", "05 / 25"),
            ("13", "13"),
            ("00", "00"),
            // Typing after the formatter's own output.
            ("12 / 3", "12 / 3"),
            ("12 / 34", "12 / 34"),
            ("12 / 345", "12 / 34"),
            // Backspacing over the separator drops it.
            ("12 / ", "12"),
            ("12 /", "12"),
            // Explicitly ended months.
            ("1/", "01"),
            ("1/2", "01 / 2"),
            ("1/25", "01 / 25"),
            ("0/", "0"),
            // Four-digit years.
            ("12/20", "12 / 20"),
            ("12/202", "12 / 202"),
            ("12/2025", "12 / 25"),
            ("122025", "12 / 25"),
            ("12/20251", "12 / 25"),
            // Junk is dropped.
            ("1a2b/3c", "12 / 3"),
            ("/12", "12"),
            ("123/4", "12 / 34"),
            // An impossible month ended by a separator reads like plain digits.
            ("20-", "02 / 0"),
            ("20/5", "20 / 5"),
            ("13/", "13"),
        ];
        for (input, expected) in cases {
            assert_eq!(format_expiry_input(input), expected, "{input:?}");
        }
    }

    #[test]
    fn formatted_output_parses_like_the_input() {
        for input in [
            "12/25",
            "1/30",
            "525",
            "122025",
            "12 / 2025",
            "0130",
            "12-25",
            "12 25",
        ] {
            let formatted = format_expiry_input(input);
            assert_eq!(Expiry::parse(&formatted), Expiry::parse(input), "{input:?}");
            assert_eq!(format_expiry_input(&formatted), formatted, "{input:?}");
        }
    }
}
