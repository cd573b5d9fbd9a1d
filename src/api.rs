//! The checkout page's HTTP calls, on gloo-net: the host's JSON API (the shared contract types
//! of `paywidget_core::api`) and card tokenization at the gateway (the only request that
//! carries card data, straight to the gateway with the publishable key).
//!
//! Answers are parsed by the browser's `JSON.parse` and decoded by the contract's own decoder
//! (`paywidget_core::api::decode`), which never formats error text: the bundle budget.

use js_sys::{Array, Object};
use paywidget_core::api::decode::{from_node, Kind, Node};
use paywidget_core::api::{
    CampaignView, ErrorBody, ErrorCode, NewSession, PayOutcome, PayRequest, PaymentMethodCreated,
    PaymentToken, SessionCreated, SessionProgress, SessionView, UpdateCardRequest, UpdateCardView,
};
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

#[cfg(feature = "recurring")]
use crate::checkout_form::BankEntries;
use crate::checkout_form::{CardEntries, CardInput};
use crate::gateway_fields::FieldsAnswer;

/// A failed call.
#[derive(Clone, Debug, PartialEq)]
pub enum FetchError {
    /// No answer (offline, timeout, connection dropped, or an answer we cannot read): the
    /// outcome is unknown.
    Network,
    /// An answer with an error: status, stable code and a message fit to show.
    Api {
        /// The HTTP status.
        status: u16,
        /// The stable code (host) or Stripe's `decline_code`/`code` (gateway).
        code: ErrorCode,
        /// Safe to show.
        message: String,
    },
}

/// A value `JSON.parse` returned, walked by the contract's decoder.
#[derive(Clone, Debug)]
pub struct JsNode(pub JsValue);

impl Node for JsNode {
    fn kind(&self) -> Kind {
        let v = &self.0;
        if v.is_null() || v.is_undefined() {
            Kind::Null
        } else if let Some(b) = v.as_bool() {
            Kind::Bool(b)
        } else if let Some(n) = v.as_f64() {
            Kind::Number(n)
        } else if v.is_string() {
            Kind::String
        } else if Array::is_array(v) {
            Kind::Array
        } else {
            Kind::Object
        }
    }

    fn string(&self) -> Option<String> {
        self.0.as_string()
    }

    fn elements(&self) -> Vec<Self> {
        Array::from(&self.0).iter().map(JsNode).collect()
    }

    fn entries(&self) -> Vec<(String, Self)> {
        Object::entries(&Object::from(self.0.clone()))
            .iter()
            .filter_map(|pair| {
                let pair = Array::from(&pair);
                Some((pair.get(0).as_string()?, JsNode(pair.get(1))))
            })
            .collect()
    }
}

/// JSON text of a request (serde_json's serializer: small, and it formats nothing).
fn encode<T: serde::Serialize>(value: &T) -> Result<String, FetchError> {
    serde_json::to_string(value).map_err(|_| FetchError::Network)
}

/// Sends `request`; a 2xx answer decodes as `T`, any other as the contract's error body.
async fn send<T: DeserializeOwned>(
    request: Result<gloo_net::http::Request, gloo_net::Error>,
) -> Result<T, FetchError> {
    // Only the decoding is generic: the exchange itself exists once in the wasm.
    let value = exchange(request).await?;
    from_node(JsNode(value)).map_err(|_| FetchError::Network)
}

/// Sends `request` and parses the answer: the JSON value of a 2xx, else the error it carries.
async fn exchange(
    request: Result<gloo_net::http::Request, gloo_net::Error>,
) -> Result<JsValue, FetchError> {
    let response = request
        .map_err(|_| FetchError::Network)?
        .send()
        .await
        .map_err(|_| FetchError::Network)?;
    let status = response.status();
    let text = response.text().await.map_err(|_| FetchError::Network)?;
    let value = js_sys::JSON::parse(&text).ok();
    if (200..300).contains(&status) {
        return value.ok_or(FetchError::Network);
    }
    Err(refusal(
        status,
        value.and_then(|v| from_node::<ErrorBody, _>(JsNode(v)).ok()),
    ))
}

/// What a non-2xx answer means for the pay flow. A 5xx, 409 or 429 leaves the outcome
/// unknown (the host frees the attempt's key so it can be retried): it is a `Network` error
/// whatever its body says, so the attempt keeps its key. Only a 4xx is a definite refusal.
pub fn refusal(status: u16, body: Option<ErrorBody>) -> FetchError {
    // A block by the card-testing shield is definite (retrying only prolongs it).
    let blocked = body
        .as_ref()
        .is_some_and(|b| b.error.code == ErrorCode::Blocked);
    if (status >= 500 || status == 409 || status == 429) && !blocked {
        return FetchError::Network;
    }
    match body {
        Some(body) => FetchError::Api {
            status,
            // The gateway's decline reason is the more precise code when it has one.
            code: body
                .error
                .decline_code
                .map_or(body.error.code, |d| ErrorCode::parse(d.as_str())),
            message: body.error.message,
        },
        None => FetchError::Api {
            status,
            code: ErrorCode::Other("error".into()),
            message: "Something went wrong.".into(),
        },
    }
}

/// A JSON POST to the host.
fn post_json<B: serde::Serialize>(
    url: &str,
    body: &B,
) -> Result<Result<gloo_net::http::Request, gloo_net::Error>, FetchError> {
    let text = encode(body)?;
    Ok(gloo_net::http::Request::post(url)
        .header("Content-Type", "application/json")
        .body(text))
}

/// The campaign the host wrote into the page (`<script type="application/json"
/// id="pw-campaign">`), when it is `id`'s: the form shows without a second request.
pub fn embedded_campaign(id: &str) -> Option<CampaignView> {
    let text = web_sys::window()?
        .document()?
        .get_element_by_id("pw-campaign")?
        .text_content()?;
    let value = js_sys::JSON::parse(&text).ok()?;
    let campaign: CampaignView = from_node(JsNode(value)).ok()?;
    (campaign.id == id).then_some(campaign)
}

/// `POST /api/sessions`.
pub async fn create_session(new: &NewSession) -> Result<SessionCreated, FetchError> {
    send(post_json("/api/sessions", new)?).await
}

/// Tokenizes the card at the gateway → `pm_…`. Card errors come back as `Api` with Stripe's
/// code (`incorrect_number`, `invalid_cvc`, …).
pub async fn tokenize(
    campaign: &CampaignView,
    card: &CardEntries,
    email: &str,
) -> Result<String, FetchError> {
    let form = web_sys::UrlSearchParams::new().map_err(|_| FetchError::Network)?;
    let (month, year) = (
        card.expiry.month().to_string(),
        card.expiry.year().to_string(),
    );
    for (k, v) in [
        ("type", "card"),
        ("card[number]", card.number.expose()),
        ("card[exp_month]", month.as_str()),
        ("card[exp_year]", year.as_str()),
        ("card[cvc]", card.cvc.expose()),
        ("billing_details[email]", email),
        ("billing_details[name]", card.name.as_str()),
    ] {
        form.append(k, v);
    }
    if let Some(postal) = &card.postal {
        form.append("billing_details[address][postal_code]", postal);
    }
    send::<PaymentMethodCreated>(gateway_post(campaign, "payment_methods", &form))
        .await
        .map(|pm| pm.id)
}

#[cfg(feature = "recurring")]
/// Has the gateway make a `sepa_debit` payment method of the account → `pm_…`. The IBAN goes
/// to the gateway only; a malformed one comes back as `Api` with `invalid_bank_account_iban`.
pub async fn tokenize_bank(
    campaign: &CampaignView,
    bank: &BankEntries,
    email: &str,
) -> Result<String, FetchError> {
    let form = web_sys::UrlSearchParams::new().map_err(|_| FetchError::Network)?;
    for (k, v) in [
        ("type", "sepa_debit"),
        ("sepa_debit[iban]", bank.iban.expose()),
        ("billing_details[email]", email),
        ("billing_details[name]", bank.name.as_str()),
    ] {
        form.append(k, v);
    }
    send::<PaymentMethodCreated>(gateway_post(campaign, "payment_methods", &form))
        .await
        .map(|pm| pm.id)
}

/// A form POST to the gateway's `/v1/<path>` with the publishable key.
fn gateway_post(
    campaign: &CampaignView,
    path: &str,
    form: &web_sys::UrlSearchParams,
) -> Result<gloo_net::http::Request, gloo_net::Error> {
    let url = format!("{}/v1/{path}", campaign.gateway_url.trim_end_matches('/'));
    gloo_net::http::Request::post(&url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header(
            "Authorization",
            &format!("Bearer {}", campaign.publishable_key),
        )
        .body(String::from(form.to_string()))
}

/// `GET /api/update-card/:link`.
pub async fn update_card_view(link: &str) -> Result<UpdateCardView, FetchError> {
    send(gloo_net::http::Request::get(&format!("/api/update-card/{link}")).build()).await
}

/// `POST /api/update-card`.
pub async fn update_card(request: &UpdateCardRequest) -> Result<PayOutcome, FetchError> {
    send(post_json("/api/update-card", request)?).await
}

/// `POST /api/sessions/:id/pay`.
pub async fn pay(session: &str, request: &PayRequest) -> Result<PayOutcome, FetchError> {
    send(post_json(&format!("/api/sessions/{session}/pay"), request)?).await
}

/// `GET /api/sessions/:id`, with its licence and receipt parts decoded as `L` and `R` (or
/// skipped: [`paywidget_core::api::SessionProgress`]).
pub async fn session<L: DeserializeOwned, R: DeserializeOwned>(
    id: &str,
) -> Result<SessionView<L, R>, FetchError> {
    send(gloo_net::http::Request::get(&format!("/api/sessions/{id}")).build()).await
}

/// A new idempotency key: a UUID v4 from the browser's CSPRNG.
pub fn new_key() -> String {
    let mut buffer = uuid::Uuid::encode_buffer();
    // Encoded without `fmt`: the release build keeps formatting code out where it can.
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut buffer)
        .to_owned()
}

/// The pay flow's calls in the browser, for one campaign.
#[derive(Clone, Debug)]
pub struct BrowserApi {
    /// Where to tokenize, with which key (`None` on pages that only read sessions).
    pub campaign: Option<std::rc::Rc<CampaignView>>,
}

impl crate::pay_flow::Api for BrowserApi {
    async fn create_session(&self, new: &NewSession) -> Result<SessionCreated, FetchError> {
        create_session(new).await
    }

    async fn tokenize(
        &self,
        session: &str,
        card: &CardInput,
        email: &str,
    ) -> Result<PaymentToken, FetchError> {
        match (&self.campaign, card) {
            (Some(c), CardInput::Direct(card)) => tokenize(c, card, email)
                .await
                .map(PaymentToken::PaymentMethod),
            // By `cfg`, not the `SEPA` constant: an async arm's state stays in the future's
            // state machine (and the once build with it) even when no path reaches it.
            #[cfg(feature = "recurring")]
            (Some(c), CardInput::Bank(bank)) => tokenize_bank(c, bank, email)
                .await
                .map(PaymentToken::PaymentMethod),
            (Some(_), CardInput::GatewayFields { name }) if crate::variant::GATEWAY_FIELDS => {
                // Where a redirecting payment method comes back to: the host's return URL,
                // top-level, as for our own 3-D Secure.
                let origin = web_sys::window()
                    .and_then(|w| w.location().origin().ok())
                    .unwrap_or_default();
                let back = format!("{origin}/checkout/return?session={session}");
                match crate::gateway_fields::token(name, email, &back).await {
                    FieldsAnswer::Done(t) => PaymentToken::parse(&t).ok_or(FetchError::Network),
                    FieldsAnswer::Problem { code, .. } if code == "network" => {
                        Err(FetchError::Network)
                    }
                    FieldsAnswer::Problem { code, message } => Err(FetchError::Api {
                        status: 402,
                        code: ErrorCode::parse(&code),
                        message,
                    }),
                }
            }
            // No card this build can tokenize: the form's variant guard keeps this from a shopper.
            _ => Err(FetchError::Network),
        }
    }

    async fn pay(&self, session: &str, request: &PayRequest) -> Result<PayOutcome, FetchError> {
        pay(session, request).await
    }

    async fn session(&self, id: &str) -> Result<SessionProgress, FetchError> {
        session(id).await
    }

    fn new_key(&self) -> String {
        new_key()
    }

    async fn solve(&self, challenge: &str, difficulty: u8) -> Result<String, FetchError> {
        crate::pow::solve(challenge, difficulty).await
    }
}

#[cfg(test)]
mod tests {
    use paywidget_core::api::{ApiError, DeclineCode};

    use super::*;

    fn body(code: ErrorCode, decline: Option<DeclineCode>) -> Option<ErrorBody> {
        Some(ErrorBody {
            error: ApiError {
                code,
                message: "m".into(),
                decline_code: decline,
            },
        })
    }

    #[test]
    fn unknown_outcomes_keep_the_attempt_and_refusals_end_it() {
        for status in [500, 502, 503, 409, 429] {
            assert_eq!(
                refusal(status, body(ErrorCode::GatewayUnavailable, None)),
                FetchError::Network,
                "{status} with a readable body is still an unknown outcome"
            );
        }
        assert_eq!(
            refusal(
                402,
                body(
                    ErrorCode::parse("card_declined"),
                    Some(DeclineCode::IncorrectCvc)
                )
            ),
            FetchError::Api {
                status: 402,
                code: ErrorCode::parse("incorrect_cvc"),
                message: "m".into()
            },
            "the decline reason wins"
        );
        assert!(matches!(
            refusal(400, None),
            FetchError::Api { status: 400, .. }
        ));
        assert!(
            matches!(
                refusal(429, body(ErrorCode::Blocked, None)),
                FetchError::Api { status: 429, .. }
            ),
            "a block is told, not retried"
        );
    }
}
