//! SetupIntents (`seti_…`): saving a card for later off-session payments. Confirming checks the
//! card as a payment would (declines answer 402), asks for 3-D Secure on the sandbox's challenge
//! page for the cards that need it, and on success attaches the card to the customer and marks
//! it set up (so 4000002500003155 then pays off-session without authentication).

use serde_json::json;
use sqlx::SqliteConnection;

use crate::cards::Behaviour;
use crate::error::ApiError;
use crate::model::*;
use crate::payments::{self, emit};
use crate::store::{Store, Versioned};
use crate::AppState;

/// The parameters of `POST /v1/setup_intents`.
#[allow(missing_docs)] // Stripe's parameters of the same names.
#[derive(Default)]
pub struct NewSetupIntent {
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub payment_method: Option<String>,
    pub usage: String,
    pub confirm: Option<SetupConfirm>,
}

/// The parameters of a confirmation.
#[allow(missing_docs)] // Stripe's parameters of the same names.
#[derive(Default)]
pub struct SetupConfirm {
    pub payment_method: Option<String>,
    pub confirmation_token: Option<String>,
    pub return_url: Option<String>,
}

/// `POST /v1/setup_intents`.
pub async fn create(state: &AppState, new: NewSetupIntent) -> Result<SetupIntent, ApiError> {
    let id = state.ids.new_id("seti");
    let secret = format!(
        "{id}_secret_{}",
        state.ids.new_id("s").trim_start_matches("s_")
    );
    let si = SetupIntent {
        id: id.clone(),
        object: "setup_intent".into(),
        cancellation_reason: None,
        client_secret: secret,
        created: state.clock.now(),
        customer: new.customer,
        description: new.description,
        last_setup_error: None,
        livemode: false,
        metadata: new.metadata,
        next_action: None,
        status: if new.payment_method.is_some() {
            "requires_confirmation"
        } else {
            "requires_payment_method"
        }
        .into(),
        payment_method: new.payment_method,
        payment_method_types: vec!["card".into()],
        return_url: None,
        usage: new.usage,
    };
    let mut tx = state.store.begin().await?;
    if let Some(c) = &si.customer {
        payments::require_customer(&mut tx, c).await?;
    }
    if let Some(pm) = &si.payment_method {
        load_pm(&mut tx, pm).await?;
    }
    Store::insert(&mut tx, &si.id, "setup_intent", si.created, &si, None).await?;
    tx.commit().await?;
    match new.confirm {
        Some(c) => confirm(state, &id, c).await,
        None => Ok(si),
    }
}

async fn load(conn: &mut SqliteConnection, id: &str) -> Result<Versioned<SetupIntent>, ApiError> {
    Store::get_in::<SetupIntent>(conn, "setup_intent", id)
        .await?
        .ok_or_else(|| ApiError::not_found("setup_intent", id))
}

async fn load_pm(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Versioned<PaymentMethod>, ApiError> {
    Store::get_in::<PaymentMethod>(conn, "payment_method", id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment_method", id))
}

async fn save(conn: &mut SqliteConnection, si: &SetupIntent, version: i64) -> Result<(), ApiError> {
    if Store::update(conn, &si.id, version, si).await? {
        Ok(())
    } else {
        Err(ApiError::lock_timeout())
    }
}

/// `POST /v1/setup_intents/:id/confirm`.
pub async fn confirm(state: &AppState, id: &str, c: SetupConfirm) -> Result<SetupIntent, ApiError> {
    let mut tx = state.store.begin().await?;
    let v = load(&mut tx, id).await?;
    let mut si = v.object;
    if !matches!(
        si.status.as_str(),
        "requires_payment_method" | "requires_confirmation"
    ) {
        return Err(ApiError::invalid_request(
            "setup_intent_unexpected_state",
            format!(
                "This SetupIntent's confirm could not be performed because it has a status of {}.",
                si.status
            ),
        ));
    }
    if c.payment_method.is_some() && c.confirmation_token.is_some() {
        return Err(payments::both_payment_method_and_token());
    }
    if let Some(token) = &c.confirmation_token {
        let used =
            crate::confirmation_tokens::redeem_for_setup(&mut tx, state, token, &si.id).await?;
        si.payment_method = Some(used.payment_method);
        if used.return_url.is_some() {
            si.return_url = used.return_url;
        }
    }
    if c.payment_method.is_some() {
        si.payment_method = c.payment_method;
    }
    if c.return_url.is_some() {
        si.return_url = c.return_url;
    }
    let pm_id = si
        .payment_method
        .clone()
        .ok_or_else(|| ApiError::missing_param("payment_method"))?;
    let pm = load_pm(&mut tx, &pm_id).await?;
    let behaviour: Behaviour = pm
        .internal
        .clone()
        .map(serde_json::from_value)
        .transpose()?
        .unwrap_or(Behaviour::Succeed);
    // Radar evaluates set-ups too: a card it blocks is refused as a declined one is.
    let behaviour = match behaviour {
        Behaviour::Blocked => {
            let (code, decline_code, message) = crate::cards::blocked_error();
            Behaviour::Decline {
                code,
                decline_code,
                message,
            }
        }
        other => other,
    };
    match behaviour {
        Behaviour::Decline {
            code,
            decline_code,
            message,
        } => {
            // Setting up checks the card: a declining card is refused.
            let pm_json = serde_json::to_value(&pm.object)?;
            si.status = "requires_payment_method".into();
            si.payment_method = None;
            si.last_setup_error = Some(json!({
                "type": "card_error", "code": code, "decline_code": decline_code,
                "message": message, "payment_method": pm_json,
            }));
            save(&mut tx, &si, v.version).await?;
            emit(&mut tx, state, "setup_intent.setup_failed", &si).await?;
            tx.commit().await?;
            state.deliveries_queued.notify_one();
            let mut e = ApiError::card(&code, Some(&decline_code), message, None);
            e.payment_method = Some(pm_json);
            e.setup_intent = Some(serde_json::to_value(&si)?);
            Err(e)
        }
        Behaviour::ThreeDSecure
        | Behaviour::ThreeDSecureUnlessSetUp
        | Behaviour::ThreeDSecureOnSessionOnly
        | Behaviour::ThreeDSecureThenDecline { .. } => {
            si.status = "requires_action".into();
            si.next_action = Some(json!({
                "type": "redirect_to_url",
                "redirect_to_url": {
                    "url": format!("{}/sandbox/3ds/{}?client_secret={}", state.base_url, si.id, si.client_secret),
                    "return_url": si.return_url,
                }
            }));
            save(&mut tx, &si, v.version).await?;
            emit(&mut tx, state, "setup_intent.requires_action", &si).await?;
            tx.commit().await?;
            state.deliveries_queued.notify_one();
            Ok(si)
        }
        _ => {
            succeed(&mut tx, state, &mut si).await?;
            save(&mut tx, &si, v.version).await?;
            tx.commit().await?;
            state.deliveries_queued.notify_one();
            Ok(si)
        }
    }
}

async fn succeed(
    conn: &mut SqliteConnection,
    state: &AppState,
    si: &mut SetupIntent,
) -> Result<(), ApiError> {
    si.status = "succeeded".into();
    si.next_action = None;
    si.last_setup_error = None;
    if let Some(pm) = &si.payment_method {
        payments::mark_set_up(conn, pm).await?;
        if let Some(c) = &si.customer {
            payments::attach_in(conn, pm, c).await?;
        }
    }
    emit(conn, state, "setup_intent.succeeded", si).await?;
    Ok(())
}

/// Completes or fails 3-D Secure for a SetupIntent in `requires_action` (the challenge page).
pub async fn finish_three_d_secure(
    state: &AppState,
    id: &str,
    client_secret: &str,
    complete: bool,
) -> Result<SetupIntent, ApiError> {
    let mut tx = state.store.begin().await?;
    let v = load(&mut tx, id).await?;
    let mut si = v.object;
    if si.client_secret != client_secret {
        return Err(ApiError::not_found("setup_intent", id));
    }
    if si.status != "requires_action" {
        return Err(ApiError::invalid_request(
            "setup_intent_unexpected_state",
            format!("This SetupIntent's authentication could not be performed because it has a status of {}.", si.status),
        ));
    }
    if complete {
        succeed(&mut tx, state, &mut si).await?;
    } else {
        si.status = "requires_payment_method".into();
        si.next_action = None;
        si.payment_method = None;
        si.last_setup_error = Some(json!({
            "type": "invalid_request_error",
            "code": "setup_intent_authentication_failure",
            "message": "The latest attempt to set up the payment method has failed because authentication failed.",
        }));
        emit(&mut tx, state, "setup_intent.setup_failed", &si).await?;
    }
    save(&mut tx, &si, v.version).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(si)
}

/// `POST /v1/setup_intents/:id/cancel`.
pub async fn cancel(
    state: &AppState,
    id: &str,
    reason: Option<String>,
) -> Result<SetupIntent, ApiError> {
    let mut tx = state.store.begin().await?;
    let v = load(&mut tx, id).await?;
    let mut si = v.object;
    if matches!(si.status.as_str(), "succeeded" | "canceled") {
        return Err(ApiError::invalid_request(
            "setup_intent_unexpected_state",
            format!(
                "You cannot cancel this SetupIntent because it has a status of {}.",
                si.status
            ),
        ));
    }
    si.status = "canceled".into();
    si.cancellation_reason = reason;
    si.next_action = None;
    save(&mut tx, &si, v.version).await?;
    emit(&mut tx, state, "setup_intent.canceled", &si).await?;
    tx.commit().await?;
    state.deliveries_queued.notify_one();
    Ok(si)
}
