//! The customer portal's pages, server-rendered with maud: compile-time-checked markup in which
//! every value is escaped unless it says otherwise (nothing here does), no script, one
//! stylesheet, and every change a POST form carrying the CSRF token. Which actions a gift
//! offers and how its state reads come from the domain ([`offers`], [`GiftState`]); the pages
//! only lay them out.

use maud::{html, Markup, DOCTYPE};
use paywidget_core::api::CampaignKind;
use paywidget_core::money::Amount;

use crate::portal::{offers, Customer, GiftAction, GiftState, Item};

/// The portal pages' Content-Security-Policy: nothing but this origin's stylesheet and forms.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The document around every page.
fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Your payments" }
                link rel="stylesheet" href="/portal/portal.css";
            }
            body { main class="pw-portal" { (body) } }
        }
    }
    .into_string()
}

/// What went wrong, announced to screen readers.
fn problem(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p class="pw-problem" role="alert" id="pw-portal-problem" { (m) }
        }
    }
}

/// The hidden fields every change carries: the CSRF token and the payment it is about.
fn change_fields(csrf: &str, session: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="session" value=(session);
    }
}

/// Asks for the email address.
pub fn sign_in(message: Option<&str>) -> String {
    page(
        "Sign in",
        html! {
            h1 { "Your payments" }
            p { "Receipts, licence keys and recurring gifts, for the email address you paid with." }
            (problem(message))
            form method="post" action="/portal/sign-in" {
                label for="email" { "Email" }
                input id="email" name="email" type="email" autocomplete="email" inputmode="email" required;
                button type="submit" { "Email me a sign-in link" }
            }
        },
    )
}

/// After asking: check the mail, or type its code.
pub fn check_email(email: &str, message: Option<&str>) -> String {
    page(
        "Check your email",
        html! {
            h1 { "Check your email" }
            p {
                "If " strong { (email) } " has paid here, we have sent it a sign-in link and a \
                 6-digit code. They work once, for 15 minutes."
            }
            (problem(message))
            form method="post" action="/portal/login" {
                input type="hidden" name="email" value=(email);
                label for="code" { "6-digit code" }
                input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                button type="submit" { "Sign in" }
            }
            p { a href="/portal" { "Use another address" } }
        },
    )
}

/// The magic link's landing page: a button, so that mail scanners opening the link do not
/// use it up.
pub fn confirm_link(token: &str) -> String {
    page(
        "Sign in",
        html! {
            h1 { "Sign in" }
            form method="post" action="/portal/login" {
                input type="hidden" name="token" value=(token);
                button type="submit" { "Continue to your payments" }
            }
        },
    )
}

/// A licence's key and its installations, each with a form that frees its seat.
fn licence_part(c: &Customer, it: &Item) -> Markup {
    let id = &it.session.id;
    html! {
        @if let Some(key) = &it.licence_key {
            p { "Licence key:" }
            pre class="pw-portal-key" { (key) }
        }
        p { "Activations: " (it.activations.len()) " of " (it.seats) " seats" }
        ul {
            @for instance in &it.activations {
                li {
                    (instance) " "
                    form method="post" action="/portal/deactivate" class="pw-inline" {
                        input type="hidden" name="csrf" value=(c.csrf);
                        input type="hidden" name="order" value=(id);
                        input type="hidden" name="instance" value=(instance);
                        button type="submit" aria-label={ "Deactivate " (instance) } { "Deactivate" }
                    }
                }
            }
        }
    }
}

/// One form: the gift's new amount, and its frequency when the campaign offers another.
fn amount_form(c: &Customer, it: &Item) -> Markup {
    let s = &it.session;
    let id = &s.id;
    let now_amount =
        Amount::from_minor(s.next_amount.unwrap_or(s.amount), s.currency).format_plain();
    html! {
        form method="post" action="/portal/subscription" {
            (change_fields(&c.csrf, id))
            input type="hidden" name="action" value=(GiftAction::Amount.as_str());
            label for={ "amount-" (id) } { "New amount (" (s.currency.code()) ") from the next gift" }
            input id={ "amount-" (id) } name="amount" inputmode="decimal" value=(now_amount);
            @if it.frequencies.len() > 1 {
                label for={ "frequency-" (id) } { "How often" }
                select id={ "frequency-" (id) } name="frequency" {
                    @for f in &it.frequencies {
                        option value=(f.as_str()) selected[*f == s.frequency] { (f.every()) }
                    }
                }
                p class="pw-portal-hint" {
                    "A new frequency starts when the period you have already given for ends; \
                     nothing is charged now."
                }
            }
            button type="submit" { (GiftAction::Amount.label()) }
        }
    }
}

/// The form of one action (ending a gift asks first, on a page that changes nothing, and looks
/// secondary).
fn action_form(c: &Customer, session: &str, action: GiftAction) -> Markup {
    html! {
        @if action == GiftAction::Cancel {
            form method="get" action="/portal/cancel" {
                input type="hidden" name="session" value=(session);
                button type="submit" class="pw-secondary" { (action.label()) }
            }
        } @else {
            form method="post" action="/portal/subscription" {
                (change_fields(&c.csrf, session))
                input type="hidden" name="action" value=(action.as_str());
                button type="submit" { (action.label()) }
            }
        }
    }
}

/// One payment: what it is, where it stands, its receipts, its licence, what it offers.
fn item(c: &Customer, it: &Item) -> Markup {
    let s = &it.session;
    let id = &s.id;
    let total = Amount::from_minor(s.next_amount.unwrap_or(s.total()), s.currency).to_string();
    html! {
        section class="pw-portal-item" aria-labelledby={ "t-" (id) } {
            h2 id={ "t-" (id) } { (it.title) }
            p {
                (total) " " (s.frequency.every()) " · "
                span class="pw-portal-status" { (GiftState::of(s, it.paid_until).words()) }
            }
            @if s.amount_refunded > 0 && s.amount_refunded < s.total() {
                p { (Amount::from_minor(s.amount_refunded, s.currency)) " of the first payment was refunded." }
            }
            @if !it.receipts.is_empty() {
                p {
                    "Receipts: " (it.receipts.join(", ")) " · "
                    a href={ "/thanks/" (id) } { "Printable receipt" }
                }
            }
            @if s.kind == CampaignKind::License {
                (licence_part(c, it))
            }
            @for action in offers(s) {
                @if action == GiftAction::Amount {
                    (amount_form(c, it))
                } @else {
                    (action_form(c, id, action))
                }
            }
        }
    }
}

/// The signed-in overview.
pub fn overview(c: &Customer, items: &[Item], message: Option<&str>) -> String {
    let any_gift = items
        .iter()
        .any(|i| i.session.kind == CampaignKind::Donation);
    page(
        "Your payments",
        html! {
            h1 { "Your payments" }
            p { "Signed in as " strong { (c.email) } "." }
            (problem(message))
            @if items.is_empty() {
                p { "There are no payments for this address yet." }
            }
            @for it in items { (item(c, it)) }
            @if any_gift {
                p { a href="/portal/statement" { "Yearly giving statement" } " (for your tax return)" }
            }
            form method="post" action="/portal/sign-out" {
                input type="hidden" name="csrf" value=(c.csrf);
                button type="submit" class="pw-secondary" { "Sign out" }
            }
        },
    )
}

/// Asks before a recurring gift ends: when it ends, and the two choices.
pub fn confirm_cancel(c: &Customer, item: &Item) -> String {
    let s = &item.session;
    let when = item.paid_until.map_or_else(
        || "at the end of this period".to_owned(),
        |end| format!("on {}", crate::mail::civil_date(end)),
    );
    let total = Amount::from_minor(s.next_amount.unwrap_or(s.total()), s.currency).to_string();
    page(
        "End your gift?",
        html! {
            h1 { "End your gift?" }
            p {
                "Your gift of " (total) " " (s.frequency.every()) " to " (item.title) " ends "
                (when) ": nothing more is charged after that. You can keep it going until then."
            }
            form method="post" action="/portal/subscription" {
                (change_fields(&c.csrf, &s.id))
                input type="hidden" name="action" value=(GiftAction::Cancel.as_str());
                button type="submit" class="pw-secondary" { "Yes, end my gift" }
            }
            p { a href="/portal" { "Keep my gift" } }
        },
    )
}

/// The yearly giving statement: every gift of `year` with its receipt, and the totals.
pub fn statement(
    c: &Customer,
    year: i32,
    gifts: &[crate::portal::Gift],
    totals: &[(paywidget_core::money::Currency, i64)],
) -> String {
    page(
        &format!("Giving statement {year}"),
        html! {
            h1 { "Giving statement " (year) }
            p { "For " strong { (c.email) } "." }
            @if gifts.is_empty() {
                p { "No gifts in this year." }
            } @else {
                table class="pw-statement" {
                    thead {
                        tr {
                            th scope="col" { "Date" }
                            th scope="col" { "Campaign" }
                            th scope="col" { "Receipt" }
                            th scope="col" { "Amount" }
                        }
                    }
                    tbody {
                        @for g in gifts {
                            tr {
                                td { (crate::mail::civil_date(g.at)) }
                                td { (g.title) }
                                td { (g.receipt) }
                                td { (Amount::from_minor(g.amount, g.currency)) }
                            }
                        }
                    }
                }
                @for (currency, total) in totals {
                    p class="pw-statement-total" {
                        "Total " (year) ": "
                        strong id={ "pw-total-" (currency.code()) } { (Amount::from_minor(*total, *currency)) }
                    }
                }
            }
            p {
                a href={ "/portal/statement?year=" (year - 1) } { (year - 1) } " · "
                a href={ "/portal/statement?year=" (year + 1) } { (year + 1) } " · "
                a href="/portal" { "Back to your payments" }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_everywhere() {
        let page = check_email("<script>alert(1)</script>@x.org", Some("a \"quoted\" <b>"));
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;@x.org"));
        assert!(page.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;@x.org\""));
        assert!(page.contains("a &quot;quoted&quot; &lt;b&gt;"));
        let link = confirm_link("\"><img src=x onerror=alert(1)>");
        assert!(!link.contains("<img"), "{link}");
    }
}
