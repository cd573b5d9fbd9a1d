//! Licence keys signed with Ed25519: compact, copy-paste friendly (`PW1-XXXXX-XXXXX-…`, base32)
//! and verifiable offline with the public key the host publishes.
//!
//! Key bytes: a payload (version 1, issued and expiry as days since 1970, seats, product, order)
//! followed by the 64-byte signature over it.

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use paywidget_core::api::{
    ActivationRequest, ActivationView, DeactivationView, ErrorCode, LeaseClaims, VerifyAnswer,
};

use crate::support::error::DomainError;

/// What a licence grants: the contract's claims, signed into the key as they are.
pub type Licence = paywidget_core::api::LicenceClaims;

/// Why a key does not verify.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LicenceError {
    /// Not a paywidget key at all.
    #[error("this is not a paywidget licence key")]
    Malformed,
    /// The signature does not match (tampered, or another issuer).
    #[error("the licence key's signature is not valid")]
    BadSignature,
}

const PREFIX: &str = "PW1";
const LEASE_PREFIX: &str = "PWL1";
/// The longest a lease is good for offline.
pub const LEASE_DAYS: u32 = 30;
/// A lease payload's first byte (a licence key's is 1): a key never verifies as a lease.
const LEASE_VERSION: u8 = 0x4c;

fn encode_payload(l: &Licence) -> Vec<u8> {
    let mut p = vec![1u8];
    p.extend_from_slice(&l.issued_day.to_be_bytes());
    p.extend_from_slice(&l.expires_day.unwrap_or(0).to_be_bytes());
    p.extend_from_slice(&l.seats.to_be_bytes());
    for s in [&l.product, &l.order] {
        let bytes = &s.as_bytes()[..s.len().min(255)];
        p.push(bytes.len() as u8);
        p.extend_from_slice(bytes);
    }
    p
}

fn decode_payload(p: &[u8]) -> Option<Licence> {
    let (&version, rest) = p.split_first()?;
    if version != 1 || rest.len() < 10 {
        return None;
    }
    let issued_day = u32::from_be_bytes(rest[0..4].try_into().ok()?);
    let expires = u32::from_be_bytes(rest[4..8].try_into().ok()?);
    let seats = u16::from_be_bytes(rest[8..10].try_into().ok()?);
    let mut rest = &rest[10..];
    let mut strings = Vec::new();
    for _ in 0..2 {
        let (&len, tail) = rest.split_first()?;
        let s = tail.get(..len as usize)?;
        strings.push(String::from_utf8(s.to_vec()).ok()?);
        rest = &tail[len as usize..];
    }
    if !rest.is_empty() {
        return None;
    }
    let order = strings.pop()?;
    let product = strings.pop()?;
    Some(Licence {
        product,
        seats,
        issued_day,
        expires_day: (expires != 0).then_some(expires),
        order,
    })
}

/// Signs `payload` into `PREFIX-ABCDE-FGHIJ-…` (payload + signature, base32 in groups of 5).
fn sign_into(key: &SigningKey, prefix: &str, mut bytes: Vec<u8>) -> String {
    let signature = key.sign(&bytes);
    bytes.extend_from_slice(&signature.to_bytes());
    let encoded = BASE32_NOPAD.encode(&bytes);
    let groups: Vec<&str> = encoded
        .as_bytes()
        .chunks(5)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!("{prefix}-{}", groups.join("-"))
}

/// The signed payload of `text` (dashes, spaces and case do not matter), checked.
fn signed_payload(
    public: &VerifyingKey,
    prefix: &str,
    text: &str,
) -> Result<Vec<u8>, LicenceError> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    let body = compact
        .strip_prefix(prefix)
        .ok_or(LicenceError::Malformed)?;
    let mut bytes = BASE32_NOPAD
        .decode(body.as_bytes())
        .map_err(|_| LicenceError::Malformed)?;
    if bytes.len() < 64 + 2 {
        return Err(LicenceError::Malformed);
    }
    let sig = bytes.split_off(bytes.len() - 64);
    let sig = Signature::from_bytes(
        sig.as_slice()
            .try_into()
            .map_err(|_| LicenceError::Malformed)?,
    );
    public
        .verify(&bytes, &sig)
        .map_err(|_| LicenceError::BadSignature)?;
    Ok(bytes)
}

/// Signs `licence` into a key like `PW1-ABCDE-FGHIJ-…`.
pub fn issue(key: &SigningKey, licence: &Licence) -> String {
    sign_into(key, PREFIX, encode_payload(licence))
}

/// Verifies a key offline with the issuer's public key. Dashes, spaces and case do not matter.
pub fn verify(public: &VerifyingKey, key: &str) -> Result<Licence, LicenceError> {
    let payload = signed_payload(public, PREFIX, key)?;
    decode_payload(&payload).ok_or(LicenceError::Malformed)
}

/// Signs an activation's lease: `PWL1-…`, verifiable offline like a key.
pub fn issue_lease(key: &SigningKey, lease: &LeaseClaims) -> String {
    let mut p = vec![LEASE_VERSION];
    p.extend_from_slice(&lease.valid_until_day.unwrap_or(0).to_be_bytes());
    for s in [&lease.order, &lease.instance] {
        let bytes = &s.as_bytes()[..s.len().min(255)];
        p.push(bytes.len() as u8);
        p.extend_from_slice(bytes);
    }
    sign_into(key, LEASE_PREFIX, p)
}

/// Verifies a lease offline with the issuer's public key (an app checks `valid_until_day`
/// against its own clock).
pub fn verify_lease(public: &VerifyingKey, lease: &str) -> Result<LeaseClaims, LicenceError> {
    let p = signed_payload(public, LEASE_PREFIX, lease)?;
    let (&version, rest) = p.split_first().ok_or(LicenceError::Malformed)?;
    if version != LEASE_VERSION || rest.len() < 4 {
        return Err(LicenceError::Malformed);
    }
    let until = u32::from_be_bytes(rest[0..4].try_into().map_err(|_| LicenceError::Malformed)?);
    let mut rest = &rest[4..];
    let mut strings = Vec::new();
    for _ in 0..2 {
        let (&len, tail) = rest.split_first().ok_or(LicenceError::Malformed)?;
        let s = tail.get(..len as usize).ok_or(LicenceError::Malformed)?;
        strings.push(String::from_utf8(s.to_vec()).map_err(|_| LicenceError::Malformed)?);
        rest = &tail[len as usize..];
    }
    if !rest.is_empty() {
        return Err(LicenceError::Malformed);
    }
    let instance = strings.pop().ok_or(LicenceError::Malformed)?;
    let order = strings.pop().ok_or(LicenceError::Malformed)?;
    Ok(LeaseClaims {
        order,
        instance,
        valid_until_day: (until != 0).then_some(until),
    })
}

/// An installation's id, parsed: 1–64 of `A–Z a–z 0–9 . _ : -`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance(String);

impl Instance {
    /// Parses an instance id.
    pub fn parse(text: &str) -> Result<Instance, DomainError> {
        let ok = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(Instance(text.to_owned()))
        } else {
            Err(DomainError::invalid(
                ErrorCode::InvalidInstance,
                "instance must be 1–64 letters, digits or . _ : -",
            ))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a licence stands now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Refunded, disputed, or an order we have no fulfilment for.
    pub revoked: bool,
    /// Past its last day (a subscription: past its paid period and the grace days).
    pub expired: bool,
    /// Suspended by the merchant (reversible).
    pub suspended: bool,
    /// `active`, `past_due` (in the grace days after a failed renewal), `expired`, `revoked`,
    /// `suspended`.
    pub status: &'static str,
    /// Its last valid day, `None` for a perpetual licence.
    pub valid_until_day: Option<u32>,
}

/// A licence's order reference for `session`: `ord_` and 24 hex digits of an HMAC under the
/// host's order-reference key. Keys and leases name it instead of the session, whose id opens
/// the session's page (and with it the key): a lease found on a machine unlocks nothing.
pub fn order_ref(keys: &crate::config::keys::Keys, session: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&keys.order_refs)
        .expect("HMAC takes any key length");
    mac.update(session.as_bytes());
    format!("ord_{}", &hex::encode(mac.finalize().into_bytes())[..24])
}

/// The session behind a key's order: its reference (`ord_…`), or, in keys issued before
/// references, the session id itself.
async fn session_of(state: &crate::HostState, order: &str) -> Result<Option<String>, DomainError> {
    if order.starts_with("ord_") {
        Ok(state.store.session_by_order_ref(order).await?)
    } else {
        Ok(Some(order.to_owned()))
    }
}

/// The seats a licence order allows: its tier's, or its campaign's (0 if neither is known).
pub fn seats_for(state: &crate::HostState, session: &crate::store::SessionRow) -> u16 {
    let Some(campaign) = state.config.campaign(&session.campaign) else {
        return 0;
    };
    let tier = session.tier.as_deref().and_then(|t| campaign.tier(t));
    match (tier, campaign.license.as_ref()) {
        (Some(t), _) => t.seats,
        (None, Some(l)) => l.seats,
        (None, None) => 0,
    }
}

/// What an order entitles to, from the order itself (its session, tier and campaign) and never
/// from the key's claims: a key signed with a leaked key cannot raise its seats or move its last
/// day. `None`: no such order. Answers the session too (activations are kept by session).
async fn entitlement(
    state: &crate::HostState,
    order: &str,
) -> Result<Option<(Licence, String)>, DomainError> {
    let Some(id) = session_of(state, order).await? else {
        return Ok(None);
    };
    let Some(session) = state.store.session(&id).await? else {
        return Ok(None);
    };
    let Some(campaign) = state.config.campaign(&session.campaign) else {
        return Ok(None);
    };
    let Some(settings) = campaign.license.as_ref() else {
        return Ok(None);
    };
    let f = state.store.fulfilment(&id).await?;
    let tier = session.tier.as_deref().and_then(|t| campaign.tier(t));
    let issued_day = f.as_ref().map_or(0, |f| {
        u32::try_from(f.created.div_euclid(86_400)).unwrap_or(0)
    });
    Ok(Some((
        Licence {
            product: match tier {
                Some(t) => format!("{} {}", settings.product, t.name),
                None => settings.product.clone(),
            },
            // The plan's seats and days, plus what support added.
            seats: tier.map_or(settings.seats, |t| t.seats).saturating_add(
                f.as_ref()
                    .map_or(0, |f| u16::try_from(f.extra_seats).unwrap_or(u16::MAX)),
            ),
            issued_day,
            expires_day: if session.frequency.interval().is_some() {
                None
            } else {
                settings.validity_days.map(|d| {
                    issued_day
                        + d
                        + f.as_ref()
                            .map_or(0, |f| u32::try_from(f.extra_days).unwrap_or(0))
                })
            },
            order: order.to_owned(),
        },
        id,
    )))
}

/// A licence's standing: a one-time licence by the days signed into its key; a subscription's
/// by how far it is paid (`paid_until`, moved by each paid invoice) plus the campaign's grace.
pub async fn standing(
    state: &crate::HostState,
    l: &Licence,
    session_id: &str,
) -> Result<Standing, DomainError> {
    let f = state.store.fulfilment(session_id).await?;
    let revoked = f.as_ref().is_none_or(|f| f.revoked);
    let suspended = f.as_ref().is_some_and(|f| f.suspended);
    let extra = f.as_ref().map_or(0, |f| f.extra_days) * 86_400;
    let session = state.store.session(session_id).await?;
    let now = state.clock.now();
    let day = |t: i64| u32::try_from(t.div_euclid(86_400)).unwrap_or(0);
    let (expired, past_due, valid_until_day) = match &session {
        Some(s) if s.frequency.interval().is_some() => {
            let grace = state
                .config
                .campaign(&s.campaign)
                .map_or(7, |c| i64::from(c.grace_days))
                * 86_400;
            // Until the first invoice's event arrives, its first period (from the fulfilment)
            // is assumed paid — never "now", which would never expire.
            let period = if s.frequency == paywidget_core::api::Frequency::Yearly {
                366 * 86_400
            } else {
                31 * 86_400
            };
            let paid_until = f
                .as_ref()
                .and_then(|f| f.paid_until.or(Some(f.created + period)))
                .unwrap_or(now);
            let until = paid_until + grace + extra;
            (now > until, now > paid_until, Some(day(until)))
        }
        _ => (
            l.expires_day.is_some_and(|d| state.clock.today() > d),
            false,
            l.expires_day,
        ),
    };
    let status = if revoked {
        "revoked"
    } else if suspended {
        "suspended"
    } else if expired {
        "expired"
    } else if past_due {
        "past_due"
    } else {
        "active"
    };
    Ok(Standing {
        revoked,
        suspended,
        expired,
        status,
        valid_until_day,
    })
}

/// A key that verifies and is still good (not revoked, not past its last day), with its
/// standing.
async fn good_licence(
    state: &crate::HostState,
    key: &str,
) -> Result<(Licence, Standing, String), DomainError> {
    let claimed = verify(&state.signing_key.verifying_key(), key)
        .map_err(|e| DomainError::invalid(ErrorCode::InvalidLicense, e.to_string()))?;
    let Some((l, session_id)) = entitlement(state, &claimed.order).await? else {
        return Err(DomainError::Refused {
            code: ErrorCode::LicenseRevoked,
            message: "This licence was revoked (refunded or disputed).".into(),
        });
    };
    let st = standing(state, &l, &session_id).await?;
    if st.revoked {
        return Err(DomainError::Refused {
            code: ErrorCode::LicenseRevoked,
            message: "This licence was revoked (refunded or disputed).".into(),
        });
    }
    if st.suspended {
        return Err(DomainError::Refused {
            code: ErrorCode::LicenseSuspended,
            message: "This licence is suspended by its seller: contact them.".into(),
        });
    }
    if st.expired {
        return Err(DomainError::Refused {
            code: ErrorCode::LicenseExpired,
            message: "This licence has expired.".into(),
        });
    }
    Ok((l, st, session_id))
}

/// `POST /api/licenses/activate`: takes a seat for the installation (again: the same seat)
/// and answers a lease valid until the licence's last day.
pub async fn activate(
    state: &crate::HostState,
    req: &ActivationRequest,
) -> Result<ActivationView, DomainError> {
    let instance = Instance::parse(&req.instance)?;
    // The attempt goes into the licence's activation log (the dashboard's "activation doctor"),
    // refused ones with their reason — when the key names one of our orders at all.
    let order = verify(&state.signing_key.verifying_key(), &req.key)
        .ok()
        .map(|c| c.order);
    let session = match &order {
        Some(order) => entitlement(state, order)
            .await
            .ok()
            .flatten()
            .map(|(_, s)| s),
        None => None,
    };
    // Whether this installation held a seat already (then it is a renewal of its lease, not
    // news for the merchant's systems).
    let had_seat = match &order {
        Some(order) if session.is_some() => state
            .store
            .activations(order)
            .await
            .map(|list| list.iter().any(|(i, _)| i == instance.as_str()))
            .unwrap_or(false),
        _ => false,
    };
    let result = activate_checked(state, req, &instance).await;
    if let Some(session_id) = session {
        let (outcome, reason) = match &result {
            Ok(_) => ("activated", None),
            Err(DomainError::Refused { code, .. } | DomainError::Invalid { code, .. }) => {
                ("refused", Some(code.as_str().to_owned()))
            }
            Err(_) => ("failed", None),
        };
        let attempt = crate::store::ActivationAttempt {
            session_id: session_id.clone(),
            instance: instance.as_str().to_owned(),
            outcome: outcome.to_owned(),
            reason: reason.clone(),
            at: state.clock.now(),
        };
        if let Err(e) = state.store.log_activation(&attempt).await {
            tracing::warn!(error = %e, "activation attempt not logged");
        }
        let told = match (outcome, had_seat) {
            ("activated", false) => Some(crate::hooks::HookEvent::LicenceActivated),
            ("refused", _) => Some(crate::hooks::HookEvent::LicenceActivationFailed),
            _ => None,
        };
        if let Some(event) = told {
            tell_merchant(
                state,
                &session_id,
                order.as_deref(),
                event,
                instance.as_str(),
                reason,
            )
            .await;
        }
    }
    result
}

/// Queues an activation's webhook for the licence's merchant (its own small transaction: an
/// activation is not one). A failure is logged; the activation stands.
async fn tell_merchant(
    state: &crate::HostState,
    session_id: &str,
    order: Option<&str>,
    event: crate::hooks::HookEvent,
    instance: &str,
    reason: Option<String>,
) {
    let session = match state.store.session(session_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "activation webhook: session not read");
            return;
        }
    };
    let data = crate::hooks::HookData {
        instance: Some(instance.to_owned()),
        reason,
        licence_order: order.map(str::to_owned),
        ..crate::hooks::HookData::of(&session)
    };
    if let Err(e) = crate::hooks::emit_now(state, &session.merchant, event, &data, None).await {
        tracing::warn!(error = %e, "activation webhook not queued");
    }
}

/// [`activate`] once the instance id parsed.
async fn activate_checked(
    state: &crate::HostState,
    req: &ActivationRequest,
    instance: &Instance,
) -> Result<ActivationView, DomainError> {
    let (l, st, session_id) = good_licence(state, &req.key).await?;
    let now = state.clock.now();
    match state
        .store
        .activate(&session_id, instance.as_str(), l.seats, now)
        .await?
    {
        crate::store::Activated::Full => Err(DomainError::Refused {
            code: ErrorCode::SeatsExhausted,
            message: format!(
                "All {} seats of this licence are in use. Deactivate one of them first.",
                l.seats
            ),
        }),
        crate::store::Activated::Active { used } => {
            // A lease lapses within 30 days whatever the licence: offline apps re-activate (the
            // same seat) in time, so deactivations and refunds reach them.
            let cap = state.clock.today() + LEASE_DAYS;
            let claims = LeaseClaims {
                order: l.order.clone(),
                instance: instance.as_str().to_owned(),
                valid_until_day: Some(st.valid_until_day.map_or(cap, |d| d.min(cap))),
            };
            Ok(ActivationView {
                lease: issue_lease(&state.signing_key, &claims),
                instance: claims.instance,
                valid_until_day: claims.valid_until_day,
                seats: l.seats,
                seats_used: used,
            })
        }
    }
}

/// `POST /api/licenses/deactivate`: frees the installation's seat (also for a revoked or
/// expired licence: freeing is always allowed).
pub async fn deactivate(
    state: &crate::HostState,
    req: &ActivationRequest,
) -> Result<DeactivationView, DomainError> {
    let instance = Instance::parse(&req.instance)?;
    let claimed = verify(&state.signing_key.verifying_key(), &req.key)
        .map_err(|e| DomainError::invalid(ErrorCode::InvalidLicense, e.to_string()))?;
    let (l, session_id) = match entitlement(state, &claimed.order).await? {
        Some(found) => found,
        None => {
            let id = claimed.order.clone();
            (claimed, id)
        }
    };
    let deactivated = state
        .store
        .deactivate(&session_id, instance.as_str())
        .await?;
    let used = state.store.activations(&session_id).await?.len();
    Ok(DeactivationView {
        deactivated,
        seats: l.seats,
        seats_used: u16::try_from(used).unwrap_or(u16::MAX),
    })
}

/// `POST /api/licenses/verify`: whether `key` is one we signed, and if so whether it is still
/// good (not revoked by a refund or dispute, not past its last day by the host's clock).
pub async fn check(state: &crate::HostState, key: &str) -> Result<VerifyAnswer, DomainError> {
    match verify(&state.signing_key.verifying_key(), key) {
        Err(e) => Ok(VerifyAnswer::Invalid {
            valid: false,
            reason: e.to_string(),
        }),
        Ok(claimed) => {
            // What the order says, not the key; an order we have no fulfilment for is
            // treated as revoked.
            let (l, session_id) = match entitlement(state, &claimed.order).await? {
                Some(found) => found,
                None => {
                    let id = claimed.order.clone();
                    (claimed, id)
                }
            };
            let st = standing(state, &l, &session_id).await?;
            let used = state.store.activations(&session_id).await?.len();
            Ok(VerifyAnswer::Checked {
                valid: !st.revoked && !st.suspended && !st.expired,
                revoked: st.revoked,
                expired: st.expired,
                status: st.status.to_owned(),
                valid_until_day: st.valid_until_day,
                seats_used: u16::try_from(used).unwrap_or(u16::MAX),
                licence: l,
            })
        }
    }
}

/// A new random signing key.
pub fn generate() -> SigningKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the OS random source");
    SigningKey::from_bytes(&seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Licence {
        Licence {
            product: "Acme Pro".into(),
            seats: 5,
            issued_day: 20_415,
            expires_day: Some(20_780),
            order: "cs_abc123".into(),
        }
    }

    #[test]
    fn issue_then_verify_round_trips() {
        let k = SigningKey::from_bytes(&[7u8; 32]);
        let key = issue(&k, &sample());
        assert!(key.starts_with("PW1-"));
        assert!(key.split('-').skip(1).all(|g| g.len() <= 5));
        assert_eq!(verify(&k.verifying_key(), &key).unwrap(), sample());
        // Case, spaces and dashes do not matter when pasting.
        let sloppy = key.to_lowercase().replace('-', " ");
        assert_eq!(verify(&k.verifying_key(), &sloppy).unwrap(), sample());
    }

    #[test]
    fn tampering_and_other_issuers_fail() {
        let k = SigningKey::from_bytes(&[7u8; 32]);
        let key = issue(&k, &sample());
        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert_eq!(
            verify(&other.verifying_key(), &key),
            Err(LicenceError::BadSignature)
        );
        // Flip one character of the payload.
        let mut chars: Vec<char> = key.chars().collect();
        let i = 6;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(verify(&k.verifying_key(), &tampered).is_err());
        assert_eq!(
            verify(&k.verifying_key(), "hello"),
            Err(LicenceError::Malformed)
        );
    }

    #[test]
    fn leases_verify_offline_and_are_not_keys() {
        let k = SigningKey::from_bytes(&[7u8; 32]);
        let claims = LeaseClaims {
            order: "cs_abc123".into(),
            instance: "laptop-1".into(),
            valid_until_day: Some(20_780),
        };
        let lease = issue_lease(&k, &claims);
        assert!(lease.starts_with("PWL1-"));
        assert_eq!(verify_lease(&k.verifying_key(), &lease).unwrap(), claims);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert_eq!(
            verify_lease(&other.verifying_key(), &lease),
            Err(LicenceError::BadSignature)
        );
        // A licence key is not a lease, nor a lease a key.
        let key = issue(&k, &sample());
        assert!(verify_lease(&k.verifying_key(), &key).is_err());
        assert!(verify(&k.verifying_key(), &lease).is_err());
        let perpetual = LeaseClaims {
            valid_until_day: None,
            ..claims
        };
        assert_eq!(
            verify_lease(&k.verifying_key(), &issue_lease(&k, &perpetual))
                .unwrap()
                .valid_until_day,
            None
        );
    }

    #[test]
    fn instance_ids_are_parsed() {
        assert!(Instance::parse("laptop-1.local:2").is_ok());
        for bad in ["", "a b", "x/y", &"a".repeat(65), "é"] {
            assert!(Instance::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn perpetual_licence() {
        let k = generate();
        let l = Licence {
            expires_day: None,
            ..sample()
        };
        assert_eq!(
            verify(&k.verifying_key(), &issue(&k, &l))
                .unwrap()
                .expires_day,
            None
        );
    }
}
