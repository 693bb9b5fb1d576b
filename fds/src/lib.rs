//! A log's fds, followed as the kernel followed them: which open file
//! description each `(cage, fd)` stands for at each record of a log.
//!
//! Every reader that must know what an fd is (`tee-replay --into-dir`,
//! `tee-log dump -y`, reduce's dependency closure, the divergence report)
//! reads this one model. It follows what the catalog's [`FdEffect`] says
//! each call does (opens, dups, `fcntl` dups, pipes and socket pairs,
//! closes), forks (a child starts with its parent's fds), exec (close-on-
//! exec fds go: `O_CLOEXEC` at the open, `dup3`'s and `pipe2`'s flags,
//! `F_DUPFD_CLOEXEC`, `F_SETFD`) and a process's exit. What each open
//! description *is* belongs to the reader: it describes every new one
//! ([`LogFds::note`]'s `describe`) with its own `D` (a name, a file being
//! rebuilt, a call history), which dups and forks then share.

use abi::catalog::{lookup, ArgKind, FdEffect, Len, SyscallInfo};
use abi::flags::fcntl::{F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD};
use abi::flags::FD_CLOEXEC;
use formats::{Record, SyscallRecord};
use std::collections::HashMap;
use std::sync::Arc;

/// `O_CLOEXEC` (also `SOCK_CLOEXEC` and `EPOLL_CLOEXEC`).
const O_CLOEXEC: u64 = abi::flags::open::O_CLOEXEC as u64;

/// One fd number of one cage.
#[derive(Debug)]
pub struct Binding<D> {
    /// The open file description, shared by dups and across forks.
    pub open: Arc<D>,
    /// The record (as numbered for [`LogFds::note`]) that gave the fd this
    /// number: the open, dup or pipe.
    pub bound_by: usize,
    /// Whether an exec closes it.
    pub cloexec: bool,
}

impl<D> Clone for Binding<D> {
    fn clone(&self) -> Self {
        Binding {
            open: Arc::clone(&self.open),
            bound_by: self.bound_by,
            cloexec: self.cloexec,
        }
    }
}

/// What kind of new open file description a call made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum New {
    /// The fd the call returned (open, openat, creat, socket, accept).
    Result,
    /// One end of a pipe.
    PipeEnd,
    /// One end of a socket pair.
    SocketEnd,
}

/// Every cage's fds, as far into the log as it was noted.
#[derive(Debug)]
pub struct LogFds<D> {
    cages: HashMap<u64, HashMap<i32, Binding<D>>>,
}

impl<D> Default for LogFds<D> {
    fn default() -> Self {
        LogFds {
            cages: HashMap::new(),
        }
    }
}

impl<D> LogFds<D> {
    /// No fds known.
    pub fn new() -> Self {
        Self::default()
    }

    /// What `fd` of `cage` stands for, if the log showed it.
    pub fn get(&self, cage: u64, fd: i32) -> Option<&Binding<D>> {
        self.cages.get(&cage)?.get(&fd)
    }

    /// The description `fd` of `cage` stands for.
    pub fn open(&self, cage: u64, fd: i32) -> Option<&D> {
        self.get(cage, fd).map(|b| &*b.open)
    }

    /// Takes in what record number `index` did to the fds. Each new open
    /// description a call made is described by `describe`, which sees the
    /// fds as they were before the call (an `*at` call's dirfd, say); one
    /// it gives `None` for is left unknown.
    pub fn note(
        &mut self,
        index: usize,
        record: &Record,
        mut describe: impl FnMut(&Self, &SyscallRecord, New) -> Option<D>,
    ) {
        match record {
            Record::Syscall(call) => self.note_call(index, call, &mut describe),
            Record::Fork(fork) if !fork.thread => {
                let inherited = self.cages.get(&fork.parent).cloned().unwrap_or_default();
                self.cages.insert(fork.child, inherited);
            }
            Record::Exec(exec) if exec.result == 0 => {
                if let Some(fds) = self.cages.get_mut(&exec.cage) {
                    fds.retain(|_, b| !b.cloexec);
                }
            }
            Record::Exit(exit) if exit.process => {
                self.cages.remove(&exit.cage);
            }
            _ => {}
        }
    }

    /// Takes in `fd` of `cage`, which the log uses without showing where
    /// it came from (stdin, stdout and stderr, inherited from before the
    /// log began), as an open description of its own from record `index`
    /// on, so that its dups and a fork's copies follow it. An fd already
    /// known is left as it is.
    pub fn adopt(&mut self, cage: u64, fd: i32, index: usize, open: impl FnOnce() -> D) {
        self.cages
            .entry(cage)
            .or_default()
            .entry(fd)
            .or_insert_with(|| Binding {
                open: Arc::new(open()),
                bound_by: index,
                cloexec: false,
            });
    }

    /// The fd a dup-like call copies (dup, dup2, dup3, `fcntl`'s
    /// `F_DUPFD`), as it is before the call.
    pub fn dup_source(&self, call: &SyscallRecord) -> Option<&Binding<D>> {
        let info = lookup(call.nr)?;
        let args = call.full_args();
        let from = match info.fd_effect {
            FdEffect::DupOf(from) | FdEffect::DupTo { from, .. } => from,
            FdEffect::Fcntl if is_dupfd(args[1].0 as i32) => 0,
            _ => return None,
        };
        self.get(call.cage, args[usize::from(from)].0 as i32)
    }

    fn note_call(
        &mut self,
        index: usize,
        call: &SyscallRecord,
        describe: &mut impl FnMut(&Self, &SyscallRecord, New) -> Option<D>,
    ) {
        let Some(info) = lookup(call.nr) else { return };
        let args = call.full_args();
        let fd_at = |pos: u8| args[usize::from(pos)].0 as i32;
        let ok = call.result >= 0;
        let cloexec = flags_cloexec(info, call);
        let cage = call.cage;
        match info.fd_effect {
            FdEffect::ResultFd if ok => {
                let open = describe(self, call, New::Result);
                self.bind(cage, call.result as i32, open.map(Arc::new), index, cloexec);
            }
            FdEffect::DupOf(_) if ok => {
                let open = self.shared(call);
                self.bind(cage, call.result as i32, open, index, false);
            }
            FdEffect::DupTo { from, to } if ok && fd_at(from) != fd_at(to) => {
                let open = self.shared(call);
                self.bind(cage, fd_at(to), open, index, cloexec);
            }
            FdEffect::Fcntl if ok => {
                let (cmd, arg) = (args[1].0 as i32, args[2].0 as i32);
                if is_dupfd(cmd) {
                    let open = self.shared(call);
                    let cloexec = cmd == F_DUPFD_CLOEXEC;
                    self.bind(cage, call.result as i32, open, index, cloexec);
                } else if cmd == F_SETFD {
                    if let Some(b) = self.cages.get_mut(&cage).and_then(|t| t.get_mut(&fd_at(0))) {
                        b.cloexec = arg & FD_CLOEXEC != 0;
                    }
                }
            }
            FdEffect::PairOut(pos) if call.result == 0 => {
                let kind = if info.class == abi::catalog::CallClass::Net {
                    New::SocketEnd
                } else {
                    New::PipeEnd
                };
                let out = call.outputs.iter().find(|b| b.arg == pos && b.index == 0);
                let ends: Vec<i32> = out
                    .map(|b| b.data.chunks_exact(4))
                    .into_iter()
                    .flatten()
                    .map(|fd| i32::from_le_bytes([fd[0], fd[1], fd[2], fd[3]]))
                    .collect();
                for fd in ends {
                    let open = describe(self, call, kind);
                    self.bind(cage, fd, open.map(Arc::new), index, cloexec);
                }
            }
            // A failed close still frees the number on Linux, unless it
            // was not open (EBADF), when there is nothing to free.
            FdEffect::Close(pos) => {
                if let Some(fds) = self.cages.get_mut(&cage) {
                    fds.remove(&fd_at(pos));
                }
            }
            _ => {}
        }
    }

    fn shared(&self, call: &SyscallRecord) -> Option<Arc<D>> {
        self.dup_source(call).map(|b| Arc::clone(&b.open))
    }

    /// `fd` of `cage` is now `open`, or nothing known.
    fn bind(&mut self, cage: u64, fd: i32, open: Option<Arc<D>>, index: usize, cloexec: bool) {
        let fds = self.cages.entry(cage).or_default();
        match open {
            Some(open) => {
                fds.insert(
                    fd,
                    Binding {
                        open,
                        bound_by: index,
                        cloexec,
                    },
                );
            }
            None => {
                fds.remove(&fd);
            }
        }
    }
}

/// Whether an `fcntl` command duplicates its fd.
fn is_dupfd(cmd: i32) -> bool {
    cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC
}

/// Whether the call's flags argument (open's, openat's, dup3's, pipe2's,
/// accept4's) asks for close-on-exec.
fn flags_cloexec(info: &SyscallInfo, call: &SyscallRecord) -> bool {
    let args = call.full_args();
    info.args
        .iter()
        .position(|k| *k == ArgKind::Flags)
        .is_some_and(|pos| args[pos].0 & O_CLOEXEC != 0)
}

/// The path a call names (its first C-string argument), as recorded.
pub fn path_of(call: &SyscallRecord) -> Option<&[u8]> {
    let info = lookup(call.nr)?;
    let pos = info
        .args
        .iter()
        .position(|k| *k == ArgKind::In(Len::CStr))?;
    call.inputs
        .iter()
        .find(|b| usize::from(b.arg) == pos && b.index == 0)
        .map(|b| b.data.as_slice())
}

/// The dirfd an `*at` call's path is relative to, unless it is absolute
/// or the dirfd is `AT_FDCWD`.
pub fn dirfd_of(call: &SyscallRecord) -> Option<i32> {
    let info = lookup(call.nr)?;
    let at = info.args.iter().position(|k| *k == ArgKind::DirFd)?;
    let fd = call.full_args()[at].0 as i32;
    (fd != abi::flags::AT_FDCWD && !path_of(call)?.starts_with(b"/")).then_some(fd)
}

#[cfg(test)]
mod tests;
