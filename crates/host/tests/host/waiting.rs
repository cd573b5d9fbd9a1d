//! Waiting for the receipt (`GET /api/sessions/:id?wait=N` and the confirmation page's first
//! visit): held until the webhook's fulfilment, answered at once when nothing will move it, and
//! attacked with malformed waits, a crowd of waiters and sessions that do not exist.

use std::time::{Duration, Instant};

use paywidget_testkit::fixtures::WHSEC;
use paywidget_testkit::world::{sign, world, WebhookTarget, World};
use serde_json::{json, Value};

use super::now;

/// A paid donation whose webhook has not come: (session, its payment).
async fn paid_gift(w: &World) -> (String, String) {
    let s = w.session("winter", Some(2500)).await;
    let pm = w.tokenize("4242424242424242").await;
    assert_eq!(w.pay(&s, &pm, "k").await.1["status"], "succeeded");
    let pi = w
        .state
        .store
        .session(&s)
        .await
        .unwrap()
        .and_then(|r| r.payment_intent)
        .unwrap();
    (s, pi)
}

fn succeeded(pi: &str, session: &str) -> String {
    json!({
        "id": format!("evt_{pi}"), "object": "event", "type": "payment_intent.succeeded",
        "data": { "object": {
            "id": pi, "object": "payment_intent", "status": "succeeded",
            "amount": 2500, "amount_received": 2500, "currency": "usd",
            "metadata": { "session_id": session },
        } },
    })
    .to_string()
}

async fn get(w: &World, path: &str) -> (u16, Value) {
    let r = w
        .http
        .get(format!("{}{path}", w.host))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_waiting_on_a_paid_gift_is_answered_when_the_webhook_fulfils_it() {
    let w = world(WebhookTarget::None).await;
    let (s, pi) = paid_gift(&w).await;
    // Forty pages (tabs, reloads, a bot) wait on it at once.
    let waiters: Vec<_> = (0..40)
        .map(|_| {
            let (http, url) = (
                w.http.clone(),
                format!("{}/api/sessions/{s}?wait=15", w.host),
            );
            tokio::spawn(async move {
                let r = http.get(url).send().await.unwrap();
                (
                    r.status().as_u16(),
                    r.json::<Value>().await.unwrap(),
                    Instant::now(),
                )
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        waiters.iter().all(|t| !t.is_finished()),
        "a paid gift without its receipt is waited on, not answered"
    );
    assert_eq!(w.state.moves.waiters(), 40);
    let body = succeeded(&pi, &s);
    let posted = Instant::now();
    let (code, _) = w.post_event(&body, Some(sign(&body, now(), WHSEC))).await;
    assert_eq!(code, 200);
    for t in waiters {
        let (status, view, at) = t.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(view["status"], "fulfilled", "{view}");
        assert!(view["receipt"]["number"].is_string(), "{view}");
        // Woken by the webhook's commit, not by the 15 s wait running out.
        assert!(
            at.duration_since(posted) < Duration::from_secs(2),
            "answered {:?} after the webhook",
            at.duration_since(posted)
        );
    }
    assert_eq!(w.state.moves.waiters(), 0, "nobody left waiting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_ends_on_time_and_nothing_that_cannot_move_is_held() {
    let w = world(WebhookTarget::None).await;
    let (paid, _) = paid_gift(&w).await;
    // Its webhook never comes: answered after the wait, still paid.
    let started = Instant::now();
    let (status, view) = get(&w, &format!("/api/sessions/{paid}?wait=1")).await;
    let took = started.elapsed();
    assert_eq!((status, view["status"].as_str()), (200, Some("paid")));
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );

    // An open session moves only when its shopper pays; a missing one is not found: at once.
    let open = w.session("winter", Some(2500)).await;
    for (path, want) in [
        (format!("/api/sessions/{open}?wait=20"), 200),
        ("/api/sessions/cs_nothing?wait=20".to_owned(), 404),
    ] {
        let started = Instant::now();
        let (status, _) = get(&w, &path).await;
        assert_eq!(status, want, "{path}");
        assert!(started.elapsed() < Duration::from_millis(500), "{path}");
    }

    // Malformed waits: a clear 400, never a hold.
    for bad in ["abc", "-1", "1.5", "99999999999999999999", "%00"] {
        let (status, body) = get(&w, &format!("/api/sessions/{paid}?wait={bad}")).await;
        assert_eq!(status, 400, "wait={bad}");
        assert_eq!(body["error"]["code"], "invalid_request", "{body}");
    }
    assert_eq!(w.state.moves.waiters(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_visit_to_the_confirmation_waits_for_the_receipt() {
    let w = world(WebhookTarget::None).await;
    let (s, pi) = paid_gift(&w).await;
    let page = {
        let (http, url) = (w.http.clone(), format!("{}/thanks/{s}", w.host));
        tokio::spawn(async move { http.get(url).send().await.unwrap().text().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = succeeded(&pi, &s);
    assert_eq!(
        w.post_event(&body, Some(sign(&body, now(), WHSEC))).await.0,
        200
    );
    let page = page.await.unwrap();
    assert!(page.contains("id=\"pw-receipt-number\""), "{page}");
    assert!(!page.contains("Confirming your payment"), "{page}");
}
