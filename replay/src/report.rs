//! What a replay found: divergences with their context, and the summary.

use abi::catalog::{lookup, ArgKind};
use abi::sync::lock;
use fds::{path_of, LogFds, New};
use formats::escape_bytes;
use formats::{Buffer, Record, SyscallRecord};
use interpose::verdict::Wrong;
use render::seconds;
use serde::Serialize;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;

/// How many earlier calls on an fd a divergence report shows.
const PREVIOUS_CALLS: usize = 4;
/// Bytes shown on each side of a differing output byte.
const WINDOW: usize = 8;

/// Where an output buffer first differs, with bytes around it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutputDiff {
    /// The argument position of the buffer.
    pub arg: u8,
    /// Byte offset of the first difference.
    pub offset: usize,
    /// Recorded bytes around the difference, escaped.
    pub recorded: String,
    /// Replayed bytes around the difference, escaped.
    pub replayed: String,
}

impl OutputDiff {
    /// The difference at `offset` of buffer `i` of two output lists.
    pub fn around(recorded: &[Buffer], replayed: &[Buffer], i: usize, offset: usize) -> OutputDiff {
        let window = |buffers: &[Buffer]| {
            buffers.get(i).map_or_else(String::new, |b| {
                let lo = offset.saturating_sub(WINDOW).min(b.data.len());
                let hi = (offset + WINDOW).min(b.data.len());
                escape_bytes(&b.data[lo..hi])
            })
        };
        OutputDiff {
            arg: recorded.get(i).or(replayed.get(i)).map_or(0, |b| b.arg),
            offset,
            recorded: window(recorded),
            replayed: window(replayed),
        }
    }
}

/// One call whose replay differs from its recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// The record's index in the log file.
    pub index: u64,
    pub seq: u64,
    pub cage: u64,
    /// The call with decoded arguments.
    pub call: String,
    /// What differs: `result`, `output`, `failed`, `panicked`, `called_down`
    /// (one stack sent the call down and the other did not) or
    /// `not_replayed` (one stack could not issue it).
    pub kind: &'static str,
    /// Between which two stacks (numbered from 1 on the command line), in
    /// a differential replay; `None` against the recording. `recorded` and
    /// `replayed` are then the first and the second stack's.
    pub between: Option<[usize; 2]>,
    pub recorded: i64,
    pub replayed: i64,
    /// How long the recorded primary took (logs of format 1.2 on).
    pub recorded_ns: Option<u64>,
    /// How long the replayed call took, timed by the replayer from handing
    /// the step out to its outcome (the driver's own work included).
    pub replayed_ns: Option<u64>,
    pub output: Option<OutputDiff>,
    /// The path the call's fd was opened with, when the log shows it.
    pub fd_path: Option<String>,
    /// Earlier calls on the same fd, oldest first.
    pub previous: Vec<String>,
}

impl Divergence {
    /// The report block for people.
    pub fn render(&self) -> String {
        let (a, b) = match self.between {
            Some([a, b]) => (format!("stack {a}"), format!("stack {b}")),
            None => ("recorded".to_owned(), "replayed".to_owned()),
        };
        let mut out = match self.between {
            Some([x, y]) => format!(
                "divergence at record {} (seq {}, cage {}) between stacks {x} and {y}: {}\n",
                self.index, self.seq, self.cage, self.call
            ),
            None => format!(
                "divergence at record {} (seq {}, cage {}): {}\n",
                self.index, self.seq, self.cage, self.call
            ),
        };
        match self.kind {
            "called_down" => {
                let _ = writeln!(
                    out,
                    "  {a} sent the call down to the recording, {b} did not"
                );
            }
            "not_replayed" => {
                let _ = writeln!(
                    out,
                    "  {a} issued it, {b} could not (an fd it never opened)"
                );
            }
            _ if self.between.is_some() => {
                let _ = writeln!(
                    out,
                    "  {a} returned {} / {b} returned {}",
                    self.recorded, self.replayed
                );
            }
            _ => {
                let _ = writeln!(out, "  {a} {} / {b} {}", self.recorded, self.replayed);
            }
        }
        if self.recorded_ns.is_some() || self.replayed_ns.is_some() {
            let took = |ns: Option<u64>| ns.map_or_else(|| "?".to_owned(), seconds);
            let _ = writeln!(
                out,
                "  took {} s {a} / {} s {b}",
                took(self.recorded_ns),
                took(self.replayed_ns)
            );
        }
        if let Some(diff) = &self.output {
            let _ = writeln!(
                out,
                "  output of arg {} differs at byte {}: {a} \"{}\" / {b} \"{}\"",
                diff.arg + 1,
                diff.offset,
                diff.recorded,
                diff.replayed
            );
        }
        if let Some(path) = &self.fd_path {
            let _ = writeln!(out, "  fd opened as \"{path}\"");
        }
        for call in &self.previous {
            let _ = writeln!(out, "  earlier on this fd: {call}");
        }
        out
    }
}

#[derive(Default)]
struct FdStory {
    path: Option<String>,
    /// The last calls, by file index, with their buffers cut to what a
    /// line shows: rendered only when a divergence asks.
    calls: VecDeque<(u64, SyscallRecord)>,
}

/// Bytes of each buffer an earlier call's line shows.
const SHOWN: usize = 16;

/// `call` with its buffers cut to one byte more than a line shows, so the
/// line still ends in "..." where the bytes go on.
fn kept(call: &SyscallRecord) -> SyscallRecord {
    let cut = |buffers: &[Buffer]| {
        buffers
            .iter()
            .map(|b| Buffer {
                arg: b.arg,
                index: b.index,
                data: b.data[..b.data.len().min(SHOWN + 1)].to_vec(),
                truncated_from: b.truncated_from,
            })
            .collect()
    };
    SyscallRecord {
        inputs: cut(&call.inputs),
        outputs: cut(&call.outputs),
        args: call.args.clone(),
        ..*call
    }
}

/// What the log says happened to each recorded fd: its path and last
/// calls. The fds are the log's one model (`fds::LogFds`), fed every
/// record the replay reaches; an open description's story is shared by
/// its dups and a fork's copies.
#[derive(Default)]
pub struct FdHistory {
    follow: Mutex<Follow>,
}

#[derive(Default)]
struct Follow {
    fds: LogFds<Mutex<FdStory>>,
    noted: usize,
}

impl FdHistory {
    /// Notes a record the replay reached, at file index `index`.
    pub fn note(&self, record: &Record, index: u64) {
        let mut follow = lock(&self.follow);
        let follow = &mut *follow;
        let n = follow.noted;
        follow.noted += 1;
        if let Record::Syscall(call) = record {
            let first_fd = lookup(call.nr).is_some_and(|i| i.args.first() == Some(&ArgKind::Fd));
            if first_fd {
                let fd = call.full_args()[0].0 as i32;
                follow.fds.adopt(call.cage, fd, n, Default::default);
                if let Some(story) = follow.fds.open(call.cage, fd) {
                    let mut story = lock(story);
                    story.calls.push_back((index, kept(call)));
                    if story.calls.len() > PREVIOUS_CALLS {
                        story.calls.pop_front();
                    }
                }
            }
        }
        follow.fds.note(n, record, |_, call, new| {
            let path = (new == New::Result)
                .then(|| path_of(call).map(|p| String::from_utf8_lossy(p).into_owned()))
                .flatten();
            Some(Mutex::new(FdStory {
                path,
                calls: VecDeque::from([(index, kept(call))]),
            }))
        });
    }

    /// The story of `fd` of `cage`, read under its lock.
    fn story<T>(
        &self,
        cage: boundary::CageId,
        fd: i32,
        read: impl FnOnce(&FdStory) -> T,
    ) -> Option<T> {
        let follow = lock(&self.follow);
        let story = follow.fds.open(cage.0, fd)?;
        let story = lock(story);
        Some(read(&story))
    }

    /// The path `fd` of `cage` was opened with.
    pub fn path(&self, cage: boundary::CageId, fd: i32) -> Option<String> {
        self.story(cage, fd, |s| s.path.clone()).flatten()
    }

    /// The calls on `fd` of `cage` before the current one.
    pub fn previous(&self, cage: boundary::CageId, fd: i32) -> Vec<String> {
        self.story(cage, fd, |s| {
            s.calls
                .iter()
                .map(|(index, call)| format!("#{index} {}", render::describe_call(call, SHOWN)))
                .collect()
        })
        .unwrap_or_default()
    }
}

/// The summary and divergences, as the JSON report holds them.
#[derive(Debug, Serialize)]
pub struct Report {
    pub log: String,
    pub records: usize,
    pub replayed: u64,
    pub skipped: Vec<(String, u64)>,
    pub answered_by_replayer: u64,
    /// Replayed calls whose recorded input was cut by `--max-buffer`.
    pub cut_inputs: u64,
    pub divergences: Vec<Divergence>,
    /// How the log ended: clean, incomplete, torn, salvaged.
    pub log_end: String,
    /// Each stack, in command-line order.
    pub stacks: Vec<StackSummary>,
    /// With two stacks or more: calls compared between them.
    pub compared: Option<u64>,
    /// With two stacks or more: calls every stack returned alike, all
    /// unlike the recording (not divergences: the recording is the input).
    pub alike_against_recording: Option<u64>,
}

/// What one stack of a replay did.
#[derive(Debug, Serialize)]
pub struct StackSummary {
    /// Its argv chain, as given between `%<` and `%>`.
    pub chain: String,
    pub replayed: u64,
    /// Replayed calls whose outcome differs from the recording.
    pub unlike_recording: u64,
}

impl Report {
    /// The summary line block printed at exit.
    pub fn summary(&self) -> String {
        let mut out = match (self.compared, self.alike_against_recording) {
            (Some(compared), Some(alike)) => {
                let mut out = format!(
                    "tee-replay: {}: {} records into {} stacks, {compared} calls compared, {} divergences \
                     between stacks; {alike} calls where every stack differs from the recording alike",
                    self.log,
                    self.records,
                    self.stacks.len(),
                    self.divergences.len()
                );
                for (i, s) in self.stacks.iter().enumerate() {
                    let _ = write!(
                        out,
                        "\ntee-replay: stack {} ({}): {} replayed, {} unlike the recording",
                        i + 1,
                        s.chain,
                        s.replayed,
                        s.unlike_recording
                    );
                }
                out
            }
            _ => format!(
                "tee-replay: {}: {} records, {} replayed, {} divergences",
                self.log,
                self.records,
                self.replayed,
                self.divergences.len()
            ),
        };
        for (reason, n) in &self.skipped {
            let _ = write!(out, "\ntee-replay: skipped {n}: {reason}");
        }
        if self.cut_inputs > 0 {
            let _ = write!(
                out,
                "\ntee-replay: {} replayed calls had their input cut when recorded (--max-buffer): \
                 the stack got only the recorded bytes",
                self.cut_inputs
            );
        }
        let _ = write!(
            out,
            "\ntee-replay: {} downward calls answered from the recording\n",
            self.answered_by_replayer
        );
        out
    }
}

/// The report's name for what a verdict found.
pub fn kind_of(wrong: Wrong) -> &'static str {
    match wrong {
        Wrong::Panicked => "panicked",
        Wrong::Failed => "failed",
        Wrong::Result => "result",
        Wrong::Output { .. } => "output",
    }
}
