//! The dashboard's pages, server-rendered with maud (compile-time-checked, every value
//! escaped), no script: filters are GET forms whose state is in the URL, changes are POST forms
//! carrying the CSRF token. Each chart is an SVG with `role="img"`, a title and a description,
//! followed by a table of the same numbers.

use maud::{html, Markup, DOCTYPE};
use paywidget_core::api::SessionStatus;
use paywidget_core::money::{Amount, Currency};

use super::disputes::Evidence;
use super::gifts::Gifts;
use super::health::Health;
use super::settlement::Settlement;
use super::webhooks::EndpointView;
use super::{
    is_soft_decline, rate, refusal_words, Filters, LicenceView, Money, Overview, Payment,
    RefundReason, Staff,
};
use crate::hooks::{EventFilter, HookEvent};
use crate::store::{
    DayTotal, DisputeRow, Funnel, HookEndpoint, RecurringFigures, SavedFilter, SessionRow,
};
use crate::support::local::Local;

/// The dashboard's Content-Security-Policy: this origin's stylesheet and forms, nothing else.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn page(title: &str, staff: Option<&Staff>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Dashboard" }
                link rel="stylesheet" href="/admin/admin.css";
            }
            body {
                @if let Some(s) = staff { (nav(s)) }
                main class="pw-admin" { (body) }
            }
        }
    }
    .into_string()
}

/// The merchant query part of links, for staff of several merchants.
fn m(staff: &Staff) -> String {
    if staff.memberships.len() > 1 {
        format!("merchant={}", url_part(&staff.merchant))
    } else {
        String::new()
    }
}

fn url_part(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn nav(staff: &Staff) -> Markup {
    let q = m(staff);
    let sep = if q.is_empty() { "" } else { "?" };
    html! {
        nav class="pw-admin-nav pw-admin" aria-label="Dashboard" {
            a href={ "/admin" (sep) (q) } { "Overview" }
            a href={ "/admin/payments" (sep) (q) } { "Payments" }
            a href={ "/admin/licences" (sep) (q) } { "Licences" }
            a href={ "/admin/settlement" (sep) (q) } { "Settlement" }
            a href={ "/admin/disputes" (sep) (q) } { "Disputes" }
            a href={ "/admin/gifts" (sep) (q) } { "Recurring" }
            a href={ "/admin/health" (sep) (q) } { "Health" }
            @if staff.role == crate::config::Role::Owner {
                a href={ "/admin/webhooks" (sep) (q) } { "Webhooks" }
            }
            span class="pw-admin-who" { (staff.email) " · " (staff.merchant) " · " (staff.role.as_str()) }
            @if staff.memberships.len() > 1 {
                form method="get" action="/admin" {
                    label for="pw-merchant" { "Merchant" }
                    select id="pw-merchant" name="merchant" {
                        @for (id, _) in &staff.memberships {
                            option value=(id) selected[*id == staff.merchant] { (id) }
                        }
                    }
                    button type="submit" class="pw-secondary" { "Switch" }
                }
            }
            form method="post" action="/admin/sign-out" {
                input type="hidden" name="csrf" value=(staff.csrf);
                button type="submit" class="pw-secondary" { "Sign out" }
            }
        }
    }
}

fn problem(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p class="pw-problem" role="alert" id="pw-admin-problem" { (m) }
        }
    }
}

/// Asks for the staff member's address.
pub fn sign_in(message: Option<&str>) -> String {
    page(
        "Sign in",
        None,
        html! {
            h1 { "Merchant dashboard" }
            p { "For the addresses your organisation lists as staff." }
            (problem(message))
            form method="post" action="/admin/sign-in" {
                label for="email" { "Email" }
                input id="email" name="email" type="email" autocomplete="email" inputmode="email" required;
                button type="submit" { "Email me a sign-in link" }
            }
        },
    )
}

/// After asking: the mail, or its code.
pub fn check_email(email: &str, message: Option<&str>) -> String {
    page(
        "Check your email",
        None,
        html! {
            h1 { "Check your email" }
            p {
                "If " strong { (email) } " is on a merchant's staff, we have sent it a sign-in \
                 link and a 6-digit code. They work once, for 15 minutes."
            }
            (problem(message))
            form method="post" action="/admin/login" {
                input type="hidden" name="email" value=(email);
                label for="code" { "6-digit code" }
                input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// The link's landing page: a button, so mail scanners do not use the link up.
pub fn confirm_link(token: &str) -> String {
    page(
        "Sign in",
        None,
        html! {
            h1 { "Sign in to the dashboard" }
            form method="post" action="/admin/login" {
                input type="hidden" name="token" value=(token);
                button type="submit" { "Continue to the dashboard" }
            }
        },
    )
}

/// An error page for a signed-in member.
pub fn error(staff: &Staff, message: &str) -> String {
    page(
        "Problem",
        Some(staff),
        html! { h1 { "Something is not right" } (problem(Some(message))) },
    )
}

fn money_cell(loc: &Local, minor: i64, currency: Currency) -> Markup {
    html! { td class="pw-num" { (loc.money(Amount::from_minor(minor, currency))) } }
}

/// The change against the previous period, in words.
fn change(now: i64, before: i64) -> String {
    if before == 0 {
        return if now == 0 {
            "no change".into()
        } else {
            "new".into()
        };
    }
    let pct = (now - before) * 100 / before;
    if pct >= 0 {
        format!("+{pct} %")
    } else {
        format!("{pct} %")
    }
}

fn money_table(loc: &Local, now: &[Money], before: &[Money]) -> Markup {
    html! {
        div class="pw-scroll" tabindex="0" role="region" aria-label="Money table" {
            table class="pw-table" {
                caption { "Money, this period against the one before" }
                thead { tr {
                    th scope="col" { "Currency" }
                    th scope="col" class="pw-num" { "Payments" }
                    th scope="col" class="pw-num" { "Gross" }
                    th scope="col" class="pw-num" { "Refunded" }
                    th scope="col" class="pw-num" { "Net" }
                    th scope="col" class="pw-num" { "Net, period before" }
                    th scope="col" class="pw-num" { "Change" }
                } }
                tbody {
                    @for mo in now {
                        @let prev = before.iter().find(|b| b.currency == mo.currency).map_or(0, Money::net);
                        tr {
                            th scope="row" { (mo.currency.code()) }
                            td class="pw-num" { (mo.payments) }
                            (money_cell(loc, mo.gross, mo.currency))
                            (money_cell(loc, mo.refunded, mo.currency))
                            (money_cell(loc, mo.net(), mo.currency))
                            (money_cell(loc, prev, mo.currency))
                            td class="pw-num" { (change(mo.net(), prev)) }
                        }
                    }
                    @if now.is_empty() {
                        tr { td colspan="7" { "No payments in this period." } }
                    }
                }
            }
        }
    }
}

/// The daily chart of one currency's gross: an SVG bar per day, then the same numbers.
/// `count` local days from day number `first_day`.
fn day_chart(
    loc: &Local,
    days: &[DayTotal],
    currency: Currency,
    first_day: i64,
    count: i64,
) -> Markup {
    let per_day: Vec<(i64, i64, i64)> = (0..count)
        .map(|i| {
            let day = first_day + i;
            let d = days
                .iter()
                .find(|d| d.day == day && d.currency == currency.code());
            (day, d.map_or(0, |d| d.gross), d.map_or(0, |d| d.payments))
        })
        .collect();
    let max = per_day.iter().map(|(_, g, _)| *g).max().unwrap_or(0).max(1);
    let total: i64 = per_day.iter().map(|(_, g, _)| g).sum();
    let (w, h) = (per_day.len().max(1) as i64 * 10, 100_i64);
    let id = format!("pw-chart-{}", currency.code());
    html! {
        figure {
            svg class="pw-chart" viewBox={ "0 0 " (w) " " (h + 2) } role="img"
                aria-labelledby={ (id) "-t " (id) "-d" } preserveAspectRatio="none" {
                title id={ (id) "-t" } { "Gross per day, " (currency.code()) }
                desc id={ (id) "-d" } {
                    (per_day.len()) " days from " (loc.day_text(first_day)) "; in all "
                    (loc.money(Amount::from_minor(total, currency))) "; the busiest day "
                    (loc.money(Amount::from_minor(if total == 0 { 0 } else { max }, currency)))
                    ". The table below has every day."
                }
                @for (i, (_, gross, _)) in per_day.iter().enumerate() {
                    @let bar = gross * h / max;
                    rect class="pw-bar" x=(i as i64 * 10 + 1) y=(h - bar) width="8" height=(bar.max(0)) {}
                }
                line class="pw-axis" x1="0" y1=(h) x2=(w) y2=(h) {}
            }
            figcaption { "Gross per day in " (currency.code()) }
        }
        details {
            summary { "The numbers per day (" (currency.code()) ")" }
            div class="pw-scroll" tabindex="0" role="region" aria-label={ "Gross per day, " (currency.code()) ", table" } {
                table class="pw-table" {
                    thead { tr {
                        th scope="col" { "Day" }
                        th scope="col" class="pw-num" { "Payments" }
                        th scope="col" class="pw-num" { "Gross" }
                    } }
                    tbody {
                        @for (day, gross, n) in &per_day {
                            tr {
                                th scope="row" { (loc.day_text(*day)) }
                                td class="pw-num" { (n) }
                                (money_cell(loc, *gross, currency))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn funnel_table(now: Funnel, before: Funnel) -> Markup {
    let rows = [
        ("Checkouts started", now.sessions, before.sessions),
        ("Pay attempted", now.attempted, before.attempted),
        ("Paid", now.paid, before.paid),
        ("Fulfilled", now.fulfilled, before.fulfilled),
    ];
    html! {
        div class="pw-scroll" tabindex="0" role="region" aria-label="Funnel table" {
            table class="pw-table" {
                caption { "Checkout funnel (counted by session on the server; no cookies)" }
                thead { tr {
                    th scope="col" { "Step" }
                    th scope="col" class="pw-num" { "This period" }
                    th scope="col" class="pw-num" { "Period before" }
                } }
                tbody {
                    @for (name, n, b) in rows {
                        tr { th scope="row" { (name) } td class="pw-num" { (n) } td class="pw-num" { (b) } }
                    }
                }
            }
        }
        p {
            "Confirmation rate (paid of attempted): " strong { (rate(now.paid, now.attempted)) }
            " · success rate (fulfilled of paid): " strong { (rate(now.fulfilled, now.paid)) }
            " · overall conversion (paid of started): " strong { (rate(now.paid, now.sessions)) }
        }
    }
}

/// The overview: money, the daily chart per currency, the funnel and declines.
pub fn overview(
    staff: &Staff,
    ov: &Overview,
    from: &str,
    to: &str,
    message: Option<&str>,
) -> String {
    let loc = &staff.local;
    page(
        "Overview",
        Some(staff),
        html! {
            h1 { "Overview" }
            (problem(message))
            form method="get" action="/admin" class="pw-filters" {
                @if staff.memberships.len() > 1 {
                    input type="hidden" name="merchant" value=(staff.merchant);
                }
                div { label for="from" { "From" } input id="from" name="from" type="date" value=(from); }
                div { label for="to" { "To" } input id="to" name="to" type="date" value=(to); }
                div { button type="submit" { "Show" } }
            }
            p class="pw-muted" {
                (loc.date(ov.range.since)) " to " (loc.date(ov.range.until - 1)) " (" (loc.zone()) "), "
                (ov.range.days()) " days, against the " (ov.range.days()) " days before."
            }
            (money_table(loc, &ov.money, &ov.previous))
            @for mo in &ov.money {
                (day_chart(loc, &ov.days, mo.currency, ov.range.first_day, ov.range.days()))
            }
            @let (fresh, retained, back) = ov.donors;
            p class="pw-donors" {
                "Donors: " strong { (fresh) } " new, " strong { (retained) } " retained (they gave in the \
                 period before too), " strong { (back) } " reactivated (back after a gap)."
            }
            h2 { "Conversion" }
            (funnel_table(ov.funnel, ov.previous_funnel))
            h2 { "Recurring gifts and subscriptions" }
            (recurring_table(loc, &ov.recurring, &ov.recovered))
            h2 { "Fraud signals" }
            p {
                "Payers the card-testing shield blocks now: " strong { (ov.blocked_now) } ". "
                "Attack-mode periods in this range: " strong { (ov.attacks.len()) } "."
            }
            @if !ov.attacks.is_empty() {
                div class="pw-scroll" tabindex="0" role="region" aria-label="Attack periods table" {
                    table class="pw-table" {
                        caption { "Attack mode (a spike of declines: challenges and a raised minimum)" }
                        thead { tr {
                            th scope="col" { "Campaign" }
                            th scope="col" { "From (" (loc.zone()) ")" }
                            th scope="col" { "To (" (loc.zone()) ")" }
                        } }
                        tbody {
                            @for (c, from, to) in &ov.attacks {
                                tr {
                                    th scope="row" { (c) }
                                    td { (loc.when(*from)) }
                                    td { @match to { Some(t) => (loc.when(*t)), None => "still on" } }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Disputes" }
            @let r = ov.dispute_ratio;
            p {
                "Opened in this range: " strong { (ov.disputes) } ". This calendar month: "
                (r.disputes) " dispute(s) over " (r.payments_this_month) " payment(s) this month ("
                (percent(r.disputes, r.payments_this_month)) ") and over "
                (r.payments_last_month) " last month (" (percent(r.disputes, r.payments_last_month)) "). "
                "(Visa counts this month's disputes over this month's payments, Mastercard over \
                 last month's.)"
            }
            h2 { "Declines" }
            div class="pw-scroll" tabindex="0" role="region" aria-label="Declines table" {
                table class="pw-table" {
                    caption { "Sessions by their last decline" }
                    thead { tr {
                        th scope="col" { "Reason" }
                        th scope="col" { "Kind" }
                        th scope="col" class="pw-num" { "Sessions" }
                    } }
                    tbody {
                        @for (code, n) in &ov.declines {
                            tr {
                                th scope="row" { (code) }
                                td { @if is_soft_decline(code) { "soft" } @else { "hard" } }
                                td class="pw-num" { (n) }
                            }
                        }
                        @if ov.declines.is_empty() {
                            tr { td colspan="3" { "No declines in this period." } }
                        }
                    }
                }
            }
        },
    )
}

/// Active recurring gifts and MRR, churn and recovered revenue per currency, with Stripe
/// Billing's definitions spelt out under the table.
fn recurring_table(
    loc: &Local,
    figures: &[RecurringFigures],
    recovered: &[(String, i64, i64)],
) -> Markup {
    let mut codes: Vec<&str> = figures.iter().map(|f| f.currency.as_str()).collect();
    for (c, _, _) in recovered {
        if !codes.contains(&c.as_str()) {
            codes.push(c);
        }
    }
    html! {
        div class="pw-scroll" tabindex="0" role="region" aria-label="Recurring revenue table" {
            table class="pw-table" {
                caption { "Per currency, this range" }
                thead { tr {
                    th scope="col" { "Currency" }
                    th scope="col" class="pw-num" { "Active now" }
                    th scope="col" class="pw-num" { "MRR now" }
                    th scope="col" class="pw-num" { "Active at start" }
                    th scope="col" class="pw-num" { "Churned" }
                    th scope="col" class="pw-num" { "Churn rate" }
                    th scope="col" class="pw-num" { "Churned MRR" }
                    th scope="col" class="pw-num" { "MRR churn rate" }
                    th scope="col" class="pw-num" { "Recovered" }
                } }
                tbody {
                    @for code in &codes {
                        @let f = figures.iter().find(|f| f.currency == *code).cloned().unwrap_or_default();
                        @let (n, amount) = recovered.iter().find(|(c, _, _)| c == code).map_or((0, 0), |(_, n, a)| (*n, *a));
                        tr {
                            th scope="row" { (code) }
                            td class="pw-num" { (f.active_now) }
                            td class="pw-num" { (minor(loc, f.mrr_now, code)) }
                            td class="pw-num" { (f.active_at_start) }
                            td class="pw-num" { (f.churned) }
                            td class="pw-num" { (percent(f.churned, f.active_at_start)) }
                            td class="pw-num" { (minor(loc, f.churned_mrr, code)) }
                            td class="pw-num" { (percent(f.churned_mrr, f.mrr_at_start)) }
                            td class="pw-num" { (minor(loc, amount, code)) " (" (n) ")" }
                        }
                    }
                    @if codes.is_empty() {
                        tr { td colspan="9" { "No recurring gifts or subscriptions yet." } }
                    }
                }
            }
        }
        p class="pw-muted" {
            "As Stripe Billing counts them: MRR is what the subscriptions not canceled bring in a              month (a yearly amount counts a twelfth; past-due and paused ones still count). Churn              rate is the subscribers active at the range's start who were canceled during it, over              those active at its start; MRR churn rate is the MRR they took, over the MRR at the              start. Recovered is what renewals whose first charge failed brought when paid later              in the range (retries, a new card)."
        }
    }
}

/// The staff member's saved filters as links (each with a delete button), and a form saving
/// the current one (`query`) under a name.
fn saved_filters(staff: &Staff, saved: &[SavedFilter], query: &str) -> Markup {
    let m = |q: &str| {
        if staff.memberships.len() > 1 {
            let sep = if q.is_empty() { "" } else { "&" };
            format!("{q}{sep}merchant={}", url_part(&staff.merchant))
        } else {
            q.to_owned()
        }
    };
    html! {
        section class="pw-saved" aria-labelledby="pw-saved-title" {
            h2 id="pw-saved-title" { "Saved filters" }
            @if saved.is_empty() {
                p class="pw-muted" { "None yet: filter the list, then save the filter here." }
            } @else {
                ul class="pw-saved-list" {
                    @for sf in saved {
                        li {
                            a href={ "/admin/payments?" (m(&sf.query)) } { (sf.name) }
                            form method="post" action={ "/admin/filters/" (url_part(&sf.id)) "/delete" } class="pw-inline" {
                                (form_fields(staff))
                                button type="submit" class="pw-secondary" aria-label={ "Delete the saved filter " (sf.name) } { "Delete" }
                            }
                        }
                    }
                }
            }
            form method="post" action="/admin/filters" class="pw-filters" {
                (form_fields(staff))
                input type="hidden" name="query" value=(query);
                div { label for="pw-filter-name" { "Save these filters as" }
                      input id="pw-filter-name" name="name" maxlength="60" required; }
                div { button type="submit" { "Save filter" } }
            }
        }
    }
}

/// The payments list: the filters (a GET form), one page, the next page's link, the export.
#[allow(clippy::too_many_arguments)] // reason: a page of the list with its parts, each distinct
pub fn payments(
    staff: &Staff,
    f: &Filters,
    rows: &[SessionRow],
    next: Option<&str>,
    campaigns: &[String],
    saved: &[SavedFilter],
    message: Option<&str>,
) -> String {
    let loc = &staff.local;
    let query = f.to_query();
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let status = v(&f.status);
    let campaign = v(&f.campaign);
    page(
        "Payments",
        Some(staff),
        html! {
            h1 { "Payments" }
            (problem(message))
            form method="get" action="/admin/payments" class="pw-filters" role="search" {
                @if staff.memberships.len() > 1 {
                    input type="hidden" name="merchant" value=(staff.merchant);
                }
                div { label for="q" { "Search" }
                      input id="q" name="q" type="search" value=(v(&f.q)) placeholder="Email, name, receipt, key, id"; }
                div { label for="status" { "Status" }
                      select id="status" name="status" {
                          option value="" { "Any" }
                          @for s in SessionStatus::ALL {
                              @if s != SessionStatus::Unknown {
                                  option value=(s.as_str()) selected[status == s.as_str()] { (s.as_str()) }
                              }
                          }
                      } }
                div { label for="campaign" { "Campaign" }
                      select id="campaign" name="campaign" {
                          option value="" { "Any" }
                          @for c in campaigns { option value=(c) selected[campaign == *c] { (c) } }
                      } }
                div { label for="currency" { "Currency" } input id="currency" name="currency" value=(v(&f.currency)) maxlength="3"; }
                div { label for="min" { "Total from" } input id="min" name="min" inputmode="decimal" value=(v(&f.min)); }
                div { label for="max" { "Total to" } input id="max" name="max" inputmode="decimal" value=(v(&f.max)); }
                div { label for="from" { "From" } input id="from" name="from" type="date" value=(v(&f.from)); }
                div { label for="to" { "To" } input id="to" name="to" type="date" value=(v(&f.to)); }
                div { button type="submit" { "Filter" } }
            }
            p { a href={ "/admin/payments.csv?" (query) } download { "Export all matching payments (CSV)" } }
            (saved_filters(staff, saved, &Filters { merchant: None, before: None, ..f.clone() }.to_query()))
            div class="pw-scroll" tabindex="0" role="region" aria-label="Payments table" {
                table class="pw-table" {
                    caption { "Newest first" }
                    thead { tr {
                        th scope="col" { "Date (" (loc.zone()) ")" }
                        th scope="col" { "Payer" }
                        th scope="col" { "Campaign" }
                        th scope="col" class="pw-num" { "Total" }
                        th scope="col" { "Status" }
                        th scope="col" { "Recurring" }
                    } }
                    tbody {
                        @for r in rows {
                            tr {
                                td { a href={ "/admin/payments/" (url_part(&r.id)) @if staff.memberships.len() > 1 { "?" (m(staff)) } } { (loc.date(r.created)) } }
                                td { (r.email.as_deref().unwrap_or("–")) @if let Some(n) = &r.name { br; span class="pw-muted" { (n) } } }
                                td { (r.campaign) }
                                td class="pw-num" { (loc.money(Amount::from_minor(r.total(), r.currency))) }
                                td { (r.status.as_str()) @if r.amount_refunded > 0 && r.amount_refunded < r.total() { " (part refunded)" } }
                                td { (r.frequency.every()) }
                            }
                        }
                        @if rows.is_empty() {
                            tr { td colspan="6" { "No payments match." } }
                        }
                    }
                }
            }
            @if let Some(cursor) = next {
                p { a href={ "/admin/payments?" (query) @if !query.is_empty() { "&" } "before=" (url_part(cursor)) } { "Older payments" } }
            }
        },
    )
}

/// One payment: the particulars, the timeline, and (for those who may) the refund form.
pub fn payment(staff: &Staff, p: &Payment, form_key: &str, message: Option<&str>) -> String {
    let loc = &staff.local;
    let s = &p.session;
    let left = s.total() - s.amount_refunded;
    let refundable = staff.may_act()
        && s.payment_intent.is_some()
        && left > 0
        && matches!(
            s.status,
            SessionStatus::Paid
                | SessionStatus::Fulfilled
                | SessionStatus::Disputed
                | SessionStatus::Refunded
        );
    page(
        "Payment",
        Some(staff),
        html! {
            h1 { "Payment " (loc.money(Amount::from_minor(s.total(), s.currency))) }
            (problem(message))
            div class="pw-cards" {
                div class="pw-card" {
                    p { "Status: " strong { (s.status.as_str()) } }
                    p { "Payer: " (s.email.as_deref().unwrap_or("–")) @if let Some(n) = &s.name { " (" (n) ")" } }
                    p { "Campaign: " (s.campaign) " · " (s.frequency.every()) }
                    p { "Amount " (loc.money(Amount::from_minor(s.amount, s.currency))) " + fee covered " (loc.money(Amount::from_minor(s.fee, s.currency))) }
                    @if s.amount_refunded > 0 {
                        p { "Refunded: " (loc.money(Amount::from_minor(s.amount_refunded, s.currency))) }
                    }
                }
                div class="pw-card" {
                    p { "Session: " code { (s.id) } }
                    @if let Some(pi) = &s.payment_intent { p { "Payment: " code { (pi) } } }
                    @if let Some(sub) = &s.subscription { p { "Subscription: " code { (sub) } } }
                    @if let Some(f) = &p.fulfilment {
                        @if let Some(n) = &f.receipt_number { p { "Receipt: " (n) } }
                        @if f.license_key.is_some() { p { "Licence key issued" @if f.revoked { " (revoked)" } } }
                    }
                }
            }
            @if s.subscription.is_some() { (gift_section(staff, p)) }
            h2 { "Timeline" }
            ol class="pw-timeline" {
                @for e in &p.timeline {
                    li { time datetime=(loc.iso_date(e.at)) { (loc.when(e.at)) } (e.what) }
                }
            }
            form method="post" action={ "/admin/payments/" (url_part(&s.id)) "/note" } {
                (form_fields(staff))
                label for="pw-note" { "Add a note to the timeline (staff only)" }
                textarea id="pw-note" name="text" maxlength="2000" rows="3" required {}
                button type="submit" class="pw-secondary" { "Add note" }
            }
            @if staff.may_act() && p.fulfilment.is_some() && s.email.is_some() {
                form method="post" action={ "/admin/payments/" (url_part(&s.id)) "/resend" } {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    @if staff.memberships.len() > 1 { input type="hidden" name="merchant" value=(staff.merchant); }
                    button type="submit" class="pw-secondary" {
                        @if p.fulfilment.as_ref().is_some_and(|f| f.license_key.is_some()) {
                            "Send the licence key again"
                        } @else {
                            "Send the receipt again"
                        }
                    }
                }
            }
            @if refundable {
                h2 { "Refund" }
                form method="post" action={ "/admin/payments/" (url_part(&s.id)) "/refund" } {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    input type="hidden" name="key" value=(form_key);
                    @if staff.memberships.len() > 1 { input type="hidden" name="merchant" value=(staff.merchant); }
                    label for="amount" { "Amount (" (s.currency.code()) "); empty refunds everything left, " (loc.money(Amount::from_minor(left, s.currency))) }
                    input id="amount" name="amount" inputmode="decimal";
                    label for="reason" { "Reason" }
                    select id="reason" name="reason" {
                        @for r in RefundReason::ALL { option value=(r.as_str()) { (r.label()) } }
                    }
                    button type="submit" { "Refund" }
                }
            } @else if !staff.may_act() {
                p class="pw-muted" { "Viewers cannot refund." }
            }
        },
    )
}

/// The licences list: a search (key, email, order reference) and the matches.
pub fn licences(staff: &Staff, q: &str, rows: &[SessionRow], message: Option<&str>) -> String {
    let loc = &staff.local;
    page(
        "Licences",
        Some(staff),
        html! {
            h1 { "Licences" }
            (problem(message))
            form method="get" action="/admin/licences" class="pw-filters" role="search" {
                @if staff.memberships.len() > 1 {
                    input type="hidden" name="merchant" value=(staff.merchant);
                }
                div { label for="q" { "Key, email or order" } input id="q" name="q" type="search" value=(q); }
                div { button type="submit" { "Find" } }
            }
            div class="pw-scroll" tabindex="0" role="region" aria-label="Licences table" {
                table class="pw-table" {
                    thead { tr {
                        th scope="col" { "Bought (" (loc.zone()) ")" }
                        th scope="col" { "Customer" }
                        th scope="col" { "Product" }
                        th scope="col" { "Status" }
                    } }
                    tbody {
                        @for r in rows {
                            tr {
                                td { a href={ "/admin/licences/" (url_part(&r.id)) @if staff.memberships.len() > 1 { "?" (m(staff)) } } { (loc.date(r.created)) } }
                                td { (r.email.as_deref().unwrap_or("–")) }
                                td { (r.campaign) @if let Some(t) = &r.tier { " · " (t) } }
                                td { (r.status.as_str()) }
                            }
                        }
                        @if rows.is_empty() { tr { td colspan="4" { "No licence matches." } } }
                    }
                }
            }
        },
    )
}

/// The activation doctor: seats, installations (free one, or all), the last attempts with
/// the reason of each refusal.
pub fn licence(staff: &Staff, l: &LicenceView, message: Option<&str>) -> String {
    let loc = &staff.local;
    let s = &l.session;
    let used = l.installations.len();
    let action = format!("/admin/licences/{}/seats", url_part(&s.id));
    page(
        "Licence",
        Some(staff),
        html! {
            h1 { "Licence of " (s.email.as_deref().unwrap_or("–")) }
            (problem(message))
            div class="pw-cards" {
                div class="pw-card" {
                    p { "Seats: " strong { (used) " of " (l.seats) } " in use" }
                    p { "Product: " (s.campaign) @if let Some(t) = &s.tier { " · " (t) } }
                    p { "Order: " code { (s.id) } }
                    @if let Some(f) = &l.fulfilment {
                        @if let Some(key) = &f.license_key {
                            p { "Key ends in " code { (key.chars().rev().take(8).collect::<String>().chars().rev().collect::<String>()) } }
                        }
                        @if f.revoked { p { strong { "Revoked" } @if let Some(r) = &f.revoked_reason { " (" (r) ")" } } }
                    }
                }
            }
            h2 { "Installations" }
            div class="pw-scroll" tabindex="0" role="region" aria-label="Installations table" {
                table class="pw-table" {
                    thead { tr {
                        th scope="col" { "Instance" }
                        th scope="col" { "First seen" }
                        th scope="col" { "Last seen" }
                        @if staff.may_act() { th scope="col" { span class="pw-muted" { "Action" } } }
                    } }
                    tbody {
                        @for i in &l.installations {
                            tr {
                                th scope="row" { (i.instance) }
                                td { (loc.when(i.first_seen)) }
                                td { (loc.when(i.last_seen.unwrap_or(i.first_seen))) }
                                @if staff.may_act() {
                                    td {
                                        form method="post" action=(action) class="pw-inline" {
                                            input type="hidden" name="csrf" value=(staff.csrf);
                                            input type="hidden" name="instance" value=(i.instance);
                                            @if staff.memberships.len() > 1 { input type="hidden" name="merchant" value=(staff.merchant); }
                                            button type="submit" class="pw-secondary" aria-label={ "Free the seat of " (i.instance) } { "Free this seat" }
                                        }
                                    }
                                }
                            }
                        }
                        @if l.installations.is_empty() { tr { td colspan="4" { "No installation holds a seat." } } }
                    }
                }
            }
            @if staff.may_act() && !l.installations.is_empty() {
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    @if staff.memberships.len() > 1 { input type="hidden" name="merchant" value=(staff.merchant); }
                    button type="submit" class="pw-secondary" { "Free every seat" }
                }
            }
            @if staff.may_act() && l.fulfilment.as_ref().is_some_and(|f| !f.revoked) {
                (licence_care(staff, l))
            }
            h2 { "Last activation attempts" }
            div class="pw-scroll" tabindex="0" role="region" aria-label="Activation attempts table" {
                table class="pw-table" {
                    thead { tr {
                        th scope="col" { "When (" (loc.zone()) ")" }
                        th scope="col" { "Instance" }
                        th scope="col" { "Outcome" }
                        th scope="col" { "Why" }
                    } }
                    tbody {
                        @for a in &l.attempts {
                            tr {
                                td { (loc.when(a.at)) }
                                td { (a.instance) }
                                td { (a.outcome) }
                                td { (a.reason.as_deref().unwrap_or("")) @if a.reason.is_some() { ": " (refusal_words(a.reason.as_deref())) } }
                            }
                        }
                        @if l.attempts.is_empty() { tr { td colspan="4" { "No activation yet." } } }
                    }
                }
            }
        },
    )
}

fn minor(loc: &Local, amount: i64, currency: &str) -> String {
    match Currency::from_code(currency) {
        Ok(c) => loc.money(Amount::from_minor(amount, c)),
        Err(_) => format!("{amount} {currency}"),
    }
}

/// Settlement: payouts by arrival day with their figures, what does not match, and what is not
/// paid out yet.
pub fn settlement(
    staff: &Staff,
    s: &Settlement,
    from: &str,
    to: &str,
    message: Option<&str>,
) -> String {
    let loc = &staff.local;
    let q = m(staff);
    let amp = if q.is_empty() { "" } else { "&" };
    page(
        "Settlement",
        Some(staff),
        html! {
            h1 { "Settlement" }
            p { "The payment processor's payouts to your bank arriving from " (from) " to " (to)
                " (UTC), each transaction matched to a payment here." }
            (problem(message))
            form method="get" action="/admin/settlement" class="pw-filters" {
                @if staff.memberships.len() > 1 { input type="hidden" name="merchant" value=(staff.merchant); }
                div { label for="from" { "Arriving from" } input id="from" name="from" type="date" value=(from); }
                div { label for="to" { "To" } input id="to" name="to" type="date" value=(to); }
                div { button type="submit" { "Show" } }
            }
            p { a href={ "/admin/settlement.csv?from=" (from) "&to=" (to) (amp) (q) } download { "Export every transaction (CSV)" } }
            div class="pw-scroll" tabindex="0" role="region" aria-label="Payouts table" {
                table class="pw-table" {
                    caption { "Payouts, newest first" }
                    thead { tr {
                        th scope="col" { "Arrives (UTC)" }
                        th scope="col" { "Status" }
                        th scope="col" class="pw-num" { "Gross" }
                        th scope="col" class="pw-num" { "Fees" }
                        th scope="col" class="pw-num" { "Refunds" }
                        th scope="col" class="pw-num" { "Disputes" }
                        th scope="col" class="pw-num" { "Net paid out" }
                        th scope="col" class="pw-num" { "Transactions" }
                    } }
                    tbody {
                        @for p in &s.payouts {
                            @let c = p.payout.currency.as_str();
                            tr {
                                th scope="row" { (crate::mail::civil_date(p.payout.arrival_date)) " " (c.to_uppercase()) }
                                td { (p.payout.status) }
                                td class="pw-num" { (minor(loc, p.gross, c)) }
                                td class="pw-num" { (minor(loc, -p.fees, c)) }
                                td class="pw-num" { (minor(loc, p.refunds, c)) }
                                td class="pw-num" { (minor(loc, p.disputes, c)) }
                                td class="pw-num" { (minor(loc, p.payout.amount, c)) }
                                td class="pw-num" { (p.lines.len()) }
                            }
                        }
                        @if s.payouts.is_empty() { tr { td colspan="8" { "No payout arrives in these days." } } }
                    }
                }
            }
            h2 { "Mismatches (" (s.problems.len()) ")" }
            @if s.problems.is_empty() {
                p { "Every transaction matches a payment here, and every payout adds up." }
            } @else {
                ul {
                    @for (what, why) in &s.problems {
                        li { code { (what) } ": " (why) }
                    }
                }
            }
            h2 { "Not paid out yet (" (s.not_paid_out.len()) ")" }
            @if s.not_paid_out.is_empty() {
                p { "Every paid payment of these days is in a payout above." }
            } @else {
                div class="pw-scroll" tabindex="0" role="region" aria-label="Payments not paid out table" {
                    table class="pw-table" {
                        thead { tr {
                            th scope="col" { "Date (" (loc.zone()) ")" }
                            th scope="col" { "Payment" }
                            th scope="col" class="pw-num" { "Total" }
                        } }
                        tbody {
                            @for r in &s.not_paid_out {
                                tr {
                                    td { (loc.date(r.created)) }
                                    th scope="row" { a href={ "/admin/payments/" (url_part(&r.id)) @if !q.is_empty() { "?" (q) } } { (r.id) } }
                                    td class="pw-num" { (loc.money(Amount::from_minor(r.total(), r.currency))) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn percent(n: i64, d: i64) -> String {
    if d == 0 {
        "–".into()
    } else {
        format!("{:.2} %", n as f64 * 100.0 / d as f64)
    }
}

/// The merchant's disputes with their deadlines.
pub fn disputes(staff: &Staff, rows: &[DisputeRow], now: i64) -> String {
    let loc = &staff.local;
    let q = m(staff);
    page(
        "Disputes",
        Some(staff),
        html! {
            h1 { "Disputes" }
            p { "A payer's bank took a payment back until it decides. Answer each open one with                  your evidence before its deadline, in your payment processor's dashboard; each                  dispute's page gathers what this host knows of the payment." }
            div class="pw-scroll" tabindex="0" role="region" aria-label="Disputes table" {
                table class="pw-table" {
                    caption { "Open disputes first, then the newest" }
                    thead { tr {
                        th scope="col" { "Dispute" }
                        th scope="col" class="pw-num" { "Amount" }
                        th scope="col" { "Reason" }
                        th scope="col" { "Evidence due (" (loc.zone()) ")" }
                        th scope="col" { "Time left" }
                    } }
                    tbody {
                        @for d in rows {
                            tr {
                                th scope="row" { a href={ "/admin/disputes/" (url_part(&d.id)) @if !q.is_empty() { "?" (q) } } { (d.id) } }
                                td class="pw-num" { (minor(loc, d.amount, &d.currency)) }
                                td { (d.reason) }
                                td { @match d.due_by { Some(t) => (loc.when(t)), None => "–" } }
                                td { (super::disputes::countdown(d, now)) }
                            }
                        }
                        @if rows.is_empty() { tr { td colspan="5" { "No dispute. May it stay so." } } }
                    }
                }
            }
        },
    )
}

/// One dispute and the evidence the host holds.
pub fn dispute(staff: &Staff, e: &Evidence, now: i64) -> String {
    let loc = &staff.local;
    let d = &e.dispute;
    let s = &e.payment.session;
    let q = m(staff);
    page(
        "Dispute",
        Some(staff),
        html! {
            h1 { "Dispute " code { (d.id) } }
            div class="pw-cards" {
                div class="pw-card" {
                    p { "Amount: " strong { (minor(loc, d.amount, &d.currency)) } }
                    p { "Reason: " (d.reason) }
                    p { "Status: " (d.status) }
                    p { "Evidence due: " @match d.due_by { Some(t) => { (loc.when(t)) " " (loc.zone()) }, None => "–" }
                        " (" (super::disputes::countdown(d, now)) ")" }
                }
                div class="pw-card" {
                    p { "Payment: " a href={ "/admin/payments/" (url_part(&s.id)) @if !q.is_empty() { "?" (q) } } { (s.id) } }
                    p { "Paid by " (s.email.as_deref().unwrap_or("–")) @if let Some(n) = &s.name { " (" (n) ")" } }
                    p { "On " (loc.when(s.created)) " " (loc.zone()) ", " (loc.money(Amount::from_minor(s.total(), s.currency))) " to " (s.campaign) }
                    @if let Some(pi) = &s.payment_intent { p { "Gateway payment: " code { (pi) } } }
                }
            }
            h2 { "Evidence this host holds" }
            ul {
                @if let Some(f) = &e.payment.fulfilment {
                    @if let Some(r) = &f.receipt_number { li { "Receipt " strong { (r) } " issued " (loc.when(f.created)) " " (loc.zone()) "." } }
                    @if f.license_key.is_some() { li { "Licence key issued " (loc.when(f.created)) " " (loc.zone()) "." } }
                }
                @if let Some(l) = &e.licence {
                    li { "Licence used: " (l.installations.len()) " of " (l.seats) " seats." }
                    @for i in &l.installations {
                        li { "Installation " code { (i.instance) } " activated " (loc.when(i.first_seen)) " " (loc.zone())
                             @if let Some(t) = i.last_seen { ", last seen " (loc.when(t)) " " (loc.zone()) } "." }
                    }
                }
                @let t = &e.terms;
                li {
                    "Terms accepted at checkout: the payer pressed “" (t.button) "”"
                    @if let Some(at) = t.accepted_at { " at " (loc.when(at)) " " (loc.zone()) }
                    @match &t.recurring {
                        Some(r) => { ", under the words “" (r) "”." }
                        None => { " (a single payment, no recurring terms)." }
                    }
                }
                @if let Some(l) = &t.licence { li { "What the licence grants, as the checkout named it: " (l) "." } }
            }
            h2 { "Timeline" }
            ol class="pw-timeline" {
                @for ev in &e.payment.timeline {
                    li { time datetime=(loc.iso_date(ev.at)) { (loc.when(ev.at)) } (ev.what) }
                }
            }
        },
    )
}

/// A recurring gift's state and, for owners and support, the donor's actions taken for them.
fn gift_section(staff: &Staff, p: &Payment) -> Markup {
    let loc = &staff.local;
    let s = &p.session;
    let state = crate::portal::GiftState::of(s, p.fulfilment.as_ref().and_then(|f| f.paid_until));
    let action = format!("/admin/payments/{}/gift", url_part(&s.id));
    let offered = crate::portal::offers(s);
    html! {
        h2 { "Recurring gift" }
        p { (state.words()) " · " (loc.money(Amount::from_minor(s.next_amount.unwrap_or(s.amount), s.currency))) " " (s.frequency.every()) }
        @if staff.may_act() {
            div class="pw-actions" {
                @for a in &offered {
                    @if *a != crate::portal::GiftAction::Amount {
                        form method="post" action=(action) {
                            (form_fields(staff))
                            input type="hidden" name="action" value=(a.as_str());
                            button type="submit" class="pw-secondary" { (a.label()) }
                        }
                    }
                }
                @if s.email.is_some() {
                    form method="post" action=(action) {
                        (form_fields(staff))
                        input type="hidden" name="action" value="card_link";
                        button type="submit" class="pw-secondary" { "Mail the update-card link" }
                    }
                }
            }
            @if offered.contains(&crate::portal::GiftAction::Amount) {
                form method="post" action=(action) class="pw-filters" {
                    (form_fields(staff))
                    input type="hidden" name="action" value="amount";
                    div { label for="pw-gift-amount" { "New amount (" (s.currency.code()) ")" }
                          input id="pw-gift-amount" name="amount" inputmode="decimal" required; }
                    div { button type="submit" class="pw-secondary" { "Change from the next gift" } }
                }
            }
        }
    }
}

/// The merchant's recurring gifts: needing attention, running (with the monthly recurring
/// revenue), ended.
pub fn gifts(staff: &Staff, g: &Gifts) -> String {
    let loc = &staff.local;
    let q = m(staff);
    let table = |label: &str, rows: &[SessionRow]| {
        html! {
            div class="pw-scroll" tabindex="0" role="region" aria-label=(label) {
                table class="pw-table" {
                    thead { tr {
                        th scope="col" { "Started (" (loc.zone()) ")" }
                        th scope="col" { "Donor" }
                        th scope="col" class="pw-num" { "Gift" }
                        th scope="col" { "State" }
                    } }
                    tbody {
                        @for r in rows {
                            tr {
                                td { a href={ "/admin/payments/" (url_part(&r.id)) @if !q.is_empty() { "?" (q) } } { (loc.date(r.created)) } }
                                th scope="row" { (r.email.as_deref().unwrap_or("–")) }
                                td class="pw-num" { (loc.money(Amount::from_minor(r.next_amount.unwrap_or(r.amount), r.currency))) " " (r.frequency.every()) }
                                td { @if r.paused { "paused" } @else { (r.subscription_status.map_or("–", |st| st.as_str())) } }
                            }
                        }
                        @if rows.is_empty() { tr { td colspan="4" { "None." } } }
                    }
                }
            }
        }
    };
    page(
        "Recurring gifts",
        Some(staff),
        html! {
            h1 { "Recurring gifts and subscriptions" }
            p {
                "Monthly recurring revenue: "
                @if g.mrr.is_empty() { "none" }
                @for (i, (c, v)) in g.mrr.iter().enumerate() {
                    @if i > 0 { ", " }
                    strong { (loc.money(Amount::from_minor(*v, *c))) }
                }
                " from " (g.active.len()) " running (yearly gifts count a twelfth)."
            }
            @let (failed, recovered) = g.dunning;
            p {
                "Failed renewals, last 30 days: " strong { (failed) } " could not be charged at first; "
                strong { (recovered) } " were paid since (recovery rate " (percent(recovered, failed)) ")."
            }
            h2 { "Needs attention (" (g.attention.len()) ")" }
            p { "A renewal could not be charged (the gateway retries; mail the donor the update-card link from the gift's page), or the gift is paused." }
            (table("Gifts needing attention table", &g.attention))
            h2 { "Running (" (g.active.len()) ")" }
            (table("Running gifts table", &g.active))
            h2 { "Ended: lapsed donors (" (g.ended.len()) ")" }
            (table("Ended gifts table", &g.ended))
        },
    )
}

/// Support's care for a licence: a seat more, more days, suspend or reinstate, revoke (owners).
fn licence_care(staff: &Staff, l: &LicenceView) -> Markup {
    let action = format!("/admin/licences/{}/care", url_part(&l.session.id));
    let suspended = l.fulfilment.as_ref().is_some_and(|f| f.suspended);
    html! {
        h2 { "Help this customer" }
        @if suspended { p { strong { "Suspended:" } " activations and checks are refused until you lift it." } }
        div class="pw-actions" {
            form method="post" action=(action) {
                (form_fields(staff))
                input type="hidden" name="action" value="add_seat";
                button type="submit" class="pw-secondary" { "Add a seat" }
            }
            form method="post" action=(action) {
                (form_fields(staff))
                input type="hidden" name="action" value=(if suspended { "reinstate" } else { "suspend" });
                button type="submit" class="pw-secondary" { @if suspended { "Lift the suspension" } @else { "Suspend" } }
            }
            @if staff.role == crate::config::Role::Owner {
                form method="post" action=(action) {
                    (form_fields(staff))
                    input type="hidden" name="action" value="revoke";
                    button type="submit" class="pw-secondary" { "Revoke for good" }
                }
            }
        }
        form method="post" action=(action) class="pw-filters" {
            (form_fields(staff))
            input type="hidden" name="action" value="extend";
            div { label for="pw-extend" { "Extend by (days)" }
                  select id="pw-extend" name="days" {
                      option value="7" { "7" } option value="30" selected { "30" }
                      option value="90" { "90" } option value="365" { "365" }
                  } }
            div { button type="submit" class="pw-secondary" { "Extend" } }
        }
    }
}

/// The health view.
pub fn health(staff: &Staff, h: &Health, message: Option<&str>) -> String {
    let loc = &staff.local;
    let (received, avg, max, last) = h.summary();
    page(
        "Health",
        Some(staff),
        html! {
            h1 { "Health" }
            (problem(message))
            h2 { "The payment processor" }
            @let g = h.gateway;
            p {
                "This host process's last " strong { (g.calls) } " calls: " strong { (g.failed) } " not answered ("
                (percent(i64::try_from(g.failed).unwrap_or(0), i64::try_from(g.calls).unwrap_or(0)))
                "); answered in " (g.p50_ms) " ms (median), " (g.p95_ms) " ms (95 %). "
                "When most calls fail, the owners are mailed once a day."
            }
            h2 { "The payment processor's webhooks" }
            p {
                "Last 24 hours: " strong { (received) } " received, on average " (avg) " s after the \
                 event (at most " (max) " s). "
                @match last { Some(t) => { "The last came at " (loc.when(t)) " " (loc.zone()) "." }, None => "None came." }
                " Refused by this host process since it started (bad signature): " (h.refused_here) "."
            }
            p {
                "Payments waiting for their webhook (paid over 15 minutes ago, in the last 6 hours): "
                strong { (h.waiting) } ". "
                @if h.waiting > 0 {
                    "Webhooks may have stopped: check the endpoint and its secret in the processor's \
                     dashboard. The owners are mailed once a day while this lasts."
                }
            }
            div class="pw-scroll" tabindex="0" role="region" aria-label="Webhooks per hour table" {
                table class="pw-table" {
                    caption { "Per hour (" (loc.zone()) ")" }
                    thead { tr {
                        th scope="col" { "Hour" }
                        th scope="col" class="pw-num" { "Received" }
                        th scope="col" class="pw-num" { "Average lateness" }
                        th scope="col" class="pw-num" { "Most" }
                    } }
                    tbody {
                        @for hour in &h.hours {
                            tr {
                                th scope="row" { (loc.when(hour.hour * 3600)) }
                                td class="pw-num" { (hour.received) }
                                td class="pw-num" { (hour.delay_total.checked_div(hour.received).unwrap_or(0)) " s" }
                                td class="pw-num" { (hour.delay_max) " s" }
                            }
                        }
                        @if h.hours.is_empty() { tr { td colspan="4" { "No webhook in the last 24 hours." } } }
                    }
                }
            }
            h2 { "Weekly digest" }
            p { "On Monday mornings (UTC) the owners get the week: raised, payments, declines, disputes. It is "
                strong { @if h.digest_on { "on" } @else { "off" } } "." }
            @if staff.role == crate::config::Role::Owner {
                form method="post" action="/admin/digest" {
                    (form_fields(staff))
                    input type="hidden" name="on" value=(if h.digest_on { "false" } else { "true" });
                    button type="submit" class="pw-secondary" { @if h.digest_on { "Turn the digest off" } @else { "Turn the digest on" } }
                }
            }
        },
    )
}

/// The hidden fields every dashboard form carries.
fn form_fields(staff: &Staff) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(staff.csrf);
        @if staff.memberships.len() > 1 { input type="hidden" name="merchant" value=(staff.merchant); }
    }
}

/// A new secret, shown once.
fn secret_shown(secret: &str) -> Markup {
    html! {
        div class="pw-card" role="status" {
            p { "The signing secret (copy it now: it is not shown again):" }
            p { code class="pw-secret" { (secret) } }
        }
    }
}

fn endpoint_state(loc: &Local, e: &HookEndpoint) -> String {
    match (e.disabled, &e.disabled_reason, e.failing_since) {
        (Some(at), reason, _) => format!(
            "Off since {} ({})",
            loc.when(at),
            reason.as_deref().unwrap_or("switched off")
        ),
        (None, _, Some(since)) => format!("On, failing since {}", loc.when(since)),
        (None, _, None) => "On".into(),
    }
}

fn events_words(f: &EventFilter) -> String {
    match f {
        EventFilter::All => "every event".into(),
        EventFilter::Only(list) => list
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The merchant's webhook endpoints and the form adding one (owners only).
pub fn webhooks(
    staff: &Staff,
    endpoints: &[HookEndpoint],
    added: Option<(&HookEndpoint, &str)>,
    message: Option<&str>,
) -> String {
    let loc = &staff.local;
    let q = m(staff);
    let sep = if q.is_empty() { "" } else { "?" };
    page(
        "Webhooks",
        Some(staff),
        html! {
            h1 { "Webhooks" }
            p {
                "Events sent to your own systems, signed as the Standard Webhooks specification                  says (" code { "webhook-id" } ", " code { "webhook-timestamp" } ", "
                code { "webhook-signature" } "): verify them with its libraries and your                  endpoint's secret. Failed deliveries are retried for about a day and a half."
            }
            (problem(message))
            @if let Some((e, secret)) = added {
                p { "Added " code { (e.url) } "." }
                (secret_shown(secret))
            }
            div class="pw-scroll" tabindex="0" role="region" aria-label="Endpoints table" {
                table class="pw-table" {
                    thead { tr {
                        th scope="col" { "Endpoint" }
                        th scope="col" { "Events" }
                        th scope="col" { "State" }
                        th scope="col" { "Added (" (loc.zone()) ")" }
                    } }
                    tbody {
                        @for e in endpoints {
                            tr {
                                th scope="row" { a href={ "/admin/webhooks/" (url_part(&e.id)) (sep) (q) } { (e.url) } }
                                td { (events_words(&EventFilter::from_stored(&e.events))) }
                                td { (endpoint_state(loc, e)) }
                                td { (loc.when(e.created)) }
                            }
                        }
                        @if endpoints.is_empty() { tr { td colspan="4" { "No endpoint yet." } } }
                    }
                }
            }
            h2 { "Add an endpoint" }
            form method="post" action="/admin/webhooks" {
                (form_fields(staff))
                label for="pw-hook-url" { "URL (https://)" }
                input id="pw-hook-url" name="url" type="url" inputmode="url" required placeholder="https://example.org/paywidget-webhooks";
                fieldset {
                    legend { "Events (none ticked: every event)" }
                    @for e in HookEvent::ALL {
                        label class="pw-check" {
                            input type="checkbox" name="events" value=(e.as_str());
                            " " (e.as_str())
                        }
                    }
                }
                button type="submit" { "Add endpoint" }
            }
        },
    )
}

/// One endpoint: its state, actions and delivery log.
pub fn webhook(
    staff: &Staff,
    v: &EndpointView,
    new_secret: Option<&str>,
    message: Option<&str>,
) -> String {
    let loc = &staff.local;
    let e = &v.endpoint;
    let base = format!("/admin/webhooks/{}", url_part(&e.id));
    page(
        "Webhook endpoint",
        Some(staff),
        html! {
            h1 { "Endpoint " code { (e.url) } }
            (problem(message))
            @if let Some(secret) = new_secret { (secret_shown(secret)) }
            div class="pw-cards" {
                div class="pw-card" {
                    p { "State: " strong { (endpoint_state(loc, e)) } }
                    p { "Events: " (events_words(&v.filter)) }
                    @if let Some(until) = e.old_until {
                        p { "After the last rotation, the previous secret signed too until " (loc.when(until)) " " (loc.zone()) "." }
                    }
                }
            }
            div class="pw-actions" {
                form method="post" action={ (base) "/test" } {
                    (form_fields(staff))
                    button type="submit" class="pw-secondary" { "Send a test event" }
                }
                form method="post" action={ (base) "/rotate" } {
                    (form_fields(staff))
                    button type="submit" class="pw-secondary" { "Rotate the secret" }
                }
                @if e.disabled.is_some() {
                    form method="post" action={ (base) "/on" } {
                        (form_fields(staff))
                        button type="submit" class="pw-secondary" { "Switch on" }
                    }
                } @else {
                    form method="post" action={ (base) "/off" } {
                        (form_fields(staff))
                        button type="submit" class="pw-secondary" { "Switch off" }
                    }
                }
            }
            h2 { "Replay" }
            form method="post" action={ (base) "/replay-since" } class="pw-filters" {
                (form_fields(staff))
                label for="pw-since" { "Every event since (UTC day)" }
                input id="pw-since" name="since" type="date" required;
                button type="submit" class="pw-secondary" { "Send again" }
            }
            h2 { "Deliveries" }
            div class="pw-scroll" tabindex="0" role="region" aria-label="Deliveries table" {
                table class="pw-table" {
                    caption { "The last " (v.log.len()) " tries, newest first" }
                    thead { tr {
                        th scope="col" { "When (" (loc.zone()) ")" }
                        th scope="col" { "Event" }
                        th scope="col" { "Answer" }
                        th scope="col" class="pw-num" { "Time" }
                        th scope="col" { "Body (start)" }
                        th scope="col" { "Delivery" }
                        th scope="col" { span class="pw-muted" { "Action" } }
                    } }
                    tbody {
                        @for l in &v.log {
                            tr {
                                td { (loc.when(l.attempt.at)) }
                                th scope="row" { (l.kind) br; code class="pw-muted" { (l.attempt.message) } }
                                td {
                                    @match (l.attempt.status, &l.attempt.error) {
                                        (Some(code), _) => { "HTTP " (code) }
                                        (None, Some(why)) => { (why) }
                                        (None, None) => { "no answer" }
                                    }
                                }
                                td class="pw-num" { (l.attempt.latency_ms) " ms" }
                                td { code { (l.attempt.response.as_deref().unwrap_or("").chars().take(120).collect::<String>()) } }
                                td { (l.state) }
                                td {
                                    form method="post" action={ (base) "/replay" } class="pw-inline" {
                                        (form_fields(staff))
                                        input type="hidden" name="message" value=(l.attempt.message);
                                        button type="submit" class="pw-secondary" aria-label={ "Replay " (l.attempt.message) } { "Replay" }
                                    }
                                }
                            }
                        }
                        @if v.log.is_empty() { tr { td colspan="7" { "Nothing sent yet." } } }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_percentages() {
        assert_eq!(change(150, 100), "+50 %");
        assert_eq!(change(50, 100), "-50 %");
        assert_eq!(change(0, 0), "no change");
        assert_eq!(change(5, 0), "new");
    }

    #[test]
    fn a_chart_has_its_title_description_and_table() {
        let usd = Currency::from_code("USD").unwrap();
        let days = [DayTotal {
            day: 2,
            currency: "USD".into(),
            payments: 3,
            gross: 4500,
            refunded: 0,
        }];
        let out = day_chart(&Local::utc(), &days, usd, 1, 3).into_string();
        assert!(out.contains("role=\"img\""), "{out}");
        assert!(out.contains("<title id=\"pw-chart-USD-t\">"), "{out}");
        assert!(out.contains("<desc id=\"pw-chart-USD-d\">"), "{out}");
        assert!(out.contains("1970-01-03"), "{out}");
        assert_eq!(out.matches("<rect").count(), 3);
    }
}
