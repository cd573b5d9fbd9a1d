//! `cargo xtask demo`: builds the release widget, serves it and runs the sandbox gateway on
//! 127.0.0.1 until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{bail, Context, Result};
use tower_http::services::ServeDir;

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
    let app = axum::Router::new().fallback_service(ServeDir::new(&dist));
    // The sandbox gateway, with its state in target/demo/ so it survives restarts of the demo.
    let demo_dir = crate::root().join("target").join("demo");
    std::fs::create_dir_all(&demo_dir).context("create target/demo")?;
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
    let config = paywidget_sandbox::Config::default();
    let (sk, pk) = (config.secret_key.clone(), config.publishable_key.clone());
    let state = paywidget_sandbox::AppState::new(config, store, format!("http://{sandbox_addr}"));
    tokio::spawn(paywidget_sandbox::serve(sandbox_listener, state));

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("bind {addr} (in use? try `cargo xtask demo --port 8081`)"))?;
    println!("\npaywidget demo is running:");
    println!("  checkout page    http://{addr}/");
    println!("  sandbox gateway  http://{sandbox_addr}  (secret key {sk}, publishable key {pk})");
    println!("                   state in {}", db.display());
    println!("\nPress Ctrl-C to stop.");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            println!("\nstopping.");
        })
        .await
        .context("serve the demo")
}
