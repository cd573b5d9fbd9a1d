//! `/v1/confirmation_tokens` (created by Stripe.js with the publishable key, read with the
//! secret key) and Stripe's test helper `/v1/test_helpers/confirmation_tokens`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::CorsLayer;

use super::payment_methods::take_card;
use super::{ok, take_expand};
use crate::auth::{AnyKey, SecretKey};
use crate::confirmation_tokens::{self, NewConfirmationToken, TokenSource};
use crate::error::ApiError;
use crate::model::{Address, ConfirmationToken, Shipping};
use crate::params::Params;
use crate::{payments, SharedState};

pub(super) fn router(cors: CorsLayer) -> Router<SharedState> {
    Router::new()
        .route("/v1/confirmation_tokens", post(create).layer(cors))
        .route("/v1/confirmation_tokens/{id}", get(retrieve))
        .route(
            "/v1/test_helpers/confirmation_tokens",
            post(create_for_tests),
        )
}

/// The parameters both creations share, after the payment method's.
fn take_rest(p: &mut Params, source: TokenSource) -> Result<NewConfirmationToken, ApiError> {
    let return_url = p.take("return_url");
    let setup_future_usage = p.take_enum("setup_future_usage", &["off_session", "on_session"])?;
    let shipping = take_shipping(p);
    take_expand(p);
    Ok(NewConfirmationToken {
        source,
        return_url,
        setup_future_usage,
        shipping,
    })
}

fn take_shipping(p: &mut Params) -> Option<Shipping> {
    let shipping = Shipping {
        address: Address {
            city: p.take("shipping[address][city]"),
            country: p.take("shipping[address][country]"),
            line1: p.take("shipping[address][line1]"),
            line2: p.take("shipping[address][line2]"),
            postal_code: p.take("shipping[address][postal_code]"),
            state: p.take("shipping[address][state]"),
        },
        name: p.take("shipping[name]"),
        phone: p.take("shipping[phone]"),
    };
    let a = &shipping.address;
    let any = [
        &a.city,
        &a.country,
        &a.line1,
        &a.line2,
        &a.postal_code,
        &a.state,
        &shipping.name,
        &shipping.phone,
    ]
    .iter()
    .any(|v| v.is_some());
    any.then_some(shipping)
}

/// `POST /v1/confirmation_tokens`: what Stripe.js's `createConfirmationToken` calls.
async fn create(
    State(state): State<SharedState>,
    AnyKey(_): AnyKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let card = take_card(&mut p, &state, "payment_method_data")?;
    let new = take_rest(&mut p, TokenSource::Card(Box::new(card)))?;
    p.finish()?;
    ok(&confirmation_tokens::create(&state, new).await?)
}

/// `POST /v1/test_helpers/confirmation_tokens`: a token for server-side tests, from an existing
/// payment method or from card details.
async fn create_for_tests(
    State(state): State<SharedState>,
    _: SecretKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let source = match p.take("payment_method") {
        Some(pm) => TokenSource::PaymentMethod(pm),
        None => TokenSource::Card(Box::new(take_card(&mut p, &state, "payment_method_data")?)),
    };
    let new = take_rest(&mut p, source)?;
    p.finish()?;
    ok(&confirmation_tokens::create(&state, new).await?)
}

/// `GET /v1/confirmation_tokens/:id`: the secret key only (the server reads what the browser
/// sent).
async fn retrieve(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::get::<ConfirmationToken>(&state, "confirmation_token", &id).await?)
}
