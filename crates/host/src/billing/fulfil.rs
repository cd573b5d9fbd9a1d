//! Fulfilment, exactly once per payment: a licence key or a numbered receipt, written in the same
//! transaction as the webhook that proves the payment, plus the email in a transactional outbox
//! (sent afterwards, in the background, by the relay: [`mail::spawn_relay`](crate::mail::spawn_relay)).

use paywidget_core::api::{CampaignKind, SessionStatus};
use paywidget_core::money::Amount;

use crate::hooks::{self, HookData, HookEvent};
use crate::licence::{self, Licence};
use crate::mail::{self, ReceiptText};
use crate::store::{InvoiceRow, NewMail, SessionRow, StoreTx};
use crate::support::error::DomainError;
use crate::HostState;

/// Fulfils `session` once inside `tx`: a second call (duplicate or late webhook) changes nothing.
pub async fn fulfil(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    now: i64,
) -> Result<(), DomainError> {
    let status = tx
        .session(&session.id)
        .await?
        .map_or(SessionStatus::Unknown, |s| s.status);
    if status.rank() > SessionStatus::Fulfilled.rank() {
        // Refunded or disputed before the success event arrived: nothing to hand out.
        return Ok(());
    }
    if !tx.insert_fulfilment(&session.id, session.kind, now).await? {
        return Ok(());
    }
    let campaign = state
        .config
        .campaign(&session.campaign)
        .ok_or_else(|| DomainError::Internal("campaign gone".into()))?;
    let merchant = state
        .config
        .merchant(&session.merchant)
        .ok_or_else(|| DomainError::Internal("merchant gone".into()))?;
    let total = Amount::from_minor(session.total(), session.currency);
    // What the merchant's own systems are told (receipt number or licence order).
    let mut data = HookData::of(session);
    let letter = match campaign.kind {
        CampaignKind::License => {
            let settings = campaign
                .license
                .as_ref()
                .ok_or_else(|| DomainError::Internal("licence settings gone".into()))?;
            let day = u32::try_from(now.div_euclid(86_400)).unwrap_or(0);
            let tier = session.tier.as_deref().and_then(|t| campaign.tier(t));
            let recurring = session.frequency.interval().is_some();
            let l = Licence {
                product: match tier {
                    Some(t) => format!("{} {}", settings.product, t.name),
                    None => settings.product.clone(),
                },
                seats: tier.map_or(settings.seats, |t| t.seats),
                issued_day: day,
                // A subscription's licence is as good as its paid period (checked online and
                // in its activations' leases), not a fixed last day.
                expires_day: if recurring {
                    None
                } else {
                    settings.validity_days.map(|d| day + d)
                },
                // A reference that opens nothing, not the session (whose id shows the key).
                order: licence::order_ref(&state.keys, &session.id),
            };
            tx.set_order_ref(&session.id, &l.order).await?;
            data.licence_order = Some(l.order.clone());
            let key = licence::issue(&state.signing_key, &l);
            tx.set_licence_key(&session.id, &key).await?;
            mail::licence_letter(&settings.product, &key, &campaign.instructions)
        }
        CampaignKind::Donation => {
            let n = tx.next_receipt_number(&merchant.id).await?;
            let prefix = merchant
                .receipt_prefix
                .clone()
                .unwrap_or_else(|| merchant.id.to_uppercase());
            let number = format!("{prefix}-{n:06}");
            tx.set_receipt_number(&session.id, &number).await?;
            data.receipt_number = Some(number.clone());
            let org = merchant
                .receipt_org_name
                .clone()
                .unwrap_or_else(|| merchant.name.clone());
            mail::receipt_letter(ReceiptText {
                total: &total.to_string(),
                org: &org,
                number: &number,
                tax_statement: merchant.tax_statement.as_deref(),
                text: campaign.receipt_text.as_deref(),
            })
        }
    };
    tx.advance(&session.id, SessionStatus::Fulfilled, now)
        .await?;
    let merchant_id = &session.merchant;
    hooks::emit(state, tx, merchant_id, HookEvent::PaymentSucceeded, &data).await?;
    if campaign.kind == CampaignKind::License {
        hooks::emit(state, tx, merchant_id, HookEvent::LicenceIssued, &data).await?;
    }
    if session.frequency.interval().is_some() {
        hooks::emit(
            state,
            tx,
            merchant_id,
            HookEvent::SubscriptionCreated,
            &data,
        )
        .await?;
    }
    if let Some(to) = &session.email {
        tx.queue_mail(&NewMail {
            session_id: session.id.clone(),
            to: to.clone(),
            subject: letter.subject,
            body: with_portal(state, letter.body),
            created: now,
        })
        .await?;
    }
    Ok(())
}

/// Fulfils one paid invoice of a recurring gift, at most once (keyed by the invoice): the
/// first invoice is the checkout's own payment (its receipt is the session's, issued by
/// [`fulfil`]); each renewal gets its own numbered receipt and mail.
pub async fn fulfil_invoice(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    invoice: &InvoiceRow,
    now: i64,
) -> Result<(), DomainError> {
    let first = invoice.is_first();
    // A paid invoice proves the first gift was paid too (a renewal follows it): whichever
    // event comes first fulfils the checkout's own receipt, so it is always the first number.
    tx.advance(&session.id, SessionStatus::Paid, now).await?;
    fulfil(state, tx, session, now).await?;
    if session.kind == CampaignKind::License {
        // A licence subscription: each paid invoice moves its validity to the period's end.
        if let Some(end) = invoice.period_end {
            tx.extend_paid_until(&session.id, end).await?;
        }
        if tx.insert_invoice(invoice).await? && !first {
            // A renewal paid after the first charge was refunded: the licence stands on it.
            tx.reinstate(&session.id, "refunded").await?;
            renewed(state, tx, session, invoice, None).await?;
        }
        return Ok(());
    }
    if !tx.insert_invoice(invoice).await? || first {
        return Ok(());
    }
    let campaign = state
        .config
        .campaign(&session.campaign)
        .ok_or_else(|| DomainError::Internal("campaign gone".into()))?;
    let merchant = state
        .config
        .merchant(&session.merchant)
        .ok_or_else(|| DomainError::Internal("merchant gone".into()))?;
    let n = tx.next_receipt_number(&merchant.id).await?;
    let prefix = merchant
        .receipt_prefix
        .clone()
        .unwrap_or_else(|| merchant.id.to_uppercase());
    let number = format!("{prefix}-{n:06}");
    tx.set_invoice_receipt(&invoice.invoice_id, &number).await?;
    renewed(state, tx, session, invoice, Some(&number)).await?;
    let org = merchant
        .receipt_org_name
        .clone()
        .unwrap_or_else(|| merchant.name.clone());
    let total = Amount::from_minor(invoice.amount, session.currency);
    let letter = mail::receipt_letter(ReceiptText {
        total: &total.to_string(),
        org: &org,
        number: &number,
        tax_statement: merchant.tax_statement.as_deref(),
        text: campaign.receipt_text.as_deref(),
    });
    if let Some(to) = &session.email {
        tx.queue_mail(&NewMail {
            session_id: session.id.clone(),
            to: to.clone(),
            subject: format!(
                "Thank you for your {} gift: {}",
                session.frequency.as_str(),
                letter.subject
            ),
            body: with_portal(state, letter.body),
            created: now,
        })
        .await?;
    }
    Ok(())
}

/// Tells the merchant's systems a renewal was paid.
async fn renewed(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    invoice: &InvoiceRow,
    receipt: Option<&str>,
) -> Result<(), DomainError> {
    let data = HookData {
        amount: Some(invoice.amount),
        invoice: Some(invoice.invoice_id.clone()),
        receipt_number: receipt.map(str::to_owned),
        ..HookData::of(session)
    };
    hooks::emit(
        state,
        tx,
        &session.merchant,
        HookEvent::SubscriptionRenewed,
        &data,
    )
    .await
}

/// Every mail ends with the way to the customer portal.
pub fn with_portal(state: &HostState, body: String) -> String {
    format!(
        // Two short lines: a line over 76 characters would make the mail quoted-printable.
        "{body}\nYour receipts, licence keys and recurring gifts:\n{}/portal\n",
        state.public_url
    )
}

/// Tells the donor a yearly gift renews soon (the gateway's `invoice.upcoming`), and how to
/// change or cancel it.
pub async fn renewal_upcoming(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    amount: i64,
    renews: Option<i64>,
    now: i64,
) -> Result<(), DomainError> {
    let Some(to) = &session.email else {
        return Ok(());
    };
    let total = Amount::from_minor(amount, session.currency);
    let when = renews.map_or_else(
        || "soon".to_owned(),
        |t| format!("on {}", crate::mail::civil_date(t)),
    );
    tx.queue_mail(&NewMail {
        session_id: session.id.clone(),
        to: to.clone(),
        subject: format!(
            "Your {} gift of {total} renews {when}",
            session.frequency.as_str()
        ),
        body: with_portal(
            state,
            format!(
                "Hello,\n\nthank you for giving {total} {}. The next gift is charged {when}\n\
                 to the card you gave. To cancel or change it, sign in below.\n",
                session.frequency.every()
            ),
        ),
        created: now,
    })
    .await?;
    Ok(())
}

/// Tells the payer that a payment left processing (a bank debit) failed, nothing was taken,
/// and where to pay again (the campaign's form).
pub async fn debit_failed(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    now: i64,
) -> Result<(), DomainError> {
    let Some(to) = &session.email else {
        return Ok(());
    };
    let total = Amount::from_minor(session.total(), session.currency);
    let title = state
        .config
        .campaign(&session.campaign)
        .map_or("your payment", |c| c.title.as_str());
    tx.queue_mail(&NewMail {
        session_id: session.id.clone(),
        to: to.clone(),
        subject: format!("Your payment of {total} did not go through"),
        body: format!(
            "Hello,\n\nyour bank did not confirm the debit of {total} for {title}.\n\
             Nothing was taken from your account. To pay again:\n{}/c/{}\n",
            state.public_url, session.campaign
        ),
        created: now,
    })
    .await?;
    Ok(())
}

/// Queues the fulfilment's mail again (the licence key and its setup steps, or the receipt),
/// marked as a copy, to the payer's own address: what support sends when "the mail never came".
/// Nothing is issued anew (the same key, the same receipt number).
pub async fn resend(
    state: &HostState,
    session: &SessionRow,
    f: &crate::store::FulfilmentRow,
    now: i64,
) -> Result<(), DomainError> {
    let Some(to) = &session.email else {
        return Err(DomainError::Refused {
            code: paywidget_core::api::ErrorCode::InvalidRequest,
            message: "This payment has no email address to send to.".into(),
        });
    };
    let campaign = state
        .config
        .campaign(&session.campaign)
        .ok_or_else(|| DomainError::Internal("campaign gone".into()))?;
    let merchant = state
        .config
        .merchant(&session.merchant)
        .ok_or_else(|| DomainError::Internal("merchant gone".into()))?;
    let letter = match (&f.license_key, &f.receipt_number, campaign.license.as_ref()) {
        (Some(key), _, Some(settings)) => {
            mail::licence_letter(&settings.product, key, &campaign.instructions)
        }
        (_, Some(number), _) => mail::receipt_letter(ReceiptText {
            total: &Amount::from_minor(session.total(), session.currency).to_string(),
            org: merchant
                .receipt_org_name
                .as_deref()
                .unwrap_or(&merchant.name),
            number,
            tax_statement: merchant.tax_statement.as_deref(),
            text: campaign.receipt_text.as_deref(),
        }),
        _ => {
            return Err(DomainError::Refused {
                code: paywidget_core::api::ErrorCode::InvalidRequest,
                message: "Nothing was issued for this payment yet.".into(),
            })
        }
    };
    let mut tx = state.store.begin().await?;
    tx.queue_mail(&NewMail {
        session_id: session.id.clone(),
        to: to.clone(),
        subject: format!("{} (copy)", letter.subject),
        body: with_portal(state, letter.body),
        created: now,
    })
    .await?;
    tx.commit().await?;
    mail::wake(state);
    Ok(())
}

/// Tells the payer that `amount` more of their payment was refunded (a partial refund, or the
/// rest), naming the receipt it was on. Once per refund event (the event's row dedupes it).
pub async fn refund_notice(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    amount: i64,
    now: i64,
) -> Result<(), DomainError> {
    let Some(to) = &session.email else {
        return Ok(());
    };
    let refunded = Amount::from_minor(amount, session.currency);
    let total = Amount::from_minor(session.total(), session.currency);
    let title = state
        .config
        .campaign(&session.campaign)
        .map_or(session.campaign.clone(), |c| c.title.clone());
    tx.queue_mail(&NewMail {
        session_id: session.id.clone(),
        to: to.clone(),
        subject: format!("Refund of {refunded}: {title}"),
        body: with_portal(
            state,
            format!(
                "Hello,\n\n{refunded} of your payment of {total} to {title} has been refunded to\n\
                 your card. It usually shows on your statement within 5 to 10 days. Your receipt\n\
                 now shows the refund:\n{}/thanks/{}\n",
                state.public_url, session.id
            ),
        ),
        created: now,
    })
    .await?;
    Ok(())
}

/// Tells the donor their recurring gift has ended: as they asked, or because the card could
/// not be charged after every retry (then with the way to start again).
pub async fn gift_ended(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    asked: bool,
    now: i64,
) -> Result<(), DomainError> {
    let Some(to) = &session.email else {
        return Ok(());
    };
    let total = Amount::from_minor(session.total(), session.currency);
    let (subject, body) = if asked {
        (
            format!("Your {} gift has ended", session.frequency.as_str()),
            format!(
                "Hello,\n\nas you asked, your gift of {total} {} has ended. Thank you for\n\
                 everything you gave.\n",
                session.frequency.every()
            ),
        )
    } else {
        (
            format!("Your {} gift has stopped", session.frequency.as_str()),
            format!(
                "Hello,\n\nwe could not charge your gift of {total} {} after several tries,\n\
                 so it has stopped. To give again:\n{}/c/{}\n",
                session.frequency.every(),
                state.public_url,
                session.campaign
            ),
        )
    };
    tx.queue_mail(&NewMail {
        session_id: session.id.clone(),
        to: to.clone(),
        subject,
        body: with_portal(state, body),
        created: now,
    })
    .await?;
    Ok(())
}

/// Tells the donor a renewal could not be charged and when it is tried again.
pub async fn renewal_failed(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    amount: i64,
    next_attempt: Option<i64>,
    now: i64,
) -> Result<(), DomainError> {
    let Some(to) = &session.email else {
        return Ok(());
    };
    let total = Amount::from_minor(amount, session.currency);
    // A licence subscription is a renewal, not a gift; it stays valid in its grace days.
    let (what, ended) = if session.kind == paywidget_core::api::CampaignKind::License {
        (
            "licence renewal",
            "your licence will expire after its grace days.",
        )
    } else {
        ("gift", "your recurring gift has ended.")
    };
    let when = match next_attempt {
        Some(t) => format!("We will try again on {}.", crate::mail::civil_date(t)),
        None => format!("We will not try again: {ended}"),
    };
    tx.queue_mail(&NewMail {
        session_id: session.id.clone(),
        to: to.clone(),
        subject: format!(
            "Your {} {what} of {total} could not be charged",
            session.frequency.as_str()
        ),
        body: with_portal(
            state,
            format!(
                "Hello,\n\nyour bank declined this period's {what} of {total}. {when}\n{}",
                if next_attempt.is_some() {
                    format!(
                        "\nIf your card has changed, give the new one here (the link works for 7 days,\n\
                         and pays this period's {what} at once):\n{}\n",
                        crate::billing::update_card::link(state, &session.id, &session.campaign)
                    )
                } else {
                    String::new()
                }
            ),
        ),
        created: now,
    })
    .await?;
    Ok(())
}

/// Revokes a fulfilment (refund, dispute); the licence then fails online verification, and
/// the merchant's systems are told.
pub async fn revoke(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    reason: &str,
) -> Result<(), DomainError> {
    tx.revoke(&session.id, reason).await?;
    if session.kind == CampaignKind::License {
        let data = HookData {
            reason: Some(reason.to_owned()),
            ..HookData::of(session)
        };
        hooks::emit(
            state,
            tx,
            &session.merchant,
            HookEvent::LicenceRevoked,
            &data,
        )
        .await?;
    }
    Ok(())
}
