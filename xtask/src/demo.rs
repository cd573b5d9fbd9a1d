//! `cargo xtask demo`: builds the release widget, serves it and runs the sandbox gateway on
//! 127.0.0.1 until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{bail, Context, Result};

use crate::tools::Tools;
use crate::widget;

const DEFAULT_PORT: u16 = 8080;
/// Where the demo's sandbox gateway listens (the port `paywidget sandbox` uses by default).
const SANDBOX_PORT: u16 = 12111;

pub fn run(args: &[String]) -> Result<()> {
    let port = parse_port(args)?;
    let tools = Tools::ensure()?;
    println!("building the release widget…");
    let dist = widget::build_release(&tools)?;
    let runtime = tokio::runtime::Runtime::new().context("start tokio")?;
    runtime.block_on(serve(dist, port))
}

fn parse_port(args: &[String]) -> Result<u16> {
    match args {
        [] => Ok(DEFAULT_PORT),
        [flag, value] if flag == "--port" => value
            .parse()
            .with_context(|| format!("--port {value}: not a port number")),
        _ => bail!("usage: cargo xtask demo [--port N]"),
    }
}

async fn serve(dist: std::path::PathBuf, port: u16) -> Result<()> {
    let root = crate::root();
    let demo_dir = root.join("target").join("demo");
    std::fs::create_dir_all(&demo_dir).context("create target/demo")?;
    let host_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let host_url = format!("http://{host_addr}");

    // The sandbox gateway, delivering its webhooks to the host; state survives demo restarts.
    let db = demo_dir.join("sandbox.sqlite");
    let store = paywidget_sandbox::store::Store::open(&db.to_string_lossy())
        .await
        .with_context(|| format!("open {}", db.display()))?;
    let sandbox_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, SANDBOX_PORT));
    let sandbox_listener = tokio::net::TcpListener::bind(sandbox_addr)
        .await
        .with_context(|| {
            format!("bind {sandbox_addr} for the sandbox gateway (is another sandbox running?)")
        })?;
    let config = paywidget_sandbox::Config {
        webhooks: vec![paywidget_sandbox::WebhookEndpoint {
            url: format!("{host_url}/webhooks/gateway"),
            secret: "whsec_paywidget_demo".into(),
        }],
        // Retries in seconds rather than minutes, so a demo host restart catches up quickly.
        retry: paywidget_sandbox::RetryPolicy {
            scale: 0.02,
            ..Default::default()
        },
        ..Default::default()
    };
    let (sk, pk) = (config.secret_key.clone(), config.publishable_key.clone());
    let sandbox = paywidget_sandbox::AppState::new(config, store, format!("http://{sandbox_addr}"));
    tokio::spawn(paywidget_sandbox::serve(sandbox_listener, sandbox));

    // The checkout host with the demo campaigns, serving the release widget under its CSP.
    let text = std::fs::read_to_string(root.join("examples/demo/paywidget.toml"))
        .context("read examples/demo/paywidget.toml")?;
    let mut config = paywidget_host::config::HostConfig::parse(&text, |k| std::env::var(k).ok())
        .context("examples/demo/paywidget.toml")?;
    config.server.addr = host_addr;
    config.server.db = demo_dir.join("host.sqlite").to_string_lossy().into_owned();
    config.server.outbox = demo_dir.join("outbox");
    config.server.dist = dist;
    let campaigns: Vec<String> = config.campaigns.iter().map(|c| c.id.clone()).collect();
    let outbox = config.server.outbox.clone();
    let listener = tokio::net::TcpListener::bind(host_addr)
        .await
        .with_context(|| {
            format!("bind {host_addr} (in use? try `cargo xtask demo --port 8081`)")
        })?;
    let host = paywidget_host::open(config, host_url.clone(), paywidget_host::system_now())
        .await
        .context("start the checkout host")?;

    println!("\npaywidget demo is running (loopback only):");
    println!("  checkout page    {host_url}/");
    for c in &campaigns {
        println!("  campaign         {host_url}/api/campaigns/{c}");
    }
    println!("  sandbox gateway  http://{sandbox_addr}  (secret key {sk}, publishable key {pk})");
    println!(
        "  state            {}  (emails in {})",
        demo_dir.display(),
        outbox.display()
    );
    println!("\nPress Ctrl-C to stop.");
    axum::serve(
        listener,
        paywidget_host::router(host).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
        println!("\nstopping.");
    })
    .await
    .context("serve the demo")
}
