//! The checkout's texts in every language: the translators' files (`locales/<tag>.json`, one
//! flat JSON object each) built into the host, read once, and a test that fails when a language
//! lacks a key of English's or a text's placeholders differ from English's.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use paywidget_core::lang::{fill, Lang};

/// A language's file as the translator wrote it.
pub fn source(lang: Lang) -> &'static str {
    match lang {
        Lang::En => include_str!("../../../../locales/en.json"),
        Lang::De => include_str!("../../../../locales/de.json"),
        Lang::Fr => include_str!("../../../../locales/fr.json"),
        Lang::Es => include_str!("../../../../locales/es.json"),
        Lang::It => include_str!("../../../../locales/it.json"),
        Lang::Nl => include_str!("../../../../locales/nl.json"),
        Lang::PtBr => include_str!("../../../../locales/pt-BR.json"),
        Lang::Pl => include_str!("../../../../locales/pl.json"),
        Lang::Sv => include_str!("../../../../locales/sv.json"),
        Lang::Ja => include_str!("../../../../locales/ja.json"),
        Lang::Ar => include_str!("../../../../locales/ar.json"),
        Lang::He => include_str!("../../../../locales/he.json"),
    }
}

/// The texts the checkout form uses in `lang`, as a JSON object: the file without the
/// confirmation page's (`thanks_*`, rendered by the host), so the form page carries no more
/// than it shows.
pub fn form_texts(lang: Lang) -> String {
    let texts: BTreeMap<&String, &String> = catalogues()
        .get(&lang)
        .map(|c| {
            c.iter()
                .filter(|(k, _)| !k.starts_with("thanks_"))
                .collect()
        })
        .unwrap_or_default();
    serde_json::to_string(&texts).unwrap_or_else(|_| "{}".to_owned())
}

/// Every language's texts, parsed once.
fn catalogues() -> &'static BTreeMap<Lang, BTreeMap<String, String>> {
    static ALL: OnceLock<BTreeMap<Lang, BTreeMap<String, String>>> = OnceLock::new();
    ALL.get_or_init(|| {
        Lang::ALL
            .into_iter()
            .map(|l| {
                // A file that does not parse fails the catalogue test; a host built from it
                // shows English rather than keys.
                let texts = serde_json::from_str(source(l)).unwrap_or_default();
                (l, texts)
            })
            .collect()
    })
}

/// The text `key` in `lang` (English where the language lacks it; the key itself if English
/// does, which the catalogue test forbids).
pub fn t(lang: Lang, key: &str) -> String {
    let all = catalogues();
    all.get(&lang)
        .and_then(|c| c.get(key))
        .or_else(|| all.get(&Lang::En).and_then(|c| c.get(key)))
        .cloned()
        .unwrap_or_else(|| key.to_owned())
}

/// [`t`] with its `{placeholders}` filled.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    fill(&t(lang, key), args)
}

/// A counted text, `{n}` filled: `base_<category>` for `n` in `lang`, else `base_other`.
pub fn tn(lang: Lang, base: &str, n: u64) -> String {
    let all = catalogues();
    let key = format!("{base}_{}", lang.plural(n));
    let text = all
        .get(&lang)
        .and_then(|c| c.get(&key))
        .cloned()
        .unwrap_or_else(|| t(lang, &format!("{base}_other")));
    fill(&text, &[("n", &n.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use paywidget_core::lang::placeholders;

    #[test]
    fn every_language_has_every_key_with_englishs_placeholders() {
        let english: BTreeMap<String, String> = serde_json::from_str(source(Lang::En)).unwrap();
        assert!(english.len() > 40, "English is the source of every key");
        let mut problems = Vec::new();
        for lang in Lang::ALL {
            let texts: BTreeMap<String, String> = match serde_json::from_str(source(lang)) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!(
                        "{}: not a flat JSON object of texts: {e}",
                        lang.tag()
                    ));
                    continue;
                }
            };
            for (key, en) in &english {
                match texts.get(key) {
                    None => problems.push(format!("{}: missing {key}", lang.tag())),
                    Some(text) if placeholders(text) != placeholders(en) => problems.push(format!(
                        "{}: {key} has {:?}, English {:?}",
                        lang.tag(),
                        placeholders(text),
                        placeholders(en)
                    )),
                    Some(text) if text.trim().is_empty() => {
                        problems.push(format!("{}: {key} is empty", lang.tag()))
                    }
                    Some(_) => {}
                }
            }
            // A counted text may have more plural forms than English's (`_few`, `_many`, …):
            // beside English's `_other`, with its placeholders.
            for key in texts.keys().filter(|k| !english.contains_key(*k)) {
                let plural_of = key.rsplit_once('_').and_then(|(base, category)| {
                    paywidget_core::lang::PLURAL_CATEGORIES
                        .contains(&category)
                        .then(|| english.get(&format!("{base}_other")))
                        .flatten()
                });
                match plural_of {
                    Some(en) if placeholders(&texts[key]) == placeholders(en) => {}
                    Some(en) => problems.push(format!(
                        "{}: {key} has {:?}, English {:?}",
                        lang.tag(),
                        placeholders(&texts[key]),
                        placeholders(en)
                    )),
                    None => problems.push(format!("{}: {key} is not English's", lang.tag())),
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn a_text_comes_in_its_language_with_english_behind_it() {
        assert_eq!(
            tf(Lang::En, "donate_amount", &[("amount", "25.00 USD")]),
            "Donate 25.00 USD"
        );
        assert_ne!(t(Lang::De, "donate"), t(Lang::En, "donate"));
        assert_eq!(t(Lang::Ja, "no_such_key"), "no_such_key");
    }
}
