//! The order of calls that change one open file: a lock per (cage, fd),
//! taken around the primary, the sequence number and the secondary, so the
//! log and a live secondary see such calls in the order the kernel applied
//! them (SPEC.md, "Order").
//!
//! Only calls the catalog marks `ordered` take it (writes, lseek,
//! ftruncate): none of them waits on another call on the same fd, so a
//! thread blocked in the primary while holding the lock cannot keep the
//! call that would unblock it from running. Calls on other fds, and every
//! other call, run in parallel as before. The locks are striped: two fds
//! that share a stripe are serialised needlessly, which costs a little
//! parallelism and never correctness.

use abi::catalog::{ArgKind, SyscallInfo};
use abi::sync::lock;
use boundary::{Args, CageId};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

/// Enough stripes that 16 threads on 16 files rarely share one.
const STRIPES: usize = 256;

pub struct OrderLocks {
    stripes: Box<[Mutex<()>]>,
}

impl Default for OrderLocks {
    fn default() -> Self {
        OrderLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl OrderLocks {
    /// The lock `info` on `args` must hold, if it is an ordered call: threads
    /// of a cage share its fds, so (cage, fd) names one open file.
    pub fn hold(
        &self,
        info: &SyscallInfo,
        cage: CageId,
        args: &Args,
    ) -> Option<MutexGuard<'_, ()>> {
        if !info.ordered {
            return None;
        }
        let slot = info.args.iter().position(|k| *k == ArgKind::Fd)?;
        let stripe = &self.stripes[self.stripe(cage, args[slot].value)];
        // A poisoned stripe only means another call panicked while holding
        // it; the order it protects is still worth keeping.
        Some(lock(stripe))
    }

    fn stripe(&self, cage: CageId, fd: u64) -> usize {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (cage, fd).hash(&mut h);
        (h.finish() as usize) % self.stripes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boundary::Arg;

    fn args(fd: u64) -> Args {
        let mut a = [Arg::unused(CageId(2)); 6];
        a[0] = Arg::new(fd, CageId(2));
        a
    }

    #[test]
    fn only_ordered_calls_take_a_lock() {
        let locks = OrderLocks::default();
        let write = abi::catalog::by_name("write").unwrap();
        let read = abi::catalog::by_name("read").unwrap();
        assert!(locks.hold(write, CageId(2), &args(3)).is_some());
        assert!(locks.hold(read, CageId(2), &args(3)).is_none());
    }

    #[test]
    fn a_write_on_the_same_fd_waits_and_one_on_another_fd_does_not() {
        let locks = OrderLocks::default();
        let write = abi::catalog::by_name("write").unwrap();
        let held = locks.hold(write, CageId(2), &args(3)).unwrap();
        let free = |fd| {
            let stripe = locks.stripe(CageId(2), fd);
            locks.stripes[stripe].try_lock().is_ok()
        };
        std::thread::scope(|s| {
            let (same, other) = s.spawn(|| (free(3), free(4))).join().unwrap();
            assert!(!same, "fd 3's lock is free while a write on it holds it");
            assert!(other, "fd 4 shares fd 3's stripe");
        });
        drop(held);
        assert!(free(3));
    }
}
