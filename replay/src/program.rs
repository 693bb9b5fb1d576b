//! tee-replay's main: read the log, bring the stack up as an argv chain
//! ending in a driver cage, serve the drivers, report.

use crate::cli::{self, Parsed, ReplayPlan, Target};
use crate::driver::{driver_main, DRIVER_FLAG};
use crate::engine::{ReplayOptions, ReplayState, Shared};
use crate::error::ReplayError;
use crate::report::{Report, StackSummary};
use crate::schedule::{Entries, Feed};
use abi::sync::lock;
use boundary::guest::Guest;
use boundary::tool_file::ToolFile;
use boundary::{Args, CageId, Errno, Program, ProgramEntry, ThreeI};
use formats::{InSeqOrder, LogEnd, LogReader, Record, RecoveryMode};
use interpose::floor::Unmatched;
use interpose::keys::{self, install_floor, Role};
use interpose::keys::{REPLAY_CALLS, STEP_FETCH, STEP_FORKED, STEP_NEXT};
use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// One tee-replay cage's program instance.
#[derive(Default)]
pub struct TeeReplay {
    /// One per stack, in command-line order.
    stacks: OnceLock<Vec<Arc<ReplayState>>>,
}

/// tee-replay as a program a cage can exec.
pub fn program_entry() -> ProgramEntry {
    ProgramEntry {
        name: "tee-replay",
        summary: "replay a trace log into a grate stack (or a directory) and report divergences",
        make: || Arc::new(TeeReplay::default()),
    }
}

impl Program for TeeReplay {
    fn main(&self, rt: &dyn ThreeI, argv: &[String]) -> i32 {
        if argv.get(1).map(String::as_str) == Some(DRIVER_FLAG) {
            let stack = argv.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
            return driver_main(rt, stack);
        }
        let guest = Guest::new(rt);
        match cli::parse(argv) {
            Ok(Parsed::Info(text)) => {
                guest.print(&text);
                0
            }
            Ok(Parsed::Run(plan)) => match replay(&self.stacks, rt, argv, &plan) {
                Ok(code) => code,
                Err(error) => {
                    guest.eprint(&format!("tee-replay: {error}\n"));
                    error.exit_status()
                }
            },
            Err(message) => {
                let error = ReplayError::Usage(message);
                guest.eprint(&format!("tee-replay: {error}\n"));
                error.exit_status()
            }
        }
    }

    fn handle(&self, rt: &dyn ThreeI, handler: u64, _cageid: CageId, args: &Args) -> i32 {
        let Some(stacks) = self.stacks.get().filter(|s| !s.is_empty()) else {
            return Errno::ENOSYS.ret();
        };
        let from = args[0].owner();
        // A driver names its stack in the last argument of each step call.
        let of = |at: usize| {
            usize::try_from(args[at].value)
                .ok()
                .and_then(|i| stacks.get(i))
        };
        match keys::split(handler) {
            Some((Role::Floor, nr)) => {
                // One floor under every stack; it answers for any driver.
                let floor = &stacks[0].floor;
                let unmatched = if stacks[0].passthrough() {
                    Unmatched::PassThrough
                } else {
                    Unmatched::Refuse(Errno::ENOSYS)
                };
                let is_driver = |c| stacks.iter().any(|s| s.is_driver(c));
                floor.handle(rt, nr, args, &is_driver, unmatched)
            }
            Some((Role::Private, STEP_NEXT)) => match of(4) {
                Some(state) => {
                    let outcome = (args[1].value > 0).then_some((args[0].value, args[1].value));
                    state.next(rt, from, outcome, args[2].value, args[3].value)
                }
                None => Errno::EINVAL.ret(),
            },
            Some((Role::Private, STEP_FETCH)) => match of(1) {
                Some(state) => state.fetch(rt, from, args[0].value),
                None => Errno::EINVAL.ret(),
            },
            Some((Role::Private, STEP_FORKED)) => match of(2) {
                Some(state) => state.forked(args[0].value, CageId(args[1].value)),
                None => Errno::EINVAL.ret(),
            },
            _ => Errno::ENOSYS.ret(),
        }
    }
}

/// How many damaged ranges a salvaging replay names one by one.
const DAMAGE_LINES: u64 = 10;

/// The log in replay order, read through this cage's own table.
fn open_log(rt: &dyn ThreeI, plan: &ReplayPlan) -> Result<InSeqOrder<LogFile>, ReplayError> {
    let log = plan.log.to_string_lossy().into_owned();
    let file = match ToolFile::open(rt, &log) {
        Ok(file) => file,
        Err(error) => return Err(ReplayError::LogOpen { log, error }),
    };
    let mode = if plan.salvage {
        RecoveryMode::Salvage
    } else {
        RecoveryMode::Strict
    };
    match LogReader::new(std::io::BufReader::with_capacity(LOG_BUFFER, file), mode) {
        Ok(reader) => Ok(InSeqOrder::new(reader.max_inflation(plan.max_inflation))),
        Err(error) => Err(ReplayError::LogRead { log, error }),
    }
}

/// The log's file, buffered.
type LogFile = std::io::BufReader<ToolFile>;

/// Bytes read from the log per call.
const LOG_BUFFER: usize = 256 << 10;

/// What a first pass over the log found: how many records it replays,
/// how many processes it forks, and how it ends.
struct Scan {
    records: u64,
    /// Where the last good frame ends: the log's size, near enough.
    bytes: u64,
    forks: u64,
    end: &'static str,
}

/// Reads the whole log once, in replay order, before anything runs: a log
/// that is damaged, out of order or too big for Lind's cages is refused
/// before a stack comes up, and damage is reported once. Only counts are
/// kept; the replay reads the log again as it goes.
fn scan(rt: &dyn ThreeI, plan: &ReplayPlan, guest: &Guest<'_>) -> Result<Scan, ReplayError> {
    let log = plan.log.to_string_lossy().into_owned();
    let mut entries = open_log(rt, plan)?;
    let (mut records, mut forks, mut said) = (0, 0, 0);
    loop {
        let next = entries.next_entry();
        // Only the first few ranges are named; the tally counts them all.
        for damage in entries.reader_mut().take_damage() {
            if said < DAMAGE_LINES {
                said += 1;
                guest.eprint(&format!(
                    "tee-replay: {log}: skipped damaged bytes: {damage}\n"
                ));
            }
        }
        match next {
            Ok(Some(entry)) => {
                records += 1;
                forks += u64::from(matches!(entry.record, Record::Fork(f) if !f.thread));
            }
            Ok(None) => break,
            Err(error) => return Err(ReplayError::LogRead { log, error }),
        }
    }
    let reader = entries.reader();
    let tally = reader.damage_tally();
    if tally.ranges > said {
        guest.eprint(&format!(
            "tee-replay: {log}: skipped {} damaged ranges ({} bytes) in all\n",
            tally.ranges, tally.bytes
        ));
    }
    let end = match reader.end() {
        Some(LogEnd::Clean { .. }) if tally.ranges == 0 => "clean",
        Some(LogEnd::Clean { .. }) => "salvaged",
        Some(LogEnd::Incomplete { offset }) => {
            guest.eprint(&format!("tee-replay: {log}: warning: incomplete log (no trailer at offset {offset}); replaying what is there\n"));
            "incomplete"
        }
        Some(LogEnd::TornTail { offset, .. }) => {
            guest.eprint(&format!("tee-replay: {log}: warning: torn tail at offset {offset}; replaying the good prefix\n"));
            "torn"
        }
        None => "unknown",
    };
    Ok(Scan {
        records,
        bytes: reader.valid_offset(),
        forks,
        end,
    })
}

/// The log's records in replay order for the replay itself, read as it
/// goes; the scan has already reported its damage.
fn entries(rt: &dyn ThreeI, plan: &ReplayPlan) -> Result<Entries, ReplayError> {
    Ok(Box::new(open_log(rt, plan)?))
}

fn replay(
    slot: &OnceLock<Vec<Arc<ReplayState>>>,
    rt: &dyn ThreeI,
    argv: &[String],
    plan: &ReplayPlan,
) -> Result<i32, ReplayError> {
    let guest = Guest::new(rt);
    let calls = plan.calls.clone();
    // Created before the replay, so a path that cannot take it fails now.
    let mut report_file = plan
        .report
        .as_ref()
        .map(|path| ToolFile::create_output(rt, &path.to_string_lossy(), plan.force))
        .transpose()
        .map_err(ReplayError::ReportCreate)?;
    let scan = scan(rt, plan, &guest)?;
    let options = ReplayOptions {
        cages: plan.cages.as_ref().map(|c| c.iter().copied().collect()),
        calls,
        until: plan.until,
        keep_going: plan.keep_going,
        passthrough: plan.passthrough,
    };
    let chains = match &plan.target {
        Target::Dir(dir) => {
            let mut failed = None;
            let meter = crate::progress::meter(scan.records, scan.bytes);
            let records = entries(rt, plan)?
                .map_while(|next| next.map_err(|e| failed = Some(e)).ok())
                .inspect(|entry| meter.show(entry.index));
            let done = replay_into_dir(&guest, records, dir, &options);
            meter.finish();
            if let Some(error) = failed {
                let log = plan.log.to_string_lossy().into_owned();
                return Err(ReplayError::LogRead { log, error });
            }
            let (status, summary) = done?;
            if let (Some(file), Some(path)) = (&mut report_file, &plan.report) {
                write_json(file, &path.to_string_lossy(), &summary)?;
            }
            return Ok(status);
        }
        Target::Stacks(chains) => chains,
    };
    check_cage_budget(plan, chains, scan.forks)?;
    let total = scan.records as usize;
    let shared = Shared::new(chains.len(), &options);
    // Each stack reads the log on its own, as it goes.
    let mut states = Vec::with_capacity(chains.len());
    for stack in 0..chains.len() {
        let feed = Feed::new(entries(rt, plan)?);
        let state = ReplayState::of_stack(feed, total, options.clone(), &shared, stack);
        states.push(Arc::new(state));
    }
    let states = slot.get_or_init(|| states).clone();
    let mut tops = Vec::with_capacity(chains.len());
    for (stack, chain) in chains.iter().enumerate() {
        let mut argv_chain = chain.clone();
        argv_chain.push(argv.first().cloned().unwrap_or_else(|| "tee-replay".into()));
        argv_chain.push(DRIVER_FLAG.into());
        argv_chain.push(stack.to_string());
        let mut setup = |top: CageId| install_floor(rt, top, &REPLAY_CALLS);
        let top =
            rt.spawn_child(&argv_chain, &mut setup)
                .map_err(|errno| ReplayError::StackStart {
                    chain: chain.clone(),
                    errno,
                })?;
        tops.push(top);
        // On Lind, a fork racing with another cage's fork can return the
        // wrong child id to its parent (seen: the replayer's second fork
        // returned 4 for a child that was cage 3, while the first stack's
        // grate forked cage 4), and the handlers meant for the new stack
        // then land on another cage. So a stack is brought up only once
        // the one before has finished forking: its driver has arrived.
        if stack + 1 < chains.len() {
            await_arrival(&guest, &states[stack]);
        }
    }
    shared.started.open();
    let progress = crate::progress::meter(scan.records, scan.bytes);
    let mut finished = vec![false; states.len()];
    let mut lost = None;
    loop {
        // A stack whose drivers are all done lets the others past the
        // comparison window; a stop wakes whoever waits.
        for (stack, state) in states.iter().enumerate() {
            if !finished[stack] && state.drivers_done() {
                finished[stack] = true;
                if let Some(comparator) = &shared.comparator {
                    comparator.finish(stack);
                }
            }
        }
        if shared.stop.load(Ordering::Relaxed) {
            states.iter().for_each(|s| s.wake_all());
            if let Some(comparator) = &shared.comparator {
                comparator.wake();
            }
        }
        if lost.is_none() {
            lost = states.iter().find_map(|state| state.lost_driver(&guest));
        }
        match guest.waitpid(-1, boundary::wait::WNOHANG) {
            Ok((pid, _)) if pid.0 == 0 => {
                let slowest = states.iter().map(|s| s.position()).min().unwrap_or(0);
                progress.show(slowest as u64);
                boundary::clock::pause(std::time::Duration::from_millis(20));
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    progress.finish();
    for state in &states {
        if let Some(error) = state.read_failure() {
            let log = plan.log.to_string_lossy().into_owned();
            return Err(ReplayError::LogRead { log, error });
        }
    }
    if let Some((driver, cage)) = lost {
        return Err(ReplayError::DriverLost { driver, cage });
    }
    for ((state, chain), top) in states.iter().zip(chains).zip(&tops) {
        if !state.drivers_done() {
            return Err(ReplayError::StackEnded {
                chain: chain.clone(),
                top: *top,
            });
        }
    }
    if let Some(comparator) = &shared.comparator {
        (0..states.len()).for_each(|s| comparator.finish(s));
    }
    let findings = shared.comparator.as_ref().map(|c| c.findings());
    let first = &states[0];
    let divergences = match &findings {
        Some(found) => found.divergences.clone(),
        None => lock(&first.divergences).clone(),
    };
    let report = Report {
        log: plan.log.to_string_lossy().into_owned(),
        records: first.total(),
        replayed: first.replayed.load(Ordering::Relaxed),
        skipped: first
            .skipped()
            .into_iter()
            .map(|(r, n)| (r.to_string(), n))
            .collect(),
        answered_by_replayer: first.floor.counts.answered.load(Ordering::Relaxed),
        cut_inputs: first.cut_inputs.load(Ordering::Relaxed),
        divergences,
        log_end: scan.end.to_string(),
        stacks: states
            .iter()
            .zip(chains)
            .map(|(state, chain)| StackSummary {
                chain: chain.join(" "),
                replayed: state.replayed.load(Ordering::Relaxed),
                unlike_recording: state.unlike_recording.load(Ordering::Relaxed),
            })
            .collect(),
        compared: findings.as_ref().map(|f| f.compared),
        alike_against_recording: findings.as_ref().map(|f| f.alike_against_recording),
    };
    for divergence in &report.divergences {
        guest.print(&divergence.render());
    }
    guest.eprint(&report.summary());
    if let (Some(file), Some(path)) = (&mut report_file, &plan.report) {
        write_json(file, &path.to_string_lossy(), &report)?;
    }
    let found = if report.divergences.is_empty() {
        abi::exit::DONE
    } else {
        abi::exit::FOUND
    };
    Ok(i32::from(found))
}

/// Waits until `state`'s first driver has asked for a step, or its chain
/// has ended (reported once every stack is done).
fn await_arrival(guest: &Guest<'_>, state: &ReplayState) {
    while !state.arrived.is_open() {
        if let Ok((pid, _)) = guest.waitpid(-1, boundary::wait::WNOHANG) {
            if pid.0 != 0 {
                return;
            }
        }
        boundary::clock::pause(std::time::Duration::from_millis(2));
    }
}

/// Refuses a log that needs more cages than Lind has: the replayer, each
/// grate of the stack and one driver per recorded process each take a cage
/// id, ids are never reused, and past the last one Lind's fork panics.
fn check_cage_budget(
    plan: &ReplayPlan,
    chains: &[Vec<String>],
    forks: u64,
) -> Result<(), ReplayError> {
    let per_stack = |chain: &Vec<String>| chain.len() as u64 + 1 + forks;
    let needed = 1 + chains.iter().map(per_stack).sum::<u64>();
    let available = boundary::consts::MAX_CAGEID - 1;
    if needed > available {
        return Err(ReplayError::CageBudget {
            log: plan.log.display().to_string(),
            processes: forks + 1,
            needed,
            available,
        });
    }
    Ok(())
}

/// Writes `value` as pretty JSON to the report file `name`.
fn write_json(
    file: &mut ToolFile,
    name: &str,
    value: &impl serde::Serialize,
) -> Result<(), ReplayError> {
    let failed = |error: std::io::Error| ReplayError::ReportWrite {
        report: name.to_string(),
        error,
    };
    let json = serde_json::to_vec_pretty(value).map_err(|e| failed(e.into()))?;
    file.write_all(&json).map_err(failed)
}

#[cfg(unix)]
use crate::into_dir::replay_into_dir;

/// What `--into-dir` did; only the native build has it.
#[cfg(not(unix))]
#[derive(serde::Serialize)]
struct DirSummary;

/// `--into-dir` writes host files with std::fs, which a Lind grate cannot.
#[cfg(not(unix))]
fn replay_into_dir(
    _: &Guest<'_>,
    _: impl Iterator<Item = formats::Entry>,
    _: &std::path::Path,
    _: &ReplayOptions,
) -> Result<(i32, DirSummary), ReplayError> {
    Err(ReplayError::IntoDirOnLind)
}
