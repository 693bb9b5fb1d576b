//! tee-replay's main: read the log, bring the stack up as an argv chain
//! ending in a driver cage, serve the drivers, report.

use crate::cli::{self, Parsed, ReplayPlan, Target};
use crate::driver::{driver_main, DRIVER_FLAG};
use crate::engine::{ReplayOptions, ReplayState};
use crate::error::ReplayError;
use crate::report::Report;
use crate::schedule::in_replay_order;
use boundary::consts::open_flags;
use boundary::guest::Guest;
use boundary::guest_file::GuestFile;
use boundary::{Args, CageId, Errno, Program, ProgramEntry, ThreeI};
use formats::{LogEnd, LogReader, Record, RecoveryMode};
use interpose::floor::Unmatched;
use interpose::keys::{self, install_floor, Role};
use interpose::keys::{REPLAY_CALLS, STEP_FETCH, STEP_FORKED, STEP_LEN, STEP_RESULT};
use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// One tee-replay cage's program instance.
#[derive(Default)]
pub struct TeeReplay {
    state: OnceLock<Arc<ReplayState>>,
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
            return driver_main(rt);
        }
        let guest = Guest::new(rt);
        match cli::parse(argv) {
            Ok(Parsed::Info(text)) => {
                guest.print(&text);
                0
            }
            Ok(Parsed::Run(plan)) => match replay(&self.state, rt, argv, &plan) {
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
        let Some(state) = self.state.get() else {
            return Errno::ENOSYS.ret();
        };
        let from = args[0].owner();
        match keys::split(handler) {
            Some((Role::Floor, nr)) => {
                let unmatched = if state.passthrough() {
                    Unmatched::PassThrough
                } else {
                    Unmatched::Refuse(Errno::ENOSYS)
                };
                state
                    .floor
                    .handle(rt, nr, args, &|c| state.is_driver(c), unmatched)
            }
            Some((Role::Private, STEP_LEN)) => state.step_len(from),
            Some((Role::Private, STEP_FETCH)) => state.fetch(rt, from, args[0].value),
            Some((Role::Private, STEP_RESULT)) => {
                state.result(rt, from, args[0].value, args[1].value)
            }
            Some((Role::Private, STEP_FORKED)) => {
                state.forked(args[0].value, CageId(args[1].value))
            }
            _ => Errno::ENOSYS.ret(),
        }
    }
}

/// How many damaged ranges a salvaging replay names one by one.
const DAMAGE_LINES: u64 = 10;

/// The records of the log, read through this cage's own table.
fn read_log(
    rt: &dyn ThreeI,
    plan: &ReplayPlan,
    guest: &Guest<'_>,
) -> Result<(Vec<Record>, String), String> {
    let path = plan.log.to_string_lossy();
    let file = GuestFile::open(rt, &path, open_flags::O_RDONLY | open_flags::O_CLOEXEC, 0)
        .map_err(|e| format!("{path}: {e}"))?;
    let mode = if plan.salvage {
        RecoveryMode::Salvage
    } else {
        RecoveryMode::Strict
    };
    let mut reader =
        LogReader::new(std::io::BufReader::new(file), mode).map_err(|e| format!("{path}: {e}"))?;
    let mut records = Vec::new();
    let mut said = 0;
    loop {
        let next = reader.next_record();
        // Only the first few ranges are named; the tally counts them all.
        for damage in reader.take_damage() {
            if said < DAMAGE_LINES {
                said += 1;
                guest.eprint(&format!(
                    "tee-replay: {path}: skipped damaged bytes: {damage}\n"
                ));
            }
        }
        match next {
            Ok(Some(record)) => records.push(record),
            Ok(None) => break,
            Err(e) => {
                return Err(format!("{path}: {e}; --salvage replays the good records"));
            }
        }
    }
    let tally = reader.damage_tally();
    if tally.ranges > said {
        guest.eprint(&format!(
            "tee-replay: {path}: skipped {} damaged ranges ({} bytes) in all\n",
            tally.ranges, tally.bytes
        ));
    }
    let end = match reader.end() {
        Some(LogEnd::Clean { .. }) if tally.ranges == 0 => "clean".to_string(),
        Some(LogEnd::Clean { .. }) => "salvaged".to_string(),
        Some(LogEnd::Incomplete { offset }) => {
            guest.eprint(&format!("tee-replay: {path}: warning: incomplete log (no trailer at offset {offset}); replaying what is there\n"));
            "incomplete".to_string()
        }
        Some(LogEnd::TornTail { offset, .. }) => {
            guest.eprint(&format!("tee-replay: {path}: warning: torn tail at offset {offset}; replaying the good prefix\n"));
            "torn".to_string()
        }
        None => "unknown".to_string(),
    };
    Ok((records, end))
}

fn replay(
    slot: &OnceLock<Arc<ReplayState>>,
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
        .map(|path| GuestFile::create_output(rt, &path.to_string_lossy(), plan.force))
        .transpose()
        .map_err(ReplayError::Report)?;
    let (records, log_end) = read_log(rt, plan, &guest).map_err(ReplayError::Log)?;
    let options = ReplayOptions {
        cages: plan.cages.as_ref().map(|c| c.iter().copied().collect()),
        calls,
        until: plan.until,
        keep_going: plan.keep_going,
        passthrough: plan.passthrough,
    };
    let chain = match &plan.target {
        Target::Dir(dir) => {
            let (status, summary) =
                replay_into_dir(&guest, &records, dir, &options).map_err(ReplayError::IntoDir)?;
            if let (Some(file), Some(path)) = (&mut report_file, &plan.report) {
                write_json(file, &path.to_string_lossy(), &summary)?;
            }
            return Ok(status);
        }
        Target::Stack(chain) => chain,
    };
    check_cage_budget(plan, chain, &records)?;
    let state = slot
        .get_or_init(|| Arc::new(ReplayState::new(in_replay_order(records), options)))
        .clone();
    let mut argv_chain = chain.clone();
    argv_chain.push(argv.first().cloned().unwrap_or_else(|| "tee-replay".into()));
    argv_chain.push(DRIVER_FLAG.into());
    let mut setup = |top: CageId| install_floor(rt, top, &REPLAY_CALLS);
    let top = rt
        .spawn_child(&argv_chain, &mut setup)
        .map_err(|errno| ReplayError::StackStart {
            chain: chain.clone(),
            errno,
        })?;
    let progress = crate::progress::Progress::new(state.total());
    loop {
        match guest.waitpid(-1, boundary::wait::WNOHANG) {
            Ok((pid, _)) if pid.0 == 0 => {
                progress.show(state.position());
                boundary::clock::pause(std::time::Duration::from_millis(20));
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    progress.finish();
    if !state.drivers_done() {
        return Err(ReplayError::StackEnded {
            chain: chain.clone(),
            top,
        });
    }
    let report = Report {
        log: plan.log.to_string_lossy().into_owned(),
        records: state.total(),
        replayed: state.replayed.load(Ordering::Relaxed),
        skipped: state
            .skipped()
            .into_iter()
            .map(|(r, n)| (r.to_string(), n))
            .collect(),
        answered_by_replayer: state.floor.counts.answered.load(Ordering::Relaxed),
        cut_inputs: state.cut_inputs.load(Ordering::Relaxed),
        divergences: state
            .divergences
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        log_end,
    };
    for divergence in &report.divergences {
        guest.print(&divergence.render());
    }
    guest.eprint(&report.summary());
    if let (Some(file), Some(path)) = (&mut report_file, &plan.report) {
        write_json(file, &path.to_string_lossy(), &report)?;
    }
    Ok(i32::from(!report.divergences.is_empty()))
}

/// Refuses a log that needs more cages than Lind has: the replayer, each
/// grate of the stack and one driver per recorded process each take a cage
/// id, ids are never reused, and past the last one Lind's fork panics.
fn check_cage_budget(
    plan: &ReplayPlan,
    chain: &[String],
    records: &[Record],
) -> Result<(), ReplayError> {
    let forks = records
        .iter()
        .filter(|r| matches!(r, Record::Fork(f) if !f.thread))
        .count() as u64;
    let needed = 1 + chain.len() as u64 + 1 + forks;
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
    file: &mut GuestFile,
    name: &str,
    value: &impl serde::Serialize,
) -> Result<(), ReplayError> {
    let failed = |e: &dyn std::fmt::Display| ReplayError::Report(format!("{name}: {e}"));
    let json = serde_json::to_vec_pretty(value).map_err(|e| failed(&e))?;
    file.write_all(&json).map_err(|e| failed(&e))
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
    _: &[Record],
    _: &std::path::Path,
    _: &ReplayOptions,
) -> Result<(i32, DirSummary), String> {
    Err(
        "--into-dir needs the native tee-replay: a Lind grate cannot write host files with std::fs"
            .into(),
    )
}
