//! The merchant-page side: the `embed.js` loader and its stylesheet (served versioned, immutable,
//! with a published SRI hash), the copy-paste snippet, and the get-your-snippet page
//! `/c/:campaign/embed` with a live preview.

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use sha2::{Digest, Sha384};

use maud::{html, PreEscaped, DOCTYPE};
use paywidget_core::api::CampaignKind;

use crate::http::error::HostError;
use crate::HostState;

/// The loader merchants include. Frozen once published under `/v1/`: merchants pin it with SRI,
/// so a change ships as `/v2/embed.js` (old snippets keep working).
pub const EMBED_JS: &str = include_str!("../../assets/embed.js");
/// The button and overlay styles the loader links.
pub const EMBED_CSS: &str = include_str!("../../assets/embed.css");
const PAGE_JS: &str = include_str!("../../assets/embed-page.js");
const PAGE_CSS: &str = include_str!("../../assets/embed-page.css");

/// `sha384-…` of `body`, for `integrity` attributes.
pub fn sri(body: &str) -> String {
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(body.as_bytes()))
    )
}

/// The SRI hash of `/v1/embed.js` (computed once).
pub fn embed_js_sri() -> &'static str {
    static SRI: OnceLock<String> = OnceLock::new();
    SRI.get_or_init(|| sri(EMBED_JS))
}

/// The two lines a merchant pastes: the link (works alone) and the loader with its SRI hash.
pub fn snippet(public_url: &str, campaign: &str, label: &str) -> String {
    let host = public_url.trim_end_matches('/');
    let link = html! {
        a href={ (host) "/c/" (campaign) } class="paywidget-button" data-paywidget { (label) }
    };
    let loader = html! {
        script src={ (host) "/v1/embed.js" } integrity=(embed_js_sri()) crossorigin="anonymous" async {}
    };
    format!("{}\n{}", link.into_string(), loader.into_string())
}

/// The button's default words for a campaign.
pub fn default_label(kind: CampaignKind) -> &'static str {
    match kind {
        CampaignKind::Donation => "Donate",
        CampaignKind::License => "Buy",
    }
}

/// `/v1/embed.js`, `/v1/embed.css`, the snippet page and its two assets.
pub fn router() -> Router<Arc<HostState>> {
    Router::new()
        .route(
            "/v1/embed.js",
            get(|| async { asset(EMBED_JS, "text/javascript") }),
        )
        .route(
            "/v1/embed.css",
            get(|| async { asset(EMBED_CSS, "text/css") }),
        )
        .route(
            "/v1/embed-page.js",
            get(|| async { asset(PAGE_JS, "text/javascript") }),
        )
        .route(
            "/v1/embed-page.css",
            get(|| async { asset(PAGE_CSS, "text/css") }),
        )
        .route("/c/{campaign}/embed", get(snippet_page))
}

/// A loader asset: cacheable for a year (the path is versioned), loadable cross-origin with
/// `crossorigin="anonymous"` (SRI needs CORS), and never sniffed.
fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                HeaderValue::from_static("cross-origin"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The snippet page's policy: our scripts and styles only, and the checkout framed by the preview.
pub const SNIPPET_PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn snippet_page(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
) -> Result<Response, HostError> {
    let c = state
        .config
        .campaign(&id)
        .ok_or(HostError::NotFound("campaign"))?;
    let m = state.config.merchant(&c.merchant);
    let label = default_label(c.kind);
    let code = snippet(&state.public_url, &c.id, label);
    let origins = m
        .map(|m| {
            m.allowed_origins
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| "(none yet: add your site's origin to allowed_origins)".into());
    let host = state.public_url.trim_end_matches('/');
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Embed “" (c.title) "” · paywidget" }
                link rel="stylesheet" href="/v1/embed-page.css";
            }
            body {
                main class="pw-embed" {
                    h1 { "Add “" (c.title) "” to your site" }
                    p {
                        "Paste these two lines where the button should appear (any page: static \
                         HTML, a site builder's “custom HTML” block, WordPress). The link works \
                         on its own; the script opens the checkout over your page."
                    }
                    pre { code id="pw-snippet" { (code) } }
                    p {
                        button type="button" data-pw-copy="pw-snippet" { "Copy the snippet" }
                        " "
                        span id="pw-copy-status" role="status" aria-live="polite" {}
                    }
                    h2 { "Preview" }
                    // The snippet itself, live: it is our own markup (built by `snippet`, its
                    // one value escaped there), the one thing this page does not escape.
                    div class="pw-preview" { (PreEscaped(&code)) }
                    h2 { "Options" }
                    p {
                        "Add to the link: " code { "data-amount=\"25\"" } " (prefill, donations), "
                        code { "data-label=\"Give now\"" } ", "
                        code { "data-theme-color=\"#0a7c42\"" } ", "
                        code { "data-locale=\"en\"" } ", "
                        code { "data-mode=\"redirect\"" } " (always full page)."
                    }
                    h2 { "If your site sends a Content-Security-Policy" }
                    pre { code { "script-src " (host) "; style-src " (host) "; frame-src " (host) } }
                    p { "Sites allowed to show this checkout in an overlay: " code { (origins) } "." }
                }
                script src="/v1/embed-page.js" defer {}
            }
        }
    };
    Ok((
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(SNIPPET_PAGE_CSP),
        )],
        Html(body.into_string()),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_the_two_lines_with_the_sri_of_the_served_loader() {
        let s = snippet("https://pay.example.org/", "winter", "Donate <now>");
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(
            lines[0],
            "<a href=\"https://pay.example.org/c/winter\" class=\"paywidget-button\" data-paywidget>Donate &lt;now&gt;</a>"
        );
        assert!(lines[1].starts_with(
            "<script src=\"https://pay.example.org/v1/embed.js\" integrity=\"sha384-"
        ));
        assert!(lines[1].contains(&sri(EMBED_JS)));
        assert!(lines[1].ends_with("crossorigin=\"anonymous\" async></script>"));
    }

    #[test]
    fn sri_is_sha384_base64() {
        // printf 'abc' | openssl dgst -sha384 -binary | base64
        assert_eq!(
            sri("abc"),
            "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"
        );
    }
}
