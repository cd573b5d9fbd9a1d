//! Attacks through the update-card link, as a card tester who found the mail would make them:
//! every decline answered alike, the shield's limits on the requester and the session, and a
//! used link that tries no more cards. Runs on both databases.

use paywidget_testkit::fixtures::recurring;
use paywidget_testkit::world::{world_on_test_clock, WebhookTarget, World};
use serde_json::{json, Value};

use super::recurring::monthly_gift;
use super::shield::DECLINES;

/// A monthly gift's update-card link, as its mail carries it.
async fn gift_with_link(w: &World) -> String {
    let session = monthly_gift(w, "4242424242424242").await;
    w.wait_status(&session, "fulfilled").await;
    let url = paywidget_host::billing::update_card::link(&w.state, &session, "winter");
    url.split("token=").nth(1).unwrap().to_owned()
}

async fn try_card(w: &World, link: &str, number: &str, key: &str, ip: &str) -> (u16, Value) {
    let pm = w.tokenize(number).await;
    let r = w
        .http
        .post(format!("{}/api/update-card", w.host))
        .header("x-forwarded-for", ip)
        .json(&json!({ "link": link, "payment_method": pm, "idempotency_key": key }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_tells_no_decline_reason_and_the_shield_stops_a_tester() {
    let (w, _clock) = world_on_test_clock(WebhookTarget::Host, |g, d, c| {
        recurring(g, d, c).replacen(
            "[server]\n",
            "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n",
            1,
        )
    })
    .await;
    let link = gift_with_link(&w).await;
    // A wrong CVC reads as any decline.
    let (code, a) = try_card(&w, &link, "4000000000000127", "t0", "203.0.113.9").await;
    assert_eq!((code, a["status"].as_str()), (200, Some("declined")), "{a}");
    assert_eq!(a["code"], "card_declined", "not incorrect_cvc: {a}");
    // Cycling cards: the session's limit (five declines) blocks the link long before its ten
    // tries a week.
    let mut codes = vec![code];
    for (i, card) in DECLINES.iter().enumerate() {
        let (code, _) = try_card(&w, &link, card, &format!("t{}", i + 1), "203.0.113.9").await;
        codes.push(code);
    }
    assert!(codes[..5].iter().all(|c| *c == 200), "{codes:?}");
    assert!(codes[5..].iter().all(|c| *c == 429), "blocked: {codes:?}");
    // A good card from the same place is refused too while the block lasts.
    let (code, _) = try_card(&w, &link, "4242424242424242", "good", "203.0.113.9").await;
    assert_eq!(code, 429);
}

/// The update-card page itself: a link that can no longer be used (forged, cut short, padded,
/// empty) is told so by the host, with no wasm and only its own hashed script; a usable one goes
/// on to the hosted pages (none are built in this world: their "not found").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_can_no_longer_be_used_is_told_by_the_host_without_wasm() {
    let (w, _clock) = world_on_test_clock(WebhookTarget::Host, recurring).await;
    let link = gift_with_link(&w).await;
    let page = |token: String| {
        let (http, host) = (w.http.clone(), w.host.clone());
        async move {
            let r = http
                .get(format!("{host}/c/winter/update-card"))
                .query(&[("token", token)])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let csp = r
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, csp, r.text().await.unwrap())
        }
    };
    let (_, _, usable) = page(link.clone()).await;
    assert!(!usable.contains("Sign in to your payments"), "{usable}");
    let cut = link[..link.len() - 2].to_owned();
    let forged = format!("{}A{}", &link[..10], &link[11..]);
    for bad in [
        String::new(),
        "x".into(),
        cut,
        forged,
        "a".repeat(10_000),
        "<b>x</b>".into(),
    ] {
        let (status, csp, body) = page(bad.clone()).await;
        assert!((400..500).contains(&status), "{status} for {bad:.20}");
        assert!(body.contains("Update your card") && body.contains("Sign in to your payments"));
        assert!(
            !body.contains("<b>x</b>") && !body.contains("type=module"),
            "{body}"
        );
        assert!(
            csp.contains("script-src 'sha256-") && !csp.contains("unsafe"),
            "{csp}"
        );
    }
}
