//! `paywidget host check-gateway`: calls each merchant's gateway with the configured keys and
//! says in plain words what is wrong (a refused key, test and live keys mixed, an unreachable
//! or plain-HTTP gateway) before a shopper finds out.

use paywidget_core::api::STRIPE_API_VERSION;

use crate::config::{url_text, Merchant};

/// One thing checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Fine (true) or a problem to fix (false).
    pub ok: bool,
    /// What was found, fit to print.
    pub what: String,
}

fn ok(what: impl Into<String>) -> Finding {
    Finding {
        ok: true,
        what: what.into(),
    }
}

fn problem(what: impl Into<String>) -> Finding {
    Finding {
        ok: false,
        what: what.into(),
    }
}

/// The key's mode from its prefix: `Some("test")`, `Some("live")` or `None`.
fn mode(key: &str) -> Option<&'static str> {
    let rest = key.split_once('_').map(|(_, r)| r)?;
    if rest.starts_with("test_") {
        Some("test")
    } else if rest.starts_with("live_") {
        Some("live")
    } else {
        None
    }
}

/// A key as it may be shown: its prefix and last four characters.
fn shown(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let prefix: String = key.chars().take_while(|c| *c != '_').collect();
    format!("{prefix}_…{tail}")
}

/// Checks `merchant`'s gateway settings, calling the gateway with `http` (the host's client).
pub async fn check_merchant(http: &reqwest::Client, merchant: &Merchant) -> Vec<Finding> {
    let base = url_text(&merchant.gateway_url);
    let secret = merchant.secret_key.expose();
    let publishable = merchant.publishable_key.as_str();
    let mut findings = Vec::new();
    findings.push(if merchant.gateway_url.scheme() == "https" {
        ok(format!("{base} is HTTPS"))
    } else {
        ok(format!(
            "{base} is plain HTTP, allowed only because the gateway is on this machine (the sandbox)"
        ))
    });
    match (mode(secret), mode(publishable)) {
        (Some(s), Some(p)) if s == p => findings.push(ok(format!("both keys are {s}-mode keys"))),
        (Some(s), Some(p)) => findings.push(problem(format!(
            "test and live keys are mixed: the secret key {} is a {s} key, the publishable key {} a {p} key",
            shown(secret),
            shown(publishable)
        ))),
        _ => findings.push(problem(
            "a key has no test_/live_ mode in its name: copy both from the gateway's dashboard again",
        )),
    }
    // The secret key: a harmless read.
    let read = http
        .get(format!("{base}/v1/payment_intents?limit=1"))
        .bearer_auth(secret)
        .header("Stripe-Version", STRIPE_API_VERSION)
        .send()
        .await;
    findings.push(match read {
        Err(e) => problem(format!("cannot reach {base}: {e}")),
        Ok(r) if r.status().is_success() => ok(format!(
            "the gateway accepts the secret key {}",
            shown(secret)
        )),
        Ok(r) if r.status().as_u16() == 401 => problem(format!(
            "the gateway refused the secret key {} (set it again, or PAYWIDGET_{}_SECRET_KEY)",
            shown(secret),
            merchant.id.to_uppercase().replace('-', "_")
        )),
        Ok(r) => problem(format!(
            "unexpected answer {} to the secret key's check",
            r.status()
        )),
    });
    // The publishable key: a tokenization with no card is refused for the missing card (400)
    // when the key is good, and as unauthorised (401) when it is not. No card data is sent.
    let token = http
        .post(format!("{base}/v1/payment_methods"))
        .bearer_auth(publishable)
        .form(&[("type", "card")])
        .send()
        .await;
    findings.push(match token {
        Err(e) => problem(format!("cannot reach {base}: {e}")),
        Ok(r) if r.status().as_u16() == 401 => problem(format!(
            "the gateway refused the publishable key {}",
            shown(publishable)
        )),
        Ok(r) if r.status().is_client_error() || r.status().is_success() => ok(format!(
            "the gateway accepts the publishable key {}",
            shown(publishable)
        )),
        Ok(r) => problem(format!(
            "unexpected answer {} to the publishable key's check",
            r.status()
        )),
    });
    findings.push(ok(format!(
        "a webhook signing secret is set ({}); the gateway's endpoint must be <public_url>/webhooks/gateway",
        shown(merchant.webhook_secret.expose())
    )));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_shown_keys() {
        assert_eq!(mode("sk_test_abc"), Some("test"));
        assert_eq!(mode("pk_live_abc"), Some("live"));
        assert_eq!(mode("sk_abc"), None);
        assert_eq!(shown("sk_test_abcdef1234"), "sk_…1234");
    }
}
