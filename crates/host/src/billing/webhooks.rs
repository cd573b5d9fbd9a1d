//! `POST /webhooks/gateway`'s domain: the `Stripe-Signature` check (the scheme is
//! `paywidget_core::signature`, shared with the sandbox) naming the merchants whose secret
//! signed, dedupe by event id, and typed events ([`crate::gateway::events`]) applied to sessions
//! in any order (states only move forward), all in one store transaction with the fulfilment it
//! triggers.
//!
//! Authority: the secret that verified decides whose sessions an event may touch, and a payment
//! event must name the payment intent the host created for the session (its subscription, for a
//! billing event). Metadata is only a hint: an event whose object is ours but not placed yet is
//! refused so the gateway retries it, never acknowledged and lost.

use paywidget_core::api::{CampaignKind, ErrorCode, Frequency, SessionStatus};
use paywidget_core::signature;

use crate::billing::fulfil;
use crate::gateway::events::{
    DisputeEvent, DisputeStatus, Envelope, Event, Invoice, InvoiceEvent, PaymentIntentEvent,
    SubscriptionObject,
};
use crate::gateway::PaymentIntent;
use crate::hooks::{self, HookData, HookEvent};
use crate::store::{SessionRow, StoreTx, SubscriptionStatus};
use crate::support::error::DomainError;
use crate::{mail, HostState};

/// The merchants an event may speak for: those whose webhook secret signed it (several only
/// when merchants share one gateway account's endpoint secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    merchants: Vec<String>,
}

impl Signer {
    /// Events from these merchants' gateway account (reconciliation lists one account).
    pub fn of(merchants: Vec<String>) -> Signer {
        Signer { merchants }
    }

    /// Whether the session belongs to one of the signing merchants.
    pub fn owns(&self, session: &SessionRow) -> bool {
        self.merchants.contains(&session.merchant)
    }
}

/// Checks the `Stripe-Signature` header against the raw body with each distinct merchant
/// webhook secret, at the host's clock; answers whose secret it was.
pub fn verify(state: &HostState, header: Option<&str>, body: &[u8]) -> Result<Signer, DomainError> {
    let mut secrets: Vec<&str> = Vec::new();
    for m in &state.config.merchants {
        if !secrets.contains(&m.webhook_secret.expose()) {
            secrets.push(m.webhook_secret.expose());
        }
    }
    let verified = signature::verify(header, body, &secrets, state.clock.now()).map_err(|why| {
        DomainError::invalid(
            ErrorCode::BadSignature,
            format!("Webhook signature rejected: {why}."),
        )
    })?;
    let secret = secrets[verified.secret];
    Ok(Signer {
        merchants: state
            .config
            .merchants
            .iter()
            .filter(|m| m.webhook_secret.expose() == secret)
            .map(|m| m.id.clone())
            .collect(),
    })
}

/// An event the host must see again later (logged at error level, answered 500 so the gateway
/// retries): its object is unreadable, or ours but not placed yet.
fn retry_later(why: String) -> DomainError {
    DomainError::Internal(format!(
        "webhook not applied, the gateway will retry: {why}"
    ))
}

/// Parses a verified body into a typed event; an unreadable one is not acknowledged.
pub fn parse(body: &[u8]) -> Result<Envelope, DomainError> {
    crate::gateway::events::parse(body).map_err(|e| retry_later(e.to_string()))
}

/// Applies a verified event. Returns false for a duplicate (already applied).
pub async fn apply(
    state: &HostState,
    signer: &Signer,
    event: &Envelope,
) -> Result<bool, DomainError> {
    let renewal = renewal_of(state, signer, &event.event).await?;
    apply_event(
        state,
        signer,
        &event.id,
        &event.kind,
        &event.event,
        renewal.as_deref(),
    )
    .await
}

/// For a refund or dispute whose payment is no checkout's own: the invoice (a renewal) it
/// paid, asked of the signing merchants' gateway before the event's transaction begins (no
/// connection is held across a gateway call).
async fn renewal_of(
    state: &HostState,
    signer: &Signer,
    event: &Event,
) -> Result<Option<String>, DomainError> {
    let pi = match event {
        Event::ChargeRefunded(c) => c.payment_intent.as_deref(),
        Event::Dispute(_, d) => d.payment_intent.as_deref(),
        _ => None,
    };
    let Some(pi) = pi else {
        return Ok(None);
    };
    {
        let mut tx = state.store.begin().await?;
        let own = tx.session_id_by_payment_intent(pi).await?;
        drop(tx);
        if own.is_some() {
            return Ok(None);
        }
    }
    for m in state
        .config
        .merchants
        .iter()
        .filter(|m| signer.merchants.contains(&m.id))
    {
        let gateway =
            crate::gateway::Gateway::new(state.http.clone(), &m.gateway_url, &m.secret_key)
                .with_stats(state.gateway_stats.clone());
        let path = format!(
            "/v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]={pi}&limit=1"
        );
        match gateway
            .get_as::<crate::gateway::objects::List<crate::gateway::objects::InvoicePayment>>(&path)
            .await
        {
            Ok(list) => {
                if let Some(p) = list.data.into_iter().next() {
                    return Ok(Some(p.invoice));
                }
            }
            // Unknown for now: the gateway delivers the event again.
            Err(e) => return Err(retry_later(format!("invoice of a refunded payment: {e:?}"))),
        }
    }
    Ok(None)
}

/// The session a renewal's invoice belongs to, if the signing merchant's.
async fn renewal_session(
    tx: &mut dyn StoreTx,
    signer: &Signer,
    invoice: &str,
) -> Result<Option<SessionRow>, DomainError> {
    let Some(id) = tx.invoice_session(invoice).await? else {
        return Ok(None);
    };
    Ok(tx.session(&id).await?.filter(|s| signer.owns(s)))
}

/// A refund or dispute of a renewal: the invoice's gift is taken back (statements leave it out),
/// given back when a dispute is won. Only the signing merchant's.
async fn apply_to_renewal(
    state: &HostState,
    tx: &mut dyn StoreTx,
    signer: &Signer,
    invoice: &str,
    reversal: Option<&str>,
) -> Result<(), DomainError> {
    let Some(session) = tx.invoice_session(invoice).await? else {
        return Ok(());
    };
    let Some(session) = tx.session(&session).await? else {
        return Ok(());
    };
    if !signer.owns(&session) {
        tracing::error!(session = %session.id, "a renewal's refund signed with another merchant's secret; ignored");
        return Ok(());
    }
    tx.reverse_invoice(invoice, reversal).await?;
    if session.kind == CampaignKind::License {
        // A licence is valid for the periods still paid for: none left, and it is revoked for
        // what took the last one back; a dispute won gives it back.
        let left = tx.settle_paid_until(&session.id).await?;
        match (reversal, left) {
            (Some(reason), None) => fulfil::revoke(state, tx, &session, reason).await?,
            (None, _) => tx.reinstate(&session.id, "disputed").await?,
            (Some(_), Some(_)) => {}
        }
    }
    Ok(())
}

/// Where a payment event lands: the session whose payment intent it names, if one of the
/// signer's. `Ok(None)`: not ours (acknowledged, ignored).
async fn place_payment(
    tx: &mut dyn StoreTx,
    signer: &Signer,
    payment_intent: Option<&str>,
    claimed: Option<&str>,
) -> Result<Option<SessionRow>, DomainError> {
    let by_pi = match payment_intent {
        Some(pi) => tx.session_id_by_payment_intent(pi).await?,
        None => None,
    };
    if let Some(id) = by_pi {
        let Some(session) = tx.session(&id).await? else {
            return Ok(None);
        };
        if !signer.owns(&session) {
            tracing::error!(session = %session.id, "a payment event signed with another merchant's webhook secret; ignored");
            return Ok(None);
        }
        return Ok(Some(session));
    }
    // Not found by its payment intent. If the metadata names a session of the signer's that
    // has none recorded yet, the host may be between creating the payment and storing it:
    // the gateway is asked to come back. Anything else is not ours.
    if let Some(claimed) = claimed {
        if let Some(session) = tx.session(claimed).await? {
            if signer.owns(&session) && session.payment_intent.is_none() {
                return Err(retry_later(format!(
                    "session {} has no payment recorded yet",
                    session.id
                )));
            }
            if !signer.owns(&session) {
                tracing::error!(session = %session.id, "an event names another merchant's session; ignored");
            }
        }
    }
    Ok(None)
}

/// Where a billing event lands: the session whose subscription it names, if the signer's.
async fn place_billing(
    tx: &mut dyn StoreTx,
    signer: &Signer,
    subscription: Option<&str>,
    claimed: Option<&str>,
) -> Result<Option<SessionRow>, DomainError> {
    let by_sub = match subscription {
        Some(sub) => tx.session_id_by_subscription(sub).await?,
        None => None,
    };
    if let Some(id) = by_sub {
        let Some(session) = tx.session(&id).await? else {
            return Ok(None);
        };
        if !signer.owns(&session) {
            tracing::error!(session = %session.id, "a billing event signed with another merchant's webhook secret; ignored");
            return Ok(None);
        }
        return Ok(Some(session));
    }
    if let Some(claimed) = claimed {
        if let Some(session) = tx.session(claimed).await? {
            if signer.owns(&session)
                && session.subscription.is_none()
                && session.frequency.interval().is_some()
            {
                return Err(retry_later(format!(
                    "session {} has no subscription recorded yet",
                    session.id
                )));
            }
            if !signer.owns(&session) {
                tracing::error!(session = %session.id, "an event names another merchant's session; ignored");
            }
        }
    }
    Ok(None)
}

/// A subscription's or an invoice's events: each paid invoice fulfilled once (keyed by the
/// invoice, so duplicates and any order converge), a failed renewal told to the donor, and the
/// subscription's status kept.
async fn apply_invoice(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    kind: InvoiceEvent,
    invoice: &Invoice,
    now: i64,
) -> Result<(), DomainError> {
    match kind {
        InvoiceEvent::Paid => {
            let paid = invoice.amount_paid;
            // The first invoice is the checkout's amount; renewals are what the gateway's
            // subscription charged (the donor may have changed the amount since).
            if (invoice.is_first() && paid != session.total())
                || paid <= 0
                || !invoice
                    .currency
                    .eq_ignore_ascii_case(session.currency.code())
            {
                tracing::error!(session = %session.id, paid, currency = %invoice.currency, "invoice does not match the gift; not fulfilling");
                return Ok(());
            }
            let Some(invoice_id) = &invoice.id else {
                return Err(retry_later("a paid invoice without an id".into()));
            };
            // A renewal that had failed is recovered (the dunning figures).
            tx.note_invoice_paid(invoice_id, now).await?;
            let row = crate::store::InvoiceRow {
                invoice_id: invoice_id.clone(),
                session_id: session.id.clone(),
                billing_reason: invoice
                    .billing_reason
                    .clone()
                    .unwrap_or_else(|| "subscription_cycle".into()),
                amount: paid,
                receipt_number: None,
                period_end: invoice.period().map(|p| p.end).or(invoice.period_end),
                created: now,
                reversed: None,
            };
            fulfil::fulfil_invoice(state, tx, session, &row, now).await?;
        }
        // The first invoice's decline is the checkout's (the page shows it); renewals mail.
        InvoiceEvent::PaymentFailed if !invoice.is_first() => {
            let amount = invoice.amount_due.unwrap_or(session.total());
            let data = HookData {
                amount: Some(amount),
                invoice: invoice.id.clone(),
                ..HookData::of(session)
            };
            hooks::emit(
                state,
                tx,
                &session.merchant,
                HookEvent::SubscriptionPaymentFailed,
                &data,
            )
            .await?;
            if let Some(id) = &invoice.id {
                tx.note_renewal_failed(id, session, amount, now).await?;
            }
            fulfil::renewal_failed(
                state,
                tx,
                session,
                amount,
                invoice.next_payment_attempt,
                now,
            )
            .await?;
        }
        InvoiceEvent::PaymentFailed => {}
        // The gateway announces every renewal; only a yearly gift's donor is told (a year is
        // long enough to forget it, and consumer law often asks for the reminder), not a
        // monthly donor every month.
        InvoiceEvent::Upcoming if session.frequency != Frequency::Yearly => {}
        InvoiceEvent::Upcoming => {
            let renews = invoice
                .period()
                .map(|p| p.start)
                .or(invoice.next_payment_attempt);
            let amount = invoice.amount_due.unwrap_or(session.total());
            fulfil::renewal_upcoming(state, tx, session, amount, renews, now).await?;
        }
    }
    Ok(())
}

/// A subscription's status kept; its end told to the donor once.
async fn apply_subscription(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    sub: &SubscriptionObject,
    now: i64,
) -> Result<(), DomainError> {
    let status = sub.status;
    let was_over = session
        .subscription_status
        .is_some_and(SubscriptionStatus::is_final);
    let ends_now = status == SubscriptionStatus::Canceled && !was_over;
    tx.set_subscription_status(&session.id, status, now).await?;
    if ends_now {
        // Whether the donor asked for it, or the retries ran out: they are told.
        let asked = session.cancel_at_period_end
            || sub
                .cancellation_details
                .as_ref()
                .and_then(|d| d.reason.as_deref())
                == Some("cancellation_requested");
        let data = HookData {
            reason: Some(if asked { "requested" } else { "payment_failed" }.to_owned()),
            ..HookData::of(session)
        };
        hooks::emit(
            state,
            tx,
            &session.merchant,
            HookEvent::SubscriptionCanceled,
            &data,
        )
        .await?;
        fulfil::gift_ended(state, tx, session, asked, now).await?;
    }
    Ok(())
}

/// A payment intent's event on its session.
async fn apply_payment(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    kind: PaymentIntentEvent,
    pi: &PaymentIntent,
    now: i64,
) -> Result<(), DomainError> {
    match kind {
        PaymentIntentEvent::Succeeded => {
            let paid = pi.amount_received.unwrap_or(pi.amount);
            if paid != session.total() || !pi.currency.eq_ignore_ascii_case(session.currency.code())
            {
                tracing::error!(session = %session.id, paid, currency = %pi.currency, "payment does not match the session; not fulfilling");
                return Ok(());
            }
            tx.advance(&session.id, SessionStatus::Paid, now).await?;
            fulfil::fulfil(state, tx, session, now).await?;
        }
        PaymentIntentEvent::PaymentFailed => {
            let mut code = pi.last_payment_error.clone().unwrap_or_default().decline();
            // Under a card-testing attack the session tells no more than the pay answer did.
            if crate::shield::generic_declines(state, tx, &session.merchant, &session.campaign)
                .await?
            {
                code = paywidget_core::api::DeclineCode::CardDeclined;
            }
            if tx
                .advance(&session.id, SessionStatus::Declined, now)
                .await?
            {
                tx.set_decline(&session.id, &code, code.message()).await?;
                // A payment the page left as processing (a bank debit) failed days later: the
                // payer has left, so the mail says so, with the way to pay again.
                if session.status == SessionStatus::Processing {
                    fulfil::debit_failed(state, tx, session, now).await?;
                }
                let data = HookData {
                    reason: Some(code.as_str().to_owned()),
                    ..HookData::of(session)
                };
                hooks::emit(
                    state,
                    tx,
                    &session.merchant,
                    HookEvent::PaymentFailed,
                    &data,
                )
                .await?;
            }
        }
        PaymentIntentEvent::RequiresAction => {
            tx.advance(&session.id, SessionStatus::RequiresAction, now)
                .await?;
        }
        PaymentIntentEvent::Canceled => {
            tx.advance(&session.id, SessionStatus::Canceled, now)
                .await?;
        }
    }
    Ok(())
}

/// Counts a verified webhook for the health view, with how late it came (a failure to count is
/// logged; the webhook stands).
pub async fn note_arrival(state: &HostState, created: Option<i64>) {
    let now = state.clock.now();
    let late = created.map_or(0, |c| now - c);
    if let Err(e) = state.store.note_webhook(now, true, late).await {
        tracing::warn!(error = %e, "webhook not counted");
    }
}

/// Counts a refused webhook, in this process only: anyone can send those, and a write per
/// forged request would hand them the database.
pub fn note_refused(state: &HostState) {
    state
        .webhooks_refused
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Applies event `id` of type `kind` (the webhook's path, and reconciliation's when a webhook
/// never came, with an id of its own; fulfilment is once per session or invoice whichever path
/// gets there first). Returns false for a duplicate.
pub(crate) async fn apply_event(
    state: &HostState,
    signer: &Signer,
    id: &str,
    kind: &str,
    event: &Event,
    renewal: Option<&str>,
) -> Result<bool, DomainError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !tx.record_event(id, kind, now).await? {
        tx.commit().await?;
        return Ok(false);
    }
    let t = tx.as_mut();
    // The session this event moves, if a page may be waiting on it (woken after the commit).
    let mut moved: Option<String> = None;
    match event {
        Event::PaymentIntent(k, pi) => {
            let claimed = pi.metadata.get("session_id").map(String::as_str);
            if let Some(session) = place_payment(t, signer, Some(&pi.id), claimed).await? {
                apply_payment(state, t, &session, *k, pi, now).await?;
                moved = Some(session.id);
            }
        }
        Event::ChargeRefunded(charge) => {
            if let Some(invoice) = renewal {
                if charge.refunded {
                    apply_to_renewal(state, t, signer, invoice, Some("refunded")).await?;
                }
            } else if let Some(session) =
                place_payment(t, signer, charge.payment_intent.as_deref(), None).await?
            {
                t.record_refund(&session.id, charge.amount_refunded).await?;
                // What this event adds to the refunds the host knew of (events come in any
                // order: a stale one tells nothing new).
                let added = charge.amount_refunded - session.amount_refunded;
                if added > 0 {
                    fulfil::refund_notice(state, t, &session, added, now).await?;
                    let data = HookData {
                        amount_refunded: Some(charge.amount_refunded),
                        ..HookData::of(&session)
                    };
                    hooks::emit(
                        state,
                        t,
                        &session.merchant,
                        HookEvent::PaymentRefunded,
                        &data,
                    )
                    .await?;
                }
                if charge.refunded {
                    t.advance(&session.id, SessionStatus::Refunded, now).await?;
                    if session.kind == CampaignKind::License && session.subscription.is_some() {
                        // A licence subscription's first charge: that period is no longer paid
                        // for; the licence stands on the renewals paid since (revoked when there
                        // are none, given back when one is paid).
                        t.reverse_first_invoice(&session.id).await?;
                        if t.settle_paid_until(&session.id).await?.is_none() {
                            fulfil::revoke(state, t, &session, "refunded").await?;
                        }
                    } else {
                        fulfil::revoke(state, t, &session, "refunded").await?;
                    }
                }
            }
        }
        Event::Dispute(k, dispute) => {
            let opened = matches!(k, DisputeEvent::Created);
            if let Some(invoice) = renewal {
                if let Some(session) = renewal_session(t, signer, invoice).await? {
                    crate::billing::disputes::record(state, t, &session, dispute, opened, now)
                        .await?;
                }
                match (k, dispute.status) {
                    (DisputeEvent::Created, _) => {
                        apply_to_renewal(state, t, signer, invoice, Some("disputed")).await?
                    }
                    (DisputeEvent::Closed, DisputeStatus::Won) => {
                        apply_to_renewal(state, t, signer, invoice, None).await?
                    }
                    (DisputeEvent::Closed, _) => {}
                }
            } else if let Some(session) =
                place_payment(t, signer, dispute.payment_intent.as_deref(), None).await?
            {
                crate::billing::disputes::record(state, t, &session, dispute, opened, now).await?;
                let data = HookData {
                    reason: Some(dispute.status.as_str().to_owned()),
                    ..HookData::of(&session)
                };
                let told = match k {
                    DisputeEvent::Created => HookEvent::DisputeOpened,
                    DisputeEvent::Closed => HookEvent::DisputeClosed,
                };
                hooks::emit(state, t, &session.merchant, told, &data).await?;
                match (k, dispute.status) {
                    (DisputeEvent::Created, _) => {
                        t.advance(&session.id, SessionStatus::Disputed, now).await?;
                        fulfil::revoke(state, t, &session, "disputed").await?;
                    }
                    // Won: what the dispute took away is given back (a refund's revocation
                    // stays). Lost: it stays revoked.
                    (DisputeEvent::Closed, DisputeStatus::Won) => {
                        t.reinstate(&session.id, "disputed").await?;
                    }
                    (DisputeEvent::Closed, _) => {}
                }
            }
        }
        Event::Invoice(k, invoice) => {
            if let Some(session) =
                place_billing(t, signer, invoice.subscription(), invoice.claimed_session()).await?
            {
                apply_invoice(state, t, &session, *k, invoice, now).await?;
                moved = Some(session.id);
            }
        }
        Event::Subscription(sub) => {
            let claimed = sub.metadata.get("session_id").map(String::as_str);
            if let Some(session) = place_billing(t, signer, Some(&sub.id), claimed).await? {
                apply_subscription(state, t, &session, sub, now).await?;
                moved = Some(session.id);
            }
        }
        Event::PayoutPaid(payout) => {
            // A payout belongs to a gateway account, not to one payment: every merchant whose
            // secret signed the event (those sharing that account) hears of it.
            let data = HookData {
                payout: Some(payout.id.clone()),
                amount: Some(payout.amount),
                currency: Some(payout.currency.clone()),
                arrival_date: Some(payout.arrival_date),
                ..HookData::default()
            };
            for merchant in &signer.merchants {
                hooks::emit(state, t, merchant, HookEvent::PayoutPaid, &data).await?;
            }
        }
        Event::Other => {}
    }
    tx.commit().await?;
    if let Some(id) = moved {
        state.moves.moved(&id);
    }
    mail::wake(state);
    hooks::wake(state);
    Ok(true)
}
