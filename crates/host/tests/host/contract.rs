//! The wire contract, end to end on the host's side: every answer the host builds (with its own
//! view-building functions) is serialized with serde_json exactly as the handlers do, then
//! decoded with the checkout page's decoder (`paywidget_core::api::decode::from_node`) and must
//! come back equal. Also: with a `ManualClock` and `SequentialIds`, ids and the receipt/licence
//! timestamps are deterministic.

use std::fmt::Debug;
use std::sync::Arc;

use paywidget_core::api::decode::from_node;
use paywidget_core::api::{
    ApiError, CampaignKind, DeclineCode, ErrorBody, ErrorCode, NewSession, PayOutcome,
    PublicKeyView, SessionStatus, SessionView, VerifyAnswer, WebhookAck,
};
use paywidget_core::money::Currency;
use paywidget_host::billing::webhooks;
use paywidget_host::checkout::{self as sessions, views};
use paywidget_host::config::HostConfig;
use paywidget_host::http::error::HostError;
use paywidget_host::store::{FulfilmentRow, SessionRow};
use paywidget_host::support::clock::{Clock, ManualClock, SequentialIds};
use paywidget_host::{licence, Deps, HostState};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;
const WHSEC: &str = "whsec_contract";

fn config(outbox: &std::path::Path) -> HostConfig {
    let text = format!(
        r#"
[server]
dev_secret = true
db = "{db}"
outbox = "{outbox}"
license_signing_key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="

[[merchants]]
id = "hope"
name = "Hope Shelter"
gateway_url = "http://127.0.0.1:9"
secret_key = "sk_test_contract"
publishable_key = "pk_test_contract"
webhook_secret = "{WHSEC}"
allowed_origins = ["https://hope.example", "http://127.0.0.1:8081"]
tax_statement = "No goods or services were provided."

[[campaigns]]
id = "winter"
merchant = "hope"
kind = "donation"
title = "Winter appeal"
currency = "usd"
suggested_amounts = [1000, 2500]
min_amount = 500
fee_coverage = {{ percent = 2.9, fixed = 30 }}
receipt_text = "Thank you."
success_url = "https://hope.example/thanks.html"
logo_url = "https://cdn.hope.example/logo.png"

[[campaigns]]
id = "pro"
merchant = "hope"
kind = "license"
title = "Acme Pro"
currency = "eur"
price = 4900
license = {{ product = "Acme Pro", seats = 2, validity_days = 365 }}
instructions = {{ linux = "Run `acme activate KEY`", macos = "<script>x</script> Open **Acme**" }}
"#,
        outbox = outbox.display(),
        db = paywidget_testkit::fixtures::db(outbox, "contract"),
    );
    HostConfig::parse(&text, |_| None).expect("contract config")
}

/// Serializes `value` as the handlers do (`axum::Json` = `serde_json::to_vec`), parses the bytes
/// as the browser's `JSON.parse` would, decodes with the page's decoder and compares.
#[track_caller]
fn round_trips<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let bytes = serde_json::to_vec(value).expect("serialize");
    let parsed: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    let decoded: T =
        from_node(parsed.clone()).unwrap_or_else(|_| panic!("the page cannot decode {parsed}"));
    assert_eq!(&decoded, value, "{parsed}");
}

fn row(kind: CampaignKind, status: SessionStatus) -> SessionRow {
    let (campaign, currency, amount, fee) = match kind {
        CampaignKind::Donation => ("winter", "USD", 2500, 103),
        CampaignKind::License => ("pro", "EUR", 4900, 0),
    };
    SessionRow {
        id: format!("cs_{}_{}", kind.as_str(), status.as_str()),
        merchant: "hope".into(),
        campaign: campaign.into(),
        kind,
        amount,
        fee,
        currency: Currency::from_code(currency).unwrap(),
        email: Some("buyer@example.org".into()),
        name: Some("Ada".into()),
        status,
        payment_intent: Some("pi_1".into()),
        redirect_url: Some("http://127.0.0.1:9/3ds/pi_1".into()),
        decline_code: Some(DeclineCode::IncorrectCvc),
        decline_message: Some(DeclineCode::IncorrectCvc.message().into()),
        amount_refunded: 0,
        frequency: paywidget_core::api::Frequency::Monthly,
        subscription: Some("sub_1".into()),
        subscription_status: Some(paywidget_host::store::SubscriptionStatus::Active),
        cancel_at_period_end: false,
        paused: false,
        tier: None,
        next_amount: None,
        created: 0,
    }
}

fn fulfilment(kind: CampaignKind, status: SessionStatus) -> FulfilmentRow {
    FulfilmentRow {
        session_id: "cs_x".into(),
        kind,
        license_key: (kind == CampaignKind::License).then(|| "PW1-ABCDE-FGHIJ".into()),
        receipt_number: (kind == CampaignKind::Donation).then(|| "HOPE-000007".into()),
        revoked: matches!(status, SessionStatus::Refunded | SessionStatus::Disputed),
        revoked_reason: None,
        created: T0,
        paid_until: None,
        extra_seats: 0,
        extra_days: 0,
        suspended: false,
    }
}

#[test]
fn every_session_view_decodes_as_the_page_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let statuses = SessionStatus::ALL
        .into_iter()
        .chain([SessionStatus::Unknown]);
    let mut seen_parts = [false; 4];
    for status in statuses {
        for kind in [CampaignKind::Donation, CampaignKind::License] {
            let s = row(kind, status);
            let f = status.is_confirmed().then(|| fulfilment(kind, status));
            let view: SessionView = views::session_view(&config, &s, f.as_ref());
            assert_eq!(view.status, status);
            assert_eq!(view.total, s.amount + s.fee);
            assert_eq!(view.decline.is_some(), status == SessionStatus::Declined);
            assert_eq!(
                view.redirect_url.is_some(),
                status == SessionStatus::RequiresAction
            );
            assert_eq!(
                view.license.is_some(),
                f.is_some() && kind == CampaignKind::License
            );
            assert_eq!(
                view.receipt.is_some(),
                f.is_some() && kind == CampaignKind::Donation
            );
            for (i, part) in [
                view.decline.is_some(),
                view.redirect_url.is_some(),
                view.license.is_some(),
                view.receipt.is_some(),
            ]
            .into_iter()
            .enumerate()
            {
                seen_parts[i] |= part;
            }
            round_trips(&view);
        }
    }
    assert_eq!(
        seen_parts, [true; 4],
        "decline, redirect, licence and receipt all covered"
    );

    // The wire keeps its shape: absent parts are omitted, not null.
    let open = views::session_view(
        &config,
        &row(CampaignKind::Donation, SessionStatus::Open),
        None,
    );
    let wire = serde_json::to_value(&open).unwrap();
    let keys: Vec<&str> = wire
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "amount",
            "currency",
            "fee",
            "frequency",
            "id",
            "kind",
            "status",
            "total"
        ],
        "{wire}"
    );
    let done = views::session_view(
        &config,
        &row(CampaignKind::Donation, SessionStatus::Fulfilled),
        Some(&fulfilment(
            CampaignKind::Donation,
            SessionStatus::Fulfilled,
        )),
    );
    let wire = serde_json::to_value(&done).unwrap();
    assert_eq!(wire["emailed_to"], "b•••@example.org");
    assert_eq!(wire["confirmed_at"], T0);
    assert_eq!(wire["currency"], "USD");
    assert_eq!(wire["success_url"], "https://hope.example/thanks.html");
    assert_eq!(wire["merchant_name"], "Hope Shelter");
    assert_eq!(wire["receipt"]["org_name"], "Hope Shelter");
    let licence = views::session_view(
        &config,
        &row(CampaignKind::License, SessionStatus::Refunded),
        Some(&fulfilment(CampaignKind::License, SessionStatus::Refunded)),
    );
    let l = licence.license.unwrap();
    assert!(l.revoked);
    assert!(!l.instructions_html["macos"].contains("<script"));
}

#[test]
fn pay_requests_carry_exactly_one_token() {
    use paywidget_core::api::{PayRequest, PaymentToken};
    let by_method: PayRequest =
        serde_json::from_str(r#"{"payment_method":"pm_1","idempotency_key":"k"}"#).unwrap();
    assert_eq!(
        by_method.token(),
        Some(PaymentToken::PaymentMethod("pm_1".into()))
    );
    let by_token: PayRequest =
        serde_json::from_str(r#"{"confirmation_token":"ctoken_1","idempotency_key":"k"}"#).unwrap();
    assert_eq!(
        serde_json::to_string(&by_token).unwrap(),
        r#"{"confirmation_token":"ctoken_1","idempotency_key":"k"}"#
    );
    assert_eq!(
        by_token.token().map(|t| t.param()),
        Some("confirmation_token")
    );
    for refused in [
        r#"{"payment_method":"pm_1","confirmation_token":"ctoken_1","idempotency_key":"k"}"#,
        r#"{"idempotency_key":"k"}"#,
        r#"{"payment_method":"ctoken_1","idempotency_key":"k"}"#,
        r#"{"confirmation_token":"pm_1","idempotency_key":"k"}"#,
        r#"{"payment_method":"4242424242424242","idempotency_key":"k"}"#,
        r#"{"payment_method":"pm_1&amount=1","idempotency_key":"k"}"#,
    ] {
        let r: PayRequest = serde_json::from_str(refused).unwrap();
        assert_eq!(r.token(), None, "{refused}");
    }
}

#[test]
fn every_pay_outcome_decodes() {
    for outcome in [
        PayOutcome::Succeeded,
        PayOutcome::RequiresAction {
            redirect_url: "http://127.0.0.1:9/3ds/pi_1".into(),
            client_secret: None,
        },
        PayOutcome::RequiresAction {
            redirect_url: "http://127.0.0.1:9/3ds/pi_1".into(),
            client_secret: Some("pi_1_secret_x".into()),
        },
        PayOutcome::Declined {
            code: DeclineCode::InsufficientFunds,
            message: DeclineCode::InsufficientFunds.message().into(),
        },
        PayOutcome::Declined {
            code: DeclineCode::Other("brand_new_code".into()),
            message: "Declined.".into(),
        },
        PayOutcome::Processing,
        PayOutcome::Unknown,
    ] {
        round_trips(&outcome);
    }
    assert_eq!(
        serde_json::to_string(&PayOutcome::Declined {
            code: DeclineCode::IncorrectCvc,
            message: "m".into()
        })
        .unwrap(),
        r#"{"status":"declined","code":"incorrect_cvc","message":"m"}"#
    );
}

#[test]
fn campaign_views_and_errors_decode() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    for id in ["winter", "pro"] {
        let view = views::campaign_view(&config, id).unwrap();
        round_trips(&view);
    }
    let winter = views::campaign_view(&config, "winter").unwrap();
    assert_eq!(winter.gateway_url, "http://127.0.0.1:9", "no slash added");
    assert_eq!(
        winter.allowed_origins,
        ["https://hope.example", "http://127.0.0.1:8081"]
    );
    assert_eq!(
        winter.logo_url.as_deref(),
        Some("https://cdn.hope.example/logo.png")
    );
    let wire = serde_json::to_value(views::campaign_view(&config, "pro").unwrap()).unwrap();
    assert!(
        wire["logo_url"].is_null() && wire["fee_coverage"].is_null(),
        "kept as null: {wire}"
    );
    assert!(views::campaign_view(&config, "nope").is_none());

    for e in [
        HostError::bad(
            ErrorCode::AmountTooSmall,
            "The smallest amount is 5.00 USD.",
        ),
        HostError::bad(ErrorCode::CardDataNotAccepted, "No card data."),
        HostError::NotFound("session"),
        HostError::InProgress,
        HostError::RateLimited,
        HostError::Gateway("cause".into()),
        HostError::Internal("cause".into()),
    ] {
        let body = e.body();
        assert!(
            !body.error.message.contains("cause"),
            "causes are never sent"
        );
        round_trips(&body);
    }
    // The gateway's shape, with a decline code, reads the same way.
    round_trips(&ErrorBody {
        error: ApiError {
            code: ErrorCode::Other("card_declined".into()),
            message: "Your card was declined.".into(),
            decline_code: Some(DeclineCode::InsufficientFunds),
        },
    });
    round_trips(&WebhookAck {
        received: true,
        duplicate: false,
    });
}

async fn host(dir: &std::path::Path, clock: &ManualClock) -> Arc<HostState> {
    paywidget_host::open_with(
        config(dir),
        "http://127.0.0.1:9/".into(),
        Deps {
            clock: Arc::new(clock.clone()),
            ids: Arc::new(SequentialIds::default()),
        },
    )
    .await
    .expect("open host")
}

fn succeeded(event: &str, session: &str, amount: i64, currency: &str) -> serde_json::Value {
    serde_json::json!({
        "id": event,
        "type": "payment_intent.succeeded",
        "data": { "object": {
            "id": format!("pi_{session}"), "object": "payment_intent", "status": "succeeded",
            "amount": amount, "amount_received": amount, "currency": currency,
            "metadata": { "session_id": session },
        } },
    })
}

/// Delivers a verified `payment_intent.succeeded` for a session, whose payment intent the host
/// recorded when it created it (as `sessions::charge` does).
async fn deliver(state: &HostState, event: &serde_json::Value) -> bool {
    let object = &event["data"]["object"];
    let session = object["metadata"]["session_id"].as_str().unwrap();
    state
        .store
        .set_payment_intent(session, object["id"].as_str().unwrap())
        .await
        .unwrap();
    let event = webhooks::parse(event.to_string().as_bytes()).unwrap();
    webhooks::apply(state, &webhooks::Signer::of(vec!["hope".into()]), &event)
        .await
        .unwrap()
}

#[tokio::test]
async fn ids_and_fulfilment_times_come_from_the_injected_clock_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let state = host(dir.path(), &clock).await;

    let created = sessions::create(
        &state,
        NewSession {
            campaign: "pro".into(),
            amount: None,
            cover_fee: false,
            email: Some("buyer@example.org".into()),
            name: None,
            frequency: Default::default(),
            tier: None,
            currency: None,
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(created.id, "cs_test000001");
    assert_eq!(
        (created.total, created.display_total.as_str()),
        (4900, "49.00 EUR")
    );
    round_trips(&created);

    let bad = sessions::create(
        &state,
        NewSession {
            campaign: "winter".into(),
            amount: Some(1000),
            cover_fee: false,
            email: Some("not an address".into()),
            name: None,
            frequency: Default::default(),
            tier: None,
            currency: None,
        },
        None,
    )
    .await
    .unwrap_err();
    let bad = HostError::from(bad).body();
    assert_eq!(
        (bad.error.code, bad.error.message.as_str()),
        (ErrorCode::InvalidEmail, "Enter a valid email address.")
    );

    // The webhook arrives an hour later: the fulfilment is stamped with that time.
    clock.advance_secs(3600);
    let event = succeeded("evt_1", &created.id, 4900, "eur");
    assert!(deliver(&state, &event).await);
    assert!(!deliver(&state, &event).await, "duplicate");
    let view = sessions::view(&state, &created.id).await.unwrap();
    assert_eq!(view.status, SessionStatus::Fulfilled);
    assert_eq!(view.confirmed_at, Some(T0 + 3600));
    round_trips(&view);

    let key = view.license.unwrap().key;
    let claims = licence::verify(&state.signing_key.verifying_key(), &key).unwrap();
    assert_eq!(claims.issued_day, clock.today());
    assert_eq!(claims.expires_day, Some(clock.today() + 365));
    assert_eq!(
        claims.order,
        licence::order_ref(&state.keys, &created.id),
        "the order's reference, not the session"
    );

    let answer = licence::check(&state, &key).await.unwrap();
    assert!(matches!(
        answer,
        VerifyAnswer::Checked {
            valid: true,
            expired: false,
            ..
        }
    ));
    round_trips(&answer);
    // A year and a day later the same key has expired (by the host's clock).
    clock.advance_secs(366 * 86_400);
    let answer = licence::check(&state, &key).await.unwrap();
    assert!(
        matches!(
            answer,
            VerifyAnswer::Checked {
                valid: false,
                expired: true,
                revoked: false,
                ..
            }
        ),
        "{answer:?}"
    );
    round_trips(&answer);
    let invalid = licence::check(&state, "PW1-NOPE").await.unwrap();
    assert!(matches!(
        invalid,
        VerifyAnswer::Invalid { valid: false, .. }
    ));
    round_trips(&invalid);
    round_trips::<PublicKeyView>(&views::public_key_view(&state.signing_key.verifying_key()));

    // The receipt is numbered and stamped the same way.
    let donation = sessions::create(
        &state,
        NewSession {
            campaign: "winter".into(),
            amount: Some(2500),
            cover_fee: true,
            email: None,
            name: None,
            frequency: Default::default(),
            tier: None,
            currency: None,
        },
        None,
    )
    .await
    .unwrap();
    // (The licence's fulfilment took two ids from the same source: its webhook messages,
    // payment.succeeded and licence.issued.)
    assert_eq!(donation.id, "cs_test000004");
    assert!(
        deliver(
            &state,
            &succeeded("evt_2", &donation.id, donation.total, "usd")
        )
        .await
    );
    let view = sessions::view(&state, &donation.id).await.unwrap();
    assert_eq!(view.confirmed_at, Some(clock.now()));
    assert_eq!(view.receipt.as_ref().unwrap().number, "HOPE-000001");
    assert_eq!(view.emailed_to, None);
    round_trips(&view);
}

#[tokio::test]
async fn the_webhook_tolerance_follows_the_host_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let state = host(dir.path(), &clock).await;
    let body = br#"{"id":"evt_1"}"#;
    let header = paywidget_core::signature::sign(WHSEC, T0, body);
    assert!(webhooks::verify(&state, Some(&header), body).is_ok());
    clock.advance_secs(paywidget_core::signature::TOLERANCE_SECS + 1);
    let e = HostError::from(webhooks::verify(&state, Some(&header), body).unwrap_err());
    assert_eq!(e.body().error.code, ErrorCode::BadSignature);
    assert!(webhooks::verify(&state, None, body).is_err());
}
