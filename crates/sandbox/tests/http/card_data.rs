//! Card data never lands anywhere but the request: after a full run of every scenario on a
//! file database, neither the SQLite files nor the logs contain a card number or CVC.

use std::io::Write;
use std::sync::{Arc, Mutex};

use paywidget_sandbox::clock::SequentialIds;
use paywidget_sandbox::Config;

use crate::harness::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const NUMBERS: &[&str] = &[
    "4242424242424242",
    "5555555555554444",
    "378282246310005",
    "4000000000009995",
    "4000000000000002",
    "4000002500003155",
    "4000000000000259",
    "36227206271667",
    "4100000000000019",
    "4000000000004954",
    "4000000000009235",
];

// Unusual CVCs, so that finding one means it was stored (ids here are sequential).
const CVC3: &str = "739";
const CVC4: &str = "7391";

#[tokio::test]
async fn no_card_number_or_cvc_in_database_or_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        // No timestamps: their digits could contain a CVC by chance.
        .without_time()
        .finish();
    // A current-thread test runtime: every task of the sandbox logs through this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sandbox.sqlite");
    let s = start_with(
        Config::default(),
        db.to_str().unwrap(),
        Arc::new(SequentialIds::default()),
    )
    .await;
    for number in NUMBERS {
        let r = s.pay(number, "1000").await;
        assert!(r.status == 200 || r.status == 402);
        if r.status == 200 && r.json()["status"] == "succeeded" {
            s.post(
                "/v1/refunds",
                &[
                    ("payment_intent", r.json()["id"].as_str().unwrap()),
                    ("amount", "100"),
                ],
            )
            .await
            .expect(200);
        }
    }
    // Invalid cards go through validation and error paths too.
    for number in ["4242424242424241", "4242424242"] {
        s.send(
            reqwest::Method::POST,
            "/v1/payment_methods",
            Some(PK),
            &[
                ("type", "card"),
                ("card[number]", number),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2030"),
                ("card[cvc]", CVC3),
            ],
            None,
        )
        .await
        .expect(402);
    }
    drop(s);

    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(stored.len() > 10_000, "the database was written");
    let stored = String::from_utf8_lossy(&stored).into_owned();
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    for number in NUMBERS.iter().chain(&["4242424242424241", "4242424242"]) {
        assert!(
            !stored.contains(number),
            "card number {number} found in the database"
        );
        assert!(
            !logs.contains(number),
            "card number {number} found in the logs"
        );
    }
    for cvc in [CVC3, CVC4] {
        assert!(
            !stored.contains(&format!("\"{cvc}\"")) && !stored.contains(&format!("cvc={cvc}")),
            "CVC in the database"
        );
        // The CVC next to its name, in every form a log line would carry it (a field, a raw
        // or encoded form body, JSON). A bare three-digit number also occurs in the timings
        // and ids other tests of this binary log at the same time, so it proves nothing.
        let lower = logs.to_ascii_lowercase();
        for form in [
            format!("cvc={cvc}"),
            format!("cvc]={cvc}"),
            format!("cvc%5d={cvc}"),
            format!("cvc\":\"{cvc}"),
            format!("cvc\": \"{cvc}"),
            format!("cvc: {cvc}"),
            format!("cvc: \"{cvc}"),
        ] {
            assert!(!lower.contains(&form), "CVC in the logs: {form}");
        }
    }
    assert!(
        !stored.contains("card[number]") && !stored.contains("card%5Bnumber%5D"),
        "raw card request bodies stored"
    );
}
