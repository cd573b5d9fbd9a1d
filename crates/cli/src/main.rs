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
    /// The checkout host's port.
    #[arg(long, default_value_t = 8080)]
    host_port: u16,
    /// The sandbox gateway's port.
    #[arg(long, default_value_t = 12111)]
    sandbox_port: u16,
    /// The nonprofit demo site's port.
    #[arg(long, default_value_t = 8081)]
    nonprofit_port: u16,
    /// The licence seller demo site's port.
    #[arg(long, default_value_t = 8082)]
    licence_port: u16,
    /// Also allow this origin to show the checkouts in an overlay (repeatable), e.g. your own
    /// page on http://localhost:3000 with the snippet pasted in.
    #[arg(long = "allow-origin")]
    allow_origins: Vec<String>,
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
            Command::Demo(a) => {
                let options = paywidget_cli::demo::Options {
                    host_port: a.host_port,
                    sandbox_port: a.sandbox_port,
                    nonprofit_port: a.nonprofit_port,
                    licence_port: a.licence_port,
                    extra_origins: a.allow_origins,
                    ..paywidget_cli::demo::Options::defaults(&a.root)
                };
                paywidget_cli::demo::run(options).await
            }
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
