//! `/v1/test_helpers/test_clocks`: create, retrieve, list, advance, delete.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::{list_objects, ok, take_expand};
use crate::auth::SecretKey;
use crate::billing;
use crate::error::ApiError;
use crate::model::TestClock;
use crate::params::Params;
use crate::{payments, SharedState};

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/test_helpers/test_clocks", post(create).get(list_all))
        .route(
            "/v1/test_helpers/test_clocks/{id}",
            get(retrieve).delete(delete),
        )
        .route("/v1/test_helpers/test_clocks/{id}/advance", post(advance))
}

async fn create(
    State(state): State<SharedState>,
    _: SecretKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let frozen_time = p
        .take_i64("frozen_time")?
        .ok_or_else(|| ApiError::missing_param("frozen_time"))?;
    let name = p.take("name");
    take_expand(&mut p);
    p.finish()?;
    ok(&billing::create_clock(&state, frozen_time, name).await?)
}

async fn retrieve(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::get::<TestClock>(&state, "test_helpers.test_clock", &id).await?)
}

async fn list_all(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    list_objects(
        &state,
        q,
        "test_helpers.test_clock",
        "/v1/test_helpers/test_clocks",
        None,
        |v| v,
    )
    .await
}

async fn advance(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let frozen_time = p
        .take_i64("frozen_time")?
        .ok_or_else(|| ApiError::missing_param("frozen_time"))?;
    take_expand(&mut p);
    p.finish()?;
    ok(&billing::advance_clock(&state, &id, frozen_time).await?)
}

async fn delete(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&billing::delete_clock(&state, &id).await?)
}
