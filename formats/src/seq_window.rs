//! How far out of sequence order a record may reach the log (SPEC.md,
//! "Order"), and the writer's side of keeping that promise.
//!
//! A tee numbers a call when its primary answers and appends the record
//! after copying its buffers, so threads reach the log in a slightly
//! different order than they were numbered. A reader that replays in
//! sequence order would have to hold the whole log to sort it, unless the
//! writer bounds the disorder: when the record numbered `s` is written,
//! every record numbered `s - SEQ_WINDOW` or less that is ever written has
//! been written before it. A reader then holds at most `SEQ_WINDOW`
//! records, whatever the log's size.

use std::collections::{BTreeMap, VecDeque};

/// The bound, in sequence numbers.
pub const SEQ_WINDOW: u64 = 1024;

/// The writer's bookkeeping: which numbers are done (written, or given up
/// by the caller), and the records that came too early and wait.
#[derive(Debug)]
pub(crate) struct Numbering<T> {
    /// Every number below it is done.
    low: u64,
    /// Whether `low + i` is done.
    done: VecDeque<bool>,
    /// Records numbered `low + SEQ_WINDOW` or more, waiting for `low`.
    held: BTreeMap<u64, T>,
}

impl<T> Default for Numbering<T> {
    fn default() -> Self {
        Numbering {
            low: 0,
            done: VecDeque::new(),
            held: BTreeMap::new(),
        }
    }
}

impl<T> Numbering<T> {
    /// Whether a record numbered `seq` may be written now. A number below
    /// `low` was done already (a caller numbering twice): it is written,
    /// as the bound no longer depends on it.
    pub(crate) fn may_write(&self, seq: u64) -> bool {
        seq < self.low.saturating_add(SEQ_WINDOW)
    }

    /// Keeps an early record until [`Numbering::done`] lets it out.
    pub(crate) fn hold(&mut self, seq: u64, record: T) {
        self.held.insert(seq, record);
    }

    /// Marks `seq` done; returns the held records that may be written now,
    /// in order. Each of them must be marked done in turn once written.
    pub(crate) fn done(&mut self, seq: u64) -> Vec<(u64, T)> {
        // The common case, a record in order: nothing to keep.
        if seq == self.low && self.done.is_empty() {
            self.low += 1;
            return self.ready();
        }
        let Some(at) = seq.checked_sub(self.low) else {
            return Vec::new();
        };
        let at = at as usize;
        if self.done.len() <= at {
            self.done.resize(at + 1, false);
        }
        self.done[at] = true;
        while self.done.front() == Some(&true) {
            self.done.pop_front();
            self.low += 1;
        }
        self.ready()
    }

    /// The held records the window now lets out.
    fn ready(&mut self) -> Vec<(u64, T)> {
        let mut ready = Vec::new();
        let limit = self.low.saturating_add(SEQ_WINDOW);
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() >= limit {
                break;
            }
            ready.push(entry.remove_entry());
        }
        ready
    }

    /// Every held record, in order, for the end of the log: whatever they
    /// waited for will never be written.
    pub(crate) fn drain(&mut self) -> Vec<(u64, T)> {
        std::mem::take(&mut self.held).into_iter().collect()
    }

    /// How many records wait.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_within_the_window_are_written_at_once() {
        let mut n = Numbering::<u64>::default();
        assert!(n.may_write(0));
        assert!(n.may_write(SEQ_WINDOW - 1));
        assert!(!n.may_write(SEQ_WINDOW));
        assert!(n.done(5).is_empty());
        // 0 is still open, so the window has not moved.
        assert!(!n.may_write(SEQ_WINDOW));
    }

    #[test]
    fn a_laggard_holds_back_records_past_the_window_until_it_is_done() {
        let mut n = Numbering::default();
        for seq in 1..=SEQ_WINDOW + 3 {
            if n.may_write(seq) {
                assert!(n.done(seq).is_empty());
            } else {
                n.hold(seq, seq);
            }
        }
        assert_eq!(n.held(), 4, "1024..=1027 wait for 0");
        let ready: Vec<u64> = n.done(0).into_iter().map(|(s, _)| s).collect();
        assert_eq!(
            ready,
            vec![SEQ_WINDOW, SEQ_WINDOW + 1, SEQ_WINDOW + 2, SEQ_WINDOW + 3]
        );
    }

    #[test]
    fn released_records_let_out_those_behind_them_once_done() {
        let mut n = Numbering::default();
        // 0 and 1 open; 1025 and 2050 wait.
        n.hold(SEQ_WINDOW + 1, 'a');
        n.hold(2 * SEQ_WINDOW + 2, 'b');
        for seq in 2..=SEQ_WINDOW {
            n.done(seq);
        }
        assert!(n.done(0).is_empty(), "1025 still needs 1");
        let ready = n.done(1);
        assert_eq!(ready, vec![(SEQ_WINDOW + 1, 'a')]);
        // 1026..2049 never come: 'b' stays until the end.
        assert!(n.done(SEQ_WINDOW + 1).is_empty());
        assert_eq!(n.drain(), vec![(2 * SEQ_WINDOW + 2, 'b')]);
    }
}
