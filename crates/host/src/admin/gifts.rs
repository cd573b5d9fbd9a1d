//! The dashboard's recurring gifts and subscriptions: the list (needing attention, running,
//! ended — the lapsed donors) with the monthly recurring revenue, and on a gift's payment page
//! the donor's own actions taken for them by owners and support — pause, resume, end at the
//! period's end, keep, change the amount — plus mailing the update-card link. The portal's
//! rules apply (what a gift offers, the raise cap), the donor is told of each change, and each is
//! audited.

use paywidget_core::api::{ErrorCode, Frequency};
use paywidget_core::money::{Amount, Currency};

use super::Staff;
use crate::portal::{self, ChangedBy, GiftAction};
use crate::store::{NewMail, SessionRow, SubscriptionStatus};
use crate::support::error::DomainError;
use crate::HostState;

/// Update-card links mailed per gift per day from the dashboard.
pub const CARD_LINKS_PER_DAY: i64 = 3;

/// The merchant's recurring gifts, sorted for the list.
#[derive(Clone, Debug, Default)]
pub struct Gifts {
    /// Past due, unpaid or paused: someone should look.
    pub attention: Vec<SessionRow>,
    /// Running.
    pub active: Vec<SessionRow>,
    /// Ended (the lapsed donors).
    pub ended: Vec<SessionRow>,
    /// Renewals whose first charge failed in the last 30 days, and how many of them were paid
    /// since (the dunning figures).
    pub dunning: (i64, i64),
    /// Monthly recurring revenue of the running ones per currency (yearly gifts count a
    /// twelfth), as Stripe counts it: what the active subscriptions will bring in a month.
    pub mrr: Vec<(Currency, i64)>,
}

/// The monthly amount a running gift brings.
fn monthly(s: &SessionRow) -> i64 {
    let amount = s.next_amount.unwrap_or(s.amount);
    match s.frequency {
        Frequency::Monthly => amount,
        Frequency::Yearly => amount / 12,
        _ => 0,
    }
}

/// The merchant's recurring gifts (at most the newest 1,000).
pub async fn list(state: &HostState, staff: &Staff) -> Result<Gifts, DomainError> {
    let now = state.clock.now();
    let mut g = Gifts {
        dunning: state
            .store
            .dunning(&staff.merchant, now - 30 * 86_400, now + 1)
            .await?,
        ..Gifts::default()
    };
    for s in state.store.recurring(&staff.merchant, 1000).await? {
        match s.subscription_status {
            Some(st) if st.is_final() => g.ended.push(s),
            Some(SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid) => g.attention.push(s),
            _ if s.paused => g.attention.push(s),
            _ => {
                if let Some(e) = g.mrr.iter_mut().find(|(c, _)| *c == s.currency) {
                    e.1 += monthly(&s);
                } else {
                    g.mrr.push((s.currency, monthly(&s)));
                }
                g.active.push(s);
            }
        }
    }
    Ok(g)
}

/// What staff may do to a gift, read from the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffAction {
    /// One of the donor's own actions.
    Gift(GiftAction),
    /// Mail the donor the update-card link.
    SendCardLink,
}

impl StaffAction {
    /// The form's value (`pause`, `unpause`, `cancel`, `resume`, `amount`, `card_link`).
    pub fn parse(s: &str) -> Option<StaffAction> {
        Some(match s {
            "pause" => StaffAction::Gift(GiftAction::Pause),
            "unpause" => StaffAction::Gift(GiftAction::Unpause),
            "cancel" => StaffAction::Gift(GiftAction::Cancel),
            "resume" => StaffAction::Gift(GiftAction::Resume),
            "amount" => StaffAction::Gift(GiftAction::Amount),
            "card_link" => StaffAction::SendCardLink,
            _ => return None,
        })
    }
}

/// Does `action` to the recurring gift of payment `id` for its donor: what to tell staff.
pub async fn act(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
    action: &str,
    amount: Option<&str>,
    frequency: Option<&str>,
) -> Result<String, DomainError> {
    super::check_csrf(staff, csrf)?;
    if !staff.may_act() {
        return Err(DomainError::Forbidden(
            "Viewers cannot change gifts. Ask an owner or support.".into(),
        ));
    }
    let Some(action) = StaffAction::parse(action) else {
        return Err(DomainError::invalid(
            ErrorCode::InvalidRequest,
            "Unknown action.",
        ));
    };
    let s = super::payment(state, staff, id).await?.session;
    if s.subscription.is_none() {
        return Err(DomainError::NotFound("recurring gift"));
    }
    let message = match action {
        StaffAction::Gift(GiftAction::Pause) => {
            portal::pause_gift(state, &s, true, ChangedBy::Staff).await?;
            "Paused; the donor was told.".to_owned()
        }
        StaffAction::Gift(GiftAction::Unpause) => {
            portal::pause_gift(state, &s, false, ChangedBy::Staff).await?;
            "Collecting again from the next period; the donor was told.".to_owned()
        }
        StaffAction::Gift(GiftAction::Cancel) => {
            portal::end_gift(state, &s, true, ChangedBy::Staff).await?;
            "Ends at the end of this period; the donor was told.".to_owned()
        }
        StaffAction::Gift(GiftAction::Resume) => {
            portal::end_gift(state, &s, false, ChangedBy::Staff).await?;
            "Renews as before; the donor was told.".to_owned()
        }
        StaffAction::Gift(GiftAction::Amount) => {
            let frequency = match frequency.filter(|f| !f.is_empty()) {
                Some(f) => Some(Frequency::parse(f).ok_or_else(|| {
                    DomainError::invalid(ErrorCode::InvalidRequest, "Unknown frequency.")
                })?),
                None => None,
            };
            portal::change_gift(
                state,
                &s,
                amount.unwrap_or_default(),
                frequency,
                ChangedBy::Staff,
            )
            .await?;
            "Changed from the next gift on; the donor was told.".to_owned()
        }
        StaffAction::SendCardLink => {
            send_card_link(state, &s).await?;
            "The update-card link was mailed to the donor.".to_owned()
        }
    };
    let detail = match (action, amount) {
        (StaffAction::Gift(GiftAction::Amount), Some(a)) => {
            format!("gift_amount {a} {}", frequency.unwrap_or(""))
        }
        (StaffAction::Gift(a), _) => format!("gift_{}", a.as_str()),
        (StaffAction::SendCardLink, _) => "gift_card_link".into(),
    };
    super::audit(state, staff, Some(&s.id), "gift", &detail).await?;
    Ok(message)
}

/// Mails the donor the update-card link (a few a day per gift, so a staff account cannot
/// flood a donor).
async fn send_card_link(state: &HostState, s: &SessionRow) -> Result<(), DomainError> {
    let Some(to) = &s.email else {
        return Err(DomainError::Refused {
            code: ErrorCode::InvalidRequest,
            message: "This gift has no email to send the link to.".into(),
        });
    };
    let now = state.clock.now();
    let day = now.div_euclid(86_400);
    let sent = state
        .store
        .count_hit(
            &format!("admin:card_link:{}@{day}", s.id),
            (day + 1) * 86_400,
        )
        .await?;
    if sent > CARD_LINKS_PER_DAY {
        return Err(DomainError::Limited);
    }
    let title = state
        .config
        .campaign(&s.campaign)
        .map_or_else(|| s.campaign.clone(), |c| c.title.clone());
    let link = crate::billing::update_card::link(state, &s.id, &s.campaign);
    let mut tx = state.store.begin().await?;
    tx.queue_mail(&NewMail {
        session_id: s.id.clone(),
        to: to.clone(),
        subject: format!("Update the card for your gift to {title}"),
        body: crate::billing::fulfil::with_portal(
            state,
            format!(
                "Hello,\n\nto keep your gift of {} {} going, give your new card here (the link \
                 works for 7 days; a period that could not be charged is paid at once):\n{link}\n",
                Amount::from_minor(s.next_amount.unwrap_or(s.amount), s.currency),
                s.frequency.every()
            ),
        ),
        created: now,
    })
    .await?;
    tx.commit().await?;
    crate::mail::wake(state);
    Ok(())
}
