//! Recurring gifts from the dashboard: support pauses, resumes and changes a donor's monthly
//! gift and mails the update-card link (a few a day), with the portal's rules (the raise cap)
//! and the donor told of each change; a viewer cannot; the list sorts gifts into needing
//! attention, running (with the monthly recurring revenue) and ended.

use paywidget_testkit::fixtures::recurring;
use paywidget_testkit::world::{world_on_test_clock, WebhookTarget, World};

use super::admin::{get, staff_in};
use super::portal::plain;
use super::recurring::monthly_gift;

const STAFF: &str = r#"[[merchants.staff]]
email = "owner@hope.example"
role = "owner"

[[merchants.staff]]
email = "viewer@hope.example"
role = "viewer"

[[merchants.staff]]
email = "help@hope.example"
role = "support"
"#;

async fn act(w: &World, cookie: &str, csrf: &str, s: &str, form: &[(&str, &str)]) -> (u16, String) {
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(form);
    let r = w
        .http
        .post(format!("{}/admin/payments/{s}/gift", w.host))
        .header("cookie", format!("pw_admin={cookie}"))
        .form(&all)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn mails_to_donor(w: &World, words: &str) -> usize {
    w.outbox()
        .await
        .iter()
        .map(|m| plain(m))
        .filter(|m| m.contains("donor@example.org") && m.contains(words))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_pauses_changes_and_mails_the_card_link_of_a_gift_and_a_viewer_cannot() {
    let (w, _clock) = world_on_test_clock(WebhookTarget::Host, |g, d, c| {
        recurring(g, d, c).replacen("\n[[campaigns]]", &format!("\n{STAFF}\n[[campaigns]]"), 1)
    })
    .await;
    let s = monthly_gift(&w, "4242424242424242").await;
    w.wait_status(&s, "fulfilled").await;
    let (help, csrf) = staff_in(&w, "help@hope.example").await;
    let (_, page) = get(&w, &help, &format!("/admin/payments/{s}")).await;
    assert!(
        page.contains("Recurring gift") && page.contains("Pause"),
        "{page}"
    );

    // Paused for the donor: at the gateway, here, and the donor is told who did it.
    let (status, page) = act(&w, &help, &csrf, &s, &[("action", "pause")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Paused; the donor was told."), "{page}");
    assert!(w.state.store.session(&s).await.unwrap().unwrap().paused);
    assert_eq!(
        mails_to_donor(&w, "Our team paused this recurring gift").await,
        1
    );
    // Pausing again is not offered (the portal's rules), so it is refused.
    assert_ne!(
        act(&w, &help, &csrf, &s, &[("action", "pause")]).await.0,
        200
    );
    // The list: paused gifts need attention; nothing runs, so no recurring revenue.
    let (owner, owner_csrf) = staff_in(&w, "owner@hope.example").await;
    let (_, list) = get(&w, &owner, "/admin/gifts").await;
    assert!(
        list.contains("Needs attention (1)") && list.contains("Running (0)"),
        "{list}"
    );
    assert!(
        list.contains("Failed renewals, last 30 days: <strong>0</strong>"),
        "{list}"
    );
    assert_eq!(
        act(&w, &owner, &owner_csrf, &s, &[("action", "unpause")])
            .await
            .0,
        200
    );

    // A new amount from the next gift on, within the portal's cap (three times a year's giving).
    let (status, page) = act(
        &w,
        &help,
        &csrf,
        &s,
        &[("action", "amount"), ("amount", "15.00")],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        w.state
            .store
            .session(&s)
            .await
            .unwrap()
            .unwrap()
            .next_amount,
        Some(1500)
    );
    let (status, page) = act(
        &w,
        &help,
        &csrf,
        &s,
        &[("action", "amount"), ("amount", "1000.00")],
    )
    .await;
    assert_eq!(status, 400, "{page}");
    let (_, list) = get(&w, &owner, "/admin/gifts").await;
    assert!(
        list.contains("Running (1)") && list.contains("15.00"),
        "{list}"
    );

    // The update-card link, mailed a few times a day at most.
    for _ in 0..3 {
        assert_eq!(
            act(&w, &help, &csrf, &s, &[("action", "card_link")])
                .await
                .0,
            200
        );
    }
    assert_eq!(
        act(&w, &help, &csrf, &s, &[("action", "card_link")])
            .await
            .0,
        429
    );
    assert_eq!(mails_to_donor(&w, "/update-card?token=").await, 3);

    // A viewer sees the gift but cannot change it; a stale token changes nothing.
    let (viewer, viewer_csrf) = staff_in(&w, "viewer@hope.example").await;
    let (status, _) = act(&w, &viewer, &viewer_csrf, &s, &[("action", "cancel")]).await;
    assert_eq!(status, 403);
    assert_eq!(
        act(&w, &help, "0000", &s, &[("action", "cancel")]).await.0,
        400
    );
    assert!(
        !w.state
            .store
            .session(&s)
            .await
            .unwrap()
            .unwrap()
            .cancel_at_period_end
    );
    // Each change is in the payment's timeline, with who made it.
    let (_, page) = get(&w, &owner, &format!("/admin/payments/{s}")).await;
    assert!(
        page.contains("gift_pause") && page.contains("help@hope.example"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_counts_mrr_and_churn_as_stripe_does() {
    use paywidget_host::support::clock::Clock;
    let (w, clock) = world_on_test_clock(WebhookTarget::Host, |g, d, c| {
        recurring(g, d, c).replacen("\n[[campaigns]]", &format!("\n{STAFF}\n[[campaigns]]"), 1)
    })
    .await;
    let mut gifts = Vec::new();
    for _ in 0..3 {
        let s = monthly_gift(&w, "4242424242424242").await;
        w.wait_status(&s, "fulfilled").await;
        gifts.push(s);
    }
    // A minute and a half on (the host's clock; the gateway's webhooks stay within their
    // signature's tolerance), the owner ends one gift at its period's end; the gateway's
    // month passes: two renew, one is canceled.
    let start = w.clock.now() + 45;
    w.clock.advance_secs(90);
    let (owner, csrf) = staff_in(&w, "owner@hope.example").await;
    assert_eq!(
        act(&w, &owner, &csrf, &gifts[0], &[("action", "cancel")])
            .await
            .0,
        200
    );
    w.advance_test_clock(&clock, 32 * 86_400).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while w
        .state
        .store
        .session(&gifts[0])
        .await
        .unwrap()
        .unwrap()
        .subscription_status
        != Some(paywidget_host::store::SubscriptionStatus::Canceled)
    {
        assert!(std::time::Instant::now() < deadline, "never canceled");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let until = w.clock.now() + 60;
    // From just after the gifts began: 3 active at the start, 1 churned (a third, and a third
    // of the MRR), 2 left bringing 20.00 a month.
    let figures = w
        .state
        .store
        .recurring_figures("hope", start, until)
        .await
        .unwrap();
    assert_eq!(
        figures,
        [paywidget_host::store::RecurringFigures {
            currency: "USD".into(),
            active_at_start: 3,
            mrr_at_start: 3000,
            churned: 1,
            churned_mrr: 1000,
            active_now: 2,
            mrr_now: 2000,
        }]
    );
    // A range before the gifts: nobody active, nobody churned; one after the cancellation
    // churns nobody.
    let before = w
        .state
        .store
        .recurring_figures("hope", start - 86_400, start - 3600)
        .await
        .unwrap();
    assert_eq!(
        (
            before[0].active_at_start,
            before[0].churned,
            before[0].active_now
        ),
        (0, 0, 0)
    );
    let after = w
        .state
        .store
        .recurring_figures("hope", until, until + 86_400)
        .await
        .unwrap();
    assert_eq!((after[0].active_at_start, after[0].churned), (2, 0));
    // The overview's table (today: the gifts began inside the range, so none was active at
    // its start and the churn rate is not defined).
    let (_, page) = get(&w, &owner, "/admin").await;
    let row = page
        .split("Recurring revenue table")
        .nth(1)
        .and_then(|t| t.split("<th scope=\"row\">USD</th>").nth(1))
        .and_then(|r| r.split("</tr>").next())
        .expect("the USD row")
        .to_owned();
    let cells: Vec<&str> = row
        .split("<td class=\"pw-num\">")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap())
        .collect();
    assert_eq!(
        cells,
        [
            "2",
            "20.00 USD",
            "0",
            "0",
            "–",
            "0.00 USD",
            "–",
            "0.00 USD (0)"
        ],
        "{row}"
    );
}
