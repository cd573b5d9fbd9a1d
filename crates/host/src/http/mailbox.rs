//! `/dev/mailbox`: a development host's mailbox, as Mailpit is for developers — the outbox's
//! newest mails with their links clickable, so sign-in links, receipts and alerts can be
//! followed without opening `.eml` files. Mounted only when `server.dev_secret = true`, which
//! the host refuses next to a live key: a production host never serves it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::HostState;

/// How many mails the page shows.
const SHOWN: u32 = 100;

/// The body, with every `http(s)://…` word a link (the rest escaped by maud).
fn linked(body: &str) -> Markup {
    html! {
        @for (i, line) in body.lines().enumerate() {
            @if i > 0 { "\n" }
            @for (j, word) in line.split(' ').enumerate() {
                @if j > 0 { " " }
                @if word.starts_with("http://") || word.starts_with("https://") {
                    a href=(word) { (word) }
                } @else {
                    (word)
                }
            }
        }
    }
}

/// `GET /dev/mailbox`.
pub(super) async fn page(State(state): State<Arc<HostState>>) -> Response {
    let mails = match state.store.recent_mail(SHOWN).await {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "mailbox");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the outbox could not be read",
            )
                .into_response();
        }
    };
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Mailbox (development)" }
                link rel="stylesheet" href="/admin/admin.css";
            }
            body {
                main class="pw-admin" {
                    h1 { "Mailbox" }
                    p class="pw-muted" {
                        "Development host only: the newest " (SHOWN) " messages of the outbox, newest first."
                    }
                    @if mails.is_empty() { p { "No mail yet." } }
                    @for (m, text) in &mails {
                        article class="pw-card" {
                            h2 { (m.subject) }
                            p class="pw-muted" {
                                "To " (m.to) " · " (crate::mail::civil_date(m.created)) " · "
                                @match m.sent { 1 => "sent", 0 => "waiting", _ => "given up" }
                            }
                            pre class="pw-portal-key" { (linked(text)) }
                        }
                    }
                }
            }
        }
    };
    let mut r = Html(body.into_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::admin::pages::CSP),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_clickable_and_the_rest_is_escaped() {
        let out =
            linked("Sign in:\n\nhttps://h.example/admin/login?token=ab <b>x</b>").into_string();
        assert!(
            out.contains("<a href=\"https://h.example/admin/login?token=ab\">"),
            "{out}"
        );
        assert!(out.contains("&lt;b&gt;x&lt;/b&gt;"), "{out}");
    }
}
