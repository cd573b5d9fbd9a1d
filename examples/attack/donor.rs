//! A genuine donor through the API, as the page behaves: a session for 10–100 USD from their
//! own address, the card tokenized, pay under one key per attempt, a challenge solved and the
//! same attempt sent again with its proof. A donor who mistypes gets a decline (or a refusal)
//! first, then pays with the right card in the same session under a new key.

use std::sync::Arc;

use paywidget_testkit::world::World;
use serde_json::json;

use crate::client::{self, code};
use crate::plan::{self, DonorPlan};

/// How a donor fared.
#[derive(Clone, Debug)]
pub(crate) struct DonorRecord {
    pub(crate) plan: DonorPlan,
    pub(crate) succeeded: bool,
    pub(crate) challenged: bool,
    /// The hardest challenge they solved (bits), if any.
    pub(crate) difficulty: Option<u8>,
    /// What went wrong, or what they saw.
    pub(crate) note: String,
}

impl DonorRecord {
    pub(crate) fn failed(plan: DonorPlan, note: String) -> DonorRecord {
        DonorRecord {
            plan,
            succeeded: false,
            challenged: false,
            difficulty: None,
            note,
        }
    }
}

/// One API donor, arriving at their planned moment.
pub(crate) async fn run(world: Arc<World>, plan: DonorPlan) -> DonorRecord {
    tokio::time::sleep(plan.arrive).await;
    let mut record = DonorRecord::failed(plan.clone(), String::new());
    if let Err(e) = pay(&world, &plan, &mut record).await {
        record.note = e;
    }
    record
}

async fn pay(w: &World, plan: &DonorPlan, record: &mut DonorRecord) -> Result<(), String> {
    let email = format!("donor{}@example.org", plan.index);
    let (status, body) = client::new_session(
        w,
        &plan.ip,
        plan::CAMPAIGN,
        plan.amount * 100,
        &email,
        "Grace Hopper",
    )
    .await?;
    if status != 201 {
        return Err(format!("session refused: {status} {}", code(&body)));
    }
    let session = body["id"].as_str().unwrap_or_default().to_owned();
    let (month, year) = client::donor_expiry();
    let cards: Vec<&str> = plan
        .mistype
        .into_iter()
        .chain(std::iter::once(plan::GOOD_CARD))
        .collect();
    let mut answers: Vec<String> = Vec::new();
    for (i, card) in cards.iter().enumerate() {
        let pm = client::tokenize(w, card, month, year, "123").await?;
        let path = format!("/api/sessions/{session}/pay");
        let mut body = json!({
            "payment_method": pm,
            "idempotency_key": format!("donor-{}-{i}", plan.index),
        });
        let mut tries = 0;
        let outcome = loop {
            tries += 1;
            let (status, answer) = client::post(w, &path, &plan.ip, &body).await?;
            match (status, answer["status"].as_str()) {
                (200, Some("challenge")) if tries < 5 => {
                    record.challenged = true;
                    let (proof, bits, _) = client::solve(&answer).await;
                    record.difficulty = record.difficulty.max(Some(bits));
                    body["proof"] = proof;
                }
                (200, Some(outcome)) => break outcome.to_owned(),
                // An attempt still running elsewhere: the page retries the same key.
                (409, _) if tries < 5 => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                (s, _) => break format!("{s} {}", code(&answer)),
            }
        };
        if outcome == "succeeded" {
            // The host's session says paid (the page waits for exactly this).
            let view = client::get(w, &format!("/api/sessions/{session}")).await?;
            if view["status"] == "paid" || view["status"] == "fulfilled" {
                record.succeeded = true;
                record.note = if i > 0 {
                    format!(
                        "paid after a first try that got {}",
                        answers.join(", then ")
                    )
                } else {
                    "paid".into()
                };
                return Ok(());
            }
            return Err(format!(
                "pay said succeeded, the session is {}",
                view["status"]
            ));
        }
        answers.push(outcome);
    }
    Err(format!("gave up after {}", answers.join(", then ")))
}
