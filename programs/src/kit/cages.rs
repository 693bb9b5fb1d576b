//! Per-cage state of a grate (fd tables, cwd), keyed by the calling cage.

use super::{clone_is_thread, forked_child, forward, lock};
use boundary::{nr, Args, CageId, ThreeI};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How long a call from a cage nobody has seen waits for forks in flight
/// (about 2 s, in steps): on the host runtime a forked child may call in
/// before the parent's CLONE handler has copied the parent's state to it.
const FORK_WAIT_STEP: Duration = Duration::from_millis(50);
const FORK_WAIT_STEPS: u32 = 40;

/// One `T` per cage. A cage never seen gets a fresh `T` (never a panic, the
/// fdtables failure mode of docs/lind-3i.md §10); a fork copies the parent's `T`.
pub struct CageTables<T> {
    inner: Mutex<Tables<T>>,
    fork_done: Condvar,
    fresh: fn() -> T,
}

struct Tables<T> {
    by_cage: HashMap<CageId, T>,
    forks_in_flight: usize,
}

impl<T: Clone> CageTables<T> {
    /// Tables whose unseen cages start as `fresh()`.
    pub fn new(fresh: fn() -> T) -> CageTables<T> {
        CageTables {
            inner: Mutex::new(Tables {
                by_cage: HashMap::new(),
                forks_in_flight: 0,
            }),
            fork_done: Condvar::new(),
            fresh,
        }
    }

    /// Gives `cage` a fresh table, replacing any it had.
    pub fn insert_fresh(&self, cage: CageId) {
        let old = lock(&self.inner).by_cage.insert(cage, (self.fresh)());
        drop(old);
    }

    /// Runs `f` on `cage`'s table. Keep `f` short and free of syscalls: the
    /// lock is held throughout.
    pub fn with<R>(&self, cage: CageId, f: impl FnOnce(&mut T) -> R) -> R {
        let mut tables = lock(&self.inner);
        // Timed waits in steps, not `wait_timeout_while`: that one reads
        // `Instant`, which does not link on Lind.
        let mut steps = FORK_WAIT_STEPS;
        while steps > 0 && !tables.by_cage.contains_key(&cage) && tables.forks_in_flight > 0 {
            tables = self
                .fork_done
                .wait_timeout(tables, FORK_WAIT_STEP)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
            steps -= 1;
        }
        let fresh = self.fresh;
        f(tables.by_cage.entry(cage).or_insert_with(fresh))
    }

    /// Runs `f` on every cage's table.
    pub fn for_each(&self, mut f: impl FnMut(CageId, &mut T)) {
        for (&cage, table) in lock(&self.inner).by_cage.iter_mut() {
            f(cage, table);
        }
    }

    /// Removes `cage`'s table and hands it back, so that whatever dropping it
    /// does (closing in-memory pipe ends) happens outside the lock.
    pub fn remove(&self, cage: CageId) -> Option<T> {
        lock(&self.inner).by_cage.remove(&cage)
    }

    /// Forwards a CLONE and, for a process fork, copies the parent's table
    /// to the child before any call of the child's can look it up.
    pub fn forward_clone(&self, rt: &dyn ThreeI, parent: CageId, args: &Args) -> i32 {
        let thread = clone_is_thread(rt, args);
        lock(&self.inner).forks_in_flight += 1;
        let ret = forward(rt, nr::CLONE, args);
        let mut tables = lock(&self.inner);
        if let Some(child) = forked_child(ret, thread) {
            let fresh = self.fresh;
            let copy = tables.by_cage.entry(parent).or_insert_with(fresh).clone();
            tables.by_cage.insert(child, copy);
        }
        tables.forks_in_flight -= 1;
        self.fork_done.notify_all();
        ret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_cages_get_a_fresh_table() {
        let tables: CageTables<Vec<i32>> = CageTables::new(|| vec![0, 1, 2]);
        assert_eq!(tables.with(CageId(8), |t| t.clone()), vec![0, 1, 2]);
        tables.with(CageId(8), |t| t.push(3));
        assert_eq!(tables.remove(CageId(8)), Some(vec![0, 1, 2, 3]));
        assert_eq!(tables.remove(CageId(8)), None);
    }

    #[test]
    fn insert_fresh_resets_and_for_each_visits_all() {
        let tables: CageTables<u32> = CageTables::new(|| 0);
        tables.with(CageId(1), |t| *t = 5);
        tables.with(CageId(2), |t| *t = 6);
        tables.insert_fresh(CageId(1));
        let mut sum = 0;
        tables.for_each(|_, t| sum += *t);
        assert_eq!(sum, 6);
    }
}
