//! `--into-dir`: a log's file effects replayed into a plain host directory,
//! with no grate at all (offline archiving on any machine).
//!
//! Follows each recorded cage's fds (the log's one model, `fds::LogFds`,
//! each open description holding the file's path and offset) and working
//! directory through the log and applies what succeeded: creates, truncations, writes at the recorded
//! offsets, renames, removals, directories. Nothing is written outside the
//! directory: paths are resolved lexically under it, `..` past its top is
//! refused, and no symlink inside it is followed.

use crate::engine::ReplayOptions;
use crate::schedule::Entry;
use abi::catalog::lookup;
use abi::flags::fcntl::{F_DUPFD, F_DUPFD_CLOEXEC};
use abi::limits::PATH_MAX;
use abi::sync::lock;
use boundary::consts::{open_flags, AT_FDCWD, AT_REMOVEDIR, MAX_FILE_OFFSET};
use boundary::guest::Guest;
use boundary::nr;
use fds::LogFds;
use formats::{Record, SyscallRecord};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One open file description: shared by dups and across fork.
#[derive(Debug)]
struct Open {
    /// Path relative to the target directory.
    path: PathBuf,
    offset: u64,
    append: bool,
}

/// How many written files `--into-dir` keeps open at once.
const MAX_HANDLES: usize = 256;

/// How many bytes of back-to-back writes to one file are joined into one
/// `pwrite`: one by one, an app's 4 KiB writes cost a syscall each (and an
/// fstat each when appending). Kept small on purpose: with runs of 64 KiB
/// to 1 MiB, a 1 GiB restore took 6 to 14 s on the 2-core machine (nearly
/// all of it the kernel's copy into new page-cache folios), against 1.8
/// to 2.1 s with 16 KiB runs and 2.4 to 2.5 s unjoined.
const WRITE_BEHIND: usize = 16 << 10;

/// Writes not yet handed to the file: one contiguous run of one file.
#[derive(Debug)]
struct Pending {
    full: PathBuf,
    at: u64,
    data: Vec<u8>,
    /// The first record whose bytes are in `data`, to name in an error.
    seq: u64,
    /// The run began at the file's end, so it ends the file: an append
    /// continues it without asking the file its length.
    ends_file: bool,
}

/// Applies the log's file effects under `root`.
struct DirReplay<'a> {
    root: &'a Path,
    fds: LogFds<Mutex<Open>>,
    /// Records taken in, the model's numbering.
    noted: usize,
    /// What the call being applied opened, for the model to bind.
    opened: Option<Open>,
    /// Each cage's working directory, relative to the target directory.
    cwds: HashMap<u64, PathBuf>,
    applied: u64,
    refused: Vec<Refusal>,
    /// Files some write of which was cut when recorded, with how many.
    incomplete: BTreeMap<PathBuf, u64>,
    /// Files written so far, kept open by full path: a write costs one
    /// `pwrite` rather than a stat, an open, a write and a close. Every
    /// change to the tree goes through this replay, so the cache stays
    /// true; a rename or removal empties it.
    handles: HashMap<PathBuf, std::fs::File>,
    pending: Option<Pending>,
    /// The last run's buffer, for the next.
    spare: Vec<u8>,
}

/// What `--into-dir` did, for the summary and the JSON report.
#[derive(Debug, Serialize)]
pub struct DirSummary {
    pub directory: String,
    pub applied: u64,
    pub refused: Vec<String>,
    /// Files (relative to the directory) whose recorded writes were cut by
    /// `--max-buffer`: their bytes are not all in the log.
    pub incomplete: Vec<String>,
}

/// Why `--into-dir` did not apply a record. A log is untrusted: each of
/// these is what a crafted or damaged log can ask for.
#[derive(Debug)]
pub enum Refusal {
    /// A path no call could pass, or one that resolves to such.
    TooLong { path: Vec<u8> },
    /// `..` past the top, or a symlink inside the directory.
    Outside { path: Vec<u8> },
    /// A write that claims more bytes than its record holds.
    CountPastBytes { seq: u64, claimed: i64, held: usize },
    /// An offset or size past what a Lind cage can name.
    OffsetPastLind { seq: u64, value: u64 },
    /// The host refused the change.
    Io { seq: u64, error: std::io::Error },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::TooLong { path } => write!(
                f,
                "{}...: a path of {PATH_MAX} bytes or more",
                String::from_utf8_lossy(&path[..path.len().min(64)])
            ),
            Refusal::Outside { path } => write!(
                f,
                "{}: outside the target directory",
                String::from_utf8_lossy(path)
            ),
            Refusal::CountPastBytes { seq, claimed, held } => write!(
                f,
                "record seq {seq}: claims {claimed} bytes written but holds {held}"
            ),
            Refusal::OffsetPastLind { seq, value } => write!(
                f,
                "record seq {seq}: offset or size {value} is past the largest a Lind cage can \
                 name ({MAX_FILE_OFFSET})"
            ),
            Refusal::Io { seq, error } => write!(f, "record seq {seq}: {error}"),
        }
    }
}

fn too_long(path: &[u8]) -> Refusal {
    Refusal::TooLong {
        path: path.to_vec(),
    }
}

fn refuse(path: &[u8]) -> Refusal {
    Refusal::Outside {
        path: path.to_vec(),
    }
}

impl DirReplay<'_> {
    /// Resolves a recorded path to a path relative to the target directory.
    fn resolve(&mut self, cage: u64, dirfd: i32, raw: &[u8]) -> Result<PathBuf, Refusal> {
        // No call can pass a longer path (ENAMETOOLONG), and each of its
        // components costs a check below.
        if raw.len() >= PATH_MAX {
            return Err(too_long(raw));
        }
        let text = String::from_utf8_lossy(raw).into_owned();
        let mut rel = if text.starts_with('/') {
            PathBuf::new()
        } else if dirfd == AT_FDCWD {
            self.cwds.get(&cage).cloned().unwrap_or_default()
        } else {
            let open = self.fds.open(cage, dirfd).ok_or_else(|| refuse(raw))?;
            let base = lock(open).path.clone();
            base
        };
        for part in Path::new(&text).components() {
            match part {
                Component::Normal(name) => rel.push(name),
                Component::ParentDir => {
                    if !rel.pop() {
                        return Err(refuse(raw));
                    }
                }
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            }
        }
        if rel.as_os_str().len() >= PATH_MAX {
            return Err(too_long(raw));
        }
        let mut at = self.root.to_path_buf();
        for part in rel.components() {
            at.push(part);
            if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(refuse(raw));
            }
        }
        Ok(rel)
    }

    fn full(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    fn input(call: &SyscallRecord, pos: u8) -> &[u8] {
        call.inputs
            .iter()
            .find(|b| b.arg == pos)
            .map_or(&[], |b| &b.data)
    }

    fn apply(&mut self, record: &Record) {
        match record {
            Record::Fork(fork) if !fork.thread => {
                let cwd = self.cwds.get(&fork.parent).cloned().unwrap_or_default();
                self.cwds.insert(fork.child, cwd);
            }
            Record::Exit(exit) if exit.process => {
                self.cwds.remove(&exit.cage);
            }
            Record::Syscall(call) if call.result >= 0 => {
                if let Err(message) = self.apply_call(call) {
                    self.refused.push(message);
                }
            }
            _ => {}
        }
        // The fds follow every record taken in; a new one is bound to what
        // apply_call opened (nothing, if it refused the path).
        let opened = &mut self.opened;
        self.fds
            .note(self.noted, record, |_, _, _| opened.take().map(Mutex::new));
        self.opened = None;
        self.noted += 1;
    }

    fn fd(&self, cage: u64, fd: u64) -> Option<Arc<Mutex<Open>>> {
        self.fds.get(cage, fd as i32).map(|b| Arc::clone(&b.open))
    }

    /// The open handle of the regular file at `full`, opened on first use;
    /// `None` if no regular file is there.
    fn handle(&mut self, full: PathBuf) -> std::io::Result<Option<&std::fs::File>> {
        if !self.handles.contains_key(&full) {
            if !full.is_file() {
                return Ok(None);
            }
            let file = OpenOptions::new()
                .write(true)
                .custom_flags(libc_nofollow())
                .open(&full)?;
            // Bounded, so a log of many files cannot run out of fds.
            if self.handles.len() >= MAX_HANDLES {
                self.handles.clear();
            }
            self.handles.insert(full.clone(), file);
        }
        Ok(self.handles.get(&full))
    }

    /// Hands the pending run of writes to its file.
    fn settle(&mut self) -> Result<(), Refusal> {
        let Some(run) = self.pending.take() else {
            return Ok(());
        };
        let io = |error| Refusal::Io {
            seq: run.seq,
            error,
        };
        let written = match self.handle(run.full.clone()).map_err(io)? {
            Some(file) => file.write_all_at(&run.data, run.at).map_err(io),
            None => Ok(()),
        };
        // The buffer is kept: fresh memory for every run costs page faults.
        self.spare = run.data;
        self.spare.clear();
        written
    }

    /// Writes `data` at `at` of `full`, joined to the pending run when it
    /// continues it.
    fn write_at(
        &mut self,
        full: PathBuf,
        at: u64,
        data: &[u8],
        seq: u64,
        ends_file: bool,
    ) -> Result<(), Refusal> {
        if let Some(run) = self.pending.as_mut() {
            let continues = run.full == full && run.at + run.data.len() as u64 == at;
            if continues && run.data.len() + data.len() <= WRITE_BEHIND {
                run.data.extend_from_slice(data);
                return Ok(());
            }
        }
        self.settle()?;
        let mut buffer = std::mem::take(&mut self.spare);
        buffer.extend_from_slice(data);
        self.pending = Some(Pending {
            full,
            at,
            data: buffer,
            seq,
            ends_file,
        });
        Ok(())
    }

    fn apply_call(&mut self, call: &SyscallRecord) -> Result<(), Refusal> {
        let args = call.full_args().map(|(v, _)| v);
        let cage = call.cage;
        let io = |error| Refusal::Io {
            seq: call.seq,
            error,
        };
        // Only writes and changes to fd offsets leave the pending run be;
        // anything else may look at or change the tree.
        let keeps_run = matches!(
            call.nr,
            nr::WRITE | nr::PWRITE | nr::WRITEV | nr::PWRITEV | nr::READ | nr::READV | nr::LSEEK
        );
        if !keeps_run {
            self.settle()?;
        }
        let at_cwd = AT_FDCWD as u32 as u64;
        let (dirfd, path_pos, flags) = match call.nr {
            nr::OPEN => (at_cwd, 0, args[1] as i32),
            nr::CREAT => (
                at_cwd,
                0,
                open_flags::O_CREAT | open_flags::O_WRONLY | open_flags::O_TRUNC,
            ),
            nr::OPENAT => (args[0], 1, args[2] as i32),
            _ => (0, 0, 0),
        };
        match call.nr {
            nr::OPEN | nr::CREAT | nr::OPENAT => {
                let rel = self.resolve(cage, dirfd as i32, Self::input(call, path_pos))?;
                let full = self.full(&rel);
                if flags & open_flags::O_DIRECTORY == 0 && !full.is_dir() {
                    let mut options = OpenOptions::new();
                    options.write(true).custom_flags(libc_nofollow());
                    if flags & open_flags::O_CREAT != 0 {
                        if let Some(parent) = full.parent() {
                            fs::create_dir_all(parent).map_err(io)?;
                        }
                        options.create(true);
                    }
                    if flags & open_flags::O_TRUNC != 0 {
                        options.truncate(true);
                    }
                    // A file only read was never created by the app: skip it.
                    if full.exists() || flags & open_flags::O_CREAT != 0 {
                        options.open(&full).map_err(io)?;
                    }
                }
                self.opened = Some(Open {
                    path: rel,
                    offset: 0,
                    append: flags & open_flags::O_APPEND != 0,
                });
            }
            nr::WRITE | nr::PWRITE | nr::WRITEV | nr::PWRITEV => {
                let Some(open) = self.fd(cage, args[0]) else {
                    return Ok(());
                };
                // One buffer (write, pwrite) is used in place; an iovec
                // list's are joined.
                let mut parts = call.inputs.iter().filter(|b| b.arg == 1);
                let mut data: std::borrow::Cow<'_, [u8]> = match parts.next() {
                    Some(first) => std::borrow::Cow::Borrowed(&first.data),
                    None => std::borrow::Cow::Borrowed(&[]),
                };
                for more in parts {
                    data.to_mut().extend_from_slice(&more.data);
                }
                // A log is untrusted: a count the recorded bytes do not
                // hold (and no capture cap explains) is refused, not
                // turned into a huge sparse file.
                if !call.input_was_cut() && call.result as u64 > data.len() as u64 {
                    return Err(Refusal::CountPastBytes {
                        seq: call.seq,
                        claimed: call.result,
                        held: data.len(),
                    });
                }
                let data = &data[..(call.result as usize).min(data.len())];
                let mut open = lock(&open);
                if call.input_was_cut() {
                    *self.incomplete.entry(open.path.clone()).or_default() += 1;
                }
                let full = self.full(&open.path);
                let positional = matches!(call.nr, nr::PWRITE | nr::PWRITEV);
                let at = if positional {
                    within_offsets(call, args[3])?
                } else if open.append {
                    match &self.pending {
                        Some(run) if run.ends_file && run.full == full => {
                            run.at + run.data.len() as u64
                        }
                        _ => {
                            self.settle()?;
                            match self.handle(full.clone()).map_err(io)? {
                                Some(file) => file.metadata().map_err(io)?.len(),
                                None => return Ok(()),
                            }
                        }
                    }
                } else {
                    // An offset an lseek or reads moved past what a cage
                    // can name is refused like any other.
                    within_offsets(call, open.offset)?
                };
                within_offsets(call, at.saturating_add(data.len() as u64))?;
                if self.handle(full.clone()).map_err(io)?.is_none() {
                    return Ok(());
                }
                let appended = open.append && !positional;
                self.write_at(full, at, data, call.seq, appended)?;
                if !positional {
                    open.offset = at + call.result as u64;
                }
            }
            nr::READ | nr::READV => {
                if let Some(open) = self.fd(cage, args[0]) {
                    let mut open = lock(&open);
                    open.offset = open.offset.saturating_add(call.result as u64);
                }
            }
            nr::LSEEK => {
                if let Some(open) = self.fd(cage, args[0]) {
                    let to = within_offsets(call, call.result as u64)?;
                    lock(&open).offset = to;
                }
            }
            nr::FTRUNCATE => {
                if let Some(open) = self.fd(cage, args[0]) {
                    let len = within_offsets(call, args[1])?;
                    let full = self.full(&lock(&open).path);
                    set_len(&full, len).map_err(io)?;
                }
            }
            nr::TRUNCATE => {
                let len = within_offsets(call, args[1])?;
                let rel = self.resolve(cage, AT_FDCWD, Self::input(call, 0))?;
                set_len(&self.full(&rel), len).map_err(io)?;
            }
            nr::RENAME => {
                let from = self.resolve(cage, AT_FDCWD, Self::input(call, 0))?;
                let to = self.resolve(cage, AT_FDCWD, Self::input(call, 1))?;
                if self.full(&from).exists() {
                    self.handles.clear();
                    fs::rename(self.full(&from), self.full(&to)).map_err(io)?;
                }
            }
            nr::UNLINK => {
                let rel = self.resolve(cage, AT_FDCWD, Self::input(call, 0))?;
                self.handles.clear();
                remove(&self.full(&rel), false).map_err(io)?;
            }
            nr::UNLINKAT => {
                let rel = self.resolve(cage, args[0] as i32, Self::input(call, 1))?;
                self.handles.clear();
                remove(&self.full(&rel), args[2] as i32 & AT_REMOVEDIR != 0).map_err(io)?;
            }
            nr::MKDIR => {
                let rel = self.resolve(cage, AT_FDCWD, Self::input(call, 0))?;
                fs::create_dir_all(self.full(&rel)).map_err(io)?;
            }
            nr::RMDIR => {
                let rel = self.resolve(cage, AT_FDCWD, Self::input(call, 0))?;
                self.handles.clear();
                remove(&self.full(&rel), true).map_err(io)?;
            }
            nr::CHDIR => {
                let rel = self.resolve(cage, AT_FDCWD, Self::input(call, 0))?;
                self.cwds.insert(cage, rel);
            }
            // The model follows dups and closes; they count as applied.
            nr::DUP | nr::DUP2 | nr::DUP3 | nr::CLOSE => {}
            nr::FCNTL if matches!(args[1] as i32, F_DUPFD | F_DUPFD_CLOEXEC) => {}
            _ => return Ok(()),
        }
        self.applied += 1;
        Ok(())
    }
}

/// `value` as a file offset or size, refused past what a Lind cage can name.
fn within_offsets(call: &SyscallRecord, value: u64) -> Result<u64, Refusal> {
    if value <= MAX_FILE_OFFSET {
        Ok(value)
    } else {
        Err(Refusal::OffsetPastLind {
            seq: call.seq,
            value,
        })
    }
}

/// O_NOFOLLOW for the host's open: no symlink in the target is followed;
/// and O_NONBLOCK: a FIFO at a recorded path fails the open (ENXIO with no
/// reader) rather than wait for one.
fn libc_nofollow() -> i32 {
    open_flags::O_NOFOLLOW | open_flags::O_NONBLOCK
}

fn set_len(path: &Path, len: u64) -> std::io::Result<()> {
    if path.is_file() {
        OpenOptions::new()
            .write(true)
            .custom_flags(libc_nofollow())
            .open(path)?
            .set_len(len)?;
    }
    Ok(())
}

fn remove(path: &Path, dir: bool) -> std::io::Result<()> {
    let gone = if dir {
        fs::remove_dir(path)
    } else {
        fs::remove_file(path)
    };
    match gone {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Replays the file effects of `entries` (in replay order) into `dir`:
/// prints the summary and returns it with the exit status (2 if a path was
/// refused, 1 if a file is incomplete, else 0).
pub fn replay_into_dir(
    guest: &Guest<'_>,
    entries: impl Iterator<Item = Entry>,
    dir: &Path,
    options: &ReplayOptions,
) -> Result<(i32, DirSummary), crate::error::ReplayError> {
    let failed = |error| crate::error::ReplayError::IntoDir {
        dir: dir.display().to_string(),
        error,
    };
    fs::create_dir_all(dir).map_err(failed)?;
    let root = fs::canonicalize(dir).map_err(failed)?;
    let mut replay = DirReplay {
        root: &root,
        fds: LogFds::new(),
        noted: 0,
        opened: None,
        cwds: HashMap::new(),
        applied: 0,
        refused: Vec::new(),
        incomplete: BTreeMap::new(),
        handles: HashMap::new(),
        pending: None,
        spare: Vec::with_capacity(WRITE_BEHIND),
    };
    for entry in entries {
        if options.until.is_some_and(|u| entry.index > u) {
            break;
        }
        if let Record::Syscall(call) = &entry.record {
            let wanted = options.calls.matches(call.nr)
                && options
                    .cages
                    .as_ref()
                    .is_none_or(|c| c.contains(&call.cage))
                && lookup(call.nr).is_some();
            if !wanted {
                continue;
            }
        }
        replay.apply(&entry.record);
    }
    if let Err(message) = replay.settle() {
        replay.refused.push(message);
    }
    for message in &replay.refused {
        guest.eprint(&format!("tee-replay: refused: {message}\n"));
    }
    for (path, cut) in &replay.incomplete {
        guest.eprint(&format!(
            "tee-replay: incomplete: {} ({cut} writes cut by --max-buffer when recorded: \
             their missing bytes are not in the log)\n",
            path.display()
        ));
    }
    guest.eprint(&format!(
        "tee-replay: {} file operations applied under {}\n",
        replay.applied,
        dir.display()
    ));
    // A refused path means the directory lacks something the app wrote; an
    // incomplete file holds less than the app wrote.
    let status = if !replay.refused.is_empty() {
        abi::exit::FAILED
    } else if !replay.incomplete.is_empty() {
        abi::exit::FOUND
    } else {
        abi::exit::DONE
    };
    let summary = DirSummary {
        directory: dir.display().to_string(),
        applied: replay.applied,
        refused: replay.refused.iter().map(Refusal::to_string).collect(),
        incomplete: replay
            .incomplete
            .into_keys()
            .map(|p| p.display().to_string())
            .collect(),
    };
    Ok((i32::from(status), summary))
}
