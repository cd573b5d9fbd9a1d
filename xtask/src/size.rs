//! `cargo xtask size`: what a browser downloads for the checkout page, raw / gzip -9 / brotli.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::tools::Tools;
use crate::widget;

pub fn run() -> Result<()> {
    let tools = Tools::ensure()?;
    let dist = widget::build_release(&tools)?;
    let files = page_files(&dist)?;
    println!(
        "\n{:<44} {:>10} {:>10} {:>10}",
        "file (dist/)", "raw", "gzip -9", "brotli"
    );
    let mut total = Sizes::default();
    for name in &files {
        let bytes = std::fs::read(dist.join(name)).with_context(|| format!("read dist/{name}"))?;
        let sizes = Sizes::of(&bytes)?;
        println!(
            "{:<44} {:>10} {:>10} {:>10}",
            name,
            kb(sizes.raw),
            kb(sizes.gzip),
            kb(sizes.brotli)
        );
        total.raw += sizes.raw;
        total.gzip += sizes.gzip;
        total.brotli += sizes.brotli;
    }
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "total",
        kb(total.raw),
        kb(total.gzip),
        kb(total.brotli)
    );
    Ok(())
}

fn kb(bytes: usize) -> String {
    format!("{:.1} kB", bytes as f64 / 1000.0)
}

#[derive(Default)]
struct Sizes {
    raw: usize,
    gzip: usize,
    brotli: usize,
}

impl Sizes {
    fn of(bytes: &[u8]) -> Result<Sizes> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes)?;
        let gzip = gz.finish()?.len();
        let mut br = Vec::new();
        {
            // Quality 11, 4 MiB window: what a static server's precompressed `.br` would use.
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
            w.write_all(bytes)?;
        }
        Ok(Sizes {
            raw: bytes.len(),
            gzip,
            brotli: br.len(),
        })
    }
}

/// `index.html` and every file of `dist/` it references (wasm, JS glue, CSS…), in page order.
fn page_files(dist: &Path) -> Result<Vec<String>> {
    let html = std::fs::read_to_string(dist.join("index.html")).context("read dist/index.html")?;
    let mut files = vec!["index.html".to_owned()];
    for candidate in quoted_paths(&html) {
        let name = candidate.trim_start_matches('/');
        if !name.is_empty() && dist.join(name).is_file() && !files.iter().any(|f| f == name) {
            files.push(name.to_owned());
        }
    }
    Ok(files)
}

/// Every string between single or double quotes in `html` (attribute values and the paths in
/// Trunk's inline loader script alike).
fn quoted_paths(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(['"', '\'']) {
        let quote = rest.as_bytes()[start] as char;
        let after = &rest[start + 1..];
        match after.find(quote) {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_quoted_paths_in_attributes_and_scripts() {
        let html =
            r#"<link href="/a.css"><script>import init from '/b.js'; init('/c_bg.wasm')</script>"#;
        let paths = quoted_paths(html);
        assert!(paths.contains(&"/a.css"));
        assert!(paths.contains(&"/b.js"));
        assert!(paths.contains(&"/c_bg.wasm"));
    }

    #[test]
    fn compressed_sizes_are_smaller_for_repetitive_input() {
        let s = Sizes::of(&[b'a'; 10_000]).unwrap();
        assert_eq!(s.raw, 10_000);
        assert!(
            s.gzip < 200 && s.brotli < 200,
            "gzip {} brotli {}",
            s.gzip,
            s.brotli
        );
    }
}
