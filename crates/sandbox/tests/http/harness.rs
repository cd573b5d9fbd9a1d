//! Starts sandboxes on 127.0.0.1:0 and makes Stripe-style requests to them.

use std::sync::Arc;

use paywidget_sandbox::billing::BillingSettings;
use paywidget_sandbox::clock::{Clock, IdSource, ManualClock, RandomIds};
use paywidget_sandbox::store::Store;
use paywidget_sandbox::{
    AppState, Config, SharedState, DEFAULT_PUBLISHABLE_KEY, DEFAULT_SECRET_KEY,
};
use serde_json::Value;

/// 2026-11-23 12:00:00 UTC: the tests' "now".
pub(crate) const NOW: i64 = 1_795_521_600;

pub(crate) const SK: &str = DEFAULT_SECRET_KEY;
pub(crate) const PK: &str = DEFAULT_PUBLISHABLE_KEY;

/// A running sandbox.
pub(crate) struct Sandbox {
    pub base: String,
    pub state: SharedState,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response: status, headers and the raw body (for byte-for-byte comparisons).
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub(crate) fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        self.json()
    }
}

pub(crate) async fn start() -> Sandbox {
    start_with(Config::default(), ":memory:", Arc::new(RandomIds)).await
}

pub(crate) async fn start_with(config: Config, db: &str, ids: Arc<dyn IdSource>) -> Sandbox {
    let clock = ManualClock::at(NOW);
    start_with_clock(config, db, ids, Arc::new(clock.clone()), clock).await
}

pub(crate) async fn start_with_clock(
    config: Config,
    db: &str,
    ids: Arc<dyn IdSource>,
    clock: Arc<dyn Clock>,
    manual: ManualClock,
) -> Sandbox {
    start_full(config, BillingSettings::default(), db, ids, clock, manual).await
}

/// A sandbox with Billing's retry settings.
pub(crate) async fn start_billing(billing: BillingSettings) -> Sandbox {
    let clock = ManualClock::at(NOW);
    start_full(
        Config::default(),
        billing,
        ":memory:",
        Arc::new(RandomIds),
        Arc::new(clock.clone()),
        clock,
    )
    .await
}

async fn start_full(
    config: Config,
    billing: BillingSettings,
    db: &str,
    ids: Arc<dyn IdSource>,
    clock: Arc<dyn Clock>,
    manual: ManualClock,
) -> Sandbox {
    let store = Store::open(db).await.expect("open store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::with_billing(config, billing, store, base.clone(), clock, ids);
    let task = tokio::spawn({
        let state = state.clone();
        async move {
            let _ = paywidget_sandbox::serve(listener, state).await;
        }
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Sandbox {
        base,
        state,
        clock: manual,
        http,
        task,
    }
}

impl Sandbox {
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        form: &[(&str, &str)],
        idem: Option<&str>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("Stripe-Version", paywidget_core::api::STRIPE_API_VERSION);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(i) = idem {
            req = req.header("Idempotency-Key", i);
        }
        if method == reqwest::Method::GET {
            req = req.query(form);
        } else {
            req = req.form(form);
        }
        let resp = req.send().await.expect("request");
        Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            bytes: resp.bytes().await.expect("body").to_vec(),
        }
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.send(reqwest::Method::POST, path, Some(SK), form, None)
            .await
    }

    pub(crate) async fn post_idem(&self, path: &str, form: &[(&str, &str)], key: &str) -> Reply {
        self.send(reqwest::Method::POST, path, Some(SK), form, Some(key))
            .await
    }

    pub(crate) async fn get(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        self.send(reqwest::Method::GET, path, Some(SK), query, None)
            .await
    }

    /// Tokenizes a card with the publishable key, as the checkout page does; returns `pm_…`.
    pub(crate) async fn card(&self, number: &str) -> String {
        let r = self
            .send(
                reqwest::Method::POST,
                "/v1/payment_methods",
                Some(PK),
                &[
                    ("type", "card"),
                    ("card[number]", number),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2030"),
                    (
                        "card[cvc]",
                        if number.starts_with("37") {
                            "7391"
                        } else {
                            "739"
                        },
                    ),
                ],
                None,
            )
            .await;
        r.expect(200)["id"].as_str().unwrap().to_owned()
    }

    /// Creates and confirms a payment of `amount` USD cents with `number`.
    pub(crate) async fn pay(&self, number: &str, amount: &str) -> Reply {
        let pm = self.card(number).await;
        self.post(
            "/v1/payment_intents",
            &[
                ("amount", amount),
                ("currency", "usd"),
                ("payment_method", &pm),
                ("confirm", "true"),
                ("return_url", "https://merchant.test/done"),
            ],
        )
        .await
    }

    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.send(reqwest::Method::DELETE, path, Some(SK), &[], None)
            .await
    }

    /// Every event, oldest first.
    pub(crate) async fn all_events(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut q = vec![("limit", "100".to_owned())];
            if let Some(a) = &after {
                q.push(("starting_after", a.clone()));
            }
            let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = self.get("/v1/events", &q).await.expect(200);
            let data = page["data"].as_array().unwrap().clone();
            after = data.last().map(|e| e["id"].as_str().unwrap().to_owned());
            out.extend(data);
            if page["has_more"] != true {
                break;
            }
        }
        out.reverse();
        out
    }

    /// Events of one type about one object id, oldest first.
    pub(crate) async fn events(&self, kind: &str, object_id: &str) -> Vec<Value> {
        let all = self
            .get("/v1/events", &[("type", kind), ("limit", "100")])
            .await
            .expect(200);
        let mut found: Vec<Value> = all["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["data"]["object"]["id"] == object_id
                    || e["data"]["object"]["payment_intent"] == object_id
            })
            .cloned()
            .collect();
        found.reverse();
        found
    }
}
