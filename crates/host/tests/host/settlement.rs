//! Settlement over HTTP against the sandbox: the dashboard's payouts and their transactions
//! equal the gateway's to the cent (its CSV row by row, each payout's sum), a charge made outside
//! the checkout is listed as a mismatch, payments in a pending payout are "not paid out yet",
//! and each merchant's staff see only their own account.

use std::collections::BTreeSet;

use paywidget_testkit::world::World;
use serde_json::Value;

use super::admin::{dashboard_world, donation, get, staff_in};

/// `GET path` on the sandbox with the fixture's secret key.
async fn gateway_get(w: &World, path: &str) -> Value {
    w.http
        .get(format!("{}{path}", w.gateway))
        .bearer_auth(paywidget_sandbox::DEFAULT_SECRET_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `POST path` on the sandbox with the fixture's secret key.
async fn gateway_post(w: &World, path: &str, form: &[(&str, String)]) -> Value {
    let r = w
        .http
        .post(format!("{}{path}", w.gateway))
        .bearer_auth(paywidget_sandbox::DEFAULT_SECRET_KEY)
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settlement_equals_the_gateways_payouts_and_lists_a_seeded_mismatch() {
    let w = dashboard_world().await;
    let a = donation(&w, "winter", 2500, "ada@example.org", "Ada").await;
    let b = donation(&w, "winter", 4000, "bea@example.org", "Bea").await;
    // A partial refund of one, through the gateway.
    let b_pi = w
        .state
        .store
        .session(&b)
        .await
        .unwrap()
        .unwrap()
        .payment_intent
        .unwrap();
    gateway_post(
        &w,
        "/v1/refunds",
        &[("payment_intent", b_pi.clone()), ("amount", "1000".into())],
    )
    .await;
    // The seeded mismatch: money on the account that no checkout took.
    let pm = w.tokenize("4242424242424242").await;
    let stray = gateway_post(
        &w,
        "/v1/payment_intents",
        &[
            ("amount", "1234".into()),
            ("currency", "usd".into()),
            ("payment_method", pm),
            ("confirm", "true".into()),
        ],
    )
    .await;
    let stray_pi = stray["id"].as_str().unwrap().to_owned();

    // The gateway's own account of it.
    let payouts = gateway_get(&w, "/v1/payouts?limit=100").await;
    let mut expected = BTreeSet::new();
    let mut sums = Vec::new();
    for p in payouts["data"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let txns = gateway_get(
            &w,
            &format!("/v1/balance_transactions?payout={id}&limit=100"),
        )
        .await;
        let mut net = 0;
        for t in txns["data"].as_array().unwrap() {
            net += t["net"].as_i64().unwrap();
            expected.insert((
                id.to_owned(),
                t["id"].as_str().unwrap().to_owned(),
                t["amount"].as_i64().unwrap(),
                t["fee"].as_i64().unwrap(),
                t["net"].as_i64().unwrap(),
            ));
        }
        assert_eq!(net, p["amount"].as_i64().unwrap(), "the sandbox's own sum");
        sums.push((id.to_owned(), net));
    }
    assert_eq!(
        expected.len(),
        4,
        "three charges and a refund: {expected:?}"
    );

    // The dashboard's, row by row.
    let (owner, _) = staff_in(&w, "owner@hope.example").await;
    let (status, csv) = get(&w, &owner, "/admin/settlement.csv").await;
    assert_eq!(status, 200, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut got = BTreeSet::new();
    let mut problems = Vec::new();
    let mut sessions = BTreeSet::new();
    for row in reader.records() {
        let r = row.unwrap();
        got.insert((
            r[0].to_owned(),
            r[4].to_owned(),
            r[7].parse::<i64>().unwrap(),
            r[8].parse::<i64>().unwrap(),
            r[9].parse::<i64>().unwrap(),
        ));
        if !r[10].is_empty() {
            sessions.insert(r[10].to_owned());
        }
        if !r[11].is_empty() {
            problems.push(r[11].to_owned());
        }
    }
    assert_eq!(
        got, expected,
        "the export equals the gateway's transactions"
    );
    assert_eq!(sessions, BTreeSet::from([a.clone(), b.clone()]));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains(&stray_pi), "{problems:?}");

    // The page: each payout's net as the gateway's, the mismatch, the payments not paid out.
    let (status, page) = get(&w, &owner, "/admin/settlement").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Mismatches (1)"), "{page}");
    assert!(page.contains(&stray_pi), "{page}");
    for (_, net) in &sums {
        let shown = format!("{}.{:02}", net / 100, net % 100);
        assert!(page.contains(&shown), "{shown} in {page}");
    }
    // Today's payouts arrive in two days: pending, so both payments are not paid out yet.
    assert!(page.contains("pending"), "{page}");
    assert!(page.contains("Not paid out yet (2)"), "{page}");
    // A viewer reads it too; a customer's or nobody's session does not.
    let (viewer, _) = staff_in(&w, "viewer@hope.example").await;
    assert_eq!(get(&w, &viewer, "/admin/settlement").await.0, 200);
    assert_eq!(get(&w, "forged", "/admin/settlement.csv").await.0, 401);
    // Another merchant on the same test account sees none of Hope's payments as its own.
    let (theirs, _) = staff_in(&w, "owner@other.example").await;
    let (_, csv) = get(&w, &theirs, "/admin/settlement.csv").await;
    assert!(!csv.contains(&a) && !csv.contains(&b), "{csv}");
    // A range that is not one is refused, not guessed.
    let (status, _) = get(&w, &owner, "/admin/settlement?from=2026-13-01").await;
    assert_eq!(status, 400);
}
