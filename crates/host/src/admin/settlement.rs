//! Settlement: the gateway's payouts to the merchant's bank per day and currency (gross, fees,
//! refunds, disputes, net), each balance transaction matched to this host's payments through
//! its payment intent (a renewal's through the gateway's invoice payments), with what does not
//! match listed, and the merchant's payments not yet paid out.

use std::collections::HashSet;

use crate::gateway::objects::{BalanceTransaction, InvoicePayment, List, Payout};
use crate::gateway::Gateway;
use crate::store::SessionRow;
use crate::support::error::DomainError;
use crate::HostState;

use super::{Range, Staff};

/// The most payouts one view reads (a year of daily payouts in two currencies fits).
const MAX_PAYOUTS: usize = 800;

/// One balance transaction of a payout, matched or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The payout it is in.
    pub payout: String,
    /// `txn_…`.
    pub txn: String,
    /// `charge`, `refund`, `dispute`…
    pub category: String,
    /// Its source (`ch_…`, `re_…`, `dp_…`).
    pub source: String,
    /// Gross, fee, net (minor units).
    pub amount: i64,
    /// The gateway's fee.
    pub fee: i64,
    /// What it adds to the payout.
    pub net: i64,
    /// The merchant's payment it belongs to.
    pub session: Option<String>,
    /// Why it does not match, if it does not.
    pub problem: Option<String>,
}

/// One payout with its figures and lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutView {
    /// The gateway's payout.
    pub payout: Payout,
    /// Charges' gross.
    pub gross: i64,
    /// Fees.
    pub fees: i64,
    /// Refunds (negative).
    pub refunds: i64,
    /// Disputes (negative).
    pub disputes: i64,
    /// The lines' nets added up (equal to the payout's amount when nothing is missing).
    pub net: i64,
    /// Its lines.
    pub lines: Vec<Line>,
}

/// The settlement of a date range (of arrival dates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// The payouts arriving in the range, newest first.
    pub payouts: Vec<PayoutView>,
    /// Lines that match no payment of this merchant, or not its amount, and payouts whose
    /// lines do not add up.
    pub problems: Vec<(String, String)>,
    /// The merchant's paid payments of the range (and the two days before) that no payout
    /// has brought to the bank yet (none holds them, or theirs is still pending).
    pub not_paid_out: Vec<SessionRow>,
}

/// The settlement of `range` (payouts by arrival day) for the staff member's merchant.
pub async fn settlement(
    state: &HostState,
    staff: &Staff,
    range: Range,
) -> Result<Settlement, DomainError> {
    let m = state
        .config
        .merchant(&staff.merchant)
        .ok_or_else(|| DomainError::Internal("merchant gone".into()))?;
    let gateway = Gateway::new(state.http.clone(), &m.gateway_url, &m.secret_key)
        .with_stats(state.gateway_stats.clone());
    let unavailable =
        |e: crate::gateway::GatewayError| DomainError::GatewayUnavailable(format!("{e:?}"));
    let mut payouts: Vec<Payout> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!(
            "/v1/payouts?limit=100&arrival_date[gte]={}&arrival_date[lt]={}",
            range.since, range.until
        );
        if let Some(a) = &after {
            path.push_str(&format!("&starting_after={a}"));
        }
        let page: List<Payout> = gateway.get_as(&path).await.map_err(unavailable)?;
        after = page.data.last().map(|p| p.id.clone());
        payouts.extend(
            page.data
                .into_iter()
                .filter(|p| p.arrival_date >= range.since && p.arrival_date < range.until),
        );
        if !page.has_more || after.is_none() || payouts.len() >= MAX_PAYOUTS {
            break;
        }
    }
    let mut views = Vec::with_capacity(payouts.len());
    let mut problems = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for payout in payouts {
        let txns = transactions(&gateway, &payout.id)
            .await
            .map_err(unavailable)?;
        let mut view = PayoutView {
            gross: 0,
            fees: 0,
            refunds: 0,
            disputes: 0,
            net: 0,
            lines: Vec::with_capacity(txns.len()),
            payout,
        };
        for t in txns {
            let (session, problem) = match_line(state, &gateway, &staff.merchant, &t).await?;
            match t.reporting_category.as_str() {
                "charge" => view.gross += t.amount,
                "refund" => view.refunds += t.amount,
                "dispute" => view.disputes += t.amount,
                _ => {}
            }
            view.fees += t.fee;
            view.net += t.net;
            // Paid out means in a payout that has arrived, not one still pending.
            if let (Some(s), "charge", "paid") = (
                &session,
                t.reporting_category.as_str(),
                view.payout.status.as_str(),
            ) {
                seen.insert(s.clone());
            }
            if let Some(p) = &problem {
                problems.push((t.id.clone(), p.clone()));
            }
            view.lines.push(Line {
                payout: view.payout.id.clone(),
                txn: t.id.clone(),
                category: t.reporting_category.clone(),
                source: t
                    .source
                    .as_ref()
                    .map(|s| s.id().to_owned())
                    .unwrap_or_default(),
                amount: t.amount,
                fee: t.fee,
                net: t.net,
                session,
                problem,
            });
        }
        if view.net != view.payout.amount {
            problems.push((
                view.payout.id.clone(),
                format!(
                    "the payout is {} but its transactions add up to {}",
                    view.payout.amount, view.net
                ),
            ));
        }
        views.push(view);
    }
    // The merchant's payments of the two days before the range on: paid out in it, or not yet.
    let paid_from = range.since - 3 * 86_400;
    let mut not_paid_out = Vec::new();
    use paywidget_core::api::SessionStatus;
    for status in [
        SessionStatus::Paid,
        SessionStatus::Fulfilled,
        SessionStatus::Refunded,
        SessionStatus::Disputed,
    ] {
        let q = crate::store::PaymentQuery {
            merchant: staff.merchant.clone(),
            status: Some(status),
            since: Some(paid_from),
            until: Some(range.until),
            limit: 1000,
            ..Default::default()
        };
        for s in state.store.payments(&q).await? {
            if !seen.contains(&s.id) && s.created >= range.since - 2 * 86_400 {
                not_paid_out.push(s);
            }
        }
    }
    not_paid_out.sort_by_key(|s| std::cmp::Reverse(s.created));
    Ok(Settlement {
        payouts: views,
        problems,
        not_paid_out,
    })
}

/// Every balance transaction of `payout`, sources expanded.
async fn transactions(
    gateway: &Gateway,
    payout: &str,
) -> Result<Vec<BalanceTransaction>, crate::gateway::GatewayError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path =
            format!("/v1/balance_transactions?payout={payout}&limit=100&expand[]=data.source");
        if let Some(a) = &after {
            path.push_str(&format!("&starting_after={a}"));
        }
        let page: List<BalanceTransaction> = gateway.get_as(&path).await?;
        after = page.data.last().map(|t| t.id.clone());
        out.extend(page.data);
        if !page.has_more || after.is_none() {
            return Ok(out);
        }
    }
}

/// The merchant's payment a line belongs to, and why it does not match if it does not.
async fn match_line(
    state: &HostState,
    gateway: &Gateway,
    merchant: &str,
    t: &BalanceTransaction,
) -> Result<(Option<String>, Option<String>), DomainError> {
    let Some(pi) = t.source.as_ref().and_then(|s| s.payment_intent()) else {
        return Ok((
            None,
            Some("no payment named (not a payment of the checkout)".into()),
        ));
    };
    let (session, expected) = match state.store.session_by_payment_intent(pi).await? {
        Some(s) => {
            let total = s.total();
            (Some(s), total)
        }
        None => {
            // A renewal: the gateway says which invoice the payment paid.
            let path = format!(
                "/v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]={pi}&limit=1"
            );
            let invoice = gateway
                .get_as::<List<InvoicePayment>>(&path)
                .await
                .map_err(|e| DomainError::GatewayUnavailable(format!("{e:?}")))?
                .data
                .into_iter()
                .next()
                .map(|p| p.invoice);
            let row = match invoice {
                Some(id) => state.store.invoice(&id).await?,
                None => None,
            };
            match row {
                Some(inv) => {
                    let s = state.store.session(&inv.session_id).await?;
                    (s, inv.amount)
                }
                None => (None, 0),
            }
        }
    };
    let Some(session) = session.filter(|s| s.merchant == merchant) else {
        return Ok((
            None,
            Some(format!("{pi} is no payment of this merchant's checkouts")),
        ));
    };
    let problem = (t.reporting_category == "charge" && t.amount != expected).then(|| {
        format!(
            "the gateway charged {} but the payment was for {expected}",
            t.amount
        )
    });
    Ok((Some(session.id), problem))
}

/// The settlement as CSV: one row per balance transaction, with its payout and its match.
/// Text cells a spreadsheet would run as a formula are defused; amounts stay numbers.
pub fn csv(s: &Settlement) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "payout",
        "arrival_date_utc",
        "payout_status",
        "currency",
        "transaction",
        "category",
        "source",
        "amount_minor",
        "fee_minor",
        "net_minor",
        "session",
        "problem",
    ]);
    for p in &s.payouts {
        for l in &p.lines {
            let _ = w.write_record([
                super::csv_cell(&p.payout.id),
                crate::mail::civil_date(p.payout.arrival_date),
                super::csv_cell(&p.payout.status),
                super::csv_cell(&p.payout.currency),
                super::csv_cell(&l.txn),
                super::csv_cell(&l.category),
                super::csv_cell(&l.source),
                l.amount.to_string(),
                l.fee.to_string(),
                l.net.to_string(),
                super::csv_cell(l.session.as_deref().unwrap_or("")),
                super::csv_cell(l.problem.as_deref().unwrap_or("")),
            ]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
