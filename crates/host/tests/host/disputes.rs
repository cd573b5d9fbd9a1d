//! Disputes over HTTP against the sandbox: a disputed payment is listed with the bank's
//! deadline and the days left, its page gathers the evidence the host holds, the owners are
//! mailed when it opens and once — whichever of several racing reminder passes claims it — 3
//! days before its deadline; the overview counts it in the dispute ratio; other merchants see
//! nothing of it.

use paywidget_host::billing::disputes::remind_due;
use serde_json::json;

use super::admin::{dashboard_world, get, staff_in};
use super::portal::plain;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_is_listed_with_its_deadline_and_evidence_and_the_owners_are_told() {
    let w = dashboard_world().await;
    let (code, s) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "winter", "amount": 2500, "email": "ada@example.org", "name": "Ada" })),
        )
        .await;
    assert_eq!(code, 201, "{s}");
    let session = s["id"].as_str().unwrap().to_owned();
    // The sandbox's card whose charge succeeds and is then disputed.
    let pm = w.tokenize("4000000000000259").await;
    w.pay(&session, &pm, "k").await;
    w.wait_status(&session, "disputed").await;

    // The owners are told, with the deadline and the way to the evidence.
    let mails: Vec<String> = w.outbox().await.iter().map(|m| plain(m)).collect();
    let told = mails
        .iter()
        .find(|m| m.contains("owner@hope.example") && m.contains("was disputed"))
        .unwrap_or_else(|| panic!("no dispute mail: {mails:?}"));
    assert!(
        told.contains("answer by") && told.contains("/admin/disputes/dp_"),
        "{told}"
    );
    assert!(
        !mails
            .iter()
            .any(|m| m.contains("owner@other.example") && m.contains("disputed")),
        "another merchant's owner is told nothing"
    );
    let dispute: String = told
        .split("/admin/disputes/")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();

    // The list: the deadline, a week away, and the days left.
    let (owner, _) = staff_in(&w, "owner@hope.example").await;
    let (status, list) = get(&w, &owner, "/admin/disputes").await;
    assert_eq!(status, 200, "{list}");
    assert!(
        list.contains(&dispute) && list.contains("fraudulent"),
        "{list}"
    );
    assert!(
        list.contains("7 days left") || list.contains("6 days left"),
        "{list}"
    );
    assert!(list.contains("25.00"), "{list}");
    // Its page: the payment, its receipt, the payer, the timeline.
    let (status, page) = get(&w, &owner, &format!("/admin/disputes/{dispute}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("ada@example.org") && page.contains(&session),
        "{page}"
    );
    assert!(page.contains("Timeline"), "{page}");
    // The terms the payer accepted: the button's own words, and when it was pressed.
    assert!(
        page.contains("the payer pressed “Donate 25.00 USD” at ")
            && page.contains("(a single payment, no recurring terms)"),
        "{page}"
    );
    // The receipt, when one was issued: the dispute's event may come before the payment's
    // (then nothing is handed out for a payment already taken back).
    if let Some(number) = w
        .state
        .store
        .fulfilment(&session)
        .await
        .unwrap()
        .and_then(|f| f.receipt_number)
    {
        assert!(
            page.contains(&format!("Receipt <strong>{number}")),
            "{page}"
        );
    }
    // The overview counts it: one dispute over this month's one payment.
    let (_, home) = get(&w, &owner, "/admin").await;
    assert!(
        home.contains("Opened in this range: <strong>1</strong>"),
        "{home}"
    );
    assert!(
        home.contains("1 dispute(s) over 1 payment(s) this month (100.00 %)"),
        "{home}"
    );
    // A viewer reads it; another merchant's owner finds nothing.
    let (viewer, _) = staff_in(&w, "viewer@hope.example").await;
    assert_eq!(
        get(&w, &viewer, &format!("/admin/disputes/{dispute}"))
            .await
            .0,
        200
    );
    let (theirs, _) = staff_in(&w, "owner@other.example").await;
    assert_eq!(
        get(&w, &theirs, &format!("/admin/disputes/{dispute}"))
            .await
            .0,
        404
    );
    assert!(!get(&w, &theirs, "/admin/disputes")
        .await
        .1
        .contains(&dispute));

    // No reminder while the deadline is more than 3 days away...
    assert_eq!(remind_due(&w.state).await.unwrap(), 0);
    // ... then exactly one, whichever of several passes racing for it claims it.
    w.clock.advance_secs(4 * 86_400 + 60);
    let passes = futures_util::future::join_all((0..4).map(|_| remind_due(&w.state))).await;
    let claimed: usize = passes.into_iter().map(Result::unwrap).sum();
    assert_eq!(claimed, 1);
    assert_eq!(remind_due(&w.state).await.unwrap(), 0);
    let reminders = w
        .outbox()
        .await
        .iter()
        .map(|m| plain(m))
        .filter(|m| m.contains("owner@hope.example") && m.contains("Reminder: the dispute"))
        .count();
    assert_eq!(reminders, 1);
}
