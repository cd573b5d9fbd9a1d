//! Installs the build and test tools that are missing, skipping what is present.
//!
//! Versions are pinned here because of what ../shared/TOOLCHAIN.md verified on these machines:
//! Trunk 0.22 needs a newer rustc; wasm-bindgen-cli must equal Cargo.lock's wasm-bindgen and
//! installs only without `--locked`; Debian's wasm-opt (binaryen 108) breaks the module, so
//! binaryen 132 comes from npm into a project-local folder put first on PATH.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::root;

/// The Trunk release that builds with this project's stable Rust.
pub(crate) const TRUNK_VERSION: &str = "0.21.14";
/// The binaryen release whose wasm-opt produces working modules (and Trunk.toml's `version_132`).
pub(crate) const BINARYEN_VERSION: &str = "132.0.0";
/// The nightly Rust the release wasm is built with: `-Zbuild-std` with `panic=immediate-abort`
/// rebuilds std for size, which stable cannot (85.8 instead of 101.6 kB brotli for the page).
/// Pinned so a release build is reproducible; everything else uses `rust-toolchain.toml`'s stable.
pub(crate) const WASM_NIGHTLY: &str = "nightly-2026-05-19";
/// The terser release that minifies wasm-bindgen's JS glue (Trunk 0.21's minifier leaves it as is).
pub(crate) const TERSER_VERSION: &str = "5.36.0";
/// The published Stripe.js types the checkout's calls are checked against, and the compiler.
pub(crate) const STRIPE_JS_TYPES: &str = "@stripe/stripe-js@10.2.1";
pub(crate) const TYPESCRIPT: &str = "typescript@5.9.3";
/// stripe-node whose declarations are those of the pinned API version
/// (`paywidget_core::api::STRIPE_API_VERSION`, 2026-10-28.endive: stripe-node 23.1.0).
pub(crate) const STRIPE_NODE: &str = "stripe@23.1.0";
/// The axe-core release the end-to-end tests check the dashboard's pages with.
pub(crate) const AXE_CORE_VERSION: &str = "4.10.3";
/// The stripe-python release the sandbox's compatibility test drives it with.
pub(crate) const STRIPE_PYTHON_VERSION: &str = "16.1.0";
/// The Standard Webhooks reference library that checks the host's outgoing webhooks.
pub(crate) const STANDARD_WEBHOOKS_VERSION: &str = "1.3.0";
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The tools, once present; `command` builds commands that see them first on PATH.
pub(crate) struct Tools {
    path: OsString,
    /// The Python of the project's venv with stripe-python installed.
    pub python: PathBuf,
    /// terser's CLI, for the release JS glue.
    pub terser: PathBuf,
    /// TypeScript's `tsc`, with `@stripe/stripe-js` beside it.
    pub tsc: PathBuf,
}

impl Tools {
    /// Installs whatever is missing, one line per tool, and returns the environment to use them.
    pub(crate) fn ensure() -> Result<Tools> {
        let root = root();
        ensure_wasm_target()?;
        ensure_trunk()?;
        ensure_wasm_bindgen(&root)?;
        let binaryen_bin = ensure_binaryen(&root)?;
        ensure_wasm_nightly()?;
        let terser = ensure_terser(&root)?;
        let tsc = ensure_stripe_types(&root)?;
        ensure_axe_core(&root)?;
        ensure_chromium()?;
        ensure_postgres()?;
        let python = ensure_stripe_python(&root)?;
        // binaryen first (never Debian's wasm-opt), then cargo's bin folder, where Trunk and
        // wasm-bindgen were installed, even if the shell's PATH lacks it.
        let mut paths = vec![binaryen_bin, cargo_bin("")];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let path = std::env::join_paths(paths).context("build PATH")?;
        Ok(Tools {
            path,
            python,
            terser,
            tsc,
        })
    }

    /// A command run in the workspace root with the project's tools first on PATH.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(root()).env("PATH", &self.path);
        cmd
    }
}

fn step(what: &str, status: &str) {
    println!("  · {what:<34} {status}");
}

/// Runs a command, failing with its command line when it does not succeed.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let line = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {line}"))?;
    if !status.success() {
        bail!("{line} failed ({status})");
    }
    Ok(())
}

/// The first line a tool prints for `--version`, or None if it cannot be run.
fn version_of(program: &Path, arg: &str) -> Option<String> {
    let out = Command::new(program)
        .arg(arg)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned()
    })
}

fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("bin").join(name)
}

fn ensure_wasm_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output()
        .context("run rustup (install Rust with rustup first: https://rustup.rs)")?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        step("wasm32-unknown-unknown target", "present");
        return Ok(());
    }
    step(
        "wasm32-unknown-unknown target",
        "installing (rustup target add, seconds)",
    );
    run(Command::new("rustup")
        .args(["target", "add", "wasm32-unknown-unknown"])
        .current_dir(root()))
}

fn ensure_trunk() -> Result<()> {
    let want = format!("trunk {TRUNK_VERSION}");
    if version_of(&cargo_bin("trunk"), "--version").as_deref() == Some(want.as_str()) {
        step(&format!("Trunk {TRUNK_VERSION}"), "present");
        return Ok(());
    }
    step(
        &format!("Trunk {TRUNK_VERSION}"),
        "installing (cargo install, ~7 min once)",
    );
    run(Command::new("cargo").args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))
}

/// The wasm-bindgen version Cargo.lock resolved: the CLI must match it exactly.
pub(crate) fn locked_wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("read Cargo.lock")?;
    let lock: toml::Value = lock.parse().context("parse Cargo.lock")?;
    lock.get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(|n| n.as_str()) == Some("wasm-bindgen"))
        .and_then(|p| p.get("version")?.as_str().map(str::to_owned))
        .context("Cargo.lock has no wasm-bindgen package")
}

fn ensure_wasm_bindgen(root: &Path) -> Result<()> {
    let version = locked_wasm_bindgen_version(root)?;
    let what = format!("wasm-bindgen-cli {version}");
    let want = format!("wasm-bindgen {version}");
    let runner_ok = version_of(&cargo_bin("wasm-bindgen-test-runner"), "--version")
        .is_some_and(|v| v.ends_with(&version));
    if version_of(&cargo_bin("wasm-bindgen"), "--version").as_deref() == Some(want.as_str())
        && runner_ok
    {
        step(&what, "present");
        return Ok(());
    }
    // Without --locked: with it the install fails (a pinned dependency is gone from the registry).
    step(&what, "installing (cargo install, ~2.5 min once)");
    run(Command::new("cargo").args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        &version,
        "--force",
    ]))
}

/// Installs binaryen from npm into `.tools/binaryen` and returns its `bin` folder.
fn ensure_binaryen(root: &Path) -> Result<PathBuf> {
    let prefix = root.join(".tools").join("binaryen");
    let bin = prefix.join("node_modules").join(".bin");
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    let what = format!("wasm-opt (npm binaryen@{BINARYEN_VERSION})");
    if version_of(&bin.join("wasm-opt"), "--version")
        .is_some_and(|v| v.contains(&format!("version {major}")))
    {
        step(&what, "present");
        return Ok(bin);
    }
    step(&what, "installing (npm, seconds)");
    npm_install(&prefix, &format!("binaryen@{BINARYEN_VERSION}"))?;
    Ok(bin)
}

/// The pinned nightly with `rust-src` (for `-Zbuild-std`), minimal profile.
fn ensure_wasm_nightly() -> Result<()> {
    let what = format!("Rust {WASM_NIGHTLY} + rust-src");
    let has_src = Command::new("rustup")
        .args([
            "component",
            "list",
            "--installed",
            "--toolchain",
            WASM_NIGHTLY,
        ])
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("rust-src"))
        .unwrap_or(false);
    if has_src {
        step(&what, "present");
        return Ok(());
    }
    step(&what, "installing (rustup, ~10 s)");
    run(Command::new("rustup").args([
        "toolchain",
        "install",
        WASM_NIGHTLY,
        "--profile",
        "minimal",
        "--component",
        "rust-src",
    ]))
}

/// Installs terser from npm into `.tools/terser` and returns its CLI.
fn ensure_terser(root: &Path) -> Result<PathBuf> {
    let prefix = root.join(".tools").join("terser");
    let bin = prefix.join("node_modules").join(".bin").join("terser");
    let what = format!("terser {TERSER_VERSION} (npm)");
    if version_of(&bin, "--version").is_some_and(|v| v.ends_with(TERSER_VERSION)) {
        step(&what, "present");
        return Ok(bin);
    }
    step(&what, "installing (npm, seconds)");
    npm_install(&prefix, &format!("terser@{TERSER_VERSION}"))?;
    Ok(bin)
}

/// Installs axe-core into `.tools/axe-core` (the end-to-end tests read its `axe.min.js` there).
fn ensure_axe_core(root: &Path) -> Result<()> {
    let prefix = root.join(".tools").join("axe-core");
    let package = prefix.join("node_modules/axe-core/package.json");
    let what = format!("axe-core {AXE_CORE_VERSION} (npm)");
    let present = std::fs::read_to_string(&package)
        .is_ok_and(|p| p.contains(&format!("\"version\": \"{AXE_CORE_VERSION}\"")));
    if present {
        step(&what, "present");
        return Ok(());
    }
    step(&what, "installing (npm, seconds)");
    npm_install(&prefix, &format!("axe-core@{AXE_CORE_VERSION}"))
}

/// Installs `@stripe/stripe-js` and stripe-node (types only are used) and TypeScript into
/// `.tools/stripe-types`; returns `tsc`.
fn ensure_stripe_types(root: &Path) -> Result<PathBuf> {
    let prefix = root.join(".tools").join("stripe-types");
    let tsc = prefix.join("node_modules").join(".bin").join("tsc");
    let what = format!("{STRIPE_JS_TYPES} + {STRIPE_NODE} + {TYPESCRIPT} (npm)");
    let has = |package: &str| {
        let (name, version) = package.rsplit_once('@').unwrap_or_default();
        std::fs::read_to_string(prefix.join("node_modules").join(name).join("package.json"))
            .is_ok_and(|p| p.contains(&format!("\"version\": \"{version}\"")))
    };
    let installed = has(STRIPE_JS_TYPES) && has(STRIPE_NODE);
    let ts_version = TYPESCRIPT.rsplit_once('@').map_or("", |(_, v)| v);
    if installed && version_of(&tsc, "--version").is_some_and(|v| v.ends_with(ts_version)) {
        step(&what, "present");
        return Ok(tsc);
    }
    step(&what, "installing (npm, seconds)");
    std::fs::create_dir_all(&prefix).with_context(|| format!("create {}", prefix.display()))?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&prefix)
        .args([STRIPE_JS_TYPES, STRIPE_NODE, TYPESCRIPT]))
    .context("install the Stripe.js types with npm (is Node.js with npm installed?)")?;
    Ok(tsc)
}

/// `npm install <package>` into a project-local folder (never global).
pub(crate) fn npm_install(prefix: &Path, package: &str) -> Result<()> {
    std::fs::create_dir_all(prefix).with_context(|| format!("create {}", prefix.display()))?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(prefix)
        .arg(package))
    .with_context(|| format!("install {package} with npm (is Node.js with npm installed?)"))
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn ensure_chromium() -> Result<()> {
    let present = |p: &str| version_of(Path::new(p), "--version").is_some();
    if present(CHROMIUM) && present(CHROMEDRIVER) {
        step("Chromium + ChromeDriver (Debian)", "present");
        return Ok(());
    }
    let install = "apt-get update && apt-get install -y chromium chromium-driver";
    if !is_root() {
        bail!("Chromium and ChromeDriver are missing: run `sudo sh -c '{install}'`, then this task again");
    }
    step(
        "Chromium + ChromeDriver (Debian)",
        "installing (apt-get, ~30 s)",
    );
    run(Command::new("sh")
        .args(["-c", install])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Where Debian's `postgresql` package puts the server binaries (not on PATH).
pub(crate) const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// PostgreSQL 15 for the tests on PostgreSQL and `cargo xtask soak --db postgres`: only the
/// binaries (no service is started; each run makes its own throwaway cluster).
fn ensure_postgres() -> Result<()> {
    if Path::new(PG_BIN).join("initdb").exists() && Path::new(PG_BIN).join("pg_ctl").exists() {
        step("PostgreSQL 15 (Debian)", "present");
        return Ok(());
    }
    let install = "apt-get update && apt-get install -y postgresql";
    if !is_root() {
        bail!("PostgreSQL is missing: run `sudo sh -c '{install}'`, then this task again");
    }
    step("PostgreSQL 15 (Debian)", "installing (apt-get, ~15 s)");
    run(Command::new("sh")
        .args(["-c", install])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// A venv in `.tools/venv` with the pinned stripe-python and standardwebhooks; returns its
/// `python`.
fn ensure_stripe_python(root: &Path) -> Result<PathBuf> {
    let venv = root.join(".tools").join("venv");
    let python = venv.join("bin").join("python");
    let what = format!(
        "stripe-python {STRIPE_PYTHON_VERSION}, standardwebhooks {STANDARD_WEBHOOKS_VERSION} (PyPI, venv)"
    );
    let installed = Command::new(&python)
        .args([
            "-c",
            "import stripe, importlib.metadata as m; print(stripe.VERSION, m.version('standardwebhooks'))",
        ])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).trim()
                == format!("{STRIPE_PYTHON_VERSION} {STANDARD_WEBHOOKS_VERSION}")
        })
        .unwrap_or(false);
    if installed {
        step(&what, "present");
        return Ok(python);
    }
    step(&what, "installing (python3 -m venv + pip, ~10 s)");
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("create a Python venv (needs python3 with the venv module)")?;
    }
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("stripe=={STRIPE_PYTHON_VERSION}"),
        &format!("standardwebhooks=={STANDARD_WEBHOOKS_VERSION}"),
    ]))
    .context("install stripe-python and standardwebhooks from PyPI")?;
    Ok(python)
}
