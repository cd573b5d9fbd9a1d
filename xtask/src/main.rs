//! `cargo xtask`: developer tasks (bootstrap tools, test, demo, size, attack, soak, bench), one idempotent command each.

mod arch;
mod attack;
mod bench;
mod chaos;
mod demo;
mod pg;
mod size;
mod test;
mod tools;
mod widget;

use std::path::PathBuf;
use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <task>

Tasks:
  demo              build the release widget, then run on 127.0.0.1 until Ctrl-C: the sandbox gateway
                    (12111), the checkout host (8080) and the demo merchant sites (8081, 8082);
                    --host-port, --sandbox-port, --nonprofit-port, --licence-port N override
  test              fmt, clippy (native + wasm32), native tests, wasm tests in headless Chromium,
                    the Trunk release build and end-to-end browser tests against it
  size [--why]      build the release widget and print raw / gzip -9 / brotli sizes of what a browser downloads
                    (--why: twiggy's biggest items of each wasm binary)
  attack            simulate card testing against the host + sandbox (a bot from one IP, then a 20-IP botnet,
                    each fast and slow) while genuine donors pay (a few in headless Chromium on the release
                    build); prints what reached the gateway, donors who succeeded or saw a challenge, time to
                    detection and the merchant's fees; fails when a target is missed. --attempts 1000,
                    --donors 50, --browsers 3, --seed 1, --shield key=value,… (other shield settings)
  soak              exactly once under faults: the sandbox with its faults on, --hosts host processes on one
                    database (--db postgres|sqlite) behind a load balancer that also drops, delays, duplicates
                    and reorders webhooks, --checkouts paid with the page's retry rules, hosts SIGKILLed and
                    restarted (--kills); then settles, reconciles and prints double charges, duplicate/missing
                    fulfilments, orphans, receipt gaps, good cards declined, stuck keys (all must be 0).
                    --checkouts 300, --hosts 2, --db postgres, --faults default|none, --seed 1, --kills 3,
                    --concurrency 32, --release
  bench             measure beside the peers, into target/bench/report.md and report.json: sizes of every
                    page, Lighthouse (mobile, slow 4G, 4x and 12x CPU, medians of --runs 3) on each form variant
                    and on Braintree's Drop-in and Adyen's Card built from npm, browser interaction timings
                    (--samples 20), host throughput and latency (--seconds 10 a phase) on SQLite and PostgreSQL
                    with 1 and 2 hosts, with a perf profile; --no-lighthouse, --no-interactions, --no-load
  arch              check the host's rooms: no cycle between its top-level folders, no JSON indexing
                    outside gateway/ (also a stage of `test`)
  setup             only install what is missing (wasm32 target, Trunk, wasm-bindgen-cli, wasm-opt, Chromium)

Every task first installs what is missing and skips what is present.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]),
        Some("test") => test::run(),
        Some("size") => size::run(&args[1..]),
        Some("attack") => attack::run(&args[1..]),
        Some("soak") => chaos::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("setup") => tools::Tools::ensure().map(|_| ()),
        Some("arch") => arch::check(),
        Some("-h" | "--help" | "help") | None => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(anyhow::anyhow!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}
