//! `tee-log timeline`: a log as something to look at. The Trace Event
//! Format JSON opens in Perfetto's UI, chrome://tracing and speedscope;
//! the SVG is a picture a browser shows with no server.
//!
//! Both read the log as a walk of [`Mark`]s with their places: a call's
//! cage and lane. The log does not say which thread made a call, so calls
//! that overlap in time go to separate lanes of their cage (the first lane
//! free when the call began): a lane never holds two calls at once, which
//! both formats need.

mod svg;
mod trace_json;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use formats::{describe_call, is_error, lookup, CallClass, Record, RecoveryMode, SyscallRecord};

use crate::meter::Meter;
use crate::{describe_end, open, warn, Failure};

/// What to write.
pub struct Options {
    /// The Trace Event Format file (`-o`).
    pub json: Option<PathBuf>,
    /// The picture (`--svg`).
    pub svg: Option<PathBuf>,
    /// Replace output files that exist.
    pub force: bool,
}

/// One thing on the timeline, in nanoseconds since the log's creation.
pub enum Mark<'r> {
    /// A syscall, from when it went to the primary to when it returned.
    Call {
        record: &'r SyscallRecord,
        index: u64,
        lane: usize,
        start_ns: u64,
        end_ns: u64,
        class: CallClass,
        error: bool,
    },
    /// A fork (a short slice, the anchor of its arrow to the child).
    Fork {
        parent: u64,
        child: u64,
        thread: bool,
        lane: usize,
        at_ns: u64,
    },
    /// An exec.
    Exec {
        cage: u64,
        path: &'r [u8],
        at_ns: u64,
    },
    /// An exit (a cage's or a thread's).
    Exit {
        cage: u64,
        status: i32,
        process: bool,
        at_ns: u64,
    },
}

/// How long a fork's slice lasts: long enough to be drawn and bound to.
pub const FORK_NS: u64 = 1_000;

/// The lanes of each cage: when each one's last call ends.
#[derive(Default)]
pub struct Lanes {
    ends: BTreeMap<u64, Vec<u64>>,
}

impl Lanes {
    /// The first lane of `cage` free at `start`, now busy until `end`.
    pub fn place(&mut self, cage: u64, start: u64, end: u64) -> usize {
        let ends = self.ends.entry(cage).or_default();
        let lane = ends.iter().position(|&e| e <= start).unwrap_or(ends.len());
        match ends.get_mut(lane) {
            Some(e) => *e = end,
            None => ends.push(end),
        }
        lane
    }

    /// Every cage seen, with its number of lanes (at least one).
    pub fn cages(&self) -> impl Iterator<Item = (u64, usize)> + '_ {
        self.ends.iter().map(|(c, l)| (*c, l.len().max(1)))
    }

    /// Makes sure `cage` has a row even if it made no call.
    pub fn touch(&mut self, cage: u64) {
        self.ends.entry(cage).or_default();
    }
}

/// Reads `file` once, handing each mark to `visit` in file order.
/// `meter` follows the bytes read.
pub fn walk(
    file: &Path,
    meter: &Meter,
    lanes: &mut Lanes,
    mut visit: impl FnMut(&Mark<'_>, &formats::LogHeader) -> io::Result<()>,
) -> Result<formats::LogHeader, Failure> {
    let mut reader = open(file, RecoveryMode::Salvage)?;
    let header = reader.header().clone();
    loop {
        let index = reader.records_read();
        let Some(record) = reader.next_record().map_err(|e| Failure::log(file, e))? else {
            break;
        };
        reader.take_damage();
        meter.set(reader.valid_offset());
        let mark = match &record {
            Record::Syscall(r) => {
                let end_ns = r.time_us.saturating_mul(1_000);
                let start_ns = end_ns.saturating_sub(r.duration_ns.unwrap_or(0));
                Mark::Call {
                    record: r,
                    index,
                    lane: lanes.place(r.cage, start_ns, end_ns),
                    start_ns,
                    end_ns,
                    class: lookup(r.nr).map_or(CallClass::Misc, |i| i.class),
                    error: is_error(r.nr, r.result),
                }
            }
            Record::Fork(f) => {
                let at_ns = f.time_us.saturating_mul(1_000);
                if !f.thread {
                    lanes.touch(f.child);
                }
                Mark::Fork {
                    parent: f.parent,
                    child: f.child,
                    thread: f.thread,
                    lane: lanes.place(f.parent, at_ns, at_ns + FORK_NS),
                    at_ns,
                }
            }
            Record::Exec(e) => {
                lanes.touch(e.cage);
                Mark::Exec {
                    cage: e.cage,
                    path: &e.path,
                    at_ns: e.time_us.saturating_mul(1_000),
                }
            }
            Record::Exit(e) => {
                lanes.touch(e.cage);
                Mark::Exit {
                    cage: e.cage,
                    status: e.status,
                    process: e.process,
                    at_ns: e.time_us.saturating_mul(1_000),
                }
            }
            Record::Dropped(_) | Record::Trailer(_) => continue,
        };
        visit(&mark, &header).map_err(Failure::Stdout)?;
    }
    let tally = reader.damage_tally();
    if tally.ranges > 0 {
        warn(
            file,
            format_args!(
                "{} damaged ranges ({} bytes) skipped; the timeline shows the rest",
                tally.ranges, tally.bytes
            ),
        );
    }
    if let Some(end) = reader.end().filter(|e| !e.is_clean()) {
        warn(
            file,
            format_args!("{}", describe_end(end, reader.records_read())),
        );
    }
    Ok(header)
}

/// The line a call's slice carries: what dump shows for it.
pub fn decoded(r: &SyscallRecord) -> String {
    describe_call(r, 32)
}

/// Creates an output file, refusing one that exists unless `force`.
fn create(path: &Path, force: bool) -> Result<BufWriter<File>, Failure> {
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let file = options.open(path).map_err(|error| match error.kind() {
        io::ErrorKind::AlreadyExists => Failure::other(path, "exists; pass --force to replace it"),
        _ => Failure::File {
            file: path.to_owned(),
            error,
        },
    })?;
    Ok(BufWriter::new(file))
}

/// Writes one kind of output from the log.
type Draw = fn(&Path, &Meter, &mut dyn Write) -> Result<(), Failure>;

pub fn run(file: &Path, options: &Options, out: &mut impl Write) -> Result<ExitCode, Failure> {
    // The SVG reads the log twice: once for its lanes and span.
    let outputs: [(&Option<PathBuf>, u64, Draw, &str); 2] = [
        (
            &options.json,
            1,
            trace_json::write,
            "Trace Event Format JSON",
        ),
        (&options.svg, 2, svg::write, "SVG picture"),
    ];
    for (path, passes, draw, what) in outputs {
        let Some(path) = path else { continue };
        let mut sink = create(path, options.force)?;
        let meter = Meter::for_file(file, "timeline", passes);
        draw(file, &meter, &mut sink).map_err(|f| f.on(path))?;
        sink.flush().map_err(|e| Failure::from(e).on(path))?;
        meter.finish();
        writeln!(out, "{}: {what}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
