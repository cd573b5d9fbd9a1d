//! Fulfilment, exactly once per payment: a licence key or a numbered receipt, written in the same
//! transaction as the webhook that proves the payment, plus the email in a transactional outbox.

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{SmtpTransport, Transport};

use paywidget_core::money::{Amount, Currency};
use sqlx::{Row, Sqlite, Transaction};

use crate::config::{Kind, SmtpConfig, SmtpSecurity};
use crate::error::HostError;
use crate::licence::{self, Licence};
use crate::sessions::{self, Session};
use crate::HostState;

#[cfg(test)]
mod tests {
    use super::wrap_key;

    #[test]
    fn wrapped_keys_rejoin_exactly() {
        let key = format!("PW1-{}", vec!["ABCDE"; 30].join("-"));
        let wrapped = wrap_key(&key);
        assert!(wrapped.lines().all(|l| l.len() <= 71), "{wrapped}");
        assert!(wrapped.lines().count() > 1);
        assert_eq!(wrapped.replace('\n', ""), key);
    }
}

/// Sends the messages the host writes (receipts, licence keys).
pub trait Mailer: Send + Sync {
    /// Delivers one message (`id` is its outbox row); an error leaves it queued for the next round.
    fn send(&self, id: i64, message: &Message) -> Result<(), String>;
}

/// Development mailer: one RFC 5322 `.eml` file per message in a folder.
#[derive(Debug)]
pub struct FolderMailer(pub PathBuf);

impl Mailer for FolderMailer {
    fn send(&self, id: i64, message: &Message) -> Result<(), String> {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.0)?;
            // Write then rename, so a reader never sees half a message.
            let tmp = self.0.join(format!(".{id:06}.eml.tmp"));
            std::fs::write(&tmp, message.formatted())?;
            std::fs::rename(tmp, self.0.join(format!("{id:06}.eml")))
        };
        write().map_err(|e| e.to_string())
    }
}

/// Production mailer: SMTP through lettre (STARTTLS, TLS, or plain for a local relay).
pub struct SmtpMailer(SmtpTransport);

impl SmtpMailer {
    /// A mailer for `[mail.smtp]`.
    pub fn new(c: &SmtpConfig) -> Result<SmtpMailer, String> {
        let builder = match c.security {
            SmtpSecurity::Starttls => SmtpTransport::starttls_relay(&c.host)
                .map_err(|e| e.to_string())?
                .port(c.port.unwrap_or(587)),
            SmtpSecurity::Tls => SmtpTransport::relay(&c.host)
                .map_err(|e| e.to_string())?
                .port(c.port.unwrap_or(465)),
            SmtpSecurity::None => {
                SmtpTransport::builder_dangerous(&c.host).port(c.port.unwrap_or(25))
            }
        };
        let builder = match (&c.username, &c.password) {
            (Some(u), Some(p)) => builder.credentials(Credentials::new(u.clone(), p.clone())),
            _ => builder,
        };
        Ok(SmtpMailer(
            builder
                .timeout(Some(std::time::Duration::from_secs(20)))
                .build(),
        ))
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, _id: i64, message: &Message) -> Result<(), String> {
        self.0.send(message).map(|_| ()).map_err(|e| e.to_string())
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
                "Thank you for buying {}.\n\nYour licence key (line breaks do not matter when you paste it):\n\n{}\n",
                settings.product,
                wrap_key(&key)
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

/// Breaks a licence key after a dash every ≤ 70 characters, so mail stays plain text (no
/// quoted-printable) and removing the line breaks gives the key back exactly.
pub fn wrap_key(key: &str) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    for (i, group) in key.split('-').enumerate() {
        let piece = if i == 0 {
            group.to_owned()
        } else {
            format!("-{group}")
        };
        let current = lines.last_mut().expect("one line");
        if current.len() + piece.len() > 70 && !current.is_empty() {
            current.push('-');
            lines.push(group.to_owned());
        } else {
            current.push_str(&piece);
        }
    }
    lines.join("\n")
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
        let to: String = r.get("to_addr");
        let message = match build(
            &state.config.mail.from,
            &to,
            r.get("subject"),
            r.get("body"),
        ) {
            Ok(m) => m,
            Err(e) => {
                // An address that cannot be written will never be: give up on it, loudly.
                tracing::error!(error = %e, id, "undeliverable message dropped from the outbox");
                let _ = sqlx::query("UPDATE mail_outbox SET sent = -1 WHERE id = ?")
                    .bind(id)
                    .execute(&state.db)
                    .await;
                continue;
            }
        };
        let mailer = state.mailer.clone();
        // SMTP and file writes block: keep them off the async workers.
        let sent = tokio::task::spawn_blocking(move || mailer.send(id, &message)).await;
        match sent {
            Ok(Ok(())) => {
                let _ = sqlx::query("UPDATE mail_outbox SET sent = 1 WHERE id = ?")
                    .bind(id)
                    .execute(&state.db)
                    .await;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, id, "mail not sent; will retry"),
            Err(e) => tracing::warn!(error = %e, id, "mail task failed; will retry"),
        }
    }
}

fn build(from: &str, to: &str, subject: &str, body: &str) -> Result<Message, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("from: {e}"))?;
    let to: Mailbox = to.parse().map_err(|e| format!("to: {e}"))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_owned())
        .map_err(|e| e.to_string())
}
