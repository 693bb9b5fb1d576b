//! What tee-replay hands a driver cage, and what the driver hands back.
//!
//! Both sides are this crate's code (the driver is tee-replay in its driver
//! role), so the exchange is plain postcard over the private channel; the
//! bytes travel through `copy_data_between_cages` like any grate's.

//!
//! The private numbers of that channel are in `interpose::keys`.

use formats::SyscallRecord;
use serde::{Deserialize, Serialize};

/// One thing a driver does next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Issue this call (fd arguments already mapped to the replay's fds).
    Call(SyscallRecord),
    /// Fork a driver for the recorded cage `child`.
    Fork { child: u64 },
    /// Issue an exec of `path` with `argv` (answered, never performed).
    Exec { path: Vec<u8>, argv: Vec<Vec<u8>> },
    /// Exit with this status.
    Exit { status: i32 },
    /// Nothing left for this driver: exit 0.
    Done,
}
