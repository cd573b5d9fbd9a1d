//! Checkout sessions: amounts computed on the server, paying exactly once per attempt key, and
//! session states that only move forward (the rank check lives in the store's `UPDATE`).

pub mod form_page;
pub mod thanks;
pub mod views;
pub mod waiting;

use std::sync::Arc;

use paywidget_core::api::{
    CampaignKind, CardCapture, CurrencyOption, DeclineCode, ErrorCode, NewSession, PayOutcome,
    PayRequest, PaymentToken, SessionCreated, SessionStatus, SessionView,
};
use paywidget_core::money::{Amount, FeeRule};
use sha2::{Digest, Sha256};

use crate::gateway::{
    Gateway, GatewayError, MandateAcceptance, NewSubscription, PaymentIntent, PaymentIntentStatus,
};
use crate::mail::EmailAddress;
use crate::store::{Attempt, SessionRow, Store};
use crate::support::error::DomainError;
use crate::HostState;

/// The donor's fee coverage on `amount`: `percent` (rounded up) plus `fixed`.
pub fn fee_for(terms: &CurrencyOption, amount: i64) -> i64 {
    terms.fee_coverage.map_or(0, |f| {
        FeeRule::from_percent(f.percent, f.fixed).fee_on(amount)
    })
}

/// Creates a session; the amount is decided here, never taken on trust from the page.
pub async fn create(
    state: &HostState,
    new: NewSession,
    ip: Option<std::net::IpAddr>,
) -> Result<SessionCreated, DomainError> {
    let campaign = state
        .config
        .campaign(&new.campaign)
        .ok_or(DomainError::NotFound("campaign"))?;
    // The donor's currency, among the campaign's; its amounts are in that currency's units.
    let currency = new.currency.unwrap_or(campaign.currency);
    let terms = campaign.terms(currency).ok_or_else(|| {
        DomainError::invalid(
            ErrorCode::InvalidRequest,
            format!("This campaign does not take {}.", currency.code()),
        )
    })?;
    let amount = match campaign.kind {
        CampaignKind::License if !campaign.tiers.is_empty() => {
            let tier = new
                .tier
                .as_deref()
                .and_then(|t| campaign.tier(t))
                .ok_or_else(|| DomainError::invalid(ErrorCode::InvalidRequest, "Choose a plan."))?;
            let price = match new.frequency {
                paywidget_core::api::Frequency::Monthly => tier.monthly,
                paywidget_core::api::Frequency::Yearly => tier.yearly,
                paywidget_core::api::Frequency::OneTime => None,
            };
            price.ok_or_else(|| {
                DomainError::invalid(
                    ErrorCode::FrequencyNotOffered,
                    format!("{} is not offered {}.", tier.name, new.frequency.as_str()),
                )
            })?
        }
        CampaignKind::License => terms.price.unwrap_or(0),
        CampaignKind::Donation => {
            let amount = new.amount.ok_or_else(|| {
                DomainError::invalid(ErrorCode::AmountRequired, "Choose an amount.")
            })?;
            let usual = terms.min_amount.unwrap_or(1);
            let now = state.clock.now();
            // Under a card-testing attack the smallest gift is raised (the testers' favourite).
            let min =
                crate::shield::min_amount(state, &campaign.merchant, &campaign.id, usual, now)
                    .await?;
            let max = terms.max_amount.unwrap_or(99_999_999);
            if amount < min {
                return Err(DomainError::invalid(
                    ErrorCode::AmountTooSmall,
                    format!(
                        "The smallest amount is {}.",
                        Amount::from_minor(min, currency)
                    ),
                ));
            }
            crate::shield::tiny_amount(state, &campaign.merchant, ip, amount, min, now).await?;
            if amount > max {
                return Err(DomainError::invalid(
                    ErrorCode::AmountTooLarge,
                    format!(
                        "The largest amount is {}.",
                        Amount::from_minor(max, currency)
                    ),
                ));
            }
            amount
        }
    };
    let fee = if new.cover_fee && campaign.kind == CampaignKind::Donation {
        fee_for(&terms, amount)
    } else {
        0
    };
    if !campaign.frequencies.contains(&new.frequency) {
        return Err(DomainError::invalid(
            ErrorCode::FrequencyNotOffered,
            format!(
                "This campaign does not offer {} gifts.",
                new.frequency.as_str().replace('_', "-")
            ),
        ));
    }
    // Parsed once here with the mailer's own parser: an accepted address can be written.
    let email = new
        .email
        .as_deref()
        .map(|e| {
            EmailAddress::parse(e).map_err(|_| {
                DomainError::invalid(ErrorCode::InvalidEmail, "Enter a valid email address.")
            })
        })
        .transpose()?;
    let row = SessionRow {
        id: state.ids.new_id("cs"),
        merchant: campaign.merchant.clone(),
        campaign: campaign.id.clone(),
        kind: campaign.kind,
        amount,
        fee,
        currency,
        // Lower-cased: the portal finds a customer's payments by address, whatever case they
        // typed.
        email: email.map(|e| e.to_string().to_lowercase()),
        name: new.name,
        status: SessionStatus::Open,
        payment_intent: None,
        redirect_url: None,
        decline_code: None,
        decline_message: None,
        amount_refunded: 0,
        frequency: new.frequency,
        subscription: None,
        subscription_status: None,
        cancel_at_period_end: false,
        paused: false,
        tier: new.tier.clone(),
        next_amount: None,
        created: state.clock.now(),
    };
    state.store.insert_session(&row, row.created).await?;
    Ok(SessionCreated {
        display_total: Amount::from_minor(row.total(), currency).to_string(),
        total: row.total(),
        id: row.id,
        amount,
        fee,
        currency,
    })
}

/// Loads a session.
pub async fn load(store: &dyn Store, id: &str) -> Result<SessionRow, DomainError> {
    store
        .session(id)
        .await?
        .ok_or(DomainError::NotFound("session"))
}

/// The session as the pages see it.
pub async fn view(state: &HostState, id: &str) -> Result<SessionView, DomainError> {
    let s = load(state.store.as_ref(), id).await?;
    let f = state.store.fulfilment(&s.id).await?;
    Ok(views::session_view(&state.config, &s, f.as_ref()))
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
    state: &Arc<HostState>,
    session_id: &str,
    req: PayRequest,
    ip: Option<std::net::IpAddr>,
    user_agent: &str,
) -> Result<PayOutcome, DomainError> {
    // Parsed once here: exactly one gateway token, never anything that could be card data.
    let Some(token) = req.token() else {
        return Err(DomainError::invalid(
            ErrorCode::InvalidPaymentMethod,
            "Send one gateway token: payment_method (pm_…) or confirmation_token (ctoken_…).",
        ));
    };
    if req.idempotency_key.is_empty() || req.idempotency_key.len() > 200 {
        return Err(DomainError::invalid(
            ErrorCode::InvalidIdempotencyKey,
            "idempotency_key must be 1–200 characters.",
        ));
    }
    let session = load(state.store.as_ref(), session_id).await?;
    if session.status.is_charged() {
        return Ok(PayOutcome::Succeeded);
    }
    let now = state.clock.now();
    // An open session is good for a day: a stockpile made before an attack (or a price change)
    // cannot be paid later on its old terms.
    if now - session.created > SESSION_TTL_SECS {
        return Err(DomainError::invalid(
            ErrorCode::SessionExpired,
            "This checkout has expired. Start again to pay.",
        ));
    }
    // The smallest gift is judged again now (raised while a card-testing attack lasts).
    if session.kind == CampaignKind::Donation {
        let usual = state
            .config
            .campaign(&session.campaign)
            .and_then(|c| c.terms(session.currency))
            .and_then(|t| t.min_amount)
            .unwrap_or(1);
        let min =
            crate::shield::min_amount(state, &session.merchant, &session.campaign, usual, now)
                .await?;
        if session.amount < min {
            return Err(DomainError::invalid(
                ErrorCode::AmountTooSmall,
                format!(
                    "The smallest amount is {}.",
                    Amount::from_minor(min, session.currency)
                ),
            ));
        }
    }
    if session.status == SessionStatus::Unknown {
        // A status this build cannot read (written by a newer one): never claim success, never
        // pay again; the page waits on the session.
        return Ok(PayOutcome::Processing);
    }
    // A retry of an attempt that already has its outcome gets it, unchallenged.
    if let Attempt::Finished(outcome) = state
        .store
        .attempt(session_id, &req.idempotency_key)
        .await?
    {
        return Ok(outcome);
    }
    let (subject, proved, bank_debit) = match shield(state, &session, &token, &req, ip).await? {
        Ok(checked) => checked,
        Err(challenge) => return Ok(challenge),
    };
    // Bank debits only where the merchant offers them (their account and mandate wording are
    // set up for it): a token made by hand for another campaign is refused before the gateway.
    if bank_debit
        && !state
            .config
            .campaign(&session.campaign)
            .is_some_and(|c| c.sepa_debit)
    {
        return Err(DomainError::invalid(
            ErrorCode::InvalidPaymentMethod,
            "This checkout takes cards only.",
        ));
    }
    // A bank debit is confirmed with the payer's acceptance of its mandate: where from, with
    // what browser (the form shows the mandate's text before Pay).
    let mandate = bank_debit.then(|| MandateAcceptance {
        ip_address: ip.map_or_else(|| "0.0.0.0".to_owned(), |ip| ip.to_string()),
        user_agent: if user_agent.is_empty() {
            "unknown".to_owned()
        } else {
            user_agent.chars().take(500).collect()
        },
    });
    let now = state.clock.now();
    let claimed = state
        .store
        .claim_attempt(
            session_id,
            &req.idempotency_key,
            now,
            now - CLAIM_LEASE_SECS,
        )
        .await
        // Another host holding the row past the lock timeout is still at work on it.
        .map_err(|e| {
            if e.is_lock_timeout() {
                DomainError::InProgress
            } else {
                e.into()
            }
        })?;
    if !claimed {
        return wait_for_outcome(state, session_id, &req.idempotency_key).await;
    }
    // Counted by the shield before the gateway sees it (limits that hold under a burst).
    let reservation = state.ids.new_id("att");
    let reserved = crate::shield::reserve(state, &subject, &reservation, proved, now).await;
    if !matches!(reserved, Ok(None)) {
        state
            .store
            .release_attempt(session_id, &req.idempotency_key)
            .await?;
    }
    if let Some(difficulty) = reserved? {
        return Ok(challenge(
            state,
            &session,
            &req.idempotency_key,
            difficulty,
            now,
        ));
    }
    // Run the attempt to its end even if this client disconnects, so its outcome is recorded.
    let owned = state.clone();
    let sid = session_id.to_owned();
    let task = tokio::spawn(async move {
        attempt(
            &owned,
            &sid,
            &token,
            req,
            &subject,
            &reservation,
            mandate.as_ref(),
        )
        .await
    });
    task.await
        .map_err(|e| DomainError::Internal(format!("pay task: {e}")))?
}

/// How long an unpaid checkout session can be paid (a day).
pub const SESSION_TTL_SECS: i64 = 24 * 3600;

/// How long a pay attempt's claim holds without an outcome before another request (this host
/// or another) may take it over: longer than an attempt's gateway calls take, so a takeover
/// means the holder died. Re-driving is safe: the gateway keys derive from the client's key.
pub const CLAIM_LEASE_SECS: i64 = 45;

/// A proof-of-work challenge for this session and attempt key.
fn challenge(
    state: &HostState,
    session: &SessionRow,
    idempotency_key: &str,
    difficulty: u8,
    now: i64,
) -> PayOutcome {
    use crate::shield::pow;
    let key = pow::key_from(&state.keys.proof_of_work);
    PayOutcome::Challenge {
        challenge: pow::issue(&key, &session.id, idempotency_key, difficulty, now),
        difficulty,
    }
}

/// The card-testing shield before the gateway: refuses a blocked payer, asks a proof of work
/// when the risk is elevated (answering the challenge as the pay outcome) or checks the one
/// sent, then checks the card's (or bank account's) own record by its gateway fingerprint.
/// Answers the payer, whether a proof of work was checked, and whether the token is a bank
/// debit.
async fn shield(
    state: &HostState,
    session: &SessionRow,
    token: &PaymentToken,
    req: &PayRequest,
    ip: Option<std::net::IpAddr>,
) -> Result<Result<(crate::shield::Subject, bool, bool), PayOutcome>, DomainError> {
    use crate::shield::{self, pow};
    let now = state.clock.now();
    let subject = shield::Subject::of(session, ip);
    let assessment = shield::assess(state, &subject, now).await?;
    let mut proved = false;
    if let Some(difficulty) = assessment.difficulty {
        let key = pow::key_from(&state.keys.proof_of_work);
        let challenge = || challenge(state, session, &req.idempotency_key, difficulty, now);
        let Some(proof) = &req.proof else {
            return Ok(Err(challenge()));
        };
        match pow::check(
            &key,
            &proof.challenge,
            &proof.nonce,
            &session.id,
            &req.idempotency_key,
            difficulty,
            now,
        ) {
            Ok(checked) => {
                if !state
                    .store
                    .shield_use_proof(&checked.id, checked.expires)
                    .await?
                {
                    tracing::info!(session = %session.id, "proof of work replayed");
                    return Ok(Err(challenge()));
                }
                proved = true;
            }
            Err(why) => {
                tracing::info!(session = %session.id, %why, "proof of work refused");
                return Ok(Err(challenge()));
            }
        }
    }
    let (print, bank_debit) = fingerprint(state, session, token).await;
    let subject = subject.with_card(print);
    shield::check_card(state, &subject, now).await?;
    Ok(Ok((subject, proved, bank_debit)))
}

/// The card's or account's gateway fingerprint (stable across tokenizations of one card
/// number or IBAN), if the gateway tells it (a failed lookup only means this attempt is not
/// counted by card), and whether the payment method is a bank debit.
async fn fingerprint(
    state: &HostState,
    session: &SessionRow,
    token: &PaymentToken,
) -> (Option<String>, bool) {
    use crate::gateway::objects::{ConfirmationToken, PaymentMethod};
    let Ok(gateway) = gateway_for(state, session) else {
        return (None, false);
    };
    match token {
        PaymentToken::PaymentMethod(pm) => gateway
            .get_as::<PaymentMethod>(&format!("/v1/payment_methods/{pm}"))
            .await
            .map_or((None, false), |pm| (pm.fingerprint(), pm.is_bank_debit())),
        // The gateway's own fields (Stripe mode) take cards only here.
        PaymentToken::ConfirmationToken(ct) => (
            gateway
                .get_as::<ConfirmationToken>(&format!("/v1/confirmation_tokens/{ct}"))
                .await
                .ok()
                .and_then(|t| t.payment_method_preview?.card?.fingerprint),
            false,
        ),
    }
}

async fn wait_for_outcome(
    state: &HostState,
    session_id: &str,
    key: &str,
) -> Result<PayOutcome, DomainError> {
    for _ in 0..300 {
        match state.store.attempt(session_id, key).await? {
            Attempt::Finished(outcome) => return Ok(outcome),
            // The first attempt failed without an outcome and released the key: let the client retry.
            Attempt::Free => return Err(DomainError::InProgress),
            Attempt::Running => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    Err(DomainError::InProgress)
}

async fn attempt(
    state: &HostState,
    session_id: &str,
    token: &PaymentToken,
    req: PayRequest,
    subject: &crate::shield::Subject,
    reservation: &str,
    mandate: Option<&MandateAcceptance>,
) -> Result<PayOutcome, DomainError> {
    let mut result = charge(state, session_id, token, &req.idempotency_key, mandate).await;
    if let Ok(outcome) = result {
        // Counted (and, under attack, a decline's words made generic) before it is stored,
        // so a retry of this key answers the same words.
        result =
            crate::shield::record(state, subject, reservation, outcome, state.clock.now()).await;
        if let Ok(PayOutcome::Declined { code, message }) = &result {
            state.store.set_decline(session_id, code, message).await?;
        }
    }
    match &result {
        Ok(outcome) => {
            state
                .store
                .finish_attempt(session_id, &req.idempotency_key, outcome)
                .await?
        }
        // No definite outcome: free the key so the page can retry it (the gateway
        // idempotency keys derived from it make the retry safe), and the shield's
        // reservation with it (the retry reserves again).
        Err(_) => {
            crate::shield::release(state, reservation).await?;
            state
                .store
                .release_attempt(session_id, &req.idempotency_key)
                .await?
        }
    }
    result
}

/// The gateway client for a session's merchant.
pub fn gateway_for(state: &HostState, session: &SessionRow) -> Result<Gateway, DomainError> {
    let merchant = state
        .config
        .merchant(&session.merchant)
        .ok_or_else(|| DomainError::Internal("merchant gone".into()))?;
    Ok(Gateway::new(
        state.http.clone(),
        &merchant.gateway_url,
        &merchant.secret_key,
    )
    .with_stats(state.gateway_stats.clone()))
}

async fn charge(
    state: &HostState,
    session_id: &str,
    token: &PaymentToken,
    idempotency_key: &str,
    mandate: Option<&MandateAcceptance>,
) -> Result<PayOutcome, DomainError> {
    let session = load(state.store.as_ref(), session_id).await?;
    let campaign = state
        .config
        .campaign(&session.campaign)
        .ok_or_else(|| DomainError::Internal("campaign gone".into()))?;
    let gateway = gateway_for(state, &session)?;
    let merchant = state
        .config
        .merchant(&session.merchant)
        .ok_or_else(|| DomainError::Internal("merchant gone".into()))?;
    let pi_id = match &session.payment_intent {
        Some(pi) => pi.clone(),
        None if session.frequency.interval().is_some() => {
            // A recurring gift: the first invoice's payment is confirmed with the token below.
            let sub = gateway
                .start_subscription(&NewSubscription {
                    session_id: &session.id,
                    email: session.email.as_deref(),
                    amount: session.total(),
                    currency: session.currency,
                    interval: session.frequency.interval().unwrap_or("month"),
                    description: &campaign.title,
                    test_clock: merchant.test_clock.as_deref(),
                    key: &derived_key(&["subscribe", &session.id]),
                })
                .await
                .map_err(gateway_error)?;
            state.store.set_subscription(&session.id, &sub.id).await?;
            state
                .store
                .set_payment_intent(&session.id, &sub.payment_intent)
                .await?;
            sub.payment_intent
        }
        None => {
            let pi = gateway
                .create_payment_intent(
                    session.total(),
                    session.currency,
                    &session.id,
                    &campaign.title,
                    session.email.as_deref(),
                    &derived_key(&["create", &session.id]),
                )
                .await
                .map_err(gateway_error)?;
            state.store.set_payment_intent(&session.id, &pi.id).await?;
            pi.id
        }
    };
    let return_url = format!(
        "{}/checkout/return?session={}",
        state.public_url, session.id
    );
    let key = derived_key(&["confirm", &session.id, idempotency_key]);
    match gateway
        .confirm(&pi_id, token, &return_url, mandate, &key)
        .await
    {
        Ok(pi) => record(state, &session, &pi).await,
        Err(GatewayError::Declined(d, _)) => Ok(decline(state, &session, d.code).await?),
        Err(e) => Err(gateway_error(e)),
    }
}

/// Records a decline on the session (if it may still move there) and answers it.
async fn decline(
    state: &HostState,
    session: &SessionRow,
    code: DeclineCode,
) -> Result<PayOutcome, DomainError> {
    let message = code.message();
    let now = state.clock.now();
    if state
        .store
        .advance(&session.id, SessionStatus::Declined, now)
        .await?
    {
        state.store.set_decline(&session.id, &code, message).await?;
    }
    Ok(PayOutcome::Declined {
        code,
        message: message.into(),
    })
}

fn gateway_error(e: GatewayError) -> DomainError {
    match e {
        GatewayError::Declined(d, _) => DomainError::invalid(ErrorCode::Declined, d.code.message()),
        GatewayError::Rejected(why) => DomainError::Internal(format!("gateway rejected: {why}")),
        GatewayError::Unavailable(why) => DomainError::GatewayUnavailable(why),
    }
}

/// Records the gateway's state of a payment on the session (never claiming "paid" unless the
/// gateway said `succeeded`).
pub async fn record(
    state: &HostState,
    session: &SessionRow,
    pi: &PaymentIntent,
) -> Result<PayOutcome, DomainError> {
    let now = state.clock.now();
    let store = state.store.as_ref();
    let outcome = match pi.status {
        PaymentIntentStatus::Succeeded => {
            store.advance(&session.id, SessionStatus::Paid, now).await?;
            PayOutcome::Succeeded
        }
        PaymentIntentStatus::RequiresAction => {
            let url = pi
                .redirect_url()
                .ok_or_else(|| DomainError::Internal("requires_action without a URL".into()))?;
            if store
                .advance(&session.id, SessionStatus::RequiresAction, now)
                .await?
            {
                store.set_redirect_url(&session.id, &url).await?;
            }
            // The gateway's own fields finish 3-D Secure with its script, which needs the
            // payment's client secret; our fields navigate to `url`.
            let gateway_fields = state
                .config
                .merchant(&session.merchant)
                .is_some_and(|m| m.card_capture == CardCapture::GatewayFields);
            PayOutcome::RequiresAction {
                redirect_url: url,
                client_secret: pi.client_secret.clone().filter(|_| gateway_fields),
            }
        }
        PaymentIntentStatus::RequiresPaymentMethod => {
            let code = pi
                .last_payment_error
                .as_ref()
                .map_or(DeclineCode::CardDeclined, |e| e.decline());
            decline(state, session, code).await?
        }
        _ => {
            store
                .advance(&session.id, SessionStatus::Processing, now)
                .await?;
            PayOutcome::Processing
        }
    };
    Ok(outcome)
}

/// Reconciles a session with the gateway after 3-D Secure: the host asks for the payment's
/// state (the query string the shopper comes back with is never trusted).
pub async fn reconcile(state: &HostState, session_id: &str) -> Result<SessionRow, DomainError> {
    let session = load(state.store.as_ref(), session_id).await?;
    // Only a payment still waiting on the bank can have moved: a settled session costs the
    // merchant's gateway quota nothing, however often its return URL is opened.
    let waiting = matches!(
        session.status,
        SessionStatus::RequiresAction | SessionStatus::Processing | SessionStatus::Open
    );
    if let (true, Some(pi)) = (waiting, &session.payment_intent) {
        match gateway_for(state, &session)?.retrieve(pi).await {
            Ok(pi) => {
                record(state, &session, &pi).await?;
            }
            Err(_) => {
                tracing::warn!(session = %session.id, "could not reconcile after 3-D Secure; the webhook will")
            }
        }
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_only_move_forward() {
        use SessionStatus::*;
        assert!(Paid.rank() > Declined.rank());
        assert!(Fulfilled.rank() > Paid.rank());
        assert_eq!(Declined.rank(), RequiresAction.rank());
        assert!(Refunded.rank() > Fulfilled.rank());
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
        let message = |c: &str| DeclineCode::parse(c).message();
        assert!(message("insufficient_funds").contains("insufficient funds"));
        assert_eq!(message("stolen_card"), message("generic_decline"));
    }
}
