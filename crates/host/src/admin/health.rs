//! The dashboard's health view: the gateway's webhooks of the last 24 hours (how many, how
//! late, when the last came, how many this process refused), the payments waiting for their
//! webhook, and the weekly digest's switch (owners).

use super::Staff;
use crate::billing::watch;
use crate::config::Role;
use crate::store::WebhookHour;
use crate::support::error::DomainError;
use crate::HostState;

/// What the health page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// The last 24 hours of webhooks, oldest first.
    pub hours: Vec<WebhookHour>,
    /// Refused by this process since it started.
    pub refused_here: i64,
    /// The merchant's payments of the last 6 hours paid over 15 minutes ago, still without
    /// their webhook.
    pub waiting: i64,
    /// Whether the weekly digest is on.
    pub digest_on: bool,
    /// This process's last calls to the gateway.
    pub gateway: crate::gateway::CallSummary,
}

impl Health {
    /// (received, average seconds late, most seconds late, last arrival) over the hours.
    pub fn summary(&self) -> (i64, i64, i64, Option<i64>) {
        let received: i64 = self.hours.iter().map(|h| h.received).sum();
        let total: i64 = self.hours.iter().map(|h| h.delay_total).sum();
        let max = self.hours.iter().map(|h| h.delay_max).max().unwrap_or(0);
        let last = self
            .hours
            .iter()
            .map(|h| h.last_at)
            .max()
            .filter(|t| *t > 0);
        (
            received,
            total.checked_div(received).unwrap_or(0),
            max,
            last,
        )
    }
}

/// The health of `staff`'s merchant.
pub async fn health(state: &HostState, staff: &Staff) -> Result<Health, DomainError> {
    let now = state.clock.now();
    Ok(Health {
        hours: state.store.webhook_hours(now.div_euclid(3600) - 23).await?,
        refused_here: state
            .webhooks_refused
            .load(std::sync::atomic::Ordering::Relaxed),
        waiting: state
            .store
            .paid_unfulfilled(
                &staff.merchant,
                now - 6 * 3600,
                now - watch::WEBHOOK_LATE_SECS,
            )
            .await?,
        digest_on: state
            .store
            .setting_or_insert(&watch::digest_setting(&staff.merchant), "on")
            .await?
            == "on",
        gateway: state.gateway_stats.summary(crate::gateway::CallStats::KEPT),
    })
}

/// Turns the merchant's weekly digest on or off (owners; audited).
pub async fn set_digest(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    on: bool,
) -> Result<(), DomainError> {
    super::check_csrf(staff, csrf)?;
    if staff.role != Role::Owner {
        return Err(DomainError::Forbidden(
            "Only owners change the weekly digest.".into(),
        ));
    }
    state
        .store
        .set_setting(
            &watch::digest_setting(&staff.merchant),
            if on { "on" } else { "off" },
        )
        .await?;
    super::audit(
        state,
        staff,
        None,
        "digest",
        if on {
            "weekly digest on"
        } else {
            "weekly digest off"
        },
    )
    .await?;
    Ok(())
}
