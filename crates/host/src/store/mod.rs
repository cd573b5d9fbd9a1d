//! All of the host's SQL, behind the [`Store`] trait: typed rows in, typed rows out. The domain
//! never sees a query. Two implementations, chosen by [`open`]'s URL: [`SqliteStore`] (the
//! embedded default, one host) and [`PostgresStore`] (several stateless hosts on one database);
//! their statements are written once, in [`sql`], with what must differ passed in.
//!
//! Atomicity: what must happen together (a webhook's dedupe row, the session's new state, the
//! fulfilment and its mail) happens through one [`StoreTx`], begun with [`Store::begin`] and
//! committed once; dropping it uncommitted rolls everything back.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use paywidget_core::api::{CampaignKind, DeclineCode, Frequency, PayOutcome, SessionStatus};
use paywidget_core::money::Currency;

mod postgres;
mod sql;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// A gateway subscription's status: parsed once where the gateway's answers are read (the
/// gateway module deserialises into it), kept in `sessions.subscription_status`. A status newer
/// than this host reads as [`SubscriptionStatus::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// The first payment is not made yet.
    Incomplete,
    /// The first payment never came (final).
    IncompleteExpired,
    /// In a trial (here: a frequency change waiting out the period already paid for).
    Trialing,
    /// Paid and running.
    Active,
    /// A renewal failed; the gateway retries.
    PastDue,
    /// Retries ran out without ending it.
    Unpaid,
    /// Paused by the gateway (a trial without a payment method).
    Paused,
    /// Ended (final).
    Canceled,
    /// A status newer than this host.
    #[serde(other)]
    Other,
}

impl SubscriptionStatus {
    /// Every status, in the gateway's words (the column's values).
    pub const ALL: [SubscriptionStatus; 9] = [
        SubscriptionStatus::Incomplete,
        SubscriptionStatus::IncompleteExpired,
        SubscriptionStatus::Trialing,
        SubscriptionStatus::Active,
        SubscriptionStatus::PastDue,
        SubscriptionStatus::Unpaid,
        SubscriptionStatus::Paused,
        SubscriptionStatus::Canceled,
        SubscriptionStatus::Other,
    ];

    /// The gateway's word for it (what the column holds).
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Incomplete => "incomplete",
            SubscriptionStatus::IncompleteExpired => "incomplete_expired",
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Unpaid => "unpaid",
            SubscriptionStatus::Paused => "paused",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Other => "other",
        }
    }

    /// The status a stored word names (an unknown word is [`SubscriptionStatus::Other`]).
    pub fn parse(word: &str) -> SubscriptionStatus {
        SubscriptionStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == word)
            .unwrap_or(SubscriptionStatus::Other)
    }

    /// Whether nothing can follow it: the gift is over (a late event never revives it).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired
        )
    }
}

/// What went wrong under the store. Details are for the log, never for a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A row holds something this build cannot read.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// A checkout session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// `cs_…`.
    pub id: String,
    /// The merchant's id.
    pub merchant: String,
    /// The campaign's id.
    pub campaign: String,
    /// What it sells.
    pub kind: CampaignKind,
    /// Minor units.
    pub amount: i64,
    /// Fee coverage, minor units.
    pub fee: i64,
    /// The currency of both.
    pub currency: Currency,
    /// The shopper's email, as parsed at creation.
    pub email: Option<String>,
    /// The shopper's name.
    pub name: Option<String>,
    /// Where it is.
    pub status: SessionStatus,
    /// The gateway's payment intent, once created.
    pub payment_intent: Option<String>,
    /// The 3-D Secure page, when `requires_action`.
    pub redirect_url: Option<String>,
    /// The last decline.
    pub decline_code: Option<DeclineCode>,
    /// Its message for the shopper.
    pub decline_message: Option<String>,
    /// Refunded so far, minor units.
    pub amount_refunded: i64,
    /// One-time or recurring.
    pub frequency: Frequency,
    /// The gateway subscription of a recurring gift, once created.
    pub subscription: Option<String>,
    /// Its status as the last subscription event said.
    pub subscription_status: Option<SubscriptionStatus>,
    /// The subscription ends at the end of its period (the donor cancelled).
    pub cancel_at_period_end: bool,
    /// Collecting it is paused (the donor paused).
    pub paused: bool,
    /// A licence subscription's tier.
    pub tier: Option<String>,
    /// A recurring gift's amount from the next period on, when the donor changed it.
    pub next_amount: Option<i64>,
    /// When it was created (unix seconds; set by the store on insert).
    pub created: i64,
}

impl StoreError {
    /// A statement gave up waiting for a row another transaction (another host) holds:
    /// PostgreSQL's `lock_timeout` (55P03), or SQLite's busy timeout.
    pub fn is_lock_timeout(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(d)) => {
                matches!(d.code().as_deref(), Some("55P03" | "5" | "517"))
            }
            _ => false,
        }
    }
}

/// A paid invoice of a subscription, fulfilled once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceRow {
    /// The gateway's `in_…` (the key: each invoice is fulfilled at most once).
    pub invoice_id: String,
    /// The session (the subscription's first checkout).
    pub session_id: String,
    /// `subscription_create`, `subscription_cycle`, …
    pub billing_reason: String,
    /// Paid, minor units (the session's currency).
    pub amount: i64,
    /// Its receipt.
    pub receipt_number: Option<String>,
    /// The end of the period it paid for (unix seconds).
    pub period_end: Option<i64>,
    /// Unix seconds.
    pub created: i64,
    /// `refunded` or `disputed` when its charge was taken back.
    pub reversed: Option<String>,
}

impl InvoiceRow {
    /// The gateway's `billing_reason` of a subscription's first invoice.
    pub const FIRST: &'static str = "subscription_create";

    /// Whether this is the subscription's first invoice (the checkout's own payment), not a
    /// renewal.
    pub fn is_first(&self) -> bool {
        self.billing_reason == Self::FIRST
    }
}

impl SessionRow {
    /// `amount + fee`.
    pub fn total(&self) -> i64 {
        self.amount + self.fee
    }
}

/// A fulfilment (at most one per session: the session id is its key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfilmentRow {
    /// The session it fulfils.
    pub session_id: String,
    /// Licence or receipt.
    pub kind: CampaignKind,
    /// The signed licence key.
    pub license_key: Option<String>,
    /// The receipt number.
    pub receipt_number: Option<String>,
    /// Refunded or disputed.
    pub revoked: bool,
    /// Why (`refunded`, `disputed`).
    pub revoked_reason: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// A licence subscription: the end of its last paid period (unix seconds).
    pub paid_until: Option<i64>,
    /// Seats support added to the plan's.
    pub extra_seats: i64,
    /// Days support added to the licence's last valid day.
    pub extra_days: i64,
    /// Suspended by staff (reversible; a revocation is not).
    pub suspended: bool,
}

/// A portal sign-in request as stored: only hashes of the link's token and of the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalLogin {
    /// SHA-256 (hex) of the link's token.
    pub token_hash: String,
    /// The address it was sent to.
    pub email: String,
    /// SHA-256 (hex) of the 6-digit code.
    pub code_hash: String,
    /// Unix seconds after which it no longer works.
    pub expires: i64,
    /// Unix seconds.
    pub created: i64,
}

/// What an activation came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activated {
    /// Active (new, or already): `used` seats taken now.
    Active {
        /// Seats taken, this one included.
        used: u16,
    },
    /// Every seat is taken by other installations.
    Full,
}

/// A message waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailRow {
    /// Outbox row id (also the `.eml` file's number).
    pub id: i64,
    /// The session it is about.
    pub session_id: String,
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// A message to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMail {
    /// The session it is about.
    pub session_id: String,
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Unix seconds.
    pub created: i64,
}

/// What became of an outbox message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailState {
    /// Delivered to the mailer.
    Sent,
    /// Can never be written (bad address): dropped, loudly.
    Undeliverable,
    /// Not sent this time: tried again from `next_try` (unix seconds), after the others.
    Retry {
        /// When the next try may run.
        next_try: i64,
    },
}

/// A held singleton-job lock: dropping it releases it.
pub struct JobGuard(#[allow(dead_code)] Box<dyn Send + Sync>);

impl std::fmt::Debug for JobGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobGuard")
    }
}

/// Consistency figures over the whole database.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Audit {
    /// Sessions.
    pub sessions: u64,
    /// Fulfilments (one per paid one-time session or first invoice).
    pub fulfilments: u64,
    /// Receipt numbers handed out (fulfilments' and renewal invoices').
    pub receipt_numbers: u64,
    /// Numbers the merchants' counters passed that no receipt carries, plus numbers carried
    /// twice: 0 when every merchant's receipts run 1, 2, … without a hole.
    pub receipt_gaps: u64,
    /// Pay claims without an outcome whose lease ran out, on sessions not paid: keys a shopper
    /// could be stuck on.
    pub stuck_keys: u64,
}

/// A pay attempt's `(session, client key)` claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Nobody holds the key (never claimed, or released after an undecided failure).
    Free,
    /// Claimed; the outcome is not known yet.
    Running,
    /// Decided: every retry gets this.
    Finished(PayOutcome),
}

/// The host's persistence outside a transaction: the sum of one trait per aggregate, plus
/// [`Store::begin`] for what must happen together. The domain holds an `Arc<dyn Store>`; a
/// trait object's supertrait methods need no import, so callers see one store.
#[async_trait]
pub trait Store:
    SessionStore
    + AttemptStore
    + FulfilmentStore
    + PortalStore
    + LicenceStore
    + ShieldStore
    + OutboxStore
    + JobStore
    + RateStore
    + DashboardStore
    + HookStore
    + Send
    + Sync
    + 'static
{
    /// Starts a transaction.
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;
}

/// Checkout sessions and a recurring gift's plan and invoices.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session (its `status` is the initial one).
    async fn insert_session(&self, session: &SessionRow, now: i64) -> Result<(), StoreError>;
    /// A session by id.
    async fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError>;
    /// Moves a session to `status` only if that does not lower its rank; whether it moved.
    async fn advance(&self, id: &str, status: SessionStatus, now: i64) -> Result<bool, StoreError>;
    /// Remembers the session's payment intent (the first one stays).
    async fn set_payment_intent(&self, id: &str, payment_intent: &str) -> Result<(), StoreError>;
    /// Remembers the last decline.
    async fn set_decline(
        &self,
        id: &str,
        code: &DeclineCode,
        message: &str,
    ) -> Result<(), StoreError>;
    /// Remembers the 3-D Secure page.
    async fn set_redirect_url(&self, id: &str, url: &str) -> Result<(), StoreError>;
    /// Remembers the gateway subscription of a recurring gift.
    async fn set_subscription(&self, id: &str, subscription: &str) -> Result<(), StoreError>;
    /// The paid invoices of a session's subscription, oldest first.
    async fn invoices(&self, session: &str) -> Result<Vec<InvoiceRow>, StoreError>;
    /// The paid (or later) sessions of `email`, newest first.
    async fn sessions_by_email(&self, email: &str) -> Result<Vec<SessionRow>, StoreError>;
    /// Remembers whether the subscription ends at its period's end.
    async fn set_cancel_at_period_end(&self, id: &str, cancel: bool) -> Result<(), StoreError>;
    /// Remembers whether collecting the subscription is paused.
    async fn set_paused(&self, id: &str, paused: bool) -> Result<(), StoreError>;
    /// Records a try through a session's update-card link; answers how many there were since
    /// `since`, this one included.
    async fn record_update_attempt(
        &self,
        session: &str,
        since: i64,
        now: i64,
    ) -> Result<u32, StoreError>;
    /// A recurring gift's new amount per period and frequency (from the next gift on).
    async fn set_plan(&self, id: &str, amount: i64, frequency: Frequency)
        -> Result<(), StoreError>;
    /// Sessions created in `[since, until)`, oldest first (reconciliation).
    async fn sessions_created(&self, since: i64, until: i64)
        -> Result<Vec<SessionRow>, StoreError>;
    /// A paid invoice the host has fulfilled.
    async fn invoice(&self, id: &str) -> Result<Option<InvoiceRow>, StoreError>;
    /// The session whose (first) payment is `payment_intent`.
    async fn session_by_payment_intent(
        &self,
        payment_intent: &str,
    ) -> Result<Option<SessionRow>, StoreError>;
    /// The session a gateway subscription belongs to.
    async fn session_by_subscription(
        &self,
        subscription: &str,
    ) -> Result<Option<SessionRow>, StoreError>;
}

/// Pay attempts: one claim per `(session, idempotency key)` and its outcome.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Claims `(session, key)` by an atomic insert; false if someone holds it. A claim without
    /// an outcome taken before `stale_before` (its holder died mid-payment: a lease ran out)
    /// is taken over in the same statement, so its attempt can be driven to an end.
    async fn claim_attempt(
        &self,
        session: &str,
        key: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError>;
    /// The claim's state.
    async fn attempt(&self, session: &str, key: &str) -> Result<Attempt, StoreError>;
    /// Records the claim's outcome.
    async fn finish_attempt(
        &self,
        session: &str,
        key: &str,
        outcome: &PayOutcome,
    ) -> Result<(), StoreError>;
    /// Frees an undecided claim so the page can retry it.
    async fn release_attempt(&self, session: &str, key: &str) -> Result<(), StoreError>;
}

/// What fulfilment produced, and the whole-database audit of it.
#[async_trait]
pub trait FulfilmentStore: Send + Sync {
    /// The session's fulfilment.
    async fn fulfilment(&self, session: &str) -> Result<Option<FulfilmentRow>, StoreError>;
    /// The session whose licence carries the order reference `order_ref`.
    async fn session_by_order_ref(&self, order_ref: &str) -> Result<Option<String>, StoreError>;
    /// Whole-database consistency figures (reconciliation, the soak): see [`Audit`].
    async fn audit(&self, now: i64, stale_before: i64) -> Result<Audit, StoreError>;
}

/// The donor portal's sign-in requests and sessions.
#[async_trait]
pub trait PortalStore: Send + Sync {
    /// Records a portal sign-in request (hashes only).
    async fn insert_portal_login(&self, login: &PortalLogin) -> Result<(), StoreError>;
    /// Uses a sign-in link once: the email it was for, if unused and not expired.
    async fn take_portal_login_by_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError>;
    /// Counts one code guess against every open sign-in request of `email` that has tries
    /// left (fewer than 5), in one statement, and returns those requests as
    /// `(token_hash, code_hash)`: a guess is spent before it is compared, so guesses in flight
    /// together cannot exceed the tries.
    async fn portal_guess(
        &self,
        email: &str,
        now: i64,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Uses the sign-in request `token_hash` once: whether this call used it.
    async fn take_portal_login(&self, token_hash: &str, now: i64) -> Result<bool, StoreError>;
    /// Records a signed-in portal session.
    async fn insert_portal_session(
        &self,
        id_hash: &str,
        email: &str,
        csrf: &str,
        expires: i64,
        now: i64,
    ) -> Result<(), StoreError>;
    /// A live portal session: `(email, csrf)`.
    async fn portal_session(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, StoreError>;
    /// Ends a portal session.
    async fn delete_portal_session(&self, id_hash: &str) -> Result<(), StoreError>;
}

/// Licence activations (seats).
#[async_trait]
pub trait LicenceStore: Send + Sync {
    /// Activates `instance` for `order` if it is already active or a seat is free (checked
    /// and taken in one statement, so concurrent activations never exceed `seats`).
    async fn activate(
        &self,
        order: &str,
        instance: &str,
        seats: u16,
        now: i64,
    ) -> Result<Activated, StoreError>;
    /// Removes an activation; false if there was none.
    async fn deactivate(&self, order: &str, instance: &str) -> Result<bool, StoreError>;
    /// The active installations of `order`, oldest first: `(instance, created)`.
    async fn activations(&self, order: &str) -> Result<Vec<(String, i64)>, StoreError>;
    /// The active installations with when each was first and last seen, oldest first.
    async fn activations_seen(&self, order: &str) -> Result<Vec<Installation>, StoreError>;
    /// Frees every seat of `order`; how many there were.
    async fn deactivate_all(&self, order: &str) -> Result<u64, StoreError>;
    /// Adds `seats` seats and `days` days to the licence of `session`, in one statement that
    /// keeps the added seats at most `max_seats` (false: no licence, or over the cap).
    async fn add_to_licence(
        &self,
        session: &str,
        seats: i64,
        days: i64,
        max_seats: i64,
    ) -> Result<bool, StoreError>;
    /// Suspends or reinstates the licence of `session` (false: no licence).
    async fn set_suspended(&self, session: &str, suspended: bool) -> Result<bool, StoreError>;
    /// Records one activation attempt (the last 100 per licence are kept).
    async fn log_activation(&self, attempt: &ActivationAttempt) -> Result<(), StoreError>;
    /// The last `limit` activation attempts of `order`, newest first.
    async fn activation_log(
        &self,
        order: &str,
        limit: u32,
    ) -> Result<Vec<ActivationAttempt>, StoreError>;
}

/// An installation holding a seat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    /// The app's instance id.
    pub instance: String,
    /// When it first took the seat.
    pub first_seen: i64,
    /// When it last activated (the same seat again), if ever after the first.
    pub last_seen: Option<i64>,
}

/// One activation attempt, as the activation doctor shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivationAttempt {
    /// The licence's session.
    pub session_id: String,
    /// The instance that asked.
    pub instance: String,
    /// `activated` or `refused`.
    pub outcome: String,
    /// Why it was refused (`seats_exhausted`, `license_revoked`, `license_expired`, …).
    pub reason: Option<String>,
    /// When.
    pub at: i64,
}

/// The card-testing shield's reservations, outcomes, blocks, proofs and attack periods.
#[async_trait]
pub trait ShieldStore: Send + Sync {
    /// Card-testing shield: records one pay attempt's outcome against each `(kind, key)`.
    async fn shield_record(
        &self,
        merchant: &str,
        keys: &[(&str, String)],
        declined: bool,
        at: i64,
    ) -> Result<(), StoreError>;
    /// Reserves a pay attempt against each `(kind, key)` before it reaches the gateway: counted
    /// as a decline until [`ShieldStore::shield_settle`] records its outcome.
    async fn shield_reserve(
        &self,
        merchant: &str,
        keys: &[(&str, String)],
        attempt: &str,
        at: i64,
    ) -> Result<(), StoreError>;
    /// Records the reserved attempt's outcome (or, `None`, takes the reservation back).
    async fn shield_settle(&self, attempt: &str, declined: Option<bool>) -> Result<(), StoreError>;
    /// `(attempts, declines)` against `(kind, key)` since `since`.
    async fn shield_counts(
        &self,
        merchant: &str,
        kind: &str,
        key: &str,
        since: i64,
    ) -> Result<(u32, u32), StoreError>;
    /// Blocks `(kind, key)` until `until` (a later block wins).
    async fn shield_block(
        &self,
        merchant: &str,
        kind: &str,
        key: &str,
        until: i64,
    ) -> Result<(), StoreError>;
    /// The latest end of a block on any of `keys` still running at `now`.
    async fn shield_blocked_until(
        &self,
        merchant: &str,
        keys: &[(&str, String)],
        now: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// Uses a proof of work's id once: false if it was used before.
    async fn shield_use_proof(&self, id: &str, expires: i64) -> Result<bool, StoreError>;
    /// When the campaign's running attack-mode period started, if one is running.
    async fn shield_attack(&self, campaign: &str) -> Result<Option<i64>, StoreError>;
    /// Starts an attack-mode period; false if one was already running.
    async fn shield_start_attack(&self, campaign: &str, at: i64) -> Result<bool, StoreError>;
    /// Ends the running attack-mode period; false if none was running.
    async fn shield_end_attack(&self, campaign: &str, at: i64) -> Result<bool, StoreError>;
    /// Forgets events, blocks and proofs older than `before`.
    async fn shield_prune(&self, before: i64) -> Result<(), StoreError>;
}

/// The mail outbox (relays claim messages with a lease).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` unsent messages whose lease has run out (oldest first) until
    /// `lease_until`: relays on several hosts never send one message twice at once.
    async fn claim_mail(
        &self,
        limit: u32,
        now: i64,
        lease_until: i64,
    ) -> Result<Vec<MailRow>, StoreError>;
    /// Marks a claimed message sent, undeliverable, or to retry.
    async fn mark_mail(&self, id: i64, state: MailState) -> Result<(), StoreError>;
}

/// Singleton jobs across hosts, and the host's settings.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// A setting; if absent, stores `default` first. Returns the stored value (a concurrent
    /// first start may have won).
    async fn setting_or_insert(&self, key: &str, default: &str) -> Result<String, StoreError>;
    /// Sets the setting `key`.
    async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// The singleton job `name`'s lock, if no other host holds it (held until the guard is
    /// dropped; PostgreSQL: a session advisory lock on a connection of its own).
    async fn job_lock(&self, name: &str) -> Result<Option<JobGuard>, StoreError>;
    /// Claims the job's run for this period: true (and `now` recorded) when its last run, on
    /// any host, was at least `every` seconds ago.
    async fn claim_job(&self, name: &str, now: i64, every: i64) -> Result<bool, StoreError>;
}

/// Counters: the shared rate limiter's buckets and the one-statement window counters.
#[async_trait]
pub trait RateStore: Send + Sync {
    /// Counts one hit of `key` (a window's counter, forgotten after `expires`) and returns the
    /// count including it, in one statement.
    async fn count_hit(&self, key: &str, expires: i64) -> Result<i64, StoreError>;
    /// The count of `key` (0 when none, or its window ended before `now`).
    async fn counter_value(&self, key: &str, now: i64) -> Result<i64, StoreError>;
    /// Forgets counters whose window ended before `now`.
    async fn counters_prune(&self, now: i64) -> Result<(), StoreError>;
    /// Counts a request of `key` in the rate limiter's bucket `bucket` (shared by every host);
    /// returns the count so far.
    async fn rate_hit(&self, key: &str, bucket: i64) -> Result<i64, StoreError>;
    /// The count of `key` in bucket `bucket`, without counting (0 when none).
    async fn rate_count(&self, key: &str, bucket: i64) -> Result<i64, StoreError>;
    /// Forgets rate buckets before `bucket`.
    async fn rate_prune(&self, bucket: i64) -> Result<(), StoreError>;
}

/// The merchant dashboard's reads (lists and figures by merchant and time) and its append-only
/// audit log.
#[async_trait]
pub trait DashboardStore: Send + Sync {
    /// One page of a merchant's sessions, newest first, as `q` filters them.
    async fn payments(&self, q: &PaymentQuery) -> Result<Vec<SessionRow>, StoreError>;
    /// A staff member's saved filters for a merchant, oldest first.
    async fn saved_filters(
        &self,
        merchant: &str,
        email: &str,
    ) -> Result<Vec<SavedFilter>, StoreError>;
    /// Saves `f` unless its owner already has `max` for that merchant (false then). Holds
    /// under concurrent saves.
    async fn save_filter(&self, f: &SavedFilter, max: i64) -> Result<bool, StoreError>;
    /// Deletes a saved filter of its owner (false if there is none of theirs with that id).
    async fn delete_filter(
        &self,
        merchant: &str,
        email: &str,
        id: &str,
    ) -> Result<bool, StoreError>;
    /// Paid sessions created in `[since, until)` per currency and bucket of `bucket` seconds
    /// from `since` (whole days when the merchant's zone keeps one offset over the range; else
    /// quarter hours, which every zone's offset is a whole number of), to fold into the
    /// merchant's local days with `admin::local_days`.
    async fn day_totals(
        &self,
        merchant: &str,
        since: i64,
        until: i64,
        bucket: i64,
    ) -> Result<Vec<DayTotal>, StoreError>;
    /// The checkout funnel of sessions created in `[since, until)`.
    async fn funnel(&self, merchant: &str, since: i64, until: i64) -> Result<Funnel, StoreError>;
    /// How many sessions created in `[since, until)` were last declined with each code.
    async fn decline_counts(
        &self,
        merchant: &str,
        since: i64,
        until: i64,
    ) -> Result<Vec<(String, i64)>, StoreError>;
    /// Appends a staff action to the audit log (never updated or deleted).
    async fn audit_append(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The audit log of one session, oldest first.
    async fn audit_of(&self, session: &str) -> Result<Vec<AuditEntry>, StoreError>;
    /// A session's pay attempts, oldest first.
    async fn attempts_of(&self, session: &str) -> Result<Vec<AttemptLine>, StoreError>;
    /// The mails queued for a session, oldest first.
    async fn mails_of(&self, session: &str) -> Result<Vec<MailLine>, StoreError>;
    /// The card-testing shield's attack-mode periods of `campaigns` overlapping `[since, until)`:
    /// `(campaign, started, ended)`, oldest first.
    async fn attack_periods(
        &self,
        campaigns: &[String],
        since: i64,
        until: i64,
    ) -> Result<Vec<(String, i64, Option<i64>)>, StoreError>;
    /// How many payers (addresses, networks, emails, cards) the shield blocks at `now`.
    async fn blocked_now(&self, merchant: &str, now: i64) -> Result<i64, StoreError>;
    /// Dunning of `merchant`'s renewals that first failed in `[since, until)`: (failed,
    /// recovered since).
    async fn dunning(
        &self,
        merchant: &str,
        since: i64,
        until: i64,
    ) -> Result<(i64, i64), StoreError>;
    /// `merchant`'s recurring gifts and subscriptions per currency over `[since, until)`: who was
    /// active at `since`, who of them ended in the range, and what is not ended now.
    async fn recurring_figures(
        &self,
        merchant: &str,
        since: i64,
        until: i64,
    ) -> Result<Vec<RecurringFigures>, StoreError>;
    /// Renewals of `merchant` recovered (paid after their first charge failed) in
    /// `[since, until)`, per currency: (currency, how many, their amount).
    async fn recovered(
        &self,
        merchant: &str,
        since: i64,
        until: i64,
    ) -> Result<Vec<(String, i64, i64)>, StoreError>;
    /// Donors (by email, any case) of `merchant`'s paid donations in `[since, until)`: (new —
    /// their first gift is in it; retained — they gave in `[prev, since)` too; reactivated —
    /// they gave before `prev` but not in it).
    async fn donors(
        &self,
        merchant: &str,
        prev: i64,
        since: i64,
        until: i64,
    ) -> Result<(i64, i64, i64), StoreError>;
    /// The outgoing webhook messages about `session` with how their deliveries stand:
    /// (created, type, delivered, pending, failed), oldest first.
    async fn hooks_of(
        &self,
        session: &str,
    ) -> Result<Vec<(i64, String, i64, i64, i64)>, StoreError>;
    /// Counts a gateway webhook in its hour: received (`late` seconds after the event was
    /// made) or refused.
    async fn note_webhook(&self, at: i64, received: bool, late: i64) -> Result<(), StoreError>;
    /// The webhook counts of the hours from `since_hour` (unix hour numbers), oldest first.
    async fn webhook_hours(&self, since_hour: i64) -> Result<Vec<WebhookHour>, StoreError>;
    /// How many of `merchant`'s sessions created in `[since, until)` are paid at the gateway but
    /// not fulfilled (their webhook has not come).
    async fn paid_unfulfilled(
        &self,
        merchant: &str,
        since: i64,
        until: i64,
    ) -> Result<i64, StoreError>;
    /// A merchant's recurring gifts and subscriptions (sessions with a gateway subscription),
    /// newest first (at most `limit`).
    async fn recurring(&self, merchant: &str, limit: u32) -> Result<Vec<SessionRow>, StoreError>;
    /// A merchant's disputes, the open ones first, then newest first (at most `limit`).
    async fn disputes(&self, merchant: &str, limit: u32) -> Result<Vec<DisputeRow>, StoreError>;
    /// One dispute of `merchant`.
    async fn dispute(&self, merchant: &str, id: &str) -> Result<Option<DisputeRow>, StoreError>;
    /// How many disputes of `merchant` opened in `[since, until)`.
    async fn disputes_opened(
        &self,
        merchant: &str,
        since: i64,
        until: i64,
    ) -> Result<i64, StoreError>;
    /// The newest `limit` mails of the outbox with their bodies (a development host's mailbox).
    async fn recent_mail(&self, limit: u32) -> Result<Vec<(MailLine, String)>, StoreError>;
}

/// One hour of gateway webhooks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookHour {
    /// Unix time / 3600.
    pub hour: i64,
    /// Verified and taken.
    pub received: i64,
    /// Refused (bad signature, unreadable).
    pub rejected: i64,
    /// Seconds late, added up over the received ones.
    pub delay_total: i64,
    /// The latest arrival's lateness at most.
    pub delay_max: i64,
    /// When the last one arrived.
    pub last_at: i64,
}

/// A dispute as the dashboard keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisputeRow {
    /// `dp_…`.
    pub id: String,
    /// Whose.
    pub merchant: String,
    /// The disputed payment.
    pub session_id: String,
    /// How much (minor units).
    pub amount: i64,
    /// Lower-case ISO code.
    pub currency: String,
    /// The bank's reason.
    pub reason: String,
    /// `open`, `won` or `lost`.
    pub status: String,
    /// When evidence is due.
    pub due_by: Option<i64>,
    /// When the host learnt of it.
    pub created: i64,
}

/// An outgoing webhook event to write ([`StoreTx::queue_hook`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewHook {
    /// `msg_…`: the `webhook-id` every delivery and replay of it carries.
    pub id: String,
    /// Whose event it is.
    pub merchant: String,
    /// Its type (`payment.succeeded`).
    pub kind: String,
    /// The session it is about, if any.
    pub session: Option<String>,
    /// The JSON body, exactly as signed and sent.
    pub payload: String,
    /// When it happened.
    pub created: i64,
}

/// A merchant's webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookEndpoint {
    /// `ep_…`.
    pub id: String,
    /// Whose.
    pub merchant: String,
    /// Where deliveries go.
    pub url: String,
    /// Its event filter as stored (`*` or ` a b `).
    pub events: String,
    /// The current secret's salt.
    pub salt: String,
    /// The rotated-out secret's salt, signed with too until `old_until`.
    pub old_salt: Option<String>,
    /// See `old_salt`.
    pub old_until: Option<i64>,
    /// When it was added.
    pub created: i64,
    /// Since when every delivery has failed (none: the last one went through).
    pub failing_since: Option<i64>,
    /// When it was switched off, if it is.
    pub disabled: Option<i64>,
    /// Why.
    pub disabled_reason: Option<String>,
}

/// A delivery claimed by the relay, with what it needs to send it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookDue {
    /// The message (`webhook-id`).
    pub message: String,
    /// The endpoint.
    pub endpoint: String,
    /// The endpoint's merchant.
    pub merchant: String,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's secret salt.
    pub salt: String,
    /// The rotated-out salt, still signing until `old_until`.
    pub old_salt: Option<String>,
    /// See `old_salt`.
    pub old_until: Option<i64>,
    /// The JSON body.
    pub payload: String,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// One try of a delivery, as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookAttempt {
    /// The message.
    pub message: String,
    /// The endpoint.
    pub endpoint: String,
    /// When.
    pub at: i64,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<i64>,
    /// How long it took.
    pub latency_ms: i64,
    /// Why there was no answer (refused address, timeout…).
    pub error: Option<String>,
    /// The start of the answer's body.
    pub response: Option<String>,
}

/// What became of a try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookOutcome {
    /// A 2xx answer: done.
    Delivered,
    /// Try again at `at`.
    Retry {
        /// When.
        at: i64,
    },
    /// The schedule is spent: given up (a replay can send it again).
    Failed,
}

/// A line of an endpoint's delivery log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookLogLine {
    /// The try.
    pub attempt: HookAttempt,
    /// The message's type.
    pub kind: String,
    /// The delivery's state now (`pending`, `delivered`, `failed`).
    pub state: String,
}

/// Outgoing webhooks: endpoints, the relay's claims and the delivery log.
#[async_trait]
pub trait HookStore: Send + Sync {
    /// Adds an endpoint.
    async fn insert_hook_endpoint(&self, e: &HookEndpoint) -> Result<(), StoreError>;
    /// A merchant's endpoints, oldest first.
    async fn hook_endpoints(&self, merchant: &str) -> Result<Vec<HookEndpoint>, StoreError>;
    /// One endpoint of `merchant` (another merchant's is not found).
    async fn hook_endpoint(
        &self,
        merchant: &str,
        id: &str,
    ) -> Result<Option<HookEndpoint>, StoreError>;
    /// A new secret for `merchant`'s endpoint `id`: the current one signs too until `old_until`.
    async fn rotate_hook_secret(
        &self,
        merchant: &str,
        id: &str,
        salt: &str,
        old_until: i64,
    ) -> Result<bool, StoreError>;
    /// Switches `merchant`'s endpoint on (its failures forgotten) or off (`reason`).
    async fn set_hook_endpoint_enabled(
        &self,
        merchant: &str,
        id: &str,
        enabled: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Claims up to `limit` deliveries due at `now` to enabled endpoints, leased until
    /// `lease_until` (a relay that dies leaves them to the next after it), counting the try.
    async fn claim_hooks(
        &self,
        limit: u32,
        now: i64,
        lease_until: i64,
    ) -> Result<Vec<HookDue>, StoreError>;
    /// Logs a try and moves its delivery on; returns since when the endpoint has been failing
    /// (none after a success).
    async fn finish_hook(
        &self,
        attempt: &HookAttempt,
        outcome: HookOutcome,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// An endpoint's newest `limit` tries, newest first.
    async fn hook_log(&self, endpoint: &str, limit: u32) -> Result<Vec<HookLogLine>, StoreError>;
    /// Sends message `message` to `merchant`'s endpoint `endpoint` again (from the first try);
    /// false when either is not that merchant's.
    async fn replay_hook(
        &self,
        merchant: &str,
        endpoint: &str,
        message: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Sends every event since `since` that the endpoint wants again: how many.
    async fn replay_hooks_since(
        &self,
        merchant: &str,
        endpoint: &str,
        since: i64,
        now: i64,
    ) -> Result<u64, StoreError>;
}

/// What the dashboard's payments list asks for. Every filter is optional but the merchant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentQuery {
    /// Only this merchant's (staff see nothing else).
    pub merchant: String,
    /// Only sessions in this status.
    pub status: Option<SessionStatus>,
    /// Only this campaign's.
    pub campaign: Option<String>,
    /// Only this kind's (donations or licences).
    pub kind: Option<CampaignKind>,
    /// Only this currency's (upper case).
    pub currency: Option<String>,
    /// At least this much (minor units, amount + fee).
    pub min_total: Option<i64>,
    /// At most this much.
    pub max_total: Option<i64>,
    /// Created at or after.
    pub since: Option<i64>,
    /// Created before.
    pub until: Option<i64>,
    /// What to search for.
    pub search: Option<Search>,
    /// The cursor: only rows before this `(created, id)`.
    pub before: Option<(i64, String)>,
    /// The page size.
    pub limit: u32,
}

/// A search of the payments, by what its text is (so each is one index lookup, not a scan of
/// every column): parsed once from what staff typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search {
    /// An email address (lower case).
    Email(String),
    /// A checkout session id (`cs_…`).
    Session(String),
    /// A gateway payment (`pi_…`).
    PaymentIntent(String),
    /// A gateway subscription (`sub_…`).
    Subscription(String),
    /// A licence's order reference (`ord_…`).
    OrderRef(String),
    /// A licence key (its whitespace removed).
    LicenceKey(String),
    /// A receipt number (`PREFIX-000042`).
    Receipt(String),
    /// Part of a name (lower case).
    Name(String),
}

impl Search {
    /// What `text` is.
    pub fn parse(text: &str) -> Option<Search> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        let compact: String = t.split_whitespace().collect();
        let receipt = |s: &str| {
            s.rsplit_once('-').is_some_and(|(prefix, digits)| {
                !prefix.is_empty()
                    && digits.len() >= 4
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && prefix
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
        };
        Some(if t.contains('@') {
            Search::Email(t.to_lowercase())
        } else if t.starts_with("cs_") {
            Search::Session(t.to_owned())
        } else if t.starts_with("pi_") {
            Search::PaymentIntent(t.to_owned())
        } else if t.starts_with("sub_") {
            Search::Subscription(t.to_owned())
        } else if t.starts_with("ord_") {
            Search::OrderRef(t.to_owned())
        } else if compact.starts_with("PW") && compact.len() > 24 && compact.contains('-') {
            Search::LicenceKey(compact)
        } else if receipt(t) {
            Search::Receipt(t.to_owned())
        } else {
            Search::Name(t.to_lowercase())
        })
    }
}

/// A day's paid sessions in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayTotal {
    /// From the store, the first second of its bucket; folded into local days, the merchant's
    /// day number (days since 1970-01-01 in its zone).
    pub day: i64,
    /// ISO code, upper case.
    pub currency: String,
    /// How many.
    pub payments: i64,
    /// Amount + fee, minor units.
    pub gross: i64,
    /// Refunded of it.
    pub refunded: i64,
}

/// A named view of the payments list a staff member saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedFilter {
    /// `sf_…`.
    pub id: String,
    /// The merchant it filters.
    pub merchant: String,
    /// Whose it is.
    pub email: String,
    /// Its name, as typed.
    pub name: String,
    /// The list's URL query (canonical, without a cursor).
    pub query: String,
    /// When it was saved.
    pub created: i64,
}

/// Recurring gifts and subscriptions of one currency over a range, as Stripe's Billing counts
/// them: monthly recurring revenue normalises a yearly amount to a twelfth; a subscription is
/// active from its checkout until it is canceled (past due and paused ones still count).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecurringFigures {
    /// ISO code, upper case.
    pub currency: String,
    /// Active at the range's start.
    pub active_at_start: i64,
    /// Their monthly recurring revenue then (minor units).
    pub mrr_at_start: i64,
    /// Of those, how many ended in the range (churned).
    pub churned: i64,
    /// The monthly recurring revenue they took with them.
    pub churned_mrr: i64,
    /// Not ended at the range's end.
    pub active_now: i64,
    /// Their monthly recurring revenue.
    pub mrr_now: i64,
}

/// The checkout funnel, counted by session on the server (no cookies, no personal data).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Funnel {
    /// Sessions started (the form was filled and an amount chosen).
    pub sessions: i64,
    /// … with at least one pay attempt.
    pub attempted: i64,
    /// … paid.
    pub paid: i64,
    /// … fulfilled (receipt or licence issued).
    pub fulfilled: i64,
}

/// One staff action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Whose data.
    pub merchant: String,
    /// The session it concerns, if one.
    pub session_id: Option<String>,
    /// The staff member's address.
    pub actor: String,
    /// What (`refund`, `resend`, `sign_in`, …).
    pub action: String,
    /// The particulars (amount, reason).
    pub detail: String,
    /// When.
    pub at: i64,
}

/// A pay attempt as the timeline shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptLine {
    /// The page's idempotency key.
    pub key: String,
    /// Its outcome (JSON of the page's answer), once decided.
    pub outcome: Option<String>,
    /// When it was claimed.
    pub created: i64,
}

/// A mail as the timeline shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailLine {
    /// To whom.
    pub to: String,
    /// Its subject.
    pub subject: String,
    /// When it was queued.
    pub created: i64,
    /// 1 sent, 0 waiting, -1 given up.
    pub sent: i64,
}

/// The operations that happen inside one transaction (webhook apply + fulfilment).
#[async_trait]
pub trait StoreTx: Send {
    /// Records a webhook event id; false if it was seen before (a duplicate).
    async fn record_event(&mut self, id: &str, kind: &str, now: i64) -> Result<bool, StoreError>;
    /// The session whose recurring gift is gateway subscription `subscription`.
    async fn session_id_by_subscription(
        &mut self,
        subscription: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Records a paid invoice once; false if it was recorded before.
    async fn insert_invoice(&mut self, invoice: &InvoiceRow) -> Result<bool, StoreError>;
    /// Moves a licence's paid-until forward to `until` (never back: events come in any order).
    async fn extend_paid_until(&mut self, session: &str, until: i64) -> Result<(), StoreError>;
    /// Sets a recorded invoice's receipt number.
    async fn set_invoice_receipt(&mut self, invoice: &str, number: &str) -> Result<(), StoreError>;
    /// Sets the subscription's last known status (only if it is still that subscription).
    async fn set_subscription_status(
        &mut self,
        session: &str,
        status: SubscriptionStatus,
        now: i64,
    ) -> Result<(), StoreError>;
    /// The session paid by a payment intent.
    async fn session_id_by_payment_intent(
        &mut self,
        payment_intent: &str,
    ) -> Result<Option<String>, StoreError>;
    /// A session by id.
    async fn session(&mut self, id: &str) -> Result<Option<SessionRow>, StoreError>;
    /// See [`Store::advance`].
    async fn advance(
        &mut self,
        id: &str,
        status: SessionStatus,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// See [`Store::set_payment_intent`].
    async fn set_payment_intent(
        &mut self,
        id: &str,
        payment_intent: &str,
    ) -> Result<(), StoreError>;
    /// See [`Store::set_decline`].
    async fn set_decline(
        &mut self,
        id: &str,
        code: &DeclineCode,
        message: &str,
    ) -> Result<(), StoreError>;
    /// Raises the refunded amount (never lowers it: events come in any order).
    async fn record_refund(&mut self, id: &str, amount_refunded: i64) -> Result<(), StoreError>;
    /// Inserts the session's fulfilment; false if it exists (fulfilled at most once).
    async fn insert_fulfilment(
        &mut self,
        session: &str,
        kind: CampaignKind,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Stores the licence key.
    async fn set_licence_key(&mut self, session: &str, key: &str) -> Result<(), StoreError>;
    /// The merchant's next receipt number (gapless: it rolls back with the transaction).
    async fn next_receipt_number(&mut self, merchant: &str) -> Result<i64, StoreError>;
    /// Stores the receipt number.
    async fn set_receipt_number(&mut self, session: &str, number: &str) -> Result<(), StoreError>;
    /// Whether the campaign's attack mode is running (read in the transaction, not beside it:
    /// a transaction holding SQLite's write lock must never wait for a second connection).
    async fn attack_running(&mut self, campaign: &str) -> Result<bool, StoreError>;
    /// Records a licence's order reference.
    async fn set_order_ref(&mut self, session: &str, order_ref: &str) -> Result<(), StoreError>;
    /// The session a recorded invoice belongs to.
    async fn invoice_session(&mut self, invoice: &str) -> Result<Option<String>, StoreError>;
    /// Marks an invoice's charge taken back (`Some("refunded" | "disputed")`), or, `None`, gives
    /// back a dispute's (a won dispute; a refund stays).
    async fn reverse_invoice(
        &mut self,
        invoice: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Marks the session's first invoice (the checkout's own payment) refunded: its period is
    /// no longer paid for.
    async fn reverse_first_invoice(&mut self, session: &str) -> Result<(), StoreError>;
    /// Sets a licence's paid-until to the end of the last period still paid for (invoices not
    /// taken back) and returns it; `None` when no paid period is left.
    async fn settle_paid_until(&mut self, session: &str) -> Result<Option<i64>, StoreError>;
    /// Gives back a fulfilment revoked for `reason` (a dispute won).
    async fn reinstate(&mut self, session: &str, reason: &str) -> Result<(), StoreError>;
    /// Revokes the fulfilment (refund, dispute).
    async fn revoke(&mut self, session: &str, reason: &str) -> Result<(), StoreError>;
    /// Queues a message in the outbox.
    async fn queue_mail(&mut self, mail: &NewMail) -> Result<(), StoreError>;
    /// Writes an outgoing webhook event and one delivery to each enabled endpoint of its
    /// merchant that wants its type (only to endpoint `only`, when given): how many.
    async fn queue_hook(&mut self, hook: &NewHook, only: Option<&str>) -> Result<u64, StoreError>;
    /// Records a dispute or its new status (the deadline and the rest kept from the first).
    async fn upsert_dispute(&mut self, d: &DisputeRow) -> Result<(), StoreError>;
    /// Claims the open disputes due by `before` whose owners were not yet reminded (each once,
    /// whichever host claims it; the reminder mails go in the same transaction).
    async fn claim_dispute_reminders(&mut self, before: i64)
        -> Result<Vec<DisputeRow>, StoreError>;
    /// Notes that renewal `invoice` of `session` could not be charged (once per invoice,
    /// however many retries fail).
    async fn note_renewal_failed(
        &mut self,
        invoice: &str,
        session: &SessionRow,
        amount: i64,
        at: i64,
    ) -> Result<(), StoreError>;
    /// Notes that `invoice` was paid: a renewal that had failed is recovered.
    async fn note_invoice_paid(&mut self, invoice: &str, at: i64) -> Result<(), StoreError>;
    /// Switches an endpoint off (failing for days); false when it already was.
    async fn disable_hook_endpoint(
        &mut self,
        id: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Makes it all permanent.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Which database a `server.db` value names. Its `Debug` hides a URL's password.
#[derive(Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// `sqlite:<path>`, `sqlite::memory:`, a plain path, or `:memory:`.
    Sqlite(String),
    /// `postgres://…` or `postgresql://…`.
    Postgres(String),
}

impl DbUrl {
    /// Reads a `server.db` value.
    pub fn parse(s: &str) -> Result<DbUrl, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty database location".into());
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            url::Url::parse(s).map_err(|e| format!("PostgreSQL URL: {e}"))?;
            return Ok(DbUrl::Postgres(s.to_owned()));
        }
        if let Some(rest) = s.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            return Ok(DbUrl::Sqlite(if path == ":memory:" {
                ":memory:".into()
            } else {
                path.to_owned()
            }));
        }
        if s.contains("://") {
            return Err(format!(
                "{:?}: only sqlite: paths and postgres:// URLs are supported",
                s.split("://").next().unwrap_or_default()
            ));
        }
        Ok(DbUrl::Sqlite(s.to_owned()))
    }

    /// Whether several host processes may share it.
    pub fn is_shared(&self) -> bool {
        matches!(self, DbUrl::Postgres(_))
    }
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbUrl::Sqlite(path) => write!(f, "sqlite:{path}"),
            DbUrl::Postgres(url) => write!(f, "{}", redacted(url)),
        }
    }
}

/// `url` with its password, if any, shown as `[redacted]` (for logs and errors).
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            // Brackets would be percent-encoded in the userinfo: put the marker in afterwards.
            let _ = u.set_password(Some("REDACTED"));
            u.to_string().replacen(":REDACTED@", ":[redacted]@", 1)
        }
        Ok(u) => u.to_string(),
        Err(_) => "[unreadable URL]".into(),
    }
}

impl<'de> serde::Deserialize<'de> for DbUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DbUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
impl SessionRow {
    /// A one-time donation session, open (unit tests build on it).
    pub(crate) fn example() -> SessionRow {
        SessionRow {
            id: "cs_example".into(),
            merchant: "hope".into(),
            campaign: "winter".into(),
            kind: CampaignKind::Donation,
            amount: 2500,
            fee: 103,
            currency: Currency::from_code("USD").unwrap(),
            email: Some("d@example.org".into()),
            name: None,
            status: SessionStatus::Open,
            payment_intent: None,
            redirect_url: None,
            decline_code: None,
            decline_message: None,
            amount_refunded: 0,
            frequency: Frequency::OneTime,
            subscription: None,
            subscription_status: None,
            cancel_at_period_end: false,
            paused: false,
            tier: None,
            next_amount: None,
            created: 0,
        }
    }
}

/// Holes and repeats in each merchant's receipt numbers (`PREFIX-000042`: the digits after the
/// last `-`), against its counter's last value: 0 when they are exactly 1…last, once each.
pub(crate) fn receipt_gaps(numbers: &[(String, String)], counters: &[(String, i64)]) -> u64 {
    let mut seen: std::collections::BTreeMap<&str, std::collections::BTreeSet<i64>> =
        std::collections::BTreeMap::new();
    let mut repeats = 0u64;
    for (merchant, number) in numbers {
        let n = number
            .rsplit('-')
            .next()
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(0);
        if !seen.entry(merchant).or_default().insert(n) {
            repeats += 1;
        }
    }
    let mut holes = 0u64;
    for (merchant, last) in counters {
        let have = seen.get(merchant.as_str());
        let present = have.map_or(0, |s| s.range(1..=*last).count());
        holes += u64::try_from(*last).unwrap_or(0) - u64::try_from(present).unwrap_or(0);
    }
    repeats + holes
}

/// Opens the store `url` names (see [`DbUrl::parse`]) and brings its schema up to date.
pub async fn open(url: &DbUrl) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match url {
        DbUrl::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
        DbUrl::Postgres(url) => Arc::new(PostgresStore::open(url).await?),
    })
}

/// The rank of the stored `status`, as SQL: `CASE status WHEN 'open' THEN 0 … ELSE <Unknown>
/// END`, generated from [`SessionStatus::ALL`] so it cannot drift from `rank()`.
pub(crate) fn rank_sql() -> String {
    let mut case = String::from("CASE status");
    for s in SessionStatus::ALL {
        case.push_str(&format!(" WHEN '{}' THEN {}", s.as_str(), s.rank()));
    }
    case.push_str(&format!(" ELSE {} END", SessionStatus::Unknown.rank()));
    case
}

/// The forward-only update: the rank check is in the `UPDATE`, so concurrent writers cannot
/// move a session backwards.
pub(crate) fn advance_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "UPDATE sessions SET status = $1, updated = $2 WHERE id = $3 AND ({}) <= $4",
            rank_sql()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> SessionRow {
        SessionRow {
            id: id.into(),
            ..SessionRow::example()
        }
    }

    #[test]
    fn a_search_is_what_its_text_is() {
        assert_eq!(Search::parse("  "), None);
        assert_eq!(
            Search::parse(" Ada@Example.org "),
            Some(Search::Email("ada@example.org".into()))
        );
        assert_eq!(
            Search::parse("cs_123"),
            Some(Search::Session("cs_123".into()))
        );
        assert_eq!(
            Search::parse("pi_9"),
            Some(Search::PaymentIntent("pi_9".into()))
        );
        assert_eq!(
            Search::parse("ord_a1"),
            Some(Search::OrderRef("ord_a1".into()))
        );
        assert_eq!(
            Search::parse("PW1-AEAAK-BBBBB-\nCCCCC-DDDDD-EEEEE"),
            Some(Search::LicenceKey(
                "PW1-AEAAK-BBBBB-CCCCC-DDDDD-EEEEE".into()
            ))
        );
        assert_eq!(
            Search::parse("HOPE-000042"),
            Some(Search::Receipt("HOPE-000042".into()))
        );
        assert_eq!(
            Search::parse("Jean-Luc"),
            Some(Search::Name("jean-luc".into()))
        );
    }

    #[test]
    fn a_db_location_names_its_backend_and_hides_its_password() {
        assert_eq!(
            DbUrl::parse("state/host.sqlite"),
            Ok(DbUrl::Sqlite("state/host.sqlite".into()))
        );
        assert_eq!(
            DbUrl::parse("sqlite://state/host.sqlite"),
            Ok(DbUrl::Sqlite("state/host.sqlite".into()))
        );
        assert_eq!(
            DbUrl::parse("sqlite::memory:"),
            Ok(DbUrl::Sqlite(":memory:".into()))
        );
        let pg = DbUrl::parse("postgres://pw:hunter2@db.internal:5432/paywidget").unwrap();
        assert!(pg.is_shared());
        assert_eq!(
            format!("{pg:?}"),
            "postgres://pw:[redacted]@db.internal:5432/paywidget"
        );
        assert!(DbUrl::parse("mysql://x/y")
            .unwrap_err()
            .contains("only sqlite"));
        assert!(DbUrl::parse("  ").is_err());
    }

    #[test]
    fn receipt_gaps_count_holes_and_repeats_per_merchant() {
        let n = |m: &str, s: &str| (m.to_owned(), s.to_owned());
        let c = |m: &str, l: i64| (m.to_owned(), l);
        let whole = [
            n("hope", "HOPE-000001"),
            n("hope", "HOPE-000002"),
            n("acme", "ACME-000001"),
        ];
        assert_eq!(receipt_gaps(&whole, &[c("hope", 2), c("acme", 1)]), 0);
        assert_eq!(
            receipt_gaps(&whole[..1], &[c("hope", 2)]),
            1,
            "HOPE-000002 missing"
        );
        let twice = [n("hope", "HOPE-000001"), n("hope", "HOPE-000001")];
        assert_eq!(receipt_gaps(&twice, &[c("hope", 1)]), 1, "one number twice");
    }

    #[test]
    fn the_rank_guard_is_generated_from_the_statuses() {
        let sql = rank_sql();
        for s in SessionStatus::ALL {
            assert!(
                sql.contains(&format!("WHEN '{}' THEN {}", s.as_str(), s.rank())),
                "{sql}"
            );
        }
        assert!(sql.ends_with(&format!("ELSE {} END", SessionStatus::Unknown.rank())));
    }

    #[tokio::test]
    async fn sessions_round_trip_and_only_move_forward() {
        let store = SqliteStore::open(":memory:").await.unwrap();
        store.insert_session(&session("cs_1"), 10).await.unwrap();
        assert_eq!(
            store.session("cs_1").await.unwrap(),
            Some(SessionRow {
                created: 10,
                ..session("cs_1")
            })
        );
        assert_eq!(store.session("cs_2").await.unwrap(), None);
        assert!(store
            .advance("cs_1", SessionStatus::Declined, 11)
            .await
            .unwrap());
        assert!(
            store
                .advance("cs_1", SessionStatus::RequiresAction, 11)
                .await
                .unwrap(),
            "same rank"
        );
        assert!(
            store
                .advance("cs_1", SessionStatus::Processing, 11)
                .await
                .unwrap(),
            "an attempt may be undecided"
        );
        assert!(
            store
                .advance("cs_1", SessionStatus::Declined, 11)
                .await
                .unwrap(),
            "and a processing payment may still fail"
        );
        assert!(store
            .advance("cs_1", SessionStatus::Paid, 12)
            .await
            .unwrap());
        assert!(
            !store
                .advance("cs_1", SessionStatus::Declined, 13)
                .await
                .unwrap(),
            "never back"
        );
        store
            .set_decline("cs_1", &DeclineCode::IncorrectCvc, "m")
            .await
            .unwrap();
        let s = store.session("cs_1").await.unwrap().unwrap();
        assert_eq!(s.status, SessionStatus::Paid);
        assert_eq!(s.decline_code, Some(DeclineCode::IncorrectCvc));
        // A status written by a newer build is never moved by this one.
        sqlx::query("UPDATE sessions SET status = 'teleported' WHERE id = 'cs_1'")
            .execute(store.pool())
            .await
            .unwrap();
        assert_eq!(
            store.session("cs_1").await.unwrap().unwrap().status,
            SessionStatus::Unknown
        );
        assert!(!store
            .advance("cs_1", SessionStatus::Disputed, 14)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_transaction_is_all_or_nothing_and_fulfils_once() {
        let store = SqliteStore::open(":memory:").await.unwrap();
        store.insert_session(&session("cs_1"), 10).await.unwrap();
        // Rolled back: dropped without commit.
        {
            let mut tx = store.begin().await.unwrap();
            assert!(tx
                .record_event("evt_1", "payment_intent.succeeded", 11)
                .await
                .unwrap());
            assert!(tx
                .insert_fulfilment("cs_1", CampaignKind::Donation, 11)
                .await
                .unwrap());
            assert_eq!(tx.next_receipt_number("hope").await.unwrap(), 1);
        }
        assert_eq!(store.fulfilment("cs_1").await.unwrap(), None);
        let mut tx = store.begin().await.unwrap();
        assert!(tx
            .record_event("evt_1", "payment_intent.succeeded", 11)
            .await
            .unwrap());
        assert!(tx
            .insert_fulfilment("cs_1", CampaignKind::Donation, 11)
            .await
            .unwrap());
        assert!(!tx
            .insert_fulfilment("cs_1", CampaignKind::Donation, 12)
            .await
            .unwrap());
        assert_eq!(
            tx.next_receipt_number("hope").await.unwrap(),
            1,
            "gapless after a rollback"
        );
        tx.set_receipt_number("cs_1", "HOPE-000001").await.unwrap();
        tx.queue_mail(&NewMail {
            session_id: "cs_1".into(),
            to: "d@example.org".into(),
            subject: "s".into(),
            body: "b".into(),
            created: 11,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.record_event("evt_1", "payment_intent.succeeded", 12)
                .await
                .unwrap(),
            "dedupe"
        );
        drop(tx);
        let f = store.fulfilment("cs_1").await.unwrap().unwrap();
        assert_eq!(
            (f.receipt_number.as_deref(), f.revoked, f.created),
            (Some("HOPE-000001"), false, 11)
        );
        let mail = store.claim_mail(10, 20, 80).await.unwrap();
        assert_eq!(mail.len(), 1);
        assert!(
            store.claim_mail(10, 21, 81).await.unwrap().is_empty(),
            "claimed by the first relay until its lease ends"
        );
        store
            .mark_mail(mail[0].id, MailState::Retry { next_try: 0 })
            .await
            .unwrap();
        let again = store.claim_mail(10, 22, 82).await.unwrap();
        assert_eq!(
            again[0].id, mail[0].id,
            "a retry due now is claimable at once"
        );
        assert_eq!(again[0].attempts, 2, "each claim is a try");
        assert_eq!(
            store.claim_mail(10, 82, 142).await.unwrap()[0].id,
            mail[0].id,
            "lease over"
        );
        store.mark_mail(mail[0].id, MailState::Sent).await.unwrap();
        assert!(store.claim_mail(10, 200, 260).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_stale_claim_counts_as_stuck_only_while_its_session_is_unpaid() {
        let store = SqliteStore::open(":memory:").await.unwrap();
        store.insert_session(&session("cs_9"), 0).await.unwrap();
        assert!(store.claim_attempt("cs_9", "k", 0, -45).await.unwrap());
        assert_eq!(
            store.audit(30, -15).await.unwrap().stuck_keys,
            0,
            "within its lease"
        );
        assert_eq!(store.audit(100, 55).await.unwrap().stuck_keys, 1);
        store
            .advance("cs_9", SessionStatus::Paid, 101)
            .await
            .unwrap();
        assert_eq!(
            store.audit(100, 55).await.unwrap().stuck_keys,
            0,
            "a paid session answers every key"
        );
    }

    #[tokio::test]
    async fn attempts_are_claimed_once_and_keep_their_outcome() {
        let store = SqliteStore::open(":memory:").await.unwrap();
        assert_eq!(store.attempt("cs_1", "k").await.unwrap(), Attempt::Free);
        assert!(store.claim_attempt("cs_1", "k", 100, 70).await.unwrap());
        assert!(!store.claim_attempt("cs_1", "k", 100, 70).await.unwrap());
        assert_eq!(store.attempt("cs_1", "k").await.unwrap(), Attempt::Running);
        // Its holder died: once the lease is over, the claim is taken over, once.
        assert!(!store.claim_attempt("cs_1", "k", 120, 90).await.unwrap());
        assert!(store.claim_attempt("cs_1", "k", 131, 101).await.unwrap());
        assert!(!store.claim_attempt("cs_1", "k", 132, 102).await.unwrap());
        store.release_attempt("cs_1", "k").await.unwrap();
        assert!(store.claim_attempt("cs_1", "k", 200, 170).await.unwrap());
        let outcome = PayOutcome::Declined {
            code: DeclineCode::InsufficientFunds,
            message: "no".into(),
        };
        store.finish_attempt("cs_1", "k", &outcome).await.unwrap();
        store.release_attempt("cs_1", "k").await.unwrap();
        assert_eq!(
            store.attempt("cs_1", "k").await.unwrap(),
            Attempt::Finished(outcome)
        );
        assert_eq!(store.setting_or_insert("a", "1").await.unwrap(), "1");
        assert_eq!(store.setting_or_insert("a", "2").await.unwrap(), "1");
    }
}
