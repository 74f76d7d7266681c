//! Progress of long imports: a bar on a terminal, a line per tenth otherwise.

use std::io::{IsTerminal, Write};

/// Reports `done / total` on stderr.
pub struct Progress {
    what: String,
    tty: bool,
    last_tenth: usize,
    shown: bool,
}

impl Progress {
    /// Progress for `what`.
    pub fn new(what: &str) -> Self {
        Self {
            what: what.to_owned(),
            tty: std::io::stderr().is_terminal(),
            last_tenth: 0,
            shown: false,
        }
    }

    /// Records progress.
    pub fn update(&mut self, done: usize, total: usize) {
        if total < 50 {
            return;
        }
        let mut err = std::io::stderr();
        if self.tty {
            let width = 30;
            let filled = done * width / total;
            let _ = write!(
                err,
                "\r{} [{}{}] {done}/{total}",
                self.what,
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            let _ = err.flush();
            self.shown = true;
        } else {
            let tenth = done * 10 / total;
            if tenth > self.last_tenth {
                self.last_tenth = tenth;
                let _ = writeln!(err, "{}: {done}/{total}", self.what);
            }
        }
    }

    /// Ends the bar's line.
    pub fn finish(&mut self) {
        if self.shown {
            eprintln!();
            self.shown = false;
        }
    }
}
