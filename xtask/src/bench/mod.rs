//! `cargo xtask bench`: our pages measured beside the peers', in one run on this machine, into
//! `target/bench/report.md` and `report.json`: sizes (raw / gzip / brotli) of every page a
//! shopper loads, Lighthouse (mobile, simulated slow 4G, 4× and 12× CPU, medians of runs) on
//! each form variant and on the peers' pages built from npm, interaction timings in headless
//! Chromium (the e2e suite's `bench_interaction_timings`), and the host's throughput and latency
//! under a load generator on SQLite and PostgreSQL with one and two hosts, with a `perf` profile
//! of the saturated host.

mod lighthouse;
mod load;
mod peers;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use paywidget_core::api::FormVariant;
use paywidget_sandbox::{
    AppState, Config, WebhookEndpoint, DEFAULT_PUBLISHABLE_KEY, DEFAULT_SECRET_KEY,
};
use serde::Serialize;

use crate::size::Sizes;
use crate::tools::Tools;

/// `cargo xtask bench` options.
#[derive(clap::Parser, Debug)]
#[command(
    name = "cargo xtask bench",
    about = "Measure our pages and host beside the peers'"
)]
struct BenchCommand {
    /// Lighthouse runs per page and CPU slowdown (medians are reported).
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Seconds of each load phase (saturation, then each fixed rate).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Samples of each browser interaction timing.
    #[arg(long, default_value_t = 20)]
    samples: u32,
    /// Skip Lighthouse.
    #[arg(long)]
    no_lighthouse: bool,
    /// Skip the load test.
    #[arg(long)]
    no_load: bool,
    /// Skip the browser interaction timings.
    #[arg(long)]
    no_interactions: bool,
    /// Load test on SQLite only (no PostgreSQL cluster).
    #[arg(long)]
    no_postgres: bool,
    /// Only the load test (no widget, pages, peers, Lighthouse or browser timings): prints its
    /// table and writes `target/bench/load.json`; for working on the host's throughput.
    #[arg(long, conflicts_with = "no_load")]
    load_only: bool,
    /// Use the `dist/` already built (by `cargo xtask size` or a bench before) instead of
    /// building the release widget again (about four minutes).
    #[arg(long)]
    reuse_dist: bool,
}

/// One page's download.
#[derive(Clone, Debug, Serialize)]
struct PageSize {
    page: String,
    what: String,
    files: Vec<(String, Sizes)>,
    total: Sizes,
}

/// One Lighthouse row.
#[derive(Clone, Debug, Serialize)]
struct LighthouseRow {
    page: String,
    ours: bool,
    figures: Vec<lighthouse::Figures>,
}

/// Everything the report says.
#[derive(Debug, Serialize)]
struct Report {
    machine: String,
    note: String,
    started: String,
    seconds: f64,
    sizes: Vec<PageSize>,
    peer_sizes: Vec<PageSize>,
    lighthouse: Vec<LighthouseRow>,
    interactions: Option<serde_json::Value>,
    load: Vec<load::LoadFigures>,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let cmd = <BenchCommand as clap::Parser>::try_parse_from(
        std::iter::once("cargo xtask bench".to_owned()).chain(args.iter().cloned()),
    )?;
    let started = Instant::now();
    let tools = Tools::ensure()?;
    let out = crate::root().join("target").join("bench");
    std::fs::create_dir_all(&out)?;
    if cmd.load_only {
        println!("bench: building the host (server profile)");
        let bin = load::build_host(&tools)?;
        let dir = crate::root().join("target").join("tmp").join("bench");
        let _ = std::fs::remove_dir_all(&dir);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let figures = runtime.block_on(load_all(&cmd, &bin, &dir))?;
        std::fs::write(
            out.join("load.json"),
            serde_json::to_string_pretty(&figures)?,
        )?;
        println!("\n{}", load_markdown(&figures));
        println!(
            "bench: load done in {:.0} s; target/bench/load.json",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let dist = if cmd.reuse_dist {
        let dist = crate::root().join("dist");
        anyhow::ensure!(
            dist.join("index.html").is_file(),
            "--reuse-dist: no dist/ yet (run `cargo xtask size` once)"
        );
        dist
    } else {
        println!("bench: building the release widget");
        crate::widget::build_release(&tools)?
    };
    println!("bench: building the host (server profile)");
    let bin = load::build_host(&tools)?;
    println!("bench: building the peers' pages from npm");
    let peer_pages = peers::build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut report =
        runtime.block_on(async { bench(&cmd, &tools, &dist, &bin, &peer_pages, &out).await })?;
    report.seconds = started.elapsed().as_secs_f64();
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    let md = markdown(&report);
    std::fs::write(out.join("report.md"), &md)?;
    println!("\n{md}");
    println!(
        "bench: done in {:.0} s; target/bench/report.md and report.json",
        report.seconds
    );
    Ok(())
}

/// The machine, as the report names it.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or_else(String::new, |kb| format!(", {} GB RAM", kb / 1_000_000));
    format!("{cpu}, {cores} cores{mem}")
}

/// The pages' host: the sandbox (here) and one `paywidget host` (SQLite) with a campaign of
/// each form variant.
fn pages_config(gateway: &str, dir: &Path, dist: &Path) -> String {
    format!(
        r#"
[server]
dev_secret = true
db = "{db}"
outbox = "{outbox}"
dist = "{dist}"

[[merchants]]
id = "hope"
name = "Hope Shelter"
gateway_url = "{gateway}"
secret_key = "{DEFAULT_SECRET_KEY}"
publishable_key = "{DEFAULT_PUBLISHABLE_KEY}"
webhook_secret = "whsec_bench"
allowed_origins = ["https://hope.example"]

[[merchants]]
id = "stripe"
name = "Hope Shelter (Stripe mode)"
gateway_url = "{gateway}"
secret_key = "{DEFAULT_SECRET_KEY}"
publishable_key = "{DEFAULT_PUBLISHABLE_KEY}"
webhook_secret = "whsec_bench"
card_capture = "gateway_fields"

[[campaigns]]
id = "relief"
merchant = "hope"
kind = "donation"
title = "Flood relief"
currency = "usd"
suggested_amounts = [1000, 2500, 5000, 10000]
min_amount = 500

[[campaigns]]
id = "winter"
merchant = "hope"
kind = "donation"
title = "Winter appeal"
currency = "usd"
suggested_amounts = [1000, 2500, 5000]
min_amount = 500
frequencies = ["one_time", "monthly"]
monthly_prompt = true

[[campaigns]]
id = "pro"
merchant = "hope"
kind = "license"
title = "Acme Pro"
currency = "usd"
price = 4900
license = {{ product = "Acme Pro", seats = 1, validity_days = 365 }}

[[campaigns]]
id = "stripe-gift"
merchant = "stripe"
kind = "donation"
title = "Flood relief"
currency = "usd"
suggested_amounts = [1000, 2500, 5000, 10000]
"#,
        db = dir.join("pages.sqlite").display(),
        outbox = dir.join("outbox").display(),
        dist = dist.display(),
    )
}

/// The pages we measure: (path, what).
fn our_pages() -> Vec<(String, String)> {
    let mut pages: Vec<(String, String)> = [
        ("relief", FormVariant::Once),
        ("winter", FormVariant::Recurring),
        ("pro", FormVariant::Licence),
        ("stripe-gift", FormVariant::Full),
    ]
    .into_iter()
    .map(|(c, v)| (format!("/c/{c}"), format!("form: {} variant", v.name())))
    .collect();
    pages.push(("/portal".into(), "the portal (sign-in)".into()));
    pages
}

async fn bench(
    cmd: &BenchCommand,
    tools: &Tools,
    dist: &Path,
    bin: &Path,
    peer_pages: &[peers::PeerPage],
    out: &Path,
) -> Result<Report> {
    let dir = crate::root().join("target").join("tmp").join("bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let http = reqwest::Client::new();

    // The pages' servers: sandbox here, one host process.
    let gw_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let gateway = format!("http://{}", gw_listener.local_addr()?);
    let host_port = crate::chaos::free_port()?;
    let host = format!("http://127.0.0.1:{host_port}");
    let gw_state = AppState::new(
        Config {
            webhooks: vec![WebhookEndpoint {
                url: format!("{host}/webhooks/gateway"),
                secret: "whsec_bench".into(),
            }],
            ..Config::default()
        },
        paywidget_sandbox::store::Store::open(":memory:")
            .await
            .map_err(|e| anyhow::anyhow!("sandbox store: {e}"))?,
        gateway.clone(),
    );
    tokio::spawn(async move {
        let _ = paywidget_sandbox::serve(gw_listener, gw_state).await;
    });
    let config = dir.join("pages.toml");
    std::fs::write(&config, pages_config(&gateway, &dir, dist))?;
    let mut pages_host =
        crate::chaos::start_host(bin, &config, host_port, &dir.join("pages-host.log")).await?;

    // Sizes: what the host serves (the form pages carry their campaign and first view).
    let mut sizes = Vec::new();
    for (path, what) in our_pages() {
        let html = http
            .get(format!("{host}{path}"))
            .send()
            .await?
            .text()
            .await?;
        let mut files = vec![(path.clone(), Sizes::of(html.as_bytes())?)];
        for name in crate::size::files_of(dist, &html)? {
            let bytes = std::fs::read(dist.join(&name))?;
            files.push((name, Sizes::of(&bytes)?));
        }
        sizes.push(page_size(&path, &what, files));
    }
    sizes.push(page_size(
        "/thanks/:session",
        "the confirmation (a receipt; its stylesheet is the form's, cached)",
        vec![(
            "page".into(),
            Sizes::of(crate::size::sample_confirmation().as_bytes())?,
        )],
    ));
    sizes.push(page_size(
        "merchant page",
        "before a tap: the loader and its stylesheet",
        vec![
            (
                "/v1/embed.js".into(),
                Sizes::of(paywidget_host::http::embed::EMBED_JS.as_bytes())?,
            ),
            (
                "/v1/embed.css".into(),
                Sizes::of(paywidget_host::http::embed::EMBED_CSS.as_bytes())?,
            ),
        ],
    ));
    let once = sizes[0].total.brotli;
    let journey = once + sizes[sizes.len() - 2].total.brotli;
    println!(
        "bench: sizes measured (one-time form {:.1} kB brotli, journey {:.1} kB)",
        once as f64 / 1000.0,
        journey as f64 / 1000.0
    );

    // The peers, served precompressed as a CDN would.
    let mut peer_sizes = Vec::new();
    let mut peer_urls = Vec::new();
    for p in peer_pages {
        let mut files = Vec::new();
        for f in &p.files {
            files.push((f.clone(), Sizes::of(&std::fs::read(p.dir.join(f))?)?));
        }
        peer_sizes.push(page_size(p.name, &p.what, files));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        peer_urls.push((
            p.name.to_owned(),
            format!("http://{}/", listener.local_addr()?),
        ));
        let app = axum::Router::new().fallback_service(
            tower_http::services::ServeDir::new(&p.dir)
                .precompressed_br()
                .precompressed_gzip(),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }

    // Lighthouse on each form variant and each peer, at 4× and 12× CPU.
    let mut rows = Vec::new();
    if !cmd.no_lighthouse {
        let cli = lighthouse::install()?;
        let lh_dir = out.join("lighthouse");
        std::fs::create_dir_all(&lh_dir)?;
        let mut targets: Vec<(String, String, bool)> = our_pages()
            .into_iter()
            .filter(|(p, _)| p.starts_with("/c/"))
            .map(|(p, what)| (format!("{host}{p}"), format!("{p} ({what})"), true))
            .collect();
        targets.extend(peer_urls.iter().map(|(n, u)| (u.clone(), n.clone(), false)));
        for (url, label, ours) in targets {
            let mut figures = Vec::new();
            for cpu in [4, 12] {
                println!("bench: lighthouse {label} at {cpu}× CPU, {} runs", cmd.runs);
                let cli = cli.clone();
                let (url, lh_dir, name) = (url.clone(), lh_dir.clone(), file_label(&label));
                let runs = cmd.runs;
                figures.push(
                    tokio::task::spawn_blocking(move || {
                        lighthouse::measure(&cli, &url, cpu, runs, ours, &lh_dir, &name)
                    })
                    .await??,
                );
            }
            rows.push(LighthouseRow {
                page: label,
                ours,
                figures,
            });
        }
    }
    let _ = pages_host.kill().await;

    // Browser interaction timings (the e2e suite's ignored bench test).
    let interactions = if cmd.no_interactions {
        None
    } else {
        println!(
            "bench: interaction timings in headless Chromium ({} samples)",
            cmd.samples
        );
        let json = out.join("interactions.json");
        let _ = std::fs::remove_file(&json);
        let tmp = crate::root().join("target").join("tmp").join("e2e");
        std::fs::create_dir_all(&tmp)?;
        for (suite, test) in [
            ("checkout", "bench_interaction_timings"),
            ("embed", "bench_tap_to_interactive"),
        ] {
            let status = tools
                .command("cargo")
                .args([
                    "test",
                    "-p",
                    "paywidget-widget",
                    "--test",
                    suite,
                    test,
                    "--",
                ])
                .args(["--ignored", "--exact", "--nocapture"])
                .env("PAYWIDGET_BENCH_OUT", &json)
                .env("PAYWIDGET_BENCH_SAMPLES", cmd.samples.to_string())
                .env("CHROMEDRIVER", "/usr/bin/chromedriver")
                .env("TMPDIR", &tmp)
                .status()
                .with_context(|| format!("run {test}"))?;
            anyhow::ensure!(status.success(), "the interaction timings ({test}) failed");
        }
        let _ = std::fs::remove_dir_all(&tmp);
        Some(serde_json::from_str(&std::fs::read_to_string(&json)?)?)
    };

    // The host under load.
    let load_figures = if cmd.no_load {
        Vec::new()
    } else {
        load_all(cmd, bin, &dir).await?
    };
    Ok(Report {
        machine: machine(),
        note: "All figures come from one shared machine in one run: the load generator, the \
               sandbox gateway, the hosts and the database share its cores, so absolute figures \
               are lower than on dedicated machines; the ratios compare like with like. The \
               peers' figures are lower bounds: their card fields load in frames from their own \
               servers, which this offline run cannot reach."
            .into(),
        // Unix seconds: the report's readers sort and compare runs by it.
        started: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string(),
        seconds: 0.0,
        sizes,
        peer_sizes,
        lighthouse: rows,
        interactions,
        load: load_figures,
    })
}

/// The load test on each database setup: SQLite with one host, PostgreSQL with one and two.
async fn load_all(cmd: &BenchCommand, bin: &Path, dir: &Path) -> Result<Vec<load::LoadFigures>> {
    let rates = [100, 300];
    let mut load_figures = Vec::new();
    println!("bench: load, SQLite, 1 host");
    load_figures.push(
        load::run(
            bin,
            &dir.join("load-sqlite"),
            &dir.join("load-sqlite")
                .join("host.sqlite")
                .display()
                .to_string(),
            "sqlite",
            1,
            cmd.seconds,
            &rates,
        )
        .await?,
    );
    if cmd.no_postgres {
        return Ok(load_figures);
    }
    let cluster = crate::pg::PgCluster::start(120)?;
    for hosts in [1, 2] {
        println!("bench: load, PostgreSQL, {hosts} host(s)");
        let url = format!("{}/bench{hosts}", cluster.url.trim_end_matches("/postgres"));
        load_figures.push(
            load::run(
                bin,
                &dir.join(format!("load-pg-{hosts}")),
                &url,
                "postgres",
                hosts,
                cmd.seconds,
                &rates,
            )
            .await?,
        );
    }
    drop(cluster);
    Ok(load_figures)
}

/// The load test's table and the saturated host's profile.
fn load_markdown(load: &[load::LoadFigures]) -> String {
    let mut md = String::from("\n");
    md.push_str("## Host throughput and latency (session → pay → webhook fulfilment → confirmed)\n\n| db | hosts | saturation /s | p50 ms | p99 ms | rate /s | confirmed/started | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for l in load {
        for a in &l.at_rates {
            md.push_str(&format!(
                "| {} | {} | {:.0} | {:.0} | {:.0} | {} | {}/{} | {:.0} | {:.0} |\n",
                l.db,
                l.hosts,
                l.saturation_per_s,
                l.saturation_p50_ms,
                l.saturation_p99_ms,
                a.rate,
                a.confirmed,
                a.started,
                a.p50_ms,
                a.p99_ms
            ));
        }
    }
    if let Some(first) = load.first() {
        md.push_str(
            "\nProfile of the saturated host (SQLite, `perf record -g`, self time):\n\n```\n",
        );
        for line in &first.profile {
            md.push_str(line);
            md.push('\n');
        }
        md.push_str("```\n");
    }
    md
}

/// A report's file name for `label`.
fn file_label(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn page_size(page: &str, what: &str, files: Vec<(String, Sizes)>) -> PageSize {
    let mut total = Sizes::default();
    for (_, s) in &files {
        total.raw += s.raw;
        total.gzip += s.gzip;
        total.brotli += s.brotli;
    }
    PageSize {
        page: page.to_owned(),
        what: what.to_owned(),
        files,
        total,
    }
}

fn kb(bytes: usize) -> String {
    format!("{:.1} kB", bytes as f64 / 1000.0)
}

/// The report as Markdown: the summary table first, then each part.
fn markdown(r: &Report) -> String {
    let mut md = String::new();
    md.push_str("# paywidget bench\n\n");
    md.push_str(&format!(
        "Machine: {}. Run took {:.0} s.\n\n{}\n\n",
        r.machine, r.seconds, r.note
    ));
    md.push_str("## Sizes (what a browser downloads)\n\n| page | what | raw | gzip -9 | brotli |\n|---|---|---:|---:|---:|\n");
    for p in r.sizes.iter().chain(&r.peer_sizes) {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            p.page,
            p.what,
            kb(p.total.raw),
            kb(p.total.gzip),
            kb(p.total.brotli)
        ));
    }
    if let Some(once) = r.sizes.first() {
        for peer in &r.peer_sizes {
            md.push_str(&format!(
                "\nOne-time form ÷ {}: {:.2} (brotli)",
                peer.page,
                once.total.brotli as f64 / peer.total.brotli.max(1) as f64
            ));
        }
        md.push('\n');
    }
    if !r.lighthouse.is_empty() {
        md.push_str("\n## Lighthouse (mobile, simulated slow 4G; medians)\n\n| page | CPU | runs | score | FCP ms | LCP ms | TBT ms | CLS | bytes | a11y |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for row in &r.lighthouse {
            for f in &row.figures {
                md.push_str(&format!(
                    "| {} | {}× | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.3} | {} | {} |\n",
                    row.page,
                    f.cpu_slowdown,
                    f.runs,
                    f.performance,
                    f.fcp_ms,
                    f.lcp_ms,
                    f.tbt_ms,
                    f.cls,
                    f.bytes,
                    f.accessibility
                        .map_or_else(|| "–".to_owned(), |a| format!("{a:.0}"))
                ));
            }
        }
        // Ratios in the same run: our one-time form over each peer.
        if let Some(ours) = r.lighthouse.iter().find(|row| row.ours) {
            for peer in r.lighthouse.iter().filter(|row| !row.ours) {
                for (o, p) in ours.figures.iter().zip(&peer.figures) {
                    md.push_str(&format!(
                        "\nAt {}× CPU, one-time form ÷ {}: LCP {:.2}, bytes {:.2}, TBT {} vs {} ms",
                        o.cpu_slowdown,
                        peer.page,
                        o.lcp_ms / p.lcp_ms.max(1.0),
                        o.bytes as f64 / p.bytes.max(1) as f64,
                        o.tbt_ms.round(),
                        p.tbt_ms.round()
                    ));
                }
            }
            md.push('\n');
        }
    }
    if let Some(i) = &r.interactions {
        md.push_str("\n## Interaction timings (headless Chromium, ms)\n\n| interaction | samples | p50 | p95 |\n|---|---:|---:|---:|\n");
        if let Some(rows) = i.as_array() {
            for row in rows {
                md.push_str(&format!(
                    "| {} | {} | {:.1} | {:.1} |\n",
                    row["name"].as_str().unwrap_or_default(),
                    row["samples"],
                    row["p50"].as_f64().unwrap_or(f64::NAN),
                    row["p95"].as_f64().unwrap_or(f64::NAN)
                ));
            }
        }
    }
    if !r.load.is_empty() {
        md.push_str(&load_markdown(&r.load));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_file_names() {
        assert_eq!(file_label("/c/relief (form)"), "-c-relief--form-");
    }

    #[test]
    fn a_page_totals_its_files() {
        let s = |n| Sizes {
            raw: n,
            gzip: n / 2,
            brotli: n / 3,
        };
        let p = page_size("p", "w", vec![("a".into(), s(300)), ("b".into(), s(600))]);
        assert_eq!((p.total.raw, p.total.gzip, p.total.brotli), (900, 450, 300));
    }
}
