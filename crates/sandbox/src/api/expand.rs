//! Stripe's `expand[]`: an id in an answer replaced by the object it names, to any depth
//! (`latest_charge.balance_transaction`), in one object or in each item of a list (`data.…`).
//! What may be expanded is listed per kind of object; any other path is refused as Stripe
//! refuses it, so a client relying on an expansion the sandbox lacks hears of it here.

use serde_json::Value;

use crate::error::ApiError;
use crate::SharedState;

/// The deepest expansion Stripe allows (four levels).
const MAX_DEPTH: usize = 4;

/// The fields of a `kind` that `expand[]` may open, each with the kind of object it names.
fn expandable(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "payment_intent" => &[
            ("latest_charge", "charge"),
            ("payment_method", "payment_method"),
            ("customer", "customer"),
        ],
        "charge" => &[
            ("payment_intent", "payment_intent"),
            ("balance_transaction", "balance_transaction"),
            ("customer", "customer"),
        ],
        "refund" => &[
            ("charge", "charge"),
            ("payment_intent", "payment_intent"),
            ("balance_transaction", "balance_transaction"),
        ],
        "dispute" => &[("charge", "charge"), ("payment_intent", "payment_intent")],
        "payment_method" => &[("customer", "customer")],
        _ => &[],
    }
}

/// Stripe's refusal of a path it cannot expand.
fn refused(path: &str) -> ApiError {
    let mut e = ApiError::invalid_request(
        "parameter_invalid_string",
        format!("This property cannot be expanded ({path})."),
    );
    e.param = Some("expand".into());
    e
}

/// `object` (of `kind`) with each of `paths` expanded.
pub(crate) async fn one(
    state: &SharedState,
    kind: &str,
    mut object: Value,
    paths: &[String],
) -> Result<Value, ApiError> {
    for path in paths {
        let steps: Vec<&str> = path.split('.').collect();
        if steps.len() > MAX_DEPTH {
            return Err(refused(path));
        }
        open(state, kind, &mut object, &steps, path).await?;
    }
    Ok(object)
}

/// A list answer (`{"object": "list", "data": [...]}`) of `kind` items with each of `paths`
/// (each `data.…`) expanded in every item.
pub(crate) async fn list(
    state: &SharedState,
    kind: &str,
    mut answer: Value,
    paths: &[String],
) -> Result<Value, ApiError> {
    let mut inner = Vec::with_capacity(paths.len());
    for path in paths {
        match path.strip_prefix("data.") {
            Some(rest) => inner.push(rest.to_owned()),
            None => return Err(refused(path)),
        }
    }
    if inner.is_empty() {
        return Ok(answer);
    }
    if let Some(items) = answer.get_mut("data").and_then(Value::as_array_mut) {
        for item in items.iter_mut() {
            *item = one(state, kind, std::mem::take(item), &inner).await?;
        }
    }
    Ok(answer)
}

/// Opens `steps` in `object` (of `kind`): each step an id replaced by its object (or an object
/// already opened by an earlier path, walked into).
async fn open(
    state: &SharedState,
    kind: &str,
    object: &mut Value,
    steps: &[&str],
    path: &str,
) -> Result<(), ApiError> {
    let mut kind = kind.to_owned();
    let mut at = object;
    for step in steps {
        let Some((field, target)) = expandable(&kind).iter().find(|(f, _)| f == step) else {
            return Err(refused(path));
        };
        let Some(slot) = at.get_mut(*field) else {
            return Err(refused(path));
        };
        if let Some(id) = slot.as_str().map(str::to_owned) {
            *slot = state
                .store
                .get::<Value>(target, &id)
                .await?
                .map(|v| v.object)
                .ok_or_else(|| ApiError::not_found(target, &id))?;
        }
        // Unset (null): nothing to open, nothing deeper.
        if slot.is_null() {
            return Ok(());
        }
        kind = (*target).to_owned();
        at = slot;
    }
    Ok(())
}
