//! `tee-grate` for Lind: records a run, or tees it into a second grate
//! stack. Its fd pairs live in fdtables.

use boundary::{Program, ProgramEntry};
use std::sync::Arc;

fn make() -> Arc<dyn Program> {
    Arc::new(tee::TeeGrate::with_pairs(|| Box::new(lind::FdtablesPairs)))
}

fn main() {
    lind::run(ProgramEntry {
        make,
        ..tee::program_entry()
    })
}
