//! Pairs each fd of one stack with the other stack's fd for the same open:
//! the tee's primary with its secondary, a recording with its replay.
//!
//! Follows fdtables' semantics per cage (the Lind build could hold the same
//! data in fdtables): fork copies a cage's table, exec drops close-on-exec
//! entries, exit removes the table. Kept apart from any fd virtualization:
//! this table only translates fd arguments for the secondary.

use boundary::CageId;
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

/// Per-cage `primary fd -> secondary fd` tables.
#[derive(Debug, Default)]
pub struct FdPairs {
    cages: Mutex<HashMap<CageId, HashMap<i32, Entry>>>,
}

impl FdPairs {
    fn lock(&self) -> MutexGuard<'_, HashMap<CageId, HashMap<i32, Entry>>> {
        // Every update below is a single map operation; a panic elsewhere
        // cannot leave the map inconsistent.
        self.cages.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The secondary's fd for `fd`. An fd the tee never saw created (stdio,
    /// inherited ones) is the same number on both sides.
    pub fn translate(&self, cage: CageId, fd: i32) -> Peer {
        self.lock()
            .get(&cage)
            .and_then(|t| t.get(&fd))
            .map_or(Peer::Fd(fd), |e| e.peer)
    }

    /// Records that `fd` (primary) and `peer` name the same open.
    pub fn pair(&self, cage: CageId, fd: i32, peer: Peer, cloexec: bool) {
        self.lock()
            .entry(cage)
            .or_default()
            .insert(fd, Entry { peer, cloexec });
    }

    /// Forgets `fd` after the primary closed it.
    pub fn close(&self, cage: CageId, fd: i32) {
        if let Some(table) = self.lock().get_mut(&cage) {
            table.remove(&fd);
        }
    }

    /// Sets or clears close-on-exec on `fd`.
    pub fn set_cloexec(&self, cage: CageId, fd: i32, on: bool) {
        let mut cages = self.lock();
        let table = cages.entry(cage).or_default();
        let entry = table.entry(fd).or_insert(Entry {
            peer: Peer::Fd(fd),
            cloexec: false,
        });
        entry.cloexec = on;
    }

    /// A forked child starts with a copy of its parent's table.
    pub fn fork(&self, parent: CageId, child: CageId) {
        let mut cages = self.lock();
        let copy = cages.get(&parent).cloned().unwrap_or_default();
        cages.insert(child, copy);
    }

    /// Exec drops close-on-exec fds.
    pub fn exec(&self, cage: CageId) {
        if let Some(table) = self.lock().get_mut(&cage) {
            table.retain(|_, e| !e.cloexec);
        }
    }

    /// Exit frees the cage's table.
    pub fn exit(&self, cage: CageId) {
        self.lock().remove(&cage);
    }

    /// Whether `fd` is marked close-on-exec (for tests and dumps).
    pub fn is_cloexec(&self, cage: CageId, fd: i32) -> bool {
        self.lock()
            .get(&cage)
            .and_then(|t| t.get(&fd))
            .is_some_and(|e| e.cloexec)
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
}
