//! The run: the phases one after another, each against a fresh host + sandbox with its share
//! of the donors paying in parallel; then the tables and the targets.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use paywidget_testkit::fixtures;
use paywidget_testkit::world::{world_with, WebhookTarget, World};

use crate::bot::{self, BotRecord, Detection, Stop};
use crate::donor::{self, DonorRecord};
use crate::gateway::{self, Confirmation};
use crate::plan::{self, DonorPlan, Phase};

pub(crate) const USAGE: &str = "\
cargo xtask attack [--attempts N] [--donors N] [--browsers N] [--seed S]

  --attempts N   the bot's payment attempts, split over four phases (default 1000)
  --donors N     genuine donors paying meanwhile (default 50)
  --browsers N   how many of the donors use headless Chromium on the release dist/ (default 3)
  --seed S       the plan of every client (cards, amounts, addresses, arrivals) (default 1)
  --shield K=V,… try other [merchants.shield] settings (e.g. attack_block_declines=2)";

/// Targets (from the issue).
const SINGLE_IP_MAX: usize = 10;
const BOTNET_MAX_PERCENT: usize = 5;
const DONORS_MIN_PERCENT: usize = 98;

/// The command line.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) attempts: usize,
    pub(crate) donors: usize,
    pub(crate) browsers: usize,
    pub(crate) seed: u64,
    /// `[merchants.shield]` overrides, `key = value` TOML lines (none: the defaults).
    pub(crate) shield: Vec<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options {
            attempts: 1000,
            donors: 50,
            browsers: 3,
            seed: 1,
            shield: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = |name: &str| -> Result<u64, String> {
                let v = it.next().ok_or_else(|| format!("{name} needs a number"))?;
                v.parse()
                    .map_err(|_| format!("{name}: {v:?} is not a whole number"))
            };
            match flag.as_str() {
                "--attempts" => o.attempts = value("--attempts")? as usize,
                "--donors" => o.donors = value("--donors")? as usize,
                "--browsers" => o.browsers = value("--browsers")? as usize,
                "--seed" => o.seed = value("--seed")?,
                "--shield" => {
                    let v = it.next().ok_or("--shield needs key=value[,key=value…]")?;
                    for pair in v.split(',').filter(|p| !p.trim().is_empty()) {
                        let (k, v) = pair
                            .split_once('=')
                            .ok_or_else(|| format!("--shield: {pair:?} is not key=value"))?;
                        o.shield.push(format!("{} = {}", k.trim(), v.trim()));
                    }
                }
                "-h" | "--help" => return Err("usage:".into()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if o.attempts < 4 {
            return Err("--attempts must be at least 4 (one per phase)".into());
        }
        o.browsers = o.browsers.min(o.donors);
        Ok(o)
    }
}

/// The host the simulation attacks: the test kit's checkout fixture (campaign `winter`, 5.00 USD
/// minimum, the shield at its defaults), behind a trusted proxy on 127.0.0.1 so each simulated
/// client names its address in `X-Forwarded-For`, the merchant mailed on attack mode.
fn host_config(gateway: &str, dir: &Path, dist: &Path, shield: &[String]) -> String {
    let shield = if shield.is_empty() {
        String::new()
    } else {
        format!("[merchants.shield]\n{}\n", shield.join("\n"))
    };
    fixtures::checkout(gateway, dir, dist)
        // The first merchant (Hope Shelter, whose campaign is attacked) gets the overrides.
        .replacen(
            "\n[[merchants]]\nid = \"acme\"",
            &format!("{shield}\n[[merchants]]\nid = \"acme\""),
            1,
        )
        .replacen(
            "[server]\n",
            "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n",
            1,
        )
        .replacen(
            "tax_statement",
            "notify_email = \"alerts@hope.example\"\ntax_statement",
            1,
        )
}

/// `text` with its `db = "<current>"` line pointing at `quoted` (a TOML string) instead.
fn with_db(text: &str, current: &str, quoted: &str) -> String {
    text.replacen(&format!("db = \"{current}\""), &format!("db = {quoted}"), 1)
}

/// One phase's outcome.
struct PhaseResult {
    phase: Phase,
    bot: Vec<BotRecord>,
    pow: Duration,
    donors: Vec<DonorRecord>,
    /// The bot's confirmations at the gateway.
    reached: Vec<Confirmation>,
    /// Attack mode was on already when the phase began.
    attack_already: bool,
    first_challenge: Option<(Duration, usize)>,
    first_block: Option<(Duration, usize)>,
    attack_mode: Option<(Duration, usize)>,
    mailed: bool,
    took: Duration,
    /// Cents: what the bot's confirmations cost the merchant; what all its planned attempts would have.
    fees_with: i64,
    fees_without: i64,
}

impl PhaseResult {
    fn reached_succeeded(&self) -> usize {
        self.reached.iter().filter(|c| c.succeeded).count()
    }
}

pub(crate) async fn run(o: Options) -> Result<bool, String> {
    let started = Instant::now();
    let phases = plan::phases(o.attempts);
    let mistypers = (o.donors * 6 + 50) / 100;
    let donors = plan::donors(o.seed, &phases, o.donors, o.browsers, mistypers);
    let dist = std::env::var_os("PAYWIDGET_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| paywidget_testkit::workspace_root().join("dist"));
    if o.browsers > 0 && !dist.join("index.html").is_file() {
        return Err(format!(
            "no release build at {} for the browser donors: run `cargo xtask attack` (it builds \
             it), or pass --browsers 0",
            dist.display()
        ));
    }
    println!(
        "Card-testing attack on the checkout host + sandbox (seed {})",
        o.seed
    );
    println!(
        "  {} bot attempts in 4 phases · {} genuine donors ({} in headless Chromium at 390×844, {} mistype once)",
        o.attempts, o.donors, o.browsers, mistypers
    );
    println!(
        "  Campaign \"{}\" (minimum {}), [merchants.shield] {}; clients are named by\n  \
         X-Forwarded-For from a trusted proxy (127.0.0.1, a test setting). The single-IP bot (fast, then\n  \
         slow) attacks one host + sandbox; the botnet (fast, then slow) a fresh one, standing for a later\n  \
         day (blocks and attack mode over).",
        plan::CAMPAIGN,
        usd(plan::MIN_AMOUNT),
        if o.shield.is_empty() {
            "at its defaults".to_owned()
        } else {
            format!("with {}", o.shield.join(", "))
        }
    );
    println!(
        "  The bot's cards: {} % live (random valid numbers), the rest the sandbox's {} declining test numbers;\n  \
         any expiry and CVC; {} to {} per gift; it solves every proof of work (one core).\n",
        plan::LIVE_PERCENT,
        plan::DEAD_CARDS.len(),
        usd(plan::MIN_AMOUNT),
        usd(plan::MIN_AMOUNT + 200)
    );
    let mut results = Vec::new();
    let mut bots = std::collections::HashSet::new();
    let mut donor_confirmations = 0;
    for attacker in [false, true] {
        let world = Arc::new(
            world_with(WebhookTarget::Host, |gateway, dir| {
                host_config(gateway, dir, &dist, &o.shield)
            })
            .await,
        );
        let mut these = Vec::new();
        for phase in phases.iter().filter(|p| p.botnet == attacker).cloned() {
            let mine: Vec<DonorPlan> = donors
                .iter()
                .filter(|d| d.phase == phase.index)
                .cloned()
                .collect();
            print!(
                "phase {}/4 {:<22} attempts {:>4} · donors {:>3} … ",
                phase.index + 1,
                phase.name,
                phase.attempts,
                mine.len()
            );
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            let r = run_phase(&o, &world, phase, mine).await?;
            println!("{:.1} s", r.took.as_secs_f64());
            these.push(r);
        }
        // What reached the gateway, from the gateway, attributed by the bot's sessions.
        let confirmations = gateway::confirmations(&world).await?;
        for r in &mut these {
            r.reached = attribute(&r.bot, &confirmations, &mut bots);
            r.fees_with = r
                .reached
                .iter()
                .map(|c| plan::fee(c.amount, c.succeeded))
                .sum();
        }
        donor_confirmations += confirmations
            .iter()
            .filter(|(s, _)| !bots.contains(s.as_str()))
            .map(|(_, c)| c.len())
            .sum::<usize>();
        results.extend(these);
    }
    let mut ok = print_report(&o, &results, donor_confirmations);
    // The burst phase, on each database: SQLite (the embedded default) always, PostgreSQL when
    // `cargo xtask attack` started a server for it.
    println!(
        "\nBurst: {} declining pays at once from one address, then the proofs of the challenged ones at once,\n\
         while 10 donors load the campaign and start sessions",
        crate::burst::PAYS
    );
    let mut bursts = Vec::new();
    let shield = o.shield.clone();
    let sqlite = crate::burst::run("sqlite", |gateway, dir| {
        let text = host_config(gateway, dir, &dist, &shield);
        with_db(
            &text,
            &fixtures::db(dir, "host"),
            &format!("{:?}", dir.join("burst.sqlite").display().to_string()),
        )
    })
    .await?;
    bursts.push(sqlite);
    if let Some(server) = std::env::var("PAYWIDGET_ATTACK_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        let base = server
            .rsplit_once('/')
            .map_or(server.as_str(), |(b, _)| b)
            .to_owned();
        let shield = o.shield.clone();
        let pg = crate::burst::run("postgres", |gateway, dir| {
            let text = host_config(gateway, dir, &dist, &shield);
            let url = format!("{base}/pw_burst_{}", std::process::id());
            with_db(&text, &fixtures::db(dir, "host"), &format!("{url:?}"))
        })
        .await?;
        bursts.push(pg);
    }
    for b in &bursts {
        println!("{}", b.line());
        ok &= b.ok();
    }
    println!("\nrun time {:.1} s", started.elapsed().as_secs_f64());
    Ok(ok)
}

async fn run_phase(
    o: &Options,
    world: &Arc<World>,
    phase: Phase,
    donors: Vec<DonorPlan>,
) -> Result<PhaseResult, String> {
    let start = Instant::now();
    let detect = Arc::new(Detection::new());
    let attack = |w: Arc<World>| async move {
        matches!(
            w.state.store.shield_attack(plan::CAMPAIGN).await,
            Ok(Some(_))
        )
    };
    let attack_already = attack(world.clone()).await;
    detect.attack_on.store(attack_already, Ordering::SeqCst);
    // Attack mode, as the host's store records it.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (world, detect, done) = (world.clone(), detect.clone(), done.clone());
        tokio::spawn(async move {
            while !attack_already && !done.load(Ordering::SeqCst) {
                if attack(world.clone()).await {
                    detect.note(&detect.attack_mode);
                    detect.attack_on.store(true, Ordering::SeqCst);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let api: Vec<_> = donors
        .iter()
        .filter(|d| !d.browser)
        .map(|d| tokio::spawn(donor::run(world.clone(), d.clone())))
        .collect();
    let mut in_browser: Vec<DonorPlan> = donors.iter().filter(|d| d.browser).cloned().collect();
    in_browser.sort_by_key(|d| d.arrive);
    let host = world.host.clone();
    // One Chromium at a time (two cores): each waits for its arrival, then for the one before.
    let browsers = tokio::spawn(async move {
        let begun = Instant::now();
        let mut out = Vec::new();
        for mut d in in_browser {
            d.arrive = d.arrive.saturating_sub(begun.elapsed());
            out.push(crate::browser::run(host.clone(), d).await);
        }
        out
    });
    let (bot, pow) = bot::run(world.clone(), phase.clone(), o.seed, detect.clone()).await;
    let mut done_donors = Vec::new();
    for (task, d) in api.into_iter().zip(donors.iter().filter(|d| !d.browser)) {
        done_donors.push(
            task.await.unwrap_or_else(|e| {
                DonorRecord::failed(d.clone(), format!("donor task failed: {e}"))
            }),
        );
    }
    match browsers.await {
        Ok(list) => done_donors.extend(list),
        Err(e) => {
            for d in donors.iter().filter(|d| d.browser) {
                done_donors.push(DonorRecord::failed(d.clone(), format!("browser task: {e}")));
            }
        }
    }
    done_donors.sort_by_key(|d| d.plan.index);
    done.store(true, Ordering::SeqCst);
    let _ = watcher.await;
    let mailed = world
        .outbox()
        .await
        .iter()
        .any(|m| m.contains("attack mode is on"));
    let this_year = crate::client::this_year();
    let fees_without = (0..phase.attempts)
        .map(|j| {
            let p = plan::bot_attempt(o.seed, &phase, j, this_year);
            plan::fee(p.amount, p.live)
        })
        .sum();
    Ok(PhaseResult {
        first_challenge: Detection::get(&detect.first_challenge),
        first_block: Detection::get(&detect.first_block),
        attack_mode: Detection::get(&detect.attack_mode),
        phase,
        bot,
        pow,
        donors: done_donors,
        reached: Vec::new(),
        attack_already,
        mailed,
        took: start.elapsed(),
        fees_with: 0,
        fees_without,
    })
}

/// The gateway's confirmations of the bot's sessions in `bot` (each session counted once;
/// `seen` collects every bot session).
fn attribute(
    bot: &[BotRecord],
    confirmations: &HashMap<String, Vec<Confirmation>>,
    seen: &mut std::collections::HashSet<String>,
) -> Vec<Confirmation> {
    let mut reached = Vec::new();
    for r in bot {
        if let Some(s) = &r.session {
            if seen.insert(s.clone()) {
                reached.extend(confirmations.get(s).cloned().unwrap_or_default());
            }
        }
    }
    reached
}

/// `12.34 USD`.
fn usd(cents: i64) -> String {
    format!("{}.{:02} USD", cents / 100, cents % 100)
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Which bot sessions' confirmations came from a live card / while under attack.
fn reached_by(r: &PhaseResult, confirmations_of: impl Fn(&BotRecord) -> usize) -> [usize; 4] {
    // [dead before attack mode, dead under attack, live before, live under attack]
    let mut n = [0; 4];
    for b in &r.bot {
        let slot = usize::from(b.live) * 2 + usize::from(b.under_attack);
        n[slot] += confirmations_of(b);
    }
    n
}

/// Prints every table; true if every target is met.
fn print_report(o: &Options, results: &[PhaseResult], donor_confirmations: usize) -> bool {
    println!(
        "\nBot attempts (\"reached\" = payment confirmations counted at the gateway, by the bot's sessions)"
    );
    println!(
        "  {:<22} {:>6} {:>8} {:>9} {:>10} {:>11} {:>8} {:>10}",
        "phase", "made", "reached", "declined", "succeeded", "challenged", "stopped", "PoW time"
    );
    for r in results {
        let made = r.bot.len();
        let stopped = r.bot.iter().filter(|b| b.result.is_err()).count();
        let challenged = r.bot.iter().filter(|b| b.challenged).count();
        let succeeded = r.reached_succeeded();
        println!(
            "  {:<22} {:>6} {:>8} {:>9} {:>10} {:>11} {:>8} {:>10}",
            r.phase.name,
            made,
            r.reached.len(),
            r.reached.len() - succeeded,
            succeeded,
            challenged,
            stopped,
            seconds(r.pow)
        );
        if made < r.phase.attempts {
            println!(
                "  {:<22} (time cap: {made} of {} attempts made)",
                "", r.phase.attempts
            );
        }
        // The host's answers and the gateway's count agree (a cross-check of the measurement).
        let answered = r
            .bot
            .iter()
            .filter(|b| matches!(b.result.as_deref(), Ok("declined" | "succeeded")))
            .count();
        if answered != r.reached.len() {
            println!(
                "  {:<22} note: the host answered declined/succeeded {answered} times",
                ""
            );
        }
    }

    println!("\nWhat reached the gateway: card, and whether attack mode was already on");
    println!(
        "  {:<22} {:>14} {:>14} {:>14} {:>14}",
        "phase", "dead, before", "dead, during", "live, before", "live, during"
    );
    for r in results {
        // One confirmation per answered attempt (the cross-check above says so).
        let n = reached_by(r, |b| {
            usize::from(matches!(b.result.as_deref(), Ok("declined" | "succeeded")))
        });
        println!(
            "  {:<22} {:>14} {:>14} {:>14} {:>14}",
            r.phase.name, n[0], n[1], n[2], n[3]
        );
    }

    println!("\nWhy the bot's other attempts never reached the gateway");
    let mut reasons: BTreeMap<Stop, [usize; 4]> = BTreeMap::new();
    let mut other_answers: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    for r in results {
        for b in &r.bot {
            match &b.result {
                Err(stop) => reasons.entry(stop.clone()).or_default()[r.phase.index] += 1,
                Ok(a) if a != "declined" && a != "succeeded" => {
                    other_answers.entry(a.clone()).or_default()[r.phase.index] += 1
                }
                Ok(_) => {}
            }
        }
    }
    println!(
        "  {:<44} {:>8} {:>8} {:>8} {:>8}",
        "", "1 fast", "1 slow", "20 fast", "20 slow"
    );
    for (stop, n) in &reasons {
        println!(
            "  {:<44} {:>8} {:>8} {:>8} {:>8}",
            stop.label(),
            n[0],
            n[1],
            n[2],
            n[3]
        );
    }
    for (answer, n) in &other_answers {
        println!(
            "  {:<44} {:>8} {:>8} {:>8} {:>8}",
            format!("host answered {answer}"),
            n[0],
            n[1],
            n[2],
            n[3]
        );
    }

    println!(
        "\nTime to detection (from the phase's first bot attempt; \"#n\" = attempts the bot had started)"
    );
    let at = |x: Option<(Duration, usize)>| match x {
        Some((d, n)) => format!("{} (#{n})", seconds(d)),
        None => "never".into(),
    };
    for r in results {
        let attack = if r.attack_already {
            "already on".to_owned()
        } else {
            at(r.attack_mode)
        };
        if r.phase.botnet {
            println!(
                "  {:<22} attack mode on: {attack}; merchant mailed: {}; first challenge {}",
                r.phase.name,
                if r.mailed { "yes" } else { "no" },
                at(r.first_challenge)
            );
        } else {
            println!(
                "  {:<22} first challenge {}, first refusal (429) {}; attack mode: {attack}",
                r.phase.name,
                at(r.first_challenge),
                at(r.first_block),
            );
        }
    }

    println!("\nGenuine donors (10–100 USD, card 4242…, each from their own address, while the bot runs)");
    println!(
        "  {:<22} {:>7} {:>10} {:>16}",
        "phase", "donors", "succeeded", "saw a challenge"
    );
    let (mut all, mut ok, mut challenged) = (0, 0, 0);
    for r in results {
        let n = r.donors.len();
        let s = r.donors.iter().filter(|d| d.succeeded).count();
        let c = r.donors.iter().filter(|d| d.challenged).count();
        all += n;
        ok += s;
        challenged += c;
        println!("  {:<22} {:>7} {:>10} {:>16}", r.phase.name, n, s, c);
    }
    println!("  {:<22} {:>7} {:>10} {:>16}", "total", all, ok, challenged);
    println!("  their payment confirmations at the gateway: {donor_confirmations}");
    for r in results {
        for d in &r.donors {
            if d.plan.browser {
                println!(
                    "  browser donor #{} ({}): {} — saw \"Verifying…\": {}",
                    d.plan.index,
                    r.phase.name,
                    if d.succeeded { "paid" } else { "FAILED" },
                    if d.challenged { "yes" } else { "no" }
                );
                if !d.succeeded {
                    println!("      {}", d.note);
                }
            } else if d.plan.mistype.is_some() || !d.succeeded {
                println!(
                    "  donor #{} ({}, {}): {}{}",
                    d.plan.index,
                    r.phase.name,
                    if d.plan.mistype.is_some() {
                        "mistypes once"
                    } else {
                        "types correctly"
                    },
                    if d.succeeded { "" } else { "FAILED: " },
                    d.note
                );
            }
        }
    }
    let hardest = results
        .iter()
        .flat_map(|r| r.donors.iter().filter_map(|d| d.difficulty))
        .max();
    if let Some(bits) = hardest {
        println!("  hardest proof of work an API donor solved: {bits} bits");
    }

    println!("\nFees the merchant would have paid for the bot's attempts");
    println!(
        "  (assumed, Stripe-like: 0.05 USD authorization/Radar fee on every attempt that reaches the gateway,\n  \
         plus 2.9 % + 0.30 USD on each successful charge; refunds and disputes of the stolen cards not counted)"
    );
    println!(
        "  {:<22} {:>16} {:>38}",
        "phase", "with the shield", "if all planned attempts had reached it"
    );
    let (mut with, mut without) = (0, 0);
    for r in results {
        with += r.fees_with;
        without += r.fees_without;
        println!(
            "  {:<22} {:>16} {:>38}",
            r.phase.name,
            usd(r.fees_with),
            usd(r.fees_without)
        );
    }
    println!("  {:<22} {:>16} {:>38}", "total", usd(with), usd(without));

    println!("\nTargets");
    let mut pass = true;
    let mut check = |met: bool, text: String| {
        pass &= met;
        println!("  {} {text}", if met { "PASS" } else { "MISS" });
    };
    let single: Vec<&PhaseResult> = results.iter().filter(|r| !r.phase.botnet).collect();
    let reached: usize = single.iter().map(|r| r.reached.len()).sum();
    check(
        reached <= SINGLE_IP_MAX,
        format!(
            "single-IP bot (fast + slow): {reached} attempts reached the gateway (≤ {SINGLE_IP_MAX})"
        ),
    );
    let botnet: Vec<&PhaseResult> = results.iter().filter(|r| r.phase.botnet).collect();
    let reached: usize = botnet.iter().map(|r| r.reached.len()).sum();
    let made: usize = botnet.iter().map(|r| r.bot.len()).sum();
    check(
        reached * 100 <= BOTNET_MAX_PERCENT * made,
        format!(
            "botnet (fast + slow): {reached} of {made} attempts reached the gateway = {:.1} % (≤ {BOTNET_MAX_PERCENT} %)",
            percent(reached, made)
        ),
    );
    if o.donors > 0 {
        check(
            ok * 100 >= DONORS_MIN_PERCENT * all,
            format!(
                "genuine donors: {ok} of {all} succeeded = {:.1} % (≥ {DONORS_MIN_PERCENT} %)",
                percent(ok, all)
            ),
        );
    }
    pass
}
