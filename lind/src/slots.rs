//! Handler keys to function-table indices, and the trampolines behind them.
//!
//! Lind calls a grate's handler through grate-rs's `pass_fptr_to_wt`
//! export, which casts the registered `fn_ptr` to the 13-argument
//! `extern "C"` handler type. An engine's handler key is just a number, so
//! each key is given one slot of a fixed pool of monomorphised trampolines,
//! on first use and for the life of the cage. The slot's function address
//! (a table index on wasm32) is what gets registered; the trampoline looks
//! its key up and calls the running program's `handle`.

use crate::rt::RT;
use boundary::consts::GRATE_ERR;
use boundary::{Arg, Args, CageId};
use grate_rs::SyscallHandler;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// How many distinct handler keys one grate can register.
pub const SLOT_COUNT: usize = ROWS * COLS;
const ROWS: usize = 32;
const COLS: usize = 32;

/// Which key each slot serves. Slots are handed out in order and never
/// reused: a registered function pointer stays meaningful while any table
/// may still hold it.
#[derive(Debug)]
pub(crate) struct SlotMap {
    keys: Vec<u64>,
    by_key: BTreeMap<u64, usize>,
    cap: usize,
}

impl SlotMap {
    /// An empty map with room for `cap` keys.
    pub(crate) const fn new(cap: usize) -> SlotMap {
        SlotMap {
            keys: Vec::new(),
            by_key: BTreeMap::new(),
            cap,
        }
    }

    /// The slot serving `key`, assigned now if it has none. `None` when the
    /// pool is used up.
    pub(crate) fn assign(&mut self, key: u64) -> Option<usize> {
        if let Some(&slot) = self.by_key.get(&key) {
            return Some(slot);
        }
        if self.keys.len() >= self.cap {
            return None;
        }
        let slot = self.keys.len();
        self.keys.push(key);
        self.by_key.insert(key, slot);
        Some(slot)
    }

    /// The key `slot` serves, if it was assigned.
    #[cfg(test)]
    pub(crate) fn key_of(&self, slot: usize) -> Option<u64> {
        self.keys.get(slot).copied()
    }
}

static SLOTS: Mutex<SlotMap> = Mutex::new(SlotMap::new(SLOT_COUNT));

/// The key each slot serves, read by every call without a lock (the slot
/// map's lock is taken only to assign). Slots are assigned in order, so the
/// first [`ASSIGNED`] hold keys; any `u64` is a key (the bundled grates use
/// bare call numbers, read's being 0).
static KEYS: [AtomicU64; SLOT_COUNT] = [const { AtomicU64::new(0) }; SLOT_COUNT];
static ASSIGNED: AtomicUsize = AtomicUsize::new(0);

fn slots() -> std::sync::MutexGuard<'static, SlotMap> {
    SLOTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The function pointer to register for `key`; `None` when all
/// [`SLOT_COUNT`] slots serve other keys.
pub(crate) fn handler_ptr(key: u64) -> Option<u64> {
    let mut map = slots();
    let slot = map.assign(key)?;
    KEYS[slot].store(key, Ordering::Relaxed);
    ASSIGNED.fetch_max(slot + 1, Ordering::Release);
    drop(map);
    Some(trampoline(slot) as usize as u64)
}

/// The trampoline of `slot`.
fn trampoline(slot: usize) -> SyscallHandler {
    TRAMPOLINES[slot / COLS][slot % COLS]
}

/// What every trampoline does: find the key, call the program. The slot
/// lock is released before the handler runs, because a handler's own 3i
/// calls may re-enter this grate on another worker.
fn dispatch(slot: usize, cageid: u64, args: &Args) -> i32 {
    if slot >= ASSIGNED.load(Ordering::Acquire) {
        return GRATE_ERR;
    }
    let key = KEYS[slot].load(Ordering::Relaxed);
    match crate::run::program() {
        Some(program) => program.handle(&RT, key, CageId(cageid), args),
        None => GRATE_ERR,
    }
}

#[allow(clippy::too_many_arguments)]
extern "C" fn slot<const N: usize>(
    cageid: u64,
    arg1: u64,
    arg1cage: u64,
    arg2: u64,
    arg2cage: u64,
    arg3: u64,
    arg3cage: u64,
    arg4: u64,
    arg4cage: u64,
    arg5: u64,
    arg5cage: u64,
    arg6: u64,
    arg6cage: u64,
) -> i32 {
    let pair = |value, cage| Arg { value, cage };
    let args = [
        pair(arg1, arg1cage),
        pair(arg2, arg2cage),
        pair(arg3, arg3cage),
        pair(arg4, arg4cage),
        pair(arg5, arg5cage),
        pair(arg6, arg6cage),
    ];
    dispatch(N, cageid, &args)
}

/// One row of [`COLS`] trampolines, slots `row * COLS ..`.
macro_rules! row {
    ($row:literal) => {
        [
            slot::<{ $row * COLS }>,
            slot::<{ $row * COLS + 1 }>,
            slot::<{ $row * COLS + 2 }>,
            slot::<{ $row * COLS + 3 }>,
            slot::<{ $row * COLS + 4 }>,
            slot::<{ $row * COLS + 5 }>,
            slot::<{ $row * COLS + 6 }>,
            slot::<{ $row * COLS + 7 }>,
            slot::<{ $row * COLS + 8 }>,
            slot::<{ $row * COLS + 9 }>,
            slot::<{ $row * COLS + 10 }>,
            slot::<{ $row * COLS + 11 }>,
            slot::<{ $row * COLS + 12 }>,
            slot::<{ $row * COLS + 13 }>,
            slot::<{ $row * COLS + 14 }>,
            slot::<{ $row * COLS + 15 }>,
            slot::<{ $row * COLS + 16 }>,
            slot::<{ $row * COLS + 17 }>,
            slot::<{ $row * COLS + 18 }>,
            slot::<{ $row * COLS + 19 }>,
            slot::<{ $row * COLS + 20 }>,
            slot::<{ $row * COLS + 21 }>,
            slot::<{ $row * COLS + 22 }>,
            slot::<{ $row * COLS + 23 }>,
            slot::<{ $row * COLS + 24 }>,
            slot::<{ $row * COLS + 25 }>,
            slot::<{ $row * COLS + 26 }>,
            slot::<{ $row * COLS + 27 }>,
            slot::<{ $row * COLS + 28 }>,
            slot::<{ $row * COLS + 29 }>,
            slot::<{ $row * COLS + 30 }>,
            slot::<{ $row * COLS + 31 }>,
        ]
    };
}

static TRAMPOLINES: [[SyscallHandler; COLS]; ROWS] = [
    row!(0),
    row!(1),
    row!(2),
    row!(3),
    row!(4),
    row!(5),
    row!(6),
    row!(7),
    row!(8),
    row!(9),
    row!(10),
    row!(11),
    row!(12),
    row!(13),
    row!(14),
    row!(15),
    row!(16),
    row!(17),
    row!(18),
    row!(19),
    row!(20),
    row!(21),
    row!(22),
    row!(23),
    row!(24),
    row!(25),
    row!(26),
    row!(27),
    row!(28),
    row!(29),
    row!(30),
    row!(31),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_key_keeps_its_slot() {
        let mut map = SlotMap::new(4);
        let first = map.assign(1001).unwrap();
        assert_eq!(map.assign(7), Some(first + 1));
        assert_eq!(map.assign(1001), Some(first));
        assert_eq!(map.key_of(first), Some(1001));
        assert_eq!(map.key_of(first + 1), Some(7));
    }

    #[test]
    fn unassigned_slot_has_no_key() {
        let mut map = SlotMap::new(4);
        map.assign(5);
        assert_eq!(map.key_of(1), None);
        assert_eq!(map.key_of(SLOT_COUNT), None);
    }

    #[test]
    fn exhausted_pool_refuses_new_keys_but_keeps_old_ones() {
        let mut map = SlotMap::new(2);
        assert_eq!(map.assign(10), Some(0));
        assert_eq!(map.assign(11), Some(1));
        assert_eq!(map.assign(12), None);
        assert_eq!(map.assign(10), Some(0));
    }

    #[test]
    fn every_slot_has_its_own_trampoline() {
        let ptrs: BTreeSet<usize> = (0..SLOT_COUNT).map(|s| trampoline(s) as usize).collect();
        assert_eq!(ptrs.len(), SLOT_COUNT);
    }

    #[test]
    fn trampoline_of_unassigned_slot_reports_grate_err() {
        // The last slot is never handed out by these tests.
        let f = trampoline(SLOT_COUNT - 1);
        assert_eq!(f(3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), GRATE_ERR);
    }
}
