//! Why the tee could not run an app: one type for every failure of its
//! own, each with the exit status it gives (README, "Exit codes").

use boundary::guest_file::OutputError;
use boundary::{CageId, Errno};
use formats::WriteError;
use std::fmt;

#[derive(Debug)]
pub enum TeeError {
    /// The command line: clap's one line, or a check after it.
    Usage(String),
    /// The trace log could not be made.
    Output(OutputError),
    /// The log's header could not be written (`removed`: the empty file
    /// was taken away again).
    LogHeader {
        path: String,
        error: WriteError,
        removed: bool,
    },
    /// A block's chain could not be started, or ended before its hold
    /// cage reported in.
    Block {
        /// "primary" or "secondary".
        which: &'static str,
        chain: Vec<String>,
        why: BlockFailure,
    },
    /// The app could not be started.
    AppStart { app: String, errno: Errno },
    /// Waiting for the app failed.
    AppWait(Errno),
    /// The secondary's thread could not be started.
    Thread(Errno),
}

/// How a block failed to come up.
#[derive(Debug)]
pub enum BlockFailure {
    /// Spawning its first grate failed.
    Spawn(Errno),
    /// Its first grate exited with this status.
    Ended(Option<i32>),
    /// The other block's first grate (this cage) exited meanwhile.
    OtherEnded(CageId, i32),
}

impl TeeError {
    /// The tee's exit status for this failure: [`abi::exit::FAILED`] for
    /// all of them (an app's own status can be anything else).
    pub fn exit_status(&self) -> i32 {
        i32::from(abi::exit::FAILED)
    }
}

impl fmt::Display for TeeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TeeError::Usage(m) => f.write_str(m),
            TeeError::Output(e) => write!(f, "{e}"),
            TeeError::LogHeader {
                path,
                error,
                removed,
            } => {
                let cause = match error {
                    WriteError::Io { source, .. } => source as &dyn fmt::Display,
                    other => other,
                };
                let left = if *removed { "; no log was left" } else { "" };
                write!(f, "{path}: cannot write the log header: {cause}{left}")
            }
            TeeError::Block { which, chain, why } => {
                let chain = chain.join(" ");
                match why {
                    BlockFailure::Spawn(e) => {
                        write!(f, "cannot start the {which} block ({chain}): {e}")
                    }
                    BlockFailure::Ended(Some(status)) => write!(
                        f,
                        "the {which} block ({chain}) ended before it was up: exit status {status}"
                    ),
                    BlockFailure::Ended(None) => {
                        write!(f, "the {which} block ({chain}) ended before it was up")
                    }
                    BlockFailure::OtherEnded(pid, status) => write!(
                        f,
                        "cage {pid} (the other block's first grate) ended while the {which} \
                         block was starting: exit status {status}"
                    ),
                }
            }
            TeeError::AppStart { app, errno } => write!(f, "cannot start {app}: {errno}"),
            TeeError::AppWait(errno) => write!(f, "waiting for the app: {errno}"),
            TeeError::Thread(errno) => write!(f, "cannot start the secondary's thread: {errno}"),
        }
    }
}

impl std::error::Error for TeeError {}
