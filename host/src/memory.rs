//! A cage's simulated linear memory and its allocator.
//!
//! Guest addresses are 32-bit offsets, as in a wasm32 cage. Host addresses
//! are `(cage << 32) | guest`, so a host address names the memory it points
//! into, and 3i and the kernel can refuse one used with the wrong argcage
//! (where Lind would silently touch the wrong bytes).
//!
//! Addresses below [`BASE`] are never handed out, so 0 is never a valid
//! allocation and a NULL pointer always faults.

use abi::sync::lock;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// First address the allocator hands out; everything below is unmapped.
pub const BASE: u64 = 0x1000;
/// A wasm32 memory ends at 4 GiB.
const LIMIT: u64 = 1 << 32;
/// Allocation granularity.
const ALIGN: u64 = 16;

/// The host address of `guest` in `cage`'s memory.
pub fn host_addr(cage: u64, guest: u64) -> u64 {
    (cage << 32) | (guest & 0xFFFF_FFFF)
}

/// Splits a host address into (cage, guest offset).
pub fn split_host(host: u64) -> (u64, u64) {
    (host >> 32, host & 0xFFFF_FFFF)
}

/// One cage's memory.
#[derive(Debug, Default)]
pub struct Memory {
    inner: Mutex<Mem>,
}

#[derive(Clone, Debug)]
struct Mem {
    bytes: Vec<u8>,
    /// End of the mapped range; `bytes` may be longer (kept for reuse).
    top: u64,
    /// Free blocks below `top`: start -> length, coalesced.
    free: BTreeMap<u64, u64>,
}

impl Default for Mem {
    fn default() -> Mem {
        Mem {
            bytes: vec![0; BASE as usize],
            top: BASE,
            free: BTreeMap::new(),
        }
    }
}

fn round(len: usize) -> u64 {
    (len.max(1) as u64).div_ceil(ALIGN) * ALIGN
}

impl Memory {
    /// A fresh, empty memory.
    pub fn new() -> Memory {
        Memory::default()
    }

    /// A copy of this memory, as fork makes one.
    pub fn fork_copy(&self) -> Memory {
        Memory {
            inner: Mutex::new(self.lock().clone()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mem> {
        // A panic while holding this lock cannot leave the bytes half
        // updated in a way that matters more than a wasm trap would.
        lock(&self.inner)
    }

    /// Allocates `len` zeroed bytes; `None` when 4 GiB would be exceeded.
    pub fn alloc(&self, len: usize) -> Option<u64> {
        let size = round(len);
        let mut m = self.lock();
        let found = m
            .free
            .iter()
            .find(|(_, &block)| block >= size)
            .map(|(&at, &block)| (at, block));
        let addr = match found {
            Some((at, block)) => {
                m.free.remove(&at);
                if block > size {
                    m.free.insert(at + size, block - size);
                }
                at
            }
            None => {
                let at = m.top;
                let end = at.checked_add(size).filter(|&e| e <= LIMIT)?;
                if m.bytes.len() < end as usize {
                    m.bytes.resize(end as usize, 0);
                }
                m.top = end;
                at
            }
        };
        m.bytes[addr as usize..(addr + size) as usize].fill(0);
        Some(addr)
    }

    /// Returns a block from [`Memory::alloc`]. Unknown ranges are ignored:
    /// a cage's bad free is its own problem, not the runtime's.
    pub fn free(&self, addr: u64, len: usize) {
        let size = round(len);
        let mut m = self.lock();
        let Some(end) = addr.checked_add(size) else {
            return;
        };
        if addr < BASE || end > m.top {
            return;
        }
        let (mut start, mut stop) = (addr, end);
        if let Some((&p, &plen)) = m.free.range(..addr).next_back() {
            if p + plen > addr {
                return; // overlaps a free block: a double free
            }
            if p + plen == addr {
                m.free.remove(&p);
                start = p;
            }
        }
        if let Some((&n, &nlen)) = m.free.range(addr..).next() {
            if n < end {
                return;
            }
            if n == end {
                m.free.remove(&n);
                stop = n + nlen;
            }
        }
        if stop == m.top {
            // Unmap the tail, so a use after free past it faults.
            m.top = start;
        } else {
            m.free.insert(start, stop - start);
        }
    }

    /// Whether `[addr, addr + len)` is mapped.
    pub fn in_bounds(&self, addr: u64, len: usize) -> bool {
        Self::range_ok(&self.lock(), addr, len)
    }

    fn range_ok(m: &Mem, addr: u64, len: usize) -> bool {
        addr >= BASE && addr.checked_add(len as u64).is_some_and(|end| end <= m.top)
    }

    /// Copies `out.len()` bytes from `addr`; false when out of bounds.
    pub fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        let m = self.lock();
        if !Self::range_ok(&m, addr, out.len()) {
            return false;
        }
        let at = addr as usize;
        out.copy_from_slice(&m.bytes[at..at + out.len()]);
        true
    }

    /// Copies `data` to `addr`; false when out of bounds.
    pub fn write(&self, addr: u64, data: &[u8]) -> bool {
        let mut m = self.lock();
        if !Self::range_ok(&m, addr, data.len()) {
            return false;
        }
        let at = addr as usize;
        m.bytes[at..at + data.len()].copy_from_slice(data);
        true
    }

    /// The length of the NUL-terminated string at `addr`, scanning at most
    /// `max` bytes and only mapped ones (as 3i checks each byte).
    pub fn strlen(&self, addr: u64, max: usize) -> Option<usize> {
        let m = self.lock();
        if addr < BASE || addr >= m.top {
            return None;
        }
        let end = (addr.saturating_add(max as u64)).min(m.top) as usize;
        m.bytes[addr as usize..end].iter().position(|&b| b == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_never_start_at_zero_and_come_back_zeroed() {
        let mem = Memory::new();
        let a = mem.alloc(10).unwrap();
        assert!(a >= BASE);
        assert!(mem.write(a, b"dirty"));
        mem.free(a, 10);
        let b = mem.alloc(10).unwrap();
        let mut out = [1u8; 5];
        assert!(mem.read(b, &mut out));
        assert_eq!(out, [0; 5]);
    }

    #[test]
    fn out_of_bounds_and_null_accesses_fail() {
        let mem = Memory::new();
        let a = mem.alloc(16).unwrap();
        assert!(!mem.read(0, &mut [0u8; 1]));
        assert!(!mem.write(a + 8, &[0u8; 9]));
        assert!(mem.write(a + 8, &[0u8; 8]));
    }

    #[test]
    fn freeing_the_tail_unmaps_it() {
        let mem = Memory::new();
        let a = mem.alloc(32).unwrap();
        let b = mem.alloc(32).unwrap();
        mem.free(b, 32);
        mem.free(a, 32);
        assert!(!mem.in_bounds(a, 1));
        assert_eq!(mem.alloc(64), Some(a));
    }

    #[test]
    fn middle_blocks_are_reused_and_coalesced() {
        let mem = Memory::new();
        let a = mem.alloc(16).unwrap();
        let b = mem.alloc(16).unwrap();
        let _c = mem.alloc(16).unwrap();
        mem.free(a, 16);
        mem.free(b, 16);
        assert_eq!(mem.alloc(32), Some(a));
    }

    #[test]
    fn strlen_stops_at_the_bound_and_the_mapping() {
        let mem = Memory::new();
        let a = mem.alloc(16).unwrap();
        mem.write(a, b"abc\0");
        assert_eq!(mem.strlen(a, 16), Some(3));
        assert_eq!(mem.strlen(a, 3), None);
        mem.write(a, &[b'x'; 16]);
        assert_eq!(mem.strlen(a, 1000), None);
    }

    #[test]
    fn host_addresses_name_their_cage() {
        assert_eq!(split_host(host_addr(7, 0x1234)), (7, 0x1234));
    }
}
