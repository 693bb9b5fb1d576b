//! The tee-grate command line: options, `%{ … %}` blocks and the app.
//!
//! clap handles the options; the blocks are positional words clap cannot
//! express, so everything from the first positional word on is split here.

use crate::handoff::OnFull;
use abi::catalog::CallFilter;
use clap::Parser;
use formats::{Codec, SyncPolicy};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Forms (the primary's result is what the app sees; the secondary gets a copy):
  tee-grate --record trace.log -- demo-files
      primary: what lies below the tee; secondary: a recorder writing trace.log
  tee-grate %{ archive-grate /archive %} demo-files
      one block: the secondary stack; primary: what lies below the tee
  tee-grate %{ imfs-grate %} %{ archive-grate /archive %} demo-files
      two blocks: the first is the primary stack, the second the secondary
  tee-grate --record trace.log %{ imfs-grate %} demo-files
      with --record, one block is the primary stack
  tee-grate --primary imfs-grate --secondary 'archive-grate /archive' -- demo-files
      flag form of the two-block form; each flag repeats to stack grates in order

Within a block, grates form an argv chain: each grate takes its own arguments
and starts the next word as its child, as Lind grates do.

Paths: the native tee-grate takes --record FILE as a host path, absolute or
relative to the directory it runs in; on Lind it is a lindfs path. The app
and the grates see lindfs paths (natively: under LIND_ROOT, by default the
current directory).

Exit status: the app's, or 2 for the tee's own failure (README, \"Exit codes\").";

/// Command-line options (everything before the blocks and the app).
#[derive(Debug, Parser)]
#[command(
    name = "tee-grate",
    version,
    about = "Duplicate an app's syscalls to a secondary grate stack or a trace log",
    after_help = EXAMPLES
)]
struct Options {
    /// Record every duplicated call to FILE (the recorder is the secondary).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// A primary grate, with its arguments in one word; repeat to stack.
    #[arg(long, value_name = "GRATE")]
    primary: Vec<String>,
    /// A secondary grate, with its arguments in one word; repeat to stack.
    #[arg(long, value_name = "GRATE")]
    secondary: Vec<String>,
    /// What is duplicated: fs, net, proc, mem, signal, time, all, or call names.
    #[arg(long, value_name = "WHAT", default_value = "all", value_parser = CallFilter::parse)]
    calls: CallFilter,
    /// Bytes kept per captured buffer; longer buffers are cut and marked
    /// (paths and argv strings are kept whole, up to 4096 bytes).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_buffer: usize,
    /// When the log is flushed: exit, record (every record), or a period in
    /// ms (at most that much is lost if the tee is killed).
    #[arg(long, value_name = "WHEN", default_value = "200", value_parser = parse_sync)]
    sync: SyncPolicy,
    /// Compress --record's larger payloads: lz4 (fast) or zstd (smaller).
    /// tee-log and tee-replay before format 1.3 refuse such a log.
    #[arg(long, value_name = "CODEC", value_parser = parse_codec)]
    compress: Option<Codec>,
    /// Bytes of calls waiting for the secondary (K, M and G suffixes
    /// allowed); the app's threads queue copies and go on.
    #[arg(long, value_name = "BYTES", default_value = "16M", value_parser = parse_bytes)]
    queue: usize,
    /// What a full queue does: wait (the app waits for room; lossless) or
    /// drop (the call is not duplicated, and the gap is counted and logged).
    #[arg(long, value_name = "POLICY", default_value = "wait", value_parser = parse_on_full)]
    on_full: OnFull,
    /// A secondary call that has not returned after MS milliseconds
    /// detaches the secondary: the app runs on, and the summary says where
    /// it stuck.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    stall: u64,
    /// When a record's time is read: batch (once per batch of records,
    /// on the secondary's thread, within a few ms of the call; no
    /// durations) or call (before and after each call, on the app's
    /// thread: exact times and durations, two clock reads per call).
    #[arg(long, value_name = "WHEN", default_value = "batch", value_parser = parse_timing)]
    timing: Timing,
    /// Print the summary only when the secondary misbehaved.
    #[arg(long)]
    quiet: bool,
    /// Replace an existing --record FILE (a symlink there is replaced, not
    /// followed).
    #[arg(long)]
    force: bool,
    /// The blocks and the app: [%{ GRATES… %} [%{ GRATES… %}]] [--] APP [ARGS…]
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<String>,
}

/// The secondary branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecondaryPlan {
    /// A live grate stack, as an argv chain.
    Stack(Vec<String>),
    /// The recorder, writing this file.
    Recorder(PathBuf),
}

/// A fully checked command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeePlan {
    /// The primary stack as an argv chain; `None` means what lies below.
    pub primary: Option<Vec<String>>,
    pub secondary: SecondaryPlan,
    pub app: Vec<String>,
    pub calls: CallFilter,
    pub max_buffer: usize,
    pub sync: SyncPolicy,
    /// How the recorder compresses payloads.
    pub compress: Codec,
    /// The hand-off queue's size in bytes, its policy when full, and the
    /// stall limit in milliseconds.
    pub queue: usize,
    pub on_full: OnFull,
    pub stall_ms: u64,
    pub timing: Timing,
    pub quiet: bool,
    /// An existing log may be replaced.
    pub force: bool,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    Run(TeePlan),
    /// Help or version text, printed as asked, exit 0.
    Info(String),
}

/// Parses `argv` (program name first). The error is one line.
pub fn parse(argv: &[String]) -> Result<Parsed, String> {
    let options = match Options::try_parse_from(argv) {
        Ok(options) => options,
        Err(err) => {
            use clap::error::ErrorKind;
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    Ok(Parsed::Info(err.render().to_string()))
                }
                _ => Err(first_line(&err.render().to_string())),
            };
        }
    };
    // The command swallows anything after the options, unknown flags too.
    if let Some(flag) = options.command.first().filter(|w| w.starts_with('-')) {
        return Err(format!("unknown option `{flag}` (see --help)"));
    }
    let (blocks, app) = split_blocks(&options.command)?;
    let flags_used = !options.primary.is_empty() || !options.secondary.is_empty();
    if flags_used && !blocks.is_empty() {
        return Err("use either %{ blocks %} or --primary/--secondary, not both".into());
    }
    let chain = |grates: &[String]| -> Vec<String> {
        grates
            .iter()
            .flat_map(|g| g.split_whitespace().map(str::to_string))
            .collect()
    };
    let (primary, secondary) = if flags_used {
        let primary = (!options.primary.is_empty()).then(|| chain(&options.primary));
        (
            primary,
            (!options.secondary.is_empty()).then(|| chain(&options.secondary)),
        )
    } else {
        let mut blocks = blocks.into_iter();
        match (blocks.next(), blocks.next(), options.record.is_some()) {
            (None, _, _) => (None, None),
            (Some(only), None, true) => (Some(only), None),
            (Some(only), None, false) => (None, Some(only)),
            (Some(_), Some(_), true) => {
                return Err("--record takes at most one block: the primary stack".into())
            }
            (Some(first), Some(second), false) => (Some(first), Some(second)),
        }
    };
    let secondary = match (secondary, options.record) {
        (Some(_), Some(_)) => {
            return Err("--record is the secondary: drop --secondary or --record".into())
        }
        (Some(stack), None) => SecondaryPlan::Stack(stack),
        (None, Some(file)) => SecondaryPlan::Recorder(file),
        (None, None) => {
            return Err(
                "nothing to tee into: give a %{ block %}, --secondary GRATE or --record FILE"
                    .into(),
            )
        }
    };
    if options.compress.is_some() && !matches!(secondary, SecondaryPlan::Recorder(_)) {
        return Err("--compress is for --record's log".into());
    }
    if options.max_buffer == 0 {
        return Err("--max-buffer must be at least 1 byte".into());
    }
    Ok(Parsed::Run(TeePlan {
        primary,
        secondary,
        app,
        calls: options.calls,
        max_buffer: options.max_buffer,
        sync: options.sync,
        compress: options.compress.unwrap_or_default(),
        queue: options.queue,
        on_full: options.on_full,
        stall_ms: options.stall,
        timing: options.timing,
        quiet: options.quiet,
        force: options.force,
    }))
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("invalid command line");
    line.trim_start_matches("error: ").to_string()
}

/// `BYTES`, with an optional K, M or G (binary) suffix; at least 1 KiB.
fn parse_bytes(text: &str) -> Result<usize, String> {
    let (digits, unit) = match text.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&text[..at], c.to_ascii_uppercase()),
        _ => (text, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("`{text}`: a size is digits with K, M or G")),
    };
    let count: usize = digits
        .parse()
        .map_err(|_| format!("`{text}`: a size is digits with K, M or G"))?;
    let bytes = count
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}`: too large"))?;
    if bytes < 1024 {
        return Err(format!("`{text}`: the queue needs at least 1K"));
    }
    Ok(bytes)
}

/// When the recorder reads the clock (`--timing`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timing {
    /// Once per batch, on the secondary's thread: a clock read is a call
    /// into the runtime on Lind, as dear as a grate hop.
    #[default]
    Batch,
    /// Around every call, on the app's thread.
    Call,
}

fn parse_timing(text: &str) -> Result<Timing, String> {
    match text {
        "batch" => Ok(Timing::Batch),
        "call" => Ok(Timing::Call),
        _ => Err(format!("`{text}`: expected batch or call")),
    }
}

fn parse_on_full(text: &str) -> Result<OnFull, String> {
    match text {
        "wait" => Ok(OnFull::Wait),
        "drop" => Ok(OnFull::Drop),
        _ => Err(format!("`{text}`: expected wait or drop")),
    }
}

fn parse_codec(text: &str) -> Result<Codec, String> {
    Codec::from_name(text).ok_or_else(|| format!("takes lz4, zstd or none, not `{text}`"))
}

fn parse_sync(text: &str) -> Result<SyncPolicy, String> {
    match text {
        "exit" => Ok(SyncPolicy::OnExit),
        "record" => Ok(SyncPolicy::EveryRecord),
        ms => ms
            .parse::<u64>()
            .ok()
            .filter(|&ms| ms > 0)
            .map(SyncPolicy::Timer)
            .ok_or_else(|| format!("takes exit, record or milliseconds, not `{ms}`")),
    }
}

/// Splits `%{ … %}` blocks (at most two) from the app command.
pub fn split_blocks(words: &[String]) -> Result<(Vec<Vec<String>>, Vec<String>), String> {
    let mut blocks = Vec::new();
    let mut at = 0;
    while words.get(at).map(String::as_str) == Some("%{") {
        let open = at;
        let mut block = Vec::new();
        at += 1;
        loop {
            match words.get(at).map(String::as_str) {
                None => {
                    return Err(format!(
                        "unclosed block: `%{{` (word {}) has no `%}}`",
                        open + 1
                    ))
                }
                Some("%}") => break,
                Some("%{") => {
                    return Err(format!(
                        "`%{{` (word {}) opens a block inside a block",
                        at + 1
                    ))
                }
                Some(word) => block.push(word.to_string()),
            }
            at += 1;
        }
        if block.is_empty() {
            return Err(format!(
                "empty block: `%{{ %}}` (word {}) names no grate",
                open + 1
            ));
        }
        blocks.push(block);
        at += 1;
    }
    if blocks.len() > 2 {
        return Err("at most two blocks: %{ PRIMARY %} %{ SECONDARY %}".into());
    }
    if words.get(at).map(String::as_str) == Some("--") {
        at += 1;
    }
    let app: Vec<String> = words[at.min(words.len())..].to_vec();
    match app.first().map(String::as_str) {
        None => Err("no app to run: the command line ends before the app".into()),
        Some("%}") => Err(format!("stray `%}}` (word {}) closes no block", at + 1)),
        Some("%{") => Err("at most two blocks: %{ PRIMARY %} %{ SECONDARY %}".into()),
        Some(_) => Ok((blocks, app)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        std::iter::once("tee-grate")
            .chain(line.split_whitespace())
            .map(str::to_string)
            .collect()
    }

    fn plan(line: &str) -> TeePlan {
        match parse(&argv(line)) {
            Ok(Parsed::Run(plan)) => plan,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn error(line: &str) -> String {
        match parse(&argv(line)) {
            Err(message) => message,
            other => panic!("{line}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn record_form_records_below_the_tee() {
        let p = plan("--record t.log -- demo-files a");
        assert_eq!(p.primary, None);
        assert_eq!(p.secondary, SecondaryPlan::Recorder("t.log".into()));
        assert_eq!(p.app, ["demo-files", "a"]);
    }

    #[test]
    fn one_block_is_the_secondary() {
        let p = plan("%{ archive-grate /a %} demo-files");
        assert_eq!(p.primary, None);
        assert_eq!(
            p.secondary,
            SecondaryPlan::Stack(vec!["archive-grate".into(), "/a".into()])
        );
    }

    #[test]
    fn two_blocks_are_primary_then_secondary() {
        let p = plan("%{ imfs-grate %} %{ archive-grate /a %} -- app --flag");
        assert_eq!(p.primary, Some(vec!["imfs-grate".into()]));
        assert_eq!(
            p.secondary,
            SecondaryPlan::Stack(vec!["archive-grate".into(), "/a".into()])
        );
        assert_eq!(p.app, ["app", "--flag"]);
    }

    #[test]
    fn record_with_one_block_makes_it_the_primary() {
        let p = plan("--record t.log %{ imfs-grate %} app");
        assert_eq!(p.primary, Some(vec!["imfs-grate".into()]));
        assert_eq!(p.secondary, SecondaryPlan::Recorder("t.log".into()));
    }

    #[test]
    fn flag_form_equals_two_blocks() {
        let args = vec![
            "tee-grate".to_string(),
            "--primary".into(),
            "imfs-grate".into(),
            "--secondary".into(),
            "strace-grate --log l".into(),
            "--secondary".into(),
            "archive-grate /a".into(),
            "--".into(),
            "app".into(),
        ];
        let Ok(Parsed::Run(p)) = parse(&args) else {
            panic!("flag form did not parse")
        };
        assert_eq!(
            p,
            plan("%{ imfs-grate %} %{ strace-grate --log l archive-grate /a %} app")
        );
    }

    #[test]
    fn malformed_lines_name_the_problem() {
        assert!(error("%{ imfs-grate demo").contains("unclosed block"));
        assert!(error("%{ %} demo").contains("empty block"));
        assert!(error("%{ imfs %}").contains("no app"));
        assert!(error("--record t.log").contains("no app"));
        assert!(error("demo").contains("nothing to tee into"));
        assert!(error("%{ a %} %{ b %} %{ c %} app").contains("at most two blocks"));
        assert!(error("--record t %{ a %} %{ b %} app").contains("--record takes at most one"));
        assert!(error("--sync never --record t app").contains("--sync"));
        let unknown = error("--bogus --record t app");
        assert!(unknown.contains("--bogus"), "{unknown}");
    }

    #[test]
    fn the_queue_takes_sizes_with_units_and_a_policy() {
        let p = plan("--queue 1M --on-full drop --stall 50 --record t app");
        assert_eq!(
            (p.queue, p.on_full, p.stall_ms),
            (1 << 20, OnFull::Drop, 50)
        );
        let p = plan("--queue 4096 --record t app");
        assert_eq!((p.queue, p.on_full, p.stall_ms), (4096, OnFull::Wait, 2000));
        assert!(error("--queue 12 --record t app").contains("at least 1K"));
        assert!(error("--queue 3X --record t app").contains("K, M or G"));
        assert!(error("--on-full spill --record t app").contains("wait or drop"));
        assert_eq!(plan("--record t app").timing, Timing::Batch);
        assert_eq!(plan("--timing call --record t app").timing, Timing::Call);
        assert!(error("--timing never --record t app").contains("batch or call"));
    }
}
