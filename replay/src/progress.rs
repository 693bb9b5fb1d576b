//! Progress on a terminal, for long logs. The native tee-replay installs
//! its terminal bar ([`use_meter`]); without one (on Lind, where the bar's
//! clock cannot link) a plain `done/total` line is redrawn instead.

use abi::limits::PROGRESS_MIN_BYTES;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

/// Something that shows how far a replay got.
pub trait Progress {
    /// `done` records of the total are replayed.
    fn show(&self, done: u64);
    /// The replay is over: leave the terminal clean.
    fn finish(&self);
}

/// Makes the meter for a replay of `records` records from a log of
/// `log_bytes` bytes.
pub type MakeMeter = fn(records: u64, log_bytes: u64) -> Box<dyn Progress>;

static MAKE: OnceLock<MakeMeter> = OnceLock::new();

/// Sets how replays in this process show progress (once; later calls
/// are ignored).
pub fn use_meter(make: MakeMeter) {
    let _ = MAKE.set(make);
}

/// The meter for a replay.
pub fn meter(records: u64, log_bytes: u64) -> Box<dyn Progress> {
    match MAKE.get() {
        Some(make) => make(records, log_bytes),
        None => Box::new(Line {
            total: records,
            shown: log_bytes >= PROGRESS_MIN_BYTES && std::io::stderr().is_terminal(),
        }),
    }
}

/// `tee-replay: done/total records`, redrawn in place.
struct Line {
    total: u64,
    shown: bool,
}

impl Progress for Line {
    fn show(&self, done: u64) {
        if self.shown {
            let mut err = std::io::stderr();
            let _ = write!(err, "\rtee-replay: {done}/{} records", self.total);
            let _ = err.flush();
        }
    }

    fn finish(&self) {
        if self.shown {
            eprintln!();
        }
    }
}
