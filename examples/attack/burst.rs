//! The burst phase: the bot sends many declining pays **at the same moment** from one address
//! (each with its own session and email, cycling the dead cards), solves every challenge it
//! gets and sends all the proofs at once too, while donors load the campaign and start
//! sessions from other addresses. Run on the embedded SQLite and, when
//! `PAYWIDGET_TEST_POSTGRES` names a server, on PostgreSQL. Targets: at most the address's
//! block limit (6 declines) reaches the gateway, and nobody — bot or donor — is answered 5xx.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use paywidget_testkit::world::{world_with, WebhookTarget, World};
use serde_json::{json, Value};

use crate::client;
use crate::plan;

/// The bot's pays per wave.
pub(crate) const PAYS: usize = 40;
/// What may reach the gateway from one address: its block limit (`block_ip_declines`).
pub(crate) const MAX_REACHED: usize = 6;

/// One database's burst.
pub(crate) struct BurstResult {
    /// `sqlite` or `postgres`.
    pub(crate) database: &'static str,
    /// Pays sent (both waves).
    pub(crate) sent: usize,
    /// Confirmations the gateway saw.
    pub(crate) reached: usize,
    /// 5xx answers to the bot.
    pub(crate) bot_5xx: usize,
    /// Donors' requests during the burst, and their 5xx answers.
    pub(crate) donor_requests: usize,
    pub(crate) donor_5xx: usize,
    /// Wall time of the two waves.
    pub(crate) took_ms: u128,
}

async fn pay(w: &World, ip: &str, session: &str, pm: &str, proof: Option<Value>) -> (u16, Value) {
    let mut body = json!({ "payment_method": pm, "idempotency_key": "burst" });
    if let Some(p) = proof {
        body["proof"] = p;
    }
    client::post(w, &format!("/api/sessions/{session}/pay"), ip, &body)
        .await
        .unwrap_or((599, Value::Null))
}

/// One wave: every pay at once; the answers in the order sent.
async fn wave(
    w: &Arc<World>,
    ip: &str,
    pays: &[(String, String, Option<Value>)],
) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = pays
        .iter()
        .cloned()
        .map(|(s, pm, proof)| {
            let (w, ip) = (w.clone(), ip.to_owned());
            tokio::spawn(async move { pay(&w, &ip, &s, &pm, proof).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap_or((599, Value::Null)));
    }
    out
}

/// The burst against a fresh host + sandbox whose host configuration is `config`.
pub(crate) async fn run(
    database: &'static str,
    config: impl FnOnce(&str, &Path) -> String,
) -> Result<BurstResult, String> {
    let w = Arc::new(world_with(WebhookTarget::Host, config).await);
    let ip = "198.18.7.7";
    let (month, year) = client::donor_expiry();
    let mut pays = Vec::new();
    for i in 0..PAYS {
        let (status, s) = client::new_session(
            &w,
            ip,
            plan::CAMPAIGN,
            plan::MIN_AMOUNT * 3,
            &format!("burst{i}@example.org"),
            "Bot",
        )
        .await?;
        if status != 201 {
            return Err(format!("burst session: {status} {s}"));
        }
        let card = plan::DEAD_CARDS[i % plan::DEAD_CARDS.len()];
        let pm = client::tokenize(&w, card, month, year, "123").await?;
        pays.push((s["id"].as_str().unwrap_or_default().to_owned(), pm, None));
    }
    let started = Instant::now();
    // Donors meanwhile, from their own addresses.
    let donors = {
        let w = w.clone();
        tokio::spawn(async move {
            let mut codes = Vec::new();
            for i in 0..10 {
                let ip = format!("192.0.2.{}", 10 + i);
                let view = w
                    .http
                    .get(format!("{}/api/campaigns/{}", w.host, plan::CAMPAIGN))
                    .header("x-forwarded-for", &ip)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(599);
                codes.push(view);
                let (status, _) = client::new_session(
                    &w,
                    &ip,
                    plan::CAMPAIGN,
                    2500,
                    &format!("donor{i}@example.org"),
                    "Donor",
                )
                .await
                .unwrap_or((599, Value::Null));
                codes.push(status);
            }
            codes
        })
    };
    let first = wave(&w, ip, &pays).await;
    // The bot solves the challenges it got and sends every proof at once.
    let mut proved = Vec::new();
    for ((s, pm, _), (_, answer)) in pays.iter().zip(&first) {
        if answer["status"] == "challenge" {
            let (proof, _, _) = client::solve(answer).await;
            proved.push((s.clone(), pm.clone(), Some(proof)));
        }
    }
    let second = wave(&w, ip, &proved).await;
    let took_ms = started.elapsed().as_millis();
    let donor_codes = donors.await.unwrap_or_default();
    let confirmations = crate::gateway::confirmations(&w).await?;
    let bot_sessions: std::collections::HashSet<&str> =
        pays.iter().map(|(s, _, _)| s.as_str()).collect();
    let reached = confirmations
        .iter()
        .filter(|(s, _)| bot_sessions.contains(s.as_str()))
        .map(|(_, c)| c.len())
        .sum();
    Ok(BurstResult {
        database,
        sent: first.len() + second.len(),
        reached,
        bot_5xx: first
            .iter()
            .chain(&second)
            .filter(|(c, _)| *c >= 500)
            .count(),
        donor_requests: donor_codes.len(),
        donor_5xx: donor_codes.iter().filter(|c| **c >= 500).count(),
        took_ms,
    })
}

impl BurstResult {
    /// Whether it met its targets.
    pub(crate) fn ok(&self) -> bool {
        self.reached <= MAX_REACHED && self.bot_5xx == 0 && self.donor_5xx == 0
    }

    /// Its line of the report.
    pub(crate) fn line(&self) -> String {
        format!(
            "  {:<9} {:>4} pays at once (two waves) → {:>2} reached the gateway (target ≤ {MAX_REACHED}) · 5xx: bot {}, donors {} of {} · {} ms  {}",
            self.database,
            self.sent,
            self.reached,
            self.bot_5xx,
            self.donor_5xx,
            self.donor_requests,
            self.took_ms,
            if self.ok() { "ok" } else { "MISSED" }
        )
    }
}
