//! The WebDriver helpers of the end-to-end tests: serves the release `dist/` on 127.0.0.1:0
//! and drives headless Chromium (phone or desktop) through ChromeDriver (fantoccini).

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
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
    let app: axum::Router = paywidget_host::http::static_files::router(&config, dir);
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
    with_browser(true, None, scenario).await
}

/// Like [`with_phone_browser`], for a person whose browser speaks `language` (`ja-JP`): its
/// `navigator.languages` and `Accept-Language`.
pub async fn with_phone_browser_in<F, Fut>(language: &str, scenario: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    with_browser(true, Some(language), scenario).await
}

/// Like [`with_phone_browser`], at a desktop window (1280×800, mouse, no touch).
pub async fn with_desktop_browser<F, Fut>(scenario: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    with_browser(false, None, scenario).await
}

async fn with_browser<F, Fut>(phone: bool, language: Option<&str>, scenario: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let driver = start_driver();
    let (width, height) = if phone { PHONE } else { (1280, 800) };
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = json!({
        // Chromium's network log, for the tests that check where card data goes.
        "goog:loggingPrefs": { "performance": "ALL" },
        "goog:chromeOptions": {
            "perfLoggingPrefs": { "enableNetwork": true, "enablePage": false },
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
    if let Some(language) = language {
        caps["goog:chromeOptions"]["args"]
            .as_array_mut()
            .expect("args")
            .push(json!(format!("--lang={language}")));
        caps["goog:chromeOptions"]["prefs"] = json!({ "intl.accept_languages": language });
    }
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

/// A request the browser sent, from its network log.
#[derive(Clone, Debug)]
pub struct SentRequest {
    /// The request's URL.
    pub url: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// The body, when it had one.
    pub body: String,
    /// The document (page or frame) that sent it: whose origin the request came from.
    pub document_url: String,
}

impl SentRequest {
    /// The `scheme://host:port` of the sending document.
    pub fn from_origin(&self) -> String {
        origin(&self.document_url)
    }
}

/// `scheme://host:port` of a URL ("" when it has none).
pub fn origin(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    format!("{scheme}://{}", &rest[..end])
}

/// ChromeDriver's `se/log` command (the performance log, which holds the DevTools network events).
#[derive(Debug)]
struct ReadPerformanceLog;

impl fantoccini::wd::WebDriverCompatibleCommand for ReadPerformanceLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"performance"}"#.into()))
    }
}

/// Every request the browser sent (from any page or frame) since the last call.
pub async fn sent_requests(client: &Client) -> Vec<SentRequest> {
    let log = client
        .issue_cmd(ReadPerformanceLog)
        .await
        .expect("read Chromium's performance log");
    let mut out = Vec::new();
    for entry in log.as_array().cloned().unwrap_or_default() {
        let Some(message) = entry["message"].as_str() else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<serde_json::Value>(message) else {
            continue;
        };
        let event = &event["message"];
        if event["method"] != "Network.requestWillBeSent" {
            continue;
        }
        let p = &event["params"];
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let mut body = text(&p["request"]["postData"]);
        for part in p["request"]["postDataEntries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            // Chromium gives entries base64-encoded.
            use base64::Engine;
            if let Ok(bytes) =
                base64::engine::general_purpose::STANDARD.decode(text(&part["bytes"]))
            {
                body.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        out.push(SentRequest {
            url: text(&p["request"]["url"]),
            method: text(&p["request"]["method"]),
            body,
            document_url: text(&p["documentURL"]),
        });
    }
    out
}

/// Types into the gateway's cross-origin card frame (Stripe mode), finding each field by its
/// label as a person does; back in the checkout's frame afterwards.
pub async fn fill_gateway_card(
    client: &Client,
    number: &str,
    expiry: &str,
    cvc: &str,
    postal: &str,
) {
    let frame = wait_el(client, "#pw-gateway-fields iframe").await;
    frame.enter_frame().await.unwrap();
    for (label, text) in [
        ("Card number", number),
        ("Expiration date", expiry),
        ("Security code", cvc),
        ("Postal code", postal),
    ] {
        let label = client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::XPath(&format!(
                "//label[normalize-space()='{label}']"
            )))
            .await
            .unwrap_or_else(|e| panic!("the frame's {label:?} label: {e}"));
        let id = label.attr("for").await.unwrap().expect("label for=");
        let input = client.find(Locator::Id(&id)).await.unwrap();
        input.click().await.unwrap();
        client
            .execute(&format!("document.getElementById('{id}').select()"), vec![])
            .await
            .unwrap();
        input
            .send_keys(&fantoccini::key::Key::Backspace.to_string())
            .await
            .unwrap();
        input.send_keys(text).await.unwrap();
    }
    client.enter_parent_frame().await.unwrap();
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

/// axe-core's script, installed by `cargo xtask test`'s tools stage into `.tools/axe-core`.
fn axe_source() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/axe-core/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `cargo xtask setup`, which installs axe-core)",
            path.display()
        )
    })
}

/// Runs axe-core (WCAG 2.1 A and AA rules and best practices) on the page and returns its
/// violations as `rule: target, …` lines (empty when the page passes). WebDriver's scripts are
/// not subject to the page's CSP, so pages that allow no script can be checked too.
pub async fn axe_violations(client: &Client) -> Vec<String> {
    client
        .execute(&format!("{}; return true;", axe_source()), vec![])
        .await
        .expect("load axe-core");
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa', 'best-practice'] } })
               .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Appends a timing row (`name`, samples, p50, p95 in ms) to the JSON array in the file named
/// by `$env` (`cargo xtask bench` reads it), and prints it. Nothing is written without `$env`.
pub fn record_timing(env: &str, name: &str, samples: &mut [f64]) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        samples
            .get(((samples.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let row = serde_json::json!({
        "name": name, "samples": samples.len(), "p50": at(0.5), "p95": at(0.95)
    });
    println!("timing: {row}");
    let Ok(path) = std::env::var(env) else {
        return;
    };
    let mut rows: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    rows.push(row);
    std::fs::write(&path, serde_json::to_string_pretty(&rows).unwrap()).unwrap();
}

/// How many samples a bench timing takes (`PAYWIDGET_BENCH_SAMPLES`, default 20).
pub fn bench_samples() -> usize {
    std::env::var("PAYWIDGET_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}
