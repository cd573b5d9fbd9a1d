//! Reconciliation: the gateway's charges for a window (payment intents and paid invoices, listed
//! with each merchant account's secret key) against the host's sessions and fulfilments. Each is
//! classed [`Class::Match`], `missing-fulfilment`, `orphan-charge`, `duplicate` or `mismatch`;
//! a succeeded payment whose webhook never came is fulfilled (through the webhook's own code,
//! exactly once); nothing is ever refunded here — duplicates and orphans are for a person.
//!
//! Run by `paywidget host reconcile` and, every `server.reconcile_every_minutes`, by one host
//! of those sharing the database (the `reconcile` singleton job).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::billing::webhooks::{apply_event, Signer};
use crate::checkout::CLAIM_LEASE_SECS;
use crate::gateway::events::{Event, InvoiceEvent, InvoiceStatus, PaymentIntentEvent};
use crate::gateway::objects::{Invoice, List, Listed};
use crate::gateway::{Gateway, GatewayError, PaymentIntent, PaymentIntentStatus};
use crate::store::{Audit, SessionRow};
use crate::support::error::DomainError;
use crate::HostState;

/// What a charge (or a fulfilment) came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Charged once, for the session's amount, and fulfilled.
    Match,
    /// Charged, but the host has not fulfilled it (repaired unless a dry run).
    MissingFulfilment,
    /// Charged for a session the host does not have.
    OrphanCharge,
    /// A second (or further) succeeded charge for one session.
    Duplicate,
    /// Amounts or currencies differ, or a fulfilment has no succeeded charge behind it.
    Mismatch,
}

impl Class {
    /// The kebab-case name the table and the JSON use.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Match => "match",
            Class::MissingFulfilment => "missing-fulfilment",
            Class::OrphanCharge => "orphan-charge",
            Class::Duplicate => "duplicate",
            Class::Mismatch => "mismatch",
        }
    }
}

/// One charge, or one fulfilment without a charge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The verdict.
    pub class: Class,
    /// The session's merchant, when the session is known.
    pub merchant: Option<String>,
    /// The host's session.
    pub session: Option<String>,
    /// The gateway's payment intent.
    pub payment_intent: Option<String>,
    /// The gateway's invoice (subscriptions).
    pub invoice: Option<String>,
    /// What the gateway charged, minor units.
    pub gateway_amount: Option<i64>,
    /// What the host expected, minor units.
    pub host_amount: Option<i64>,
    /// Lowercase ISO code.
    pub currency: String,
    /// True when this run fulfilled it.
    pub repaired: bool,
    /// Why, in words.
    pub note: String,
}

/// A run's findings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Window start, unix seconds.
    pub since: i64,
    /// Window end, unix seconds.
    pub until: i64,
    /// Charges younger than the grace period, left for their webhooks.
    pub pending: u64,
    /// Every charge (and unbacked fulfilment) judged.
    pub rows: Vec<Row>,
    /// Whole-database consistency figures.
    pub audit: Audit,
}

impl Report {
    /// How many rows of each class.
    pub fn counts(&self) -> BTreeMap<Class, usize> {
        let mut c = BTreeMap::new();
        for r in &self.rows {
            *c.entry(r.class).or_insert(0) += 1;
        }
        c
    }

    /// True when every row is a match and the audit found nothing.
    pub fn clean(&self) -> bool {
        self.rows.iter().all(|r| r.class == Class::Match)
            && self.audit.receipt_gaps == 0
            && self.audit.stuck_keys == 0
    }

    /// The table `paywidget host reconcile` prints: the rows that are not matches, then a
    /// summary.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let odd: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.class != Class::Match || r.repaired)
            .collect();
        if !odd.is_empty() {
            out.push_str(&format!(
                "{:<19} {:<10} {:<28} {:<30} {:>10} {:>10}  note\n",
                "class", "merchant", "session", "payment / invoice", "gateway", "host"
            ));
            for r in odd {
                let amount = |a: Option<i64>| a.map_or("-".to_owned(), |a| a.to_string());
                out.push_str(&format!(
                    "{:<19} {:<10} {:<28} {:<30} {:>10} {:>10}  {}{}\n",
                    r.class.as_str(),
                    r.merchant.as_deref().unwrap_or("-"),
                    r.session.as_deref().unwrap_or("-"),
                    r.payment_intent
                        .as_deref()
                        .or(r.invoice.as_deref())
                        .unwrap_or("-"),
                    amount(r.gateway_amount),
                    amount(r.host_amount),
                    if r.repaired { "repaired: " } else { "" },
                    r.note
                ));
            }
        }
        let counts = self.counts();
        let total = self.rows.len();
        let matched = counts.get(&Class::Match).copied().unwrap_or(0);
        out.push_str(&format!(
            "{total} charges checked: {matched} match ({:.1} %)",
            if total == 0 {
                100.0
            } else {
                matched as f64 * 100.0 / total as f64
            }
        ));
        for (class, n) in counts.iter().filter(|(c, _)| **c != Class::Match) {
            out.push_str(&format!(", {n} {}", class.as_str()));
        }
        let repaired = self.rows.iter().filter(|r| r.repaired).count();
        if repaired > 0 {
            out.push_str(&format!(", {repaired} repaired"));
        }
        if self.pending > 0 {
            out.push_str(&format!(", {} too recent to judge", self.pending));
        }
        let a = &self.audit;
        out.push_str(&format!(
            "\ndatabase: {} sessions, {} fulfilments, {} receipt numbers, {} receipt-number gaps, {} stuck pay keys\n",
            a.sessions, a.fulfilments, a.receipt_numbers, a.receipt_gaps, a.stuck_keys
        ));
        out
    }
}

/// What to look at.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Window start, unix seconds.
    pub since: i64,
    /// Window end, unix seconds.
    pub until: i64,
    /// Charges younger than this many seconds are left to their webhooks.
    pub grace_secs: i64,
    /// Fulfil what is missing (false: only report).
    pub repair: bool,
}

fn gateway_error(e: GatewayError) -> DomainError {
    DomainError::GatewayUnavailable(match e {
        GatewayError::Declined(d, _) => format!("declined: {}", d.code.as_str()),
        GatewayError::Rejected(m) | GatewayError::Unavailable(m) => m,
    })
}

/// Every object of a Stripe list endpoint created in `[since, until)`: asked for by
/// `created[gte]`/`created[lt]`, so only the window's pages are read. The window is still
/// checked here (and the walk stops at the first older object, lists being newest first), so a
/// gateway that ignored the filter would cost time, not correctness.
async fn list_window<T: serde::de::DeserializeOwned + Listed + Clone>(
    gateway: &Gateway,
    path: &str,
    since: i64,
    until: i64,
) -> Result<Vec<T>, DomainError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page: List<T> = gateway
            .get_as(&format!(
                "{path}?limit=100&created[gte]={since}&created[lt]={until}{}",
                after
                    .as_deref()
                    .map(|a| format!("&starting_after={a}"))
                    .unwrap_or_default()
            ))
            .await
            .map_err(gateway_error)?;
        let mut older = false;
        for item in &page.data {
            let created = item.created();
            if created < since {
                older = true;
            } else if created < until {
                out.push(item.clone());
            }
        }
        after = page.data.last().map(|i| i.id().to_owned());
        if older || after.is_none() || !page.has_more {
            return Ok(out);
        }
    }
}

/// A row about `session` (when known).
fn row(class: Class, session: Option<&SessionRow>, note: impl Into<String>) -> Row {
    Row {
        class,
        merchant: session.map(|s| s.merchant.clone()),
        session: session.map(|s| s.id.clone()),
        payment_intent: None,
        invoice: None,
        gateway_amount: None,
        host_amount: session.map(SessionRow::total),
        currency: session
            .map(|s| s.currency.code().to_ascii_lowercase())
            .unwrap_or_default(),
        repaired: false,
        note: note.into(),
    }
}

/// Charges created after this are left to their webhooks. A grace of 0 judges everything,
/// also charges dated ahead of the host's clock (a gateway test clock's renewals).
fn judge_before(now: i64, grace_secs: i64) -> i64 {
    if grace_secs <= 0 {
        i64::MAX
    } else {
        now - grace_secs
    }
}

/// Reconciles the window; repairs what it safely can when asked.
pub async fn run(state: &HostState, o: &Options) -> Result<Report, DomainError> {
    let now = state.clock.now();
    let judge_before = judge_before(now, o.grace_secs);
    let mut rows = Vec::new();
    let mut pending = 0u64;
    // Merchants may share one gateway account: list each account once.
    let mut accounts = BTreeSet::new();
    for m in &state.config.merchants {
        if !accounts.insert((
            crate::config::url_text(&m.gateway_url),
            m.secret_key.expose().to_owned(),
        )) {
            continue;
        }
        let gateway = Gateway::new(state.http.clone(), &m.gateway_url, &m.secret_key)
            .with_stats(state.gateway_stats.clone());
        // What this account lists may only concern the merchants on this account.
        let signer = Signer::of(
            state
                .config
                .merchants
                .iter()
                .filter(|o| {
                    o.gateway_url == m.gateway_url && o.secret_key.expose() == m.secret_key.expose()
                })
                .map(|o| o.id.clone())
                .collect(),
        );
        let pis: Vec<PaymentIntent> =
            list_window(&gateway, "/v1/payment_intents", o.since, o.until).await?;
        let invoices: Vec<Invoice> =
            list_window(&gateway, "/v1/invoices", o.since, o.until).await?;
        pending += one_time(state, o, &signer, judge_before, &pis, &mut rows).await?;
        pending += recurring(state, o, &signer, judge_before, &invoices, &mut rows).await?;
        unbacked(state, o, &gateway, &pis, &mut rows).await?;
    }
    let audit = state
        .store
        .audit(now, now - CLAIM_LEASE_SECS)
        .await
        .map_err(DomainError::from)?;
    Ok(Report {
        since: o.since,
        until: o.until,
        pending,
        rows,
        audit,
    })
}

/// One-time payments: succeeded payment intents naming a session of ours.
async fn one_time(
    state: &HostState,
    o: &Options,
    signer: &Signer,
    judge_before: i64,
    pis: &[PaymentIntent],
    rows: &mut Vec<Row>,
) -> Result<u64, DomainError> {
    let mut pending = 0;
    let mut by_session: BTreeMap<String, Vec<&PaymentIntent>> = BTreeMap::new();
    for pi in pis
        .iter()
        .filter(|p| p.status == PaymentIntentStatus::Succeeded)
    {
        // No session id: another integration's, or a subscription invoice's (judged there).
        let Some(sid) = pi.metadata.get("session_id") else {
            continue;
        };
        if pi.created() > judge_before {
            pending += 1;
            continue;
        }
        by_session.entry(sid.to_owned()).or_default().push(pi);
    }
    for (sid, mut charges) in by_session {
        let Some(session) = state.store.session(&sid).await? else {
            for pi in charges {
                rows.push(Row {
                    payment_intent: Some(pi.id.clone()),
                    gateway_amount: Some(pi.amount),
                    currency: pi.currency.clone(),
                    session: Some(sid.clone()),
                    ..row(Class::OrphanCharge, None, "no such session at the host")
                });
            }
            continue;
        };
        if !signer.owns(&session) {
            for pi in charges {
                rows.push(Row {
                    payment_intent: Some(pi.id.clone()),
                    gateway_amount: Some(pi.amount),
                    currency: pi.currency.clone(),
                    session: Some(sid.clone()),
                    ..row(
                        Class::OrphanCharge,
                        None,
                        "names a session of a merchant on another gateway account",
                    )
                });
            }
            continue;
        }
        if session.frequency.interval().is_some() {
            continue;
        }
        // The session's own payment intent first (else the oldest); any other is a duplicate.
        charges.sort_by_key(|p| {
            (
                Some(p.id.as_str()) != session.payment_intent.as_deref(),
                p.created(),
            )
        });
        for (n, pi) in charges.iter().enumerate() {
            let paid = pi.amount_received.unwrap_or(pi.amount);
            let currency = pi.currency.as_str();
            let base = Row {
                payment_intent: Some(pi.id.clone()),
                gateway_amount: Some(paid),
                currency: currency.to_owned(),
                ..row(Class::Match, Some(&session), "")
            };
            if n > 0 {
                rows.push(Row {
                    class: Class::Duplicate,
                    note: "a further succeeded charge for this session: refund it".into(),
                    ..base
                });
                continue;
            }
            if paid != session.total() || !currency.eq_ignore_ascii_case(session.currency.code()) {
                rows.push(Row {
                    class: Class::Mismatch,
                    note: "charged amount differs from the session's".into(),
                    ..base
                });
                continue;
            }
            if state.store.fulfilment(&session.id).await?.is_some() {
                rows.push(base);
                continue;
            }
            if Some(pi.id.as_str()) != session.payment_intent.as_deref() {
                rows.push(Row {
                    class: Class::Mismatch,
                    note: "a payment the host did not create for this session".into(),
                    ..base
                });
                continue;
            }
            let mut r = Row {
                class: Class::MissingFulfilment,
                note: "succeeded at the gateway, no webhook applied".into(),
                ..base
            };
            if o.repair {
                let id = format!("reconcile_{}", pi.id);
                let event =
                    Event::PaymentIntent(PaymentIntentEvent::Succeeded, Box::new((*pi).clone()));
                apply_event(state, signer, &id, "payment_intent.succeeded", &event, None).await?;
                r.repaired = state.store.fulfilment(&session.id).await?.is_some();
            }
            rows.push(r);
        }
    }
    Ok(pending)
}

/// Subscriptions: paid invoices of a subscription of ours, each fulfilled once.
async fn recurring(
    state: &HostState,
    o: &Options,
    signer: &Signer,
    judge_before: i64,
    invoices: &[Invoice],
    rows: &mut Vec<Row>,
) -> Result<u64, DomainError> {
    let mut pending = 0;
    for inv in invoices
        .iter()
        .filter(|i| i.status == Some(InvoiceStatus::Paid))
    {
        let subscription = inv.subscription();
        let claimed = inv.claimed_session();
        let session = match subscription {
            Some(sub) => state.store.session_by_subscription(sub).await?,
            None => None,
        };
        let session = match (session, claimed) {
            (Some(s), _) => Some(s),
            (None, Some(sid)) => state.store.session(sid).await?,
            (None, None) => continue,
        };
        // Another account's session is not this account's to judge or repair.
        let session = session.filter(|s| signer.owns(s));
        if inv.created() > judge_before {
            pending += 1;
            continue;
        }
        let paid = inv.amount_paid;
        let base = Row {
            invoice: inv.id.clone(),
            gateway_amount: Some(paid),
            currency: inv.currency.clone(),
            ..row(Class::Match, session.as_ref(), "")
        };
        let Some(session) = session else {
            rows.push(Row {
                session: claimed.map(str::to_owned),
                ..row(Class::OrphanCharge, None, "no such session at the host")
            });
            continue;
        };
        let id = inv.id();
        match state.store.invoice(id).await? {
            Some(known) if known.amount == paid => rows.push(Row {
                host_amount: Some(known.amount),
                ..base
            }),
            Some(known) => rows.push(Row {
                class: Class::Mismatch,
                host_amount: Some(known.amount),
                note: "the invoice's amount differs from the host's record".into(),
                ..base
            }),
            None => {
                let mut r = Row {
                    class: Class::MissingFulfilment,
                    host_amount: None,
                    note: "paid at the gateway, no webhook applied".into(),
                    ..base
                };
                if o.repair {
                    let event_id = format!("reconcile_{id}");
                    let event = Event::Invoice(InvoiceEvent::Paid, Box::new(inv.clone()));
                    apply_event(state, signer, &event_id, "invoice.paid", &event, None).await?;
                    r.repaired = state.store.invoice(id).await?.is_some();
                }
                let _ = session;
                rows.push(r);
            }
        }
    }
    Ok(pending)
}

/// The host's side: one-time fulfilments in the window with no succeeded charge behind them.
async fn unbacked(
    state: &HostState,
    o: &Options,
    gateway: &Gateway,
    pis: &[PaymentIntent],
    rows: &mut Vec<Row>,
) -> Result<(), DomainError> {
    let succeeded: BTreeSet<&str> = pis
        .iter()
        .filter(|p| p.status == PaymentIntentStatus::Succeeded)
        .map(|p| p.id.as_str())
        .collect();
    for s in state.store.sessions_created(o.since, o.until).await? {
        if s.frequency.interval().is_some() || state.store.fulfilment(&s.id).await?.is_none() {
            continue;
        }
        let charged = match s.payment_intent.as_deref() {
            Some(pi) if succeeded.contains(pi) => true,
            // Outside the listing (created before the window): ask for it.
            Some(pi) => gateway
                .retrieve(pi)
                .await
                .map_err(gateway_error)?
                .status
                .eq(&PaymentIntentStatus::Succeeded),
            None => false,
        };
        if !charged {
            rows.push(Row {
                payment_intent: s.payment_intent.clone(),
                ..row(
                    Class::Mismatch,
                    Some(&s),
                    "fulfilled without a succeeded charge",
                )
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(class: Class) -> Row {
        Row {
            class,
            ..row(class, None, "n")
        }
    }

    #[test]
    fn a_grace_of_zero_judges_even_charges_dated_ahead() {
        assert_eq!(judge_before(1_000, 600), 400);
        assert!(judge_before(1_000, 0) > 1_000 + 400 * 86_400);
    }

    #[test]
    fn the_summary_counts_each_class_and_only_matches_are_clean() {
        let mut report = Report {
            since: 0,
            until: 10,
            pending: 0,
            rows: vec![r(Class::Match), r(Class::Match)],
            audit: Audit::default(),
        };
        assert!(report.clean());
        assert!(report
            .table()
            .contains("2 charges checked: 2 match (100.0 %)"));
        report.rows.push(r(Class::Duplicate));
        assert!(!report.clean());
        let t = report.table();
        assert!(
            t.contains("3 charges checked: 2 match (66.7 %), 1 duplicate"),
            "{t}"
        );
        assert!(t.starts_with("class"), "the odd rows are listed: {t}");
        report.rows.pop();
        report.audit.stuck_keys = 1;
        assert!(!report.clean(), "a stuck key is not clean");
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"class\":\"match\""));
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
    }
}
