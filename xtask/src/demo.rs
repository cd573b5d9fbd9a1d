//! `cargo xtask demo`: builds the release widget and serves it on 127.0.0.1 until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{bail, Context, Result};
use tower_http::services::ServeDir;

use crate::tools::Tools;
use crate::widget;

const DEFAULT_PORT: u16 = 8080;

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
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("bind {addr} (in use? try `cargo xtask demo --port 8081`)"))?;
    println!("\npaywidget demo is running:");
    println!("  checkout page  http://{addr}/");
    println!("\nPress Ctrl-C to stop.");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            println!("\nstopping.");
        })
        .await
        .context("serve the demo")
}
