//! The dashboard's disputes: the list with each deadline and the days left, and one dispute's
//! page gathering the evidence the host holds (the payment and its receipt, every mail sent,
//! the licence and its activations, each staff action, the terms the payer accepted) for the
//! merchant's answer.

use paywidget_core::api::{wording, CampaignKind};
use paywidget_core::money::Amount;

use super::{LicenceView, Payment, Staff};
use crate::store::DisputeRow;
use crate::support::error::DomainError;
use crate::HostState;

/// One dispute and what the host knows of its payment.
#[derive(Clone, Debug)]
pub struct Evidence {
    /// The dispute.
    pub dispute: DisputeRow,
    /// Its payment, with the timeline (checkout, attempts, receipt or licence, mails, refunds,
    /// staff actions).
    pub payment: Payment,
    /// For a licence: its seats and installations (proof it was delivered and used).
    pub licence: Option<LicenceView>,
    /// What the payer agreed to by paying.
    pub terms: Terms,
}

/// The terms a payer accepted: the checkout's own words (the same functions the page uses to
/// write them), and when the Pay button was pressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The Pay button's words ("Donate 25.00 USD monthly").
    pub button: String,
    /// The recurring terms under the button, for a recurring payment.
    pub recurring: Option<String>,
    /// What a licence grants ("Acme Pro: 1 seat(s), valid 365 days").
    pub licence: Option<String>,
    /// When the attempt that paid was made (the last pay attempt).
    pub accepted_at: Option<i64>,
}

/// The merchant's disputes, open ones first.
pub async fn list(state: &HostState, staff: &Staff) -> Result<Vec<DisputeRow>, DomainError> {
    Ok(state.store.disputes(&staff.merchant, 500).await?)
}

/// One dispute of the merchant's, with its evidence.
pub async fn evidence(state: &HostState, staff: &Staff, id: &str) -> Result<Evidence, DomainError> {
    let dispute = state
        .store
        .dispute(&staff.merchant, id)
        .await?
        .ok_or(DomainError::NotFound("dispute"))?;
    let payment = super::payment(state, staff, &dispute.session_id).await?;
    let licence = if payment.session.kind == paywidget_core::api::CampaignKind::License {
        super::licence(state, staff, &dispute.session_id).await.ok()
    } else {
        None
    };
    let s = &payment.session;
    let total = Amount::from_minor(s.total(), s.currency);
    let terms = Terms {
        button: wording::pay_label(s.kind == CampaignKind::Donation, Some(total), s.frequency),
        recurring: wording::recurring_terms(s.frequency, Some(total)),
        licence: state
            .config
            .campaign(&s.campaign)
            .and_then(|c| c.license.as_ref())
            .map(|l| {
                let valid = l
                    .validity_days
                    .map_or_else(|| "perpetual".to_owned(), |d| format!("valid {d} days"));
                format!("{}: {} seat(s), {valid}", l.product, l.seats)
            }),
        accepted_at: state
            .store
            .attempts_of(&s.id)
            .await?
            .iter()
            .map(|a| a.created)
            .max(),
    };
    Ok(Evidence {
        terms,
        dispute,
        payment,
        licence,
    })
}

/// How long is left to answer: "5 days left", "due today", "2 days overdue", or the outcome.
pub fn countdown(d: &DisputeRow, now: i64) -> String {
    if d.status != "open" {
        return format!("closed: {}", d.status);
    }
    let Some(due) = d.due_by else {
        return "no deadline given".into();
    };
    let days = (due - now).div_euclid(86_400);
    match days {
        d if d < 0 => format!("{} day(s) overdue", -d),
        0 => "due today".into(),
        1 => "1 day left".into(),
        d => format!("{d} days left"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(due_by: Option<i64>) -> DisputeRow {
        DisputeRow {
            id: "dp_1".into(),
            merchant: "m".into(),
            session_id: "cs_1".into(),
            amount: 500,
            currency: "usd".into(),
            reason: "fraudulent".into(),
            status: "open".into(),
            due_by,
            created: 0,
        }
    }

    #[test]
    fn the_countdown_reads_in_days() {
        let now = 1_000_000;
        assert_eq!(countdown(&open(Some(now + 7 * 86_400)), now), "7 days left");
        assert_eq!(countdown(&open(Some(now + 86_400 + 5)), now), "1 day left");
        assert_eq!(countdown(&open(Some(now + 60)), now), "due today");
        assert_eq!(
            countdown(&open(Some(now - 2 * 86_400)), now),
            "2 day(s) overdue"
        );
        assert_eq!(countdown(&open(None), now), "no deadline given");
        let mut won = open(Some(now));
        won.status = "won".into();
        assert_eq!(countdown(&won, now), "closed: won");
    }
}
