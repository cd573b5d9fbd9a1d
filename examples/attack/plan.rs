//! What every simulated client will do, decided up front from the seed: the phases, each bot
//! attempt (address, amount, card, expiry, CVC, email) and each donor (address, amount, whether
//! they mistype, whether they use a real browser, when they arrive).

use std::time::Duration;

/// SplitMix64: small, fast and the same on every machine (no dependency needed).
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for one stream (`parts`, e.g. phase and attempt) of the run's `seed`, so each
    /// client's plan does not depend on the order tasks happen to run in.
    pub(crate) fn new(seed: u64, parts: &[u64]) -> Rng {
        let mut r = Rng(seed ^ 0x5157_4d41_5454_4143);
        for p in parts {
            r.0 ^= p.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            r.next();
        }
        r
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True `percent` % of the time.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The sandbox's test numbers that never succeed: Stripe's decline cards, Radar's two
/// highest-risk cards and the card that attaches but declines every charge. (Each has one
/// gateway fingerprint, however often it is tokenized.)
pub(crate) const DEAD_CARDS: [&str; 10] = [
    "4000000000000002",
    "4000000000009995",
    "4000000000009987",
    "4000000000009979",
    "4000000000000069",
    "4000000000000127",
    "4000000000000119",
    "4100000000000019",
    "4000000000004954",
    "4000000000000341",
];

/// The card every genuine donor finally pays with.
pub(crate) const GOOD_CARD: &str = "4242424242424242";

/// What a donor who mistypes gets first: a wrong security code, or the wrong card.
pub(crate) const MISTYPED: [&str; 2] = ["4000000000000127", "4000000000009995"];

/// Of a tester's stolen cards, how many are live (the sandbox lets any valid number that is
/// not a scripted test card succeed), percent.
pub(crate) const LIVE_PERCENT: u64 = 12;

/// The campaign every client pays into (the test kit's checkout fixture).
pub(crate) const CAMPAIGN: &str = "winter";
/// Its smallest gift, minor units (`min_amount` in the fixture).
pub(crate) const MIN_AMOUNT: i64 = 500;

/// How long the donors of a fast phase keep arriving, and how long a slow bot takes.
pub(crate) const FAST_WINDOW: Duration = Duration::from_secs(20);
pub(crate) const SLOW_WINDOW: Duration = Duration::from_secs(40);

/// Concurrent workers of a fast bot.
pub(crate) const FAST_WORKERS: usize = 6;

/// A valid Visa number ending in its Luhn digit: a "live" stolen card.
pub(crate) fn live_card(rng: &mut Rng) -> String {
    loop {
        let mut digits: Vec<u8> = vec![4];
        digits.extend((0..14).map(|_| rng.below(10) as u8));
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, d)| {
                let d = u32::from(*d);
                if i % 2 == 0 {
                    let x = d * 2;
                    if x > 9 {
                        x - 9
                    } else {
                        x
                    }
                } else {
                    d
                }
            })
            .sum();
        digits.push(((10 - sum % 10) % 10) as u8);
        let number: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        // Never one of Stripe's scripted numbers (they all start 4000… or 4100…).
        if !number.starts_with("4000") && !number.starts_with("4100") && number != GOOD_CARD {
            return number;
        }
    }
}

/// One of the four phases of the attack.
#[derive(Clone, Debug)]
pub(crate) struct Phase {
    pub(crate) index: usize,
    pub(crate) name: &'static str,
    pub(crate) botnet: bool,
    pub(crate) fast: bool,
    pub(crate) attempts: usize,
    /// The bot's addresses (one, or 20 in distinct /24s).
    pub(crate) ips: Vec<String>,
}

impl Phase {
    /// How long this phase's donors keep arriving.
    pub(crate) fn window(&self) -> Duration {
        if self.fast {
            FAST_WINDOW
        } else {
            SLOW_WINDOW
        }
    }

    /// The slow bot's pause between attempts: its attempts spread over [`SLOW_WINDOW`].
    pub(crate) fn pause(&self) -> Duration {
        if self.fast {
            return Duration::ZERO;
        }
        let each = SLOW_WINDOW.as_millis() as u64 / self.attempts.max(1) as u64;
        Duration::from_millis(each.clamp(10, 1000))
    }
}

/// The four phases, `attempts` split between them.
pub(crate) fn phases(attempts: usize) -> Vec<Phase> {
    // One attacker's story against one host: its own address, fast then slow; then a botnet
    // of 20 addresses in 20 distinct /24s, fast then slow.
    let single = vec!["203.0.113.66".to_owned()];
    let botnet: Vec<String> = (0..20u8)
        .map(|i| format!("10.{}.{}.{}", 100 + i, 7 * i + 3, 11 + i))
        .collect();
    let specs = [
        ("single IP, fast", false, true, single.clone()),
        ("single IP, slow", false, false, single),
        ("botnet (20 IPs), fast", true, true, botnet.clone()),
        ("botnet (20 IPs), slow", true, false, botnet),
    ];
    specs
        .into_iter()
        .enumerate()
        .map(|(index, (name, botnet, fast, ips))| Phase {
            index,
            name,
            botnet,
            fast,
            attempts: attempts / 4 + usize::from(index < attempts % 4),
            ips,
        })
        .collect()
}

/// One bot attempt.
#[derive(Clone, Debug)]
pub(crate) struct BotPlan {
    pub(crate) ip: String,
    pub(crate) amount: i64,
    pub(crate) number: String,
    pub(crate) live: bool,
    pub(crate) exp_month: u8,
    pub(crate) exp_year: u16,
    pub(crate) cvc: String,
    pub(crate) email: String,
}

/// Attempt `j` of `phase`: a small amount at or just above the minimum, a card from the list
/// (mostly dead), any future expiry and any CVC, a throwaway email.
pub(crate) fn bot_attempt(seed: u64, phase: &Phase, j: usize, this_year: u16) -> BotPlan {
    let mut rng = Rng::new(seed, &[1, phase.index as u64, j as u64]);
    let live = rng.chance(LIVE_PERCENT);
    let number = if live {
        live_card(&mut rng)
    } else {
        DEAD_CARDS[rng.below(DEAD_CARDS.len() as u64) as usize].to_owned()
    };
    BotPlan {
        ip: phase.ips[j % phase.ips.len()].clone(),
        amount: MIN_AMOUNT + 100 * rng.below(3) as i64,
        number,
        live,
        exp_month: 1 + rng.below(12) as u8,
        exp_year: this_year + 1 + rng.below(5) as u16,
        cvc: format!("{:03}", rng.below(1000)),
        email: format!("u{:08x}@example.net", rng.next() as u32),
    }
}

/// One genuine donor.
#[derive(Clone, Debug)]
pub(crate) struct DonorPlan {
    pub(crate) index: usize,
    pub(crate) phase: usize,
    pub(crate) ip: String,
    /// Whole units, 10–100.
    pub(crate) amount: i64,
    /// The card declined first (a mistyped CVC, the wrong card), if they mistype.
    pub(crate) mistype: Option<&'static str>,
    pub(crate) browser: bool,
    pub(crate) arrive: Duration,
}

/// `count` donors, dealt round the phases; `mistypers` of them decline once first; `browsers`
/// of them use Chromium (the first donors of the botnet phases first: that is where a
/// challenge is likely).
pub(crate) fn donors(
    seed: u64,
    phases: &[Phase],
    count: usize,
    browsers: usize,
    mistypers: usize,
) -> Vec<DonorPlan> {
    let mut out: Vec<DonorPlan> = (0..count)
        .map(|k| {
            let mut rng = Rng::new(seed, &[2, k as u64]);
            let phase = &phases[k % phases.len()];
            let window = phase.window().as_millis() as u64;
            DonorPlan {
                index: k,
                phase: phase.index,
                // Each donor its own /24, far from the bots' addresses.
                ip: format!(
                    "198.{}.{}.{}",
                    18 + (k / 256) % 2,
                    k % 256,
                    20 + rng.below(200)
                ),
                amount: 10 + rng.below(91) as i64,
                mistype: None,
                browser: false,
                arrive: Duration::from_millis(rng.below(window)),
            }
        })
        .collect();
    // Browser donors: by phase preference, the earliest arrivals first.
    let mut picked = 0;
    'outer: for round in 0..count {
        for phase in [2, 3, 0, 1] {
            if picked == browsers {
                break 'outer;
            }
            if let Some(d) = out
                .iter_mut()
                .filter(|d| d.phase == phase)
                .nth(round)
                .filter(|d| !d.browser)
            {
                d.browser = true;
                picked += 1;
            }
        }
    }
    // Mistypers: chosen by the seed among the API donors.
    let mut rng = Rng::new(seed, &[3]);
    let mut chosen = 0;
    let api: Vec<usize> = out.iter().filter(|d| !d.browser).map(|d| d.index).collect();
    let mut guard = 0;
    while chosen < mistypers.min(api.len()) && guard < 10_000 {
        guard += 1;
        let k = api[rng.below(api.len() as u64) as usize];
        if out[k].mistype.is_none() {
            out[k].mistype = Some(MISTYPED[chosen % MISTYPED.len()]);
            chosen += 1;
        }
    }
    out
}

/// Stripe-like costs of an attempt that reached the gateway, cents: 0.05 for the
/// authorization (and Radar screening) of every attempt, plus 2.9 % + 0.30 of a successful one.
pub(crate) fn fee(amount: i64, succeeded: bool) -> i64 {
    5 + if succeeded {
        (amount * 29 + 500) / 1000 + 30
    } else {
        0
    }
}
