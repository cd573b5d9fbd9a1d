//! The merchant's dashboard: staff sign in (the portal's mailed link and code, in the staff
//! realm), see their merchant's money, funnel and declines, find payments, read one payment's
//! timeline, refund it (within their role), export CSV. Every change is appended to the audit
//! log, which the payment's timeline shows. Staff see only their own merchant's data: every
//! read names the merchant, and a payment of another merchant reads as not found.

pub mod disputes;
pub mod filters;
pub mod gifts;
pub mod health;
pub mod pages;
pub mod settlement;
pub mod webhooks;

use paywidget_core::api::{ErrorCode, SessionStatus};
use paywidget_core::money::{Amount, Currency, DecimalSeparator, ParseRules};

use crate::config::Role;
use crate::portal::{self, Realm};
use crate::store::{
    AuditEntry, DayTotal, FulfilmentRow, Funnel, PaymentQuery, SessionRow, StoreError,
};
use crate::support::error::DomainError;
use crate::support::local::Local;
use crate::HostState;

/// The dashboard cookie's name (not the portal's: the two sessions never mix).
pub const COOKIE: &str = "pw_admin";

/// A page of the payments list.
pub const PAGE_SIZE: u32 = 50;

/// A signed-in staff member, acting for one merchant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staff {
    /// Their address.
    pub email: String,
    /// This session's CSRF token.
    pub csrf: String,
    /// The merchant they act for now.
    pub merchant: String,
    /// Their role there.
    pub role: Role,
    /// Every merchant that lists them, with their role there.
    pub memberships: Vec<(String, Role)>,
    /// The merchant's time zone and locale (how its pages write days, dates and money).
    pub local: Local,
}

impl Staff {
    /// Whether they may change things (refunds, resends): owners and support.
    pub fn may_act(&self) -> bool {
        self.role != Role::Viewer
    }
}

/// The merchants that list `address` as staff, with the role.
pub fn memberships(state: &HostState, address: &str) -> Vec<(String, Role)> {
    state
        .config
        .merchants
        .iter()
        .filter_map(|m| {
            m.staff
                .iter()
                .find(|s| s.email.to_string() == address)
                .map(|s| (m.id.clone(), s.role))
        })
        .collect()
}

/// The staff member behind a dashboard cookie, acting for `merchant` (or their first). None
/// when the session is not live or no merchant lists them any more.
pub async fn staff(
    state: &HostState,
    cookie: &str,
    merchant: Option<&str>,
) -> Result<Option<Staff>, DomainError> {
    let Some(session) = portal::session_in(state, Realm::Staff, cookie).await? else {
        return Ok(None);
    };
    let memberships = memberships(state, &session.email);
    let chosen = merchant
        .and_then(|m| memberships.iter().find(|(id, _)| id == m))
        .or_else(|| memberships.first())
        .cloned();
    Ok(chosen.map(|(merchant, role)| Staff {
        email: session.email.clone(),
        csrf: session.csrf.clone(),
        local: state
            .config
            .merchant(&merchant)
            .map(|m| m.local.clone())
            .unwrap_or_default(),
        merchant,
        role,
        memberships,
    }))
}

/// A date range of whole days in the merchant's time zone, `[since, until)` in unix seconds
/// (a day is 23 or 25 hours where the zone changes its clocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// The first second.
    pub since: i64,
    /// The second after the last.
    pub until: i64,
    /// The first local day (days since 1970-01-01).
    pub first_day: i64,
    /// How many days.
    pub days: i64,
}

impl Range {
    /// `from`..=`to` (`YYYY-MM-DD`, inclusive, local days); by default the 30 days up to
    /// today. A range is at most 400 days.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        now: i64,
        local: &Local,
    ) -> Result<Range, DomainError> {
        let day = |text: &str| {
            local.parse_day(text).ok_or_else(|| {
                DomainError::invalid(
                    ErrorCode::InvalidRequest,
                    format!("{text:?} is not a date (YYYY-MM-DD)."),
                )
            })
        };
        let last = match to.filter(|t| !t.is_empty()) {
            Some(t) => day(t)?,
            None => local.day(now),
        };
        let first = match from.filter(|t| !t.is_empty()) {
            Some(t) => day(t)?,
            None => last - 29,
        };
        if first > last || last - first >= 400 {
            return Err(DomainError::invalid(
                ErrorCode::InvalidRequest,
                "Choose a range of 1 to 400 days, the first day before the last.",
            ));
        }
        Ok(Range::of_days(first, last - first + 1, local))
    }

    /// `days` local days from `first_day`.
    pub fn of_days(first_day: i64, days: i64, local: &Local) -> Range {
        Range {
            since: local.day_start(first_day),
            until: local.day_start(first_day + days),
            first_day,
            days,
        }
    }

    /// The same number of days just before.
    pub fn previous(self, local: &Local) -> Range {
        Range::of_days(self.first_day - self.days, self.days, local)
    }

    /// How many days.
    pub fn days(self) -> i64 {
        self.days
    }

    /// The store's bucket for this range's daily figures: a whole day when every day of it is
    /// 24 hours long (the zone keeps one offset: always so in UTC), else a quarter hour.
    pub fn bucket(self) -> i64 {
        if self.until - self.since == self.days * 86_400 {
            86_400
        } else {
            900
        }
    }
}

/// `YYYY-MM-DD` → its first second (UTC).
pub fn parse_day(text: &str) -> Option<i64> {
    Local::utc().parse_day(text).map(|d| d * 86_400)
}

/// Folds the store's money buckets (whole local days, or quarter hours: every time zone's
/// offset is a whole number of them, so no bucket straddles two days) into local days.
pub fn local_days(buckets: &[DayTotal], local: &Local) -> Vec<DayTotal> {
    use std::collections::BTreeMap;
    let mut days: BTreeMap<(i64, &str), DayTotal> = BTreeMap::new();
    // The local day of the last bucket seen and its bounds: buckets come in time order, so the
    // zone is asked once per day, not once per quarter hour.
    let mut span: Option<(i64, i64, i64)> = None;
    for b in buckets {
        let day = match span {
            Some((start, end, day)) if b.day >= start && b.day < end => day,
            _ => {
                let day = local.day(b.day);
                span = Some((local.day_start(day), local.day_start(day + 1), day));
                day
            }
        };
        let d = days
            .entry((day, b.currency.as_str()))
            .or_insert_with(|| DayTotal {
                day,
                currency: b.currency.clone(),
                payments: 0,
                gross: 0,
                refunded: 0,
            });
        d.payments += b.payments;
        d.gross += b.gross;
        d.refunded += b.refunded;
    }
    days.into_values().collect()
}

/// One currency's money in a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money {
    /// The currency.
    pub currency: Currency,
    /// Paid sessions.
    pub payments: i64,
    /// Amount + fee coverage, minor units.
    pub gross: i64,
    /// Refunded of it.
    pub refunded: i64,
}

impl Money {
    /// Gross less refunds (the gateway's own fees are on the settlement, not here).
    pub fn net(&self) -> i64 {
        self.gross - self.refunded
    }
}

/// Sums day totals per currency.
pub fn money(days: &[DayTotal]) -> Vec<Money> {
    let mut out: Vec<Money> = Vec::new();
    for d in days {
        let Ok(currency) = Currency::from_code(&d.currency) else {
            continue;
        };
        match out.iter_mut().find(|m| m.currency == currency) {
            Some(m) => {
                m.payments += d.payments;
                m.gross += d.gross;
                m.refunded += d.refunded;
            }
            None => out.push(Money {
                currency,
                payments: d.payments,
                gross: d.gross,
                refunded: d.refunded,
            }),
        }
    }
    out
}

/// A decline code's kind: soft declines may succeed on a retry or another card; hard ones
/// will not (a lost or stolen card, a closed account, fraud).
pub fn is_soft_decline(code: &str) -> bool {
    !matches!(
        code,
        "lost_card"
            | "stolen_card"
            | "pickup_card"
            | "fraudulent"
            | "restricted_card"
            | "invalid_account"
            | "card_not_supported"
            | "currency_not_supported"
            | "incorrect_number"
            | "expired_card"
    )
}

/// A rate in per cent of `of` (0 when `of` is 0), to one decimal.
pub fn rate(part: i64, of: i64) -> String {
    if of <= 0 {
        return "–".into();
    }
    let tenths = (part * 1000 + of / 2) / of;
    format!("{}.{} %", tenths / 10, tenths % 10)
}

/// Everything the overview shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overview {
    /// The range shown.
    pub range: Range,
    /// Per day and currency.
    pub days: Vec<DayTotal>,
    /// Per currency, this range.
    pub money: Vec<Money>,
    /// Per currency, the previous range of the same length.
    pub previous: Vec<Money>,
    /// The funnel, this range.
    pub funnel: Funnel,
    /// The funnel, the previous range.
    pub previous_funnel: Funnel,
    /// Sessions last declined with each code.
    pub declines: Vec<(String, i64)>,
    /// Card-testing attack-mode periods of the merchant's campaigns: (campaign, from, to).
    pub attacks: Vec<(String, i64, Option<i64>)>,
    /// Payers the shield blocks right now.
    pub blocked_now: i64,
    /// Disputes opened in the range.
    pub disputes: i64,
    /// Donors of the range: (new, retained from the previous period, reactivated).
    pub donors: (i64, i64, i64),
    /// The dispute ratio as the card networks read it, this calendar month.
    pub dispute_ratio: DisputeRatio,
    /// Recurring gifts and subscriptions per currency: active, MRR, churn.
    pub recurring: Vec<crate::store::RecurringFigures>,
    /// Renewals recovered in the range per currency: (currency, how many, amount).
    pub recovered: Vec<(String, i64, i64)>,
}

/// This calendar month's disputes over this month's payments (one network's way) and over last
/// month's (the other's), with the raw counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisputeRatio {
    /// Disputes opened this month.
    pub disputes: i64,
    /// Payments paid this month.
    pub payments_this_month: i64,
    /// Payments paid last month.
    pub payments_last_month: i64,
}

/// The overview of `staff`'s merchant over `range`.
pub async fn overview(
    state: &HostState,
    staff: &Staff,
    range: Range,
) -> Result<Overview, DomainError> {
    let store = state.store.as_ref();
    let m = &staff.merchant;
    let local = &staff.local;
    let prev = range.previous(local);
    let days = local_days(
        &store
            .day_totals(m, range.since, range.until, range.bucket())
            .await?,
        local,
    );
    let previous = money(
        &store
            .day_totals(m, prev.since, prev.until, prev.bucket())
            .await?,
    );
    Ok(Overview {
        range,
        money: money(&days),
        days,
        previous,
        funnel: store.funnel(m, range.since, range.until).await?,
        previous_funnel: store.funnel(m, prev.since, prev.until).await?,
        declines: store.decline_counts(m, range.since, range.until).await?,
        attacks: store
            .attack_periods(
                &state
                    .config
                    .campaigns
                    .iter()
                    .filter(|c| c.merchant == *m)
                    .map(|c| c.id.clone())
                    .collect::<Vec<_>>(),
                range.since,
                range.until,
            )
            .await?,
        blocked_now: store.blocked_now(m, state.clock.now()).await?,
        disputes: store.disputes_opened(m, range.since, range.until).await?,
        donors: store
            .donors(m, prev.since, range.since, range.until)
            .await?,
        recurring: store.recurring_figures(m, range.since, range.until).await?,
        recovered: store.recovered(m, range.since, range.until).await?,
        dispute_ratio: {
            let now = state.clock.now();
            let (this, last) = local.month_starts(now);
            let next = local.day_start(local.day(now) + 1);
            DisputeRatio {
                disputes: store.disputes_opened(m, this, next).await?,
                payments_this_month: store.funnel(m, this, next).await?.paid,
                payments_last_month: store.funnel(m, last, this).await?.paid,
            }
        },
    })
}

/// The payments list's filters, as its URL carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Filters {
    /// A session status (`paid`, `refunded`, …).
    #[serde(default)]
    pub status: Option<String>,
    /// A campaign id.
    #[serde(default)]
    pub campaign: Option<String>,
    /// A currency code.
    #[serde(default)]
    pub currency: Option<String>,
    /// The smallest total (decimal, in the currency).
    #[serde(default)]
    pub min: Option<String>,
    /// The largest total.
    #[serde(default)]
    pub max: Option<String>,
    /// The first day (`YYYY-MM-DD`).
    #[serde(default)]
    pub from: Option<String>,
    /// The last day.
    #[serde(default)]
    pub to: Option<String>,
    /// Email, name, session, payment, receipt, licence key or order reference.
    #[serde(default)]
    pub q: Option<String>,
    /// The cursor: `created.id` of the last row of the previous page.
    #[serde(default)]
    pub before: Option<String>,
    /// The merchant (staff of several).
    #[serde(default)]
    pub merchant: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Filters {
    /// The store's query for `staff`'s merchant; a filter that does not parse is an error that
    /// names it.
    pub fn query(&self, staff: &Staff, limit: u32) -> Result<PaymentQuery, DomainError> {
        let bad = |what: &str| DomainError::invalid(ErrorCode::InvalidRequest, what.to_owned());
        let status = match nonempty(&self.status) {
            None => None,
            Some(s) => Some(
                SessionStatus::ALL
                    .into_iter()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| bad("Unknown status."))?,
            ),
        };
        let currency = match nonempty(&self.currency) {
            None => None,
            Some(c) => Some(
                Currency::from_code(c)
                    .map_err(|_| bad("Unknown currency."))?
                    .code()
                    .to_owned(),
            ),
        };
        // Amounts need a currency to mean anything; without one they are read as two decimals.
        let minor = |text: &str| -> Result<i64, DomainError> {
            let c = Currency::from_code(currency.as_deref().unwrap_or("USD"))
                .map_err(|_| bad("Unknown currency."))?;
            Amount::parse(text, c, DecimalSeparator::Dot, ParseRules::default())
                .map(|a| a.minor())
                .map_err(|_| bad("An amount is not a number."))
        };
        let before = match nonempty(&self.before) {
            None => None,
            Some(c) => {
                let (t, id) = c.split_once('.').ok_or_else(|| bad("Bad page cursor."))?;
                Some((
                    t.parse().map_err(|_| bad("Bad page cursor."))?,
                    id.to_owned(),
                ))
            }
        };
        let local = &staff.local;
        let day = |t: &str| {
            local
                .parse_day(t)
                .ok_or_else(|| bad("A date is not YYYY-MM-DD."))
        };
        let min_total = nonempty(&self.min).map(minor).transpose()?;
        let max_total = nonempty(&self.max).map(minor).transpose()?;
        Ok(PaymentQuery {
            merchant: staff.merchant.clone(),
            status,
            campaign: nonempty(&self.campaign).map(str::to_owned),
            kind: None,
            currency,
            min_total,
            max_total,
            since: nonempty(&self.from)
                .map(day)
                .transpose()?
                .map(|d| local.day_start(d)),
            until: nonempty(&self.to)
                .map(day)
                .transpose()?
                .map(|d| local.day_start(d + 1)),
            search: nonempty(&self.q).and_then(crate::store::Search::parse),
            before,
            limit,
        })
    }

    /// The URL query of these filters without the cursor (for links and the CSV export).
    pub fn to_query(&self) -> String {
        let pairs = [
            ("merchant", &self.merchant),
            ("status", &self.status),
            ("campaign", &self.campaign),
            ("currency", &self.currency),
            ("min", &self.min),
            ("max", &self.max),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
        ];
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            if let Some(v) = nonempty(v) {
                out.append_pair(k, v);
            }
        }
        out.finish()
    }
}

/// One page of the payments list, and the cursor of the next page if there is one.
pub async fn payments(
    state: &HostState,
    staff: &Staff,
    filters: &Filters,
) -> Result<(Vec<SessionRow>, Option<String>), DomainError> {
    let mut q = filters.query(staff, PAGE_SIZE + 1)?;
    q.limit = PAGE_SIZE + 1;
    let mut rows = state.store.payments(&q).await?;
    let next = if rows.len() > PAGE_SIZE as usize {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|r| format!("{}.{}", r.created, r.id))
    } else {
        None
    };
    Ok((rows, next))
}

/// Every payment the filters select (no page), for the CSV export, in pages of 1,000 so a
/// large merchant's export never holds one long query.
pub async fn all_payments(
    state: &HostState,
    staff: &Staff,
    filters: &Filters,
) -> Result<Vec<SessionRow>, DomainError> {
    let mut q = filters.query(staff, 1000)?;
    q.before = None;
    let mut out = Vec::new();
    loop {
        let page = state.store.payments(&q).await?;
        let done = page.len() < 1000;
        q.before = page.last().map(|r| (r.created, r.id.clone()));
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return)
/// is written with a leading `'` (OWASP's CSV injection advice); the csv crate quotes the rest.
pub fn csv_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// The CSV export: one row per session, every column a treasurer reconciles with.
pub fn csv(rows: &[SessionRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "created_utc",
        "session",
        "campaign",
        "kind",
        "status",
        "currency",
        "amount_minor",
        "fee_covered_minor",
        "total_minor",
        "refunded_minor",
        "recurring",
        "email",
        "name",
        "payment_intent",
        "subscription",
    ]);
    for r in rows {
        let _ = w.write_record([
            crate::mail::civil_date(r.created),
            csv_cell(&r.id),
            csv_cell(&r.campaign),
            r.kind.as_str().to_owned(),
            r.status.as_str().to_owned(),
            r.currency.code().to_owned(),
            r.amount.to_string(),
            r.fee.to_string(),
            r.total().to_string(),
            r.amount_refunded.to_string(),
            r.frequency.as_str().to_owned(),
            csv_cell(r.email.as_deref().unwrap_or("")),
            csv_cell(r.name.as_deref().unwrap_or("")),
            csv_cell(r.payment_intent.as_deref().unwrap_or("")),
            csv_cell(r.subscription.as_deref().unwrap_or("")),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// One line of a payment's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When (unix seconds).
    pub at: i64,
    /// What happened.
    pub what: String,
}

/// One payment: its session, fulfilment, timeline (oldest first) and the audit log's lines.
#[derive(Clone, Debug)]
pub struct Payment {
    /// The session.
    pub session: SessionRow,
    /// What fulfilment issued.
    pub fulfilment: Option<FulfilmentRow>,
    /// The timeline.
    pub timeline: Vec<Event>,
}

/// A payment of `staff`'s merchant (another merchant's reads as not found).
pub async fn payment(state: &HostState, staff: &Staff, id: &str) -> Result<Payment, DomainError> {
    let store = state.store.as_ref();
    let session = store
        .session(id)
        .await?
        .filter(|s| s.merchant == staff.merchant)
        .ok_or(DomainError::NotFound("payment"))?;
    let fulfilment = store.fulfilment(id).await?;
    let mut timeline = vec![Event {
        at: session.created,
        what: format!(
            "Checkout started: {} ({})",
            staff
                .local
                .money(Amount::from_minor(session.total(), session.currency)),
            session.frequency.every()
        ),
    }];
    for a in store.attempts_of(id).await? {
        let outcome = a.outcome.as_deref().map_or("in progress", |o| {
            if o.contains("succeeded") {
                "succeeded"
            } else if o.contains("requires_action") {
                "bank check (3-D Secure)"
            } else if o.contains("declined") {
                "declined"
            } else {
                "processing"
            }
        });
        timeline.push(Event {
            at: a.created,
            what: format!("Pay attempt: {outcome}"),
        });
    }
    if let Some(code) = &session.decline_code {
        timeline.push(Event {
            at: session.created,
            what: format!(
                "Last decline: {} ({})",
                code.as_str(),
                if is_soft_decline(code.as_str()) {
                    "soft: a retry or another card may work"
                } else {
                    "hard: this card will not work"
                }
            ),
        });
    }
    if let Some(f) = &fulfilment {
        timeline.push(Event {
            at: f.created,
            what: match (&f.receipt_number, &f.license_key) {
                (Some(n), _) => format!("Receipt {n} issued"),
                (None, Some(_)) => "Licence key issued".into(),
                _ => "Fulfilled".into(),
            },
        });
    }
    for i in store.invoices(id).await? {
        timeline.push(Event {
            at: i.created,
            what: format!(
                "{} paid: {}{}",
                if i.is_first() {
                    "First invoice"
                } else {
                    "Renewal"
                },
                staff
                    .local
                    .money(Amount::from_minor(i.amount, session.currency)),
                i.reversed
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        });
    }
    for m in store.mails_of(id).await? {
        timeline.push(Event {
            at: m.created,
            what: format!(
                "Mail “{}” {}",
                m.subject,
                match m.sent {
                    1 => "sent",
                    0 => "waiting",
                    _ => "given up",
                }
            ),
        });
    }
    if session.amount_refunded > 0 {
        timeline.push(Event {
            at: session.created,
            what: format!(
                "Refunded so far: {}",
                staff.local.money(Amount::from_minor(
                    session.amount_refunded,
                    session.currency
                ))
            ),
        });
    }
    for (at, kind, delivered, pending, failed) in store.hooks_of(id).await? {
        let endpoints = delivered + pending + failed;
        timeline.push(Event {
            at,
            what: if endpoints == 0 {
                format!("Webhook {kind} (no endpoint wanted it)")
            } else {
                format!(
                    "Webhook {kind} to {endpoints} endpoint(s): {delivered} delivered, \
                     {pending} waiting, {failed} failed"
                )
            },
        });
    }
    for e in store.audit_of(id).await? {
        timeline.push(Event {
            at: e.at,
            what: if e.action == "note" {
                format!("Note by {}: {}", e.actor, e.detail)
            } else {
                format!("{} by {}: {}", e.action, e.actor, e.detail)
            },
        });
    }
    timeline.sort_by_key(|e| e.at);
    Ok(Payment {
        session,
        fulfilment,
        timeline,
    })
}

/// The longest staff note.
pub const NOTE_MAX: usize = 2000;

/// Adds a staff note to a payment's timeline (any staff member of its merchant, viewers
/// included: a note changes nothing but the log).
pub async fn add_note(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
    text: &str,
) -> Result<(), DomainError> {
    check_csrf(staff, csrf)?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > NOTE_MAX {
        return Err(DomainError::invalid(
            ErrorCode::InvalidRequest,
            format!("Write a note of 1 to {NOTE_MAX} characters."),
        ));
    }
    let p = payment(state, staff, id).await?;
    audit(state, staff, Some(&p.session.id), "note", text).await?;
    Ok(())
}

/// Why a refund is made (the gateway's reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    /// The customer asked.
    RequestedByCustomer,
    /// Paid twice.
    Duplicate,
    /// Not the cardholder.
    Fraudulent,
}

impl RefundReason {
    /// The gateway's word.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundReason::RequestedByCustomer => "requested_by_customer",
            RefundReason::Duplicate => "duplicate",
            RefundReason::Fraudulent => "fraudulent",
        }
    }

    /// The form's words.
    pub fn label(self) -> &'static str {
        match self {
            RefundReason::RequestedByCustomer => "The customer asked",
            RefundReason::Duplicate => "Paid twice",
            RefundReason::Fraudulent => "Fraud",
        }
    }

    /// Every reason, in the form's order.
    pub const ALL: [RefundReason; 3] = [
        RefundReason::RequestedByCustomer,
        RefundReason::Duplicate,
        RefundReason::Fraudulent,
    ];
}

/// Refunds `amount_text` (empty: everything not yet refunded) of a payment through the
/// gateway. Idempotent by `key` (the form's, one per page shown): a double submit refunds
/// once. Owners refund anything; support up to the merchant's `support_refund_limit`; viewers
/// nothing. The receipt, statement and licence follow from the gateway's `charge.refunded`
/// webhook, as for a refund made anywhere else. Returns the amount asked for.
#[allow(clippy::too_many_arguments)] // reason: one form's fields, each parsed at the boundary
pub async fn refund(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
    amount_text: &str,
    reason: RefundReason,
    key: &str,
) -> Result<Amount, DomainError> {
    check_csrf(staff, csrf)?;
    if !staff.may_act() {
        return Err(DomainError::Forbidden(
            "Viewers cannot refund. Ask an owner.".into(),
        ));
    }
    let s = state
        .store
        .session(id)
        .await?
        .filter(|s| s.merchant == staff.merchant)
        .ok_or(DomainError::NotFound("payment"))?;
    let paid = matches!(
        s.status,
        SessionStatus::Paid | SessionStatus::Fulfilled | SessionStatus::Disputed
    ) || (s.status == SessionStatus::Refunded && s.amount_refunded < s.total());
    let (true, Some(pi)) = (paid, s.payment_intent.as_deref()) else {
        return Err(DomainError::Refused {
            code: ErrorCode::InvalidRequest,
            message: "Only a paid payment can be refunded.".into(),
        });
    };
    let left = s.total() - s.amount_refunded;
    let amount = if amount_text.trim().is_empty() {
        left
    } else {
        Amount::parse(
            amount_text,
            s.currency,
            DecimalSeparator::Dot,
            ParseRules::default(),
        )
        .map_err(|e| DomainError::invalid(ErrorCode::InvalidRequest, e.to_string()))?
        .minor()
    };
    if amount <= 0 || amount > left {
        return Err(DomainError::invalid(
            ErrorCode::InvalidRequest,
            format!(
                "Refund between {} and {}.",
                Amount::from_minor(1, s.currency),
                Amount::from_minor(left, s.currency)
            ),
        ));
    }
    if staff.role == Role::Support {
        let limit = state
            .config
            .merchant(&s.merchant)
            .map_or(0, |m| m.support_refund_limit);
        if amount > limit {
            return Err(DomainError::Forbidden(format!(
                "Support may refund up to {}; ask an owner for more.",
                Amount::from_minor(limit, s.currency)
            )));
        }
    }
    let key: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    if key.len() < 16 {
        return Err(DomainError::invalid(
            ErrorCode::InvalidRequest,
            "This page has expired. Reload it and try again.",
        ));
    }
    crate::checkout::gateway_for(state, &s)?
        .post(
            "/v1/refunds",
            &[
                ("payment_intent", pi.to_owned()),
                ("amount", amount.to_string()),
                ("reason", reason.as_str().to_owned()),
                ("metadata[staff]", staff.email.clone()),
            ],
            &format!("pw_admin_refund_{}_{key}", s.id),
        )
        .await
        .map_err(|e| DomainError::GatewayUnavailable(format!("{e:?}")))?;
    let amount = Amount::from_minor(amount, s.currency);
    audit(
        state,
        staff,
        Some(&s.id),
        "refund",
        &format!("{amount} ({})", reason.label()),
    )
    .await?;
    Ok(amount)
}

/// Refuses a change whose form token is not this session's (a stale page, or another site).
pub fn check_csrf(staff: &Staff, csrf: &str) -> Result<(), DomainError> {
    if portal::same_token(csrf, &staff.csrf) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            ErrorCode::InvalidRequest,
            "This page has expired. Reload it and try again.",
        ))
    }
}

/// Appends a staff action to the audit log.
pub async fn audit(
    state: &HostState,
    staff: &Staff,
    session: Option<&str>,
    action: &str,
    detail: &str,
) -> Result<(), StoreError> {
    state
        .store
        .audit_append(&AuditEntry {
            merchant: staff.merchant.clone(),
            session_id: session.map(str::to_owned),
            actor: staff.email.clone(),
            action: action.to_owned(),
            detail: detail.to_owned(),
            at: state.clock.now(),
        })
        .await
}

/// Resends per payment per day: enough for "it went to spam", too few to flood a customer
/// from a staff account.
pub const RESENDS_PER_DAY: i64 = 3;

/// Sends the payment's receipt or licence mail again (owners and support; audited; at most
/// [`RESENDS_PER_DAY`] a day per payment, counted in one statement).
pub async fn resend(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
) -> Result<(), DomainError> {
    check_csrf(staff, csrf)?;
    if !staff.may_act() {
        return Err(DomainError::Forbidden(
            "Viewers cannot send mail. Ask an owner.".into(),
        ));
    }
    let p = payment(state, staff, id).await?;
    let Some(f) = &p.fulfilment else {
        return Err(DomainError::Refused {
            code: ErrorCode::InvalidRequest,
            message: "Nothing was issued for this payment yet.".into(),
        });
    };
    let now = state.clock.now();
    let day = now.div_euclid(86_400);
    let sent = state
        .store
        .count_hit(&format!("admin:resend:{id}@{day}"), (day + 1) * 86_400)
        .await?;
    if sent > RESENDS_PER_DAY {
        return Err(DomainError::Refused {
            code: ErrorCode::RateLimited,
            message: format!(
                "This payment's mail was sent again {RESENDS_PER_DAY} times today; try tomorrow."
            ),
        });
    }
    crate::billing::fulfil::resend(state, &p.session, f, now).await?;
    audit(
        state,
        staff,
        Some(id),
        "resend",
        &format!(
            "to {}",
            p.session.email.as_deref().unwrap_or("(no address)")
        ),
    )
    .await?;
    Ok(())
}

/// A licence as the activation doctor shows it.
#[derive(Clone, Debug)]
pub struct LicenceView {
    /// Its order (session).
    pub session: SessionRow,
    /// Its fulfilment (the key, revoked or not).
    pub fulfilment: Option<FulfilmentRow>,
    /// Seats allowed.
    pub seats: u16,
    /// The installations holding seats.
    pub installations: Vec<crate::store::Installation>,
    /// The last activation attempts, newest first, refused ones with their reason.
    pub attempts: Vec<crate::store::ActivationAttempt>,
}

/// The licences (newest first) of `staff`'s merchant matching `q` (a key, an email, an order
/// reference, a session id), or the newest ones.
pub async fn licences(
    state: &HostState,
    staff: &Staff,
    q: Option<&str>,
) -> Result<Vec<SessionRow>, DomainError> {
    let query = PaymentQuery {
        merchant: staff.merchant.clone(),
        kind: Some(paywidget_core::api::CampaignKind::License),
        search: q.and_then(crate::store::Search::parse),
        limit: PAGE_SIZE,
        ..PaymentQuery::default()
    };
    Ok(state.store.payments(&query).await?)
}

/// One licence of `staff`'s merchant: seats, installations, the last 50 attempts.
pub async fn licence(
    state: &HostState,
    staff: &Staff,
    id: &str,
) -> Result<LicenceView, DomainError> {
    let store = state.store.as_ref();
    let session = store
        .session(id)
        .await?
        .filter(|s| s.merchant == staff.merchant)
        .filter(|s| s.kind == paywidget_core::api::CampaignKind::License)
        .ok_or(DomainError::NotFound("licence"))?;
    let fulfilment = store.fulfilment(id).await?;
    let extra = fulfilment
        .as_ref()
        .map_or(0, |f| u16::try_from(f.extra_seats).unwrap_or(u16::MAX));
    Ok(LicenceView {
        seats: crate::licence::seats_for(state, &session).saturating_add(extra),
        fulfilment,
        installations: store.activations_seen(id).await?,
        attempts: store.activation_log(id, 50).await?,
        session,
    })
}

/// Frees one installation's seat (`Some`) or every seat (`None`) of a licence, for staff who
/// may act; audited.
pub async fn free_seats(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
    instance: Option<&str>,
) -> Result<u64, DomainError> {
    check_csrf(staff, csrf)?;
    if !staff.may_act() {
        return Err(DomainError::Forbidden(
            "Viewers cannot change licences. Ask an owner.".into(),
        ));
    }
    let l = licence(state, staff, id).await?;
    let freed = match instance {
        Some(instance) => u64::from(state.store.deactivate(&l.session.id, instance).await?),
        None => state.store.deactivate_all(&l.session.id).await?,
    };
    let detail = match instance {
        Some(i) => format!("freed the seat of {i}"),
        None => format!("freed all {freed} seats"),
    };
    audit(state, staff, Some(&l.session.id), "licence", &detail).await?;
    Ok(freed)
}

/// What support does to a licence from the activation doctor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LicenceCare {
    /// One more seat than the plan's.
    AddSeat,
    /// This many more days before it expires (a subscription: after its paid period and grace).
    Extend(i64),
    /// Refuse it until reinstated (activations and verification say "suspended").
    Suspend,
    /// Lift a suspension.
    Reinstate,
    /// For good (owners only): as a refund would.
    Revoke,
}

impl LicenceCare {
    /// From the form: `add_seat`, `extend` (with `days`, 1 to 366), `suspend`, `reinstate`,
    /// `revoke`.
    pub fn parse(action: &str, days: Option<&str>) -> Option<LicenceCare> {
        Some(match action {
            "add_seat" => LicenceCare::AddSeat,
            "extend" => {
                let d: i64 = days?.trim().parse().ok()?;
                if !(1..=366).contains(&d) {
                    return None;
                }
                LicenceCare::Extend(d)
            }
            "suspend" => LicenceCare::Suspend,
            "reinstate" => LicenceCare::Reinstate,
            "revoke" => LicenceCare::Revoke,
            _ => return None,
        })
    }
}

/// The most seats support may add to one licence (a compromised support account cannot hand
/// out a site licence).
pub const MAX_EXTRA_SEATS: i64 = 10;

/// Applies `care` to a licence (owners and support; revoking is the owners'); audited, and the
/// merchant's systems told of a revocation.
pub async fn care_for_licence(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
    care: LicenceCare,
) -> Result<String, DomainError> {
    check_csrf(staff, csrf)?;
    if !staff.may_act() || (care == LicenceCare::Revoke && staff.role != Role::Owner) {
        return Err(DomainError::Forbidden(
            "Your role cannot do this to a licence. Ask an owner.".into(),
        ));
    }
    let l = licence(state, staff, id).await?;
    let Some(_issued) = &l.fulfilment else {
        return Err(DomainError::Refused {
            code: ErrorCode::InvalidRequest,
            message: "No licence was issued for this order yet.".into(),
        });
    };
    let s = &l.session;
    let (message, detail) = match care {
        LicenceCare::AddSeat => {
            if !state
                .store
                .add_to_licence(&s.id, 1, 0, MAX_EXTRA_SEATS)
                .await?
            {
                return Err(DomainError::Refused {
                    code: ErrorCode::InvalidRequest,
                    message: format!(
                        "At most {MAX_EXTRA_SEATS} seats can be added; sell a bigger plan instead."
                    ),
                });
            }
            (
                format!("One seat added: {} now.", l.seats + 1),
                "added a seat".to_owned(),
            )
        }
        LicenceCare::Extend(days) => {
            state
                .store
                .add_to_licence(&s.id, 0, days, MAX_EXTRA_SEATS)
                .await?;
            (
                format!("Extended by {days} days."),
                format!("extended by {days} days"),
            )
        }
        LicenceCare::Suspend => {
            state.store.set_suspended(&s.id, true).await?;
            (
                "Suspended: activations and checks now say so.".to_owned(),
                "suspended".to_owned(),
            )
        }
        LicenceCare::Reinstate => {
            state.store.set_suspended(&s.id, false).await?;
            (
                "The suspension is lifted.".to_owned(),
                "reinstated".to_owned(),
            )
        }
        LicenceCare::Revoke => {
            let mut tx = state.store.begin().await?;
            crate::billing::fulfil::revoke(state, tx.as_mut(), s, "revoked by the seller").await?;
            tx.commit().await?;
            crate::hooks::wake(state);
            ("Revoked for good.".to_owned(), "revoked".to_owned())
        }
    };
    audit(state, staff, Some(&s.id), "licence", &detail).await?;
    Ok(message)
}

/// What a refused activation's reason means, for support.
pub fn refusal_words(reason: Option<&str>) -> &'static str {
    match reason {
        Some("seats_exhausted") => "every seat was in use by other installations",
        Some("license_revoked") => "the licence is revoked (refunded or disputed)",
        Some("license_expired") => "the licence has expired (or its subscription lapsed)",
        Some("license_suspended") => "the licence is suspended (lift it on this page)",
        Some("invalid_instance") => "the app sent an unusable instance id",
        Some("invalid_license") => "not a key we signed",
        Some(_) => "refused",
        None => "",
    }
}

/// A fresh form key (refund idempotency): 128 random bits, hex.
pub fn form_key() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source");
    hex::encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_ranges_compare_with_the_period_before() {
        let utc = Local::utc();
        assert_eq!(parse_day("1970-01-02"), Some(86_400));
        assert_eq!(parse_day("2026-12-07"), Some(1_796_601_600));
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(parse_day("tomorrow"), None);
        let now = 1_796_601_600 + 3600;
        let r = Range::parse(None, None, now, &utc).unwrap();
        assert_eq!((r.days(), r.until), (30, 1_796_601_600 + 86_400));
        let r = Range::parse(Some("2026-12-01"), Some("2026-12-07"), now, &utc).unwrap();
        assert_eq!(r.days(), 7);
        assert_eq!(r.previous(&utc).days(), 7);
        assert_eq!(r.previous(&utc).until, r.since);
        assert!(Range::parse(Some("2026-12-08"), Some("2026-12-07"), now, &utc).is_err());
        assert!(Range::parse(Some("2020-01-01"), Some("2026-12-07"), now, &utc).is_err());
    }

    #[test]
    fn ranges_are_local_days() {
        let ny = Local::new("America/New_York", None).unwrap();
        // 01:00 UTC on 2026-12-07 is still the 6th in New York: the default range ends there.
        let now = 1_796_601_600 + 3600;
        let r = Range::parse(None, None, now, &ny).unwrap();
        assert_eq!(r.until, 1_796_601_600 + 5 * 3600);
        assert_eq!(r.days(), 30);
        // March 2026 holds the spring-forward day: 31 days, one hour short.
        let march = Range::parse(Some("2026-03-01"), Some("2026-03-31"), now, &ny).unwrap();
        assert_eq!(march.until - march.since, 31 * 86_400 - 3600);
        // Its figures are read by quarter hour; a range of 24-hour days, by day.
        assert_eq!(march.bucket(), 900);
        assert_eq!(r.bucket(), 86_400);
        assert_eq!(march.previous(&ny).until, march.since);
        // Quarter hours fold into the local day they fall in.
        let bucket = |at: i64| DayTotal {
            day: at,
            currency: "USD".into(),
            payments: 1,
            gross: 100,
            refunded: 0,
        };
        let days = local_days(
            &[bucket(now - 900), bucket(now), bucket(now + 5 * 3600)],
            &ny,
        );
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].day, days[0].payments), (ny.day(now), 2));
        assert_eq!(days[1].day, ny.day(now) + 1);
    }

    #[test]
    fn spreadsheet_formulas_are_defused() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("Ada"), "Ada");
        let row = SessionRow {
            name: Some("=1+2".into()),
            email: Some("a,b@example.org".into()),
            ..SessionRow::example()
        };
        let out = csv(&[row]);
        assert!(out.contains("'=1+2"), "{out}");
        assert!(out.contains("\"a,b@example.org\""), "quoted: {out}");
    }

    #[test]
    fn rates_and_declines() {
        assert_eq!(rate(1, 3), "33.3 %");
        assert_eq!(rate(0, 0), "–");
        assert!(is_soft_decline("insufficient_funds"));
        assert!(!is_soft_decline("stolen_card"));
    }
}
