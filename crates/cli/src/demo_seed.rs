//! The demo's first run seeds nine weeks of activity through the public APIs, exactly as
//! shoppers and the gateway would make it: three monthly gifts started two months ago that renew
//! (one renewal fails on an expired card and is recovered when the donor's new card is charged on
//! the retry), and in the last three weeks one-time and monthly donations (some declined),
//! licences bought and activated (one refused for lack of seats), a refund and a dispute. Time
//! is the demo's [`DemoClock`], moved day by day from then to now, shared by the sandbox and the
//! host (and the sandbox's test clock the recurring gifts run on follows it), so every record
//! (sessions, charges, renewals, payouts, webhooks) is dated as if it had happened then.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// How many days back the daily activity starts.
pub const SEED_DAYS: i64 = 21;

/// How many days back the first monthly gifts start (so renewals have happened by now).
pub const RECURRING_DAYS: i64 = 63;

/// The system clock moved by an offset the seeding sets (both the host's and the sandbox's
/// clock: they share one offset).
#[derive(Clone, Debug, Default)]
pub struct DemoClock(Arc<AtomicI64>);

impl DemoClock {
    /// Sets the offset from the system's time, in seconds.
    pub fn set_offset(&self, secs: i64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    fn system_ms() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

impl paywidget_host::support::clock::Clock for DemoClock {
    fn now(&self) -> i64 {
        Self::system_ms().div_euclid(1000) + self.0.load(Ordering::SeqCst)
    }
}

impl paywidget_sandbox::clock::Clock for DemoClock {
    fn now_ms(&self) -> i64 {
        Self::system_ms() + self.0.load(Ordering::SeqCst) * 1000
    }
}

/// What the seeding made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Checkouts paid.
    pub paid: usize,
    /// Checkouts declined.
    pub declined: usize,
    /// Licence activations refused.
    pub refused_activations: usize,
    /// Monthly gifts started before the daily activity (each renewing on the test clock).
    pub sustainers: usize,
}

struct Seeder {
    http: reqwest::Client,
    host: String,
    sandbox: String,
}

impl Seeder {
    async fn json(&self, r: reqwest::RequestBuilder, what: &str) -> Result<Value> {
        let r = r.send().await.with_context(|| what.to_owned())?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{what}: {status} {body}");
        }
        Ok(body)
    }

    async fn card(&self, number: &str) -> Result<String> {
        // Three years on: valid for the sandbox however far the demo's clock was set back.
        let year = paywidget_host::mail::civil_date(DemoClock::system_ms().div_euclid(1000))
            .get(0..4)
            .and_then(|y| y.parse::<i64>().ok())
            .map_or(2030, |y| y + 3)
            .to_string();
        let body = self
            .json(
                self.http
                    .post(format!("{}/v1/payment_methods", self.sandbox))
                    .bearer_auth(paywidget_sandbox::DEFAULT_PUBLISHABLE_KEY)
                    .form(&[
                        ("type", "card"),
                        ("card[number]", number),
                        ("card[exp_month]", "12"),
                        ("card[exp_year]", year.as_str()),
                        ("card[cvc]", "123"),
                    ]),
                "tokenize a test card",
            )
            .await?;
        body["id"]
            .as_str()
            .map(str::to_owned)
            .context("a payment method id")
    }

    /// A checkout of `body` paid with `number`: its session id and whether it was paid.
    async fn checkout(&self, body: Value, number: &str, key: &str) -> Result<(String, bool)> {
        let s = self
            .json(
                self.http
                    .post(format!("{}/api/sessions", self.host))
                    .json(&body),
                "create a session",
            )
            .await?;
        let id = s["id"].as_str().context("a session id")?.to_owned();
        let pm = self.card(number).await?;
        let mut body = json!({ "payment_method": pm, "idempotency_key": key });
        // As the page does: a proof of work when the card-testing shield asks for one (a
        // donor who was declined a moment ago).
        for _ in 0..2 {
            let r = self
                .http
                .post(format!("{}/api/sessions/{id}/pay", self.host))
                .json(&body)
                .send()
                .await
                .context("pay")?;
            let answer: Value = r.json().await.unwrap_or(Value::Null);
            if answer["status"] != "challenge" {
                return Ok((id, answer["status"] == "succeeded"));
            }
            let challenge = answer["challenge"].as_str().unwrap_or_default().to_owned();
            let bits = u8::try_from(answer["difficulty"].as_u64().unwrap_or(0)).unwrap_or(0);
            let nonce = paywidget_host::shield::pow::solve(&challenge, bits);
            body["proof"] = json!({ "challenge": challenge, "nonce": nonce });
        }
        Ok((id, false))
    }

    /// Waits for the session's status to be `want` (the webhook's fulfilment), up to 20 s.
    async fn until(&self, id: &str, want: &[&str]) -> Result<Value> {
        let mut last = Value::Null;
        for _ in 0..400 {
            let s: Value = self
                .http
                .get(format!("{}/api/sessions/{id}", self.host))
                .send()
                .await?
                .json()
                .await?;
            if want.iter().any(|w| s["status"] == *w) {
                return Ok(s);
            }
            last = s;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("session {id} never reached {want:?}: {last}")
    }

    /// Moves the sandbox's test clock to `to` and waits until its renewals have run.
    async fn advance_test_clock(&self, clock: &str, to: i64) -> Result<()> {
        let url = format!("{}/v1/test_helpers/test_clocks/{clock}", self.sandbox);
        let now = self
            .json(
                self.http
                    .get(&url)
                    .bearer_auth(paywidget_sandbox::DEFAULT_SECRET_KEY),
                "read the test clock",
            )
            .await?["frozen_time"]
            .as_i64()
            .unwrap_or(0);
        if to <= now {
            return Ok(());
        }
        self.json(
            self.http
                .post(format!("{url}/advance"))
                .bearer_auth(paywidget_sandbox::DEFAULT_SECRET_KEY)
                .form(&[("frozen_time", to.to_string())]),
            "advance the test clock",
        )
        .await?;
        for _ in 0..400 {
            let c = self
                .json(
                    self.http
                        .get(&url)
                        .bearer_auth(paywidget_sandbox::DEFAULT_SECRET_KEY),
                    "read the test clock",
                )
                .await?;
            if c["status"] == "ready" {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("the test clock did not finish advancing")
    }

    /// Makes a new card of `number` the default of `session`'s subscription at the gateway (as
    /// the donor's bank replacing an expired card, or the donor giving a new one, would).
    async fn set_subscription_card(&self, session: &str, number: &str) -> Result<()> {
        let key = paywidget_sandbox::DEFAULT_SECRET_KEY;
        let subs = self
            .json(
                self.http
                    .get(format!("{}/v1/subscriptions?limit=100", self.sandbox))
                    .bearer_auth(key),
                "list subscriptions",
            )
            .await?;
        let sub = subs["data"]
            .as_array()
            .and_then(|l| l.iter().find(|s| s["metadata"]["session_id"] == session))
            .context("the gift's subscription")?
            .clone();
        let (id, customer) = (
            sub["id"].as_str().context("a subscription id")?,
            sub["customer"].as_str().context("its customer")?,
        );
        let pm = self.card(number).await?;
        self.json(
            self.http
                .post(format!("{}/v1/payment_methods/{pm}/attach", self.sandbox))
                .bearer_auth(key)
                .form(&[("customer", customer)]),
            "attach a card",
        )
        .await?;
        self.json(
            self.http
                .post(format!("{}/v1/subscriptions/{id}", self.sandbox))
                .bearer_auth(key)
                .form(&[("default_payment_method", pm.as_str())]),
            "set the subscription's card",
        )
        .await?;
        Ok(())
    }

    /// Waits (up to 10 s) until the sandbox has delivered every webhook it queued, so the host
    /// has applied them at the day's time. Best effort: a delivery still being retried after
    /// that lands later, dated then.
    async fn settle(&self) -> Result<()> {
        for _ in 0..400 {
            let log = self
                .json(
                    self.http
                        .get(format!("{}/_sandbox/deliveries?limit=50", self.sandbox))
                        .bearer_auth(paywidget_sandbox::DEFAULT_SECRET_KEY),
                    "read the webhook deliveries",
                )
                .await?;
            let pending = log["data"]
                .as_array()
                .is_some_and(|l| l.iter().any(|d| d["status"] == "pending"));
            if !pending {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        eprintln!("seeding: some webhooks are still being retried; they land later");
        Ok(())
    }

    async fn activate(&self, key: &str, instance: &str) -> Result<bool> {
        let r = self
            .http
            .post(format!("{}/api/licenses/activate", self.host))
            .json(&json!({ "key": key, "instance": instance }))
            .send()
            .await?;
        Ok(r.status().is_success())
    }
}

/// Seeds [`SEED_DAYS`] days of activity on the demo at `host` and `sandbox`, moving `clock` from
/// then to now (it is left at now).
pub async fn seed(
    host: &str,
    sandbox: &str,
    clock: &DemoClock,
    test_clock: Option<&str>,
) -> Result<SeedReport> {
    let s = Seeder {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
        host: host.to_owned(),
        sandbox: sandbox.to_owned(),
    };
    let mut report = SeedReport::default();
    let donors = [
        ("Ada Lovelace", "ada@example.org"),
        ("Grace Hopper", "grace@example.org"),
        ("Alan Turing", "alan@example.org"),
        ("Katherine Johnson", "katherine@example.org"),
        ("Edsger Dijkstra", "edsger@example.org"),
        ("Barbara Liskov", "barbara@example.org"),
        ("Donald Knuth", "donald@example.org"),
    ];
    let amounts = [1000, 2500, 5000, 2500, 10_000, 1500, 2500];
    let mut paid_donations: Vec<String> = Vec::new();
    // Sustainers: monthly gifts from two months ago, renewing on the test clock. The second
    // one's card expires before its first renewal (declined), and the donor's new card is
    // charged on the retry (recovered).
    let sustainers = [
        ("Margaret Hamilton", "margaret@example.org", 2000),
        ("Frances Allen", "frances@example.org", 1500),
        ("Radia Perlman", "radia@example.org", 3000),
    ];
    let mut sustaining: Vec<String> = Vec::new();
    for day in 0..RECURRING_DAYS - SEED_DAYS {
        clock.set_offset(-(RECURRING_DAYS - day) * 86_400 + 10 * 3600);
        if let Some(tc) = test_clock {
            s.advance_test_clock(tc, paywidget_host::support::clock::Clock::now(clock))
                .await?;
            s.settle().await?;
        }
        if let Some(&(name, email, amount)) = [0, 4, 9]
            .iter()
            .position(|d| *d == day)
            .and_then(|i| sustainers.get(i))
        {
            let body = json!({
                "campaign": "winter-appeal", "amount": amount, "email": email, "name": name,
                "frequency": "monthly",
            });
            let (id, ok) = s
                .checkout(body, "4242424242424242", &format!("seed-sustainer-{day}"))
                .await?;
            if ok {
                s.until(&id, &["fulfilled"]).await?;
                report.paid += 1;
                report.sustainers += 1;
                sustaining.push(id);
            }
        }
        // The second sustainer's card stops working (its first renewal is due around day 35),
        // then the donor's new card is in place before the third retry.
        if let (25 | 37, Some(id)) = (day, sustaining.get(1)) {
            if test_clock.is_some() {
                let card = if day == 25 {
                    "4000000000000341"
                } else {
                    "4242424242424242"
                };
                s.set_subscription_card(id, card).await?;
            }
        }
    }
    for day in 0..SEED_DAYS {
        // Each day from mid-morning, a few hours apart.
        clock.set_offset(-(SEED_DAYS - day) * 86_400 + 9 * 3600);
        if let Some(tc) = test_clock {
            s.advance_test_clock(tc, paywidget_host::support::clock::Clock::now(clock))
                .await?;
            s.settle().await?;
        }
        let gifts = 1 + usize::try_from(day % 3).unwrap_or(0);
        for g in 0..gifts {
            clock.set_offset(-(SEED_DAYS - day) * 86_400 + (9 + 3 * i64::try_from(g)?) * 3600);
            let n = usize::try_from(day).unwrap_or(0) * 3 + g;
            let (name, email) = donors[n % donors.len()];
            let monthly = n % 5 == 1;
            // Now and then a card is declined (and the donor tries again with a good one).
            let card = match (n * 7) % 12 {
                5 => "4000000000009995",
                11 => "4000000000000002",
                _ => "4242424242424242",
            };
            let body = json!({
                "campaign": "winter-appeal",
                "amount": amounts[n % amounts.len()],
                "email": email,
                "name": name,
                "frequency": if monthly { "monthly" } else { "one_time" },
            });
            let (id, ok) = s.checkout(body.clone(), card, &format!("seed-{n}")).await?;
            if !ok {
                report.declined += 1;
                let (again, ok) = s
                    .checkout(body, "4242424242424242", &format!("seed-{n}-again"))
                    .await?;
                if ok {
                    s.until(&again, &["fulfilled"]).await?;
                    report.paid += 1;
                    paid_donations.push(again);
                }
                continue;
            }
            s.until(&id, &["fulfilled"]).await?;
            report.paid += 1;
            paid_donations.push(id);
        }
        // A disputed gift (the sandbox's card whose charge is disputed) on day 9.
        if day == 9 {
            let body = json!({ "campaign": "winter-appeal", "amount": 7500, "email": "mallory@example.org", "name": "Mallory" });
            let (id, ok) = s.checkout(body, "4000000000000259", "seed-dispute").await?;
            if ok {
                s.until(&id, &["disputed"]).await?;
                report.paid += 1;
            }
        }
        // A refund, asked for by a donor, on day 12 (half of a gift of day 10).
        if day == 12 {
            if let Some(id) = paid_donations.get(paid_donations.len().saturating_sub(4)) {
                let session = s
                    .json(
                        s.http.get(format!("{host}/api/sessions/{id}")),
                        "read a session",
                    )
                    .await?;
                let pi = s
                    .json(
                        s.http
                            .get(format!("{sandbox}/v1/payment_intents?limit=100"))
                            .bearer_auth(paywidget_sandbox::DEFAULT_SECRET_KEY),
                        "list payment intents",
                    )
                    .await?["data"]
                    .as_array()
                    .and_then(|list| {
                        list.iter()
                            .find(|p| p["metadata"]["session_id"] == *id)
                            .and_then(|p| p["id"].as_str().map(str::to_owned))
                    });
                if let Some(pi) = pi {
                    let half = session["total"].as_i64().unwrap_or(0) / 2;
                    s.json(
                        s.http
                            .post(format!("{sandbox}/v1/refunds"))
                            .bearer_auth(paywidget_sandbox::DEFAULT_SECRET_KEY)
                            .form(&[
                                ("payment_intent", pi),
                                ("amount", half.to_string()),
                                ("reason", "requested_by_customer".into()),
                            ]),
                        "refund half of a gift",
                    )
                    .await?;
                }
            }
        }
        // Licences: bought on days 3, 8 and 15, each activated on a laptop; the last one's
        // buyer then tries a second machine on a one-seat licence and is refused.
        if [3, 8, 15].contains(&day) {
            let buyer = format!("dev{day}@example.com");
            let body = json!({ "campaign": "acme-pro", "email": buyer });
            let (id, ok) = s
                .checkout(body, "4242424242424242", &format!("seed-licence-{day}"))
                .await?;
            if ok {
                let session = s.until(&id, &["fulfilled"]).await?;
                report.paid += 1;
                if let Some(key) = session["license"]["key"].as_str() {
                    s.activate(key, &format!("laptop-{day}")).await?;
                    if day == 15 && !s.activate(key, "desktop-15").await? {
                        report.refused_activations += 1;
                    }
                }
            }
        }
    }
    clock.set_offset(0);
    if let Some(tc) = test_clock {
        s.advance_test_clock(tc, paywidget_host::support::clock::Clock::now(clock))
            .await?;
        s.settle().await?;
    }
    Ok(report)
}
