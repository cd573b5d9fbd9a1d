//! Lighthouse runs against a page on 127.0.0.1 in headless Chromium, reduced to the medians
//! `cargo xtask bench` reports (one run's figures swing too much to compare pages by).
//!
//! Lighthouse 12.8 is pinned: 13.x needs Node 22 and these machines have Node 20. Its default
//! mobile settings are kept (Moto G Power screen, simulated slow 4G: 150 ms RTT, 1.6 Mbps);
//! only the CPU slowdown varies, so figures compare with anyone else's default mobile runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

use super::peers::{ensure_npm_packages, tools_prefix};
use crate::tools::CHROMIUM;

/// The Lighthouse release run (the last line for Node 20).
const LIGHTHOUSE_VERSION: &str = "12.8.2";

/// How many lines of Lighthouse's stderr an error shows: its own message and the start of the
/// stack, enough to tell a page that never painted (NO_FCP) from a browser that never started.
const STDERR_TAIL_LINES: usize = 15;

/// Lighthouse's figures for one page at one CPU slowdown: medians of the runs.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Figures {
    /// How many runs the medians are of.
    pub(crate) runs: u32,
    /// The simulated CPU slowdown (Lighthouse's mobile default is 4).
    pub(crate) cpu_slowdown: u32,
    /// The performance score, 0..100.
    pub(crate) performance: f64,
    /// The accessibility score, 0..100, when it was asked for.
    pub(crate) accessibility: Option<f64>,
    /// First Contentful Paint, simulated, in milliseconds.
    pub(crate) fcp_ms: f64,
    /// Largest Contentful Paint, simulated, in milliseconds.
    pub(crate) lcp_ms: f64,
    /// Total Blocking Time, simulated, in milliseconds.
    pub(crate) tbt_ms: f64,
    /// Cumulative Layout Shift (unitless).
    pub(crate) cls: f64,
    /// Lighthouse's `total-byte-weight`: bytes transferred (compressed, with headers), every
    /// request the page made while loading, favicon included.
    pub(crate) bytes: u64,
}

/// One run's figures, as read from its JSON report.
#[derive(Clone, Debug, PartialEq)]
struct RunFigures {
    /// Performance score, 0..100.
    performance: f64,
    /// Accessibility score, 0..100, if the category was run.
    accessibility: Option<f64>,
    /// First Contentful Paint, ms.
    fcp_ms: f64,
    /// Largest Contentful Paint, ms.
    lcp_ms: f64,
    /// Total Blocking Time, ms.
    tbt_ms: f64,
    /// Cumulative Layout Shift.
    cls: f64,
    /// Total byte weight, bytes.
    bytes: f64,
}

/// Installs lighthouse@12.8.2 (Node 20 here; 13.x needs Node 22) into `.tools/bench` once;
/// returns the path of its CLI script (node_modules/lighthouse/cli/index.js).
pub(crate) fn install() -> Result<PathBuf> {
    let prefix = tools_prefix();
    ensure_npm_packages(&prefix, &[("lighthouse", LIGHTHOUSE_VERSION)])?;
    let cli = prefix
        .join("node_modules")
        .join("lighthouse")
        .join("cli")
        .join("index.js");
    if !cli.is_file() {
        bail!(
            "lighthouse@{LIGHTHOUSE_VERSION} is installed but has no {} (has its layout changed?)",
            cli.display()
        );
    }
    Ok(cli)
}

/// Runs Lighthouse `runs` times on `url` (mobile form factor, simulated slow 4G — Lighthouse's
/// default mobile throttling — with `cpu_slowdown` CPU) and returns the medians.
/// `accessibility` adds that category. `out_dir` keeps each run's JSON report.
pub(crate) fn measure(
    cli: &Path,
    url: &str,
    cpu_slowdown: u32,
    runs: u32,
    accessibility: bool,
    out_dir: &Path,
    label: &str,
) -> Result<Figures> {
    if runs == 0 {
        bail!("Lighthouse needs at least one run to measure {label}");
    }
    if !Path::new(CHROMIUM).exists() {
        bail!("Lighthouse needs Chromium at {CHROMIUM}: run `cargo xtask setup` first");
    }
    std::fs::create_dir_all(out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    let stem = file_stem(label);
    let mut figures = Vec::new();
    for run in 1..=runs {
        let report = out_dir.join(format!("{stem}-cpu{cpu_slowdown}x-run{run}.json"));
        let one = match run_once(cli, url, cpu_slowdown, accessibility, &report) {
            Ok(one) => one,
            // Lighthouse fails now and then for reasons of its own (a trace that misses an
            // event, Chrome slow to start on a loaded machine): one retry, then it is the page.
            Err(first) => {
                println!("    {label}: Lighthouse run {run} failed ({first:#}); retrying once");
                run_once(cli, url, cpu_slowdown, accessibility, &report).with_context(|| {
                    format!("Lighthouse failed twice on {label} ({url}, CPU {cpu_slowdown}×)")
                })?
            }
        };
        figures.push(one);
    }
    medians(&figures, cpu_slowdown, accessibility)
}

/// One Lighthouse run writing its JSON report to `report`, and that report's figures.
fn run_once(
    cli: &Path,
    url: &str,
    cpu_slowdown: u32,
    accessibility: bool,
    report: &Path,
) -> Result<RunFigures> {
    // A failed run must not leave the previous run's report to be read as its own.
    if report.exists() {
        std::fs::remove_file(report).with_context(|| format!("remove {}", report.display()))?;
    }
    let categories = if accessibility {
        "performance,accessibility"
    } else {
        "performance"
    };
    // chrome-launcher makes a fresh temporary profile per launch, so runs share no cache.
    // The host-resolver rule sends every host but 127.0.0.1 nowhere: the machine is offline,
    // and a lookup that fails at once is what "offline" should mean, not a DNS timeout.
    // Lighthouse splits --chrome-flags itself, honouring the single quotes.
    let chrome_flags = "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update --disable-sync \
        --host-resolver-rules='MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'";
    let mut cmd = Command::new("node");
    cmd.arg(cli)
        .arg(url)
        .args(["--quiet", "--output=json"])
        .arg(format!("--output-path={}", report.display()))
        .arg(format!("--only-categories={categories}"))
        .args([
            "--form-factor=mobile",
            "--screenEmulation.mobile",
            "--throttling-method=simulate",
        ])
        .arg(format!("--throttling.cpuSlowdownMultiplier={cpu_slowdown}"))
        .arg(chrome_flags)
        .env("CHROME_PATH", CHROMIUM);
    let output = cmd
        .output()
        .context("start Lighthouse with `node` (is Node.js installed?)")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "Lighthouse exited with {}; its stderr ends:\n{}",
            output.status,
            tail(&stderr, STDERR_TAIL_LINES)
        );
    }
    let json = std::fs::read_to_string(report).with_context(|| {
        format!(
            "Lighthouse succeeded but wrote no report at {}; its stderr ends:\n{}",
            report.display(),
            tail(&stderr, STDERR_TAIL_LINES)
        )
    })?;
    parse_report(&json, accessibility).with_context(|| format!("read {}", report.display()))
}

/// The figures of one Lighthouse JSON report (`lhr`).
///
/// The only place a Lighthouse report is picked apart: it is a tool's format, read as untyped
/// JSON here and nowhere else. A report with a runtime error (NO_FCP…) or a missing figure
/// (a metric audit that errored gives a null score) is an error naming what is missing.
fn parse_report(json: &str, accessibility: bool) -> Result<RunFigures> {
    let lhr: serde_json::Value = serde_json::from_str(json).context("the report is not JSON")?;
    if let Some(error) = lhr.get("runtimeError") {
        bail!(
            "Lighthouse runtime error {}: {}",
            error.get("code").and_then(|c| c.as_str()).unwrap_or("?"),
            error.get("message").and_then(|m| m.as_str()).unwrap_or("?")
        );
    }
    let score = |category: &str| -> Result<f64> {
        lhr.pointer(&format!("/categories/{category}/score"))
            .and_then(serde_json::Value::as_f64)
            .map(|s| s * 100.0)
            .ok_or_else(|| {
                anyhow!("the report has no {category} score (one of its audits failed?)")
            })
    };
    let metric = |audit: &str| -> Result<f64> {
        let entry = lhr
            .pointer(&format!("/audits/{audit}"))
            .ok_or_else(|| anyhow!("the report has no `{audit}` audit"))?;
        entry
            .get("numericValue")
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| {
                let why = entry
                    .get("errorMessage")
                    .and_then(|m| m.as_str())
                    .unwrap_or("no value");
                anyhow!("the report's `{audit}` audit has no numericValue: {why}")
            })
    };
    Ok(RunFigures {
        performance: score("performance")?,
        accessibility: if accessibility {
            Some(score("accessibility")?)
        } else {
            None
        },
        fcp_ms: metric("first-contentful-paint")?,
        lcp_ms: metric("largest-contentful-paint")?,
        tbt_ms: metric("total-blocking-time")?,
        cls: metric("cumulative-layout-shift")?,
        bytes: metric("total-byte-weight")?,
    })
}

/// The median of each figure across `runs` (each figure on its own: the median run of one
/// metric need not be the median run of another).
fn medians(runs: &[RunFigures], cpu_slowdown: u32, accessibility: bool) -> Result<Figures> {
    let of = |pick: fn(&RunFigures) -> f64| -> Result<f64> {
        median(&runs.iter().map(pick).collect::<Vec<_>>())
            .context("no Lighthouse runs to take a median of")
    };
    let accessibility = if accessibility {
        let scores: Vec<f64> = runs.iter().filter_map(|r| r.accessibility).collect();
        Some(median(&scores).context("no accessibility scores to take a median of")?)
    } else {
        None
    };
    Ok(Figures {
        runs: u32::try_from(runs.len()).context("too many Lighthouse runs")?,
        cpu_slowdown,
        performance: of(|r| r.performance)?,
        accessibility,
        fcp_ms: of(|r| r.fcp_ms)?,
        lcp_ms: of(|r| r.lcp_ms)?,
        tbt_ms: of(|r| r.tbt_ms)?,
        cls: of(|r| r.cls)?,
        // Byte counts are whole; an even number of runs can average two of them. `as` saturates
        // (a negative or NaN value, which no report holds, would become 0, never wrap).
        bytes: of(|r| r.bytes)?.round() as u64,
    })
}

/// The median of `values` (the mean of the two middle ones for an even count), or None when
/// there are none.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// `label` made safe for a file name: letters, digits, `-` and `_` kept, the rest `-`.
fn file_stem(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The last `lines` lines of `text` (all of it when shorter), or a note that it is empty.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    if all.is_empty() {
        return "(nothing on stderr)".to_owned();
    }
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::{file_stem, median, medians, parse_report, tail, RunFigures};

    /// A trimmed Lighthouse 12.8 report: only the fields `parse_report` reads, with the
    /// shapes a real run on 127.0.0.1 wrote.
    const SAMPLE: &str = r#"{
        "lighthouseVersion": "12.8.2",
        "categories": {
            "performance": { "id": "performance", "score": 0.97 },
            "accessibility": { "id": "accessibility", "score": 1 }
        },
        "audits": {
            "first-contentful-paint": { "numericValue": 636.0107, "numericUnit": "millisecond" },
            "largest-contentful-paint": { "numericValue": 1381.0107, "numericUnit": "millisecond" },
            "total-blocking-time": { "numericValue": 0, "numericUnit": "millisecond" },
            "cumulative-layout-shift": { "numericValue": 0.0123, "numericUnit": "unitless" },
            "total-byte-weight": { "numericValue": 958, "numericUnit": "byte" }
        }
    }"#;

    #[test]
    fn median_of_odd_even_and_none() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.5]), Some(7.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn parses_the_figures_of_a_report() {
        let run = parse_report(SAMPLE, true).unwrap();
        assert_eq!(
            run,
            RunFigures {
                performance: 97.0,
                accessibility: Some(100.0),
                fcp_ms: 636.0107,
                lcp_ms: 1381.0107,
                tbt_ms: 0.0,
                cls: 0.0123,
                bytes: 958.0,
            }
        );
        assert_eq!(parse_report(SAMPLE, false).unwrap().accessibility, None);
    }

    #[test]
    fn a_runtime_error_or_a_missing_figure_is_an_error() {
        let no_fcp = r#"{ "runtimeError": { "code": "NO_FCP", "message": "The page did not paint any content." },
            "categories": { "performance": { "score": null } }, "audits": {} }"#;
        let err = format!("{:#}", parse_report(no_fcp, false).unwrap_err());
        assert!(err.contains("NO_FCP"), "{err}");

        let null_lcp = SAMPLE.replace(
            r#""numericValue": 1381.0107"#,
            r#""numericValue": null, "errorMessage": "NO_LCP""#,
        );
        let err = format!("{:#}", parse_report(&null_lcp, false).unwrap_err());
        assert!(
            err.contains("largest-contentful-paint") && err.contains("NO_LCP"),
            "{err}"
        );

        let no_a11y = SAMPLE.replace(r#""score": 1 }"#, r#""score": null }"#);
        assert!(parse_report(&no_a11y, true).is_err());
        assert!(parse_report(&no_a11y, false).is_ok());
    }

    #[test]
    fn medians_take_each_figure_on_its_own() {
        let run = |performance, lcp_ms, bytes| RunFigures {
            performance,
            accessibility: Some(100.0),
            fcp_ms: 600.0,
            lcp_ms,
            tbt_ms: 0.0,
            cls: 0.0,
            bytes,
        };
        let runs = [
            run(90.0, 3000.0, 1001.0),
            run(99.0, 1000.0, 1000.0),
            run(95.0, 2000.0, 1002.0),
            run(80.0, 2500.0, 1004.0),
        ];
        let figures = medians(&runs, 4, true).unwrap();
        assert_eq!(figures.runs, 4);
        assert_eq!(figures.cpu_slowdown, 4);
        assert_eq!(figures.performance, 92.5);
        assert_eq!(figures.lcp_ms, 2250.0);
        assert_eq!(figures.bytes, 1002); // (1001 + 1002) / 2 = 1001.5, rounded half away from 0
        assert_eq!(figures.accessibility, Some(100.0));
        assert_eq!(medians(&runs, 4, false).unwrap().accessibility, None);
        assert!(medians(&[], 4, false).is_err());
    }

    #[test]
    fn labels_become_file_names_and_stderr_is_cut_to_its_tail() {
        assert_eq!(file_stem("paywidget once/form"), "paywidget-once-form");
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("", 2), "(nothing on stderr)");
    }
}
