//! The watch: every few minutes one of the hosts (the job's claim) looks for payments the
//! gateway took whose webhook never came — the sign that webhooks stopped arriving — and mails
//! the merchant's owners (once a day); on Monday mornings (UTC) it mails each merchant's owners
//! a digest of the week (raised, payments, declines, disputes), unless an owner turned it off.

use super::disputes::owners;
use crate::store::NewMail;
use crate::support::error::DomainError;
use crate::HostState;

/// How often the watch looks.
pub const EVERY_SECS: i64 = 300;
/// A paid payment is "waiting for its webhook" after this long.
pub const WEBHOOK_LATE_SECS: i64 = 15 * 60;
/// How far back the watch looks for them.
const LOOK_BACK_SECS: i64 = 6 * 3600;
/// The digest's period.
pub const WEEK_SECS: i64 = 7 * 86_400;

/// The setting that holds whether `merchant`'s weekly digest is on (`on`, `off`).
pub fn digest_setting(merchant: &str) -> String {
    format!("digest:{merchant}")
}

async fn mail_owners(
    state: &HostState,
    merchant: &str,
    subject: &str,
    body: &str,
) -> Result<(), DomainError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    for to in owners(state, merchant) {
        tx.queue_mail(&NewMail {
            session_id: String::new(),
            to,
            subject: subject.to_owned(),
            body: body.to_owned(),
            created: now,
        })
        .await?;
    }
    tx.commit().await?;
    crate::mail::wake(state);
    Ok(())
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Merchants alerted that webhooks are not arriving.
    pub alerts: usize,
    /// Digests mailed.
    pub digests: usize,
}

/// One pass, when this host claims it: the alerts, and the digests on Monday mornings.
pub async fn pass(state: &HostState) -> Result<Pass, DomainError> {
    Ok(Pass {
        alerts: alerts(state, false).await?,
        digests: digests(state, false).await?,
    })
}

/// Alerts the owners of merchants whose paid payments wait for their webhook (once a day
/// each); `force` skips the job's claim. How many merchants were alerted.
pub async fn alerts(state: &HostState, force: bool) -> Result<usize, DomainError> {
    let now = state.clock.now();
    let mut alerted = 0;
    if force || state.store.claim_job("watch", now, EVERY_SECS).await? {
        for m in state
            .config
            .merchants
            .iter()
            .filter(|m| !owners(state, &m.id).is_empty())
        {
            let waiting = state
                .store
                .paid_unfulfilled(&m.id, now - LOOK_BACK_SECS, now - WEBHOOK_LATE_SECS)
                .await?;
            if waiting == 0 {
                continue;
            }
            let day = now.div_euclid(86_400);
            let told = state
                .store
                .count_hit(
                    &format!("alert:webhooks:{}@{day}", m.id),
                    (day + 1) * 86_400,
                )
                .await?;
            if told > 1 {
                continue;
            }
            mail_owners(
                state,
                &m.id,
                "Payments are waiting for the payment processor's webhooks",
                &format!(
                    "{waiting} payment(s) of the last hours were taken by the payment processor, \
                     but its webhook has not come for them (after {} minutes): receipts and \
                     licences wait for it.\n\nCheck the webhook endpoint ({}/webhooks/gateway) \
                     and its signing secret in the processor's dashboard. The hourly \
                     reconciliation repairs what it can meanwhile.\n\nHealth: {}/admin/health\n",
                    WEBHOOK_LATE_SECS / 60,
                    state.public_url,
                    state.public_url
                ),
            )
            .await?;
            alerted += 1;
        }
        // The gateway keeps failing (this process's last calls, most not answered).
        let g = state.gateway_stats.summary(50);
        if g.calls >= 20 && g.failed * 2 >= g.calls {
            let day = now.div_euclid(86_400);
            for m in state
                .config
                .merchants
                .iter()
                .filter(|m| !owners(state, &m.id).is_empty())
            {
                let told = state
                    .store
                    .count_hit(&format!("alert:gateway:{}@{day}", m.id), (day + 1) * 86_400)
                    .await?;
                if told > 1 {
                    continue;
                }
                mail_owners(
                    state,
                    &m.id,
                    "The payment processor keeps failing",
                    &format!(
                        "{} of the host's last {} calls to the payment processor got no answer \
                         (network errors, 5xx, rate limits). Payments may be failing for your \
                         donors and customers. Check the processor's status page and \
                         gateway_url.\n\nHealth: {}/admin/health\n",
                        g.failed, g.calls, state.public_url
                    ),
                )
                .await?;
                alerted += 1;
            }
        }
    }
    Ok(alerted)
}

/// Mails the weekly digests (Monday mornings, once; `force`: now); how many.
pub async fn digests(state: &HostState, force: bool) -> Result<usize, DomainError> {
    let now = state.clock.now();
    let mut sent = 0;
    // Mondays from 08:00 UTC (1970-01-01 was a Thursday), once: the claim's period is under a
    // week so a late pass still sends that Monday's.
    let monday_morning = is_monday_morning(now);
    if force
        || (monday_morning
            && state
                .store
                .claim_job("digest", now, WEEK_SECS - 86_400)
                .await?)
    {
        for m in state
            .config
            .merchants
            .iter()
            .filter(|m| !owners(state, &m.id).is_empty())
        {
            let on = state
                .store
                .setting_or_insert(&digest_setting(&m.id), "on")
                .await?;
            if on != "on" {
                continue;
            }
            let body = digest(state, &m.id, now).await?;
            mail_owners(state, &m.id, &format!("Your week at {}", m.name), &body).await?;
            sent += 1;
        }
    }
    Ok(sent)
}

/// Whether `t` is on a Monday from 08:00 UTC (1970-01-01 was a Thursday).
fn is_monday_morning(t: i64) -> bool {
    (t.div_euclid(86_400) + 3).rem_euclid(7) == 0 && t.rem_euclid(86_400) >= 8 * 3600
}

/// The digest of the 7 days before `now`.
async fn digest(state: &HostState, merchant: &str, now: i64) -> Result<String, DomainError> {
    let (since, until) = (now - WEEK_SECS, now);
    let days = state
        .store
        .day_totals(merchant, since, until, WEEK_SECS)
        .await?;
    let mut money: Vec<(String, i64, i64, i64)> = Vec::new();
    for d in &days {
        match money.iter_mut().find(|m| m.0 == d.currency) {
            Some(m) => {
                m.1 += d.gross;
                m.2 += d.refunded;
                m.3 += d.payments;
            }
            None => money.push((d.currency.clone(), d.gross, d.refunded, d.payments)),
        }
    }
    let funnel = state.store.funnel(merchant, since, until).await?;
    let declines: i64 = state
        .store
        .decline_counts(merchant, since, until)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let disputes = state.store.disputes_opened(merchant, since, until).await?;
    // The merchant's way of writing dates and money (its `time_zone` and `locale`).
    let local = state
        .config
        .merchant(merchant)
        .map(|m| m.local.clone())
        .unwrap_or_default();
    let mut body = format!(
        "The week from {} to {}:\n\n",
        local.date(since),
        local.date(until)
    );
    if money.is_empty() {
        body.push_str("No payment this week.\n");
    }
    for (code, gross, refunded, payments) in &money {
        let show = |v: i64| match paywidget_core::money::Currency::from_code(code) {
            Ok(c) => local.money(paywidget_core::money::Amount::from_minor(v, c)),
            Err(_) => super::disputes::money(v, code),
        };
        body.push_str(&format!(
            "- {}: {} raised in {payments} payment(s), {} refunded\n",
            code.to_uppercase(),
            show(*gross),
            show(*refunded)
        ));
    }
    body.push_str(&format!(
        "\nCheckouts started: {}; paid: {}; declined payments: {declines}; disputes opened: \
         {disputes}.\n\nThe dashboard: {}/admin\n(An owner turns this weekly mail off on the \
         dashboard's overview.)\n",
        funnel.sessions, funnel.paid, state.public_url
    ));
    Ok(body)
}

/// Runs [`pass`] every [`EVERY_SECS`] (its claims keep it to one host per period).
pub fn spawn(state: &std::sync::Arc<HostState>) -> tokio::task::JoinHandle<()> {
    let weak = std::sync::Arc::downgrade(state);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            let Some(state) = weak.upgrade() else { return };
            if let Err(e) = pass(&state).await {
                tracing::warn!(error = %e, "the watch");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_goes_on_monday_mornings() {
        // 2026-12-07, a Monday.
        let monday = 1_796_601_600;
        assert!(is_monday_morning(monday + 9 * 3600));
        assert!(!is_monday_morning(monday + 7 * 3600));
        assert!(!is_monday_morning(monday + 86_400 + 9 * 3600));
        assert!(is_monday_morning(monday + 7 * 86_400 + 8 * 3600));
    }
}
