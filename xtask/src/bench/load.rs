//! The bench's host throughput and latency: a small tokio load generator against `paywidget host`
//! processes and the sandbox gateway (`paywidget sandbox`), both of the `server` profile, on
//! loopback. Each checkout is what a
//! shopper's page does: create the session, tokenize the card at the gateway, pay through the
//! host, then ask the session until the gateway's webhook has fulfilled it (the receipt exists).
//! Measured: confirmations per second at saturation (closed loop, many shoppers at once) and the
//! latency from the session's creation to its confirmation at fixed arrival rates (open loop).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use paywidget_core::api::{
    Frequency, NewSession, PayRequest, PaymentMethodCreated, SessionCreated, SessionProgress,
};
use paywidget_sandbox::DEFAULT_PUBLISHABLE_KEY;
use serde::Serialize;

use crate::chaos;

/// Shoppers at once for the saturation phase.
const SATURATION_SHOPPERS: usize = 48;

/// Latency at one arrival rate.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AtRate {
    /// Checkouts started per second.
    pub(crate) rate: u32,
    /// Started.
    pub(crate) started: u64,
    /// Confirmed (fulfilled) before the phase's end plus its drain.
    pub(crate) confirmed: u64,
    /// Failed (an error answer, or not confirmed in time).
    pub(crate) failed: u64,
    /// Median session → confirmation, ms.
    pub(crate) p50_ms: f64,
    /// 99th percentile, ms.
    pub(crate) p99_ms: f64,
}

/// One setup's figures.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LoadFigures {
    /// `sqlite` or `postgres`.
    pub(crate) db: String,
    /// Host processes (behind the soak's round-robin balancer when more than one).
    pub(crate) hosts: u32,
    /// Confirmations per second with [`SATURATION_SHOPPERS`] shoppers at once.
    pub(crate) saturation_per_s: f64,
    /// Median latency at saturation, ms.
    pub(crate) saturation_p50_ms: f64,
    /// 99th percentile at saturation, ms.
    pub(crate) saturation_p99_ms: f64,
    /// Fixed-rate phases.
    pub(crate) at_rates: Vec<AtRate>,
    /// The `perf` profile's top lines of the saturated host (when `perf` could record).
    pub(crate) profile: Vec<String>,
}

/// Where the shoppers go.
struct Shop {
    http: reqwest::Client,
    entry: String,
    gateway: String,
    ip_seq: AtomicU64,
}

impl Shop {
    /// One checkout to its confirmation: `Ok(latency)` or why it failed.
    async fn checkout(&self, i: u64) -> Result<Duration, String> {
        let started = Instant::now();
        let n = self.ip_seq.fetch_add(1, Ordering::Relaxed);
        let ip = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
        let new = NewSession {
            campaign: "winter".into(),
            amount: Some(500 + 100 * i64::try_from(i % 50).unwrap_or(0)),
            cover_fee: false,
            email: Some(format!("load{i}@example.org")),
            name: None,
            frequency: Frequency::OneTime,
            tier: None,
            currency: None,
        };
        let r = self
            .http
            .post(format!("{}/api/sessions", self.entry))
            .header("x-forwarded-for", &ip)
            .json(&new)
            .send()
            .await
            .map_err(|e| format!("session: {e}"))?;
        if r.status().as_u16() != 201 {
            return Err(format!("session: {}", r.status()));
        }
        let session: SessionCreated = r.json().await.map_err(|e| format!("session: {e}"))?;
        let pm: PaymentMethodCreated = self
            .http
            .post(format!("{}/v1/payment_methods", self.gateway))
            .bearer_auth(DEFAULT_PUBLISHABLE_KEY)
            .form(&[
                ("type", "card"),
                // The sandbox's documented test card that pays (never a real card).
                ("card[number]", "4242424242424242"),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2040"),
                ("card[cvc]", "123"),
            ])
            .send()
            .await
            .map_err(|e| format!("tokenize: {e}"))?
            .json()
            .await
            .map_err(|e| format!("tokenize: {e}"))?;
        let pay = PayRequest {
            payment_method: Some(pm.id),
            confirmation_token: None,
            idempotency_key: format!("load-{i}-{n}"),
            proof: None,
        };
        let r = self
            .http
            .post(format!("{}/api/sessions/{}/pay", self.entry, session.id))
            .header("x-forwarded-for", &ip)
            .json(&pay)
            .send()
            .await
            .map_err(|e| format!("pay: {e}"))?;
        if !r.status().is_success() {
            return Err(format!("pay: {}", r.status()));
        }
        // The confirmation page's question, held by the host until the webhook has fulfilled
        // the payment (`?wait`), asked again if the wait ran out.
        let deadline = started + Duration::from_secs(30);
        loop {
            let progress: SessionProgress = self
                .http
                .get(format!("{}/api/sessions/{}?wait=5", self.entry, session.id))
                .send()
                .await
                .map_err(|e| format!("status: {e}"))?
                .json()
                .await
                .map_err(|e| format!("status: {e}"))?;
            if progress.status.is_confirmed() {
                return Ok(started.elapsed());
            }
            if progress.status.is_settled() || Instant::now() > deadline {
                return Err(format!("not confirmed: {}", progress.status.as_str()));
            }
        }
    }
}

/// The `q` quantile of `sorted` (ms).
fn quantile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[at.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Starts `hosts` host processes of `bin` on `db` with the sandbox (this process), runs the
/// saturation phase and each rate for `seconds`, and stops them.
pub(crate) async fn run(
    bin: &Path,
    dir: &Path,
    db: &str,
    db_name: &str,
    hosts: u32,
    seconds: u64,
    rates: &[u32],
) -> Result<LoadFigures> {
    std::fs::create_dir_all(dir)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()?;
    let entry_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let entry_port = entry_listener.local_addr()?.port();
    // One host is the entry itself (its port is handed over); more: the soak's balancer.
    let entry = format!("http://127.0.0.1:{entry_port}");
    let webhook_to = format!("{entry}/webhooks/gateway");
    // The gateway is the sandbox of the same optimised binary, in its own process: the
    // generator (this process) must not share the sandbox's time, nor slow it down with a
    // debug build.
    let gw_port = chaos::free_port()?;
    let gateway = format!("http://127.0.0.1:{gw_port}");
    let mut sandbox = tokio::process::Command::new(bin)
        .args([
            "sandbox",
            "--addr",
            &format!("127.0.0.1:{gw_port}"),
            "--db",
            ":memory:",
        ])
        .args(["--webhook", &webhook_to, "--webhook-secret", "whsec_soak"])
        .args(["--retry-scale", "0.01"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("start the sandbox")?;
    let ready = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", gw_port))
        .await
        .is_err()
    {
        anyhow::ensure!(Instant::now() < ready, "the sandbox did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let config = dir.join("paywidget.toml");
    // No test clock: one-time gifts only.
    std::fs::write(
        &config,
        chaos::host_config(&gateway, dir, db, "").replace("test_clock = \"\"\n", ""),
    )?;
    let log = dir.join("hosts.log");
    let mut children = Vec::new();
    let mut ports = Vec::new();
    if hosts == 1 {
        drop(entry_listener);
        children.push(chaos::start_host(bin, &config, entry_port, &log).await?);
        ports.push(entry_port);
    } else {
        for _ in 0..hosts {
            let port = chaos::free_port()?;
            children.push(chaos::start_host(bin, &config, port, &log).await?);
            ports.push(port);
        }
        tokio::spawn(chaos::lb::serve(
            entry_listener,
            ports
                .iter()
                .map(|p| format!("http://127.0.0.1:{p}"))
                .collect(),
            chaos::lb::WebhookFaults::default(),
            1,
            Arc::new(chaos::lb::WebhookCounts::default()),
        ));
    }
    let shop = Arc::new(Shop {
        http,
        entry,
        gateway,
        ip_seq: AtomicU64::new(1),
    });
    // Warm up: connections, the database's first pages, the host's caches.
    for i in 0..20 {
        shop.checkout(i)
            .await
            .map_err(|e| anyhow::anyhow!("warm-up checkout failed: {e} (see {})", log.display()))?;
    }
    let seq = Arc::new(AtomicU64::new(1_000));

    // Saturation: a closed loop of shoppers for `seconds`, profiled by perf meanwhile.
    let perf_out = dir.join("perf.data");
    let perf = std::process::Command::new("perf")
        .args(["record", "-g", "-F", "199", "-o"])
        .arg(&perf_out)
        .arg("-p")
        .arg(children[0].id().map(|p| p.to_string()).unwrap_or_default())
        .arg("--")
        .args(["sleep", &seconds.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..SATURATION_SHOPPERS {
        let (shop, seq) = (shop.clone(), seq.clone());
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            while Instant::now() < until {
                let i = seq.fetch_add(1, Ordering::Relaxed);
                if let Ok(latency) = shop.checkout(i).await {
                    if Instant::now() <= until {
                        done.push(latency);
                    }
                }
            }
            done
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap_or_default());
    }
    latencies.sort();
    let saturation_per_s = latencies.len() as f64 / seconds as f64;
    let profile = match perf {
        Some(mut p) => {
            let _ = p.wait();
            profile_top(&perf_out)
        }
        None => vec!["perf could not record here".to_owned()],
    };
    let mut figures = LoadFigures {
        db: db_name.to_owned(),
        hosts,
        saturation_per_s,
        saturation_p50_ms: quantile(&latencies, 0.5),
        saturation_p99_ms: quantile(&latencies, 0.99),
        at_rates: Vec::new(),
        profile,
    };

    // Fixed rates: an open loop (a checkout starts every 1/rate s whatever the others do).
    for &rate in rates {
        let mut tasks = Vec::new();
        let started_at = Instant::now();
        let total = u64::from(rate) * seconds;
        for k in 0..total {
            let due = started_at + Duration::from_secs_f64(k as f64 / f64::from(rate));
            tokio::time::sleep_until(due.into()).await;
            let (shop, i) = (shop.clone(), seq.fetch_add(1, Ordering::Relaxed));
            tasks.push(tokio::spawn(async move { shop.checkout(i).await }));
        }
        let mut ok = Vec::new();
        let mut failed = 0;
        for t in tasks {
            match t.await {
                Ok(Ok(latency)) => ok.push(latency),
                _ => failed += 1,
            }
        }
        ok.sort();
        figures.at_rates.push(AtRate {
            rate,
            started: total,
            confirmed: ok.len() as u64,
            failed,
            p50_ms: quantile(&ok, 0.5),
            p99_ms: quantile(&ok, 0.99),
        });
    }
    for mut child in children {
        let _ = child.kill().await;
    }
    let _ = sandbox.kill().await;
    Ok(figures)
}

/// The heaviest symbols of the saturated host (`perf report`, self time).
fn profile_top(data: &Path) -> Vec<String> {
    let out = std::process::Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "--sort",
            "symbol",
            "-i",
        ])
        .arg(data)
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains('%') && !l.trim_start().starts_with('|'))
            .filter(|l| !l.trim_start().starts_with("---"))
            .take(15)
            .map(|l| l.trim().chars().take(140).collect())
            .collect(),
        Ok(o) => vec![format!(
            "perf report failed: {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .unwrap_or_default()
        )],
        Err(e) => vec![format!("perf report failed: {e}")],
    }
}

/// Builds the host binary with the `server` profile (speed, not size); returns its path.
pub(crate) fn build_host(tools: &crate::tools::Tools) -> Result<std::path::PathBuf> {
    crate::tools::run(tools.command("cargo").args([
        "build",
        "--quiet",
        "--profile",
        "server",
        "-p",
        "paywidget-cli",
    ]))
    .context("build the host (server profile)")?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| crate::root().join("target"), std::path::PathBuf::from);
    Ok(target.join("server").join("paywidget"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sorted_latencies() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&ms, 0.5), 51.0);
        assert_eq!(quantile(&ms, 0.99), 99.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
