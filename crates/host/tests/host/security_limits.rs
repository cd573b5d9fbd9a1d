//! Attacks on the rate limits and client addresses, as a bot makes them: many requests at once,
//! from many addresses of one IPv6 /64, IPv4 clients arriving IPv4-mapped through a dual-stack
//! proxy, and the routes that spend the merchant's gateway quota. Runs on both databases.

use paywidget_testkit::fixtures;
use paywidget_testkit::world::{world_with, WebhookTarget, World};
use serde_json::json;

use super::shield::{pay_solving_from, DECLINES};

/// The fixture behind a trusted proxy on 127.0.0.1, with `per_minute` requests per client.
async fn limited(per_minute: u32) -> World {
    world_with(WebhookTarget::Host, move |gateway, dir| {
        fixtures::host(gateway, dir).replacen(
            "[server]\n",
            &format!(
                "[server]\ntrusted_proxies = [\"127.0.0.1\"]\nrate_limit_per_minute = {per_minute}\n"
            ),
            1,
        )
    })
    .await
}

/// `POST /api/sessions` from `ip`: the status.
async fn create_from(w: &World, ip: &str) -> u16 {
    w.http
        .post(format!("{}/api/sessions", w.host))
        .header("x-forwarded-for", ip)
        .json(&json!({ "campaign": "winter", "amount": 2500, "email": "d@example.org" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `requests` calls made at the same time, each `call(i)`: their statuses.
async fn at_once<F, Fut>(requests: usize, call: F) -> Vec<u16>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = u16> + Send + 'static,
{
    let tasks: Vec<_> = (0..requests).map(|i| tokio::spawn(call(i))).collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ipv6_slash_64_is_one_client_however_many_addresses_it_uses() {
    let w = std::sync::Arc::new(limited(5).await);
    let codes = at_once(12, |i| {
        let w = w.clone();
        async move { create_from(&w, &format!("2001:db8:1:2:{i:x}::{i:x}")).await }
    })
    .await;
    let ok = codes.iter().filter(|c| **c == 201).count();
    let limited = codes.iter().filter(|c| **c == 429).count();
    assert_eq!((ok, limited), (5, 7), "{codes:?}");
    // The next /64 has its own quota.
    assert_eq!(create_from(&w, "2001:db8:1:3::1").await, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_clients_of_a_dual_stack_proxy_are_not_one_network() {
    let w = limited(120).await;
    // A card tester behind the proxy's IPv6 socket: its address arrives IPv4-mapped.
    let tester = "::ffff:198.51.100.7";
    for (i, card) in DECLINES.iter().take(5).enumerate() {
        let (status, answer, _) =
            pay_solving_from(&w, tester, &format!("t{i}@example.org"), card).await;
        assert_eq!((status, answer["status"].as_str()), (200, Some("declined")));
    }
    // A donor elsewhere on IPv4 (also mapped) pays without a challenge: before, every IPv4
    // client was in one "/48" and five declines anywhere challenged them all.
    let (status, answer, challenged) = pay_solving_from(
        &w,
        "::ffff:203.0.113.50",
        "donor@example.org",
        "4242424242424242",
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("succeeded"))
    );
    assert!(!challenged, "a donor on another network is not challenged");
    // The tester's own network, named either way, is challenged.
    let (_, _, challenged) =
        pay_solving_from(&w, "198.51.100.99", "n@example.org", "4242424242424242").await;
    assert!(challenged, "the tester's /24 is challenged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_that_call_the_gateway_are_limited() {
    let w = std::sync::Arc::new(limited(4).await);
    let s = w.session("winter", Some(2500)).await;
    let codes = at_once(10, |_| {
        let (w, s) = (w.clone(), s.clone());
        async move {
            w.http
                .get(format!("{}/checkout/return?session={s}", w.host))
                .header("x-forwarded-for", "192.0.2.10")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    })
    .await;
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 6, "{codes:?}");
    let codes = at_once(10, |_| {
        let w = w.clone();
        async move {
            w.http
                .post(format!("{}/portal/subscription", w.host))
                .header("x-forwarded-for", "192.0.2.11")
                .form(&[("csrf", "x"), ("session", "cs_x"), ("action", "cancel")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    })
    .await;
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 6, "{codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limiter_forgets_clients_whose_quota_is_whole_again() {
    // 600 a minute: one request's quota is whole again after 100 ms.
    let w = limited(600).await;
    for i in 0..50 {
        assert_eq!(create_from(&w, &format!("198.18.0.{i}")).await, 201);
    }
    assert!(w.state.limiter.len() >= 50, "{}", w.state.limiter.len());
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    w.clock.advance_secs(61);
    assert_eq!(create_from(&w, "198.18.1.1").await, 201);
    assert!(
        w.state.limiter.len() <= 2,
        "pruned to the clients of the last moment: {}",
        w.state.limiter.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_pages_are_limited_per_address() {
    let w = std::sync::Arc::new(limited(4).await);
    // Signed in or not, 10 reloads at once of the costliest pages from one address: 4 pass.
    for path in ["/admin", "/admin/payments?q=ada", "/admin/gifts"] {
        let ip = format!("192.0.2.{}", 20 + path.len());
        let codes = at_once(10, |_| {
            let (w, ip) = (w.clone(), ip.clone());
            async move {
                w.http
                    .get(format!("{}{path}", w.host))
                    .header("x-forwarded-for", ip)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .await;
        assert_eq!(
            codes.iter().filter(|c| **c == 429).count(),
            6,
            "{path}: {codes:?}"
        );
    }
    // Another address is not held back by them (it gets the sign-in page).
    let other = w
        .http
        .get(format!("{}/admin", w.host))
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 401);
}
