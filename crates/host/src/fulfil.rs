//! Fulfilment, exactly once per payment: a licence key or a numbered receipt, written in the same
//! transaction as the webhook that proves the payment, plus the email in a transactional outbox.

use std::path::PathBuf;

use paywidget_core::money::{Amount, Currency};
use sqlx::{Row, Sqlite, Transaction};

use crate::config::Kind;
use crate::error::HostError;
use crate::licence::{self, Licence};
use crate::sessions::{self, Session};
use crate::HostState;

/// Sends the messages the host writes (receipts, licence keys).
pub trait Mailer: Send + Sync {
    /// Delivers one message; an error leaves it in the outbox for the next round.
    fn send(&self, id: i64, to: &str, subject: &str, body: &str) -> std::io::Result<()>;
}

/// Development mailer: one RFC 5322 `.eml` file per message in a folder.
#[derive(Debug)]
pub struct FolderMailer(pub PathBuf);

impl Mailer for FolderMailer {
    fn send(&self, id: i64, to: &str, subject: &str, body: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.0)?;
        let eml = format!(
            "To: {to}\r\nFrom: paywidget <no-reply@paywidget.invalid>\r\nSubject: {subject}\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            body.replace('\n', "\r\n")
        );
        // Write then rename, so a reader never sees half a message.
        let tmp = self.0.join(format!(".{id:06}.eml.tmp"));
        std::fs::write(&tmp, eml)?;
        std::fs::rename(tmp, self.0.join(format!("{id:06}.eml")))
    }
}

/// Fulfils `session` once: a second call (duplicate or late webhook) changes nothing.
pub async fn fulfil(
    state: &HostState,
    tx: &mut Transaction<'static, Sqlite>,
    session: &Session,
    now: i64,
) -> Result<(), HostError> {
    let status: String = sqlx::query_scalar("SELECT status FROM sessions WHERE id = ?")
        .bind(&session.id)
        .fetch_one(&mut **tx)
        .await?;
    if sessions::rank(&status) > sessions::rank("fulfilled") {
        // Refunded or disputed before the success event arrived: nothing to hand out.
        return Ok(());
    }
    let inserted = sqlx::query("INSERT INTO fulfilments (session_id, kind, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        .bind(&session.id)
        .bind(&session.kind)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected()
        == 1;
    if !inserted {
        return Ok(());
    }
    let campaign = state
        .config
        .campaign(&session.campaign)
        .ok_or(HostError::Internal("campaign gone".into()))?;
    let merchant = state
        .config
        .merchant(&session.merchant)
        .ok_or(HostError::Internal("merchant gone".into()))?;
    let currency =
        Currency::from_code(&session.currency).map_err(|e| HostError::Internal(e.to_string()))?;
    let total = Amount::from_minor(session.amount + session.fee, currency);
    let (subject, body) = match campaign.kind {
        Kind::License => {
            let settings = campaign
                .license
                .as_ref()
                .ok_or(HostError::Internal("licence settings gone".into()))?;
            let day = u32::try_from(now.div_euclid(86_400)).unwrap_or(0);
            let l = Licence {
                product: settings.product.clone(),
                seats: settings.seats,
                issued_day: day,
                expires_day: settings.validity_days.map(|d| day + d),
                order: session.id.clone(),
            };
            let key = licence::issue(&state.signing_key, &l);
            sqlx::query("UPDATE fulfilments SET license_key = ? WHERE session_id = ?")
                .bind(&key)
                .bind(&session.id)
                .execute(&mut **tx)
                .await?;
            let mut body = format!(
                "Thank you for buying {}.\n\nYour licence key:\n\n{key}\n",
                settings.product
            );
            for (platform, steps) in &campaign.instructions {
                body.push_str(&format!("\nSetup on {platform}:\n{steps}\n"));
            }
            (format!("Your {} licence key", settings.product), body)
        }
        Kind::Donation => {
            let n: i64 = sqlx::query(
                "INSERT INTO receipt_counters (merchant, last) VALUES (?, 1) \
                 ON CONFLICT(merchant) DO UPDATE SET last = last + 1 RETURNING last",
            )
            .bind(&merchant.id)
            .fetch_one(&mut **tx)
            .await?
            .get("last");
            let prefix = merchant
                .receipt_prefix
                .clone()
                .unwrap_or_else(|| merchant.id.to_uppercase());
            let number = format!("{prefix}-{n:06}");
            sqlx::query("UPDATE fulfilments SET receipt_number = ? WHERE session_id = ?")
                .bind(&number)
                .bind(&session.id)
                .execute(&mut **tx)
                .await?;
            let org = merchant
                .receipt_org_name
                .clone()
                .unwrap_or_else(|| merchant.name.clone());
            let mut body = format!(
                "Thank you for your donation of {total} to {org}.\n\nReceipt number: {number}\n"
            );
            if let Some(t) = &merchant.tax_statement {
                body.push_str(&format!("\n{t}\n"));
            }
            if let Some(t) = &campaign.receipt_text {
                body.push_str(&format!("\n{t}\n"));
            }
            (format!("Your receipt {number} from {org}"), body)
        }
    };
    sessions::advance(&mut **tx, &session.id, "fulfilled", now).await?;
    if let Some(to) = &session.email {
        sqlx::query("INSERT INTO mail_outbox (session_id, to_addr, subject, body, created) VALUES (?, ?, ?, ?, ?)")
            .bind(&session.id)
            .bind(to)
            .bind(subject)
            .bind(body)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Revokes a fulfilment (refund, dispute); the licence then fails online verification.
pub async fn revoke(
    tx: &mut Transaction<'static, Sqlite>,
    session_id: &str,
    reason: &str,
) -> Result<(), HostError> {
    sqlx::query("UPDATE fulfilments SET revoked = 1, revoked_reason = ? WHERE session_id = ?")
        .bind(reason)
        .bind(session_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sends what the outbox holds (after each fulfilment and at start-up); failures stay queued.
pub async fn send_mail(state: &HostState) {
    let rows = match sqlx::query(
        "SELECT id, to_addr, subject, body FROM mail_outbox WHERE sent = 0 ORDER BY id LIMIT 100",
    )
    .fetch_all(&state.db)
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "read the mail outbox");
            return;
        }
    };
    for r in rows {
        let id: i64 = r.get("id");
        let sent = state
            .mailer
            .send(id, r.get("to_addr"), r.get("subject"), r.get("body"));
        match sent {
            Ok(()) => {
                let _ = sqlx::query("UPDATE mail_outbox SET sent = 1 WHERE id = ?")
                    .bind(id)
                    .execute(&state.db)
                    .await;
            }
            Err(e) => tracing::warn!(error = %e, id, "mail not sent; will retry"),
        }
    }
}
