//! tee-replay's side of the private channel: hands each driver its steps,
//! sets the floor's expectations, and compares what the stack returned with
//! what was recorded.

use crate::compare::{Comparator, Played};
use crate::report::{kind_of, Divergence, FdHistory, OutputDiff};
use crate::schedule::{owner, Entry, Feed, Schedule, SkipReason};
use crate::step::Step;
use abi::catalog::CallFilter;
use abi::sync::lock;
use boundary::clock::CLOCK_MONOTONIC;
use boundary::{nr, Args, CageId, Errno, ThreeI};
use formats::{Record, SyscallRecord};
use interpose::capture::succeeded;
use interpose::fdpair::{FdPairs, PairTable};
use interpose::floor::{Expected, Floor, Inputs};
use interpose::verdict::{compares_data, first_difference};
use interpose::verdict::{verdict, Answer, Side, Wrong};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Largest outcome a driver may report.
const MAX_OUTCOME: u64 = 256 << 20;

/// What the command line chose.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// Only these recorded cages' calls are issued (forks and exits always are).
    pub cages: Option<HashSet<u64>>,
    pub calls: CallFilter,
    /// Stop after the record with this index.
    pub until: Option<u64>,
    pub keep_going: bool,
    /// Let the stack's downward calls reach the real system.
    pub passthrough: bool,
}

/// A step handed out and not yet answered.
struct Pending {
    entry: Option<Entry>,
    bytes: Vec<u8>,
    expectation: Option<u64>,
    /// The replayer's monotonic clock when the step was handed out.
    handed_ns: Option<u64>,
}

/// The replayer's state, shared by its main and every handler call.
pub struct ReplayState {
    /// How many records the feed holds in all.
    total: usize,
    options: ReplayOptions,
    schedule: Mutex<Schedule>,
    pending: Mutex<std::collections::HashMap<CageId, Pending>>,
    pub pairs: FdPairs,
    /// Under every stack of the replay: expectations are per driver cage,
    /// and no two stacks share one.
    pub floor: Arc<Floor>,
    history: FdHistory,
    /// Against the recording; in a differential replay, the comparator
    /// keeps the divergences and these are only counted.
    pub divergences: Mutex<Vec<Divergence>>,
    /// Replayed calls whose outcome differs from the recording.
    pub unlike_recording: AtomicU64,
    pub replayed: AtomicU64,
    /// Replayed calls whose recorded input was cut (`--max-buffer`): the
    /// stack got fewer bytes than the app wrote.
    pub cut_inputs: AtomicU64,
    /// A gap (calls the tee did not record) has been passed: outcomes that
    /// differ from the recording are no longer divergences.
    after_gap: AtomicBool,
    /// Shared by every stack of the replay: the first divergence ends it.
    stop: Arc<AtomicBool>,
    /// This stack's place on the command line, from 0.
    stack: usize,
    comparator: Option<Arc<Comparator>>,
    started: Arc<Gate>,
    /// Opened when this stack's first driver asks for a step: its chain
    /// has finished forking.
    pub arrived: Gate,
}

/// What the stacks of one replay share: the floor, the stop flag and, with
/// more than one stack, the comparator.
#[derive(Clone)]
pub struct Shared {
    pub floor: Arc<Floor>,
    pub stop: Arc<AtomicBool>,
    pub comparator: Option<Arc<Comparator>>,
    /// Set once every stack is up: no driver takes a step before.
    pub started: Arc<Gate>,
}

/// A gate that opens once and stays open. Every replayed step passes
/// through two, so an open gate costs one atomic load.
#[derive(Default)]
pub struct Gate {
    is_open: AtomicBool,
    open: Mutex<bool>,
    opened: std::sync::Condvar,
}

impl Gate {
    /// Opens the gate for everyone waiting and to come.
    pub fn open(&self) {
        if self.is_open() {
            return;
        }
        *lock(&self.open) = true;
        self.is_open.store(true, Ordering::Release);
        self.opened.notify_all();
    }

    /// Whether the gate is open.
    pub fn is_open(&self) -> bool {
        self.is_open.load(Ordering::Acquire)
    }

    /// Waits until the gate is open.
    pub fn wait(&self) {
        if self.is_open() {
            return;
        }
        let mut open = lock(&self.open);
        while !*open {
            open = self.opened.wait(open).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Shared {
    /// What `stacks` stacks share.
    pub fn new(stacks: usize, options: &ReplayOptions) -> Shared {
        // --passthrough lets the stack reach the real system; otherwise
        // nothing of the host leaks into the replay either.
        let floor = if options.passthrough {
            Floor::new()
        } else {
            Floor::sealed()
        };
        let stop = Arc::new(AtomicBool::new(false));
        let comparator = (stacks > 1)
            .then(|| Arc::new(Comparator::new(stacks, options.keep_going, stop.clone())));
        let started = Arc::new(Gate::default());
        if stacks == 1 {
            started.open();
        }
        Shared {
            floor: Arc::new(floor),
            stop,
            comparator,
            started,
        }
    }
}

impl ReplayState {
    /// A replay of the `total` records of `feed` into one stack.
    pub fn new(feed: Feed, total: usize, options: ReplayOptions) -> ReplayState {
        let shared = Shared::new(1, &options);
        ReplayState::of_stack(feed, total, options, &shared, 0)
    }

    /// Stack number `stack` (from 0) of a replay whose stacks share
    /// `shared`; each reads its own `feed` of the same log.
    pub fn of_stack(
        feed: Feed,
        total: usize,
        options: ReplayOptions,
        shared: &Shared,
        stack: usize,
    ) -> ReplayState {
        ReplayState {
            total,
            options,
            schedule: Mutex::new(Schedule::new(feed)),
            pending: Mutex::default(),
            pairs: FdPairs::default(),
            floor: shared.floor.clone(),
            history: FdHistory::default(),
            divergences: Mutex::default(),
            unlike_recording: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            cut_inputs: AtomicU64::new(0),
            after_gap: AtomicBool::new(false),
            stop: shared.stop.clone(),
            stack,
            comparator: shared.comparator.clone(),
            started: shared.started.clone(),
            arrived: Gate::default(),
        }
    }

    /// Wakes every driver of this stack (the replay is stopping).
    pub fn wake_all(&self) {
        self.schedule().ring_all();
    }

    fn schedule(&self) -> MutexGuard<'_, Schedule> {
        // Each update is complete before any call that could panic.
        lock(&self.schedule)
    }

    fn pending(&self) -> MutexGuard<'_, std::collections::HashMap<CageId, Pending>> {
        lock(&self.pending)
    }

    /// Whether the stack's downward calls reach the real system.
    pub fn passthrough(&self) -> bool {
        self.options.passthrough
    }

    /// Whether `cage` is a driver (the floor answers for drivers).
    pub fn is_driver(&self, cage: CageId) -> bool {
        self.schedule().is_live(cage)
    }

    /// Skipped records by reason, and how many drivers still run.
    pub fn skipped(&self) -> Vec<(&'static str, u64)> {
        self.schedule().skipped()
    }

    /// The number of records in replay order.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The read error that cut the replay short, if one did.
    pub fn read_failure(&self) -> Option<formats::ReadError> {
        self.schedule().take_failure()
    }

    /// How far the replay got.
    pub fn position(&self) -> usize {
        self.schedule().position()
    }

    /// Takes `driver`'s outcome of its last step if it sends one (address
    /// and length in its memory), then stages its next step and copies it
    /// to `buf` if it fits in `cap` bytes. Returns the step's length; one
    /// above `cap` is left for [`ReplayState::fetch`].
    pub fn next(
        &self,
        rt: &dyn ThreeI,
        driver: CageId,
        outcome: Option<(u64, u64)>,
        buf: u64,
        cap: u64,
    ) -> i32 {
        // Every stack is up before any takes a step (see `replay`'s
        // spawning, which waits for each chain to arrive here).
        self.arrived.open();
        self.started.wait();
        // One reading ends the last step's time and starts this one's: a
        // replayed call is timed from its step's handing out to its
        // outcome, the stack's time plus the driver's own around it. The
        // driver cannot time itself: its clock calls would go through the
        // stack under test.
        let now = rt.clock_ns(CLOCK_MONOTONIC).ok();
        if let Some((addr, len)) = outcome {
            let taken = self.result(rt, driver, addr, len, now);
            if taken != 0 {
                return taken;
            }
        }
        let (step, entry) = self.next_step(driver);
        let expectation = self.expect(driver, &step, entry.as_ref());
        let bytes = postcard::to_allocvec(&step).unwrap_or_default();
        let len = bytes.len() as i32;
        let fits = bytes.len() as u64 <= cap;
        let pending = Pending {
            entry,
            bytes,
            expectation,
            handed_ns: now,
        };
        self.pending().insert(driver, pending);
        // A step that fits goes to the driver now; one that does not waits
        // for its fetch.
        if fits {
            let copied = self.fetch(rt, driver, buf);
            if copied != 0 {
                return copied;
            }
        }
        len
    }

    fn expect(&self, driver: CageId, step: &Step, entry: Option<&Entry>) -> Option<u64> {
        if self.options.passthrough {
            return None;
        }
        let expected = match (step, entry.map(|e| &e.record)) {
            (Step::Call(call), Some(Record::Syscall(recorded))) => Expected {
                nr: call.nr,
                scratch: None,
                inputs: Some(Inputs::Recorded(recorded.inputs.clone())),
                answer: Arc::new(Answer {
                    result: recorded.result as i32,
                    outputs: recorded.outputs.clone(),
                }),
            },
            (Step::Exec { .. }, _) => Expected::plain(nr::EXECVE, Arc::default()),
            _ => return None,
        };
        Some(self.floor.expect_until_withdrawn(driver, expected))
    }

    /// Copies `driver`'s staged step to `addr` in its memory.
    pub fn fetch(&self, rt: &dyn ThreeI, driver: CageId, addr: u64) -> i32 {
        let pending = self.pending();
        let Some(p) = pending.get(&driver) else {
            return Errno::EINVAL.ret();
        };
        match rt.write_foreign(addr, driver, &p.bytes) {
            Ok(()) => 0,
            Err(errno) => errno.ret(),
        }
    }

    /// Takes the next step for `driver`, waiting for its turn.
    fn next_step(&self, driver: CageId) -> (Step, Option<Entry>) {
        let mut schedule = self.schedule();
        schedule.arrive(driver);
        loop {
            let Some(mine) = schedule.cage_of(driver) else {
                if schedule.unbound() {
                    schedule.bind_root(driver);
                } else {
                    schedule = self.wait_turn(schedule, driver);
                }
                continue;
            };
            let Some(entry) = schedule.peek() else {
                return self.leave(&mut schedule, driver, Step::Done);
            };
            if self.stop.load(Ordering::Relaxed)
                || self.options.until.is_some_and(|u| entry.index > u)
            {
                return self.leave(&mut schedule, driver, Step::Done);
            }
            // What the checks below need of the record, read before the
            // schedule changes.
            let is_gap = matches!(entry.record, Record::Gap(_));
            let owner_cage = owner(&entry.record);
            let forked = match &entry.record {
                Record::Fork(f) if !f.thread => Some(f.child),
                _ => None,
            };
            if is_gap {
                // What follows may depend on calls the log lacks: it is
                // replayed, and no longer judged.
                self.after_gap.store(true, Ordering::Relaxed);
                schedule.skip(SkipReason::Gap);
                continue;
            }
            let Some(cage) = owner_cage else {
                schedule.skip(SkipReason::NotACall);
                continue;
            };
            if schedule.has_ended(cage) {
                schedule.skip(SkipReason::AfterExit);
                continue;
            }
            // A fork of a cage id the log has already shown: Lind never
            // reuses one, so its driver would be a second player of it.
            let reused = forked.is_some_and(|child| schedule.is_known_cage(child));
            if reused && schedule.driver_of(cage).is_some() {
                schedule.skip(SkipReason::ReusedCageId);
                continue;
            }
            if !schedule.playable(cage) {
                let app_start = forked.is_some_and(|child| schedule.driver_of(child).is_some());
                schedule.skip(if app_start {
                    SkipReason::AppStart
                } else {
                    SkipReason::NeverForked
                });
                continue;
            }
            if cage != mine {
                schedule = self.wait_turn(schedule, driver);
                continue;
            }
            let Some(entry) = schedule.take() else {
                continue;
            };
            let step = match &entry.record {
                Record::Syscall(call) => match self.call_step(call) {
                    Ok(step) => step,
                    Err(reason) => {
                        schedule.count_skip(reason);
                        continue;
                    }
                },
                Record::Fork(fork) if !fork.thread => {
                    self.history.note(&entry.record, entry.index);
                    schedule.start_fork(fork.child);
                    self.pairs.fork(CageId(fork.parent), CageId(fork.child));
                    Step::Fork { child: fork.child }
                }
                Record::Exec(exec) if exec.result == 0 => {
                    self.history.note(&entry.record, entry.index);
                    self.pairs.exec(CageId(exec.cage));
                    Step::Exec {
                        path: exec.path.clone(),
                        argv: exec.argv.clone(),
                    }
                }
                Record::Exit(exit) if exit.process => {
                    self.history.note(&entry.record, entry.index);
                    self.pairs.exit(CageId(exit.cage));
                    schedule.end(exit.cage);
                    let status = exit.status;
                    return self.leave(&mut schedule, driver, Step::Exit { status });
                }
                _ => {
                    schedule.count_skip(SkipReason::ThreadOrFailedLifecycle);
                    continue;
                }
            };
            return (step, Some(entry));
        }
    }

    fn leave(&self, schedule: &mut Schedule, driver: CageId, step: Step) -> (Step, Option<Entry>) {
        schedule.leave(driver);
        self.wake_next(schedule);
        (step, None)
    }

    /// Waits until `driver` may have a turn, having woken whoever has it
    /// now.
    fn wait_turn<'a>(
        &self,
        mut schedule: MutexGuard<'a, Schedule>,
        driver: CageId,
    ) -> MutexGuard<'a, Schedule> {
        self.wake_next(&mut schedule);
        let bell = schedule.bell(driver);
        bell.wait(schedule).unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the one driver that can move the replay on: the one playing
    /// the next record's cage, or any waiting driver to skip a record no
    /// driver plays, or every driver once the replay is over. Waking only
    /// the one whose turn it is keeps each step's cost flat however many
    /// recorded cages are alive at once.
    fn wake_next(&self, schedule: &mut Schedule) {
        let next = schedule.peek().map(|e| {
            (
                self.options.until.is_some_and(|u| e.index > u),
                owner(&e.record),
            )
        });
        let over = self.stop.load(Ordering::Relaxed) || next.is_none_or(|(past, _)| past);
        if over {
            schedule.ring_all();
            return;
        }
        match next.and_then(|(_, cage)| cage) {
            Some(cage) if schedule.driver_of(cage).is_some() => {
                if let Some(driver) = schedule.driver_of(cage) {
                    schedule.ring(driver);
                }
            }
            // Its driver is being forked: binding it rings it.
            Some(cage) if schedule.playable(cage) => {}
            _ => schedule.ring_any(),
        }
    }

    /// The call step for a recorded call, or why it is not replayed.
    fn call_step(&self, call: &SyscallRecord) -> Result<Step, SkipReason> {
        let info = abi::catalog::lookup(call.nr).ok_or(SkipReason::NotInCatalog)?;
        if matches!(call.nr, nr::WAIT4 | nr::KILL) {
            return Err(SkipReason::ProcessCall);
        }
        // The tee records forks, execs and exits as records of their own;
        // issued as a call, one would fork or end a driver behind the
        // replay's back.
        if matches!(
            info.ret,
            abi::catalog::RetKind::ChildId | abi::catalog::RetKind::NoReturn
        ) {
            return Err(SkipReason::LifecycleAsCall);
        }
        // A grate's handler-table and memory calls act on the runtime
        // itself, not on a file system a stack could answer for: issued,
        // one would reroute the driver's own calls (docs/lind-3i.md §3).
        if (nr::REGISTER_HANDLER..=nr::COPY_HANDLER_TABLE_TO_CAGE).contains(&call.nr) {
            return Err(SkipReason::ThreeiCall);
        }
        // No app can pass a C string with a NUL inside: such a record was
        // made by hand, and replayed it would name another path.
        let c_string_with_nul = info.args.iter().enumerate().any(|(pos, kind)| {
            *kind == abi::catalog::ArgKind::In(abi::catalog::Len::CStr)
                && call
                    .inputs
                    .iter()
                    .any(|b| usize::from(b.arg) == pos && b.data.contains(&0))
        });
        if c_string_with_nul {
            return Err(SkipReason::NulInPath);
        }
        if !self.options.calls.matches(call.nr) {
            return Err(SkipReason::FilteredByCalls);
        }
        if self
            .options
            .cages
            .as_ref()
            .is_some_and(|c| !c.contains(&call.cage))
        {
            return Err(SkipReason::FilteredByCages);
        }
        let full = call.full_args();
        let args: Args = full.map(|(value, cage)| boundary::Arg { value, cage });
        let mapped = self
            .pairs
            .translate_args(info, CageId(call.cage), &args)
            .ok_or(SkipReason::FdNotOpen)?;
        let mut step = call.clone();
        step.args = SyscallRecord::args_from_full(call.cage, &mapped.map(|a| (a.value, a.cage)));
        Ok(Step::Call(step))
    }

    /// Takes `driver`'s outcome for its last step and compares it.
    fn result(
        &self,
        rt: &dyn ThreeI,
        driver: CageId,
        addr: u64,
        len: u64,
        now: Option<u64>,
    ) -> i32 {
        let Some(pending) = self.pending().remove(&driver) else {
            return Errno::EINVAL.ret();
        };
        let called_down = pending
            .expectation
            .is_some_and(|id| self.floor.withdraw(driver, id) > 0);
        if len > MAX_OUTCOME {
            return Errno::E2BIG.ret();
        }
        let mut bytes = vec![0; len as usize];
        if let Err(errno) = rt.read_foreign(addr, driver, &mut bytes) {
            return errno.ret();
        }
        let Ok(outcome) = postcard::from_bytes::<Answer>(&bytes) else {
            return Errno::EINVAL.ret();
        };
        if let Some(entry) = &pending.entry {
            let took = pending.handed_ns.zip(now).map(|(a, b)| b.saturating_sub(a));
            self.judge(entry, &outcome, took, called_down);
        }
        self.wake_next(&mut self.schedule());
        0
    }

    fn judge(&self, entry: &Entry, outcome: &Answer, took_ns: Option<u64>, called_down: bool) {
        self.replayed.fetch_add(1, Ordering::Relaxed);
        let Record::Syscall(call) = &entry.record else {
            return;
        };
        if call.input_was_cut() {
            self.cut_inputs.fetch_add(1, Ordering::Relaxed);
        }
        let Some(info) = abi::catalog::lookup(call.nr) else {
            return;
        };
        let recorded = call.result as i32;
        let cage = CageId(call.cage);
        let args: Args = call
            .full_args()
            .map(|(value, cage)| boundary::Arg { value, cage });
        let mine = Side {
            result: recorded,
            outputs: &call.outputs,
        };
        let wrong = verdict(info, mine, outcome.side());
        let wrong = match wrong {
            Some(_) if self.after_gap.load(Ordering::Relaxed) => {
                self.schedule().count_skip(SkipReason::AfterGap);
                None
            }
            wrong => wrong,
        };
        // A wrong result is shown with the first differing output byte too.
        let output = match wrong {
            Some(Wrong::Output { buffer, offset }) => Some((buffer, offset)),
            Some(_) if compares_data(info) && succeeded(info, recorded) => {
                first_difference(&call.outputs, &outcome.outputs)
            }
            _ => None,
        }
        .map(|(i, offset)| OutputDiff::around(&call.outputs, &outcome.outputs, i, offset));
        let fd = match info.args.first() {
            Some(abi::catalog::ArgKind::Fd) => Some(args[0].as_i32()),
            _ => None,
        };
        let context = || {
            (
                fd.and_then(|fd| self.history.path(cage, fd)),
                fd.map(|fd| self.history.previous(cage, fd))
                    .unwrap_or_default(),
            )
        };
        if wrong.is_some() {
            self.unlike_recording.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(comparator) = &self.comparator {
            // The recording is the stacks' input here, not their judge.
            let played = Played {
                answer: outcome.clone(),
                took_ns,
                called_down,
                vs_recording: wrong,
            };
            comparator.submit(self.stack, entry.index, call, played, &context);
        } else if let Some(wrong) = wrong {
            let (fd_path, previous) = context();
            let divergence = Divergence {
                index: entry.index,
                seq: call.seq,
                cage: call.cage,
                call: render::describe_call(call, 32),
                kind: kind_of(wrong),
                between: None,
                recorded: call.result,
                replayed: i64::from(outcome.result),
                recorded_ns: call.duration_ns,
                replayed_ns: took_ns,
                output,
                fd_path,
                previous,
            };
            lock(&self.divergences).push(divergence);
            if !self.options.keep_going {
                self.stop.store(true, Ordering::Relaxed);
            }
        }
        self.history.note(&entry.record, entry.index);
        self.pairs.forget_closed(info, cage, &args);
        self.pairs.track(info, cage, &args, mine, outcome.side());
    }

    /// A driver forked the driver for recorded cage `child`.
    pub fn forked(&self, child: u64, driver: CageId) -> i32 {
        let mut schedule = self.schedule();
        if driver.0 == 0 {
            schedule.fork_failed(child);
        } else {
            schedule.bind(driver, child);
            schedule.ring(driver);
        }
        self.wake_next(&mut schedule);
        0
    }

    /// Drivers that no longer exist though they never took their last step
    /// (a trap in the driver, a kill): nothing can play their cages' records
    /// and others may wait on their turn, so the replay stops. Returns the
    /// first such driver with the recorded cage it played.
    pub fn lost_driver(&self, guest: &boundary::Guest<'_>) -> Option<(CageId, u64)> {
        let live = self.schedule().live_arrived();
        let gone: Vec<CageId> = live.into_iter().filter(|&d| guest.is_gone(d)).collect();
        let mut schedule = self.schedule();
        // One that left (its exit step taken) between the two looks is
        // not lost: a driver still in `live` after it was found gone can
        // never have left.
        let lost = gone.into_iter().find(|&d| schedule.is_live(d))?;
        schedule.leave(lost);
        self.stop.store(true, Ordering::Relaxed);
        schedule.ring_all();
        let played = schedule.cage_of(lost).unwrap_or(0);
        Some((lost, played))
    }

    /// Whether every driver has finished.
    pub fn drivers_done(&self) -> bool {
        let schedule = self.schedule();
        schedule.all_left()
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
