//! Why the tee could not run an app: one type for every failure of its
//! own, each with the exit status it gives (README, "Exit codes").

use boundary::{CageId, Errno};
use std::fmt;

#[derive(Debug)]
pub enum TeeError {
    /// The command line: clap's one line, or a check after it.
    Usage(String),
    /// The trace log or another output file could not be made or written.
    Output(String),
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
    /// The tee's exit status for this failure: 2 for all of them, as for a
    /// usage error (an app's own status can be anything else).
    pub fn exit_status(&self) -> i32 {
        2
    }
}

impl fmt::Display for TeeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TeeError::Usage(m) | TeeError::Output(m) => f.write_str(m),
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
        }
    }
}

impl std::error::Error for TeeError {}
