//! Outgoing webhooks to each merchant's own systems, as the Standard Webhooks specification
//! (<https://www.standardwebhooks.com>) says: `webhook-id`, `webhook-timestamp` and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with a `whsec_` secret
//! per endpoint. An event is written to the outbox in the transaction of the change it tells
//! ([`emit`]), then delivered at least once by a background relay ([`spawn_relay`]) with the
//! specification's retry schedule and jitter; an endpoint failing for days is switched off
//! and its merchant's owners mailed. Secrets are never stored: each is derived from the host's
//! key for webhooks and a random salt per endpoint and rotation.

pub mod target;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::store::{HookAttempt, HookDue, HookOutcome, NewHook, SessionRow, StoreTx};
use crate::support::error::DomainError;
use crate::HostState;

/// What an endpoint can be told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookEvent {
    /// A payment went through and was fulfilled (receipt or licence issued).
    PaymentSucceeded,
    /// A payment was declined.
    PaymentFailed,
    /// Some or all of a payment was refunded.
    PaymentRefunded,
    /// The payer's bank opened a dispute.
    DisputeOpened,
    /// A dispute was decided.
    DisputeClosed,
    /// A recurring gift or subscription began.
    SubscriptionCreated,
    /// A renewal was paid.
    SubscriptionRenewed,
    /// A renewal's charge failed (the gateway retries).
    SubscriptionPaymentFailed,
    /// A recurring gift or subscription ended.
    SubscriptionCanceled,
    /// A licence key was issued.
    LicenceIssued,
    /// A licence was activated on an installation.
    LicenceActivated,
    /// An activation was refused (its reason in the data).
    LicenceActivationFailed,
    /// A licence was revoked (refund or dispute).
    LicenceRevoked,
    /// A payout reached the merchant's bank.
    PayoutPaid,
    /// Sent from the dashboard to try an endpoint.
    Test,
}

impl HookEvent {
    /// Every event an endpoint can choose (the test event goes only where it is sent).
    pub const ALL: [HookEvent; 14] = [
        HookEvent::PaymentSucceeded,
        HookEvent::PaymentFailed,
        HookEvent::PaymentRefunded,
        HookEvent::DisputeOpened,
        HookEvent::DisputeClosed,
        HookEvent::SubscriptionCreated,
        HookEvent::SubscriptionRenewed,
        HookEvent::SubscriptionPaymentFailed,
        HookEvent::SubscriptionCanceled,
        HookEvent::LicenceIssued,
        HookEvent::LicenceActivated,
        HookEvent::LicenceActivationFailed,
        HookEvent::LicenceRevoked,
        HookEvent::PayoutPaid,
    ];

    /// The event's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PaymentSucceeded => "payment.succeeded",
            HookEvent::PaymentFailed => "payment.failed",
            HookEvent::PaymentRefunded => "payment.refunded",
            HookEvent::DisputeOpened => "dispute.opened",
            HookEvent::DisputeClosed => "dispute.closed",
            HookEvent::SubscriptionCreated => "subscription.created",
            HookEvent::SubscriptionRenewed => "subscription.renewed",
            HookEvent::SubscriptionPaymentFailed => "subscription.payment_failed",
            HookEvent::SubscriptionCanceled => "subscription.canceled",
            HookEvent::LicenceIssued => "licence.issued",
            HookEvent::LicenceActivated => "licence.activated",
            HookEvent::LicenceActivationFailed => "licence.activation_failed",
            HookEvent::LicenceRevoked => "licence.revoked",
            HookEvent::PayoutPaid => "payout.paid",
            HookEvent::Test => "webhook.test",
        }
    }

    /// The event named `s`, if it is one an endpoint can choose.
    pub fn parse(s: &str) -> Option<HookEvent> {
        HookEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// What an endpoint is sent: every event, or the ones it chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventFilter {
    /// Everything.
    All,
    /// These only (never empty).
    Only(Vec<HookEvent>),
}

impl EventFilter {
    /// From the dashboard's checkboxes: none ticked (or "all") means every event; an unknown
    /// name is refused.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<EventFilter, String> {
        let mut chosen = Vec::new();
        for n in names {
            if n == "*" {
                return Ok(EventFilter::All);
            }
            let e = HookEvent::parse(n).ok_or_else(|| format!("unknown event {n:?}"))?;
            if !chosen.contains(&e) {
                chosen.push(e);
            }
        }
        Ok(if chosen.is_empty() {
            EventFilter::All
        } else {
            EventFilter::Only(chosen)
        })
    }

    /// As stored: `*`, or the names between single spaces (so SQL finds ` name `).
    pub fn stored(&self) -> String {
        match self {
            EventFilter::All => "*".into(),
            EventFilter::Only(list) => {
                let names: Vec<&str> = list.iter().map(|e| e.as_str()).collect();
                format!(" {} ", names.join(" "))
            }
        }
    }

    /// Back from [`EventFilter::stored`] (names no longer known are dropped).
    pub fn from_stored(s: &str) -> EventFilter {
        if s.trim() == "*" {
            return EventFilter::All;
        }
        EventFilter::from_names(
            s.split_whitespace()
                .filter(|n| HookEvent::parse(n).is_some()),
        )
        .unwrap_or(EventFilter::All)
    }

    /// Whether `e` goes out under this filter.
    pub fn wants(&self, e: HookEvent) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Only(list) => list.contains(&e),
        }
    }
}

/// An endpoint's signing secret: 32 bytes, shown once as `whsec_<base64>`.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointSecret([u8; 32]);

impl std::fmt::Debug for EndpointSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndpointSecret([redacted])")
    }
}

impl EndpointSecret {
    /// The secret of `endpoint` with `salt` under the host's webhook key: HMAC-SHA256, so
    /// whoever reads the database (which holds only the salt) cannot sign.
    pub fn derive(key: &[u8; 32], endpoint: &str, salt: &str) -> EndpointSecret {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(endpoint.as_bytes());
        mac.update(b"\0");
        mac.update(salt.as_bytes());
        EndpointSecret(mac.finalize().into_bytes().into())
    }

    /// As the merchant's receiver is given it: `whsec_` and the bytes in base64.
    pub fn reveal(&self) -> String {
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(self.0)
        )
    }

    /// `v1,<signature>` of message `id` sent at `timestamp` with `body`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }
}

/// A new random salt (a new secret): 32 random bytes, hex.
pub fn new_salt() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the system's random source");
    hex::encode(b)
}

/// How long a rotated-out secret still signs (both signatures are sent meanwhile).
pub const ROTATION_OVERLAP_SECS: i64 = 24 * 3600;

/// The specification's schedule: after the first try fails, wait these many seconds before
/// each next one (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); then the message has failed.
pub const RETRY_SECS: [i64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/// After failing this long without one success, an endpoint is switched off (and its owners
/// mailed): five days.
pub const DISABLE_AFTER_SECS: i64 = 5 * 86_400;

/// When the try after `attempts` failed ones is due, `now` being the last: the schedule plus up
/// to 10 % of jitter (so a receiver that came back is not hit by every retry at once), or
/// `None` when the schedule is spent.
pub fn next_try(attempts: i64, now: i64, jitter: u8) -> Option<i64> {
    let i = usize::try_from(attempts.checked_sub(1)?).ok()?;
    let wait = *RETRY_SECS.get(i)?;
    Some(now + wait + wait * i64::from(jitter % 11) / 100)
}

/// The body every event has: its type, when it happened (RFC 3339) and its data.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    /// e.g. `payment.succeeded`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When it happened, UTC.
    pub timestamp: String,
    /// What it is about.
    pub data: &'a HookData,
}

/// What an event is about. Money is in minor units with its currency.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HookData {
    /// The checkout session (the payment's id on this host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The campaign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// The amount (minor units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// Its currency, lower case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The payer's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The gateway's PaymentIntent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
    /// The gateway's subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// The gateway's invoice (a renewal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice: Option<String>,
    /// The receipt number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_number: Option<String>,
    /// The licence's order reference (what its key names; the key itself is not sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence_order: Option<String>,
    /// Refunded so far (minor units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_refunded: Option<i64>,
    /// Why (a decline code, a refusal, a revocation's cause, a dispute's outcome).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The installation (licence activations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The gateway's payout (`po_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payout: Option<String>,
    /// When the payout reached the bank (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival_date: Option<i64>,
}

impl HookData {
    /// What every event about `session` says.
    pub fn of(session: &SessionRow) -> HookData {
        HookData {
            session: Some(session.id.clone()),
            campaign: Some(session.campaign.clone()),
            amount: Some(session.total()),
            currency: Some(session.currency.code().to_ascii_lowercase()),
            email: session.email.clone(),
            payment_intent: session.payment_intent.clone(),
            subscription: session.subscription.clone(),
            ..HookData::default()
        }
    }
}

/// RFC 3339 of unix time `t` (UTC, seconds).
pub fn rfc3339(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        crate::mail::civil_date(days * 86_400),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Writes event `event` about `data` for `merchant` to the outbox inside `tx` (the change's own
/// transaction): one delivery per enabled endpoint of the merchant that wants it. The relay
/// sends it after the commit ([`wake`]).
pub async fn emit(
    state: &HostState,
    tx: &mut dyn StoreTx,
    merchant: &str,
    event: HookEvent,
    data: &HookData,
) -> Result<(), DomainError> {
    let now = state.clock.now();
    let hook = new_hook(state, merchant, event, data, now)?;
    tx.queue_hook(&hook, None).await?;
    Ok(())
}

fn new_hook(
    state: &HostState,
    merchant: &str,
    event: HookEvent,
    data: &HookData,
    now: i64,
) -> Result<NewHook, DomainError> {
    let payload = serde_json::to_string(&Payload {
        kind: event.as_str(),
        timestamp: rfc3339(now),
        data,
    })
    .map_err(|e| DomainError::Internal(format!("webhook payload: {e}")))?;
    Ok(NewHook {
        id: state.ids.new_id("msg"),
        merchant: merchant.to_owned(),
        kind: event.as_str().to_owned(),
        session: data.session.clone(),
        payload,
        created: now,
    })
}

/// Writes event `event` outside any other change (a licence activation, a test event to
/// `only` one endpoint), in a transaction of its own.
pub async fn emit_now(
    state: &HostState,
    merchant: &str,
    event: HookEvent,
    data: &HookData,
    only: Option<&str>,
) -> Result<String, DomainError> {
    let now = state.clock.now();
    let hook = new_hook(state, merchant, event, data, now)?;
    let mut tx = state.store.begin().await?;
    tx.queue_hook(&hook, only).await?;
    tx.commit().await?;
    wake(state);
    Ok(hook.id)
}

/// Tells this host's webhook relay that something was queued (after the commit).
pub fn wake(state: &HostState) {
    state.hooks_wake.notify_one();
}

/// How often the relay looks for due retries when nothing wakes it.
const RELAY_POLL_SECS: u64 = 5;
/// How many deliveries one pass claims; they are sent concurrently.
const BATCH: u32 = 32;
/// How long a claimed delivery is someone's (longer than a delivery can take).
const LEASE_SECS: i64 = 120;
/// The most of a receiver's answer kept in the delivery log.
const EXCERPT: usize = 500;

/// Starts the relay of `state` (ends when the host is dropped). Several hosts on one database
/// each run one; leases keep two from sending the same delivery at once.
pub fn spawn_relay(state: &std::sync::Arc<HostState>) -> tokio::task::JoinHandle<()> {
    let weak = std::sync::Arc::downgrade(state);
    let wake = state.hooks_wake.clone();
    tokio::spawn(async move {
        loop {
            let Some(state) = weak.upgrade() else { return };
            while deliver_due(&state).await >= BATCH as usize {}
            drop(state);
            let poll = std::time::Duration::from_secs(RELAY_POLL_SECS);
            let _ = tokio::time::timeout(poll, wake.notified()).await;
        }
    })
}

/// One pass: claims what is due and delivers it; returns how many were claimed.
pub async fn deliver_due(state: &HostState) -> usize {
    let now = state.clock.now();
    let due = match state.store.claim_hooks(BATCH, now, now + LEASE_SECS).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "read the webhook outbox");
            return 0;
        }
    };
    let n = due.len();
    // Deliveries wait on the network: side by side, each bounded by its timeouts.
    let results =
        futures_util::future::join_all(due.into_iter().map(|d| deliver_one(state, d, now))).await;
    for (due, attempt) in results {
        let outcome = match attempt.status {
            Some(code) if (200..300).contains(&code) => HookOutcome::Delivered,
            _ => match next_try(due.attempts, now, jitter()) {
                Some(at) => HookOutcome::Retry { at },
                None => HookOutcome::Failed,
            },
        };
        if outcome != HookOutcome::Delivered {
            tracing::warn!(endpoint = %due.endpoint, message = %due.message, status = ?attempt.status, error = ?attempt.error, "webhook not delivered");
        }
        match state.store.finish_hook(&attempt, outcome, now).await {
            Ok(Some(since)) if now - since >= DISABLE_AFTER_SECS => {
                disable_failing(state, &due, since, now).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "webhook delivery not recorded; it may go twice"),
        }
    }
    n
}

fn jitter() -> u8 {
    let mut b = [0u8; 1];
    getrandom::fill(&mut b).map_or(0, |()| b[0])
}

/// Sends one delivery: resolves and checks the address, signs with the endpoint's secret (and
/// the rotated-out one while it overlaps), posts, and notes the answer.
async fn deliver_one(state: &HostState, due: HookDue, now: i64) -> (HookDue, HookAttempt) {
    let started = std::time::Instant::now();
    let mut attempt = HookAttempt {
        message: due.message.clone(),
        endpoint: due.endpoint.clone(),
        at: now,
        status: None,
        latency_ms: 0,
        error: None,
        response: None,
    };
    let loopback = state.config.server.hooks_to_loopback;
    let sent = async {
        let url = target::parse_url(&due.url, loopback).map_err(|e| e.to_string())?;
        let addr = target::resolve(&url, loopback)
            .await
            .map_err(|e| e.to_string())?;
        let key = &state.keys.hooks;
        let mut signatures = vec![EndpointSecret::derive(key, &due.endpoint, &due.salt).sign(
            &due.message,
            now,
            &due.payload,
        )];
        if let (Some(old), Some(until)) = (&due.old_salt, due.old_until) {
            if now < until {
                signatures.push(EndpointSecret::derive(key, &due.endpoint, old).sign(
                    &due.message,
                    now,
                    &due.payload,
                ));
            }
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        // Pinned to the address just checked, with no redirects: what was judged is what is
        // reached.
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(15))
            .resolve(&host, addr)
            .build()
            .map_err(|e| format!("client: {e}"))?;
        let r = client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "paywidget-webhooks/1")
            .header("webhook-id", &due.message)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(due.payload.clone())
            .send()
            .await
            .map_err(|e| format!("no answer: {}", without_url(&e)))?;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        Ok::<_, String>((status, text))
    }
    .await;
    attempt.latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match sent {
        Ok((status, text)) => {
            attempt.status = Some(i64::from(status));
            attempt.response = Some(text.chars().take(EXCERPT).collect());
        }
        Err(e) => attempt.error = Some(e.chars().take(EXCERPT).collect()),
    }
    (due, attempt)
}

/// reqwest's error without the URL (which may carry a merchant's token in its query).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "the endpoint");
    }
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        s
    }
}

/// Switches off an endpoint that has failed since `since` and mails its merchant's owners.
async fn disable_failing(state: &HostState, due: &HookDue, since: i64, now: i64) {
    let reason = format!(
        "every delivery failed since {} (5 days)",
        crate::mail::civil_date(since)
    );
    let result = async {
        let mut tx = state.store.begin().await?;
        if tx
            .disable_hook_endpoint(&due.endpoint, &reason, now)
            .await?
        {
            if let Some(m) = state.config.merchant(&due.merchant) {
                for owner in m
                    .staff
                    .iter()
                    .filter(|s| s.role == crate::config::Role::Owner)
                {
                    tx.queue_mail(&crate::store::NewMail {
                        session_id: String::new(),
                        to: owner.email.to_string(),
                        subject: "A webhook endpoint was switched off".into(),
                        body: format!(
                            "Deliveries to {} have failed since {}, so it was switched off.\n\n\
                             Fix the receiver, then turn it on again and replay what it missed \
                             from the dashboard: {}/admin/webhooks/{}\n",
                            due.url,
                            crate::mail::civil_date(since),
                            state.public_url,
                            due.endpoint
                        ),
                        created: now,
                    })
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok::<_, crate::store::StoreError>(())
    }
    .await;
    match result {
        Ok(()) => {
            tracing::warn!(endpoint = %due.endpoint, "webhook endpoint switched off after days of failures");
            crate::mail::wake(state);
        }
        Err(e) => tracing::error!(error = %e, "switch off a failing webhook endpoint"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_specifications() {
        // The specification's own example (standard-webhooks/spec, "Verifying webhooks").
        let secret = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
        mac.update(b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}");
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(expected, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        // Ours, with a derived secret, is the same construction.
        let s = EndpointSecret::derive(&[7; 32], "ep_1", "salt");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.reveal().trim_start_matches("whsec_"))
            .unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&raw).unwrap();
        mac.update(b"msg_1.1700000000.{}");
        assert_eq!(
            s.sign("msg_1", 1_700_000_000, "{}"),
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            )
        );
        assert_eq!(format!("{s:?}"), "EndpointSecret([redacted])");
        // A new salt is a new secret; another endpoint with the same salt is another secret.
        assert_ne!(s, EndpointSecret::derive(&[7; 32], "ep_1", "salt2"));
        assert_ne!(s, EndpointSecret::derive(&[7; 32], "ep_2", "salt"));
    }

    #[test]
    fn retries_follow_the_schedule_with_bounded_jitter_then_stop() {
        assert_eq!(next_try(1, 100, 0), Some(105));
        assert_eq!(next_try(2, 100, 0), Some(400));
        assert_eq!(next_try(7, 0, 0), Some(36_000));
        assert_eq!(next_try(8, 0, 0), None);
        assert_eq!(next_try(0, 0, 0), None);
        for j in 0..=255u8 {
            let t = next_try(3, 0, j).unwrap();
            assert!((1800..=1980).contains(&t), "{t}");
        }
    }

    #[test]
    fn filters_round_trip_and_refuse_unknown_events() {
        let f =
            EventFilter::from_names(["payment.succeeded", "licence.issued", "payment.succeeded"])
                .unwrap();
        assert_eq!(f.stored(), " payment.succeeded licence.issued ");
        assert_eq!(EventFilter::from_stored(&f.stored()), f);
        assert!(f.wants(HookEvent::LicenceIssued) && !f.wants(HookEvent::PaymentFailed));
        assert_eq!(EventFilter::from_names([]).unwrap(), EventFilter::All);
        assert_eq!(EventFilter::from_stored("*"), EventFilter::All);
        assert!(EventFilter::from_names(["payment.stolen"]).is_err());
        assert!(HookEvent::parse("webhook.test").is_none());
        for e in HookEvent::ALL {
            assert_eq!(HookEvent::parse(e.as_str()), Some(e));
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_614_265_330), "2021-02-25T15:02:10Z");
    }
}
