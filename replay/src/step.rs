//! What tee-replay hands a driver cage, and what the driver hands back.
//!
//! Both sides are this crate's code (the driver is tee-replay in its driver
//! role), so the exchange is plain postcard over the private channel; the
//! bytes travel through `copy_data_between_cages` like any grate's.

use boundary::nr::PRIVATE_BASE;
use formats::{Buffer, SyscallRecord};
use serde::{Deserialize, Serialize};

/// The driver asks for its next step; the result is the step's encoded length.
pub const STEP_LEN: u32 = PRIVATE_BASE + 0x101;
/// The driver fetches the staged step into its buffer (arg1).
pub const STEP_FETCH: u32 = PRIVATE_BASE + 0x102;
/// The driver reports the outcome of a call step (arg1: buffer, arg2: length).
pub const STEP_RESULT: u32 = PRIVATE_BASE + 0x103;
/// The driver forked (arg1: the recorded child cage, arg2: the new driver).
pub const STEP_FORKED: u32 = PRIVATE_BASE + 0x104;

/// Every private number, registered on the stack's top cage.
pub const PRIVATE_CALLS: [u32; 4] = [STEP_LEN, STEP_FETCH, STEP_RESULT, STEP_FORKED];

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

/// What a call step gave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub result: i32,
    pub outputs: Vec<Buffer>,
}
