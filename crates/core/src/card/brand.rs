//! Card brands: detection from the issuer identification number (IIN) prefix, and the
//! per-brand rules (valid lengths, CVC length) that follow from it.

use std::ops::RangeInclusive;

/// A card network, as far as the checkout needs to tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Brand {
    /// Visa.
    Visa,
    /// Mastercard (51–55 and the 2-series 2221–2720).
    Mastercard,
    /// American Express.
    Amex,
    /// Discover.
    Discover,
    /// JCB.
    Jcb,
    /// Diners Club.
    DinersClub,
    /// UnionPay.
    UnionPay,
    /// Maestro (a Mastercard debit network with variable-length numbers).
    Maestro,
}

/// One IIN range: the number formed by the first `len` digits of a card number lies in
/// `low..=high`.
struct IinRange {
    low: u32,
    high: u32,
    len: u32,
    brand: Brand,
}

const fn range(low: u32, high: u32, len: u32, brand: Brand) -> IinRange {
    IinRange {
        low,
        high,
        len,
        brand,
    }
}

/// The longest `len` in [`RANGES`]; only this many leading digits ever matter.
const PREFIX_WIDTH: u32 = 6;

/// IIN ranges, compared on the first `len` digits. When several ranges contain a number the
/// one with the longest `len` wins (e.g. Maestro's 6759 over a hypothetical shorter range).
///
/// The Maestro entries 5018, 5020, 5038 and 5893 already fall under 50 and 58; they are kept
/// so that this table reads like the published lists it was copied from.
const RANGES: &[IinRange] = &[
    range(4, 4, 1, Brand::Visa),
    range(51, 55, 2, Brand::Mastercard),
    range(2221, 2720, 4, Brand::Mastercard),
    range(34, 34, 2, Brand::Amex),
    range(37, 37, 2, Brand::Amex),
    range(6011, 6011, 4, Brand::Discover),
    range(644, 649, 3, Brand::Discover),
    range(65, 65, 2, Brand::Discover),
    range(3528, 3589, 4, Brand::Jcb),
    range(300, 305, 3, Brand::DinersClub),
    range(36, 36, 2, Brand::DinersClub),
    range(38, 39, 2, Brand::DinersClub),
    range(62, 62, 2, Brand::UnionPay),
    range(50, 50, 2, Brand::Maestro),
    range(56, 58, 2, Brand::Maestro),
    range(5018, 5018, 4, Brand::Maestro),
    range(5020, 5020, 4, Brand::Maestro),
    range(5038, 5038, 4, Brand::Maestro),
    range(5893, 5893, 4, Brand::Maestro),
    range(6304, 6304, 4, Brand::Maestro),
    range(6759, 6759, 4, Brand::Maestro),
    range(6761, 6763, 4, Brand::Maestro),
    range(676770, 676770, 6, Brand::Maestro),
    range(676774, 676774, 6, Brand::Maestro),
];

/// Card numbers of an unknown brand are accepted at any of these lengths (ISO/IEC 7812).
const UNKNOWN_LENGTHS: &[usize] = &[12, 13, 14, 15, 16, 17, 18, 19];
/// The length assumed for an unknown brand when deciding whether the shopper is done typing.
const UNKNOWN_TYPICAL_LENGTH: usize = 16;

/// `10^exp` for the small exponents used here (at most [`PREFIX_WIDTH`]).
const fn pow10(exp: u32) -> u32 {
    10u32.pow(exp)
}

/// The brand of a full [`PREFIX_WIDTH`]-digit prefix (`0..=999_999`): the matching range
/// with the longest `len`.
fn brand_at(prefix: u32) -> Option<Brand> {
    RANGES
        .iter()
        .filter(|r| {
            let leading = prefix / pow10(PREFIX_WIDTH - r.len);
            (r.low..=r.high).contains(&leading)
        })
        .max_by_key(|r| r.len)
        .map(|r| r.brand)
}

/// The range of [`PREFIX_WIDTH`]-digit prefixes that start with the leading digits of
/// `digits`, or `None` if `digits` does not start with a digit.
fn completions(digits: &str) -> Option<RangeInclusive<u32>> {
    let lead: Vec<u32> = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .take(PREFIX_WIDTH as usize)
        .map(|b| u32::from(b - b'0'))
        .collect();
    if lead.is_empty() {
        return None;
    }
    let value = lead.iter().fold(0, |acc, d| acc * 10 + d);
    // `lead.len()` is 1..=PREFIX_WIDTH, so the cast and the subtraction are exact.
    let scale = pow10(PREFIX_WIDTH - lead.len() as u32);
    Some(value * scale..=(value + 1) * scale - 1)
}

impl Brand {
    /// Every brand, for exhaustive tests and UI lists.
    pub const ALL: &'static [Brand] = &[
        Brand::Visa,
        Brand::Mastercard,
        Brand::Amex,
        Brand::Discover,
        Brand::Jcb,
        Brand::DinersClub,
        Brand::UnionPay,
        Brand::Maestro,
    ];

    /// Detects the brand from the leading digits of a (possibly partial) card number.
    ///
    /// Only the leading run of ASCII digits is looked at, so pass [`super::digits_only`]
    /// output. Method: each brand has IIN ranges `(low, high, len)` compared on the first
    /// `len` digits, and the longest matching `len` wins. For partial input the answer is a
    /// brand only when *every* way of completing the typed digits leads to that same brand,
    /// so the UI never shows a logo it later has to take back: `"4"` is Visa, `"34"` Amex,
    /// but `"3"` (Amex, Diners or JCB), `"22"` (only 2221 and up is Mastercard) and `"272"`
    /// (2720 is Mastercard, 2721 is not) are `None`.
    ///
    /// This is computed without enumerating completions: the brand of a 6-digit prefix only
    /// changes at a range boundary, so the typed digits are unambiguous exactly when the
    /// brand at the start of their completion interval equals the brand at every range
    /// boundary inside it.
    pub fn detect(digits: &str) -> Option<Brand> {
        let span = completions(digits)?;
        let brand = brand_at(*span.start())?;
        let boundaries = RANGES.iter().flat_map(|r| {
            let scale = pow10(PREFIX_WIDTH - r.len);
            [r.low * scale, (r.high + 1) * scale]
        });
        for b in boundaries {
            if b > *span.start() && b <= *span.end() && brand_at(b) != Some(brand) {
                return None;
            }
        }
        Some(brand)
    }

    /// The brand's name as shown to shoppers, e.g. `"American Express"`.
    pub fn name(self) -> &'static str {
        match self {
            Brand::Visa => "Visa",
            Brand::Mastercard => "Mastercard",
            Brand::Amex => "American Express",
            Brand::Discover => "Discover",
            Brand::Jcb => "JCB",
            Brand::DinersClub => "Diners Club",
            Brand::UnionPay => "UnionPay",
            Brand::Maestro => "Maestro",
        }
    }

    /// The brand as Stripe spells it in `card.brand`.
    ///
    /// Stripe's list is `amex`, `diners`, `discover`, `eftpos_au`, `jcb`, `mastercard`,
    /// `unionpay`, `visa` and `unknown`; it has no Maestro entry, so Maestro maps to
    /// `"unknown"` rather than guessing which network Stripe will report for such a card.
    pub fn stripe_code(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
            Brand::Jcb => "jcb",
            Brand::DinersClub => "diners",
            Brand::UnionPay => "unionpay",
            Brand::Maestro => "unknown",
        }
    }

    /// The valid card number lengths for this brand, ascending.
    pub fn lengths(self) -> &'static [usize] {
        match self {
            Brand::Visa => &[13, 16, 19],
            Brand::Mastercard => &[16],
            Brand::Amex => &[15],
            Brand::Discover => &[16, 19],
            Brand::Jcb | Brand::UnionPay => &[16, 17, 18, 19],
            Brand::DinersClub => &[14, 16, 19],
            Brand::Maestro => &[12, 13, 14, 15, 16, 17, 18, 19],
        }
    }

    /// The length most cards of this brand have: once a shopper has typed this many digits
    /// a failing checksum is reported as a real error rather than a typo in progress.
    ///
    /// Diners Club is 16 here, but its 36 range is usually 14 digits; prefer
    /// [`typical_length_for`], which looks at the digits.
    pub fn typical_length(self) -> usize {
        match self {
            Brand::Amex => 15,
            _ => 16,
        }
    }

    /// The number of digits in this brand's security code (4 on the front of Amex cards).
    pub fn cvc_length(self) -> usize {
        match self {
            Brand::Amex => 4,
            _ => 3,
        }
    }

    /// The longest valid card number for this brand.
    pub fn max_length(self) -> usize {
        // Every `lengths()` list is non-empty; 19 is the ISO/IEC 7812 maximum.
        self.lengths().last().copied().unwrap_or(19)
    }
}

/// The valid lengths for a (possibly partial) card number: its brand's, or 12..=19 when the
/// brand is not (yet) known.
pub fn lengths_for(digits: &str) -> &'static [usize] {
    Brand::detect(digits).map_or(UNKNOWN_LENGTHS, Brand::lengths)
}

/// The longest valid length for a (possibly partial) card number; 19 when the brand is
/// unknown. Input beyond this is truncated by the formatter and rejected by the parser.
pub fn max_length_for(digits: &str) -> usize {
    lengths_for(digits).last().copied().unwrap_or(19)
}

/// The usual length of a card number starting with `digits`: brand-aware (Diners Club 36 is
/// 14 digits, other Diners 16, Amex 15, …) and 16 when the brand is unknown.
pub fn typical_length_for(digits: &str) -> usize {
    match Brand::detect(digits) {
        Some(Brand::DinersClub) if digits.starts_with("36") => 14,
        Some(brand) => brand.typical_length(),
        None => UNKNOWN_TYPICAL_LENGTH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_single_prefixes() {
        let cases = [
            ("4", Some(Brand::Visa)),
            ("4242", Some(Brand::Visa)),
            ("34", Some(Brand::Amex)),
            ("37", Some(Brand::Amex)),
            ("51", Some(Brand::Mastercard)),
            ("55", Some(Brand::Mastercard)),
            ("2221", Some(Brand::Mastercard)),
            ("2720", Some(Brand::Mastercard)),
            ("6011", Some(Brand::Discover)),
            ("644", Some(Brand::Discover)),
            ("649", Some(Brand::Discover)),
            ("65", Some(Brand::Discover)),
            ("3528", Some(Brand::Jcb)),
            ("3589", Some(Brand::Jcb)),
            ("300", Some(Brand::DinersClub)),
            ("305", Some(Brand::DinersClub)),
            ("36", Some(Brand::DinersClub)),
            ("38", Some(Brand::DinersClub)),
            ("39", Some(Brand::DinersClub)),
            ("62", Some(Brand::UnionPay)),
            ("50", Some(Brand::Maestro)),
            ("56", Some(Brand::Maestro)),
            ("58", Some(Brand::Maestro)),
            ("6304", Some(Brand::Maestro)),
            ("6759", Some(Brand::Maestro)),
            ("6761", Some(Brand::Maestro)),
            ("6763", Some(Brand::Maestro)),
            ("676770", Some(Brand::Maestro)),
            ("676774", Some(Brand::Maestro)),
        ];
        for (digits, expected) in cases {
            assert_eq!(Brand::detect(digits), expected, "{digits}");
        }
    }

    #[test]
    fn ambiguous_or_unassigned_prefixes_are_none() {
        for digits in [
            "", "0", "1", "2", "3", "5", "6", "7", "8", "9", "22", "27", "272", "2220", "2721",
            "30", "306", "35", "352", "3527", "3590", "60", "601", "6010", "6012", "63", "64",
            "643", "67", "675", "676", "6760", "6764", "67677", "676771", "81", "x4",
        ] {
            assert_eq!(Brand::detect(digits), None, "{digits:?}");
        }
    }

    #[test]
    fn only_the_leading_digits_are_considered() {
        assert_eq!(Brand::detect("56x"), Some(Brand::Maestro));
        assert_eq!(Brand::detect("4 242"), Some(Brand::Visa));
        assert_eq!(Brand::detect("3 4"), None);
    }

    #[test]
    fn partial_prefix_is_detected_only_when_all_completions_agree() {
        // 222 covers 2220 (nothing) and 2221..2229 (Mastercard): ambiguous.
        assert_eq!(Brand::detect("222"), None);
        // 223..=271 lie wholly inside 2221..=2720.
        assert_eq!(Brand::detect("223"), Some(Brand::Mastercard));
        assert_eq!(Brand::detect("23"), Some(Brand::Mastercard));
        assert_eq!(Brand::detect("26"), Some(Brand::Mastercard));
        assert_eq!(Brand::detect("271"), Some(Brand::Mastercard));
        // 353..=358 lie wholly inside JCB's 3528..=3589.
        assert_eq!(Brand::detect("353"), Some(Brand::Jcb));
        assert_eq!(Brand::detect("358"), Some(Brand::Jcb));
        // The longest prefix wins and later digits never change the answer.
        assert_eq!(Brand::detect("6011000990139424"), Some(Brand::Discover));
        assert_eq!(Brand::detect("67677012345678"), Some(Brand::Maestro));
    }

    #[test]
    fn longest_prefix_wins_over_shorter_matches() {
        // Build a point covered by a 2-digit and a 4-digit Maestro range and by nothing
        // else, and a Maestro 6-digit range inside an otherwise unassigned 4-digit block.
        assert_eq!(brand_at(501_800), Some(Brand::Maestro));
        assert_eq!(brand_at(676_770), Some(Brand::Maestro));
        assert_eq!(brand_at(676_771), None);
        // No two ranges of different brands with the same length overlap, so the
        // longest-prefix rule never has to break a tie.
        for a in RANGES {
            for b in RANGES {
                if a.brand != b.brand && a.len == b.len {
                    assert!(a.high < b.low || b.high < a.low, "{}..{}", a.low, b.low);
                }
            }
        }
    }

    /// Cross-checks `detect` against brute force over every 6-digit prefix: a prefix of
    /// 1..=5 digits is detected as `b` exactly when all its completions have brand `b`.
    #[test]
    fn detect_matches_brute_force() {
        let table: Vec<Option<Brand>> = (0..1_000_000).map(brand_at).collect();
        for n in 1..=5u32 {
            let block = 10usize.pow(6 - n);
            for prefix in 0..10u32.pow(n) {
                let text = format!("{prefix:0width$}", width = n as usize);
                let slice = &table[prefix as usize * block..(prefix as usize + 1) * block];
                let expected = match slice[0] {
                    Some(b) if slice.iter().all(|x| *x == Some(b)) => Some(b),
                    _ => None,
                };
                assert_eq!(Brand::detect(&text), expected, "{text}");
            }
        }
    }

    #[test]
    fn names_and_stripe_codes() {
        let expected = [
            (Brand::Visa, "Visa", "visa"),
            (Brand::Mastercard, "Mastercard", "mastercard"),
            (Brand::Amex, "American Express", "amex"),
            (Brand::Discover, "Discover", "discover"),
            (Brand::Jcb, "JCB", "jcb"),
            (Brand::DinersClub, "Diners Club", "diners"),
            (Brand::UnionPay, "UnionPay", "unionpay"),
            (Brand::Maestro, "Maestro", "unknown"),
        ];
        assert_eq!(expected.len(), Brand::ALL.len());
        for (brand, name, code) in expected {
            assert_eq!(brand.name(), name);
            assert_eq!(brand.stripe_code(), code);
        }
    }

    #[test]
    fn lengths_typical_and_cvc() {
        assert_eq!(Brand::Visa.lengths(), &[13, 16, 19]);
        assert_eq!(Brand::Mastercard.lengths(), &[16]);
        assert_eq!(Brand::Amex.lengths(), &[15]);
        assert_eq!(Brand::Discover.lengths(), &[16, 19]);
        assert_eq!(Brand::Jcb.lengths(), &[16, 17, 18, 19]);
        assert_eq!(Brand::DinersClub.lengths(), &[14, 16, 19]);
        assert_eq!(Brand::UnionPay.lengths(), &[16, 17, 18, 19]);
        assert_eq!(
            Brand::Maestro.lengths(),
            (12..=19).collect::<Vec<_>>().as_slice()
        );
        for &brand in Brand::ALL {
            let lengths = brand.lengths();
            assert!(lengths.windows(2).all(|w| w[0] < w[1]), "{brand:?}");
            assert!(lengths.contains(&brand.typical_length()), "{brand:?}");
            assert_eq!(brand.max_length(), *lengths.last().unwrap());
            let cvc = if brand == Brand::Amex { 4 } else { 3 };
            assert_eq!(brand.cvc_length(), cvc);
        }
        assert_eq!(Brand::Amex.typical_length(), 15);
        assert_eq!(Brand::Visa.typical_length(), 16);
    }

    #[test]
    fn typical_length_for_looks_at_the_prefix() {
        assert_eq!(typical_length_for("36227206271667"), 14);
        assert_eq!(typical_length_for("36"), 14);
        assert_eq!(typical_length_for("3056930009020004"), 16);
        assert_eq!(typical_length_for("38"), 16);
        assert_eq!(typical_length_for("378282246310005"), 15);
        assert_eq!(typical_length_for("4242"), 16);
        assert_eq!(typical_length_for(""), 16);
        assert_eq!(typical_length_for("3"), 16);
        assert_eq!(typical_length_for("99"), 16);
    }

    #[test]
    fn lengths_for_unknown_brand() {
        assert_eq!(lengths_for("9"), UNKNOWN_LENGTHS);
        assert_eq!(max_length_for("9"), 19);
        assert_eq!(max_length_for(""), 19);
        assert_eq!(max_length_for("34"), 15);
        assert_eq!(max_length_for("55"), 16);
        assert_eq!(max_length_for("36"), 19);
    }
}
