//! Money as people of a locale write it (`$1,234.56`, `1.234,56 €`, `1 234,56 €`): a small,
//! tested subset of CLDR's currency patterns for the locales a merchant can choose. Formatting
//! only; amounts still travel as integer minor units.

use super::{Amount, Currency};

/// The no-break space CLDR puts between a number and its symbol.
const NBSP: char = '\u{a0}';
/// The narrow no-break space French groups thousands with.
const NNBSP: char = '\u{202f}';

/// A locale a merchant's dashboard, mails and reports can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English (United States).
    EnUs,
    /// English (United Kingdom).
    EnGb,
    /// English (Canada).
    EnCa,
    /// English (Australia).
    EnAu,
    /// German (Germany).
    DeDe,
    /// French (France).
    FrFr,
    /// Spanish (Spain).
    EsEs,
    /// Italian (Italy).
    ItIt,
    /// Dutch (Netherlands).
    NlNl,
    /// Portuguese (Brazil).
    PtBr,
    /// Swedish (Sweden).
    SvSe,
    /// Japanese (Japan).
    JaJp,
}

/// Where the symbol goes.
#[derive(Clone, Copy)]
enum Place {
    /// `$1.00`
    Before,
    /// `€ 1,00`
    BeforeSpaced,
    /// `1,00 €`
    AfterSpaced,
}

impl Locale {
    /// Every locale, for lists and tests.
    pub const ALL: [Locale; 12] = [
        Locale::EnUs,
        Locale::EnGb,
        Locale::EnCa,
        Locale::EnAu,
        Locale::DeDe,
        Locale::FrFr,
        Locale::EsEs,
        Locale::ItIt,
        Locale::NlNl,
        Locale::PtBr,
        Locale::SvSe,
        Locale::JaJp,
    ];

    /// Its BCP 47 tag, e.g. `en-US`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::EnUs => "en-US",
            Locale::EnGb => "en-GB",
            Locale::EnCa => "en-CA",
            Locale::EnAu => "en-AU",
            Locale::DeDe => "de-DE",
            Locale::FrFr => "fr-FR",
            Locale::EsEs => "es-ES",
            Locale::ItIt => "it-IT",
            Locale::NlNl => "nl-NL",
            Locale::PtBr => "pt-BR",
            Locale::SvSe => "sv-SE",
            Locale::JaJp => "ja-JP",
        }
    }

    /// From a tag, in any case, with `-` or `_` (`de-DE`, `de_de`).
    pub fn parse(tag: &str) -> Option<Locale> {
        let wanted = tag.trim().replace('_', "-");
        Locale::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(&wanted))
    }

    /// (decimal separator, grouping separator, smallest number of digits that gets grouped).
    fn separators(self) -> (char, char, usize) {
        match self {
            Locale::EnUs | Locale::EnGb | Locale::EnCa | Locale::EnAu | Locale::JaJp => {
                ('.', ',', 4)
            }
            Locale::DeDe | Locale::ItIt | Locale::NlNl | Locale::PtBr => (',', '.', 4),
            // Spanish groups from five digits on (CLDR's minimumGroupingDigits = 2).
            Locale::EsEs => (',', '.', 5),
            Locale::FrFr => (',', NNBSP, 4),
            Locale::SvSe => (',', NBSP, 4),
        }
    }

    fn place(self) -> Place {
        match self {
            Locale::EnUs | Locale::EnGb | Locale::EnCa | Locale::EnAu | Locale::JaJp => {
                Place::Before
            }
            Locale::NlNl | Locale::PtBr => Place::BeforeSpaced,
            Locale::DeDe | Locale::FrFr | Locale::EsEs | Locale::ItIt | Locale::SvSe => {
                Place::AfterSpaced
            }
        }
    }

    /// The symbol this locale writes for `currency` (CLDR's; the ISO code when it has none).
    pub fn symbol(self, currency: Currency) -> String {
        use Currency::*;
        let s = match (currency, self) {
            (Usd, Locale::EnUs | Locale::DeDe | Locale::EsEs | Locale::ItIt | Locale::JaJp) => "$",
            (Usd, Locale::EnCa | Locale::EnAu) => "US$",
            (Usd, Locale::FrFr) => "$US",
            (Usd, _) => "US$",
            (Eur, _) => "€",
            (Gbp, Locale::FrFr) => "£GB",
            (Gbp, _) => "£",
            (Cad, Locale::EnCa) => "$",
            (Cad, Locale::FrFr) => "$CA",
            (Cad, _) => "CA$",
            (Aud, Locale::EnAu) => "$",
            (Aud, Locale::FrFr) => "$AU",
            (Aud, _) => "A$",
            (Jpy, Locale::JaJp) => "￥",
            (Jpy, Locale::EnUs | Locale::EnGb | Locale::EnCa | Locale::EnAu | Locale::DeDe) => "¥",
            (Jpy, Locale::FrFr) => "JPY",
            (Jpy, _) => "JP¥",
            (Brl, _) => "R$",
            (Sek, Locale::SvSe) => "kr",
            (Chf, _) => "CHF",
            (other, _) => other.code(),
        };
        s.to_owned()
    }

    /// `amount` as this locale writes it: `$1,234.56` (en-US), `1.234,56 €` (de-DE),
    /// `1 234,56 €` (fr-FR), `€ 1.234,56` (nl-NL), `￥1,235` (ja-JP).
    pub fn format(self, amount: Amount) -> String {
        let (decimal, group, min_grouped) = self.separators();
        let plain = amount.format_plain();
        let (negative, digits) = match plain.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, plain.as_str()),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let mut number = String::new();
        if whole.len() >= min_grouped {
            for (i, c) in whole.chars().enumerate() {
                if i > 0 && (whole.len() - i) % 3 == 0 {
                    number.push(group);
                }
                number.push(c);
            }
        } else {
            number.push_str(whole);
        }
        if !frac.is_empty() {
            number.push(decimal);
            number.push_str(frac);
        }
        let symbol = self.symbol(amount.currency());
        let sign = if negative { "-" } else { "" };
        // A symbol of letters (an ISO code, `CHF`) is spaced from the number even in
        // symbol-first locales, as CLDR's "currencySpacing" asks.
        let letters = symbol.chars().last().is_some_and(char::is_alphabetic);
        match self.place() {
            Place::Before if letters => format!("{sign}{symbol}{NBSP}{number}"),
            Place::Before => format!("{sign}{symbol}{number}"),
            Place::BeforeSpaced => format!("{symbol}{NBSP}{sign}{number}"),
            Place::AfterSpaced => format!("{sign}{number}{NBSP}{symbol}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(locale: &str, minor: i64, currency: Currency) -> String {
        Locale::parse(locale)
            .unwrap()
            .format(Amount::from_minor(minor, currency))
            .replace([NBSP, NNBSP], " ")
    }

    #[test]
    fn as_each_locale_writes_it() {
        use Currency::*;
        assert_eq!(f("en-US", 123_456, Usd), "$1,234.56");
        assert_eq!(f("en-US", 123_456, Eur), "€1,234.56");
        assert_eq!(f("en-US", 123_456, Cad), "CA$1,234.56");
        assert_eq!(f("en-US", 123_456, Chf), "CHF 1,234.56");
        assert_eq!(f("en-GB", 123_456, Gbp), "£1,234.56");
        assert_eq!(f("en-GB", 123_456, Usd), "US$1,234.56");
        assert_eq!(f("en-CA", 999, Cad), "$9.99");
        assert_eq!(f("de-DE", 123_456, Eur), "1.234,56 €");
        assert_eq!(f("de-DE", 123_456, Usd), "1.234,56 $");
        assert_eq!(f("fr-FR", 123_456, Eur), "1 234,56 €");
        assert_eq!(f("fr-FR", 123_456, Usd), "1 234,56 $US");
        assert_eq!(f("es-ES", 123_456, Eur), "1234,56 €");
        assert_eq!(f("es-ES", 1_234_567, Eur), "12.345,67 €");
        assert_eq!(f("it-IT", 123_456, Eur), "1.234,56 €");
        assert_eq!(f("nl-NL", 123_456, Eur), "€ 1.234,56");
        assert_eq!(f("nl-NL", -500, Eur), "€ -5,00");
        assert_eq!(f("pt-BR", 123_456, Brl), "R$ 1.234,56");
        assert_eq!(f("sv-SE", 123_456, Sek), "1 234,56 kr");
        assert_eq!(f("ja-JP", 1235, Jpy), "￥1,235");
        assert_eq!(f("en-US", -1050, Usd), "-$10.50");
        assert_eq!(f("en-US", 0, Usd), "$0.00");
        assert_eq!(f("en-US", 100_000_000, Usd), "$1,000,000.00");
    }

    #[test]
    fn tags_parse_in_any_case_and_round_trip() {
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.tag()), Some(l));
            assert_eq!(
                Locale::parse(&l.tag().to_lowercase().replace('-', "_")),
                Some(l)
            );
        }
        assert_eq!(Locale::parse("xx-YY"), None);
        assert_eq!(Locale::parse(""), None);
    }
}
