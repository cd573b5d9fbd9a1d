//! Checkout sessions: amounts computed on the server, paying exactly once per attempt key, and
//! session states that only move forward.

use paywidget_core::money::{Amount, Currency, FeeRule};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::config::{Campaign, Kind};
use crate::error::HostError;
use crate::gateway::{Gateway, GatewayError, PaymentIntent};
use crate::HostState;

/// How far a session has got. States only move to a higher rank (a late `payment_failed` never
/// undoes `paid`); `declined` and `requires_action` share a rank so a shopper can retry.
pub fn rank(status: &str) -> u8 {
    match status {
        "open" => 0,
        "declined" | "requires_action" | "canceled" => 1,
        "processing" => 2,
        "paid" => 3,
        "fulfilled" => 4,
        "refunded" | "disputed" => 5,
        _ => 0,
    }
}

/// `POST /api/sessions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// The campaign id.
    pub campaign: String,
    /// Donation amount in minor units (ignored for licences: the price is the price).
    pub amount: Option<i64>,
    /// The donor chose to cover the fees.
    #[serde(default)]
    pub cover_fee: bool,
    /// For the receipt or licence email.
    pub email: Option<String>,
    /// For the receipt.
    pub name: Option<String>,
}

/// The answer to `POST /api/sessions`.
#[derive(Debug, Serialize)]
pub struct SessionCreated {
    pub id: String,
    pub amount: i64,
    pub fee: i64,
    pub total: i64,
    pub currency: String,
    pub display_total: String,
}

/// The donor's fee coverage on `amount`: `percent` (rounded up) plus `fixed`.
pub fn fee_for(campaign: &Campaign, amount: i64) -> i64 {
    campaign.fee_coverage.map_or(0, |f| {
        FeeRule::from_percent(f.percent, f.fixed).fee_on(amount)
    })
}

/// Creates a session; the amount is decided here, never taken on trust from the page.
pub async fn create(state: &HostState, new: NewSession) -> Result<SessionCreated, HostError> {
    let campaign = state
        .config
        .campaign(&new.campaign)
        .ok_or(HostError::NotFound("campaign"))?;
    let currency =
        Currency::from_code(&campaign.currency).map_err(|e| HostError::Internal(e.to_string()))?;
    let amount = match campaign.kind {
        Kind::License => campaign.price.unwrap_or(0),
        Kind::Donation => {
            let amount = new
                .amount
                .ok_or_else(|| HostError::bad("amount_required", "Choose an amount."))?;
            let min = campaign.min_amount.unwrap_or(1);
            let max = campaign.max_amount.unwrap_or(99_999_999);
            if amount < min {
                return Err(HostError::bad(
                    "amount_too_small",
                    format!(
                        "The smallest amount is {}.",
                        Amount::from_minor(min, currency)
                    ),
                ));
            }
            if amount > max {
                return Err(HostError::bad(
                    "amount_too_large",
                    format!(
                        "The largest amount is {}.",
                        Amount::from_minor(max, currency)
                    ),
                ));
            }
            amount
        }
    };
    let fee = if new.cover_fee && campaign.kind == Kind::Donation {
        fee_for(campaign, amount)
    } else {
        0
    };
    if let Some(email) = &new.email {
        if !email.contains('@') || email.len() > 254 {
            return Err(HostError::bad(
                "invalid_email",
                "Enter a valid email address.",
            ));
        }
    }
    let id = format!("cs_{}", uuid::Uuid::new_v4().simple());
    let now = (state.now)();
    sqlx::query(
        "INSERT INTO sessions (id, merchant, campaign, kind, amount, fee, currency, email, name, status, created, updated) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
    )
    .bind(&id)
    .bind(&campaign.merchant)
    .bind(&campaign.id)
    .bind(if campaign.kind == Kind::License { "license" } else { "donation" })
    .bind(amount)
    .bind(fee)
    .bind(currency.code())
    .bind(&new.email)
    .bind(&new.name)
    .bind(now)
    .bind(now)
    .execute(&state.db)
    .await?;
    Ok(SessionCreated {
        id,
        amount,
        fee,
        total: amount + fee,
        currency: currency.code().into(),
        display_total: Amount::from_minor(amount + fee, currency).to_string(),
    })
}

/// A session row.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub merchant: String,
    pub campaign: String,
    pub kind: String,
    pub amount: i64,
    pub fee: i64,
    pub currency: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub status: String,
    pub payment_intent: Option<String>,
    pub redirect_url: Option<String>,
    pub decline_code: Option<String>,
    pub decline_message: Option<String>,
}

/// Loads a session.
pub async fn load<'c, E: sqlx::Executor<'c, Database = sqlx::Sqlite>>(
    db: E,
    id: &str,
) -> Result<Session, HostError> {
    let r = sqlx::query("SELECT * FROM sessions WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(HostError::NotFound("session"))?;
    Ok(Session {
        id: r.get("id"),
        merchant: r.get("merchant"),
        campaign: r.get("campaign"),
        kind: r.get("kind"),
        amount: r.get("amount"),
        fee: r.get("fee"),
        currency: r.get("currency"),
        email: r.get("email"),
        name: r.get("name"),
        status: r.get("status"),
        payment_intent: r.get("payment_intent"),
        redirect_url: r.get("redirect_url"),
        decline_code: r.get("decline_code"),
        decline_message: r.get("decline_message"),
    })
}

/// Moves a session to `status` only if that is forward; returns whether it moved.
pub async fn advance<'c, E: sqlx::Executor<'c, Database = sqlx::Sqlite>>(
    db: E,
    id: &str,
    status: &str,
    now: i64,
) -> Result<bool, HostError> {
    // The rank check is in SQL so concurrent updates cannot move a session backwards.
    let done = sqlx::query(
        "UPDATE sessions SET status = ?1, updated = ?2 WHERE id = ?3 AND \
         (CASE status WHEN 'open' THEN 0 WHEN 'declined' THEN 1 WHEN 'requires_action' THEN 1 WHEN 'canceled' THEN 1 \
          WHEN 'processing' THEN 2 WHEN 'paid' THEN 3 WHEN 'fulfilled' THEN 4 ELSE 5 END) <= ?4",
    )
    .bind(status)
    .bind(now)
    .bind(id)
    .bind(i64::from(rank(status)))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `POST /api/sessions/:id/pay`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    /// The token from the gateway (`pm_…`): never card data.
    pub payment_method: String,
    /// One key per attempt, chosen by the page; retries of the attempt reuse it.
    pub idempotency_key: String,
}

/// What a pay attempt came to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PayOutcome {
    /// The gateway charged the card; fulfilment follows its webhook.
    Succeeded,
    /// 3-D Secure: send the shopper to `redirect_url`.
    RequiresAction { redirect_url: String },
    /// Declined: `code` from the gateway and a message for the shopper.
    Declined { code: String, message: String },
    /// The gateway has not decided yet; poll the session.
    Processing,
}

/// A specific, safe message for a decline code (lost/stolen/fraud stay generic on purpose).
pub fn decline_message(code: &str) -> &'static str {
    match code {
        "insufficient_funds" => "Your card has insufficient funds. Try another card.",
        "expired_card" => "Your card has expired. Check the expiry date or use another card.",
        "incorrect_cvc" => "Your card's security code is incorrect. Check it and try again.",
        "processing_error" => "We couldn't process your card just now. Please try again.",
        "authentication_required" | "payment_intent_authentication_failure" => {
            "Your bank could not confirm it's you. Try again or use another card."
        }
        "incorrect_number" | "invalid_number" => "Your card number is incorrect.",
        _ => "Your card was declined. Try another card or contact your bank.",
    }
}

fn derived_key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("pw_{}", &hex::encode(h.finalize())[..40])
}

/// Pays a session. The same `(session, idempotency_key)` always gives the same outcome and
/// charges at most once, however many times and however concurrently it is retried.
pub async fn pay(
    state: &std::sync::Arc<HostState>,
    session_id: &str,
    req: PayRequest,
) -> Result<PayOutcome, HostError> {
    if !req.payment_method.starts_with("pm_") || req.payment_method.len() > 255 {
        return Err(HostError::bad(
            "invalid_payment_method",
            "payment_method must be a gateway token (pm_…).",
        ));
    }
    if req.idempotency_key.is_empty() || req.idempotency_key.len() > 200 {
        return Err(HostError::bad(
            "invalid_idempotency_key",
            "idempotency_key must be 1–200 characters.",
        ));
    }
    let session = load(&state.db, session_id).await?;
    if rank(&session.status) >= rank("paid") {
        return Ok(PayOutcome::Succeeded);
    }
    let claimed = sqlx::query(
        "INSERT INTO pay_attempts (session_id, client_key, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(session_id)
    .bind(&req.idempotency_key)
    .bind((state.now)())
    .execute(&state.db)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        return wait_for_outcome(state, session_id, &req.idempotency_key).await;
    }
    // Run the attempt to its end even if this client disconnects, so its outcome is recorded.
    let owned = state.clone();
    let sid = session_id.to_owned();
    let task = tokio::spawn(async move { attempt(&owned, &sid, req).await });
    task.await
        .map_err(|e| HostError::Internal(format!("pay task: {e}")))?
}

async fn wait_for_outcome(
    state: &HostState,
    session_id: &str,
    key: &str,
) -> Result<PayOutcome, HostError> {
    for _ in 0..300 {
        let outcome: Option<Option<String>> = sqlx::query_scalar(
            "SELECT outcome FROM pay_attempts WHERE session_id = ? AND client_key = ?",
        )
        .bind(session_id)
        .bind(key)
        .fetch_optional(&state.db)
        .await?;
        match outcome {
            Some(Some(json)) => return Ok(serde_json::from_str(&json)?),
            // The first attempt failed without an outcome and released the key: let the client retry.
            None => return Err(HostError::InProgress),
            Some(None) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    Err(HostError::InProgress)
}

async fn attempt(
    state: &HostState,
    session_id: &str,
    req: PayRequest,
) -> Result<PayOutcome, HostError> {
    let result = charge(state, session_id, &req).await;
    match &result {
        Ok(outcome) => {
            sqlx::query(
                "UPDATE pay_attempts SET outcome = ? WHERE session_id = ? AND client_key = ?",
            )
            .bind(serde_json::to_string(outcome)?)
            .bind(session_id)
            .bind(&req.idempotency_key)
            .execute(&state.db)
            .await?;
        }
        Err(_) => {
            // No definite outcome: free the key so the page can retry it (the gateway
            // idempotency keys derived from it make the retry safe).
            sqlx::query("DELETE FROM pay_attempts WHERE session_id = ? AND client_key = ? AND outcome IS NULL")
                .bind(session_id)
                .bind(&req.idempotency_key)
                .execute(&state.db)
                .await?;
        }
    }
    result
}

async fn charge(
    state: &HostState,
    session_id: &str,
    req: &PayRequest,
) -> Result<PayOutcome, HostError> {
    let session = load(&state.db, session_id).await?;
    let merchant = state
        .config
        .merchant(&session.merchant)
        .ok_or(HostError::Internal("merchant gone".into()))?;
    let campaign = state
        .config
        .campaign(&session.campaign)
        .ok_or(HostError::Internal("campaign gone".into()))?;
    let gateway = Gateway::new(
        state.http.clone(),
        &merchant.gateway_url,
        &merchant.secret_key,
    );
    let pi_id = match &session.payment_intent {
        Some(pi) => pi.clone(),
        None => {
            let pi = gateway
                .create_payment_intent(
                    session.amount + session.fee,
                    &session.currency,
                    &session.id,
                    &campaign.title,
                    session.email.as_deref(),
                    &derived_key(&["create", &session.id]),
                )
                .await
                .map_err(gateway_error)?;
            sqlx::query(
                "UPDATE sessions SET payment_intent = ? WHERE id = ? AND payment_intent IS NULL",
            )
            .bind(&pi.id)
            .bind(&session.id)
            .execute(&state.db)
            .await?;
            pi.id
        }
    };
    let return_url = format!(
        "{}/checkout/return?session={}",
        state.public_url, session.id
    );
    let key = derived_key(&["confirm", &session.id, &req.idempotency_key]);
    let now = (state.now)();
    match gateway
        .confirm(&pi_id, &req.payment_method, &return_url, &key)
        .await
    {
        Ok(pi) => record(state, &session, &pi, now).await,
        Err(GatewayError::Declined(d, _)) => {
            let message = decline_message(&d.code);
            if advance(&state.db, &session.id, "declined", now).await? {
                sqlx::query(
                    "UPDATE sessions SET decline_code = ?, decline_message = ? WHERE id = ?",
                )
                .bind(&d.code)
                .bind(message)
                .bind(&session.id)
                .execute(&state.db)
                .await?;
            }
            Ok(PayOutcome::Declined {
                code: d.code,
                message: message.into(),
            })
        }
        Err(e) => Err(gateway_error(e)),
    }
}

fn gateway_error(e: GatewayError) -> HostError {
    match e {
        GatewayError::Declined(d, _) => HostError::bad("declined", decline_message(&d.code)),
        GatewayError::Rejected(why) => HostError::Internal(format!("gateway rejected: {why}")),
        GatewayError::Unavailable(why) => HostError::Gateway(why),
    }
}

/// Records the gateway's state of a payment on the session (never claiming "paid" unless the
/// gateway said `succeeded`).
pub async fn record(
    state: &HostState,
    session: &Session,
    pi: &PaymentIntent,
    now: i64,
) -> Result<PayOutcome, HostError> {
    let outcome = match pi.status.as_str() {
        "succeeded" => {
            advance(&state.db, &session.id, "paid", now).await?;
            PayOutcome::Succeeded
        }
        "requires_action" => {
            let url = pi
                .redirect_url()
                .ok_or_else(|| HostError::Internal("requires_action without a URL".into()))?;
            if advance(&state.db, &session.id, "requires_action", now).await? {
                sqlx::query("UPDATE sessions SET redirect_url = ? WHERE id = ?")
                    .bind(&url)
                    .bind(&session.id)
                    .execute(&state.db)
                    .await?;
            }
            PayOutcome::RequiresAction { redirect_url: url }
        }
        "requires_payment_method" => {
            let code = pi
                .last_payment_error
                .as_ref()
                .and_then(|e| e["decline_code"].as_str().or(e["code"].as_str()))
                .unwrap_or("card_declined")
                .to_owned();
            advance(&state.db, &session.id, "declined", now).await?;
            PayOutcome::Declined {
                message: decline_message(&code).into(),
                code,
            }
        }
        _ => {
            advance(&state.db, &session.id, "processing", now).await?;
            PayOutcome::Processing
        }
    };
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_only_move_forward() {
        assert!(rank("paid") > rank("declined"));
        assert!(rank("fulfilled") > rank("paid"));
        assert_eq!(rank("declined"), rank("requires_action"));
        assert!(rank("refunded") > rank("fulfilled"));
    }

    #[test]
    fn derived_keys_are_stable_and_distinct() {
        assert_eq!(
            derived_key(&["confirm", "cs_1", "k"]),
            derived_key(&["confirm", "cs_1", "k"])
        );
        assert_ne!(
            derived_key(&["confirm", "cs_1", "k"]),
            derived_key(&["confirm", "cs_1", "k2"])
        );
        assert!(derived_key(&["a"]).len() < 255);
    }

    #[test]
    fn messages_are_specific_but_do_not_reveal_fraud_flags() {
        assert!(decline_message("insufficient_funds").contains("insufficient funds"));
        assert_eq!(
            decline_message("stolen_card"),
            decline_message("generic_decline")
        );
    }
}
