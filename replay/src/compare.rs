//! Comparing two runs of one call (the tee's primary and secondary, a
//! recording and its replay), and keeping the fd pairing between them right.

use crate::capture::succeeded;
use crate::fdpair::{FdPairs, Peer};
use boundary::consts::{fcntl_cmd, open_flags};
use boundary::{Args, CageId};
use formats::Buffer;
use formats::{ArgKind, FdEffect, Filled, RetKind, SyscallInfo};

/// Whether two results agree, by the catalog's result kind: fd numbers,
/// addresses and ids legitimately differ between stacks; counts and
/// statuses do not.
pub fn same_result(info: &SyscallInfo, expected: i32, got: i32) -> bool {
    match info.ret {
        RetKind::Fd | RetKind::GuestAddr | RetKind::ChildId | RetKind::Value => {
            succeeded(info, expected) == succeeded(info, got)
        }
        _ => expected == got,
    }
}

/// Whether a call's outputs are plain data two stacks must agree on (read,
/// pread, readv); stat and directory records carry inode numbers and times
/// that differ between any two filesystems.
pub fn compares_data(info: &SyscallInfo) -> bool {
    info.ret == RetKind::Count
        && info.args.iter().any(|k| {
            matches!(
                k,
                ArgKind::Out {
                    filled: Filled::Result,
                    ..
                } | ArgKind::IovOut { .. }
            )
        })
}

/// The first byte offset where two output buffer lists differ, as
/// `(buffer position in the list, byte offset)`.
pub fn first_difference(expected: &[Buffer], got: &[Buffer]) -> Option<(usize, usize)> {
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        if let Some(at) = e.data.iter().zip(&g.data).position(|(a, b)| a != b) {
            return Some((i, at));
        }
        if e.data.len() != g.data.len() {
            return Some((i, e.data.len().min(g.data.len())));
        }
    }
    (expected.len() != got.len()).then_some((expected.len().min(got.len()), 0))
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

/// One side of a call whose fds are being paired.
#[derive(Clone, Copy, Debug)]
pub struct Side<'a> {
    pub result: i32,
    pub outputs: &'a [Buffer],
}

impl FdPairs {
    /// Updates the pairing after `args` ran on both sides: `mine` is the
    /// side whose fd numbers key the table (the primary, the recording),
    /// `theirs` the side they translate to.
    pub fn track(
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
            FdEffect::Close(pos) => self.close(cage, args[usize::from(pos)].as_i32()),
        }
    }

    /// Translates every fd argument of `args` for the other side. `None`
    /// when an fd was never opened there, so the call cannot be sent.
    pub fn translate_args(&self, info: &SyscallInfo, cage: CageId, args: &Args) -> Option<Args> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(data: &[u8]) -> Buffer {
        Buffer {
            arg: 1,
            index: 0,
            data: data.to_vec(),
            truncated_from: None,
        }
    }

    #[test]
    fn first_difference_finds_the_byte() {
        assert_eq!(
            first_difference(&[buffer(b"abcd")], &[buffer(b"abXd")]),
            Some((0, 2))
        );
        assert_eq!(
            first_difference(&[buffer(b"ab")], &[buffer(b"abc")]),
            Some((0, 2))
        );
        assert_eq!(first_difference(&[buffer(b"ab")], &[buffer(b"ab")]), None);
        assert_eq!(first_difference(&[buffer(b"ab")], &[]), Some((0, 0)));
    }
}
