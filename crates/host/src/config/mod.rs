//! `paywidget.toml`: the host's merchants and campaigns, parsed once into typed values
//! (currencies, URLs, origins, email addresses, secrets), with secrets overridable by environment
//! variables. An invalid file gives one clear error naming the key.
//!
//! Reading is two steps: serde reads the file into plain `Raw…` structs (strings as written),
//! then each value is parsed into its type here, where the key's full name (`campaigns[0].currency`)
//! is known for the error.

pub mod check;
pub mod keys;
pub mod secret;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use paywidget_core::api::{CampaignKind, CardCapture, CurrencyOption, FeeCoverage, Frequency};
use paywidget_core::money::{Currency, Locale};
use serde::Deserialize;
use url::Url;

use crate::config::secret::Secret;
use crate::store::DbUrl;
use crate::support::email::EmailAddress;
use crate::support::local::Local;

/// The whole configuration.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Server settings.
    pub server: ServerConfig,
    /// The merchants this host serves.
    pub merchants: Vec<Merchant>,
    /// Their campaigns (donations) and products (licences).
    pub campaigns: Vec<Campaign>,
    /// How receipt and licence emails are sent.
    pub mail: MailConfig,
}

/// `[mail]`: the sender, and SMTP if configured (else `.eml` files in `server.outbox`).
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The `From:` of every message.
    pub from: EmailAddress,
    /// Send through this SMTP server instead of writing files.
    pub smtp: Option<SmtpConfig>,
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
    pub password: Option<Secret>,
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
    pub public_url: Option<Url>,
    /// The database: a SQLite file path (or `sqlite:<path>`), the default, for one host; or a
    /// `postgres://user:password@host/db` URL that several hosts share. Env `PAYWIDGET_DB`.
    pub db: DbUrl,
    /// The widget's Trunk build to serve as the hosted checkout.
    pub dist: PathBuf,
    /// Where receipt and licence emails are written as `.eml` files.
    pub outbox: PathBuf,
    /// Ed25519 seed (32 bytes, base64) signing licence keys; env `PAYWIDGET_LICENSE_SIGNING_KEY`.
    /// When absent, derived from the host's secret (label `licence signing`); pin it here to
    /// keep issued licences valid across a rotation of the host's secret.
    pub license_signing_key: Option<Secret>,
    /// A file holding the host's secret (base64 of 32 or more random bytes), from which every
    /// key the host uses is derived, one per purpose. Env `PAYWIDGET_SECRET` (the secret itself)
    /// wins. Never kept in the database.
    pub secret_file: Option<PathBuf>,
    /// The secret from `PAYWIDGET_SECRET` (not a TOML key: set only from the environment).
    #[serde(skip)]
    pub secret: Option<Secret>,
    /// Development only (the sandbox, the demo, tests): derive the keys from a fixed, public
    /// secret. Refused with a live gateway key.
    pub dev_secret: bool,
    /// Requests per minute one IP address may make to the session and pay endpoints (across
    /// all hosts when they share a PostgreSQL database).
    pub rate_limit_per_minute: u32,
    /// How often one of the hosts reconciles the gateway's charges with the database (repairing
    /// fulfilments whose webhook never came), in minutes; 0 turns it off. Default 60.
    pub reconcile_every_minutes: u32,
    /// Reverse proxies (addresses or CIDR ranges, e.g. `10.0.0.0/8`) whose
    /// `client_ip_header` names the client. From any other peer the header is ignored.
    #[serde(deserialize_with = "nets")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The header a trusted proxy puts the client address in (default `X-Forwarded-For`;
    /// its last untrusted entry is the client).
    pub client_ip_header: String,
    /// Extra certificate authorities (PEM) the gateway client trusts besides the public web
    /// roots: for a private gateway or a test gateway with its own certificate.
    pub gateway_ca_file: Option<PathBuf>,
    /// `[server.tls]`: serve HTTPS with this certificate (TLS 1.2+, HSTS on every answer).
    pub tls: Option<TlsFiles>,
    /// Development and tests only: outgoing webhooks may go to `http://` URLs on this machine
    /// (loopback). Private, link-local and metadata addresses stay refused. Default false.
    pub hooks_to_loopback: bool,
}

/// `trusted_proxies`: addresses or CIDR ranges.
fn nets<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|t| crate::support::client_ip::parse_net(t).map_err(serde::de::Error::custom))
        .collect()
}

/// `[server.tls]`: the host's certificate chain and private key, PEM files.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain (leaf first).
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8787)),
            public_url: None,
            db: DbUrl::Sqlite("paywidget.sqlite".into()),
            dist: "dist".into(),
            outbox: "outbox".into(),
            license_signing_key: None,
            secret_file: None,
            secret: None,
            dev_secret: false,
            hooks_to_loopback: false,
            rate_limit_per_minute: 120,
            reconcile_every_minutes: 60,
            trusted_proxies: Vec::new(),
            client_ip_header: "x-forwarded-for".into(),
            gateway_ca_file: None,
            tls: None,
        }
    }
}

/// An origin a merchant's pages are served from: `scheme://host[:port]`, nothing else (it is
/// compared with the browser's `event.origin` and written into `frame-ancestors`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    /// Parses `https://www.example.org` (http or https; no path, query or trailing slash).
    pub fn parse(text: &str) -> Result<Origin, String> {
        let refuse = || {
            format!(
                "{text:?} is not an origin like https://www.example.org (no path, no trailing slash)"
            )
        };
        let url = Url::parse(text).map_err(|_| refuse())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(refuse());
        }
        // Only a text that is an origin: a path (even a trailing slash), a query, a fragment or
        // credentials mean the merchant meant something else. Case and a default port are only
        // spelling: kept as the browser spells the origin.
        let bare = text
            .strip_prefix(url.scheme())
            .and_then(|rest| rest.strip_prefix("://"))
            .map_or(text, |rest| rest);
        if bare.contains(['/', '?', '#', '@', ' ', ';', '*', '\'', '"'])
            || url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
        {
            return Err(refuse());
        }
        Ok(Origin(url.origin().ascii_serialization()))
    }

    /// As the browser spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Origin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Origin::parse(s)
    }
}

/// A campaign's logo: an absolute http(s) URL or a path on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogoUrl {
    /// On another origin (listed in the pages' `img-src`).
    Absolute(Url),
    /// A path on the host, starting with `/`.
    Path(String),
}

impl LogoUrl {
    /// Parses `https://…`, `http://…` or `/path`.
    pub fn parse(text: &str) -> Result<LogoUrl, String> {
        let refuse = || "must be an http(s) URL or a path starting with /".to_owned();
        if text.starts_with('/') && !text.starts_with("//") {
            if text.contains(['"', '\'', ' ', ';', '<', '>']) {
                return Err(refuse());
            }
            return Ok(LogoUrl::Path(text.to_owned()));
        }
        let url = Url::parse(text).map_err(|_| refuse())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(refuse());
        }
        Ok(LogoUrl::Absolute(url))
    }

    /// As the page's `<img src>` gets it.
    pub fn as_str(&self) -> &str {
        match self {
            LogoUrl::Absolute(u) => url_text(u),
            LogoUrl::Path(p) => p,
        }
    }

    /// The origin to allow in `img-src`, for an absolute URL.
    pub fn origin(&self) -> Option<String> {
        match self {
            LogoUrl::Absolute(u) => Some(u.origin().ascii_serialization()),
            LogoUrl::Path(_) => None,
        }
    }
}

/// A URL as the configuration wrote it: a bare `https://host` stays without the `/` that the
/// URL parser adds (gateway base URLs are joined with `/v1/…`).
pub fn url_text(url: &Url) -> &str {
    let s = url.as_str();
    if url.path() == "/" && url.query().is_none() && url.fragment().is_none() {
        s.strip_suffix('/').unwrap_or(s)
    } else {
        s
    }
}

/// Parses an absolute http(s) URL.
fn http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|_| "must be an http(s) URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http(s) URL".into());
    }
    Ok(url)
}

/// A gateway's base URL: `https://`, or plain `http://` only on this machine (the sandbox) —
/// card tokens and secret keys never cross a network in clear text.
fn gateway_url(text: &str) -> Result<Url, String> {
    let url = http_url(text)?;
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(format!(
            "{text:?} is plain http to another machine: use https:// (plain http only for a gateway on 127.0.0.1, ::1 or localhost)"
        ));
    }
    Ok(url)
}

/// `[[merchants]]`.
#[derive(Clone, Debug)]
pub struct Merchant {
    /// Short id used by campaigns and in env var names.
    pub id: String,
    /// Display name (also the receipt's organisation name unless `receipt_org_name` is set).
    pub name: String,
    /// The gateway's base URL: the sandbox (`http://127.0.0.1:12111`) or `https://api.stripe.com`.
    pub gateway_url: Url,
    /// `sk_…`; env `PAYWIDGET_<ID>_SECRET_KEY`.
    pub secret_key: Secret,
    /// `pk_…` (public: sent to the checkout page).
    pub publishable_key: String,
    /// `whsec_…`; env `PAYWIDGET_<ID>_WEBHOOK_SECRET`.
    pub webhook_secret: Secret,
    /// Origins allowed to embed the checkout (CSP `frame-ancestors`).
    pub allowed_origins: Vec<Origin>,
    /// The organisation named on receipts.
    pub receipt_org_name: Option<String>,
    /// The tax statement printed on donation receipts.
    pub tax_statement: Option<String>,
    /// Prefix of receipt numbers (default: the id upper-cased).
    pub receipt_prefix: Option<String>,
    /// Ask for the billing postal code (when the gateway account's rules check it).
    pub collect_postal_code: bool,
    /// Our card fields or the gateway's own (default: ours for the sandbox — a gateway on
    /// this machine — the gateway's for any other, as Stripe refuses raw card numbers).
    pub card_capture: CardCapture,
    /// The gateway's browser script for its own fields: Stripe.js for Stripe, else the
    /// gateway's `/v3/` (the sandbox serves a counterpart there).
    pub gateway_js_url: Url,
    /// Test mode only: new customers are put on this gateway test clock (`clock_…`), so
    /// renewals can be fast-forwarded (the demo and the tests do).
    pub test_clock: Option<String>,
    /// `[merchants.shield]`: the card-testing shield's limits (on by default).
    pub shield: ShieldConfig,
    /// Where the host mails the merchant (attack mode on and off); default: `mail.from`.
    pub notify_email: Option<EmailAddress>,
    /// `[[merchants.staff]]`: who may sign in to the dashboard, and as what.
    pub staff: Vec<StaffMember>,
    /// The largest refund (minor units) a `support` member may make; larger ones need an owner.
    pub support_refund_limit: i64,
    /// How the dashboard and the staff's mails write dates, days and money (`time_zone`, an
    /// IANA name, by default UTC; `locale`, e.g. `de-DE`, by default ISO dates and `12.50 USD`).
    pub local: Local,
}

impl Merchant {
    /// Who is told of the merchant's alerts (disputes, stopped webhooks, a failing gateway,
    /// the weekly digest): its owners and its `notify_email`, each once.
    pub fn alert_addresses(&self) -> Vec<String> {
        let mut to: Vec<String> = self
            .staff
            .iter()
            .filter(|s| s.role == Role::Owner)
            .map(|s| s.email.to_string())
            .chain(self.notify_email.iter().map(ToString::to_string))
            .collect();
        to.sort();
        to.dedup();
        to
    }
}

/// A dashboard role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Owner,
    /// Refunds up to `support_refund_limit`, licence and subscription actions; no settings.
    Support,
    /// Read only.
    Viewer,
}

impl Role {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Support => "support",
            Role::Viewer => "viewer",
        }
    }
}

/// One address allowed into a merchant's dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffMember {
    /// Their address (lower case).
    pub email: EmailAddress,
    /// What they may do.
    pub role: Role,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaff {
    email: String,
    role: Role,
}

impl Merchant {
    /// The origins the checkout page needs for the gateway's own fields (its script, frames
    /// and API), empty for our own fields.
    pub fn gateway_fields_origins(&self) -> Vec<String> {
        if self.card_capture != CardCapture::GatewayFields {
            return Vec::new();
        }
        let mut origins = vec![self.gateway_js_url.origin().ascii_serialization()];
        if self.gateway_js_url.host_str() == Some("js.stripe.com") {
            // Stripe's published CSP for Stripe.js and the Payment Element.
            origins.push("https://*.js.stripe.com".into());
            origins.push("https://hooks.stripe.com".into());
        }
        origins
    }
}

/// Stripe's script, for merchants on Stripe.
const STRIPE_JS: &str = "https://js.stripe.com/v3/";

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
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
#[derive(Clone, Debug)]
pub struct Campaign {
    /// Id used in the embed snippet and API.
    pub id: String,
    /// The merchant's id.
    pub merchant: String,
    /// `donation` or `license`.
    pub kind: CampaignKind,
    /// Heading shown on the checkout.
    pub title: String,
    /// ISO 4217 code.
    pub currency: Currency,
    /// Donation: buttons offered, in minor units.
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
    pub instructions: BTreeMap<String, String>,
    /// Extra text on the receipt.
    pub receipt_text: Option<String>,
    /// Where to send the shopper after payment instead of the host's confirmation page.
    pub success_url: Option<Url>,
    /// The logo shown above the title: an `https://` URL or a path on the host; square,
    /// shown at 48×48 px.
    pub logo_url: Option<LogoUrl>,
    /// Donation frequencies offered, the default first (default: one-time only); for a licence
    /// with tiers, the periods its tiers are offered for.
    pub frequencies: Vec<Frequency>,
    /// Licence subscription tiers (empty: a one-time licence at `price`).
    pub tiers: Vec<Tier>,
    /// Donation: before a one-time gift is paid, offer a monthly one instead (needs
    /// `monthly` in `frequencies`).
    pub monthly_prompt: bool,
    /// A euro campaign with our own card fields also takes SEPA Direct Debit ("Card | Bank
    /// account" on the form; the merchant's gateway account must have it enabled).
    pub sepa_debit: bool,
    /// Further currencies, each with its own amounts (`[[campaigns.currencies]]`).
    pub currencies: Vec<CurrencyOption>,
    /// Days a subscription licence stays valid after its paid period while a renewal is
    /// retried (default 7).
    pub grace_days: u32,
}

/// `[[campaigns.tiers]]`: a licence subscription tier.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Its id (what the page sends).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Seats.
    pub seats: u16,
    /// Monthly price (minor units).
    pub monthly: Option<i64>,
    /// Yearly price (minor units).
    pub yearly: Option<i64>,
}

impl Campaign {
    /// The campaign's amounts in `currency` (its own or one of `currencies`), or `None` when
    /// it does not take `currency`.
    pub fn terms(&self, currency: Currency) -> Option<CurrencyOption> {
        if currency == self.currency {
            return Some(CurrencyOption {
                currency,
                suggested_amounts: self.suggested_amounts.clone(),
                min_amount: self.min_amount,
                max_amount: self.max_amount,
                price: self.price,
                fee_coverage: self.fee_coverage,
            });
        }
        self.currencies
            .iter()
            .find(|o| o.currency == currency)
            .cloned()
    }

    /// The tier `id`.
    pub fn tier(&self, id: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.id == id)
    }
}

/// The file as written: strings where the typed config has parsed values.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: ServerConfig,
    merchants: Vec<RawMerchant>,
    campaigns: Vec<RawCampaign>,
    #[serde(default)]
    mail: RawMail,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawMail {
    from: String,
    smtp: Option<SmtpConfig>,
}

impl Default for RawMail {
    fn default() -> Self {
        RawMail {
            from: "paywidget <no-reply@localhost>".into(),
            smtp: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMerchant {
    id: String,
    name: String,
    gateway_url: String,
    #[serde(default)]
    secret_key: String,
    publishable_key: String,
    #[serde(default)]
    webhook_secret: String,
    #[serde(default)]
    allowed_origins: Vec<String>,
    receipt_org_name: Option<String>,
    tax_statement: Option<String>,
    receipt_prefix: Option<String>,
    #[serde(default)]
    collect_postal_code: bool,
    card_capture: Option<String>,
    gateway_js_url: Option<String>,
    test_clock: Option<String>,
    #[serde(default)]
    shield: ShieldConfig,
    notify_email: Option<String>,
    #[serde(default)]
    staff: Vec<RawStaff>,
    support_refund_limit: Option<i64>,
    time_zone: Option<String>,
    locale: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    id: String,
    merchant: String,
    kind: CampaignKind,
    title: String,
    currency: String,
    #[serde(default)]
    suggested_amounts: Vec<i64>,
    min_amount: Option<i64>,
    max_amount: Option<i64>,
    price: Option<i64>,
    fee_coverage: Option<FeeCoverage>,
    license: Option<LicenseSettings>,
    #[serde(default)]
    instructions: BTreeMap<String, String>,
    receipt_text: Option<String>,
    success_url: Option<String>,
    logo_url: Option<String>,
    frequencies: Option<Vec<String>>,
    #[serde(default)]
    monthly_prompt: bool,
    #[serde(default)]
    sepa_debit: bool,
    #[serde(default)]
    currencies: Vec<RawCurrencyOption>,
    #[serde(default)]
    tiers: Vec<Tier>,
    grace_days: Option<u32>,
}

/// `[[campaigns.currencies]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCurrencyOption {
    currency: String,
    #[serde(default)]
    suggested_amounts: Vec<i64>,
    min_amount: Option<i64>,
    max_amount: Option<i64>,
    price: Option<i64>,
    fee_coverage: Option<FeeCoverage>,
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
        let mut raw: RawConfig = toml::from_str(text).map_err(|e| {
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
        if let (Some(smtp), Some(p)) = (raw.mail.smtp.as_mut(), env("PAYWIDGET_SMTP_PASSWORD")) {
            smtp.password = Some(Secret::new(p));
        }
        if let Some(k) = env("PAYWIDGET_LICENSE_SIGNING_KEY") {
            raw.server.license_signing_key = Some(Secret::new(k));
        }
        if let Some(k) = env("PAYWIDGET_SECRET").filter(|k| !k.trim().is_empty()) {
            raw.server.secret = Some(Secret::new(k));
        }
        // A PostgreSQL URL carries a password: keep it out of the file if you like.
        if let Some(db) = env("PAYWIDGET_DB") {
            raw.server.db = DbUrl::parse(&db).map_err(|e| err("PAYWIDGET_DB".to_owned(), e))?;
        }
        for m in &mut raw.merchants {
            let prefix = format!("PAYWIDGET_{}_", m.id.to_uppercase().replace('-', "_"));
            if let Some(v) = env(&format!("{prefix}SECRET_KEY")) {
                m.secret_key = v;
            }
            if let Some(v) = env(&format!("{prefix}WEBHOOK_SECRET")) {
                m.webhook_secret = v;
            }
        }
        let config = HostConfig::from_raw(raw)?;
        config.check()?;
        Ok(config)
    }

    /// Parses each value into its type; the errors name the key.
    fn from_raw(raw: RawConfig) -> Result<HostConfig, ConfigError> {
        let from = EmailAddress::parse(&raw.mail.from).map_err(|_| {
            err(
                "mail.from",
                format!("not an email address: {:?}", raw.mail.from),
            )
        })?;
        let mut merchants = Vec::with_capacity(raw.merchants.len());
        for (i, m) in raw.merchants.into_iter().enumerate() {
            let k = |f: &str| format!("merchants[{i}].{f}");
            let gateway_url = gateway_url(&m.gateway_url).map_err(|e| err(k("gateway_url"), e))?;
            let allowed_origins = m
                .allowed_origins
                .iter()
                .enumerate()
                .map(|(j, o)| {
                    Origin::parse(o).map_err(|e| err(k(&format!("allowed_origins[{j}]")), e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let card_capture = match m.card_capture.as_deref() {
                None if is_loopback(&gateway_url) => CardCapture::Direct,
                None => CardCapture::GatewayFields,
                Some(text) => CardCapture::parse(text).ok_or_else(|| {
                    err(
                        k("card_capture"),
                        format!("{text:?} is not \"gateway_fields\" or \"direct\""),
                    )
                })?,
            };
            let gateway_js_url = match m.gateway_js_url.as_deref() {
                Some(text) => self::gateway_url(text).map_err(|e| err(k("gateway_js_url"), e))?,
                None if gateway_url.host_str() == Some("api.stripe.com") => {
                    Url::parse(STRIPE_JS).map_err(|e| err(k("gateway_js_url"), e.to_string()))?
                }
                None => gateway_url
                    .join("/v3/")
                    .map_err(|e| err(k("gateway_js_url"), e.to_string()))?,
            };
            merchants.push(Merchant {
                card_capture,
                gateway_js_url,
                id: m.id,
                name: m.name,
                gateway_url,
                secret_key: Secret::new(m.secret_key),
                publishable_key: m.publishable_key,
                webhook_secret: Secret::new(m.webhook_secret),
                allowed_origins,
                receipt_org_name: m.receipt_org_name,
                tax_statement: m.tax_statement,
                receipt_prefix: m.receipt_prefix,
                collect_postal_code: m.collect_postal_code,
                test_clock: match m.test_clock {
                    Some(c) if !c.starts_with("clock_") => {
                        return Err(err(
                            k("test_clock"),
                            format!("{c:?} is not a test clock id (clock_…)"),
                        ))
                    }
                    other => other,
                },
                shield: {
                    m.shield.check().map_err(|e| err(k("shield"), e))?;
                    m.shield
                },
                notify_email: match &m.notify_email {
                    None => None,
                    Some(text) => Some(EmailAddress::parse(text).map_err(|_| {
                        err(k("notify_email"), format!("not an email address: {text:?}"))
                    })?),
                },
                staff: m
                    .staff
                    .iter()
                    .enumerate()
                    .map(|(j, s)| {
                        let email = EmailAddress::parse(&s.email.trim().to_lowercase())
                            .ok()
                            .filter(|e| !e.to_string().contains('<'))
                            .ok_or_else(|| {
                                err(
                                    k(&format!("staff[{j}].email")),
                                    format!("not a bare email address: {:?}", s.email),
                                )
                            })?;
                        Ok(StaffMember {
                            email,
                            role: s.role,
                        })
                    })
                    .collect::<Result<Vec<_>, ConfigError>>()?,
                support_refund_limit: match m.support_refund_limit {
                    Some(n) if n < 0 => {
                        return Err(err(k("support_refund_limit"), "must not be negative"))
                    }
                    Some(n) => n,
                    None => 10_000,
                },
                local: {
                    let locale = match &m.locale {
                        None => None,
                        Some(tag) => Some(Locale::parse(tag).ok_or_else(|| {
                            let known: Vec<&str> = Locale::ALL.iter().map(|l| l.tag()).collect();
                            err(
                                k("locale"),
                                format!("unknown locale {tag:?}; one of {}", known.join(", ")),
                            )
                        })?),
                    };
                    Local::new(m.time_zone.as_deref().unwrap_or("UTC"), locale)
                        .map_err(|e| err(k("time_zone"), e))?
                },
            });
        }
        let mut campaigns = Vec::with_capacity(raw.campaigns.len());
        for (i, c) in raw.campaigns.into_iter().enumerate() {
            let k = |f: &str| format!("campaigns[{i}].{f}");
            let currency = Currency::from_code(&c.currency)
                .map_err(|_| err(k("currency"), format!("unknown currency {:?}", c.currency)))?;
            let success_url = c
                .success_url
                .as_deref()
                .map(http_url)
                .transpose()
                .map_err(|e| err(k("success_url"), e))?;
            let logo_url = c
                .logo_url
                .as_deref()
                .map(LogoUrl::parse)
                .transpose()
                .map_err(|e| err(k("logo_url"), e))?;
            let tier_periods: Vec<Frequency> = [Frequency::Monthly, Frequency::Yearly]
                .into_iter()
                .filter(|f| {
                    c.tiers.iter().any(|t| match f {
                        Frequency::Monthly => t.monthly.is_some(),
                        _ => t.yearly.is_some(),
                    })
                })
                .collect();
            if !c.tiers.is_empty() && c.kind != CampaignKind::License {
                return Err(err(k("tiers"), "tiers are for licence campaigns"));
            }
            for (j, t) in c.tiers.iter().enumerate() {
                let prices_ok = [t.monthly, t.yearly].iter().flatten().all(|p| *p > 0);
                if t.monthly.is_none() && t.yearly.is_none() || !prices_ok || t.seats == 0 {
                    return Err(err(
                        k(&format!("tiers[{j}]")),
                        "a tier needs seats ≥ 1 and a positive monthly and/or yearly price",
                    ));
                }
            }
            let frequencies = match &c.frequencies {
                None if !c.tiers.is_empty() => tier_periods.clone(),
                None => vec![Frequency::OneTime],
                Some(list) => {
                    let mut out = Vec::new();
                    for (j, f) in list.iter().enumerate() {
                        let f = Frequency::parse(f).ok_or_else(|| {
                            err(
                                k(&format!("frequencies[{j}]")),
                                format!("{f:?} is not \"one_time\", \"monthly\" or \"yearly\""),
                            )
                        })?;
                        if !out.contains(&f) {
                            out.push(f);
                        }
                    }
                    if out.is_empty() {
                        return Err(err(k("frequencies"), "offer at least one frequency"));
                    }
                    if c.kind != CampaignKind::Donation
                        && c.tiers.is_empty()
                        && out != [Frequency::OneTime]
                    {
                        return Err(err(k("frequencies"), "recurring payments are for donations (licence tiers come with subscriptions)"));
                    }
                    out
                }
            };
            if c.monthly_prompt
                && !(frequencies.contains(&Frequency::OneTime)
                    && frequencies.contains(&Frequency::Monthly))
            {
                return Err(err(
                    k("monthly_prompt"),
                    "asks one-time donors to give monthly instead: offer both \"one_time\" and \"monthly\" in `frequencies`",
                ));
            }
            if c.sepa_debit && currency != Currency::Eur {
                return Err(err(
                    k("sepa_debit"),
                    "SEPA Direct Debit takes euros only: set `currency = \"eur\"` or remove it",
                ));
            }
            if c.sepa_debit
                && merchants
                    .iter()
                    .any(|m| m.id == c.merchant && m.card_capture == CardCapture::GatewayFields)
            {
                return Err(err(
                    k("sepa_debit"),
                    "is for our own fields: with `card_capture = \"gateway_fields\"` the gateway's element offers the methods enabled in its dashboard",
                ));
            }
            let mut currencies: Vec<CurrencyOption> = Vec::new();
            for (j, o) in c.currencies.into_iter().enumerate() {
                let key = |f: &str| k(&format!("currencies[{j}].{f}"));
                let code = Currency::from_code(&o.currency).map_err(|_| {
                    err(
                        key("currency"),
                        format!("unknown currency {:?}", o.currency),
                    )
                })?;
                if code == currency || currencies.iter().any(|x| x.currency == code) {
                    return Err(err(
                        key("currency"),
                        format!("{} is offered twice", code.code()),
                    ));
                }
                if !c.tiers.is_empty() {
                    return Err(err(
                        key("currency"),
                        "tier prices are in the campaign's currency: a licence with tiers takes one",
                    ));
                }
                match c.kind {
                    CampaignKind::License if o.price.is_none_or(|p| p <= 0) => {
                        return Err(err(
                            key("price"),
                            "a licence needs its price in each currency",
                        ))
                    }
                    CampaignKind::Donation if o.suggested_amounts.iter().any(|a| *a <= 0) => {
                        return Err(err(key("suggested_amounts"), "amounts must be positive"))
                    }
                    _ => {}
                }
                currencies.push(CurrencyOption {
                    currency: code,
                    suggested_amounts: o.suggested_amounts,
                    min_amount: match (o.min_amount, c.kind) {
                        // As for the campaign's own currency: 5 units unless set.
                        (None, CampaignKind::Donation) => {
                            Some(5 * 10_i64.pow(u32::from(code.minor_units())))
                        }
                        (m, _) => m,
                    },
                    max_amount: o.max_amount,
                    price: o.price,
                    fee_coverage: o.fee_coverage,
                });
            }
            campaigns.push(Campaign {
                monthly_prompt: c.monthly_prompt,
                sepa_debit: c.sepa_debit,
                currencies,
                frequencies,
                tiers: c.tiers,
                grace_days: c.grace_days.unwrap_or(7),
                id: c.id,
                merchant: c.merchant,
                kind: c.kind,
                title: c.title,
                currency,
                suggested_amounts: c.suggested_amounts,
                // A card tester's favourite is the smallest gift: 5 units unless set.
                min_amount: match (c.min_amount, c.kind) {
                    (None, CampaignKind::Donation) => {
                        Some(5 * 10_i64.pow(u32::from(currency.minor_units())))
                    }
                    (m, _) => m,
                },
                max_amount: c.max_amount,
                price: c.price,
                fee_coverage: c.fee_coverage,
                license: c.license,
                instructions: c.instructions,
                receipt_text: c.receipt_text,
                success_url,
                logo_url,
            });
        }
        Ok(HostConfig {
            server: raw.server,
            merchants,
            campaigns,
            mail: MailConfig {
                from,
                smtp: raw.mail.smtp,
            },
        })
    }

    /// The rules between values (ids, key prefixes, amount ranges).
    fn check(&self) -> Result<(), ConfigError> {
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
            if !m.secret_key.expose().starts_with("sk_") {
                return Err(err(
                    k("secret_key"),
                    format!(
                        "missing or not an sk_ key (set it or PAYWIDGET_{}_SECRET_KEY)",
                        m.id.to_uppercase()
                    ),
                ));
            }
            if !m.publishable_key.starts_with("pk_") {
                return Err(err(k("publishable_key"), "must start with pk_"));
            }
            if !m.webhook_secret.expose().starts_with("whsec_") {
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
            if self.campaigns.iter().filter(|o| o.id == c.id).count() > 1 {
                return Err(err(k("id"), format!("duplicate campaign id {:?}", c.id)));
            }
            match c.kind {
                CampaignKind::Donation => {
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
                CampaignKind::License => {
                    if c.tiers.is_empty() && c.price.is_none_or(|p| p < 1) {
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

/// `[merchants.shield]`: the limits, per merchant. Every field has a default.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ShieldConfig {
    /// Off: no limits, no challenge (not recommended for a public button).
    pub enabled: bool,
    /// The sliding window declines are counted in, minutes (default 10).
    pub window_minutes: u32,
    /// Declines from one IP in the window before a proof of work is asked (3).
    pub challenge_ip_declines: u32,
    /// … before the IP is blocked (6).
    pub block_ip_declines: u32,
    /// Declines from one network (/24, /48) before a proof of work (5).
    pub challenge_net_declines: u32,
    /// … before the network is blocked (12).
    pub block_net_declines: u32,
    /// Declines in one checkout session before a proof of work (2).
    pub challenge_session_declines: u32,
    /// … before the session is blocked (5).
    pub block_session_declines: u32,
    /// Declines for one email in the window before a proof of work (3).
    pub challenge_email_declines: u32,
    /// … before the email is blocked (6).
    pub block_email_declines: u32,
    /// Declines of one card (the gateway's fingerprint) before it is blocked (3).
    pub block_card_declines: u32,
    /// Attempts of any outcome from one IP in the window before a proof of work (10).
    pub challenge_ip_attempts: u32,
    /// How long a block lasts, minutes (60).
    pub block_minutes: u32,
    /// The proof of work's difficulty at the first sign of risk, leading zero bits (14);
    /// each further sign adds 2.
    pub difficulty: u8,
    /// Attempts on a campaign in the window before its decline rate can mean an attack (10).
    pub attack_min_attempts: u32,
    /// The decline rate, percent, that switches a campaign to attack mode (40).
    pub attack_decline_percent: u32,
    /// Attempts on a campaign in the window that mean an attack whatever their outcome (300).
    pub attack_attempts: u32,
    /// Minutes without a spike before attack mode ends (30).
    pub calm_minutes: u32,
    /// In attack mode: declines from one IP, session, email or card before a block (2: a
    /// genuine donor who mistypes once is not locked out).
    pub attack_block_declines: u32,
    /// In attack mode: the smallest gift, as a multiple of the campaign's minimum (2).
    pub attack_min_amount_factor: u32,
    /// Gifts below this multiple of the minimum count as tiny (2); more than
    /// `tiny_attempts` of them from one IP in the window are refused.
    pub tiny_factor: u32,
    /// Tiny gifts one IP may try in the window (3).
    pub tiny_attempts: u32,
}

impl Default for ShieldConfig {
    fn default() -> Self {
        ShieldConfig {
            enabled: true,
            window_minutes: 10,
            challenge_ip_declines: 3,
            block_ip_declines: 6,
            challenge_net_declines: 5,
            block_net_declines: 12,
            challenge_session_declines: 2,
            block_session_declines: 5,
            challenge_email_declines: 3,
            block_email_declines: 6,
            block_card_declines: 3,
            challenge_ip_attempts: 10,
            block_minutes: 60,
            difficulty: 14,
            attack_min_attempts: 10,
            attack_decline_percent: 40,
            attack_attempts: 300,
            calm_minutes: 30,
            attack_block_declines: 2,
            attack_min_amount_factor: 2,
            tiny_factor: 2,
            tiny_attempts: 3,
        }
    }
}

impl ShieldConfig {
    /// The rules between values.
    pub fn check(&self) -> Result<(), String> {
        if self.window_minutes == 0 || self.calm_minutes == 0 || self.block_minutes == 0 {
            return Err("window_minutes, calm_minutes and block_minutes must be at least 1".into());
        }
        if !(1..=28).contains(&self.difficulty) {
            return Err("difficulty is 1–28 leading zero bits".into());
        }
        if self.attack_decline_percent > 100 {
            return Err("attack_decline_percent is a percentage".into());
        }
        for (challenge, block, what) in [
            (self.challenge_ip_declines, self.block_ip_declines, "ip"),
            (self.challenge_net_declines, self.block_net_declines, "net"),
            (
                self.challenge_session_declines,
                self.block_session_declines,
                "session",
            ),
            (
                self.challenge_email_declines,
                self.block_email_declines,
                "email",
            ),
        ] {
            if challenge == 0 || block < challenge {
                return Err(format!(
                    "challenge_{what}_declines must be ≥ 1 and block_{what}_declines ≥ it"
                ));
            }
        }
        Ok(())
    }

    /// The window, in seconds.
    pub fn window(&self) -> i64 {
        i64::from(self.window_minutes) * 60
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
        assert_eq!(c.merchants[0].secret_key.expose(), "sk_test_env");
        assert_eq!(c.campaign("winter").unwrap().kind, CampaignKind::Donation);
    }

    #[test]
    fn a_merchant_chooses_its_time_zone_and_locale_by_name() {
        let c = HostConfig::parse(BASE, |_| None).unwrap();
        assert_eq!(c.merchants[0].local, Local::utc());
        let local = |lines: &str| {
            let text = BASE.replace(
                "webhook_secret = \"whsec_x\"\n",
                &format!("webhook_secret = \"whsec_x\"\n{lines}"),
            );
            HostConfig::parse(&text, |_| None)
        };
        let c = local("time_zone = \"Europe/Berlin\"\nlocale = \"de-DE\"\n").unwrap();
        assert_eq!(c.merchants[0].local.zone(), "Europe/Berlin");
        assert_eq!(c.merchants[0].local.locale(), Some(Locale::DeDe));
        let e = local("time_zone = \"Europe/Atlantis\"\n").unwrap_err();
        assert_eq!(e.key, "merchants[0].time_zone");
        assert!(e.message.contains("Europe/Atlantis"), "{e}");
        let e = local("locale = \"tlh-KX\"\n").unwrap_err();
        assert_eq!(e.key, "merchants[0].locale");
        assert!(e.message.contains("de-DE"), "names the known ones: {e}");
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
    fn plain_http_gateways_only_on_this_machine() {
        for ok in [
            "http://127.0.0.1:12111",
            "http://localhost:12111",
            "http://[::1]:12111",
            "https://api.stripe.com",
        ] {
            let text = BASE.replace("http://127.0.0.1:12111", ok);
            HostConfig::parse(&text, |_| None).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let text = BASE.replace("http://127.0.0.1:12111", "http://gateway.example.org");
        let e = HostConfig::parse(&text, |_| None).unwrap_err();
        assert_eq!(e.key, "merchants[0].gateway_url");
        assert!(e.message.contains("use https://"), "{e}");
    }

    #[test]
    fn origins_are_normalised_but_paths_refused() {
        assert_eq!(
            Origin::parse("https://Shop.Example.org").unwrap().as_str(),
            "https://shop.example.org"
        );
        assert_eq!(
            Origin::parse("https://example.org:443").unwrap().as_str(),
            "https://example.org"
        );
        assert_eq!(
            Origin::parse("http://127.0.0.1:8081").unwrap().as_str(),
            "http://127.0.0.1:8081"
        );
        for bad in [
            "https://x.example/",
            "https://x.example/shop",
            "https://u:p@x.example",
            "https://x.example?q",
            "ftp://x.example",
            "x.example",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
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

    #[test]
    fn further_currencies_bring_their_own_amounts_and_are_checked() {
        let with = |list: &str| BASE.replace("title =", &format!("currencies = {list}\ntitle ="));
        let c = HostConfig::parse(
            &with(r#"[{ currency = "jpy", suggested_amounts = [1000, 3000] }]"#),
            |_| None,
        )
        .unwrap();
        let winter = c.campaign("winter").unwrap();
        let yen = winter.terms(Currency::Jpy).unwrap();
        assert_eq!(yen.suggested_amounts, vec![1000, 3000]);
        assert_eq!(yen.min_amount, Some(5), "5 yen: the yen has no minor units");
        assert_eq!(winter.terms(Currency::Usd).unwrap().min_amount, Some(500));
        assert!(winter.terms(Currency::Eur).is_none());
        for (list, key) in [
            (
                r#"[{ currency = "usd" }]"#,
                "campaigns[0].currencies[0].currency",
            ),
            (
                r#"[{ currency = "gbp" }, { currency = "GBP" }]"#,
                "campaigns[0].currencies[1].currency",
            ),
            (
                r#"[{ currency = "zzz" }]"#,
                "campaigns[0].currencies[0].currency",
            ),
            (
                r#"[{ currency = "gbp", suggested_amounts = [0] }]"#,
                "campaigns[0].currencies[0].suggested_amounts",
            ),
        ] {
            let e = HostConfig::parse(&with(list), |_| None).unwrap_err();
            assert_eq!(e.key, key, "{list}: {e}");
        }
    }

    #[test]
    fn sepa_debit_is_for_euro_campaigns_with_our_fields() {
        let usd = BASE.replace("title =", "sepa_debit = true\ntitle =");
        let e = HostConfig::parse(&usd, |_| None).unwrap_err();
        assert_eq!(e.key, "campaigns[0].sepa_debit", "{e}");
        let eur = usd.replace("\"usd\"", "\"eur\"");
        let c = HostConfig::parse(&eur, |_| None).unwrap();
        assert!(c.campaign("winter").unwrap().sepa_debit);
        let stripe = eur.replace(
            "webhook_secret = \"whsec_x\"",
            "webhook_secret = \"whsec_x\"\ncard_capture = \"gateway_fields\"",
        );
        let e = HostConfig::parse(&stripe, |_| None).unwrap_err();
        assert_eq!(e.key, "campaigns[0].sepa_debit", "{e}");
        assert!(!HostConfig::parse(BASE, |_| None).unwrap().campaigns[0].sepa_debit);
    }

    #[test]
    fn card_capture_defaults_to_our_fields_only_for_the_sandbox() {
        let sandbox = HostConfig::parse(BASE, |_| None).unwrap();
        let m = &sandbox.merchants[0];
        assert_eq!(m.card_capture, CardCapture::Direct);
        assert_eq!(m.gateway_js_url.as_str(), "http://127.0.0.1:12111/v3/");
        assert!(m.gateway_fields_origins().is_empty());

        let stripe = BASE.replace("http://127.0.0.1:12111", "https://api.stripe.com");
        let stripe = HostConfig::parse(&stripe, |_| None).unwrap();
        let m = &stripe.merchants[0];
        assert_eq!(m.card_capture, CardCapture::GatewayFields);
        assert_eq!(m.gateway_js_url.as_str(), "https://js.stripe.com/v3/");
        assert_eq!(
            m.gateway_fields_origins(),
            [
                "https://js.stripe.com",
                "https://*.js.stripe.com",
                "https://hooks.stripe.com"
            ]
        );

        let chosen = BASE.replace(
            "webhook_secret = \"whsec_x\"",
            "webhook_secret = \"whsec_x\"\ncard_capture = \"gateway_fields\"",
        );
        let chosen = HostConfig::parse(&chosen, |_| None).unwrap();
        assert_eq!(chosen.merchants[0].card_capture, CardCapture::GatewayFields);
        assert_eq!(
            chosen.merchants[0].gateway_fields_origins(),
            ["http://127.0.0.1:12111"]
        );

        let wrong = BASE.replace(
            "webhook_secret = \"whsec_x\"",
            "webhook_secret = \"whsec_x\"\ncard_capture = \"iframe\"",
        );
        let e = HostConfig::parse(&wrong, |_| None).unwrap_err();
        assert_eq!(e.key, "merchants[0].card_capture");
        let plain = BASE.replace(
            "webhook_secret = \"whsec_x\"",
            "webhook_secret = \"whsec_x\"\ngateway_js_url = \"http://js.example.org/v3/\"",
        );
        let e = HostConfig::parse(&plain, |_| None).unwrap_err();
        assert_eq!(e.key, "merchants[0].gateway_js_url");
    }

    #[test]
    fn values_are_typed() {
        let text = BASE.replace(
            "webhook_secret = \"whsec_x\"",
            "webhook_secret = \"whsec_x\"\nallowed_origins = [\"https://ok.example:8443\"]",
        ) + "success_url = \"https://hope.example/thanks\"\nlogo_url = \"https://cdn.example/l.png\"\n";
        let c = HostConfig::parse(&text, |_| None).unwrap();
        let m = &c.merchants[0];
        assert_eq!(url_text(&m.gateway_url), "http://127.0.0.1:12111");
        assert_eq!(m.allowed_origins[0].as_str(), "https://ok.example:8443");
        let w = c.campaign("winter").unwrap();
        assert_eq!(w.currency, Currency::from_code("USD").unwrap());
        assert_eq!(
            w.success_url.as_ref().map(Url::as_str),
            Some("https://hope.example/thanks")
        );
        let logo = w.logo_url.as_ref().unwrap();
        assert_eq!(logo.origin().as_deref(), Some("https://cdn.example"));
        assert_eq!(c.mail.from.to_string(), "paywidget <no-reply@localhost>");
        for bad in [
            "https://x.example/",
            "x.example",
            "ftp://x.example",
            "https://a@x.example",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
        let bad = BASE.replace("http://127.0.0.1:12111", "127.0.0.1:12111");
        assert_eq!(
            HostConfig::parse(&bad, |_| None).unwrap_err().key,
            "merchants[0].gateway_url"
        );
        let bad = text.replace("https://hope.example/thanks", "thanks.html");
        assert_eq!(
            HostConfig::parse(&bad, |_| None).unwrap_err().key,
            "campaigns[0].success_url"
        );
        let bad = format!("[mail]\nfrom = \"not an address\"\n{BASE}");
        assert_eq!(
            HostConfig::parse(&bad, |_| None).unwrap_err().key,
            "mail.from"
        );
    }

    #[test]
    fn debug_output_redacts_every_secret() {
        let text = format!(
            "[server]\nlicense_signing_key = \"c2lnbmluZy1rZXktdmFsdWUtMzItYnl0ZXMtbG9uZyE=\"\n\
             [mail]\nfrom = \"a@b.example\"\n[mail.smtp]\nhost = \"smtp.example\"\n\
             username = \"u\"\npassword = \"smtp-password-value\"\n{BASE}"
        );
        let c = HostConfig::parse(&text, |k| {
            (k == "PAYWIDGET_HOPE_WEBHOOK_SECRET").then(|| "whsec_from_env_value".into())
        })
        .unwrap();
        let debug = format!("{c:?}");
        for secret in [
            "sk_test_x",
            "whsec_x",
            "whsec_from_env_value",
            "smtp-password-value",
            "c2lnbmluZy1rZXktdmFsdWUtMzItYnl0ZXMtbG9uZyE=",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
        assert!(debug.contains("[redacted]"), "{debug}");
        assert!(debug.contains("pk_test_x"), "public values still show");
    }
}
