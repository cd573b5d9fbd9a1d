//! `paywidget sandbox`: run the gateway, or talk to a running one (refund, dispute, deliveries).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use paywidget_sandbox::faults::FaultSettings;
use paywidget_sandbox::store::Store;
use paywidget_sandbox::{AppState, Config, RetryPolicy, WebhookEndpoint};
use serde::Deserialize;

/// `paywidget sandbox …`
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SandboxArgs {
    #[command(subcommand)]
    command: Option<SandboxCommand>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum SandboxCommand {
    /// Refund a payment intent (all of it, or --amount minor units).
    Refund {
        /// The payment intent id (`pi_…`).
        payment_intent: String,
        /// Minor units to refund; default: what is left.
        #[arg(long)]
        amount: Option<i64>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Open a dispute on a succeeded payment intent (sends `charge.dispute.created`).
    Dispute {
        /// The payment intent id (`pi_…`).
        payment_intent: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Show the webhook delivery log (attempts, status, next retry).
    Deliveries {
        #[command(flatten)]
        remote: Remote,
    },
    /// Move a test clock forward: every renewal, retry and expiry due in between runs, in
    /// order (see the renewals and failed payments it caused with `deliveries`).
    AdvanceClock {
        /// The test clock (`clock_…`; `paywidget demo` prints the demo's).
        clock: String,
        /// Days to move forward.
        #[arg(long, default_value_t = 31)]
        days: u32,
        #[command(flatten)]
        remote: Remote,
    },
}

/// Where the running sandbox is.
#[derive(Args, Debug)]
struct Remote {
    /// The sandbox's base URL.
    #[arg(long, default_value = "http://127.0.0.1:12111")]
    url: String,
    /// Its secret key.
    #[arg(long, default_value = paywidget_sandbox::DEFAULT_SECRET_KEY)]
    secret_key: String,
}

/// Options of the server; each may also come from `--config FILE` (flags win).
#[derive(Args, Debug, Default)]
struct ServeArgs {
    /// A TOML file with any of the settings below (see README "Sandbox gateway").
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (loopback by default; port 0 picks a free one).
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// SQLite database file, or `:memory:`.
    #[arg(long)]
    db: Option<String>,
    /// The secret key (`sk_test_…`).
    #[arg(long)]
    secret_key: Option<String>,
    /// The publishable key (`pk_test_…`).
    #[arg(long)]
    publishable_key: Option<String>,
    /// A webhook endpoint URL (repeatable; pair each with --webhook-secret).
    #[arg(long = "webhook")]
    webhooks: Vec<String>,
    /// The signing secret of the --webhook at the same position (`whsec_…`).
    #[arg(long = "webhook-secret")]
    webhook_secrets: Vec<String>,
    /// Multiplies the webhook retry schedule (1 min, 2 min, 4 min …); 0.001 for tests.
    #[arg(long)]
    retry_scale: Option<f64>,
    /// Fault injection: milliseconds added to every API request.
    #[arg(long)]
    fault_latency_ms: Option<u64>,
    /// Fault injection: fraction of API requests answered 500 without effect.
    #[arg(long)]
    fault_error_rate: Option<f64>,
    /// Fault injection: fraction of API requests whose effect is committed but response lost.
    #[arg(long)]
    fault_lost_response_rate: Option<f64>,
    /// Fault injection: fraction of API requests answered 429 (rate_limit) without effect.
    #[arg(long)]
    fault_rate_limit_rate: Option<f64>,
    /// Trust this extra CA certificate (PEM) for HTTPS webhook endpoints, e.g. a checkout host
    /// on HTTPS with a self-signed certificate (repeatable).
    #[arg(long = "webhook-ca-file", value_name = "PEM")]
    webhook_ca_files: Vec<std::path::PathBuf>,
    /// Days after a renewal's first failure on which it is retried, e.g. `1,3,5,7` (the default).
    #[arg(long, value_delimiter = ',', value_name = "DAYS")]
    retry_days: Option<Vec<i64>>,
    /// What a subscription becomes when the last retry fails: `cancel` (default) or `unpaid`.
    #[arg(long, value_parser = ["cancel", "unpaid"])]
    after_retries: Option<String>,
    /// Days before each renewal that `invoice.upcoming` is sent (default 7, as Stripe's; 0: none).
    #[arg(long, value_name = "DAYS")]
    upcoming_days: Option<i64>,
}

/// The TOML config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    addr: Option<SocketAddr>,
    db: Option<String>,
    secret_key: Option<String>,
    publishable_key: Option<String>,
    #[serde(default)]
    webhooks: Vec<WebhookEndpoint>,
    retry: Option<RetryPolicy>,
    faults: Option<FaultSettings>,
    billing: Option<paywidget_sandbox::billing::BillingSettings>,
}

pub(crate) async fn run(args: SandboxArgs) -> Result<()> {
    match args.command {
        None => serve(args.serve).await,
        Some(SandboxCommand::Refund {
            payment_intent,
            amount,
            remote,
        }) => {
            let mut form = vec![("payment_intent", payment_intent)];
            if let Some(a) = amount {
                form.push(("amount", a.to_string()));
            }
            let body = call(&remote, reqwest::Method::POST, "/v1/refunds", Some(&form)).await?;
            println!(
                "refunded {} {} ({})",
                body["amount"],
                body["currency"].as_str().unwrap_or(""),
                body["id"].as_str().unwrap_or("")
            );
            Ok(())
        }
        Some(SandboxCommand::Dispute {
            payment_intent,
            remote,
        }) => {
            let path = format!("/_sandbox/payment_intents/{payment_intent}/dispute");
            let body = call(&remote, reqwest::Method::POST, &path, Some(&[])).await?;
            println!(
                "opened dispute {} on {}",
                body["id"].as_str().unwrap_or(""),
                body["charge"].as_str().unwrap_or("")
            );
            Ok(())
        }
        Some(SandboxCommand::AdvanceClock {
            clock,
            days,
            remote,
        }) => {
            let path = format!("/v1/test_helpers/test_clocks/{clock}");
            let before = call(&remote, reqwest::Method::GET, &path, None).await?;
            let from = before["frozen_time"]
                .as_i64()
                .with_context(|| format!("{clock} has no frozen_time"))?;
            let to = from + i64::from(days) * 86_400;
            let form = vec![("frozen_time", to.to_string())];
            call(
                &remote,
                reqwest::Method::POST,
                &format!("{path}/advance"),
                Some(&form),
            )
            .await?;
            // Advancing may take a moment: wait for `ready`, showing that it is working.
            for _ in 0..600 {
                let now = call(&remote, reqwest::Method::GET, &path, None).await?;
                if now["status"] == "ready" {
                    println!(
                        "{clock} moved {days} days forward, to {} (UTC)",
                        paywidget_host::mail::civil_date(to)
                    );
                    return Ok(());
                }
                eprintln!("advancing… ({})", now["status"].as_str().unwrap_or("?"));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            bail!("{clock} did not finish advancing within a minute")
        }
        Some(SandboxCommand::Deliveries { remote }) => {
            let body = call(&remote, reqwest::Method::GET, "/_sandbox/deliveries", None).await?;
            let rows = body["data"].as_array().cloned().unwrap_or_default();
            println!(
                "{:<6} {:<32} {:<34} {:<10} {:>8} {:>6}  url / last error",
                "id", "event", "type", "status", "attempts", "last"
            );
            for r in &rows {
                println!(
                    "{:<6} {:<32} {:<34} {:<10} {:>8} {:>6}  {} {}",
                    r["id"],
                    r["event_id"].as_str().unwrap_or(""),
                    r["event_type"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["attempts"],
                    r["last_status"]
                        .as_i64()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    r["url"].as_str().unwrap_or(""),
                    r["last_error"].as_str().unwrap_or(""),
                );
            }
            println!("{} deliveries", rows.len());
            Ok(())
        }
    }
}

async fn call(
    remote: &Remote,
    method: reqwest::Method,
    path: &str,
    form: Option<&[(&str, String)]>,
) -> Result<serde_json::Value> {
    let url = format!("{}{path}", remote.url.trim_end_matches('/'));
    let mut req = reqwest::Client::new()
        .request(method, &url)
        .bearer_auth(&remote.secret_key);
    if let Some(form) = form {
        req = req.form(form);
    }
    let resp = req
        .send()
        .await
        .with_context(|| format!("reach the sandbox at {url} (is it running?)"))?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.context("read the sandbox's answer")?;
    if !status.is_success() {
        bail!(
            "{status}: {}",
            body["error"]["message"].as_str().unwrap_or("unknown error")
        );
    }
    Ok(body)
}

async fn serve(args: ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let file: FileConfig = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("parse {}", path.display()))?
        }
        None => FileConfig::default(),
    };
    if args.webhooks.len() != args.webhook_secrets.len() {
        bail!(
            "give one --webhook-secret for each --webhook (got {} and {})",
            args.webhooks.len(),
            args.webhook_secrets.len()
        );
    }
    let mut webhooks = file.webhooks;
    webhooks.extend(
        args.webhooks
            .into_iter()
            .zip(args.webhook_secrets)
            .map(|(url, secret)| WebhookEndpoint { url, secret }),
    );
    let mut retry = file.retry.unwrap_or_default();
    if let Some(scale) = args.retry_scale {
        retry.scale = scale;
    }
    let mut faults = file.faults.unwrap_or_default();
    if let Some(v) = args.fault_latency_ms {
        faults.latency_ms = v;
    }
    if let Some(v) = args.fault_error_rate {
        faults.error_rate = v;
    }
    if let Some(v) = args.fault_lost_response_rate {
        faults.lost_response_rate = v;
    }
    if let Some(v) = args.fault_rate_limit_rate {
        faults.rate_limit_rate = v;
    }
    faults.validate().map_err(anyhow::Error::msg)?;
    let config = Config {
        secret_key: args
            .secret_key
            .or(file.secret_key)
            .unwrap_or_else(|| paywidget_sandbox::DEFAULT_SECRET_KEY.into()),
        publishable_key: args
            .publishable_key
            .or(file.publishable_key)
            .unwrap_or_else(|| paywidget_sandbox::DEFAULT_PUBLISHABLE_KEY.into()),
        webhooks,
        retry,
        faults,
        billing: {
            let mut b = file.billing.unwrap_or_default();
            if let Some(days) = args.retry_days {
                b.retry_days = days;
            }
            match args.after_retries.as_deref() {
                Some("unpaid") => {
                    b.after_retries = paywidget_sandbox::billing::AfterRetries::Unpaid
                }
                Some("cancel") => {
                    b.after_retries = paywidget_sandbox::billing::AfterRetries::Cancel
                }
                _ => {}
            }
            if let Some(days) = args.upcoming_days {
                b.upcoming_days = days;
            }
            if !(0..=60).contains(&b.upcoming_days) {
                bail!("--upcoming-days must be whole days from 0 to 60 (Stripe offers up to 60)");
            }
            if b.retry_days.iter().any(|d| *d < 1) || !b.retry_days.windows(2).all(|w| w[0] < w[1])
            {
                bail!("--retry-days must be increasing whole days of at least 1, e.g. 1,3,5,7");
            }
            b
        },
        webhook_ca_pems: args
            .webhook_ca_files
            .iter()
            .map(|f| std::fs::read(f).with_context(|| format!("--webhook-ca-file {}", f.display())))
            .collect::<Result<_>>()?,
    };
    if !config.secret_key.starts_with("sk_test_") || !config.publishable_key.starts_with("pk_test_")
    {
        bail!("the sandbox is test mode only: keys must start with sk_test_ and pk_test_");
    }
    let addr = args
        .addr
        .or(file.addr)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 12111)));
    let db = args
        .db
        .or(file.db)
        .unwrap_or_else(|| "sandbox.sqlite".into());
    let store = Store::open(&db)
        .await
        .with_context(|| format!("open the database {db}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listen on {addr}"))?;
    let local = listener.local_addr()?;
    let base_url = format!("http://{local}");
    println!("paywidget sandbox listening on {base_url}");
    println!("  secret key       {}", config.secret_key);
    println!("  publishable key  {}", config.publishable_key);
    println!("  database         {db}");
    for w in &config.webhooks {
        println!("  webhook          {}", w.url);
    }
    if config.faults != FaultSettings::default() {
        println!("  faults           {:?}", config.faults);
    }
    let state = AppState::new(config, store, base_url);
    tokio::select! {
        r = paywidget_sandbox::serve(listener, state) => r.context("serve")?,
        _ = tokio::signal::ctrl_c() => println!("stopping."),
    }
    Ok(())
}
