//! The card-testing attack simulator behind `cargo xtask attack`: a bot testing cards against
//! the checkout host + sandbox — from one address, then from a 20-address botnet (each client
//! named by `X-Forwarded-For` from a trusted proxy, a test setting), each fast and slow — while
//! genuine donors pay in parallel (a few of them in headless Chromium on the release build).
//! It prints what reached the gateway (counted at the gateway), how the donors fared, how soon
//! the shield reacted and what the merchant would have paid, and exits 1 when a target is missed.
//!
//! Run it through `cargo xtask attack [--attempts 1000] [--donors 50] [--browsers 3] [--seed 1]`,
//! which builds the release `dist/` the browsers need first.

#[cfg(not(target_arch = "wasm32"))]
mod bot;
#[cfg(not(target_arch = "wasm32"))]
mod browser;
#[cfg(not(target_arch = "wasm32"))]
mod burst;
#[cfg(not(target_arch = "wasm32"))]
mod client;
#[cfg(not(target_arch = "wasm32"))]
mod donor;
#[cfg(not(target_arch = "wasm32"))]
mod gateway;
#[cfg(not(target_arch = "wasm32"))]
mod plan;
#[cfg(not(target_arch = "wasm32"))]
mod report;

/// Nothing to simulate in a browser: the example is native.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    // The host's errors (a 5xx's cause) on stderr, beside the report.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::ERROR)
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match report::Options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n\n{}", report::USAGE);
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("start tokio: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(report::run(options)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("attack simulation failed: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
