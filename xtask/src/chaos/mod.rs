//! `cargo xtask soak`: exactly once, proven under faults. The sandbox gateway (in this process)
//! with its fault injection on; H `paywidget host` processes on one database (SQLite, or a
//! throwaway PostgreSQL cluster) behind a round-robin load balancer that also disturbs the
//! gateway's webhooks; N checkouts through it with the page's retry rules; host processes
//! SIGKILLed at seeded points and restarted. One checkout in ten is a monthly gift: once the
//! checkouts are done, the gateway's test clock is advanced a month at a time so each renews
//! [`RENEWALS`] times (a host killed again while those webhooks arrive). Then it lets webhooks
//! settle, resends every checkout's last pay request, runs `paywidget host reconcile`, counts
//! charges, invoices and subscriptions at the gateway and prints what must be zero. Exits 1
//! when any of it is not.
//!
//! Deterministic for a seed in what it plans (cards, amounts, double clicks, kill points, fault
//! draws); the interleaving of concurrent requests still varies run to run.

mod driver;
pub(crate) mod lb;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use paywidget_host::billing::reconcile::{Class, Report};
use paywidget_sandbox::faults::FaultSettings;
use paywidget_sandbox::{
    AppState, Config, RetryPolicy, WebhookEndpoint, DEFAULT_PUBLISHABLE_KEY, DEFAULT_SECRET_KEY,
};

use crate::tools::{self, Tools};

/// Renewals of each monthly gift: the test clock is advanced this many times by [`A_MONTH`].
const RENEWALS: i64 = 2;
/// 32 days: past the end of any monthly period.
const A_MONTH: i64 = 32 * 86_400;

/// A small seeded generator (SplitMix64): the soak's plan must not depend on a crate's
/// algorithm changing.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
}

/// The command line.
#[derive(clap::Parser, Debug)]
#[command(
    name = "cargo xtask soak",
    about = "Checkouts through several hosts under gateway and webhook faults and host kills; proves exactly once"
)]
pub(crate) struct SoakCommand {
    /// Checkouts to drive.
    #[arg(long, default_value_t = 300)]
    checkouts: u64,
    /// Host processes on the one database.
    #[arg(long, default_value_t = 2)]
    hosts: usize,
    /// `sqlite` (one file) or `postgres` (a throwaway cluster).
    #[arg(long, default_value = "postgres")]
    db: String,
    /// `default` (gateway 500s 0.15, lost responses 0.15, 429s 0.05, 2 ms latency; webhooks
    /// dropped 0.1, delayed ≤ 300 ms 0.2, duplicated ×2 0.1, acknowledgement lost 0.1) or `none`.
    #[arg(long, default_value = "default")]
    faults: String,
    /// Seed of the plan.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Host processes SIGKILLed (and restarted) during the checkouts; when at least one, one
    /// more is killed while the renewals' webhooks arrive.
    #[arg(long, default_value_t = 3)]
    kills: u32,
    /// Checkouts in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Run the release build of the host (faster; the first build takes minutes).
    #[arg(long)]
    release: bool,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let cmd = <SoakCommand as clap::Parser>::try_parse_from(
        std::iter::once("cargo xtask soak".to_owned()).chain(args.iter().cloned()),
    )?;
    let tools = Tools::ensure()?;
    soak(&tools, &cmd)
}

/// The fast soak `cargo xtask test` runs: 300 checkouts, 2 hosts on PostgreSQL, 2 kills.
pub(crate) fn run_fast(tools: &Tools) -> Result<()> {
    let cmd = <SoakCommand as clap::Parser>::try_parse_from([
        "cargo xtask soak",
        "--checkouts",
        "300",
        "--hosts",
        "2",
        "--db",
        "postgres",
        "--kills",
        "2",
    ])?;
    soak(tools, &cmd)
}

fn soak(tools: &Tools, cmd: &SoakCommand) -> Result<()> {
    if cmd.hosts == 0 || cmd.checkouts == 0 {
        bail!("--hosts and --checkouts must be at least 1");
    }
    if cmd.db == "sqlite" && cmd.hosts > 1 {
        bail!(
            "SQLite is for one host: use --db postgres for --hosts {}",
            cmd.hosts
        );
    }
    let mut build = tools.command("cargo");
    build.args(["build", "--quiet", "-p", "paywidget-cli"]);
    if cmd.release {
        build.arg("--release");
    }
    tools::run(&mut build)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| crate::root().join("target"), PathBuf::from);
    let bin = target
        .join(if cmd.release { "release" } else { "debug" })
        .join("paywidget");
    let dir = crate::root().join("target").join("tmp").join("soak");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // The cluster lives until the end of this function (dropped: stopped and removed).
    let (db, _cluster) = match cmd.db.as_str() {
        "sqlite" => (dir.join("host.sqlite").display().to_string(), None),
        "postgres" => {
            let cluster = crate::pg::PgCluster::start(50 + 10 * u32::try_from(cmd.hosts)?)?;
            // A database of its own on the cluster (the host creates it).
            let url = format!("{}/soak", cluster.url.trim_end_matches("/postgres"));
            (url, Some(cluster))
        }
        other => bail!("--db {other}: sqlite or postgres"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Ctrl-C drops the run (its host processes are killed on drop) and returns here, so the
    // cluster is still stopped and removed on the way out.
    runtime.block_on(async {
        tokio::select! {
            r = soak_async(cmd, &bin, &dir, &db) => r,
            _ = tokio::signal::ctrl_c() => bail!("interrupted: the hosts are stopped, the database removed"),
        }
    })
}

/// Sandbox faults and webhook faults of a profile.
fn profile(name: &str) -> Result<(FaultSettings, lb::WebhookFaults)> {
    Ok(match name {
        "none" => (FaultSettings::default(), lb::WebhookFaults::default()),
        "default" => (
            FaultSettings {
                latency_ms: 2,
                error_rate: 0.15,
                lost_response_rate: 0.15,
                rate_limit_rate: 0.05,
            },
            lb::WebhookFaults {
                drop: 0.1,
                delay: 0.2,
                delay_max_ms: 300,
                duplicate: 0.1,
                duplicates: 2,
                lost_ack: 0.1,
            },
        ),
        other => bail!("--faults {other}: default or none"),
    })
}

/// A host process on a fixed port (so the balancer's list stays), restartable.
struct HostProcess {
    port: u16,
    child: Option<tokio::process::Child>,
}

pub(crate) async fn start_host(
    bin: &Path,
    config: &Path,
    port: u16,
    log: &Path,
) -> Result<tokio::process::Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let child = tokio::process::Command::new(bin)
        .args(["host", "--config"])
        .arg(config)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn,sqlx=error")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("start a host")?;
    // Ready when it accepts connections.
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            bail!("host on port {port} did not start (see {})", "hosts.log");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(child)
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(crate) fn host_config(gateway: &str, dir: &Path, db: &str, test_clock: &str) -> String {
    format!(
        r#"
[server]
dev_secret = true
db = "{db}"
outbox = "{outbox}"
dist = "{dist}"
rate_limit_per_minute = 1000000
trusted_proxies = ["127.0.0.1"]
reconcile_every_minutes = 0

[[merchants]]
id = "hope"
name = "Hope Shelter"
gateway_url = "{gateway}"
secret_key = "{DEFAULT_SECRET_KEY}"
publishable_key = "{DEFAULT_PUBLISHABLE_KEY}"
webhook_secret = "whsec_soak"
# Monthly gifts' customers live on this clock, which the soak advances to renew them.
test_clock = "{test_clock}"
allowed_origins = ["https://hope.example"]
tax_statement = "No goods or services were provided in exchange for this gift."

# The soak proves exactly once, not the card-testing shield (`cargo xtask attack` does): its
# thousands of planned declines from one campaign would otherwise, rightly, look like an attack.
[merchants.shield]
enabled = false

[[campaigns]]
id = "winter"
merchant = "hope"
kind = "donation"
title = "Winter appeal"
currency = "usd"
suggested_amounts = [1000, 2500]
min_amount = 500
max_amount = 100000
frequencies = ["one_time", "monthly"]
"#,
        outbox = dir.join("outbox").display(),
        dist = dir.join("dist").display(),
    )
}

/// One call to the gateway with the secret key, retried through its faults (5xx, 429, lost
/// responses) with the same idempotency key, so a retried create makes one object.
async fn gateway_call(
    http: &reqwest::Client,
    gateway: &str,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, String)],
    key: Option<&str>,
) -> Result<serde_json::Value> {
    let mut last = String::new();
    for n in 0..100u64 {
        let mut req = http
            .request(method.clone(), format!("{gateway}{path}"))
            .bearer_auth(DEFAULT_SECRET_KEY);
        if !form.is_empty() {
            req = req.form(form);
        }
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => {
                if let Ok(v) = r.json::<serde_json::Value>().await {
                    return Ok(v);
                }
            }
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                bail!(
                    "{method} {path}: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                );
            }
            Ok(r) => last = r.status().to_string(),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(20 * n.min(25) + 20)).await;
    }
    bail!("{method} {path}: the gateway kept failing ({last})")
}

/// Every object of a gateway list endpoint (`path` may carry a query), paged.
async fn gateway_list(
    http: &reqwest::Client,
    gateway: &str,
    path: &str,
) -> Result<Vec<serde_json::Value>> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    loop {
        let url = format!(
            "{path}{sep}limit=100{}",
            after
                .as_deref()
                .map(|a| format!("&starting_after={a}"))
                .unwrap_or_default()
        );
        let page = gateway_call(http, gateway, reqwest::Method::GET, &url, &[], None)
            .await
            .with_context(|| format!("list {path}"))?;
        let items = page["data"].as_array().cloned().unwrap_or_default();
        after = items
            .last()
            .and_then(|i| i["id"].as_str())
            .map(str::to_owned);
        all.extend(items);
        if page["has_more"] != true || after.is_none() {
            return Ok(all);
        }
    }
}

/// Moves the test clock to `to` (unix seconds): the gateway renews what falls due on the way.
/// Read first on each try, since an advance whose answer was lost has happened.
async fn advance_clock(http: &reqwest::Client, gateway: &str, clock: &str, to: i64) -> Result<()> {
    let path = format!("/v1/test_helpers/test_clocks/{clock}");
    for _ in 0..200 {
        let c = gateway_call(http, gateway, reqwest::Method::GET, &path, &[], None).await?;
        let at = c["frozen_time"].as_i64().unwrap_or(0);
        if at >= to && c["status"] == "ready" {
            return Ok(());
        }
        if at < to && c["status"] != "advancing" {
            let _ = gateway_call(
                http,
                gateway,
                reqwest::Method::POST,
                &format!("{path}/advance"),
                &[("frozen_time", to.to_string())],
                None,
            )
            .await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the test clock did not reach {to}")
}

/// Waits (bounded) until the outbox holds `n` mails.
async fn wait_mails(outbox: &Path, n: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let have = std::fs::read_dir(outbox).map_or(0, |d| d.count() as u64);
        if have >= n || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// SIGKILLs host `which` and starts it again on its port.
async fn kill_and_restart(
    h: &mut HostProcess,
    bin: &Path,
    config: &Path,
    log: &Path,
) -> Result<()> {
    if let Some(mut child) = h.child.take() {
        // SIGKILL, mid-whatever it was doing.
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    h.child = Some(start_host(bin, config, h.port, log).await?);
    Ok(())
}

async fn soak_async(cmd: &SoakCommand, bin: &Path, dir: &Path, db: &str) -> Result<()> {
    let started = Instant::now();
    let (gateway_faults, webhook_faults) = profile(&cmd.faults)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(64)
        .build()?;

    // The balancer's and the hosts' ports first: the gateway delivers to the balancer.
    let lb_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let lb_url = format!("http://{}", lb_listener.local_addr()?);
    let gw_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let gateway = format!("http://{}", gw_listener.local_addr()?);
    let gw_config = Config {
        webhooks: vec![WebhookEndpoint {
            url: format!("{lb_url}/webhooks/gateway"),
            secret: "whsec_soak".into(),
        }],
        retry: RetryPolicy {
            first_delay_ms: 1_000,
            scale: 0.1,
            max_attempts: 60,
            timeout_ms: 30_000,
        },
        faults: gateway_faults,
        ..Config::default()
    };
    let gw_state = AppState::new(
        gw_config,
        paywidget_sandbox::store::Store::open(":memory:")
            .await
            .map_err(|e| anyhow::anyhow!("sandbox store: {e}"))?,
        gateway.clone(),
    );
    tokio::spawn(async move {
        let _ = paywidget_sandbox::serve(gw_listener, gw_state).await;
    });

    // The monthly gifts' test clock, frozen at the start.
    let clock_start = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
    )?;
    let clock = gateway_call(
        &http,
        &gateway,
        reqwest::Method::POST,
        "/v1/test_helpers/test_clocks",
        &[
            ("frozen_time", clock_start.to_string()),
            ("name", "soak".to_owned()),
        ],
        Some(&format!("soak-clock-{}", cmd.seed)),
    )
    .await
    .context("create the test clock")?;
    let clock = clock["id"]
        .as_str()
        .context("a test clock without an id")?
        .to_owned();
    let config_path = dir.join("paywidget.toml");
    std::fs::write(&config_path, host_config(&gateway, dir, db, &clock))?;
    let log = dir.join("hosts.log");
    let mut hosts = Vec::new();
    for _ in 0..cmd.hosts {
        let port = free_port()?;
        let child = start_host(bin, &config_path, port, &log).await?;
        hosts.push(HostProcess {
            port,
            child: Some(child),
        });
    }
    let webhook_counts = Arc::new(lb::WebhookCounts::default());
    tokio::spawn(lb::serve(
        lb_listener,
        hosts
            .iter()
            .map(|h| format!("http://127.0.0.1:{}", h.port))
            .collect(),
        webhook_faults,
        cmd.seed,
        webhook_counts.clone(),
    ));
    println!(
        "soak: {} checkouts, {} host(s) on {}, faults {}, seed {}, {} kill(s); logs in {}",
        cmd.checkouts,
        cmd.hosts,
        cmd.db,
        cmd.faults,
        cmd.seed,
        cmd.kills,
        dir.display()
    );

    // Drive, with kills at seeded points of the progress.
    let target = Arc::new(driver::Target {
        http: http.clone(),
        lb: lb_url.clone(),
        gateway: gateway.clone(),
        publishable_key: DEFAULT_PUBLISHABLE_KEY.into(),
        seed: cmd.seed,
    });
    let done = Arc::new(AtomicU64::new(0));
    let mut plan_rng = Rng::new(cmd.seed ^ 0xdead);
    let mut kill_points: Vec<(u64, usize)> = (0..cmd.kills)
        .map(|_| {
            (
                cmd.checkouts / 10 + plan_rng.below(cmd.checkouts * 8 / 10 + 1),
                usize::try_from(plan_rng.below(cmd.hosts as u64)).unwrap_or(0),
            )
        })
        .collect();
    kill_points.sort_unstable();
    let drive = {
        let (target, done) = (target.clone(), done.clone());
        let (n, concurrency) = (cmd.checkouts, cmd.concurrency);
        tokio::spawn(async move {
            let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
            let mut tasks = Vec::new();
            for i in 0..n {
                let permit = sem.clone().acquire_owned().await.expect("semaphore");
                let (target, done) = (target.clone(), done.clone());
                tasks.push(tokio::spawn(async move {
                    let c = target.checkout(i).await;
                    done.fetch_add(1, Ordering::Relaxed);
                    drop(permit);
                    c
                }));
            }
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap_or_default());
            }
            out
        })
    };
    let mut kills_done = 0;
    let mut last_print = Instant::now();
    while !drive.is_finished() {
        let now_done = done.load(Ordering::Relaxed);
        if let Some(&(at, which)) = kill_points.get(kills_done) {
            if now_done >= at {
                let h = &mut hosts[which];
                println!(
                    "  killing host {which} (port {}) after {now_done} checkouts",
                    h.port
                );
                kill_and_restart(h, bin, &config_path, &log).await?;
                kills_done += 1;
            }
        }
        if last_print.elapsed() > Duration::from_secs(10) {
            println!(
                "  {now_done}/{} checkouts done, {:.0} s",
                cmd.checkouts,
                started.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let checkouts = drive.await?;
    let driven = started.elapsed();

    // Settle: every paid checkout fulfilled (webhooks, their retries), within a bound.
    let paid: Vec<String> = checkouts
        .iter()
        .filter(|c| c.succeeded)
        .filter_map(|c| c.session.clone())
        .collect();
    let settle_deadline = Instant::now() + Duration::from_secs(180);
    let mut unfulfilled = paid.clone();
    while !unfulfilled.is_empty() && Instant::now() < settle_deadline {
        let mut still = Vec::new();
        for s in &unfulfilled {
            let status = match http.get(format!("{lb_url}/api/sessions/{s}")).send().await {
                Ok(r) => r.json::<serde_json::Value>().await.ok(),
                Err(_) => None,
            };
            if status
                .as_ref()
                .map(|v| v["status"] != "fulfilled")
                .unwrap_or(true)
            {
                still.push(s.clone());
            }
        }
        unfulfilled = still;
        if !unfulfilled.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    let fulfilled = started.elapsed();

    // Renewals: the test clock a month on, RENEWALS times (a host killed after the first).
    let monthly_paid = checkouts
        .iter()
        .filter(|c| c.succeeded && c.monthly)
        .count() as i64;
    let once_paid = paid.len() as i64 - monthly_paid;
    for r in 1..=RENEWALS {
        advance_clock(&http, &gateway, &clock, clock_start + r * A_MONTH).await?;
        println!(
            "  test clock advanced {} days: {monthly_paid} monthly gifts renew",
            r * A_MONTH / 86_400
        );
        if r == 1 && cmd.kills > 0 {
            let which = usize::try_from(plan_rng.below(cmd.hosts as u64)).unwrap_or(0);
            println!("  killing host {which} while the renewals' webhooks arrive");
            kill_and_restart(&mut hosts[which], bin, &config_path, &log).await?;
            kills_done += 1;
        }
    }
    // Every gift, first or renewal, is one receipt mail.
    let expected = u64::try_from(once_paid + monthly_paid * (1 + RENEWALS))?;
    wait_mails(&dir.join("outbox"), expected, Duration::from_secs(180)).await;
    let settled = started.elapsed();

    // Every checkout's last key once more: an outcome, never a key stuck in progress.
    let mut stuck_resends = 0u64;
    for c in &checkouts {
        if let (Some(s), Some((pm, key))) = (&c.session, &c.last) {
            let mut retries = 0;
            let again = target
                .pay(
                    s,
                    pm,
                    key,
                    "10.255.255.255",
                    &mut retries,
                    Duration::from_secs(60),
                )
                .await;
            if !matches!(again, Ok(Some(_))) {
                stuck_resends += 1;
            }
        }
    }

    // Reconciliation, as an operator would run it (through the gateway's faults).
    let mut report: Option<Report> = None;
    for _ in 0..5 {
        let out = tokio::process::Command::new(bin)
            .args(["host", "--config"])
            .arg(&config_path)
            .args(["reconcile", "--since", "1d", "--until"])
            // The renewals' invoices are dated by the test clock, up to RENEWALS months on.
            .arg((clock_start + (RENEWALS + 1) * A_MONTH).to_string())
            .args(["--grace", "0", "--json"])
            .env("RUST_LOG", "error")
            .output()
            .await?;
        if let Ok(r) = serde_json::from_slice::<Report>(&out.stdout) {
            report = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let report = report.context("paywidget host reconcile gave no report")?;

    // Charges at the gateway: one-time ones by session; subscriptions' by their invoices.
    let pis = gateway_list(&http, &gateway, "/v1/payment_intents").await?;
    let succeeded: Vec<&serde_json::Value> =
        pis.iter().filter(|p| p["status"] == "succeeded").collect();
    let charges = succeeded.len() as u64;
    let mut charges_by_session: BTreeMap<String, u64> = BTreeMap::new();
    for pi in &succeeded {
        if let Some(s) = pi["metadata"]["session_id"].as_str() {
            *charges_by_session.entry(s.to_owned()).or_insert(0) += 1;
        }
    }
    let invoices = gateway_list(&http, &gateway, "/v1/invoices").await?;
    // A second paid invoice for one period of one subscription, or a second subscription paid
    // for one session, is a double charge too.
    let mut paid_periods: BTreeMap<(String, String, i64), u64> = BTreeMap::new();
    let mut subscriptions_by_session: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for inv in invoices.iter().filter(|i| i["status"] == "paid") {
        let details = &inv["parent"]["subscription_details"];
        let sub = details["subscription"].as_str().unwrap_or("-").to_owned();
        if let Some(s) = details["metadata"]["session_id"].as_str() {
            subscriptions_by_session
                .entry(s.to_owned())
                .or_default()
                .insert(sub.clone());
        }
        let period = inv["lines"]["data"][0]["period"]["start"]
            .as_i64()
            .or(inv["period_start"].as_i64())
            .unwrap_or(0);
        let reason = inv["billing_reason"].as_str().unwrap_or("").to_owned();
        *paid_periods.entry((sub, reason, period)).or_insert(0) += 1;
    }
    let renewals_paid = invoices
        .iter()
        .filter(|i| i["status"] == "paid" && i["billing_reason"] == "subscription_cycle")
        .count() as u64;
    let double_charges: u64 = charges_by_session
        .values()
        .chain(paid_periods.values())
        .map(|n| n.saturating_sub(1))
        .sum::<u64>()
        + subscriptions_by_session
            .values()
            .map(|subs| subs.len().saturating_sub(1) as u64)
            .sum::<u64>();
    let mails = std::fs::read_dir(dir.join("outbox")).map_or(0, |d| d.count() as u64);
    let class = |c: Class| report.rows.iter().filter(|r| r.class == c).count() as u64;
    let matched = class(Class::Match);
    let missing = class(Class::MissingFulfilment) + unfulfilled.len() as u64;
    let orphans = class(Class::OrphanCharge);
    let good_declined: u64 = checkouts.iter().map(|c| u64::from(c.good_declined)).sum();
    let gave_up: Vec<&String> = checkouts
        .iter()
        .filter_map(|c| c.gave_up.as_ref())
        .collect();
    let stuck = report.audit.stuck_keys + stuck_resends;
    let duplicate_fulfilments = mails.saturating_sub(report.audit.receipt_numbers)
        + class(Class::Duplicate).saturating_sub(double_charges);
    for h in &mut hosts {
        if let Some(mut c) = h.child.take() {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
    }

    let w = &webhook_counts;
    let retries: u64 = checkouts.iter().map(|c| u64::from(c.retries)).sum();
    println!(
        "\nsoak result (seed {}, {} host(s) on {}, faults {})",
        cmd.seed, cmd.hosts, cmd.db, cmd.faults
    );
    let rows: Vec<(&str, String, bool)> = vec![
        ("checkouts", cmd.checkouts.to_string(), true),
        (
            "  paid / declined to the end / gave up",
            format!(
                "{} / {} / {}",
                paid.len(),
                checkouts
                    .iter()
                    .filter(|c| !c.succeeded && c.gave_up.is_none())
                    .count(),
                gave_up.len()
            ),
            gave_up.is_empty(),
        ),
        ("  pay retries (same key)", retries.to_string(), true),
        (
            "  of them monthly gifts paid / renewals paid at the gateway",
            format!("{monthly_paid} / {renewals_paid}"),
            renewals_paid == u64::try_from(monthly_paid * RENEWALS)?,
        ),
        (
            "charges at the gateway (first gifts and renewals)",
            charges.to_string(),
            charges == expected,
        ),
        (
            "fulfilments (checkouts)",
            report.audit.fulfilments.to_string(),
            report.audit.fulfilments == paid.len() as u64,
        ),
        (
            "receipt numbers issued",
            report.audit.receipt_numbers.to_string(),
            report.audit.receipt_numbers == expected,
        ),
        ("receipts mailed", mails.to_string(), mails == expected),
        (
            "double charges",
            double_charges.to_string(),
            double_charges == 0,
        ),
        (
            "duplicate fulfilments",
            duplicate_fulfilments.to_string(),
            duplicate_fulfilments == 0,
        ),
        ("missing fulfilments", missing.to_string(), missing == 0),
        ("orphan charges", orphans.to_string(), orphans == 0),
        (
            "receipt-number gaps",
            report.audit.receipt_gaps.to_string(),
            report.audit.receipt_gaps == 0,
        ),
        (
            "good cards reported declined",
            good_declined.to_string(),
            good_declined == 0,
        ),
        (
            "keys stuck in progress after settling",
            stuck.to_string(),
            stuck == 0,
        ),
        (
            "reconciliation",
            format!(
                "{matched} of {} match ({:.1} %)",
                report.rows.len(),
                if report.rows.is_empty() {
                    100.0
                } else {
                    matched as f64 * 100.0 / report.rows.len() as f64
                }
            ),
            report.clean(),
        ),
        (
            "webhooks: delivered / dropped / delayed / duplicated / ack lost",
            format!(
                "{} / {} / {} / {} / {}",
                w.delivered.load(Ordering::Relaxed),
                w.dropped.load(Ordering::Relaxed),
                w.delayed.load(Ordering::Relaxed),
                w.duplicated.load(Ordering::Relaxed),
                w.lost_acks.load(Ordering::Relaxed)
            ),
            true,
        ),
        ("hosts killed and restarted", kills_done.to_string(), true),
        (
            "time: driving / checkouts fulfilled / renewals settled / total",
            format!(
                "{:.1} s / {:.1} s / {:.1} s / {:.1} s",
                driven.as_secs_f64(),
                fulfilled.as_secs_f64(),
                settled.as_secs_f64(),
                started.elapsed().as_secs_f64()
            ),
            true,
        ),
        (
            "throughput (session + pay + fulfilment)",
            format!(
                "{:.1} checkouts/s",
                cmd.checkouts as f64 / fulfilled.as_secs_f64()
            ),
            true,
        ),
    ];
    let mut failed = Vec::new();
    for (name, value, ok) in &rows {
        println!("  {:<4} {name:<64} {value}", if *ok { "" } else { "FAIL" });
        if !ok {
            failed.push(*name);
        }
    }
    for g in gave_up.iter().take(5) {
        println!("  gave up: {g}");
    }
    if !report.clean() {
        print!("{}", report.table());
    }
    if !failed.is_empty() {
        bail!("soak failed: {}", failed.join(", "));
    }
    println!("PASS");
    Ok(())
}
