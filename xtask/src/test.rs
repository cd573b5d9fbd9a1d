//! `cargo xtask test`: every check CI runs, stage by stage, with a timed summary.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::tools::{self, Tools, CHROMEDRIVER};
use crate::widget;

/// A stage's name and how long it took (or how far it got before failing).
struct Summary {
    rows: Vec<(&'static str, Duration, bool)>,
}

impl Summary {
    fn stage(&mut self, name: &'static str, f: impl FnOnce() -> Result<()>) -> Result<()> {
        println!("\n==> {name}");
        let start = Instant::now();
        let result = f();
        let took = start.elapsed();
        self.rows.push((name, took, result.is_ok()));
        println!(
            "<== {name}: {} in {:.1}s",
            if result.is_ok() { "ok" } else { "FAILED" },
            took.as_secs_f64()
        );
        result.with_context(|| format!("stage `{name}` failed"))
    }

    fn print(&self, total: Duration) {
        println!("\nxtask test summary");
        for (name, took, ok) in &self.rows {
            println!(
                "  {:<8} {name:<38} {:>7.1}s",
                if *ok { "ok" } else { "FAILED" },
                took.as_secs_f64()
            );
        }
        println!("  {:<8} {:<38} {:>7.1}s", "", "total", total.as_secs_f64());
    }
}

pub(crate) fn run() -> Result<()> {
    let start = Instant::now();
    let mut summary = Summary { rows: Vec::new() };
    let result = stages(&mut summary);
    summary.print(start.elapsed());
    result
}

fn cargo(tools: &Tools, args: &[&str]) -> Command {
    let mut cmd = tools.command("cargo");
    cmd.args(args);
    cmd
}

fn stages(summary: &mut Summary) -> Result<()> {
    let mut tools = None;
    summary.stage("tools", || {
        tools = Some(Tools::ensure()?);
        Ok(())
    })?;
    let tools = tools.expect("set by the tools stage");
    let t = &tools;

    summary.stage("fmt", || {
        tools::run(&mut cargo(t, &["fmt", "--all", "--", "--check"]))
    })?;
    summary.stage(
        "architecture: no host module cycle, no JSON indexing",
        crate::arch::check,
    )?;
    summary.stage("clippy (native)", || {
        tools::run(&mut cargo(
            t,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ))
    })?;
    summary.stage("clippy (wasm32)", || {
        tools::run(&mut cargo(
            t,
            &[
                "clippy",
                "-p",
                "paywidget-widget",
                "-p",
                "paywidget-core",
                "-p",
                "paywidget-example-leptos-site",
                "--all-targets",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ],
        ))
    })?;
    summary.stage("native tests", || {
        // The widget's end-to-end tests need the release build: they run in their own stage.
        tools::run(&mut cargo(
            t,
            &["test", "--workspace", "--exclude", "paywidget-widget"],
        ))?;
        tools::run(&mut cargo(
            t,
            &["test", "-p", "paywidget-widget", "--lib", "--bins"],
        ))
    })?;
    summary.stage("host suite on PostgreSQL", || {
        // The same integration suite again, every host on its own database of a throwaway
        // cluster (stopped and removed when this stage ends, pass or fail).
        let cluster = crate::pg::PgCluster::start(300)?;
        tools::run(
            cargo(t, &["test", "-p", "paywidget-host", "--test", "host"])
                .env("PAYWIDGET_TEST_POSTGRES", &cluster.url),
        )
    })?;
    summary.stage(
        "soak: 300 checkouts, 2 hosts on PostgreSQL, faults, 2 kills",
        || crate::chaos::run_fast(t),
    )?;
    summary.stage("Stripe.js calls match @stripe/stripe-js", || {
        // Every Stripe.js call of the checkout is in src/gateway_fields.js: tsc checks it
        // against the published types (names, options, result shapes).
        tools::run(
            t.command(&t.tsc.to_string_lossy())
                .args(["-p", "tests/stripe-js/tsconfig.json"]),
        )
    })?;
    summary.stage("stripe-python drives the sandbox", || {
        tools::run(&mut cargo(t, &["build", "--quiet", "-p", "paywidget-cli"]))?;
        let root = crate::root();
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        tools::run(
            t.command(&t.python.to_string_lossy())
                .arg(root.join("crates/sandbox/tests/compat/stripe_python.py"))
                .arg(target.join("debug").join("paywidget"))
                .env("PAYWIDGET_FIDELITY_OUT", {
                    // Only what this run captures is checked.
                    let out = fidelity_objects();
                    let _ = std::fs::remove_file(&out);
                    out
                }),
        )
    })?;
    summary.stage("sandbox objects match stripe-node's declarations", || {
        // What stripe-python captured above, field by field against the pinned API version's
        // types (tests/stripe-node/fidelity.mjs).
        let root = crate::root();
        let checker = root.join("tests/stripe-node/fidelity.mjs");
        let modules = root.join(".tools/stripe-types/node_modules");
        tools::run(
            t.command("node")
                .arg(&checker)
                .arg(fidelity_objects())
                .arg(&modules),
        )?;
        // The check can fail: a copy with a field of Stripe's taken out and one of ours added
        // must be refused, naming both.
        let mut objects: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fidelity_objects())?)?;
        let pi = objects
            .get_mut("PaymentIntent")
            .and_then(serde_json::Value::as_object_mut)
            .context("stripe-python captured no PaymentIntent")?;
        pi.remove("status");
        pi.insert("colour".into(), "blue".into());
        let broken = fidelity_objects().with_file_name("broken.json");
        std::fs::write(&broken, objects.to_string())?;
        let out = t
            .command("node")
            .arg(&checker)
            .arg(&broken)
            .arg(&modules)
            .output()?;
        let said = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(
            !out.status.success()
                && said.contains("PaymentIntent.status: missing")
                && said.contains("PaymentIntent.colour: not in Stripe's type"),
            "the fidelity check let a broken payment intent through:\n{said}"
        );
        Ok(())
    })?;
    summary.stage("standardwebhooks verifies the outgoing webhooks", || {
        // The host test records what its receiver got; the specification's own Python
        // library then verifies it (signatures, rotation, retry, replay), independently of
        // the host's code.
        let root = crate::root();
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let capture = target.join("tmp").join("hooks-capture.json");
        std::fs::create_dir_all(capture.parent().expect("a folder"))?;
        let _ = std::fs::remove_file(&capture);
        tools::run(
            cargo(
                t,
                &[
                    "test",
                    "-p",
                    "paywidget-host",
                    "--test",
                    "host",
                    "hooks::webhooks_are_signed_retried_rotated_replayed_and_never_sent_inside",
                ],
            )
            .env("PAYWIDGET_HOOKS_CAPTURE", &capture),
        )?;
        tools::run(
            t.command(&t.python.to_string_lossy())
                .arg(root.join("crates/host/tests/compat/standard_webhooks.py"))
                .arg(&capture),
        )
    })?;
    summary.stage("wasm tests (headless Chromium)", || {
        // The test runner leaves Chromium profiles in TMPDIR: give it a private one and remove it.
        let tmp = private_tmp("wasm-tests")?;
        let result = tools::run(
            cargo(
                t,
                &[
                    "test",
                    "-p",
                    "paywidget-widget",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--test",
                    "components",
                ],
            )
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .env("TMPDIR", &tmp),
        );
        let _ = std::fs::remove_dir_all(&tmp);
        result
    })?;
    summary.stage("release build + size budget", || {
        let dist = widget::build_release(t)?;
        crate::size::report(&dist)
    })?;
    summary.stage("e2e (release build, phone viewport)", || {
        let tmp = private_tmp("e2e")?;
        let result = tools::run(
            cargo(
                t,
                &[
                    "test",
                    "-p",
                    "paywidget-widget",
                    "--test",
                    "e2e",
                    "--test",
                    "checkout",
                    "--test",
                    "embed",
                ],
            )
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .env("TMPDIR", &tmp),
        );
        let _ = std::fs::remove_dir_all(&tmp);
        result
    })?;
    Ok(())
}

/// A fresh, empty temporary folder under `target/tmp/`.
fn private_tmp(name: &str) -> Result<PathBuf> {
    let dir = crate::root().join("target").join("tmp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    Ok(dir)
}

/// Where the stripe-python stage leaves the sandbox objects it captured.
fn fidelity_objects() -> PathBuf {
    let dir = crate::root().join("target").join("tmp").join("fidelity");
    let _ = std::fs::create_dir_all(&dir);
    dir.join("objects.json")
}
