//! paywidget's one test kit, shared by the host's, the CLI's and the browser tests: the world
//! (sandbox + host on 127.0.0.1:0, [`world`]), the demo on free ports ([`demo`]), the TOML
//! fixtures ([`fixtures`]), test-card expiry dates from the clock ([`cards`]) and, with the
//! `browser` feature, the WebDriver helpers ([`browser`]).

pub mod cards;
pub mod demo;
pub mod fixtures;
pub mod world;

#[cfg(feature = "browser")]
pub mod browser;

/// The workspace root (this crate lives in `tests/support/`).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root")
}
