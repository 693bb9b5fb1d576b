//! 3i's handler tables: `cage -> (call number -> one (dest, fn_ptr))`.
//!
//! As in Lind's hashmap implementation (docs/lind-3i.md §3.2, §3.5, §3.6):
//! - a registration clears the (cage, nr) entry and inserts the new one, so
//!   the last registration wins;
//! - a deregistration removes the (cage, nr) entry, and the cage's whole
//!   table when that leaves it empty;
//! - a grate's death empties (rather than removes) every entry pointing to
//!   it, so a later call through such an entry finds "no handler".

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// Where a call number goes: a grate cage (or a pseudo cage) and the
/// function pointer registered with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    pub dest: u64,
    pub fn_ptr: u64,
}

/// One cage's table. `None` is an entry emptied by a grate's death.
type CallMap = HashMap<u64, Option<Route>>;

/// What a lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(Route),
    /// The cage has no table at all.
    NoTable,
    /// The table has no (live) entry for the number.
    NoEntry,
}

/// All cages' tables, plus how many live entries point at each
/// destination, so a dying cage that is no grate costs no table scan
/// (dead cages keep their tables, so a scan grows with every exit).
#[derive(Debug, Default)]
pub struct HandlerTables {
    tables: RwLock<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    by_cage: HashMap<u64, CallMap>,
    dest_counts: HashMap<u64, usize>,
}

impl Tables {
    fn count(&mut self, route: Option<Route>, up: bool) {
        if let Some(r) = route {
            let n = self.dest_counts.entry(r.dest).or_default();
            *n = if up { *n + 1 } else { n.saturating_sub(1) };
        }
    }
}

impl std::ops::Deref for Tables {
    type Target = HashMap<u64, CallMap>;
    fn deref(&self) -> &Self::Target {
        &self.by_cage
    }
}

impl HandlerTables {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The route for `nr` issued through `cage`'s table.
    pub fn lookup(&self, cage: u64, nr: u64) -> Lookup {
        match self.read().get(&cage) {
            None => Lookup::NoTable,
            Some(map) => match map.get(&nr) {
                Some(Some(route)) => Lookup::Found(*route),
                _ => Lookup::NoEntry,
            },
        }
    }

    /// Replaces the (cage, nr) entry.
    pub fn register(&self, cage: u64, nr: u64, route: Route) {
        let mut t = self.write();
        let old = t.by_cage.entry(cage).or_default().insert(nr, Some(route));
        t.count(old.flatten(), false);
        t.count(Some(route), true);
    }

    /// Removes the (cage, nr) entry, and the table if it is left empty.
    pub fn deregister(&self, cage: u64, nr: u64) {
        let mut t = self.write();
        let Some(map) = t.by_cage.get_mut(&cage) else {
            return;
        };
        let old = map.remove(&nr).flatten();
        if map.is_empty() {
            t.by_cage.remove(&cage);
        }
        t.count(old, false);
    }

    /// Replaces `dst`'s table with a snapshot of `src`'s; false (and no
    /// change) when `src` has none.
    pub fn copy(&self, src: u64, dst: u64) -> bool {
        let mut t = self.write();
        let Some(map) = t.by_cage.get(&src).cloned() else {
            return false;
        };
        let added: Vec<Route> = map.values().flatten().copied().collect();
        let old = t.by_cage.insert(dst, map).unwrap_or_default();
        for route in old.into_values() {
            t.count(route, false);
        }
        for route in added {
            t.count(Some(route), true);
        }
        true
    }

    /// Empties every entry, in every table, whose destination is `grate`.
    pub fn purge_dest(&self, grate: u64) {
        let mut t = self.write();
        if t.dest_counts.remove(&grate).unwrap_or(0) == 0 {
            return;
        }
        for map in t.by_cage.values_mut() {
            for entry in map.values_mut() {
                if entry.is_some_and(|r| r.dest == grate) {
                    *entry = None;
                }
            }
        }
    }

    /// A cage's table with live entries only, sorted by number; `None` when
    /// the cage has no table.
    pub fn snapshot(&self, cage: u64) -> Option<BTreeMap<u64, Route>> {
        self.read().get(&cage).map(|map| {
            map.iter()
                .filter_map(|(&nr, r)| r.map(|r| (nr, r)))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Route = Route { dest: 2, fn_ptr: 7 };
    const B: Route = Route { dest: 3, fn_ptr: 8 };

    #[test]
    fn last_registration_wins() {
        let t = HandlerTables::default();
        t.register(1, 0, A);
        t.register(1, 0, B);
        assert_eq!(t.lookup(1, 0), Lookup::Found(B));
    }

    #[test]
    fn deregistering_the_last_entry_removes_the_table() {
        let t = HandlerTables::default();
        t.register(1, 0, A);
        t.deregister(1, 0);
        assert_eq!(t.lookup(1, 0), Lookup::NoTable);
    }

    #[test]
    fn purging_a_grate_leaves_empty_entries() {
        let t = HandlerTables::default();
        t.register(1, 0, A);
        t.register(1, 1, B);
        t.purge_dest(2);
        assert_eq!(t.lookup(1, 0), Lookup::NoEntry);
        assert_eq!(t.lookup(1, 1), Lookup::Found(B));
        assert_eq!(t.snapshot(1).map(|s| s.len()), Some(1));
    }

    #[test]
    fn purging_after_copies_and_replacements_still_finds_every_entry() {
        let t = HandlerTables::default();
        t.register(1, 0, A);
        t.register(1, 1, A);
        t.register(1, 1, B);
        assert!(t.copy(1, 2));
        t.purge_dest(2);
        assert_eq!(t.lookup(2, 0), Lookup::NoEntry);
        assert_eq!(t.lookup(2, 1), Lookup::Found(B));
        t.purge_dest(3);
        assert_eq!(t.lookup(1, 1), Lookup::NoEntry);
    }

    #[test]
    fn copy_is_a_snapshot_and_needs_a_source() {
        let t = HandlerTables::default();
        assert!(!t.copy(1, 2));
        t.register(1, 0, A);
        assert!(t.copy(1, 2));
        t.register(1, 0, B);
        assert_eq!(t.lookup(2, 0), Lookup::Found(A));
    }
}
