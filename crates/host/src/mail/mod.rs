//! Email: addresses (one parser for `mail.from`, shoppers' addresses and the mailer), the
//! receipt and licence messages, the [`Mailer`]s (SMTP through lettre, or `.eml` files in a
//! folder) and the outbox relay: a background task that delivers what requests queued. A
//! request only queues (in its transaction) and [`wake`]s the relay, so a slow or refusing
//! mail server never holds a shopper's answer.

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::message::Message;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{SmtpTransport, Transport};

use crate::config::{SmtpConfig, SmtpSecurity};
use crate::store::MailState;

pub use crate::support::email::{EmailAddress, InvalidEmail};

/// A message's subject and plain-text body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Letter {
    /// Subject line.
    pub subject: String,
    /// Body.
    pub body: String,
}

/// The licence email: the key (wrapped at dashes) and the setup steps.
pub fn licence_letter<'a>(
    product: &str,
    key: &str,
    instructions: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Letter {
    let mut body = format!(
        "Thank you for buying {product}.\n\nYour licence key (line breaks do not matter when you paste it):\n\n{}\n",
        wrap_key(key)
    );
    for (platform, steps) in instructions {
        body.push_str(&format!("\nSetup on {platform}:\n{steps}\n"));
    }
    Letter {
        subject: format!("Your {product} licence key"),
        body,
    }
}

/// What a donation receipt says.
#[derive(Clone, Copy, Debug)]
pub struct ReceiptText<'a> {
    /// e.g. `25.00 USD`.
    pub total: &'a str,
    /// The organisation.
    pub org: &'a str,
    /// `HOPE-000042`.
    pub number: &'a str,
    /// The merchant's tax statement.
    pub tax_statement: Option<&'a str>,
    /// The campaign's extra text.
    pub text: Option<&'a str>,
}

/// The receipt email.
pub fn receipt_letter(r: ReceiptText<'_>) -> Letter {
    let mut body = format!(
        "Thank you for your donation of {} to {}.\n\nReceipt number: {}\n",
        r.total, r.org, r.number
    );
    for extra in [r.tax_statement, r.text].into_iter().flatten() {
        body.push_str(&format!("\n{extra}\n"));
    }
    Letter {
        subject: format!("Your receipt {} from {}", r.number, r.org),
        body,
    }
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

/// Why a message was not delivered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// It may go through later (a timeout, a full mailbox, a greylist): tried again with backoff.
    #[error("temporary: {0}")]
    Transient(String),
    /// It never will (the server refused the address for good): given up at once.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Sends the messages the host writes (receipts, licence keys).
pub trait Mailer: Send + Sync {
    /// Delivers one message (`id` is its outbox row); a transient error leaves it queued for a
    /// later try.
    fn send(&self, id: i64, message: &Message) -> Result<(), SendError>;
}

/// Development mailer: one RFC 5322 `.eml` file per message in a folder.
#[derive(Debug)]
pub struct FolderMailer(pub PathBuf);

impl Mailer for FolderMailer {
    fn send(&self, id: i64, message: &Message) -> Result<(), SendError> {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.0)?;
            // Write then rename, so a reader never sees half a message.
            let tmp = self.0.join(format!(".{id:06}.eml.tmp"));
            std::fs::write(&tmp, message.formatted())?;
            std::fs::rename(tmp, self.0.join(format!("{id:06}.eml")))
        };
        write().map_err(|e| SendError::Transient(e.to_string()))
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
            (Some(u), Some(p)) => {
                builder.credentials(Credentials::new(u.clone(), p.expose().to_owned()))
            }
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
    fn send(&self, _id: i64, message: &Message) -> Result<(), SendError> {
        self.0.send(message).map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                SendError::Permanent(e.to_string())
            } else {
                SendError::Transient(e.to_string())
            }
        })
    }
}

/// The RFC 5322 message.
pub fn build(from: &EmailAddress, to: &str, subject: &str, body: &str) -> Result<Message, String> {
    let to = EmailAddress::parse(to).map_err(|e| format!("to: {e}"))?;
    Message::builder()
        .from(from.mailbox().clone())
        .to(to.mailbox().clone())
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_owned())
        .map_err(|e| e.to_string())
}

/// How long a relay holds the messages it claimed: a host killed mid-send leaves them to the
/// next relay (on any host) after this.
pub const MAIL_LEASE_SECS: i64 = 60;

/// Tries before a message that keeps failing is given up (about a day of backoff).
pub const MAX_MAIL_ATTEMPTS: i64 = 10;

/// How long to wait after the `attempts`-th failed try: a minute, doubling, at most six hours.
pub fn backoff_secs(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    (60_i64 << doublings).min(6 * 3600)
}

/// What a failed try of a message's `attempts`-th comes to: another try later, or given up.
pub fn after_failure(error: &SendError, attempts: i64, now: i64) -> MailState {
    match error {
        SendError::Permanent(_) => MailState::Undeliverable,
        SendError::Transient(_) if attempts >= MAX_MAIL_ATTEMPTS => MailState::Undeliverable,
        SendError::Transient(_) => MailState::Retry {
            next_try: now + backoff_secs(attempts),
        },
    }
}

/// How often the relay looks at the outbox without being woken: messages waiting out their
/// backoff, and those queued by another host on the same database.
pub const RELAY_POLL_SECS: u64 = 30;

/// Tells this host's relay that a message was queued (after the transaction committed). Never
/// waits: the relay sends in the background.
pub fn wake(state: &crate::HostState) {
    state.mail_wake.notify_one();
}

/// Starts the outbox relay of `state`: it sends at once (messages queued before a restart),
/// then whenever [`wake`]d and every [`RELAY_POLL_SECS`]. It holds the state weakly and ends
/// when the host is dropped. Several hosts on one database each run one; the outbox's leases
/// keep them from sending one message twice.
pub fn spawn_relay(state: &std::sync::Arc<crate::HostState>) -> tokio::task::JoinHandle<()> {
    let weak = std::sync::Arc::downgrade(state);
    let wake = state.mail_wake.clone();
    tokio::spawn(async move {
        loop {
            let Some(state) = weak.upgrade() else { return };
            // A full batch may leave more behind: keep going until a pass sends less.
            while send_outbox(&state).await >= OUTBOX_BATCH {}
            drop(state);
            let poll = std::time::Duration::from_secs(RELAY_POLL_SECS);
            let _ = tokio::time::timeout(poll, wake.notified()).await;
        }
    })
}

/// How many messages one relay pass claims.
const OUTBOX_BATCH: usize = 100;

/// One relay pass: sends what the outbox holds and is due; returns how many it claimed. A message that fails
/// waits its backoff while newer ones go first, and is given up after [`MAX_MAIL_ATTEMPTS`] or
/// at once when the server refuses it for good: one bad address never stops the others.
pub async fn send_outbox(state: &crate::HostState) -> usize {
    let _pass = state.mail_pass.lock().await;
    let (store, mailer, from) = (state.store.as_ref(), &state.mailer, &state.config.mail.from);
    let now = state.clock.now();
    let batch = u32::try_from(OUTBOX_BATCH).unwrap_or(100);
    let rows = match store.claim_mail(batch, now, now + MAIL_LEASE_SECS).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "read the mail outbox");
            return 0;
        }
    };
    let claimed = rows.len();
    for r in rows {
        let id = r.id;
        let message = match build(from, &r.to, &r.subject, &r.body) {
            Ok(m) => m,
            Err(e) => {
                // An address that cannot be written will never be: give up on it, loudly.
                tracing::error!(error = %e, id, "undeliverable message dropped from the outbox");
                let _ = store.mark_mail(id, MailState::Undeliverable).await;
                continue;
            }
        };
        let mailer = mailer.clone();
        // SMTP and file writes block: keep them off the async workers.
        let sent = tokio::task::spawn_blocking(move || mailer.send(id, &message))
            .await
            .unwrap_or_else(|e| Err(SendError::Transient(format!("mail task: {e}"))));
        let state = match &sent {
            Ok(()) => MailState::Sent,
            Err(e) => after_failure(e, r.attempts, now),
        };
        match (&sent, state) {
            (Err(e), MailState::Undeliverable) => {
                tracing::error!(error = %e, id, attempts = r.attempts, "mail given up")
            }
            (Err(e), _) => {
                tracing::warn!(error = %e, id, attempts = r.attempts, "mail not sent; will retry")
            }
            _ => {}
        }
        if let Err(e) = store.mark_mail(id, state).await {
            tracing::warn!(error = %e, id, "outbox row not marked; it may go out twice");
        }
    }
    claimed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_then_give_up_and_permanent_ones_at_once() {
        let t = SendError::Transient("421 try later".into());
        assert_eq!(
            after_failure(&t, 1, 100),
            MailState::Retry { next_try: 160 }
        );
        assert_eq!(
            after_failure(&t, 3, 100),
            MailState::Retry { next_try: 340 }
        );
        assert_eq!(backoff_secs(30), 6 * 3600, "capped");
        assert_eq!(
            after_failure(&t, MAX_MAIL_ATTEMPTS, 100),
            MailState::Undeliverable
        );
        let p = SendError::Permanent("550 no such user".into());
        assert_eq!(after_failure(&p, 1, 100), MailState::Undeliverable);
    }

    #[test]
    fn wrapped_keys_rejoin_exactly() {
        let key = format!("PW1-{}", vec!["ABCDE"; 30].join("-"));
        let wrapped = wrap_key(&key);
        assert!(wrapped.lines().all(|l| l.len() <= 71), "{wrapped}");
        assert!(wrapped.lines().count() > 1);
        assert_eq!(wrapped.replace('\n', ""), key);
    }

    #[test]
    fn addresses_parse_once_and_mask() {
        let a = EmailAddress::parse(" donor@example.org ").unwrap();
        assert_eq!(a.to_string(), "donor@example.org");
        assert_eq!(a.masked(), "d•••@example.org");
        let named = EmailAddress::parse("Acme <sales@acme.example>").unwrap();
        assert_eq!(named.masked(), "s•••@acme.example");
        for bad in ["nonsense", "a@", "@b.example", "a b@c.example", ""] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn receipts_carry_the_statements() {
        let l = receipt_letter(ReceiptText {
            total: "25.00 USD",
            org: "Hope",
            number: "HOPE-000001",
            tax_statement: Some("No goods."),
            text: None,
        });
        assert_eq!(l.subject, "Your receipt HOPE-000001 from Hope");
        assert!(l.body.contains("25.00 USD to Hope") && l.body.ends_with("\nNo goods.\n"));
    }
}

/// `YYYY-MM-DD` (UTC) of unix seconds `t`, for mails (the civil-from-days algorithm).
pub fn civil_date(t: i64) -> String {
    let z = t.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod civil_date_tests {
    #[test]
    fn dates() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(1_798_761_600), "2027-01-01");
        assert_eq!(super::civil_date(951_782_400), "2000-02-29");
    }
}
