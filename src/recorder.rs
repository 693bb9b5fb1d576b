//! The recorder: the secondary of `tee-grate --record`.
//!
//! Appends one record per duplicated call to an append-only log. The log is
//! opened through the tee's own table (so on Lind it lands in lindfs like any
//! grate's file), and a failing log (a full disk) stops recording with one
//! warning; the app never sees it.

use boundary::clock::GuestClock;
use boundary::guest_file::GuestFile;
use boundary::{Args, CageId, ThreeI};
use formats::{Buffer, Record, SyscallRecord};
use formats::{Clock, LogHeader, LogWriter, SyncPolicy, WriteError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

/// The recording secondary.
pub struct Recorder {
    /// Taken out (under the write lock) when the log is closed; appends
    /// share the read lock, so they never wait on each other here.
    writer: RwLock<Option<LogWriter<GuestFile>>>,
    path: String,
    clock: GuestClock,
    /// The monotonic time recording started, in microseconds.
    start_us: u64,
    warned: AtomicBool,
}

/// The writer's clock: the tee's own, in milliseconds.
struct WriterClock(GuestClock);

impl Clock for WriterClock {
    fn now_ms(&self) -> u64 {
        self.0.monotonic_us() / 1_000
    }
}

impl Recorder {
    /// Creates `path` (see [`GuestFile::create_output`]) and writes the
    /// header.
    pub fn create(
        rt: &dyn ThreeI,
        path: &str,
        command_line: Vec<String>,
        policy: SyncPolicy,
        force: bool,
    ) -> Result<Recorder, String> {
        let file = GuestFile::create_output(rt, path, force)?;
        let clock = GuestClock::new(rt);
        let header = LogHeader::created_at(
            "tee-grate",
            env!("CARGO_PKG_VERSION"),
            ABI,
            command_line,
            clock.unix_ms(),
        );
        let writer =
            LogWriter::with_clock(file, &header, policy, Box::new(WriterClock(clock.clone())))
                .map_err(|e| {
                    let removed = GuestFile::remove_output(rt, path);
                    let cause = match e {
                        WriteError::Io { source, .. } => source.to_string(),
                        other => other.to_string(),
                    };
                    let left = if removed { "; no log was left" } else { "" };
                    format!("{path}: cannot write the log header: {cause}{left}")
                })?;
        Ok(Recorder {
            writer: RwLock::new(Some(writer)),
            path: path.to_string(),
            start_us: clock.monotonic_us(),
            clock,
            warned: AtomicBool::new(false),
        })
    }

    fn time_us(&self) -> u64 {
        self.clock.monotonic_us().saturating_sub(self.start_us)
    }

    fn append(&self, record: &Record) {
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

    /// Appends a syscall record.
    #[allow(clippy::too_many_arguments)]
    pub fn syscall(
        &self,
        seq: u64,
        cage: CageId,
        nr: u32,
        args: &Args,
        inputs: Vec<Buffer>,
        outputs: Vec<Buffer>,
        result: i32,
    ) {
        let record = SyscallRecord {
            seq,
            cage: cage.0,
            nr,
            args: SyscallRecord::args_from_full(cage.0, &args.map(|a| (a.value, a.cage))),
            inputs,
            outputs,
            result: i64::from(result),
            secondary: None,
            time_us: self.time_us(),
        };
        self.append(&Record::Syscall(record));
    }

    /// Appends a lifecycle record built from the current time.
    pub fn lifecycle(&self, build: impl FnOnce(u64) -> Record) {
        let record = build(self.time_us());
        self.append(&record);
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
