//! The recorder: the secondary of `tee-grate --record`.
//!
//! Appends one record per duplicated call to an append-only log. The log is
//! opened through the tee's own table (so on Lind it lands in lindfs like any
//! grate's file), and a failing log (a full disk) stops recording with one
//! warning; the app never sees it.

use crate::error::TeeError;
use boundary::clock::GuestClock;
use boundary::patient::Patient;
use boundary::tool_file::ToolFile;
use boundary::{Args, CageId, ThreeI};
use formats::{Buffer, Record, SyscallRecord};
use formats::{Clock, Codec, LogHeader, LogWriter, SyncPolicy};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

/// The recording secondary.
pub struct Recorder {
    /// Taken out (under the write lock) when the log is closed; appends
    /// share the read lock, so they never wait on each other here. Boxed:
    /// its buffers and locks would make every secondary as large.
    writer: RwLock<Option<Box<LogWriter<Patient<ToolFile>>>>>,
    path: String,
    clock: GuestClock,
    /// The monotonic time recording started, in nanoseconds.
    start_ns: u64,
    warned: AtomicBool,
}

/// The monotonic clock before a call went to the primary (`None` when
/// it could not be read).
#[derive(Clone, Copy, Debug)]
pub struct Started(Option<u64>);

/// When a call's primary answered and how long it took, for its record.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    time_us: u64,
    duration_ns: Option<u64>,
}

/// The writer's clock: the tee's own, in milliseconds.
struct WriterClock(GuestClock);

impl Clock for WriterClock {
    fn now_ms(&self) -> u64 {
        self.0.monotonic_us() / 1_000
    }
}

impl Recorder {
    /// Creates `path` (see [`ToolFile::create_log`]: a FIFO's reader gets
    /// `patience_ms` to open it and to make room each time) and writes
    /// the header.
    pub fn create(
        rt: &dyn ThreeI,
        path: &str,
        command_line: Vec<String>,
        policy: SyncPolicy,
        codec: Codec,
        force: bool,
        patience_ms: u32,
    ) -> Result<Recorder, TeeError> {
        let file = ToolFile::create_log(rt, path, force, patience_ms).map_err(TeeError::Output)?;
        let clock = GuestClock::new(rt);
        let header = LogHeader::created_at(
            "tee-grate",
            env!("CARGO_PKG_VERSION"),
            ABI,
            command_line,
            clock.unix_ms(),
        )
        .compressed(codec);
        let writer =
            LogWriter::with_clock(file, &header, policy, Box::new(WriterClock(clock.clone())))
                .map_err(|error| TeeError::LogHeader {
                    path: path.to_string(),
                    removed: ToolFile::remove_output(rt, path),
                    error,
                })?
                .bounded_order();
        Ok(Recorder {
            writer: RwLock::new(Some(Box::new(writer))),
            path: path.to_string(),
            start_ns: clock.monotonic_ns().unwrap_or(0),
            clock,
            warned: AtomicBool::new(false),
        })
    }

    /// Microseconds since recording started, for a lifecycle record.
    pub fn time_us(&self) -> u64 {
        self.clock
            .monotonic_us()
            .saturating_sub(self.start_ns / 1_000)
    }

    /// The clock, read just before a call goes to the primary.
    pub fn start(&self) -> Started {
        Started(self.clock.monotonic_ns())
    }

    /// When the primary answered a call that `started`, and how long it
    /// took: read as soon as it returns, before anything is copied.
    pub fn answered(&self, started: Started) -> Timing {
        let now = self.clock.monotonic_ns();
        Timing {
            time_us: now.map_or(0, |ns| ns.saturating_sub(self.start_ns) / 1_000),
            duration_ns: started.0.zip(now).map(|(a, b)| b.saturating_sub(a)),
        }
    }

    /// Appends a record; called from the secondary's thread alone, in
    /// sequence order.
    pub fn append(&self, record: &Record) {
        let writer = self.writer.read().unwrap_or_else(|e| e.into_inner());
        let Some(writer) = writer.as_ref() else {
            return;
        };
        writer.append(record);
        if let Some(error) = writer.take_first_error() {
            if !self.warned.swap(true, Ordering::Relaxed) {
                // The error says where and that recording stopped.
                eprintln!("tee-grate: {}: {error}", self.path);
            }
        }
    }

    /// Gives up sequence number `seq`: its call never got a result.
    pub fn pass(&self, seq: u64) {
        let writer = self.writer.read().unwrap_or_else(|e| e.into_inner());
        if let Some(writer) = writer.as_ref() {
            writer.pass(seq);
        }
    }

    /// Builds a syscall record; its number is given when it is queued.
    #[allow(clippy::too_many_arguments)]
    pub fn syscall(
        timing: Option<Timing>,
        cage: CageId,
        nr: u32,
        args: &Args,
        inputs: Vec<Buffer>,
        outputs: Vec<Buffer>,
        result: i32,
    ) -> SyscallRecord {
        SyscallRecord {
            seq: 0,
            cage: cage.0,
            nr,
            args: SyscallRecord::args_from_full(cage.0, &args.map(|a| (a.value, a.cage))),
            inputs,
            outputs,
            result: i64::from(result),
            secondary: None,
            time_us: timing.map_or(0, |t| t.time_us),
            duration_ns: timing.and_then(|t| t.duration_ns),
        }
    }

    /// Flushes the log if `--sync MS`'s interval has passed since the last
    /// flush; the tee's main calls it at every poll.
    pub fn flush_if_due(&self) {
        let writer = self.writer.read().unwrap_or_else(|e| e.into_inner());
        if let Some(writer) = writer.as_ref() {
            writer.flush_if_due();
        }
    }

    /// Writes the trailer and flushes; returns a warning if records were lost.
    pub fn finish(&self) -> Option<String> {
        let writer = self
            .writer
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        let status = writer.finish();
        (status.dropped > 0).then(|| {
            // A failure mid-run was already reported with its cause; one at
            // the final flush is reported here.
            let cause = match status.error {
                Some(error) if !self.warned.load(Ordering::Relaxed) => format!(": {error}"),
                _ => String::new(),
            };
            format!(
                "tee-grate: {}: {} records were not written{cause}",
                self.path, status.dropped
            )
        })
    }
}

/// The ABI recorded cages run under, as the log header names it.
#[cfg(target_arch = "wasm32")]
const ABI: &str = "lind-wasm32";
#[cfg(not(target_arch = "wasm32"))]
const ABI: &str = "tee-host-wasm32";
