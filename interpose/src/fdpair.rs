//! Pairs each fd of one stack with the other stack's fd for the same open:
//! the tee's primary with its secondary, a recording with its replay.
//!
//! [`PairTable`] follows fdtables' semantics per cage: fork copies a cage's
//! table, exec drops close-on-exec entries, exit removes the table. The
//! Lind build keeps it in fdtables itself; [`FdPairs`] is the plain one.
//! Kept apart from any fd virtualization: it only translates fd arguments
//! for the other side.

use abi::catalog::{ArgKind, FdEffect, SyscallInfo};
use abi::sync::lock;
use boundary::consts::{fcntl_cmd, open_flags};
use boundary::{Args, CageId};
use formats::Buffer;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// The secondary's side of a primary fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// The secondary's fd number.
    Fd(i32),
    /// The secondary failed to create it: calls on this fd are not duplicated.
    Missing,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    peer: Peer,
    cloexec: bool,
}

/// Per-cage `fd -> other side's fd` tables, with fdtables' lifecycle.
pub trait PairTable: Send + Sync {
    /// The other side's fd for `fd`. An fd never paired (stdio, inherited
    /// ones) is the same number on both sides.
    fn translate(&self, cage: CageId, fd: i32) -> Peer;
    /// Records that `fd` and `peer` name the same open.
    fn pair(&self, cage: CageId, fd: i32, peer: Peer, cloexec: bool);
    /// Forgets `fd` after it was closed.
    fn close(&self, cage: CageId, fd: i32);
    /// Sets or clears close-on-exec on `fd`.
    fn set_cloexec(&self, cage: CageId, fd: i32, on: bool);
    /// A forked child starts with a copy of its parent's table.
    fn fork(&self, parent: CageId, child: CageId);
    /// Exec drops close-on-exec fds.
    fn exec(&self, cage: CageId);
    /// Exit frees the cage's table.
    fn exit(&self, cage: CageId);

    /// Updates the pairing after `args` ran on both sides: `mine` is the
    /// side whose fd numbers key the table (the primary, the recording),
    /// `theirs` the side they translate to.
    fn track(
        &self,
        info: &SyscallInfo,
        cage: CageId,
        args: &Args,
        mine: Side<'_>,
        theirs: Side<'_>,
    ) {
        let created = mine.result;
        if created < 0 {
            return;
        }
        let peer = if theirs.result >= 0 {
            Peer::Fd(theirs.result)
        } else {
            Peer::Missing
        };
        match info.fd_effect {
            FdEffect::None => {}
            FdEffect::ResultFd | FdEffect::DupOf(_) | FdEffect::DupTo { .. } => {
                self.pair(cage, created, peer, opens_cloexec(info, args));
            }
            FdEffect::Fcntl => match args[1].as_i32() {
                cmd @ (fcntl_cmd::F_DUPFD | fcntl_cmd::F_DUPFD_CLOEXEC) => {
                    self.pair(cage, created, peer, cmd == fcntl_cmd::F_DUPFD_CLOEXEC);
                }
                fcntl_cmd::F_SETFD => {
                    let on = args[2].as_i32() & fcntl_cmd::FD_CLOEXEC != 0;
                    self.set_cloexec(cage, args[0].as_i32(), on);
                }
                _ => {}
            },
            FdEffect::PairOut(pos) => {
                if let Some(fds) = fd_pair_of(mine.outputs, pos) {
                    let peers = fd_pair_of(theirs.outputs, pos).filter(|_| theirs.result >= 0);
                    let cloexec = opens_cloexec(info, args);
                    for i in 0..2 {
                        let peer = peers.map_or(Peer::Missing, |p| Peer::Fd(p[i]));
                        self.pair(cage, fds[i], peer, cloexec);
                    }
                }
            }
            // Dropped by `forget_closed`, at the moment the caller chooses.
            FdEffect::Close(_) => {}
        }
    }

    /// Drops the pair of the fd a closing call closes. Callers do it before
    /// the call runs where other threads may reuse the number meanwhile.
    fn forget_closed(&self, info: &SyscallInfo, cage: CageId, args: &Args) {
        if let FdEffect::Close(pos) = info.fd_effect {
            self.close(cage, args[usize::from(pos)].as_i32());
        }
    }

    /// Translates every fd argument of `args` for the other side. `None`
    /// when an fd was never opened there, so the call cannot be sent.
    fn translate_args(&self, info: &SyscallInfo, cage: CageId, args: &Args) -> Option<Args> {
        let mut translated = *args;
        for (pos, kind) in info.args.iter().enumerate() {
            if matches!(kind, ArgKind::Fd | ArgKind::DirFd) {
                let fd = args[pos].as_i32();
                match self.translate(cage, fd) {
                    Peer::Fd(peer) if peer != fd => translated[pos].value = peer as u64,
                    Peer::Fd(_) => {}
                    Peer::Missing => return None,
                }
            }
        }
        Some(translated)
    }
}

/// Whether a creating call asked for close-on-exec in its flags.
fn opens_cloexec(info: &SyscallInfo, args: &Args) -> bool {
    info.args
        .iter()
        .zip(args)
        .any(|(kind, arg)| *kind == ArgKind::Flags && arg.as_i32() & open_flags::O_CLOEXEC != 0)
}

fn fd_pair_of(buffers: &[Buffer], pos: u8) -> Option<[i32; 2]> {
    let data = buffers.iter().find(|b| b.arg == pos)?.data.get(..8)?;
    let fd = |at: usize| i32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    Some([fd(0), fd(4)])
}

use crate::verdict::Side;

/// Per-cage `fd -> other side's fd` tables in plain maps.
#[derive(Debug, Default)]
pub struct FdPairs {
    cages: Mutex<HashMap<CageId, HashMap<i32, Entry>>>,
}

impl FdPairs {
    /// Whether `fd` is marked close-on-exec (for tests and dumps).
    pub fn is_cloexec(&self, cage: CageId, fd: i32) -> bool {
        self.lock()
            .get(&cage)
            .and_then(|t| t.get(&fd))
            .is_some_and(|e| e.cloexec)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CageId, HashMap<i32, Entry>>> {
        // Every update below is a single map operation; a panic elsewhere
        // cannot leave the map inconsistent.
        lock(&self.cages)
    }
}

impl PairTable for FdPairs {
    fn translate(&self, cage: CageId, fd: i32) -> Peer {
        self.lock()
            .get(&cage)
            .and_then(|t| t.get(&fd))
            .map_or(Peer::Fd(fd), |e| e.peer)
    }

    fn pair(&self, cage: CageId, fd: i32, peer: Peer, cloexec: bool) {
        self.lock()
            .entry(cage)
            .or_default()
            .insert(fd, Entry { peer, cloexec });
    }

    fn close(&self, cage: CageId, fd: i32) {
        if let Some(table) = self.lock().get_mut(&cage) {
            table.remove(&fd);
        }
    }

    fn set_cloexec(&self, cage: CageId, fd: i32, on: bool) {
        let mut cages = self.lock();
        let table = cages.entry(cage).or_default();
        let entry = table.entry(fd).or_insert(Entry {
            peer: Peer::Fd(fd),
            cloexec: false,
        });
        entry.cloexec = on;
    }

    fn fork(&self, parent: CageId, child: CageId) {
        let mut cages = self.lock();
        let copy = cages.get(&parent).cloned().unwrap_or_default();
        cages.insert(child, copy);
    }

    fn exec(&self, cage: CageId) {
        if let Some(table) = self.lock().get_mut(&cage) {
            table.retain(|_, e| !e.cloexec);
        }
    }

    fn exit(&self, cage: CageId) {
        self.lock().remove(&cage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: CageId = CageId(3);
    const B: CageId = CageId(4);

    #[test]
    fn unknown_fds_translate_to_themselves() {
        assert_eq!(FdPairs::default().translate(A, 1), Peer::Fd(1));
    }

    #[test]
    fn pairs_survive_fork_and_cloexec_ones_die_at_exec() {
        let pairs = FdPairs::default();
        pairs.pair(A, 5, Peer::Fd(3), false);
        pairs.pair(A, 6, Peer::Fd(4), true);
        pairs.fork(A, B);
        pairs.exec(B);
        assert_eq!(pairs.translate(B, 5), Peer::Fd(3));
        assert_eq!(pairs.translate(B, 6), Peer::Fd(6));
        assert_eq!(pairs.translate(A, 6), Peer::Fd(4));
    }

    #[test]
    fn close_and_exit_forget() {
        let pairs = FdPairs::default();
        pairs.pair(A, 5, Peer::Missing, false);
        assert_eq!(pairs.translate(A, 5), Peer::Missing);
        pairs.close(A, 5);
        assert_eq!(pairs.translate(A, 5), Peer::Fd(5));
        pairs.pair(A, 7, Peer::Fd(9), false);
        pairs.exit(A);
        assert_eq!(pairs.translate(A, 7), Peer::Fd(7));
    }

    #[test]
    fn fcntl_setfd_marks_cloexec() {
        let pairs = FdPairs::default();
        pairs.pair(A, 5, Peer::Fd(8), false);
        pairs.set_cloexec(A, 5, true);
        assert!(pairs.is_cloexec(A, 5));
        pairs.exec(A);
        assert_eq!(pairs.translate(A, 5), Peer::Fd(5));
    }

    /// Runs `name(values)` on both sides, the primary getting `mine` and
    /// the secondary `theirs`, as an engine would.
    fn ran(pairs: &FdPairs, name: &str, values: &[u64], mine: i32, theirs: i32) {
        let info = abi::catalog::by_name(name).unwrap();
        let args = boundary::args_of(A, values);
        pairs.forget_closed(info, A, &args);
        let side = |result| Side {
            result,
            outputs: &[],
        };
        pairs.track(info, A, &args, side(mine), side(theirs));
    }

    #[test]
    fn opens_and_dups_pair_what_each_side_returned_and_close_forgets() {
        let pairs = FdPairs::default();
        ran(&pairs, "open", &[0x1000, 0o1101, 0o644], 3, 5);
        ran(&pairs, "dup", &[3], 4, 6);
        ran(&pairs, "dup2", &[3, 9], 9, 9);
        assert_eq!(pairs.translate(A, 3), Peer::Fd(5));
        assert_eq!(pairs.translate(A, 4), Peer::Fd(6));
        assert_eq!(pairs.translate(A, 9), Peer::Fd(9));
        let write = abi::catalog::by_name("write").unwrap();
        let translated = pairs
            .translate_args(write, A, &boundary::args_of(A, &[4, 0x2000, 6]))
            .unwrap();
        assert_eq!(translated[0].value, 6, "the fd is the secondary's");
        assert_eq!(translated[1].value, 0x2000, "the buffer is left alone");
        ran(&pairs, "close", &[4], 0, 0);
        assert_eq!(pairs.translate(A, 4), Peer::Fd(4));
    }

    #[test]
    fn an_open_only_the_primary_got_leaves_its_fd_untranslatable() {
        let pairs = FdPairs::default();
        ran(&pairs, "open", &[0x1000, 0, 0], 3, -2);
        assert_eq!(pairs.translate(A, 3), Peer::Missing);
        let read = abi::catalog::by_name("read").unwrap();
        assert!(pairs
            .translate_args(read, A, &boundary::args_of(A, &[3, 0x2000, 8]))
            .is_none());
    }

    #[test]
    fn a_cloexec_dup_dies_at_exec_and_its_original_survives_fork() {
        let pairs = FdPairs::default();
        ran(&pairs, "open", &[0x1000, 0, 0], 3, 5);
        ran(
            &pairs,
            "fcntl",
            &[3, u64::from(fcntl_cmd::F_DUPFD_CLOEXEC as u32), 10],
            10,
            11,
        );
        pairs.fork(A, B);
        pairs.exec(A);
        assert_eq!(pairs.translate(A, 10), Peer::Fd(10));
        assert_eq!(pairs.translate(A, 3), Peer::Fd(5));
        assert_eq!(
            pairs.translate(B, 10),
            Peer::Fd(11),
            "the child has not exec'd"
        );
    }
}
