//! The `main` of the crate's one binary.

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

/// The bundled grates built for Lind, besides the tee and the replayer:
/// the ones a Lind grate author uses beside Lind's own imfs-grate and
/// strace-grate-rs.
pub const LIND_GRATES: [&str; 3] = ["archive-grate", "passthrough-grate", "faulty-grate"];

/// The program name a path stands for: its file name without `.cwasm` or
/// `.wasm`.
pub fn program_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.strip_suffix(".cwasm")
        .or_else(|| file.strip_suffix(".wasm"))
        .unwrap_or(file)
}

/// Runs the entry named by argv\[0\] (see [`program_name`]); with no such
/// entry, says which names there are and exits with 2.
pub fn run_by_name(entries: Vec<ProgramEntry>) -> ! {
    let argv = process_args();
    let name = program_name(argv.first().map_or("", String::as_str));
    match entries.into_iter().find(|e| e.name == name) {
        Some(entry) => run(entry),
        None => {
            eprintln!(
                "tee-lind: started as {name:?}: copy this module as one of tee-grate.cwasm, \
                 tee-replay.cwasm, {}",
                LIND_GRATES.map(|g| format!("{g}.cwasm")).join(", ")
            );
            RT.exit(2)
        }
    }
}

#[cfg(test)]
pub(crate) fn install_for_test(program: Arc<dyn Program>) -> Result<(), Arc<dyn Program>> {
    PROGRAM.set(program)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::program_name;

    #[test]
    fn the_program_is_named_by_the_file_it_was_started_as() {
        assert_eq!(program_name("tee-grate.cwasm"), "tee-grate");
        assert_eq!(program_name("/grates/archive-grate.cwasm"), "archive-grate");
        assert_eq!(program_name("tee-replay.wasm"), "tee-replay");
        assert_eq!(program_name("faulty-grate"), "faulty-grate");
    }
}
