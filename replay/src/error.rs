//! Why a replay could not run: one type for every failure of the
//! replayer's own (a divergence is a finding, not an error), each with the
//! exit status it gives (README, "Exit codes").

use boundary::guest_file::OutputError;
use boundary::{CageId, Errno};
use formats::ReadError;
use std::fmt;

#[derive(Debug)]
pub enum ReplayError {
    /// The command line.
    Usage(String),
    /// The log could not be opened.
    LogOpen { log: String, error: std::io::Error },
    /// The log could not be read on.
    LogRead { log: String, error: ReadError },
    /// The report file could not be made.
    ReportCreate(OutputError),
    /// The report file could not be written.
    ReportWrite {
        report: String,
        error: std::io::Error,
    },
    /// `--into-dir`'s directory could not be made or found.
    IntoDir { dir: String, error: std::io::Error },
    /// `--into-dir` on Lind, where a grate cannot write host files.
    IntoDirOnLind,
    /// The log needs more cage ids than Lind has.
    CageBudget {
        log: String,
        processes: u64,
        needed: u64,
        available: u64,
    },
    /// The stack could not be started.
    StackStart { chain: Vec<String>, errno: Errno },
    /// The stack ended before its driver cage reported in.
    StackEnded { chain: Vec<String>, top: CageId },
    /// A driver cage ended before its recorded cage did (a trap, a kill).
    DriverLost { driver: CageId, cage: u64 },
}

impl ReplayError {
    /// tee-replay's exit status for this failure: [`abi::exit::DAMAGED`]
    /// for a damaged log, [`abi::exit::FAILED`] for the rest (0 and 1 say
    /// whether the replay diverged).
    pub fn exit_status(&self) -> i32 {
        let code = match self {
            ReplayError::LogRead { error, .. } => error.exit_code(),
            _ => abi::exit::FAILED,
        };
        i32::from(code)
    }
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::ReportWrite { report, error } => write!(f, "{report}: {error}"),
            ReplayError::Usage(m) => f.write_str(m),
            ReplayError::IntoDir { dir, error } => write!(f, "{dir}: {error}"),
            ReplayError::IntoDirOnLind => f.write_str(
                "--into-dir needs the native tee-replay: a Lind grate cannot write host files \
                 with std::fs",
            ),
            ReplayError::LogOpen { log, error } => write!(f, "{log}: {error}"),
            ReplayError::LogRead { log, error } if error.is_damage() => {
                write!(f, "{log}: {error}; --salvage replays the good records")
            }
            ReplayError::LogRead { log, error } => write!(f, "{log}: {error}"),
            ReplayError::ReportCreate(e) => write!(f, "{e}"),
            ReplayError::CageBudget {
                log,
                processes,
                needed,
                available,
            } => write!(
                f,
                "{log}: replaying its {processes} processes into this stack needs {needed} \
                 cage ids; Lind has {available} (cage ids are never reused)"
            ),
            ReplayError::StackStart { chain, errno } => {
                write!(f, "cannot start the stack ({}): {errno}", chain.join(" "))
            }
            ReplayError::StackEnded { chain, top } => write!(
                f,
                "the stack ({}) ended before its driver (cage {top} exited)",
                chain.join(" ")
            ),
            ReplayError::DriverLost { driver, cage } => write!(
                f,
                "driver cage {driver} (playing recorded cage {cage}) ended before its last \
                 record: the replay stopped there"
            ),
        }
    }
}

impl std::error::Error for ReplayError {}
