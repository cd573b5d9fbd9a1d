//! `/v1/setup_intents`: create, retrieve (secret key, or publishable key with the client
//! secret), list, confirm, cancel.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::{list_objects, ok, take_expand};
use crate::auth::{AnyKey, KeyKind, SecretKey};
use crate::error::ApiError;
use crate::model::SetupIntent;
use crate::params::Params;
use crate::setup_intents::{self, NewSetupIntent, SetupConfirm};
use crate::{payments, SharedState};

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/setup_intents", post(create).get(list_all))
        .route("/v1/setup_intents/{id}", get(retrieve))
        .route("/v1/setup_intents/{id}/confirm", post(confirm))
        .route("/v1/setup_intents/{id}/cancel", post(cancel))
}

fn take_confirm(p: &mut Params) -> SetupConfirm {
    SetupConfirm {
        payment_method: p.take("payment_method"),
        confirmation_token: p.take("confirmation_token"),
        return_url: p.take("return_url"),
    }
}

fn take_accepted(p: &mut Params) -> Result<(), ApiError> {
    let types = p.take_list("payment_method_types");
    if types.iter().any(|t| t != "card") {
        return Err(ApiError::invalid_param(
            "payment_method_types",
            "The sandbox supports only `card`.",
        ));
    }
    p.take_bool("automatic_payment_methods[enabled]")?;
    p.take_enum(
        "automatic_payment_methods[allow_redirects]",
        &["always", "never"],
    )?;
    take_expand(p);
    Ok(())
}

async fn create(
    State(state): State<SharedState>,
    _: SecretKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let confirm = p.take_bool("confirm")?.unwrap_or(false);
    let mut c = take_confirm(&mut p);
    let new = NewSetupIntent {
        customer: p.take("customer"),
        description: p.take("description"),
        metadata: p.take_map("metadata"),
        payment_method: c.payment_method.take(),
        usage: p
            .take_enum("usage", &["off_session", "on_session"])?
            .unwrap_or_else(|| "off_session".into()),
        confirm: None,
    };
    take_accepted(&mut p)?;
    p.finish()?;
    if !confirm && (c.confirmation_token.is_some() || c.return_url.is_some()) {
        return Err(ApiError::invalid_param(
            "confirm",
            "confirmation_token and return_url can only be used with confirm=true.",
        ));
    }
    let new = NewSetupIntent {
        confirm: confirm.then_some(c),
        ..new
    };
    ok(&setup_intents::create(&state, new).await?)
}

async fn retrieve(
    State(state): State<SharedState>,
    AnyKey(key): AnyKey,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    take_expand(&mut p);
    let secret = p.take("client_secret");
    p.finish()?;
    let si = payments::get::<SetupIntent>(&state, "setup_intent", &id).await;
    if key == KeyKind::Publishable {
        let secret = secret.ok_or_else(|| ApiError::missing_param("client_secret"))?;
        match &si {
            Ok(si) if si.client_secret == secret => {}
            _ => return Err(ApiError::not_found("setup_intent", &id)),
        }
    }
    ok(&si?)
}

async fn list_all(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    list_objects(
        &state,
        q,
        "setup_intent",
        "/v1/setup_intents",
        Some("customer"),
        |v| v,
    )
    .await
}

async fn confirm(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let c = take_confirm(&mut p);
    take_accepted(&mut p)?;
    p.finish()?;
    ok(&setup_intents::confirm(&state, &id, c).await?)
}

async fn cancel(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let reason = p.take_enum(
        "cancellation_reason",
        &["abandoned", "duplicate", "requested_by_customer"],
    )?;
    take_expand(&mut p);
    p.finish()?;
    ok(&setup_intents::cancel(&state, &id, reason).await?)
}
