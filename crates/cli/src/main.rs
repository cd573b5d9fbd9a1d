//! The `paywidget` command line: `paywidget sandbox` runs the Stripe-compatible test gateway
//! (`paywidget sandbox refund|dispute|deliveries` script a running one); `paywidget host` runs
//! the checkout host; `paywidget demo` runs the whole system with the demo merchants' sites.

mod host;
mod sandbox;

use clap::{Parser, Subcommand};

/// paywidget: embeddable pay/donate checkout.
#[derive(Parser, Debug)]
#[command(name = "paywidget", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the sandbox gateway (a stateful, Stripe-compatible test-mode API), or script one.
    Sandbox(Box<sandbox::SandboxArgs>),
    /// Run the checkout host (campaigns, sessions, charging, webhooks, fulfilment).
    Host(host::HostArgs),
    /// Run the whole demo on 127.0.0.1: sandbox, host and two merchant sites (needs a release `dist/`).
    Demo(DemoArgs),
}

/// `paywidget demo …` (run from the repository root, after `cargo xtask demo` or a release build).
#[derive(clap::Args, Debug)]
struct DemoArgs {
    #[command(flatten)]
    flags: paywidget_cli::demo::DemoFlags,
    /// The repository root (dist/, examples/, target/demo/).
    #[arg(long, default_value = ".")]
    root: std::path::PathBuf,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("paywidget: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Sandbox(args) => sandbox::run(*args).await,
            Command::Host(args) => host::run(args).await,
            Command::Demo(a) => paywidget_cli::demo::run(a.flags.options(&a.root)).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paywidget: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
