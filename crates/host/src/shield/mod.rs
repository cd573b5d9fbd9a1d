//! The card-testing shield: velocity limits, risk-based proof of work and attack mode, checked
//! on every pay before anything reaches the gateway.
//!
//! Counters are rows in the database (they hold across restarts and hosts), counted over sliding
//! windows, so they decay by themselves. A pay attempt is counted against its client IP, the
//! IP's network (/24, IPv6 /48), the session, the email, the card's gateway fingerprint and the
//! campaign. Past a challenge threshold the page must send a proof of work ([`pow`]); past a
//! block threshold the key is refused for `block_minutes`. A campaign whose decline rate spikes
//! enters attack mode: a proof of work for everyone, strict limits, a higher minimum amount and
//! one generic decline message (no oracle for the attacker); it leaves after a calm period.

use std::net::IpAddr;

use paywidget_core::api::{DeclineCode, PayOutcome};

use crate::store::{NewMail, SessionRow};
use crate::support::error::DomainError;
use crate::HostState;

pub mod pow;

pub use crate::config::ShieldConfig;

/// The network an address belongs to for counting: its /24 (IPv4) or /48 (IPv6).
pub fn network_of(ip: IpAddr) -> String {
    match crate::support::client_ip::canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// Who is paying, as the shield counts them.
#[derive(Clone, Debug)]
pub struct Subject {
    merchant: String,
    campaign: String,
    keys: Vec<(&'static str, String)>,
    ip: Option<String>,
}

impl Subject {
    /// The session's payer, from `ip` (the client address, trusted-proxy aware).
    pub fn of(session: &SessionRow, ip: Option<IpAddr>) -> Subject {
        let mut keys = vec![("session", session.id.clone())];
        if let Some(ip) = ip {
            // One client: an IPv4 address, or an IPv6 /64.
            keys.push(("ip", crate::support::client_ip::limit_text(ip)));
            keys.push(("net", network_of(ip)));
        }
        if let Some(email) = &session.email {
            keys.push(("email", email.to_ascii_lowercase()));
        }
        Subject {
            merchant: session.merchant.clone(),
            campaign: session.campaign.clone(),
            ip: ip.map(crate::support::client_ip::limit_text),
            keys,
        }
    }

    /// Adds the card's fingerprint once the gateway told it.
    pub fn with_card(mut self, fingerprint: Option<String>) -> Subject {
        if let Some(f) = fingerprint {
            self.keys.push(("card", f));
        }
        self
    }

    fn key(&self, kind: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_str())
    }
}

/// What the shield says about an attempt before it goes to the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// A proof of work of this many bits is required.
    pub difficulty: Option<u8>,
    /// The campaign is in attack mode.
    pub attack: bool,
}

/// The merchant's shield settings.
fn config<'a>(state: &'a HostState, merchant: &str) -> Option<&'a ShieldConfig> {
    state
        .config
        .merchant(merchant)
        .map(|m| &m.shield)
        .filter(|c| c.enabled)
}

/// The refusal of a block ending at `until`, in whole minutes from `now`.
fn blocked(until: i64, now: i64) -> DomainError {
    DomainError::Blocked {
        minutes: ((until - now + 59) / 60).max(1),
    }
}

/// Checks the subject's blocks and counters: refuses a blocked one, asks a proof of work when
/// the risk is elevated (or the campaign is under attack).
pub async fn assess(
    state: &HostState,
    subject: &Subject,
    now: i64,
) -> Result<Assessment, DomainError> {
    let Some(c) = config(state, &subject.merchant) else {
        return Ok(Assessment {
            difficulty: None,
            attack: false,
        });
    };
    let store = state.store.as_ref();
    let keys: Vec<(&str, String)> = subject.keys.iter().map(|(k, v)| (*k, v.clone())).collect();
    if let Some(until) = store
        .shield_blocked_until(&subject.merchant, &keys, now)
        .await?
    {
        return Err(blocked(until, now));
    }
    let attack = attack_mode(state, c, &subject.merchant, &subject.campaign, now).await?;
    let since = now - c.window();
    let mut signs = 0u8;
    for (kind, threshold) in [
        ("ip", c.challenge_ip_declines),
        ("net", c.challenge_net_declines),
        ("session", c.challenge_session_declines),
        ("email", c.challenge_email_declines),
    ] {
        if let Some(key) = subject.key(kind) {
            let (_, declines) = store
                .shield_counts(&subject.merchant, kind, key, since)
                .await?;
            if declines >= threshold {
                signs += 1;
            }
        }
    }
    if let Some(ip) = subject.key("ip") {
        let (attempts, _) = store
            .shield_counts(&subject.merchant, "ip", ip, since)
            .await?;
        if attempts >= c.challenge_ip_attempts {
            signs += 1;
        }
    }
    let difficulty = (signs > 0 || attack).then(|| {
        let extra = 2 * signs.saturating_sub(1) + if attack { 2 } else { 0 };
        c.difficulty.saturating_add(extra).min(28)
    });
    Ok(Assessment { difficulty, attack })
}

/// The smallest gift a campaign takes now: its minimum, raised in attack mode.
pub async fn min_amount(
    state: &HostState,
    merchant: &str,
    campaign: &str,
    min: i64,
    now: i64,
) -> Result<i64, DomainError> {
    let Some(c) = config(state, merchant) else {
        return Ok(min);
    };
    let attack = attack_mode(state, c, merchant, campaign, now).await?;
    Ok(if attack {
        min.saturating_mul(i64::from(c.attack_min_amount_factor.max(1)))
    } else {
        min
    })
}

/// Refuses one IP's repeated tiny gifts (a card tester's favourite): more than `tiny_attempts`
/// sessions below `tiny_factor` × the minimum now (raised in attack mode) in the window.
/// Counts this one.
pub async fn tiny_amount(
    state: &HostState,
    merchant: &str,
    ip: Option<IpAddr>,
    amount: i64,
    min: i64,
    now: i64,
) -> Result<(), DomainError> {
    let (Some(c), Some(ip)) = (config(state, merchant), ip) else {
        return Ok(());
    };
    if amount >= min.saturating_mul(i64::from(c.tiny_factor)) {
        return Ok(());
    }
    let ip = crate::support::client_ip::limit_text(ip);
    let store = state.store.as_ref();
    let (tries, _) = store
        .shield_counts(merchant, "tiny", &ip, now - c.window())
        .await?;
    if tries >= c.tiny_attempts {
        let until = now + i64::from(c.block_minutes) * 60;
        store.shield_block(merchant, "ip", &ip, until).await?;
        return Err(blocked(until, now));
    }
    store
        .shield_record(merchant, &[("tiny", ip)], false, now)
        .await?;
    Ok(())
}

/// Checks the card's own block (known once the gateway gave its fingerprint). Trying a blocked
/// card counts as a decline against the payer (address, network, session, email), as the
/// gateway would have declined it: a tester cycling through dead cards is blocked as fast as
/// one whose cards reach the gateway.
pub async fn check_card(state: &HostState, subject: &Subject, now: i64) -> Result<(), DomainError> {
    let (Some(c), Some(card)) = (config(state, &subject.merchant), subject.key("card")) else {
        return Ok(());
    };
    let Some(until) = state
        .store
        .shield_blocked_until(&subject.merchant, &[("card", card.to_owned())], now)
        .await?
    else {
        return Ok(());
    };
    let payer: Vec<(&str, String)> = subject
        .keys
        .iter()
        .filter(|(k, _)| *k != "card")
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    state
        .store
        .shield_record(&subject.merchant, &payer, true, now)
        .await?;
    let attack = attack_mode(state, c, &subject.merchant, &subject.campaign, now).await?;
    block_over_limits(state, c, subject, attack, now).await?;
    Err(blocked(until, now))
}

/// Reserves this attempt against every key before it reaches the gateway, then judges the
/// counts that include it: the check and the count are one step, so a burst of pays sent at
/// once cannot all read "no declines yet". The reservation counts as a decline until
/// [`record`] settles it with the outcome. Over a challenge threshold without a checked proof
/// of work: a challenge (`Ok(Some(difficulty))`), the reservation taken back since the page
/// will come again. Over a block limit: the key is blocked and the attempt refused (the
/// reservation stays, a decline of the payer's as a blocked card is).
pub async fn reserve(
    state: &HostState,
    subject: &Subject,
    attempt: &str,
    proved: bool,
    now: i64,
) -> Result<Option<u8>, DomainError> {
    let Some(c) = config(state, &subject.merchant) else {
        return Ok(None);
    };
    let store = state.store.as_ref();
    // The campaign is counted at the outcome only: its decline rate (attack mode) must not
    // read a busy moment's attempts in flight as declines.
    let keys: Vec<(&str, String)> = subject.keys.iter().map(|(k, v)| (*k, v.clone())).collect();
    store
        .shield_reserve(&subject.merchant, &keys, attempt, now)
        .await?;
    let attack = attack_mode(state, c, &subject.merchant, &subject.campaign, now).await?;
    if !proved {
        let since = now - c.window();
        let mut signs = 0u8;
        for (kind, threshold) in [
            ("ip", c.challenge_ip_declines),
            ("net", c.challenge_net_declines),
            ("session", c.challenge_session_declines),
            ("email", c.challenge_email_declines),
        ] {
            if let Some(key) = subject.key(kind) {
                let (_, declines) = store
                    .shield_counts(&subject.merchant, kind, key, since)
                    .await?;
                // The others' reservations and this one: past the threshold, a proof is due.
                if declines > threshold {
                    signs += 1;
                }
            }
        }
        if signs > 0 || attack {
            store.shield_settle(attempt, None).await?;
            let extra = 2 * signs.saturating_sub(1) + if attack { 2 } else { 0 };
            return Ok(Some(c.difficulty.saturating_add(extra).min(28)));
        }
    }
    let blocked_until = block_over(state, c, subject, attack, now, |declines, limit| {
        declines > limit
    })
    .await?;
    match blocked_until {
        Some(until) => Err(blocked(until, now)),
        None => Ok(None),
    }
}

/// Blocks each of the subject's keys whose declines are `over` its limit (strict under
/// attack); answers the latest block set.
async fn block_over(
    state: &HostState,
    c: &ShieldConfig,
    subject: &Subject,
    attack: bool,
    now: i64,
    over: impl Fn(u32, u32) -> bool,
) -> Result<Option<i64>, DomainError> {
    let store = state.store.as_ref();
    let since = now - c.window();
    let until = now + i64::from(c.block_minutes) * 60;
    let strict = c.attack_block_declines.max(1);
    let mut blocked_until = None;
    for (kind, limit) in [
        ("ip", c.block_ip_declines),
        ("net", c.block_net_declines),
        ("session", c.block_session_declines),
        ("email", c.block_email_declines),
        ("card", c.block_card_declines),
    ] {
        let Some(key) = subject.key(kind) else {
            continue;
        };
        // Under attack a network is still shared by genuine donors: twice the strict limit.
        let limit = match (attack, kind) {
            (true, "net") => limit.min(strict * 2),
            (true, _) => limit.min(strict),
            _ => limit,
        };
        // A card is judged over a day: testers come back to the cards that worked.
        let since = if kind == "card" { now - 86_400 } else { since };
        let (_, declines) = store
            .shield_counts(&subject.merchant, kind, key, since)
            .await?;
        if over(declines, limit) {
            tracing::warn!(kind, campaign = %subject.campaign, "card-testing shield: blocked");
            store
                .shield_block(&subject.merchant, kind, key, until)
                .await?;
            blocked_until = Some(until);
        }
    }
    Ok(blocked_until)
}

/// Takes back a reservation whose attempt ended without an outcome (the page may retry it).
pub async fn release(state: &HostState, attempt: &str) -> Result<(), DomainError> {
    Ok(state.store.shield_settle(attempt, None).await?)
}

/// Counts an attempt's outcome, blocks what went over its limit, and switches the campaign to
/// attack mode on a spike. Under attack, a decline's words become the generic ones.
pub async fn record(
    state: &HostState,
    subject: &Subject,
    attempt: &str,
    outcome: PayOutcome,
    now: i64,
) -> Result<PayOutcome, DomainError> {
    let Some(c) = config(state, &subject.merchant) else {
        return Ok(outcome);
    };
    let declined = matches!(outcome, PayOutcome::Declined { .. });
    // A bank step left unfinished is a risk to the payer's counters as a decline is (testers
    // probe with cards that ask for 3-D Secure and never finish it); the campaign's decline
    // rate counts declines only.
    let risky = declined || matches!(outcome, PayOutcome::RequiresAction { .. });
    prune(state, now).await?;
    // The reservation taken before the gateway becomes this outcome; the campaign counts it now.
    let store = state.store.as_ref();
    store.shield_settle(attempt, Some(risky)).await?;
    store
        .shield_record(
            &subject.merchant,
            &[("campaign", subject.campaign.clone())],
            declined,
            now,
        )
        .await?;
    let attack = attack_mode(state, c, &subject.merchant, &subject.campaign, now).await?;
    if risky {
        block_over_limits(state, c, subject, attack, now).await?;
    }
    let attack = attack || spike(state, c, subject, now).await?;
    Ok(match outcome {
        PayOutcome::Declined { code, .. } if attack => {
            tracing::info!(code = %code.as_str(), "decline answered generically (attack mode)");
            PayOutcome::Declined {
                code: DeclineCode::CardDeclined,
                message: DeclineCode::CardDeclined.message().into(),
            }
        }
        other => other,
    })
}

/// Blocks each of the subject's keys whose declines reached its limit (strict under attack).
async fn block_over_limits(
    state: &HostState,
    c: &ShieldConfig,
    subject: &Subject,
    attack: bool,
    now: i64,
) -> Result<(), DomainError> {
    block_over(state, c, subject, attack, now, |declines, limit| {
        declines >= limit
    })
    .await
    .map(|_| ())
}

/// Whether declines on the campaign are told generically now (attack mode is on): for the
/// webhook's copy of a decline, which must not undo the pay answer's generic words.
pub async fn generic_declines(
    state: &HostState,
    tx: &mut dyn crate::store::StoreTx,
    merchant: &str,
    campaign: &str,
) -> Result<bool, DomainError> {
    if config(state, merchant).is_none() {
        return Ok(false);
    }
    Ok(tx.attack_running(campaign).await?)
}

/// Whether the campaign is in attack mode now, ending it after a calm period.
async fn attack_mode(
    state: &HostState,
    c: &ShieldConfig,
    merchant: &str,
    campaign: &str,
    now: i64,
) -> Result<bool, DomainError> {
    let store = state.store.as_ref();
    let Some(started) = store.shield_attack(campaign).await? else {
        return Ok(false);
    };
    let calm = i64::from(c.calm_minutes) * 60;
    if now - started < calm {
        return Ok(true);
    }
    let (attempts, declines) = store
        .shield_counts(merchant, "campaign", campaign, now - calm)
        .await?;
    if is_spike(c, attempts, declines) {
        return Ok(true);
    }
    if store.shield_end_attack(campaign, now).await? {
        tracing::warn!(%campaign, "card-testing shield: attack mode ended");
        notify(
            state,
            merchant,
            campaign,
            "Attack mode ended",
            &format!(
                "The checkout \"{campaign}\" has been calm for {} minutes: attack mode is off \
                 again (usual limits, usual minimum amount).",
                c.calm_minutes
            ),
            now,
        )
        .await?;
    }
    Ok(false)
}

fn is_spike(c: &ShieldConfig, attempts: u32, declines: u32) -> bool {
    attempts >= c.attack_attempts
        || (attempts >= c.attack_min_attempts
            && u64::from(declines) * 100
                >= u64::from(c.attack_decline_percent) * u64::from(attempts))
}

/// Enters attack mode when the campaign's window shows a spike; true if it is now on.
async fn spike(
    state: &HostState,
    c: &ShieldConfig,
    subject: &Subject,
    now: i64,
) -> Result<bool, DomainError> {
    let store = state.store.as_ref();
    let (attempts, declines) = store
        .shield_counts(
            &subject.merchant,
            "campaign",
            &subject.campaign,
            now - c.window(),
        )
        .await?;
    if !is_spike(c, attempts, declines) {
        return Ok(false);
    }
    if store.shield_start_attack(&subject.campaign, now).await? {
        tracing::warn!(campaign = %subject.campaign, attempts, declines, ip = ?subject.ip, "card-testing shield: attack mode");
        notify(
            state,
            &subject.merchant,
            &subject.campaign,
            "Card testing detected: attack mode is on",
            &format!(
                "In the last {} minutes the checkout \"{}\" saw {attempts} payment attempts, \
                 {declines} of them declined: the pattern of card testing (bots trying stolen \
                 cards).\n\nAttack mode is on: every payer proves they are not a bot (an \
                 invisible check in their browser), blocks come after the first decline, the \
                 smallest gift is {}× the usual, and declines get one generic message. It ends by \
                 itself after {} calm minutes.",
                c.window_minutes, subject.campaign, c.attack_min_amount_factor, c.calm_minutes
            ),
            now,
        )
        .await?;
    }
    Ok(true)
}

/// Mails the merchant's owners and its `notify_email` (else, with neither, the host's sender)
/// through the outbox, in one transaction.
async fn notify(
    state: &HostState,
    merchant: &str,
    campaign: &str,
    subject: &str,
    text: &str,
    now: i64,
) -> Result<(), DomainError> {
    let Some(m) = state.config.merchant(merchant) else {
        return Ok(());
    };
    let mut to = m.alert_addresses();
    if to.is_empty() {
        to.push(state.config.mail.from.to_string());
    }
    let mut tx = state.store.begin().await?;
    for address in to {
        tx.queue_mail(&NewMail {
            session_id: format!("shield:{campaign}"),
            to: address,
            subject: format!("{}: {subject}", m.name),
            body: text.to_owned(),
            created: now,
        })
        .await?;
    }
    tx.commit().await?;
    crate::mail::wake(state);
    Ok(())
}

/// Forgets what no window looks at any more (older than two days) and old rate-limit buckets,
/// at most hourly per process and, through the `prune` job's claim, once an hour across hosts,
/// on the way through [`record`].
async fn prune(state: &HostState, now: i64) -> Result<(), DomainError> {
    use std::sync::atomic::Ordering;
    let last = state.shield_pruned.load(Ordering::Relaxed);
    if now - last < 3600
        || state
            .shield_pruned
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return Ok(());
    }
    if state.store.claim_job("prune", now, 3600).await? {
        state.store.shield_prune(now - 2 * 86_400).await?;
        state.store.rate_prune(now.div_euclid(60) - 2).await?;
        state.store.counters_prune(now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_slash_24_and_slash_48() {
        assert_eq!(
            network_of("203.0.113.77".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            network_of("2001:db8:abcd:12::1".parse().unwrap()),
            "2001:db8:abcd::/48"
        );
        assert_eq!(
            network_of("::ffff:203.0.113.77".parse().unwrap()),
            "203.0.113.0/24",
            "an IPv4 client of a dual-stack listener is in its own /24"
        );
    }

    #[test]
    fn a_spike_is_a_decline_rate_over_enough_attempts_or_a_flood() {
        let c = ShieldConfig::default();
        assert!(!is_spike(&c, 9, 9), "too few attempts to judge");
        assert!(is_spike(&c, 10, 4));
        assert!(!is_spike(&c, 10, 3));
        assert!(is_spike(&c, 300, 0));
    }

    #[test]
    fn defaults_pass_their_own_rules_and_bad_ones_are_named() {
        assert!(ShieldConfig::default().check().is_ok());
        let c = ShieldConfig {
            block_ip_declines: 2,
            ..ShieldConfig::default()
        };
        assert!(c.check().unwrap_err().contains("block_ip_declines"));
        let c = ShieldConfig {
            difficulty: 40,
            ..ShieldConfig::default()
        };
        assert!(c.check().is_err());
    }
}
