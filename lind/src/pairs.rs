//! The tee's fd pairs kept in Lind's fdtables (muthashmax), as Lind's Rust
//! grates keep their fd state.
//!
//! An entry's virtual fd is the primary's fd and its `underfd` the
//! secondary's; `fdkind` says whether the secondary has that fd at all.
//! fdtables panics on a cage it does not know, so every call first makes
//! sure the cage exists, under one lock so two handlers never both create
//! it (fdtables panics on that too).

use boundary::CageId;
use interpose::fdpair::{PairTable, Peer};
use std::sync::Mutex;

/// The secondary holds the paired fd in `underfd`.
const KIND_PAIRED: u32 = 1;
/// The secondary failed to create this fd.
const KIND_MISSING: u32 = 2;

/// Serialises cage creation (check then init is not atomic in fdtables).
static CAGES: Mutex<()> = Mutex::new(());

/// [`PairTable`] over fdtables.
#[derive(Debug, Default)]
pub struct FdtablesPairs;

fn ensure(cage: CageId) {
    let _guard = CAGES.lock().unwrap_or_else(|e| e.into_inner());
    if !fdtables::check_cage_exists(cage.0) {
        fdtables::init_empty_cage(cage.0);
    }
}

/// fdtables' fd numbers are u64 below its per-cage maximum.
fn vfd(fd: i32) -> Option<u64> {
    u64::try_from(fd)
        .ok()
        .filter(|&fd| fd < fdtables::FD_PER_PROCESS_MAX)
}

impl PairTable for FdtablesPairs {
    fn translate(&self, cage: CageId, fd: i32) -> Peer {
        let Some(v) = vfd(fd).filter(|_| fdtables::check_cage_exists(cage.0)) else {
            return Peer::Fd(fd);
        };
        match fdtables::translate_virtual_fd(cage.0, v) {
            Ok(entry) if entry.fdkind == KIND_MISSING => Peer::Missing,
            Ok(entry) => Peer::Fd(entry.underfd as i32),
            Err(_) => Peer::Fd(fd),
        }
    }

    fn pair(&self, cage: CageId, fd: i32, peer: Peer, cloexec: bool) {
        let Some(v) = vfd(fd) else {
            return;
        };
        ensure(cage);
        let (kind, under) = match peer {
            Peer::Fd(theirs) => (KIND_PAIRED, theirs as u64),
            Peer::Missing => (KIND_MISSING, 0),
        };
        let _ = fdtables::get_specific_virtual_fd(cage.0, v, kind, under, cloexec, 0);
    }

    fn close(&self, cage: CageId, fd: i32) {
        if let Some(v) = vfd(fd).filter(|_| fdtables::check_cage_exists(cage.0)) {
            let _ = fdtables::close_virtualfd(cage.0, v);
        }
    }

    fn set_cloexec(&self, cage: CageId, fd: i32, on: bool) {
        let Some(v) = vfd(fd) else {
            return;
        };
        ensure(cage);
        if fdtables::set_cloexec(cage.0, v, on).is_err() {
            // Never paired: the fd is the same on both sides.
            let _ = fdtables::get_specific_virtual_fd(cage.0, v, KIND_PAIRED, v, on, 0);
        }
    }

    fn fork(&self, parent: CageId, child: CageId) {
        ensure(parent);
        let _guard = CAGES.lock().unwrap_or_else(|e| e.into_inner());
        // Cage ids are never reused, but a table may exist if a pair was
        // recorded for the child before the fork was seen.
        fdtables::remove_cage_from_fdtable(child.0);
        let _ = fdtables::copy_fdtable_for_cage(parent.0, child.0);
    }

    fn exec(&self, cage: CageId) {
        if fdtables::check_cage_exists(cage.0) {
            fdtables::empty_fds_for_exec(cage.0);
        }
    }

    fn exit(&self, cage: CageId) {
        fdtables::remove_cage_from_fdtable(cage.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // fdtables is one global per process: each test uses its own cage ids.

    #[test]
    fn pairs_follow_fork_exec_close_and_exit() {
        let pairs = FdtablesPairs;
        let (a, b) = (CageId(9001), CageId(9002));
        assert_eq!(pairs.translate(a, 5), Peer::Fd(5));
        pairs.pair(a, 5, Peer::Fd(3), false);
        pairs.pair(a, 6, Peer::Fd(4), true);
        pairs.pair(a, 7, Peer::Missing, false);
        pairs.fork(a, b);
        pairs.exec(b);
        assert_eq!(pairs.translate(b, 5), Peer::Fd(3));
        assert_eq!(pairs.translate(b, 6), Peer::Fd(6));
        assert_eq!(pairs.translate(a, 6), Peer::Fd(4));
        assert_eq!(pairs.translate(a, 7), Peer::Missing);
        pairs.close(a, 5);
        assert_eq!(pairs.translate(a, 5), Peer::Fd(5));
        pairs.exit(a);
        assert_eq!(pairs.translate(a, 6), Peer::Fd(6));
    }

    #[test]
    fn setfd_on_an_unpaired_fd_drops_it_at_exec() {
        let pairs = FdtablesPairs;
        let cage = CageId(9003);
        pairs.set_cloexec(cage, 4, true);
        assert_eq!(pairs.translate(cage, 4), Peer::Fd(4));
        pairs.pair(cage, 8, Peer::Fd(2), false);
        pairs.set_cloexec(cage, 8, true);
        pairs.exec(cage);
        assert_eq!(pairs.translate(cage, 8), Peer::Fd(8));
    }

    #[test]
    fn out_of_range_fds_are_left_alone() {
        let pairs = FdtablesPairs;
        pairs.pair(CageId(9004), -100, Peer::Fd(3), false);
        pairs.pair(CageId(9004), 5000, Peer::Fd(3), false);
        assert_eq!(pairs.translate(CageId(9004), 5000), Peer::Fd(5000));
    }
}
