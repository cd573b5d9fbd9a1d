//! The checkout form's page for one campaign: its variant's built page (Trunk's `dist/`) with the
//! campaign's data in it, so the form needs no second request before it can show, and a static
//! first view of the form (the real classes, so the real stylesheet lays it out at its final
//! size) that the app replaces in the same frame it mounts: the first paint comes from the host.
//!
//! The first view is `inert` (nothing can be typed into it and lost); it is what a shopper sees
//! while the wasm downloads. Its ids carry `pw-first-` so they never collide with the app's.

use maud::{html, Markup};
use paywidget_core::api::wording::{frequency_key, pay_label_in, recurring_terms_in};
use paywidget_core::api::{CampaignKind, CampaignView, CardCapture, Frequency};
use paywidget_core::lang::Lang;
use paywidget_core::money::Amount;

use crate::support::i18n;

/// The id of the `<script type="application/json">` the app reads the campaign from.
pub const DATA_ID: &str = "pw-campaign";
/// The id of the `<script type="application/json">` the app reads its texts from (the
/// reader's language only).
pub const STRINGS_ID: &str = "pw-strings";
/// The id of the first view the app removes when it has mounted.
pub const FIRST_VIEW_ID: &str = "pw-first";

/// `template` (a form variant's `dist/` page) with `campaign`'s data and first view at the start
/// of its `<body>`; the template unchanged if it has no `<body>`.
pub fn page(template: &str, campaign: &CampaignView) -> String {
    page_in(template, campaign, campaign, Lang::En)
}

/// [`page`] for a donor who pays in another of the campaign's currencies: the data is all of
/// `campaign`, the first view `shown` (the campaign in that currency), in `lang`: its texts
/// in the page (only that language's), `<html lang dir>` set.
pub fn page_in(
    template: &str,
    campaign: &CampaignView,
    shown: &CampaignView,
    lang: Lang,
) -> String {
    // The `<html …>` tag says the page's language and direction (whatever the build wrote).
    let template = &match template.find("<html").and_then(|at| {
        let end = at + template[at..].find('>')? + 1;
        Some((at, end))
    }) {
        Some((at, end)) => format!(
            "{}<html lang=\"{}\" dir=\"{}\">{}",
            &template[..at],
            lang.tag(),
            lang.dir(),
            &template[end..]
        ),
        None => template.to_owned(),
    };
    let Some(open) = template.find("<body") else {
        return template.to_owned();
    };
    let Some(end) = template[open..].find('>').map(|e| open + e + 1) else {
        return template.to_owned();
    };
    let mut out = String::with_capacity(template.len() + 4096);
    out.push_str(&template[..end]);
    out.push_str(&data_block(campaign));
    out.push_str(&strings_block(lang));
    out.push_str(&first_view_in(shown, lang).into_string());
    out.push_str(&template[end..]);
    out
}

/// The campaign as JSON in a data block (never executed, so the CSP has nothing to allow). A
/// `<` is written `\u003c`: no title can close the element early.
fn data_block(campaign: &CampaignView) -> String {
    let json = serde_json::to_string(campaign)
        .unwrap_or_else(|_| "null".to_owned())
        .replace('<', "\\u003c");
    format!(r#"<script type="application/json" id="{DATA_ID}">{json}</script>"#)
}

/// The reader's language's texts as a data block (never executed). A `<` is written
/// `\u003c`, as in the campaign's block.
fn strings_block(lang: Lang) -> String {
    let json = i18n::form_texts(lang).replace('<', "\\u003c");
    format!(r#"<script type="application/json" id="{STRINGS_ID}">{json}</script>"#)
}

/// The form as the app first renders it, before anything is chosen (in English).
pub fn first_view(c: &CampaignView) -> Markup {
    first_view_in(c, Lang::En)
}

/// [`first_view`] in `lang`, with the app's own words for it.
pub fn first_view_in(c: &CampaignView, lang: Lang) -> Markup {
    let t = |key: &str| i18n::t(lang, key);
    let donation = c.kind == CampaignKind::Donation;
    let first = c.frequencies.first().copied().unwrap_or_default();
    let price = if donation {
        None
    } else if c.tiers.is_empty() {
        c.price
    } else {
        c.tiers.first().and_then(|t| t.price(first))
    }
    .map(|p| Amount::from_minor(p, c.currency));
    html! {
        main class="pw-page" id=(FIRST_VIEW_ID) inert {
            form class="pw-form" novalidate {
                div class="pw-org" {
                    @if let Some(src) = &c.logo_url {
                        img class="pw-logo" src=(src) alt="" width="48" height="48";
                    }
                    p class="pw-merchant" { (c.merchant_name) }
                }
                h1 class="pw-title" { (c.title) }
                @if donation {
                    @if c.frequencies.len() > 1 { (frequencies(c, first, lang)) }
                    (currency_select(c, lang))
                    fieldset class="pw-amounts" {
                        legend class="pw-label" { (i18n::tf(lang, "amount_legend", &[("currency", c.currency.code())])) }
                        div class="pw-chips" {
                            @for minor in &c.suggested_amounts {
                                (chip("amount", &minor.to_string(), &Amount::from_minor(*minor, c.currency).format_short(), false))
                            }
                            label class="pw-visually-hidden" for="pw-first-amount" { (t("other_amount")) }
                            input id="pw-first-amount" class="pw-input pw-input-plain pw-other" type="text"
                                inputmode="decimal" placeholder=(t("other_placeholder")) spellcheck="false";
                        }
                        p class="pw-error pw-error-late" {}
                    }
                    @if c.fee_coverage.is_some() {
                        div class="pw-check" {
                            input type="checkbox" id="pw-first-cover-fee";
                            label for="pw-first-cover-fee" { (t("cover_fee_plain")) }
                        }
                    }
                } @else {
                    (currency_select(c, lang))
                    @if !c.tiers.is_empty() {
                        fieldset class="pw-amounts" {
                            legend class="pw-label" { (t("plan")) }
                            div class="pw-chips" {
                                @for (i, t) in c.tiers.iter().enumerate() {
                                    (chip("tier", &t.id, &format!("{} · {}", t.name, seats(t.seats, lang)), i == 0))
                                }
                            }
                        }
                    }
                    @if c.frequencies.len() > 1 { (frequencies(c, first, lang)) }
                    p class="pw-price" { (i18n::tf(lang, "total", &[("amount", &price.map(|p| p.to_string()).unwrap_or_default())])) }
                }
                (field("email", &t(if donation { "email_receipt" } else { "email_licence" }), "email", "email", "email", ""))
                @if c.sepa_debit && c.card_capture == CardCapture::Direct && c.currency.code() == "EUR" {
                    fieldset class="pw-amounts" {
                        legend class="pw-label" { (t("pay_with")) }
                        div class="pw-chips" {
                            input type="radio" class="pw-chip-input" name="pw-first-method" id="pw-first-method-card" checked;
                            label class="pw-chip pw-chip-wide" for="pw-first-method-card" { (t("method_card")) }
                            input type="radio" class="pw-chip-input" name="pw-first-method" id="pw-first-method-bank";
                            label class="pw-chip pw-chip-wide" for="pw-first-method-bank" { (t("method_bank")) }
                        }
                    }
                }
                (field("name", &t("name_on_card"), "text", "", "cc-name", ""))
                @if c.card_capture == CardCapture::GatewayFields {
                    div class="pw-gateway-fields" {}
                    p class="pw-fields-state" { (t("loading_fields")) }
                } @else {
                    div class="pw-field" {
                        label class="pw-label" for="pw-first-card-number" { (t("card_number")) }
                        div class="pw-input-row" {
                            input id="pw-first-card-number" class="pw-input" type="text" inputmode="numeric"
                                autocomplete="cc-number" spellcheck="false" placeholder="1234 1234 1234 1234";
                            span class="pw-brand" {}
                        }
                        p class="pw-error" {}
                    }
                    div class="pw-row" {
                        (field("expiry", &t("expiry"), "text", "numeric", "cc-exp", "MM / YY"))
                        (field("cvc", &t("cvc"), "text", "numeric", "cc-csc", "CVC"))
                    }
                    @if c.collect_postal_code {
                        (field("postal", &t("postal"), "text", "", "postal-code", ""))
                    }
                }
                p class="pw-status" { span {} }
                button type="submit" class="pw-pay" { (pay_label_in(&t, donation, price, first)) }
                @if let Some(terms) = recurring_terms_in(&t, first, price) {
                    p class="pw-terms" { (terms) }
                }
                p class="pw-secure" { (t("secure_card")) }
            }
        }
    }
}

fn seats(n: u16, lang: Lang) -> String {
    i18n::tn(lang, "seats", u64::from(n))
}

/// The currency select of a campaign in several currencies, as the app's `CurrencyPicker`
/// draws it (nothing for a campaign in one).
fn currency_select(c: &CampaignView, lang: Lang) -> Markup {
    html! {
        @if !c.currencies.is_empty() {
            div class="pw-field" {
                label class="pw-label" for="pw-first-currency" { (i18n::t(lang, "currency")) }
                select id="pw-first-currency" class="pw-input pw-select" {
                    @for currency in c.offered_currencies() {
                        option value=(currency.code()) selected[currency == c.currency] { (currency.code()) }
                    }
                }
            }
        }
    }
}

fn frequencies(c: &CampaignView, first: Frequency, lang: Lang) -> Markup {
    html! {
        fieldset class="pw-amounts" {
            legend class="pw-label" { (i18n::t(lang, "how_often")) }
            div class="pw-chips" {
                @for f in &c.frequencies {
                    (chip("frequency", f.as_str(), &i18n::t(lang, frequency_key(*f)), *f == first))
                }
            }
        }
    }
}

/// A radio chip, as the app's pickers draw one.
fn chip(group: &str, value: &str, label: &str, checked: bool) -> Markup {
    let id = format!("pw-first-{group}-{value}");
    html! {
        input type="radio" class="pw-chip-input" name={ "pw-first-" (group) } id=(id) checked[checked];
        label class="pw-chip" for=(id) { (label) }
    }
}

/// A text field, as the app's `TextField` draws one (its error line empty).
fn field(
    name: &str,
    label: &str,
    kind: &str,
    inputmode: &str,
    autocomplete: &str,
    placeholder: &str,
) -> Markup {
    let id = format!("pw-first-{name}");
    html! {
        div class="pw-field" {
            label class="pw-label" for=(id) { (label) }
            input id=(id) class="pw-input pw-input-plain" type=(kind)
                inputmode=[(!inputmode.is_empty()).then_some(inputmode)]
                autocomplete=[(!autocomplete.is_empty()).then_some(autocomplete)]
                placeholder=[(!placeholder.is_empty()).then_some(placeholder)]
                spellcheck="false";
            p class="pw-error" {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paywidget_core::money::Currency;

    fn campaign() -> CampaignView {
        CampaignView {
            id: "winter".into(),
            kind: CampaignKind::Donation,
            title: "Winter </script><script>alert(1)</script> appeal".into(),
            merchant_name: "Hope & Co".into(),
            currency: Currency::from_code("USD").unwrap(),
            suggested_amounts: vec![1000, 2500],
            min_amount: None,
            max_amount: None,
            price: None,
            fee_coverage: None,
            gateway_url: "http://127.0.0.1:1".into(),
            card_capture: CardCapture::Direct,
            gateway_js_url: None,
            publishable_key: "pk_test_x".into(),
            logo_url: None,
            collect_postal_code: true,
            allowed_origins: vec![],
            frequencies: vec![],
            tiers: vec![],
            monthly_prompt: false,
            sepa_debit: false,
            currencies: vec![],
        }
    }

    #[test]
    fn the_data_and_first_view_open_the_body_and_nothing_closes_them_early() {
        let template = "<!DOCTYPE html><html><head><script type=module>x</script></head><body class=a><noscript>n</noscript></body></html>";
        let page = page(template, &campaign());
        let body = &page[page.find("<body class=a>").unwrap()..];
        assert!(
            body.starts_with(r#"<body class=a><script type="application/json" id="pw-campaign">"#)
        );
        // The title's `</script>` cannot end the data block, nor run as markup (three blocks:
        // the build's module, the campaign, the reader's texts).
        assert_eq!(page.matches("</script>").count(), 3, "{page}");
        assert!(page.contains(r#"<html lang="en" dir="ltr">"#));
        assert!(page.contains(r"Winter \u003c/script>\u003cscript>alert(1)\u003c/script> appeal"));
        assert!(page.contains("Winter &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; appeal"));
        assert!(page.contains("Hope &amp; Co"));
        assert!(body.contains(r#"<main class="pw-page" id="pw-first" inert>"#));
        assert!(body.ends_with("<noscript>n</noscript></body></html>"));
        // The data block decodes to the campaign itself.
        let start = page.find(r#"id="pw-campaign">"#).unwrap() + r#"id="pw-campaign">"#.len();
        let json = &page[start..start + page[start..].find("</script>").unwrap()];
        let back: CampaignView = serde_json::from_str(json).unwrap();
        assert_eq!(back, campaign());
    }

    #[test]
    fn a_page_in_another_language_says_so_and_carries_only_its_texts() {
        let template = r#"<!DOCTYPE html><html lang="en"><head></head><body></body></html>"#;
        let page = page_in(template, &campaign(), &campaign(), Lang::He);
        assert!(
            page.starts_with(r#"<!DOCTYPE html><html lang="he" dir="rtl"><head>"#),
            "{page}"
        );
        assert!(page.contains(&i18n::t(Lang::He, "email_receipt")));
        assert!(
            !page.contains("Email (for your receipt)"),
            "no English in it"
        );
        assert_eq!(page.matches(r#"id="pw-strings""#).count(), 1);
    }

    #[test]
    fn the_first_view_has_each_field_of_its_campaign_and_no_app_ids() {
        let view = first_view(&campaign()).into_string();
        for label in [
            ">10<",
            ">25<",
            "Other amount",
            "Email (for your receipt)",
            "Card number",
            "Expiry (MM / YY)",
            "Security code",
            "Billing postal code",
            ">Donate<",
        ] {
            assert!(view.contains(label), "{label} in {view}");
        }
        // Every id is the first view's own: the app's ids exist once on the page.
        for id in view.split(" id=\"").skip(1) {
            assert!(id.starts_with("pw-first"), "{id}");
        }
        let licence = CampaignView {
            kind: CampaignKind::License,
            price: Some(4900),
            collect_postal_code: false,
            ..campaign()
        };
        let view = first_view(&licence).into_string();
        assert!(view.contains(">Pay 49.00 USD<"), "{view}");
        assert!(view.contains("Email (for your licence key)"));
        assert!(!view.contains("Billing postal code"));
        let stripe = CampaignView {
            card_capture: CardCapture::GatewayFields,
            ..campaign()
        };
        let view = first_view(&stripe).into_string();
        assert!(view.contains("Loading secure card fields…") && !view.contains("Card number"));
    }
}
