//! The demo exactly as `paywidget demo` runs it — sandbox, host and both merchant sites — on
//! free ports of 127.0.0.1, its state in a temporary folder.

use paywidget_cli::demo::{self, Listeners, Urls};

/// A running demo (its servers stop with the test's runtime).
pub struct Demo {
    /// Where each part listens.
    pub urls: Urls,
    /// The state folder (databases, outbox).
    pub state: tempfile::TempDir,
}

async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

/// Starts the demo serving the release widget from `dist`, also letting `extra_origins` frame
/// the checkouts.
pub async fn start_demo(dist: std::path::PathBuf, extra_origins: Vec<String>) -> Demo {
    let root = crate::workspace_root();
    let state = tempfile::tempdir().expect("a temp dir");
    let options = demo::Options {
        dist,
        state: state.path().to_path_buf(),
        extra_origins,
        ..demo::Options::defaults(&root)
    };
    let listeners = Listeners {
        sandbox: listener().await,
        host: listener().await,
        nonprofit: listener().await,
        licence: listener().await,
    };
    let (urls, _stopped) = demo::start(&options, listeners)
        .await
        .expect("start the demo");
    Demo { urls, state }
}
