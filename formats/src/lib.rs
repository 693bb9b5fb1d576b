/*!
The tee-grate trace log: its records, its on-disk framing, and the syscall
catalog that says what each call's arguments are.

Everything the project does meets in this file format: `tee-grate --record`
writes it, `tee-replay` and `tee-log` read it, and grate authors keep logs
for months as regression fixtures. The format is specified normatively in
`formats/SPEC.md`, beside this crate's manifest; this crate is one
implementation of it, and its golden tests pin the two together.

# Brief overview

* [`Record`] is one entry: a [`SyscallRecord`] (a duplicated call with its
  six argument pairs, captured buffers and results), lifecycle events
  ([`ForkRecord`], [`ExecRecord`], [`ExitRecord`]), a [`DroppedRecord`] and
  the clean-close [`TrailerRecord`].
* [`LogHeader`] opens every log: format version, writer, ABI, creation time,
  command line.
* [`LogWriter`] appends records from any number of threads to any
  `io::Write`, buffered, flushed as the [`SyncPolicy`] says, and never
  panics or fails on the caller's path; [`WriterStatus`] says what it did.
* [`LogReader`] streams records back from any `io::Read`; [`RecoveryMode`]
  says whether damage stops it or is skipped and reported as [`Damage`].
  [`LogEnd`] says how the log ended; [`read_all`] does it all for a path.
* [`escape_bytes`] shows bytes, in its own errors and for the crates
  that render records (`render`).

# Example

```
use formats::*;

let header = LogHeader::new("tee-grate", "0.1.0", "host-wasm32-sim", vec!["demo".into()]);
let mut log = Vec::new();
let writer = LogWriter::new(&mut log, &header, SyncPolicy::OnExit).unwrap();
let close = SyscallRecord {
    seq: 1,
    cage: 2,
    nr: 3,
    args: SyscallRecord::args_from_full(2, &[(3, 2), (UNUSED_ARG, 2), (UNUSED_ARG, 2),
        (UNUSED_ARG, 2), (UNUSED_ARG, 2), (UNUSED_ARG, 2)]),
    inputs: vec![],
    outputs: vec![],
    result: 0,
    secondary: None,
    time_us: 1_500,
    duration_ns: None,
};
writer.append(&Record::Syscall(close.clone()));
writer.append(&Record::Exit(ExitRecord { seq: 2, cage: 2, status: 0, process: true, time_us: 1_600, ending: Ending::Called }));
let status = writer.finish();
assert_eq!(status.dropped, 0);

let mut reader = LogReader::new(&log[..], RecoveryMode::Strict).unwrap();
assert_eq!(reader.header().abi, "host-wasm32-sim");
assert_eq!(reader.next_record().unwrap(), Some(Record::Syscall(close)));
assert!(matches!(reader.next_record().unwrap(), Some(Record::Exit(_))));
assert!(matches!(reader.next_record().unwrap(), Some(Record::Trailer(_))));
assert_eq!(reader.next_record().unwrap(), None);
assert!(reader.end().unwrap().is_clean());
```

# Key decisions

* **postcard for payloads.** It is compact (varints, one-byte enum tags, no
  field names), so a `close(3) = 0` record is 25 bytes on disk framing
  included (3 of them its duration), and it is serde, so the record types
  are plain structs. It is not
  self-describing: compatibility is kept by the rules in SPEC.md
  ("Stability"): variants and fields are only appended.
* **Length, CRC and a sync marker per frame.** The length delimits a record
  without parsing it; the CRC (IEEE, over length and payload) catches any
  damage to either; the two-byte marker gives a salvaging reader an anchor
  to look for after damage. A candidate frame counts only when marker,
  length bound and CRC all hold, so resync never accepts a frame by guesswork,
  and two damaged frames never merge into one false record.
* **A torn tail is an end, not an error.** A writer killed mid-write leaves a
  short last frame; readers keep everything before it and report where it
  starts ([`LogReader::valid_offset`]), so a tee can truncate and append.
  Damage in the middle is different: strict mode stops, salvage skips.
* **The writer never hurts the app.** An I/O error stops the writer, which
  then only counts what it drops and keeps the first error for one warning.
  Appends from many threads size and checksum their record before taking
  the writer's lock; under it they only copy bytes into a 64 KiB buffer.
  Syscall records are encoded by hand, byte for byte as postcard would, so
  that this costs no serde calls per field.
* **The tee records what the primary did**: its result and output bytes are
  what the app saw and what replay reproduces. The secondary's result is
  logged beside it only by a live tee, for comparison.

# What this crate does not do

* It does not capture anything: the recorder decides what to copy, guided
  by [`CATALOG`]; this crate only stores it.
* It does not seek or rewrite: logs are append-only, and truncating a torn
  tail before appending is the caller's job.
* It does not fsync: [`SyncPolicy`] flushes to the OS, not to the platter.
* It does not read other major versions, nor compress or encrypt.
*/
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod build;
mod clock;
mod compress;
mod crc_shift;
mod encode;
mod error;
mod escape;
mod frame;
mod header;
mod reader;
mod record;
mod seq_window;
mod writer;

#[cfg(not(target_os = "wasi"))]
pub use crate::clock::SystemClock;
pub use crate::compress::{Codec, COMPRESS_MIN};
pub use crate::{
    clock::Clock,
    error::{Damage, DamageReason, DamageTally, ReadError, WriteError},
    escape::escape_bytes,
    frame::{COMPRESSED_FLAG, FORMAT_MAJOR, FORMAT_MINOR, MAGIC, MAX_FRAME_LEN, SYNC},
    header::LogHeader,
    reader::in_order::{Entry, InSeqOrder},
    reader::records::{
        read_all, LogContents, LogEnd, LogReader, RecoveryMode, DAMAGE_KEPT, INFLATION_SLACK,
        MAX_INFLATION,
    },
    record::{
        ArgCage, ArgRecord, Buffer, DropReason, DroppedRecord, Ending, ExecRecord, ExitRecord,
        ForkRecord, GapRecord, Record, SyscallRecord, TrailerRecord, UNUSED_ARG,
    },
    seq_window::SEQ_WINDOW,
    writer::{LogWriter, SyncPolicy, WriterStatus},
};
