//! `cargo xtask attack`: the card-testing attack simulation (`examples/attack/`, an example of
//! the root package, so it uses the test kit). Builds the release widget first when browser
//! donors are asked for (they pay on the release `dist/`, as the e2e tests do), then runs the
//! example in the test profile the e2e tests already build. Fails when a target is missed.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::tools::{Tools, CHROMEDRIVER};
use crate::widget;

/// `cargo xtask attack`'s command line (passed on to the example as is).
#[derive(clap::Parser, Debug, PartialEq)]
#[command(
    name = "cargo xtask attack",
    about = "Simulate card testing against the host + sandbox while genuine donors pay"
)]
struct AttackCommand {
    /// The bot's payment attempts, split over four phases (one IP fast, slow; a 20-IP botnet fast, slow).
    #[arg(long, default_value_t = 1000)]
    attempts: usize,
    /// Genuine donors paying meanwhile.
    #[arg(long, default_value_t = 50)]
    donors: usize,
    /// How many of the donors pay in headless Chromium (phone viewport) on the release build.
    #[arg(long, default_value_t = 3)]
    browsers: usize,
    /// Seed of every client's plan (cards, amounts, addresses, arrivals).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Other `[merchants.shield]` settings to try, `key=value[,key=value…]`.
    #[arg(long)]
    shield: Option<String>,
}

impl AttackCommand {
    fn example_args(&self) -> Vec<String> {
        let mut args = vec![
            "--attempts".to_owned(),
            self.attempts.to_string(),
            "--donors".to_owned(),
            self.donors.to_string(),
            "--browsers".to_owned(),
            self.browsers.to_string(),
            "--seed".to_owned(),
            self.seed.to_string(),
        ];
        if let Some(s) = &self.shield {
            args.extend(["--shield".to_owned(), s.clone()]);
        }
        args
    }
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let command = parse(args)?;
    let tools = Tools::ensure()?;
    if command.browsers > 0 {
        println!("building the release widget (the browser donors pay on it)…");
        widget::build_release(&tools)?;
    }
    // Chromium leaves profile folders in TMPDIR: a private one, removed afterwards.
    let tmp = crate::root().join("target").join("tmp").join("attack");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("create {}", tmp.display()))?;
    // The burst phase runs on PostgreSQL too: a throwaway cluster, stopped when this ends.
    let cluster = crate::pg::PgCluster::start(300)?;
    let status = tools
        .command("cargo")
        .args(["run", "-p", "paywidget-widget", "--example", "attack", "--"])
        .args(command.example_args())
        .env("PAYWIDGET_ATTACK_POSTGRES", &cluster.url)
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("PAYWIDGET_DIST", crate::root().join("dist"))
        .env("TMPDIR", &tmp)
        .status()
        .context("run the attack simulation (cargo run --example attack)");
    let _ = std::fs::remove_dir_all(PathBuf::from(&tmp));
    drop(cluster);
    let status = status?;
    match status.code() {
        Some(0) => Ok(()),
        Some(1) => bail!("the shield missed a target (see Targets above)"),
        _ => bail!("the attack simulation failed ({status})"),
    }
}

fn parse(args: &[String]) -> Result<AttackCommand> {
    use clap::Parser;
    match AttackCommand::try_parse_from(
        std::iter::once("cargo xtask attack".to_owned()).chain(args.iter().cloned()),
    ) {
        Ok(c) => Ok(c),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.exit(),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn defaults_and_flags_pass_through() {
        let c = parse(&[]).unwrap();
        assert_eq!((c.attempts, c.donors, c.browsers, c.seed), (1000, 50, 3, 1));
        let args: Vec<String> = [
            "--attempts",
            "200",
            "--browsers",
            "0",
            "--shield",
            "tiny_factor=3",
        ]
        .map(String::from)
        .to_vec();
        let c = parse(&args).unwrap();
        assert_eq!(
            c.example_args(),
            [
                "--attempts",
                "200",
                "--donors",
                "50",
                "--browsers",
                "0",
                "--seed",
                "1",
                "--shield",
                "tiny_factor=3"
            ]
        );
        assert!(parse(&["--bogus".into()]).is_err());
        assert!(parse(&["--attempts".into(), "x".into()]).is_err());
    }
}
