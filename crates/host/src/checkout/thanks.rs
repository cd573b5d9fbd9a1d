//! The confirmation page (`/thanks/:session`), rendered by the host: the receipt, or the licence
//! key with its setup steps, or "confirming" while the webhook has not come. No wasm: a few
//! kilobytes of HTML under the checkout's stylesheet, and one small inline script (its hash in
//! the page's CSP) that copies the key and writes the date the shopper's way. Without script it
//! still works: the key can be selected, the date reads as ISO, and a waiting page refreshes
//! itself by `<meta http-equiv="refresh">` inside `<noscript>`; with script, the page asks the
//! session in the background and reloads once there is news.

use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use paywidget_core::api::{LicenceView, ReceiptView, SessionStatus, SessionView};
use paywidget_core::lang::Lang;
use paywidget_core::money::Amount;
use sha2::Digest;

use crate::support::i18n::{t, tf};

/// How many times a waiting page refreshes itself (every [`REFRESH_SECS`]) before it says the
/// confirmation is late: about a minute.
pub const MAX_WAITS: u32 = 30;
/// Seconds between a waiting page's refreshes.
pub const REFRESH_SECS: u32 = 2;

/// The page's only script: the Copy button (shown only when it can work), local dates, a failed
/// verification's stored attempt forgotten (the form's `pay_flow::attempt_key`), and
/// while the payment is confirmed: asking the session in the background, each question held by
/// the host until the session moves or 2 s pass (`?wait=2`, [`super::waiting`]), at most one
/// question per 2 s, and reloading the page once, when there is something new to show (a page
/// that reloads itself every few seconds loses a screen reader's place, and axe rightly flags a
/// timed `meta refresh`; that refresh is kept inside `<noscript>` for browsers without script).
pub const SCRIPT: &str = "const f=document.querySelector('[data-forget]');\
if(f)try{sessionStorage.removeItem('pw-attempt-'+f.dataset.forget)}catch(e){}\
const w=document.querySelector('[data-wait]');\
if(w){let n=+w.dataset.wait;const u='/thanks/'+w.dataset.session,\
tick=()=>{const t=Date.now(),again=()=>setTimeout(tick,Math.max(0,2000-Date.now()+t));\
fetch('/api/sessions/'+w.dataset.session+'?wait=2').then(r=>r.json()).then(s=>{n++;\
if(!['open','processing','requires_action','paid'].includes(s.status)||n>=30)location.replace(u+'?wait='+n);\
else again()},again)};tick()}\
for(const t of document.querySelectorAll('time[data-local]'))\
t.textContent=new Date(t.dateTime+'T12:00:00').toLocaleDateString(document.documentElement.lang);\
const b=document.getElementById('pw-copy');\
if(b){b.hidden=false;b.addEventListener('click',()=>{\
const k=document.getElementById('pw-licence-key').textContent,\
s=document.getElementById('pw-copied'),\
no=()=>{s.textContent=b.dataset.fail};\
if(!navigator.clipboard){no();return}\
navigator.clipboard.writeText(k).then(()=>{s.textContent=b.dataset.done},no)})}";

/// The page's Content-Security-Policy: the stylesheet from this origin, the one script by its
/// hash, and framing by the merchant's own sites (the overlay shows this page too).
pub fn csp(frame_ancestors: &[String]) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SCRIPT));
    let mut ancestors = String::from("'self'");
    for o in frame_ancestors {
        ancestors.push(' ');
        ancestors.push_str(o);
    }
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'sha256-{hash}'; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    )
}

/// A platform key of the config as people write it (`macos` → `macOS`).
pub fn platform_name(key: &str) -> String {
    match key.to_ascii_lowercase().as_str() {
        "linux" => "Linux".into(),
        "macos" | "mac" | "osx" => "macOS".into(),
        "windows" | "win" => "Windows".into(),
        "ios" => "iOS".into(),
        "android" => "Android".into(),
        _ => {
            let mut c = key.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

fn shell(title: &str, css: &str, refresh: Option<&str>, body: Markup) -> String {
    shell_in(Lang::En, title, css, refresh, body)
}

/// The page around `body`, in `lang` (`<html lang dir>`).
fn shell_in(lang: Lang, title: &str, css: &str, refresh: Option<&str>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) dir=(lang.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light";
                meta name="referrer" content="no-referrer";
                @if let Some(r) = refresh { noscript { meta http-equiv="refresh" content=(r); } }
                title { (title) " · paywidget" }
                link rel="stylesheet" href=(css);
            }
            body {
                main class="pw-page pw-thanks" { (body) }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
    .into_string()
}

/// The page for `s` (its `wait`-th refresh while it waits), styled by `css` (the checkout's
/// stylesheet URL), in `lang`; `portal` is the customer portal's URL, named on a recurring
/// gift's page.
pub fn page(
    s: &SessionView<LicenceView, ReceiptView>,
    css: &str,
    wait: u32,
    portal: &str,
    lang: Lang,
) -> String {
    if s.status.is_confirmed() {
        return confirmation(s, css, portal, lang);
    }
    if matches!(s.status, SessionStatus::Declined | SessionStatus::Canceled) {
        return shell_in(
            lang,
            &t(lang, "thanks_not_completed"),
            css,
            None,
            html! {
                h1 class="pw-title" { (t(lang, "thanks_not_completed")) }
                p id="pw-thanks-status" role="alert" { (t(lang, "thanks_not_charged")) }
            },
        );
    }
    // Open, processing, paid but not yet fulfilled: keep waiting, visibly.
    let late = wait >= MAX_WAITS;
    let next = format!("{REFRESH_SECS};url=/thanks/{}?wait={}", s.id, wait + 1);
    shell_in(
        lang,
        &t(lang, "thanks_confirming"),
        css,
        (!late).then_some(next.as_str()),
        html! {
            h1 class="pw-title" { (t(lang, "thanks_confirming")) }
            p id="pw-thanks-status" role="status" aria-live="polite" class="pw-working"
                data-session=[(!late).then_some(&s.id)] data-wait=[(!late).then_some(wait)] {
                @if late {
                    (t(lang, "thanks_late")) " "
                    a href={ "/thanks/" (s.id) } { (t(lang, "thanks_check_again")) }
                } @else if s.status == SessionStatus::Processing {
                    // A bank debit (or a slow card network): it can take days, and the mail
                    // follows either way.
                    (t(lang, "thanks_bank_confirming"))
                } @else {
                    (t(lang, "thanks_waiting"))
                }
            }
        },
    )
}

/// Back from the bank's verification, not charged: why (`reason`, the gateway's words), and the
/// way back to the form of `campaign`. The script forgets the page's stored attempt of
/// `session`, so the next try is a new one (a new card token), as the form's own flow would.
pub fn verification_failed(session: &str, campaign: &str, reason: &str, css: &str) -> String {
    shell(
        "Payment verification",
        css,
        None,
        html! {
            h1 class="pw-title" { "Payment verification" }
            p id="pw-return-status" role="status" data-forget=(session) {
                (reason) " You have not been charged."
            }
            a class="pw-pay pw-link-button" href={ "/c/" (campaign) } { "Try again" }
        },
    )
}

/// An update-card link that can no longer be used: why (the API's words), and the portal, where
/// the donor can sign in and update the card.
pub fn update_card_unusable(reason: &str, css: &str) -> String {
    shell(
        "Update your card",
        css,
        None,
        html! {
            h1 class="pw-title" { "Update your card" }
            p class="pw-problem" role="alert" id="pw-status" { (reason) }
            a class="pw-pay pw-link-button" href="/portal" { "Sign in to your payments" }
        },
    )
}

/// "Page not found", in the checkout's look.
pub fn not_found(css: &str) -> String {
    shell(
        "Page not found",
        css,
        None,
        html! { h1 class="pw-title" { "Page not found" } },
    )
}

fn confirmation(
    s: &SessionView<LicenceView, ReceiptView>,
    css: &str,
    portal: &str,
    lang: Lang,
) -> String {
    let total = s.total_amount();
    let emailed = html! {
        @if let Some(to) = &s.emailed_to { p id="pw-emailed" { (tf(lang, "thanks_emailed", &[("email", to)])) } }
    };
    let site = t(lang, "thanks_the_site");
    let back = html! {
        @if let Some(url) = &s.success_url {
            p class="pw-back" { a id="pw-back" href=(url) { (tf(lang, "thanks_back", &[("name", s.merchant_name.as_deref().unwrap_or(&site))])) } }
        }
    };
    let recurring_link = html! {
        " " a href=(portal) { (t(lang, "thanks_change_recurring")) }
    };
    let yearly = s.frequency == paywidget_core::api::Frequency::Yearly;
    if let Some(licence) = &s.license {
        return shell_in(
            lang,
            &t(lang, "thanks_licence_title_short"),
            css,
            None,
            html! {
                h1 class="pw-title" { (t(lang, "thanks_licence_title")) }
                @if licence.revoked {
                    p class="pw-problem" id="pw-revoked" role="alert" {
                        (t(lang, "thanks_revoked"))
                    }
                }
                pre class="pw-key" id="pw-licence-key" { (licence.key) }
                button type="button" class="pw-pay" id="pw-copy" hidden
                    data-done=(t(lang, "thanks_copied")) data-fail=(t(lang, "thanks_copy_select")) { (t(lang, "thanks_copy")) }
                p role="status" aria-live="polite" id="pw-copied" {}
                @if s.frequency.interval().is_some() {
                    p class="pw-next" id="pw-recurring" {
                        (t(lang, if yearly { "thanks_renews_yearly" } else { "thanks_renews_monthly" })) (recurring_link)
                    }
                }
                (emailed)
                @if !licence.instructions_html.is_empty() {
                    section class="pw-instructions" aria-labelledby="pw-setup-title" {
                        h2 id="pw-setup-title" { (t(lang, "thanks_setup")) }
                        @for (platform, steps) in &licence.instructions_html {
                            section class="pw-panel" aria-labelledby={ "pw-setup-" (platform) } {
                                h3 id={ "pw-setup-" (platform) } { (platform_name(platform)) }
                                // Sanitized when the config was read (Markdown → ammonia).
                                (PreEscaped(steps))
                            }
                        }
                    }
                }
                (back)
            },
        );
    }
    let r = s.receipt.clone().unwrap_or(ReceiptView {
        number: String::new(),
        org_name: None,
        tax_statement: None,
        text: None,
        refunded: false,
        refunded_minor: 0,
    });
    let disputed = s.status == SessionStatus::Disputed;
    let part =
        (!r.refunded && r.refunded_minor > 0 && r.refunded_minor < total.minor()).then(|| {
            let back = Amount::from_minor(r.refunded_minor, total.currency());
            let kept = Amount::from_minor(total.minor() - r.refunded_minor, total.currency());
            tf(
                lang,
                "thanks_part_refunded",
                &[("refunded", &back.to_string()), ("kept", &kept.to_string())],
            )
        });
    let date = s
        .confirmed_at
        .map(crate::mail::civil_date)
        .unwrap_or_default();
    shell_in(
        lang,
        &t(
            lang,
            if r.refunded {
                "thanks_refunded_title"
            } else {
                "thanks_title_short"
            },
        ),
        css,
        None,
        html! {
            h1 class="pw-title" { @if r.refunded { (t(lang, "thanks_refunded_title")) } @else { (t(lang, "thanks_title")) } }
            @if r.refunded {
                p class="pw-problem" id="pw-refunded" role="alert" {
                    @if disputed { (t(lang, "thanks_disputed")) }
                    @else { (t(lang, "thanks_refunded")) }
                }
            }
            @if let Some(p) = part { p class="pw-next" id="pw-part-refunded" role="status" { (p) } }
            section class="pw-receipt" aria-labelledby="pw-receipt-title" {
                h2 id="pw-receipt-title" { (t(lang, "thanks_receipt")) }
                dl {
                    dt { (t(lang, "thanks_receipt_number")) } dd id="pw-receipt-number" { (r.number) }
                    dt { (t(lang, "thanks_amount")) } dd { (total) }
                    dt { (t(lang, "thanks_date")) } dd { time id="pw-receipt-date" datetime=(date) data-local { (date) } }
                    dt { (t(lang, "thanks_organisation")) } dd { (r.org_name.as_deref().unwrap_or_default()) }
                }
                p class="pw-tax" { (r.tax_statement.as_deref().unwrap_or_default()) }
                @if let Some(t) = &r.text { p class="pw-receipt-text" id="pw-receipt-text" { (t) } }
            }
            @if s.frequency.interval().is_some() {
                p class="pw-next" id="pw-recurring" {
                    (tf(lang, if yearly { "thanks_gives_yearly" } else { "thanks_gives_monthly" }, &[("amount", &total.to_string())]))
                    (recurring_link)
                }
            }
            (emailed)
            (back)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_read_as_people_write_them() {
        assert_eq!(platform_name("linux"), "Linux");
        assert_eq!(platform_name("macos"), "macOS");
        assert_eq!(platform_name("windows"), "Windows");
        assert_eq!(platform_name("freebsd"), "Freebsd");
    }

    #[test]
    fn the_policy_allows_the_script_by_its_hash_only() {
        let p = csp(&["https://hope.example".into()]);
        assert!(p.contains("script-src 'sha256-"), "{p}");
        assert!(!p.contains("unsafe"), "{p}");
        assert!(
            p.ends_with("frame-ancestors 'self' https://hope.example"),
            "{p}"
        );
    }
}
