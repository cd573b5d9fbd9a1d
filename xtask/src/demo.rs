//! `cargo xtask demo`: builds the release widget, then runs the whole system on 127.0.0.1
//! (`paywidget_cli::demo`, the same code as `paywidget demo`) until Ctrl-C.

use anyhow::{Context, Result};

use crate::tools::Tools;
use crate::widget;

/// `cargo xtask demo`'s command line: exactly `paywidget demo`'s flags (one definition).
#[derive(clap::Parser, Debug)]
#[command(
    name = "cargo xtask demo",
    about = "Build the release widget, then run the demo on 127.0.0.1"
)]
struct DemoCommand {
    #[command(flatten)]
    flags: paywidget_cli::demo::DemoFlags,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = parse(args)?;
    let tools = Tools::ensure()?;
    println!("building the release widget…");
    widget::build_release(&tools)?;
    let runtime = tokio::runtime::Runtime::new().context("start tokio")?;
    runtime.block_on(paywidget_cli::demo::run(options))
}

fn parse(args: &[String]) -> Result<paywidget_cli::demo::Options> {
    use clap::Parser;
    let command = match DemoCommand::try_parse_from(
        std::iter::once("cargo xtask demo".to_owned()).chain(args.iter().cloned()),
    ) {
        Ok(c) => c,
        // `--help` prints the flags and stops, as any command's does.
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.exit(),
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    Ok(command.flags.options(&crate::root()))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn ports_default_and_override() {
        let o = parse(&[]).unwrap();
        assert_eq!(
            (
                o.host_port,
                o.sandbox_port,
                o.nonprofit_port,
                o.licence_port
            ),
            (8080, 12111, 8081, 8082)
        );
        let args: Vec<String> = ["--nonprofit-port", "9001", "--host-port", "9000"]
            .map(String::from)
            .to_vec();
        let o = parse(&args).unwrap();
        assert_eq!((o.host_port, o.nonprofit_port), (9000, 9001));
        assert!(parse(&["--bogus".into()]).is_err());
        assert!(parse(&["--host-port".into(), "x".into()]).is_err());
    }
}
