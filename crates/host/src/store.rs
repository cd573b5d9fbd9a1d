//! All of the host's SQL, behind the [`Store`] trait: typed rows in, typed rows out. The domain
//! never sees a query. [`SqliteStore`] is the one implementation (sqlx, embedded migrations); a
//! PostgreSQL one implements the same two traits.
//!
//! Atomicity: what must happen together (a webhook's dedupe row, the session's new state, the
//! fulfilment and its mail) happens through one [`StoreTx`], begun with [`Store::begin`] and
//! committed once; dropping it uncommitted rolls everything back.

use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use paywidget_core::api::{CampaignKind, DeclineCode, Frequency, PayOutcome, SessionStatus};
use paywidget_core::money::Currency;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, Sqlite, SqliteExecutor, SqlitePool, Transaction};

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
    /// Its status as the last subscription event said (`active`, `past_due`, `canceled`, …).
    pub subscription_status: Option<String>,
    /// The subscription ends at the end of its period (the donor cancelled).
    pub cancel_at_period_end: bool,
    /// Collecting it is paused (the donor paused).
    pub paused: bool,
    /// A licence subscription's tier.
    pub tier: Option<String>,
    /// A recurring gift's amount from the next period on, when the donor changed it.
    pub next_amount: Option<i64>,
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

/// The host's persistence outside a transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Starts a transaction.
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;

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

    /// The session's fulfilment.
    async fn fulfilment(&self, session: &str) -> Result<Option<FulfilmentRow>, StoreError>;

    /// A setting; if absent, stores `default` first. Returns the stored value (a concurrent
    /// first start may have won).
    async fn setting_or_insert(&self, key: &str, default: &str) -> Result<String, StoreError>;

    /// Records a portal sign-in request (hashes only).
    async fn insert_portal_login(&self, login: &PortalLogin) -> Result<(), StoreError>;
    /// How many sign-in requests `email` made since `since`.
    async fn portal_logins_since(&self, email: &str, since: i64) -> Result<u32, StoreError>;
    /// Uses a sign-in link once: the email it was for, if unused and not expired.
    async fn take_portal_login_by_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError>;
    /// Uses a sign-in code once (at most 5 wrong tries per request): whether it matched.
    async fn take_portal_login_by_code(
        &self,
        email: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
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

    /// Card-testing shield: records one pay attempt's outcome against each `(kind, key)`.
    async fn shield_record(
        &self,
        merchant: &str,
        keys: &[(&str, String)],
        declined: bool,
        at: i64,
    ) -> Result<(), StoreError>;
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

    /// Up to `limit` unsent messages, oldest first.
    async fn pending_mail(&self, limit: u32) -> Result<Vec<MailRow>, StoreError>;
    /// Marks a message sent or undeliverable.
    async fn mark_mail(&self, id: i64, state: MailState) -> Result<(), StoreError>;
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
        status: &str,
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
    /// Revokes the fulfilment (refund, dispute).
    async fn revoke(&mut self, session: &str, reason: &str) -> Result<(), StoreError>;
    /// Queues a message in the outbox.
    async fn queue_mail(&mut self, mail: &NewMail) -> Result<(), StoreError>;
    /// Makes it all permanent.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// The SQLite store.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`, or an in-memory one for
    /// `":memory:"`, and runs the embedded migrations.
    pub async fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let memory = path == ":memory:";
        let options = if memory {
            SqliteConnectOptions::from_str("sqlite::memory:")?
        } else {
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
        }
        .busy_timeout(Duration::from_secs(10));
        if !memory {
            // Migrate (and switch a new file to WAL) on one connection first: a second
            // connection opening while the journal mode changes gets "database is locked"
            // without waiting.
            let first = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            sqlx::migrate!("./migrations").run(&first).await?;
            first.close().await;
        }
        let pool = SqlitePoolOptions::new()
            // One connection for memory: each would otherwise be its own empty database.
            .max_connections(if memory { 1 } else { 4 })
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

/// The rank of the stored `status`, as SQL: `CASE status WHEN 'open' THEN 0 … ELSE <Unknown>
/// END`, generated from [`SessionStatus::ALL`] so it cannot drift from `rank()`.
fn rank_sql() -> String {
    let mut case = String::from("CASE status");
    for s in SessionStatus::ALL {
        case.push_str(&format!(" WHEN '{}' THEN {}", s.as_str(), s.rank()));
    }
    case.push_str(&format!(" ELSE {} END", SessionStatus::Unknown.rank()));
    case
}

/// The forward-only update: the rank check is in the `UPDATE`, so concurrent writers cannot
/// move a session backwards.
fn advance_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "UPDATE sessions SET status = ?1, updated = ?2 WHERE id = ?3 AND ({}) <= ?4",
            rank_sql()
        )
    })
}

fn session_row(r: &SqliteRow) -> Result<SessionRow, StoreError> {
    let kind: String = r.try_get("kind")?;
    let currency: String = r.try_get("currency")?;
    let status: String = r.try_get("status")?;
    Ok(SessionRow {
        id: r.try_get("id")?,
        merchant: r.try_get("merchant")?,
        campaign: r.try_get("campaign")?,
        kind: CampaignKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("session kind {kind:?}")))?,
        amount: r.try_get("amount")?,
        fee: r.try_get("fee")?,
        currency: Currency::from_code(&currency)
            .map_err(|_| StoreError::Corrupt(format!("session currency {currency:?}")))?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        status: SessionStatus::parse(&status),
        payment_intent: r.try_get("payment_intent")?,
        redirect_url: r.try_get("redirect_url")?,
        decline_code: r
            .try_get::<Option<String>, _>("decline_code")?
            .map(|c| DeclineCode::parse(&c)),
        decline_message: r.try_get("decline_message")?,
        amount_refunded: r.try_get("amount_refunded")?,
        frequency: {
            let f: String = r.try_get("frequency")?;
            Frequency::parse(&f).ok_or_else(|| StoreError::Corrupt(format!("frequency {f:?}")))?
        },
        subscription: r.try_get("subscription_id")?,
        subscription_status: r.try_get("subscription_status")?,
        cancel_at_period_end: r.try_get::<i64, _>("cancel_at_period_end")? != 0,
        paused: r.try_get::<i64, _>("paused")? != 0,
        tier: r.try_get("tier")?,
        next_amount: r.try_get("next_amount")?,
    })
}

fn invoice_row(r: &SqliteRow) -> Result<InvoiceRow, StoreError> {
    Ok(InvoiceRow {
        invoice_id: r.try_get("invoice_id")?,
        session_id: r.try_get("session_id")?,
        billing_reason: r.try_get("billing_reason")?,
        amount: r.try_get("amount")?,
        receipt_number: r.try_get("receipt_number")?,
        period_end: r.try_get("period_end")?,
        created: r.try_get("created")?,
    })
}

// The queries, once each, over any executor: the pool (outside a transaction) or a
// transaction's connection.

async fn select_session<'e>(
    e: impl SqliteExecutor<'e>,
    id: &str,
) -> Result<Option<SessionRow>, StoreError> {
    sqlx::query("SELECT * FROM sessions WHERE id = ?")
        .bind(id)
        .fetch_optional(e)
        .await?
        .as_ref()
        .map(session_row)
        .transpose()
}

async fn advance_on<'e>(
    e: impl SqliteExecutor<'e>,
    id: &str,
    status: SessionStatus,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(advance_sql())
        .bind(status.as_str())
        .bind(now)
        .bind(id)
        .bind(i64::from(status.rank()))
        .execute(e)
        .await?;
    Ok(done.rows_affected() == 1)
}

async fn set_payment_intent_on<'e>(
    e: impl SqliteExecutor<'e>,
    id: &str,
    payment_intent: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET payment_intent = ? WHERE id = ? AND payment_intent IS NULL")
        .bind(payment_intent)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

async fn set_decline_on<'e>(
    e: impl SqliteExecutor<'e>,
    id: &str,
    code: &DeclineCode,
    message: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET decline_code = ?, decline_message = ? WHERE id = ?")
        .bind(code.as_str())
        .bind(message)
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        Ok(Box::new(SqliteTx(self.pool.begin().await?)))
    }

    async fn insert_session(&self, s: &SessionRow, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, merchant, campaign, kind, amount, fee, currency, email, name, status, frequency, tier, created, updated) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id)
        .bind(&s.merchant)
        .bind(&s.campaign)
        .bind(s.kind.as_str())
        .bind(s.amount)
        .bind(s.fee)
        .bind(s.currency.code())
        .bind(&s.email)
        .bind(&s.name)
        .bind(s.status.as_str())
        .bind(s.frequency.as_str())
        .bind(&s.tier)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_subscription(&self, id: &str, subscription: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET subscription_id = ? WHERE id = ?")
            .bind(subscription)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn invoices(&self, session: &str) -> Result<Vec<InvoiceRow>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM invoices WHERE session_id = ? ORDER BY created, invoice_id")
                .bind(session)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(invoice_row).collect()
    }

    async fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        select_session(&self.pool, id).await
    }

    async fn advance(&self, id: &str, status: SessionStatus, now: i64) -> Result<bool, StoreError> {
        advance_on(&self.pool, id, status, now).await
    }

    async fn set_payment_intent(&self, id: &str, payment_intent: &str) -> Result<(), StoreError> {
        set_payment_intent_on(&self.pool, id, payment_intent).await
    }

    async fn set_decline(
        &self,
        id: &str,
        code: &DeclineCode,
        message: &str,
    ) -> Result<(), StoreError> {
        set_decline_on(&self.pool, id, code, message).await
    }

    async fn set_redirect_url(&self, id: &str, url: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET redirect_url = ? WHERE id = ?")
            .bind(url)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn claim_attempt(
        &self,
        session: &str,
        key: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError> {
        // `created` is the claim's time: a takeover renews it, so one holder at a time.
        let done = sqlx::query(
            "INSERT INTO pay_attempts (session_id, client_key, created) VALUES (?, ?, ?) \
             ON CONFLICT (session_id, client_key) DO UPDATE SET created = excluded.created \
             WHERE pay_attempts.outcome IS NULL AND pay_attempts.created < ?",
        )
        .bind(session)
        .bind(key)
        .bind(now)
        .bind(stale_before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn attempt(&self, session: &str, key: &str) -> Result<Attempt, StoreError> {
        let outcome: Option<Option<String>> = sqlx::query_scalar(
            "SELECT outcome FROM pay_attempts WHERE session_id = ? AND client_key = ?",
        )
        .bind(session)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match outcome {
            None => Attempt::Free,
            Some(None) => Attempt::Running,
            Some(Some(json)) => Attempt::Finished(
                serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("pay outcome: {e}")))?,
            ),
        })
    }

    async fn finish_attempt(
        &self,
        session: &str,
        key: &str,
        outcome: &PayOutcome,
    ) -> Result<(), StoreError> {
        // Kept as the answer's own JSON, so a replay answers byte for byte the same.
        let json = serde_json::to_string(outcome)
            .map_err(|e| StoreError::Corrupt(format!("pay outcome: {e}")))?;
        sqlx::query("UPDATE pay_attempts SET outcome = ? WHERE session_id = ? AND client_key = ?")
            .bind(json)
            .bind(session)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn release_attempt(&self, session: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM pay_attempts WHERE session_id = ? AND client_key = ? AND outcome IS NULL",
        )
        .bind(session)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn fulfilment(&self, session: &str) -> Result<Option<FulfilmentRow>, StoreError> {
        let Some(r) = sqlx::query("SELECT * FROM fulfilments WHERE session_id = ?")
            .bind(session)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let kind: String = r.try_get("kind")?;
        Ok(Some(FulfilmentRow {
            session_id: r.try_get("session_id")?,
            kind: CampaignKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("fulfilment kind {kind:?}")))?,
            license_key: r.try_get("license_key")?,
            receipt_number: r.try_get("receipt_number")?,
            revoked: r.try_get::<i64, _>("revoked")? != 0,
            revoked_reason: r.try_get("revoked_reason")?,
            created: r.try_get("created")?,
            paid_until: r.try_get("paid_until")?,
        }))
    }

    async fn insert_portal_login(&self, l: &PortalLogin) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO portal_logins (token_hash, email, code_hash, expires, created) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&l.token_hash)
        .bind(&l.email)
        .bind(&l.code_hash)
        .bind(l.expires)
        .bind(l.created)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn portal_logins_since(&self, email: &str, since: i64) -> Result<u32, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM portal_logins WHERE email = ? AND created >= ?",
        )
        .bind(email)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn take_portal_login_by_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        // One statement: two clicks (or a scanner and a person) cannot both use it.
        Ok(sqlx::query_scalar(
            "UPDATE portal_logins SET used = 1 WHERE token_hash = ? AND used = 0 AND expires > ? RETURNING email",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn take_portal_login_by_code(
        &self,
        email: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let used: Option<String> = sqlx::query_scalar(
            "UPDATE portal_logins SET used = 1 WHERE email = ? AND code_hash = ? AND used = 0 \
             AND expires > ? AND attempts < 5 RETURNING token_hash",
        )
        .bind(email)
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if used.is_none() {
            // A wrong code counts against every open request of that address.
            sqlx::query(
                "UPDATE portal_logins SET attempts = attempts + 1 WHERE email = ? AND used = 0 AND expires > ?",
            )
            .bind(email)
            .bind(now)
            .execute(&self.pool)
            .await?;
        }
        Ok(used.is_some())
    }

    async fn insert_portal_session(
        &self,
        id_hash: &str,
        email: &str,
        csrf: &str,
        expires: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO portal_sessions (id_hash, email, csrf, expires, created) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id_hash)
        .bind(email)
        .bind(csrf)
        .bind(expires)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn portal_session(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT email, csrf FROM portal_sessions WHERE id_hash = ? AND expires > ?",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("email")?, r.try_get("csrf")?)))
            .transpose()
    }

    async fn delete_portal_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM portal_sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn sessions_by_email(&self, email: &str) -> Result<Vec<SessionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT * FROM sessions WHERE email = ? AND status IN ({}) ORDER BY created DESC, id",
            ["paid", "fulfilled", "refunded", "disputed"]
                .map(|s| format!("'{s}'"))
                .join(", ")
        ))
        .bind(email)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_row).collect()
    }

    async fn shield_record(
        &self,
        merchant: &str,
        keys: &[(&str, String)],
        declined: bool,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (kind, key) in keys {
            sqlx::query(
                "INSERT INTO shield_events (merchant, kind, key, declined, at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(merchant)
            .bind(kind)
            .bind(key)
            .bind(i64::from(declined))
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn shield_counts(
        &self,
        merchant: &str,
        kind: &str,
        key: &str,
        since: i64,
    ) -> Result<(u32, u32), StoreError> {
        let (attempts, declines): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), SUM(declined) FROM shield_events \
             WHERE merchant = ? AND kind = ? AND key = ? AND at >= ?",
        )
        .bind(merchant)
        .bind(kind)
        .bind(key)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        let n = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        Ok((n(attempts), n(declines.unwrap_or(0))))
    }

    async fn shield_block(
        &self,
        merchant: &str,
        kind: &str,
        key: &str,
        until: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO shield_blocks (merchant, kind, key, until) VALUES (?, ?, ?, ?) \
             ON CONFLICT (merchant, kind, key) DO UPDATE SET until = MAX(until, excluded.until)",
        )
        .bind(merchant)
        .bind(kind)
        .bind(key)
        .bind(until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn shield_blocked_until(
        &self,
        merchant: &str,
        keys: &[(&str, String)],
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut latest: Option<i64> = None;
        for (kind, key) in keys {
            let until: Option<i64> = sqlx::query_scalar(
                "SELECT until FROM shield_blocks WHERE merchant = ? AND kind = ? AND key = ? AND until > ?",
            )
            .bind(merchant)
            .bind(kind)
            .bind(key)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
            latest = latest.max(until);
        }
        Ok(latest)
    }

    async fn shield_use_proof(&self, id: &str, expires: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO shield_proofs (id, expires) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(expires)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn shield_attack(&self, campaign: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT started FROM shield_attacks WHERE campaign = ? AND ended IS NULL \
             ORDER BY started DESC LIMIT 1",
        )
        .bind(campaign)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn shield_start_attack(&self, campaign: &str, at: i64) -> Result<bool, StoreError> {
        // One statement: two hosts seeing the same spike start one period.
        let done = sqlx::query(
            "INSERT INTO shield_attacks (campaign, started) SELECT ?, ? \
             WHERE NOT EXISTS (SELECT 1 FROM shield_attacks WHERE campaign = ? AND ended IS NULL)",
        )
        .bind(campaign)
        .bind(at)
        .bind(campaign)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn shield_end_attack(&self, campaign: &str, at: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE shield_attacks SET ended = ? WHERE campaign = ? AND ended IS NULL")
                .bind(at)
                .bind(campaign)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn shield_prune(&self, before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM shield_events WHERE at < ?")
            .bind(before)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM shield_blocks WHERE until < ?")
            .bind(before)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM shield_proofs WHERE expires < ?")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_cancel_at_period_end(&self, id: &str, cancel: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET cancel_at_period_end = ? WHERE id = ?")
            .bind(i64::from(cancel))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_update_attempt(
        &self,
        session: &str,
        since: i64,
        now: i64,
    ) -> Result<u32, StoreError> {
        sqlx::query("INSERT INTO update_card_attempts (session_id, created) VALUES (?, ?)")
            .bind(session)
            .bind(now)
            .execute(&self.pool)
            .await?;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM update_card_attempts WHERE session_id = ? AND created >= ?",
        )
        .bind(session)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn set_plan(
        &self,
        id: &str,
        amount: i64,
        frequency: Frequency,
    ) -> Result<(), StoreError> {
        // The first gift's amount stays as paid (receipts, statements); renewals follow this.
        sqlx::query("UPDATE sessions SET next_amount = ?, frequency = ? WHERE id = ?")
            .bind(amount)
            .bind(frequency.as_str())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_paused(&self, id: &str, paused: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET paused = ? WHERE id = ?")
            .bind(i64::from(paused))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn activate(
        &self,
        order: &str,
        instance: &str,
        seats: u16,
        now: i64,
    ) -> Result<Activated, StoreError> {
        // One statement: the seat count is read and the row written under SQLite's write lock.
        sqlx::query(
            "INSERT INTO activations (order_id, instance, created) \
             SELECT ?, ?, ? WHERE (SELECT COUNT(*) FROM activations WHERE order_id = ?) < ? \
             ON CONFLICT (order_id, instance) DO NOTHING",
        )
        .bind(order)
        .bind(instance)
        .bind(now)
        .bind(order)
        .bind(i64::from(seats))
        .execute(&self.pool)
        .await?;
        let active: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM activations WHERE order_id = ? AND instance = ?")
                .bind(order)
                .bind(instance)
                .fetch_optional(&self.pool)
                .await?;
        if active.is_none() {
            return Ok(Activated::Full);
        }
        let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activations WHERE order_id = ?")
            .bind(order)
            .fetch_one(&self.pool)
            .await?;
        Ok(Activated::Active {
            used: u16::try_from(used).unwrap_or(u16::MAX),
        })
    }

    async fn deactivate(&self, order: &str, instance: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM activations WHERE order_id = ? AND instance = ?")
            .bind(order)
            .bind(instance)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn activations(&self, order: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT instance, created FROM activations WHERE order_id = ? ORDER BY created, instance",
        )
        .bind(order)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("instance")?, r.try_get("created")?)))
            .collect()
    }

    async fn setting_or_insert(&self, key: &str, default: &str) -> Result<String, StoreError> {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(key)
            .bind(default)
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                .bind(key)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn pending_mail(&self, limit: u32) -> Result<Vec<MailRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, session_id, to_addr, subject, body FROM mail_outbox WHERE sent = 0 ORDER BY id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MailRow {
                    id: r.try_get("id")?,
                    session_id: r.try_get("session_id")?,
                    to: r.try_get("to_addr")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                })
            })
            .collect()
    }

    async fn mark_mail(&self, id: i64, state: MailState) -> Result<(), StoreError> {
        let sent = match state {
            MailState::Sent => 1,
            MailState::Undeliverable => -1,
        };
        sqlx::query("UPDATE mail_outbox SET sent = ? WHERE id = ?")
            .bind(sent)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A SQLite transaction.
struct SqliteTx(Transaction<'static, Sqlite>);

#[async_trait]
impl StoreTx for SqliteTx {
    async fn session_id_by_subscription(
        &mut self,
        subscription: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM sessions WHERE subscription_id = ?")
                .bind(subscription)
                .fetch_optional(&mut *self.0)
                .await?,
        )
    }

    async fn insert_invoice(&mut self, i: &InvoiceRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO invoices (invoice_id, session_id, billing_reason, amount, receipt_number, period_end, created) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (invoice_id) DO NOTHING",
        )
        .bind(&i.invoice_id)
        .bind(&i.session_id)
        .bind(&i.billing_reason)
        .bind(i.amount)
        .bind(&i.receipt_number)
        .bind(i.period_end)
        .bind(i.created)
        .execute(&mut *self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn extend_paid_until(&mut self, session: &str, until: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE fulfilments SET paid_until = ?1 WHERE session_id = ?2 AND (paid_until IS NULL OR paid_until < ?1)",
        )
        .bind(until)
        .bind(session)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn set_invoice_receipt(&mut self, invoice: &str, number: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE invoices SET receipt_number = ? WHERE invoice_id = ?")
            .bind(number)
            .bind(invoice)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn set_subscription_status(
        &mut self,
        session: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        // `canceled` and `incomplete_expired` are final: a late `updated` never revives them.
        sqlx::query(
            "UPDATE sessions SET subscription_status = ? WHERE id = ? AND \
             (subscription_status IS NULL OR subscription_status NOT IN ('canceled', 'incomplete_expired'))",
        )
            .bind(status)
            .bind(session)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn record_event(&mut self, id: &str, kind: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO webhook_events (id, type, received) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(kind)
        .bind(now)
        .execute(&mut *self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn session_id_by_payment_intent(
        &mut self,
        payment_intent: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM sessions WHERE payment_intent = ?")
                .bind(payment_intent)
                .fetch_optional(&mut *self.0)
                .await?,
        )
    }

    async fn session(&mut self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        select_session(&mut *self.0, id).await
    }

    async fn advance(
        &mut self,
        id: &str,
        status: SessionStatus,
        now: i64,
    ) -> Result<bool, StoreError> {
        advance_on(&mut *self.0, id, status, now).await
    }

    async fn set_payment_intent(
        &mut self,
        id: &str,
        payment_intent: &str,
    ) -> Result<(), StoreError> {
        set_payment_intent_on(&mut *self.0, id, payment_intent).await
    }

    async fn set_decline(
        &mut self,
        id: &str,
        code: &DeclineCode,
        message: &str,
    ) -> Result<(), StoreError> {
        set_decline_on(&mut *self.0, id, code, message).await
    }

    async fn record_refund(&mut self, id: &str, amount_refunded: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET amount_refunded = MAX(amount_refunded, ?) WHERE id = ?")
            .bind(amount_refunded)
            .bind(id)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn insert_fulfilment(
        &mut self,
        session: &str,
        kind: CampaignKind,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO fulfilments (session_id, kind, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(session)
        .bind(kind.as_str())
        .bind(now)
        .execute(&mut *self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_licence_key(&mut self, session: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE fulfilments SET license_key = ? WHERE session_id = ?")
            .bind(key)
            .bind(session)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn next_receipt_number(&mut self, merchant: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO receipt_counters (merchant, last) VALUES (?, 1) \
             ON CONFLICT(merchant) DO UPDATE SET last = last + 1 RETURNING last",
        )
        .bind(merchant)
        .fetch_one(&mut *self.0)
        .await?)
    }

    async fn set_receipt_number(&mut self, session: &str, number: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE fulfilments SET receipt_number = ? WHERE session_id = ?")
            .bind(number)
            .bind(session)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn revoke(&mut self, session: &str, reason: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE fulfilments SET revoked = 1, revoked_reason = ? WHERE session_id = ?")
            .bind(reason)
            .bind(session)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn queue_mail(&mut self, m: &NewMail) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mail_outbox (session_id, to_addr, subject, body, created) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&m.session_id)
        .bind(&m.to)
        .bind(&m.subject)
        .bind(&m.body)
        .bind(m.created)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.0.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> SessionRow {
        SessionRow {
            id: id.into(),
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
        }
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
        assert_eq!(store.session("cs_1").await.unwrap(), Some(session("cs_1")));
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
            .execute(&store.pool)
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
        let mail = store.pending_mail(10).await.unwrap();
        assert_eq!(mail.len(), 1);
        store.mark_mail(mail[0].id, MailState::Sent).await.unwrap();
        assert!(store.pending_mail(10).await.unwrap().is_empty());
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
