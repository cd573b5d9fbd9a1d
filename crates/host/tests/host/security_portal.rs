//! Attacks on the portal's sign-in, as a bot makes them: guesses sent at once (each spent
//! before it is compared), guesses across many mails and addresses (daily caps per address and
//! per requester), bursts of sign-in mails for one address or from one requester, and another
//! site posting the sign-in form. Runs on both databases.

use std::sync::Arc;

use paywidget_testkit::fixtures;
use paywidget_testkit::world::{world_with, WebhookTarget, World};

/// The fixture behind a trusted proxy on 127.0.0.1 (requesters named by `X-Forwarded-For`),
/// with a generous rate limit so the portal's own limits are what is tested.
async fn portal_world() -> World {
    world_with(WebhookTarget::Host, |gateway, dir| {
        fixtures::host(gateway, dir).replacen(
            "[server]\n",
            "[server]\ntrusted_proxies = [\"127.0.0.1\"]\nrate_limit_per_minute = 1000\n",
            1,
        )
    })
    .await
}

/// A form post from `ip`: the status.
async fn post_from(w: &World, ip: &str, path: &str, fields: &[(&str, &str)]) -> u16 {
    w.http
        .post(format!("{}{path}", w.host))
        .header("x-forwarded-for", ip)
        .form(fields)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The code of the newest sign-in mail to `to`, and how many sign-in mails went to it.
async fn codes_to(w: &World, to: &str) -> (Option<String>, usize) {
    let mails: Vec<String> = w
        .outbox()
        .await
        .into_iter()
        .filter(|m| m.contains("sign-in code") && m.contains(to))
        .collect();
    let code = mails.last().map(|m| {
        m.split("Your sign-in code: ")
            .nth(1)
            .unwrap()
            .chars()
            .take(6)
            .collect()
    });
    (code, mails.len())
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guesses_sent_at_once_each_spend_a_try_before_they_are_compared() {
    let w = portal_world().await;
    assert_eq!(
        post_from(
            &w,
            "192.0.2.1",
            "/portal/sign-in",
            &[("email", "ada@example.org")]
        )
        .await,
        200
    );
    // Forty guesses of one mail's code at the same moment, straight at the store (the
    // statement every guess goes through): at most five are compared.
    let store = w.state.store.clone();
    let now = w.state.clock.now();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.portal_guess("ada@example.org", now).await.unwrap() })
        })
        .collect();
    let mut compared = 0;
    for t in tasks {
        compared += t.await.unwrap().len();
    }
    assert_eq!(
        compared, 5,
        "five tries per mail, however many arrive together"
    );
    // Its code is used up: even the right one fails now.
    let (code, _) = codes_to(&w, "ada@example.org").await;
    let code = code.unwrap();
    let status = post_from(
        &w,
        "192.0.2.2",
        "/portal/login",
        &[("email", "ada@example.org"), ("code", &code)],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_address_takes_twenty_guesses_a_day_from_anywhere_and_its_link_still_works() {
    let w = Arc::new(portal_world().await);
    // Mails asked from four networks, five wrong guesses each from fresh addresses, all at once.
    for round in 0..4 {
        let requester = format!("198.51.{round}.1");
        post_from(
            &w,
            &requester,
            "/portal/sign-in",
            &[("email", "ada@example.org")],
        )
        .await;
        let (code, _) = codes_to(&w, "ada@example.org").await;
        let bad = wrong(&code.unwrap());
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let w = w.clone();
                let ip = format!("203.0.{round}.{i}");
                tokio::spawn(async move {
                    post_from(
                        &w,
                        &ip,
                        "/portal/login",
                        &[("email", "ada@example.org"), ("code", bad)],
                    )
                    .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), 400);
        }
    }
    // Twenty guesses spent today: a fresh mail's right code is refused (429) …
    assert_eq!(mail_then_code(&w, "198.51.9.1").await, 429);
    // … but its link, which cannot be guessed, still signs the owner in.
    let (token, _) = super::portal::sign_in_mail(&w, "ada@example.org").await;
    let status = post_from(&w, "198.51.9.1", "/portal/login", &[("token", &token)]).await;
    assert_eq!(status, 303, "the link signs in");
    // A new day: codes work again.
    w.clock.advance_secs(86_400);
    assert_eq!(mail_then_code(&w, "198.51.9.2").await, 303);
}

/// Asks a sign-in mail for ada@ from `ip`, then signs in with its code: the status.
async fn mail_then_code(w: &World, ip: &str) -> u16 {
    post_from(w, ip, "/portal/sign-in", &[("email", "ada@example.org")]).await;
    let (code, _) = codes_to(w, "ada@example.org").await;
    post_from(
        w,
        ip,
        "/portal/login",
        &[("email", "ada@example.org"), ("code", &code.unwrap())],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_requester_guessing_many_addresses_is_stopped() {
    let w = portal_world().await;
    let mut statuses = Vec::new();
    for i in 0..35 {
        let email = format!("victim{i}@example.org");
        statuses.push(
            post_from(
                &w,
                "192.0.2.77",
                "/portal/login",
                &[("email", &email), ("code", "123456")],
            )
            .await,
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        5,
        "{statuses:?}"
    );
    // Its whole /24 shares a larger cap, then it too is stopped.
    let mut limited = 0;
    for i in 0..80 {
        let ip = format!("192.0.2.{}", i % 50);
        let email = format!("other{i}@example.org");
        if post_from(
            &w,
            &ip,
            "/portal/login",
            &[("email", &email), ("code", "123456")],
        )
        .await
            == 429
        {
            limited += 1;
        }
    }
    assert!(
        limited >= 10,
        "{limited} refused once the network's 100 were spent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bursts_of_sign_in_mails_stay_within_the_limits() {
    let w = Arc::new(portal_world().await);
    // Twenty requests for one address at the same moment from one network: five mails.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let w = w.clone();
            tokio::spawn(async move {
                post_from(
                    &w,
                    &format!("198.51.100.{i}"),
                    "/portal/sign-in",
                    &[("email", "ada@example.org")],
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200, "the same answer, sent or not");
    }
    assert_eq!(codes_to(&w, "ada@example.org").await.1, 5);
    // An outsider's network spent its own share, not the owner's: the owner still gets mail.
    post_from(
        &w,
        "203.0.113.8",
        "/portal/sign-in",
        &[("email", "ada@example.org")],
    )
    .await;
    assert_eq!(codes_to(&w, "ada@example.org").await.1, 6);
    // One requester asking for many addresses is told to slow down after ten.
    let mut statuses = Vec::new();
    for i in 0..14 {
        statuses.push(
            post_from(
                &w,
                "192.0.2.99",
                "/portal/sign-in",
                &[("email", &format!("x{i}@example.org"))],
            )
            .await,
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        4,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_site_cannot_post_the_sign_in_form() {
    let w = portal_world().await;
    let r = w
        .http
        .post(format!("{}/portal/sign-in", w.host))
        .header("origin", "https://evil.example")
        .form(&[("email", "ada@example.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = w
        .http
        .post(format!("{}/portal/sign-in", w.host))
        .header("sec-fetch-site", "cross-site")
        .form(&[("email", "ada@example.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(codes_to(&w, "ada@example.org").await.1, 0, "no mail sent");
}
