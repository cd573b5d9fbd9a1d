//! The WebDriver helpers of the end-to-end tests: serves the release `dist/` on 127.0.0.1:0
//! and drives headless Chromium (phone or desktop) through ChromeDriver (fantoccini).

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use futures_util::FutureExt;
use serde_json::json;

/// The phone viewport the checkout is tested at (an iPhone 12–15 in CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

/// The Trunk release build to test: `$PAYWIDGET_DIST` or `<workspace>/dist`.
pub fn dist_dir() -> PathBuf {
    let dist = std::env::var_os("PAYWIDGET_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("dist"));
    assert!(
        dist.join("index.html").is_file(),
        "no release build at {}: run `cargo xtask test` (or `trunk build --release`) first",
        dist.display()
    );
    dist
}

/// Where tests write screenshots: `<target>/e2e/`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"));
    let dir = target.join("e2e");
    std::fs::create_dir_all(&dir).expect("create target/e2e");
    dir
}

/// Serves `dir` on 127.0.0.1 at a free port exactly as the checkout host serves the hosted
/// pages — with its strict Content-Security-Policy — and returns the base URL.
pub async fn serve_dir(dir: &Path) -> String {
    let config = paywidget_host::config::HostConfig::parse(crate::fixtures::STATIC_ONLY, |_| None)
        .expect("e2e host config");
    let app: axum::Router = paywidget_host::static_files::router(&config, dir);
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("static server");
    });
    format!("http://{addr}")
}

/// A running ChromeDriver, stopped by its PID when dropped (also when a test fails).
struct Driver {
    child: Child,
    url: String,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn start_driver() -> Driver {
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let port = free_port();
    let profile = std::env::temp_dir().join(format!("paywidget-e2e-{}-{port}", std::process::id()));
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("start {chromedriver}: {e} (run `cargo xtask test` to install it)")
        });
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        profile,
    };
    // Wait until it accepts connections: it takes a few hundred milliseconds.
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

/// Runs `scenario` in a fresh headless Chromium at the phone viewport. The browser session
/// is closed and ChromeDriver stopped whether the scenario passes or panics.
pub async fn with_phone_browser<F, Fut>(scenario: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    with_browser(true, scenario).await
}

/// Like [`with_phone_browser`], at a desktop window (1280×800, mouse, no touch).
pub async fn with_desktop_browser<F, Fut>(scenario: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    with_browser(false, scenario).await
}

async fn with_browser<F, Fut>(phone: bool, scenario: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let driver = start_driver();
    let (width, height) = if phone { PHONE } else { (1280, 800) };
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", driver.profile.display()),
                format!("--window-size={width},{height}"),
            ],
        }
    });
    if phone {
        caps["goog:chromeOptions"]["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true, "mobile": true }
        });
    }
    let caps = caps.as_object().expect("object").clone();
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("start a Chromium session through chromedriver");
    let outcome = AssertUnwindSafe(scenario(client.clone()))
        .catch_unwind()
        .await;
    let _ = client.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Evaluates a JavaScript expression in the page and returns it as a string ("" for null).
pub async fn js_string(client: &Client, expression: &str) -> String {
    let value = client
        .execute(&format!("return String({expression} ?? '');"), vec![])
        .await
        .unwrap_or_else(|e| panic!("evaluate `{expression}`: {e}"));
    value.as_str().unwrap_or_default().to_owned()
}

/// Saves a PNG screenshot of the page as `<target>/e2e/<name>.png` and returns its path.
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.expect("screenshot");
    let path = artifacts_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write screenshot");
    path
}

/// Waits (20 s at most) until the JavaScript `expression` contains `want`; returns its value.
pub async fn wait_js(client: &Client, expression: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = js_string(client, expression).await;
        if got.contains(want) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "`{expression}` never contained {want:?}; last: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the element matching `css` and clicks it.
pub async fn click(client: &Client, css: &str) {
    wait_el(client, css).await.click().await.unwrap();
}

/// Waits (20 s at most) for the element matching `css`.
pub async fn wait_el(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
}

/// Types into a field as a person does: click it, then type.
pub async fn type_into(client: &Client, css: &str, text: &str) {
    let el = wait_el(client, css).await;
    el.click().await.unwrap();
    el.send_keys(text).await.unwrap();
}
