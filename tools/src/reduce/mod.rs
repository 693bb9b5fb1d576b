//! `tee-log reduce`: a small sub-log that still shows a replay's first
//! divergence: the same call (by sequence number), the same kind of
//! difference, between the same stacks. Candidates are well-formed logs
//! (every call keeps what it needs, see [`deps`]) searched by delta
//! debugging ([`ddmin`]); each is judged by running tee-replay on it, as a
//! user would, in a scratch directory of its own: the native one beside
//! this tee-log, or (`--lind`) `tee-replay.cwasm` on a Lind runtime, with
//! the candidate under lindfs, so a divergence of any Lind grate can be
//! shrunk.
//!
//! The log is held in memory while it is reduced.

mod ddmin;
mod deps;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use formats::{InSeqOrder, LogHeader, LogWriter, Record, RecoveryMode, SyncPolicy};
use serde_json::Value;

use crate::meter::Meter;
use crate::{open, Failure};
use ddmin::{ddmin, Ended};
use deps::Needs;

/// What `reduce` was asked.
pub struct Options {
    pub output: PathBuf,
    /// The stacks, each an argv chain: one (against the recording) or more.
    pub stacks: Vec<Vec<String>>,
    pub budget: Duration,
    pub max_steps: Option<u64>,
    pub force: bool,
    /// Judge candidates on Lind instead of natively.
    pub lind: Option<Lind>,
}

/// A Lind runtime to replay candidates on: lind-boot, and the kit's root
/// (where lind-boot runs; lindfs is `ROOT/lindfs`).
#[derive(Clone, Debug)]
pub struct Lind {
    pub boot: PathBuf,
    pub root: PathBuf,
}

/// Where candidates are replayed.
enum Runner {
    /// The native tee-replay beside this tee-log.
    Native(PathBuf),
    /// `tee-replay.cwasm` on Lind.
    Lind(Lind),
}

/// How long one replay on Lind may take before the judge gives up on it:
/// a stack that makes Lind panic leaves lind-boot running.
const LIND_RUN_LIMIT: Duration = Duration::from_secs(120);

/// The divergence a reduction keeps: which call, what kind of
/// difference, between which sides.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Signature {
    seq: u64,
    kind: String,
    between: Value,
}

impl Signature {
    fn of(report: &Value) -> Option<Signature> {
        let first = report["divergences"].get(0)?;
        Some(Signature {
            seq: first["seq"].as_u64()?,
            kind: first["kind"].as_str()?.to_owned(),
            between: first["between"].clone(),
        })
    }
}

/// Runs tee-replay on candidate logs.
struct Judge {
    runner: Runner,
    stacks: Vec<Vec<String>>,
    /// A scratch directory: under lindfs when the runner is Lind.
    scratch: tempfile::TempDir,
    runs: u64,
}

impl Judge {
    fn new(runner: Runner, stacks: Vec<Vec<String>>) -> Result<Judge, Failure> {
        let scratch = match &runner {
            Runner::Native(_) => tempfile::tempdir(),
            // lindfs's own /tmp: Lind programs see it, and nothing else
            // at the lindfs root is put in the way.
            Runner::Lind(lind) => {
                let tmp = lind.root.join("lindfs/tmp");
                std::fs::create_dir_all(&tmp).and_then(|()| {
                    tempfile::Builder::new()
                        .prefix("tee-reduce-")
                        .tempdir_in(&tmp)
                })
            }
        };
        let scratch = scratch.map_err(|error| Failure::File {
            file: std::env::temp_dir(),
            error,
        })?;
        Ok(Judge {
            runner,
            stacks,
            scratch,
            runs: 0,
        })
    }

    /// The first divergence tee-replay reports for `log`, `None` when it
    /// reports none; `Err` when it fails to judge (exit 2 or 3).
    fn run(&mut self, log: &Path) -> Result<Option<Signature>, String> {
        self.runs += 1;
        let cwd = self.scratch.path().join(format!("run-{}", self.runs));
        std::fs::create_dir(&cwd).map_err(|e| format!("{}: {e}", cwd.display()))?;
        let report = cwd.join("report.json");
        let out = match &self.runner {
            Runner::Native(replay) => {
                // tee-replay runs elsewhere: the log's path must not be relative.
                let log =
                    std::fs::canonicalize(log).map_err(|e| format!("{}: {e}", log.display()))?;
                let mut command = Command::new(replay);
                command.arg("--report").arg(&report).arg(log);
                for stack in &self.stacks {
                    command.arg("%<").args(stack).arg("%>");
                }
                command
                    .current_dir(&cwd)
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("{}: {e}", replay.display()))?
            }
            Runner::Lind(lind) => {
                // Lind programs see lindfs paths: the candidate goes there.
                let candidate = cwd.join("candidate.tlog");
                std::fs::copy(log, &candidate).map_err(|e| format!("{}: {e}", log.display()))?;
                let lindfs = lind.root.join("lindfs");
                let in_lindfs = |path: &Path| -> String {
                    let rel = path.strip_prefix(&lindfs).unwrap_or(path);
                    format!("/{}", rel.display())
                };
                let mut command = Command::new(&lind.boot);
                command
                    .arg("tee-replay.cwasm")
                    .arg("--report")
                    .arg(in_lindfs(&report))
                    .arg(in_lindfs(&candidate));
                for stack in &self.stacks {
                    command.arg("%<").args(stack).arg("%>");
                }
                command.current_dir(&lind.root);
                output_within(&mut command, LIND_RUN_LIMIT)
                    .map_err(|e| format!("{}: {e}", lind.boot.display()))?
            }
        };
        let verdict = match out.status.code() {
            Some(0) => Ok(None),
            Some(1) => {
                let text =
                    std::fs::read(&report).map_err(|e| format!("{}: {e}", report.display()))?;
                let json: Value = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
                Ok(Signature::of(&json))
            }
            _ => Err(String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("tee-replay failed")
                .to_owned()),
        };
        let _ = std::fs::remove_dir_all(&cwd);
        verdict
    }
}

/// `command`'s output, or an error once it has run past `limit` (then it
/// is killed).
fn output_within(command: &mut Command, limit: Duration) -> Result<std::process::Output, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            return child.wait_with_output().map_err(|e| e.to_string());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "tee-replay on Lind did not end within {} s",
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes `records` (those at `kept`) as a complete log at `path`.
fn write_log(
    path: &Path,
    header: &LogHeader,
    records: &[Record],
    kept: &BTreeSet<usize>,
) -> Result<(), Failure> {
    // Candidates are replaced freely (a scratch directory of the tool's
    // own); the output goes through the rule every output follows.
    let file = boundary::tool_file::create_host_output(path, true)
        .map_err(|e| Failure::output(path, e))?;
    let writer = LogWriter::new(file, header, SyncPolicy::OnExit)
        .map_err(|e| Failure::other(path, e.to_string()))?;
    for &i in kept {
        writer.append(&records[i]);
    }
    match writer.finish().error {
        Some(error) => Err(Failure::other(path, error)),
        None => Ok(()),
    }
}

/// The Lind runtime `--lind` names: the flags, else `LIND_ROOT` and
/// `LIND_BOOT` as the kit's `env.sh` sets them; checked to be there.
pub fn lind_from(root: Option<PathBuf>, boot: Option<PathBuf>) -> Result<Lind, String> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let root = root
        .or_else(|| from_env("LIND_ROOT"))
        .ok_or("--lind needs the Lind kit: give --lind-root or set LIND_ROOT")?;
    let boot = boot
        .or_else(|| from_env("LIND_BOOT"))
        .ok_or("--lind needs lind-boot: give --lind-boot or set LIND_BOOT")?;
    if !boot.is_file() {
        return Err(format!("{}: no lind-boot there", boot.display()));
    }
    let replay = root.join("lindfs/tee-replay.cwasm");
    if !replay.is_file() {
        return Err(format!(
            "{}: no tee-replay.cwasm there (run lind/build.sh)",
            replay.display()
        ));
    }
    Ok(Lind { boot, root })
}

/// The native tee-replay beside this tee-log.
fn replay_binary() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find tee-log itself: {e}"))?;
    let replay = me.with_file_name("tee-replay");
    if replay.is_file() {
        Ok(replay)
    } else {
        Err(format!(
            "{}: no tee-replay beside tee-log",
            replay.display()
        ))
    }
}

pub fn run(file: &Path, options: &Options, out: &mut impl Write) -> Result<ExitCode, Failure> {
    // Claimed before the search, by the rule every output follows, so a
    // file in the way is refused before minutes are spent; given up if
    // the search finds nothing to write.
    boundary::tool_file::create_host_output(&options.output, options.force)
        .map_err(|e| Failure::output(&options.output, e))?;
    let reduced = reduce(file, options, out);
    if reduced.is_err() {
        let _ = std::fs::remove_file(&options.output);
    }
    reduced
}

fn reduce(file: &Path, options: &Options, out: &mut impl Write) -> Result<ExitCode, Failure> {
    let reader = open(file, RecoveryMode::Strict)?;
    let header = reader.header().clone();
    let mut records = Vec::new();
    for entry in InSeqOrder::new(reader) {
        let entry = entry.map_err(|e| Failure::log(file, e))?;
        if !matches!(entry.record, Record::Trailer(_) | Record::Dropped(_)) {
            records.push(entry.record);
        }
    }
    let runner = match &options.lind {
        Some(lind) => Runner::Lind(lind.clone()),
        None => Runner::Native(replay_binary().map_err(|m| Failure::other(file, m))?),
    };
    let mut judge = Judge::new(runner, options.stacks.clone())?;
    let failed = |m: String| Failure::other(file, m);
    let Some(target) = judge.run(file).map_err(failed)? else {
        return Err(Failure::other(
            file,
            "no divergence to shrink: the log replays into the stack(s) without one",
        ));
    };
    let Some(at) = records.iter().position(|r| r.seq() == Some(target.seq)) else {
        return Err(Failure::other(
            file,
            format!(
                "tee-replay named seq {}, which the log does not hold",
                target.seq
            ),
        ));
    };
    let needs = Needs::of(&records);
    // Calls after the divergent one cannot have caused it.
    let chosen: Vec<usize> = Needs::calls(&records)
        .into_iter()
        .filter(|&i| i < at)
        .collect();
    let started = Instant::now();
    let meter = Meter::spinner("reduce");
    let candidate = judge.scratch.path().join("candidate.tlog");
    let mut steps = 0u64;
    let mut smallest = records.len();
    let mut spent = false;
    let (found, ended) = ddmin(chosen, |subset| {
        let over_time = started.elapsed() > options.budget;
        let over_steps = options.max_steps.is_some_and(|m| steps >= m);
        if over_time || over_steps {
            spent = true;
            return None;
        }
        steps += 1;
        let kept = needs.closure(subset.iter().copied().chain([at]));
        if write_log(&candidate, &header, &records, &kept).is_err() {
            return Some(false);
        }
        let same = matches!(judge.run(&candidate), Ok(Some(s)) if s == target);
        if same {
            smallest = smallest.min(kept.len());
        }
        meter.message(format!(
            "{steps} replays, {smallest} of {} records still diverge",
            records.len()
        ));
        Some(same)
    });
    meter.finish();
    let kept = needs.closure(found.iter().copied().chain([at]));
    let whole = needs.closure(
        Needs::calls(&records)
            .into_iter()
            .filter(|&i| i < at)
            .chain([at]),
    );
    if spent && kept.len() >= whole.len() {
        return Err(Failure::other(
            file,
            format!(
                "not reducible within the budget: no smaller log showed the divergence in {:?} ({steps} replays); give a larger --budget",
                options.budget
            ),
        ));
    }
    write_log(&options.output, &header, &records, &kept)?;
    // The result is checked as the user will use it.
    let confirmed = judge.run(&options.output).map_err(failed)?;
    if confirmed.as_ref() != Some(&target) {
        return Err(Failure::other(
            &options.output,
            "the reduced log does not replay to the same divergence (a stack that is not deterministic?)",
        ));
    }
    let calls = kept
        .iter()
        .filter(|&&i| matches!(records[i], Record::Syscall(_)))
        .count();
    writeln!(
        out,
        "{}: {} records ({calls} calls) of {}, divergence at seq {} ({}) kept; {} replays in {:.1} s{}",
        options.output.display(),
        kept.len(),
        records.len(),
        target.seq,
        target.kind,
        judge.runs,
        started.elapsed().as_secs_f64(),
        match (ended, spent) {
            (Ended::Budget, _) | (_, true) => "; budget spent: smaller may exist",
            (Ended::Minimal, false) => "; no single call more can go",
        }
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `60s`, `2m`, `500ms` or plain seconds, for `--budget`.
pub fn parse_budget(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 60s, 2m or 500ms"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("`{text}`: the unit is ms, s or m")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_read_as_durations() {
        assert_eq!(parse_budget("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_budget("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_budget("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_budget("90"), Ok(Duration::from_secs(90)));
        assert!(parse_budget("soon").is_err());
        assert!(parse_budget("5h").is_err());
    }
}
