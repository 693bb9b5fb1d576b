//! A progress line on a terminal, for long logs.

use std::io::{IsTerminal, Write};

/// Logs shorter than this replay without a progress line.
const MIN_RECORDS: usize = 10_000;

/// Shows `done/total` on stderr when it is a terminal.
pub struct Progress {
    total: usize,
    shown: bool,
}

impl Progress {
    /// Progress over `total` records; silent unless stderr is a terminal.
    pub fn new(total: usize) -> Progress {
        Progress {
            total,
            shown: total >= MIN_RECORDS && std::io::stderr().is_terminal(),
        }
    }

    /// Redraws the line.
    pub fn show(&self, done: usize) {
        if self.shown {
            let mut err = std::io::stderr();
            let _ = write!(err, "\rtee-replay: {done}/{} records", self.total);
            let _ = err.flush();
        }
    }

    /// Ends the line.
    pub fn finish(&self) {
        if self.shown {
            eprintln!();
        }
    }
}
