//! The sandbox's 3-D Secure challenge page: "Complete" or "Fail" authentication, then back to
//! the payment's `return_url` with Stripe's query parameters.
//!
//! Embedded mode (`&embedded=1&origin=<page origin>&frame=<id>`, what the sandbox's Stripe.js
//! `handleNextAction` opens in its modal iframe): after the decision the page does not redirect;
//! it posts `{pwsandbox: 1, type: "3ds-result", frame, outcome: "succeeded"|"failed"}` to its
//! parent at `origin` (script `/v3/elements/three_d_secure.js`, under a strict CSP).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::model::{PaymentIntent, SetupIntent};
use crate::params::Params;
use crate::SharedState;
use crate::{payments, setup_intents};

pub(super) fn router() -> Router<SharedState> {
    Router::new().route("/sandbox/3ds/{id}", get(page).post(decide))
}

/// The same escaping as the host's pages (`html-escape`): inert in content and quoted attributes.
fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_quoted_attribute(s)
}

async fn page(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let secret = p.require("client_secret")?;
    let embed = Embedded::take(&mut p);
    // A SetupIntent's challenge saves the card; a PaymentIntent's pays an amount.
    let amount = if id.starts_with("seti_") {
        let si: SetupIntent = payments::get(&state, "setup_intent", &id).await?;
        if si.client_secret != secret {
            return Err(ApiError::not_found("setup_intent", &id));
        }
        "a card saved for future payments".to_owned()
    } else {
        let pi: PaymentIntent = payments::get(&state, "payment_intent", &id).await?;
        if pi.client_secret != secret {
            return Err(ApiError::not_found("payment_intent", &id));
        }
        paywidget_core::money::Currency::from_code(&pi.currency)
            .map(|c| paywidget_core::money::Amount::from_minor(pi.amount, c).to_string())
            .unwrap_or_else(|_| format!("{} {}", pi.amount, pi.currency))
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>3D Secure test authentication</title></head>
<body>
<main>
<h1>3D Secure test authentication</h1>
<p>This is the sandbox's stand-in for the card issuer's page. Payment {id} of {amount}.</p>
<form method="post" action="/sandbox/3ds/{id}">
<input type="hidden" name="client_secret" value="{secret}">{hidden}
<button type="submit" name="outcome" value="complete" id="complete">Complete authentication</button>
<button type="submit" name="outcome" value="fail" id="fail">Fail authentication</button>
</form>
</main>
</body></html>"#,
        id = escape(&id),
        amount = escape(&amount),
        secret = escape(&secret),
        hidden = embed
            .as_ref()
            .map(Embedded::hidden_fields)
            .unwrap_or_default(),
    );
    match embed {
        Some(_) => Ok((
            [(header::CONTENT_SECURITY_POLICY, EMBEDDED_CSP)],
            Html(html),
        )
            .into_response()),
        None => Ok(Html(html).into_response()),
    }
}

/// The embedded pages load only the sandbox's own script; any page may frame them.
const EMBEDDED_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; base-uri 'none'; frame-ancestors *";

/// Embedded mode: the page to post the outcome to and the modal's id.
struct Embedded {
    origin: String,
    frame: String,
}

impl Embedded {
    /// `embedded=1` with `origin` and `frame`, if the page is embedded.
    fn take(p: &mut Params) -> Option<Embedded> {
        let embedded = p.take("embedded").is_some_and(|v| v == "1");
        let origin = p.take("origin");
        let frame = p.take("frame");
        embedded.then(|| Embedded {
            origin: origin.unwrap_or_default(),
            frame: frame.unwrap_or_default(),
        })
    }

    fn hidden_fields(&self) -> String {
        format!(
            "\n<input type=\"hidden\" name=\"embedded\" value=\"1\">\
             \n<input type=\"hidden\" name=\"origin\" value=\"{}\">\
             \n<input type=\"hidden\" name=\"frame\" value=\"{}\">",
            escape(&self.origin),
            escape(&self.frame)
        )
    }

    /// The page that tells the parent the outcome (no redirect inside the modal).
    fn result_page(&self, status: &str) -> Response {
        let html = format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Authentication {status}</title>
<script src="/v3/elements/three_d_secure.js" defer></script></head>
<body data-outcome="{status}" data-origin="{origin}" data-frame="{frame}">
<main><h1>Authentication {status}</h1><p>You can return to the payment.</p></main>
</body></html>"#,
            origin = escape(&self.origin),
            frame = escape(&self.frame),
        );
        (
            [(header::CONTENT_SECURITY_POLICY, EMBEDDED_CSP)],
            Html(html),
        )
            .into_response()
    }
}

async fn decide(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let secret = p.require("client_secret")?;
    let outcome = p
        .take_enum("outcome", &["complete", "fail"])?
        .ok_or_else(|| ApiError::missing_param("outcome"))?;
    let embed = Embedded::take(&mut p);
    p.finish()?;
    let complete = outcome == "complete";
    // Stripe's return query names the intent by its kind.
    let (kind, intent_id, intent_secret, succeeded, return_url) = if id.starts_with("seti_") {
        let si = setup_intents::finish_three_d_secure(&state, &id, &secret, complete).await?;
        let ok = si.status == "succeeded";
        ("setup_intent", si.id, si.client_secret, ok, si.return_url)
    } else {
        let pi = payments::finish_three_d_secure(&state, &id, &secret, complete).await?;
        let ok = pi.status == "succeeded" || pi.status == "requires_capture";
        ("payment_intent", pi.id, pi.client_secret, ok, pi.return_url)
    };
    let status = if succeeded { "succeeded" } else { "failed" };
    if let Some(embed) = embed {
        return Ok(embed.result_page(status));
    }
    match return_url.as_deref() {
        Some(url) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair(kind, &intent_id)
                .append_pair(&format!("{kind}_client_secret"), &intent_secret)
                .append_pair("redirect_status", status)
                .finish();
            Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{url}{sep}{query}"))]).into_response())
        }
        None => Ok(Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authentication {status}</title></head>\
             <body><main><h1>Authentication {status}</h1><p>You can close this window.</p></main></body></html>"
        ))
        .into_response()),
    }
}
