//! What reached the gateway, read from the gateway itself: every confirmation of a payment
//! leaves exactly one event at the sandbox (`payment_intent.succeeded`, `.payment_failed` or
//! `.requires_action`), whose payment intent names the host's checkout session in its
//! metadata. Attempts are attributed by session: the bot knows the sessions it made.

use std::collections::HashMap;

use paywidget_sandbox::DEFAULT_SECRET_KEY as SK;
use paywidget_testkit::world::World;
use serde_json::Value;

/// One confirmation the gateway saw.
#[derive(Clone, Debug)]
pub(crate) struct Confirmation {
    pub(crate) succeeded: bool,
    pub(crate) amount: i64,
}

/// Every confirmation at this world's gateway, by checkout session.
pub(crate) async fn confirmations(w: &World) -> Result<HashMap<String, Vec<Confirmation>>, String> {
    let mut out: HashMap<String, Vec<Confirmation>> = HashMap::new();
    for kind in [
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
    ] {
        let mut after: Option<String> = None;
        loop {
            let mut url = format!("{}/v1/events?limit=100&type={kind}", w.gateway);
            if let Some(a) = &after {
                url.push_str(&format!("&starting_after={a}"));
            }
            let page: Value = w
                .http
                .get(&url)
                .bearer_auth(SK)
                .send()
                .await
                .map_err(|e| format!("list events: {e}"))?
                .json()
                .await
                .map_err(|e| format!("list events: {e}"))?;
            let data = page["data"]
                .as_array()
                .ok_or_else(|| format!("the gateway's event list: {page}"))?;
            for event in data {
                let pi = &event["data"]["object"];
                let session = pi["metadata"]["session_id"]
                    .as_str()
                    .unwrap_or("(none)")
                    .to_owned();
                out.entry(session).or_default().push(Confirmation {
                    succeeded: kind == "payment_intent.succeeded",
                    amount: pi["amount"].as_i64().unwrap_or(0),
                });
            }
            after = data
                .last()
                .and_then(|e| e["id"].as_str())
                .map(str::to_owned);
            if page["has_more"] != true || after.is_none() {
                break;
            }
        }
    }
    Ok(out)
}
