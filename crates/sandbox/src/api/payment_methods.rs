//! `/v1/payment_methods`: card tokenization (open to the publishable key), retrieve, attach,
//! detach, and a customer's list.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::CorsLayer;

use super::{ok, paging, take_expand};
use crate::auth::{AnyKey, SecretKey};
use crate::error::ApiError;
use crate::model::{list, Address, BillingDetails};
use crate::params::Params;
use crate::payments::{self, NewPaymentMethod};
use crate::{cards, catalogue, SharedState};

pub(super) fn router(cors: CorsLayer) -> Router<SharedState> {
    Router::new()
        .route(
            "/v1/payment_methods",
            post(create).layer(cors).get(list_all),
        )
        .route("/v1/payment_methods/{id}", get(retrieve))
        .route("/v1/payment_methods/{id}/attach", post(attach))
        .route("/v1/payment_methods/{id}/detach", post(detach))
}

async fn create(
    State(state): State<SharedState>,
    AnyKey(_): AnyKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    if p.peek("type") == Some("sepa_debit") {
        p.take("type");
        return create_sepa(&state, p).await;
    }
    let new = take_card(&mut p, &state, "")?;
    take_expand(&mut p);
    p.finish()?;
    ok(&payments::create_payment_method(&state, new).await?)
}

/// `type=sepa_debit`: `sepa_debit[iban]` (a valid IBAN of a SEPA country), with the account
/// holder's `billing_details[name]` and `[email]`, which Stripe requires for SEPA.
async fn create_sepa(state: &SharedState, mut p: Params) -> Result<Response, ApiError> {
    // Read here, parsed, and dropped with `p`: the IBAN is never logged or stored.
    let iban = crate::sepa::parse_iban(p.take("sepa_debit[iban]").as_deref(), "sepa_debit[iban]")?;
    let billing_details = take_billing_details(&mut p, "");
    for (field, value) in [
        ("name", &billing_details.name),
        ("email", &billing_details.email),
    ] {
        if value.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::missing_param(&format!(
                "billing_details[{field}]"
            )));
        }
    }
    let metadata = p.take_map("metadata");
    take_expand(&mut p);
    p.finish()?;
    ok(&payments::create_sepa_method(state, iban, billing_details, metadata).await?)
}

/// `key` (e.g. `card[number]`) under `prefix`: itself for `""`, else `prefix[card][number]`
/// (how `payment_method_data[…]` nests the same parameters).
fn nested(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        return key.to_owned();
    }
    match key.split_once('[') {
        Some((head, rest)) => format!("{prefix}[{head}][{rest}"),
        None => format!("{prefix}[{key}]"),
    }
}

/// Reads a card payment method's parameters (`type`, `card[…]`, `billing_details[…]`,
/// `metadata[…]`), under `prefix` when they are nested (`payment_method_data`), and validates
/// the card as Stripe does; errors name the parameter as sent.
pub(super) fn take_card(
    p: &mut Params,
    state: &SharedState,
    prefix: &str,
) -> Result<NewPaymentMethod, ApiError> {
    let k = |key: &str| nested(prefix, key);
    p.take_enum(&k("type"), &["card"])?
        .ok_or_else(|| ApiError::missing_param(&k("type")))?;
    let now = state.clock.now();
    let (year, month) = civil_year_month(now);
    // Card data is read here, validated, and dropped with `p`: never logged or stored.
    let card = cards::validate(
        p.take(&k("card[number]")).as_deref(),
        p.take(&k("card[exp_month]")).as_deref(),
        p.take(&k("card[exp_year]")).as_deref(),
        p.take(&k("card[cvc]")).as_deref(),
        (year, month),
    )
    .map_err(|mut e| {
        if let Some(param) = e.param.take() {
            let param = k(&param);
            if e.code.as_deref() == Some("parameter_missing") {
                // Its message names the parameter too.
                return ApiError::missing_param(&param);
            }
            e.param = Some(param);
        }
        e
    })?;
    let billing_details = take_billing_details(p, prefix);
    let metadata = p.take_map(&k("metadata"));
    Ok(NewPaymentMethod {
        card,
        billing_details,
        metadata,
    })
}

/// `billing_details[…]` under `prefix`.
fn take_billing_details(p: &mut Params, prefix: &str) -> BillingDetails {
    let k = |key: &str| nested(prefix, key);
    BillingDetails {
        address: Address {
            city: p.take(&k("billing_details[address][city]")),
            country: p.take(&k("billing_details[address][country]")),
            line1: p.take(&k("billing_details[address][line1]")),
            line2: p.take(&k("billing_details[address][line2]")),
            postal_code: p.take(&k("billing_details[address][postal_code]")),
            state: p.take(&k("billing_details[address][state]")),
        },
        email: p.take(&k("billing_details[email]")),
        name: p.take(&k("billing_details[name]")),
        phone: p.take(&k("billing_details[phone]")),
    }
}

async fn retrieve(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ok(&payments::get::<crate::model::PaymentMethod>(&state, "payment_method", &id).await?)
}

async fn attach(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    let customer = p.require("customer")?;
    take_expand(&mut p);
    p.finish()?;
    ok(&payments::attach_payment_method(&state, &id, &customer).await?)
}

async fn detach(
    State(state): State<SharedState>,
    _: SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(&body);
    take_expand(&mut p);
    p.finish()?;
    ok(&catalogue::detach_payment_method(&state, &id).await?)
}

/// `GET /v1/payment_methods?customer=…` (Stripe requires the customer here).
async fn list_all(
    State(state): State<SharedState>,
    _: SecretKey,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let mut p = Params::parse(q.unwrap_or_default().as_bytes());
    let (limit, after) = paging(&mut p)?;
    let customer = p.require("customer")?;
    p.take_enum("type", &["card"])?;
    p.finish()?;
    let (items, more) = state
        .store
        .list(
            "payment_method",
            limit,
            after.as_deref(),
            &catalogue::pm_list_filters(&customer),
        )
        .await?;
    ok(&list("/v1/payment_methods", items, more))
}

/// The UTC (year, month) of a unix time.
pub(crate) fn civil_year_month(unix: i64) -> (u16, u8) {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (u16::try_from(t.year()).unwrap_or(0), u8::from(t.month()))
}

#[cfg(test)]
mod tests {
    use super::civil_year_month;

    #[test]
    fn year_month_of_unix_times() {
        assert_eq!(civil_year_month(0), (1970, 1));
        assert_eq!(civil_year_month(1_795_478_400), (2026, 11)); // 2026-11-23
        assert_eq!(civil_year_month(1_798_761_599), (2026, 12)); // 2026-12-31 23:59:59
        assert_eq!(civil_year_month(1_798_761_600), (2027, 1));
    }
}
