//! The pay flow as a plain type: create (or reuse) the session, tokenize at the gateway, pay
//! through the host with one idempotency key per attempt, and recover from every failure
//! without ever charging twice. The browser is behind three small traits ([`Api`],
//! [`Storage`], [`Sleeper`]) so the whole flow has native unit tests; the `Checkout` component
//! only wires its outcome to signals.
//!
//! The rules:
//! - an attempt's key and token are stored (sessionStorage) *before* paying and kept until the
//!   attempt has a definite outcome: a reload or a retry after a network error reuses them;
//! - a decline ends the attempt: the next try tokenizes again under a new key;
//! - network errors and "in progress" answers are retried with backoff under the same key;
//!   when the answer stays lost, the session says what happened (never a second pay call);
//! - `processing` (or any outcome or status this build does not know) means "wait", never
//!   success: the page asks the session until the gateway decides.

use paywidget_core::api::{
    DeclineCode, ErrorCode, NewSession, PayOutcome, PayRequest, PaymentToken, Proof,
    SessionCreated, SessionProgress, SessionStatus,
};
use paywidget_core::money::Amount;

use crate::api::FetchError;
use crate::checkout_form::{decline_field, CardInput, Field};
use crate::i18n::t;

/// The calls the flow makes.
// The widget is single-threaded wasm: no `Send` bounds are wanted on these futures.
#[allow(async_fn_in_trait)]
pub trait Api {
    /// `POST /api/sessions`.
    async fn create_session(&self, new: &NewSession) -> Result<SessionCreated, FetchError>;
    /// Has the gateway tokenize the card for `session` → `pm_…` (our fields) or `ctoken_…`
    /// (the gateway's own).
    async fn tokenize(
        &self,
        session: &str,
        card: &CardInput,
        email: &str,
    ) -> Result<PaymentToken, FetchError>;
    /// `POST /api/sessions/:id/pay`.
    async fn pay(&self, session: &str, request: &PayRequest) -> Result<PayOutcome, FetchError>;
    /// `GET /api/sessions/:id`.
    async fn session(&self, id: &str) -> Result<SessionProgress, FetchError>;
    /// A fresh idempotency key.
    fn new_key(&self) -> String;
    /// Solves the host's proof-of-work challenge (off the main thread): the nonce.
    async fn solve(&self, challenge: &str, difficulty: u8) -> Result<String, FetchError>;
}

/// Where unfinished work survives a reload (sessionStorage): ids and keys, never card data.
pub trait Storage {
    /// The value at `key`.
    fn get(&self, key: &str) -> Option<String>;
    /// Sets `key`.
    fn set(&self, key: &str, value: &str);
    /// Removes `key`.
    fn remove(&self, key: &str);
}

/// Waiting between tries.
#[allow(async_fn_in_trait)]
pub trait Sleeper {
    /// Resolves after `ms` milliseconds.
    async fn sleep(&self, ms: u32);
}

/// What the shopper is told while the flow runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Paying.
    Processing,
    /// A connection problem; trying again (`attempt` of `of`).
    Retrying {
        /// This retry's number, from 1.
        attempt: u32,
        /// How many retries there will be.
        of: u32,
    },
    /// The answer was lost: asking the host what happened.
    Checking,
    /// The gateway has not decided yet.
    Waiting,
    /// Off to the bank's 3-D Secure page.
    Verifying,
    /// Solving the card-testing shield's proof of work (a second or so, unseen otherwise).
    Proving,
}

impl Progress {
    /// The words on the page.
    pub fn message(&self) -> String {
        match self {
            Progress::Processing => "Processing your payment…".into(),
            Progress::Retrying { attempt, of } => {
                format!("Connection problem — retrying ({attempt} of {of})…")
            }
            Progress::Checking => "Checking whether your payment went through…".into(),
            Progress::Waiting => "Waiting for the payment processor to confirm…".into(),
            Progress::Verifying => "Opening your bank's verification…".into(),
            Progress::Proving => "Verifying…".into(),
        }
    }
}

/// Where the page goes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// The confirmation page of this session (which shows nothing as paid before the host does).
    Confirmation(String),
    /// The bank's 3-D Secure page.
    Verify(String),
    /// 3-D Secure through the gateway's own script (`handleNextAction` with this client
    /// secret), then back through the host's return URL for this session.
    NextAction {
        /// The payment's client secret.
        client_secret: String,
        /// The session.
        session: String,
    },
}

/// Why paying stopped on this page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// About one field (focus it).
    Field(Field, String),
    /// About the payment as a whole.
    Message(String),
}

/// What the shopper ordered, as the form checked it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// The campaign id.
    pub campaign: String,
    /// A donation (the amount is sent) or a licence (the host knows the price).
    pub donation: bool,
    /// The amount chosen (or the price).
    pub amount: Amount,
    /// The donor covers the fees.
    pub cover_fee: bool,
    /// For the receipt or licence, trimmed.
    pub email: String,
    /// One-time or recurring.
    pub frequency: paywidget_core::api::Frequency,
    /// A licence subscription's tier.
    pub tier: Option<String>,
}

/// How often network failures are retried, and how long a lost answer is looked for.
const RETRIES: u32 = 4;
const POLLS: u32 = 20;

/// The session kept for an order (the same order after a reload reuses it).
pub fn session_key(order: &Order) -> String {
    // The email is part of the order: a corrected address never reuses a session that would
    // mail the receipt (and give portal access) to the old one.
    format!(
        "pw-session-{}-{}{}-{}-{}-{}-{}",
        order.campaign,
        order.amount.minor(),
        order.amount.currency().code(),
        order.cover_fee,
        order.frequency.as_str(),
        order.tier.as_deref().unwrap_or(""),
        // ASCII only: `to_lowercase` would pull Unicode's case tables (3 kB) into the wasm.
        order.email.to_ascii_lowercase()
    )
}

/// The unfinished attempt of a session: `key|token`.
pub fn attempt_key(session: &str) -> String {
    format!("pw-attempt-{session}")
}

/// The pay flow over an API, a storage and a sleeper.
#[derive(Debug)]
pub struct PayFlow<A, S, Z> {
    /// The calls.
    pub api: A,
    /// sessionStorage.
    pub storage: S,
    /// Timers.
    pub sleeper: Z,
}

impl<A: Api, S: Storage, Z: Sleeper> PayFlow<A, S, Z> {
    /// Pays for `order` with `card`, reporting progress; ends with where to go next, or why
    /// it stopped.
    pub async fn pay(
        &self,
        order: &Order,
        card: &CardInput,
        report: &dyn Fn(Progress),
    ) -> Result<Next, Failure> {
        report(Progress::Processing);
        let session_key = session_key(order);
        let session = match self.storage.get(&session_key) {
            Some(s) => s,
            None => {
                let new = NewSession {
                    campaign: order.campaign.clone(),
                    amount: order.donation.then_some(order.amount.minor()),
                    cover_fee: order.cover_fee,
                    email: Some(order.email.clone()),
                    name: None,
                    frequency: order.frequency,
                    tier: order.tier.clone(),
                    currency: Some(order.amount.currency()),
                };
                let created = self
                    .with_retries(report, || self.api.create_session(&new))
                    .await
                    .map_err(|e| match e {
                        FetchError::Api { code, message, .. } if code.is_about_amount() => {
                            Failure::Field(Field::Amount, message)
                        }
                        FetchError::Api { message, .. } => Failure::Message(message),
                        FetchError::Network => Failure::Message(t("net_host")),
                    })?;
                self.storage.set(&session_key, &created.id);
                created.id
            }
        };
        // An unfinished attempt (reload, network error) is retried with its key and token, so
        // it can never become a second charge.
        let attempt = attempt_key(&session);
        let stored = self.storage.get(&attempt).and_then(|v| {
            let (k, t) = v.split_once('|')?;
            Some((k.to_owned(), PaymentToken::parse(t)?))
        });
        let (key, token) = match stored {
            Some(pair) => pair,
            None => {
                let token = self
                    .api
                    .tokenize(&session, card, &order.email)
                    .await
                    .map_err(|e| match e {
                        FetchError::Api { code, message, .. } => {
                            about_field(code.as_str(), message)
                        }
                        FetchError::Network => Failure::Message(t("net_gateway")),
                    })?;
                let key = self.api.new_key();
                self.storage
                    .set(&attempt, &format!("{key}|{}", token.as_str()));
                (key, token)
            }
        };
        let mut request = PayRequest::new(&token, key);
        let mut outcome = self
            .with_retries(report, || self.api.pay(&session, &request))
            .await;
        // The shield asks a proof of work when the risk is elevated: solve it, send it with
        // the same key (a challenge is not an outcome; nothing was charged). A host that keeps
        // asking gets a bounded number of answers.
        for _ in 0..3 {
            let Ok(PayOutcome::Challenge {
                challenge,
                difficulty,
            }) = &outcome
            else {
                break;
            };
            report(Progress::Proving);
            let nonce = self
                .api
                .solve(challenge, *difficulty)
                .await
                .map_err(|_| Failure::Message(t("net_unsolved")))?;
            request.proof = Some(Proof {
                challenge: challenge.clone(),
                nonce,
            });
            report(Progress::Processing);
            outcome = self
                .with_retries(report, || self.api.pay(&session, &request))
                .await;
        }
        // Every way of waiting for the gateway ends in the one `settle` below.
        let waiting = match outcome {
            Ok(PayOutcome::Succeeded) => return Ok(self.confirmed(&session, &session_key)),
            Ok(PayOutcome::RequiresAction {
                redirect_url,
                client_secret,
            }) => {
                report(Progress::Verifying);
                return Ok(match client_secret {
                    Some(client_secret) => Next::NextAction {
                        client_secret,
                        session,
                    },
                    None => Next::Verify(redirect_url),
                });
            }
            Ok(PayOutcome::Declined { code, message }) => {
                return Err(self.declined(&session, &code, message))
            }
            Err(FetchError::Api { code, message, .. }) => {
                // A definite refusal of this attempt: the next try starts afresh — with a new
                // session when this one is too old or its amount is no longer taken.
                self.storage.remove(&attempt);
                if code == ErrorCode::SessionExpired || code.is_about_amount() {
                    self.storage.remove(&session_key);
                }
                return Err(if code.is_about_amount() {
                    Failure::Field(Field::Amount, message)
                } else {
                    Failure::Message(message)
                });
            }
            // A bank debit is `processing` for days by design: its confirmation page says so
            // (and the mail follows); the attempt has its outcome.
            Ok(PayOutcome::Processing) if matches!(card, CardInput::Bank(_)) => {
                return Ok(self.confirmed(&session, &session_key))
            }
            Ok(PayOutcome::Processing | PayOutcome::Unknown) => true,
            // Still challenged after its answers: nothing was charged; the next press retries.
            Ok(PayOutcome::Challenge { .. }) => return Err(Failure::Message(t("net_unsolved"))),
            Err(FetchError::Network) => false,
        };
        report(if waiting {
            Progress::Waiting
        } else {
            Progress::Checking
        });
        self.settle(&session, &session_key, waiting).await
    }

    /// Back from 3-D Secure: waits for the host's view of the session. `Ok(None)`: still
    /// undecided after the polls (the page says so; reloading is safe).
    pub async fn after_verification(&self, session: &str) -> Result<Option<Next>, Failure> {
        for _ in 0..POLLS {
            if let Ok(s) = self.api.session(session).await {
                if s.status.is_charged() {
                    self.storage.remove(&attempt_key(session));
                    return Ok(Some(Next::Confirmation(session.to_owned())));
                }
                if let Some(failure) = self.failed(session, None, &s) {
                    return Err(failure);
                }
            }
            self.sleeper.sleep(1000).await;
        }
        Ok(None)
    }

    /// Polls the session until the gateway decides. `waiting`: the host answered
    /// `processing` (after the polls, the confirmation page takes over the waiting); else
    /// the answer was lost (after the polls, the shopper may press Pay again: same attempt).
    async fn settle(
        &self,
        session: &str,
        session_key: &str,
        waiting: bool,
    ) -> Result<Next, Failure> {
        for _ in 0..POLLS {
            if let Ok(s) = self.api.session(session).await {
                if s.status.is_charged() {
                    return Ok(self.confirmed(session, session_key));
                }
                if s.status == SessionStatus::RequiresAction {
                    if let Some(url) = s.redirect_url.clone() {
                        return Ok(Next::Verify(url));
                    }
                }
                if let Some(failure) = self.failed(session, Some(session_key), &s) {
                    return Err(failure);
                }
                // open, processing, or a status this build does not know: keep waiting.
            }
            self.sleeper.sleep(1000).await;
        }
        if waiting {
            // The attempt stays stored: coming back to the form re-asks with the same key.
            Ok(Next::Confirmation(session.to_owned()))
        } else {
            Err(Failure::Message(t("net_lost")))
        }
    }

    /// A declined or canceled session ends the attempt (and a canceled one the session, when
    /// its storage key is known: the next press then starts a new one).
    fn failed(
        &self,
        session: &str,
        session_key: Option<&str>,
        s: &SessionProgress,
    ) -> Option<Failure> {
        match s.status {
            SessionStatus::Declined => {
                let (code, message) = s.decline.clone().map_or_else(
                    || {
                        (
                            DeclineCode::CardDeclined,
                            DeclineCode::CardDeclined.message().to_owned(),
                        )
                    },
                    |d| (d.code, d.message),
                );
                Some(self.declined(session, &code, message))
            }
            SessionStatus::Canceled => {
                // The payment behind this session is gone: the next press starts a new one.
                self.storage.remove(&attempt_key(session));
                if let Some(key) = session_key {
                    self.storage.remove(key);
                }
                Some(Failure::Message(
                    "The payment was canceled. You have not been charged.".into(),
                ))
            }
            _ => None,
        }
    }

    fn confirmed(&self, session: &str, session_key: &str) -> Next {
        self.storage.remove(&attempt_key(session));
        self.storage.remove(session_key);
        Next::Confirmation(session.to_owned())
    }

    fn declined(&self, session: &str, code: &DeclineCode, message: String) -> Failure {
        // Declined: the next try is a new attempt with a new key.
        self.storage.remove(&attempt_key(session));
        about_field(code.as_str(), message)
    }

    /// Calls `f`, retrying network failures and "still in progress" answers with backoff
    /// (0.5, 1, 2, 4 s) and saying so.
    async fn with_retries<T, F, Fut>(
        &self,
        report: &dyn Fn(Progress),
        f: F,
    ) -> Result<T, FetchError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, FetchError>>,
    {
        for attempt in 0..=RETRIES {
            if attempt > 0 {
                report(Progress::Retrying {
                    attempt,
                    of: RETRIES,
                });
                self.sleeper.sleep(500 << (attempt - 1)).await;
            }
            match f().await {
                Ok(v) => return Ok(v),
                Err(FetchError::Network) => {}
                Err(FetchError::Api {
                    code: ErrorCode::InProgress,
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        Err(FetchError::Network)
    }
}

fn about_field(code: &str, message: String) -> Failure {
    match decline_field(code) {
        Some(field) => Failure::Field(field, message),
        None => Failure::Message(message),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::{HashMap, VecDeque};
    use std::future::Future;

    use paywidget_core::api::{CampaignKind, DeclineView};
    use paywidget_core::money::Currency;

    use super::*;
    use crate::checkout_form::{check, Entries};

    /// Runs a future whose fakes never pend.
    fn run<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[derive(Default)]
    struct FakeApi {
        created: Cell<u32>,
        tokenized: Cell<u32>,
        keys: Cell<u32>,
        pays: RefCell<Vec<PayRequest>>,
        pay_answers: RefCell<VecDeque<Result<PayOutcome, FetchError>>>,
        session_answers: RefCell<VecDeque<Result<SessionProgress, FetchError>>>,
        tokenize_answer: RefCell<Option<FetchError>>,
    }

    impl Api for FakeApi {
        async fn create_session(&self, new: &NewSession) -> Result<SessionCreated, FetchError> {
            self.created.set(self.created.get() + 1);
            Ok(SessionCreated {
                id: "cs_1".into(),
                amount: new.amount.unwrap_or(4900),
                fee: 0,
                total: new.amount.unwrap_or(4900),
                currency: Currency::Usd,
                display_total: String::new(),
            })
        }
        async fn tokenize(
            &self,
            _: &str,
            card: &CardInput,
            _: &str,
        ) -> Result<PaymentToken, FetchError> {
            self.tokenized.set(self.tokenized.get() + 1);
            let n = self.tokenized.get();
            match (self.tokenize_answer.borrow_mut().take(), card) {
                (Some(e), _) => Err(e),
                (None, CardInput::Direct(_) | CardInput::Bank(_)) => {
                    Ok(PaymentToken::PaymentMethod(format!("pm_{n}")))
                }
                (None, CardInput::GatewayFields { .. }) => {
                    Ok(PaymentToken::ConfirmationToken(format!("ctoken_{n}")))
                }
            }
        }
        async fn pay(&self, _: &str, request: &PayRequest) -> Result<PayOutcome, FetchError> {
            self.pays.borrow_mut().push(request.clone());
            self.pay_answers
                .borrow_mut()
                .pop_front()
                .unwrap_or(Err(FetchError::Network))
        }
        async fn session(&self, _: &str) -> Result<SessionProgress, FetchError> {
            self.session_answers
                .borrow_mut()
                .pop_front()
                .unwrap_or(Err(FetchError::Network))
        }
        fn new_key(&self) -> String {
            self.keys.set(self.keys.get() + 1);
            format!("key-{}", self.keys.get())
        }
        async fn solve(&self, challenge: &str, difficulty: u8) -> Result<String, FetchError> {
            Ok(format!("{challenge}-{difficulty}"))
        }
    }

    #[derive(Default)]
    struct FakeStorage(RefCell<HashMap<String, String>>);

    impl Storage for FakeStorage {
        fn get(&self, key: &str) -> Option<String> {
            self.0.borrow().get(key).cloned()
        }
        fn set(&self, key: &str, value: &str) {
            self.0.borrow_mut().insert(key.into(), value.into());
        }
        fn remove(&self, key: &str) {
            self.0.borrow_mut().remove(key);
        }
    }

    #[derive(Default)]
    struct FakeSleep(RefCell<Vec<u32>>);

    impl Sleeper for FakeSleep {
        async fn sleep(&self, ms: u32) {
            self.0.borrow_mut().push(ms);
        }
    }

    type Flow = PayFlow<FakeApi, FakeStorage, FakeSleep>;

    fn flow() -> Flow {
        PayFlow {
            api: FakeApi::default(),
            storage: FakeStorage::default(),
            sleeper: FakeSleep::default(),
        }
    }

    fn order() -> Order {
        Order {
            campaign: "winter".into(),
            donation: true,
            amount: Amount::from_minor(2500, Currency::Usd),
            cover_fee: false,
            email: "donor@example.org".into(),
            frequency: paywidget_core::api::Frequency::OneTime,
            tier: None,
        }
    }

    fn card() -> CardInput {
        CardInput::Direct(
            check(
                &Entries {
                    email: "donor@example.org".into(),
                    name: "Ada Lovelace".into(),
                    number: "4242 4242 4242 4242".into(),
                    expiry: "12 / 30".into(),
                    cvc: "123".into(),
                    postal: None,
                    iban: String::new(),
                },
                (2026, 1),
            )
            .expect("a valid card"),
        )
    }

    fn view(status: SessionStatus) -> SessionProgress {
        SessionProgress {
            id: "cs_1".into(),
            frequency: Default::default(),
            status,
            amount: 2500,
            fee: 0,
            total: 2500,
            currency: Currency::Usd,
            kind: CampaignKind::Donation,
            decline: None,
            redirect_url: None,
            confirmed_at: None,
            emailed_to: None,
            license: None,
            receipt: None,
            success_url: None,
            merchant_name: None,
        }
    }

    fn pay(f: &Flow) -> (Result<Next, Failure>, Vec<Progress>) {
        run_pay(f, &card())
    }

    fn run_pay(f: &Flow, card: &CardInput) -> (Result<Next, Failure>, Vec<Progress>) {
        let seen = RefCell::new(Vec::new());
        let result = run(f.pay(&order(), card, &|p| seen.borrow_mut().push(p)));
        (result, seen.into_inner())
    }

    fn answer(f: &Flow, a: Result<PayOutcome, FetchError>) {
        f.api.pay_answers.borrow_mut().push_back(a);
    }

    fn session_answer(f: &Flow, a: Result<SessionProgress, FetchError>) {
        f.api.session_answers.borrow_mut().push_back(a);
    }

    #[test]
    fn success_goes_to_the_confirmation_and_clears_the_attempt() {
        let f = flow();
        answer(&f, Ok(PayOutcome::Succeeded));
        let (result, _) = pay(&f);
        assert_eq!(result, Ok(Next::Confirmation("cs_1".into())));
        assert!(f.storage.0.borrow().is_empty(), "nothing left to resume");
    }

    #[test]
    fn a_challenge_is_solved_and_the_same_attempt_sent_with_its_proof() {
        let f = flow();
        answer(
            &f,
            Ok(PayOutcome::Challenge {
                challenge: "c1".into(),
                difficulty: 14,
            }),
        );
        answer(&f, Ok(PayOutcome::Succeeded));
        let (result, progress) = pay(&f);
        assert_eq!(result, Ok(Next::Confirmation("cs_1".into())));
        assert!(progress.contains(&Progress::Proving));
        assert_eq!(Progress::Proving.message(), "Verifying…");
        let pays = f.api.pays.borrow();
        assert_eq!(pays.len(), 2);
        assert_eq!(pays[0].proof, None);
        assert_eq!(pays[0].idempotency_key, pays[1].idempotency_key);
        assert_eq!(pays[0].payment_method, pays[1].payment_method);
        assert_eq!(
            pays[1].proof,
            Some(Proof {
                challenge: "c1".into(),
                nonce: "c1-14".into()
            })
        );
    }

    #[test]
    fn a_host_that_keeps_challenging_gets_three_answers_then_a_message_and_no_decline() {
        let f = flow();
        for _ in 0..5 {
            answer(
                &f,
                Ok(PayOutcome::Challenge {
                    challenge: "c".into(),
                    difficulty: 14,
                }),
            );
        }
        let (result, _) = pay(&f);
        assert!(matches!(result, Err(Failure::Message(m)) if m.contains("not been charged")));
        assert_eq!(f.api.pays.borrow().len(), 4);
        // The attempt is kept: nothing was charged, the next press retries the same key.
        assert!(f.storage.get(&attempt_key("cs_1")).is_some());
    }

    #[test]
    fn a_network_error_is_retried_with_the_same_key() {
        let f = flow();
        answer(&f, Err(FetchError::Network));
        answer(
            &f,
            Err(FetchError::Api {
                status: 409,
                code: ErrorCode::InProgress,
                message: String::new(),
            }),
        );
        answer(&f, Ok(PayOutcome::Succeeded));
        let (result, progress) = pay(&f);
        assert_eq!(result, Ok(Next::Confirmation("cs_1".into())));
        let pays = f.api.pays.borrow();
        assert_eq!(pays.len(), 3);
        assert!(pays.iter().all(|p| p == &pays[0]), "one key, one token");
        assert_eq!(f.api.tokenized.get(), 1);
        assert_eq!(*f.sleeper.0.borrow(), vec![500, 1000], "backoff");
        assert!(progress.contains(&Progress::Retrying { attempt: 2, of: 4 }));
    }

    #[test]
    fn a_decline_ends_the_attempt_and_the_next_try_has_a_new_key() {
        let f = flow();
        answer(
            &f,
            Ok(PayOutcome::Declined {
                code: DeclineCode::IncorrectCvc,
                message: "Your card's security code is incorrect.".into(),
            }),
        );
        let (result, _) = pay(&f);
        assert_eq!(
            result,
            Err(Failure::Field(
                Field::Cvc,
                "Your card's security code is incorrect.".into()
            ))
        );
        answer(&f, Ok(PayOutcome::Succeeded));
        let (result, _) = pay(&f);
        assert!(result.is_ok());
        let pays = f.api.pays.borrow();
        assert_ne!(pays[0].idempotency_key, pays[1].idempotency_key);
        assert_ne!(pays[0].payment_method, pays[1].payment_method);
        assert_eq!(f.api.created.get(), 1, "the session is reused");
    }

    #[test]
    fn processing_waits_for_the_gateway_and_is_never_success_by_itself() {
        let f = flow();
        answer(&f, Ok(PayOutcome::Processing));
        session_answer(&f, Ok(view(SessionStatus::Processing)));
        session_answer(&f, Ok(view(SessionStatus::Unknown)));
        let mut declined = view(SessionStatus::Declined);
        declined.decline = Some(DeclineView {
            code: DeclineCode::InsufficientFunds,
            message: "Your card has insufficient funds.".into(),
        });
        session_answer(&f, Ok(declined));
        let (result, progress) = pay(&f);
        assert_eq!(
            result,
            Err(Failure::Message("Your card has insufficient funds.".into()))
        );
        assert!(progress.contains(&Progress::Waiting));
        assert_eq!(f.api.pays.borrow().len(), 1, "waiting never pays again");
    }

    #[test]
    fn an_unknown_outcome_that_stays_undecided_hands_over_to_the_confirmation_page() {
        let f = flow();
        answer(&f, Ok(PayOutcome::Unknown));
        for _ in 0..POLLS {
            session_answer(&f, Ok(view(SessionStatus::Processing)));
        }
        let (result, _) = pay(&f);
        assert_eq!(result, Ok(Next::Confirmation("cs_1".into())));
        assert!(
            f.storage.get(&attempt_key("cs_1")).is_some(),
            "the attempt is kept: coming back re-asks with the same key"
        );
    }

    #[test]
    fn a_lost_answer_is_resolved_from_the_session() {
        let f = flow();
        for _ in 0..=RETRIES {
            answer(&f, Err(FetchError::Network));
        }
        session_answer(&f, Err(FetchError::Network));
        session_answer(&f, Ok(view(SessionStatus::Open)));
        session_answer(&f, Ok(view(SessionStatus::Paid)));
        let (result, progress) = pay(&f);
        assert_eq!(result, Ok(Next::Confirmation("cs_1".into())));
        assert_eq!(f.api.pays.borrow().len(), 5, "retries, then only asking");
        assert!(progress.contains(&Progress::Checking));
    }

    #[test]
    fn an_answer_lost_for_good_keeps_the_attempt_for_the_next_press() {
        let f = flow();
        let (result, _) = pay(&f);
        assert_eq!(result, Err(Failure::Message(t("net_lost"))));
        let stored = f.storage.get(&attempt_key("cs_1")).expect("kept");
        answer(&f, Ok(PayOutcome::Succeeded));
        let (result, _) = pay(&f);
        assert!(result.is_ok());
        let pays = f.api.pays.borrow();
        assert_eq!(
            format!(
                "{}|{}",
                pays.last().unwrap().idempotency_key,
                pays.last()
                    .unwrap()
                    .payment_method
                    .as_deref()
                    .unwrap_or("none")
            ),
            stored
        );
        assert_eq!(f.api.tokenized.get(), 1);
    }

    #[test]
    fn a_reload_resumes_the_stored_attempt() {
        let f = flow();
        f.storage.set(&session_key(&order()), "cs_1");
        f.storage
            .set(&attempt_key("cs_1"), "key-from-before|pm_before");
        answer(&f, Ok(PayOutcome::Succeeded));
        let (result, _) = pay(&f);
        assert!(result.is_ok());
        assert_eq!(f.api.created.get(), 0, "the stored session is used");
        assert_eq!(f.api.tokenized.get(), 0, "the stored token is used");
        assert_eq!(
            f.api.pays.borrow()[0],
            PayRequest {
                payment_method: Some("pm_before".into()),
                confirmation_token: None,
                idempotency_key: "key-from-before".into(),
                proof: None,
            }
        );
    }

    #[test]
    fn the_gateways_own_fields_pay_with_a_confirmation_token_and_verify_with_its_script() {
        let f = flow();
        let fields = CardInput::GatewayFields {
            name: "Ada Lovelace".into(),
        };
        answer(
            &f,
            Ok(PayOutcome::RequiresAction {
                redirect_url: "http://gw/3ds".into(),
                client_secret: Some("pi_1_secret_2".into()),
            }),
        );
        let progress = RefCell::new(Vec::new());
        let result = run(f.pay(&order(), &fields, &|p| progress.borrow_mut().push(p)));
        assert_eq!(
            result,
            Ok(Next::NextAction {
                client_secret: "pi_1_secret_2".into(),
                session: "cs_1".into()
            })
        );
        let pays = f.api.pays.borrow();
        assert_eq!(pays[0].confirmation_token.as_deref(), Some("ctoken_1"));
        assert_eq!(pays[0].payment_method, None);
        assert_eq!(
            pays[0].token(),
            Some(PaymentToken::ConfirmationToken("ctoken_1".into()))
        );
        // The attempt (key and token) survives a reload like a payment method's.
        assert_eq!(
            f.storage.get(&attempt_key("cs_1")).as_deref(),
            Some("key-1|ctoken_1")
        );
    }

    #[test]
    fn a_stored_attempt_that_is_not_a_token_is_never_sent() {
        let f = flow();
        f.storage.set(&session_key(&order()), "cs_1");
        f.storage
            .set(&attempt_key("cs_1"), "key-from-before|4242424242424242");
        answer(&f, Ok(PayOutcome::Succeeded));
        let (result, _) = pay(&f);
        assert!(result.is_ok());
        assert_eq!(f.api.tokenized.get(), 1, "tokenized afresh");
        assert_eq!(
            f.api.pays.borrow()[0].payment_method.as_deref(),
            Some("pm_1")
        );
    }

    #[test]
    fn three_d_secure_redirects_then_resolves_on_return() {
        let f = flow();
        answer(
            &f,
            Ok(PayOutcome::RequiresAction {
                redirect_url: "http://gw/3ds".into(),
                client_secret: None,
            }),
        );
        let (result, progress) = pay(&f);
        assert_eq!(result, Ok(Next::Verify("http://gw/3ds".into())));
        assert_eq!(progress.last(), Some(&Progress::Verifying));
        assert!(f.storage.get(&attempt_key("cs_1")).is_some());
        // Back from the bank: waiting, then confirmed.
        session_answer(&f, Ok(view(SessionStatus::RequiresAction)));
        session_answer(&f, Ok(view(SessionStatus::Fulfilled)));
        assert_eq!(
            run(f.after_verification("cs_1")),
            Ok(Some(Next::Confirmation("cs_1".into())))
        );
        assert!(f.storage.get(&attempt_key("cs_1")).is_none());
        // A failed verification says why.
        let mut failed = view(SessionStatus::Declined);
        failed.decline = Some(DeclineView {
            code: DeclineCode::AuthenticationFailure,
            message: "Your bank could not confirm it's you.".into(),
        });
        session_answer(&f, Ok(failed));
        assert_eq!(
            run(f.after_verification("cs_1")),
            Err(Failure::Message(
                "Your bank could not confirm it's you.".into()
            ))
        );
        // Undecided for long: the page says so (Ok(None)).
        assert_eq!(run(f.after_verification("cs_1")), Ok(None));
    }

    fn bank() -> CardInput {
        CardInput::Bank(
            crate::checkout_form::check_bank(&Entries {
                email: "jenny@example.org".into(),
                name: "Jenny Rosen".into(),
                iban: "DE89370400440532013000".into(),
                ..Entries::default()
            })
            .expect("a valid IBAN"),
        )
    }

    #[test]
    fn a_bank_debit_goes_to_its_pending_confirmation_at_once() {
        let f = flow();
        answer(&f, Ok(PayOutcome::Processing));
        let (result, progress) = run_pay(&f, &bank());
        assert_eq!(result, Ok(Next::Confirmation("cs_1".into())));
        assert!(!progress.contains(&Progress::Waiting), "{progress:?}");
        assert!(f.sleeper.0.borrow().is_empty(), "no polling for a debit");
        assert_eq!(f.api.pays.borrow().len(), 1);
        assert!(
            f.storage.0.borrow().is_empty(),
            "the attempt has its outcome"
        );
        // A refused IBAN points at its field, and nothing is paid.
        let f = flow();
        *f.api.tokenize_answer.borrow_mut() = Some(FetchError::Api {
            status: 400,
            code: ErrorCode::parse("invalid_bank_account_iban"),
            message: "The IBAN you provided is invalid.".into(),
        });
        let (result, _) = run_pay(&f, &bank());
        assert_eq!(
            result,
            Err(Failure::Field(
                Field::Iban,
                "The IBAN you provided is invalid.".into()
            ))
        );
        assert!(f.api.pays.borrow().is_empty());
    }

    #[test]
    fn amount_and_card_errors_point_at_their_fields() {
        let f = flow();
        *f.api.tokenize_answer.borrow_mut() = Some(FetchError::Api {
            status: 402,
            code: ErrorCode::parse("incorrect_number"),
            message: "Your card number is incorrect.".into(),
        });
        let (result, _) = pay(&f);
        assert_eq!(
            result,
            Err(Failure::Field(
                Field::Number,
                "Your card number is incorrect.".into()
            ))
        );
        assert!(f.api.pays.borrow().is_empty());
    }

    #[test]
    fn a_host_failure_keeps_the_attempt_and_a_canceled_session_is_left_behind() {
        let f = flow();
        // The host could not tell (5xx → Network): retried with the same key, then asked.
        for _ in 0..=RETRIES {
            answer(&f, Err(FetchError::Network));
        }
        session_answer(&f, Ok(view(SessionStatus::Canceled)));
        let (result, _) = pay(&f);
        assert_eq!(
            result,
            Err(Failure::Message(
                "The payment was canceled. You have not been charged.".into()
            ))
        );
        assert!(
            f.storage.0.borrow().is_empty(),
            "the next press starts afresh"
        );
        answer(&f, Ok(PayOutcome::Succeeded));
        assert!(pay(&f).0.is_ok());
        assert_eq!(f.api.created.get(), 2, "a new session for the new try");
    }

    #[test]
    fn a_refused_pay_call_ends_the_attempt() {
        let f = flow();
        answer(
            &f,
            Err(FetchError::Api {
                status: 400,
                code: ErrorCode::InvalidPaymentMethod,
                message: "bad token".into(),
            }),
        );
        let (result, _) = pay(&f);
        assert_eq!(result, Err(Failure::Message("bad token".into())));
        assert!(f.storage.get(&attempt_key("cs_1")).is_none());
    }

    #[test]
    fn an_expired_session_or_a_raised_minimum_starts_a_new_session_next_time() {
        for (code, want) in [
            (
                ErrorCode::SessionExpired,
                Failure::Message("expired".into()),
            ),
            (
                ErrorCode::AmountTooSmall,
                Failure::Field(Field::Amount, "expired".into()),
            ),
        ] {
            let f = flow();
            answer(
                &f,
                Err(FetchError::Api {
                    status: 400,
                    code,
                    message: "expired".into(),
                }),
            );
            let (result, _) = pay(&f);
            assert_eq!(result, Err(want));
            assert_eq!(f.api.created.get(), 1);
            answer(&f, Ok(PayOutcome::Succeeded));
            assert!(pay(&f).0.is_ok());
            assert_eq!(f.api.created.get(), 2, "a new session for the next press");
        }
    }
}
