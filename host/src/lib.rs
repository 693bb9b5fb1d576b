//! An in-process 3i runtime: grates and apps run natively, the way Lind
//! runs them (see `docs/lind-3i.md`, the Lind facts it follows).
//!
//! Every cage is a [`boundary::Program`] on its own OS thread with its own
//! simulated linear memory; every call goes through 3i's per-cage handler
//! tables to a grate's `handle`, to 3i's own endpoints (1001-1003), or to
//! a RawPOSIX-like kernel doing real host I/O under a lindfs root. Where
//! Lind would panic the whole runtime, the run stops with the reason, so a
//! bug that would crash Lind fails its test here.
//!
//! # Brief overview
//! - [`Runtime`], [`RuntimeConfig`], [`Stdio`]: set up and [`Runtime::run`]
//!   an argv chain; [`RunOutcome`] or [`RunError`] comes back.
//! - [`run_main`]: the same for a binary, with the host's stdio.
//! - [`KERNEL_NUMBERS`]: what the first cage's table routes to the kernel.
//!
//! # How Lind is modelled
//! - Cage ids count up from 1 and are never reused; an id of 2048 or more
//!   stops the run (Lind's `alloc_cage_id().unwrap()`).
//! - Host addresses are `(cage << 32) | guest`. 3i and the kernel resolve
//!   one only in its argcage's memory and refuse (EFAULT, ELINDAPIABORTED)
//!   one whose cage bits disagree: stricter than Lind, which would touch
//!   the wrong bytes.
//! - A grate's handler runs synchronously on the calling OS thread, with
//!   no runtime lock held, so one grate's handlers run concurrently.
//! - Fork (CLONE 56) creates the child cage inside the kernel call; the
//!   child's thread starts only after the forking call chain returns.
//!   A second CLONE for the same fork stops the run.
//! - A trap (a panic in cage code) kills the cage silently for grates with
//!   status `Exited(1)`, as Lind records a crashed instance.
//!
//! # Choices where docs/lind-3i.md is silent
//! - Exec finds the program by the *path* argument (Lind loads the path it
//!   is given), by exact name among [`RuntimeConfig::programs`]; ENOENT if
//!   none. It resets the cage's memory inside the kernel call, as RawPOSIX
//!   clears the vmmap there, so a grate cannot read the old argv after
//!   forwarding a successful exec.
//! - A forked child runs the parent's program object until it execs (Lind
//!   copies the instance; here pre-exec globals are shared).
//! - A dead grate that still has entries (the instant between exit_group
//!   and the purge) answers -ESRCH, as Lind's make_syscall does; a grate
//!   cage with no program answers GRATE_ERR (no `pass_fptr_to_wt`).
//! - A dead cage's other threads end at their next call (Lind's epoch
//!   kill); a thread blocked in the kernel stays blocked.
//! - If a grate swallows the exit_group of a returning `main`, the cage
//!   dies silently with that status (Lind's `_exit` would spin and trap).
//! - Pipes are in-process (64 KiB, EOF, EPIPE, O_NONBLOCK), not host pipes.
//! - Numbers in RawPOSIX's table that this kernel does not implement
//!   (sockets, poll, epoll, shm, futex, ...) answer -ENOSYS; sigaction,
//!   sigprocmask and sched_yield answer 0 and do nothing; mmap gives
//!   anonymous regions only (file mappings: -ENODEV); brk: -ENOMEM.
//! - getdents lists ".", ".." and then the entries sorted by name, so runs
//!   repeat (the host's order is arbitrary).
//!
//! # Does not do
//! - Signals beyond a minimal kill; sockets, poll, epoll, shared memory,
//!   futexes (present in the table, answering ENOSYS); file mmap.
//! - Containing symlinks that point outside the root (Lind is chrooted).

#![forbid(unsafe_code)]

mod cage;
mod config;
mod dispatch;
mod kernel;
mod memory;
mod process;
mod runtime;
mod table;
mod threei_calls;
mod unwind;
mod view;

pub use cage::ExitStatus;
pub use config::{RunError, RunOutcome, RuntimeConfig, Stdio};
pub use runtime::{Runtime, KERNEL_NUMBERS};

use boundary::ProgramEntry;
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs `argv` with the host's stdio under the lindfs root named by
/// `LIND_ROOT` (default: the current directory). Exits with cage 1's
/// status; a stopped run prints its reason and exits 101, as a panicking
/// Lind runtime would.
pub fn run_main(programs: Vec<ProgramEntry>, argv: &[String]) -> ExitCode {
    let root = std::env::var_os("LIND_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    let runtime = Runtime::new(RuntimeConfig {
        root,
        programs,
        stdio: Stdio::Inherit,
    });
    match runtime.run(argv) {
        Ok(outcome) => ExitCode::from(outcome.status as u8),
        // A run Lind would have panicked in (a stack that lost a handler)
        // is the tool's own failure in the one exit-code table.
        Err(err) => {
            eprintln!("host: {err}");
            ExitCode::from(abi::exit::FAILED)
        }
    }
}
