//! `POST /api/sessions` (create), `POST /api/sessions/:id/pay` and `GET /api/sessions/:id`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use paywidget_core::api::{PayOutcome, SessionCreated, SessionView};

use super::{parse, ClientIp};
use crate::checkout as sessions;
use crate::http::error::HostError;
use crate::HostState;

/// Creates a session (201).
pub(super) async fn create(
    State(state): State<Arc<HostState>>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<(StatusCode, Json<SessionCreated>), HostError> {
    let created = sessions::create(&state, parse(&body)?, ip).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Pays it with a gateway token (the browser's `User-Agent` goes into a bank debit's mandate).
pub(super) async fn pay(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Json<PayOutcome>, HostError> {
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(Json(
        sessions::pay(&state, &id, parse(&body)?, ip, user_agent).await?,
    ))
}

/// `?wait=N`: how long the caller will wait for news, in seconds.
#[derive(serde::Deserialize)]
pub(super) struct StatusQuery {
    #[serde(default)]
    wait: u32,
}

/// Where it is (and its receipt or licence once fulfilled). With `?wait=N` (seconds, at most
/// 20), a session the gateway is still moving (paid, processing, verifying) is answered when it
/// moves, or after N seconds: the confirmation page learns of its receipt at once.
pub(super) async fn status(
    State(state): State<Arc<HostState>>,
    Path(id): Path<String>,
    query: Result<Query<StatusQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SessionView>, HostError> {
    let Ok(Query(q)) = query else {
        return Err(HostError::bad(
            paywidget_core::api::ErrorCode::InvalidRequest,
            "wait must be a whole number of seconds.",
        ));
    };
    let wait = std::time::Duration::from_secs(u64::from(q.wait));
    Ok(Json(
        sessions::waiting::view_after(&state, &id, wait).await?,
    ))
}
