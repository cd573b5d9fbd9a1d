//! The hosts' TOML configurations the suites run, each written once.

use std::path::Path;

use paywidget_sandbox::{DEFAULT_PUBLISHABLE_KEY, DEFAULT_SECRET_KEY};

/// The environment variable that moves the suites onto PostgreSQL: a server URL
/// (`postgres://user@127.0.0.1:port/postgres`; `cargo xtask test` starts a throwaway cluster
/// and sets it). Unset, every host runs on a SQLite file in its test's folder.
pub const POSTGRES_ENV: &str = "PAYWIDGET_TEST_POSTGRES";

/// The `server.db` of the host called `name` in the test folder `dir`: `dir/<name>.sqlite`, or
/// with [`POSTGRES_ENV`] set, a database of its own on that server (the host creates it on
/// first start), named after the folder so parallel tests never share one.
pub fn db(dir: &Path, name: &str) -> String {
    match std::env::var(POSTGRES_ENV) {
        Ok(server) if !server.is_empty() => {
            let folder: String = dir
                .file_name()
                .map(|f| f.to_string_lossy().to_lowercase())
                .unwrap_or_default()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let name = name.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
            let mut url = url::Url::parse(&server).expect("PAYWIDGET_TEST_POSTGRES is a URL");
            url.set_path(&format!("pw_{}_{folder}_{name}", std::process::id()));
            url.to_string()
        }
        _ => dir.join(format!("{name}.sqlite")).display().to_string(),
    }
}

/// The webhook secret every fixture's merchants share with the sandbox.
pub const WHSEC: &str = "whsec_host_tests";

/// The host tests' merchant (Hope Shelter) with a donation (`winter`, fee coverage) and a
/// licence (`pro`, 2 seats, Markdown instructions with a script to strip), state in `dir`.
pub fn host(gateway: &str, dir: &Path) -> String {
    format!(
        r#"
[server]
# The sandbox's public development secret (a real host reads PAYWIDGET_SECRET).
dev_secret = true
db = "{db}"
outbox = "{outbox}"
dist = "{dist}"

[[merchants]]
id = "hope"
name = "Hope Shelter"
gateway_url = "{gateway}"
secret_key = "{sk}"
publishable_key = "{pk}"
webhook_secret = "{WHSEC}"
allowed_origins = ["https://hope.example"]
tax_statement = "No goods or services were provided in exchange for this gift."

[[campaigns]]
id = "winter"
merchant = "hope"
kind = "donation"
title = "Winter appeal"
currency = "usd"
suggested_amounts = [1000, 2500]
min_amount = 500
max_amount = 100000
fee_coverage = {{ percent = 2.9, fixed = 30 }}

[[campaigns]]
id = "pro"
merchant = "hope"
kind = "license"
title = "Acme Pro"
currency = "usd"
price = 4900
license = {{ product = "Acme Pro", seats = 2, validity_days = 365 }}
instructions = {{ linux = "1. Install\n2. Run `acme activate KEY`", macos = "<script>x</script> Open **Acme**" }}
"#,
        db = db(dir, "host"),
        outbox = dir.join("outbox").display(),
        dist = dir.join("dist").display(),
        sk = DEFAULT_SECRET_KEY,
        pk = DEFAULT_PUBLISHABLE_KEY,
    )
}

/// [`host`] on a gateway test clock, the `winter` donation offering one-time, monthly and
/// yearly gifts.
pub fn recurring(gateway: &str, dir: &Path, test_clock: &str) -> String {
    host(gateway, dir)
        .replacen(
            "webhook_secret = \"whsec_host_tests\"\n",
            &format!("webhook_secret = \"whsec_host_tests\"\ntest_clock = \"{test_clock}\"\n"),
            1,
        )
        .replacen(
            "min_amount = 500\n",
            "min_amount = 500\nfrequencies = [\"one_time\", \"monthly\", \"yearly\"]\n",
            1,
        )
        + TEAM
}

/// A licence sold as a subscription in two tiers (Basic: 1 seat; Pro: 3 seats), 7 grace days.
pub const TEAM: &str = r#"
[[campaigns]]
id = "team"
merchant = "hope"
kind = "license"
title = "Acme Team"
currency = "usd"
grace_days = 7
license = { product = "Acme", seats = 1 }
tiers = [
  { id = "basic", name = "Basic", seats = 1, monthly = 900, yearly = 9000 },
  { id = "pro", name = "Pro", seats = 3, monthly = 1900, yearly = 19000 },
]
"#;

/// The browser suites' host: Hope Shelter (one-time donation `relief`, donation `winter` with
/// frequencies, `spring` with the monthly prompt, USD) and Acme Software (licence
/// `pro`, EUR, logo, postal code asked), serving the release widget from `dist`, with our own
/// card fields.
pub fn checkout(gateway: &str, dir: &Path, dist: &Path) -> String {
    checkout_in(gateway, dir, dist, "direct")
}

/// [`checkout`] with both merchants' `card_capture` set: `"direct"` (our fields) or
/// `"gateway_fields"` (the gateway's own, "Stripe mode", from the sandbox's Stripe.js).
pub fn checkout_in(gateway: &str, dir: &Path, dist: &Path, card_capture: &str) -> String {
    format!(
        r#"
[server]
# The sandbox's public development secret (a real host reads PAYWIDGET_SECRET).
dev_secret = true
db = "{db}"
outbox = "{outbox}"
dist = "{dist}"

[[merchants]]
id = "hope"
name = "Hope Shelter"
gateway_url = "{gateway}"
secret_key = "{sk}"
publishable_key = "{pk}"
webhook_secret = "{WHSEC}"
tax_statement = "No goods or services were provided."
card_capture = "{card_capture}"

[[merchants]]
id = "acme"
name = "Acme Software"
gateway_url = "{gateway}"
secret_key = "{sk}"
publishable_key = "{pk}"
webhook_secret = "{WHSEC}"
collect_postal_code = true
card_capture = "{card_capture}"

[[campaigns]]
id = "winter"
merchant = "hope"
kind = "donation"
title = "Winter appeal"
currency = "usd"
suggested_amounts = [1000, 2500, 5000]
min_amount = 500
fee_coverage = {{ percent = 2.9, fixed = 30 }}
frequencies = ["one_time", "monthly", "yearly"]

[[campaigns]]
id = "relief"
merchant = "hope"
kind = "donation"
title = "Flood relief"
currency = "usd"
suggested_amounts = [1000, 2500, 5000]
min_amount = 500
fee_coverage = {{ percent = 2.9, fixed = 30 }}

[[campaigns]]
id = "spring"
merchant = "hope"
kind = "donation"
title = "Spring appeal"
currency = "usd"
suggested_amounts = [2000, 5000]
min_amount = 500
frequencies = ["one_time", "monthly"]
monthly_prompt = true

[[campaigns]]
id = "pro"
merchant = "acme"
logo_url = "/acme-logo.png"
kind = "license"
title = "Acme Pro"
currency = "eur"
price = 4900
license = {{ product = "Acme Pro", seats = 1, validity_days = 365 }}
instructions = {{ linux = "Run `acme activate KEY`", macos = "Open **Acme**", windows = "Run the installer" }}
"#,
        db = db(dir, "host"),
        outbox = dir.join("outbox").display(),
        dist = dist.display(),
        sk = DEFAULT_SECRET_KEY,
        pk = DEFAULT_PUBLISHABLE_KEY,
    ) + TEAM
}

/// A host with one merchant and no campaigns: for serving the static pages alone.
pub const STATIC_ONLY: &str = r#"
campaigns = []

[server]
dev_secret = true

[[merchants]]
id = "e2e"
name = "E2E"
gateway_url = "http://127.0.0.1:9"
secret_key = "sk_test_e2e"
publishable_key = "pk_test_e2e"
webhook_secret = "whsec_e2e"
"#;

/// A euro donation campaign of Hope Shelter that also takes SEPA Direct Debit (`euro`).
pub const EURO_SEPA: &str = r#"
[[campaigns]]
id = "euro"
merchant = "hope"
kind = "donation"
title = "Winterhilfe"
currency = "eur"
suggested_amounts = [1000, 3000]
sepa_debit = true
"#;

/// A dollar donation campaign of Hope Shelter that also takes yen and pounds (`world`), each
/// with its own amounts, bounds and (pounds) fee rule.
pub const WORLD: &str = r#"
[[campaigns]]
id = "world"
merchant = "hope"
kind = "donation"
title = "World appeal"
currency = "usd"
suggested_amounts = [1000, 2500]
min_amount = 500
currencies = [
  { currency = "jpy", suggested_amounts = [1000, 3000, 5000], min_amount = 500, max_amount = 1000000 },
  { currency = "gbp", suggested_amounts = [1000, 2000], fee_coverage = { percent = 2.0, fixed = 20 } },
]
"#;
