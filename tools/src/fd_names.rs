//! `dump -y`: what file each recorded fd stands for, followed through the
//! log as strace -y follows it live: opens name their result, dups copy a
//! name, closes drop it, a forked child starts with its parent's.

use std::collections::HashMap;

use formats::{lookup, ArgKind, FdEffect, Len, Record, SyscallRecord};
use render::FdNames;

/// The name of each open (cage, fd) the log has shown so far.
#[derive(Default)]
pub struct FdTracker {
    names: HashMap<(u64, i32), String>,
}

impl FdTracker {
    /// The name of `fd` of `cage`.
    pub fn name(&self, cage: u64, fd: i32) -> Option<String> {
        self.names.get(&(cage, fd)).cloned()
    }

    /// The name the fd `call` returns gets, if it returns one.
    pub fn result_name(&self, call: &SyscallRecord) -> Option<String> {
        let info = lookup(call.nr)?;
        let full = call.full_args();
        let fd_at = |pos: u8| full.get(usize::from(pos)).map(|a| a.0 as i32);
        match info.fd_effect {
            FdEffect::ResultFd => {
                let pos = info
                    .args
                    .iter()
                    .position(|k| *k == ArgKind::In(Len::CStr))?;
                let path = call.inputs.iter().find(|b| usize::from(b.arg) == pos)?;
                let path = String::from_utf8_lossy(&path.data).into_owned();
                // A relative path of an *at call is under its dirfd's file.
                let dir = info
                    .args
                    .iter()
                    .position(|k| *k == ArgKind::DirFd)
                    .and_then(|at| self.name(call.cage, full[at].0 as i32));
                Some(match dir {
                    Some(dir) if !path.starts_with('/') => format!("{dir}/{path}"),
                    _ => path,
                })
            }
            FdEffect::DupOf(pos) => self.name(call.cage, fd_at(pos)?),
            FdEffect::DupTo { from, .. } => self.name(call.cage, fd_at(from)?),
            FdEffect::Fcntl if is_dupfd(full[1].0) => self.name(call.cage, fd_at(0)?),
            _ => None,
        }
    }

    /// Takes in what `record` did to the fd tables.
    pub fn note(&mut self, record: &Record) {
        match record {
            Record::Syscall(call) => self.note_call(call),
            Record::Fork(fork) if !fork.thread => {
                let inherited: Vec<(i32, String)> = self
                    .names
                    .iter()
                    .filter(|((cage, _), _)| *cage == fork.parent)
                    .map(|((_, fd), name)| (*fd, name.clone()))
                    .collect();
                for (fd, name) in inherited {
                    self.names.insert((fork.child, fd), name);
                }
            }
            _ => {}
        }
    }

    fn note_call(&mut self, call: &SyscallRecord) {
        let Some(info) = lookup(call.nr) else {
            return;
        };
        let full = call.full_args();
        let named = self.result_name(call);
        match info.fd_effect {
            FdEffect::Close(pos) => {
                self.names
                    .remove(&(call.cage, full[usize::from(pos)].0 as i32));
            }
            FdEffect::DupTo { to, .. } if call.result >= 0 => {
                self.set((call.cage, full[usize::from(to)].0 as i32), named);
            }
            FdEffect::PairOut(pos) if call.result == 0 => {
                let kind = if info.name == "socketpair" {
                    "socket"
                } else {
                    "pipe"
                };
                let out = call.outputs.iter().find(|b| b.arg == pos);
                for fd in out.map(|b| b.data.chunks_exact(4)).into_iter().flatten() {
                    let fd = i32::from_le_bytes([fd[0], fd[1], fd[2], fd[3]]);
                    self.names.insert((call.cage, fd), kind.to_string());
                }
            }
            FdEffect::ResultFd | FdEffect::DupOf(_) if call.result >= 0 => {
                self.set((call.cage, call.result as i32), named);
            }
            FdEffect::Fcntl if call.result >= 0 && is_dupfd(full[1].0) => {
                self.set((call.cage, call.result as i32), named);
            }
            _ => {}
        }
    }

    /// `fd` of a cage is now `name`, or nothing known.
    fn set(&mut self, target: (u64, i32), name: Option<String>) {
        match name {
            Some(name) => self.names.insert(target, name),
            None => self.names.remove(&target),
        };
    }

    /// The names `call` is shown with, before it is noted.
    pub fn names_for<'a>(
        &self,
        call: &SyscallRecord,
        arg: &'a dyn Fn(i32) -> Option<String>,
    ) -> FdNames<'a> {
        FdNames {
            arg: Some(arg),
            result: self.result_name(call),
        }
    }
}

/// Whether an fcntl command duplicates its fd.
fn is_dupfd(cmd: u64) -> bool {
    use abi::flags::fcntl::{F_DUPFD, F_DUPFD_CLOEXEC};
    matches!(cmd as i32, F_DUPFD | F_DUPFD_CLOEXEC)
}
