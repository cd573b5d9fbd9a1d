//! A genuine donor in headless Chromium at a phone viewport (390×844), on the release build the
//! host serves: the form is filled by its labels as a person does, Pay is tapped, and the
//! donor succeeds when the receipt shows. The status line is watched for the "Verifying…" the
//! page shows while its worker solves a proof of work. Chromium connects from 127.0.0.1 without
//! a forwarding header, so the host counts it as 127.0.0.1 (no bot uses that address).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use paywidget_testkit::browser::{screenshot, with_phone_browser};
use serde_json::Value;

use crate::donor::DonorRecord;
use crate::plan::{self, DonorPlan};

type Fallible<T> = Result<T, String>;

/// One browser donor (its own ChromeDriver and Chromium, stopped by PID when done).
pub(crate) async fn run(host: String, plan: DonorPlan) -> DonorRecord {
    tokio::time::sleep(plan.arrive).await;
    let out: Arc<Mutex<Option<DonorRecord>>> = Arc::new(Mutex::new(None));
    let slot = out.clone();
    let p = plan.clone();
    // Its own task: a WebDriver helper that panics fails this donor, not the run.
    let task = tokio::spawn(async move {
        with_phone_browser(|client| async move {
            let record = match donate(&client, &host, &p).await {
                Ok((challenged, note)) => DonorRecord {
                    plan: p.clone(),
                    succeeded: true,
                    challenged,
                    difficulty: None,
                    note,
                },
                Err(e) => {
                    let shot =
                        screenshot(&client, &format!("attack-browser-donor-{}", p.index)).await;
                    DonorRecord::failed(p.clone(), format!("{e} (screenshot {})", shot.display()))
                }
            };
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(record);
        })
        .await;
    });
    let joined = task.await;
    let recorded = out.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (recorded, joined) {
        (Some(r), _) => r,
        (None, Err(e)) => DonorRecord::failed(plan, format!("browser task failed: {e}")),
        (None, Ok(())) => DonorRecord::failed(plan, "browser gave no result".into()),
    }
}

/// The input a `<label>` with exactly `text` names.
async fn field(client: &Client, text: &str) -> Fallible<fantoccini::elements::Element> {
    let label = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::XPath(&format!(
            "//label[normalize-space()='{text}']"
        )))
        .await
        .map_err(|e| format!("the {text:?} label: {e}"))?;
    let id = label
        .attr("for")
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the {text:?} label names no field"))?;
    client
        .find(Locator::Id(&id))
        .await
        .map_err(|e| format!("the {text:?} field: {e}"))
}

/// Evaluates `expression` ("" while the page navigates or on an error).
async fn js(client: &Client, expression: &str) -> String {
    let script =
        format!("try {{ return String(({expression}) ?? ''); }} catch (e) {{ return ''; }}");
    match client.execute(&script, vec![]).await {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Fills and submits the form → (saw "Verifying…", what they saw).
async fn donate(client: &Client, host: &str, plan: &DonorPlan) -> Fallible<(bool, String)> {
    client
        .goto(&format!(
            "{host}/c/{}?amount={}",
            plan::CAMPAIGN,
            plan.amount
        ))
        .await
        .map_err(|e| format!("open the form: {e}"))?;
    let (month, year) = paywidget_testkit::cards::expiry();
    let expiry = format!("{month:02}{:02}", year % 100);
    let email = format!("donor{}@example.org", plan.index);
    for (label, text) in [
        ("Email (for your receipt)", email.as_str()),
        ("Name on card", "Grace Hopper"),
        ("Card number", plan::GOOD_CARD),
        ("Expiry (MM / YY)", expiry.as_str()),
        ("Security code", "123"),
    ] {
        let input = field(client, label).await?;
        input
            .click()
            .await
            .map_err(|e| format!("tap {label:?}: {e}"))?;
        input
            .send_keys(text)
            .await
            .map_err(|e| format!("type into {label:?}: {e}"))?;
    }
    // Everything the status line says, kept in sessionStorage (the receipt page replaces the form).
    client
        .execute(
            "new MutationObserver(() => sessionStorage.setItem('pw-attack-seen', \
             (sessionStorage.getItem('pw-attack-seen') || '') + '|' + \
             document.querySelector('#pw-status').textContent)) \
             .observe(document.querySelector('#pw-status'), \
             { childList: true, subtree: true, characterData: true });",
            vec![],
        )
        .await
        .map_err(|e| format!("watch the status line: {e}"))?;
    client
        .find(Locator::Css("#pw-pay"))
        .await
        .map_err(|e| format!("the Pay button: {e}"))?
        .click()
        .await
        .map_err(|e| format!("tap Pay: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let receipt = js(
            client,
            "document.querySelector('#pw-receipt-number').textContent",
        )
        .await;
        if receipt.contains('-') {
            let seen = js(client, "sessionStorage.getItem('pw-attack-seen') || ''").await;
            let verifying = seen.contains("Verifying…");
            return Ok((verifying, format!("receipt {receipt}")));
        }
        if Instant::now() > deadline {
            let status = js(client, "document.querySelector('#pw-status').textContent").await;
            return Err(format!(
                "no receipt after 90 s; the status line says {status:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
