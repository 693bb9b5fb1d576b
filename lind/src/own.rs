//! The registry of live own-memory allocations.
//!
//! [`boundary::ThreeI`] hands out own memory as plain addresses. The adapter
//! records every live allocation here and checks each access against it, so
//! a wrong address from safe code is caught before memory is touched.

use std::collections::BTreeMap;

/// Live allocations: start address to length in bytes.
#[derive(Debug, Default)]
pub(crate) struct OwnAllocs {
    live: BTreeMap<u64, usize>,
}

impl OwnAllocs {
    /// An empty registry.
    pub(crate) const fn new() -> OwnAllocs {
        OwnAllocs {
            live: BTreeMap::new(),
        }
    }

    /// Records a fresh allocation of `len` bytes at `addr`.
    pub(crate) fn insert(&mut self, addr: u64, len: usize) {
        let previous = self.live.insert(addr, len);
        debug_assert!(previous.is_none(), "allocator returned a live address");
    }

    /// Forgets the allocation that starts at `addr`; returns its length.
    pub(crate) fn remove(&mut self, addr: u64) -> Option<usize> {
        self.live.remove(&addr)
    }

    /// Whether `[addr, addr + len)` lies inside one live allocation.
    pub(crate) fn covers(&self, addr: u64, len: usize) -> bool {
        let Some((&start, &size)) = self.live.range(..=addr).next_back() else {
            return false;
        };
        let (Some(end), Some(want_end)) =
            (start.checked_add(size as u64), addr.checked_add(len as u64))
        else {
            return false;
        };
        want_end <= end
    }

    /// How many allocations are live.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_inside_an_allocation_is_covered() {
        let mut allocs = OwnAllocs::new();
        allocs.insert(0x1000, 16);
        assert!(allocs.covers(0x1000, 16));
        assert!(allocs.covers(0x1008, 8));
        assert!(allocs.covers(0x100f, 1));
    }

    #[test]
    fn access_past_the_end_is_refused() {
        let mut allocs = OwnAllocs::new();
        allocs.insert(0x1000, 16);
        allocs.insert(0x1010, 16);
        assert!(!allocs.covers(0x1008, 9), "must not span two allocations");
        assert!(!allocs.covers(0x0fff, 1));
        assert!(!allocs.covers(0x2000, 1));
        assert!(!allocs.covers(u64::MAX, 2));
    }

    #[test]
    fn removed_allocation_is_no_longer_covered() {
        let mut allocs = OwnAllocs::new();
        allocs.insert(0x1000, 16);
        assert_eq!(allocs.remove(0x1000), Some(16));
        assert_eq!(allocs.remove(0x1000), None);
        assert!(!allocs.covers(0x1000, 1));
        assert_eq!(allocs.len(), 0);
    }
}
