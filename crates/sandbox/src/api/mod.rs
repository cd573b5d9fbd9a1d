//! The HTTP API: one router per feature, thin handlers that parse Stripe's parameters and call
//! the domain modules ([`crate::payments`], [`crate::catalogue`], [`crate::billing`]).

mod confirmation_tokens;
mod control;
mod customers;
mod expand;
mod invoices;
mod payment_intents;
mod payment_methods;
mod products;
mod refunds;
mod reporting;
mod setup_intents;
mod stripe_js;
mod subscriptions;
mod test_clocks;
mod three_d_secure;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Serialize;
use tower_http::cors::{Any, CorsLayer};

use crate::error::ApiError;
use crate::params::Params;
use crate::store::{Cmp, Filter};
use crate::{faults, idempotency, SharedState};

/// Every route, with idempotency and fault injection on `/v1`.
pub fn router(state: SharedState) -> Router {
    // What Stripe.js calls from the browser (tokenize a card, make a confirmation token, read an
    // intent with its client secret) is open to any origin; nothing else is.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("stripe-version"),
        ]);
    let v1 = Router::new()
        .merge(payment_methods::router(cors.clone()))
        .merge(confirmation_tokens::router(cors.clone()))
        .merge(payment_intents::router(cors))
        .merge(refunds::router())
        .merge(customers::router())
        .merge(products::router())
        .merge(subscriptions::router())
        .merge(invoices::router())
        .merge(test_clocks::router())
        .merge(setup_intents::router())
        .merge(reporting::router())
        .layer(from_fn_with_state(state.clone(), idempotency::layer))
        .layer(from_fn_with_state(state.clone(), faults::layer));
    Router::new()
        .merge(v1)
        .merge(three_d_secure::router())
        .merge(stripe_js::router())
        .merge(control::router())
        .fallback(unknown_route)
        .layer(from_fn_with_state(state.clone(), request_id))
        .with_state(state)
}

/// Every answer names its request, as Stripe's do (`Request-Id: req_…`; stripe-node shows it
/// as `lastResponse.requestId`, stripe-python as `last_response.request_id`), readable by the
/// browser's Stripe.js too. Each answer has its own, a replayed idempotent one included.
async fn request_id(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&state.ids.new_id("req")) {
        headers.insert(REQUEST_ID, id);
    }
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("request-id"),
    );
    response
}

/// Stripe's request id header.
const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

async fn unknown_route(req: Request) -> Response {
    ApiError::unknown_route(req.method().as_str(), req.uri().path()).into_response()
}

/// A JSON response of a Stripe object, in Stripe's shape ([`crate::shape`]).
pub(crate) fn ok<T: Serialize>(object: &T) -> Result<Response, ApiError> {
    let mut value = serde_json::to_value(object)?;
    crate::shape::complete(&mut value);
    Ok(axum::Json(value).into_response())
}

/// A retrieve's query: only `expand[]`.
pub(crate) fn expand_of(q: Option<String>) -> Result<Vec<String>, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let expand = take_expand(&mut p);
    p.finish()?;
    Ok(expand)
}

/// The `limit` and `starting_after` of a list request (limit 1–100, default 10).
pub(crate) fn paging(p: &mut Params) -> Result<(i64, Option<String>), ApiError> {
    let limit = p.take_i64("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_param(
            "limit",
            "Limit must be between 1 and 100.",
        ));
    }
    // Accepted and ignored like Stripe's other list filters we do not implement.
    let _ = p.take("ending_before");
    let _ = p.take_list("expand");
    Ok((limit, p.take("starting_after")))
}

/// The `created` filter of a list, as Stripe takes it: `created=<unix time>` for that second, or
/// any of `created[gt]`, `created[gte]`, `created[lt]`, `created[lte]`.
pub(crate) fn created_filters(p: &mut Params) -> Result<Vec<Filter>, ApiError> {
    let mut out = Vec::new();
    if let Some(at) = p.take_i64("created")? {
        out.push(Filter::Cmp("created".into(), Cmp::Gte, at));
        out.push(Filter::Cmp("created".into(), Cmp::Lte, at));
    }
    for name in ["gt", "gte", "lt", "lte"] {
        if let Some(n) = p.take_i64(&format!("created[{name}]"))? {
            let cmp = Cmp::parse(name).expect("one of the four");
            out.push(Filter::Cmp("created".into(), cmp, n));
        }
    }
    Ok(out)
}

/// A list endpoint: `limit`, `starting_after`, `created` ranges and one optional filter
/// parameter (a top-level field of the objects, e.g. `type`), answered as Stripe's list object after `map`.
pub(crate) async fn list_objects(
    state: &SharedState,
    query: Option<String>,
    kind: &str,
    url: &str,
    filter: Option<&str>,
    map: impl Fn(serde_json::Value) -> serde_json::Value,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(query.unwrap_or_default().as_bytes());
    let expand = take_expand(&mut p);
    let (limit, after) = paging(&mut p)?;
    let value = filter.and_then(|f| p.take(f));
    let created = created_filters(&mut p)?;
    p.finish()?;
    let filters: Vec<Filter> = filter
        .zip(value)
        .map(|(f, v)| Filter::eq(f, v))
        .into_iter()
        .chain(created)
        .collect();
    let (items, more) = state
        .store
        .list(kind, limit, after.as_deref(), &filters)
        .await?;
    let answer = serde_json::to_value(crate::model::list(
        url,
        items.into_iter().map(map).collect(),
        more,
    ))?;
    ok(&expand::list(state, kind, answer, &expand).await?)
}

/// Takes `expand[]` (accepted; objects are returned unexpanded except where noted).
pub(crate) fn take_expand(p: &mut Params) -> Vec<String> {
    p.take_list("expand")
}
