//! Bundled grates, each `NAME [OPTIONS] APP [ARGS...]`, all built on
//! [`crate::kit::Grate`].

mod archive;
mod faulty;
mod imfs;
mod passthrough;
mod strace;

use crate::kit::GrateProgram;
use boundary::ProgramEntry;
use std::sync::Arc;

/// The bundled grates.
pub fn entries() -> Vec<ProgramEntry> {
    vec![
        ProgramEntry {
            name: "passthrough-grate",
            summary: passthrough::USAGE,
            make: || Arc::new(GrateProgram::new(passthrough::Passthrough)),
        },
        ProgramEntry {
            name: "imfs-grate",
            summary: imfs::USAGE,
            make: || Arc::new(GrateProgram::new(imfs::Imfs::default())),
        },
        ProgramEntry {
            name: "archive-grate",
            summary: archive::USAGE,
            make: || Arc::new(GrateProgram::new(archive::Archive::default())),
        },
        ProgramEntry {
            name: "strace-grate",
            summary: strace::USAGE,
            make: || Arc::new(GrateProgram::new(strace::Strace::default())),
        },
        ProgramEntry {
            name: "faulty-grate",
            summary: faulty::USAGE,
            make: || Arc::new(GrateProgram::new(faulty::Faulty::default())),
        },
    ]
}
