//! What a cage runs after exec.

use crate::args::{Args, CageId};
use crate::consts::GRATE_ERR;
use crate::threei::ThreeI;
use std::sync::Arc;

/// A program a cage can exec: an app, a grate, or a role of the tee.
///
/// One instance lives from exec to exit of one cage; its fields are that
/// cage's globals, shared by `main` and every handler call, which on Lind run
/// concurrently on runtime worker threads. So state sits behind locks, and
/// nothing is kept in thread-locals.
pub trait Program: Send + Sync {
    /// The program's entry point; its return value is the exit status.
    fn main(&self, rt: &dyn ThreeI, argv: &[String]) -> i32;

    /// A grate's handler call: Lind's `pass_fptr_to_wt`. `handler` is the
    /// value registered as the function pointer, `cageid` this grate's own id
    /// (never the caller's: the caller is known only from argcages).
    fn handle(&self, rt: &dyn ThreeI, handler: u64, cageid: CageId, args: &Args) -> i32 {
        let _ = (rt, handler, cageid, args);
        GRATE_ERR
    }
}

/// A program by name, as an argv chain finds it.
#[derive(Clone, Copy)]
pub struct ProgramEntry {
    pub name: &'static str,
    /// One line for `--list-programs`.
    pub summary: &'static str,
    /// Makes a fresh instance for one exec.
    pub make: fn() -> Arc<dyn Program>,
}

impl std::fmt::Debug for ProgramEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgramEntry")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
