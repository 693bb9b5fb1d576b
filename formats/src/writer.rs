//! The log writer: append-only, buffered, safe to share between threads,
//! and never a source of errors or panics on the app's path.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postcard::ser_flavors::Flavor;
use serde::ser::{Serialize, Serializer};

use crate::error::WriteError;
use crate::frame::{self, Candidate, MAX_HEADER_BYTES};
use crate::header::LogHeader;
use crate::record::TrailerRecord;
use crate::record::{ArgRecord, Buffer, DropReason, DroppedRecord, Record, SyscallRecord};

/// Frames wait here until the buffer is full or the policy says flush.
const BUF_CAP: usize = 64 << 10;

/// Encode buffers kept for reuse; more than this are freed.
const POOL_MAX: usize = 8;

/// An encode buffer that grew past this is freed rather than pooled, so
/// one huge record does not pin its memory for the rest of the run.
const POOL_BUF_MAX: usize = 1 << 20;

/// When the writer hands buffered frames to its sink and flushes it.
///
/// "Flush" means `Write::flush` on the sink, which for a `File` is the
/// kernel's page cache: it survives the tee dying, not the machine dying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Only when the buffer fills and at [`LogWriter::finish`] (or drop).
    OnExit,
    /// After every record: nothing is lost if the process dies.
    EveryRecord,
    /// At the first append at least this many milliseconds after the last
    /// flush (there is no timer thread; call [`LogWriter::flush`] from one
    /// if a quiet log must reach the disk).
    EveryMillis(u64),
}

/// What a writer has done so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterStatus {
    /// Records in the log, counting those still buffered and, after
    /// `finish`, the Dropped record and the trailer.
    pub records_written: u64,
    /// Bytes in the log, header included.
    pub bytes_written: u64,
    /// Records the caller appended that are not in the log.
    pub dropped: u64,
    /// The first error, for people.
    pub error: Option<String>,
}

/// An append-only log writer over any sink.
///
/// [`append`](LogWriter::append) can be called from many threads at once.
/// It encodes the record before taking the writer's lock, so concurrent
/// handlers contend only for a buffer copy. When the sink fails, the
/// writer stops: later records are counted as dropped, and the error is
/// kept for [`take_first_error`](LogWriter::take_first_error) so the caller
/// can print one warning. Nothing on the append path panics or returns an
/// error.
pub struct LogWriter<W: Write + Send> {
    state: Mutex<State<W>>,
    pool: Mutex<Vec<Vec<u8>>>,
    policy: SyncPolicy,
}

struct State<W> {
    sink: W,
    /// Frames not yet handed to the sink.
    buf: Vec<u8>,
    /// Records appended: the index the next one gets.
    records: u64,
    /// Bytes appended, header included.
    bytes: u64,
    /// Bytes the sink has accepted.
    sunk: u64,
    dropped: u64,
    /// Set when the sink failed; nothing is written after that.
    stopped: bool,
    first_error: Option<WriteError>,
    error_text: Option<String>,
    last_flush: Instant,
    finished: bool,
}

impl LogWriter<File> {
    /// Creates a new log file with mode 0600 and writes `header` to it.
    ///
    /// Refuses to overwrite an existing file: logs are kept as fixtures,
    /// and a second recording into the same path is more often a mistake
    /// than a wish.
    pub fn create(
        path: impl AsRef<Path>,
        header: &LogHeader,
        policy: SyncPolicy,
    ) -> Result<LogWriter<File>, WriteError> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(path)
            .map_err(|source| WriteError::Open { source })?;
        LogWriter::new(file, header, policy)
    }
}

impl<W: Write + Send> LogWriter<W> {
    /// Writes `header` to `sink` at once (so a sink that cannot take it
    /// fails here, before recording starts) and returns the writer.
    pub fn new(mut sink: W, header: &LogHeader, policy: SyncPolicy) -> Result<Self, WriteError> {
        let bytes = header.encode().ok_or(WriteError::Encode {
            record_index: 0,
            detail: "header larger than a frame".into(),
        })?;
        let io_err = |source| WriteError::Io {
            offset: 0,
            record_index: 0,
            source,
        };
        sink.write_all(&bytes).map_err(io_err)?;
        sink.flush().map_err(io_err)?;
        let len = bytes.len() as u64;
        Ok(LogWriter {
            state: Mutex::new(State {
                sink,
                buf: Vec::with_capacity(BUF_CAP),
                records: 0,
                bytes: len,
                sunk: len,
                dropped: 0,
                stopped: false,
                first_error: None,
                error_text: None,
                last_flush: Instant::now(),
                finished: false,
            }),
            pool: Mutex::new(Vec::new()),
            policy,
        })
    }

    /// Appends one record. Syscall records are stored with their trailing
    /// unused arguments trimmed (SPEC.md, "Argument trimming").
    pub fn append(&self, record: &Record) {
        let mut scratch = self.take_scratch();
        let encoded = encode_frame(record, &mut scratch);
        let mut state = lock(&self.state);
        match encoded {
            Ok(start) => state.push_frame(scratch.get(start..).unwrap_or(&[]), self.policy),
            Err(problem) => {
                let index = state.records;
                state.refuse(problem.into_error(index));
            }
        }
        drop(state);
        self.give_scratch(scratch);
    }

    /// Hands buffered frames to the sink and flushes it.
    pub fn flush(&self) {
        lock(&self.state).flush_all();
    }

    /// Counters so far.
    pub fn status(&self) -> WriterStatus {
        lock(&self.state).status()
    }

    /// The first error, once, so the caller can print one warning; later
    /// calls return `None`. [`status`](LogWriter::status) keeps its text.
    pub fn take_first_error(&self) -> Option<WriteError> {
        lock(&self.state).first_error.take()
    }

    /// Writes a Dropped record if records were dropped, then the trailer,
    /// and flushes. Neither is written once the sink has failed: after a
    /// failed write the file may end in a torn frame, and bytes appended
    /// after it would turn that torn tail into mid-file damage.
    pub fn finish(mut self) -> WriterStatus {
        let policy = self.policy;
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        // `dropped` counts the caller's records only: if the final flush
        // fails, the Dropped record and trailer made here are not counted.
        let (records_before, dropped_before) = (state.records, state.dropped);
        if !state.stopped && state.dropped > 0 {
            let detail = state
                .error_text
                .clone()
                .unwrap_or_else(|| "records dropped".into());
            let reason = DropReason::WriteFailed;
            let count = state.dropped;
            let rec = Record::Dropped(DroppedRecord {
                count,
                reason,
                detail,
            });
            let mut scratch = Vec::new();
            match encode_frame(&rec, &mut scratch) {
                Ok(start) => state.push_frame(scratch.get(start..).unwrap_or(&[]), policy),
                Err(problem) => {
                    let index = state.records;
                    state.refuse(problem.into_error(index));
                }
            }
        }
        if !state.stopped {
            let rec = Record::Trailer(TrailerRecord {
                records: state.records,
                bytes: state.bytes,
            });
            let mut scratch = Vec::new();
            if let Ok(start) = encode_frame(&rec, &mut scratch) {
                state.push_frame(scratch.get(start..).unwrap_or(&[]), policy);
            }
        }
        state.flush_all();
        state.dropped = dropped_before + records_before.saturating_sub(state.records);
        state.finished = true;
        state.status()
    }

    fn take_scratch(&self) -> Vec<u8> {
        lock(&self.pool).pop().unwrap_or_default()
    }

    fn give_scratch(&self, mut scratch: Vec<u8>) {
        if scratch.capacity() > POOL_BUF_MAX {
            return;
        }
        scratch.clear();
        let mut pool = lock(&self.pool);
        if pool.len() < POOL_MAX {
            pool.push(scratch);
        }
    }
}

impl<W: Write + Send> Drop for LogWriter<W> {
    /// A writer dropped without `finish` still hands over what it buffered;
    /// the log then has no trailer and readers call it incomplete.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if !state.finished {
            state.flush_all();
        }
    }
}

impl<W: Write> State<W> {
    fn status(&self) -> WriterStatus {
        WriterStatus {
            records_written: self.records,
            bytes_written: self.bytes,
            dropped: self.dropped,
            error: self.error_text.clone(),
        }
    }

    fn push_frame(&mut self, frame: &[u8], policy: SyncPolicy) {
        if self.stopped {
            self.dropped += 1;
            return;
        }
        if self.buf.len() + frame.len() > BUF_CAP && !self.drain() {
            self.dropped += 1;
            return;
        }
        self.records += 1;
        self.bytes += frame.len() as u64;
        if frame.len() >= BUF_CAP / 2 {
            // Large frames skip the buffer; the buffer is empty here.
            self.write_through(frame);
        } else {
            self.buf.extend_from_slice(frame);
        }
        let due = match policy {
            SyncPolicy::OnExit => false,
            SyncPolicy::EveryRecord => true,
            SyncPolicy::EveryMillis(ms) => self.last_flush.elapsed() >= Duration::from_millis(ms),
        };
        if due {
            self.flush_all();
        }
    }

    fn refuse(&mut self, error: WriteError) {
        self.dropped += 1;
        self.note_error(error);
    }

    fn note_error(&mut self, error: WriteError) {
        if self.error_text.is_none() {
            self.error_text = Some(error.to_string());
            self.first_error = Some(error);
        }
    }

    fn flush_all(&mut self) {
        if self.stopped || !self.drain() {
            return;
        }
        if let Err(source) = self.sink.flush() {
            self.fail(source);
        }
        self.last_flush = Instant::now();
    }

    /// Hands the buffer to the sink; false if the sink failed.
    fn drain(&mut self) -> bool {
        if self.stopped {
            return false;
        }
        let buf = std::mem::take(&mut self.buf);
        let ok = self.write_tracked(&buf);
        self.buf = buf;
        self.buf.clear();
        ok
    }

    fn write_through(&mut self, frame: &[u8]) {
        self.write_tracked(frame);
    }

    /// Writes whole frames; on failure works out which frames made it.
    fn write_tracked(&mut self, frames: &[u8]) -> bool {
        let mut done = 0;
        while let Some(rest) = frames.get(done..).filter(|r| !r.is_empty()) {
            match self.sink.write(rest) {
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "sink accepted no bytes");
                    return self.fail_in(frames, done, e);
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail_in(frames, done, e),
            }
        }
        self.sunk += frames.len() as u64;
        true
    }

    /// The sink took `accepted` bytes of `frames` and then failed: frames
    /// wholly inside those bytes are in the log, the rest are dropped.
    fn fail_in(&mut self, frames: &[u8], accepted: usize, source: io::Error) -> bool {
        let (complete, whole) = whole_frames(frames.get(..accepted).unwrap_or(&[]));
        let total = count_frames(frames);
        let lost_records = total - complete;
        let lost_bytes = (frames.len() - whole) as u64;
        self.sunk += whole as u64;
        self.records -= lost_records;
        self.bytes -= lost_bytes;
        self.dropped += lost_records;
        self.fail(source);
        false
    }

    fn fail(&mut self, source: io::Error) {
        self.stopped = true;
        let error = WriteError::Io {
            offset: self.sunk,
            record_index: self.records,
            source,
        };
        self.note_error(error);
    }
}

/// Counts whole frames at the start of `bytes`; returns them and the bytes
/// they span.
fn whole_frames(bytes: &[u8]) -> (u64, usize) {
    let mut count = 0;
    let mut at = 0;
    while let Some(rest) = bytes.get(at..).filter(|r| !r.is_empty()) {
        match frame::check_candidate(rest) {
            Candidate::Valid { header, payload } => {
                count += 1;
                at += header + payload;
            }
            _ => break,
        }
    }
    (count, at)
}

fn count_frames(bytes: &[u8]) -> u64 {
    whole_frames(bytes).0
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the state inconsistent
    // in a way that matters more than losing the log would.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a record did not become a frame.
enum EncodeProblem {
    TooLarge(u64),
    Encode(String),
}

impl EncodeProblem {
    fn into_error(self, record_index: u64) -> WriteError {
        match self {
            EncodeProblem::TooLarge(len) => WriteError::TooLarge { record_index, len },
            EncodeProblem::Encode(detail) => WriteError::Encode {
                record_index,
                detail,
            },
        }
    }
}

/// Encodes `record` as one frame into `scratch`; the frame is
/// `scratch[start..]`.
fn encode_frame(record: &Record, scratch: &mut Vec<u8>) -> Result<usize, EncodeProblem> {
    scratch.clear();
    scratch.resize(MAX_HEADER_BYTES, 0);
    postcard::serialize_with_flavor(&OnDisk(record), VecTail(scratch))
        .map_err(|e| EncodeProblem::Encode(e.to_string()))?;
    let payload = scratch.len() - MAX_HEADER_BYTES;
    frame::seal_in_place(scratch).ok_or(EncodeProblem::TooLarge(payload as u64))
}

/// A postcard flavor appending to a borrowed Vec with whole-slice copies.
struct VecTail<'a>(&'a mut Vec<u8>);

impl Flavor for VecTail<'_> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// A record as it goes to disk: syscall arguments trimmed, without
/// cloning the record.
struct OnDisk<'a>(&'a Record);

/// Mirrors [`SyscallRecord`] field for field; a unit test pins the two to
/// the same bytes.
#[derive(serde::Serialize)]
struct SyscallOnDisk<'a> {
    seq: u64,
    cage: u64,
    nr: u32,
    args: &'a [ArgRecord],
    inputs: &'a [Buffer],
    outputs: &'a [Buffer],
    result: i64,
    secondary: Option<i64>,
    time_us: u64,
}

impl Serialize for OnDisk<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Record::Syscall(r) => {
                let keep = SyscallRecord::trimmed_len(&r.args);
                let view = SyscallOnDisk {
                    seq: r.seq,
                    cage: r.cage,
                    nr: r.nr,
                    args: r.args.get(..keep).unwrap_or(&r.args),
                    inputs: &r.inputs,
                    outputs: &r.outputs,
                    result: r.result,
                    secondary: r.secondary,
                    time_us: r.time_us,
                };
                s.serialize_newtype_variant("Record", 0, "Syscall", &view)
            }
            other => other.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ArgCage, UNUSED_ARG};

    fn syscall(args: Vec<ArgRecord>) -> SyscallRecord {
        SyscallRecord {
            seq: 9,
            cage: 2,
            nr: 1,
            args,
            inputs: vec![Buffer {
                arg: 1,
                index: 0,
                data: b"hello".to_vec(),
                truncated_from: Some(100),
            }],
            outputs: vec![],
            result: 5,
            secondary: Some(-9),
            time_us: 1234,
        }
    }

    #[test]
    fn on_disk_view_encodes_like_the_record() {
        let args = vec![ArgRecord {
            value: 3,
            cage: ArgCage::Caller,
        }];
        let rec = Record::Syscall(syscall(args));
        let view = postcard::to_stdvec(&OnDisk(&rec)).unwrap();
        assert_eq!(view, postcard::to_stdvec(&rec).unwrap());
    }

    #[test]
    fn on_disk_view_trims_unused_args() {
        let mut full = syscall(vec![]);
        full.args = SyscallRecord::args_from_full(
            2,
            &[
                (3, 2),
                (UNUSED_ARG, 2),
                (UNUSED_ARG, 2),
                (UNUSED_ARG, 2),
                (UNUSED_ARG, 2),
                (UNUSED_ARG, 2),
            ],
        );
        let trimmed = full.clone();
        full.args.extend(
            [ArgRecord {
                value: UNUSED_ARG,
                cage: ArgCage::Caller,
            }; 5],
        );
        let a = postcard::to_stdvec(&OnDisk(&Record::Syscall(full))).unwrap();
        let b = postcard::to_stdvec(&Record::Syscall(trimmed)).unwrap();
        assert_eq!(a, b);
    }
}
