//! The log writer: append-only, buffered, safe to share between threads,
//! and never a source of errors or panics on the app's path.

use crate::clock::Clock;
use crate::compress::{Codec, Codecs, COMPRESS_MIN};
use crate::encode::{self, Out};
use crate::error::WriteError;
use crate::frame::{self, Candidate, FrameHeader, LenBytes, MAX_FRAME_LEN};
use crate::header::LogHeader;
use crate::record::TrailerRecord;
use crate::record::{DropReason, DroppedRecord, Record, SyscallRecord};
use crate::seq_window::Numbering;
// Only the native writer creates files by path; a Lind grate cannot.
#[cfg(not(target_os = "wasi"))]
use std::fs::File;
use std::io::{self, Write};
#[cfg(not(target_os = "wasi"))]
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// Frames wait here until the buffer is full or the policy says flush.
const BUF_CAP: usize = 64 << 10;

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
    /// By the caller's timer, which calls [`LogWriter::flush_if_due`]: at
    /// least every this many milliseconds while there is something to
    /// write. Appends never read the clock (on Lind a clock read is a
    /// call into the runtime, on every record).
    Timer(u64),
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
/// It sizes and checksums the record before taking the writer's lock, and
/// holds that lock only to copy the frame into the buffer: a full buffer
/// is sealed and handed to the sink under a second lock, by whichever
/// thread finds the sink free, while the others go on appending (no
/// thread-locals: they are unreliable on Lind). Sealed buffers reach the
/// sink in the order they were sealed.
///
/// When the sink fails, the writer stops: later records are counted as
/// dropped, and the error is kept for
/// [`take_first_error`](LogWriter::take_first_error) so the caller can
/// print one warning. Nothing on the append path panics or returns an
/// error.
pub struct LogWriter<W: Write + Send> {
    /// Locked by appenders for the copy. A thread holding it only ever
    /// `try_lock`s `io`; a thread that waits for `io` takes `state` after
    /// it, never before, so the two cannot deadlock.
    state: Mutex<State>,
    io: Mutex<Io<W>>,
    shared: Shared,
}

/// What both sides read without a lock.
struct Shared {
    policy: SyncPolicy,
    /// The header's codec: payloads it shrinks are stored compressed.
    codecs: Codecs,
    /// Set when the sink failed; nothing is written after that.
    stopped: AtomicBool,
    /// Set while `io` holds an error not yet taken.
    io_error: AtomicBool,
}

/// A buffer handed over to the sink, with how many frames it holds.
struct Sealed {
    bytes: Vec<u8>,
    frames: u64,
}

struct State {
    /// Frames not yet sealed.
    buf: Vec<u8>,
    buf_frames: u64,
    /// Sealed buffers, in file order, waiting for the sink.
    sealed: Vec<Sealed>,
    /// Buffers the sink is done with, for the next seals: a fresh one
    /// would be cold in the cache and cost an allocation.
    spares: Vec<Vec<u8>>,
    /// The sink is to be flushed once `sealed` is written.
    flush_due: bool,
    /// Records appended: the index the next one gets.
    records: u64,
    /// Bytes appended, header included.
    bytes: u64,
    /// Records refused or appended after the sink failed.
    dropped: u64,
    first_error: Option<WriteError>,
    error_text: Option<String>,
    clock: Box<dyn Clock>,
    /// When a flush was last made due, in `clock`'s milliseconds.
    last_flush_ms: u64,
    finished: bool,
    /// Set by [`LogWriter::bounded_order`]: records reach the sink within
    /// [`SEQ_WINDOW`](crate::SEQ_WINDOW) of sequence order.
    numbering: Option<Numbering<Record>>,
}

/// The sink and what became of the bytes handed to it.
struct Io<W> {
    sink: W,
    /// Bytes and frames the sink has accepted.
    sunk: u64,
    sunk_records: u64,
    /// Frames appended but lost to the sink's failure, and their bytes.
    lost_records: u64,
    lost_bytes: u64,
    first_error: Option<WriteError>,
    error_text: Option<String>,
}

#[cfg(not(target_os = "wasi"))]
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
    /// fails here, before recording starts) and returns the writer, timed
    /// by the system clock.
    #[cfg(not(target_os = "wasi"))]
    pub fn new(sink: W, header: &LogHeader, policy: SyncPolicy) -> Result<Self, WriteError> {
        LogWriter::with_clock(sink, header, policy, Box::new(crate::clock::SystemClock))
    }

    /// [`LogWriter::new`] with the clock that times
    /// [`SyncPolicy::EveryMillis`].
    pub fn with_clock(
        mut sink: W,
        header: &LogHeader,
        policy: SyncPolicy,
        clock: Box<dyn Clock>,
    ) -> Result<Self, WriteError> {
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
                buf: Vec::with_capacity(BUF_CAP),
                buf_frames: 0,
                sealed: Vec::new(),
                spares: Vec::new(),
                flush_due: false,
                records: 0,
                bytes: len,
                dropped: 0,
                first_error: None,
                error_text: None,
                last_flush_ms: clock.now_ms(),
                clock,
                finished: false,
                numbering: None,
            }),
            io: Mutex::new(Io {
                sink,
                sunk: len,
                sunk_records: 0,
                lost_records: 0,
                lost_bytes: 0,
                first_error: None,
                error_text: None,
            }),
            shared: Shared {
                policy,
                codecs: Codecs::new(header.compression),
                stopped: AtomicBool::new(false),
                io_error: AtomicBool::new(false),
            },
        })
    }

    /// Makes the writer keep the log's order promise (SPEC.md, "Order"):
    /// a record numbered `s` is written only once every number up to
    /// `s - SEQ_WINDOW` is done, that is written or given up with
    /// [`pass`](LogWriter::pass); one that comes earlier waits in memory.
    /// Numbers start at 0 and each is used once. A writer that copies
    /// records of another log (salvage) leaves this off: their numbers
    /// have gaps it would wait on.
    pub fn bounded_order(self) -> Self {
        lock(&self.state).numbering = Some(Numbering::default());
        self
    }

    /// Gives up sequence number `seq`: no record of it will be appended.
    pub fn pass(&self, seq: u64) {
        let mut state = lock(&self.state);
        state.done(seq, &self.shared);
        self.pump(state);
    }

    /// Appends one record. Syscall records are stored with their trailing
    /// unused arguments trimmed (SPEC.md, "Argument trimming").
    pub fn append(&self, record: &Record) {
        // Sizing and the CRC run unlocked; only the copy needs the lock.
        let prepared = Prepared::new(record, &self.shared.codecs);
        let mut state = lock(&self.state);
        let seq = record.seq();
        if let (Some(numbering), Some(seq)) = (&mut state.numbering, seq) {
            if !numbering.may_write(seq) {
                numbering.hold(seq, record.clone());
                return;
            }
        }
        match prepared {
            Ok(p) => state.push(&p, &self.shared),
            Err(problem) => {
                let index = state.records;
                state.refuse(problem.into_error(index));
            }
        }
        if let Some(seq) = seq {
            state.done(seq, &self.shared);
        }
        self.pump(state);
    }

    /// Hands sealed buffers to the sink if no other thread is at it; one
    /// that is picks them up before it lets the sink go.
    fn pump<'a>(&'a self, mut state: MutexGuard<'a, State>) {
        loop {
            if state.sealed.is_empty() {
                return;
            }
            if self.shared.policy == SyncPolicy::EveryRecord {
                // The record must be in the sink when append returns.
                drop(state);
                self.write_out(false);
                return;
            }
            let mut io = match self.io.try_lock() {
                Ok(io) => io,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            let batch = std::mem::take(&mut state.sealed);
            let flush = std::mem::take(&mut state.flush_due);
            drop(state);
            let spent = io.write_batch(batch, flush, &self.shared);
            drop(io);
            // What was sealed while the sink was busy, its sealer having
            // found the sink taken.
            state = lock(&self.state);
            state.keep_spares(spent);
        }
    }

    /// Seals the buffer and writes everything sealed, waiting for the sink
    /// if another thread has it; flushes the sink if `flush` or a flush is
    /// due.
    fn write_out(&self, flush: bool) {
        let mut io = lock(&self.io);
        let mut flush = flush;
        loop {
            let batch = {
                let mut state = lock(&self.state);
                state.seal();
                flush |= std::mem::take(&mut state.flush_due);
                std::mem::take(&mut state.sealed)
            };
            let last = batch.is_empty();
            let spent = io.write_batch(batch, flush && last, &self.shared);
            lock(&self.state).keep_spares(spent);
            if last {
                break;
            }
        }
        drop(io);
        self.pump(lock(&self.state));
    }

    /// Hands buffered frames to the sink and flushes it.
    pub fn flush(&self) {
        self.write_out(true);
    }

    /// Flushes what is buffered if the interval of [`SyncPolicy::Timer`]
    /// (or `EveryMillis`) has passed since the last flush: the caller's
    /// timer, so that a log whose app has gone quiet (or hangs) still
    /// reaches the sink.
    pub fn flush_if_due(&self) {
        let (SyncPolicy::Timer(ms) | SyncPolicy::EveryMillis(ms)) = self.shared.policy else {
            return;
        };
        {
            let mut state = lock(&self.state);
            let now = state.clock.now_ms();
            if state.buf.is_empty() || now.saturating_sub(state.last_flush_ms) < ms {
                return;
            }
            state.last_flush_ms = now;
        }
        self.write_out(true);
    }

    /// Counters so far.
    pub fn status(&self) -> WriterStatus {
        let io = lock(&self.io);
        let state = lock(&self.state);
        state.status(&io)
    }

    /// The first error, once, so the caller can print one warning; later
    /// calls return `None`. [`status`](LogWriter::status) keeps its text.
    pub fn take_first_error(&self) -> Option<WriteError> {
        if let Some(error) = lock(&self.state).first_error.take() {
            return Some(error);
        }
        // The sink's lock only when it has something: an append must not
        // wait for another thread's write to learn there is no error.
        if self.shared.io_error.swap(false, Ordering::AcqRel) {
            return lock(&self.io).first_error.take();
        }
        None
    }

    /// Writes a Dropped record if records were dropped, then the trailer,
    /// and flushes. Neither is written once the sink has failed: after a
    /// failed write the file may end in a torn frame, and bytes appended
    /// after it would turn that torn tail into mid-file damage.
    pub fn finish(self) -> WriterStatus {
        {
            let mut state = lock(&self.state);
            state.release_held(&self.shared);
        }
        // Everything the caller appended is in the sink (or lost) now.
        self.write_out(false);
        let (records_before, dropped_before) = {
            let io = lock(&self.io);
            let mut state = lock(&self.state);
            let before = (
                state.records - io.lost_records,
                state.dropped + io.lost_records,
            );
            if !self.shared.stopped.load(Ordering::Acquire) {
                if before.1 > 0 {
                    let detail = io
                        .error_text
                        .clone()
                        .or_else(|| state.error_text.clone())
                        .unwrap_or_else(|| "records dropped".into());
                    let rec = Record::Dropped(DroppedRecord {
                        count: before.1,
                        reason: DropReason::WriteFailed,
                        detail,
                    });
                    state.push_record(&rec, &self.shared);
                }
                let rec = Record::Trailer(TrailerRecord {
                    records: state.records,
                    bytes: state.bytes,
                });
                state.push_record(&rec, &self.shared);
            }
            before
        };
        self.write_out(true);
        let io = lock(&self.io);
        let mut state = lock(&self.state);
        // `dropped` counts the caller's records only: if the final flush
        // fails, the Dropped record and trailer made here are not counted.
        let mut status = state.status(&io);
        status.dropped = dropped_before + records_before.saturating_sub(status.records_written);
        state.finished = true;
        status
    }
}

impl<W: Write + Send> Drop for LogWriter<W> {
    /// A writer dropped without `finish` still hands over what it buffered;
    /// the log then has no trailer and readers call it incomplete.
    fn drop(&mut self) {
        let finished = {
            let mut state = lock(&self.state);
            if !state.finished {
                state.release_held(&self.shared);
            }
            state.finished
        };
        if !finished {
            self.write_out(true);
        }
    }
}

impl State {
    /// The counters, the sink's losses taken out.
    fn status<W>(&self, io: &Io<W>) -> WriterStatus {
        WriterStatus {
            records_written: self.records - io.lost_records,
            bytes_written: self.bytes - io.lost_bytes,
            dropped: self.dropped + io.lost_records,
            error: io.error_text.clone().or_else(|| self.error_text.clone()),
        }
    }

    /// Writes every held record at the end of the log: whatever they
    /// waited for will never come.
    fn release_held(&mut self, shared: &Shared) {
        if let Some(held) = self.numbering.as_mut().map(Numbering::drain) {
            for (_, record) in held {
                self.push_record(&record, shared);
            }
        }
    }

    /// Marks `seq` done and writes the held records that lets out.
    fn done(&mut self, seq: u64, shared: &Shared) {
        let Some(mut numbering) = self.numbering.take() else {
            return;
        };
        let mut ready = numbering.done(seq);
        while !ready.is_empty() {
            let mut more = Vec::new();
            for (seq, record) in ready {
                self.push_record(&record, shared);
                more.extend(numbering.done(seq));
            }
            ready = more;
        }
        self.numbering = Some(numbering);
    }

    fn push_record(&mut self, record: &Record, shared: &Shared) {
        match Prepared::new(record, &shared.codecs) {
            Ok(p) => self.push(&p, shared),
            Err(problem) => {
                let index = self.records;
                self.refuse(problem.into_error(index));
            }
        }
    }

    /// Lays out one frame at the end of the buffer.
    fn push(&mut self, prepared: &Prepared<'_>, shared: &Shared) {
        if shared.stopped.load(Ordering::Acquire) {
            self.dropped += 1;
            return;
        }
        let len = prepared.header.frame_len();
        if self.buf.len() + len > BUF_CAP {
            self.seal();
        }
        let mark = self.buf.len();
        self.buf.reserve(len);
        self.buf.extend_from_slice(prepared.header.as_slice());
        prepared.lay_out(&mut self.buf);
        if self.buf.len() - mark != len {
            // Encoding is deterministic, so this cannot happen; if it did,
            // the frame would fail its CRC, so it is not written.
            self.buf.truncate(mark);
            let record_index = self.records;
            let detail = "record encoded to two different lengths".to_owned();
            self.refuse(WriteError::Encode {
                record_index,
                detail,
            });
            return;
        }
        self.records += 1;
        self.bytes += len as u64;
        self.buf_frames += 1;
        if self.buf.len() >= BUF_CAP {
            // A large frame goes out at once.
            self.seal();
        }
        let due = match shared.policy {
            SyncPolicy::OnExit | SyncPolicy::Timer(_) => false,
            SyncPolicy::EveryRecord => true,
            SyncPolicy::EveryMillis(ms) => {
                self.clock.now_ms().saturating_sub(self.last_flush_ms) >= ms
            }
        };
        if due {
            self.seal();
            self.flush_due = true;
            self.last_flush_ms = self.clock.now_ms();
        }
    }

    /// Hands the buffer's frames over to the sink's queue.
    fn seal(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let fresh = self
            .spares
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BUF_CAP));
        let bytes = std::mem::replace(&mut self.buf, fresh);
        let frames = std::mem::take(&mut self.buf_frames);
        self.sealed.push(Sealed { bytes, frames });
    }

    /// Keeps up to two written buffers of the usual size for reuse; one
    /// that a large frame grew is let go.
    fn keep_spares(&mut self, spent: Vec<Vec<u8>>) {
        for mut buf in spent {
            if self.spares.len() < 2 && buf.capacity() <= 2 * BUF_CAP {
                buf.clear();
                self.spares.push(buf);
            }
        }
    }

    fn refuse(&mut self, error: WriteError) {
        self.dropped += 1;
        if self.error_text.is_none() {
            self.error_text = Some(error.to_string());
            self.first_error = Some(error);
        }
    }
}

impl<W: Write> Io<W> {
    /// Writes `batch` in order, then flushes if `flush`; after a failure
    /// the rest is counted as lost. Returns the buffers, spent.
    fn write_batch(&mut self, batch: Vec<Sealed>, flush: bool, shared: &Shared) -> Vec<Vec<u8>> {
        let mut spent = Vec::with_capacity(batch.len());
        for sealed in batch {
            if shared.stopped.load(Ordering::Acquire) {
                self.lost_records += sealed.frames;
                self.lost_bytes += sealed.bytes.len() as u64;
            } else {
                self.write_tracked(&sealed, shared);
            }
            spent.push(sealed.bytes);
        }
        if flush && !shared.stopped.load(Ordering::Acquire) {
            if let Err(source) = self.sink.flush() {
                self.fail(source, shared);
            }
        }
        spent
    }

    /// Writes whole frames; on failure works out which frames made it.
    fn write_tracked(&mut self, sealed: &Sealed, shared: &Shared) {
        let frames = &sealed.bytes[..];
        let mut done = 0;
        while let Some(rest) = frames.get(done..).filter(|r| !r.is_empty()) {
            match self.sink.write(rest) {
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "sink accepted no bytes");
                    return self.fail_in(sealed, done, e, shared);
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail_in(sealed, done, e, shared),
            }
        }
        self.sunk += frames.len() as u64;
        self.sunk_records += sealed.frames;
    }

    /// The sink took `accepted` bytes of `sealed` and then failed: frames
    /// wholly inside those bytes are in the log, the rest are lost.
    fn fail_in(&mut self, sealed: &Sealed, accepted: usize, source: io::Error, shared: &Shared) {
        let (complete, whole) = whole_frames(sealed.bytes.get(..accepted).unwrap_or(&[]));
        self.sunk += whole as u64;
        self.sunk_records += complete;
        self.lost_records += sealed.frames - complete;
        self.lost_bytes += (sealed.bytes.len() - whole) as u64;
        self.fail(source, shared);
    }

    fn fail(&mut self, source: io::Error, shared: &Shared) {
        shared.stopped.store(true, Ordering::Release);
        let error = WriteError::Io {
            offset: self.sunk,
            record_index: self.sunk_records,
            source,
        };
        if self.error_text.is_none() {
            self.error_text = Some(error.to_string());
            self.first_error = Some(error);
            shared.io_error.store(true, Ordering::Release);
        }
    }
}

/// Counts whole frames at the start of `bytes`; returns them and the bytes
/// they span.
fn whole_frames(bytes: &[u8]) -> (u64, usize) {
    let mut count = 0;
    let mut at = 0;
    while let Some(rest) = bytes.get(at..).filter(|r| !r.is_empty()) {
        match frame::check_candidate(rest) {
            Candidate::Valid {
                header, payload, ..
            } => {
                count += 1;
                at += header + payload;
            }
            _ => break,
        }
    }
    (count, at)
}

use abi::sync::lock;

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

/// A record ready to be laid out: its frame header, computed outside the
/// writer's lock, and how to produce its payload under it.
struct Prepared<'a> {
    header: FrameHeader,
    payload: Payload<'a>,
}

enum Payload<'a> {
    /// Encoded by hand, with this many argument pairs kept.
    Syscall(&'a SyscallRecord, usize),
    /// The rarer kinds, encoded by postcard in advance.
    Encoded(Vec<u8>),
}

impl<'a> Prepared<'a> {
    /// Sizes, checksums and (with a codec) compresses `record`: the part
    /// of appending that costs most and needs no lock.
    fn new(record: &'a Record, codecs: &Codecs) -> Result<Prepared<'a>, EncodeProblem> {
        match record {
            Record::Syscall(r) => {
                let nargs = SyscallRecord::trimmed_len(&r.args);
                let size = encode::syscall_len(r, nargs);
                if codecs.codec() != Codec::None && size >= COMPRESS_MIN {
                    return Prepared::compressed_syscall(r, nargs, size, codecs);
                }
                let len = LenBytes::new(size).ok_or(EncodeProblem::TooLarge(size as u64))?;
                let mut crc = encode::Crc::new();
                crc.bytes(len.as_slice());
                encode::syscall(&mut crc, r, nargs);
                Ok(Prepared {
                    header: len.header(crc.finish(), size),
                    payload: Payload::Syscall(r, nargs),
                })
            }
            other => {
                let bytes =
                    postcard::to_stdvec(other).map_err(|e| EncodeProblem::Encode(e.to_string()))?;
                Prepared::stored(bytes, codecs)
            }
        }
    }

    /// A syscall record of a compressing log: encoded whole, then
    /// [`Prepared::stored`]. Out of line, so the plain path stays as tight
    /// as it was (the writer bench lost a fifth with it inline).
    #[inline(never)]
    fn compressed_syscall(
        r: &SyscallRecord,
        nargs: usize,
        size: usize,
        codecs: &Codecs,
    ) -> Result<Prepared<'a>, EncodeProblem> {
        let mut bytes = Vec::with_capacity(size);
        encode::syscall(&mut encode::Append(&mut bytes), r, nargs);
        Prepared::stored(bytes, codecs)
    }

    /// An encoded payload, compressed when `codec` shrinks it.
    fn stored(plain: Vec<u8>, codecs: &Codecs) -> Result<Prepared<'a>, EncodeProblem> {
        // A reader refuses a payload that decompresses past a frame's
        // bound, however small it is stored.
        if plain.len() > MAX_FRAME_LEN as usize {
            return Err(EncodeProblem::TooLarge(plain.len() as u64));
        }
        let (bytes, flagged) = match codecs.compress(&plain) {
            Some(shrunk) => (shrunk, true),
            None => (plain, false),
        };
        let len = LenBytes::new(bytes.len()).ok_or(EncodeProblem::TooLarge(bytes.len() as u64))?;
        let crc = frame::frame_crc(len.as_slice(), &bytes);
        let header = if flagged {
            len.flagged_header(crc, bytes.len())
        } else {
            len.header(crc, bytes.len())
        };
        Ok(Prepared {
            header,
            payload: Payload::Encoded(bytes),
        })
    }

    /// Appends the payload's bytes to `buf`.
    fn lay_out(&self, buf: &mut Vec<u8>) {
        match &self.payload {
            Payload::Syscall(r, nargs) => encode::syscall(&mut encode::Append(buf), r, *nargs),
            Payload::Encoded(bytes) => buf.extend_from_slice(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ArgCage, ArgRecord, Buffer, UNUSED_ARG};

    fn payload_of(record: &Record) -> Vec<u8> {
        let p = Prepared::new(record, &Codecs::new(Codec::None))
            .ok()
            .unwrap();
        let mut buf = Vec::new();
        p.lay_out(&mut buf);
        buf
    }

    #[test]
    fn syscall_payload_is_trimmed_postcard() {
        let mut r = SyscallRecord {
            seq: 9,
            cage: 2,
            nr: 1,
            args: vec![ArgRecord {
                value: 3,
                cage: ArgCage::Caller,
            }],
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
            duration_ns: None,
        };
        let trimmed = postcard::to_stdvec(&Record::Syscall(r.clone())).unwrap();
        r.args.extend(
            [ArgRecord {
                value: UNUSED_ARG,
                cage: ArgCage::Caller,
            }; 5],
        );
        assert_eq!(payload_of(&Record::Syscall(r)), trimmed);
    }

    #[test]
    fn prepared_header_matches_the_payload() {
        let r = Record::Trailer(TrailerRecord {
            records: 3,
            bytes: 99,
        });
        let p = Prepared::new(&r, &Codecs::new(Codec::None)).ok().unwrap();
        let mut frame = p.header.as_slice().to_vec();
        p.lay_out(&mut frame);
        assert_eq!(frame.len(), p.header.frame_len());
        assert!(matches!(
            frame::check_candidate(&frame),
            Candidate::Valid { .. }
        ));
    }
}
