//! The customer portal's domain: sign-in by email (one mail with a single-use magic link *and* a
//! 6-digit code, 15 minutes; only hashes stored; per-address limits), portal sessions with a
//! CSRF token each, and what a signed-in customer may see and change — only their own payments,
//! licences and subscriptions.

pub mod pages;

use sha2::{Digest, Sha256};

use crate::mail::EmailAddress;
use crate::store::{NewMail, PortalLogin, SessionRow, SubscriptionStatus};
use crate::support::error::DomainError;
use crate::{licence, HostState};
use paywidget_core::api::{CampaignKind, ErrorCode, SessionStatus};

/// How far one portal change may raise a recurring gift: to this many times what it gives in a
/// year now.
pub const MAX_RAISE_FACTOR: i64 = 3;

/// How long a sign-in link and code work.
pub const LOGIN_TTL_SECS: i64 = 15 * 60;
/// How long a portal session lasts.
pub const SESSION_TTL_SECS: i64 = 7 * 24 * 3600;

/// The portal cookie's name.
pub const COOKIE: &str = "pw_portal";

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the OS random source");
    hex::encode(b)
}

fn random_code() -> String {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("the OS random source");
    format!("{:06}", u32::from_be_bytes(b) % 1_000_000)
}

/// The stored form of a sign-in code: an HMAC keyed with the host's sign-in-code key (derived
/// from the host's secret, which the database does not hold), so a copy of the database cannot
/// try the million codes.
fn code_hash(state: &HostState, email: &str, code: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&state.keys.portal_codes)
        .expect("HMAC takes any key length");
    mac.update(email.as_bytes());
    mac.update(&[0]);
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison (CSRF tokens).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Sign-in mails per address per hour, per requester network (more are silently not sent:
/// the answer never says whether an address is known).
pub const LOGINS_PER_HOUR: i64 = 5;
/// Sign-in mails per address per day, whoever asks.
pub const LOGINS_PER_DAY: i64 = 12;
/// Sign-in mails one requester (an IPv4 address or IPv6 /64) may ask for per hour, any addresses.
pub const REQUESTS_PER_HOUR: i64 = 10;
/// Code guesses per address per day (the link still works past it).
pub const GUESSES_PER_DAY: i64 = 20;
/// Code guesses per requester per day, and per requester network (/24, /48) per day.
pub const GUESSES_PER_CLIENT_DAY: i64 = 30;
/// … per network.
pub const GUESSES_PER_NETWORK_DAY: i64 = 100;

/// Counts one hit of `key` in the current window of `secs` seconds: whether it is within
/// `limit`. One statement (increment, then judge), so hits in flight together are all counted.
async fn within(
    state: &HostState,
    key: &str,
    secs: i64,
    limit: i64,
    now: i64,
) -> Result<bool, DomainError> {
    let window = now.div_euclid(secs);
    let hits = state
        .store
        .count_hit(&format!("{key}@{secs}:{window}"), (window + 1) * secs)
        .await?;
    Ok(hits <= limit)
}

/// Who signs in through this mechanism: customers to the portal, or merchant staff to the
/// dashboard. The two never share a login or a session: a staff principal is stored as
/// `staff:<address>`, which no customer address can be, and each side refuses the other's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Realm {
    /// A customer, to `/portal`.
    Customer,
    /// Merchant staff, to `/admin`.
    Staff,
}

impl Realm {
    /// What the logins, sessions and counters store for `address`.
    pub fn principal(self, address: &str) -> String {
        match self {
            Realm::Customer => address.to_owned(),
            Realm::Staff => format!("staff:{address}"),
        }
    }

    /// The address of a stored principal, if it belongs to this realm.
    pub fn address(self, principal: &str) -> Option<&str> {
        match (self, principal.strip_prefix("staff:")) {
            (Realm::Customer, None) => Some(principal),
            (Realm::Staff, Some(address)) => Some(address),
            _ => None,
        }
    }

    fn login_path(self) -> &'static str {
        match self {
            Realm::Customer => "/portal/login",
            Realm::Staff => "/admin/login",
        }
    }
}

/// Whether `address` is on any merchant's staff list.
pub fn is_staff(state: &HostState, address: &str) -> bool {
    state
        .config
        .merchants
        .iter()
        .any(|m| m.staff.iter().any(|s| s.email.to_string() == address))
}

/// Sends the sign-in mail (unless the address or the requester asked too often). The answer is
/// the same either way and whether or not the address has paid anything; only a requester over
/// its own limit is told to slow down.
pub async fn request_sign_in(
    state: &HostState,
    email: &str,
    requester: Option<std::net::IpAddr>,
) -> Result<EmailAddress, DomainError> {
    request_sign_in_in(state, Realm::Customer, email, requester).await
}

/// [`request_sign_in`] for `realm`: staff get a mail only if a merchant lists them (the answer
/// is the same either way).
pub async fn request_sign_in_in(
    state: &HostState,
    realm: Realm,
    email: &str,
    requester: Option<std::net::IpAddr>,
) -> Result<EmailAddress, DomainError> {
    let email = EmailAddress::parse(&email.trim().to_lowercase()).map_err(|_| {
        DomainError::invalid(ErrorCode::InvalidEmail, "Enter a valid email address.")
    })?;
    let bare = email.to_string();
    if bare.contains('<') {
        // A display name ("a <b@c>") would count as another address: bare addresses only.
        return Err(DomainError::invalid(
            ErrorCode::InvalidEmail,
            "Enter just the email address.",
        ));
    }
    let address = realm.principal(&bare);
    let now = state.clock.now();
    let (client, network) = match requester {
        Some(ip) => (
            crate::support::client_ip::limit_text(ip),
            crate::shield::network_of(ip),
        ),
        None => ("unknown".to_owned(), "unknown".to_owned()),
    };
    if !within(
        state,
        &format!("signin:req:{client}"),
        3600,
        REQUESTS_PER_HOUR,
        now,
    )
    .await?
    {
        return Err(DomainError::Limited);
    }
    // Per address *and* requester network: an outsider spends only its own share of an
    // address's hourly mails, not the owner's.
    let hourly = within(
        state,
        &format!("signin:mail:{address}:{network}"),
        3600,
        LOGINS_PER_HOUR,
        now,
    )
    .await?;
    if !hourly
        || !within(
            state,
            &format!("signin:mail:{address}"),
            86_400,
            LOGINS_PER_DAY,
            now,
        )
        .await?
    {
        tracing::warn!("portal sign-in limit reached for an address; no mail sent");
        return Ok(email);
    }
    if realm == Realm::Staff && !is_staff(state, &bare) {
        return Ok(email);
    }
    let (token, code) = (random_hex(32), random_code());
    state
        .store
        .insert_portal_login(&PortalLogin {
            token_hash: sha256_hex(&token),
            email: address.clone(),
            code_hash: code_hash(state, &address, &code),
            expires: now + LOGIN_TTL_SECS,
            created: now,
        })
        .await?;
    let link = format!("{}{}?token={token}", state.public_url, realm.login_path());
    let what = match realm {
        Realm::Customer => "see your receipts, licence keys and subscriptions",
        Realm::Staff => "open your dashboard",
    };
    let mut tx = state.store.begin().await?;
    tx.queue_mail(&NewMail {
        session_id: "portal".into(),
        to: bare,
        subject: format!("Your sign-in code: {code}"),
        body: format!(
            "Sign in to {what}:\n\n{link}\n\n\
             Or enter this code on the sign-in page: {code}\n\n\
             The link and the code work once, for 15 minutes. If you did not ask to sign in, \
             ignore this email.\n"
        ),
        created: now,
    })
    .await?;
    tx.commit().await?;
    crate::mail::wake(state);
    Ok(email)
}

/// A new portal session for `email`: the cookie value (its hash is stored).
async fn open_session(state: &HostState, email: &str) -> Result<String, DomainError> {
    let (id, csrf) = (random_hex(32), random_hex(16));
    let now = state.clock.now();
    state
        .store
        .insert_portal_session(&sha256_hex(&id), email, &csrf, now + SESSION_TTL_SECS, now)
        .await?;
    Ok(id)
}

fn not_valid() -> DomainError {
    DomainError::invalid(
        ErrorCode::InvalidRequest,
        "This sign-in link or code is not valid any more. Ask for a new one.",
    )
}

/// Signs in with the link's token (once).
pub async fn sign_in_with_token(state: &HostState, token: &str) -> Result<String, DomainError> {
    sign_in_with_token_in(state, Realm::Customer, token).await
}

/// [`sign_in_with_token`] for `realm` (another realm's link is not valid here).
pub async fn sign_in_with_token_in(
    state: &HostState,
    realm: Realm,
    token: &str,
) -> Result<String, DomainError> {
    let principal = state
        .store
        .take_portal_login_by_token(&sha256_hex(token), state.clock.now())
        .await?
        .ok_or_else(not_valid)?;
    if realm.address(&principal).is_none() {
        return Err(not_valid());
    }
    open_session(state, &principal).await
}

/// A one-time sign-in link for `address` in `realm`, without mail (the CLI's first setup). It
/// works once, for [`LOGIN_TTL_SECS`].
pub async fn one_time_link(
    state: &HostState,
    realm: Realm,
    address: &str,
) -> Result<String, DomainError> {
    let principal = realm.principal(address);
    let now = state.clock.now();
    let token = random_hex(32);
    state
        .store
        .insert_portal_login(&PortalLogin {
            token_hash: sha256_hex(&token),
            email: principal.clone(),
            // A code no one knows: this login is for its link only.
            code_hash: code_hash(state, &principal, &random_hex(16)),
            expires: now + LOGIN_TTL_SECS,
            created: now,
        })
        .await?;
    Ok(format!(
        "{}{}?token={token}",
        state.public_url,
        realm.login_path()
    ))
}

/// Signs in with the mail's 6-digit code (once; at most 5 tries per mail, each spent before it
/// is compared; at most [`GUESSES_PER_DAY`] a day for an address and fewer per requester).
pub async fn sign_in_with_code(
    state: &HostState,
    email: &str,
    code: &str,
    requester: Option<std::net::IpAddr>,
) -> Result<String, DomainError> {
    sign_in_with_code_in(state, Realm::Customer, email, code, requester).await
}

/// [`sign_in_with_code`] for `realm`.
pub async fn sign_in_with_code_in(
    state: &HostState,
    realm: Realm,
    email: &str,
    code: &str,
    requester: Option<std::net::IpAddr>,
) -> Result<String, DomainError> {
    let email = realm.principal(
        &EmailAddress::parse(&email.trim().to_lowercase())
            .map_err(|_| not_valid())?
            .to_string(),
    );
    let code: String = code.chars().filter(char::is_ascii_digit).collect();
    let now = state.clock.now();
    let day = 86_400;
    if !within(
        state,
        &format!("signin:guess:{email}"),
        day,
        GUESSES_PER_DAY,
        now,
    )
    .await?
    {
        tracing::warn!("portal: daily code guesses for an address used up");
        return Err(DomainError::Limited);
    }
    if let Some(ip) = requester {
        let client = crate::support::client_ip::limit_text(ip);
        let network = crate::shield::network_of(ip);
        let ok = within(
            state,
            &format!("signin:guess:ip:{client}"),
            day,
            GUESSES_PER_CLIENT_DAY,
            now,
        )
        .await?
            && within(
                state,
                &format!("signin:guess:net:{network}"),
                day,
                GUESSES_PER_NETWORK_DAY,
                now,
            )
            .await?;
        if !ok {
            tracing::warn!("portal: daily code guesses of a requester used up");
            return Err(DomainError::Limited);
        }
    }
    let wanted = code_hash(state, &email, &code);
    let open = state.store.portal_guess(&email, now).await?;
    let Some((token_hash, _)) = open.iter().find(|(_, hash)| same(hash, &wanted)) else {
        return Err(not_valid());
    };
    if !state.store.take_portal_login(token_hash, now).await? {
        return Err(not_valid());
    }
    open_session(state, &email).await
}

/// A signed-in customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    /// Their address (what owns their payments).
    pub email: String,
    /// This session's CSRF token (every change must carry it).
    pub csrf: String,
    id_hash: String,
}

/// The customer behind a cookie value, if the session is live.
pub async fn customer(state: &HostState, cookie: &str) -> Result<Option<Customer>, DomainError> {
    session_in(state, Realm::Customer, cookie).await
}

/// The live session of `realm` behind a cookie value: its address (not the stored principal)
/// and CSRF token. Another realm's session is none.
pub async fn session_in(
    state: &HostState,
    realm: Realm,
    cookie: &str,
) -> Result<Option<Customer>, DomainError> {
    let id_hash = sha256_hex(cookie);
    Ok(state
        .store
        .portal_session(&id_hash, state.clock.now())
        .await?
        .and_then(|(principal, csrf)| {
            realm.address(&principal).map(|address| Customer {
                email: address.to_owned(),
                csrf,
                id_hash,
            })
        }))
}

/// Constant-time comparison of CSRF tokens, for the dashboard's forms too.
pub fn same_token(a: &str, b: &str) -> bool {
    same(a, b)
}

/// Ends the session.
pub async fn sign_out(state: &HostState, c: &Customer) -> Result<(), DomainError> {
    Ok(state.store.delete_portal_session(&c.id_hash).await?)
}

/// What a donor can do to a recurring gift from the portal: the `action` its forms post,
/// parsed by serde at the boundary and written into the pages from here, so the two cannot
/// drift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GiftAction {
    /// A new amount and/or frequency from the next gift on.
    Amount,
    /// End the gift at the end of the period already given for (asks first).
    Cancel,
    /// Keep a gift that was going to end.
    Resume,
    /// Stop charging until resumed.
    Pause,
    /// Charge again from the next period.
    Unpause,
}

impl GiftAction {
    /// The form's value.
    pub fn as_str(self) -> &'static str {
        match self {
            GiftAction::Amount => "amount",
            GiftAction::Cancel => "cancel",
            GiftAction::Resume => "resume",
            GiftAction::Pause => "pause",
            GiftAction::Unpause => "unpause",
        }
    }

    /// The button's words.
    pub fn label(self) -> &'static str {
        match self {
            GiftAction::Amount => "Change gift",
            GiftAction::Cancel => "Cancel at the end of this period",
            GiftAction::Resume => "Keep giving",
            GiftAction::Pause => "Pause payments",
            GiftAction::Unpause => "Resume payments",
        }
    }
}

/// What a recurring gift offers now, in the order the page shows them: nothing once it is
/// over; only [`GiftAction::Resume`] while it is ending; otherwise a new amount (donations),
/// cancelling, and pausing or resuming. The domain refuses any other action, whatever a form
/// posts.
pub fn offers(s: &SessionRow) -> Vec<GiftAction> {
    let live = s.subscription.is_some()
        && !s
            .subscription_status
            .is_some_and(SubscriptionStatus::is_final);
    if !live {
        return Vec::new();
    }
    if s.cancel_at_period_end {
        return vec![GiftAction::Resume];
    }
    let mut offers = Vec::new();
    if s.kind == CampaignKind::Donation && s.frequency.interval().is_some() {
        offers.push(GiftAction::Amount);
    }
    offers.push(GiftAction::Cancel);
    offers.push(if s.paused {
        GiftAction::Unpause
    } else {
        GiftAction::Pause
    });
    offers
}

/// Refuses `action` unless the gift offers it now.
fn ensure_offered(s: &SessionRow, action: GiftAction) -> Result<(), DomainError> {
    if offers(s).contains(&action) {
        Ok(())
    } else {
        Err(DomainError::Refused {
            code: ErrorCode::InvalidRequest,
            message: "This gift cannot be changed that way now. Reload the page to see what it \
                      offers."
                .into(),
        })
    }
}

/// Where a payment stands, as the portal tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiftState {
    /// A one-time payment (or a licence without a subscription), paid.
    Paid,
    /// Refunded.
    Refunded,
    /// Disputed by the cardholder.
    Disputed,
    /// A recurring gift that runs.
    Active,
    /// Paused by the donor.
    Paused,
    /// Ends with the period already given for (its last day, when known).
    Ending {
        /// The end of the last period paid for (unix seconds).
        on: Option<i64>,
    },
    /// A renewal failed; the gateway tries again.
    PaymentFailed,
    /// The first payment has not gone through yet.
    Waiting,
    /// Over.
    Ended,
}

impl GiftState {
    /// The payment's state, from its session and the end of its last paid period.
    pub fn of(s: &SessionRow, paid_until: Option<i64>) -> GiftState {
        // A refunded first gift of a subscription that goes on reads as the subscription does:
        // the renewals since are real gifts.
        let goes_on = s.subscription_status.is_some_and(|st| !st.is_final());
        match s.status {
            SessionStatus::Refunded if !goes_on => return GiftState::Refunded,
            SessionStatus::Disputed => return GiftState::Disputed,
            _ => {}
        }
        let Some(status) = s.subscription_status else {
            return GiftState::Paid;
        };
        if status.is_final() {
            return GiftState::Ended;
        }
        if s.cancel_at_period_end {
            return GiftState::Ending { on: paid_until };
        }
        if s.paused {
            return GiftState::Paused;
        }
        match status {
            SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid => GiftState::PaymentFailed,
            SubscriptionStatus::Incomplete => GiftState::Waiting,
            SubscriptionStatus::Paused => GiftState::Paused,
            // A frequency change waits out the period already given for as a trial.
            _ => GiftState::Active,
        }
    }

    /// What the page says.
    pub fn words(self) -> String {
        match self {
            GiftState::Paid => "Paid".into(),
            GiftState::Refunded => "Refunded".into(),
            GiftState::Disputed => "Disputed".into(),
            GiftState::Active => "Active".into(),
            GiftState::Paused => "Paused".into(),
            GiftState::Ending { on: Some(end) } => format!(
                "Ends at the end of this period, on {}",
                crate::mail::civil_date(end)
            ),
            GiftState::Ending { on: None } => "Ends at the end of this period".into(),
            GiftState::PaymentFailed => "Payment failed: we will try again".into(),
            GiftState::Waiting => "Waiting for the first payment".into(),
            GiftState::Ended => "Ended".into(),
        }
    }
}

/// One of the customer's payments as the portal lists it.
#[derive(Clone, Debug)]
pub struct Item {
    /// The checkout session.
    pub session: SessionRow,
    /// The campaign's title.
    pub title: String,
    /// Receipt numbers (the first gift's, then each renewal's).
    pub receipts: Vec<String>,
    /// The licence key, for a licence.
    pub licence_key: Option<String>,
    /// Its active installations.
    pub activations: Vec<String>,
    /// Its seats.
    pub seats: u16,
    /// The recurring frequencies a donor may switch this gift to (the campaign's).
    pub frequencies: Vec<paywidget_core::api::Frequency>,
    /// The end of the last period paid for (unix seconds), for a recurring gift.
    pub paid_until: Option<i64>,
}

/// Everything the customer has paid for, newest first.
pub async fn overview(state: &HostState, c: &Customer) -> Result<Vec<Item>, DomainError> {
    let mut items = Vec::new();
    for s in state.store.sessions_by_email(&c.email).await? {
        let f = state.store.fulfilment(&s.id).await?;
        let mut receipts: Vec<String> = f
            .as_ref()
            .and_then(|f| f.receipt_number.clone())
            .into_iter()
            .collect();
        let invoices = state.store.invoices(&s.id).await?;
        let paid_until = invoices.iter().filter_map(|i| i.period_end).max();
        receipts.extend(invoices.into_iter().filter_map(|i| i.receipt_number));
        let campaign = state.config.campaign(&s.campaign);
        let activations = if s.kind == CampaignKind::License {
            state
                .store
                .activations(&s.id)
                .await?
                .into_iter()
                .map(|(i, _)| i)
                .collect()
        } else {
            Vec::new()
        };
        items.push(Item {
            title: campaign.map_or_else(|| s.campaign.clone(), |c| c.title.clone()),
            seats: campaign.map_or(0, |c| {
                s.tier
                    .as_deref()
                    .and_then(|t| c.tier(t))
                    .map(|t| t.seats)
                    .or(c.license.as_ref().map(|l| l.seats))
                    .unwrap_or(0)
            }),
            frequencies: campaign.map_or_else(Vec::new, |c| {
                c.frequencies
                    .iter()
                    .copied()
                    .filter(|f| f.interval().is_some())
                    .collect()
            }),
            licence_key: f.and_then(|f| f.license_key),
            paid_until,
            receipts,
            activations,
            session: s,
        });
    }
    Ok(items)
}

/// One gift on a giving statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gift {
    /// Unix seconds it was received (fulfilled).
    pub at: i64,
    /// The campaign's title.
    pub title: String,
    /// Its receipt.
    pub receipt: String,
    /// Minor units.
    pub amount: i64,
    /// Its currency.
    pub currency: paywidget_core::money::Currency,
}

/// Every donation of `year` (UTC), first gifts and renewals, oldest first, with the totals per
/// currency — the yearly giving statement.
pub async fn statement(
    state: &HostState,
    c: &Customer,
    year: i32,
) -> Result<(Vec<Gift>, Vec<(paywidget_core::money::Currency, i64)>), DomainError> {
    let in_year = |t: i64| crate::mail::civil_date(t).starts_with(&format!("{year:04}-"));
    let mut gifts = Vec::new();
    for s in state.store.sessions_by_email(&c.email).await? {
        if s.kind != CampaignKind::Donation {
            continue;
        }
        // A refunded or disputed first gift leaves only itself out: the renewals paid since
        // stay on the statement, each unless its own charge was taken back.
        let first_reversed = matches!(
            s.status,
            paywidget_core::api::SessionStatus::Refunded
                | paywidget_core::api::SessionStatus::Disputed
        );
        let title = state
            .config
            .campaign(&s.campaign)
            .map_or_else(|| s.campaign.clone(), |c| c.title.clone());
        if let Some(f) = state
            .store
            .fulfilment(&s.id)
            .await?
            .filter(|_| !first_reversed)
        {
            if let (true, Some(receipt)) = (in_year(f.created), f.receipt_number) {
                gifts.push(Gift {
                    at: f.created,
                    title: title.clone(),
                    receipt,
                    // A partial refund leaves what was kept on the statement.
                    amount: s.total() - s.amount_refunded,
                    currency: s.currency,
                });
            }
        }
        for i in state.store.invoices(&s.id).await? {
            if i.reversed.is_some() {
                continue;
            }
            if let (true, Some(receipt)) = (in_year(i.created), i.receipt_number) {
                gifts.push(Gift {
                    at: i.created,
                    title: title.clone(),
                    receipt,
                    amount: i.amount,
                    currency: s.currency,
                });
            }
        }
    }
    gifts.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.receipt.cmp(&b.receipt)));
    let mut totals: Vec<(paywidget_core::money::Currency, i64)> = Vec::new();
    for g in &gifts {
        match totals.iter_mut().find(|(c, _)| *c == g.currency) {
            Some((_, t)) => *t += g.amount,
            None => totals.push((g.currency, g.amount)),
        }
    }
    Ok((gifts, totals))
}

/// Pauses (no charges until resumed) or resumes collecting one of the customer's recurring
/// gifts.
pub async fn set_paused(
    state: &HostState,
    c: &Customer,
    csrf: &str,
    session: &str,
    paused: bool,
) -> Result<(), DomainError> {
    let s = own(state, c, csrf, session).await?;
    pause_gift(state, &s, paused, ChangedBy::Donor).await
}

/// Who changed a gift: the donor in the portal, or the merchant's staff in the dashboard (the
/// donor is told either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangedBy {
    /// The donor, signed in to the portal.
    Donor,
    /// The merchant's staff, from the dashboard.
    Staff,
}

impl ChangedBy {
    /// "You paused … from your payments page" / "Our team paused … for you".
    fn did(self, what: &str) -> String {
        match self {
            ChangedBy::Donor => format!("You {what} from your payments page"),
            ChangedBy::Staff => format!("Our team {what} for you"),
        }
    }
}

/// Pauses or resumes collecting the recurring gift `s` (when it offers that), and tells the
/// donor.
pub async fn pause_gift(
    state: &HostState,
    s: &SessionRow,
    paused: bool,
    by: ChangedBy,
) -> Result<(), DomainError> {
    ensure_offered(
        s,
        if paused {
            GiftAction::Pause
        } else {
            GiftAction::Unpause
        },
    )?;
    let Some(subscription) = &s.subscription else {
        return Err(DomainError::NotFound("subscription"));
    };
    // One key per request: each form post is a new attempt (a key from the clock made a
    // change back within the same second a replay of the first).
    let key = state
        .ids
        .new_id(&format!("pw_portal_pause_{}_{paused}", s.id));
    let form: Vec<(&str, String)> = if paused {
        vec![("pause_collection[behavior]", "void".into())]
    } else {
        vec![("pause_collection", String::new())]
    };
    crate::checkout::gateway_for(state, s)?
        .post(&format!("/v1/subscriptions/{subscription}"), &form, &key)
        .await
        .map_err(|e| DomainError::GatewayUnavailable(format!("{e:?}")))?;
    state.store.set_paused(&s.id, paused).await?;
    let title = title_of(state, s);
    tell_donor(
        state,
        s,
        if paused {
            format!("Your gift to {title} is paused")
        } else {
            format!("Your gift to {title} resumes")
        },
        if paused {
            format!(
                "{}: nothing is charged until it is resumed.",
                by.did("paused this recurring gift")
            )
        } else {
            format!(
                "{}: it is charged again from the next period.",
                by.did("resumed this recurring gift")
            )
        },
    )
    .await
}

/// Changes the amount and/or the frequency of one of the customer's recurring gifts, from the
/// next gift on (nothing is charged now): a new recurring price at the gateway swapped into
/// the subscription's item. A new frequency starts at the end of the period already given for
/// — the gateway's documented way to move a billing cycle without a charge is a trial up to
/// then (`trial_end`, no proration), after which the new interval runs.
pub async fn change_plan(
    state: &HostState,
    c: &Customer,
    csrf: &str,
    session: &str,
    text: &str,
    frequency: Option<paywidget_core::api::Frequency>,
) -> Result<(), DomainError> {
    let s = own(state, c, csrf, session).await?;
    change_gift(state, &s, text, frequency, ChangedBy::Donor).await
}

/// Changes the amount and/or frequency of the recurring gift `s` from the next gift on (see
/// [`change_plan`]; the same limits whoever asks), and tells the donor.
pub async fn change_gift(
    state: &HostState,
    s: &SessionRow,
    text: &str,
    frequency: Option<paywidget_core::api::Frequency>,
    by: ChangedBy,
) -> Result<(), DomainError> {
    use paywidget_core::money::{Amount, DecimalSeparator, ParseRules};
    ensure_offered(s, GiftAction::Amount)?;
    // Donors choose what they give; a licence's price is its plan's.
    let (Some(subscription), Some(_), CampaignKind::Donation) =
        (&s.subscription, s.frequency.interval(), s.kind)
    else {
        return Err(DomainError::NotFound("subscription"));
    };
    let campaign = state
        .config
        .campaign(&s.campaign)
        .ok_or(DomainError::NotFound("campaign"))?;
    let frequency = frequency.unwrap_or(s.frequency);
    let Some(interval) = frequency.interval() else {
        return Err(DomainError::invalid(
            ErrorCode::InvalidRequest,
            "To stop giving, cancel at the end of this period.",
        ));
    };
    if frequency != s.frequency && !campaign.frequencies.contains(&frequency) {
        return Err(DomainError::invalid(
            ErrorCode::InvalidRequest,
            format!("This campaign does not take gifts {}.", frequency.every()),
        ));
    }
    let amount = Amount::parse(
        text,
        s.currency,
        DecimalSeparator::Dot,
        ParseRules::default(),
    )
    .map_err(|e| DomainError::invalid(ErrorCode::InvalidRequest, e.to_string()))?
    .minor();
    let terms = campaign.terms(s.currency);
    let (min, max) = (
        terms.as_ref().and_then(|t| t.min_amount).unwrap_or(1),
        terms
            .as_ref()
            .and_then(|t| t.max_amount)
            .unwrap_or(99_999_999),
    );
    // A portal session raises a gift at most to three times what it gives in a year now: the
    // card's owner makes a bigger one through the checkout (a taken-over portal cannot push it
    // to the campaign's maximum, charged off-session).
    let per_year = |f: paywidget_core::api::Frequency| {
        if f == paywidget_core::api::Frequency::Monthly {
            12
        } else {
            1
        }
    };
    let now_yearly = s.next_amount.unwrap_or(s.amount) * per_year(s.frequency);
    let cap = (now_yearly.saturating_mul(MAX_RAISE_FACTOR) / per_year(frequency)).max(min);
    if amount > cap && amount <= max {
        return Err(DomainError::invalid(
            ErrorCode::AmountTooLarge,
            format!(
                "From here a gift can go up to {}. For more, start a new gift from the campaign's page.",
                Amount::from_minor(cap, s.currency)
            ),
        ));
    }
    if amount < min || amount > max {
        return Err(DomainError::invalid(
            ErrorCode::AmountTooSmall,
            format!(
                "Choose an amount from {} to {}.",
                Amount::from_minor(min, s.currency),
                Amount::from_minor(max, s.currency)
            ),
        ));
    }
    let gateway = crate::checkout::gateway_for(state, s)?;
    let unavailable = |e| DomainError::GatewayUnavailable(format!("{e:?}"));
    let sub: crate::gateway::objects::Subscription = gateway
        .get_as(&format!("/v1/subscriptions/{subscription}"))
        .await
        .map_err(unavailable)?;
    let (Some(item), Some(product)) =
        (sub.item(), sub.item().and_then(|i| i.price.product.clone()))
    else {
        return Err(DomainError::Internal("subscription without an item".into()));
    };
    let item_id = item.id.clone();
    // One key per request, as for pausing.
    let key = state
        .ids
        .new_id(&format!("pw_plan_{}_{amount}_{}", s.id, frequency.as_str()));
    let price: crate::gateway::objects::Price = gateway
        .post_as(
            "/v1/prices",
            &[
                ("currency", s.currency.code().to_ascii_lowercase()),
                ("unit_amount", amount.to_string()),
                ("recurring[interval]", interval.to_owned()),
                ("product", product),
            ],
            &format!("{key}_price"),
        )
        .await
        .map_err(unavailable)?;
    let mut form = vec![
        ("items[0][id]", item_id),
        ("items[0][price]", price.id),
        ("proration_behavior", "none".into()),
    ];
    if frequency != s.frequency {
        // Since API 2025-03-31 the period lives on the item.
        let Some(end) = sub.period_end() else {
            return Err(DomainError::Internal(
                "subscription without a period".into(),
            ));
        };
        form.push(("trial_end", end.to_string()));
    }
    gateway
        .post(
            &format!("/v1/subscriptions/{subscription}"),
            &form,
            &format!("{key}_swap"),
        )
        .await
        .map_err(unavailable)?;
    // The gift from now on (the fee coverage, if any, is not renewed on the new amount).
    state.store.set_plan(&s.id, amount, frequency).await?;
    let title = title_of(state, s);
    tell_donor(
        state,
        s,
        format!("Your gift to {title} changed"),
        format!(
            "{}: from the next gift on it is {} {}.",
            by.did("changed this recurring gift"),
            Amount::from_minor(amount, s.currency),
            frequency.every()
        ),
    )
    .await
}

/// The customer's own session `id` (anyone else's reads as not found), after the CSRF check.
async fn own(
    state: &HostState,
    c: &Customer,
    csrf: &str,
    id: &str,
) -> Result<SessionRow, DomainError> {
    if !same(csrf, &c.csrf) {
        return Err(DomainError::invalid(
            ErrorCode::InvalidRequest,
            "This page has expired. Reload it and try again.",
        ));
    }
    let s = crate::checkout::load(state.store.as_ref(), id).await?;
    if s.email.as_deref() != Some(c.email.as_str()) {
        return Err(DomainError::NotFound("session"));
    }
    Ok(s)
}

/// Frees a seat of one of the customer's licences.
pub async fn deactivate(
    state: &HostState,
    c: &Customer,
    csrf: &str,
    order: &str,
    instance: &str,
) -> Result<(), DomainError> {
    let s = own(state, c, csrf, order).await?;
    let instance = licence::Instance::parse(instance)?;
    state.store.deactivate(&s.id, instance.as_str()).await?;
    Ok(())
}

/// Cancels one of the customer's recurring gifts at the end of its period, or resumes it.
pub async fn set_cancel_at_period_end(
    state: &HostState,
    c: &Customer,
    csrf: &str,
    session: &str,
    cancel: bool,
) -> Result<(), DomainError> {
    let s = own(state, c, csrf, session).await?;
    end_gift(state, &s, cancel, ChangedBy::Donor).await
}

/// Ends the recurring gift `s` at the end of its period, or keeps it (when it offers that),
/// and tells the donor.
pub async fn end_gift(
    state: &HostState,
    s: &SessionRow,
    cancel: bool,
    by: ChangedBy,
) -> Result<(), DomainError> {
    ensure_offered(
        s,
        if cancel {
            GiftAction::Cancel
        } else {
            GiftAction::Resume
        },
    )?;
    let Some(subscription) = &s.subscription else {
        return Err(DomainError::NotFound("subscription"));
    };
    // One key per request, as for pausing.
    let key = state.ids.new_id(&format!("pw_portal_{}_{cancel}", s.id));
    crate::checkout::gateway_for(state, s)?
        .set_cancel_at_period_end(subscription, cancel, &key)
        .await
        .map_err(|e| DomainError::GatewayUnavailable(format!("{e:?}")))?;
    state.store.set_cancel_at_period_end(&s.id, cancel).await?;
    let title = title_of(state, s);
    tell_donor(
        state,
        s,
        if cancel {
            format!("Your gift to {title} will end")
        } else {
            format!("Your gift to {title} continues")
        },
        if cancel {
            format!(
                "{}: no further gifts will be charged after the current period.",
                by.did("ended this recurring gift")
            )
        } else {
            format!(
                "{}: it renews as before.",
                by.did("kept this recurring gift")
            )
        },
    )
    .await
}

/// The campaign's title (or its id).
fn title_of(state: &HostState, s: &SessionRow) -> String {
    state
        .config
        .campaign(&s.campaign)
        .map_or_else(|| s.campaign.clone(), |c| c.title.clone())
}

/// Tells the donor of a change made from the portal, at the gift's own address: a session
/// someone else took over is noticed by its owner, who can sign in and undo it.
async fn tell_donor(
    state: &HostState,
    s: &SessionRow,
    subject: String,
    what: String,
) -> Result<(), DomainError> {
    let Some(to) = &s.email else {
        return Ok(());
    };
    let mut tx = state.store.begin().await?;
    tx.queue_mail(&NewMail {
        session_id: s.id.clone(),
        to: to.clone(),
        subject,
        body: format!(
            "{what}\n\nIf this was not you, sign in to your payments to undo it, and tell us by \
             replying to this email:\n\n{}/portal\n",
            state.public_url
        ),
        created: state.clock.now(),
    })
    .await?;
    tx.commit().await?;
    crate::mail::wake(state);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gift() -> SessionRow {
        SessionRow {
            subscription: Some("sub_1".into()),
            subscription_status: Some(SubscriptionStatus::Active),
            frequency: paywidget_core::api::Frequency::Monthly,
            kind: CampaignKind::Donation,
            status: SessionStatus::Fulfilled,
            ..crate::store::SessionRow::example()
        }
    }

    #[test]
    fn a_gift_offers_only_what_applies() {
        use GiftAction::*;
        let s = gift();
        assert_eq!(offers(&s), vec![Amount, Cancel, Pause]);
        let paused = SessionRow {
            paused: true,
            ..gift()
        };
        assert_eq!(offers(&paused), vec![Amount, Cancel, Unpause]);
        let ending = SessionRow {
            cancel_at_period_end: true,
            paused: true,
            ..gift()
        };
        assert_eq!(
            offers(&ending),
            vec![Resume],
            "an ending gift only offers to keep it"
        );
        let licence = SessionRow {
            kind: CampaignKind::License,
            ..gift()
        };
        assert_eq!(
            offers(&licence),
            vec![Cancel, Pause],
            "a licence's price is its plan's"
        );
        for over in [
            SubscriptionStatus::Canceled,
            SubscriptionStatus::IncompleteExpired,
        ] {
            let s = SessionRow {
                subscription_status: Some(over),
                ..gift()
            };
            assert!(offers(&s).is_empty(), "{over:?}");
        }
        let one_time = SessionRow {
            subscription: None,
            subscription_status: None,
            ..gift()
        };
        assert!(offers(&one_time).is_empty());
    }

    #[test]
    fn a_gift_state_reads_as_the_donor_needs() {
        let s = gift();
        assert_eq!(GiftState::of(&s, None), GiftState::Active);
        let ending = SessionRow {
            cancel_at_period_end: true,
            ..gift()
        };
        let state = GiftState::of(&ending, Some(1_767_225_600));
        assert_eq!(
            state.words(),
            "Ends at the end of this period, on 2026-01-01"
        );
        let failed = SessionRow {
            subscription_status: Some(SubscriptionStatus::PastDue),
            ..gift()
        };
        assert_eq!(GiftState::of(&failed, None), GiftState::PaymentFailed);
        let refunded = SessionRow {
            status: SessionStatus::Refunded,
            subscription_status: None,
            ..gift()
        };
        assert_eq!(GiftState::of(&refunded, None), GiftState::Refunded);
        let first_refunded = SessionRow {
            status: SessionStatus::Refunded,
            ..gift()
        };
        assert_eq!(
            GiftState::of(&first_refunded, None),
            GiftState::Active,
            "the renewals go on"
        );
        let trial = SessionRow {
            subscription_status: Some(SubscriptionStatus::Trialing),
            ..gift()
        };
        assert_eq!(
            GiftState::of(&trial, None),
            GiftState::Active,
            "a frequency change's trial"
        );
        let unknown = SessionRow {
            subscription_status: Some(SubscriptionStatus::parse("brand_new")),
            ..gift()
        };
        assert_eq!(GiftState::of(&unknown, None), GiftState::Active);
        assert_eq!(SubscriptionStatus::parse("past_due").as_str(), "past_due");
    }

    #[test]
    fn codes_are_six_digits_and_tokens_long() {
        for _ in 0..100 {
            let c = random_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(random_hex(32).len(), 64);
        assert_ne!(random_hex(32), random_hex(32));
    }

    #[test]
    fn csrf_comparison() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
