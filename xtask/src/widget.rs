//! Builds the release widget with Trunk into `dist/`.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::tools::{run, Tools};

/// `trunk build --release` (wasm-opt -Oz from the project's binaryen); returns the `dist/` path.
pub fn build_release(tools: &Tools) -> Result<PathBuf> {
    run(tools.command("trunk").args(["build", "--release"]))
        .context("Trunk release build of the widget")?;
    let dist = crate::root().join("dist");
    anyhow::ensure!(
        dist.join("index.html").is_file(),
        "Trunk produced no dist/index.html"
    );
    Ok(dist)
}
