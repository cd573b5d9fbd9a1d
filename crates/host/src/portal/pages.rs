//! The customer portal's pages, server-rendered HTML (no script; one stylesheet; every value
//! escaped through [`crate::support::html::escape`]; every change is a POST form carrying the CSRF token).

use paywidget_core::api::{CampaignKind, SessionStatus};
use paywidget_core::money::Amount;

use crate::portal::{Customer, Item};
use crate::support::html::escape;

/// The portal pages' Content-Security-Policy: nothing but this origin's stylesheet and forms.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Your payments</title><link rel=\"stylesheet\" href=\"/portal/portal.css\"></head>\
         <body><main class=\"pw-portal\">{body}</main></body></html>",
        escape(title)
    )
}

fn problem(message: Option<&str>) -> String {
    message.map_or_else(String::new, |m| {
        format!(
            "<p class=\"pw-problem\" role=\"alert\" id=\"pw-portal-problem\">{}</p>",
            escape(m)
        )
    })
}

/// Asks for the email address.
pub fn sign_in(message: Option<&str>) -> String {
    page(
        "Sign in",
        &format!(
            "<h1>Your payments</h1>\
             <p>Receipts, licence keys and recurring gifts, for the email address you paid with.</p>\
             {}\
             <form method=\"post\" action=\"/portal/sign-in\">\
             <label for=\"email\">Email</label>\
             <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" inputmode=\"email\" required>\
             <button type=\"submit\">Email me a sign-in link</button></form>",
            problem(message)
        ),
    )
}

/// After asking: check the mail, or type its code.
pub fn check_email(email: &str, message: Option<&str>) -> String {
    page(
        "Check your email",
        &format!(
            "<h1>Check your email</h1>\
             <p>If <strong>{e}</strong> has paid here, we have sent it a sign-in link and a 6-digit code. \
             They work once, for 15 minutes.</p>{}\
             <form method=\"post\" action=\"/portal/login\">\
             <input type=\"hidden\" name=\"email\" value=\"{e}\">\
             <label for=\"code\">6-digit code</label>\
             <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\" required>\
             <button type=\"submit\">Sign in</button></form>\
             <p><a href=\"/portal\">Use another address</a></p>",
            problem(message),
            e = escape(email)
        ),
    )
}

/// The magic link's landing page: a button, so that mail scanners opening the link do not
/// use it up.
pub fn confirm_link(token: &str) -> String {
    page(
        "Sign in",
        &format!(
            "<h1>Sign in</h1>\
             <form method=\"post\" action=\"/portal/login\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">Continue to your payments</button></form>",
            escape(token)
        ),
    )
}

fn status_words(it: &Item) -> String {
    let s = &it.session;
    match s.status {
        SessionStatus::Refunded => "Refunded".into(),
        SessionStatus::Disputed => "Disputed".into(),
        _ => match (s.subscription_status.as_deref(), s.cancel_at_period_end) {
            (Some("canceled"), _) => "Ended".into(),
            (Some(_), false) if s.paused => "Paused".into(),
            (Some(_), true) => match it.paid_until {
                Some(end) => format!(
                    "Ends at the end of this period, on {}",
                    crate::mail::civil_date(end)
                ),
                None => "Ends at the end of this period".into(),
            },
            (Some("past_due"), _) => "Payment failed: we will try again".into(),
            // A frequency change waits out the period already given for as a trial.
            (Some("trialing"), _) => "Active".into(),
            (Some(status), _) => {
                let mut w = status.replace('_', " ");
                if let Some(first) = w.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                w
            }
            (None, _) => "Paid".into(),
        },
    }
}

/// The signed-in overview.
pub fn overview(c: &Customer, items: &[Item], message: Option<&str>) -> String {
    let csrf = escape(&c.csrf);
    let mut body = format!(
        "<h1>Your payments</h1><p>Signed in as <strong>{}</strong>.</p>{}",
        escape(&c.email),
        problem(message)
    );
    if items.is_empty() {
        body.push_str("<p>There are no payments for this address yet.</p>");
    }
    for it in items {
        let s = &it.session;
        let id = escape(&s.id);
        let total = Amount::from_minor(s.next_amount.unwrap_or(s.total()), s.currency).to_string();
        body.push_str(&format!(
            "<section class=\"pw-portal-item\" aria-labelledby=\"t-{id}\">\
             <h2 id=\"t-{id}\">{}</h2><p>{} {} · <span class=\"pw-portal-status\">{}</span></p>",
            escape(&it.title),
            escape(&total),
            escape(s.frequency.every()),
            escape(&status_words(it)),
        ));
        if !it.receipts.is_empty() {
            body.push_str("<p>Receipts: ");
            body.push_str(
                &it.receipts
                    .iter()
                    .map(|r| escape(r).into_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            body.push_str(&format!(
                " · <a href=\"/thanks/{id}\">Printable receipt</a></p>"
            ));
        }
        if s.kind == CampaignKind::License {
            if let Some(key) = &it.licence_key {
                body.push_str(&format!(
                    "<p>Licence key:</p><pre class=\"pw-portal-key\">{}</pre>",
                    escape(key)
                ));
            }
            body.push_str(&format!(
                "<p>Activations: {} of {} seats</p><ul>",
                it.activations.len(),
                it.seats
            ));
            for instance in &it.activations {
                let i = escape(instance);
                body.push_str(&format!(
                    "<li>{i} <form method=\"post\" action=\"/portal/deactivate\" class=\"pw-inline\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                     <input type=\"hidden\" name=\"order\" value=\"{id}\">\
                     <input type=\"hidden\" name=\"instance\" value=\"{i}\">\
                     <button type=\"submit\" aria-label=\"Deactivate {i}\">Deactivate</button></form></li>"
                ));
            }
            body.push_str("</ul>");
        }
        let live = s.subscription.is_some()
            && !matches!(
                s.subscription_status.as_deref(),
                Some("canceled" | "incomplete_expired")
            );
        if live {
            let (action, label) = if s.cancel_at_period_end {
                ("resume", "Keep giving")
            } else {
                ("cancel", "Cancel at the end of this period")
            };
            let (pause, pause_label) = if s.paused {
                ("unpause", "Resume payments")
            } else {
                ("pause", "Pause payments")
            };
            let now_amount =
                Amount::from_minor(s.next_amount.unwrap_or(s.amount), s.currency).format_plain();
            // A gift that ends with this period offers only to keep it going.
            if s.kind == CampaignKind::Donation && !s.cancel_at_period_end {
                // One form: the amount, and the frequency when the campaign offers another.
                let mut choose = String::new();
                if it.frequencies.len() > 1 {
                    choose.push_str(&format!(
                        "<label for=\"frequency-{id}\">How often</label>\
                         <select id=\"frequency-{id}\" name=\"frequency\">"
                    ));
                    for f in &it.frequencies {
                        choose.push_str(&format!(
                            "<option value=\"{}\"{}>{}</option>",
                            f.as_str(),
                            if *f == s.frequency { " selected" } else { "" },
                            escape(f.every())
                        ));
                    }
                    choose.push_str(
                        "</select><p class=\"pw-portal-hint\">A new frequency starts when the \
                         period you have already given for ends; nothing is charged now.</p>",
                    );
                }
                body.push_str(&format!(
                    "<form method=\"post\" action=\"/portal/subscription\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"session\" value=\"{id}\">\
                 <input type=\"hidden\" name=\"action\" value=\"amount\">\
                 <label for=\"amount-{id}\">New amount ({}) from the next gift</label>\
                 <input id=\"amount-{id}\" name=\"amount\" inputmode=\"decimal\" value=\"{}\">\
                 {choose}<button type=\"submit\">Change gift</button></form>",
                    s.currency.code(),
                    escape(&now_amount)
                ));
            }
            let mut actions = vec![(action, label)];
            if !s.cancel_at_period_end {
                actions.push((pause, pause_label));
            }
            for (action, label) in actions {
                // Ending a gift is the secondary action: it must not look like the others, and
                // it asks first (a page that changes nothing).
                if action == "cancel" {
                    body.push_str(&format!(
                        "<form method=\"get\" action=\"/portal/cancel\">\
                         <input type=\"hidden\" name=\"session\" value=\"{id}\">\
                         <button type=\"submit\" class=\"pw-secondary\">{label}</button></form>"
                    ));
                    continue;
                }
                body.push_str(&format!(
                    "<form method=\"post\" action=\"/portal/subscription\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                     <input type=\"hidden\" name=\"session\" value=\"{id}\">\
                     <input type=\"hidden\" name=\"action\" value=\"{action}\">\
                     <button type=\"submit\">{label}</button></form>"
                ));
            }
        }
        body.push_str("</section>");
    }
    if items
        .iter()
        .any(|i| i.session.kind == CampaignKind::Donation)
    {
        body.push_str(
            "<p><a href=\"/portal/statement\">Yearly giving statement</a> (for your tax return)</p>",
        );
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/portal/sign-out\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\" class=\"pw-secondary\">Sign out</button></form>"
    ));
    page("Your payments", &body)
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
        &format!(
            "<h1>End your gift?</h1>\
             <p>Your gift of {} {} to {} ends {}: nothing more is charged after that. \
             You can keep it going until then.</p>\
             <form method=\"post\" action=\"/portal/subscription\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"session\" value=\"{}\">\
             <input type=\"hidden\" name=\"action\" value=\"cancel\">\
             <button type=\"submit\" class=\"pw-secondary\">Yes, end my gift</button></form>\
             <p><a href=\"/portal\">Keep my gift</a></p>",
            escape(&total),
            escape(s.frequency.every()),
            escape(&item.title),
            escape(&when),
            escape(&c.csrf),
            escape(&s.id)
        ),
    )
}

/// The yearly giving statement: every gift of `year` with its receipt, and the totals.
pub fn statement(
    c: &Customer,
    year: i32,
    gifts: &[crate::portal::Gift],
    totals: &[(paywidget_core::money::Currency, i64)],
) -> String {
    let mut body = format!(
        "<h1>Giving statement {year}</h1><p>For <strong>{}</strong>.</p>",
        escape(&c.email)
    );
    if gifts.is_empty() {
        body.push_str("<p>No gifts in this year.</p>");
    } else {
        body.push_str(
            "<table class=\"pw-statement\"><thead><tr><th scope=\"col\">Date</th>\
             <th scope=\"col\">Campaign</th><th scope=\"col\">Receipt</th>\
             <th scope=\"col\">Amount</th></tr></thead><tbody>",
        );
        for g in gifts {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                crate::mail::civil_date(g.at),
                escape(&g.title),
                escape(&g.receipt),
                Amount::from_minor(g.amount, g.currency)
            ));
        }
        body.push_str("</tbody></table>");
        for (currency, total) in totals {
            body.push_str(&format!(
                "<p class=\"pw-statement-total\">Total {year}: <strong id=\"pw-total-{}\">{}</strong></p>",
                currency.code(),
                Amount::from_minor(*total, *currency)
            ));
        }
    }
    body.push_str(&format!(
        "<p><a href=\"/portal/statement?year={}\">{}</a> · <a href=\"/portal/statement?year={}\">{}</a> · \
         <a href=\"/portal\">Back to your payments</a></p>",
        year - 1,
        year - 1,
        year + 1,
        year + 1
    ));
    page(&format!("Giving statement {year}"), &body)
}
