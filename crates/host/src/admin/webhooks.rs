//! The dashboard's outgoing webhook endpoints, for owners only (settings and secrets): add one
//! (its secret shown once), rotate its secret (the old one still signs for 24 hours), switch it
//! off and on, send a test event, read its delivery log, replay one message or everything since
//! a day. Every change is audited.

use paywidget_core::api::ErrorCode;

use super::Staff;
use crate::config::Role;
use crate::hooks::{self, target, EndpointSecret, EventFilter, HookData, HookEvent};
use crate::store::{HookEndpoint, HookLogLine};
use crate::support::error::DomainError;
use crate::HostState;

/// The most endpoints one merchant keeps.
pub const MAX_ENDPOINTS: usize = 10;

/// How many tries an endpoint's page shows.
pub const LOG_LINES: u32 = 50;

/// One endpoint as its page shows it.
#[derive(Clone, Debug)]
pub struct EndpointView {
    /// The endpoint.
    pub endpoint: HookEndpoint,
    /// What it is sent.
    pub filter: EventFilter,
    /// Its newest tries.
    pub log: Vec<HookLogLine>,
}

/// Only owners see and change endpoints; a change carries this session's CSRF token.
fn owner(staff: &Staff, csrf: Option<&str>) -> Result<(), DomainError> {
    if let Some(token) = csrf {
        super::check_csrf(staff, token)?;
    }
    if staff.role != Role::Owner {
        return Err(DomainError::Forbidden(
            "Only owners manage webhooks.".into(),
        ));
    }
    Ok(())
}

/// The merchant's endpoints.
pub async fn endpoints(state: &HostState, staff: &Staff) -> Result<Vec<HookEndpoint>, DomainError> {
    owner(staff, None)?;
    Ok(state.store.hook_endpoints(&staff.merchant).await?)
}

/// Adds an endpoint for `url` sent `events` (none: every event): it and its secret, which is
/// shown this once.
pub async fn add(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    url: &str,
    events: &[String],
) -> Result<(HookEndpoint, String), DomainError> {
    owner(staff, Some(csrf))?;
    let url = target::parse_url(url, state.config.server.hooks_to_loopback)
        .map_err(|e| DomainError::invalid(ErrorCode::InvalidRequest, e.to_string()))?;
    let filter = EventFilter::from_names(events.iter().map(String::as_str))
        .map_err(|e| DomainError::invalid(ErrorCode::InvalidRequest, e))?;
    if state.store.hook_endpoints(&staff.merchant).await?.len() >= MAX_ENDPOINTS {
        return Err(DomainError::Refused {
            code: ErrorCode::InvalidRequest,
            message: format!("A merchant has at most {MAX_ENDPOINTS} endpoints."),
        });
    }
    let endpoint = HookEndpoint {
        id: state.ids.new_id("ep"),
        merchant: staff.merchant.clone(),
        url: url.to_string(),
        events: filter.stored(),
        salt: hooks::new_salt(),
        old_salt: None,
        old_until: None,
        created: state.clock.now(),
        failing_since: None,
        disabled: None,
        disabled_reason: None,
    };
    state.store.insert_hook_endpoint(&endpoint).await?;
    super::audit(
        state,
        staff,
        None,
        "webhook_added",
        &format!("{} {}", endpoint.id, endpoint.url),
    )
    .await?;
    let secret = secret_of(state, &endpoint.id, &endpoint.salt);
    Ok((endpoint, secret))
}

fn secret_of(state: &HostState, endpoint: &str, salt: &str) -> String {
    EndpointSecret::derive(&state.keys.hooks, endpoint, salt).reveal()
}

/// One endpoint of the merchant's with its log.
pub async fn endpoint(
    state: &HostState,
    staff: &Staff,
    id: &str,
) -> Result<EndpointView, DomainError> {
    owner(staff, None)?;
    let endpoint = state
        .store
        .hook_endpoint(&staff.merchant, id)
        .await?
        .ok_or_else(|| DomainError::NotFound("no such endpoint"))?;
    let log = state.store.hook_log(&endpoint.id, LOG_LINES).await?;
    Ok(EndpointView {
        filter: EventFilter::from_stored(&endpoint.events),
        endpoint,
        log,
    })
}

/// A new secret for the endpoint (shown this once); the old one signs too for 24 hours, so
/// the receiver can switch without losing a message.
pub async fn rotate(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
) -> Result<String, DomainError> {
    owner(staff, Some(csrf))?;
    let salt = hooks::new_salt();
    let until = state.clock.now() + hooks::ROTATION_OVERLAP_SECS;
    if !state
        .store
        .rotate_hook_secret(&staff.merchant, id, &salt, until)
        .await?
    {
        return Err(DomainError::NotFound("no such endpoint"));
    }
    super::audit(state, staff, None, "webhook_secret_rotated", id).await?;
    Ok(secret_of(state, id, &salt))
}

/// Switches the endpoint on (its failures forgotten; what it missed waits for a replay) or off.
pub async fn set_enabled(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
    on: bool,
) -> Result<(), DomainError> {
    owner(staff, Some(csrf))?;
    let reason = format!("switched off by {}", staff.email);
    let off = (!on).then_some(reason.as_str());
    if !state
        .store
        .set_hook_endpoint_enabled(&staff.merchant, id, off, state.clock.now())
        .await?
    {
        return Err(DomainError::NotFound("no such endpoint"));
    }
    let action = if on { "webhook_on" } else { "webhook_off" };
    super::audit(state, staff, None, action, id).await?;
    hooks::wake(state);
    Ok(())
}

/// Sends a `webhook.test` event to this endpoint only: its message id.
pub async fn send_test(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
) -> Result<String, DomainError> {
    owner(staff, Some(csrf))?;
    if state
        .store
        .hook_endpoint(&staff.merchant, id)
        .await?
        .is_none()
    {
        return Err(DomainError::NotFound("no such endpoint"));
    }
    let data = HookData {
        reason: Some(format!("sent from the dashboard by {}", staff.email)),
        ..HookData::default()
    };
    let message = hooks::emit_now(state, &staff.merchant, HookEvent::Test, &data, Some(id)).await?;
    super::audit(state, staff, None, "webhook_test", id).await?;
    Ok(message)
}

/// Sends message `message` to the endpoint again (same `webhook-id`: the receiver can tell).
pub async fn replay(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
    message: &str,
) -> Result<(), DomainError> {
    owner(staff, Some(csrf))?;
    if !state
        .store
        .replay_hook(&staff.merchant, id, message, state.clock.now())
        .await?
    {
        return Err(DomainError::NotFound("no such message for this endpoint"));
    }
    super::audit(
        state,
        staff,
        None,
        "webhook_replay",
        &format!("{id} {message}"),
    )
    .await?;
    hooks::wake(state);
    Ok(())
}

/// Sends every event the endpoint wants since the start of day `since` (`YYYY-MM-DD`, UTC)
/// again: how many.
pub async fn replay_since(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
    since: &str,
) -> Result<u64, DomainError> {
    owner(staff, Some(csrf))?;
    let Some(start) = super::parse_day(since) else {
        return Err(DomainError::invalid(
            ErrorCode::InvalidRequest,
            "Give the day as YYYY-MM-DD.",
        ));
    };
    if state
        .store
        .hook_endpoint(&staff.merchant, id)
        .await?
        .is_none()
    {
        return Err(DomainError::NotFound("no such endpoint"));
    }
    let n = state
        .store
        .replay_hooks_since(&staff.merchant, id, start, state.clock.now())
        .await?;
    super::audit(
        state,
        staff,
        None,
        "webhook_replay_since",
        &format!("{id} since {since}: {n}"),
    )
    .await?;
    hooks::wake(state);
    Ok(n)
}
