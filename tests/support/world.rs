//! The world most tests run in: the sandbox gateway and the checkout host, both in-process on
//! 127.0.0.1:0, the gateway delivering its webhooks to the host (or elsewhere), with helpers
//! to drive the host's API and read the gateway's state.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use paywidget_host::config::HostConfig;
use paywidget_host::HostState;
use paywidget_sandbox::store::Store;
use paywidget_sandbox::{
    AppState, Config, RetryPolicy, WebhookEndpoint, DEFAULT_PUBLISHABLE_KEY as PK,
    DEFAULT_SECRET_KEY as SK,
};
use serde_json::{json, Value};

use crate::fixtures::WHSEC;

/// The world's clock for the host: the system's time plus an offset the test controls, so time
/// flows as usual (webhook signatures stay fresh) until a test moves it, or stops it with
/// [`WorldClock::freeze`].
#[derive(Clone, Debug, Default)]
pub struct WorldClock {
    offset: Arc<std::sync::atomic::AtomicI64>,
    /// The stopped time; 0 while time flows.
    frozen: Arc<std::sync::atomic::AtomicI64>,
}

impl WorldClock {
    /// Moves the host's time forward by `secs`.
    pub fn advance_secs(&self, secs: i64) {
        self.offset
            .fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
        let frozen = self.frozen.load(std::sync::atomic::Ordering::SeqCst);
        if frozen != 0 {
            self.frozen
                .store(frozen + secs, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Stops the host's time where it is (until [`WorldClock::advance_secs`] moves it), so a
    /// test can do several things "in the same second" for sure.
    pub fn freeze(&self) {
        use paywidget_host::support::clock::Clock;
        let now = self.now();
        self.frozen.store(now, std::sync::atomic::Ordering::SeqCst);
    }
}

impl paywidget_host::support::clock::Clock for WorldClock {
    fn now(&self) -> i64 {
        match self.frozen.load(std::sync::atomic::Ordering::SeqCst) {
            0 => {
                paywidget_host::support::clock::SystemClock.now()
                    + self.offset.load(std::sync::atomic::Ordering::SeqCst)
            }
            frozen => frozen,
        }
    }
}

/// A running sandbox + host; both stop when it is dropped.
pub struct World {
    /// The sandbox's base URL.
    pub gateway: String,
    /// The host's base URL.
    pub host: String,
    /// The host's state (its store, config, clock).
    pub state: Arc<HostState>,
    /// A client that does not follow redirects.
    pub http: reqwest::Client,
    /// The host's state folder (database, outbox).
    pub dir: tempfile::TempDir,
    /// The host's clock (move it with [`WorldClock::advance_secs`]).
    pub clock: WorldClock,
    /// The host's server task.
    pub host_task: tokio::task::JoinHandle<()>,
    _gateway_task: tokio::task::JoinHandle<()>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.host_task.abort();
        self._gateway_task.abort();
    }
}

/// Opens a host with `config` (on the system clock) and serves it on `listener`.
pub async fn start_host(
    config: HostConfig,
    listener: tokio::net::TcpListener,
) -> (Arc<HostState>, String, tokio::task::JoinHandle<()>) {
    start_host_on(config, listener, paywidget_host::system_now()).await
}

/// Opens a host with `config` and `clock` and serves it on `listener`.
pub async fn start_host_on(
    config: HostConfig,
    listener: tokio::net::TcpListener,
    clock: Arc<dyn paywidget_host::support::clock::Clock>,
) -> (Arc<HostState>, String, tokio::task::JoinHandle<()>) {
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = paywidget_host::open(config, base.clone(), clock)
        .await
        .expect("open host");
    let s = state.clone();
    let task = tokio::spawn(async move {
        let _ = paywidget_host::serve(listener, s).await;
    });
    (state, base, task)
}

/// Sandbox + host. `webhooks`: whether the sandbox delivers its events to the host, and where.
/// Sandbox + host with the host tests' fixture ([`crate::fixtures::host`]).
pub async fn world(webhook_target: WebhookTarget) -> World {
    world_with(webhook_target, crate::fixtures::host).await
}

/// Sandbox + host with the host configuration `toml(gateway_url, state_dir)`.
pub async fn world_with(
    webhook_target: WebhookTarget,
    toml: impl FnOnce(&str, &Path) -> String,
) -> World {
    build_world(webhook_target, |gateway, dir, _| toml(gateway, dir), false)
        .await
        .0
}

/// Sandbox + host, with a gateway test clock created first (now, by the system clock) and
/// passed to `toml(gateway_url, state_dir, clock_id)`: renewals then follow
/// [`World::advance_test_clock`].
pub async fn world_on_test_clock(
    webhook_target: WebhookTarget,
    toml: impl FnOnce(&str, &Path, &str) -> String,
) -> (World, String) {
    let (w, clock) = build_world(
        webhook_target,
        |gateway, dir, clock| toml(gateway, dir, clock.unwrap_or_default()),
        true,
    )
    .await;
    (w, clock.unwrap_or_default())
}

async fn build_world(
    webhook_target: WebhookTarget,
    toml: impl FnOnce(&str, &Path, Option<&str>) -> String,
    with_test_clock: bool,
) -> (World, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let gw_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = format!("http://{}", gw_listener.local_addr().unwrap());
    let host_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host_url = format!("http://{}", host_listener.local_addr().unwrap());
    let webhooks = match &webhook_target {
        WebhookTarget::None => vec![],
        WebhookTarget::Host => vec![WebhookEndpoint {
            url: format!("{host_url}/webhooks/gateway"),
            secret: WHSEC.into(),
        }],
        WebhookTarget::Url(u) => vec![WebhookEndpoint {
            url: u.clone(),
            secret: WHSEC.into(),
        }],
    };
    let config = Config {
        webhooks,
        retry: RetryPolicy {
            first_delay_ms: 60_000,
            scale: 0.001,
            max_attempts: 200,
            timeout_ms: 2_000,
        },
        ..Config::default()
    };
    let gw_state = AppState::new(
        config,
        Store::open(":memory:").await.unwrap(),
        gateway.clone(),
    );
    let gateway_task = tokio::spawn(async move {
        let _ = paywidget_sandbox::serve(gw_listener, gw_state).await;
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let test_clock = if with_test_clock {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let c: Value = http
            .post(format!("{gateway}/v1/test_helpers/test_clocks"))
            .bearer_auth(SK)
            .form(&[("frozen_time", now.to_string())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Some(c["id"].as_str().expect("a test clock").to_owned())
    } else {
        None
    };
    let config = HostConfig::parse(&toml(&gateway, dir.path(), test_clock.as_deref()), |_| None)
        .expect("config");
    let clock = WorldClock::default();
    let (state, host, host_task) =
        start_host_on(config, host_listener, Arc::new(clock.clone())).await;
    let world = World {
        gateway,
        host,
        state,
        http,
        dir,
        clock,
        host_task,
        _gateway_task: gateway_task,
    };
    (world, test_clock)
}

/// Where the sandbox delivers its webhooks.
pub enum WebhookTarget {
    /// The sandbox delivers no webhooks (tests post events by hand).
    None,
    /// To this world's host.
    Host,
    /// To this URL (e.g. where a restarted host will listen).
    Url(String),
}

impl World {
    /// Tokenizes a test card at the gateway (expiry from the clock) → `pm_…`.
    pub async fn tokenize(&self, number: &str) -> String {
        tokenize(&self.http, &self.gateway, number).await
    }

    /// Calls the host's API: (status, JSON body or null).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.api_at(&self.host, method, path, body).await
    }

    /// [`World::api`] on another host (one more process on the same database).
    pub async fn api_at(
        &self,
        host: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{host}{path}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Creates a session for `campaign` (a donation of `amount`, or the licence) → its id.
    pub async fn session(&self, campaign: &str, amount: Option<i64>) -> String {
        let (s, body) = self
            .api(reqwest::Method::POST, "/api/sessions", Some(json!({ "campaign": campaign, "amount": amount, "email": "buyer@example.org", "name": "Ada" })))
            .await;
        assert_eq!(s, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// `POST /api/sessions/:id/pay` with a token and an idempotency key, as the page does:
    /// a proof-of-work challenge from the card-testing shield is solved and the same request
    /// sent again with its proof.
    pub async fn pay(&self, session: &str, pm: &str, key: &str) -> (u16, Value) {
        self.pay_at(&self.host, session, pm, key).await
    }

    /// [`World::pay`] through another host on the same database.
    pub async fn pay_at(&self, host: &str, session: &str, pm: &str, key: &str) -> (u16, Value) {
        let path = format!("/api/sessions/{session}/pay");
        let mut body = json!({ "payment_method": pm, "idempotency_key": key });
        loop {
            let (status, answer) = self
                .api_at(host, reqwest::Method::POST, &path, Some(body.clone()))
                .await;
            if answer["status"] != "challenge" {
                return (status, answer);
            }
            let challenge = answer["challenge"].as_str().unwrap_or_default();
            let bits = answer["difficulty"].as_u64().unwrap_or(0) as u8;
            let nonce = paywidget_host::shield::pow::solve(challenge, bits);
            body["proof"] = json!({ "challenge": challenge, "nonce": nonce });
        }
    }

    /// `GET /api/sessions/:id`.
    pub async fn status(&self, session: &str) -> Value {
        self.api(
            reqwest::Method::GET,
            &format!("/api/sessions/{session}"),
            None,
        )
        .await
        .1
    }

    /// Polls the session until its status is `want` (10 s at most).
    pub async fn wait_status(&self, session: &str, want: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.status(session).await;
            if s["status"] == want {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "session stuck at {s}, wanted {want}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `GET` from the sandbox with the secret key.
    pub async fn gateway_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.gateway))
            .bearer_auth(SK)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Moves the gateway's test clock `clock` forward by `secs` and waits until it is `ready`
    /// (every renewal and retry due in between has run).
    pub async fn advance_test_clock(&self, clock: &str, secs: i64) {
        let now = self
            .gateway_get(&format!("/v1/test_helpers/test_clocks/{clock}"))
            .await["frozen_time"]
            .as_i64()
            .expect("the clock's frozen_time");
        let r = self
            .http
            .post(format!(
                "{}/v1/test_helpers/test_clocks/{clock}/advance",
                self.gateway
            ))
            .bearer_auth(SK)
            .form(&[("frozen_time", (now + secs).to_string())])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "advance: {}",
            r.text().await.unwrap_or_default()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let c = self
                .gateway_get(&format!("/v1/test_helpers/test_clocks/{clock}"))
                .await;
            if c["status"] == "ready" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the test clock stays {}",
                c["status"]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The gateway subscription of a recurring session.
    pub async fn subscription_of(&self, session: &str) -> String {
        self.state
            .store
            .session(session)
            .await
            .unwrap()
            .and_then(|s| s.subscription)
            .expect("a subscription")
    }

    /// Makes `number`'s card the default of the session's subscription at the gateway (as
    /// the gateway's own dashboard would): tokenized, attached to the subscription's
    /// customer, set as its default. Returns the payment method.
    pub async fn set_subscription_card(&self, session: &str, number: &str) -> String {
        let subscription = self.subscription_of(session).await;
        let sub = self
            .gateway_get(&format!("/v1/subscriptions/{subscription}"))
            .await;
        let customer = sub["customer"].as_str().expect("a customer").to_owned();
        let pm = self.tokenize(number).await;
        for (path, form) in [
            (
                format!("/v1/payment_methods/{pm}/attach"),
                vec![("customer", customer.clone())],
            ),
            (
                format!("/v1/subscriptions/{subscription}"),
                vec![("default_payment_method", pm.clone())],
            ),
        ] {
            let r = self
                .http
                .post(format!("{}{path}", self.gateway))
                .bearer_auth(SK)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
        }
        pm
    }

    /// How many charges the sandbox has made.
    pub async fn charges(&self) -> usize {
        self.gateway_get("/v1/balance_transactions?limit=100&type=charge")
            .await["data"]
            .as_array()
            .unwrap()
            .len()
    }

    /// The emails the host wrote, oldest first. Mail goes out through the host's background
    /// relay; this first runs one relay pass itself, so what was queued is there, deterministically.
    pub async fn outbox(&self) -> Vec<String> {
        paywidget_host::mail::send_outbox(&self.state).await;
        let dir = self.dir.path().join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Posts an event to the host's webhook, signed as the gateway signs (or not).
    pub async fn post_event(&self, body: &str, signature: Option<String>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/webhooks/gateway", self.host))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(sig) = signature {
            req = req.header("Stripe-Signature", sig);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
}

/// Signs `body` as the gateway signs webhooks.
pub fn sign(body: &str, t: i64, secret: &str) -> String {
    paywidget_core::signature::sign(secret, t, body.as_bytes())
}

/// Tokenizes a test card at `gateway` with `http`, as the checkout page does (publishable key,
/// expiry from the clock, CVC 123) → `pm_…`.
pub async fn tokenize(http: &reqwest::Client, gateway: &str, number: &str) -> String {
    let (month, year) = crate::cards::expiry_fields();
    let r: Value = http
        .post(format!("{gateway}/v1/payment_methods"))
        .bearer_auth(PK)
        .form(&[
            ("type", "card"),
            ("card[number]", number),
            ("card[exp_month]", month.as_str()),
            ("card[exp_year]", year.as_str()),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["id"].as_str().unwrap().to_owned()
}
