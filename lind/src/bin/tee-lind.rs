//! Every program this workspace builds for Lind, in one module: which one
//! runs is chosen by the name it is started as (`tee-grate.cwasm`,
//! `grates/archive-grate.cwasm`, ...), as a multi-call binary does. One
//! module means one `lind_compile` pass, which is most of the build time;
//! the programs are copies of it under their own names.

use boundary::{Program, ProgramEntry};
use std::sync::Arc;

/// The tee keeps its fd pairs in fdtables, as Lind's Rust grates keep fd
/// state.
fn tee_with_fdtables() -> Arc<dyn Program> {
    Arc::new(tee::TeeGrate::with_pairs(|| Box::new(lind::FdtablesPairs)))
}

fn main() {
    let tee = ProgramEntry {
        make: tee_with_fdtables,
        ..tee::program_entry()
    };
    let mut entries = vec![tee, replay::program_entry()];
    entries.extend(
        programs::grates::entries()
            .into_iter()
            .filter(|entry| lind::LIND_GRATES.contains(&entry.name)),
    );
    lind::run_by_name(entries)
}
