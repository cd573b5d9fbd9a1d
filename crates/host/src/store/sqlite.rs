//! The SQLite store: the embedded default (one file, WAL, one host process), its migrations in
//! `migrations/sqlite`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use paywidget_core::api::{CampaignKind, DeclineCode, Frequency, PayOutcome, SessionStatus};
use paywidget_core::money::Currency;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, Sqlite, SqlitePool};

use super::{
    advance_sql, Activated, Attempt, Audit, FulfilmentRow, InvoiceRow, JobGuard, MailRow,
    MailState, NewMail, PortalLogin, SessionRow, Store, StoreError, StoreTx,
};
use super::{
    ActivationAttempt, AttemptLine, AuditEntry, DashboardStore, DayTotal, Funnel, Installation,
    MailLine, PaymentQuery, RecurringFigures, SavedFilter, Search,
};
use super::{
    AttemptStore, FulfilmentStore, JobStore, LicenceStore, OutboxStore, PortalStore, RateStore,
    SessionStore, ShieldStore, SubscriptionStatus,
};
use super::{
    DisputeRow, HookAttempt, HookDue, HookEndpoint, HookLogLine, HookOutcome, HookStore, NewHook,
    WebhookHour,
};

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
            sqlx::migrate!("./migrations/sqlite").run(&first).await?;
            first.close().await;
        }
        let pool = SqlitePoolOptions::new()
            // One connection (for memory, each would also be its own empty database). SQLite
            // has one writer at a time, and a writer that finds the lock taken sleeps in
            // SQLite's busy handler (1, 2, 5 … 100 ms) instead of being woken when it frees:
            // with 16 connections a burst of checkouts spent its time asleep (76 confirmations
            // per second; 102 with one, and p50 at 100 checkouts/s 1.9 s → 0.17 s: `cargo
            // xtask bench --load-only`). Queued in the pool instead, each statement waits only
            // for the one before it (tens of microseconds). No store method holds a
            // transaction while it asks the pool again (which would wait forever).
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// One host per SQLite file: its singleton jobs need no lock across processes.
    async fn lock_job(&self, _name: &str) -> Result<Option<JobGuard>, StoreError> {
        Ok(Some(JobGuard(Box::new(()))))
    }

    /// The pool, for tests that write rows no API writes.
    #[cfg(test)]
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

// SQLite has one writer at a time: no lock to take, no rows to skip.
// Every write transaction's first statement is a write (the webhook's dedupe insert, an outbox
// insert, a counter's insert), so it holds SQLite's write lock from its start and never fails to
// upgrade a read; a plain BEGIN, not `BEGIN IMMEDIATE`: sqlx 0.8 leaves a connection unusable
// ("begin_with at non-zero transaction depth") after a failed `begin_with`.
super::sql::sql_store!(
    SqliteStore,
    SqliteTx,
    Sqlite,
    key_lock: None::<&str>,
    skip_locked: "",
    begin: None
);
