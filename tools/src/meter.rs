//! The native tools' progress bar: on a terminal, for a log over
//! [`PROGRESS_MIN_BYTES`], on stderr; nothing in pipes, files or CI logs.
//! Native only: indicatif reads std's clock, which Lind cannot link.

use abi::limits::PROGRESS_MIN_BYTES;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A progress bar, or nothing where none is wanted.
#[derive(Debug)]
pub struct Meter {
    bar: Option<ProgressBar>,
    /// Bytes (or records) one pass covers, and the passes done.
    pass_len: u64,
    base: AtomicU64,
}

impl Meter {
    /// A bar over `passes` reads of the log at `path`, labelled `what`.
    pub fn for_file(path: &Path, what: &str, passes: u64) -> Meter {
        let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        Meter::new(what, bytes, passes, bytes, "{bytes}/{total_bytes}")
    }

    /// A bar over `records` records of a log of `log_bytes` bytes.
    pub fn for_records(what: &str, records: u64, log_bytes: u64) -> Meter {
        Meter::new(
            what,
            records,
            1,
            log_bytes,
            "{human_pos}/{human_len} records",
        )
    }

    fn new(what: &str, len: u64, passes: u64, log_bytes: u64, counts: &str) -> Meter {
        let shown = log_bytes >= PROGRESS_MIN_BYTES && std::io::stderr().is_terminal();
        let bar = shown.then(|| {
            let template = format!("{{prefix}}: [{{bar:40}}] {counts} {{percent}}% (eta {{eta}})");
            let style = ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            let bar = ProgressBar::with_draw_target(
                Some(len.saturating_mul(passes)),
                ProgressDrawTarget::stderr(),
            );
            bar.set_style(style);
            bar.set_prefix(what.to_owned());
            bar
        });
        Meter {
            bar,
            pass_len: len,
            base: AtomicU64::new(0),
        }
    }

    /// A line that says how work of unknown length goes (`message`),
    /// on a terminal whatever the log's size.
    pub fn spinner(what: &str) -> Meter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = ProgressStyle::with_template("{prefix}: {spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(style);
            bar.set_prefix(what.to_owned());
            bar
        });
        Meter {
            bar,
            pass_len: 0,
            base: AtomicU64::new(0),
        }
    }

    /// What a spinner says now.
    pub fn message(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(text);
            bar.tick();
        }
    }

    /// Whether a bar is drawn.
    pub fn is_shown(&self) -> bool {
        self.bar.is_some()
    }

    /// This pass has reached `position`.
    pub fn set(&self, position: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(self.base.load(Ordering::Relaxed) + position.min(self.pass_len));
        }
    }

    /// The next read of the log begins.
    pub fn next_pass(&self) {
        self.base.fetch_add(self.pass_len, Ordering::Relaxed);
    }

    /// Runs `f` with the bar cleared, for lines printed while it runs.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Clears the bar, so that what follows starts on a clean line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl replay::progress::Progress for Meter {
    fn show(&self, done: u64) {
        self.set(done);
    }

    fn finish(&self) {
        Meter::finish(self);
    }
}

/// tee-replay's bar over the records of a log of `log_bytes` bytes.
pub fn replay_meter(records: u64, log_bytes: u64) -> Box<dyn replay::progress::Progress> {
    Box::new(Meter::for_records("tee-replay", records, log_bytes))
}
