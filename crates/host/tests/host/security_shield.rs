//! Bursts against the card-testing shield, as a bot sends them: dozens of declining pays at the
//! same moment from one address (with and without proofs of work), and many CVC guesses on one
//! card from a botnet at once. What reached the gateway is counted at the gateway; nobody, the
//! bot or a donor paying meanwhile, is answered 5xx. Runs on both databases.

use std::sync::Arc;

use paywidget_testkit::world::World;
use serde_json::{json, Value};

use super::shield::{behind_proxy, new_session, pay_from, proof_for, DECLINES};

/// How many confirmations the gateway declined (each a pay that reached it).
async fn declines_at_gateway(w: &World) -> usize {
    w.gateway_get("/v1/events?type=payment_intent.payment_failed&limit=100")
        .await["data"]
        .as_array()
        .map_or(0, Vec::len)
}

/// Sends every `(ip, session, pm, proof)` pay at the same moment: the answers' statuses.
async fn burst(
    w: &Arc<World>,
    pays: Vec<(String, String, String, Option<Value>)>,
) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = pays
        .into_iter()
        .map(|(ip, s, pm, proof)| {
            let w = w.clone();
            tokio::spawn(async move { pay_from(&w, &ip, &s, &pm, "k", proof).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// A donor's requests while the burst runs: every answer's status.
async fn donor_meanwhile(w: Arc<World>) -> Vec<u16> {
    let mut codes = Vec::new();
    for i in 0..5 {
        let ip = format!("192.0.2.{}", 100 + i);
        let r = w
            .http
            .get(format!("{}/api/campaigns/winter", w.host))
            .header("x-forwarded-for", &ip)
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
        let r = w
            .http
            .post(format!("{}/api/sessions", w.host))
            .header("x-forwarded-for", &ip)
            .json(&json!({ "campaign": "winter", "amount": 2500, "email": "donor@example.org" }))
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
    }
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_declining_pays_from_one_address_is_held_at_its_limits() {
    let w = Arc::new(behind_proxy().await);
    let ip = "203.0.113.66";
    let mut pays = Vec::new();
    for i in 0..30 {
        let s = new_session(&w, ip, &format!("bot{i}@example.org")).await;
        let pm = w.tokenize(DECLINES[i % DECLINES.len()]).await;
        pays.push((ip.to_owned(), s, pm, None));
    }
    let sent = pays.clone();
    let donor = tokio::spawn(donor_meanwhile(w.clone()));
    let answers = burst(&w, pays).await;
    let donor = donor.await.unwrap();
    assert!(
        answers.iter().all(|(code, _)| *code < 500),
        "no 5xx to the bot: {:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(
        donor.iter().all(|c| *c < 500),
        "no 5xx to the donor: {donor:?}"
    );
    let reached = declines_at_gateway(&w).await;
    // Three declines from an address, then a proof of work is due: the burst cannot all
    // read "no declines yet".
    assert!(reached <= 3, "{reached} of 30 reached the gateway");
    let challenged = answers
        .iter()
        .filter(|(_, a)| a["status"] == "challenge")
        .count();
    assert!(challenged >= 27 - 3, "{challenged} challenged");

    // The bot solves a dozen challenges and sends the proofs at once, each with its own
    // session and key: whether answered with a new challenge (the burst raised the risk) or a
    // block (six declines), no more than the limits reach the gateway.
    let pays: Vec<_> = sent
        .into_iter()
        .zip(&answers)
        .filter(|(_, (_, a))| a["status"] == "challenge")
        .take(12)
        .map(|((ip, s, pm, _), (_, a))| (ip, s, pm, Some(proof_for(a))))
        .collect();
    assert_eq!(pays.len(), 12);
    let answers = burst(&w, pays).await;
    assert!(answers.iter().all(|(code, _)| *code < 500), "no 5xx");
    let reached = declines_at_gateway(&w).await;
    assert!(reached <= 6, "{reached} reached the gateway in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cvc_guesses_on_one_card_from_a_botnet_at_once_stop_at_the_card_limit() {
    let w = Arc::new(behind_proxy().await);
    // `incorrect_cvc`: one card number, one fingerprint, twenty guesses from twenty networks.
    let mut pays = Vec::new();
    for i in 0..20 {
        let ip = format!("198.51.{i}.9");
        let s = new_session(&w, &ip, &format!("guess{i}@example.org")).await;
        let pm = w.tokenize("4000000000000127").await;
        pays.push((ip, s, pm, None));
    }
    let answers = burst(&w, pays).await;
    assert!(answers.iter().all(|(code, _)| *code < 500), "no 5xx");
    let reached = declines_at_gateway(&w).await;
    assert!(
        reached <= 3,
        "{reached} guesses reached the gateway (card limit 3)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_bank_steps_count_as_risk() {
    let w = Arc::new(behind_proxy().await);
    let ip = "203.0.113.77";
    // A tester probing with a card that always asks for 3-D Secure, never finishing it.
    for i in 0..3 {
        let s = new_session(&w, ip, &format!("probe{i}@example.org")).await;
        let pm = w.tokenize("4000002760003184").await;
        let (_, a) = pay_from(&w, ip, &s, &pm, "k", None).await;
        assert_eq!(a["status"], "requires_action", "{a}");
    }
    // The fourth is asked a proof of work, as after three declines.
    let s = new_session(&w, ip, "probe-next@example.org").await;
    let pm = w.tokenize("4242424242424242").await;
    let (_, a) = pay_from(&w, ip, &s, &pm, "k", None).await;
    assert_eq!(a["status"], "challenge", "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_made_before_an_attack_or_a_day_ago_cannot_be_paid_on_their_old_terms() {
    let w = behind_proxy().await;
    // A stockpile at the usual minimum (5.00), made while all is calm.
    let (_, early) = super::shield::session_from(&w, "192.0.2.50", "s1@example.org", 500).await;
    let (_, stale) = super::shield::session_from(&w, "192.0.2.51", "s2@example.org", 2500).await;
    let (early, stale) = (
        early["id"].as_str().unwrap().to_owned(),
        stale["id"].as_str().unwrap().to_owned(),
    );
    // A botnet's declines switch the campaign to attack mode (minimum 10.00).
    for i in 0..10 {
        let ip = format!("10.{i}.9.9");
        let (_, answer, _) =
            super::shield::pay_solving_from(&w, &ip, &format!("b{i}@example.org"), DECLINES[i % 7])
                .await;
        assert_eq!(answer["status"], "declined");
    }
    let pm = w.tokenize("4242424242424242").await;
    let (code, a) = pay_from(&w, "192.0.2.50", &early, &pm, "k", None).await;
    assert_eq!(
        (code, a["error"]["code"].as_str()),
        (400, Some("amount_too_small")),
        "{a}"
    );
    // A day later a session is too old, whatever its amount.
    w.clock.advance_secs(24 * 3600 + 1);
    let (code, a) = pay_from(&w, "192.0.2.51", &stale, &pm, "k", None).await;
    assert_eq!(
        (code, a["error"]["code"].as_str()),
        (400, Some("session_expired")),
        "{a}"
    );
    assert_eq!(w.charges().await, 0);
}
