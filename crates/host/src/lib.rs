//! paywidget's checkout host: campaigns, checkout sessions, idempotent charging through the
//! gateway, verified webhooks and exactly-once fulfilment (licence keys, receipts).
//!
//! Layers: [`router`] (routes in `api`) → thin handlers → domain ([`sessions`], [`webhooks`],
//! [`fulfil`]) → SQLite through sqlx. The host never sees card data: the checkout page sends
//! only the gateway's token.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod embed;
pub mod error;
pub mod fulfil;
pub mod gateway;
pub mod licence;
pub mod markdown;
pub mod sessions;
pub mod static_files;
pub mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use config::HostConfig;
use ed25519_dalek::SigningKey;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

/// The current unix time in seconds (injected so tests can move it).
pub type Now = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Everything a request can reach.
pub struct HostState {
    /// The parsed configuration.
    pub config: HostConfig,
    /// The database.
    pub db: SqlitePool,
    /// HTTP client for the gateway.
    pub http: reqwest::Client,
    /// Signs licence keys.
    pub signing_key: SigningKey,
    /// The URL shoppers reach the host at.
    pub public_url: String,
    /// The clock.
    pub now: Now,
    /// Delivers receipt and licence emails.
    pub mailer: Arc<dyn fulfil::Mailer>,
    /// Per-IP limits on the session and pay endpoints.
    pub limiter: api::IpLimiter,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// Errors starting the host.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(String),
    /// A setting is unusable.
    #[error("{0}")]
    Config(String),
}

/// The system clock.
pub fn system_now() -> Now {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    })
}

/// Opens the database (running the embedded migrations) and builds the state.
pub async fn open(
    config: HostConfig,
    public_url: String,
    now: Now,
) -> Result<Arc<HostState>, StartError> {
    let db_err = |e: sqlx::Error| StartError::Database(e.to_string());
    let memory = config.server.db == ":memory:";
    let options = if memory {
        SqliteConnectOptions::from_str("sqlite::memory:").map_err(db_err)?
    } else {
        SqliteConnectOptions::new()
            .filename(&config.server.db)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
    }
    .busy_timeout(Duration::from_secs(10));
    let db = SqlitePoolOptions::new()
        .max_connections(if memory { 1 } else { 4 })
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(db_err)?;
    sqlx::migrate!("./migrations")
        .run(&db)
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    let signing_key = signing_key(&config, &db).await?;
    let mailer: Arc<dyn fulfil::Mailer> = match &config.mail.smtp {
        Some(smtp) => Arc::new(
            fulfil::SmtpMailer::new(smtp)
                .map_err(|e| StartError::Config(format!("mail.smtp: {e}")))?,
        ),
        None => Arc::new(fulfil::FolderMailer(config.server.outbox.clone())),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| StartError::Config(e.to_string()))?;
    let limiter = api::ip_limiter(config.server.rate_limit_per_minute);
    let state = Arc::new(HostState {
        config,
        db,
        http,
        signing_key,
        public_url,
        now,
        mailer,
        limiter,
    });
    // Messages queued before a restart go out now.
    fulfil::send_mail(&state).await;
    Ok(state)
}

/// The licence signing key: from the config/env, else the one generated on first start.
async fn signing_key(config: &HostConfig, db: &SqlitePool) -> Result<SigningKey, StartError> {
    let decode = |s: &str| -> Result<SigningKey, StartError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| StartError::Config("server.license_signing_key: not base64".into()))?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| {
            StartError::Config("server.license_signing_key: must be 32 bytes".into())
        })?;
        Ok(SigningKey::from_bytes(&seed))
    };
    if let Some(k) = &config.server.license_signing_key {
        return decode(k);
    }
    let stored: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'license_signing_key'")
            .fetch_optional(db)
            .await
            .map_err(|e| StartError::Database(e.to_string()))?;
    if let Some(k) = stored {
        return decode(&k);
    }
    let key = licence::generate();
    let encoded = base64::engine::general_purpose::STANDARD.encode(key.to_bytes());
    sqlx::query("INSERT INTO settings (key, value) VALUES ('license_signing_key', ?) ON CONFLICT DO NOTHING")
        .bind(encoded)
        .execute(db)
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    // Re-read: a concurrent first start may have won the insert.
    let k: String =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'license_signing_key'")
            .fetch_one(db)
            .await
            .map_err(|e| StartError::Database(e.to_string()))?;
    decode(&k)
}

/// The whole HTTP surface.
pub fn router(state: Arc<HostState>) -> axum::Router {
    api::router(state)
}

/// Serves until the listener closes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<HostState>,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
}
