//! `POST /webhooks/gateway`'s domain: the `Stripe-Signature` check (the scheme is
//! `paywidget_core::signature`, shared with the sandbox), dedupe by event id, and events applied
//! to sessions in any order (states only move forward), all in one store transaction with the
//! fulfilment it triggers.

use paywidget_core::api::{ErrorCode, SessionStatus};
use paywidget_core::signature;
use serde::Deserialize;
use serde_json::Value;

use crate::error::DomainError;
use crate::gateway::LastPaymentError;
use crate::{fulfil, mail, HostState};

/// Checks the `Stripe-Signature` header against the raw body with every merchant's webhook
/// secret, at the host's clock.
pub fn verify(state: &HostState, header: Option<&str>, body: &[u8]) -> Result<(), DomainError> {
    let secrets: Vec<&str> = state
        .config
        .merchants
        .iter()
        .map(|m| m.webhook_secret.expose())
        .collect();
    signature::verify(header, body, &secrets, state.clock.now())
        .map(|_| ())
        .map_err(|why| {
            DomainError::invalid(
                ErrorCode::BadSignature,
                format!("Webhook signature rejected: {why}."),
            )
        })
}

/// Applies a verified event. Returns false for a duplicate (already applied).
pub async fn apply(state: &HostState, event: &Value) -> Result<bool, DomainError> {
    let id = event["id"]
        .as_str()
        .ok_or_else(|| DomainError::invalid(ErrorCode::BadEvent, "event without id"))?;
    let kind = event["type"].as_str().unwrap_or("");
    let object = &event["data"]["object"];
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !tx.record_event(id, kind, now).await? {
        tx.commit().await?;
        return Ok(false);
    }
    let pi = match kind {
        k if k.starts_with("payment_intent.") => object["id"].as_str(),
        _ => object["payment_intent"].as_str(),
    };
    let session_id: Option<String> = match (object["metadata"]["session_id"].as_str(), pi) {
        (Some(s), _) if kind.starts_with("payment_intent.") => Some(s.to_owned()),
        (_, Some(pi)) => tx.session_id_by_payment_intent(pi).await?,
        _ => None,
    };
    let Some(session_id) = session_id else {
        // Not ours (another integration on the same account): acknowledged, ignored.
        tx.commit().await?;
        return Ok(true);
    };
    match kind {
        "payment_intent.succeeded" => {
            let Some(session) = tx.session(&session_id).await? else {
                tx.commit().await?;
                return Ok(true);
            };
            let paid = object["amount_received"]
                .as_i64()
                .or(object["amount"].as_i64())
                .unwrap_or(0);
            let currency = object["currency"].as_str().unwrap_or("");
            if paid != session.total() || !currency.eq_ignore_ascii_case(session.currency.code()) {
                tracing::error!(session = %session_id, paid, currency, "payment does not match the session; not fulfilling");
                tx.commit().await?;
                return Ok(true);
            }
            if let Some(pi) = pi {
                tx.set_payment_intent(&session_id, pi).await?;
            }
            tx.advance(&session_id, SessionStatus::Paid, now).await?;
            fulfil::fulfil(state, tx.as_mut(), &session, now).await?;
        }
        "payment_intent.payment_failed" => {
            let code = LastPaymentError::deserialize(&object["last_payment_error"])
                .unwrap_or_default()
                .decline();
            if tx
                .advance(&session_id, SessionStatus::Declined, now)
                .await?
            {
                tx.set_decline(&session_id, &code, code.message()).await?;
            }
        }
        "payment_intent.requires_action" => {
            tx.advance(&session_id, SessionStatus::RequiresAction, now)
                .await?;
        }
        "payment_intent.canceled" => {
            tx.advance(&session_id, SessionStatus::Canceled, now)
                .await?;
        }
        "charge.refunded" => {
            let refunded = object["amount_refunded"].as_i64().unwrap_or(0);
            tx.record_refund(&session_id, refunded).await?;
            if object["refunded"].as_bool() == Some(true) {
                tx.advance(&session_id, SessionStatus::Refunded, now)
                    .await?;
                fulfil::revoke(tx.as_mut(), &session_id, "refunded").await?;
            }
        }
        "charge.dispute.created" => {
            tx.advance(&session_id, SessionStatus::Disputed, now)
                .await?;
            fulfil::revoke(tx.as_mut(), &session_id, "disputed").await?;
        }
        _ => {}
    }
    tx.commit().await?;
    mail::send_outbox(state.store.as_ref(), &state.mailer, &state.config.mail.from).await;
    Ok(true)
}
