//! Differential replay: several stacks replay the same log side by side,
//! each with its own drivers, answered from the recording below it, and
//! what they return for each record is compared with the first stack's.
//! The recording is their common input, not the judge: a call where every
//! stack differs from the recording in the same way is counted, not
//! reported.
//!
//! Stacks run at their own pace within a window: a stack that has
//! reported [`WINDOW`] records the others have not reached yet waits for
//! them, so what is held stays bounded whatever the log's size.

use crate::report::{kind_of, Divergence, OutputDiff};
use abi::sync::lock;
use formats::SyscallRecord;
use interpose::capture::succeeded;
use interpose::verdict::{compares_data, first_difference, verdict, Answer, Wrong};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How many records a stack may be ahead of the slowest.
pub const WINDOW: usize = 1024;

/// What one stack made of one record.
#[derive(Clone, Debug)]
pub struct Played {
    pub answer: Answer,
    /// How long it took, as the replayer timed it.
    pub took_ns: Option<u64>,
    /// Whether the stack sent the call down to the recording below it.
    pub called_down: bool,
    /// How it differs from the recording, if it does.
    pub vs_recording: Option<Wrong>,
}

/// Where the call's fd came from, for the report (computed by the stack
/// that completes the row, whose history is at that record).
pub type Context<'a> = &'a dyn Fn() -> (Option<String>, Vec<String>);

struct Row {
    index: u64,
    call: SyscallRecord,
    played: Vec<Option<Played>>,
}

#[derive(Default)]
struct Board {
    rows: BTreeMap<u64, Row>,
    /// Per stack: rows it has played that others have not.
    held: Vec<usize>,
    finished: Vec<bool>,
    found: Vec<Divergence>,
    /// Rows every stack played alike, all unlike the recording.
    alike_against_recording: u64,
    compared: u64,
}

/// The rows of a differential replay, shared by every stack's engine.
pub struct Comparator {
    stacks: usize,
    keep_going: bool,
    stop: Arc<AtomicBool>,
    board: Mutex<Board>,
    moved: Condvar,
}

/// What a differential replay found, for the report.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    pub divergences: Vec<Divergence>,
    pub compared: u64,
    pub alike_against_recording: u64,
}

impl Comparator {
    /// A comparison of `stacks` stacks; the first disagreement sets `stop`
    /// unless `keep_going`.
    pub fn new(stacks: usize, keep_going: bool, stop: Arc<AtomicBool>) -> Comparator {
        Comparator {
            stacks,
            keep_going,
            stop,
            board: Mutex::new(Board {
                held: vec![0; stacks],
                finished: vec![false; stacks],
                ..Board::default()
            }),
            moved: Condvar::new(),
        }
    }

    fn board(&self) -> MutexGuard<'_, Board> {
        lock(&self.board)
    }

    /// Stack `stack` played record `index` (`call`). Waits while it is a
    /// window ahead of a stack still running.
    pub fn submit(
        &self,
        stack: usize,
        index: u64,
        call: &SyscallRecord,
        played: Played,
        context: Context<'_>,
    ) {
        let mut board = self.board();
        let stacks = self.stacks;
        let row = board.rows.entry(index).or_insert_with(|| Row {
            index,
            call: call.clone(),
            played: vec![None; stacks],
        });
        row.played[stack] = Some(played);
        let complete = row.played.iter().all(Option::is_some);
        if complete {
            if let Some(row) = board.rows.remove(&index) {
                for (s, p) in row.played.iter().enumerate() {
                    if s != stack && p.is_some() {
                        board.held[s] -= 1;
                    }
                }
                self.judge(&mut board, &row, context);
            }
            self.moved.notify_all();
        } else {
            board.held[stack] += 1;
        }
        while board.held[stack] >= WINDOW
            && !self.stop.load(Ordering::Relaxed)
            && (0..stacks).any(|s| s != stack && !board.finished[s])
        {
            board = self.moved.wait(board).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Stack `stack` will play nothing more: rows it did not play are
    /// judged once every stack is done.
    pub fn finish(&self, stack: usize) {
        let mut board = self.board();
        board.finished[stack] = true;
        if board.finished.iter().all(|&f| f) {
            let rows = std::mem::take(&mut board.rows);
            for row in rows.values() {
                self.judge(&mut board, row, &|| (None, Vec::new()));
            }
        }
        self.moved.notify_all();
    }

    /// Wakes stacks waiting on the window (the replay is stopping).
    pub fn wake(&self) {
        self.moved.notify_all();
    }

    /// What was found, first record first.
    pub fn findings(&self) -> Findings {
        let board = self.board();
        let mut divergences = board.found.clone();
        divergences.sort_by_key(|d| (d.index, d.between));
        if !self.keep_going {
            // Stacks run ahead of each other: the first found need not be
            // the first in the log. Keep the first record's.
            let first = divergences.first().map(|d| d.index);
            divergences.retain(|d| Some(d.index) == first);
        }
        Findings {
            divergences,
            compared: board.compared,
            alike_against_recording: board.alike_against_recording,
        }
    }

    /// Compares every stack that played `row` with the first that did.
    fn judge(&self, board: &mut Board, row: &Row, context: Context<'_>) {
        let Some(info) = abi::catalog::lookup(row.call.nr) else {
            return;
        };
        let Some((first, base)) = row
            .played
            .iter()
            .enumerate()
            .find_map(|(s, p)| p.as_ref().map(|p| (s, p)))
        else {
            return;
        };
        board.compared += 1;
        let mut alike = true;
        for (s, other) in row.played.iter().enumerate().skip(first + 1) {
            let kind = match other {
                None => Some("not_replayed"),
                Some(p) => match verdict(info, base.answer.side(), p.answer.side()) {
                    Some(wrong) => Some(kind_of(wrong)),
                    None if p.called_down != base.called_down => Some("called_down"),
                    None => None,
                },
            };
            let Some(kind) = kind else { continue };
            alike = false;
            let theirs = other.as_ref();
            let output = match theirs {
                Some(p) if compares_data(info) && succeeded(info, base.answer.result) => {
                    first_difference(&base.answer.outputs, &p.answer.outputs).map(|(i, at)| {
                        OutputDiff::around(&base.answer.outputs, &p.answer.outputs, i, at)
                    })
                }
                _ => None,
            };
            let (fd_path, previous) = context();
            board.found.push(Divergence {
                index: row.index,
                seq: row.call.seq,
                cage: row.call.cage,
                call: render::describe_call(&row.call, 32),
                kind,
                between: Some([first + 1, s + 1]),
                recorded: i64::from(base.answer.result),
                replayed: theirs.map_or(0, |p| i64::from(p.answer.result)),
                recorded_ns: base.took_ns,
                replayed_ns: theirs.and_then(|p| p.took_ns),
                output,
                fd_path,
                previous,
            });
            if !self.keep_going {
                self.stop.store(true, Ordering::Relaxed);
            }
        }
        let all_played = row.played.iter().all(Option::is_some);
        if alike
            && all_played
            && row
                .played
                .iter()
                .flatten()
                .all(|p| p.vs_recording.is_some())
        {
            board.alike_against_recording += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(seq: u64) -> SyscallRecord {
        formats::build::call(seq, 2, "write", &[3, 0x1000, 6, 0, 0, 0], 6).syscall()
    }

    fn played(result: i32, vs_recording: Option<Wrong>) -> Played {
        Played {
            answer: Answer {
                result,
                outputs: vec![],
            },
            took_ns: None,
            called_down: false,
            vs_recording,
        }
    }

    fn none() -> (Option<String>, Vec<String>) {
        (None, Vec::new())
    }

    #[test]
    fn stacks_that_differ_from_the_recording_alike_do_not_diverge() {
        let stop = Arc::new(AtomicBool::new(false));
        let c = Comparator::new(2, false, stop.clone());
        c.submit(0, 0, &write(0), played(3, Some(Wrong::Result)), &none);
        c.submit(1, 0, &write(0), played(3, Some(Wrong::Result)), &none);
        c.submit(0, 1, &write(1), played(6, None), &none);
        c.submit(1, 1, &write(1), played(2, Some(Wrong::Result)), &none);
        let found = c.findings();
        assert_eq!(found.alike_against_recording, 1);
        assert_eq!(found.compared, 2);
        assert_eq!(found.divergences.len(), 1);
        let d = &found.divergences[0];
        assert_eq!((d.index, d.kind, d.between), (1, "result", Some([1, 2])));
        assert_eq!((d.recorded, d.replayed), (6, 2));
        assert!(stop.load(Ordering::Relaxed));
    }

    #[test]
    fn one_stack_calling_down_where_the_other_did_not_is_a_divergence() {
        let c = Comparator::new(2, true, Arc::new(AtomicBool::new(false)));
        let mut down = played(6, None);
        down.called_down = true;
        c.submit(0, 0, &write(0), played(6, None), &none);
        c.submit(1, 0, &write(0), down, &none);
        let found = c.findings();
        assert_eq!(found.divergences.len(), 1);
        assert_eq!(found.divergences[0].kind, "called_down");
        assert!(
            found.divergences[0]
                .render()
                .contains("stack 1 sent the call down to the recording, stack 2 did not")
                || found.divergences[0].render().contains("sent the call down")
        );
    }

    #[test]
    fn a_record_one_stack_never_played_is_a_divergence_once_all_are_done() {
        let c = Comparator::new(2, true, Arc::new(AtomicBool::new(false)));
        c.submit(0, 4, &write(4), played(6, None), &none);
        c.finish(0);
        assert!(c.findings().divergences.is_empty(), "stack 2 still runs");
        c.finish(1);
        let found = c.findings();
        assert_eq!(found.divergences[0].kind, "not_replayed");
        assert_eq!(found.divergences[0].index, 4);
    }

    #[test]
    fn the_first_record_wins_when_stacks_find_them_out_of_order() {
        let c = Comparator::new(2, false, Arc::new(AtomicBool::new(false)));
        c.submit(0, 7, &write(7), played(6, None), &none);
        c.submit(0, 9, &write(9), played(6, None), &none);
        c.submit(1, 9, &write(9), played(1, None), &none);
        c.finish(1);
        c.finish(0);
        let found = c.findings();
        assert_eq!(found.divergences.len(), 1);
        assert_eq!(
            (found.divergences[0].index, found.divergences[0].kind),
            (7, "not_replayed")
        );
    }

    #[test]
    fn a_stack_a_window_ahead_waits_for_the_others() {
        let c = Arc::new(Comparator::new(2, true, Arc::new(AtomicBool::new(false))));
        let ahead = {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..=WINDOW as u64 {
                    c.submit(0, i, &write(i), played(6, None), &none);
                }
            })
        };
        // The first stack stops a window ahead of the second...
        while c.board().held[0] < WINDOW {
            std::thread::yield_now();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!ahead.is_finished());
        assert_eq!(c.board().rows.len(), WINDOW);
        // ...moves one on when the second plays one...
        c.submit(1, 0, &write(0), played(6, None), &none);
        while !c.board().rows.contains_key(&(WINDOW as u64)) {
            std::thread::yield_now();
        }
        assert_eq!(c.board().held[0], WINDOW);
        // ...and goes on once the second is done.
        c.finish(1);
        ahead.join().unwrap();
    }
}
