/*!
`tee-log`: read, check, repair and compare tee-grate trace logs.

```text
tee-log dump FILE [-s N] [-y] [-T] [-t|-tt|-ttt|-r] [--json] [--cage C]... [--calls FILTER]
tee-log stats FILE [--sort time|calls|errors] [--per-cage]
tee-log verify FILE
tee-log salvage IN OUT [--merge]
tee-log diff A B
tee-log timeline FILE [-o trace.json] [--svg picture.svg] [--force]
tee-log repro FILE -o repro.c [--force]
tee-log reduce FILE -o SMALL.log [--budget 60s] (--stack '%<' GRATE... '%>' | --against '%<' OLD... '%>' '%<' NEW... '%>')
```

Errors are one line on stderr, `tee-log: FILE: offset N: what`. Writing
to a closed pipe (`tee-log dump x | head`) is not an error. Exit codes
are the three tools' one scheme (`abi::exit`, the README's table): 0 done
and nothing found, 1 a finding (a torn or unfinished log, logs that
differ), 2 the tool's own failure, 3 a damaged log.

dump and stats read in salvage mode: they show what survives and warn
about what does not.

This crate is the tool; its entry is [`main`], which the root package's
`tee-log` binary calls (so the tee's tests run it as a user does, beside
the other binaries). [`meter`] is the progress bar every native tool
shares.
*/
#![forbid(unsafe_code)]

mod diff;
mod dump;
mod fd_names;
pub mod meter;
mod reduce;
mod repro;
mod salvage;
mod show;
mod stats;
mod timeline;
mod verify;
mod when;

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use abi::catalog::CallFilter;
use abi::exit;
use clap::{Parser, Subcommand};
use formats::ReadError;

const EXIT_CODES: &str = "\
Exit codes (one scheme for tee-grate, tee-replay and tee-log):
  0  done; verify: clean and complete; diff: the logs agree
  1  verify: torn tail or no trailer, every complete frame intact;
     diff: the logs differ
  2  the tool's own failure: usage, a file it cannot open, make or read,
     a log version it does not know; reduce: no divergence to shrink, or
     no smaller log within the budget
  3  the log is damaged (verify: corruption; diff: a log it cannot read on)";

#[derive(Parser)]
#[command(
    name = "tee-log",
    version,
    about = "Read, check, repair and compare tee-grate trace logs",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How many times the bytes they hold a log's compressed frames may
    /// decompress to (plus 64 MiB); reading stops past it.
    #[arg(long, global = true, value_name = "RATIO", default_value_t = formats::MAX_INFLATION)]
    max_inflation: u64,
}

/// `--max-inflation`, for every log this run opens.
static MAX_INFLATION: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

#[derive(Subcommand)]
enum Command {
    /// Print every record as an strace-like line, or as JSON.
    Dump {
        /// The log to read.
        file: PathBuf,
        /// Show at most this many bytes of each buffer or path.
        #[arg(short = 's', long = "strsize", default_value_t = 32, value_name = "N")]
        strsize: usize,
        /// One JSON object per line: records (buffers complete, escaped),
        /// damage and the end.
        #[arg(long)]
        json: bool,
        /// Name each fd by the file the log shows behind it, as strace -y
        /// does: `write(3<demo-out/notes.txt>, ...)`.
        #[arg(short = 'y', long = "fd-names")]
        fd_names: bool,
        /// Show how long each call's primary took, as strace -T does:
        /// ` <0.000012>` in seconds (logs of format 1.2 and later).
        #[arg(short = 'T', long = "durations")]
        durations: bool,
        /// Lead each line with the time its call began, as strace does: -t
        /// the time of day (UTC), -tt with microseconds, -ttt seconds since
        /// the epoch.
        #[arg(short = 't', action = clap::ArgAction::Count, conflicts_with = "relative")]
        time: u8,
        /// Lead each line with the seconds since the previous line's call
        /// began, as strace -r does.
        #[arg(short = 'r', long = "relative")]
        relative: bool,
        /// Only records of this cage (repeatable).
        #[arg(long = "cage", value_name = "C")]
        cages: Vec<u64>,
        /// Only these calls: fs, net, proc, mem, signal, time, 3i, misc,
        /// all, or syscall names and numbers, comma-separated.
        #[arg(long, value_name = "FILTER", value_parser = CallFilter::parse)]
        calls: Option<CallFilter>,
    },
    /// strace -c's table (time in the primary, calls, errors) with bytes,
    /// per syscall and per cage.
    Stats {
        /// The log to read.
        file: PathBuf,
        /// The order of the rows.
        #[arg(long, value_enum, default_value_t = stats::SortBy::Time)]
        sort: stats::SortBy,
        /// Also one syscall table for each cage.
        #[arg(long)]
        per_cage: bool,
    },
    /// Check a log: 0 clean, 1 torn tail or no trailer, 3 corrupt.
    Verify {
        /// The log to check.
        file: PathBuf,
    },
    /// Copy every good record of IN into a new, complete log OUT.
    Salvage {
        /// The damaged log.
        input: PathBuf,
        /// The log to create (must not exist).
        output: PathBuf,
        /// When a second log was concatenated to IN, keep its records too
        /// (by default only the first log is kept).
        #[arg(long)]
        merge: bool,
    },
    /// Write the log as a timeline: Trace Event Format JSON (open it in
    /// ui.perfetto.dev, chrome://tracing or speedscope.app) and/or an SVG
    /// picture any browser shows.
    #[command(group = clap::ArgGroup::new("output").required(true).multiple(true))]
    Timeline {
        /// The log to read.
        file: PathBuf,
        /// The Trace Event Format file to create (a host path).
        #[arg(short = 'o', long = "output", value_name = "JSON", group = "output")]
        json: Option<PathBuf>,
        /// The SVG picture to create (a host path).
        #[arg(long, value_name = "SVG", group = "output")]
        svg: Option<PathBuf>,
        /// Replace output files that exist.
        #[arg(long)]
        force: bool,
        /// The most lanes to draw (one per cage, one more per call
        /// overlapping another of its cage): a log needing more is refused
        /// at the record that passes it.
        #[arg(long, value_name = "N", default_value_t = timeline::MAX_LANES)]
        max_lanes: usize,
    },
    /// Shrink a log to a small one that replays to the same first
    /// divergence (same call, same kind of difference), by delta debugging
    /// with the native tee-replay.
    Reduce {
        /// The log to shrink.
        file: PathBuf,
        /// The reduced log to create (a host path).
        #[arg(short = 'o', long = "output", value_name = "SMALL")]
        output: PathBuf,
        /// Stop searching after this long (60s, 2m, 500ms); the smallest
        /// log found by then is written.
        #[arg(long, default_value = "60s", value_parser = reduce::parse_budget)]
        budget: std::time::Duration,
        /// Stop after this many trial replays.
        #[arg(long, value_name = "N")]
        max_steps: Option<u64>,
        /// Replace SMALL if it exists.
        #[arg(long)]
        force: bool,
        /// The divergence is one stack's against the recording.
        #[arg(long, conflicts_with = "against", required_unless_present = "against")]
        stack: bool,
        /// Judge each candidate with tee-replay.cwasm on Lind (the stacks
        /// are Lind grates, named by lindfs paths), not the native
        /// tee-replay.
        #[arg(long)]
        lind: bool,
        /// The Lind kit's root, where lind-boot runs (default $LIND_ROOT).
        #[arg(long, value_name = "DIR", requires = "lind")]
        lind_root: Option<PathBuf>,
        /// lind-boot (default $LIND_BOOT).
        #[arg(long, value_name = "PATH", requires = "lind")]
        lind_boot: Option<PathBuf>,
        /// The divergence is between two stacks (or more, each against
        /// the first).
        #[arg(long)]
        against: bool,
        /// '%<' GRATE [ARGS]... '%>', once per stack.
        #[arg(
            value_name = "STACKS",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        words: Vec<String>,
    },
    /// Write the log as a standalone C program that issues its calls in
    /// order and reports the first result unlike the recording (cc or
    /// lind_compile builds it).
    Repro {
        /// The log to reproduce.
        file: PathBuf,
        /// The C file to create (a host path).
        #[arg(short = 'o', long = "output", value_name = "C")]
        output: PathBuf,
        /// Replace the C file if it exists.
        #[arg(long)]
        force: bool,
        /// The largest C file to write, in bytes: a log that would need
        /// more is refused at the record that passes it.
        #[arg(long, value_name = "BYTES", default_value_t = repro::MAX_SOURCE)]
        max_source: usize,
    },
    /// Show where two logs first disagree: 0 same, 1 different.
    Diff {
        /// The first log.
        a: PathBuf,
        /// The second log.
        b: PathBuf,
        /// Show at most this many bytes of each buffer or path.
        #[arg(short = 's', long = "strsize", default_value_t = 32, value_name = "N")]
        strsize: usize,
    },
}

/// A failure, printed once as `tee-log: FILE: message`.
#[derive(Debug)]
pub enum Failure {
    /// A log could not be read.
    Log { file: PathBuf, error: ReadError },
    /// A file could not be opened or written.
    File { file: PathBuf, error: io::Error },
    /// Anything else about a file.
    Other { file: PathBuf, message: String },
    /// Standard output failed (a closed pipe is not reported).
    Stdout(io::Error),
}

impl Failure {
    pub fn other(file: &Path, message: impl Into<String>) -> Failure {
        Failure::Other {
            file: file.to_owned(),
            message: message.into(),
        }
    }

    /// An output file that could not be made (its message names it).
    pub fn output(file: &Path, error: boundary::guest_file::OutputError) -> Failure {
        let message = error.to_string();
        let message = message
            .strip_prefix(&format!("{}: ", error.path))
            .unwrap_or(&message)
            .to_string();
        Failure::other(file, message)
    }

    pub fn log(file: &Path, error: ReadError) -> Failure {
        Failure::Log {
            file: file.to_owned(),
            error,
        }
    }

    /// A damaged log is [`exit::DAMAGED`]; anything else is the tool's
    /// own failure.
    /// A standard-output error as one writing `file` instead (the output
    /// files of a command write through the same code).
    pub fn on(self, file: &Path) -> Failure {
        match self {
            Failure::Stdout(error) => Failure::File {
                file: file.to_owned(),
                error,
            },
            other => other,
        }
    }

    fn exit_code(&self) -> u8 {
        match self {
            Failure::Log { error, .. } => error.exit_code(),
            _ => exit::FAILED,
        }
    }

    fn is_broken_pipe(&self) -> bool {
        matches!(self, Failure::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Log { file, error } => write!(f, "{}: {error}", file.display()),
            Failure::File { file, error } => write!(f, "{}: {error}", file.display()),
            Failure::Other { file, message } => write!(f, "{}: {message}", file.display()),
            Failure::Stdout(e) => write!(f, "standard output: {e}"),
        }
    }
}

impl From<io::Error> for Failure {
    /// Bare I/O errors in this binary come from writing standard output;
    /// file errors are wrapped with their path where they happen.
    fn from(e: io::Error) -> Failure {
        Failure::Stdout(e)
    }
}

/// tee-log's command line, run: parses `std::env::args` and returns the
/// exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::FAILED)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(failure) if failure.is_broken_pipe() => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("tee-log: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    MAX_INFLATION.get_or_init(|| cli.max_inflation);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let code = match cli.command {
        Command::Dump {
            file,
            strsize,
            json,
            fd_names,
            durations,
            time,
            relative,
            cages,
            calls,
        } => {
            let options = dump::Options {
                strsize,
                json,
                fd_names,
                cages,
                calls: calls.unwrap_or_else(CallFilter::all),
                stamp: when::Stamp::from_flags(time, relative),
                durations,
            };
            dump::run(&file, &options, &mut out)?
        }
        Command::Stats {
            file,
            sort,
            per_cage,
        } => stats::run(&file, &stats::Options { sort, per_cage }, &mut out)?,
        Command::Verify { file } => verify::run(&file, &mut out)?,
        Command::Salvage {
            input,
            output,
            merge,
        } => salvage::run(&input, &output, merge, &mut out)?,
        Command::Diff { a, b, strsize } => diff::run(&a, &b, strsize, &mut out)?,
        Command::Reduce {
            file,
            output,
            budget,
            max_steps,
            force,
            stack,
            against: _,
            lind,
            lind_root,
            lind_boot,
            words,
        } => {
            let lind = lind
                .then(|| reduce::lind_from(lind_root, lind_boot))
                .transpose()
                .map_err(|m| Failure::other(&file, m))?;
            let stacks = replay::cli::stack_chains(&words).map_err(|m| Failure::other(&file, m))?;
            let wanted = if stack { 1..=1 } else { 2..=usize::MAX };
            if !wanted.contains(&stacks.len()) {
                let what = if stack {
                    "--stack takes one stack: '%<' GRATE... '%>'"
                } else {
                    "--against takes two stacks or more: '%<' OLD... '%>' '%<' NEW... '%>'"
                };
                return Err(Failure::other(&file, what));
            }
            let options = reduce::Options {
                output,
                stacks,
                budget,
                max_steps,
                force,
                lind,
            };
            reduce::run(&file, &options, &mut out)?
        }
        Command::Repro {
            file,
            output,
            force,
            max_source,
        } => repro::run(&file, &output, force, max_source, &mut out)?,
        Command::Timeline {
            file,
            json,
            svg,
            force,
            max_lanes,
        } => timeline::run(
            &file,
            &timeline::Options {
                json,
                svg,
                force,
                max_lanes,
            },
            &mut out,
        )?,
    };
    out.flush()?;
    Ok(code)
}

/// Opens a log for streaming in `mode`.
pub fn open(
    file: &Path,
    mode: formats::RecoveryMode,
) -> Result<formats::LogReader<std::fs::File>, Failure> {
    let f = std::fs::File::open(file).map_err(|error| Failure::File {
        file: file.to_owned(),
        error,
    })?;
    reader(f, mode).map_err(|e| Failure::log(file, e))
}

/// A reader over `source` with this run's limits.
pub fn reader<R: std::io::Read>(
    source: R,
    mode: formats::RecoveryMode,
) -> Result<formats::LogReader<R>, formats::ReadError> {
    let ratio = *MAX_INFLATION.get().unwrap_or(&formats::MAX_INFLATION);
    formats::LogReader::new(source, mode).map(|r| r.max_inflation(ratio))
}

/// A warning on stderr, in the error format.
pub fn warn(file: &Path, message: fmt::Arguments<'_>) {
    eprintln!("tee-log: {}: warning: {message}", file.display());
}

/// How a log ended, for warnings and verdicts.
pub fn describe_end(end: &formats::LogEnd, records: u64) -> String {
    match end {
        formats::LogEnd::Clean { .. } => format!("clean end after {records} records"),
        formats::LogEnd::Incomplete { offset } => {
            format!("offset {offset}: incomplete log: no trailer after {records} records")
        }
        formats::LogEnd::TornTail { offset, len } => format!(
            "offset {offset}: torn tail: the last frame (record {records}) is cut short, \
             {len} bytes dropped"
        ),
    }
}
