//! Progress of long imports and exports on stderr: an `indicatif` bar with rate and
//! ETA on a terminal; plain lines at most every few seconds otherwise (logs, CI).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Imports smaller than this finish before a bar would be worth drawing.
const SMALL: u64 = 50;
/// How often a plain line is written when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Reports progress of one piece of work.
pub struct Progress {
    what: String,
    bar: Option<ProgressBar>,
    bytes: bool,
    tty: bool,
    last_line: Instant,
    started: Instant,
}

impl Progress {
    fn new(what: &str, bytes: bool) -> Self {
        Self {
            what: what.to_owned(),
            bar: None,
            bytes,
            tty: std::io::stderr().is_terminal(),
            last_line: Instant::now(),
            started: Instant::now(),
        }
    }

    /// Progress counted in items out of a known total (an import's organisations).
    pub fn items(what: &str) -> Self {
        Self::new(what, false)
    }

    /// Progress counted in bytes of unknown total (an export being written).
    pub fn bytes(what: &str) -> Self {
        Self::new(what, true)
    }

    fn bar(&mut self, total: Option<u64>) -> &ProgressBar {
        let (what, bytes) = (self.what.clone(), self.bytes);
        self.bar.get_or_insert_with(|| {
            let template = if bytes {
                "{spinner} {msg} {bytes} ({bytes_per_sec})"
            } else {
                "{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})"
            };
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("#>-"));
            }
            bar.set_message(what);
            bar
        })
    }

    fn line(&mut self, text: impl FnOnce() -> String) {
        if self.last_line.elapsed() >= LINE_EVERY {
            self.last_line = Instant::now();
            eprintln!("{}: {}", self.what, text());
        }
    }

    /// `done` of `total` items are finished.
    pub fn update(&mut self, done: usize, total: usize) {
        let (done, total) = (done as u64, total as u64);
        if total < SMALL {
            return;
        }
        if self.tty {
            self.bar(Some(total)).set_position(done);
        } else {
            let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
            self.line(|| format!("{done}/{total} ({rate:.0}/s)"));
        }
    }

    /// `n` more bytes are written.
    pub fn add_bytes(&mut self, n: usize) {
        // Off a terminal the (hidden) bar only keeps the count.
        let bar = self.bar(None);
        bar.inc(n as u64);
        let written = bar.position();
        if !self.tty {
            self.line(|| format!("{written} bytes written"));
        }
    }

    /// Clears the bar (the caller prints the outcome).
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
