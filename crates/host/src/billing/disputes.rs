//! Disputes: recorded from the gateway's events with the deadline for evidence, in the event's
//! transaction; the merchant's owners are mailed when one opens, and once more when its
//! deadline is 3 days away (claimed in the transaction that queues the mail, so one host sends
//! it, once).

use paywidget_core::money::{Amount, Currency};

use crate::gateway::events::{Dispute, DisputeStatus};
use crate::store::{DisputeRow, NewMail, SessionRow, StoreTx};
use crate::support::error::DomainError;
use crate::HostState;

/// How long before its deadline an open dispute is brought up again.
pub const REMIND_BEFORE_SECS: i64 = 3 * 86_400;

/// How often a host looks for disputes to bring up.
const REMIND_EVERY_SECS: u64 = 600;

/// Who is told of `merchant`'s alerts (the disputes' and the watch's).
pub(crate) fn owners(state: &HostState, merchant: &str) -> Vec<String> {
    state
        .config
        .merchant(merchant)
        .map(crate::config::Merchant::alert_addresses)
        .unwrap_or_default()
}

/// `amount` minor units of `currency` (its ISO code, any case) as people read it.
pub(crate) fn money(amount: i64, currency: &str) -> String {
    Currency::from_code(currency).map_or_else(
        |_| format!("{amount} {currency}"),
        |c| Amount::from_minor(amount, c).to_string(),
    )
}

/// Records `dispute` of `session` in `tx`; when it is new (`opened`), its merchant's owners
/// are mailed with its deadline.
pub async fn record(
    state: &HostState,
    tx: &mut dyn StoreTx,
    session: &SessionRow,
    dispute: &Dispute,
    opened: bool,
    now: i64,
) -> Result<(), DomainError> {
    let row = DisputeRow {
        id: dispute.id.clone(),
        merchant: session.merchant.clone(),
        session_id: session.id.clone(),
        amount: dispute.amount.unwrap_or_else(|| session.total()),
        currency: dispute
            .currency
            .clone()
            .unwrap_or_else(|| session.currency.code().to_ascii_lowercase()),
        reason: dispute.reason.clone().unwrap_or_else(|| "unknown".into()),
        status: match dispute.status {
            DisputeStatus::Won => "won",
            DisputeStatus::Lost => "lost",
            DisputeStatus::Open => "open",
        }
        .into(),
        due_by: dispute.evidence_details.as_ref().and_then(|e| e.due_by),
        created: now,
    };
    tx.upsert_dispute(&row).await?;
    if opened {
        let due = row.due_by.map_or(
            "the date in your payment processor's dashboard".into(),
            crate::mail::civil_date,
        );
        for to in owners(state, &session.merchant) {
            tx.queue_mail(&NewMail {
                session_id: session.id.clone(),
                to,
                subject: format!(
                    "A payment of {} was disputed: answer by {due}",
                    money(row.amount, &row.currency)
                ),
                body: format!(
                    "The payer's bank disputes a payment of {} ({}). The money is held back \
                     until it is decided.\n\nAnswer with your evidence by {due}. What this host \
                     knows of the payment (receipt, mails, licence and its activations) is \
                     gathered here:\n{}/admin/disputes/{}\n",
                    money(row.amount, &row.currency),
                    row.reason,
                    state.public_url,
                    row.id
                ),
                created: now,
            })
            .await?;
        }
    }
    Ok(())
}

/// Mails the owners of every open dispute due within [`REMIND_BEFORE_SECS`], each dispute
/// once; returns how many disputes.
pub async fn remind_due(state: &HostState) -> Result<usize, DomainError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let due = tx.claim_dispute_reminders(now + REMIND_BEFORE_SECS).await?;
    for d in &due {
        let when = d.due_by.map_or(String::new(), crate::mail::civil_date);
        for to in owners(state, &d.merchant) {
            tx.queue_mail(&NewMail {
                session_id: d.session_id.clone(),
                to,
                subject: format!(
                    "Reminder: the dispute of {} needs your answer by {when}",
                    money(d.amount, &d.currency)
                ),
                body: format!(
                    "The dispute of a payment of {} ({}) is still open, and its evidence is due \
                     by {when}. After that, the bank decides without it.\n{}/admin/disputes/{}\n",
                    money(d.amount, &d.currency),
                    d.reason,
                    state.public_url,
                    d.id
                ),
                created: now,
            })
            .await?;
        }
    }
    tx.commit().await?;
    if !due.is_empty() {
        crate::mail::wake(state);
    }
    Ok(due.len())
}

/// Looks for disputes to bring up at start and every 10 minutes (ends with the host).
pub fn spawn_reminders(state: &std::sync::Arc<HostState>) -> tokio::task::JoinHandle<()> {
    let weak = std::sync::Arc::downgrade(state);
    tokio::spawn(async move {
        loop {
            let Some(state) = weak.upgrade() else { return };
            if let Err(e) = remind_due(&state).await {
                tracing::warn!(error = %e, "dispute reminders");
            }
            drop(state);
            tokio::time::sleep(std::time::Duration::from_secs(REMIND_EVERY_SECS)).await;
        }
    })
}
