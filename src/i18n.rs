//! The form's texts in the reader's language. The host writes that language's file (the
//! translators' `locales/<tag>.json`, only that one) into the page as
//! `<script type="application/json" id="pw-strings">`; the form looks each word up there, so
//! every language costs the wasm nothing.

#[cfg(target_arch = "wasm32")]
use std::cell::RefCell;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::JsValue;

#[cfg(target_arch = "wasm32")]
thread_local! {
    /// The texts, read from the page once (`None` until then).
    static TEXTS: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// Reads the page's texts (once).
#[cfg(target_arch = "wasm32")]
fn texts() -> JsValue {
    TEXTS.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| {
                web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id("pw-strings"))
                    .and_then(|e| e.text_content())
                    .and_then(|text| js_sys::JSON::parse(&text).ok())
                    .unwrap_or(JsValue::NULL)
            })
            .clone()
    })
}

/// Uses `json` (a translators' file) as the texts: for tests and pages the host did not write.
#[cfg(target_arch = "wasm32")]
pub fn install(json: &str) {
    let parsed = js_sys::JSON::parse(json).unwrap_or(JsValue::NULL);
    TEXTS.with(|cell| *cell.borrow_mut() = Some(parsed));
}

/// Natively the texts are always English's file: nothing to install.
#[cfg(not(target_arch = "wasm32"))]
pub fn install(_json: &str) {}

/// The text `key` from the page's texts.
#[cfg(target_arch = "wasm32")]
fn lookup(key: &str) -> Option<String> {
    let all = texts();
    if !all.is_object() {
        return None;
    }
    js_sys::Reflect::get(&all, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
}

/// Natively (the plain logic's unit tests) the texts are English's file.
#[cfg(not(target_arch = "wasm32"))]
fn lookup(key: &str) -> Option<String> {
    static ENGLISH: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    ENGLISH
        .get_or_init(|| {
            serde_json::from_str(include_str!("../locales/en.json")).unwrap_or_default()
        })
        .get(key)
        .cloned()
}

/// The text `key` (the key itself when the page has none: a test then fails on it).
pub fn t(key: &str) -> String {
    lookup(key).unwrap_or_else(|| key.to_owned())
}

/// [`t`] with its `{placeholders}` filled.
pub fn tf(key: &str, args: &[(&str, &str)]) -> String {
    paywidget_core::lang::fill(&t(key), args)
}

/// A counted text, `{n}` filled: `base_<category>` by the page's language's plural rules
/// (`<html lang>`, set by the host), else `base_other`.
pub fn tn(base: &str, n: u64) -> String {
    #[cfg(not(target_arch = "wasm32"))]
    let lang = paywidget_core::lang::Lang::En;
    #[cfg(target_arch = "wasm32")]
    let lang = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|e| e.get_attribute("lang"))
        .and_then(|tag| paywidget_core::lang::Lang::parse(&tag))
        .unwrap_or(paywidget_core::lang::Lang::En);
    let key = [base, "_", lang.plural(n)].concat();
    let mut text = t(&key);
    if text == key {
        text = t(&[base, "_other"].concat());
    }
    paywidget_core::lang::fill(&text, &[("n", &n.to_string())])
}

#[cfg(test)]
mod tests {
    use paywidget_core::bank::IbanError;
    use paywidget_core::card::{CvcError, ExpiryError, NumberError};
    use paywidget_core::money::{Currency, MoneyError};

    use super::*;

    #[test]
    fn every_field_error_has_its_text_and_english_says_what_core_says() {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for e in [
            NumberError::Empty,
            NumberError::InvalidCharacter,
            NumberError::Incomplete,
            NumberError::Invalid { final_: true },
            NumberError::TooLong,
        ] {
            pairs.push((t(e.key()), e.to_string()));
        }
        for e in [
            CvcError::Empty,
            CvcError::Incomplete,
            CvcError::InvalidCharacter,
            CvcError::TooLong,
        ] {
            pairs.push((t(e.key()), e.to_string()));
        }
        for e in [
            ExpiryError::Empty,
            ExpiryError::Incomplete,
            ExpiryError::InvalidCharacter,
            ExpiryError::InvalidMonth,
            ExpiryError::InvalidYear,
            ExpiryError::Expired,
            ExpiryError::TooFarAhead,
        ] {
            pairs.push((t(e.key()), e.to_string()));
        }
        for e in [
            IbanError::Empty,
            IbanError::InvalidCharacter,
            IbanError::UnknownCountry,
            IbanError::Incomplete,
            IbanError::TooLong,
            IbanError::Invalid,
        ] {
            pairs.push((t(e.key()), e.to_string()));
        }
        for e in [
            MoneyError::InvalidCharacter,
            MoneyError::MisplacedSeparator,
            MoneyError::TooManyDecimals {
                currency: Currency::Jpy,
                max: 0,
            },
            MoneyError::TooManyDecimals {
                currency: Currency::Usd,
                max: 2,
            },
            MoneyError::Negative,
            MoneyError::Zero,
        ] {
            let (key, args) = e.key();
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            pairs.push((tf(key, &args), e.to_string()));
        }
        for (text, core) in pairs {
            assert_eq!(text, core, "the English file and core's message differ");
        }
    }
}
