//! The card-testing bot: per attempt a fresh session at (or just above) the minimum amount, a
//! card from its list tokenized with any expiry and CVC, then pay. A challenge is solved (a
//! determined tester pays for the compute: one core's worth, a semaphore) and the attempt sent
//! again with its proof; a refusal (429) ends the attempt before the gateway. Told the minimum
//! was raised (attack mode), it pays the new minimum.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paywidget_sandbox::DEFAULT_SECRET_KEY as SK;
use paywidget_testkit::world::World;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::client::{self, code};
use crate::plan::{self, BotPlan, Phase};

/// A phase's bot stops starting attempts after this long (the run stays bounded).
const PHASE_CAP: Duration = Duration::from_secs(120);

/// Why an attempt ended before the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Stop {
    /// `POST /api/sessions` refused: 429 `blocked` (repeated tiny gifts, or a block).
    SessionBlocked,
    /// `POST /api/sessions` refused: 429 `rate_limited` (the per-IP request quota).
    SessionRateLimited,
    /// Pay refused 429 `blocked`, and the client's address or /24 is blocked.
    BlockedIpOrNet,
    /// … the session or the email is blocked.
    BlockedSessionOrEmail,
    /// … the card (its gateway fingerprint) is blocked.
    BlockedCard,
    /// Pay refused 429 `rate_limited`.
    PayRateLimited,
    /// Anything else (named).
    Other(String),
}

impl Stop {
    pub(crate) fn label(&self) -> String {
        match self {
            Stop::SessionBlocked => "session refused: blocked (tiny gifts / block)".into(),
            Stop::SessionRateLimited => "session refused: rate limited".into(),
            Stop::BlockedIpOrNet => "pay refused: IP or /24 blocked".into(),
            Stop::BlockedSessionOrEmail => "pay refused: session or email blocked".into(),
            Stop::BlockedCard => "pay refused: card fingerprint blocked".into(),
            Stop::PayRateLimited => "pay refused: rate limited".into(),
            Stop::Other(what) => format!("other: {what}"),
        }
    }
}

/// One attempt's story.
#[derive(Clone, Debug)]
pub(crate) struct BotRecord {
    /// A live card (the sandbox lets it succeed).
    pub(crate) live: bool,
    /// Attack mode was on when the attempt began.
    pub(crate) under_attack: bool,
    pub(crate) session: Option<String>,
    /// The host's answer (`declined`, `succeeded`, …), or why it stopped first.
    pub(crate) result: Result<String, Stop>,
    pub(crate) challenged: bool,
}

/// When the shield first pushed back, measured from the bot's first attempt.
#[derive(Debug)]
pub(crate) struct Detection {
    pub(crate) start: Mutex<Option<Instant>>,
    pub(crate) started: AtomicUsize,
    pub(crate) first_challenge: Mutex<Option<(Duration, usize)>>,
    pub(crate) first_block: Mutex<Option<(Duration, usize)>>,
    pub(crate) attack_mode: Mutex<Option<(Duration, usize)>>,
    /// Attack mode is on (set by the watcher, or already when the phase began).
    pub(crate) attack_on: AtomicBool,
}

impl Detection {
    pub(crate) fn new() -> Detection {
        Detection {
            start: Mutex::new(None),
            started: AtomicUsize::new(0),
            first_challenge: Mutex::new(None),
            first_block: Mutex::new(None),
            attack_mode: Mutex::new(None),
            attack_on: AtomicBool::new(false),
        }
    }

    /// Since the bot's first attempt, and how many attempts it had started.
    pub(crate) fn now(&self) -> Option<(Duration, usize)> {
        let start = (*self.start.lock().unwrap_or_else(|p| p.into_inner()))?;
        Some((start.elapsed(), self.started.load(Ordering::SeqCst)))
    }

    pub(crate) fn note(&self, slot: &Mutex<Option<(Duration, usize)>>) {
        let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
        if s.is_none() {
            *s = self.now();
        }
    }

    pub(crate) fn get(slot: &Mutex<Option<(Duration, usize)>>) -> Option<(Duration, usize)> {
        *slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the bot's workers share.
struct Bot {
    world: Arc<World>,
    phase: Phase,
    seed: u64,
    this_year: u16,
    /// The smallest amount the host last named (attack mode raises it).
    min: AtomicI64,
    /// The bot's compute for proofs of work: one core.
    cpu: Semaphore,
    next: AtomicUsize,
    detect: Arc<Detection>,
    pow_time: Mutex<Duration>,
}

/// The bot's whole phase: its attempts, and the time it spent solving proofs of work.
pub(crate) async fn run(
    world: Arc<World>,
    phase: Phase,
    seed: u64,
    detect: Arc<Detection>,
) -> (Vec<BotRecord>, Duration) {
    let bot = Arc::new(Bot {
        world,
        seed,
        this_year: client::this_year(),
        min: AtomicI64::new(plan::MIN_AMOUNT),
        cpu: Semaphore::new(1),
        next: AtomicUsize::new(0),
        detect,
        pow_time: Mutex::new(Duration::ZERO),
        phase,
    });
    *bot.detect.start.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    let workers = if bot.phase.fast {
        plan::FAST_WORKERS
    } else {
        1
    };
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let bot = bot.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let mut out = Vec::new();
                loop {
                    let j = bot.next.fetch_add(1, Ordering::SeqCst);
                    if j >= bot.phase.attempts || started.elapsed() > PHASE_CAP {
                        break;
                    }
                    let p = plan::bot_attempt(bot.seed, &bot.phase, j, bot.this_year);
                    out.push((j, bot.attempt(p, j).await));
                    let pause = bot.phase.pause();
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                }
                out
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all.sort_by_key(|(j, _)| *j);
    let pow = *bot.pow_time.lock().unwrap_or_else(|p| p.into_inner());
    (all.into_iter().map(|(_, r)| r).collect(), pow)
}

impl Bot {
    async fn attempt(&self, plan: BotPlan, j: usize) -> BotRecord {
        self.detect.started.fetch_add(1, Ordering::SeqCst);
        let mut record = BotRecord {
            live: plan.live,
            under_attack: self.detect.attack_on.load(Ordering::SeqCst),
            session: None,
            result: Err(Stop::Other("not run".into())),
            challenged: false,
        };
        record.result = self.try_attempt(&plan, j, &mut record).await;
        record
    }

    async fn try_attempt(
        &self,
        plan: &BotPlan,
        j: usize,
        record: &mut BotRecord,
    ) -> Result<String, Stop> {
        let w = &self.world;
        let other = |e: String| Stop::Other(e);
        // The session: at the bot's amount, or the minimum the host named last.
        let mut amount = plan.amount.max(self.min.load(Ordering::SeqCst));
        let mut raised = false;
        let session = loop {
            let (status, body) =
                client::new_session(w, &plan.ip, plan::CAMPAIGN, amount, &plan.email, "J Smith")
                    .await
                    .map_err(other)?;
            match (status, code(&body).as_str()) {
                (201, _) => break body["id"].as_str().unwrap_or_default().to_owned(),
                (400, "amount_too_small") if !raised => {
                    let min = named_minimum(&body).unwrap_or(amount * 2);
                    self.min.fetch_max(min, Ordering::SeqCst);
                    amount = amount.max(min);
                    raised = true;
                }
                (429, "rate_limited") => {
                    self.detect.note(&self.detect.first_block);
                    return Err(Stop::SessionRateLimited);
                }
                (429, _) => {
                    self.detect.note(&self.detect.first_block);
                    return Err(Stop::SessionBlocked);
                }
                (s, c) => return Err(Stop::Other(format!("session {s} {c}"))),
            }
        };
        record.session = Some(session.clone());
        let pm = client::tokenize(w, &plan.number, plan.exp_month, plan.exp_year, &plan.cvc)
            .await
            .map_err(other)?;
        let path = format!("/api/sessions/{session}/pay");
        let mut body = json!({
            "payment_method": pm,
            "idempotency_key": format!("bot-{}-{j}", self.phase.index),
        });
        for _ in 0..5 {
            let (status, answer) = client::post(w, &path, &plan.ip, &body)
                .await
                .map_err(other)?;
            match (status, answer["status"].as_str()) {
                (200, Some("challenge")) => {
                    record.challenged = true;
                    self.detect.note(&self.detect.first_challenge);
                    let _cpu = self.cpu.acquire().await.map_err(|e| other(e.to_string()))?;
                    let (proof, _, took) = client::solve(&answer).await;
                    *self.pow_time.lock().unwrap_or_else(|p| p.into_inner()) += took;
                    body["proof"] = proof;
                }
                (200, Some(outcome)) => return Ok(outcome.to_owned()),
                (429, _) => {
                    self.detect.note(&self.detect.first_block);
                    if code(&answer) == "rate_limited" {
                        return Err(Stop::PayRateLimited);
                    }
                    return Err(self.why_blocked(plan, &session, &pm).await);
                }
                (s, _) => return Err(Stop::Other(format!("pay {s} {}", code(&answer)))),
            }
        }
        Err(Stop::Other("challenged five times".into()))
    }

    /// Which of the shield's keys refused the attempt, from the host's store (the answer
    /// says only `blocked`, on purpose).
    async fn why_blocked(&self, plan: &BotPlan, session: &str, pm: &str) -> Stop {
        let w = &self.world;
        let store = w.state.store.as_ref();
        let now = w.state.clock.now();
        let blocked = |keys: Vec<(&'static str, String)>| async move {
            store
                .shield_blocked_until("hope", &keys, now)
                .await
                .ok()
                .flatten()
                .is_some()
        };
        let net = plan
            .ip
            .parse()
            .map(paywidget_host::shield::network_of)
            .unwrap_or_default();
        if blocked(vec![("ip", plan.ip.clone()), ("net", net)]).await {
            return Stop::BlockedIpOrNet;
        }
        if blocked(vec![
            ("session", session.to_owned()),
            ("email", plan.email.to_ascii_lowercase()),
        ])
        .await
        {
            return Stop::BlockedSessionOrEmail;
        }
        let fingerprint = w
            .http
            .get(format!("{}/v1/payment_methods/{pm}", w.gateway))
            .bearer_auth(SK)
            .send()
            .await
            .ok();
        let fingerprint = match fingerprint {
            Some(r) => r.json::<Value>().await.ok(),
            None => None,
        }
        .and_then(|v| v["card"]["fingerprint"].as_str().map(str::to_owned));
        if let Some(f) = fingerprint {
            if blocked(vec![("card", f)]).await {
                return Stop::BlockedCard;
            }
        }
        Stop::Other("blocked (key expired since?)".into())
    }
}

/// The minimum an `amount_too_small` answer names ("The smallest amount is 10.00 USD.").
fn named_minimum(body: &Value) -> Option<i64> {
    let message = body["error"]["message"].as_str()?;
    let number = message
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let (units, cents) = number.trim_end_matches('.').split_once('.')?;
    Some(units.replace(',', "").parse::<i64>().ok()? * 100 + cents.get(..2)?.parse::<i64>().ok()?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_named_minimum() {
        let body =
            serde_json::json!({ "error": { "message": "The smallest amount is 10.00 USD." } });
        assert_eq!(super::named_minimum(&body), Some(1000));
    }
}
