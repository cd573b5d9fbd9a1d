//! `/v1/payment_intents`: create, confirm, capture, cancel, retrieve, list.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use paywidget_core::money::Currency;
use tower_http::cors::CorsLayer;

use super::{expand, list_objects, ok, take_expand};
use crate::auth::{AnyKey, KeyKind, SecretKey};
use crate::error::ApiError;
use crate::model::PaymentIntent;
use crate::params::Params;
use crate::payments::{self, ConfirmParams, NewPaymentIntent};
use crate::SharedState;

pub(super) fn router(cors: CorsLayer) -> Router<SharedState> {
    Router::new()
        .route("/v1/payment_intents", post(create).get(list_all))
        // Stripe.js reads the intent from the checkout page (publishable key + client secret).
        .route("/v1/payment_intents/{id}", get(retrieve).layer(cors))
        .route("/v1/payment_intents/{id}/confirm", post(confirm))
        .route("/v1/payment_intents/{id}/capture", post(capture))
        .route("/v1/payment_intents/{id}/cancel", post(cancel))
}

fn take_confirm(p: &mut Params) -> Result<ConfirmParams, ApiError> {
    let payment_method = p.take("payment_method");
    let confirmation_token = p.take("confirmation_token");
    if payment_method.is_some() && confirmation_token.is_some() {
        return Err(payments::both_payment_method_and_token());
    }
    Ok(ConfirmParams {
        payment_method,
        confirmation_token,
        return_url: p.take("return_url"),
        off_session: p.take_bool("off_session")?.unwrap_or(false),
        receipt_email: p.take("receipt_email"),
        setup_future_usage: p.take_enum("setup_future_usage", &["off_session", "on_session"])?,
        mandate_data: p
            .take_enum(
                "mandate_data[customer_acceptance][type]",
                &["online", "offline"],
            )?
            .map(|_| crate::sepa::Acceptance {
                ip_address: p.take("mandate_data[customer_acceptance][online][ip_address]"),
                user_agent: p.take("mandate_data[customer_acceptance][online][user_agent]"),
            }),
        mandate: p.take("mandate"),
    })
}

/// Parameters clients commonly send that the sandbox accepts with their default meaning; answers
/// the `expand[]` paths.
fn take_accepted(p: &mut Params) -> Result<Vec<String>, ApiError> {
    let types = p.take_list("payment_method_types");
    if types.iter().any(|t| t != "card" && t != "sepa_debit") {
        return Err(ApiError::invalid_param(
            "payment_method_types",
            "The sandbox supports `card` and `sepa_debit`.",
        ));
    }
    p.take_bool("automatic_payment_methods[enabled]")?;
    p.take_enum(
        "automatic_payment_methods[allow_redirects]",
        &["always", "never"],
    )?;
    p.take_enum("confirmation_method", &["automatic", "manual"])?;
    p.take("statement_descriptor");
    p.take("statement_descriptor_suffix");
    Ok(take_expand(p))
}

async fn create(
    State(state): State<SharedState>,
    _: SecretKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let amount = p
        .take_i64("amount")?
        .ok_or_else(|| ApiError::missing_param("amount"))?;
    let currency = p.require("currency")?;
    let currency = Currency::from_code(&currency).map_err(|_| {
        ApiError::invalid_param("currency", format!("Invalid currency: {currency}."))
    })?;
    if amount < 1 {
        let mut e =
            ApiError::invalid_request("amount_too_small", "Amount must be at least 1 minor unit.");
        e.param = Some("amount".into());
        return Err(e);
    }
    if amount > 99_999_999 {
        let mut e = ApiError::invalid_request(
            "amount_too_large",
            "Amount must be no more than 99,999,999 minor units.",
        );
        e.param = Some("amount".into());
        return Err(e);
    }
    let confirm = p.take_bool("confirm")?.unwrap_or(false);
    let capture_method = p
        .take_enum(
            "capture_method",
            &["automatic", "automatic_async", "manual"],
        )?
        .map(|m| if m == "manual" { m } else { "automatic".into() })
        .unwrap_or_else(|| "automatic".into());
    let customer = p.take("customer");
    let description = p.take("description");
    let metadata = p.take_map("metadata");
    let mut confirm_params = take_confirm(&mut p)?;
    let expand = take_accepted(&mut p)?;
    p.finish()?;
    if confirm_params.off_session && !confirm {
        return Err(ApiError::invalid_param(
            "off_session",
            "off_session can only be used with confirm=true.",
        ));
    }
    if confirm_params.confirmation_token.is_some() && !confirm {
        return Err(ApiError::invalid_param(
            "confirmation_token",
            "confirmation_token can only be used with confirm=true.",
        ));
    }
    // With a token, the request's own return_url and setup_future_usage are the confirmation's,
    // so they win over the token's (the token's are used only where the request has none).
    let with_token = confirm_params.confirmation_token.is_some();
    let new = NewPaymentIntent {
        amount,
        currency: currency.stripe_code().to_owned(),
        capture_method,
        customer,
        description,
        metadata,
        receipt_email: confirm_params.receipt_email.take(),
        setup_future_usage: if with_token {
            None
        } else {
            confirm_params.setup_future_usage.take()
        },
        payment_method: confirm_params.payment_method.take(),
        return_url: if with_token {
            None
        } else {
            confirm_params.return_url.take()
        },
        confirm: confirm.then_some(confirm_params),
    };
    let pi = payments::create_payment_intent(&state, new).await?;
    ok(&expand::one(&state, "payment_intent", serde_json::to_value(pi)?, &expand).await?)
}

/// With the secret key, any intent; with the publishable key (Stripe.js's `retrievePaymentIntent`
/// and `handleNextAction`), only with the intent's client secret, and 404 otherwise, as Stripe.
async fn retrieve(
    State(state): State<SharedState>,
    AnyKey(key): AnyKey,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let expand = take_expand(&mut p);
    let secret = p.take("client_secret");
    p.finish()?;
    let pi = payments::get::<PaymentIntent>(&state, "payment_intent", &id).await;
    if key == KeyKind::Publishable {
        let secret = secret.ok_or_else(|| ApiError::missing_param("client_secret"))?;
        match &pi {
            Ok(pi) if pi.client_secret == secret => {}
            _ => return Err(ApiError::not_found("payment_intent", &id)),
        }
        // Stripe.js sees the intent, never the objects behind it.
        if !expand.is_empty() {
            return Err(ApiError::invalid_request(
                "parameter_invalid_string",
                "expand is not allowed with a publishable key.",
            ));
        }
    }
    ok(&expand::one(
        &state,
        "payment_intent",
        serde_json::to_value(pi?)?,
        &expand,
    )
    .await?)
}

async fn confirm(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let params = take_confirm(&mut p)?;
    let expand = take_accepted(&mut p)?;
    p.finish()?;
    let pi = payments::confirm(&state, &id, params).await?;
    ok(&expand::one(&state, "payment_intent", serde_json::to_value(pi)?, &expand).await?)
}

async fn capture(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let amount = p.take_i64("amount_to_capture")?;
    let expand = take_expand(&mut p);
    p.finish()?;
    let pi = payments::capture(&state, &id, amount).await?;
    ok(&expand::one(&state, "payment_intent", serde_json::to_value(pi)?, &expand).await?)
}

async fn cancel(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let reason = p.take_enum(
        "cancellation_reason",
        &[
            "duplicate",
            "fraudulent",
            "requested_by_customer",
            "abandoned",
        ],
    )?;
    let expand = take_expand(&mut p);
    p.finish()?;
    let pi = payments::cancel(&state, &id, reason).await?;
    ok(&expand::one(&state, "payment_intent", serde_json::to_value(pi)?, &expand).await?)
}

async fn list_all(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    list_objects(
        &state,
        q,
        "payment_intent",
        "/v1/payment_intents",
        Some("customer"),
        |v| v,
    )
    .await
}
