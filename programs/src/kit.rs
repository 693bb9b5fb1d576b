//! Plumbing every bundled grate shares: the GrateBuilder pattern of
//! docs/lind-3i.md §7.2 plus the lifetime rule of §13 item 10.
//!
//! A grate implements [`Grate`] and is run as a [`GrateProgram`]. Its `main`:
//! 1. parses the grate's own options ([`Grate::configure`]) and keeps the
//!    rest of argv as the app to run;
//! 2. starts the app with `spawn_child`, registering, before the child
//!    execs, the grate's numbers plus CLONE (56) and EXIT_GROUP (231) on it
//!    with the syscall number as the handler key;
//! 3. waits for the direct child (guest `waitpid`) and then for every cage it
//!    saw born through a forwarded CLONE to reach exit_group: Lind purges a
//!    dead grate's entries, and the next call through them crashes the
//!    runtime, so a grate must outlive grandchildren too;
//! 4. runs [`Grate::teardown`] and returns the child's exit status.
//!
//! # Caller identity
//! Handlers never see the calling cage (docs/lind-3i.md §2.2). The kit names it by
//! the sixth argument's argcage ([`caller_of`]): glibc sets all six argcages
//! to the caller, unused slots included, and a tee substitutes only pointer
//! argcages, so the unused sixth slot reliably names the caller for every
//! call these grates take. Real Lind grates use arg1cage; the tee keeps all
//! scalar argcages, so both conventions agree under it.

mod cages;
mod live;
mod memory;

pub use cages::CageTables;
pub use live::LiveCages;
pub use memory::{gather, iovecs_len, read_in, read_iovecs, read_path, scatter, write_out, Iovec};

use boundary::consts::{CLONE_VM, ELINDESRCH};
use boundary::wait::{wexitstatus, wifsignaled, wtermsig};
use boundary::{args_of, nr, Args, CageId, Errno, Guest, Program, ThreeI};
use std::collections::BTreeSet;

/// A grate's own behaviour; the kit does launching, lifetime and teardown.
pub trait Grate: Send + Sync + 'static {
    /// One usage line, e.g. `imfs-grate [--dump-to DIR] APP [ARGS...]`.
    fn usage(&self) -> &'static str;

    /// Parses the grate's own arguments (argv after `argv[0]`) and returns the
    /// app's argv. Runs in `main` before the child exists, so it may set up
    /// the grate's own I/O (a log file) through `rt`.
    fn configure(&self, rt: &dyn ThreeI, args: &[String]) -> Result<Vec<String>, String>;

    /// The numbers to route to this grate. CLONE and EXIT_GROUP are always
    /// registered by the kit and reach [`Grate::handle`] too.
    fn syscalls(&self) -> Vec<u32>;

    /// Called once for the direct child, after its handlers are registered
    /// and before it execs: the place to create its per-cage state.
    fn on_child(&self, child: CageId) {
        let _ = child;
    }

    /// One intercepted call made by `caller`. Must forward CLONE exactly
    /// once (docs/lind-3i.md §13 item 3); the kit reads the result to track cages.
    fn handle(&self, rt: &dyn ThreeI, nr: u32, caller: CageId, args: &Args) -> i32;

    /// `cage` is calling exit_group; runs before the call is handled.
    fn on_exit(&self, cage: CageId) {
        let _ = cage;
    }

    /// Whether the grate exits as soon as its child is started, without
    /// waiting for the cages routed through it: a deliberate fault (Lind
    /// then purges its handlers while they are still in use).
    fn quits_early(&self) -> bool {
        false
    }

    /// Runs once every cage routed through the grate has exited.
    fn teardown(&self, rt: &dyn ThreeI) -> Result<(), String> {
        let _ = rt;
        Ok(())
    }
}

/// A [`Grate`] as a runnable [`Program`].
pub struct GrateProgram<G> {
    grate: G,
    live: LiveCages,
}

impl<G: Grate> GrateProgram<G> {
    /// Wraps `grate`.
    pub fn new(grate: G) -> GrateProgram<G> {
        GrateProgram {
            grate,
            live: LiveCages::default(),
        }
    }

    /// The numbers registered on the child: the grate's plus lifecycle.
    fn registered_numbers(&self) -> BTreeSet<u32> {
        let mut all: BTreeSet<u32> = self.grate.syscalls().into_iter().collect();
        all.insert(nr::CLONE);
        all.insert(nr::EXIT_GROUP);
        all
    }
}

impl<G: Grate> Program for GrateProgram<G> {
    fn main(&self, rt: &dyn ThreeI, argv: &[String]) -> i32 {
        let guest = Guest::new(rt);
        let name = argv.first().map_or("grate", String::as_str);
        let app = match self.grate.configure(rt, argv.get(1..).unwrap_or(&[])) {
            Ok(app) if !app.is_empty() => app,
            Ok(_) => return usage_error(&guest, name, "missing APP", self.grate.usage()),
            Err(msg) => return usage_error(&guest, name, &msg, self.grate.usage()),
        };
        let numbers = self.registered_numbers();
        let mut setup = |child: CageId| -> Result<(), Errno> {
            for &nr in &numbers {
                rt.register_handler(child, nr, u64::from(nr))?;
            }
            self.live.born(child);
            self.grate.on_child(child);
            Ok(())
        };
        let child = match rt.spawn_child(&app, &mut setup) {
            Ok(child) => child,
            Err(errno) => {
                guest.eprint(&format!("{name}: cannot start {}: {errno}\n", app[0]));
                let _ = self.grate.teardown(rt);
                return 127;
            }
        };
        if self.grate.quits_early() {
            return 0;
        }
        let status = wait_for(&guest, child);
        // The direct child is gone even if its exit_group never came by.
        self.live.gone(child);
        self.live.wait_until_empty(|cage| cage_alive(rt, cage));
        if let Err(msg) = self.grate.teardown(rt) {
            guest.eprint(&format!("{name}: teardown: {msg}\n"));
            return if status == Ok(0) {
                1
            } else {
                status.unwrap_or(1)
            };
        }
        match status {
            Ok(code) => code,
            Err(errno) => {
                guest.eprint(&format!("{name}: waitpid: {errno}\n"));
                1
            }
        }
    }

    fn handle(&self, rt: &dyn ThreeI, handler: u64, _grate: CageId, args: &Args) -> i32 {
        let Ok(nr) = u32::try_from(handler) else {
            return Errno::ENOSYS.ret();
        };
        let caller = caller_of(args);
        match nr {
            nr::CLONE => {
                let thread = clone_is_thread(rt, args);
                let ret = self.grate.handle(rt, nr, caller, args);
                if ret > 0 && !thread {
                    self.live.born(CageId(ret as u64));
                }
                ret
            }
            nr::EXIT_GROUP => {
                self.grate.on_exit(caller);
                // Marks the cage gone even if the forward unwinds instead of
                // returning.
                let _gone = self.live.exit_guard(caller);
                self.grate.handle(rt, nr, caller, args)
            }
            _ => self.grate.handle(rt, nr, caller, args),
        }
    }
}

/// The calling cage: the sixth argument's argcage (see the module doc).
pub fn caller_of(args: &Args) -> CageId {
    args[5].owner()
}

/// Forwards a call unchanged to the next layer down: through this grate's
/// own table (`self` = me), acting for the caller (`target` = caller).
pub fn forward(rt: &dyn ThreeI, nr: u32, args: &Args) -> i32 {
    rt.make_call(nr, rt.cage_id(), caller_of(args), args)
}

/// Issues `nr` with scalar `values` on behalf of `caller` (every argcage the
/// caller, as glibc would have set them), through this grate's own table.
pub fn call_as(rt: &dyn ThreeI, nr: u32, caller: CageId, values: &[u64]) -> i32 {
    rt.make_call(nr, rt.cage_id(), caller, &args_of(caller, values))
}

/// Whether a CLONE creates a thread: `clone_args.flags` (its first u64, LE)
/// has CLONE_VM. A clone_args that cannot be read counts as a fork.
pub fn clone_is_thread(rt: &dyn ThreeI, args: &Args) -> bool {
    let mut flags = [0u8; 8];
    rt.read_foreign(args[0].value, args[0].owner(), &mut flags)
        .is_ok_and(|()| u64::from_le_bytes(flags) & CLONE_VM != 0)
}

/// The child id a forwarded CLONE created, if it was a process fork.
pub fn forked_child(ret: i32, thread: bool) -> Option<CageId> {
    (ret > 0 && !thread).then_some(CageId(ret as u64))
}

/// Whether `cage` still runs: a getpid issued for it comes back -ESRCH once
/// it is dead (docs/lind-3i.md §4.2). Only a dead answer counts; anything else,
/// including a layer above that answers for us, keeps the cage live.
fn cage_alive(rt: &dyn ThreeI, cage: CageId) -> bool {
    let me = rt.cage_id();
    let ret = rt.make_call(nr::GETPID, me, cage, &args_of(me, &[]));
    ret != Errno::ESRCH.ret() && ret != ELINDESRCH
}

/// Waits for the direct child and turns its status into an exit code
/// (128 + signal for a signal death, as shells report it).
fn wait_for(guest: &Guest<'_>, child: CageId) -> Result<i32, Errno> {
    let status = guest.wait_child(child)?;
    Ok(if wifsignaled(status) {
        128 + wtermsig(status)
    } else {
        wexitstatus(status)
    })
}

fn usage_error(guest: &Guest<'_>, name: &str, msg: &str, usage: &str) -> i32 {
    guest.eprint(&format!("{name}: {msg}\nusage: {usage}\n"));
    2
}

/// Locks `mutex`, recovering from poisoning: a handler that panicked (the
/// runtime turns that into GRATE_ERR) must not wedge every later call.
pub use abi::sync::lock;

/// One parsed `--name [VALUE]` option.
pub type GrateOption = (String, Option<String>);

/// Splits a grate's arguments into options (`--name` or `--name VALUE`,
/// before the app) and the app's argv. `takes_value` names the options that
/// take a value; `--` ends the options.
pub fn split_options(
    args: &[String],
    takes_value: &[&str],
) -> Result<(Vec<GrateOption>, Vec<String>), String> {
    let mut options = Vec::new();
    let mut at = 0;
    while let Some(arg) = args.get(at) {
        if arg == "--" {
            at += 1;
            break;
        }
        if !arg.starts_with("--") {
            break;
        }
        if takes_value.contains(&arg.as_str()) {
            let value = args
                .get(at + 1)
                .ok_or_else(|| format!("{arg} needs a value"))?;
            options.push((arg.clone(), Some(value.clone())));
            at += 2;
        } else {
            options.push((arg.clone(), None));
            at += 1;
        }
    }
    Ok((options, args[at..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use boundary::Arg;

    fn strings(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_stop_at_the_app() {
        let (opts, app) = split_options(
            &strings(&["--dump-to", "out", "demo-files", "--x"]),
            &["--dump-to"],
        )
        .unwrap();
        assert_eq!(opts, vec![("--dump-to".into(), Some("out".into()))]);
        assert_eq!(app, strings(&["demo-files", "--x"]));
    }

    #[test]
    fn options_end_at_double_dash_and_need_values() {
        let (opts, app) = split_options(&strings(&["--", "--app"]), &[]).unwrap();
        assert!(opts.is_empty());
        assert_eq!(app, strings(&["--app"]));
        assert!(split_options(&strings(&["--log"]), &["--log"]).is_err());
    }

    #[test]
    fn caller_is_the_sixth_argcage_without_the_flag() {
        let mut args = args_of(CageId(4), &[1, 2]);
        args[1] = Arg::own_ptr(0x10, CageId(9));
        assert_eq!(caller_of(&args), CageId(4));
    }

    #[test]
    fn only_positive_process_clones_are_children() {
        assert_eq!(forked_child(7, false), Some(CageId(7)));
        assert_eq!(forked_child(7, true), None);
        assert_eq!(forked_child(-11, false), None);
    }
}
