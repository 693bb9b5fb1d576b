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
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use abi::catalog::{lookup, CallClass};
use formats::{Record, RecoveryMode, SyscallRecord};
use render::{describe_call, is_error};

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
    /// The most lanes to draw (`--max-lanes`).
    pub max_lanes: usize,
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

/// The default most lanes a timeline draws (`--max-lanes`), over all
/// cages: a lane per cage, and one more for each call overlapping another
/// of its cage. Each lane costs the SVG a row of cells, and a log can
/// claim any number of cages and overlaps.
pub const MAX_LANES: usize = 1024;

/// The lanes of each cage: when each one's last call ends.
pub struct Lanes {
    ends: BTreeMap<u64, Vec<u64>>,
    /// Lanes made so far, and the most there may be.
    made: usize,
    limit: usize,
}

/// A record would need more lanes than the limit allows.
#[derive(Debug)]
pub struct TooManyLanes;

impl Lanes {
    /// No lanes yet; at most `limit` of them.
    pub fn new(limit: usize) -> Lanes {
        Lanes {
            ends: BTreeMap::new(),
            made: 0,
            limit,
        }
    }

    /// The first lane of `cage` free at `start`, now busy until `end`.
    pub fn place(&mut self, cage: u64, start: u64, end: u64) -> Result<usize, TooManyLanes> {
        self.touch(cage)?;
        let ends = self.ends.entry(cage).or_default();
        let lane = ends.iter().position(|&e| e <= start).unwrap_or(ends.len());
        if let Some(e) = ends.get_mut(lane) {
            *e = end;
        } else if ends.is_empty() {
            // The lane `touch` made for the cage.
            ends.push(end);
        } else if self.made < self.limit {
            ends.push(end);
            self.made += 1;
        } else {
            return Err(TooManyLanes);
        }
        Ok(lane)
    }

    /// The most lanes there may be.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Every cage seen, with its number of lanes (at least one).
    pub fn cages(&self) -> impl Iterator<Item = (u64, usize)> + '_ {
        self.ends.iter().map(|(c, l)| (*c, l.len().max(1)))
    }

    /// Makes sure `cage` has a row even if it made no call.
    pub fn touch(&mut self, cage: u64) -> Result<(), TooManyLanes> {
        if self.ends.contains_key(&cage) {
            return Ok(());
        }
        if self.made >= self.limit {
            return Err(TooManyLanes);
        }
        // A cage's first lane is made here, empty until a call uses it.
        self.ends.insert(cage, Vec::new());
        self.made += 1;
        Ok(())
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
        let limit = lanes.limit;
        let too_many = |TooManyLanes| {
            Failure::other(
                file,
                format!(
                    "record {index}: more than {limit} lanes (one per cage, one more per \
                     call overlapping another of its cage); give --max-lanes to draw more"
                ),
            )
        };
        let mark = match &record {
            Record::Syscall(r) => {
                let end_ns = r.time_us.saturating_mul(1_000);
                let start_ns = end_ns.saturating_sub(r.duration_ns.unwrap_or(0));
                Mark::Call {
                    record: r,
                    index,
                    lane: lanes.place(r.cage, start_ns, end_ns).map_err(too_many)?,
                    start_ns,
                    end_ns,
                    class: lookup(r.nr).map_or(CallClass::Misc, |i| i.class),
                    error: is_error(r.nr, r.result),
                }
            }
            Record::Fork(f) => {
                let at_ns = f.time_us.saturating_mul(1_000);
                if !f.thread {
                    lanes.touch(f.child).map_err(too_many)?;
                }
                Mark::Fork {
                    parent: f.parent,
                    child: f.child,
                    thread: f.thread,
                    lane: lanes
                        .place(f.parent, at_ns, at_ns.saturating_add(FORK_NS))
                        .map_err(too_many)?,
                    at_ns,
                }
            }
            Record::Exec(e) => {
                lanes.touch(e.cage).map_err(too_many)?;
                Mark::Exec {
                    cage: e.cage,
                    path: &e.path,
                    at_ns: e.time_us.saturating_mul(1_000),
                }
            }
            Record::Exit(e) => {
                lanes.touch(e.cage).map_err(too_many)?;
                Mark::Exit {
                    cage: e.cage,
                    status: e.status,
                    process: e.process,
                    at_ns: e.time_us.saturating_mul(1_000),
                }
            }
            Record::Dropped(_) | Record::Trailer(_) | Record::Gap(_) => continue,
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

/// Creates an output file by the rule every tool's output follows.
fn create(path: &Path, force: bool) -> Result<BufWriter<File>, Failure> {
    boundary::tool_file::create_host_output(path, force)
        .map(BufWriter::new)
        .map_err(|e| Failure::output(path, e))
}

/// Writes one kind of output from the log.
type Draw = fn(&Path, &Meter, Lanes, &mut dyn Write) -> Result<(), Failure>;

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
        let lanes = Lanes::new(options.max_lanes);
        draw(file, &meter, lanes, &mut sink).map_err(|f| f.on(path))?;
        sink.flush().map_err(|e| Failure::from(e).on(path))?;
        meter.finish();
        writeln!(out, "{}: {what}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
