//! The peers' checkout pages — Braintree's Drop-in and Adyen's Card component — built locally
//! from their npm packages, so `cargo xtask bench` can measure them beside ours offline.
//!
//! Each page is what a merchant following the peer's own docs would ship: Braintree's browser
//! bundle minified with terser, Adyen's package bundled with esbuild as a bundler would. Both
//! reach their servers when they start (Braintree for its configuration, Adyen for its card
//! field frames); offline those requests fail, so their figures are lower bounds.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::root;
use crate::tools::run;

/// Braintree's Drop-in release measured.
const BRAINTREE: (&str, &str) = ("braintree-web-drop-in", "1.48.0");
/// Adyen Web release measured (v6: `AdyenCheckout` + the `Card` component).
const ADYEN: (&str, &str) = ("@adyen/adyen-web", "6.45.2");
/// The terser release the project already minifies with (`crate::tools::TERSER_VERSION`).
const TERSER: (&str, &str) = ("terser", crate::tools::TERSER_VERSION);
/// esbuild bundles Adyen's ES modules and CSS as a merchant's bundler would. 0.25 runs on
/// Node 20; its platform binary comes through npm's optionalDependencies.
const ESBUILD: (&str, &str) = ("esbuild", "0.25.12");
/// The JavaScript level esbuild emits: Vite's default (`es2020`), what a merchant's build
/// would most likely target. Lowering further (es2019) grows Adyen's bundle by about 2 kB.
const ESBUILD_TARGET: &str = "es2020";

/// One peer's page, built into its own folder and served as a CDN would (precompressed).
pub(crate) struct PeerPage {
    /// Short name: "braintree" or "adyen".
    pub(crate) name: &'static str,
    /// What it is, for the report: e.g. "Braintree Drop-in 1.48.0 (npm dist/, terser)".
    pub(crate) what: String,
    /// The folder to serve (contains index.html and the page's assets, each with .br and .gz
    /// beside it).
    pub(crate) dir: PathBuf,
    /// The page's files (relative to dir) a browser downloads before a tap, page first.
    pub(crate) files: Vec<String>,
}

/// Installs the peers from npm into `.tools/bench` (once) and builds both pages into
/// `target/bench/peers/<name>/`.
pub(crate) fn build() -> Result<Vec<PeerPage>> {
    let prefix = tools_prefix();
    ensure_npm_packages(&prefix, &[BRAINTREE, ADYEN, TERSER, ESBUILD])?;
    let out = root().join("target").join("bench").join("peers");
    Ok(vec![
        braintree(&prefix, &out.join("braintree"))?,
        adyen(&prefix, &out.join("adyen"))?,
    ])
}

/// The project-local npm prefix for the benchmark's tools (`.tools/bench`), shared with
/// Lighthouse so one `node_modules` holds everything the bench installs.
pub(crate) fn tools_prefix() -> PathBuf {
    root().join(".tools").join("bench")
}

/// Installs, in one npm call, those of `packages` (name, exact version) whose installed
/// `package.json` is missing or names another version; prints one line per package.
pub(crate) fn ensure_npm_packages(prefix: &Path, packages: &[(&str, &str)]) -> Result<()> {
    let mut missing = Vec::new();
    for &(name, version) in packages {
        let what = format!("{name}@{version} (npm)");
        if installed_version(prefix, name).as_deref() == Some(version) {
            println!("  · {what:<34} present");
        } else {
            println!("  · {what:<34} installing (npm, seconds)");
            missing.push(format!("{name}@{version}"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(prefix).with_context(|| format!("create {}", prefix.display()))?;
    // --save-exact so a later install into the same prefix cannot move a pinned package;
    // --loglevel=error keeps npm quiet but for the reason it failed.
    run(Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--save-exact",
            "--prefix",
        ])
        .arg(prefix)
        .args(&missing))
    .with_context(|| {
        format!(
            "install {} with npm (is Node.js with npm installed, and the registry reachable?)",
            missing.join(", ")
        )
    })?;
    // npm can succeed without installing what was asked (an optional platform binary, a
    // registry mirror lagging behind): check, so a build never runs another version.
    for &(name, version) in packages {
        let found = installed_version(prefix, name);
        if found.as_deref() != Some(version) {
            bail!(
                "npm did not install {name}@{version} into {} (found {})",
                prefix.display(),
                found.as_deref().unwrap_or("nothing")
            );
        }
    }
    Ok(())
}

/// The `version` of `prefix/node_modules/<name>/package.json`, if it is there and readable.
fn installed_version(prefix: &Path, name: &str) -> Option<String> {
    let path = prefix.join("node_modules").join(name).join("package.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("version")?.as_str().map(str::to_owned)
}

/// The `<head>` and heading every peer page shares, so the pages differ only in the checkout:
/// a mobile viewport, a language and a title, as any merchant page has.
fn page_head(title: &str, head_extra: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n{head_extra}</head>\n<body>\n<main>\n\
         <h1>Checkout</h1>\n<p>Donation: $25.00</p>\n"
    )
}

/// Braintree's Drop-in: the npm package's browser bundle (`dist/browser/dropin.js`, a UMD
/// script that sets `window.braintree.dropin` as the CDN's `dropin.min.js` does) minified with
/// terser, and its stylesheet.
///
/// Drop-in fetches `dropin.css` from Braintree's CDN once its client is configured; offline it
/// never gets that far, so the page links the package's own `dropin.css` with the id Drop-in
/// looks for (`braintree-dropin-stylesheet`, its README's way to host the stylesheet): the
/// bytes a browser would download online are counted either way.
fn braintree(prefix: &Path, dir: &Path) -> Result<PeerPage> {
    let (name, version) = BRAINTREE;
    let package = prefix.join("node_modules").join(name);
    let bundle = package.join("dist").join("browser").join("dropin.js");
    let css = package.join("dropin.css");
    for file in [&bundle, &css] {
        if !file.is_file() {
            bail!(
                "{name}@{version} has no {} (has the package's layout changed?)",
                file.display()
            );
        }
    }
    fresh_dir(dir)?;
    run(Command::new("node")
        .arg(prefix.join("node_modules/terser/bin/terser"))
        .arg(&bundle)
        .args(["--compress", "--mangle", "--output"])
        .arg(dir.join("dropin.min.js")))
    .context("minify Braintree's Drop-in with terser")?;
    std::fs::copy(&css, dir.join("dropin.css"))
        .with_context(|| format!("copy {} into {}", css.display(), dir.display()))?;
    // Braintree's client-side setup, as its docs write it, with `container` (the current name of
    // `selector`). The script goes at the end of <body>, not in <head> as the docs' snippet
    // has it, so the page paints before the 500 kB bundle runs: the peer's best case.
    let mut html = page_head(
        "Checkout — Braintree Drop-in",
        "<link rel=\"stylesheet\" id=\"braintree-dropin-stylesheet\" href=\"dropin.css\">\n",
    );
    html.push_str(
        r#"<div id="dropin-container"></div>
<button id="submit-button" type="button">Pay</button>
</main>
<script src="dropin.min.js"></script>
<script>
var button = document.querySelector('#submit-button');
braintree.dropin.create({
  authorization: 'sandbox_xxx_yyy',
  container: '#dropin-container'
}, function (createErr, instance) {
  if (createErr) {
    console.error(createErr);
    return;
  }
  button.addEventListener('click', function () {
    instance.requestPaymentMethod(function (err, payload) {
      if (err) { return; }
      fetch('/checkout', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ nonce: payload.nonce, amount: '25.00' })
      });
    });
  });
});
</script>
</body>
</html>
"#,
    );
    write(&dir.join("index.html"), html.as_bytes())?;
    let files = vec![
        "index.html".to_owned(),
        "dropin.css".to_owned(),
        "dropin.min.js".to_owned(),
    ];
    precompress(dir, &files)?;
    Ok(PeerPage {
        name: "braintree",
        what: format!(
            "Braintree Drop-in {version} (npm dist/browser/dropin.js, terser; its dropin.css)"
        ),
        dir: dir.to_path_buf(),
        files,
    })
}

/// The script a merchant writes for Adyen Web v6's Card component (advanced flow: the
/// merchant's server makes the payment), from Adyen's v6 docs: `AdyenCheckout` then
/// `new Card(checkout).mount(…)`. The Card shows its own Pay button (v6's default).
///
/// The `await` sits in a function rather than at the module's top level so the bundle needs
/// no ES2022 target.
const ADYEN_ENTRY: &str = r#"import { AdyenCheckout, Card } from '@adyen/adyen-web';
import '@adyen/adyen-web/styles/adyen.css';

async function startCheckout() {
  const checkout = await AdyenCheckout({
    clientKey: 'test_XXXX',
    environment: 'test',
    amount: { value: 2500, currency: 'USD' },
    countryCode: 'US',
    locale: 'en-US',
    onSubmit: async (state, component, actions) => {
      try {
        const response = await fetch('/api/payments', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ paymentMethod: state.data.paymentMethod, amount: { value: 2500, currency: 'USD' } }),
        });
        const { resultCode, action } = await response.json();
        actions.resolve({ resultCode, action });
      } catch (error) {
        actions.reject();
      }
    },
    onPaymentCompleted: (result) => {
      document.getElementById('result').textContent = result.resultCode;
    },
    onError: (error) => {
      console.error(error.name, error.message);
    },
  });
  new Card(checkout).mount('#card');
}

startCheckout();
"#;

/// Adyen Web's Card component: `ADYEN_ENTRY` bundled and minified by esbuild into
/// `checkout.js` and `checkout.css` (the package's stylesheet, imported as its docs say).
fn adyen(prefix: &Path, dir: &Path) -> Result<PeerPage> {
    let (_, version) = ADYEN;
    // The entry lives beside the served folder, not in it: it is source, not a download.
    let src = dir.with_file_name("adyen-src");
    fresh_dir(&src)?;
    fresh_dir(dir)?;
    let entry = src.join("checkout.js");
    write(&entry, ADYEN_ENTRY.as_bytes())?;
    let esbuild = prefix.join("node_modules").join(".bin").join("esbuild");
    // NODE_PATH lets esbuild resolve the bare `@adyen/adyen-web` imports from `.tools/bench`
    // although the entry is outside it.
    run(Command::new(&esbuild)
        .arg(&entry)
        .args([
            "--bundle",
            "--minify",
            "--format=esm",
            &format!("--target={ESBUILD_TARGET}"),
            "--entry-names=checkout",
            "--log-level=warning",
        ])
        .arg(format!("--outdir={}", dir.display()))
        .env("NODE_PATH", prefix.join("node_modules")))
    .context("bundle Adyen's Card component with esbuild")?;
    for file in ["checkout.js", "checkout.css"] {
        if !dir.join(file).is_file() {
            bail!(
                "esbuild did not write {} (did the package stop importing its CSS?)",
                dir.join(file).display()
            );
        }
    }
    // What a bundler's HTML output looks like: the stylesheet and the module script in <head>
    // (a module script is deferred, so it does not hold the first paint back).
    let mut html = page_head(
        "Checkout — Adyen Card",
        "<link rel=\"stylesheet\" href=\"checkout.css\">\n\
         <script type=\"module\" src=\"checkout.js\"></script>\n",
    );
    html.push_str(
        "<div id=\"card\"></div>\n<p id=\"result\" role=\"status\"></p>\n</main>\n</body>\n</html>\n",
    );
    write(&dir.join("index.html"), html.as_bytes())?;
    let files = vec![
        "index.html".to_owned(),
        "checkout.css".to_owned(),
        "checkout.js".to_owned(),
    ];
    precompress(dir, &files)?;
    Ok(PeerPage {
        name: "adyen",
        what: format!(
            "Adyen Web {version} Card component (npm, esbuild --bundle --minify {ESBUILD_TARGET})"
        ),
        dir: dir.to_path_buf(),
        files,
    })
}

/// Empties `dir` (a previous build's files would otherwise be served too) and creates it.
fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))
}

/// Writes `bytes` to `path`, naming the file when it cannot.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("write {}", path.display()))
}

/// Writes `<file>.br` (brotli 11) and `<file>.gz` (gzip -9) beside each of `files`, as a CDN
/// serves them and as our own release build does, so both sides are compressed alike.
fn precompress(dir: &Path, files: &[String]) -> Result<()> {
    for file in files {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).with_context(|| format!("read {}", path.display()))?;
        let br = crate::size::brotli(&bytes)
            .with_context(|| format!("brotli-compress {}", path.display()))?;
        let gz = crate::size::gzip(&bytes).with_context(|| format!("gzip {}", path.display()))?;
        write(&dir.join(format!("{file}.br")), &br)?;
        write(&dir.join(format!("{file}.gz")), &gz)?;
    }
    Ok(())
}
