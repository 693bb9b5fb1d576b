//! The record kinds a trace log holds (SPEC.md, "Records").
//!
//! postcard is not self-describing and encodes enum tags in declaration
//! order: variants are only ever appended, and a field's type never changes
//! without a major version bump.

use serde::{Deserialize, Serialize};

/// One record of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// A duplicated syscall and what the primary made of it.
    Syscall(SyscallRecord),
    /// A cage forked (or started a thread).
    Fork(ForkRecord),
    /// A cage exec'd a program.
    Exec(ExecRecord),
    /// A cage (or thread) exited.
    Exit(ExitRecord),
    /// Records the writer could not write or chose not to capture.
    Dropped(DroppedRecord),
    /// The clean-close trailer; a log without it is incomplete.
    Trailer(TrailerRecord),
}

/// Where an argument's cage slot pointed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArgCage {
    /// The record's own cage (the common case, one byte on disk).
    Caller,
    /// Any other value, exactly as received (flag bits and 1001 packing kept).
    Other(u64),
}

/// One `(value, argcage)` pair as the tee received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgRecord {
    pub value: u64,
    pub cage: ArgCage,
}

/// Bytes copied out of (or into) the app at one argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buffer {
    /// 0-based argument position the buffer belongs to.
    pub arg: u8,
    /// Element index inside an iovec array at `arg`; 0 otherwise.
    pub index: u16,
    /// The captured bytes (at most the capture cap).
    pub data: Vec<u8>,
    /// The full length when `data` was cut by the capture cap.
    pub truncated_from: Option<u64>,
}

/// A syscall the tee duplicated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallRecord {
    /// Taken when the call entered the tee; orders records across threads.
    pub seq: u64,
    /// The calling cage (from the argcages, as grates identify callers).
    pub cage: u64,
    pub nr: u32,
    /// Six pairs; trailing pairs equal to `(UNUSED_ARG, Caller)` are omitted
    /// on disk and restored by [`SyscallRecord::full_args`].
    pub args: Vec<ArgRecord>,
    /// Input buffers, copied before the primary ran.
    pub inputs: Vec<Buffer>,
    /// Output buffers, copied after the primary ran, sized by its result.
    pub outputs: Vec<Buffer>,
    /// What the primary returned (and the app saw).
    pub result: i64,
    /// What the secondary returned, when a live tee logs one.
    pub secondary: Option<i64>,
    /// Microseconds since the log's creation, monotonic.
    pub time_us: u64,
}

/// A fork or thread creation, as the primary performed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkRecord {
    pub seq: u64,
    pub parent: u64,
    pub child: u64,
    /// A thread (CLONE_VM) shares its parent's cage; `child` is its tid.
    pub thread: bool,
    pub time_us: u64,
}

/// An exec, recorded before the primary runs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRecord {
    pub seq: u64,
    pub cage: u64,
    pub path: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
    /// The primary's result: only a failed exec returns.
    pub result: i64,
    pub time_us: u64,
}

/// A cage's exit (231) or a thread's (60).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    pub seq: u64,
    pub cage: u64,
    pub status: i32,
    /// True for exit_group (231), false for a thread's exit (60).
    pub process: bool,
    pub time_us: u64,
}

/// Why records are missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DropReason {
    /// The log could not be written (ENOSPC, EIO): recording stopped.
    WriteFailed,
    /// A buffer could not be copied out of the cage.
    CaptureFailed,
}

/// A count of records dropped, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedRecord {
    pub count: u64,
    pub reason: DropReason,
    /// Errno or detail, free text for people.
    pub detail: String,
}

/// The clean-close trailer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailerRecord {
    /// Records written before this one.
    pub records: u64,
    /// Bytes written before this frame, header included.
    pub bytes: u64,
}
