//! The tee's main: bring the blocks up, start the app, wait for every app
//! cage to end, shut the blocks down, report.

use crate::cli::{self, Parsed, TeePlan};
use crate::error::{BlockFailure, TeeError};
use crate::faults::Fault;
use crate::hold::{hold_argv, hold_main, Block, HOLD_FLAG};
use crate::recorder::Recorder;
use crate::secondary::{LiveStack, Secondary};
use crate::state::TeeState;
use crate::NewPairTable;
use boundary::clock::GuestClock;
use boundary::guest::Guest;
use boundary::wait;
use boundary::{CageId, Errno, ThreadJoin, ThreeI};
use interpose::keys::TEE_CALLS;
use interpose::keys::{install_floor, install_private};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How many polls the tee waits for the secondary hold's exit at shutdown.
const HOLD_EXIT_POLLS: u32 = 500;

/// How many polls the tee gives a detached stack's cages to end.
const DETACHED_POLLS: u32 = 25;

/// How often waits re-check that the cages they wait for are still alive.
const POLL: Duration = Duration::from_millis(20);

/// The tee's main, in either role. Returns the exit status.
pub fn tee_main(
    slot: &OnceLock<Arc<TeeState>>,
    new_pairs: NewPairTable,
    rt: &dyn ThreeI,
    argv: &[String],
) -> i32 {
    if argv.get(1).map(String::as_str) == Some(HOLD_FLAG) {
        return hold_main(rt, argv);
    }
    let guest = Guest::new(rt);
    let plan = match cli::parse(argv) {
        Ok(Parsed::Run(plan)) => plan,
        Ok(Parsed::Info(text)) => {
            guest.print(&text);
            return 0;
        }
        Err(message) => {
            let error = TeeError::Usage(message);
            guest.eprint(&format!("tee-grate: {error}\n"));
            return error.exit_status();
        }
    };
    match start(slot, new_pairs, rt, argv, plan) {
        Ok(status) => status,
        Err(error) => {
            guest.eprint(&format!("tee-grate: {error}\n"));
            error.exit_status()
        }
    }
}

fn start(
    slot: &OnceLock<Arc<TeeState>>,
    new_pairs: NewPairTable,
    rt: &dyn ThreeI,
    argv: &[String],
    plan: TeePlan,
) -> Result<i32, TeeError> {
    let secondary = match &plan.secondary {
        cli::SecondaryPlan::Recorder(path) => Secondary::Recorder(Recorder::create(
            rt,
            &path.to_string_lossy(),
            argv.to_vec(),
            plan.sync,
            plan.compress,
            plan.force,
            u32::try_from(plan.stall_ms).unwrap_or(u32::MAX),
        )?),
        cli::SecondaryPlan::Stack(chain) => {
            Secondary::Stack(Box::new(LiveStack::new(chain.clone(), new_pairs())))
        }
    };
    let self_name = argv.first().cloned().unwrap_or_else(|| "tee-grate".into());
    let clock = GuestClock::new(rt);
    let now_ms = Box::new(move || clock.monotonic_us() / 1_000);
    let state = Arc::new(TeeState::new(
        rt.cage_id(),
        self_name,
        plan,
        secondary,
        now_ms,
    ));
    let state = slot.get_or_init(|| state).clone();
    let serving = state.clone();
    let secondary_thread = rt
        .spawn_thread(Box::new(move |rt| serving.serve_secondary(rt)))
        .map_err(TeeError::Thread)?;
    let status = run(&state, rt);
    Ok(finish(&state, rt, status, secondary_thread))
}

fn run(state: &TeeState, rt: &dyn ThreeI) -> Result<i32, TeeError> {
    if let Some(stack) = state.stack() {
        start_block(state, rt, &stack.chain, Block::Secondary)?;
    }
    // The tee reaps the app itself only when no primary hold starts it.
    let own_app = match state.plan.primary.clone() {
        Some(chain) => {
            start_block(state, rt, &chain, Block::Primary)?;
            state.update_life(|life| life.start_app = true);
            None
        }
        None => {
            let me = state.me;
            let mut adopt = |child: CageId| state.adopt(rt, me, child);
            let app = rt
                .spawn_child(&state.plan.app, &mut adopt)
                .map_err(|errno| TeeError::AppStart {
                    app: state.plan.app.join(" "),
                    errno,
                })?;
            Some(app)
        }
    };
    let guest = Guest::new(rt);
    let mut watch = Watch::default();
    let mut failed = None;
    let mut unreaped = own_app;
    state.wait_life(
        POLL,
        |life| life.app_status.is_some() && life.live.is_empty(),
        || {
            if let Some(app) = unreaped {
                // Polled with "any child": Lind's waitpid ignores WNOHANG
                // for a named child. Other children (a block's top grate)
                // are let go.
                match guest.waitpid(-1, wait::WNOHANG) {
                    Ok((pid, status)) if pid == app => {
                        unreaped = None;
                        state.ended_unseen(app, Some(status));
                        state.update_life(|life| life.app_status = Some(status));
                    }
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(errno) => {
                        failed = Some(errno);
                        return false;
                    }
                }
            }
            watch.tick(state, rt);
            true
        },
    );
    match failed {
        Some(errno) => Err(TeeError::AppWait(errno)),
        None => Ok(state.life().app_status.unwrap_or(0)),
    }
}

/// What the tee does while the app runs, at every poll: watch the
/// secondary for a stall, and, once the first app cage has been reaped,
/// find app cages that died without an exit no one will reap.
#[derive(Default)]
struct Watch {
    /// Polls in a row each live cage has been found gone.
    gone_for: HashMap<CageId, u32>,
}

/// How many polls in a row a cage must be found gone before the tee gives
/// up on a wait status for it: its parent may yet reap it and say which
/// signal killed it.
const GONE_POLLS: u32 = 10;

impl Watch {
    fn tick(&mut self, state: &TeeState, rt: &dyn ThreeI) {
        state.handoff.watch();
        let live: Vec<CageId> = {
            let life = state.life();
            if life.app_status.is_none() {
                return;
            }
            life.live.iter().copied().collect()
        };
        self.gone_for.retain(|cage, _| live.contains(cage));
        for cage in live {
            if !Guest::new(rt).is_gone(cage) {
                self.gone_for.remove(&cage);
                continue;
            }
            let polls = self.gone_for.entry(cage).or_default();
            *polls += 1;
            if *polls >= GONE_POLLS {
                state.ended_unseen(cage, None);
            }
        }
    }
}

/// Starts a block's chain ending in a hold cage and waits for the hold to
/// report in; fails if the chain dies first.
fn start_block(
    state: &TeeState,
    rt: &dyn ThreeI,
    chain: &[String],
    block: Block,
) -> Result<(), TeeError> {
    let mut argv = chain.to_vec();
    argv.extend(hold_argv(&state.self_name, block, &state.plan.app));
    // Only the secondary block gets a floor: the primary's downward calls
    // are the real ones.
    let mut setup = |top: CageId| match block {
        Block::Secondary => install_floor(rt, top, &TEE_CALLS),
        Block::Primary => install_private(rt, top, &TEE_CALLS),
    };
    let name = match block {
        Block::Primary => "primary",
        Block::Secondary => "secondary",
    };
    let failed = |why| TeeError::Block {
        which: name,
        chain: chain.to_vec(),
        why,
    };
    let top = rt
        .spawn_child(&argv, &mut setup)
        .map_err(|e| failed(BlockFailure::Spawn(e)))?;
    let guest = Guest::new(rt);
    let mut died = None;
    // Polled with "any child": Lind's waitpid ignores WNOHANG for a named
    // child and would block here until the block ended.
    let up = state.wait_life(
        POLL,
        |_| match block {
            Block::Primary => state.primary_hold().is_some(),
            Block::Secondary => state.secondary_hold().is_some(),
        },
        || match guest.waitpid(-1, wait::WNOHANG) {
            Ok((pid, status)) if pid.0 != 0 => {
                died = Some((pid, status));
                false
            }
            _ => true,
        },
    );
    if up {
        return Ok(());
    }
    Err(failed(match died {
        Some((pid, status)) if pid == top => BlockFailure::Ended(Some(exit_code(status))),
        Some((pid, status)) => BlockFailure::OtherEnded(pid, exit_code(status)),
        None => BlockFailure::Ended(None),
    }))
}

/// A shell-style exit code for a wait status: the code, or 128 + signal.
fn exit_code(status: i32) -> i32 {
    if wait::wifsignaled(status) {
        128 + wait::wtermsig(status)
    } else {
        wait::wexitstatus(status)
    }
}

/// Shuts the blocks down, closes the log, prints the summary.
fn finish(
    state: &TeeState,
    rt: &dyn ThreeI,
    status: Result<i32, TeeError>,
    secondary_thread: ThreadJoin,
) -> i32 {
    // Everything the app did reaches the secondary before the blocks go,
    // unless it is stuck: then the tee leaves it.
    state.handoff.close();
    let detached = state.handoff.detached();
    // A detached stack's thread is left where it is stuck, the stack cut
    // loose from the tee (`LiveStack::cut_loose`). A recorder stuck on its
    // log's reader gives up within the stall limit (`Patient`), so its
    // thread is waited for and the log ends with what reached the reader.
    match (&detached, state.stack()) {
        (None, _) | (Some(_), None) => secondary_thread.join(),
        (Some(_), Some(stack)) => stack.cut_loose(rt),
    }
    state.update_life(|life| life.shutdown = true);
    let guest = Guest::new(rt);
    if detached.is_some() {
        // Grates that end by themselves are reaped; the stuck one is let
        // go after a moment.
        for _ in 0..DETACHED_POLLS {
            match guest.waitpid(-1, wait::WNOHANG) {
                Ok((pid, _)) if pid.0 == 0 => boundary::clock::pause(POLL),
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
    } else {
        while guest.waitpid(-1, 0).is_ok() {}
    }
    // The secondary hold is its chain's child, not the tee's: if the chain
    // ended early the hold may outlive it, and its exit routes through the
    // tee. The tee must not exit (and have Lind purge its entries) first.
    // A hold that died without an exit is given up on after a while.
    // A detached stack's hold no longer routes through the tee.
    if state.secondary_hold().is_some() && detached.is_none() {
        let mut polls = HOLD_EXIT_POLLS;
        state.wait_life(
            POLL,
            |life| life.secondary_hold_gone,
            || {
                polls -= 1;
                polls > 0
            },
        );
    }
    let status = match status {
        Ok(raw) => exit_code(raw),
        Err(error) => {
            guest.eprint(&format!("tee-grate: {error}\n"));
            error.exit_status()
        }
    };
    let recorder = state.secondary.recorder();
    if let Some((why, missed)) = &detached {
        let what = if recorder.is_some() {
            "recorded"
        } else {
            "duplicated"
        };
        guest.eprint(&format!(
            "tee-grate: secondary detached: {} did not return within {} ms; \
             {missed} calls after it not {what}\n",
            why.stuck_in, state.plan.stall_ms
        ));
    }
    if detached.is_some() && state.stack().is_some() {
        // The stuck grate runs on in its cages; the runtime waits for every
        // cage, so the app's status is said here, where it is known.
        guest.eprint(&format!(
            "tee-grate: the app's exit status is {status}; the run ends when the stuck \
             grate's call returns (a call in flight cannot be ended from outside)\n"
        ));
    }
    let (dropped, _) = state.handoff.dropped();
    if dropped > 0 {
        let what = if recorder.is_some() {
            "recorded"
        } else {
            "duplicated"
        };
        guest.eprint(&format!(
            "tee-grate: {dropped} calls not {what}: the queue was full (--on-full drop)\n"
        ));
    }
    // A recorder that gave up on its log's reader leaves the log as
    // written so far, without its trailer (tee-log salvage reads it).
    if let Some(warning) = recorder
        .filter(|_| detached.is_none())
        .and_then(Recorder::finish)
    {
        guest.eprint(&format!("{warning}\n"));
    }
    if let Some(stack) = state
        .stack()
        .filter(|_| !state.plan.quiet || state.faults.any())
    {
        let counts = &stack.floor.counts;
        let extra = [
            (
                "answered from the primary",
                counts.answered.load(Ordering::Relaxed),
            ),
            (
                "forwarded calls with no primary counterpart",
                counts.unmatched.load(Ordering::Relaxed),
            ),
        ];
        guest.eprint(&state.faults.summary(&extra));
    } else if state.faults.total(Fault::CaptureFailed) > 0 {
        guest.eprint(&state.faults.summary(&[]));
    }
    status
}
