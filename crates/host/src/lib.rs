//! paywidget's checkout host: campaigns, checkout sessions, idempotent charging through the
//! gateway, verified webhooks and exactly-once fulfilment (licence keys, receipts).
//!
//! Its folders are its layers (see ARCHITECTURE.md): [`http`] (router, thin handlers, pages)
//! → the rooms ([`checkout`], [`billing`], [`portal`], [`licence`], [`shield`]) → [`mail`],
//! [`gateway`] → [`config`] → [`store`] (all SQL, one trait per aggregate), with [`support`]'s
//! injected `Clock`/`IdSource`. No folder uses one above it (`cargo xtask arch`). The host never
//! sees card data: the checkout page sends only the gateway's token.
#![forbid(unsafe_code)]

pub mod admin;
pub mod billing;
pub mod checkout;
pub mod config;
pub mod gateway;
pub mod hooks;
pub mod http;
pub mod licence;
pub mod mail;
pub mod portal;
pub mod shield;
pub mod store;
pub mod support;

use std::sync::Arc;
use std::time::Duration;

use config::HostConfig;
use ed25519_dalek::SigningKey;
use store::{Store, StoreError};
use support::clock::{Clock, IdSource, RandomIds, SystemClock};

/// Everything a request can reach.
pub struct HostState {
    /// The parsed configuration.
    pub config: HostConfig,
    /// The database.
    pub store: Arc<dyn Store>,
    /// HTTP client for the gateway.
    pub http: reqwest::Client,
    /// Signs licence keys (the same as `keys.licence`).
    pub signing_key: SigningKey,
    /// Every key, one per purpose, derived from the host's secret.
    pub keys: config::keys::Keys,
    /// The URL shoppers reach the host at, without a trailing slash.
    pub public_url: String,
    /// The clock (session times, webhook tolerance, receipt and licence dates).
    pub clock: Arc<dyn Clock>,
    /// Session ids.
    pub ids: Arc<dyn IdSource>,
    /// Delivers receipt and licence emails.
    pub mailer: Arc<dyn mail::Mailer>,
    /// Wakes the mail relay ([`mail::wake`]) when a request queued a message.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Held through each outbox pass, so one host runs one pass at a time and a caller of
    /// [`mail::send_outbox`] knows every pass before its own has finished.
    pub mail_pass: tokio::sync::Mutex<()>,
    /// The requests waiting for a session to move ([`checkout::waiting`]).
    pub moves: checkout::waiting::Moves,
    /// Wakes the outgoing webhook relay ([`hooks::wake`]) when something was queued.
    pub hooks_wake: Arc<tokio::sync::Notify>,
    /// The last calls this process made to the gateway (health, alerts).
    pub gateway_stats: Arc<gateway::CallStats>,
    /// Gateway webhooks this process refused (bad signature) since it started.
    pub webhooks_refused: std::sync::atomic::AtomicI64,
    /// Per-IP limits on the session and pay endpoints.
    pub limiter: http::IpLimiter,
    /// When this process last pruned the shield's old counters (unix seconds).
    pub shield_pruned: std::sync::atomic::AtomicI64,
    /// When this process last pruned its rate limiter's idle clients (unix seconds).
    pub limiter_pruned: std::sync::atomic::AtomicI64,
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
    Database(#[from] StoreError),
    /// A setting is unusable.
    #[error("{0}")]
    Config(String),
}

/// What the host is built with besides its configuration: injectable for tests.
#[derive(Clone)]
pub struct Deps {
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Session ids.
    pub ids: Arc<dyn IdSource>,
}

impl Deps {
    /// The system clock and random ids.
    pub fn system() -> Deps {
        Deps {
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
        }
    }
}

impl Default for Deps {
    fn default() -> Self {
        Deps::system()
    }
}

/// The system clock, for [`open`].
pub fn system_now() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// Opens the database (running the embedded migrations) and builds the state, with random ids.
pub async fn open(
    config: HostConfig,
    public_url: String,
    clock: Arc<dyn Clock>,
) -> Result<Arc<HostState>, StartError> {
    open_with(
        config,
        public_url,
        Deps {
            clock,
            ids: Arc::new(RandomIds),
        },
    )
    .await
}

/// [`open`] with every dependency given.
pub async fn open_with(
    config: HostConfig,
    public_url: String,
    deps: Deps,
) -> Result<Arc<HostState>, StartError> {
    url::Url::parse(&public_url)
        .map_err(|e| StartError::Config(format!("public URL {public_url:?}: {e}")))?;
    // The keys first: a host without its secret does not touch the database.
    let keys = config::keys::load(&config).map_err(|e| StartError::Config(e.to_string()))?;
    let store = store::open(&config.server.db).await?;
    let signing_key = keys.licence.clone();
    let mailer: Arc<dyn mail::Mailer> = match &config.mail.smtp {
        Some(smtp) => Arc::new(
            mail::SmtpMailer::new(smtp)
                .map_err(|e| StartError::Config(format!("mail.smtp: {e}")))?,
        ),
        None => Arc::new(mail::FolderMailer(config.server.outbox.clone())),
    };
    let http = gateway_client(&config)?;
    let limiter = http::ip_limiter(config.server.rate_limit_per_minute);
    let state = Arc::new(HostState {
        config,
        store,
        http,
        signing_key,
        keys,
        public_url: public_url.trim_end_matches('/').to_owned(),
        clock: deps.clock,
        ids: deps.ids,
        mailer,
        limiter,
        mail_wake: Arc::new(tokio::sync::Notify::new()),
        mail_pass: tokio::sync::Mutex::new(()),
        hooks_wake: Arc::new(tokio::sync::Notify::new()),
        moves: checkout::waiting::Moves::default(),
        webhooks_refused: std::sync::atomic::AtomicI64::new(0),
        gateway_stats: Arc::new(gateway::CallStats::default()),
        shield_pruned: std::sync::atomic::AtomicI64::new(0),
        limiter_pruned: std::sync::atomic::AtomicI64::new(0),
    });
    // Mail goes out in the background, never in a request; what was queued before a restart
    // goes out now.
    mail::spawn_relay(&state);
    // So do the merchants' webhooks.
    hooks::spawn_relay(&state);
    // And the reminders of disputes whose deadline nears.
    billing::disputes::spawn_reminders(&state);
    // And the watch: alerts when webhooks stop coming, and the weekly digest.
    billing::watch::spawn(&state);
    Ok(state)
}

/// Starts the periodic reconciliation (`server.reconcile_every_minutes`, 0 = off): each
/// period, one host of those sharing the database (the `reconcile` job's lock and claim)
/// reconciles the last two days, leaving the last ten minutes to their webhooks, repairs what is
/// missing, and logs what is not a match. `paywidget host` runs it; tests call
/// [`reconcile::run`] directly.
pub fn spawn_reconciler(state: Arc<HostState>) -> Option<tokio::task::JoinHandle<()>> {
    let minutes = state.config.server.reconcile_every_minutes;
    if minutes == 0 {
        return None;
    }
    let every = i64::from(minutes) * 60;
    Some(tokio::spawn(async move {
        // A short first wait: a host restarted after a crash looks soon (if the period allows).
        let mut wait = Duration::from_secs(60);
        loop {
            tokio::time::sleep(wait).await;
            wait = Duration::from_secs(u64::from(minutes) * 60);
            if let Err(e) = reconcile_once(&state, every).await {
                tracing::warn!(error = %e, "reconciliation did not run; next period");
            }
        }
    }))
}

async fn reconcile_once(state: &HostState, every: i64) -> Result<(), support::error::DomainError> {
    let Some(_lock) = state.store.job_lock("reconcile").await? else {
        return Ok(());
    };
    let now = state.clock.now();
    if !state.store.claim_job("reconcile", now, every).await? {
        return Ok(());
    }
    let report = billing::reconcile::run(
        state,
        &billing::reconcile::Options {
            since: now - 2 * 86_400,
            until: now,
            grace_secs: 600,
            repair: true,
        },
    )
    .await?;
    for r in report
        .rows
        .iter()
        .filter(|r| r.class != billing::reconcile::Class::Match)
    {
        tracing::warn!(class = r.class.as_str(), session = ?r.session, payment_intent = ?r.payment_intent, invoice = ?r.invoice, repaired = r.repaired, note = %r.note, "reconciliation");
    }
    tracing::info!(summary = %report.table().lines().rev().nth(1).unwrap_or(""), "reconciled");
    Ok(())
}

/// The HTTP client for the gateways: rustls, TLS 1.2 at least, the public web roots plus the
/// CAs of `server.gateway_ca_file`.
pub fn gateway_client(config: &HostConfig) -> Result<reqwest::Client, StartError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .min_tls_version(reqwest::tls::Version::TLS_1_2)
        .timeout(Duration::from_secs(30));
    if let Some(path) = &config.server.gateway_ca_file {
        let key = "server.gateway_ca_file";
        let pem = std::fs::read(path)
            .map_err(|e| StartError::Config(format!("{key}: {}: {e}", path.display())))?;
        let cas = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| StartError::Config(format!("{key}: {}: {e}", path.display())))?;
        if cas.is_empty() {
            return Err(StartError::Config(format!(
                "{key}: {}: no PEM certificate in it",
                path.display()
            )));
        }
        for ca in cas {
            builder = builder.add_root_certificate(ca);
        }
    }
    builder
        .build()
        .map_err(|e| StartError::Config(format!("the gateway client: {e}")))
}

/// The whole HTTP surface.
pub fn router(state: Arc<HostState>) -> axum::Router {
    http::router(state)
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

/// Serves HTTPS on `listener` with `[server.tls]`'s certificate until the listener closes:
/// rustls, TLS 1.2 and 1.3 only; every answer carries `Strict-Transport-Security`.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    state: Arc<HostState>,
    tls: &config::TlsFiles,
) -> std::io::Result<()> {
    // One process-wide crypto provider for rustls (ring); a second install is a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rustls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "server.tls: {} / {}: {e}",
                    tls.cert.display(),
                    tls.key.display()
                ),
            )
        })?;
    listener.set_nonblocking(true)?;
    let app = router(state).layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static("max-age=31536000"),
    ));
    axum_server::from_tcp_rustls(listener, rustls)
        .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await
}
