//! The `paywidget` binary end to end: `sandbox` from a TOML config on 127.0.0.1:0, then the
//! `refund`, `dispute` and `deliveries` helpers against it. The server is stopped by its PID.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_paywidget");
const SK: &str = "sk_test_cli_secret";

/// The running sandbox; killed (by its own PID) when dropped, also if the test fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &std::path::Path) -> (Running, String) {
    let mut child = Command::new(BIN)
        .args(["sandbox", "--config"])
        .arg(config)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start paywidget sandbox");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("first line");
    let url = line
        .trim()
        .strip_prefix("paywidget sandbox listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let mut keys = String::new();
    out.read_line(&mut keys).unwrap();
    assert!(
        keys.contains(SK),
        "the key from the config file is printed: {keys}"
    );
    // Keep reading so the pipe never fills.
    std::thread::spawn(move || for _ in out.lines() {});
    (Running(child), url)
}

fn cli(args: &[&str], url: &str) -> Output {
    Command::new(BIN)
        .arg("sandbox")
        .args(args)
        .args(["--url", url, "--secret-key", SK])
        .output()
        .expect("run paywidget")
}

fn post_form(url: &str, key: &str, form: &[(&str, &str)]) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .post(url)
            .basic_auth(key, Some(""))
            .form(form)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    })
}

#[test]
fn sandbox_from_config_file_and_scripting_helpers() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sandbox.toml");
    let db = dir.path().join("sandbox.sqlite");
    std::fs::write(
        &config,
        format!(
            "db = {db:?}\nsecret_key = \"{SK}\"\npublishable_key = \"pk_test_cli\"\n\
             [[webhooks]]\nurl = \"http://127.0.0.1:9/unreachable\"\nsecret = \"whsec_cli\"\n\
             [retry]\nscale = 0.001\nmax_attempts = 2\n",
            db = db.to_str().unwrap()
        ),
    )
    .unwrap();
    let (_server, url) = start(&config);

    let (exp_month, exp_year) = paywidget_testkit::cards::expiry_fields();
    let pm = post_form(
        &format!("{url}/v1/payment_methods"),
        "pk_test_cli",
        &[
            ("type", "card"),
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", exp_month.as_str()),
            ("card[exp_year]", exp_year.as_str()),
            ("card[cvc]", "123"),
        ],
    );
    let pi = post_form(
        &format!("{url}/v1/payment_intents"),
        SK,
        &[
            ("amount", "1500"),
            ("currency", "usd"),
            ("payment_method", pm["id"].as_str().unwrap()),
            ("confirm", "true"),
        ],
    );
    assert_eq!(pi["status"], "succeeded", "{pi}");
    let pi_id = pi["id"].as_str().unwrap();

    let refund = cli(&["refund", pi_id, "--amount", "500"], &url);
    assert!(
        refund.status.success(),
        "{}",
        String::from_utf8_lossy(&refund.stderr)
    );
    assert!(String::from_utf8_lossy(&refund.stdout).starts_with("refunded 500 usd (re_"));

    let dispute = cli(&["dispute", pi_id], &url);
    assert!(
        dispute.status.success(),
        "{}",
        String::from_utf8_lossy(&dispute.stderr)
    );
    assert!(String::from_utf8_lossy(&dispute.stdout).starts_with("opened dispute dp_"));
    let again = cli(&["dispute", pi_id], &url);
    assert!(!again.status.success(), "a second dispute is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already disputed"));

    // The unreachable endpoint gives up after 2 attempts; the log shows it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log = cli(&["deliveries"], &url);
        let text = String::from_utf8_lossy(&log.stdout).into_owned();
        assert!(log.status.success());
        if text.contains("failed") && text.contains("charge.dispute.created") {
            assert!(text.contains("payment_intent.succeeded"), "{text}");
            assert!(text.contains("could not connect"), "{text}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn bad_settings_are_refused_with_a_clear_message() {
    let out = Command::new(BIN)
        .args([
            "sandbox",
            "--secret-key",
            "sk_live_real",
            "--db",
            ":memory:",
            "--addr",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("test mode only"));
    let out = Command::new(BIN)
        .args([
            "sandbox",
            "--webhook",
            "http://127.0.0.1:1/x",
            "--db",
            ":memory:",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--webhook-secret"));
    let out = Command::new(BIN)
        .args(["sandbox", "deliveries", "--url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is it running?"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get_json(url: &str) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::get(url)
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    })
}

fn post_json(url: &str, body: serde_json::Value) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    })
}

/// The two binaries together, as a newcomer runs them from the README: the licence seller's
/// example config against `paywidget sandbox`, one purchase, one licence key.
#[test]
fn host_and_sandbox_binaries_sell_a_licence() {
    let dir = tempfile::tempdir().unwrap();
    let host_port = free_port();
    let sandbox = Command::new(BIN)
        .args([
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--db",
            ":memory:",
            "--retry-scale",
            "0.001",
        ])
        .args([
            "--webhook",
            &format!("http://127.0.0.1:{host_port}/webhooks/gateway"),
        ])
        .args(["--webhook-secret", "whsec_paywidget_demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut sandbox = Running(sandbox);
    let mut out = BufReader::new(sandbox.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let gateway = line.trim().rsplit(' ').next().unwrap().to_owned();
    std::thread::spawn(move || for _ in out.lines() {});

    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/licence-seller/paywidget.toml"
    ))
    .unwrap();
    let config = example
        .replace("http://127.0.0.1:12111", &gateway)
        .replace(
            "db = \"paywidget.sqlite\"",
            &format!(
                "db = {:?}",
                dir.path().join("host.sqlite").to_str().unwrap()
            ),
        )
        .replace(
            "outbox = \"outbox\"",
            &format!("outbox = {:?}", dir.path().join("outbox").to_str().unwrap()),
        );
    let config_path = dir.path().join("paywidget.toml");
    std::fs::write(&config_path, config).unwrap();
    let host = Command::new(BIN)
        .args(["host", "--config"])
        .arg(&config_path)
        .args(["--addr", &format!("127.0.0.1:{host_port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut host = Running(host);
    let mut out = BufReader::new(host.0.stdout.take().unwrap());
    // Log lines may come first (the development secret's warning): up to the listening line.
    let mut line = String::new();
    for _ in 0..20 {
        line.clear();
        out.read_line(&mut line).unwrap();
        if line.starts_with("paywidget host listening on ") {
            break;
        }
    }
    assert!(line.starts_with("paywidget host listening on "), "{line}");
    std::thread::spawn(move || for _ in out.lines() {});
    let base = format!("http://127.0.0.1:{host_port}");

    let campaign = get_json(&format!("{base}/api/campaigns/acme-pro"));
    assert_eq!(campaign["price"], 4900);
    let session = post_json(
        &format!("{base}/api/sessions"),
        serde_json::json!({ "campaign": "acme-pro", "email": "dev@example.org" }),
    );
    let id = session["id"].as_str().unwrap().to_owned();
    let (exp_month, exp_year) = paywidget_testkit::cards::expiry_fields();
    let pm = post_form(
        &format!("{gateway}/v1/payment_methods"),
        campaign["publishable_key"].as_str().unwrap(),
        &[
            ("type", "card"),
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", exp_month.as_str()),
            ("card[exp_year]", exp_year.as_str()),
            ("card[cvc]", "123"),
        ],
    );
    let paid = post_json(
        &format!("{base}/api/sessions/{id}/pay"),
        serde_json::json!({ "payment_method": pm["id"], "idempotency_key": "first-try" }),
    );
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = get_json(&format!("{base}/api/sessions/{id}"));
        if s["status"] == "fulfilled" {
            assert!(s["license"]["key"].as_str().unwrap().starts_with("PW1-"));
            assert!(s["license"]["instructions_html"]["macos"]
                .as_str()
                .unwrap()
                .contains("<strong>Acme</strong>"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{s}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mails = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .count();
    assert_eq!(mails, 1);

    // The charge reconciles: one match, exit 0; the JSON says the same.
    let reconcile = |extra: &[&str]| {
        Command::new(BIN)
            .args(["host", "--config"])
            .arg(&config_path)
            .args(["reconcile", "--grace", "0"])
            .args(extra)
            .output()
            .unwrap()
    };
    let table = reconcile(&["--since", "1h"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{text}");
    assert!(
        text.contains("1 charges checked: 1 match (100.0 %)"),
        "{text}"
    );
    assert!(
        text.contains("0 receipt-number gaps, 0 stuck pay keys"),
        "{text}"
    );
    let json = reconcile(&["--since", "1h", "--json", "--dry-run"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["rows"][0]["class"], "match", "{report}");
    assert_eq!(report["rows"][0]["session"], id.as_str());
    let bad = reconcile(&["--since", "yesterday"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected e.g. 90s, 30m, 24h, 7d"));
    drop(host);
    drop(sandbox);
}

#[test]
fn host_refuses_a_bad_config_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/nonprofit/paywidget.toml"
    ))
    .unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        example.replace("currency = \"usd\"", "currency = \"usx\""),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["host", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("campaigns[0].currency") && err.contains("usx"),
        "{err}"
    );
}

#[test]
fn demo_without_a_release_build_says_how_to_get_one() {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--host-port", "0", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has no release widget"), "{err}");
    assert!(err.contains("cargo xtask demo"), "{err}");
}

#[test]
fn demo_refuses_a_busy_port_naming_the_flag() {
    // Occupy a port, then ask the demo to use it for the nonprofit's site.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("dist")).unwrap();
    std::fs::write(dir.path().join("dist/index.html"), "<!doctype html>").unwrap();
    let out = Command::new(BIN)
        .args([
            "demo",
            "--sandbox-port",
            "0",
            "--host-port",
            "0",
            "--licence-port",
            "0",
        ])
        .args(["--nonprofit-port", &port, "--root"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--nonprofit-port"), "{err}");
    drop(busy);
}
