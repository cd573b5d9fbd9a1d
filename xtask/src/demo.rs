//! `cargo xtask demo`: builds the release widget, then runs the whole system on 127.0.0.1
//! (`paywidget_cli::demo`, the same code as `paywidget demo`) until Ctrl-C.

use anyhow::{bail, Context, Result};

use crate::tools::Tools;
use crate::widget;

const USAGE: &str = "usage: cargo xtask demo [--host-port N] [--sandbox-port N] [--nonprofit-port N] [--licence-port N] [--allow-origin URL]…";

pub fn run(args: &[String]) -> Result<()> {
    let options = parse(args)?;
    let tools = Tools::ensure()?;
    println!("building the release widget…");
    widget::build_release(&tools)?;
    let runtime = tokio::runtime::Runtime::new().context("start tokio")?;
    runtime.block_on(paywidget_cli::demo::run(options))
}

fn parse(args: &[String]) -> Result<paywidget_cli::demo::Options> {
    let mut o = paywidget_cli::demo::Options::defaults(&crate::root());
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--allow-origin" {
            let origin = it
                .next()
                .with_context(|| format!("{flag} needs an origin\n{USAGE}"))?;
            o.extra_origins.push(origin.clone());
            continue;
        }
        let slot = match flag.as_str() {
            "--host-port" | "--port" => &mut o.host_port,
            "--sandbox-port" => &mut o.sandbox_port,
            "--nonprofit-port" => &mut o.nonprofit_port,
            "--licence-port" => &mut o.licence_port,
            _ => bail!("unknown flag {flag:?}\n{USAGE}"),
        };
        let value = it
            .next()
            .with_context(|| format!("{flag} needs a port\n{USAGE}"))?;
        *slot = value
            .parse()
            .with_context(|| format!("{flag} {value}: not a port number"))?;
    }
    Ok(o)
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
