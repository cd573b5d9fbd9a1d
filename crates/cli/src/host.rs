//! `paywidget host --config paywidget.toml`: runs the checkout host.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use paywidget_host::config::HostConfig;

/// `paywidget host …`
#[derive(Args, Debug)]
pub(crate) struct HostArgs {
    /// The configuration file (see examples/nonprofit/paywidget.toml).
    #[arg(long, default_value = "paywidget.toml")]
    config: PathBuf,
    /// Overrides `server.addr`.
    #[arg(long)]
    addr: Option<SocketAddr>,
    #[command(subcommand)]
    command: Option<HostCommand>,
}

/// What else `paywidget host` does besides serving.
#[derive(Subcommand, Debug)]
enum HostCommand {
    /// Call each merchant's gateway with the configured keys and say what is wrong.
    CheckGateway {
        /// Only this merchant (default: all).
        #[arg(long)]
        merchant: Option<String>,
    },
    /// Print a one-time sign-in link to the merchant's dashboard (first setup; works once, for
    /// 15 minutes): for `--email`, or the merchant's first owner.
    AdminLink {
        /// The merchant's id.
        #[arg(long)]
        merchant: String,
        /// A staff address of that merchant (default: its first owner).
        #[arg(long)]
        email: Option<String>,
    },
    /// Compare the gateway's charges with the host's sessions and fulfilments, fulfil succeeded
    /// payments whose webhook never came, print a table; exits 1 unless everything matches.
    Reconcile {
        /// Window start: a unix time, or how long ago (`90s`, `30m`, `24h`, `7d`). Default 24h.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Window end, the same way (default now).
        #[arg(long)]
        until: Option<String>,
        /// Leave charges younger than this to their webhooks (default 10m; 0 judges all).
        #[arg(long, default_value = "10m")]
        grace: String,
        /// Only report: fulfil nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
}

/// `90s`, `30m`, `24h`, `7d` (or plain seconds) as seconds.
fn seconds(text: &str) -> Result<i64> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = digits
        .parse()
        .with_context(|| format!("{text:?}: expected e.g. 90s, 30m, 24h, 7d"))?;
    let per = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => anyhow::bail!("{text:?}: the unit must be s, m, h or d"),
    };
    Ok(n * per)
}

/// `paywidget host reconcile`.
async fn reconcile(
    config: HostConfig,
    since: &str,
    until: Option<&str>,
    grace: &str,
    repair: bool,
    json: bool,
) -> Result<bool> {
    let now = paywidget_host::system_now().now();
    // A unix time (nine digits or more) is taken as is; anything else is "this long ago".
    let at = |t: &str| -> Result<i64> {
        if t.len() >= 9 && t.chars().all(|c| c.is_ascii_digit()) {
            Ok(t.parse()?)
        } else {
            Ok(now - seconds(t)?)
        }
    };
    let options = paywidget_host::billing::reconcile::Options {
        since: at(since)?,
        until: until.map(at).transpose()?.unwrap_or(now + 1),
        grace_secs: seconds(grace)?,
        repair,
    };
    let public = format!("http://{}", config.server.addr);
    let state = paywidget_host::open(config, public, paywidget_host::system_now()).await?;
    let report = paywidget_host::billing::reconcile::run(&state, &options)
        .await
        .map_err(|e| anyhow::anyhow!("reconciliation failed: {e}"))?;
    // Receipts and keys that repairs queued go out before this one-shot command ends (a
    // serving host's relay would send them in the background).
    paywidget_host::mail::send_outbox(&state).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(report.clean())
}

/// `paywidget host admin-link`: a one-time dashboard sign-in link on stdout.
async fn admin_link(config: HostConfig, merchant: &str, email: Option<&str>) -> Result<()> {
    use paywidget_host::config::Role;
    let m = config
        .merchant(merchant)
        .with_context(|| format!("no merchant {merchant:?} in the configuration"))?;
    let member = match email {
        Some(e) => {
            let e = e.trim().to_lowercase();
            m.staff
                .iter()
                .find(|s| s.email.to_string() == e)
                .with_context(|| format!("{e} is not on {merchant}'s staff list"))?
        }
        None => m
            .staff
            .iter()
            .find(|s| s.role == Role::Owner)
            .with_context(|| {
                format!("{merchant} lists no owner: add [[merchants.staff]] email = \"…\", role = \"owner\"")
            })?,
    }
    .email
    .to_string();
    let public = config
        .server
        .public_url
        .as_ref()
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("http://{}", config.server.addr));
    let state = paywidget_host::open(config, public, paywidget_host::system_now()).await?;
    let link = paywidget_host::portal::one_time_link(
        &state,
        paywidget_host::portal::Realm::Staff,
        &member,
    )
    .await
    .map_err(|e| anyhow::anyhow!("could not make the link: {e}"))?;
    println!("{link}");
    eprintln!("(one use, 15 minutes, for {member})");
    Ok(())
}

/// `paywidget host check-gateway`: one line per finding; fails when any is a problem.
async fn check_gateway(config: &HostConfig, only: Option<&str>) -> Result<()> {
    let http = paywidget_host::gateway_client(config)?;
    let merchants: Vec<_> = config
        .merchants
        .iter()
        .filter(|m| only.is_none_or(|id| m.id == id))
        .collect();
    anyhow::ensure!(
        !merchants.is_empty(),
        "no merchant {:?} in the configuration",
        only.unwrap_or_default()
    );
    let mut problems = 0;
    for m in merchants {
        println!("{} ({})", m.name, m.id);
        for f in paywidget_host::config::check::check_merchant(&http, m).await {
            println!("  {} {}", if f.ok { "ok     " } else { "PROBLEM" }, f.what);
            problems += usize::from(!f.ok);
        }
    }
    anyhow::ensure!(problems == 0, "{problems} problem(s) found");
    Ok(())
}

pub(crate) async fn run(args: HostArgs) -> Result<()> {
    // Logs on stderr: stdout is for what a command answers (`reconcile --json` is parsed).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("read {}", args.config.display()))?;
    let config = HostConfig::parse(&text, |k| std::env::var(k).ok())
        .with_context(|| format!("invalid configuration in {}", args.config.display()))?;
    match &args.command {
        Some(HostCommand::CheckGateway { merchant }) => {
            return check_gateway(&config, merchant.as_deref()).await;
        }
        Some(HostCommand::Reconcile {
            since,
            until,
            grace,
            dry_run,
            json,
        }) => {
            let clean = reconcile(config, since, until.as_deref(), grace, !dry_run, *json).await?;
            anyhow::ensure!(clean, "reconciliation found charges that do not match");
            return Ok(());
        }
        Some(HostCommand::AdminLink { merchant, email }) => {
            return admin_link(config, merchant, email.as_deref()).await;
        }
        None => {}
    }
    let addr = args.addr.unwrap_or(config.server.addr);
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("listen on {addr}"))?;
    let local = listener.local_addr()?;
    let tls = config.server.tls.clone();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = config
        .server
        .public_url
        .as_ref()
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("{scheme}://{local}"));
    let campaigns: Vec<String> = config.campaigns.iter().map(|c| c.id.clone()).collect();
    let dist = config.server.dist.clone();
    let state =
        paywidget_host::open(config, public_url.clone(), paywidget_host::system_now()).await?;
    let _reconciler = paywidget_host::spawn_reconciler(state.clone());
    println!("paywidget host listening on {public_url}");
    println!("  campaigns        {}", campaigns.join(", "));
    println!("  webhook endpoint {public_url}/webhooks/gateway");
    if !dist.join("index.html").is_file() {
        println!(
            "  note: no checkout pages at {} (run `trunk build --release`)",
            dist.display()
        );
    }
    let serving = async {
        match &tls {
            Some(files) => paywidget_host::serve_tls(listener, state, files).await,
            None => {
                listener.set_nonblocking(true)?;
                let listener = tokio::net::TcpListener::from_std(listener)?;
                paywidget_host::serve(listener, state).await
            }
        }
    };
    tokio::select! {
        r = serving => r.context("serve")?,
        _ = tokio::signal::ctrl_c() => println!("stopping."),
    }
    Ok(())
}
