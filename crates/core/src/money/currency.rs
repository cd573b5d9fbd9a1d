//! ISO 4217 currencies the checkout supports, with their minor units.

use std::fmt;
use std::str::FromStr;

use super::MoneyError;

/// Declares [`Currency`] and its lookup tables from one list, so that a variant can never be
/// missing from `ALL` or from one of the `match`es.
macro_rules! currencies {
    ($($variant:ident => $code:literal, $stripe:literal, $minor:literal, $name:literal;)*) => {
        /// An ISO 4217 currency.
        ///
        /// The list covers the 30 most traded currencies, the three-decimal ones (BHD, IQD,
        /// JOD, KWD, LYD, OMR, TND) and the common zero-decimal ones (JPY, KRW, CLP, ISK,
        /// VND, UGX, …).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Currency {
            $(
                #[doc = concat!($name, " (", $code, ").")]
                $variant,
            )*
        }

        impl Currency {
            /// Every supported currency.
            pub const ALL: &'static [Currency] = &[$(Currency::$variant),*];

            /// The ISO 4217 code, e.g. `"USD"`.
            pub fn code(self) -> &'static str {
                match self {
                    $(Currency::$variant => $code,)*
                }
            }

            /// The lowercase code, as Stripe's API spells currencies (`"usd"`).
            pub fn stripe_code(self) -> &'static str {
                match self {
                    $(Currency::$variant => $stripe,)*
                }
            }

            /// The ISO 4217 exponent: how many decimal places the currency's minor unit has
            /// (2 for USD cents, 0 for JPY, 3 for KWD fils).
            ///
            /// This is the ISO value. Stripe's API deviates for a few currencies (for
            /// example ISK amounts are sent with two decimals); converting to Stripe's
            /// amount representation is the server's job.
            pub fn minor_units(self) -> u8 {
                match self {
                    $(Currency::$variant => $minor,)*
                }
            }

            /// The currency's English name, e.g. `"US dollar"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Currency::$variant => $name,)*
                }
            }
        }
    };
}

currencies! {
    Usd => "USD", "usd", 2, "US dollar";
    Eur => "EUR", "eur", 2, "Euro";
    Jpy => "JPY", "jpy", 0, "Japanese yen";
    Gbp => "GBP", "gbp", 2, "Pound sterling";
    Cny => "CNY", "cny", 2, "Chinese yuan";
    Aud => "AUD", "aud", 2, "Australian dollar";
    Cad => "CAD", "cad", 2, "Canadian dollar";
    Chf => "CHF", "chf", 2, "Swiss franc";
    Hkd => "HKD", "hkd", 2, "Hong Kong dollar";
    Sgd => "SGD", "sgd", 2, "Singapore dollar";
    Sek => "SEK", "sek", 2, "Swedish krona";
    Krw => "KRW", "krw", 0, "South Korean won";
    Nok => "NOK", "nok", 2, "Norwegian krone";
    Nzd => "NZD", "nzd", 2, "New Zealand dollar";
    Inr => "INR", "inr", 2, "Indian rupee";
    Mxn => "MXN", "mxn", 2, "Mexican peso";
    Twd => "TWD", "twd", 2, "New Taiwan dollar";
    Zar => "ZAR", "zar", 2, "South African rand";
    Brl => "BRL", "brl", 2, "Brazilian real";
    Dkk => "DKK", "dkk", 2, "Danish krone";
    Pln => "PLN", "pln", 2, "Polish złoty";
    Thb => "THB", "thb", 2, "Thai baht";
    Ils => "ILS", "ils", 2, "Israeli new shekel";
    Idr => "IDR", "idr", 2, "Indonesian rupiah";
    Czk => "CZK", "czk", 2, "Czech koruna";
    Aed => "AED", "aed", 2, "UAE dirham";
    Try => "TRY", "try", 2, "Turkish lira";
    Huf => "HUF", "huf", 2, "Hungarian forint";
    Clp => "CLP", "clp", 0, "Chilean peso";
    Sar => "SAR", "sar", 2, "Saudi riyal";
    Php => "PHP", "php", 2, "Philippine peso";
    Myr => "MYR", "myr", 2, "Malaysian ringgit";
    Cop => "COP", "cop", 2, "Colombian peso";
    Rub => "RUB", "rub", 2, "Russian ruble";
    Ron => "RON", "ron", 2, "Romanian leu";
    Pen => "PEN", "pen", 2, "Peruvian sol";
    Ars => "ARS", "ars", 2, "Argentine peso";
    Egp => "EGP", "egp", 2, "Egyptian pound";
    Ngn => "NGN", "ngn", 2, "Nigerian naira";
    Pkr => "PKR", "pkr", 2, "Pakistani rupee";
    Kes => "KES", "kes", 2, "Kenyan shilling";
    Qar => "QAR", "qar", 2, "Qatari riyal";
    Bhd => "BHD", "bhd", 3, "Bahraini dinar";
    Iqd => "IQD", "iqd", 3, "Iraqi dinar";
    Jod => "JOD", "jod", 3, "Jordanian dinar";
    Kwd => "KWD", "kwd", 3, "Kuwaiti dinar";
    Lyd => "LYD", "lyd", 3, "Libyan dinar";
    Omr => "OMR", "omr", 3, "Omani rial";
    Tnd => "TND", "tnd", 3, "Tunisian dinar";
    Isk => "ISK", "isk", 0, "Icelandic króna";
    Vnd => "VND", "vnd", 0, "Vietnamese đồng";
    Ugx => "UGX", "ugx", 0, "Ugandan shilling";
    Pyg => "PYG", "pyg", 0, "Paraguayan guaraní";
    Bif => "BIF", "bif", 0, "Burundian franc";
    Djf => "DJF", "djf", 0, "Djiboutian franc";
    Gnf => "GNF", "gnf", 0, "Guinean franc";
    Kmf => "KMF", "kmf", 0, "Comorian franc";
    Rwf => "RWF", "rwf", 0, "Rwandan franc";
    Vuv => "VUV", "vuv", 0, "Vanuatu vatu";
    Xaf => "XAF", "xaf", 0, "Central African CFA franc";
    Xof => "XOF", "xof", 0, "West African CFA franc";
    Xpf => "XPF", "xpf", 0, "CFP franc";
}

impl Currency {
    /// Looks up a currency by its ISO code, ignoring ASCII case and surrounding whitespace
    /// (Stripe sends `"usd"`).
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        let trimmed = code.trim();
        Currency::ALL
            .iter()
            .copied()
            .find(|c| c.code().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| MoneyError::UnknownCurrency(trimmed.to_string()))
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    /// Same as [`Currency::from_code`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl fmt::Display for Currency {
    /// The ISO code, e.g. `USD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_minor_units() {
        assert_eq!(Currency::Usd.code(), "USD");
        assert_eq!(Currency::Usd.minor_units(), 2);
        assert_eq!(Currency::Jpy.minor_units(), 0);
        assert_eq!(Currency::Kwd.minor_units(), 3);
        assert_eq!(Currency::Usd.name(), "US dollar");
        for c in [
            Currency::Bhd,
            Currency::Iqd,
            Currency::Jod,
            Currency::Kwd,
            Currency::Lyd,
            Currency::Omr,
            Currency::Tnd,
        ] {
            assert_eq!(c.minor_units(), 3, "{c}");
        }
        for c in [
            Currency::Jpy,
            Currency::Krw,
            Currency::Clp,
            Currency::Isk,
            Currency::Vnd,
            Currency::Ugx,
            Currency::Pyg,
            Currency::Xaf,
            Currency::Xof,
        ] {
            assert_eq!(c.minor_units(), 0, "{c}");
        }
    }

    #[test]
    fn table_is_consistent() {
        assert!(Currency::ALL.len() >= 40);
        for (i, c) in Currency::ALL.iter().enumerate() {
            assert_eq!(c.code().len(), 3);
            assert!(c.code().bytes().all(|b| b.is_ascii_uppercase()), "{c}");
            assert_eq!(c.stripe_code(), c.code().to_ascii_lowercase());
            assert!(c.minor_units() <= 3);
            assert_eq!(Currency::from_code(c.code()), Ok(*c));
            assert_eq!(Currency::from_code(c.stripe_code()), Ok(*c));
            // Codes are unique and `ALL` follows declaration (and so `Ord`) order.
            for other in &Currency::ALL[i + 1..] {
                assert_ne!(c.code(), other.code());
                assert!(c < other);
            }
        }
    }

    #[test]
    fn from_code_is_case_insensitive_and_rejects_unknown() {
        assert_eq!(Currency::from_code("usd"), Ok(Currency::Usd));
        assert_eq!(Currency::from_code("Eur"), Ok(Currency::Eur));
        assert_eq!(Currency::from_code(" jpy "), Ok(Currency::Jpy));
        assert_eq!("gbp".parse::<Currency>(), Ok(Currency::Gbp));
        assert_eq!(
            Currency::from_code("XYZ"),
            Err(MoneyError::UnknownCurrency("XYZ".into()))
        );
        assert_eq!(
            Currency::from_code(""),
            Err(MoneyError::UnknownCurrency(String::new()))
        );
        assert_eq!(
            Currency::from_code("usdx"),
            Err(MoneyError::UnknownCurrency("usdx".into()))
        );
    }

    #[test]
    fn display_is_the_code() {
        assert_eq!(Currency::Chf.to_string(), "CHF");
        assert_eq!(format!("{}", Currency::Try), "TRY");
    }
}
