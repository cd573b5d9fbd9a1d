//! The `paywidget` command line: `paywidget sandbox` runs the Stripe-compatible test gateway
//! (`paywidget sandbox refund|dispute|deliveries` script a running one); `paywidget host` runs
//! the checkout host.

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
