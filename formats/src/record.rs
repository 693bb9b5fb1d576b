//! The record kinds a trace log holds (SPEC.md, "Records").
//!
//! postcard is not self-describing and encodes enum tags in declaration
//! order: variants are only ever appended, and a field's type never changes
//! without a major version bump.

use serde::{Deserialize, Serialize};

pub use abi::limits::UNUSED_ARG;

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
    /// Calls the tee did not record, at the place they would have been
    /// (since 1.5): its hand-off queue was full under `--on-full drop`.
    Gap(GapRecord),
}

/// Calls missing from the log where this record stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapRecord {
    /// Numbered like the calls around it, so sequence order puts it where
    /// they would have been.
    pub seq: u64,
    /// How many calls are missing.
    pub calls: u64,
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
    /// The argument value (an integer, or a host address for pointers).
    pub value: u64,
    /// The argument's cage slot.
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
    #[serde(with = "bytes")]
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
    /// The syscall number (Linux x86_64 numbering, 1001-1003 for 3i).
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
    /// Microseconds since the log's creation, monotonic, taken when the
    /// primary returned.
    pub time_us: u64,
    /// How long the primary took, in nanoseconds (since format 1.2; `None`
    /// in older logs and where the writer had no clock).
    pub duration_ns: Option<u64>,
}

/// A fork or thread creation, as the primary performed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkRecord {
    /// Sequence number, shared with syscall records.
    pub seq: u64,
    /// The forking cage.
    pub parent: u64,
    /// The new cage id (or thread id).
    pub child: u64,
    /// A thread (CLONE_VM) shares its parent's cage; `child` is its tid.
    pub thread: bool,
    /// Microseconds since the log's creation.
    pub time_us: u64,
}

/// An exec, recorded before the primary runs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRecord {
    /// Sequence number, shared with syscall records.
    pub seq: u64,
    /// The exec'ing cage.
    pub cage: u64,
    /// The program path, as passed.
    #[serde(with = "bytes")]
    pub path: Vec<u8>,
    /// The argument vector, as passed.
    pub argv: Vec<Vec<u8>>,
    /// The primary's result: only a failed exec returns.
    pub result: i64,
    /// Microseconds since the log's creation.
    pub time_us: u64,
}

/// A cage's exit (231) or a thread's (60).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// Sequence number, shared with syscall records.
    pub seq: u64,
    /// The exiting cage.
    pub cage: u64,
    /// The exit status passed to exit or exit_group.
    pub status: i32,
    /// True for exit_group (231), false for a thread's exit (60).
    pub process: bool,
    /// Microseconds since the log's creation.
    pub time_us: u64,
    /// How the cage ended (since 1.4; an older log's exits are all
    /// [`Ending::Called`]).
    pub ending: Ending,
}

/// How a cage ended. Lind tells no grate of a cage that dies without
/// calling exit (docs/lind-3i.md §7.5): the tee learns of it from a wait
/// status or by finding the cage gone, and records it as an exit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ending {
    /// It called exit or exit_group; `status` is what it passed.
    #[default]
    Called,
    /// A signal killed it; `status` is 128 + the signal, as a shell says.
    Killed(u32),
    /// It ended without an exit call, and no wait status said how (a trap,
    /// or a death no cage waited for); `status` is the wait's exit code, or 0.
    Unseen,
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
    /// How many records are missing.
    pub count: u64,
    /// Why they are missing.
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

impl Record {
    /// The record's sequence number; Dropped and Trailer records have none.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Record::Syscall(r) => Some(r.seq),
            Record::Fork(r) => Some(r.seq),
            Record::Exec(r) => Some(r.seq),
            Record::Exit(r) => Some(r.seq),
            Record::Gap(r) => Some(r.seq),
            Record::Dropped(_) | Record::Trailer(_) => None,
        }
    }

    /// The record's timestamp; Dropped, Trailer and Gap records have none.
    pub fn time_us(&self) -> Option<u64> {
        match self {
            Record::Syscall(r) => Some(r.time_us),
            Record::Fork(r) => Some(r.time_us),
            Record::Exec(r) => Some(r.time_us),
            Record::Exit(r) => Some(r.time_us),
            Record::Dropped(_) | Record::Trailer(_) | Record::Gap(_) => None,
        }
    }

    /// When the record's event began, in microseconds since the log's
    /// creation: a syscall's start is its duration before it returned.
    pub fn started_us(&self) -> Option<u64> {
        match self {
            Record::Syscall(r) => Some(r.started_us()),
            other => other.time_us(),
        }
    }

    /// Stamps the record `time_us` microseconds into the log; records that
    /// carry no time are left as they are.
    pub fn set_time_us(&mut self, time_us: u64) {
        match self {
            Record::Syscall(r) => r.time_us = time_us,
            Record::Fork(r) => r.time_us = time_us,
            Record::Exec(r) => r.time_us = time_us,
            Record::Exit(r) => r.time_us = time_us,
            Record::Dropped(_) | Record::Trailer(_) | Record::Gap(_) => {}
        }
    }
}

impl SyscallRecord {
    /// When the call went to the primary, in microseconds since the log's
    /// creation (when it returned, for a log without durations).
    pub fn started_us(&self) -> u64 {
        self.time_us
            .saturating_sub(self.duration_ns.unwrap_or(0) / 1_000)
    }
}

impl ArgRecord {
    /// The pair as received from a caller whose cage is `caller`.
    pub fn from_pair(value: u64, argcage: u64, caller: u64) -> ArgRecord {
        let cage = if argcage == caller {
            ArgCage::Caller
        } else {
            ArgCage::Other(argcage)
        };
        ArgRecord { value, cage }
    }

    /// The cage slot, with `Caller` resolved to `caller`.
    pub fn argcage(&self, caller: u64) -> u64 {
        match self.cage {
            ArgCage::Caller => caller,
            ArgCage::Other(c) => c,
        }
    }

    fn is_unused(&self) -> bool {
        self.value == UNUSED_ARG && self.cage == ArgCage::Caller
    }
}

impl SyscallRecord {
    /// The six `(value, argcage)` pairs as the tee received them, with
    /// `Caller` resolved to `self.cage` and trimmed pairs restored.
    pub fn full_args(&self) -> [(u64, u64); 6] {
        let mut full = [(UNUSED_ARG, self.cage); 6];
        for (slot, arg) in full.iter_mut().zip(&self.args) {
            *slot = (arg.value, arg.argcage(self.cage));
        }
        full
    }

    /// The compact on-disk form of six received pairs: cage slots equal to
    /// `caller` become `Caller`, and trailing unused pairs are dropped.
    pub fn args_from_full(caller: u64, full: &[(u64, u64); 6]) -> Vec<ArgRecord> {
        let mut args: Vec<ArgRecord> = full
            .iter()
            .map(|&(value, argcage)| ArgRecord::from_pair(value, argcage, caller))
            .collect();
        args.truncate(Self::trimmed_len(&args));
        args
    }

    /// Whether an input buffer was cut when recorded (`--max-buffer`): the
    /// call's bytes are not all in the log.
    pub fn input_was_cut(&self) -> bool {
        self.inputs.iter().any(|b| b.truncated_from.is_some())
    }

    /// Drops trailing `(UNUSED_ARG, Caller)` pairs, as the writer does on
    /// disk; [`SyscallRecord::full_args`] gives the same answer before and
    /// after.
    pub fn trim_args(&mut self) {
        let keep = Self::trimmed_len(&self.args);
        self.args.truncate(keep);
    }

    /// How many leading pairs survive trimming.
    pub(crate) fn trimmed_len(args: &[ArgRecord]) -> usize {
        args.iter()
            .rposition(|a| !a.is_unused())
            .map_or(0, |i| i + 1)
    }
}

/// Byte vectors go through serde's bytes path: the same wire bytes as a
/// sequence of u8 in postcard (varint length, then the bytes), but copied
/// as one slice instead of one element at a time.
mod bytes {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub(super) fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(data)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        // Self-describing formats (JSON) hand a byte string over as a list.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: Vec<ArgRecord>) -> SyscallRecord {
        SyscallRecord {
            seq: 1,
            cage: 7,
            nr: 3,
            args,
            inputs: vec![],
            outputs: vec![],
            result: 0,
            secondary: None,
            time_us: 0,
            duration_ns: None,
        }
    }

    #[test]
    fn trimming_keeps_full_args() {
        let full = [
            (3, 7),
            (UNUSED_ARG, 9),
            (UNUSED_ARG, 7),
            (UNUSED_ARG, 7),
            (UNUSED_ARG, 7),
            (UNUSED_ARG, 7),
        ];
        let args = SyscallRecord::args_from_full(7, &full);
        assert_eq!(args.len(), 2, "the unused pair with a foreign cage stays");
        assert_eq!(args[1].cage, ArgCage::Other(9));
        let rec = call(args);
        assert_eq!(rec.full_args(), full);
    }

    #[test]
    fn trim_args_matches_args_from_full() {
        let mut rec = call(vec![ArgRecord::from_pair(3, 7, 7); 1]);
        rec.args.extend([ArgRecord::from_pair(UNUSED_ARG, 7, 7); 5]);
        let before = rec.full_args();
        rec.trim_args();
        assert_eq!(rec.args.len(), 1);
        assert_eq!(rec.full_args(), before);
    }

    #[test]
    fn bytes_field_has_the_wire_form_of_a_u8_sequence() {
        let buf = Buffer {
            arg: 1,
            index: 0,
            data: b"hi".to_vec(),
            truncated_from: None,
        };
        let as_bytes = postcard::to_stdvec(&buf).unwrap();
        let as_seq = postcard::to_stdvec(&(1u8, 0u16, vec![b'h', b'i'], None::<u64>)).unwrap();
        assert_eq!(as_bytes, as_seq);
        let back: Buffer = postcard::from_bytes(&as_bytes).unwrap();
        assert_eq!(back, buf);
    }
}
