//! Confirmation tokens (`ctoken_…`): Stripe.js's hand-off from the browser to the server.
//!
//! A token is created from a card (validated and reduced exactly as `POST /v1/payment_methods`
//! does: brand, last 4, expiry, keyed fingerprint and the test card's scripted behaviour, never
//! the number or CVC) or, by the test helper, from an existing payment method. Confirming a
//! PaymentIntent with it *redeems* it, inside the confirmation's own transaction: the token's
//! card becomes a payment method attached to the intent and the token records the intent, so a
//! token confirms at most one payment even under concurrent requests (optimistic version).

use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;

use crate::cards::Behaviour;
use crate::error::ApiError;
use crate::model::{ConfirmationToken, Metadata, PaymentMethod, PaymentMethodPreview, Shipping};
use crate::payments::{self, NewPaymentMethod};
use crate::store::Store;
use crate::AppState;

/// How long a token can be used, as Stripe's (`expires_at` = `created` + 12 hours).
pub const LIFETIME_SECS: i64 = 12 * 60 * 60;

/// Where the token's payment method comes from.
pub enum TokenSource {
    /// A card typed into the Payment Element (`payment_method_data[card][…]`), already validated.
    Card(Box<NewPaymentMethod>),
    /// An existing payment method (`payment_method=pm_…`, the test helper).
    PaymentMethod(String),
}

/// The parameters of `POST /v1/confirmation_tokens` (and its test helper).
pub struct NewConfirmationToken {
    /// The payment method to create (or reuse) on confirmation.
    pub source: TokenSource,
    /// Written onto the PaymentIntent when the confirmation has none.
    pub return_url: Option<String>,
    /// Written onto the PaymentIntent when the confirmation has none.
    pub setup_future_usage: Option<String>,
    /// Shipping details, shown on the token.
    pub shipping: Option<Shipping>,
}

/// Sandbox-only facts kept beside a token: what the payment method will do and carry.
#[derive(Serialize, Deserialize)]
struct TokenInternal {
    behaviour: Behaviour,
    metadata: Metadata,
    /// Set when the token was made from an existing payment method: that one is used.
    payment_method: Option<String>,
}

/// What a redeemed token gives the confirmation.
#[derive(Debug)]
pub struct Redeemed {
    /// The payment method to charge (created from the token, or the one it was made from).
    pub payment_method: String,
    /// The token's `return_url`.
    pub return_url: Option<String>,
    /// The token's `setup_future_usage`.
    pub setup_future_usage: Option<String>,
}

/// Creates a token.
pub async fn create(
    state: &AppState,
    new: NewConfirmationToken,
) -> Result<ConfirmationToken, ApiError> {
    let mut tx = state.store.begin().await?;
    let (preview, internal) = match new.source {
        TokenSource::Card(card) => {
            let metadata = card.metadata.clone();
            let (pm, behaviour) = payments::payment_method_of(state, *card);
            (
                preview_of(pm),
                TokenInternal {
                    behaviour,
                    metadata,
                    payment_method: None,
                },
            )
        }
        TokenSource::PaymentMethod(id) => {
            let pm = Store::get_in::<PaymentMethod>(&mut tx, "payment_method", &id)
                .await?
                .ok_or_else(|| ApiError::not_found("payment_method", &id))?;
            let behaviour = behaviour_of(pm.internal)?;
            let metadata = pm.object.metadata.clone();
            (
                preview_of(pm.object),
                TokenInternal {
                    behaviour,
                    metadata,
                    payment_method: Some(id),
                },
            )
        }
    };
    let created = state.clock.now();
    let token = ConfirmationToken {
        id: state.ids.new_id("ctoken"),
        object: "confirmation_token".into(),
        created,
        expires_at: created + LIFETIME_SECS,
        livemode: false,
        mandate_data: None,
        payment_intent: None,
        payment_method_options: None,
        payment_method_preview: preview,
        return_url: new.return_url,
        setup_future_usage: new.setup_future_usage,
        setup_intent: None,
        shipping: new.shipping,
        use_stripe_sdk: true,
    };
    let internal = serde_json::to_value(&internal)?;
    Store::insert(
        &mut tx,
        &token.id,
        "confirmation_token",
        created,
        &token,
        Some(&internal),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

fn preview_of(pm: PaymentMethod) -> PaymentMethodPreview {
    PaymentMethodPreview {
        billing_details: pm.billing_details,
        card: pm.card,
        kind: pm.kind,
    }
}

fn behaviour_of(internal: Option<serde_json::Value>) -> Result<Behaviour, ApiError> {
    Ok(internal
        .map(serde_json::from_value)
        .transpose()?
        .unwrap_or(Behaviour::Succeed))
}

/// Refuses a token that was used or has expired at `now`.
fn check_usable(token: &ConfirmationToken, now: i64) -> Result<(), ApiError> {
    if token.payment_intent.is_some() || token.setup_intent.is_some() {
        return Err(ApiError::invalid_param(
            "confirmation_token",
            "This ConfirmationToken has already been used to confirm a PaymentIntent or SetupIntent. \
             A ConfirmationToken can be used only once: create a new one.",
        ));
    }
    if now >= token.expires_at {
        return Err(ApiError::invalid_param(
            "confirmation_token",
            "This ConfirmationToken has expired. Create a new ConfirmationToken and try again.",
        ));
    }
    Ok(())
}

async fn load(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<crate::store::Versioned<ConfirmationToken>, ApiError> {
    Store::get_in::<ConfirmationToken>(conn, "confirmation_token", id)
        .await?
        .ok_or_else(|| ApiError::not_found("confirmation_token", id))
}

/// Fails as confirming with the token would (unknown, used, expired), without using it: lets
/// `POST /v1/payment_intents` with `confirm=true` refuse a bad token before creating anything.
pub async fn require_usable(
    conn: &mut SqliteConnection,
    state: &AppState,
    id: &str,
) -> Result<(), ApiError> {
    check_usable(&load(conn, id).await?.object, state.clock.now())
}

/// Uses the token for the PaymentIntent `pi_id`, in the confirmation's transaction: makes its
/// payment method (billing details from the token) and marks the token used by that intent.
pub async fn redeem(
    conn: &mut SqliteConnection,
    state: &AppState,
    id: &str,
    pi_id: &str,
) -> Result<Redeemed, ApiError> {
    redeem_by(conn, state, id, pi_id, false).await
}

/// [`redeem`] for a SetupIntent (`seti_id` is recorded as the token's `setup_intent`).
pub async fn redeem_for_setup(
    conn: &mut SqliteConnection,
    state: &AppState,
    id: &str,
    seti_id: &str,
) -> Result<Redeemed, ApiError> {
    redeem_by(conn, state, id, seti_id, true).await
}

async fn redeem_by(
    conn: &mut SqliteConnection,
    state: &AppState,
    id: &str,
    intent: &str,
    setup: bool,
) -> Result<Redeemed, ApiError> {
    let stored = load(conn, id).await?;
    let now = state.clock.now();
    check_usable(&stored.object, now)?;
    let internal: TokenInternal = serde_json::from_value(
        stored
            .internal
            .clone()
            .ok_or_else(|| ApiError::internal("confirmation token without internal facts"))?,
    )?;
    let mut token = stored.object;
    let payment_method = match internal.payment_method {
        Some(existing) => existing,
        None => {
            let preview = token.payment_method_preview.clone();
            let pm = PaymentMethod {
                id: state.ids.new_id("pm"),
                object: "payment_method".into(),
                billing_details: preview.billing_details,
                card: preview.card,
                sepa_debit: None,
                created: now,
                customer: None,
                livemode: false,
                metadata: internal.metadata,
                kind: preview.kind,
            };
            let behaviour = serde_json::to_value(&internal.behaviour)?;
            Store::insert(conn, &pm.id, "payment_method", now, &pm, Some(&behaviour)).await?;
            pm.id
        }
    };
    if setup {
        token.setup_intent = Some(intent.to_owned());
    } else {
        token.payment_intent = Some(intent.to_owned());
    }
    if !Store::update(conn, id, stored.version, &token).await? {
        return Err(ApiError::lock_timeout());
    }
    Ok(Redeemed {
        payment_method,
        return_url: token.return_url,
        setup_future_usage: token.setup_future_usage,
    })
}
