//! The `main` shared by every binary of this crate.

use crate::argv::process_args;
use crate::rt::RT;
use boundary::{Program, ProgramEntry, ThreeI};
use std::sync::{Arc, OnceLock};

/// The program this cage runs: set once by [`run`], read by every handler
/// trampoline. A forked child inherits it with the rest of memory; an exec
/// starts a fresh module, and with it a fresh value.
static PROGRAM: OnceLock<Arc<dyn Program>> = OnceLock::new();

/// The running program, once [`run`] has set it.
pub(crate) fn program() -> Option<&'static dyn Program> {
    PROGRAM.get().map(|p| &**p)
}

/// Runs `entry` as this cage's program: makes an instance, runs its `main`
/// with the process arguments (argv\[0\] included), and exits the cage with
/// the status `main` returns.
pub fn run(entry: ProgramEntry) -> ! {
    let program = PROGRAM.get_or_init(|| (entry.make)());
    let status = program.main(&RT, &process_args());
    RT.exit(status)
}

#[cfg(test)]
pub(crate) fn install_for_test(program: Arc<dyn Program>) -> Result<(), Arc<dyn Program>> {
    PROGRAM.set(program)
}
