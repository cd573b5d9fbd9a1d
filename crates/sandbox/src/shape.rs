//! Stripe's object shapes at the edge: every answer and every event's object carries each field
//! Stripe's type has for the pinned API version (`null` where the sandbox sets nothing), and
//! nothing Stripe does not send. Applied once where objects leave the sandbox ([`crate::api`]'s
//! answers, [`crate::payments`]' events), to objects nested at any depth (expanded ones, a
//! list's items, an event's `data.object`). `cargo xtask test` checks captured objects against
//! the `stripe` npm package's declarations (`tests/stripe-node/fidelity.mjs`).

use serde_json::{json, Map, Value};

/// Fields of a kind that the sandbox leaves unset: sent as `null`, as Stripe sends them.
fn nulls(kind: &str) -> &'static [&'static str] {
    match kind {
        "payment_intent" => &[
            "allowed_payment_method_types",
            "application",
            "application_fee_amount",
            "automatic_payment_methods",
            "customer_account",
            "excluded_payment_method_types",
            "managed_payments",
            "on_behalf_of",
            "payment_method_configuration_details",
            "payment_method_options",
            "payment_record",
            "processing",
            "review",
            "shipping",
            "source",
            "statement_descriptor",
            "statement_descriptor_suffix",
            "transfer_group",
        ],
        "payment_method" => &["customer_account"],
        "refund" => &[
            "customer",
            "customer_account",
            "payment_method",
            "receipt_number",
            "source_transfer_reversal",
            "transfer_reversal",
        ],
        "customer" => &["default_source", "shipping"],
        "subscription" => &[
            "application",
            "application_fee_percent",
            "billing_cycle_anchor_config",
            "billing_thresholds",
            "customer_account",
            "days_until_due",
            "default_source",
            "managed_payments",
            "next_pending_invoice_item_invoice",
            "on_behalf_of",
            "pending_invoice_item_interval",
            "pending_setup_intent",
            "pending_update",
            "schedule",
            "transfer_data",
            "trial_settings",
        ],
        "subscription_item" => &["billing_thresholds", "current_trial", "tax_rates"],
        "invoice" => &[
            "account_name",
            "account_tax_ids",
            "application",
            "automatically_finalizes_at",
            "custom_fields",
            "customer_account",
            "customer_address",
            "customer_phone",
            "customer_shipping",
            "default_source",
            "footer",
            "from_invoice",
            "last_finalization_error",
            "latest_revision",
            "on_behalf_of",
            "receipt_number",
            "rendering",
            "shipping_cost",
            "shipping_details",
            "statement_descriptor",
            "webhooks_delivered_at",
        ],
        "line_item" => &["quantity_decimal", "subscription"],
        "product" => &["tax_details"],
        "balance_transaction" => &["exchange_rate"],
        "charge" => &[
            "application",
            "application_fee",
            "application_fee_amount",
            "calculated_statement_descriptor",
            "failure_balance_transaction",
            "on_behalf_of",
            "receipt_number",
            "receipt_url",
            "review",
            "shipping",
            "source",
            "source_transfer",
            "statement_descriptor",
            "statement_descriptor_suffix",
            "transfer_data",
            "transfer_group",
        ],
        _ => &[],
    }
}

/// Fields Stripe never leaves null that the sandbox does not track, with the value Stripe sends
/// for an account like the sandbox's (no customer balance, payments only).
fn defaults(kind: &str) -> &'static [(&'static str, Fill)] {
    match kind {
        "customer" => &[("balance", Fill::Zero)],
        "subscription" => &[
            ("automatic_tax", Fill::NoSubscriptionTax),
            ("billing_mode", Fill::Classic),
            ("billing_schedules", Fill::Empty),
            ("discounts", Fill::Empty),
            ("invoice_settings", Fill::SelfIssued),
        ],
        "subscription_item" => &[("discounts", Fill::Empty)],
        "invoice" => &[
            ("amount_shipping", Fill::Zero),
            ("automatic_tax", Fill::NoTax),
            ("customer_tax_exempt", Fill::Text("none")),
            ("default_tax_rates", Fill::Empty),
            ("discounts", Fill::Empty),
            ("ending_balance", Fill::Zero),
            ("issuer", Fill::Issuer),
            ("payment_settings", Fill::NoPaymentSettings),
            ("post_payment_credit_notes_amount", Fill::Zero),
            ("pre_payment_credit_notes_amount", Fill::Zero),
            ("starting_balance", Fill::Zero),
            ("total_discount_amounts", Fill::Empty),
            ("total_pretax_credit_amounts", Fill::Empty),
            ("total_taxes", Fill::Empty),
        ],
        "product" => &[("type", Fill::Text("service"))],
        "balance_transaction" => &[("balance_type", Fill::Text("payments"))],
        _ => &[],
    }
}

/// A default value.
enum Fill {
    Zero,
    Text(&'static str),
    Empty,
    /// Automatic tax off (an invoice's, with its provider and status).
    NoTax,
    /// Automatic tax off (a subscription's).
    NoSubscriptionTax,
    /// Stripe's classic billing mode.
    Classic,
    /// Invoices issued by the account itself.
    SelfIssued,
    Issuer,
    NoPaymentSettings,
}

impl Fill {
    fn value(&self) -> Value {
        match self {
            Fill::Zero => Value::from(0),
            Fill::Text(t) => Value::from(*t),
            Fill::Empty => Value::Array(Vec::new()),
            Fill::NoTax => {
                json!({ "disabled_reason": null, "enabled": false, "liability": null, "provider": null, "status": null })
            }
            Fill::NoSubscriptionTax => {
                json!({ "disabled_reason": null, "enabled": false, "liability": null })
            }
            Fill::Classic => json!({ "flexible": null, "type": "classic" }),
            Fill::SelfIssued => json!({
                "account_tax_ids": null, "custom_fields": null, "description": null,
                "footer": null, "issuer": { "type": "self" },
            }),
            Fill::Issuer => json!({ "type": "self" }),
            Fill::NoPaymentSettings => json!({
                "default_mandate": null, "payment_method_options": null, "payment_method_types": null,
            }),
        }
    }
}

/// Fields the sandbox keeps on a stored object for itself that Stripe's object does not have.
fn private(kind: &str) -> &'static [&'static str] {
    match kind {
        // Kept for a later confirmation's 3-D Secure redirect; Stripe shows it only inside
        // `next_action`.
        "payment_intent" => &["return_url"],
        _ => &[],
    }
}

/// Completes `value` and every object inside it.
pub fn complete(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(complete),
        Value::Object(map) => {
            map.values_mut().for_each(complete);
            if let Some(kind) = map.get("object").and_then(Value::as_str).map(str::to_owned) {
                of_kind(&kind, map);
            }
        }
        _ => {}
    }
}

fn of_kind(kind: &str, map: &mut Map<String, Value>) {
    for field in nulls(kind) {
        map.entry(*field).or_insert(Value::Null);
    }
    for (field, fill) in defaults(kind) {
        map.entry(*field).or_insert_with(|| fill.value());
    }
    for field in private(kind) {
        map.remove(*field);
    }
    match kind {
        "payment_method" => {
            billing_details(map);
            if let Some(Value::Object(card)) = map.get_mut("card") {
                let brand = card.get("brand").cloned().unwrap_or(Value::Null);
                card.entry("display_brand").or_insert(brand);
                card.entry("generated_from").or_insert(Value::Null);
                card.entry("regulated_status")
                    .or_insert("unregulated".into());
            }
        }
        "invoice" => {
            for (field, from) in [
                ("subtotal_excluding_tax", "subtotal"),
                ("total_excluding_tax", "total"),
            ] {
                let v = map.get(from).cloned().unwrap_or(Value::Null);
                map.entry(field).or_insert(v);
            }
            // A list inside an object has no `total_count` in Stripe's types.
            if let Some(Value::Object(lines)) = map.get_mut("lines") {
                lines.remove("total_count");
            }
        }
        // The legacy `plan` view of the item's price, which Stripe still sends.
        "subscription_item" if !map.contains_key("plan") => {
            if let Some(price) = map.get("price").and_then(Value::as_object) {
                let plan = plan_of(price);
                map.insert("plan".into(), plan);
            }
        }
        "line_item" => {
            let amount = map.get("amount").cloned().unwrap_or(Value::Null);
            map.entry("subtotal").or_insert(amount);
        }
        "subscription" => {
            if let Some(Value::Object(details)) = map.get_mut("cancellation_details") {
                details.entry("feedback_option").or_insert(Value::Null);
            }
        }
        "price" => {
            if let Some(Value::Object(recurring)) = map.get_mut("recurring") {
                recurring.entry("trial_period_days").or_insert(Value::Null);
            }
        }
        "charge" => {
            billing_details(map);
            map.entry("fraud_details")
                .or_insert_with(|| Value::Object(Map::new()));
            // Stripe leaves `rule` out of an outcome no rule decided.
            if let Some(Value::Object(outcome)) = map.get_mut("outcome") {
                if outcome.get("rule").is_some_and(Value::is_null) {
                    outcome.remove("rule");
                }
            }
            let amount = map.get("amount").cloned().unwrap_or(Value::Null);
            let card = map
                .get_mut("payment_method_details")
                .and_then(|d| d.get_mut("card"))
                .and_then(Value::as_object_mut);
            if let Some(card) = card {
                let brand = card.get("brand").cloned().unwrap_or(Value::Null);
                card.entry("amount_authorized").or_insert(amount);
                card.entry("authorization_code").or_insert(Value::Null);
                card.entry("checks").or_insert_with(|| {
                    json!({
                        "address_line1_check": null,
                        "address_postal_code_check": null,
                        "cvc_check": "pass",
                    })
                });
                card.entry("network").or_insert(brand);
                for field in [
                    "electronic_commerce_indicator",
                    "installments",
                    "mandate",
                    "network_transaction_id",
                    "three_d_secure",
                    "transaction_link_id",
                    "wallet",
                ] {
                    card.entry(field).or_insert(Value::Null);
                }
                card.entry("regulated_status")
                    .or_insert("unregulated".into());
            }
        }
        _ => {}
    }
}

/// A price as Stripe's legacy plan object.
fn plan_of(price: &Map<String, Value>) -> Value {
    let get = |k: &str| price.get(k).cloned().unwrap_or(Value::Null);
    let recurring = |k: &str| {
        price
            .get("recurring")
            .and_then(|r| r.get(k))
            .cloned()
            .unwrap_or(Value::Null)
    };
    json!({
        "id": get("id"),
        "object": "plan",
        "active": get("active"),
        "amount": get("unit_amount"),
        "amount_decimal": get("unit_amount_decimal"),
        "billing_scheme": get("billing_scheme"),
        "created": get("created"),
        "currency": get("currency"),
        "interval": recurring("interval"),
        "interval_count": recurring("interval_count"),
        "livemode": get("livemode"),
        "metadata": get("metadata"),
        "meter": null,
        "nickname": get("nickname"),
        "product": get("product"),
        "tiers_mode": get("tiers_mode"),
        "transform_usage": null,
        "trial_period_days": null,
        "usage_type": recurring("usage_type"),
    })
}

/// `billing_details.tax_id`, which the checkout never collects.
fn billing_details(map: &mut Map<String, Value>) {
    if let Some(Value::Object(details)) = map.get_mut("billing_details") {
        details.entry("tax_id").or_insert(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_objects_are_completed_and_private_fields_leave() {
        let mut list = json!({
            "object": "list",
            "data": [{
                "object": "payment_intent",
                "return_url": "https://shop.example/back",
                "statement_descriptor": "KEPT",
                "latest_charge": { "object": "charge", "outcome": { "rule": null, "type": "authorized" } },
            }],
        });
        complete(&mut list);
        let pi = &list["data"][0];
        assert!(pi.get("return_url").is_none());
        assert_eq!(
            pi["statement_descriptor"], "KEPT",
            "a set field is never replaced"
        );
        assert!(pi["shipping"].is_null() && pi.get("shipping").is_some());
        assert!(pi["latest_charge"]["outcome"].get("rule").is_none());
        assert!(pi["latest_charge"]["receipt_url"].is_null());
    }
}
