//! `/v1/subscriptions`: create, retrieve, update, cancel, list (post-2025-03-31 shapes; see
//! [`crate::billing`]).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::products::{currency, take_recurring};
use super::{ok, paging};
use crate::auth::SecretKey;
use crate::billing::{
    self, ItemUpdate, NewItem, NewPriceData, NewSubscription, SubscriptionUpdate, TrialEnd,
};
use crate::error::ApiError;
use crate::model::list;
use crate::params::Params;
use crate::SharedState;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/subscriptions", post(create).get(list_all))
        .route(
            "/v1/subscriptions/{id}",
            get(retrieve).post(update).delete(cancel),
        )
}

/// `trial_end`: a timestamp or `now`.
fn take_trial_end(p: &mut Params) -> Result<Option<TrialEnd>, ApiError> {
    p.take("trial_end")
        .map(|v| TrialEnd::parse("trial_end", &v))
        .transpose()
}

fn take_items(p: &mut Params) -> Result<Vec<NewItem>, ApiError> {
    let mut items = Vec::new();
    for n in 0.. {
        let k = |key: &str| format!("items[{n}][{key}]");
        if !p.has_prefix(&format!("items[{n}]")) {
            break;
        }
        let price_data = match p.take(&k("price_data][currency")) {
            Some(c) => Some(NewPriceData {
                currency: currency(&k("price_data][currency"), &c)?,
                product: p.require(&k("price_data][product"))?,
                unit_amount: p
                    .take_i64(&k("price_data][unit_amount"))?
                    .ok_or_else(|| ApiError::missing_param(&k("price_data][unit_amount")))?,
                recurring: take_recurring(p, &k("price_data][recurring"))?.ok_or_else(|| {
                    ApiError::missing_param(&k("price_data][recurring][interval"))
                })?,
            }),
            None => None,
        };
        let quantity = p.take_i64(&k("quantity"))?.unwrap_or(1);
        if quantity < 0 {
            return Err(ApiError::invalid_param(
                &k("quantity"),
                "This value must be greater than or equal to 0.",
            ));
        }
        items.push(NewItem {
            price: p.take(&k("price")),
            price_data,
            quantity,
            metadata: p.take_map(&format!("items[{n}][metadata]")),
        });
    }
    Ok(items)
}

async fn create(
    State(state): State<SharedState>,
    _: SecretKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let customer = p.require("customer")?;
    let items = take_items(&mut p)?;
    let payment_behavior = p
        .take_enum(
            "payment_behavior",
            &[
                "allow_incomplete",
                "default_incomplete",
                "error_if_incomplete",
                "pending_if_incomplete",
            ],
        )?
        .unwrap_or_else(|| "allow_incomplete".into());
    if payment_behavior == "pending_if_incomplete" {
        return Err(ApiError::invalid_param(
            "payment_behavior",
            "pending_if_incomplete is for updates of existing subscriptions.",
        ));
    }
    let save_default_payment_method = p.take_enum(
        "payment_settings[save_default_payment_method]",
        &["off", "on_subscription"],
    )?;
    let _ = p.take_list("payment_settings[payment_method_types]");
    p.take_enum("collection_method", &["charge_automatically"])?;
    let new = NewSubscription {
        customer,
        items,
        payment_behavior,
        save_default_payment_method,
        default_payment_method: p.take("default_payment_method"),
        metadata: p.take_map("metadata"),
        description: p.take("description"),
        cancel_at_period_end: p.take_bool("cancel_at_period_end")?.unwrap_or(false),
        trial_end: take_trial_end(&mut p)?,
        trial_period_days: p.take_i64("trial_period_days")?,
    };
    let expand = p.take_list("expand");
    p.finish()?;
    let sub = billing::create_subscription(&state, new).await?;
    ok(&billing::subscription_view(&state, &sub, &expand).await?)
}

async fn retrieve(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let expand = p.take_list("expand");
    p.finish()?;
    ok(&billing::retrieve_subscription(&state, &id, &expand).await?)
}

async fn update(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let pause_collection = match p.take_present("pause_collection") {
        // `pause_collection=` (empty) resumes collection.
        Some(v) if v.is_empty() => Some(None),
        Some(_) => {
            return Err(ApiError::invalid_param(
                "pause_collection",
                "pause_collection is a hash (pause_collection[behavior]) or empty to resume.",
            ))
        }
        None => p
            .take_enum(
                "pause_collection[behavior]",
                &["keep_as_draft", "mark_uncollectible", "void"],
            )?
            .map(Some),
    };
    let _ = p.take("pause_collection[resumes_at]");
    let mut items = Vec::new();
    for n in 0.. {
        if !p.has_prefix(&format!("items[{n}]")) {
            break;
        }
        items.push(ItemUpdate {
            id: p.take(&format!("items[{n}][id]")),
            price: p.take(&format!("items[{n}][price]")),
            quantity: p.take_i64(&format!("items[{n}][quantity]"))?,
        });
    }
    let upd = SubscriptionUpdate {
        cancel_at_period_end: p.take_bool("cancel_at_period_end")?,
        pause_collection,
        default_payment_method: p
            .take_present("default_payment_method")
            .map(|v| Some(v).filter(|s| !s.is_empty())),
        items,
        proration_behavior: p.take_enum("proration_behavior", &["create_prorations", "none"])?,
        metadata_unset: p.take_empty_map("metadata"),
        metadata: p.take_map("metadata"),
        description: p.take("description"),
        trial_end: take_trial_end(&mut p)?,
    };
    p.take_enum(
        "payment_behavior",
        &[
            "allow_incomplete",
            "default_incomplete",
            "error_if_incomplete",
            "pending_if_incomplete",
        ],
    )?;
    let expand = p.take_list("expand");
    p.finish()?;
    let sub = billing::update_subscription(&state, &id, upd).await?;
    ok(&billing::subscription_view(&state, &sub, &expand).await?)
}

async fn cancel(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    // stripe-python sends DELETE parameters in the query string; others in the body.
    let mut p = Params::parse(if body.is_empty() {
        q.as_deref().unwrap_or_default().as_bytes()
    } else {
        &body
    });
    p.take_bool("invoice_now")?;
    p.take_bool("prorate")?;
    let _ = p.take_map("cancellation_details");
    let expand = p.take_list("expand");
    p.finish()?;
    let sub = billing::cancel_subscription(&state, &id).await?;
    ok(&billing::subscription_view(&state, &sub, &expand).await?)
}

async fn list_all(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    billing::catch_up(&state).await?;
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let expand = p.take_list("expand");
    let (limit, after) = paging(&mut p)?;
    let filters = billing::subscription_filters(
        p.take("customer"),
        p.take_enum(
            "status",
            &[
                "active",
                "all",
                "canceled",
                "ended",
                "incomplete",
                "incomplete_expired",
                "past_due",
                "paused",
                "trialing",
                "unpaid",
            ],
        )?,
        p.take("test_clock"),
    );
    p.finish()?;
    let (items, more) = state
        .store
        .list("subscription", limit, after.as_deref(), &filters)
        .await?;
    let items = billing::expand_subscriptions(&state, items, &expand).await?;
    ok(&list("/v1/subscriptions", items, more))
}
