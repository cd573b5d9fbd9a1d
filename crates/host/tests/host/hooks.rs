//! Outgoing webhooks (Standard Webhooks) over HTTP, as an owner and as an attacker: an
//! endpoint added from the dashboard gets the payment's event signed with its secret; a
//! receiver's failure is retried on the schedule; a rotation signs with both secrets for 24
//! hours; a replay sends the same `webhook-id` again; concurrent relays send each delivery once;
//! private and metadata addresses are refused when added and when delivered; another merchant,
//! support and viewers cannot see or act on an endpoint. With `PAYWIDGET_HOOKS_CAPTURE` set, the
//! requests received are written there for the independent check in Python
//! (`crates/host/tests/standard_webhooks.py`, the `standardwebhooks` package).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use paywidget_host::hooks::deliver_due;
use paywidget_host::store::HookEndpoint;
use paywidget_host::support::clock::Clock;
use paywidget_testkit::world::World;
use serde_json::{json, Value};
use sha2::Sha256;

use super::admin::{dashboard_world_with, donation, get, staff_in};

/// Development: webhooks may go to this machine (the test's receiver).
const LOOPBACK: &str = "hooks_to_loopback = true\n";

/// One request the receiver got.
#[derive(Clone, Debug, serde::Serialize)]
struct Caught {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    answered: u16,
}

/// A merchant's system: records every request, answers 500 to the next `fail_next` ones.
struct Receiver {
    url: String,
    caught: Arc<Mutex<Vec<Caught>>>,
    fail_next: Arc<AtomicUsize>,
}

impl Receiver {
    fn all(&self) -> Vec<Caught> {
        self.caught.lock().unwrap().clone()
    }
}

async fn receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let caught = Arc::new(Mutex::new(Vec::new()));
    let fail_next = Arc::new(AtomicUsize::new(0));
    let (c, f) = (caught.clone(), fail_next.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (c, f) = (c.clone(), f.clone());
            async move {
                let failing = f
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                let answered = if failing { 500 } else { 204 };
                let h = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                c.lock().unwrap().push(Caught {
                    id: h("webhook-id"),
                    timestamp: h("webhook-timestamp"),
                    signature: h("webhook-signature"),
                    body,
                    answered,
                });
                StatusCode::from_u16(answered).unwrap()
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        url: format!("http://127.0.0.1:{port}/hook"),
        caught,
        fail_next,
    }
}

/// The receiver's requests once it has `n`, running the relay meanwhile (at most 15 s).
async fn until(w: &World, rx: &Receiver, n: usize) -> Vec<Caught> {
    let start = Instant::now();
    loop {
        let got = rx.all();
        if got.len() >= n {
            return got;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{} of {n} requests: {got:?}",
            got.len()
        );
        deliver_due(&w.state).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether one of the request's signatures is `secret`'s (computed here from the
/// specification, not with the host's code).
fn verifies(secret: &str, c: &Caught) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", c.id, c.timestamp, c.body).as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    c.signature.split(' ').any(|s| s == expected)
}

/// The `whsec_…` secret a page shows.
fn secret_in(page: &str) -> String {
    let rest = page.split("whsec_").nth(1).expect("a secret on the page");
    let b64: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "+/=".contains(*c))
        .collect();
    format!("whsec_{b64}")
}

/// The first endpoint id a page links to.
fn endpoint_in(page: &str) -> String {
    let rest = page
        .split("/admin/webhooks/ep_")
        .nth(1)
        .expect("an endpoint link");
    let tail: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    format!("ep_{tail}")
}

/// Posts the add form (events repeated, as the checkboxes send them).
async fn add(w: &World, cookie: &str, csrf: &str, url: &str, events: &[&str]) -> (u16, String) {
    let mut form = vec![("csrf", csrf), ("url", url)];
    form.extend(events.iter().map(|e| ("events", *e)));
    let r = w
        .http
        .post(format!("{}/admin/webhooks", w.host))
        .header("cookie", format!("pw_admin={cookie}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts an endpoint's action form.
async fn act(
    w: &World,
    cookie: &str,
    csrf: &str,
    endpoint: &str,
    action: &str,
    extra: &[(&str, &str)],
) -> (u16, String) {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(extra);
    let r = w
        .http
        .post(format!("{}/admin/webhooks/{endpoint}/{action}", w.host))
        .header("cookie", format!("pw_admin={cookie}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_rotated_replayed_and_never_sent_inside() {
    let w = dashboard_world_with(LOOPBACK).await;
    let rx = receiver().await;
    let (owner, csrf) = staff_in(&w, "owner@hope.example").await;
    // Settings and secrets are the owners': support and viewers see no endpoint.
    for who in ["help@hope.example", "viewer@hope.example"] {
        let (cookie, _) = staff_in(&w, who).await;
        assert_eq!(get(&w, &cookie, "/admin/webhooks").await.0, 403, "{who}");
    }
    // Addresses inside the host's network, the clouds' metadata service, plain http elsewhere
    // and oversized URLs are refused when added.
    let long = format!("https://example.org/{}", "a".repeat(3000));
    for bad in [
        "https://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "http://hooks.example.org/",
        long.as_str(),
    ] {
        let (status, page) = add(&w, &owner, &csrf, bad, &[]).await;
        assert_eq!(status, 400, "{bad}: {page}");
    }
    assert_eq!(
        add(&w, &owner, &csrf, &rx.url, &["payment.stolen"]).await.0,
        400
    );
    assert_eq!(add(&w, &owner, "0000", &rx.url, &[]).await.0, 400);
    let (status, page) = add(&w, &owner, &csrf, &rx.url, &[]).await;
    assert_eq!(status, 201, "{page}");
    let first = secret_in(&page);
    let ep = endpoint_in(&page);
    // The secret is shown once.
    let (_, list) = get(&w, &owner, "/admin/webhooks").await;
    assert!(!list.contains(&first) && list.contains(&rx.url), "{list}");

    // The receiver fails the first try: retried 5 s later on the host's clock, not before.
    rx.fail_next.store(1, Ordering::SeqCst);
    let session = donation(&w, "winter", 2500, "ada@example.org", "Ada").await;
    let got = until(&w, &rx, 1).await;
    assert_eq!(got[0].answered, 500);
    deliver_due(&w.state).await;
    assert_eq!(rx.all().len(), 1, "retried before its time");
    w.clock.advance_secs(6);
    let got = until(&w, &rx, 2).await;
    assert_eq!(
        (got[1].id.as_str(), got[1].answered),
        (got[0].id.as_str(), 204)
    );
    let body: Value = serde_json::from_str(&got[1].body).unwrap();
    assert_eq!(body["type"], "payment.succeeded", "{body}");
    assert_eq!(body["data"]["session"], json!(session));
    assert_eq!(
        (&body["data"]["amount"], &body["data"]["currency"]),
        (&json!(2500), &json!("usd"))
    );
    assert!(body["data"]["receipt_number"].is_string(), "{body}");
    assert!(verifies(&first, &got[0]) && verifies(&first, &got[1]));
    let mut forged = got[1].clone();
    forged.body = forged.body.replace("2500", "250000");
    assert!(!verifies(&first, &forged), "a changed body must not verify");
    // The payment's timeline shows the webhook and how its delivery stands.
    let (_, timeline) = get(&w, &owner, &format!("/admin/payments/{session}")).await;
    assert!(
        timeline.contains(
            "Webhook payment.succeeded to 1 endpoint(s): 1 delivered, 0 waiting, 0 failed"
        ),
        "{timeline}"
    );
    // The delivery log shows both tries.
    let (_, detail) = get(&w, &owner, &format!("/admin/webhooks/{ep}")).await;
    assert!(
        detail.contains("HTTP 500") && detail.contains("HTTP 204"),
        "{detail}"
    );

    // Rotation: a new secret, and both sign for 24 hours.
    let (status, page) = act(&w, &owner, &csrf, &ep, "rotate", &[]).await;
    assert_eq!(status, 200, "{page}");
    let second = secret_in(&page);
    assert_ne!(first, second);
    assert_eq!(act(&w, &owner, &csrf, &ep, "test", &[]).await.0, 200);
    let got = until(&w, &rx, 3).await;
    let test: Value = serde_json::from_str(&got[2].body).unwrap();
    assert_eq!(test["type"], "webhook.test");
    assert!(verifies(&first, &got[2]) && verifies(&second, &got[2]));
    // A replay sends the payment's message again, with its id.
    let (status, _) = act(&w, &owner, &csrf, &ep, "replay", &[("message", &got[0].id)]).await;
    assert_eq!(status, 200);
    let got = until(&w, &rx, 4).await;
    assert_eq!(got[3].id, got[0].id);
    assert_eq!(got[3].body, got[0].body);
    assert!(verifies(&second, &got[3]));

    // Another merchant's owner: not found, and cannot pull this merchant's message into an
    // endpoint of its own.
    let (theirs, their_csrf) = staff_in(&w, "owner@other.example").await;
    assert_eq!(
        get(&w, &theirs, &format!("/admin/webhooks/{ep}")).await.0,
        404
    );
    for action in ["test", "rotate", "off"] {
        assert_eq!(
            act(&w, &theirs, &their_csrf, &ep, action, &[]).await.0,
            404,
            "{action}"
        );
    }
    let (_, page) = add(&w, &theirs, &their_csrf, &format!("{}?theirs", rx.url), &[]).await;
    let theirs_ep = endpoint_in(&page);
    let (status, _) = act(
        &w,
        &theirs,
        &their_csrf,
        &theirs_ep,
        "replay",
        &[("message", &got[0].id)],
    )
    .await;
    assert_eq!(status, 404);

    // An endpoint whose address turned private (say its name was pointed inside after it was
    // added) is refused at delivery: nothing reaches it, the log says why.
    w.state
        .store
        .insert_hook_endpoint(&HookEndpoint {
            id: "ep_inside".into(),
            merchant: "hope".into(),
            url: "https://169.254.169.254/latest/meta-data".into(),
            events: "*".into(),
            salt: "salt".into(),
            old_salt: None,
            old_until: None,
            created: w.clock.now(),
            failing_since: None,
            disabled: None,
            disabled_reason: None,
        })
        .await
        .unwrap();
    assert_eq!(
        act(&w, &owner, &csrf, "ep_inside", "test", &[]).await.0,
        200
    );
    let start = Instant::now();
    let refused = loop {
        deliver_due(&w.state).await;
        let (_, page) = get(&w, &owner, "/admin/webhooks/ep_inside").await;
        if page.contains("private or reserved address") {
            break page;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(refused.contains("169.254.169.254"), "{refused}");
    assert_eq!(rx.all().len(), 4, "nothing else was sent");

    // Switched off, it is sent nothing; switched on and replayed since the day, it gets all.
    assert_eq!(act(&w, &owner, &csrf, &ep, "off", &[]).await.0, 200);
    donation(&w, "winter", 3000, "bea@example.org", "Bea").await;
    for _ in 0..5 {
        deliver_due(&w.state).await;
    }
    assert_eq!(
        rx.all().len(),
        4,
        "an endpoint switched off is sent nothing"
    );
    assert_eq!(act(&w, &owner, &csrf, &ep, "on", &[]).await.0, 200);
    let day = paywidget_host::mail::civil_date(w.clock.now() - 2 * 86_400);
    let (status, page) = act(&w, &owner, &csrf, &ep, "replay-since", &[("since", &day)]).await;
    assert_eq!(status, 200, "{page}");
    // Two payments since (the test events are not replayed).
    assert!(page.contains("2 event(s) queued again"), "{page}");
    let got = until(&w, &rx, 6).await;
    let kinds: Vec<String> = got[4..]
        .iter()
        .map(|c| serde_json::from_str::<Value>(&c.body).unwrap()["type"].to_string())
        .collect();
    assert_eq!(kinds, ["\"payment.succeeded\"", "\"payment.succeeded\""]);
    if let Ok(path) = std::env::var("PAYWIDGET_HOOKS_CAPTURE") {
        let capture = json!({
            "first_secret": first,
            "second_secret": second,
            "requests": rx.all(),
            "refused_error": refused.contains("private or reserved address"),
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&capture).unwrap()).unwrap();
    }

    // A day later the old secret no longer signs.
    w.clock.advance_secs(24 * 3600 + 1);
    assert_eq!(act(&w, &owner, &csrf, &ep, "test", &[]).await.0, 200);
    let got = until(&w, &rx, 7).await;
    assert!(verifies(&second, &got[6]) && !verifies(&first, &got[6]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_racing_on_one_database_send_each_delivery_once() {
    let w = dashboard_world_with(LOOPBACK).await;
    let rx = receiver().await;
    let (owner, csrf) = staff_in(&w, "owner@hope.example").await;
    let (_, page) = add(&w, &owner, &csrf, &rx.url, &["payment.succeeded"]).await;
    let ep = endpoint_in(&page);
    // Twelve test events queued at once, then four relays (plus the host's own) claim together.
    let sends = (0..12).map(|_| act(&w, &owner, &csrf, &ep, "test", &[]));
    for (status, page) in futures_util::future::join_all(sends).await {
        assert_eq!(status, 200, "{page}");
    }
    let relays = (0..4).map(|_| deliver_due(&w.state));
    futures_util::future::join_all(relays).await;
    let got = until(&w, &rx, 12).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    deliver_due(&w.state).await;
    let got_later = rx.all();
    let mut ids: Vec<&str> = got_later.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((got.len(), got_later.len(), ids.len()), (12, 12, 12));
    // The filter holds: a payment's event is sent; nothing else subscribed is.
    donation(&w, "winter", 2500, "ada@example.org", "Ada").await;
    let got = until(&w, &rx, 13).await;
    assert!(got[12].body.contains("payment.succeeded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_payout_is_sent_once_and_only_where_its_signature_reaches() {
    let w = dashboard_world_with(LOOPBACK).await;
    let rx = receiver().await;
    let (owner, csrf) = staff_in(&w, "owner@hope.example").await;
    let (status, page) = add(&w, &owner, &csrf, &rx.url, &["payout.paid"]).await;
    assert_eq!(status, 201, "{page}");
    let payout = |id: &str| {
        json!({
            "id": id, "object": "event", "type": "payout.paid", "created": super::now(),
            "data": { "object": {
                "id": "po_sandbox_usd_1764028800", "object": "payout", "amount": 6412,
                "arrival_date": 1_764_028_800, "currency": "usd", "status": "paid"
            } }
        })
        .to_string()
    };
    // The gateway's event, delivered twice (as gateways do) and once more under a stranger's
    // secret: one outgoing `payout.paid`.
    let body = payout("evt_payout_1");
    let secret = paywidget_testkit::fixtures::WHSEC;
    let stamp = |b: &str, s: &str| Some(paywidget_testkit::world::sign(b, super::now(), s));
    let (a, b) = tokio::join!(
        w.post_event(&body, stamp(&body, secret)),
        w.post_event(&body, stamp(&body, secret))
    );
    assert_eq!((a.0, b.0), (200, 200));
    let forged = payout("evt_payout_forged");
    assert_eq!(
        w.post_event(&forged, stamp(&forged, "whsec_not_ours"))
            .await
            .0,
        400
    );
    let got = until(&w, &rx, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    deliver_due(&w.state).await;
    let got_all = rx.all();
    assert_eq!(got_all.len(), 1, "{got_all:?}");
    let sent: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(sent["type"], "payout.paid", "{sent}");
    assert_eq!(sent["data"]["payout"], "po_sandbox_usd_1764028800");
    assert_eq!(
        (&sent["data"]["amount"], &sent["data"]["currency"]),
        (&json!(6412), &json!("usd"))
    );
    assert_eq!(sent["data"]["arrival_date"], 1_764_028_800);
    assert!(sent["data"].get("email").is_none(), "{sent}");
}
