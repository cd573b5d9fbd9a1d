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

/// A subscription's or an invoice's events: each paid invoice fulfilled once (keyed by the
/// invoice, so duplicates and any order converge), a failed renewal told to the donor, and the
/// subscription's status kept.
async fn apply_billing(
    state: &HostState,
    tx: &mut dyn crate::store::StoreTx,
    kind: &str,
    object: &Value,
    now: i64,
) -> Result<(), DomainError> {
    let (subscription, metadata) = if kind.starts_with("customer.subscription.") {
        (object["id"].as_str(), &object["metadata"])
    } else {
        // Since API 2025-03-31 the subscription of an invoice is under `parent`.
        let details = &object["parent"]["subscription_details"];
        (
            details["subscription"]
                .as_str()
                .or(object["subscription"].as_str()),
            &details["metadata"],
        )
    };
    let mut session_id = match subscription {
        Some(sub) => tx.session_id_by_subscription(sub).await?,
        None => None,
    };
    if session_id.is_none() {
        session_id = metadata["session_id"].as_str().map(str::to_owned);
    }
    let Some(session) = (match session_id {
        Some(id) => tx.session(&id).await?,
        None => None,
    }) else {
        // Not ours (another integration on the same account): acknowledged, ignored.
        return Ok(());
    };
    if session.subscription.is_some() && session.subscription.as_deref() != subscription {
        tracing::warn!(session = %session.id, "an event for another subscription of this session; ignored");
        return Ok(());
    }
    match kind {
        "invoice.paid" => {
            let paid = object["amount_paid"].as_i64().unwrap_or(0);
            let currency = object["currency"].as_str().unwrap_or("");
            // The first invoice is the checkout's amount; renewals are what the gateway's
            // subscription charged (the donor may have changed the amount since).
            let first = object["billing_reason"].as_str() == Some("subscription_create");
            if (first && paid != session.total())
                || paid <= 0
                || !currency.eq_ignore_ascii_case(session.currency.code())
            {
                tracing::error!(session = %session.id, paid, currency, "invoice does not match the gift; not fulfilling");
                return Ok(());
            }
            let Some(invoice_id) = object["id"].as_str() else {
                return Ok(());
            };
            let invoice = crate::store::InvoiceRow {
                invoice_id: invoice_id.to_owned(),
                session_id: session.id.clone(),
                billing_reason: object["billing_reason"]
                    .as_str()
                    .unwrap_or("subscription_cycle")
                    .to_owned(),
                amount: paid,
                receipt_number: None,
                period_end: object["lines"]["data"][0]["period"]["end"]
                    .as_i64()
                    .or(object["period_end"].as_i64()),
                created: now,
            };
            fulfil::fulfil_invoice(state, tx, &session, &invoice, now).await?;
        }
        // The first invoice's decline is the checkout's (the page shows it); renewals mail.
        "invoice.payment_failed"
            if object["billing_reason"].as_str() != Some("subscription_create") =>
        {
            let amount = object["amount_due"].as_i64().unwrap_or(session.total());
            fulfil::renewal_failed(
                state,
                tx,
                &session,
                amount,
                object["next_payment_attempt"].as_i64(),
                now,
            )
            .await?;
        }
        "invoice.upcoming" => {
            let renews = object["lines"]["data"][0]["period"]["start"]
                .as_i64()
                .or(object["next_payment_attempt"].as_i64());
            let amount = object["amount_due"].as_i64().unwrap_or(session.total());
            fulfil::renewal_upcoming(state, tx, &session, amount, renews, now).await?;
        }
        k if k.starts_with("customer.subscription.") => {
            if let Some(status) = object["status"].as_str() {
                let was = session.subscription_status.as_deref();
                let ends_now =
                    status == "canceled" && !matches!(was, Some("canceled" | "incomplete_expired"));
                tx.set_subscription_status(&session.id, status).await?;
                if ends_now {
                    // Whether the donor asked for it, or the retries ran out: they are told.
                    let asked = session.cancel_at_period_end
                        || object["cancellation_details"]["reason"].as_str()
                            == Some("cancellation_requested");
                    fulfil::gift_ended(state, tx, &session, asked, now).await?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Applies a verified event. Returns false for a duplicate (already applied).
pub async fn apply(state: &HostState, event: &Value) -> Result<bool, DomainError> {
    let id = event["id"]
        .as_str()
        .ok_or_else(|| DomainError::invalid(ErrorCode::BadEvent, "event without id"))?;
    let kind = event["type"].as_str().unwrap_or("");
    apply_object(state, id, kind, &event["data"]["object"]).await
}

/// Applies event `id` of type `kind` about `object` (a gateway object as the gateway shows
/// it): the webhook's path, and reconciliation's when a webhook never came (with an id of its
/// own; fulfilment is once per session or invoice whichever path gets there first).
pub(crate) async fn apply_object(
    state: &HostState,
    id: &str,
    kind: &str,
    object: &Value,
) -> Result<bool, DomainError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !tx.record_event(id, kind, now).await? {
        tx.commit().await?;
        return Ok(false);
    }
    if kind.starts_with("invoice.") || kind.starts_with("customer.subscription.") {
        apply_billing(state, tx.as_mut(), kind, object, now).await?;
        tx.commit().await?;
        mail::send_outbox(state).await;
        return Ok(true);
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
            let mut code = LastPaymentError::deserialize(&object["last_payment_error"])
                .unwrap_or_default()
                .decline();
            // Under a card-testing attack the session tells no more than the pay answer did.
            if let Some(session) = tx.session(&session_id).await? {
                if crate::shield::generic_declines(state, &session.merchant, &session.campaign)
                    .await?
                {
                    code = paywidget_core::api::DeclineCode::CardDeclined;
                }
            }
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
    mail::send_outbox(state).await;
    Ok(true)
}
