//! The set of cages routed through a grate that have not yet exited.

use super::lock;
use boundary::CageId;
use std::collections::{BTreeSet, HashSet};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How often `wait_until_empty` re-checks cages that might have died
/// without an exit_group (a signal or trap death is never reported to
/// grates; docs/lind-3i.md §7.5).
const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// Cages born (direct child, forwarded forks) and not yet gone.
#[derive(Default)]
pub struct LiveCages {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    live: BTreeSet<CageId>,
    /// Cage ids are never reused (docs/lind-3i.md §7.3), so remembering the dead
    /// makes an exit that overtakes its own birth record harmless.
    gone: HashSet<CageId>,
}

impl LiveCages {
    /// `cage` now runs through this grate.
    pub fn born(&self, cage: CageId) {
        let mut state = lock(&self.state);
        if !state.gone.contains(&cage) {
            state.live.insert(cage);
        }
    }

    /// `cage` has exited.
    pub fn gone(&self, cage: CageId) {
        let mut state = lock(&self.state);
        state.live.remove(&cage);
        state.gone.insert(cage);
        self.changed.notify_all();
    }

    /// Marks `cage` gone when dropped, so a handler that unwinds still
    /// records the exit.
    pub fn exit_guard(&self, cage: CageId) -> ExitGuard<'_> {
        ExitGuard { live: self, cage }
    }

    /// The cages still live.
    pub fn snapshot(&self) -> Vec<CageId> {
        lock(&self.state).live.iter().copied().collect()
    }

    /// Blocks until no cage is live. Every `PROBE_INTERVAL` without news,
    /// asks `alive` about each remaining cage (with no lock held, since the
    /// probe is a syscall) and drops those it reports dead.
    pub fn wait_until_empty(&self, alive: impl Fn(CageId) -> bool) {
        loop {
            let state = lock(&self.state);
            if state.live.is_empty() {
                return;
            }
            let (state, waited) = self
                .changed
                .wait_timeout(state, PROBE_INTERVAL)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !waited.timed_out() {
                continue;
            }
            let remaining: Vec<CageId> = state.live.iter().copied().collect();
            drop(state);
            for cage in remaining {
                if !alive(cage) {
                    self.gone(cage);
                }
            }
        }
    }
}

/// See [`LiveCages::exit_guard`].
pub struct ExitGuard<'a> {
    live: &'a LiveCages,
    cage: CageId,
}

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        self.live.gone(self.cage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn an_exit_before_the_birth_record_is_remembered() {
        let live = LiveCages::default();
        live.gone(CageId(5));
        live.born(CageId(5));
        assert!(live.snapshot().is_empty());
    }

    #[test]
    fn waiting_ends_when_the_last_cage_exits() {
        let live = Arc::new(LiveCages::default());
        live.born(CageId(2));
        live.born(CageId(3));
        let waiter = {
            let live = Arc::clone(&live);
            std::thread::spawn(move || live.wait_until_empty(|_| true))
        };
        live.gone(CageId(2));
        drop(live.exit_guard(CageId(3)));
        waiter.join().unwrap();
        assert!(live.snapshot().is_empty());
    }

    #[test]
    fn a_cage_the_probe_reports_dead_is_dropped() {
        let live = LiveCages::default();
        live.born(CageId(9));
        live.wait_until_empty(|cage| cage != CageId(9));
        assert!(live.snapshot().is_empty());
    }
}
