//! The host's keys as an attacker who read the database (a backup, a replica) sees them: no
//! key is there, the host does not start without its secret, and a licence key's claims
//! (however it was signed) never raise the seats or move the last day its order paid for.
//! Runs on both databases.

use paywidget_host::config::HostConfig;
use paywidget_host::licence;
use paywidget_testkit::fixtures;
use paywidget_testkit::world::{world, WebhookTarget, World};
use serde_json::json;

use super::RawDb;

/// What opening a host with `text` (and these environment variables) says: "" when it starts.
async fn open_error(text: &str, env: &[(&str, &str)]) -> String {
    let config = HostConfig::parse(text, |k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("parses");
    match paywidget_host::open(
        config,
        "http://127.0.0.1:9".into(),
        paywidget_host::system_now(),
    )
    .await
    {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// A licence bought and fulfilled: (its session, its key).
async fn paid_licence(w: &World) -> (String, String) {
    let s = w.session("pro", None).await;
    let pm = w.tokenize("4242424242424242").await;
    w.pay(&s, &pm, "k").await;
    let key = w.wait_status(&s, "fulfilled").await["license"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    (s, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_does_not_start_without_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixtures::host("http://127.0.0.1:9", dir.path());
    let without = base.replace("dev_secret = true\n", "");
    let e = open_error(&without, &[]).await;
    assert!(e.contains("PAYWIDGET_SECRET"), "{e}");
    // Too short, or not base64: refused, naming the variable.
    let e = open_error(&without, &[("PAYWIDGET_SECRET", "c2hvcnQ=")]).await;
    assert!(e.contains("PAYWIDGET_SECRET") && e.contains("32"), "{e}");
    // The public development secret never guards a live key.
    let live = base.replace(
        paywidget_sandbox::DEFAULT_SECRET_KEY,
        "sk_live_0123456789abcdefghijklmnopqrstuv",
    );
    let e = open_error(&live, &[]).await;
    assert!(e.contains("live gateway key"), "{e}");
    // From a file: starts.
    let file = dir.path().join("secret");
    std::fs::write(
        &file,
        "dGhpcnR5LXR3by1yYW5kb20tYnl0ZXMtZm9yLXRoZS1ob3N0IQ==\n",
    )
    .unwrap();
    let with_file = without.replacen(
        "[server]\n",
        &format!("[server]\nsecret_file = \"{}\"\n", file.display()),
        1,
    );
    assert_eq!(
        open_error(&with_file, &[]).await,
        "",
        "starts with its secret file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_holds_no_key_and_the_secret_decides_them() {
    let w = world(WebhookTarget::Host).await;
    paid_licence(&w).await;
    let settings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM settings")
        .fetch_one(&w.db().await)
        .await
        .unwrap();
    assert_eq!(settings, 0, "no key material in the database");
    // Another secret, other keys: a copy of the database signs nothing.
    let dir = tempfile::tempdir().unwrap();
    let text = fixtures::host("http://127.0.0.1:9", dir.path()).replace("dev_secret = true\n", "");
    let config = HostConfig::parse(&text, |k| {
        (k == "PAYWIDGET_SECRET")
            .then(|| "b3RoZXItdGhpcnR5LXR3by1ieXRlcy1vZi1yYW5kb21uZXNzIQ==".into())
    })
    .unwrap();
    let keys = paywidget_host::config::keys::load(&config).unwrap();
    assert_ne!(
        keys.licence.verifying_key(),
        w.state.signing_key.verifying_key()
    );
    assert_ne!(keys.portal_codes, w.state.keys.portal_codes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_and_the_last_day_come_from_the_order_not_the_key() {
    let w = world(WebhookTarget::Host).await;
    let (_, key) = paid_licence(&w).await;
    // A key re-signed with fifty seats and no last day (as with a leaked signing key).
    let mut claims = licence::verify(&w.state.signing_key.verifying_key(), &key).unwrap();
    assert_eq!(claims.seats, 2);
    claims.seats = 50;
    claims.expires_day = None;
    let forged = licence::issue(&w.state.signing_key, &claims);
    let mut answers = Vec::new();
    for i in 0..3 {
        let (code, a) = w
            .api(
                reqwest::Method::POST,
                "/api/licenses/activate",
                Some(json!({ "key": forged, "instance": format!("machine-{i}") })),
            )
            .await;
        answers.push((code, a));
    }
    assert_eq!(
        answers[1].1["seats"], 2,
        "the order's seats: {:?}",
        answers[1]
    );
    assert_eq!(
        (answers[2].0, answers[2].1["error"]["code"].as_str()),
        (409, Some("seats_exhausted"))
    );
    let (_, v) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/verify",
            Some(json!({ "key": forged })),
        )
        .await;
    assert_eq!(v["licence"]["seats"], 2, "{v}");
    assert!(
        v["licence"]["expires_day"].is_u64(),
        "the order's last day: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_or_key_names_an_order_reference_that_opens_nothing() {
    let w = world(WebhookTarget::Host).await;
    let (s, key) = paid_licence(&w).await;
    let (_, a) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/activate",
            Some(json!({ "key": key, "instance": "laptop" })),
        )
        .await;
    let lease = licence::verify_lease(
        &w.state.signing_key.verifying_key(),
        a["lease"].as_str().unwrap(),
    )
    .unwrap();
    assert!(lease.order.starts_with("ord_"), "{}", lease.order);
    assert_ne!(lease.order, s);
    // Found in an app's files, the reference opens no session page (and so no key).
    let (code, _) = w
        .api(
            reqwest::Method::GET,
            &format!("/api/sessions/{}", lease.order),
            None,
        )
        .await;
    assert_eq!(code, 404);
    // The key still works for its owner.
    let (_, v) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/verify",
            Some(json!({ "key": key })),
        )
        .await;
    assert_eq!(
        (v["valid"].as_bool(), v["seats_used"].as_u64()),
        (Some(true), Some(1)),
        "{v}"
    );
}
