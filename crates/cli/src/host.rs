//! `paywidget host --config paywidget.toml`: runs the checkout host.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
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
}

pub(crate) async fn run(args: HostArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("read {}", args.config.display()))?;
    let config = HostConfig::parse(&text, |k| std::env::var(k).ok())
        .with_context(|| format!("invalid configuration in {}", args.config.display()))?;
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
