//! The dashboard's disputes: the list with each deadline and the days left, and one dispute's
//! page gathering the evidence the host holds (the payment and its receipt, every mail sent,
//! the licence and its activations, each staff action) for the merchant's answer.

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
    Ok(Evidence {
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
