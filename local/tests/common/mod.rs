//! Runs the real `directory` binary and talks HTTP/1.1 to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_directory");

/// A running `directory serve`, stopped (SIGTERM) on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub stdout_lines: Vec<String>,
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts `serve` on an ephemeral port with `extra` arguments; waits for readiness.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_serving(data_dir, extra, &[])
    }

    /// Same, with `serve_args` after `serve` (e.g. `--tls`).
    pub fn start_serving(data_dir: &Path, extra: &[&str], serve_args: &[&str]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .args(["serve", "--port", "0"])
            .args(serve_args);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start directory serve");
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        let mut base = None;
        // The server prints its URL, then the curl line, then a hint: read those three.
        for _ in 0..4 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if let Some(url) = line.trim().strip_prefix("directory API listening on ") {
                base = url.split_whitespace().next().map(str::to_owned);
            }
            lines.push(line.trim_end().to_owned());
            if lines.len() == 4 {
                break;
            }
        }
        let Some(base) = base else {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            panic!("server did not start: {lines:?} {err}");
        };
        std::thread::spawn(move || for _ in reader.lines() {});
        Self {
            child,
            base,
            stdout_lines: lines,
            data_dir: data_dir.to_owned(),
        }
    }

    /// Sends SIGTERM and waits; returns whether it exited cleanly.
    pub fn stop(mut self) -> bool {
        let ok = terminate(&mut self.child);
        std::mem::forget(self);
        ok
    }

    /// The bearer token in the printed curl line.
    pub fn printed_token(&self) -> String {
        let line = self
            .stdout_lines
            .iter()
            .find(|l| l.contains("Bearer "))
            .expect("curl line");
        line.split("Bearer ")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap()
            .to_owned()
    }

    /// The URL in the printed curl line.
    pub fn printed_url(&self) -> String {
        let line = self
            .stdout_lines
            .iter()
            .find(|l| l.contains("curl "))
            .expect("curl line");
        line.rsplit(' ').next().unwrap().to_owned()
    }
}

fn terminate(child: &mut Child) -> bool {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    for _ in 0..200 {
        if let Ok(Some(status)) = child.try_wait() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    false
}

impl Drop for Server {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// Runs the CLI to completion: (success, stdout, stderr).
pub fn cli(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run directory");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[path = "../../../tests/src/http.rs"]
mod http;
#[allow(unused_imports)]
pub use http::{Reply, get, request, tls_client_config};
