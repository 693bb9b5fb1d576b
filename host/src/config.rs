//! What a run is given and what it gives back.

use boundary::ProgramEntry;
use std::fmt;
use std::path::PathBuf;

/// Where cage 1's fds 0, 1 and 2 go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdio {
    /// The host process's stdin, stdout and stderr.
    Inherit,
    /// An empty stdin; fd 1 and fd 2 collected into [`RunOutcome`].
    /// Every cage that inherits those fds writes into the same buffers.
    Capture,
}

/// How a runtime is set up.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// The lindfs root: absolute cage paths map under it, and `..` never
    /// leaves it. Exec looks programs up by name in `programs`, not here.
    pub root: PathBuf,
    /// Programs a cage can exec, by name.
    pub programs: Vec<ProgramEntry>,
    /// Where cage 1's stdio goes.
    pub stdio: Stdio,
}

/// The result of a run that ended without a stop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunOutcome {
    /// Cage 1's exit code (1 when it trapped).
    pub status: i32,
    /// Bytes written to cage 1's fd 1 (empty unless captured).
    pub stdout: Vec<u8>,
    /// Bytes written to cage 1's fd 2 (empty unless captured).
    pub stderr: Vec<u8>,
}

impl RunOutcome {
    /// stdout as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Why a run did not produce a [`RunOutcome`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// Something happened where Lind panics the whole runtime; the reason
    /// names it (for example "no handler for syscall 57 in cage 3").
    Stopped(String),
    /// argv was empty.
    EmptyArgv,
    /// `argv[0]` names no registered program.
    NoSuchProgram(String),
    /// [`crate::Runtime::run`] was called a second time.
    AlreadyRan,
}

impl RunError {
    /// The stop reason, if the run was stopped.
    pub fn stop_reason(&self) -> Option<&str> {
        match self {
            RunError::Stopped(reason) => Some(reason),
            _ => None,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Stopped(reason) => write!(f, "run stopped (Lind would panic): {reason}"),
            RunError::EmptyArgv => f.write_str("empty argv"),
            RunError::NoSuchProgram(name) => write!(f, "no program named {name:?}"),
            RunError::AlreadyRan => f.write_str("a runtime runs once"),
        }
    }
}

impl std::error::Error for RunError {}
