//! A throwaway PostgreSQL cluster for the tests on PostgreSQL and `cargo xtask soak --db
//! postgres`: `initdb` in a fresh folder under /tmp, started on a free 127.0.0.1 port with
//! durability off (speed; the data is thrown away), stopped by its PID and removed on drop —
//! also when the run fails or panics.
//!
//! `initdb` and `postgres` refuse to run as root: as root, both run as the `postgres` user
//! (which Debian's package creates), in a folder that user owns.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::tools::{is_root, PG_BIN};

/// A running cluster; dropping it stops and deletes it.
pub(crate) struct PgCluster {
    base: PathBuf,
    pid: Option<u32>,
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub(crate) url: String,
}

/// `program` from PostgreSQL's bin folder, as the `postgres` user when we are root.
fn pg_command(program: &str) -> Command {
    let path = Path::new(PG_BIN).join(program);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn quiet(cmd: &mut Command, what: &str, log: &Path) -> Result<()> {
    let out = cmd.output().with_context(|| format!("run {what}"))?;
    if !out.status.success() {
        let server_log = std::fs::read_to_string(log).unwrap_or_default();
        bail!(
            "{what} failed ({}):\n{}{}\n{server_log}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

impl PgCluster {
    /// Creates and starts a cluster (≈ 1–2 s), allowing `max_connections` clients.
    pub(crate) fn start(max_connections: u32) -> Result<PgCluster> {
        if !Path::new(PG_BIN).join("initdb").exists() {
            bail!("PostgreSQL is not installed ({PG_BIN}/initdb): run `cargo xtask setup`");
        }
        let started = Instant::now();
        let base = PathBuf::from(
            String::from_utf8(
                Command::new("mktemp")
                    .args(["-d", "/tmp/paywidget-pg.XXXXXX"])
                    .output()
                    .context("mktemp")?
                    .stdout,
            )?
            .trim(),
        );
        let mut cluster = PgCluster {
            base: base.clone(),
            pid: None,
            url: String::new(),
        };
        let data = base.join("data");
        let sock = base.join("sock");
        let log = base.join("server.log");
        std::fs::create_dir_all(&data)?;
        std::fs::create_dir_all(&sock)?;
        if is_root() {
            quiet(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&base),
                "chown the cluster folder to postgres",
                &log,
            )?;
            // mktemp makes it 0700 for root; the postgres user must enter it.
            quiet(Command::new("chmod").arg("755").arg(&base), "chmod", &log)?;
        }
        quiet(
            pg_command("initdb").arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]),
            "initdb",
            &log,
        )?;
        let port = free_port()?;
        let options = format!(
            "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections={max_connections}",
            sock.display()
        );
        quiet(
            pg_command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "30", "-o", &options, "start"]),
            "pg_ctl start",
            &log,
        )?;
        // The first line of postmaster.pid is the server's PID: stop it by that, never by name.
        let pid_file =
            std::fs::read_to_string(data.join("postmaster.pid")).context("read postmaster.pid")?;
        cluster.pid = pid_file.lines().next().and_then(|l| l.trim().parse().ok());
        cluster.url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        println!(
            "PostgreSQL cluster on 127.0.0.1:{port} (pid {}) in {:.1}s",
            cluster.pid.unwrap_or(0),
            started.elapsed().as_secs_f64()
        );
        Ok(cluster)
    }
}

/// A port nothing listens on now (the kernel's choice for port 0).
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(l.local_addr()?.port())
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            // Immediate: the data is thrown away, no checkpoint needed. If pg_ctl cannot, the PID.
            let stopped = pg_command("pg_ctl")
                .arg("-D")
                .arg(self.base.join("data"))
                .args(["-m", "immediate", "-w", "stop"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !stopped {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}
