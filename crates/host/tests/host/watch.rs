//! Health and the watch over HTTP: webhooks counted with their lateness, forged ones counted
//! without a database write each (a flood cannot), payments the gateway took whose webhook never
//! came alert the owners once a day, and the weekly digest goes to the owners until an owner
//! turns it off (a viewer cannot).

use paywidget_host::billing::watch;
use paywidget_host::support::clock::Clock;
use paywidget_testkit::fixtures;
use paywidget_testkit::world::{world_with, WebhookTarget, World};
use serde_json::json;

use super::admin::{dashboard_world, donation, get, staff_in};
use super::portal::plain;

const STAFF: &str = r#"[[merchants.staff]]
email = "owner@hope.example"
role = "owner"

[[merchants.staff]]
email = "viewer@hope.example"
role = "viewer"
"#;

async fn owner_mails(w: &World, words: &str) -> usize {
    w.outbox()
        .await
        .iter()
        .map(|m| plain(m))
        .filter(|m| m.contains("owner@hope.example") && m.contains(words))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_counted_and_a_flood_of_forged_ones_writes_nothing() {
    let w = dashboard_world().await;
    donation(&w, "winter", 2500, "ada@example.org", "Ada").await;
    let hour = w.clock.now().div_euclid(3600);
    // The webhook is counted after it is applied (its answer's last step): wait for it, and
    // for the sandbox's other events of this payment to settle.
    let counted = || async {
        let hours = w.state.store.webhook_hours(hour - 1).await.unwrap();
        (hours.iter().map(|h| h.received).sum::<i64>(), hours)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (mut received, mut before) = counted().await;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (now_received, now) = counted().await;
        if now_received >= 1 && now_received == received {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{now:?}");
        (received, before) = (now_received, now);
    }
    assert!(received >= 1, "{before:?}");
    // Forged webhooks from anyone: refused, counted in memory, no row written for them.
    let forged = (0..40).map(|i| {
        w.http
            .post(format!("{}/webhooks/gateway", w.host))
            .header("stripe-signature", format!("t={},v1=00", w.clock.now()))
            .body(json!({ "id": format!("evt_{i}"), "type": "x" }).to_string())
            .send()
    });
    for r in futures_util::future::join_all(forged).await {
        assert_eq!(r.unwrap().status(), 400);
    }
    let after = w.state.store.webhook_hours(hour - 1).await.unwrap();
    assert_eq!(after, before, "a forged request writes nothing");
    let (owner, _) = staff_in(&w, "owner@hope.example").await;
    let (status, page) = get(&w, &owner, "/admin/health").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("(bad signature): 40."), "{page}");
    assert!(
        page.contains(&format!("<strong>{received}</strong> received")),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_without_their_webhook_alert_the_owners_once_and_the_digest_can_be_turned_off() {
    // The gateway delivers no webhook: payments stay paid, unfulfilled.
    let w = world_with(WebhookTarget::None, |g, d| {
        fixtures::host(g, d).replacen("\n[[campaigns]]", &format!("\n{STAFF}\n[[campaigns]]"), 1)
    })
    .await;
    let (_, s) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "winter", "amount": 2500, "email": "ada@example.org" })),
        )
        .await;
    let session = s["id"].as_str().unwrap().to_owned();
    let pm = w.tokenize("4242424242424242").await;
    let (_, paid) = w.pay(&session, &pm, "k").await;
    assert_eq!(paid["status"], "succeeded");
    // Not yet late: no alert.
    assert_eq!(watch::alerts(&w.state, true).await.unwrap(), 0);
    w.clock.advance_secs(16 * 60);
    assert_eq!(watch::alerts(&w.state, true).await.unwrap(), 1);
    assert_eq!(
        watch::alerts(&w.state, true).await.unwrap(),
        0,
        "once a day"
    );
    assert_eq!(
        owner_mails(&w, "waiting for the payment processor").await,
        1
    );
    let (owner, csrf) = staff_in(&w, "owner@hope.example").await;
    let (_, page) = get(&w, &owner, "/admin/health").await;
    assert!(
        page.contains("in the last 6 hours): <strong>1</strong>"),
        "{page}"
    );

    // The weekly digest, to the owners; a viewer cannot turn it off, an owner can.
    let digests = watch::digests(&w.state, true).await.unwrap();
    assert_eq!(digests, 1);
    assert_eq!(owner_mails(&w, "Your week at Hope").await, 1);
    let (viewer, viewer_csrf) = staff_in(&w, "viewer@hope.example").await;
    let off = |cookie: String, csrf: String| {
        let w = &w;
        async move {
            w.http
                .post(format!("{}/admin/digest", w.host))
                .header("cookie", format!("pw_admin={cookie}"))
                .form(&[("csrf", csrf.as_str()), ("on", "false")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(off(viewer, viewer_csrf).await, 403);
    assert_eq!(watch::digests(&w.state, true).await.unwrap(), 1);
    assert_eq!(off(owner.clone(), csrf).await, 200);
    assert_eq!(watch::digests(&w.state, true).await.unwrap(), 0);
    let (_, page) = get(&w, &owner, "/admin/health").await;
    assert!(page.contains("<strong>off</strong>"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_keeps_failing_is_shown_and_alerts_the_owners_once_a_day() {
    let w = dashboard_world().await;
    donation(&w, "winter", 2500, "ada@example.org", "Ada").await;
    // Real calls are counted, answered.
    let real = w.state.gateway_stats.summary(500);
    assert!(real.calls >= 1 && real.failed == 0, "{real:?}");
    assert_eq!(watch::alerts(&w.state, true).await.unwrap(), 0);
    // Then the gateway stops answering (as this process saw its last calls).
    for _ in 0..40 {
        w.state.gateway_stats.record(false, 20_000);
    }
    let alerted = watch::alerts(&w.state, true).await.unwrap();
    assert_eq!(alerted, 2, "both merchants' owners");
    assert_eq!(
        watch::alerts(&w.state, true).await.unwrap(),
        0,
        "once a day"
    );
    assert_eq!(owner_mails(&w, "keeps failing").await, 1);
    let (owner, _) = staff_in(&w, "owner@hope.example").await;
    let (_, page) = get(&w, &owner, "/admin/health").await;
    assert!(page.contains("<strong>40</strong> not answered"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_writes_dates_and_money_the_merchants_way() {
    let w = super::admin::dashboard_world_in("time_zone = \"Europe/Berlin\"\nlocale = \"de-DE\"\n")
        .await;
    donation(&w, "winter", 60_000, "ada@example.org", "Ada").await;
    donation(&w, "winter", 63_456, "bea@example.org", "Bea").await;
    // The week ends now, exclusive: a moment later, both gifts are in it.
    w.clock.advance_secs(2);
    assert!(watch::digests(&w.state, true).await.unwrap() >= 1);
    let digest = w
        .outbox()
        .await
        .iter()
        .map(|m| plain(m))
        .find(|m| m.contains("owner@hope.example") && m.contains("The week from"))
        .expect("the owner's digest");
    // 1,234.56 USD raised, as Germans write it, and the week's first day as dd.mm.yyyy.
    assert!(digest.contains("1.234,56"), "{digest}");
    let week = digest.split("The week from ").nth(1).unwrap();
    assert_eq!(&week[2..3], ".", "{week}");
}
