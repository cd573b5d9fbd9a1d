//! Builds the release widget into `dist/`: the checkout form once per variant (`form-*.html`
//! and the full `index.html`), and the other pages with the pinned nightly rebuilding std for size, Trunk, and terser for the JS glue.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use paywidget_core::api::FormVariant;

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
        // std's own size-over-speed choices (measured: 0.5 kB off the form).
        .env("CARGO_UNSTABLE_BUILD_STD_FEATURES", "optimize_for_size")
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            WASM_RUSTFLAGS,
        )
        .env(
            "CARGO_TARGET_DIR",
            crate::root().join("target").join("wasm-release"),
        )
}

/// Builds `dist/`: the checkout form's pages (`index.html`, the full form, and `form-*.html`, one
/// per smaller variant) and `pages.html` (3-D Secure return, update card), each with its own
/// wasm; returns the `dist/` path.
pub(crate) fn build_release(tools: &Tools) -> Result<PathBuf> {
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
    // The full form (`index.html`, the default features) first: Trunk replaces dist/ with it.
    run(wasm_release_env(&mut tools.command("trunk")).args([
        "build",
        "--release=true",
        "index.html",
    ]))
    .context("Trunk release build of the checkout form")?;
    keep_for_why(FormVariant::Full)?;
    run(wasm_release_env(&mut tools.command("trunk"))
        .args(["build", "--release=true", "pages.html", "--dist"])
        .arg(&pages))
    .context("Trunk release build of the other pages")?;
    // Trunk replaces its dist folder on each build and always names the page index.html:
    // merge the second build in, its page as pages.html.
    copy_tree(&pages, &dist, "pages.html")?;
    // The smaller forms, one per variant: the same page, built with fewer features.
    let forms = root.join("target").join("forms");
    std::fs::create_dir_all(&forms).with_context(|| format!("create {}", forms.display()))?;
    let template = std::fs::read_to_string(root.join("index.html")).context("read index.html")?;
    for variant in FormVariant::ALL {
        if variant == FormVariant::Full {
            continue;
        }
        let html = forms.join(variant.page());
        std::fs::write(&html, variant_page(&template, variant)?)
            .with_context(|| format!("write {}", html.display()))?;
        let out = root
            .join("target")
            .join(format!("trunk-{}", variant.name()));
        run(wasm_release_env(&mut tools.command("trunk"))
            .args(["build", "--release=true"])
            .arg(&html)
            .arg("--dist")
            .arg(&out))
        .with_context(|| format!("Trunk release build of the {} form", variant.name()))?;
        keep_for_why(variant)?;
        copy_tree(&out, &dist, variant.page())?;
    }
    minify_js(tools, &dist)?;
    precompress(&dist)?;
    let pages = FormVariant::ALL.map(|v| v.page());
    for page in pages.iter().chain(&["pages.html"]) {
        anyhow::ensure!(
            dist.join(page).is_file(),
            "the build produced no dist/{page}"
        );
    }
    Ok(dist)
}

/// Where `--why` finds each form variant's wasm before wasm-bindgen (cargo overwrites its own
/// output with each variant's build).
pub(crate) fn why_wasm(variant: FormVariant) -> PathBuf {
    crate::root()
        .join("target")
        .join("wasm-release")
        .join("why")
        .join(format!("form-{}.wasm", variant.name()))
}

/// Keeps the wasm cargo just built for `variant`, for `--why`.
fn keep_for_why(variant: FormVariant) -> Result<()> {
    let built = crate::root()
        .join("target")
        .join("wasm-release")
        .join("wasm32-unknown-unknown")
        .join("release")
        .join("paywidget-widget.wasm");
    let to = why_wasm(variant);
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    std::fs::copy(&built, &to).with_context(|| format!("copy {}", built.display()))?;
    Ok(())
}

/// The checkout page `index.html` rewritten for `variant`: built from `target/forms/` (paths
/// lead back to the root) with the variant's cargo features.
fn variant_page(template: &str, variant: FormVariant) -> Result<String> {
    let rust = r#"data-bin="paywidget-widget""#;
    anyhow::ensure!(
        template.contains(rust),
        "index.html no longer names its binary as {rust}"
    );
    let mut features =
        r#"href="../../Cargo.toml" data-bin="paywidget-widget" data-cargo-no-default-features"#
            .to_owned();
    if !variant.features().is_empty() {
        features.push_str(&format!(r#" data-cargo-features="{}""#, variant.features()));
    }
    Ok(template
        .replace(rust, &features)
        .replace(r#"href="style/"#, r#"href="../../style/"#)
        .replace(r#"href="src/"#, r#"href="../../src/"#))
}

/// Copies `from` into `to` recursively (wasm-bindgen's `snippets/` are folders); at the top
/// level, `index.html` becomes `page`.
fn copy_tree(from: &Path, to: &Path, page: &str) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("create {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if entry.file_type()?.is_dir() {
            // Only the top level's index.html is renamed.
            copy_tree(&entry.path(), &to.join(&name), "index.html")?;
        } else {
            let target = if name == "index.html" {
                to.join(page)
            } else {
                to.join(&name)
            };
            std::fs::copy(entry.path(), &target).with_context(|| {
                format!("copy {} to {}", entry.path().display(), target.display())
            })?;
        }
    }
    Ok(())
}

/// Writes `name.br` (brotli 11) and `name.gz` (gzip -9) beside every page and asset of
/// `dist/`, which the host serves by `Accept-Encoding`: the bytes on the wire are the bytes
/// `cargo xtask size` reports.
fn precompress(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            precompress(&path)?;
            continue;
        }
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "html" | "js" | "css" | "wasm" | "svg" | "json"));
        if !compressible {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("read {}", path.display()))?;
        for (suffix, packed) in [
            ("br", crate::size::brotli(&bytes)?),
            ("gz", crate::size::gzip(&bytes)?),
        ] {
            let mut name = path.clone().into_os_string();
            name.push(".");
            name.push(suffix);
            std::fs::write(&name, packed)
                .with_context(|| format!("write {}", PathBuf::from(&name).display()))?;
        }
    }
    Ok(())
}

/// Minifies wasm-bindgen's glue in place (42 → 19 kB raw). The pages load it without an
/// `integrity` attribute (`data-integrity="none"`): it is same-origin, and CSP allows only 'self'.
fn minify_js(tools: &Tools, dist: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dist).with_context(|| format!("read {}", dist.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            // wasm-bindgen's snippets/
            minify_js(tools, &path)?;
        } else if path.extension().is_some_and(|e| e == "js") {
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
