//! Integration tests of the checkout host against the real sandbox gateway, both in-process on
//! 127.0.0.1:0: charging, webhooks, exactly-once fulfilment, licences, receipts and restarts.

mod admin;
mod contract;
mod currencies;
mod disputes;
mod forms;
mod gifts;
mod hooks;
mod portal;
mod reconcile;
mod recurring;
mod security_keys;
mod security_limits;
mod security_outbox;
mod security_portal;
mod security_refunds;
mod security_shield;
mod security_update_card;
mod security_webhooks;
mod sepa;
mod settlement;
mod shield;
mod thanks;
mod waiting;
mod watch;

use std::sync::Arc;
use std::time::{Duration, Instant};

use paywidget_host::config::HostConfig;
use paywidget_sandbox::{DEFAULT_PUBLISHABLE_KEY as PK, DEFAULT_SECRET_KEY as SK};
use paywidget_testkit::fixtures::{self, host as host_toml, WHSEC};
use paywidget_testkit::world::{sign, start_host, world, WebhookTarget, World};
use serde_json::{json, Value};

/// Raw access to the host's database (SQLite or PostgreSQL, whichever the suite runs on), for
/// assertions on rows the API does not show. Statements use `$N` placeholders, which both take.
pub(crate) trait RawDb {
    /// The host's database, opened beside the host.
    async fn db(&self) -> sqlx::AnyPool;
}

impl RawDb for World {
    async fn db(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        let db = fixtures::db(self.dir.path(), "host");
        let url = if db.starts_with("postgres") {
            db
        } else {
            format!("sqlite://{db}")
        };
        sqlx::AnyPool::connect(&url).await.unwrap()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licence_purchase_is_fulfilled_once_and_verifies_offline() {
    let w = world(WebhookTarget::Host).await;
    let s = w.session("pro", Some(1)).await;
    let pm = w.tokenize("4242424242424242").await;
    let (code, outcome) = w.pay(&s, &pm, "attempt-1").await;
    assert_eq!(
        (code, outcome["status"].as_str()),
        (200, Some("succeeded")),
        "{outcome}"
    );
    let done = w.wait_status(&s, "fulfilled").await;
    assert_eq!(
        done["total"], 4900,
        "the price is the price, whatever the page sent"
    );
    let key = done["license"]["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("PW1-"));
    let linux = done["license"]["instructions_html"]["linux"]
        .as_str()
        .unwrap();
    assert!(linux.contains("<code>acme activate KEY</code>"), "{linux}");
    let macos = done["license"]["instructions_html"]["macos"]
        .as_str()
        .unwrap();
    assert!(!macos.contains("<script"), "sanitized: {macos}");
    // Offline verification with only the published public key.
    let (_, pk) = w
        .api(reqwest::Method::GET, "/api/licenses/public-key", None)
        .await;
    let bytes: [u8; 32] = hex::decode(pk["public_key_hex"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap();
    let l = paywidget_host::licence::verify(&public, &key).expect("valid offline");
    // The key names the order by its reference, never by the session (whose id opens its page).
    let order_ref = paywidget_host::licence::order_ref(&w.state.keys, &s);
    assert_eq!(
        (l.product.as_str(), l.seats, l.order.as_str()),
        ("Acme Pro", 2, order_ref.as_str())
    );
    assert_eq!(l.expires_day, Some(l.issued_day + 365));
    // Online check.
    let (_, v) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/verify",
            Some(json!({ "key": key })),
        )
        .await;
    assert_eq!(v["valid"], true, "{v}");
    // One email with the key; one charge.
    let mails = w.outbox().await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: buyer@example.org"));
    assert!(
        mails[0].replace("\r\n", "").contains(&key),
        "the key, wrapped at dashes: {}",
        mails[0]
    );
    assert!(!mails[0].contains("quoted-printable"), "plain text mail");
    assert_eq!(w.charges().await, 1);
    // Paying again changes nothing.
    let (_, again) = w.pay(&s, &pm, "attempt-2").await;
    assert_eq!(again["status"], "succeeded");
    assert_eq!(w.charges().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn donations_get_numbered_receipts_and_amounts_are_checked_server_side() {
    let w = world(WebhookTarget::Host).await;
    let (code, e) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "winter", "amount": 100 })),
        )
        .await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("amount_too_small"))
    );
    assert!(
        e["error"]["message"].as_str().unwrap().contains("5.00 USD"),
        "{e}"
    );
    let (code, e) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "nope", "amount": 1000 })),
        )
        .await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (code, created) = w
        .api(reqwest::Method::POST, "/api/sessions", Some(json!({ "campaign": "winter", "amount": 2500, "cover_fee": true, "email": "d@example.org" })))
        .await;
    assert_eq!(code, 201);
    // 2.9 % of 2500 = 72.5 → 73, + 30.
    assert_eq!(
        (created["fee"].as_i64(), created["total"].as_i64()),
        (Some(103), Some(2603))
    );
    let s1 = created["id"].as_str().unwrap().to_owned();
    let pm = w.tokenize("5555555555554444").await;
    w.pay(&s1, &pm, "k").await;
    let r1 = w.wait_status(&s1, "fulfilled").await;
    assert_eq!(r1["receipt"]["number"], "HOPE-000001");
    assert!(r1["receipt"]["tax_statement"]
        .as_str()
        .unwrap()
        .contains("No goods"));
    let s2 = w.session("winter", Some(1000)).await;
    let pm = w.tokenize("4242424242424242").await;
    w.pay(&s2, &pm, "k").await;
    assert_eq!(
        w.wait_status(&s2, "fulfilled").await["receipt"]["number"],
        "HOPE-000002"
    );
    let paid = w
        .gateway_get("/v1/balance_transactions?limit=100&type=charge")
        .await;
    let mut amounts: Vec<i64> = paid["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["amount"].as_i64().unwrap())
        .collect();
    amounts.sort();
    assert_eq!(amounts, [1000, 2603]);
    let (_, campaign) = w
        .api(reqwest::Method::GET, "/api/campaigns/winter", None)
        .await;
    assert_eq!(campaign["publishable_key"], PK);
    assert_eq!(campaign["gateway_url"], w.gateway.as_str());
    assert!(campaign.get("secret_key").is_none() && !campaign.to_string().contains(SK));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_are_specific_retries_are_stable_and_a_new_key_can_succeed() {
    let w = world(WebhookTarget::Host).await;
    let s = w.session("winter", Some(1000)).await;
    let bad = w.tokenize("4000000000009995").await;
    let (_, first) = w.pay(&s, &bad, "try-1").await;
    assert_eq!(first["status"], "declined");
    assert_eq!(first["code"], "insufficient_funds");
    assert!(first["message"]
        .as_str()
        .unwrap()
        .contains("insufficient funds"));
    let (_, again) = w.pay(&s, &bad, "try-1").await;
    assert_eq!(again, first, "same key, same outcome");
    assert_eq!(w.status(&s).await["decline"]["code"], "insufficient_funds");
    let good = w.tokenize("4242424242424242").await;
    let (_, second) = w.pay(&s, &good, "try-2").await;
    assert_eq!(second["status"], "succeeded");
    w.wait_status(&s, "fulfilled").await;
    assert_eq!(w.charges().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_d_secure_redirect_and_return() {
    let w = world(WebhookTarget::Host).await;
    let s = w.session("pro", None).await;
    let pm = w.tokenize("4000002500003155").await;
    let (_, outcome) = w.pay(&s, &pm, "3ds").await;
    assert_eq!(outcome["status"], "requires_action");
    let url = outcome["redirect_url"].as_str().unwrap();
    assert!(url.starts_with(&w.gateway), "{url}");
    assert_eq!(w.status(&s).await["status"], "requires_action");
    // The shopper completes the challenge on the gateway's page…
    let secret = url.split("client_secret=").nth(1).unwrap();
    let pi = url
        .split("/sandbox/3ds/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let r = w
        .http
        .post(format!("{}/sandbox/3ds/{pi}", w.gateway))
        .form(&[("client_secret", secret), ("outcome", "complete")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&format!("{}/checkout/return?session={s}", w.host)),
        "{back}"
    );
    // …and comes back to the host, which asks the gateway rather than trusting the URL.
    let r = w.http.get(&back).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/c/pro/return?session={s}")
    );
    let done = w.wait_status(&s, "fulfilled").await;
    assert!(done["license"]["key"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_retries_of_one_pay_charge_once() {
    let w = Arc::new(world(WebhookTarget::Host).await);
    let s = w.session("winter", Some(1500)).await;
    let pm = w.tokenize("4242424242424242").await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (w, s, pm) = (w.clone(), s.clone(), pm.clone());
            tokio::spawn(async move { w.pay(&s, &pm, "same-attempt").await })
        })
        .collect();
    for t in tasks {
        let (code, body) = t.await.unwrap();
        assert_eq!(
            (code, body["status"].as_str()),
            (200, Some("succeeded")),
            "{body}"
        );
    }
    w.wait_status(&s, "fulfilled").await;
    assert_eq!(w.charges().await, 1, "exactly one charge");
    assert_eq!(w.outbox().await.len(), 1, "exactly one receipt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_out_of_order_and_forged_webhooks() {
    // The sandbox sends nothing here: the test delivers its events by hand.
    let w = world(WebhookTarget::None).await;
    let s = w.session("winter", Some(1000)).await;
    let pm = w.tokenize("4242424242424242").await;
    assert_eq!(w.pay(&s, &pm, "k").await.1["status"], "succeeded");
    assert_eq!(
        w.status(&s).await["status"],
        "paid",
        "paid, but not fulfilled before the webhook"
    );
    let events = w
        .gateway_get("/v1/events?type=payment_intent.succeeded")
        .await;
    let event = events["data"][0].to_string();

    // Forged, stale and unsigned deliveries change nothing.
    let forged = sign(&event, now(), "whsec_attacker");
    assert_eq!(w.post_event(&event, Some(forged)).await.0, 400);
    let stale = sign(&event, now() - 301, WHSEC);
    assert_eq!(w.post_event(&event, Some(stale)).await.0, 400);
    assert_eq!(w.post_event(&event, None).await.0, 400);
    let tampered = event.replace("\"amount\":1000", "\"amount\":1");
    assert_eq!(
        w.post_event(&tampered, Some(sign(&event, now(), WHSEC)))
            .await
            .0,
        400
    );
    assert_eq!(w.status(&s).await["status"], "paid");
    assert!(w.outbox().await.is_empty());

    // A late failure event first (out of order), then the success twice.
    let failed = json!({
        "id": "evt_late_failure", "object": "event", "type": "payment_intent.payment_failed",
        "data": { "object": { "id": "pi_other", "status": "requires_payment_method", "amount": 1000, "currency": "usd", "metadata": { "session_id": s }, "last_payment_error": { "code": "card_declined" } } }
    })
    .to_string();
    let (code, _) = w.post_event(&event, Some(sign(&event, now(), WHSEC))).await;
    assert_eq!(code, 200);
    let (code, dup) = w.post_event(&event, Some(sign(&event, now(), WHSEC))).await;
    assert_eq!((code, dup["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(
        w.post_event(&failed, Some(sign(&failed, now(), WHSEC)))
            .await
            .0,
        200
    );
    let done = w.status(&s).await;
    assert_eq!(
        done["status"], "fulfilled",
        "a late failure never undoes a success"
    );
    assert_eq!(done["receipt"]["number"], "HOPE-000001");
    assert_eq!(w.outbox().await.len(), 1, "one fulfilment, one receipt");
    // Several v1 signatures (secret rotation): any match is enough.
    let evt2 = json!({ "id": "evt_unrelated", "type": "customer.created", "data": { "object": { "id": "cus_1" } } }).to_string();
    let t = now();
    let two = format!(
        "{},v1={}",
        sign(&evt2, t, "whsec_old"),
        sign(&evt2, t, WHSEC).split("v1=").nth(1).unwrap()
    );
    assert_eq!(w.post_event(&evt2, Some(two)).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_revokes_the_licence() {
    let w = world(WebhookTarget::Host).await;
    let s = w.session("pro", None).await;
    let pm = w.tokenize("4242424242424242").await;
    w.pay(&s, &pm, "k").await;
    let key = w.wait_status(&s, "fulfilled").await["license"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let pi: String = w
        .state
        .store
        .session(&s)
        .await
        .unwrap()
        .and_then(|row| row.payment_intent)
        .unwrap();
    let r = w
        .http
        .post(format!("{}/v1/refunds", w.gateway))
        .bearer_auth(SK)
        .form(&[("payment_intent", pi.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let after = w.wait_status(&s, "refunded").await;
    assert_eq!(after["license"]["revoked"], true);
    let (_, v) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/verify",
            Some(json!({ "key": key })),
        )
        .await;
    assert_eq!(
        (v["valid"].as_bool(), v["revoked"].as_bool()),
        (Some(false), Some(true)),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_restarted_between_charge_and_webhook_fulfils_exactly_once() {
    // The gateway's webhook points at a port where the *restarted* host will listen.
    let later = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let later_port = later.local_addr().unwrap().port();
    drop(later);
    let mut w = world(WebhookTarget::Url(format!(
        "http://127.0.0.1:{later_port}/webhooks/gateway"
    )))
    .await;
    let s = w.session("pro", None).await;
    let pm = w.tokenize("4242424242424242").await;
    assert_eq!(w.pay(&s, &pm, "k").await.1["status"], "succeeded");
    // The host goes down after the charge, before any webhook reached it.
    w.host_task.abort();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A new host process: same config and database, on the port the gateway is retrying.
    let config = HostConfig::parse(&host_toml(&w.gateway, w.dir.path()), |_| None).unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", later_port))
        .await
        .unwrap();
    let (state, base, task) = start_host(config, listener).await;
    w.host = base;
    w.state = state;
    w.host_task = task;
    let done = w.wait_status(&s, "fulfilled").await;
    assert!(done["license"]["key"].is_string());
    // Replays of the event after the restart change nothing.
    let events = w
        .gateway_get("/v1/events?type=payment_intent.succeeded")
        .await;
    let event = events["data"][0].to_string();
    assert_eq!(
        w.post_event(&event, Some(sign(&event, now(), WHSEC)))
            .await
            .1["duplicate"],
        true
    );
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fulfilments")
        .fetch_one(&w.db().await)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(w.outbox().await.len(), 1);
    assert_eq!(w.charges().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_data_is_refused_and_pages_carry_a_strict_csp() {
    let w = world(WebhookTarget::None).await;
    let s = w.session("winter", Some(1000)).await;
    let (code, e) = w
        .api(reqwest::Method::POST, &format!("/api/sessions/{s}/pay"), Some(json!({ "payment_method": "pm_1", "idempotency_key": "k", "card": { "number": "4242424242424242" } })))
        .await;
    assert_eq!(
        (code, e["error"]["code"].as_str()),
        (400, Some("card_data_not_accepted"))
    );
    assert!(!e.to_string().contains("4242424242424242"));
    let (code, _) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "winter", "amount": 1000, "note": "4000 0566 5566 5556" })),
        )
        .await;
    assert_eq!(code, 400);
    // Oversized bodies are refused.
    let big = json!({ "campaign": "winter", "amount": 1000, "name": "x".repeat(20_000) });
    assert_eq!(
        w.api(reqwest::Method::POST, "/api/sessions", Some(big))
            .await
            .0,
        413
    );

    // Hosted pages: a dist/ with Trunk's inline loader.
    let dist = w.dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><script type=module>import init from '/app.js';await init();</script>",
    )
    .unwrap();
    std::fs::write(
        dist.join("pages.html"),
        "<!doctype html><script type=module>import init from '/pages.js';await init();</script>",
    )
    .unwrap();
    std::fs::write(dist.join("app-1234.js"), "export default 1").unwrap();
    let config = HostConfig::parse(&host_toml(&w.gateway, w.dir.path()), |_| None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (_state, base, _task) = start_host(config, listener).await;
    let page = w.http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
        "{csp}"
    );
    assert!(
        csp.contains(&format!("connect-src 'self' {}", w.gateway)),
        "{csp}"
    );
    // A page about no campaign or session: framed by this host alone.
    assert!(csp.contains("frame-ancestors 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(
        csp.matches("'sha256-").count(),
        2,
        "both pages' loaders: {csp}"
    );
    assert_eq!(page.headers()["cache-control"], "no-cache");
    // The form is its own page (its own wasm); every other path gets the other pages' app.
    let body = |path: &'static str| {
        let (http, base) = (w.http.clone(), base.clone());
        async move {
            let r = http.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.unwrap()
        }
    };
    assert!(body("/c/winter").await.contains("/app.js"));
    assert!(body("/c/winter/").await.contains("/app.js"));
    for path in ["/", "/c/winter/return", "/nope"] {
        assert!(body(path).await.contains("/pages.js"), "{path}");
    }
    // The confirmation is the host's own page (no wasm): an unknown session is not found.
    let thanks = w
        .http
        .get(format!("{base}/thanks/cs_1"))
        .send()
        .await
        .unwrap();
    assert_eq!(thanks.status(), 404);
    assert!(!thanks.text().await.unwrap().contains("/pages.js"));
    let asset = w
        .http
        .get(format!("{base}/app-1234.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_and_pay_endpoints_are_rate_limited_per_ip_and_not_cors_open() {
    let w = world(WebhookTarget::None).await;
    let text = host_toml(&w.gateway, w.dir.path())
        .replace("[server]\n", "[server]\nrate_limit_per_minute = 5\n");
    let config = HostConfig::parse(&text, |_| None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (_state, base, _task) = start_host(config, listener).await;
    let mut codes = Vec::new();
    for _ in 0..7 {
        let r = w
            .http
            .post(format!("{base}/api/sessions"))
            .json(&json!({ "campaign": "winter", "amount": 1000 }))
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
    }
    assert_eq!(codes, [201, 201, 201, 201, 201, 429, 429]);
    // Reading is not limited.
    let r = w
        .http
        .get(format!("{base}/api/campaigns/winter"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The API is same-origin only: no CORS grant for other origins.
    let pre = w
        .http
        .request(reqwest::Method::OPTIONS, format!("{base}/api/sessions"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(pre.headers().get("access-control-allow-origin").is_none());
}

/// A minimal SMTP server on 127.0.0.1:0 that records the DATA of every message.
async fn fake_smtp() -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let sink = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(d) = data.as_mut() {
                        if line == "." {
                            sink.lock().unwrap().push(data.take().unwrap());
                            w.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            d.push_str(&line);
                            d.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-fake\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licence_email_goes_out_by_smtp_when_configured() {
    let w = world(WebhookTarget::None).await;
    let (port, got) = fake_smtp().await;
    let text = format!(
        "{}\n[mail]\nfrom = \"Acme <sales@acme.example>\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n",
        host_toml(&w.gateway, w.dir.path()).replace(
            &fixtures::db(w.dir.path(), "host"),
            &fixtures::db(w.dir.path(), "smtp-host")
        )
    );
    let config = HostConfig::parse(&text, |_| None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (_state, base, _task) = start_host(config, listener).await;
    let session: Value = w
        .http
        .post(format!("{base}/api/sessions"))
        .json(&json!({ "campaign": "pro", "email": "buyer@example.org" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = session["id"].as_str().unwrap();
    let pm = w.tokenize("4242424242424242").await;
    let paid: Value = w
        .http
        .post(format!("{base}/api/sessions/{id}/pay"))
        .json(&json!({ "payment_method": pm, "idempotency_key": "k" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["status"], "succeeded");
    let events = w
        .gateway_get("/v1/events?type=payment_intent.succeeded")
        .await;
    let event = events["data"][0].to_string();
    let r = w
        .http
        .post(format!("{base}/webhooks/gateway"))
        .header("Stripe-Signature", sign(&event, now(), WHSEC))
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no SMTP message");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status: Value = w
        .http
        .get(format!("{base}/api/sessions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = status["license"]["key"].as_str().unwrap();
    let message = got.lock().unwrap()[0].clone();
    assert!(
        message.contains("From: Acme <sales@acme.example>"),
        "{message}"
    );
    assert!(message.contains("To: buyer@example.org"), "{message}");
    assert!(message.replace('\n', "").contains(key), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_loader_snippet_page_and_frame_ancestors_per_merchant() {
    let w = world(WebhookTarget::None).await;
    // A second merchant with its own site and campaign.
    let text = host_toml(&w.gateway, w.dir.path()).replace(
        "[[campaigns]]\nid = \"winter\"",
        &format!(
            "[[merchants]]\nid = \"acme\"\nname = \"Acme\"\ngateway_url = \"{}\"\nsecret_key = \"{SK}\"\n\
             publishable_key = \"{PK}\"\nwebhook_secret = \"{WHSEC}\"\nallowed_origins = [\"https://acme.example\"]\n\n\
             [[campaigns]]\nid = \"acme-pro\"\nmerchant = \"acme\"\nkind = \"license\"\ntitle = \"Pro\"\ncurrency = \"usd\"\n\
             price = 900\nlicense = {{ product = \"Pro\", seats = 1, validity_days = 30 }}\n\n[[campaigns]]\nid = \"winter\"",
            w.gateway
        ),
    );
    let dist = w.dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    for page in ["index.html", "pages.html"] {
        std::fs::write(dist.join(page), "<!doctype html><p>app</p>").unwrap();
    }
    let config = HostConfig::parse(&text, |_| None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (_state, base, _task) = start_host(config, listener).await;
    let get = |path: &str| w.http.get(format!("{base}{path}")).send();

    // The loader: immutable, CORS-open (SRI needs it), and its hash is the snippet's.
    let js = get("/v1/embed.js").await.unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(js.headers()["content-type"], "text/javascript");
    assert_eq!(js.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let body = js.text().await.unwrap();
    let sri = paywidget_host::http::embed::sri(&body);
    let css = get("/v1/embed.css").await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css");

    // The snippet page: the two lines, escaped in the code block and live in the preview.
    let page = get("/c/winter/embed").await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let html = page.text().await.unwrap();
    let link =
        format!("<a href=\"{base}/c/winter\" class=\"paywidget-button\" data-paywidget>Donate</a>");
    assert!(html.contains(&link), "{html}");
    assert!(html.contains(&format!("integrity=\"{sri}\"")), "{html}");
    assert!(html.contains("&lt;a href="), "escaped copy: {html}");
    assert!(html.contains("https://hope.example"));
    assert!(get("/c/acme-pro/embed")
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains(">Buy</a>"));
    assert_eq!(get("/c/nope/embed").await.unwrap().status(), 404);

    // Each campaign's pages may be framed only by its own merchant's sites (and this host).
    let ancestors = |path: &'static str| {
        let r = get(path);
        async move {
            let r = r.await.unwrap();
            let csp = r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned();
            csp.split("; ")
                .find(|d| d.starts_with("frame-ancestors"))
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(
        ancestors("/c/winter").await,
        "frame-ancestors 'self' https://hope.example"
    );
    assert_eq!(
        ancestors("/c/winter/return").await,
        "frame-ancestors 'self' https://hope.example"
    );
    assert_eq!(
        ancestors("/c/acme-pro").await,
        "frame-ancestors 'self' https://acme.example"
    );
    // A confirmation by its session's merchant; an unknown one, and anything else, by this
    // host alone.
    let s: Value = w
        .http
        .post(format!("{base}/api/sessions"))
        .json(&json!({ "campaign": "acme-pro" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let thanks = format!("/thanks/{}", s["id"].as_str().unwrap());
    let thanks: &'static str = Box::leak(thanks.into_boxed_str());
    assert_eq!(
        ancestors(thanks).await,
        "frame-ancestors 'self' https://acme.example"
    );
    assert_eq!(
        ancestors("/thanks/cs_unknown").await,
        "frame-ancestors 'self'"
    );
    // An empty segment is not a way around the campaign's list.
    assert_eq!(get("/c//winter").await.unwrap().status(), 404);
    assert_eq!(get("/c/winter//return").await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licences_expire_by_the_hosts_clock() {
    let w = world(WebhookTarget::Host).await;
    let s = w.session("pro", None).await;
    let pm = w.tokenize("4242424242424242").await;
    assert_eq!(w.pay(&s, &pm, "k").await.1["status"], "succeeded");
    let key = w.wait_status(&s, "fulfilled").await["license"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let verify = || async {
        w.api(
            reqwest::Method::POST,
            "/api/licenses/verify",
            Some(json!({ "key": key })),
        )
        .await
        .1
    };
    let v = verify().await;
    assert_eq!(
        (v["valid"].clone(), v["expired"].clone()),
        (json!(true), json!(false)),
        "{v}"
    );
    // The fixture's licence is valid for 365 days: on day 365 it still is, on day 366 not.
    w.clock.advance_secs(365 * 86_400);
    assert_eq!(verify().await["expired"], false);
    w.clock.advance_secs(86_400);
    let v = verify().await;
    assert_eq!(
        (v["valid"].clone(), v["expired"].clone()),
        (json!(false), json!(true)),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_go_out_compressed_as_built_and_answers_on_the_fly() {
    let w = world(WebhookTarget::None).await;
    // A dist/ as the release build writes it: each file with its .br and .gz beside it.
    let dist = w.dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let page = "<!doctype html><html><head><script type=module>import init from '/app.js';\
                await init();</script></head><body></body></html>";
    let wasm: Vec<u8> = (0..20_000u32).map(|i| (i % 7) as u8).collect();
    for (name, bytes) in [
        ("index.html", page.as_bytes().to_vec()),
        ("pages.html", page.as_bytes().to_vec()),
        ("app-1234_bg.wasm", wasm.clone()),
    ] {
        std::fs::write(dist.join(name), &bytes).unwrap();
        std::fs::write(dist.join(format!("{name}.br")), format!("br of {name}")).unwrap();
        std::fs::write(dist.join(format!("{name}.gz")), format!("gz of {name}")).unwrap();
    }
    let config = HostConfig::parse(&host_toml(&w.gateway, w.dir.path()), |_| None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (_state, base, _task) = start_host(config, listener).await;
    // No automatic decompression: these are the bytes on the wire.
    let get = |path: &str, encoding: Option<&str>| {
        let mut req = w.http.get(format!("{base}{path}"));
        if let Some(e) = encoding {
            req = req.header("accept-encoding", e);
        }
        async move {
            let r = req.send().await.unwrap();
            let header = |h: &str| {
                r.headers()
                    .get(h)
                    .map(|v| v.to_str().unwrap().to_ascii_lowercase())
                    .unwrap_or_default()
            };
            let (encoding, vary) = (header("content-encoding"), header("vary"));
            (encoding, vary, r.bytes().await.unwrap().to_vec())
        }
    };
    // A campaign's form page is built at start (its data and first view in it) and kept
    // compressed: brotli or gzip by Accept-Encoding, with Vary.
    let (enc, vary, body) = get("/c/winter", Some("gzip, br")).await;
    assert_eq!(enc, "br");
    assert!(vary.contains("accept-encoding"), "vary: {vary}");
    let mut html = Vec::new();
    brotli::BrotliDecompress(&mut body.as_slice(), &mut html).unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("import init from '/app.js'") && html.contains(r#"id="pw-first""#));
    let (enc, _, gz) = get("/c/winter", Some("gzip")).await;
    assert_eq!(enc, "gzip");
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut plain)
        .unwrap();
    assert_eq!(plain, html);
    let (enc, _, identity) = get("/c/winter", Some("br;q=0, identity")).await;
    assert_eq!(
        (enc.as_str(), identity),
        ("", html.into_bytes()),
        "br refused"
    );
    let (enc, _, body) = get("/pages.html", Some("gzip, br")).await;
    assert_eq!(
        (enc.as_str(), body.as_slice()),
        ("br", b"br of pages.html".as_slice())
    );
    let (enc, _, body) = get("/app-1234_bg.wasm", Some("gzip")).await;
    assert_eq!(
        (enc.as_str(), body.as_slice()),
        ("gzip", b"gz of app-1234_bg.wasm".as_slice())
    );
    let (enc, _, body) = get("/app-1234_bg.wasm", None).await;
    assert_eq!((enc.as_str(), body), ("", wasm), "identity when not asked");
    // The loader: brotli on the fly, the same bytes once decoded.
    let (enc, vary, body) = get("/v1/embed.js", Some("br")).await;
    assert_eq!(enc, "br");
    assert!(vary.contains("accept-encoding"), "vary: {vary}");
    let mut js = Vec::new();
    brotli::BrotliDecompress(&mut body.as_slice(), &mut js).unwrap();
    let (_, _, plain) = get("/v1/embed.js", None).await;
    assert_eq!(js, plain);
    assert!(
        body.len() * 2 < plain.len(),
        "{} of {} bytes",
        body.len(),
        plain.len()
    );
    // JSON answers too.
    let (enc, _, body) = get("/api/campaigns/winter", Some("gzip")).await;
    assert_eq!(enc, "gzip");
    let mut json = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(body.as_slice()),
        &mut json,
    )
    .unwrap();
    assert!(json.contains("\"id\":\"winter\""), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_this_build_cannot_read_is_neither_paid_nor_paid_again() {
    let w = world(WebhookTarget::Host).await;
    let s = w.session("winter", Some(1000)).await;
    // As if a newer build had written a status this one does not know.
    sqlx::query("UPDATE sessions SET status = 'teleported' WHERE id = $1")
        .bind(&s)
        .execute(&w.db().await)
        .await
        .unwrap();
    let pm = w.tokenize("4242424242424242").await;
    let (code, outcome) = w.pay(&s, &pm, "k").await;
    assert_eq!(
        (code, outcome["status"].as_str()),
        (200, Some("processing")),
        "{outcome}"
    );
    assert_eq!(w.charges().await, 0, "not charged");
    assert_eq!(w.status(&s).await["status"], "unknown");
}

/// The sandbox served over TLS with its own certificate: the host trusts it only through
/// `server.gateway_ca_file`, and then charges over HTTPS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charges_through_an_https_gateway_trusted_by_an_extra_ca() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.key_pair.serialize_pem());
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("gateway-ca.pem");
    std::fs::write(&ca, &cert_pem).unwrap();
    // The sandbox behind TLS on 127.0.0.1:0, named `localhost` as its certificate is.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let gateway = format!(
        "https://localhost:{}",
        std_listener.local_addr().unwrap().port()
    );
    let sandbox = paywidget_sandbox::AppState::new(
        paywidget_sandbox::Config::default(),
        paywidget_sandbox::store::Store::open(":memory:")
            .await
            .unwrap(),
        gateway.clone(),
    );
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        cert_pem.clone().into_bytes(),
        key_pem.into_bytes(),
    )
    .await
    .unwrap();
    let server = axum_server::from_tcp_rustls(std_listener, tls)
        .serve(paywidget_sandbox::router(sandbox).into_make_service());
    let gateway_task = tokio::spawn(server);
    let browser = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    // A host that trusts the extra CA, and one that does not.
    let trusting = host_toml(&gateway, dir.path()).replace(
        "[server]\n",
        &format!("[server]\ngateway_ca_file = \"{}\"\n", ca.display()),
    );
    let wary = host_toml(&gateway, dir.path()).replace(
        &fixtures::db(dir.path(), "host"),
        &fixtures::db(dir.path(), "wary"),
    );
    let mut outcomes = Vec::new();
    for toml in [trusting, wary] {
        let config = HostConfig::parse(&toml, |_| None).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (_state, base, _task) = start_host(config, listener).await;
        let http = reqwest::Client::new();
        let session: Value = http
            .post(format!("{base}/api/sessions"))
            .json(&json!({ "campaign": "winter", "amount": 1000, "email": "d@example.org" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = session["id"].as_str().unwrap().to_owned();
        let r = http
            .post(format!("{base}/api/sessions/{id}/pay"))
            .json(&json!({ "payment_method": paywidget_testkit::world::tokenize(&browser, &gateway, "4242424242424242").await, "idempotency_key": "k1" }))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        outcomes.push((status, body));
    }
    assert_eq!(
        (outcomes[0].0, outcomes[0].1["status"].as_str()),
        (200, Some("succeeded")),
        "charged over HTTPS: {:?}",
        outcomes[0]
    );
    assert_eq!(
        (outcomes[1].0, outcomes[1].1["error"]["code"].as_str()),
        (502, Some("gateway_unavailable")),
        "an unknown certificate is refused: {:?}",
        outcomes[1]
    );
    gateway_task.abort();
}

#[tokio::test]
async fn a_bad_gateway_ca_file_stops_the_host_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("not-a-ca.pem");
    std::fs::write(&ca, "hello").unwrap();
    let toml = host_toml("http://127.0.0.1:9", dir.path()).replace(
        "[server]\n",
        &format!("[server]\ngateway_ca_file = \"{}\"\n", ca.display()),
    );
    let config = HostConfig::parse(&toml, |_| None).unwrap();
    let e = paywidget_host::open(
        config,
        "http://127.0.0.1:1".into(),
        paywidget_host::system_now(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("server.gateway_ca_file"), "{e}");
}

/// `[server.tls]`: the host itself on HTTPS (rustls), with HSTS on its answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_serves_https_with_hsts_when_configured() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("host.crt"), dir.path().join("host.key"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).unwrap();
    // `[server.tls]` goes after `[server]`'s own keys, before the merchants.
    let toml = host_toml("http://127.0.0.1:9", dir.path()).replacen(
        "\n[[merchants]]",
        &format!(
            "\n[server.tls]\ncert = \"{}\"\nkey = \"{}\"\n\n[[merchants]]",
            cert_file.display(),
            key_file.display()
        ),
        1,
    );
    let config = HostConfig::parse(&toml, |_| None).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let tls = config.server.tls.clone().expect("[server.tls] parsed");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let state = paywidget_host::open(config, base.clone(), paywidget_host::system_now())
        .await
        .unwrap();
    let server =
        tokio::spawn(async move { paywidget_host::serve_tls(listener, state, &tls).await });
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = client
        .get(format!("{base}/api/campaigns/winter"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["strict-transport-security"].to_str().unwrap(),
        "max-age=31536000"
    );
    let campaign: Value = r.json().await.unwrap();
    assert_eq!(campaign["id"], "winter");
    // Plain HTTP to the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(base.replace("https://", "http://") + "/healthz")
        .send()
        .await;
    assert!(plain.map_or(true, |r| !r.status().is_success()));
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_gateway_says_what_is_wrong_with_a_merchants_keys() {
    let w = world(WebhookTarget::None).await;
    let config = |env: &'static [(&'static str, &'static str)]| {
        HostConfig::parse(&host_toml(&w.gateway, w.dir.path()), |k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
    };
    let check = |c: HostConfig| async move {
        let http = paywidget_host::gateway_client(&c).unwrap();
        paywidget_host::config::check::check_merchant(&http, &c.merchants[0]).await
    };
    let good = check(config(&[])).await;
    assert!(good.iter().all(|f| f.ok), "{good:#?}");
    let refused = check(config(&[(
        "PAYWIDGET_HOPE_SECRET_KEY",
        "sk_test_notTheRightKey",
    )]))
    .await;
    let bad: Vec<_> = refused.iter().filter(|f| !f.ok).collect();
    assert_eq!(bad.len(), 1, "{refused:#?}");
    assert!(
        bad[0].what.contains("refused the secret key sk_…tKey"),
        "{:?}",
        bad[0]
    );
    assert!(
        !format!("{refused:?}").contains("notTheRightKey"),
        "keys are never printed whole"
    );
    let mixed = check(config(&[("PAYWIDGET_HOPE_SECRET_KEY", "sk_live_xyz")])).await;
    assert!(
        mixed
            .iter()
            .any(|f| !f.ok && f.what.contains("test and live keys are mixed")),
        "{mixed:#?}"
    );
}

/// Both legs over HTTPS, as with a real gateway: the host charges the sandbox on TLS (trusted
/// through `server.gateway_ca_file`), and the sandbox delivers the payment's webhook to the
/// host's own HTTPS endpoint (`[server.tls]`, trusted through the sandbox's extra webhook CA);
/// the session is fulfilled from that webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_and_its_webhook_over_https_both_ways() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let certificate = |name: &str| {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (c.cert.pem(), c.key_pair.serialize_pem());
        std::fs::write(dir.path().join(format!("{name}.crt")), &cert).unwrap();
        std::fs::write(dir.path().join(format!("{name}.key")), &key).unwrap();
        (cert, key)
    };
    let (gateway_cert, gateway_key) = certificate("gateway");
    let (host_cert, _) = certificate("host");
    let gateway_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    gateway_listener.set_nonblocking(true).unwrap();
    let gateway = format!(
        "https://localhost:{}",
        gateway_listener.local_addr().unwrap().port()
    );
    let host_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!(
        "https://localhost:{}",
        host_listener.local_addr().unwrap().port()
    );
    // The sandbox on TLS, delivering to the host's HTTPS webhook endpoint.
    let sandbox = paywidget_sandbox::AppState::new(
        paywidget_sandbox::Config {
            webhooks: vec![paywidget_sandbox::WebhookEndpoint {
                url: format!("{host}/webhooks/gateway"),
                secret: WHSEC.into(),
            }],
            webhook_ca_pems: vec![host_cert.clone().into_bytes()],
            ..Default::default()
        },
        paywidget_sandbox::store::Store::open(":memory:")
            .await
            .unwrap(),
        gateway.clone(),
    );
    let worker = tokio::spawn(paywidget_sandbox::webhooks::run_worker(sandbox.clone()));
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        gateway_cert.clone().into_bytes(),
        gateway_key.into_bytes(),
    )
    .await
    .unwrap();
    let gateway_task = tokio::spawn(
        axum_server::from_tcp_rustls(gateway_listener, tls)
            .serve(paywidget_sandbox::router(sandbox).into_make_service()),
    );
    // The host on TLS, trusting the gateway's certificate.
    let toml = host_toml(&gateway, dir.path())
        .replace(
            "[server]\n",
            &format!(
                "[server]\ngateway_ca_file = \"{}\"\n",
                dir.path().join("gateway.crt").display()
            ),
        )
        .replacen(
            "\n[[merchants]]",
            &format!(
                "\n[server.tls]\ncert = \"{}\"\nkey = \"{}\"\n\n[[merchants]]",
                dir.path().join("host.crt").display(),
                dir.path().join("host.key").display()
            ),
            1,
        );
    let config = HostConfig::parse(&toml, |_| None).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let server_tls = config.server.tls.clone().expect("[server.tls]");
    let state = paywidget_host::open(config, host.clone(), paywidget_host::system_now())
        .await
        .unwrap();
    let host_task = tokio::spawn(async move {
        let _ = paywidget_host::serve_tls(host_listener, state, &server_tls).await;
    });
    // A shopper's browser trusts both certificates.
    let browser = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(gateway_cert.as_bytes()).unwrap())
        .add_root_certificate(reqwest::Certificate::from_pem(host_cert.as_bytes()).unwrap())
        .build()
        .unwrap();
    let session: Value = browser
        .post(format!("{host}/api/sessions"))
        .json(&json!({ "campaign": "winter", "amount": 1000, "email": "d@example.org" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = session["id"].as_str().unwrap().to_owned();
    let pm = paywidget_testkit::world::tokenize(&browser, &gateway, "4242424242424242").await;
    let paid: Value = browser
        .post(format!("{host}/api/sessions/{id}/pay"))
        .json(&json!({ "payment_method": pm, "idempotency_key": "k1" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["status"], "succeeded", "{paid}");
    // Fulfilment comes only from the verified webhook, delivered over HTTPS.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s: Value = browser
            .get(format!("{host}/api/sessions/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["status"] == "fulfilled" {
            assert!(s["receipt"]["number"].as_str().is_some(), "{s}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no webhook over HTTPS fulfilled the session: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.abort();
    gateway_task.abort();
    host_task.abort();
}

/// Buys the `pro` licence (2 seats) and returns its key.
async fn bought_licence(w: &World) -> (String, String) {
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
async fn activations_are_bounded_by_seats_and_leases_verify_offline() {
    let w = world(WebhookTarget::Host).await;
    let (order, key) = bought_licence(&w).await;
    let activate = |instance: &'static str| {
        let key = key.clone();
        let w = &w;
        async move {
            w.api(
                reqwest::Method::POST,
                "/api/licenses/activate",
                Some(json!({ "key": key, "instance": instance })),
            )
            .await
        }
    };
    let (code, first) = activate("laptop").await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(
        (first["seats"].as_u64(), first["seats_used"].as_u64()),
        (Some(2), Some(1))
    );
    // The lease verifies offline with the published key, for this order and installation.
    let lease = paywidget_host::licence::verify_lease(
        &w.state.signing_key.verifying_key(),
        first["lease"].as_str().unwrap(),
    )
    .expect("the lease verifies");
    assert_eq!(
        (lease.order.as_str(), lease.instance.as_str()),
        (
            paywidget_host::licence::order_ref(&w.state.keys, &order).as_str(),
            "laptop"
        )
    );
    assert_eq!(
        lease.valid_until_day,
        first["valid_until_day"].as_u64().map(|d| d as u32)
    );
    assert!(lease.valid_until_day.is_some());
    // Activating the same installation again takes no second seat.
    let (_, again) = activate("laptop").await;
    assert_eq!(again["seats_used"], 1);
    let (code, _) = activate("desktop").await;
    assert_eq!(code, 200);
    // Every seat taken: refused, with a stable code and words a person can act on.
    let (code, full) = activate("tablet").await;
    assert_eq!(code, 409, "{full}");
    assert_eq!(full["error"]["code"], "seats_exhausted");
    assert!(full["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Deactivate"));
    // Verify reports the seats taken and the last valid day.
    let (_, v) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/verify",
            Some(json!({ "key": key })),
        )
        .await;
    assert_eq!(
        (v["valid"].as_bool(), v["seats_used"].as_u64()),
        (Some(true), Some(2))
    );
    // Verify tells the licence's own last day (a year); the lease ends sooner.
    let claims =
        paywidget_host::licence::verify(&w.state.signing_key.verifying_key(), &key).unwrap();
    assert_eq!(
        v["valid_until_day"].as_u64(),
        claims.expires_day.map(u64::from)
    );
    assert!(v["valid_until_day"].as_u64() > first["valid_until_day"].as_u64());
    // Deactivating one frees its seat for another installation.
    let (code, d) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/deactivate",
            Some(json!({ "key": key, "instance": "laptop" })),
        )
        .await;
    assert_eq!(
        (code, d["deactivated"].as_bool(), d["seats_used"].as_u64()),
        (200, Some(true), Some(1))
    );
    let (code, _) = activate("tablet").await;
    assert_eq!(code, 200);
    // Bad input is refused with its own codes.
    let (code, bad) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/activate",
            Some(json!({ "key": key, "instance": "has spaces" })),
        )
        .await;
    assert_eq!(
        (code, bad["error"]["code"].as_str()),
        (400, Some("invalid_instance"))
    );
    let (code, bad) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/activate",
            Some(json!({ "key": "PW1-NOPE", "instance": "x" })),
        )
        .await;
    assert_eq!(
        (code, bad["error"]["code"].as_str()),
        (400, Some("invalid_license"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_activations_never_exceed_the_seats() {
    let w = Arc::new(world(WebhookTarget::Host).await);
    let (_, key) = bought_licence(&w).await;
    let tries: Vec<_> = (0..12)
        .map(|i| {
            let (w, key) = (w.clone(), key.clone());
            tokio::spawn(async move {
                w.api(
                    reqwest::Method::POST,
                    "/api/licenses/activate",
                    Some(json!({ "key": key, "instance": format!("machine-{i}") })),
                )
                .await
                .0
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tries {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 2, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 10, "{codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refunded_licence_cannot_be_activated_but_can_be_deactivated() {
    let w = world(WebhookTarget::Host).await;
    let (order, key) = bought_licence(&w).await;
    let body = |instance: &str| Some(json!({ "key": key, "instance": instance }));
    let (code, _) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/activate",
            body("laptop"),
        )
        .await;
    assert_eq!(code, 200);
    let pi = w
        .state
        .store
        .session(&order)
        .await
        .unwrap()
        .and_then(|r| r.payment_intent)
        .unwrap();
    w.http
        .post(format!("{}/v1/refunds", w.gateway))
        .bearer_auth(SK)
        .form(&[("payment_intent", pi.as_str())])
        .send()
        .await
        .unwrap();
    w.wait_status(&order, "refunded").await;
    let (code, refused) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/activate",
            body("desktop"),
        )
        .await;
    assert_eq!(
        (code, refused["error"]["code"].as_str()),
        (409, Some("license_revoked"))
    );
    let (code, d) = w
        .api(
            reqwest::Method::POST,
            "/api/licenses/deactivate",
            body("laptop"),
        )
        .await;
    assert_eq!((code, d["deactivated"].as_bool()), (200, Some(true)));
}

/// Regression (issue 14): with 4 of 5 gateway requests refused before they take effect, a
/// good card must never be reported declined — reading the payment back shows no effect of
/// this attempt (fresh, or a previous card's decline), so the answer is "try again" with the
/// same key until the gateway answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_confirm_is_never_taken_for_a_decline() {
    let w = world(WebhookTarget::Host).await;
    let session = w.session("winter", Some(1000)).await;
    // A first card declined, for real.
    let bad = w.tokenize("4000000000000002").await;
    assert_eq!(w.pay(&session, &bad, "k1").await.1["status"], "declined");
    let good = w.tokenize("4242424242424242").await;
    let faults = |rate: &'static str| {
        let w = &w;
        async move {
            let r = w
                .http
                .post(format!("{}/_sandbox/faults", w.gateway))
                .bearer_auth(SK)
                .form(&[("error_rate", rate)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    faults("0.8").await;
    let mut answers = Vec::new();
    for _ in 0..20 {
        let (status, answer) = w.pay(&session, &good, "k2").await;
        answers.push((
            status,
            answer["status"].clone(),
            answer["error"]["code"].clone(),
        ));
        if answer["status"] == "succeeded" {
            break;
        }
        assert_ne!(
            answer["status"], "declined",
            "a good card reported declined: {answers:?}"
        );
    }
    faults("0").await;
    let (_, last) = w.pay(&session, &good, "k2").await;
    assert_eq!(last["status"], "succeeded", "{answers:?}");
    w.wait_status(&session, "fulfilled").await;
    assert_eq!(w.charges().await, 1);
}

/// Regression (issue 14): a host killed between claiming a pay key and recording its outcome
/// left the key `in_progress` forever. The claim is a lease: once it has run out, a retry of
/// the same key drives the attempt to its end (once: the gateway keys derive from it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_left_by_a_dead_host_is_taken_over_after_its_lease() {
    let w = world(WebhookTarget::Host).await;
    let session = w.session("winter", Some(1000)).await;
    let pm = w.tokenize("4242424242424242").await;
    // What a host killed mid-payment leaves behind: a claim without an outcome.
    let now = paywidget_host::support::clock::Clock::now(&w.clock);
    assert!(w
        .state
        .store
        .claim_attempt(&session, "k", now, now - 60)
        .await
        .unwrap());
    w.clock
        .advance_secs(paywidget_host::checkout::CLAIM_LEASE_SECS + 1);
    let (status, answer) = w.pay(&session, &pm, "k").await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("succeeded")),
        "{answer}"
    );
    w.wait_status(&session, "fulfilled").await;
    // The retry after that answers the recorded outcome; one charge in all.
    assert_eq!(w.pay(&session, &pm, "k").await.1["status"], "succeeded");
    assert_eq!(w.charges().await, 1);
}
