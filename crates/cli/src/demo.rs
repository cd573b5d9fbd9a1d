//! The whole system on 127.0.0.1: the sandbox gateway, the checkout host (a nonprofit and a
//! licence seller, SQLite files in a state folder) and the two merchants' demo sites, each on
//! its own origin, until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::site::{self, Site};

/// Ports and folders of a demo run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The checkout host (default 8080).
    pub host_port: u16,
    /// The sandbox gateway (default 12111, `paywidget sandbox`'s).
    pub sandbox_port: u16,
    /// The nonprofit's site (default 8081).
    pub nonprofit_port: u16,
    /// The licence seller's site (default 8082).
    pub licence_port: u16,
    /// The release widget (`dist/`).
    pub dist: PathBuf,
    /// The host configuration (`examples/demo/paywidget.toml`).
    pub config: PathBuf,
    /// The folder holding `nonprofit/site/` and `licence-seller/site/` (`examples/`).
    pub examples: PathBuf,
    /// Where the SQLite files and the mail outbox go (git-ignored).
    pub state: PathBuf,
    /// More origins allowed to frame both merchants' checkouts (try the snippet on your own
    /// local page: `--allow-origin http://localhost:3000`).
    pub extra_origins: Vec<String>,
    /// Seed three weeks of activity when the state folder is new (`cargo xtask demo` does;
    /// tests start empty).
    pub seed: bool,
}

impl Options {
    /// The fixed defaults (bookmarks and docs stay valid), relative to `root`.
    pub fn defaults(root: &std::path::Path) -> Options {
        Options {
            host_port: 8080,
            sandbox_port: 12111,
            nonprofit_port: 8081,
            licence_port: 8082,
            dist: root.join("dist"),
            config: root.join("examples/demo/paywidget.toml"),
            examples: root.join("examples"),
            state: root.join("target/demo"),
            extra_origins: Vec::new(),
            seed: false,
        }
    }
}

/// The demo's flags, shared by `paywidget demo` and `cargo xtask demo` (parsed once, by clap).
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
pub struct DemoFlags {
    /// The checkout host's port.
    #[arg(long, alias = "port", default_value_t = 8080)]
    pub host_port: u16,
    /// The sandbox gateway's port.
    #[arg(long, default_value_t = 12111)]
    pub sandbox_port: u16,
    /// The nonprofit demo site's port.
    #[arg(long, default_value_t = 8081)]
    pub nonprofit_port: u16,
    /// The licence seller demo site's port.
    #[arg(long, default_value_t = 8082)]
    pub licence_port: u16,
    /// Also allow this origin to show the checkouts in an overlay (repeatable), e.g. your own
    /// page on http://localhost:3000 with the snippet pasted in.
    #[arg(long = "allow-origin", value_name = "URL")]
    pub allow_origins: Vec<String>,
    /// Start with empty dashboards: no three weeks of seeded activity on a new state folder.
    #[arg(long)]
    pub no_seed: bool,
}

impl DemoFlags {
    /// The run's options, with folders relative to the repository `root`.
    pub fn options(&self, root: &std::path::Path) -> Options {
        Options {
            host_port: self.host_port,
            sandbox_port: self.sandbox_port,
            nonprofit_port: self.nonprofit_port,
            licence_port: self.licence_port,
            extra_origins: self.allow_origins.clone(),
            seed: !self.no_seed,
            ..Options::defaults(root)
        }
    }
}

const DEMO_WHSEC: &str = "whsec_paywidget_demo";

async fn bind(port: u16, what: &str, flag: &str) -> Result<tokio::net::TcpListener> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("bind {addr} for the {what} (port in use? choose another with {flag} N)")
    })
}

/// Where a started demo answers.
#[derive(Clone, Debug)]
pub struct Urls {
    /// The checkout host.
    pub host: String,
    /// The sandbox gateway.
    pub sandbox: String,
    /// The nonprofit's site.
    pub nonprofit: String,
    /// The licence seller's site.
    pub licence: String,
    /// The demo config's campaign ids.
    pub campaigns: Vec<String>,
    /// The sandbox test clock the nonprofit's recurring gifts run on.
    pub test_clock: Option<String>,
    /// One-time dashboard sign-in links: (merchant, owner, link).
    pub owner_links: Vec<(String, String, String)>,
    /// What this run seeded (a new state folder with seeding on).
    pub seeded: Option<crate::demo_seed::SeedReport>,
}

/// The demo's test clock: the one kept in the state folder if the sandbox still has it, else
/// a new one (at `now`, the demo's clock), remembered for the next run.
async fn demo_test_clock(sandbox: &str, state: &std::path::Path, now: i64) -> Result<String> {
    let file = state.join("test_clock");
    let http = reqwest::Client::new();
    let key = paywidget_sandbox::DEFAULT_SECRET_KEY;
    if let Ok(id) = std::fs::read_to_string(&file) {
        let id = id.trim().to_owned();
        let found = http
            .get(format!("{sandbox}/v1/test_helpers/test_clocks/{id}"))
            .bearer_auth(key)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if found {
            return Ok(id);
        }
    }
    let clock: serde_json::Value = http
        .post(format!("{sandbox}/v1/test_helpers/test_clocks"))
        .bearer_auth(key)
        .form(&[
            ("frozen_time", now.to_string()),
            ("name", "paywidget demo".into()),
        ])
        .send()
        .await
        .context("create the demo's test clock")?
        .error_for_status()
        .context("create the demo's test clock")?
        .json()
        .await
        .context("read the demo's test clock")?;
    let id = clock["id"]
        .as_str()
        .context("the sandbox answered a test clock without id")?
        .to_owned();
    std::fs::write(&file, &id).with_context(|| format!("write {}", file.display()))?;
    Ok(id)
}

/// The four listeners of a demo (fixed ports for `run`, port 0 in tests).
pub struct Listeners {
    /// For the sandbox gateway.
    pub sandbox: tokio::net::TcpListener,
    /// For the checkout host.
    pub host: tokio::net::TcpListener,
    /// For the nonprofit's site.
    pub nonprofit: tokio::net::TcpListener,
    /// For the licence seller's site.
    pub licence: tokio::net::TcpListener,
}

fn url_of(l: &tokio::net::TcpListener) -> Result<String> {
    Ok(format!(
        "http://{}",
        l.local_addr().context("local address")?
    ))
}

/// Starts the sandbox, the host and both sites on `listeners` (folders from `o`, ports ignored);
/// returns their URLs and a task that ends if any server stops.
pub async fn start(
    o: &Options,
    listeners: Listeners,
) -> Result<(Urls, tokio::task::JoinHandle<()>)> {
    check_dist(o)?;
    std::fs::create_dir_all(&o.state).with_context(|| format!("create {}", o.state.display()))?;
    let mut urls = Urls {
        host: url_of(&listeners.host)?,
        sandbox: url_of(&listeners.sandbox)?,
        nonprofit: url_of(&listeners.nonprofit)?,
        licence: url_of(&listeners.licence)?,
        campaigns: Vec::new(),
        test_clock: None,
        owner_links: Vec::new(),
        seeded: None,
    };
    // A new state folder gets nine weeks of activity (with seeding on): the clock the sandbox
    // and the host share starts then, and the seeding brings it to now.
    let seeding = o.seed && !o.state.join("host.sqlite").exists();
    let demo_clock = crate::demo_seed::DemoClock::default();
    if seeding {
        demo_clock.set_offset(-crate::demo_seed::RECURRING_DAYS * 86_400);
    }

    // The sandbox gateway, delivering its webhooks to the host; state survives demo restarts.
    let db = o.state.join("sandbox.sqlite");
    let store = paywidget_sandbox::store::Store::open(&db.to_string_lossy())
        .await
        .with_context(|| format!("open {}", db.display()))?;
    let config = paywidget_sandbox::Config {
        webhooks: vec![paywidget_sandbox::WebhookEndpoint {
            url: format!("{}/webhooks/gateway", urls.host),
            secret: DEMO_WHSEC.into(),
        }],
        // Retries in seconds rather than minutes, so a demo host restart catches up quickly.
        retry: paywidget_sandbox::RetryPolicy {
            scale: 0.02,
            ..Default::default()
        },
        ..Default::default()
    };
    let sandbox = paywidget_sandbox::AppState::with_sources(
        config,
        store,
        urls.sandbox.clone(),
        std::sync::Arc::new(demo_clock.clone()),
        std::sync::Arc::new(paywidget_sandbox::clock::RandomIds),
    );
    let sandbox_task = tokio::spawn(paywidget_sandbox::serve(listeners.sandbox, sandbox));

    // The checkout host: the demo config, pointed at this run's servers and folders.
    let text = std::fs::read_to_string(&o.config)
        .with_context(|| format!("read {}", o.config.display()))?;
    let mut config = paywidget_host::config::HostConfig::parse(&text, |k| std::env::var(k).ok())
        .with_context(|| format!("invalid configuration in {}", o.config.display()))?;
    config.server.addr = listeners.host.local_addr()?;
    config.server.db = paywidget_host::store::DbUrl::Sqlite(
        o.state.join("host.sqlite").to_string_lossy().into_owned(),
    );
    config.server.outbox = o.state.join("outbox");
    config.server.dist = o.dist.clone();
    // The nonprofit's recurring gifts run on a sandbox test clock, so a renewal (or a failed
    // one) can be seen now: `paywidget sandbox advance-clock <clock>`.
    let clock = demo_test_clock(
        &urls.sandbox,
        &o.state,
        paywidget_host::support::clock::Clock::now(&demo_clock),
    )
    .await?;
    urls.test_clock = Some(clock.clone());
    for m in &mut config.merchants {
        if m.id == "hope" {
            m.test_clock = Some(clock.clone());
        }
        m.gateway_url = urls.sandbox.parse().context("sandbox URL")?;
        // Stripe mode's script is the sandbox's Stripe.js counterpart, on this run's port.
        m.gateway_js_url = m.gateway_url.join("/v3/").context("sandbox URL")?;
        // Each demo merchant's site is the origin allowed to frame its checkout.
        let site = match m.id.as_str() {
            "hope" => &urls.nonprofit,
            _ => &urls.licence,
        };
        m.allowed_origins = std::iter::once(site)
            .chain(&o.extra_origins)
            .map(|origin| origin.parse().map_err(anyhow::Error::msg))
            .collect::<Result<_>>()
            .context("--allow-origin")?;
    }
    // Success pages on the demo sites follow the sites' actual ports.
    for c in &mut config.campaigns {
        if let Some(url) = &mut c.success_url {
            for (default, actual) in [
                ("http://127.0.0.1:8081", &urls.nonprofit),
                ("http://127.0.0.1:8082", &urls.licence),
            ] {
                let moved = url
                    .as_str()
                    .strip_prefix(default)
                    .map(|rest| format!("{actual}{rest}"));
                if let Some(moved) = moved {
                    *url = moved.parse().context("success_url")?;
                }
            }
        }
    }
    urls.campaigns = config.campaigns.iter().map(|c| c.id.clone()).collect();
    let owners: Vec<(String, String)> = config
        .merchants
        .iter()
        .filter_map(|m| {
            m.staff
                .iter()
                .find(|s| s.role == paywidget_host::config::Role::Owner)
                .map(|s| (m.id.clone(), s.email.to_string()))
        })
        .collect();
    let host = paywidget_host::open(
        config,
        urls.host.clone(),
        std::sync::Arc::new(demo_clock.clone()),
    )
    .await
    .context("start the checkout host")?;
    let host_task = tokio::spawn(paywidget_host::serve(listeners.host, host.clone()));
    if seeding {
        println!(
            "seeding {} days of activity (a new state folder; --no-seed starts empty)…",
            crate::demo_seed::RECURRING_DAYS
        );
        let report = crate::demo_seed::seed(
            &urls.host,
            &urls.sandbox,
            &demo_clock,
            urls.test_clock.as_deref(),
        )
        .await
        .context("seed the demo's activity")?;
        urls.seeded = Some(report);
    }
    // A newcomer signs in to each merchant's dashboard without a mail server.
    for (merchant, owner) in owners {
        let link = paywidget_host::portal::one_time_link(
            &host,
            paywidget_host::portal::Realm::Staff,
            &owner,
        )
        .await
        .map_err(|e| anyhow::anyhow!("a dashboard link: {e}"))?;
        urls.owner_links.push((merchant, owner, link));
    }

    // The merchants' sites, on their own origins, with the CSP the README tells merchants to add.
    let site = |folder: &str| Site {
        dir: o.examples.join(folder).join("site"),
        host_url: urls.host.clone(),
        csp: Some(site::documented_csp(&urls.host)),
    };
    let nonprofit = axum::serve(listeners.nonprofit, site::router(site("nonprofit")));
    let licence = axum::serve(listeners.licence, site::router(site("licence-seller")));
    let sites_task = tokio::spawn(async move {
        let _ = tokio::join!(nonprofit, licence);
    });
    let any_stopped = tokio::spawn(async move {
        tokio::select! {
            r = host_task => eprintln!("the checkout host stopped: {r:?}"),
            r = sandbox_task => eprintln!("the sandbox gateway stopped: {r:?}"),
            r = sites_task => eprintln!("the demo sites stopped: {r:?}"),
        }
    });
    Ok((urls, any_stopped))
}

fn check_dist(o: &Options) -> Result<()> {
    anyhow::ensure!(
        o.dist.join("index.html").is_file(),
        "{} has no release widget: build it first (`cargo xtask demo` does)",
        o.dist.display()
    );
    Ok(())
}

/// Runs the demo on its fixed ports until Ctrl-C.
pub async fn run(o: Options) -> Result<()> {
    check_dist(&o)?;
    // Bind everything first, so a busy port fails before anything starts.
    let listeners = Listeners {
        sandbox: bind(o.sandbox_port, "sandbox gateway", "--sandbox-port").await?,
        host: bind(o.host_port, "checkout host", "--host-port").await?,
        nonprofit: bind(o.nonprofit_port, "nonprofit's site", "--nonprofit-port").await?,
        licence: bind(o.licence_port, "licence seller's site", "--licence-port").await?,
    };
    let (urls, stopped) = start(&o, listeners).await?;
    let Urls {
        host: host_url,
        sandbox: sandbox_url,
        nonprofit: nonprofit_url,
        licence: licence_url,
        campaigns,
        test_clock,
        owner_links,
        seeded,
    } = urls;
    println!("\npaywidget demo is running (127.0.0.1 only):");
    println!("  nonprofit site       {nonprofit_url}/   (Donate button; our own card fields)");
    println!(
        "  licence seller site  {licence_url}/   (Buy button; Stripe mode: the gateway's card fields)"
    );
    println!("  checkout host        {host_url}");
    for c in &campaigns {
        println!("    checkout           {host_url}/c/{c}   (snippet: {host_url}/c/{c}/embed)");
    }
    println!(
        "  sandbox gateway      {sandbox_url}   (keys {} / {})",
        paywidget_sandbox::DEFAULT_SECRET_KEY,
        paywidget_sandbox::DEFAULT_PUBLISHABLE_KEY
    );
    println!(
        "  state                {}   (emails in {})",
        o.state.display(),
        o.state.join("outbox").display()
    );
    if let Some(r) = &seeded {
        println!(
            "  seeded               {} payments over {} days ({} declined tries, a refund, a dispute, {} refused activation; {} monthly gifts from {} days ago renewing, one renewal failed and recovered)",
            r.paid,
            crate::demo_seed::SEED_DAYS,
            r.declined,
            r.refused_activations,
            r.sustainers,
            crate::demo_seed::RECURRING_DAYS
        );
    }
    println!("  customer portal      {host_url}/portal");
    println!("  merchant dashboard   {host_url}/admin");
    for (merchant, owner, link) in &owner_links {
        println!("    {merchant} owner ({owner}), one-time sign-in (15 min): {link}");
    }
    println!(
        "  mailbox              {host_url}/dev/mailbox   (every mail the demo sends: sign-in links, receipts, alerts)"
    );
    if let Some(clock) = &test_clock {
        println!(
            "\nMonthly gifts run on the sandbox's test clock {clock}: see a renewal with\n  paywidget sandbox advance-clock {clock} --days 31 --url {sandbox_url}\n(a receipt per renewal lands in the outbox)"
        );
    }
    println!("\nTest cards (any future expiry, any CVC, any name):");
    for (card, what) in [
        ("4242 4242 4242 4242", "succeeds"),
        ("4000 0000 0000 9995", "declined: insufficient funds"),
        ("4000 0000 0000 0127", "declined: incorrect CVC"),
        (
            "4000 0027 6000 3184",
            "3-D Secure: complete or fail it on the challenge page",
        ),
        ("4000 0000 0000 0002", "declined: generic"),
    ] {
        println!("  {card}  {what}");
    }
    println!("\nPress Ctrl-C to stop.");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => println!("\nstopping."),
        _ = stopped => anyhow::bail!("a demo server stopped"),
    }
    Ok(())
}
