//! The checkout's languages: which one a person reads (their request, then their browser's
//! languages, then the merchant's default), and which way it is written. Translators edit one
//! JSON file per language in `locales/`; the host inlines the chosen one into the page.

/// A language the checkout's texts are translated into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Italian.
    It,
    /// Dutch.
    Nl,
    /// Portuguese (Brazil).
    PtBr,
    /// Polish.
    Pl,
    /// Swedish.
    Sv,
    /// Japanese.
    Ja,
    /// Arabic (right to left).
    Ar,
    /// Hebrew (right to left).
    He,
}

impl Lang {
    /// Every language, English (the source) first.
    pub const ALL: [Lang; 12] = [
        Lang::En,
        Lang::De,
        Lang::Fr,
        Lang::Es,
        Lang::It,
        Lang::Nl,
        Lang::PtBr,
        Lang::Pl,
        Lang::Sv,
        Lang::Ja,
        Lang::Ar,
        Lang::He,
    ];

    /// Its BCP 47 tag, as `<html lang>` and the file name (`locales/<tag>.json`) say it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
            Lang::Es => "es",
            Lang::It => "it",
            Lang::Nl => "nl",
            Lang::PtBr => "pt-BR",
            Lang::Pl => "pl",
            Lang::Sv => "sv",
            Lang::Ja => "ja",
            Lang::Ar => "ar",
            Lang::He => "he",
        }
    }

    /// Whether it is written right to left.
    pub fn is_rtl(self) -> bool {
        matches!(self, Lang::Ar | Lang::He)
    }

    /// `<html dir>`.
    pub fn dir(self) -> &'static str {
        if self.is_rtl() {
            "rtl"
        } else {
            "ltr"
        }
    }

    /// The language of a tag by its primary subtag (`de-AT` → German, `pt` → Portuguese
    /// (Brazil), `iw` → Hebrew), case-insensitive; `None` for one without a translation.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        if primary.len() > 3 {
            return None;
        }
        let primary = primary.to_ascii_lowercase();
        Some(match primary.as_str() {
            "en" => Lang::En,
            "de" => Lang::De,
            "fr" => Lang::Fr,
            "es" => Lang::Es,
            "it" => Lang::It,
            "nl" => Lang::Nl,
            "pt" => Lang::PtBr,
            "pl" => Lang::Pl,
            "sv" => Lang::Sv,
            "ja" => Lang::Ja,
            "ar" => Lang::Ar,
            "he" | "iw" => Lang::He,
            _ => return None,
        })
    }

    /// The reader's language: `requested` (`?locale=`, the snippet's `data-locale`) when
    /// translated, else the first translated one of `languages` (`Accept-Language`, in the
    /// browser's order), else `default` (the merchant's).
    pub fn choose<'a>(
        requested: Option<&str>,
        languages: impl IntoIterator<Item = &'a str>,
        default: Lang,
    ) -> Lang {
        requested
            .and_then(Lang::parse)
            .or_else(|| languages.into_iter().find_map(Lang::parse))
            .unwrap_or(default)
    }
}

impl Lang {
    /// The CLDR plural category of the whole number `n` in this language (cardinal): the
    /// suffix of a counted text's key (`seats_one`, `seats_few`, … with `_other` for the rest).
    pub fn plural(self, n: u64) -> &'static str {
        let (m10, m100) = (n % 10, n % 100);
        match self {
            Lang::Ja => "other",
            Lang::Fr | Lang::PtBr if n <= 1 => "one",
            Lang::Fr | Lang::PtBr => "other",
            Lang::Pl if n == 1 => "one",
            Lang::Pl if (2..=4).contains(&m10) && !(12..=14).contains(&m100) => "few",
            Lang::Pl => "many",
            Lang::Ar => match n {
                0 => "zero",
                1 => "one",
                2 => "two",
                _ if (3..=10).contains(&m100) => "few",
                _ if (11..=99).contains(&m100) => "many",
                _ => "other",
            },
            Lang::He if n == 1 => "one",
            Lang::He if n == 2 => "two",
            _ if n == 1 => "one",
            _ => "other",
        }
    }
}

/// The plural categories a counted text's key may end with (`_other` is required).
pub const PLURAL_CATEGORIES: [&str; 6] = ["zero", "one", "two", "few", "many", "other"];

/// The language tags of an `Accept-Language` header in its order (browsers list them by
/// preference; the weights are not needed), at most 10, each at most 35 characters.
pub fn accepted(header: &str) -> impl Iterator<Item = &str> {
    header
        .split(',')
        .filter_map(|part| part.split(';').next())
        .map(str::trim)
        .filter(|tag| !tag.is_empty() && tag.len() <= 35)
        .take(10)
}

/// `template` with each `{name}` replaced by its value in `args` (a translator's placeholder).
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in args {
        out = out.replace(&["{", name, "}"].concat(), value);
    }
    out
}

/// The `{placeholders}` of a text, sorted (the catalogue test compares them across languages).
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = text
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_gets_their_request_then_their_browser_then_the_merchants() {
        let pick = |r: Option<&str>, l: &[&str]| Lang::choose(r, l.iter().copied(), Lang::De);
        assert_eq!(pick(Some("ar"), &["ja-JP"]), Lang::Ar);
        assert_eq!(pick(Some("xx"), &["ja-JP"]), Lang::Ja);
        assert_eq!(pick(None, &["ko-KR", "he-IL", "en"]), Lang::He);
        assert_eq!(pick(None, &["pt-PT"]), Lang::PtBr);
        assert_eq!(pick(None, &["ko"]), Lang::De);
        assert_eq!(pick(Some("EN-gb"), &[]), Lang::En);
        assert_eq!(pick(Some("english"), &[]), Lang::De);
        for l in Lang::ALL {
            assert_eq!(Lang::parse(l.tag()), Some(l));
        }
        assert!(Lang::Ar.is_rtl() && Lang::He.is_rtl() && !Lang::Ja.is_rtl());
    }

    #[test]
    fn counts_take_their_languages_plural_forms() {
        let forms = |l: Lang| [0, 1, 2, 3, 5, 11, 12, 22, 25, 100, 101].map(|n| l.plural(n));
        assert_eq!(
            forms(Lang::En),
            [
                "other", "one", "other", "other", "other", "other", "other", "other", "other",
                "other", "other"
            ]
        );
        assert_eq!(
            forms(Lang::Pl),
            ["many", "one", "few", "few", "many", "many", "many", "few", "many", "many", "many"]
        );
        assert_eq!(
            forms(Lang::Ar),
            [
                "zero", "one", "two", "few", "few", "many", "many", "many", "many", "other",
                "other"
            ]
        );
        assert_eq!(Lang::Fr.plural(0), "one");
        assert_eq!(Lang::He.plural(2), "two");
        assert!(Lang::ALL
            .iter()
            .all(|l| (0..200).all(|n| PLURAL_CATEGORIES.contains(&l.plural(n)))));
    }

    #[test]
    fn an_accept_language_header_gives_its_tags_in_order() {
        let tags: Vec<&str> = accepted("ja-JP,ja;q=0.9, en;q=0.8,,*").collect();
        assert_eq!(tags, vec!["ja-JP", "ja", "en", "*"]);
        assert_eq!(accepted(&"x,".repeat(100)).count(), 10);
        assert_eq!(
            Lang::choose(None, accepted("ko, he-IL;q=0.5"), Lang::En),
            Lang::He
        );
    }

    #[test]
    fn placeholders_are_filled_and_listed() {
        assert_eq!(
            fill("Donate {amount}", &[("amount", "25 €")]),
            "Donate 25 €"
        );
        assert_eq!(placeholders("{b} and {a} {b"), vec!["a", "b"]);
        assert!(placeholders("none").is_empty());
    }
}
