//! Notices a secondary grate exiting while the app still runs.
//!
//! Lind purges a dead grate's entries from every table, so once a grate of
//! the secondary chain is gone, a call sent through the secondary hold, or
//! the hold's own exit, would find no handler and panic the runtime. The
//! tee learns the chain from what passes through the floor (the grates'
//! own forks) and stops duplicating when one of the hold's ancestors exits.
//! Other cages the grates fork (helpers that come and go) do not count.

use abi::sync::lock;
use boundary::CageId;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// The secondary side's own cages: who forked whom, and who has exited.
#[derive(Debug, Default)]
pub struct StackWatch {
    inner: Mutex<Family>,
}

#[derive(Debug, Default)]
struct Family {
    parent: HashMap<CageId, CageId>,
    exited: HashSet<CageId>,
}

impl StackWatch {
    fn lock(&self) -> std::sync::MutexGuard<'_, Family> {
        // Each update is one insertion; a poisoned lock holds good data.
        lock(&self.inner)
    }

    /// `parent` (a grate, not an app) forked `child`.
    pub fn forked(&self, parent: CageId, child: CageId) {
        self.lock().parent.insert(child, parent);
    }

    /// `cage` (a grate, not an app) is exiting.
    pub fn exited(&self, cage: CageId) {
        self.lock().exited.insert(cage);
    }

    /// Every cage of the secondary side seen so far that has not exited.
    pub fn live_cages(&self) -> Vec<CageId> {
        let family = self.lock();
        let mut cages: Vec<CageId> = family
            .parent
            .iter()
            .flat_map(|(child, parent)| [*child, *parent])
            .filter(|cage| !family.exited.contains(cage))
            .collect();
        cages.sort_unstable();
        cages.dedup();
        cages
    }

    /// Whether `hold` or one of its ancestors has exited.
    pub fn chain_broken(&self, hold: CageId) -> bool {
        let family = self.lock();
        let mut at = Some(hold);
        let mut steps = 0;
        while let Some(cage) = at {
            if family.exited.contains(&cage) {
                return true;
            }
            // Cage ids are never reused, so the walk cannot cycle; the
            // bound only guards against a corrupted map.
            steps += 1;
            at = family.parent.get(&cage).copied().filter(|_| steps < 4096);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exited_ancestor_breaks_the_chain_a_helper_does_not() {
        let watch = StackWatch::default();
        watch.forked(CageId(2), CageId(3));
        watch.forked(CageId(3), CageId(4));
        watch.forked(CageId(3), CageId(9));
        watch.exited(CageId(9));
        assert!(!watch.chain_broken(CageId(4)));
        assert_eq!(watch.live_cages(), [2, 3, 4].map(CageId));
        watch.exited(CageId(2));
        assert!(watch.chain_broken(CageId(4)));
        assert_eq!(watch.live_cages(), [3, 4].map(CageId));
    }
}
