//! What the secondary did wrong, counted per call and reported at exit.

use abi::sync::lock;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// One kind of misbehaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// The secondary failed where the primary succeeded.
    Error,
    /// Both succeeded with different results (an odd count).
    ResultMismatch,
    /// Same result, different output bytes.
    OutputMismatch,
    /// The secondary's handler trapped or panicked (GRATE_ERR).
    Panic,
    /// The call was not sent to the secondary (its fd was never opened
    /// there, or a buffer was too large to stage).
    Skipped,
    /// A buffer could not be copied out of the app.
    CaptureFailed,
    /// A grate of the secondary stack exited while the app ran; later calls
    /// were not duplicated.
    StackEnded,
}

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Fault::Error => "errors",
            Fault::ResultMismatch => "result mismatches",
            Fault::OutputMismatch => "output mismatches",
            Fault::Panic => "panics (GRATE_ERR)",
            Fault::Skipped => "calls not duplicated",
            Fault::CaptureFailed => "buffers not captured",
            Fault::StackEnded => "calls not duplicated after the secondary stack ended early",
        }
    }
}

/// Counts per `(fault, call number)`, plus the total duplicated.
#[derive(Debug, Default)]
pub struct Faults {
    counts: Mutex<BTreeMap<(Fault, u32), u64>>,
    duplicated: std::sync::atomic::AtomicU64,
}

impl Faults {
    /// Counts one call sent to the secondary.
    pub fn duplicated(&self) {
        self.duplicated
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts one fault on call `nr`.
    pub fn count(&self, fault: Fault, nr: u32) {
        let mut counts = lock(&self.counts);
        *counts.entry((fault, nr)).or_default() += 1;
    }

    /// Total of one fault kind.
    pub fn total(&self, fault: Fault) -> u64 {
        let counts = lock(&self.counts);
        counts
            .iter()
            .filter(|((f, _), _)| *f == fault)
            .map(|(_, n)| n)
            .sum()
    }

    /// Whether anything went wrong.
    pub fn any(&self) -> bool {
        !lock(&self.counts).is_empty()
    }

    /// The summary printed at exit, one line per fault kind.
    pub fn summary(&self, extra: &[(&str, u64)]) -> String {
        let counts = lock(&self.counts);
        let duplicated = self.duplicated.load(std::sync::atomic::Ordering::Relaxed);
        let mut out = format!("tee-grate: secondary: {duplicated} calls duplicated");
        for (label, n) in extra.iter().filter(|(_, n)| *n > 0) {
            let _ = write!(out, ", {n} {label}");
        }
        out.push('\n');
        let mut by_fault: BTreeMap<Fault, Vec<(u32, u64)>> = BTreeMap::new();
        for (&(fault, nr), &n) in counts.iter() {
            by_fault.entry(fault).or_default().push((nr, n));
        }
        for (fault, calls) in by_fault {
            let total: u64 = calls.iter().map(|(_, n)| n).sum();
            let detail: Vec<String> = calls
                .iter()
                .map(|(nr, n)| format!("{} {n}", call_name(*nr)))
                .collect();
            let _ = writeln!(
                out,
                "tee-grate: secondary: {total} {} ({})",
                fault.label(),
                detail.join(", ")
            );
        }
        out
    }
}

/// A call's name from the catalog, `syscall_N` otherwise.
pub fn call_name(nr: u32) -> String {
    abi::catalog::lookup(nr).map_or_else(|| format!("syscall_{nr}"), |i| i.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_each_fault_with_its_calls() {
        let faults = Faults::default();
        faults.duplicated();
        faults.duplicated();
        faults.count(Fault::Panic, 1);
        faults.count(Fault::Panic, 1);
        faults.count(Fault::Error, 0);
        let text = faults.summary(&[]);
        assert!(text.contains("2 calls duplicated"), "{text}");
        assert!(text.contains("2 panics (GRATE_ERR) (write 2)"), "{text}");
        assert!(text.contains("1 errors (read 1)"), "{text}");
        assert_eq!(faults.total(Fault::Panic), 2);
    }
}
