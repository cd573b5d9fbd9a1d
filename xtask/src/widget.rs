//! Builds the release widget into `dist/`: two wasm binaries (the checkout form, and the other
//! pages) with the pinned nightly rebuilding std for size, Trunk, and terser for the JS glue.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::tools::{run, Tools, WASM_NIGHTLY};

/// rustc flags of the release wasm: no panic machinery, no file/line strings, no `Debug`
/// formatting, and Leptos' type-erased views (smaller code for our view trees).
const WASM_RUSTFLAGS: &str = "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none \
     -Zfmt-debug=none --cfg erase_components";

/// The environment of a release wasm build. Its own target dir, so these flags never
/// invalidate the stable builds of the tests and clippy.
fn wasm_release_env(cmd: &mut Command) -> &mut Command {
    cmd.env("RUSTUP_TOOLCHAIN", WASM_NIGHTLY)
        .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            WASM_RUSTFLAGS,
        )
        .env(
            "CARGO_TARGET_DIR",
            crate::root().join("target").join("wasm-release"),
        )
}

/// Builds `dist/`: `index.html` (the checkout form) and `pages.html` (return, confirmation),
/// each with its own wasm; returns the `dist/` path.
pub fn build_release(tools: &Tools) -> Result<PathBuf> {
    let root = crate::root();
    // Cargo first, online: `-Zbuild-std` needs std's own dependencies, which Trunk's offline
    // cargo call would not fetch. Trunk's build is then a no-op for cargo.
    run(wasm_release_env(&mut tools.command("cargo")).args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "paywidget-widget",
        "--bins",
    ]))
    .context("release build of the widget's wasm (nightly, build-std)")?;
    let dist = root.join("dist");
    let pages = root.join("target").join("trunk-pages");
    run(wasm_release_env(&mut tools.command("trunk")).args([
        "build",
        "--release=true",
        "index.html",
    ]))
    .context("Trunk release build of the checkout form")?;
    run(wasm_release_env(&mut tools.command("trunk"))
        .args(["build", "--release=true", "pages.html", "--dist"])
        .arg(&pages))
    .context("Trunk release build of the other pages")?;
    // Trunk replaces its dist folder on each build and always names the page index.html:
    // merge the second build in, its page as pages.html.
    for entry in std::fs::read_dir(&pages).context("read target/trunk-pages")? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let name = entry.file_name();
            let to = if name == "index.html" {
                dist.join("pages.html")
            } else {
                dist.join(&name)
            };
            std::fs::copy(entry.path(), &to)
                .with_context(|| format!("copy {} into dist/", entry.path().display()))?;
        }
    }
    minify_js(tools, &dist)?;
    for page in ["index.html", "pages.html"] {
        anyhow::ensure!(
            dist.join(page).is_file(),
            "the build produced no dist/{page}"
        );
    }
    Ok(dist)
}

/// Minifies wasm-bindgen's glue in place (42 → 19 kB raw). The pages load it without an
/// `integrity` attribute (`data-integrity="none"`): it is same-origin, and CSP allows only 'self'.
fn minify_js(tools: &Tools, dist: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dist).context("read dist/")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "js") {
            run(tools
                .command(&tools.terser.to_string_lossy())
                .arg(&path)
                .args(["--module", "--compress", "--mangle", "-o"])
                .arg(&path))
            .with_context(|| format!("minify {}", path.display()))?;
        }
    }
    Ok(())
}
