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

    let pm = post_form(
        &format!("{url}/v1/payment_methods"),
        "pk_test_cli",
        &[
            ("type", "card"),
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2030"),
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
