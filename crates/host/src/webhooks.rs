//! `POST /webhooks/gateway`: verifies `Stripe-Signature` on the raw body, drops duplicates by
//! event id, and applies events to sessions in any order (states only move forward).

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::error::HostError;
use crate::{fulfil, sessions, HostState};

/// How old a signature's timestamp may be, as Stripe's libraries default to.
pub const TOLERANCE_SECS: i64 = 300;

/// Checks a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`) against the body with any of
/// `secrets`; constant-time comparison; rejects timestamps more than 300 s from `now`.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[&str],
    now: i64,
) -> Result<(), HostError> {
    let bad = |why: &str| {
        HostError::bad(
            "bad_signature",
            format!("Webhook signature rejected: {why}."),
        )
    };
    let header = header.ok_or_else(|| bad("missing Stripe-Signature header"))?;
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => {
                if let Ok(bytes) = hex::decode(v) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let t = t.ok_or_else(|| bad("no timestamp"))?;
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(bad("timestamp outside the tolerance"));
    }
    for secret in secrets {
        for sig in &signatures {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes any key length");
            mac.update(t.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            if mac.verify_slice(sig).is_ok() {
                return Ok(());
            }
        }
    }
    Err(bad("no matching v1 signature"))
}

/// Applies a verified event. Returns false for a duplicate (already applied).
pub async fn apply(state: &HostState, event: &Value) -> Result<bool, HostError> {
    let id = event["id"]
        .as_str()
        .ok_or_else(|| HostError::bad("bad_event", "event without id"))?;
    let kind = event["type"].as_str().unwrap_or("");
    let object = &event["data"]["object"];
    let now = (state.now)();
    let mut tx = state.db.begin().await?;
    let fresh = sqlx::query(
        "INSERT INTO webhook_events (id, type, received) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        tx.commit().await?;
        return Ok(false);
    }
    let pi = match kind {
        k if k.starts_with("payment_intent.") => object["id"].as_str(),
        _ => object["payment_intent"].as_str(),
    };
    let session_id: Option<String> = match (object["metadata"]["session_id"].as_str(), pi) {
        (Some(s), _) if kind.starts_with("payment_intent.") => Some(s.to_owned()),
        (_, Some(pi)) => {
            sqlx::query_scalar("SELECT id FROM sessions WHERE payment_intent = ?")
                .bind(pi)
                .fetch_optional(&mut *tx)
                .await?
        }
        _ => None,
    };
    let Some(session_id) = session_id else {
        // Not ours (another integration on the same account): acknowledged, ignored.
        tx.commit().await?;
        return Ok(true);
    };
    match kind {
        "payment_intent.succeeded" => {
            let session = sessions::load(&mut *tx, &session_id).await;
            let Ok(session) = session else {
                tx.commit().await?;
                return Ok(true);
            };
            let paid = object["amount_received"]
                .as_i64()
                .or(object["amount"].as_i64())
                .unwrap_or(0);
            let currency = object["currency"].as_str().unwrap_or("");
            if paid != session.amount + session.fee
                || !currency.eq_ignore_ascii_case(&session.currency)
            {
                tracing::error!(session = %session_id, paid, currency, "payment does not match the session; not fulfilling");
                tx.commit().await?;
                return Ok(true);
            }
            if let Some(pi) = pi {
                sqlx::query("UPDATE sessions SET payment_intent = ? WHERE id = ? AND payment_intent IS NULL")
                    .bind(pi)
                    .bind(&session_id)
                    .execute(&mut *tx)
                    .await?;
            }
            sessions::advance(&mut *tx, &session_id, "paid", now).await?;
            fulfil::fulfil(state, &mut tx, &session, now).await?;
        }
        "payment_intent.payment_failed" => {
            let e = &object["last_payment_error"];
            let code = e["decline_code"]
                .as_str()
                .or(e["code"].as_str())
                .unwrap_or("card_declined");
            if sessions::advance(&mut *tx, &session_id, "declined", now).await? {
                sqlx::query(
                    "UPDATE sessions SET decline_code = ?, decline_message = ? WHERE id = ?",
                )
                .bind(code)
                .bind(sessions::decline_message(code))
                .bind(&session_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        "payment_intent.requires_action" => {
            sessions::advance(&mut *tx, &session_id, "requires_action", now).await?;
        }
        "payment_intent.canceled" => {
            sessions::advance(&mut *tx, &session_id, "canceled", now).await?;
        }
        "charge.refunded" => {
            let refunded = object["amount_refunded"].as_i64().unwrap_or(0);
            sqlx::query(
                "UPDATE sessions SET amount_refunded = MAX(amount_refunded, ?) WHERE id = ?",
            )
            .bind(refunded)
            .bind(&session_id)
            .execute(&mut *tx)
            .await?;
            if object["refunded"].as_bool() == Some(true) {
                sessions::advance(&mut *tx, &session_id, "refunded", now).await?;
                fulfil::revoke(&mut tx, &session_id, "refunded").await?;
            }
        }
        "charge.dispute.created" => {
            sessions::advance(&mut *tx, &session_id, "disputed", now).await?;
            fulfil::revoke(&mut tx, &session_id, "disputed").await?;
        }
        _ => {}
    }
    tx.commit().await?;
    fulfil::send_mail(state).await;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn accepts_any_matching_v1_and_any_secret() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign("whsec_b", 1000, body);
        let header = format!("t=1000,v1={},v1={good}", "00".repeat(32));
        assert!(verify(Some(&header), body, &["whsec_a", "whsec_b"], 1100).is_ok());
    }

    #[test]
    fn rejects_missing_stale_wrong_and_tampered() {
        let body = br#"{"id":"evt_1"}"#;
        let good = format!("t=1000,v1={}", sign("whsec_a", 1000, body));
        assert!(verify(None, body, &["whsec_a"], 1000).is_err());
        assert!(verify(Some(&good), body, &["whsec_a"], 1000 + 301).is_err());
        assert!(verify(Some(&good), body, &["whsec_other"], 1000).is_err());
        assert!(verify(Some(&good), br#"{"id":"evt_2"}"#, &["whsec_a"], 1000).is_err());
        assert!(verify(Some("garbage"), body, &["whsec_a"], 1000).is_err());
    }
}
