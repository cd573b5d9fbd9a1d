//! Measures create+confirm throughput of the sandbox on this machine (bounded in count and time).
//!
//! `cargo run --profile server -p paywidget-sandbox --example bench -- [payments] [clients]`
//! (defaults 2000 payments, 8 concurrent clients, at most 60 s). Starts an in-process sandbox on
//! 127.0.0.1:0 with a SQLite file in a temporary folder, tokenizes one card, then each payment is
//! two requests: `POST /v1/payment_intents` and `POST /v1/payment_intents/:id/confirm`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use paywidget_sandbox::store::Store;
use paywidget_sandbox::{AppState, Config, DEFAULT_PUBLISHABLE_KEY, DEFAULT_SECRET_KEY};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let payments: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let dir = std::env::temp_dir().join(format!("paywidget-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("bench.sqlite");
    let store = Store::open(db.to_str().expect("utf-8 path"))
        .await
        .expect("open store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let state = AppState::new(Config::default(), store, base.clone());
    let server = tokio::spawn(paywidget_sandbox::serve(listener, state));

    let http = reqwest::Client::new();
    // A test card that expires three years from now (the sandbox checks expiry by its clock).
    let exp_year = (1973
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            / 31_556_952)
        .to_string();
    let pm: serde_json::Value = http
        .post(format!("{base}/v1/payment_methods"))
        .bearer_auth(DEFAULT_PUBLISHABLE_KEY)
        .form(&[
            ("type", "card"),
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", "12"),
            ("card[exp_year]", exp_year.as_str()),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .expect("tokenize")
        .json()
        .await
        .expect("json");
    let pm = pm["id"].as_str().expect("pm id").to_owned();

    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(60);
    let start = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (http, base, pm, next) = (http.clone(), base.clone(), pm.clone(), next.clone());
            tokio::spawn(async move {
                let mut done = 0usize;
                while next.fetch_add(1, Ordering::SeqCst) < payments && Instant::now() < deadline {
                    let pi: serde_json::Value = http
                        .post(format!("{base}/v1/payment_intents"))
                        .bearer_auth(DEFAULT_SECRET_KEY)
                        .form(&[
                            ("amount", "1000"),
                            ("currency", "usd"),
                            ("payment_method", pm.as_str()),
                        ])
                        .send()
                        .await
                        .expect("create")
                        .json()
                        .await
                        .expect("json");
                    let id = pi["id"].as_str().expect("pi id");
                    let confirmed: serde_json::Value = http
                        .post(format!("{base}/v1/payment_intents/{id}/confirm"))
                        .bearer_auth(DEFAULT_SECRET_KEY)
                        .header("Idempotency-Key", format!("bench-{id}"))
                        .send()
                        .await
                        .expect("confirm")
                        .json()
                        .await
                        .expect("json");
                    assert_eq!(confirmed["status"], "succeeded");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await.expect("worker");
    }
    let secs = start.elapsed().as_secs_f64();
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{total} payments (create + confirm = {} requests) with {clients} clients in {secs:.2} s: \
         {:.0} payments/s, {:.0} requests/s",
        total * 2,
        total as f64 / secs,
        (total * 2) as f64 / secs
    );
}
