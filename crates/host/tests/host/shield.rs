//! The card-testing shield over HTTP, against the real router and the sandbox: each limit and
//! its decay, the proof of work (replay, expiry, another session, too easy), attack mode on and
//! off, and client addresses from trusted proxies only.

use paywidget_host::shield::pow;
use paywidget_testkit::fixtures;
use paywidget_testkit::world::{world_with, WebhookTarget, World};
use serde_json::{json, Value};

/// Decline cards with distinct fingerprints (a tester rotates numbers).
pub(crate) const DECLINES: [&str; 7] = [
    "4000000000000002",
    "4000000000009995",
    "4000000000009987",
    "4000000000009979",
    "4000000000000069",
    "4000000000000127",
    "4000000000000119",
];

/// The host tests' fixture behind a trusted proxy on 127.0.0.1 (the tests name client
/// addresses through `X-Forwarded-For`), with its merchant mailed on attack mode.
pub(crate) async fn behind_proxy() -> World {
    world_with(WebhookTarget::Host, |gateway, dir| {
        fixtures::host(gateway, dir)
            .replacen(
                "[server]\n",
                "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n",
                1,
            )
            .replacen(
                "tax_statement",
                "notify_email = \"alerts@hope.example\"\ntax_statement",
                1,
            )
            .replacen(
                "\n[[campaigns]]",
                "\n[[merchants.staff]]\nemail = \"owner@hope.example\"\nrole = \"owner\"\n\n[[campaigns]]",
                1,
            )
    })
    .await
}

/// A donation session created from `ip` for `email`.
pub(crate) async fn session_from(w: &World, ip: &str, email: &str, amount: i64) -> (u16, Value) {
    let r = w
        .http
        .post(format!("{}/api/sessions", w.host))
        .header("x-forwarded-for", ip)
        .json(&json!({ "campaign": "winter", "amount": amount, "email": email }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn new_session(w: &World, ip: &str, email: &str) -> String {
    let (status, s) = session_from(w, ip, email, 2500).await;
    assert_eq!(status, 201, "{s}");
    s["id"].as_str().unwrap().to_owned()
}

/// One pay call from `ip` (no automatic solving): (status, answer).
pub(crate) async fn pay_from(
    w: &World,
    ip: &str,
    session: &str,
    pm: &str,
    key: &str,
    proof: Option<Value>,
) -> (u16, Value) {
    let mut body = json!({ "payment_method": pm, "idempotency_key": key });
    if let Some(p) = proof {
        body["proof"] = p;
    }
    let r = w
        .http
        .post(format!("{}/api/sessions/{session}/pay", w.host))
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Solves an answer's challenge → the proof to send.
pub(crate) fn proof_for(answer: &Value) -> Value {
    assert_eq!(answer["status"], "challenge", "{answer}");
    let challenge = answer["challenge"].as_str().unwrap();
    let bits = answer["difficulty"].as_u64().unwrap() as u8;
    json!({ "challenge": challenge, "nonce": pow::solve(challenge, bits) })
}

/// Pays from `ip` as the page does (solving a challenge) → the final answer and whether a
/// challenge came.
async fn pay_solving(
    w: &World,
    ip: &str,
    session: &str,
    number: &str,
    key: &str,
) -> (u16, Value, bool) {
    let pm = w.tokenize(number).await;
    let (status, answer) = pay_from(w, ip, session, &pm, key, None).await;
    if answer["status"] != "challenge" {
        return (status, answer, false);
    }
    let (status, answer) = pay_from(w, ip, session, &pm, key, Some(proof_for(&answer))).await;
    (status, answer, true)
}

/// A new session from `ip` for `email`, paid with `number` as the page pays (solving a
/// challenge): the final answer and whether a challenge came.
pub(crate) async fn pay_solving_from(
    w: &World,
    ip: &str,
    email: &str,
    number: &str,
) -> (u16, Value, bool) {
    let s = new_session(w, ip, email).await;
    pay_solving(w, ip, &s, number, "k").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_from_one_ip_bring_a_challenge_then_a_block_and_both_decay() {
    let w = behind_proxy().await;
    let ip = "203.0.113.5";
    let mut challenged = Vec::new();
    for (i, card) in DECLINES.iter().take(6).enumerate() {
        let s = new_session(&w, ip, &format!("d{i}@example.org")).await;
        let (status, answer, challenge) = pay_solving(&w, ip, &s, card, "k").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["status"], "declined", "{answer}");
        challenged.push(challenge);
    }
    // Three declines from the address: from then on a proof of work is asked.
    assert_eq!(challenged, [false, false, false, true, true, true]);
    // Six: the address is blocked for an hour (429, Retry-After), whatever it proves.
    let s = new_session(&w, ip, "d7@example.org").await;
    let pm = w.tokenize("4242424242424242").await;
    let r = w
        .http
        .post(format!("{}/api/sessions/{s}/pay", w.host))
        .header("x-forwarded-for", ip)
        .json(&json!({ "payment_method": pm, "idempotency_key": "k" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3000..=3600).contains(&retry), "{retry}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "blocked");
    // Another address elsewhere pays unhindered, the whole time.
    let other = new_session(&w, "198.51.100.9", "genuine@example.org").await;
    let (_, answer, challenge) =
        pay_solving(&w, "198.51.100.9", &other, "4242424242424242", "k").await;
    assert_eq!(answer["status"], "succeeded", "{answer}");
    assert!(!challenge);
    // Only what reached the gateway was charged: six declines, one success.
    assert_eq!(w.charges().await, 1);
    // The window decays: 11 minutes on, the block still holds (an hour) ...
    w.clock.advance_secs(11 * 60);
    let (status, _) = pay_from(&w, ip, &s, &pm, "k2", None).await;
    assert_eq!(status, 429);
    // ... and after the hour the address pays without a challenge (its declines are old).
    w.clock.advance_secs(50 * 60);
    let (status, answer) = pay_from(&w, ip, &s, &pm, "k3", None).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("succeeded")),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_an_email_and_a_card_each_have_their_limits() {
    let w = behind_proxy().await;
    // Two declines in one session (from two addresses): the third try is challenged.
    let s = new_session(&w, "203.0.113.1", "same@example.org").await;
    for (i, card) in DECLINES.iter().take(2).enumerate() {
        let (_, answer, challenge) =
            pay_solving(&w, &format!("203.0.{i}.1"), &s, card, &format!("k{i}")).await;
        assert_eq!(answer["status"], "declined");
        assert!(!challenge);
    }
    let pm = w.tokenize("4242424242424242").await;
    let (_, answer) = pay_from(&w, "192.0.2.50", &s, &pm, "k9", None).await;
    assert_eq!(
        answer["status"], "challenge",
        "the session's declines: {answer}"
    );
    // One card declined three times (new sessions, addresses, emails): the card is blocked.
    let w = behind_proxy().await;
    for i in 0..3 {
        let ip = format!("10.{i}.0.1");
        let s = new_session(&w, &ip, &format!("c{i}@example.org")).await;
        let (_, answer, _) = pay_solving(&w, &ip, &s, DECLINES[0], "k").await;
        assert_eq!(answer["status"], "declined");
    }
    let s = new_session(&w, "10.9.0.1", "c9@example.org").await;
    let (status, answer, _) = pay_solving(&w, "10.9.0.1", &s, DECLINES[0], "k").await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (429, &json!("blocked")),
        "{answer}"
    );
    assert_eq!(w.charges().await, 0);
    // One email declined three times from three addresses: challenged on the fourth.
    let w = behind_proxy().await;
    for (i, card) in DECLINES.iter().take(3).enumerate() {
        let ip = format!("10.{i}.0.1");
        let s = new_session(&w, &ip, "tester@example.org").await;
        pay_solving(&w, &ip, &s, card, "k").await;
    }
    let s = new_session(&w, "10.8.0.1", "Tester@example.org").await;
    let pm = w.tokenize("4242424242424242").await;
    let (_, answer) = pay_from(&w, "10.8.0.1", &s, &pm, "k", None).await;
    assert_eq!(
        answer["status"], "challenge",
        "the email's declines: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_is_single_use_bound_to_its_session_and_attempt_and_expires() {
    let w = behind_proxy().await;
    let ip = "203.0.113.7";
    for (i, card) in DECLINES.iter().take(3).enumerate() {
        let s = new_session(&w, ip, &format!("p{i}@example.org")).await;
        pay_solving(&w, ip, &s, card, "k").await;
    }
    let s = new_session(&w, ip, "p@example.org").await;
    let other = new_session(&w, ip, "q@example.org").await;
    let pm = w.tokenize("4242424242424242").await;
    let (_, first) = pay_from(&w, ip, &s, &pm, "k1", None).await;
    assert_eq!(first["difficulty"], 14, "{first}");
    let proof = proof_for(&first);
    // For another session, or another attempt of this one: a new challenge, nothing charged.
    let (_, a) = pay_from(&w, ip, &other, &pm, "k1", Some(proof.clone())).await;
    assert_eq!(a["status"], "challenge");
    let (_, a) = pay_from(&w, ip, &s, &pm, "k2", Some(proof.clone())).await;
    assert_eq!(a["status"], "challenge");
    // A wrong nonce, or a difficulty edited down: refused.
    let mut wrong = proof.clone();
    wrong["nonce"] = json!("not-a-solution");
    let (_, a) = pay_from(&w, ip, &s, &pm, "k1", Some(wrong)).await;
    assert_eq!(a["status"], "challenge");
    let mut easier = proof.clone();
    easier["challenge"] = json!(proof["challenge"]
        .as_str()
        .unwrap()
        .replacen(".14.", ".1.", 1));
    easier["nonce"] = json!("0");
    let (_, a) = pay_from(&w, ip, &s, &pm, "k1", Some(easier)).await;
    assert_eq!(a["status"], "challenge");
    assert_eq!(w.charges().await, 0);
    // Expired after five minutes.
    w.clock.advance_secs(pow::TTL_SECS + 1);
    let (_, a) = pay_from(&w, ip, &s, &pm, "k1", Some(proof.clone())).await;
    assert_eq!(a["status"], "challenge", "expired: {a}");
    // A fresh one pays once; replaying it on the next attempt is refused.
    let fresh = proof_for(&a);
    let (_, paid) = pay_from(&w, ip, &s, &pm, "k1", Some(fresh.clone())).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    // (The paid attempt's retry answers its outcome, proof or not.)
    let (_, again) = pay_from(&w, ip, &s, &pm, "k1", None).await;
    assert_eq!(again["status"], "succeeded");
    let (_, replay) = pay_from(&w, ip, &other, &pm, "k1", Some(fresh)).await;
    assert_eq!(replay["status"], "challenge");
    assert_eq!(w.charges().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_spike_switches_the_campaign_to_attack_mode_until_it_is_calm() {
    let w = behind_proxy().await;
    // A botnet: one decline from each of 10 networks (no address over its own limits).
    for i in 0..10 {
        let ip = format!("10.{i}.1.1");
        let s = new_session(&w, &ip, &format!("bot{i}@example.org")).await;
        let (_, answer, _) = pay_solving(&w, &ip, &s, DECLINES[i % 7], &format!("k{i}")).await;
        assert_eq!(answer["status"], "declined", "{answer}");
        if i < 9 {
            // Before the spike: each decline is told as it is.
            assert_ne!(answer["code"], "card_declined", "{answer}");
        }
    }
    // The merchant is told, through the outbox: its alert address and its owners.
    let mails = w.outbox().await;
    for to in ["alerts@hope.example", "owner@hope.example"] {
        assert!(
            mails
                .iter()
                .any(|m| m.contains(to) && m.contains("attack mode is on")),
            "{to}: {mails:?}"
        );
    }
    // Everyone is asked a proof of work now, a harder one; a genuine donor still pays.
    let s = new_session(&w, "192.0.2.10", "genuine@example.org").await;
    let pm = w.tokenize("4242424242424242").await;
    let (_, a) = pay_from(&w, "192.0.2.10", &s, &pm, "k", None).await;
    assert_eq!(a["status"], "challenge", "{a}");
    assert!(a["difficulty"].as_u64().unwrap() >= 16);
    let (_, paid) = pay_from(&w, "192.0.2.10", &s, &pm, "k", Some(proof_for(&a))).await;
    assert_eq!(paid["status"], "succeeded");
    // Declines get one generic message (no oracle), and two declines block an address (a
    // donor who mistypes once is not locked out).
    let s = new_session(&w, "192.0.2.20", "t@example.org").await;
    let (_, d, _) = pay_solving(&w, "192.0.2.20", &s, "4000000000000127", "k").await;
    assert_eq!(d["status"], "declined");
    assert_eq!(d["code"], "card_declined", "not incorrect_cvc: {d}");
    assert_eq!(w.status(&s).await["decline"]["code"], "card_declined");
    // (A card the botnet declined once: one already declined twice is refused before the
    // gateway under attack, the card's own limit being strict then too.)
    let s = new_session(&w, "192.0.2.20", "t2@example.org").await;
    let (status, d, _) = pay_solving(&w, "192.0.2.20", &s, "4000000000000119", "k").await;
    assert_eq!((status, &d["code"]), (200, &json!("card_declined")), "{d}");
    let s = new_session(&w, "192.0.2.20", "t3@example.org").await;
    let (status, _, _) = pay_solving(&w, "192.0.2.20", &s, "4242424242424242", "k").await;
    assert_eq!(status, 429);
    // The smallest gift is doubled (5.00 → 10.00).
    let (status, refused) = session_from(&w, "192.0.2.30", "m@example.org", 700).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (400, &json!("amount_too_small"))
    );
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("10.00"));
    // Calm for 30 minutes: back to normal, and the merchant is told.
    w.clock.advance_secs(31 * 60);
    let s = new_session(&w, "192.0.2.40", "after@example.org").await;
    let pm = w.tokenize("4242424242424242").await;
    let (_, a) = pay_from(&w, "192.0.2.40", &s, &pm, "k", None).await;
    assert_eq!(a["status"], "succeeded", "{a}");
    assert!(w
        .outbox()
        .await
        .iter()
        .any(|m| m.contains("Attack mode ended")));
    let (status, _) = session_from(&w, "192.0.2.30", "m@example.org", 700).await;
    assert_eq!(status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_count_only_from_a_trusted_proxy() {
    // No trusted proxy: a bot rotating X-Forwarded-For is still one address (127.0.0.1).
    let w = world_with(WebhookTarget::Host, fixtures::host).await;
    let mut challenged = Vec::new();
    for (i, card) in DECLINES.iter().take(4).enumerate() {
        let spoofed = format!("10.{i}.0.1");
        let s = new_session(&w, &spoofed, &format!("s{i}@example.org")).await;
        let (_, _, challenge) = pay_solving(&w, &spoofed, &s, card, "k").await;
        challenged.push(challenge);
    }
    assert_eq!(challenged, [false, false, false, true]);
    // Behind the trusted proxy the same header names four clients: nobody is challenged, and
    // a spoofed entry to the left of the proxy's own is ignored.
    let w = behind_proxy().await;
    let mut challenged = Vec::new();
    for (i, card) in DECLINES.iter().take(4).enumerate() {
        let header = format!("6.6.6.6, 10.{i}.0.1");
        let s = new_session(&w, &header, &format!("s{i}@example.org")).await;
        let (_, _, challenge) = pay_solving(&w, &header, &s, card, "k").await;
        challenged.push(challenge);
    }
    assert_eq!(challenged, [false, false, false, false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_tiny_gifts_from_one_address_are_refused() {
    let w = behind_proxy().await;
    // The minimum is 5.00; under 10.00 counts as tiny. Three are fine, the fourth is not.
    for i in 0..3 {
        let (status, _) = session_from(&w, "203.0.113.9", &format!("t{i}@example.org"), 500).await;
        assert_eq!(status, 201);
    }
    let (status, body) = session_from(&w, "203.0.113.9", "t4@example.org", 500).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (429, &json!("blocked")),
        "{body}"
    );
    // A real gift from elsewhere is untouched.
    let (status, _) = session_from(&w, "198.51.100.1", "ok@example.org", 500).await;
    assert_eq!(status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_and_a_busy_address_have_their_limits_and_they_decay() {
    let w = behind_proxy().await;
    // Five declines from five addresses of one /24: the sixth address there is challenged,
    // an address of another network is not.
    for (i, card) in DECLINES.iter().take(5).enumerate() {
        let ip = format!("198.51.100.{}", i + 1);
        let s = new_session(&w, &ip, &format!("n{i}@example.org")).await;
        let (_, answer, challenge) = pay_solving(&w, &ip, &s, card, "k").await;
        assert_eq!(answer["status"], "declined");
        assert!(!challenge, "attempt {i}");
    }
    let pm = w.tokenize("4242424242424242").await;
    let s = new_session(&w, "198.51.100.77", "n9@example.org").await;
    let (_, a) = pay_from(&w, "198.51.100.77", &s, &pm, "k", None).await;
    assert_eq!(a["status"], "challenge", "the network's declines: {a}");
    let elsewhere = new_session(&w, "192.0.2.1", "e@example.org").await;
    let (_, a) = pay_from(&w, "192.0.2.1", &elsewhere, &pm, "k", None).await;
    assert_eq!(a["status"], "succeeded", "{a}");
    // The window passes: the network is trusted again.
    w.clock.advance_secs(11 * 60);
    let (_, a) = pay_from(&w, "198.51.100.77", &s, &pm, "k2", None).await;
    assert_eq!(a["status"], "succeeded", "{a}");

    // Ten attempts of any outcome from one address in the window: the eleventh is challenged.
    let w = behind_proxy().await;
    for i in 0..10 {
        let s = new_session(&w, "203.0.113.50", &format!("b{i}@example.org")).await;
        let (_, answer, challenge) =
            pay_solving(&w, "203.0.113.50", &s, "4242424242424242", "k").await;
        assert_eq!(answer["status"], "succeeded");
        assert!(!challenge);
    }
    let s = new_session(&w, "203.0.113.50", "b10@example.org").await;
    let pm = w.tokenize("4242424242424242").await;
    let (_, a) = pay_from(&w, "203.0.113.50", &s, &pm, "k", None).await;
    assert_eq!(a["status"], "challenge", "a busy address: {a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trying_a_blocked_card_counts_as_a_decline_against_the_payer() {
    let w = behind_proxy().await;
    // The card is declined three times elsewhere: blocked.
    for i in 0..3 {
        let ip = format!("10.{i}.0.1");
        let s = new_session(&w, &ip, &format!("c{i}@example.org")).await;
        pay_solving(&w, &ip, &s, DECLINES[0], "k").await;
    }
    // One address tries it three times (refused before the gateway each time): from then on
    // that address is asked a proof of work, as if the gateway had declined it.
    for i in 0..3 {
        let s = new_session(&w, "203.0.113.99", &format!("x{i}@example.org")).await;
        let (status, _, _) = pay_solving(&w, "203.0.113.99", &s, DECLINES[0], "k").await;
        assert_eq!(status, 429);
    }
    let s = new_session(&w, "203.0.113.99", "x9@example.org").await;
    let pm = w.tokenize("4242424242424242").await;
    let (_, a) = pay_from(&w, "203.0.113.99", &s, &pm, "k", None).await;
    assert_eq!(a["status"], "challenge", "{a}");
    assert_eq!(w.charges().await, 0);
}
