//! The PostgreSQL store: several stateless host processes on one database server. Its
//! migrations are in `migrations/postgres` (BIGINT for every integer: SQLite's INTEGER is 64-bit,
//! PostgreSQL's 32). What keeps the guarantees across hosts: claims are single `INSERT … ON
//! CONFLICT` statements, a statement that waits on another host's row gives up after
//! `lock_timeout` (the pay path maps that to "in progress"), seat counts are taken under a
//! transaction-scoped advisory lock per order, and outbox relays skip rows another host is
//! claiming (`FOR UPDATE SKIP LOCKED`).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use paywidget_core::api::{CampaignKind, DeclineCode, Frequency, PayOutcome, SessionStatus};
use paywidget_core::money::Currency;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres, Row};

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

/// The PostgreSQL store.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`), creating the
    /// database if it is missing and the user may, and runs the migrations (sqlx takes an
    /// advisory lock for them, so hosts starting together migrate once).
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        use sqlx::migrate::MigrateDatabase;
        if !Postgres::database_exists(url).await? {
            if let Err(e) = Postgres::create_database(url).await {
                // Another host starting at the same moment may have created it: 42P04, or
                // 23505 when both inserts reach pg_database's unique index together.
                let raced = e
                    .as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|c| c == "42P04" || c == "23505");
                if !raced {
                    return Err(e.into());
                }
            }
        }
        let options = PgConnectOptions::from_str(url)?
            // A statement waiting on another host's row lock gives up rather than hang.
            .options([("lock_timeout", "10s"), ("statement_timeout", "30s")])
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }

    /// A session advisory lock on a connection taken out of the pool for as long as the job
    /// runs: the guard closes that connection when dropped, which releases the lock even if
    /// the job panicked (and a killed host's lock goes with its connection).
    async fn lock_job(&self, name: &str) -> Result<Option<JobGuard>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(format!("paywidget job {name}"))
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.then(|| JobGuard(Box::new(HeldLock(Some(conn.detach()))))))
    }
}

/// A connection holding a session advisory lock; dropping it closes the connection.
struct HeldLock(Option<sqlx::PgConnection>);

impl Drop for HeldLock {
    fn drop(&mut self) {
        // Closing the session is what releases a session-level advisory lock.
        drop(self.0.take());
    }
}

super::sql::sql_store!(
    PostgresStore,
    PostgresTx,
    Postgres,
    key_lock: Some("SELECT pg_advisory_xact_lock(hashtext($1))"),
    skip_locked: " FOR UPDATE SKIP LOCKED",
    begin: None
);
