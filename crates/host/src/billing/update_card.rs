//! Failed-payment recovery: the signed, single-purpose, expiring link a donor gets when a
//! renewal fails, and what it does — save the new card (a SetupIntent confirmed with the page's
//! token, either capture mode), make it the subscription's default, and pay the open invoice at
//! once (fulfilled, as every invoice, from its webhook only).

use base64::Engine;
use paywidget_core::api::{DeclineCode, ErrorCode, PayOutcome, UpdateCardRequest, UpdateCardView};
use paywidget_core::money::Amount;

use crate::checkout::{self as sessions, views};
use crate::gateway::objects::{Invoice, List, SetupIntent, SetupStatus, Subscription};
use crate::gateway::GatewayError;
use crate::support::error::DomainError;
use crate::HostState;

/// How long an update-card link works.
pub const LINK_TTL_SECS: i64 = 7 * 24 * 3600;
/// Cards a link may try in its 7 days.
pub const MAX_TRIES: u32 = 10;

fn message(session: &str, expires: i64) -> String {
    // The purpose is part of what is signed: this signature is good for nothing else.
    format!("paywidget update-card v1:{session}:{expires}")
}

fn mac(state: &HostState, session: &str, expires: i64) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&state.keys.update_card)
        .expect("HMAC takes any key length");
    mac.update(message(session, expires).as_bytes());
    mac
}

/// The link's token for `session`, valid until `expires` (unix seconds): an HMAC under the
/// host's update-card key, good for nothing else.
pub fn token(state: &HostState, session: &str, expires: i64) -> String {
    use hmac::Mac;
    let sig = mac(state, session, expires).finalize().into_bytes();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig);
    format!("{session}.{expires}.{sig}")
}

/// The update-card URL for `session`, valid for [`LINK_TTL_SECS`] from now.
pub fn link(state: &HostState, session: &str, campaign: &str) -> String {
    let expires = state.clock.now() + LINK_TTL_SECS;
    format!(
        "{}/c/{campaign}/update-card?token={}",
        state.public_url,
        token(state, session, expires)
    )
}

/// The session a token was signed for and when it expires, if the signature holds and it has
/// not expired.
pub fn verify(state: &HostState, token: &str) -> Result<(String, i64), DomainError> {
    let refuse = || {
        DomainError::invalid(
            ErrorCode::InvalidRequest,
            "This link is not valid any more. Sign in to the portal to update your card.",
        )
    };
    let mut parts = token.splitn(3, '.');
    let (Some(session), Some(expires), Some(sig)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse());
    };
    let expires: i64 = expires.parse().map_err(|_| refuse())?;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| refuse())?;
    {
        use hmac::Mac;
        // Constant-time comparison.
        mac(state, session, expires)
            .verify_slice(&sig)
            .map_err(|_| refuse())?;
    }
    if state.clock.now() > expires {
        return Err(refuse());
    }
    Ok((session.to_owned(), expires))
}

/// The counter marking a link used (and, with `key`, the attempt that used it).
fn spent_key(session: &str, expires: i64, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("update-card:spent:{session}:{expires}:{k}"),
        None => format!("update-card:spent:{session}:{expires}"),
    }
}

/// Refuses a link that already saved a card (a replay of the attempt that did answers its
/// success): a used link is no card-testing oracle for whoever finds the mail.
async fn not_spent(
    state: &HostState,
    session: &str,
    expires: i64,
    key: Option<&str>,
) -> Result<Option<PayOutcome>, DomainError> {
    let now = state.clock.now();
    if state
        .store
        .counter_value(&spent_key(session, expires, None), now)
        .await?
        == 0
    {
        return Ok(None);
    }
    if let Some(k) = key {
        if state
            .store
            .counter_value(&spent_key(session, expires, Some(k)), now)
            .await?
            > 0
        {
            return Ok(Some(PayOutcome::Succeeded));
        }
    }
    Err(DomainError::Refused {
        code: ErrorCode::InvalidRequest,
        message:
            "This link has already updated your card. Sign in to your payments to change it again."
                .into(),
    })
}

/// The one decline this page tells: which check failed is no business of a card tester's.
fn generic_decline() -> PayOutcome {
    PayOutcome::Declined {
        code: DeclineCode::CardDeclined,
        message: DeclineCode::CardDeclined.message().into(),
    }
}

/// `GET /api/update-card/:token`: what the page shows (campaign, amount due).
pub async fn view(state: &HostState, token: &str) -> Result<UpdateCardView, DomainError> {
    let (id, expires) = verify(state, token)?;
    not_spent(state, &id, expires, None).await?;
    let s = sessions::load(state.store.as_ref(), &id).await?;
    let campaign = views::campaign_view(&state.config, &s.campaign)
        .ok_or(DomainError::NotFound("campaign"))?;
    Ok(UpdateCardView {
        campaign,
        session: s.id.clone(),
        amount: s.total(),
        display_amount: Amount::from_minor(s.total(), s.currency).to_string(),
        frequency: s.frequency,
    })
}

/// `POST /api/update-card`: saves the card, makes it the default and pays the open invoice —
/// through the card-testing shield (blocks and limits on the requester, its network, the
/// session and the email), answering every decline alike, once: a link that saved a card is
/// spent.
pub async fn update(
    state: &HostState,
    req: &UpdateCardRequest,
    ip: Option<std::net::IpAddr>,
) -> Result<PayOutcome, DomainError> {
    let (id, expires) = verify(state, &req.link)?;
    if let Some(replay) = not_spent(state, &id, expires, Some(&req.idempotency_key)).await? {
        return Ok(replay);
    }
    let s = sessions::load(state.store.as_ref(), &id).await?;
    let now = state.clock.now();
    let subject = crate::shield::Subject::of(&s, ip);
    crate::shield::assess(state, &subject, now).await?;
    let reservation = state.ids.new_id("att");
    crate::shield::reserve(state, &subject, &reservation, true, now).await?;
    let outcome = save_card(state, req, &s).await;
    let outcome = match outcome {
        Ok(o) => crate::shield::record(state, &subject, &reservation, o, now).await?,
        Err(e) => {
            crate::shield::release(state, &reservation).await?;
            return Err(e);
        }
    };
    Ok(match outcome {
        PayOutcome::Declined { .. } => generic_decline(),
        PayOutcome::Succeeded => {
            let until = expires + 1;
            state
                .store
                .count_hit(&spent_key(&id, expires, None), until)
                .await?;
            state
                .store
                .count_hit(&spent_key(&id, expires, Some(&req.idempotency_key)), until)
                .await?;
            PayOutcome::Succeeded
        }
        other => other,
    })
}

/// The card change itself, at the gateway.
async fn save_card(
    state: &HostState,
    req: &UpdateCardRequest,
    s: &crate::store::SessionRow,
) -> Result<PayOutcome, DomainError> {
    let resumed = req.setup_intent.as_deref().filter(|s| {
        s.starts_with("seti_")
            && s.len() <= 255
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    let token = req.card();
    if token.is_none() && resumed.is_none() {
        return Err(DomainError::invalid(
            ErrorCode::InvalidPaymentMethod,
            "Send one gateway token: payment_method (pm_…) or confirmation_token (ctoken_…).",
        ));
    }
    let Some(subscription) = s.subscription.clone() else {
        return Err(DomainError::NotFound("subscription"));
    };
    let now = state.clock.now();
    if state
        .store
        .record_update_attempt(&s.id, now - LINK_TTL_SECS, now)
        .await?
        > MAX_TRIES
    {
        return Err(DomainError::Refused {
            code: ErrorCode::RateLimited,
            message: "Too many cards were tried with this link. Sign in to your payments, or reply to our email."
                .into(),
        });
    }
    let gateway = sessions::gateway_for(state, s)?;
    let key = |what: &str| format!("pw_card_{}_{}_{what}", s.id, req.idempotency_key);
    let sub: Subscription = gateway
        .get_as(&format!("/v1/subscriptions/{subscription}"))
        .await
        .map_err(unavailable)?;
    let customer = sub.customer;
    // Save the card for off-session renewals: a SetupIntent confirmed with the page's token —
    // or, back from 3-D Secure, the one the bank authenticated (it must be this customer's).
    let setup: Result<SetupIntent, GatewayError> = match (resumed, &token) {
        (Some(seti), _) => match gateway
            .get_as::<SetupIntent>(&format!("/v1/setup_intents/{seti}"))
            .await
        {
            Ok(v) if v.customer.as_deref() == Some(customer.as_str()) => Ok(v),
            Ok(_) => return Err(DomainError::NotFound("setup intent")),
            Err(e) => Err(e),
        },
        (None, Some(token)) => {
            // 3-D Secure comes back to this same page, which resumes with the SetupIntent.
            let back = format!(
                "{}/c/{}/update-card?token={}",
                state.public_url, s.campaign, req.link
            );
            gateway
                .post_as(
                    "/v1/setup_intents",
                    &[
                        ("customer", customer.clone()),
                        ("usage", "off_session".into()),
                        ("confirm", "true".into()),
                        (token.param(), token.as_str().to_owned()),
                        ("return_url", back),
                    ],
                    &key("setup"),
                )
                .await
        }
        (None, None) => return Err(DomainError::NotFound("card")),
    };
    let setup = match setup {
        Ok(v) => v,
        Err(GatewayError::Declined(d, _)) => {
            return Ok(PayOutcome::Declined {
                message: d.code.message().into(),
                code: d.code,
            })
        }
        Err(e) => return Err(unavailable(e)),
    };
    match setup.status {
        SetupStatus::Succeeded => {}
        SetupStatus::RequiresAction => {
            return Ok(PayOutcome::RequiresAction {
                redirect_url: setup.redirect_url().unwrap_or_default(),
                client_secret: setup.client_secret.clone(),
            });
        }
        SetupStatus::Other => {
            let error = setup.last_setup_error.unwrap_or_default();
            let code = error
                .decline_code
                .or(error.code)
                .map_or(DeclineCode::CardDeclined, |c| DeclineCode::parse(&c));
            return Ok(PayOutcome::Declined {
                message: code.message().into(),
                code,
            });
        }
    }
    let pm = setup
        .payment_method
        .ok_or_else(|| DomainError::Internal("setup intent without payment method".into()))?;
    gateway
        .post(
            &format!("/v1/subscriptions/{subscription}"),
            &[("default_payment_method", pm.clone())],
            &key("default"),
        )
        .await
        .map_err(unavailable)?;
    // Pay what is open now, with the new card (renewals use it from now on).
    let open: List<Invoice> = gateway
        .get_as(&format!(
            "/v1/invoices?subscription={subscription}&status=open&limit=10"
        ))
        .await
        .map_err(unavailable)?;
    for invoice in open.data {
        let Some(id) = invoice.id else {
            continue;
        };
        match gateway
            .post(
                &format!("/v1/invoices/{id}/pay"),
                &[("payment_method", pm.clone())],
                &key(&format!("pay_{id}")),
            )
            .await
        {
            Ok(_) => {}
            Err(GatewayError::Declined(d, _)) => {
                return Ok(PayOutcome::Declined {
                    message: d.code.message().into(),
                    code: d.code,
                })
            }
            Err(e) => return Err(unavailable(e)),
        }
    }
    Ok(PayOutcome::Succeeded)
}

fn unavailable(e: GatewayError) -> DomainError {
    match e {
        GatewayError::Unavailable(why) => DomainError::GatewayUnavailable(why),
        GatewayError::Rejected(why) => DomainError::Internal(format!("gateway rejected: {why}")),
        GatewayError::Declined(d, _) => DomainError::invalid(ErrorCode::Declined, d.code.message()),
    }
}
