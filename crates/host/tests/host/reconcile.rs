//! Reconciliation against the real sandbox, and what several hosts on one database share:
//! singleton jobs, the rate limit, and one charge for a key however many hosts are asked.

use std::sync::Arc;

use paywidget_host::billing::reconcile::{self, Class, Options};
use paywidget_sandbox::DEFAULT_SECRET_KEY as SK;
use paywidget_testkit::fixtures::host as host_toml;
use paywidget_testkit::world::{start_host, world, WebhookTarget, World};

use crate::now;

fn window(repair: bool) -> Options {
    Options {
        since: now() - 3600,
        until: now() + 60,
        grace_secs: 0,
        repair,
    }
}

/// A charge made at the gateway behind the host's back (as a buggy retry elsewhere would).
async fn charge_directly(w: &World, session: &str, amount: i64) -> String {
    let pm = w.tokenize("4242424242424242").await;
    let pi: serde_json::Value = w
        .http
        .post(format!("{}/v1/payment_intents", w.gateway))
        .bearer_auth(SK)
        .form(&[
            ("amount", amount.to_string()),
            ("currency", "usd".into()),
            ("payment_method", pm),
            ("confirm", "true".into()),
            ("metadata[session_id]", session.into()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pi["status"], "succeeded", "{pi}");
    pi["id"].as_str().unwrap().to_owned()
}

fn classes(report: &reconcile::Report) -> Vec<(Class, Option<String>)> {
    let mut c: Vec<_> = report
        .rows
        .iter()
        .map(|r| (r.class, r.session.clone()))
        .collect();
    c.sort();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_whose_webhook_never_came_is_found_and_fulfilled_once() {
    // No webhooks at all: only reconciliation can fulfil.
    let w = world(WebhookTarget::None).await;
    let s = w.session("winter", Some(1000)).await;
    let pm = w.tokenize("4242424242424242").await;
    assert_eq!(w.pay(&s, &pm, "k").await.1["status"], "succeeded");

    let young = reconcile::run(
        &w.state,
        &Options {
            grace_secs: 3600,
            ..window(true)
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (young.rows.len(), young.pending),
        (0, 1),
        "left to its webhook"
    );

    let dry = reconcile::run(&w.state, &window(false)).await.unwrap();
    assert_eq!(
        classes(&dry),
        vec![(Class::MissingFulfilment, Some(s.clone()))]
    );
    assert!(!dry.rows[0].repaired && !dry.clean());
    assert_eq!(
        w.status(&s).await["status"],
        "paid",
        "a dry run changes nothing"
    );

    let repair = reconcile::run(&w.state, &window(true)).await.unwrap();
    assert!(repair.rows[0].repaired, "{}", repair.table());
    assert!(repair.table().contains("repaired: "), "{}", repair.table());
    assert_eq!(w.status(&s).await["status"], "fulfilled");
    assert_eq!(w.outbox().await.len(), 1, "the receipt went out");

    let again = reconcile::run(&w.state, &window(true)).await.unwrap();
    assert_eq!(classes(&again), vec![(Class::Match, Some(s.clone()))]);
    assert!(again.clean(), "{}", again.table());
    assert_eq!(
        (
            again.audit.fulfilments,
            again.audit.receipt_numbers,
            again.audit.receipt_gaps
        ),
        (1, 1, 0)
    );
    assert_eq!(w.outbox().await.len(), 1, "fulfilled once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_orphans_and_mismatches_are_reported_and_never_refunded() {
    let w = world(WebhookTarget::Host).await;
    let paid = w.session("winter", Some(1000)).await;
    let pm = w.tokenize("4242424242424242").await;
    assert_eq!(w.pay(&paid, &pm, "k").await.1["status"], "succeeded");
    w.wait_status(&paid, "fulfilled").await;
    let duplicate = charge_directly(&w, &paid, 1000).await;
    let ghost = charge_directly(&w, "cs_not_ours_any_more", 700).await;
    let unpaid = w.session("winter", Some(2500)).await;
    let short = charge_directly(&w, &unpaid, 2400).await;
    // Let the webhooks of those charges land first (they must not fulfil a short payment).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let report = reconcile::run(&w.state, &window(true)).await.unwrap();
    let by_pi = |pi: &str| {
        report
            .rows
            .iter()
            .find(|r| r.payment_intent.as_deref() == Some(pi))
            .unwrap_or_else(|| panic!("{pi} in {}", report.table()))
            .class
    };
    assert_eq!(by_pi(&duplicate), Class::Duplicate);
    assert_eq!(by_pi(&ghost), Class::OrphanCharge);
    assert_eq!(by_pi(&short), Class::Mismatch);
    assert_eq!(report.counts().get(&Class::Match), Some(&1));
    assert!(!report.clean());
    let table = report.table();
    assert!(
        table.contains("4 charges checked: 1 match (25.0 %)"),
        "{table}"
    );
    assert_eq!(w.status(&unpaid).await["status"], "open", "not fulfilled");
    let refunds = w.gateway_get("/v1/refunds").await;
    assert_eq!(
        refunds["data"].as_array().map(Vec::len),
        Some(0),
        "never refunds"
    );
    assert_eq!(w.charges().await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn singleton_jobs_and_rate_counts_are_shared_through_the_database() {
    let w = world(WebhookTarget::None).await;
    let store = &w.state.store;
    let shared = w.state.config.server.db.is_shared();
    let held = store.job_lock("reconcile").await.unwrap();
    assert!(held.is_some());
    let second = store.job_lock("reconcile").await.unwrap();
    // On PostgreSQL a second holder (any host) is refused; SQLite is one host by design.
    assert_eq!(second.is_none(), shared);
    drop((held, second));
    // Released on drop: PostgreSQL frees a session's lock when it sees the connection close,
    // a moment after the drop (so another host may wait a few milliseconds, never forever).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.job_lock("reconcile").await.unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "released on drop");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    assert!(store.claim_job("prune", 10_000, 3600).await.unwrap());
    assert!(
        !store.claim_job("prune", 10_100, 3600).await.unwrap(),
        "this period is taken"
    );
    assert!(
        store.claim_job("prune", 13_600, 3600).await.unwrap(),
        "the next one is free"
    );

    assert_eq!(store.rate_hit("ip:192.0.2.1", 7).await.unwrap(), 1);
    assert_eq!(store.rate_hit("ip:192.0.2.1", 7).await.unwrap(), 2);
    assert_eq!(
        store.rate_hit("ip:192.0.2.1", 8).await.unwrap(),
        1,
        "a new minute"
    );
    assert_eq!(store.rate_count("ip:192.0.2.1", 7).await.unwrap(), 2);
    assert_eq!(
        store.rate_count("ip:192.0.2.1", 6).await.unwrap(),
        0,
        "none"
    );
    store.rate_prune(8).await.unwrap();
    assert_eq!(
        store.rate_hit("ip:192.0.2.1", 7).await.unwrap(),
        1,
        "pruned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_sent_to_two_hosts_at_once_charges_once() {
    let w = Arc::new(world(WebhookTarget::Host).await);
    // A second host process on the same database (and the same gateway).
    let config =
        paywidget_host::config::HostConfig::parse(&host_toml(&w.gateway, w.dir.path()), |_| None)
            .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (_state, second, _task) = start_host(config, listener).await;
    let s = w.session("winter", Some(1200)).await;
    let pm = w.tokenize("4242424242424242").await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let (w, s, pm) = (w.clone(), s.clone(), pm.clone());
            let host = if i % 2 == 0 {
                w.host.clone()
            } else {
                second.clone()
            };
            tokio::spawn(async move { w.pay_at(&host, &s, &pm, "double-click").await })
        })
        .collect();
    for t in tasks {
        let (code, body) = t.await.unwrap();
        // Whoever does not hold the claim waits for its outcome (or is told to retry).
        assert!(
            (code == 200 && body["status"] == "succeeded") || code == 409,
            "{code} {body}"
        );
    }
    w.wait_status(&s, "fulfilled").await;
    assert_eq!(w.charges().await, 1, "exactly one charge");
    assert_eq!(w.outbox().await.len(), 1, "exactly one receipt");
    let report = reconcile::run(&w.state, &window(false)).await.unwrap();
    assert!(report.clean(), "{}", report.table());
}

/// Two hosts on one database keep one per-address quota, and its window slides: a burst that
/// spends the quota at a minute's last second is not given a fresh one a second later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_rate_limit_slides_across_a_minutes_edge() {
    let w = world(WebhookTarget::None).await;
    let shared = w.state.config.server.db.is_shared();
    let text = host_toml(&w.gateway, w.dir.path())
        .replace("[server]\n", "[server]\nrate_limit_per_minute = 5\n");
    let mut hosts = Vec::new();
    for _ in 0..2 {
        let config = paywidget_host::config::HostConfig::parse(&text, |_| None).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let clock: Arc<dyn paywidget_host::support::clock::Clock> = Arc::new(w.clock.clone());
        hosts.push(paywidget_testkit::world::start_host_on(config, listener, clock).await);
    }
    let create = |i: usize| {
        let (http, base) = (w.http.clone(), hosts[i % 2].1.clone());
        async move {
            http.post(format!("{base}/api/sessions"))
                .json(&serde_json::json!({ "campaign": "winter", "amount": 1000 }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // The last second of a minute: five requests, spread over both hosts, spend the quota.
    w.clock.freeze();
    use paywidget_host::support::clock::Clock;
    w.clock.advance_secs(59 - w.clock.now().rem_euclid(60));
    let mut codes = Vec::new();
    for i in 0..5 {
        codes.push(create(i).await);
    }
    assert_eq!(codes, [201; 5]);
    // The next minute's first second: the previous minute still counts in full.
    w.clock.advance_secs(1);
    assert_eq!(w.clock.now().rem_euclid(60), 0);
    let next = [create(0).await, create(1).await];
    if shared {
        assert_eq!(next, [429, 429], "the quota is the hosts' together");
    } else {
        // SQLite is one host by design; each host here counts alone (3 and 2 so far).
        assert_eq!(next, [201, 201]);
    }
    // Once the minute has passed, requests go through again.
    w.clock.advance_secs(60);
    assert_eq!(create(0).await, 201);
}
