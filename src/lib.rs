//! tee-grate: duplicate an app's syscalls to a second grate stack or a log.
//!
//! Lind runs every program in a cage whose syscalls go through 3i, a
//! per-cage table of handlers; grates register handlers for other cages.
//! tee-grate registers itself on an app's cage. Every call it intercepts goes
//! to the **primary** (what lies below the tee, or a primary block of
//! grates), whose result the app sees, and a copy goes to the **secondary**:
//! a live grate stack, or a recorder writing a trace log (`formats`).
//!
//! # Brief overview
//! - [`cli`]: the command line, `%{ … %}` blocks included.
//! - `run`: bring blocks up as argv chains ending in hold cages, start the
//!   app, wait for every app cage, shut down, report.
//! - `dispatch`: the per-call path; `order`: the per-fd locks that keep
//!   writes in the kernel's order; `lifecycle`: fork, exec and exit,
//!   primary-only and simulated for the secondary.
//! - `secondary`: the secondary, a recorder (`recorder`, writing the trace
//!   log) or a live stack (its hold, fd pairs, and the floor from
//!   `interpose`, which answers what the stack sends down from the
//!   primary's result, so no side effect happens twice).
//! - the `interpose` crate, shared with tee-replay, holds what both
//!   engines use: capture, staging, the floor, fd pairing, the verdict.
//!
//! # Key decisions
//! - The primary runs first: its result is what the app sees and what the
//!   secondary's downward calls are answered with.
//! - Calls reach a block's stack by issuing them through the block's hold
//!   cage's table (`self` = hold cage): no alternate numbers, no copy of
//!   anyone's registrations, and grates see the app as the caller.
//! - The tee never registers on its own cage, so its own calls (the log, the
//!   primary path, pass-through of grates' own I/O) can never re-enter it.
//!
//! # Does not do
//! - It does not tee calls the catalog does not know; those go to the
//!   primary only.
//! - It is told of no cage that dies by signal or trap (Lind reports none
//!   to grates): it learns of one from a wait status, or finds it gone
//!   once the first app cage has ended (`lifecycle`, docs/lind-3i.md §7.6).

pub mod cli;
mod dispatch;
mod error;
mod faults;
mod handoff;
mod hold;
mod job;
mod lifecycle;
#[cfg(feature = "host")]
#[cfg(feature = "host")]
pub mod native;
mod order;
mod recorder;
mod run;
mod secondary;
mod serve;
mod stack_watch;
mod state;

pub use faults::{call_name, Fault};

use boundary::{Args, CageId, Errno, Program, ProgramEntry, ThreeI};
use interpose::fdpair::{FdPairs, PairTable};
use interpose::keys::{self as handler_keys, Role};
use state::TeeState;
use std::sync::{Arc, OnceLock};

/// Makes the table that pairs primary fds with secondary fds.
pub type NewPairTable = fn() -> Box<dyn PairTable>;

/// One tee cage's program instance.
pub struct TeeGrate {
    state: OnceLock<Arc<TeeState>>,
    new_pairs: NewPairTable,
}

impl Default for TeeGrate {
    fn default() -> Self {
        TeeGrate::with_pairs(|| Box::<FdPairs>::default())
    }
}

impl TeeGrate {
    /// A tee whose fd pairs live in the table `new_pairs` makes (the Lind
    /// build keeps them in fdtables).
    pub fn with_pairs(new_pairs: NewPairTable) -> TeeGrate {
        TeeGrate {
            state: OnceLock::new(),
            new_pairs,
        }
    }
}

impl Program for TeeGrate {
    fn main(&self, rt: &dyn ThreeI, argv: &[String]) -> i32 {
        run::tee_main(&self.state, self.new_pairs, rt, argv)
    }

    fn handle(&self, rt: &dyn ThreeI, handler: u64, _cageid: CageId, args: &Args) -> i32 {
        let Some(state) = self.state.get() else {
            return Errno::ENOSYS.ret();
        };
        match handler_keys::split(handler) {
            Some((Role::App, nr)) => state.on_app_call(rt, nr, args),
            Some((Role::Floor, nr)) => state.on_floor(rt, nr, args),
            Some((Role::Private, nr)) => state.on_private(rt, nr, args),
            None => Errno::ENOSYS.ret(),
        }
    }
}

/// tee-grate as a program a cage can exec.
pub fn program_entry() -> ProgramEntry {
    ProgramEntry {
        name: "tee-grate",
        summary: "tee an app's syscalls to a secondary grate stack or a trace log",
        make: || Arc::new(TeeGrate::default()),
    }
}
