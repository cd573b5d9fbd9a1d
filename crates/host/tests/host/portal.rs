//! The customer portal over HTTP: sign-in by magic link (single use, 15 minutes, a GET that
//! uses nothing up) or by the mail's code (5 wrong tries), the overview of one's own payments,
//! and changes refused without the CSRF token or for someone else's objects.

use paywidget_testkit::world::{world, WebhookTarget, World};
use serde_json::json;

/// The mail's text with quoted-printable soft breaks and `=3D` undone.
pub(crate) fn plain(mail: &str) -> String {
    mail.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// The newest sign-in mail to `to`: (token, code). Waits a little: another request's mail
/// relay (a webhook's, say) may hold the message's lease and write it a moment later.
pub(crate) async fn sign_in_mail(w: &World, to: &str) -> (String, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mail = loop {
        if let Some(m) = w
            .outbox()
            .await
            .into_iter()
            .rev()
            .map(|m| plain(&m))
            .find(|m| m.contains("sign-in code") && m.contains(to))
        {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "a sign-in mail");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let token = mail
        .split("/portal/login?token=")
        .nth(1)
        .expect("the link")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    let code = mail
        .split("Your sign-in code: ")
        .nth(1)
        .expect("the code in the subject")
        .chars()
        .take(6)
        .collect();
    (token, code)
}

async fn form(
    w: &World,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = w.http.post(format!("{}{path}", w.host)).form(fields);
    if let Some(c) = cookie {
        req = req.header("cookie", format!("pw_portal={c}"));
    }
    req.send().await.unwrap()
}

async fn page(w: &World, cookie: Option<&str>) -> String {
    let mut req = w.http.get(format!("{}/portal", w.host));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("pw_portal={c}"));
    }
    req.send().await.unwrap().text().await.unwrap()
}

fn cookie_of(r: &reqwest::Response) -> String {
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/portal"),
        "{set}"
    );
    set.trim_start_matches("pw_portal=")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Signs in through the newest link mailed to `email`: (cookie, the overview's CSRF token).
pub(crate) async fn signed_in(w: &World, email: &str) -> (String, String) {
    form(w, "/portal/sign-in", None, &[("email", email)]).await;
    let (token, _) = sign_in_mail(w, email).await;
    let cookie = cookie_of(&form(w, "/portal/login", None, &[("token", &token)]).await);
    let overview = page(w, Some(&cookie)).await;
    let csrf = overview
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .expect("a CSRF token on the overview")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (cookie, csrf)
}

/// Buys a licence and a donation as `email`; returns (licence session, donation session).
async fn buy(w: &World, email: &str) -> (String, String) {
    let mut ids = Vec::new();
    for (campaign, amount) in [("pro", None), ("winter", Some(1000))] {
        let (_, s) = w
            .api(
                reqwest::Method::POST,
                "/api/sessions",
                Some(json!({ "campaign": campaign, "amount": amount, "email": email })),
            )
            .await;
        let id = s["id"].as_str().unwrap().to_owned();
        let pm = w.tokenize("4242424242424242").await;
        w.pay(&id, &pm, "k").await;
        w.wait_status(&id, "fulfilled").await;
        ids.push(id);
    }
    (ids[0].clone(), ids[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_magic_link_signs_in_once_and_expires() {
    let w = world(WebhookTarget::Host).await;
    buy(&w, "ada@example.org").await;
    // Every receipt mail links to the portal.
    assert!(w
        .outbox()
        .await
        .iter()
        .map(|m| plain(m))
        .all(|m| m.contains("/portal")));
    let r = form(&w, "/portal/sign-in", None, &[("email", "ada@example.org")]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Check your email"));
    let (token, _) = sign_in_mail(&w, "ada@example.org").await;
    // Opening the link (as a mail scanner does) shows a button and uses nothing up.
    let opened = w
        .http
        .get(format!("{}/portal/login?token={token}", w.host))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let csp = opened.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(opened
        .text()
        .await
        .unwrap()
        .contains("Continue to your payments"));
    let r = form(&w, "/portal/login", None, &[("token", &token)]).await;
    assert_eq!(r.status(), 303);
    let cookie = cookie_of(&r);
    let overview = page(&w, Some(&cookie)).await;
    assert!(
        overview.contains("Signed in as <strong>ada@example.org</strong>"),
        "{overview}"
    );
    assert!(overview.contains("HOPE-000001"), "the receipt: {overview}");
    assert!(overview.contains("PW1-"), "the licence key: {overview}");
    // Another site cannot post a sign-in (login CSRF).
    form(&w, "/portal/sign-in", None, &[("email", "ADA@example.org")]).await;
    let (foreign_token, _) = sign_in_mail(&w, "ada@example.org").await;
    let foreign = w
        .http
        .post(format!("{}/portal/login", w.host))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("token", foreign_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    // Single use.
    let again = form(&w, "/portal/login", None, &[("token", &token)]).await;
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("not valid any more"));
    // 15 minutes.
    form(&w, "/portal/sign-in", None, &[("email", "ada@example.org")]).await;
    let (late, _) = sign_in_mail(&w, "ada@example.org").await;
    w.clock.advance_secs(16 * 60);
    assert_eq!(
        form(&w, "/portal/login", None, &[("token", &late)])
            .await
            .status(),
        400
    );
    // Without a cookie the portal asks to sign in; an unknown cookie too.
    assert!(page(&w, None).await.contains("Email me a sign-in link"));
    assert!(page(&w, Some("forged"))
        .await
        .contains("Email me a sign-in link"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_signs_in_and_wrong_codes_run_out() {
    let w = world(WebhookTarget::Host).await;
    buy(&w, "ada@example.org").await;
    form(&w, "/portal/sign-in", None, &[("email", "ada@example.org")]).await;
    let (_, code) = sign_in_mail(&w, "ada@example.org").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = form(
        &w,
        "/portal/login",
        None,
        &[("email", "ada@example.org"), ("code", wrong)],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text().await.unwrap().contains("6-digit code"),
        "asks again"
    );
    let r = form(
        &w,
        "/portal/login",
        None,
        &[("email", "ada@example.org"), ("code", &code)],
    )
    .await;
    assert_eq!(r.status(), 303, "the right code after one wrong try");
    // A new mail; five wrong tries use it up.
    form(&w, "/portal/sign-in", None, &[("email", "ada@example.org")]).await;
    let (_, code) = sign_in_mail(&w, "ada@example.org").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        form(
            &w,
            "/portal/login",
            None,
            &[("email", "ada@example.org"), ("code", wrong)],
        )
        .await;
    }
    let r = form(
        &w,
        "/portal/login",
        None,
        &[("email", "ada@example.org"), ("code", &code)],
    )
    .await;
    assert_eq!(r.status(), 400, "no sixth try");
    // More than 5 requests an hour send no more mail (and the answer is the same).
    let before = w.outbox().await.len();
    for _ in 0..6 {
        let r = form(&w, "/portal/sign-in", None, &[("email", "ada@example.org")]).await;
        assert_eq!(r.status(), 200);
    }
    let sent = w.outbox().await.len() - before;
    assert!(
        sent <= 3,
        "{sent} mails: 2 earlier requests this hour + at most 3 more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_need_the_csrf_token_and_ones_own_objects() {
    let w = world(WebhookTarget::Host).await;
    let (ada_licence, _) = buy(&w, "ada@example.org").await;
    let (bob_licence, _) = buy(&w, "bob@example.org").await;
    // Both licences have an activation.
    for (order, who) in [(&ada_licence, "ada"), (&bob_licence, "bob")] {
        let key = w.status(order).await["license"]["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let (code, _) = w
            .api(
                reqwest::Method::POST,
                "/api/licenses/activate",
                Some(json!({ "key": key, "instance": format!("{who}-laptop") })),
            )
            .await;
        assert_eq!(code, 200);
    }
    let (cookie, csrf) = signed_in(&w, "ada@example.org").await;
    let overview = page(&w, Some(&cookie)).await;
    assert!(
        overview.contains("ada-laptop") && !overview.contains("bob-laptop"),
        "{overview}"
    );
    // Without the token, or with a wrong one: refused, nothing changed.
    let r = form(
        &w,
        "/portal/deactivate",
        Some(&cookie),
        &[("order", &ada_licence), ("instance", "ada-laptop")],
    )
    .await;
    assert!(r.status().is_client_error());
    let r = form(
        &w,
        "/portal/deactivate",
        Some(&cookie),
        &[
            ("csrf", "0000"),
            ("order", &ada_licence),
            ("instance", "ada-laptop"),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        w.state.store.activations(&ada_licence).await.unwrap().len(),
        1
    );
    // Someone else's licence: not found, and Bob's seat stays taken.
    let r = form(
        &w,
        "/portal/deactivate",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("order", &bob_licence),
            ("instance", "bob-laptop"),
        ],
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        w.state.store.activations(&bob_licence).await.unwrap().len(),
        1
    );
    // Without a session at all.
    let r = form(
        &w,
        "/portal/deactivate",
        None,
        &[
            ("csrf", &csrf),
            ("order", &ada_licence),
            ("instance", "ada-laptop"),
        ],
    )
    .await;
    assert_eq!(r.status(), 401);
    // Her own, with the token: the seat is freed.
    let r = form(
        &w,
        "/portal/deactivate",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("order", &ada_licence),
            ("instance", "ada-laptop"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(w
        .state
        .store
        .activations(&ada_licence)
        .await
        .unwrap()
        .is_empty());
    // Signing out ends the session.
    form(&w, "/portal/sign-out", Some(&cookie), &[("csrf", &csrf)]).await;
    assert!(page(&w, Some(&cookie))
        .await
        .contains("Email me a sign-in link"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_giving_statement_lists_the_years_gifts_and_totals() {
    let w = world(WebhookTarget::Host).await;
    let (_, donation) = buy(&w, "ada@example.org").await;
    form(&w, "/portal/sign-in", None, &[("email", "ada@example.org")]).await;
    let (token, _) = sign_in_mail(&w, "ada@example.org").await;
    let cookie = cookie_of(&form(&w, "/portal/login", None, &[("token", &token)]).await);
    let overview = page(&w, Some(&cookie)).await;
    assert!(overview.contains("/portal/statement"), "{overview}");
    let receipt = w.status(&donation).await["receipt"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let year = paywidget_host::mail::civil_date(w.state.clock.now())[..4].to_owned();
    let statement = w
        .http
        .get(format!("{}/portal/statement?year={year}", w.host))
        .header("cookie", format!("pw_portal={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        statement.contains(&format!("Giving statement {year}")),
        "{statement}"
    );
    assert!(statement.contains(&receipt), "{statement}");
    assert!(statement.contains("Total"), "{statement}");
    assert!(statement.contains("10.00 USD"), "{statement}");
    assert!(
        !statement.contains("Acme Pro"),
        "licences are not gifts: {statement}"
    );
    let other: i32 = year.parse::<i32>().unwrap() - 1;
    let empty = w
        .http
        .get(format!("{}/portal/statement?year={other}", w.host))
        .header("cookie", format!("pw_portal={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(empty.contains("No gifts in this year."), "{empty}");
    // Signed out: no statement.
    let r = w
        .http
        .get(format!("{}/portal/statement", w.host))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// A host on a gateway test clock with a paid monthly gift of 10.00 USD by ada@example.org:
/// (world, test clock, session).
pub(crate) async fn monthly_gift() -> (World, String, String) {
    let (w, clock) = paywidget_testkit::world::world_on_test_clock(
        WebhookTarget::Host,
        paywidget_testkit::fixtures::recurring,
    )
    .await;
    let (_, s) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "winter", "amount": 1000, "email": "ada@example.org", "frequency": "monthly" })),
        )
        .await;
    let session = s["id"].as_str().unwrap().to_owned();
    let pm = w.tokenize("4242424242424242").await;
    w.pay(&session, &pm, "k").await;
    w.wait_status(&session, "fulfilled").await;
    // The first invoice's event too (it brings the period's end, which the portal shows): the
    // payment's event may come first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while w.state.store.invoices(&session).await.unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first invoice never came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    (w, clock, session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recurring_gift_is_paused_and_resumed_from_the_portal() {
    let (w, clock, session) = monthly_gift().await;
    let (cookie, csrf) = signed_in(&w, "ada@example.org").await;
    let r = form(
        &w,
        "/portal/subscription",
        Some(&cookie),
        &[("csrf", &csrf), ("session", &session), ("action", "pause")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(page(&w, Some(&cookie)).await.contains("Paused"));
    let subscription = w
        .state
        .store
        .session(&session)
        .await
        .unwrap()
        .unwrap()
        .subscription
        .unwrap();
    let sub = w
        .gateway_get(&format!("/v1/subscriptions/{subscription}"))
        .await;
    assert_eq!(sub["pause_collection"]["behavior"], "void", "{sub}");
    // Paused: a month passes without a charge.
    w.advance_test_clock(&clock, 32 * 86_400).await;
    assert_eq!(w.charges().await, 1, "nothing charged while paused");
    let r = form(
        &w,
        "/portal/subscription",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("session", &session),
            ("action", "unpause"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let sub = w
        .gateway_get(&format!("/v1/subscriptions/{subscription}"))
        .await;
    assert!(sub["pause_collection"].is_null(), "{sub}");
    assert!(page(&w, Some(&cookie)).await.contains("Pause payments"));
}

/// A donor who changes their mind twice within one tick of the clock: every change reaches the
/// gateway. (Keys made from the clock made the second "cancel" a replay of the first, so the
/// gateway kept the "resume" in between while the portal showed "Ends at the end of this
/// period".)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_resume_cancel_and_pause_unpause_pause_all_reach_the_gateway() {
    let (w, _clock, session) = monthly_gift().await;
    let (cookie, csrf) = signed_in(&w, "ada@example.org").await;
    let subscription = w
        .state
        .store
        .session(&session)
        .await
        .unwrap()
        .unwrap()
        .subscription
        .unwrap();
    w.clock.freeze();
    let now = w.state.clock.now();
    // Each step offered by the one before (an ending gift offers only to keep it).
    for action in [
        "cancel", "resume", "cancel", "resume", "pause", "unpause", "pause", "cancel",
    ] {
        let r = form(
            &w,
            "/portal/subscription",
            Some(&cookie),
            &[("csrf", &csrf), ("session", &session), ("action", action)],
        )
        .await;
        assert_eq!(r.status(), 303, "{action}");
    }
    assert_eq!(w.state.clock.now(), now, "the host's clock did not move");
    let sub = w
        .gateway_get(&format!("/v1/subscriptions/{subscription}"))
        .await;
    assert_eq!(sub["cancel_at_period_end"], true, "{sub}");
    assert_eq!(sub["pause_collection"]["behavior"], "void", "{sub}");
    let overview = page(&w, Some(&cookie)).await;
    assert!(overview.contains("Keep giving"), "{overview}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_donor_changes_the_amount_from_the_next_gift_on() {
    let (w, clock, session) = monthly_gift().await;
    let (cookie, csrf) = signed_in(&w, "ada@example.org").await;
    let change = |amount: &'static str| {
        let (w, cookie, csrf, session) = (&w, cookie.clone(), csrf.clone(), session.clone());
        async move {
            form(
                w,
                "/portal/subscription",
                Some(&cookie),
                &[
                    ("csrf", &csrf),
                    ("session", &session),
                    ("action", "amount"),
                    ("amount", amount),
                ],
            )
            .await
        }
    };
    // Below the campaign's minimum (5.00): refused with the range.
    let r = change("1.00").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("from 5.00 USD"));
    // Far above what it gives now (a taken-over portal's move): refused, the way shown.
    let before = w.outbox().await.len();
    let r = change("1000.00").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("up to 30.00 USD"));
    assert_eq!(change("25.00").await.status(), 303);
    assert!(page(&w, Some(&cookie))
        .await
        .contains("25.00 USD every month"));
    // The donor hears of the change at the gift's address.
    let mails = w.outbox().await;
    assert_eq!(mails.len(), before + 1);
    let told = mails.last().unwrap();
    assert!(
        told.contains("To: ada@example.org") && told.contains("25.00 USD every month"),
        "{told}"
    );
    // The next renewal is charged and receipted at the new amount.
    w.advance_test_clock(&clock, 32 * 86_400).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let invoices = w.state.store.invoices(&session).await.unwrap();
        if let Some(renewal) = invoices
            .iter()
            .find(|i| i.billing_reason == "subscription_cycle")
        {
            assert_eq!(renewal.amount, 2500);
            assert!(renewal.receipt_number.is_some());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no renewal at the new amount"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_donor_switches_a_monthly_gift_to_yearly_when_the_month_ends() {
    let (w, clock, session) = monthly_gift().await;
    let (cookie, csrf) = signed_in(&w, "ada@example.org").await;
    let overview = page(&w, Some(&cookie)).await;
    assert!(
        overview.contains("<option value=\"yearly\">every year</option>"),
        "{overview}"
    );
    let change = |frequency: &'static str| {
        let (w, cookie, csrf, session) = (&w, cookie.clone(), csrf.clone(), session.clone());
        async move {
            form(
                w,
                "/portal/subscription",
                Some(&cookie),
                &[
                    ("csrf", &csrf),
                    ("session", &session),
                    ("action", "amount"),
                    ("amount", "100.00"),
                    ("frequency", frequency),
                ],
            )
            .await
        }
    };
    // Not a frequency this campaign can renew.
    assert_eq!(change("one_time").await.status(), 400);
    assert_eq!(change("weekly").await.status(), 400);
    assert_eq!(change("yearly").await.status(), 303);
    assert!(page(&w, Some(&cookie))
        .await
        .contains("100.00 USD every year"));
    // Nothing is charged now: the month already given for runs out first.
    assert_eq!(w.charges().await, 1);
    let renewals = |w: &World| {
        let (w, session) = (w.state.clone(), session.clone());
        async move {
            w.store
                .invoices(&session)
                .await
                .unwrap()
                .into_iter()
                .filter(|i| i.billing_reason == "subscription_cycle")
                .map(|i| i.amount)
                .collect::<Vec<_>>()
        }
    };
    w.advance_test_clock(&clock, 32 * 86_400).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while renewals(&w).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no yearly renewal at the month's end"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(renewals(&w).await, vec![10_000]);
    // Then nothing for the rest of the year (not monthly any more).
    w.advance_test_clock(&clock, 5 * 31 * 86_400).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(renewals(&w).await, vec![10_000]);
    assert_eq!(w.charges().await, 2);
    let session = w.state.store.session(&session).await.unwrap().unwrap();
    assert_eq!(session.frequency, paywidget_core::api::Frequency::Yearly);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gift_that_ends_offers_only_to_keep_it() {
    let (w, _clock, session) = monthly_gift().await;
    let (cookie, csrf) = signed_in(&w, "ada@example.org").await;
    let overview = page(&w, Some(&cookie)).await;
    assert!(
        overview.contains("class=\"pw-secondary\">Cancel at the end of this period"),
        "cancelling looks secondary: {overview}"
    );
    // It asks first, on a page that changes nothing.
    let ask = w
        .http
        .get(format!("{}/portal/cancel?session={session}", w.host))
        .header("cookie", format!("pw_portal={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        ask.contains("End your gift?")
            && ask.contains("Yes, end my gift")
            && ask.contains("Keep my gift"),
        "{ask}"
    );
    assert!(
        page(&w, Some(&cookie)).await.contains("Pause payments"),
        "nothing changed yet"
    );
    let r = form(
        &w,
        "/portal/subscription",
        Some(&cookie),
        &[("csrf", &csrf), ("session", &session), ("action", "cancel")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let overview = page(&w, Some(&cookie)).await;
    assert!(
        overview.contains("Ends at the end of this period, on 20"),
        "{overview}"
    );
    assert!(overview.contains("Keep giving"), "{overview}");
    assert!(
        !overview.contains("Change gift") && !overview.contains("Pause payments"),
        "only what applies: {overview}"
    );
    // A forged form for what the page no longer offers is refused by the domain, whatever it
    // posts; a made-up action is refused too.
    for (action, extra) in [("pause", None), ("amount", Some("7.00")), ("explode", None)] {
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("session", session.as_str()),
            ("action", action),
        ];
        if let Some(amount) = extra {
            fields.push(("amount", amount));
        }
        let r = form(&w, "/portal/subscription", Some(&cookie), &fields).await;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert!(
            status == 409 || status == 400,
            "{action}: refused, not done ({status}): {body}"
        );
        assert!(
            body.contains("role=\"alert\""),
            "{action}: said why: {body}"
        );
    }
    let overview = page(&w, Some(&cookie)).await;
    assert!(
        overview.contains("Ends at the end of this period") && !overview.contains(">Paused<"),
        "nothing changed: {overview}"
    );
}
