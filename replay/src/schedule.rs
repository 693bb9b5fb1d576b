//! Which record each driver cage replays next.
//!
//! Records are replayed in recorded sequence order. Each recorded cage is
//! played by one driver cage; a driver asking for its next step waits until
//! the next record is its cage's, so drivers take turns as the recorded
//! cages did. Records no driver can play (a cage whose fork was not
//! recorded, a filtered call) are skipped and counted by reason.

use boundary::CageId;
use formats::Record;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Condvar};

/// A record and its index in the log file.
#[derive(Clone, Debug)]
pub struct Entry {
    pub index: u64,
    pub record: Record,
}

/// Sorts records into replay order: by sequence number (the order calls
/// entered the tee), file order for ties; records without one are dropped.
pub fn in_replay_order(records: Vec<Record>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = records
        .into_iter()
        .enumerate()
        .filter(|(_, r)| r.seq().is_some())
        .map(|(index, record)| Entry {
            index: index as u64,
            record,
        })
        .collect();
    entries.sort_by_key(|e| (e.record.seq(), e.index));
    entries
}

/// The recorded cage a record belongs to (a fork belongs to its parent).
pub fn owner(record: &Record) -> Option<u64> {
    match record {
        Record::Syscall(r) => Some(r.cage),
        Record::Fork(r) => Some(r.parent),
        Record::Exec(r) => Some(r.cage),
        Record::Exit(r) => Some(r.cage),
        _ => None,
    }
}

/// Why a record was not replayed.
pub type SkipReason = &'static str;

/// The turn-taking state, behind the replayer's lock.
#[derive(Debug, Default)]
pub struct Schedule {
    /// The next entry to hand out.
    pub next: usize,
    /// Recorded cage played by each driver.
    pub recorded_of: HashMap<CageId, u64>,
    /// Driver playing each recorded cage.
    pub driver_of: HashMap<u64, CageId>,
    /// Recorded cages whose driver is being forked.
    pub forking: HashSet<u64>,
    /// Drivers still running.
    pub live: HashSet<CageId>,
    /// Skipped records by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// The condition each driver waits on for its turn, made the first
    /// time it waits; ringing one that is not waiting does nothing.
    bells: HashMap<CageId, Arc<Condvar>>,
}

impl Schedule {
    /// Binds the first driver to the first cage the log shows working.
    pub fn bind_root(&mut self, driver: CageId, entries: &[Entry]) {
        let root = entries
            .iter()
            .find(|e| !matches!(e.record, Record::Fork(_)))
            .and_then(|e| owner(&e.record))
            .unwrap_or(0);
        self.bind(driver, root);
    }

    /// Records that `driver` plays recorded cage `cage`.
    pub fn bind(&mut self, driver: CageId, cage: u64) {
        self.recorded_of.insert(driver, cage);
        self.driver_of.insert(cage, driver);
        self.forking.remove(&cage);
        self.live.insert(driver);
    }

    /// The condition `driver` waits on.
    pub fn bell(&mut self, driver: CageId) -> Arc<Condvar> {
        Arc::clone(self.bells.entry(driver).or_default())
    }

    /// Wakes `driver`, if it waits.
    pub fn ring(&self, driver: CageId) {
        if let Some(bell) = self.bells.get(&driver) {
            bell.notify_one();
        }
    }

    /// Wakes one waiting driver, whichever.
    pub fn ring_any(&self) {
        for (driver, bell) in &self.bells {
            if self.live.contains(driver) {
                bell.notify_one();
                return;
            }
        }
    }

    /// Wakes every driver.
    pub fn ring_all(&self) {
        for bell in self.bells.values() {
            bell.notify_one();
        }
    }

    /// Counts one skipped record.
    pub fn skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_default() += 1;
        self.next += 1;
    }

    /// Whether some driver can play `cage` now or soon.
    pub fn playable(&self, cage: u64) -> bool {
        self.driver_of.contains_key(&cage) || self.forking.contains(&cage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::{ExitRecord, ForkRecord};

    fn exit(seq: u64, cage: u64) -> Record {
        Record::Exit(ExitRecord {
            seq,
            cage,
            status: 0,
            process: true,
            time_us: 0,
        })
    }

    #[test]
    fn records_are_replayed_in_sequence_order() {
        let entries = in_replay_order(vec![exit(5, 3), exit(2, 4)]);
        assert_eq!(entries.iter().map(|e| e.index).collect::<Vec<_>>(), [1, 0]);
    }

    #[test]
    fn root_is_the_first_cage_that_works_not_the_tee_that_forked_it() {
        let fork = Record::Fork(ForkRecord {
            seq: 0,
            parent: 1,
            child: 3,
            thread: false,
            time_us: 0,
        });
        let entries = in_replay_order(vec![fork, exit(1, 3)]);
        let mut schedule = Schedule::default();
        schedule.bind_root(CageId(9), &entries);
        assert_eq!(schedule.recorded_of[&CageId(9)], 3);
        assert!(!schedule.playable(1));
    }
}
