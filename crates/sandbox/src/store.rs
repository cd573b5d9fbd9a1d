//! The sandbox's persistent state in SQLite: Stripe objects, idempotency records, webhook deliveries.
//!
//! Objects are stored as the JSON a client sees (`json`) plus sandbox-only facts (`internal`, e.g.
//! a test card's scripted outcome — never the card number). Every update is optimistic on a
//! `version` column, and idempotency is decided by SQLite's primary key, so both hold across
//! connections and processes, not just inside one.

use std::str::FromStr;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

use crate::error::ApiError;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS objects (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    kind     TEXT NOT NULL,
    created  INTEGER NOT NULL,
    version  INTEGER NOT NULL DEFAULT 0,
    json     TEXT NOT NULL,
    internal TEXT
);
CREATE INDEX IF NOT EXISTS objects_kind_seq ON objects(kind, seq);
CREATE TABLE IF NOT EXISTS idempotency (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    created     INTEGER NOT NULL,
    status      INTEGER,
    body        BLOB
);
CREATE TABLE IF NOT EXISTS deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    url             TEXT NOT NULL,
    secret          TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_ms    INTEGER,
    created         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, next_attempt_ms);
"#;

/// How long an idempotency key is remembered, as in Stripe.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 60 * 60;

/// The SQLite-backed store.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

/// An object read with the version to update it against.
#[derive(Debug)]
pub struct Versioned<T> {
    /// The object as clients see it.
    pub object: T,
    /// Sandbox-only facts stored beside it.
    pub internal: Option<Value>,
    /// The optimistic-concurrency version.
    pub version: i64,
}

/// What an idempotency key says about a new request.
#[derive(Debug, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First use: run the request, then [`Store::idempotency_finish`] or `_abandon`.
    New,
    /// Seen with a stored response: replay it as it was.
    Replay {
        /// The stored HTTP status.
        status: u16,
        /// The stored body, byte for byte.
        body: Vec<u8>,
    },
    /// Seen with other parameters.
    Mismatch,
    /// The first request with this key is still running.
    InUse,
}

/// One webhook delivery (one event to one endpoint) and its attempts so far.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    /// Row id.
    pub id: i64,
    /// The event delivered.
    pub event_id: String,
    /// Its type, e.g. `payment_intent.succeeded`.
    pub event_type: String,
    /// The endpoint URL.
    pub url: String,
    /// `pending`, `delivered` or `failed` (gave up).
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (unix ms), while pending.
    pub next_attempt_ms: i64,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<i64>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When it was delivered (unix ms).
    pub delivered_ms: Option<i64>,
    /// The endpoint's signing secret (not serialised).
    #[serde(skip)]
    pub secret: String,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, or an in-memory one for `:memory:`.
    pub async fn open(path: &str) -> Result<Store, sqlx::Error> {
        let memory = path == ":memory:";
        let options = if memory {
            SqliteConnectOptions::from_str("sqlite::memory:")?
        } else {
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
        }
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
        // One connection: SQLite writes one transaction at a time anyway, and an in-memory
        // database exists only on its connection. Atomicity comes from SQL, not from this.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        Ok(Store { pool })
    }

    /// Starts a transaction for changes that must land together.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, ApiError> {
        Ok(self.pool.begin().await?)
    }

    /// Inserts a new object.
    pub async fn insert<T: Serialize>(
        conn: &mut sqlx::SqliteConnection,
        id: &str,
        kind: &str,
        created: i64,
        object: &T,
        internal: Option<&Value>,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO objects (id, kind, created, json, internal) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(kind)
        .bind(created)
        .bind(serde_json::to_string(object)?)
        .bind(internal.map(Value::to_string))
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Replaces an object if nobody changed it since `version` was read; false if somebody did.
    pub async fn update<T: Serialize>(
        conn: &mut sqlx::SqliteConnection,
        id: &str,
        version: i64,
        object: &T,
    ) -> Result<bool, ApiError> {
        let done = sqlx::query(
            "UPDATE objects SET json = ?, version = version + 1 WHERE id = ? AND version = ?",
        )
        .bind(serde_json::to_string(object)?)
        .bind(id)
        .bind(version)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Reads an object of `kind` by id.
    pub async fn get<T: DeserializeOwned>(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<Versioned<T>>, ApiError> {
        let mut conn = self.pool.acquire().await?;
        Self::get_in(&mut conn, kind, id).await
    }

    /// Reads an object inside a transaction.
    pub async fn get_in<T: DeserializeOwned>(
        conn: &mut sqlx::SqliteConnection,
        kind: &str,
        id: &str,
    ) -> Result<Option<Versioned<T>>, ApiError> {
        let row =
            sqlx::query("SELECT json, internal, version FROM objects WHERE id = ? AND kind = ?")
                .bind(id)
                .bind(kind)
                .fetch_optional(conn)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let json: String = row.get("json");
        let internal: Option<String> = row.get("internal");
        Ok(Some(Versioned {
            object: serde_json::from_str(&json)?,
            internal: internal.map(|s| serde_json::from_str(&s)).transpose()?,
            version: row.get("version"),
        }))
    }

    /// A page of objects of `kind`, newest first, after the object `starting_after`, keeping
    /// those that pass every filter; returns the page and whether more follow.
    pub async fn list(
        &self,
        kind: &str,
        limit: i64,
        starting_after: Option<&str>,
        filters: &[Filter],
    ) -> Result<(Vec<Value>, bool), ApiError> {
        let after_seq: i64 = match starting_after {
            None => i64::MAX,
            Some(id) => sqlx::query_scalar("SELECT seq FROM objects WHERE id = ? AND kind = ?")
                .bind(id)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| ApiError::not_found("starting_after", id))?,
        };
        let sql = format!(
            "SELECT json FROM objects WHERE kind = ? AND seq < ?{} ORDER BY seq DESC LIMIT ?",
            Filter::sql(filters)
        );
        let mut q = sqlx::query(&sql).bind(kind).bind(after_seq);
        for f in filters {
            q = f.bind(q);
        }
        let rows = q.bind(limit + 1).fetch_all(&self.pool).await?;
        let mut items = rows
            .iter()
            .map(|r| serde_json::from_str(r.get::<&str, _>("json")))
            .collect::<Result<Vec<Value>, _>>()?;
        let has_more = items.len() as i64 > limit;
        items.truncate(limit as usize);
        Ok((items, has_more))
    }

    /// Every object of `kind` passing the filters, oldest first, with its version and internal
    /// facts, inside a transaction (the billing clock's scans).
    pub async fn find_in<T: DeserializeOwned>(
        conn: &mut sqlx::SqliteConnection,
        kind: &str,
        filters: &[Filter],
    ) -> Result<Vec<(String, Versioned<T>)>, ApiError> {
        let sql = format!(
            "SELECT id, json, internal, version FROM objects WHERE kind = ?{} ORDER BY seq",
            Filter::sql(filters)
        );
        let mut q = sqlx::query(&sql).bind(kind);
        for f in filters {
            q = f.bind(q);
        }
        let rows = q.fetch_all(conn).await?;
        rows.iter()
            .map(|row| {
                let json: String = row.get("json");
                let internal: Option<String> = row.get("internal");
                Ok((
                    row.get::<String, _>("id"),
                    Versioned {
                        object: serde_json::from_str(&json)?,
                        internal: internal.map(|s| serde_json::from_str(&s)).transpose()?,
                        version: row.get("version"),
                    },
                ))
            })
            .collect()
    }

    /// Deletes the objects of `kind` passing the filters (a test clock's objects go with it).
    pub async fn delete_where(
        conn: &mut sqlx::SqliteConnection,
        kind: &str,
        filters: &[Filter],
    ) -> Result<u64, ApiError> {
        let sql = format!("DELETE FROM objects WHERE kind = ?{}", Filter::sql(filters));
        let mut q = sqlx::query(&sql).bind(kind);
        for f in filters {
            q = f.bind(q);
        }
        Ok(q.execute(conn).await?.rows_affected())
    }

    /// Replaces an object and its internal facts if nobody changed it since `version`.
    pub async fn update_with_internal<T: Serialize>(
        conn: &mut sqlx::SqliteConnection,
        id: &str,
        version: i64,
        object: &T,
        internal: &Value,
    ) -> Result<bool, ApiError> {
        let done = sqlx::query(
            "UPDATE objects SET json = ?, internal = ?, version = version + 1 WHERE id = ? AND version = ?",
        )
        .bind(serde_json::to_string(object)?)
        .bind(internal.to_string())
        .bind(id)
        .bind(version)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many objects of `kind` there are.
    pub async fn count(&self, kind: &str) -> Result<i64, ApiError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM objects WHERE kind = ?")
                .bind(kind)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Every object of `kind`, oldest first (for settlement reports).
    pub async fn all(&self, kind: &str) -> Result<Vec<Value>, ApiError> {
        let rows = sqlx::query("SELECT json FROM objects WHERE kind = ? ORDER BY seq")
            .bind(kind)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| serde_json::from_str(r.get::<&str, _>("json")))
            .collect::<Result<Vec<Value>, _>>()?)
    }

    /// Claims an idempotency key for a request with `fingerprint`, atomically: of many
    /// concurrent requests with one key exactly one gets [`IdempotencyBegin::New`].
    pub async fn idempotency_begin(
        &self,
        key: &str,
        fingerprint: &str,
        now: i64,
    ) -> Result<IdempotencyBegin, ApiError> {
        // A record older than the TTL is forgotten: the key is new again.
        sqlx::query("DELETE FROM idempotency WHERE key = ? AND created <= ?")
            .bind(key)
            .bind(now - IDEMPOTENCY_TTL_SECS)
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency (key, fingerprint, created) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING",
        )
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(IdempotencyBegin::New);
        }
        let row = sqlx::query("SELECT fingerprint, status, body FROM idempotency WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        // Abandoned between our insert and this read: treat as in use; the client retries.
        let Some(row) = row else {
            return Ok(IdempotencyBegin::InUse);
        };
        if row.get::<&str, _>("fingerprint") != fingerprint {
            return Ok(IdempotencyBegin::Mismatch);
        }
        match row.get::<Option<i64>, _>("status") {
            None => Ok(IdempotencyBegin::InUse),
            Some(status) => Ok(IdempotencyBegin::Replay {
                status: u16::try_from(status).unwrap_or(500),
                body: row.get("body"),
            }),
        }
    }

    /// Stores the response of the request that claimed `key`.
    pub async fn idempotency_finish(
        &self,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), ApiError> {
        sqlx::query("UPDATE idempotency SET status = ?, body = ? WHERE key = ?")
            .bind(i64::from(status))
            .bind(body)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Releases `key` without a stored response (the request had no effect).
    pub async fn idempotency_abandon(&self, key: &str) -> Result<(), ApiError> {
        sqlx::query("DELETE FROM idempotency WHERE key = ? AND status IS NULL")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Queues an event for one endpoint.
    pub async fn enqueue_delivery(
        conn: &mut sqlx::SqliteConnection,
        event_id: &str,
        event_type: &str,
        url: &str,
        secret: &str,
        now_ms: i64,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO deliveries (event_id, event_type, url, secret, status, next_attempt_ms, created) \
             VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        )
        .bind(event_id)
        .bind(event_type)
        .bind(url)
        .bind(secret)
        .bind(now_ms)
        .bind(now_ms / 1000)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Pending deliveries due at `now_ms`, oldest first.
    pub async fn due_deliveries(&self, now_ms: i64, limit: i64) -> Result<Vec<Delivery>, ApiError> {
        let rows = sqlx::query(
            "SELECT * FROM deliveries WHERE status = 'pending' AND next_attempt_ms <= ? ORDER BY next_attempt_ms, id LIMIT ?",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(delivery_from_row).collect())
    }

    /// The delivery log, newest first.
    pub async fn deliveries(&self, limit: i64) -> Result<Vec<Delivery>, ApiError> {
        let rows = sqlx::query("SELECT * FROM deliveries ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(delivery_from_row).collect())
    }

    /// Records one attempt's outcome and what happens next.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_attempt(
        &self,
        id: i64,
        status: &str,
        next_attempt_ms: i64,
        last_status: Option<u16>,
        last_error: Option<&str>,
        delivered_ms: Option<i64>,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "UPDATE deliveries SET status = ?, attempts = attempts + 1, next_attempt_ms = ?, last_status = ?, \
             last_error = ?, delivered_ms = ? WHERE id = ?",
        )
        .bind(status)
        .bind(next_attempt_ms)
        .bind(last_status.map(i64::from))
        .bind(last_error)
        .bind(delivered_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored JSON of an event (the exact bytes every attempt delivers).
    pub async fn event_json(&self, id: &str) -> Result<Option<String>, ApiError> {
        Ok(
            sqlx::query_scalar("SELECT json FROM objects WHERE id = ? AND kind = 'event'")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

/// A condition on a field of the stored JSON, by JSON path from the object (`customer`,
/// `parent.subscription_details.subscription`). Paths come from code, values from clients:
/// both are bound, never spliced into the SQL.
#[derive(Clone, Debug)]
pub enum Filter {
    /// The field equals the string.
    Eq(String, String),
    /// The field is not the string (or is absent).
    NotEq(String, String),
    /// The field is one of the strings.
    In(String, Vec<String>),
    /// The field is the boolean.
    Bool(String, bool),
    /// The field is null or absent.
    Null(String),
    /// The integer field compares so with the number (`created[gte]=…` and the like).
    Cmp(String, Cmp, i64),
}

/// A comparison of a list's range filter (`gt`, `gte`, `lt`, `lte`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
}

impl Cmp {
    /// The comparison named by Stripe's key (`gt`, `gte`, `lt`, `lte`).
    pub fn parse(name: &str) -> Option<Cmp> {
        Some(match name {
            "gt" => Cmp::Gt,
            "gte" => Cmp::Gte,
            "lt" => Cmp::Lt,
            "lte" => Cmp::Lte,
            _ => return None,
        })
    }

    /// Whether `value` compares so with `bound`.
    pub fn holds(self, value: i64, bound: i64) -> bool {
        match self {
            Cmp::Gt => value > bound,
            Cmp::Gte => value >= bound,
            Cmp::Lt => value < bound,
            Cmp::Lte => value <= bound,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Gte => ">=",
            Cmp::Lt => "<",
            Cmp::Lte => "<=",
        }
    }
}

impl Filter {
    /// `field = value`.
    pub fn eq(field: &str, value: impl Into<String>) -> Filter {
        Filter::Eq(field.to_owned(), value.into())
    }

    fn sql(filters: &[Filter]) -> String {
        filters
            .iter()
            .map(|f| match f {
                Filter::Eq(..) | Filter::Bool(..) => " AND json_extract(json, ?) = ?".to_owned(),
                Filter::NotEq(..) => " AND json_extract(json, ?) IS NOT ?".to_owned(),
                Filter::Null(_) => " AND json_extract(json, ?) IS NULL".to_owned(),
                Filter::Cmp(_, cmp, _) => format!(" AND json_extract(json, ?) {} ?", cmp.sql()),
                Filter::In(_, vs) => format!(
                    " AND json_extract(json, ?) IN ({})",
                    vec!["?"; vs.len().max(1)].join(", ")
                ),
            })
            .collect()
    }

    fn bind<'q>(
        &'q self,
        q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
        let path = |f: &str| format!("$.{f}");
        match self {
            Filter::Eq(f, v) | Filter::NotEq(f, v) => q.bind(path(f)).bind(v.as_str()),
            Filter::Bool(f, b) => q.bind(path(f)).bind(i64::from(*b)),
            Filter::Null(f) => q.bind(path(f)),
            Filter::Cmp(f, _, n) => q.bind(path(f)).bind(*n),
            Filter::In(f, vs) => {
                let mut q = q.bind(path(f));
                if vs.is_empty() {
                    // `IN (?)` with a value no field holds: nothing matches, as an empty list should.
                    q = q.bind("\u{0}");
                }
                for v in vs {
                    q = q.bind(v.as_str());
                }
                q
            }
        }
    }
}

fn delivery_from_row(r: &sqlx::sqlite::SqliteRow) -> Delivery {
    Delivery {
        id: r.get("id"),
        event_id: r.get("event_id"),
        event_type: r.get("event_type"),
        url: r.get("url"),
        status: r.get("status"),
        attempts: r.get("attempts"),
        next_attempt_ms: r.get("next_attempt_ms"),
        last_status: r.get("last_status"),
        last_error: r.get("last_error"),
        delivered_ms: r.get("delivered_ms"),
        secret: r.get("secret"),
    }
}
