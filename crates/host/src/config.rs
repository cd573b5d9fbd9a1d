//! `paywidget.toml`: the host's merchants and campaigns, parsed once and checked, with secrets
//! overridable by environment variables. An invalid file gives one clear error naming the key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use paywidget_core::money::Currency;
use serde::Deserialize;

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Server settings.
    #[serde(default)]
    pub server: ServerConfig,
    /// The merchants this host serves.
    pub merchants: Vec<Merchant>,
    /// Their campaigns (donations) and products (licences).
    pub campaigns: Vec<Campaign>,
    /// How receipt and licence emails are sent.
    #[serde(default)]
    pub mail: MailConfig,
}

/// `[mail]`: the sender, and SMTP if configured (else `.eml` files in `server.outbox`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// The `From:` of every message.
    pub from: String,
    /// Send through this SMTP server instead of writing files.
    pub smtp: Option<SmtpConfig>,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            from: "paywidget <no-reply@localhost>".into(),
            smtp: None,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the start (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine.
    None,
}

/// `[mail.smtp]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Server name.
    pub host: String,
    /// Port (default by `security`: 587, 465 or 25).
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    #[serde(default = "starttls")]
    pub security: SmtpSecurity,
    /// Login user.
    pub username: Option<String>,
    /// Login password; env `PAYWIDGET_SMTP_PASSWORD`.
    pub password: Option<String>,
}

fn starttls() -> SmtpSecurity {
    SmtpSecurity::Starttls
}

/// `[server]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Where to listen (loopback by default).
    pub addr: SocketAddr,
    /// The URL shoppers reach the host at (for return URLs); default `http://<addr>`.
    pub public_url: Option<String>,
    /// SQLite database file.
    pub db: String,
    /// The widget's Trunk build to serve as the hosted checkout.
    pub dist: PathBuf,
    /// Where receipt and licence emails are written as `.eml` files.
    pub outbox: PathBuf,
    /// Ed25519 seed (32 bytes, base64) signing licence keys; env `PAYWIDGET_LICENSE_SIGNING_KEY`.
    /// When absent, one is generated on first start and kept in the database.
    pub license_signing_key: Option<String>,
    /// Requests per minute one IP address may make to the session and pay endpoints.
    pub rate_limit_per_minute: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8787)),
            public_url: None,
            db: "paywidget.sqlite".into(),
            dist: "dist".into(),
            outbox: "outbox".into(),
            license_signing_key: None,
            rate_limit_per_minute: 120,
        }
    }
}

/// `[[merchants]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merchant {
    /// Short id used by campaigns and in env var names.
    pub id: String,
    /// Display name (also the receipt's organisation name unless `receipt_org_name` is set).
    pub name: String,
    /// The gateway's base URL: the sandbox (`http://127.0.0.1:12111`) or `https://api.stripe.com`.
    pub gateway_url: String,
    /// `sk_…`; env `PAYWIDGET_<ID>_SECRET_KEY`.
    #[serde(default)]
    pub secret_key: String,
    /// `pk_…` (public: sent to the checkout page).
    pub publishable_key: String,
    /// `whsec_…`; env `PAYWIDGET_<ID>_WEBHOOK_SECRET`.
    #[serde(default)]
    pub webhook_secret: String,
    /// Origins allowed to embed the checkout (CSP `frame-ancestors`).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// The organisation named on receipts.
    pub receipt_org_name: Option<String>,
    /// The tax statement printed on donation receipts.
    pub tax_statement: Option<String>,
    /// Prefix of receipt numbers (default: the id upper-cased).
    pub receipt_prefix: Option<String>,
    /// Ask for the billing postal code (when the gateway account's rules check it).
    #[serde(default)]
    pub collect_postal_code: bool,
}

/// What a campaign sells.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A donation of a chosen amount; fulfilled with a receipt.
    Donation,
    /// A software licence at a fixed price; fulfilled with a signed licence key.
    License,
}

/// Optional donor fee coverage: `percent` of the amount plus `fixed` minor units.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeeCoverage {
    /// Percent of the amount, e.g. 2.9.
    pub percent: f64,
    /// Fixed minor units, e.g. 30.
    pub fixed: i64,
}

/// `[campaigns.license]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseSettings {
    /// Product name in the key.
    pub product: String,
    /// Seats.
    #[serde(default = "one")]
    pub seats: u16,
    /// Days the licence is valid; absent = perpetual.
    pub validity_days: Option<u32>,
}

fn one() -> u16 {
    1
}

/// `[[campaigns]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    /// Id used in the embed snippet and API.
    pub id: String,
    /// The merchant's id.
    pub merchant: String,
    /// `donation` or `license`.
    pub kind: Kind,
    /// Heading shown on the checkout.
    pub title: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Donation: buttons offered, in minor units.
    #[serde(default)]
    pub suggested_amounts: Vec<i64>,
    /// Donation: smallest custom amount (minor units).
    pub min_amount: Option<i64>,
    /// Donation: largest custom amount (minor units).
    pub max_amount: Option<i64>,
    /// Licence: the price in minor units.
    pub price: Option<i64>,
    /// Donors may add this to cover fees.
    pub fee_coverage: Option<FeeCoverage>,
    /// Licence settings (required for `kind = "license"`).
    pub license: Option<LicenseSettings>,
    /// Setup instructions per platform, Markdown (rendered server-side, sanitized).
    #[serde(default)]
    pub instructions: BTreeMap<String, String>,
    /// Extra text on the receipt.
    pub receipt_text: Option<String>,
    /// Where to send the shopper after payment instead of the host's confirmation page.
    pub success_url: Option<String>,
    /// The logo shown above the title: an `https://` URL or a path on the host; square,
    /// shown at 48×48 px.
    pub logo_url: Option<String>,
}

/// A configuration error naming the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// e.g. `campaigns[1].currency`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.into(),
    }
}

impl HostConfig {
    /// Parses and checks `text`, then applies environment overrides from `env`.
    pub fn parse(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<HostConfig, ConfigError> {
        let mut config: HostConfig = toml::from_str(text).map_err(|e| {
            let key = e
                .span()
                .map(|s| format!("line {}", text[..s.start].lines().count().max(1)))
                .unwrap_or_default();
            err(
                if key.is_empty() {
                    "paywidget.toml".into()
                } else {
                    key
                },
                e.message().to_owned(),
            )
        })?;
        if let (Some(smtp), Some(p)) = (config.mail.smtp.as_mut(), env("PAYWIDGET_SMTP_PASSWORD")) {
            smtp.password = Some(p);
        }
        if let Some(k) = env("PAYWIDGET_LICENSE_SIGNING_KEY") {
            config.server.license_signing_key = Some(k);
        }
        for m in &mut config.merchants {
            let prefix = format!("PAYWIDGET_{}_", m.id.to_uppercase().replace('-', "_"));
            if let Some(v) = env(&format!("{prefix}SECRET_KEY")) {
                m.secret_key = v;
            }
            if let Some(v) = env(&format!("{prefix}WEBHOOK_SECRET")) {
                m.webhook_secret = v;
            }
        }
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(err(
                "mail.from",
                format!("not an email address: {:?}", self.mail.from),
            ));
        }
        if self.server.rate_limit_per_minute == 0 {
            return Err(err("server.rate_limit_per_minute", "must be at least 1"));
        }
        if self.merchants.is_empty() {
            return Err(err("merchants", "at least one [[merchants]] is needed"));
        }
        for (i, m) in self.merchants.iter().enumerate() {
            let k = |f: &str| format!("merchants[{i}].{f}");
            if m.id.is_empty()
                || !m
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(err(k("id"), "use letters, digits, '-' or '_'"));
            }
            if self.merchants.iter().filter(|o| o.id == m.id).count() > 1 {
                return Err(err(k("id"), format!("duplicate merchant id {:?}", m.id)));
            }
            if !(m.gateway_url.starts_with("http://") || m.gateway_url.starts_with("https://")) {
                return Err(err(k("gateway_url"), "must be an http(s) URL"));
            }
            if !m.secret_key.starts_with("sk_") {
                return Err(err(
                    k("secret_key"),
                    format!(
                        "missing or not an sk_ key (set it or PAYWIDGET_{}_SECRET_KEY)",
                        m.id.to_uppercase()
                    ),
                ));
            }
            for (j, o) in m.allowed_origins.iter().enumerate() {
                let rest = o
                    .strip_prefix("https://")
                    .or_else(|| o.strip_prefix("http://"))
                    .unwrap_or("");
                if rest.is_empty() || rest.contains(['/', ' ', ';', '*', '\'', '"']) {
                    return Err(err(
                        k(&format!("allowed_origins[{j}]")),
                        format!("{o:?} is not an origin like https://www.example.org (no path, no trailing slash)"),
                    ));
                }
            }
            if !m.publishable_key.starts_with("pk_") {
                return Err(err(k("publishable_key"), "must start with pk_"));
            }
            if !m.webhook_secret.starts_with("whsec_") {
                return Err(err(
                    k("webhook_secret"),
                    format!(
                        "missing or not a whsec_ secret (set it or PAYWIDGET_{}_WEBHOOK_SECRET)",
                        m.id.to_uppercase()
                    ),
                ));
            }
        }
        for (i, c) in self.campaigns.iter().enumerate() {
            let k = |f: &str| format!("campaigns[{i}].{f}");
            if self.merchant(&c.merchant).is_none() {
                return Err(err(
                    k("merchant"),
                    format!("no merchant with id {:?}", c.merchant),
                ));
            }
            if let Some(url) = &c.success_url {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(err(k("success_url"), "must be an http(s) URL"));
                }
            }
            if let Some(logo) = &c.logo_url {
                if !(logo.starts_with("https://")
                    || logo.starts_with("http://")
                    || logo.starts_with('/'))
                    || logo.contains(['"', '\'', ' ', ';'])
                {
                    return Err(err(
                        k("logo_url"),
                        "must be an http(s) URL or a path starting with /",
                    ));
                }
            }
            if self.campaigns.iter().filter(|o| o.id == c.id).count() > 1 {
                return Err(err(k("id"), format!("duplicate campaign id {:?}", c.id)));
            }
            Currency::from_code(&c.currency)
                .map_err(|_| err(k("currency"), format!("unknown currency {:?}", c.currency)))?;
            match c.kind {
                Kind::Donation => {
                    let (min, max) = (c.min_amount.unwrap_or(1), c.max_amount.unwrap_or(i64::MAX));
                    if min < 1 || min > max {
                        return Err(err(
                            k("min_amount"),
                            "must be at least 1 and not above max_amount",
                        ));
                    }
                    if let Some(bad) = c.suggested_amounts.iter().find(|a| **a < min || **a > max) {
                        return Err(err(
                            k("suggested_amounts"),
                            format!("{bad} is outside min_amount..max_amount"),
                        ));
                    }
                }
                Kind::License => {
                    if c.price.is_none_or(|p| p < 1) {
                        return Err(err(
                            k("price"),
                            "a licence needs a positive price (minor units)",
                        ));
                    }
                    if c.license.is_none() {
                        return Err(err(
                            k("license"),
                            "a licence campaign needs [campaigns.license] with product",
                        ));
                    }
                }
            }
            if let Some(f) = c.fee_coverage {
                if !(0.0..=50.0).contains(&f.percent) || f.fixed < 0 {
                    return Err(err(k("fee_coverage"), "percent must be 0–50 and fixed ≥ 0"));
                }
            }
        }
        Ok(())
    }

    /// The merchant with `id`.
    pub fn merchant(&self, id: &str) -> Option<&Merchant> {
        self.merchants.iter().find(|m| m.id == id)
    }

    /// The campaign with `id`.
    pub fn campaign(&self, id: &str) -> Option<&Campaign> {
        self.campaigns.iter().find(|c| c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[[merchants]]
id = "hope"
name = "Hope Shelter"
gateway_url = "http://127.0.0.1:12111"
secret_key = "sk_test_x"
publishable_key = "pk_test_x"
webhook_secret = "whsec_x"

[[campaigns]]
id = "winter"
merchant = "hope"
kind = "donation"
title = "Winter appeal"
currency = "usd"
suggested_amounts = [1000, 2500]
min_amount = 500
"#;

    #[test]
    fn parses_and_applies_env_overrides() {
        let c = HostConfig::parse(BASE, |k| {
            (k == "PAYWIDGET_HOPE_SECRET_KEY").then(|| "sk_test_env".into())
        })
        .unwrap();
        assert_eq!(c.merchants[0].secret_key, "sk_test_env");
        assert_eq!(c.campaign("winter").unwrap().kind, Kind::Donation);
    }

    #[test]
    fn the_example_configs_are_valid() {
        for file in ["nonprofit", "licence-seller", "demo"] {
            let path = format!(
                "{}/../../examples/{file}/paywidget.toml",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).unwrap();
            HostConfig::parse(&text, |_| None).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }

    #[test]
    fn errors_name_the_key() {
        let bad = BASE.replace("currency = \"usd\"", "currency = \"usx\"");
        let e = HostConfig::parse(&bad, |_| None).unwrap_err();
        assert_eq!(e.key, "campaigns[0].currency");
        let bad = BASE.replace(
            "suggested_amounts = [1000, 2500]",
            "suggested_amounts = [100]",
        );
        assert_eq!(
            HostConfig::parse(&bad, |_| None).unwrap_err().key,
            "campaigns[0].suggested_amounts"
        );
        let bad = BASE.replace("webhook_secret = \"whsec_x\"", "");
        let e = HostConfig::parse(&bad, |_| None).unwrap_err();
        assert_eq!(e.key, "merchants[0].webhook_secret");
        assert!(e.message.contains("PAYWIDGET_HOPE_WEBHOOK_SECRET"));
        let bad = BASE.replace(
            "webhook_secret = \"whsec_x\"",
            "webhook_secret = \"whsec_x\"\nallowed_origins = [\"https://ok.example\", \"https://x.example/shop/\"]",
        );
        let e = HostConfig::parse(&bad, |_| None).unwrap_err();
        assert_eq!(e.key, "merchants[0].allowed_origins[1]", "{e}");
        let bad = BASE.replace("title =", "logo_url = \"javascript:alert(1)\"\ntitle =");
        assert_eq!(
            HostConfig::parse(&bad, |_| None).unwrap_err().key,
            "campaigns[0].logo_url"
        );
        let bad = BASE.replace("title =", "colour = \"red\"\ntitle =");
        let e = HostConfig::parse(&bad, |_| None).unwrap_err();
        assert!(e.message.contains("colour"), "{e}");
    }
}
