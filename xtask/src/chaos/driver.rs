//! The soak's shoppers: each checkout creates a session through the load balancer, tokenizes a
//! card directly at the gateway (publishable key) and pays with one idempotency key per attempt,
//! retrying as the page does — the same key after a timeout, a 5xx, a 429 or `in_progress`, a
//! new key after a decline — sometimes double-clicking (two concurrent pays, one key).

use std::time::Duration;

use paywidget_core::api::{Frequency, NewSession, PayOutcome, PayRequest, Proof, SessionCreated};

use super::Rng;

/// A card that pays.
pub(crate) const GOOD: &str = "4242424242424242";
/// A card the gateway declines.
pub(crate) const DECLINED: &str = "4000000000000002";

/// What one checkout came to.
#[derive(Clone, Debug, Default)]
pub(crate) struct Checkout {
    pub(crate) session: Option<String>,
    /// A monthly gift (a subscription at the gateway), not a one-time one.
    pub(crate) monthly: bool,
    /// The last pay request sent (payment method, key), resent after settling.
    pub(crate) last: Option<(String, String)>,
    pub(crate) succeeded: bool,
    /// A good card answered "declined" as the attempt's final outcome.
    pub(crate) good_declined: u32,
    pub(crate) declines: u32,
    pub(crate) retries: u32,
    pub(crate) gave_up: Option<String>,
}

/// Where the checkouts go.
pub(crate) struct Target {
    pub(crate) http: reqwest::Client,
    pub(crate) lb: String,
    pub(crate) gateway: String,
    pub(crate) publishable_key: String,
    pub(crate) seed: u64,
}

fn backoff(n: u32) -> Duration {
    Duration::from_millis(50 * u64::from(n.min(10)) + 50)
}

/// Card expiry two years ahead of the system clock.
fn expiry_year() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (1970 + secs / 31_556_952 + 2).to_string()
}

impl Target {
    /// A card token, tokenized at the gateway (retried through its faults).
    async fn tokenize(&self, number: &str) -> Result<String, String> {
        let year = expiry_year();
        for n in 0..100 {
            let sent = self
                .http
                .post(format!("{}/v1/payment_methods", self.gateway))
                .bearer_auth(&self.publishable_key)
                .form(&[
                    ("type", "card"),
                    ("card[number]", number),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", year.as_str()),
                    ("card[cvc]", "123"),
                ])
                .send()
                .await;
            if let Ok(r) = sent {
                if r.status().is_success() {
                    if let Ok(pm) = r.json::<paywidget_core::api::PaymentMethodCreated>().await {
                        return Ok(pm.id);
                    }
                }
            }
            tokio::time::sleep(backoff(n)).await;
        }
        Err("tokenization kept failing".into())
    }

    async fn create_session(
        &self,
        i: u64,
        amount: i64,
        frequency: Frequency,
        ip: &str,
    ) -> Result<String, String> {
        let body = NewSession {
            campaign: "winter".into(),
            amount: Some(amount),
            cover_fee: false,
            email: Some(format!("donor{i}@example.org")),
            name: Some(format!("Donor {i}")),
            frequency,
            tier: None,
            currency: None,
        };
        let mut last = String::new();
        for n in 0..100 {
            let sent = self
                .http
                .post(format!("{}/api/sessions", self.lb))
                .header("x-forwarded-for", ip)
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().as_u16() == 201 => {
                    if let Ok(s) = r.json::<SessionCreated>().await {
                        return Ok(s.id);
                    }
                }
                Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                    return Err(format!("session refused: {}", r.status()));
                }
                Ok(r) => last = r.status().to_string(),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(backoff(n)).await;
        }
        Err(format!("no session: {last}"))
    }

    /// One attempt to its outcome: resent with the same key until the host gives one.
    /// `Ok(None)`: the key stayed `in_progress` (or unanswered) for the whole time allowed.
    pub(crate) async fn pay(
        &self,
        session: &str,
        pm: &str,
        key: &str,
        ip: &str,
        retries: &mut u32,
        patience: Duration,
    ) -> Result<Option<PayOutcome>, String> {
        let mut body = PayRequest {
            payment_method: Some(pm.to_owned()),
            confirmation_token: None,
            idempotency_key: key.to_owned(),
            proof: None,
        };
        let until = std::time::Instant::now() + patience;
        let mut n = 0;
        while std::time::Instant::now() < until {
            let sent = self
                .http
                .post(format!("{}/api/sessions/{session}/pay", self.lb))
                .header("x-forwarded-for", ip)
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => match r.json::<PayOutcome>().await {
                    Ok(PayOutcome::Challenge {
                        challenge,
                        difficulty,
                    }) => {
                        let nonce = paywidget_host::shield::pow::solve(&challenge, difficulty);
                        body.proof = Some(Proof { challenge, nonce });
                        continue;
                    }
                    Ok(outcome) => return Ok(Some(outcome)),
                    Err(_) => {}
                },
                // 409 in_progress, 429, 5xx, 502 from the balancer: the same key again.
                Ok(r)
                    if r.status().as_u16() == 409
                        || r.status().as_u16() == 429
                        || r.status().is_server_error() => {}
                Ok(r) => return Err(format!("pay refused: {}", r.status())),
                Err(_) => {}
            }
            *retries += 1;
            n += 1;
            tokio::time::sleep(backoff(n)).await;
        }
        Ok(None)
    }

    /// Waits for a `processing` attempt's session to say paid (or declined).
    async fn settled_status(&self, session: &str) -> Option<String> {
        for n in 0..200 {
            if let Ok(r) = self
                .http
                .get(format!("{}/api/sessions/{session}", self.lb))
                .send()
                .await
            {
                if let Ok(v) = r.json::<serde_json::Value>().await {
                    let s = v["status"].as_str().unwrap_or("").to_owned();
                    if !matches!(s.as_str(), "" | "open" | "processing" | "requires_action") {
                        return Some(s);
                    }
                }
            }
            tokio::time::sleep(backoff(n)).await;
        }
        None
    }

    /// Checkout number `i`, planned from the seed: a good card (75 %), a declined card then a
    /// good one (15 %), or two declined cards (10 %); one in ten double-clicks its first pay;
    /// one in ten is a monthly gift (renewed later on the gateway's test clock).
    pub(crate) async fn checkout(&self, i: u64) -> Checkout {
        let mut rng = Rng::new(self.seed.wrapping_mul(0x9e37_79b9).wrapping_add(i));
        let amount = 500 + 100 * i64::try_from(rng.below(50)).unwrap_or(0);
        let cards: &[&str] = match rng.below(100) {
            0..75 => &[GOOD],
            75..90 => &[DECLINED, GOOD],
            _ => &[DECLINED, DECLINED],
        };
        let double_click = rng.below(10) == 0;
        let monthly = rng.below(10) == 0;
        let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        let mut c = Checkout {
            monthly,
            ..Checkout::default()
        };
        let frequency = if monthly {
            Frequency::Monthly
        } else {
            Frequency::OneTime
        };
        let session = match self.create_session(i, amount, frequency, &ip).await {
            Ok(s) => s,
            Err(e) => {
                c.gave_up = Some(e);
                return c;
            }
        };
        c.session = Some(session.clone());
        for (n, card) in cards.iter().enumerate() {
            let pm = match self.tokenize(card).await {
                Ok(pm) => pm,
                Err(e) => {
                    c.gave_up = Some(e);
                    return c;
                }
            };
            let key = format!("soak-{}-{i}-{n}", self.seed);
            c.last = Some((pm.clone(), key.clone()));
            let patience = Duration::from_secs(120);
            let outcome = if double_click && n == 0 {
                let mut r2 = 0;
                let (a, b) = tokio::join!(
                    self.pay(&session, &pm, &key, &ip, &mut c.retries, patience),
                    self.pay(&session, &pm, &key, &ip, &mut r2, patience)
                );
                c.retries += r2;
                if let (Ok(Some(x)), Ok(Some(y))) = (&a, &b) {
                    if x != y {
                        c.gave_up = Some(format!("one key, two outcomes: {x:?} / {y:?}"));
                    }
                }
                a
            } else {
                self.pay(&session, &pm, &key, &ip, &mut c.retries, patience)
                    .await
            };
            let outcome = match outcome {
                Ok(Some(o)) => o,
                Ok(None) => {
                    c.gave_up = Some("pay kept answering in_progress".into());
                    return c;
                }
                Err(e) => {
                    c.gave_up = Some(e);
                    return c;
                }
            };
            let paid = match outcome {
                PayOutcome::Succeeded => true,
                PayOutcome::Declined { .. } => false,
                PayOutcome::Processing | PayOutcome::Unknown => matches!(
                    self.settled_status(&session).await.as_deref(),
                    Some("paid" | "fulfilled")
                ),
                other => {
                    c.gave_up = Some(format!("unexpected outcome {other:?}"));
                    return c;
                }
            };
            if paid {
                c.succeeded = true;
                return c;
            }
            c.declines += 1;
            if *card == GOOD {
                c.good_declined += 1;
            }
        }
        c
    }
}
