//! CRCs of byte ranges of a stream, each computed in time independent of
//! the range's length, so that checking a run of frame candidates costs
//! about one pass over the bytes however long a length each one claims.
//!
//! It keeps the CRC of the stream from an origin to every [`STEP`]th byte
//! (a checkpoint), computed once as far as any range has reached. The CRC
//! of `[from, to)` is then the two prefix CRCs at `from` and `to`, each at
//! most `STEP` bytes from a checkpoint, combined with a
//! [`shift`](crate::crc_shift::shift).

use std::collections::VecDeque;

use crate::crc_shift::Shifter;

/// Bytes between checkpoints: what a prefix lookup hashes at most.
pub(crate) const STEP: u64 = 256;

/// A checkpoint: the CRC of the stream from the origin to `at`.
#[derive(Clone, Copy, Debug)]
struct Point {
    at: u64,
    crc: u32,
}

/// The bytes a [`RangeCrc`] reads: a window of the stream starting at file
/// offset `base`.
#[derive(Clone, Copy)]
pub(crate) struct Window<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) base: u64,
}

impl Window<'_> {
    fn get(&self, from: u64, to: u64) -> &[u8] {
        let start = from.saturating_sub(self.base) as usize;
        let end = to.saturating_sub(self.base) as usize;
        self.bytes.get(start..end).unwrap_or(&[])
    }

    fn holds(&self, at: u64) -> bool {
        at >= self.base && at - self.base <= self.bytes.len() as u64
    }
}

#[derive(Debug, Default)]
pub(crate) struct RangeCrc {
    /// Ascending: the origin (or where the window was rebased), then one
    /// every `STEP` bytes.
    points: VecDeque<Point>,
    /// As far as the prefix has been hashed, which is where ranges end and
    /// so need not be a checkpoint.
    reach: Option<Point>,
    /// The last prefix looked up: candidates a few bytes apart start from
    /// it rather than from their checkpoint.
    recent: Option<Point>,
    shifter: Shifter,
    /// Bytes hashed so far, for the tests that pin the cost.
    hashed: u64,
}

impl RangeCrc {
    /// The CRC of some bytes whose own CRC is `seed`, followed by the
    /// stream's bytes `[from, to)`, which `window` holds; a seed of 0 (the
    /// CRC of nothing) gives the range's own CRC.
    pub(crate) fn crc(&mut self, window: Window<'_>, seed: u32, from: u64, to: u64) -> u32 {
        let usable = self
            .points
            .front()
            .is_some_and(|p| p.at <= from && window.holds(p.at))
            && self.reach.is_some_and(|p| window.holds(p.at));
        if !usable {
            let origin = Point { at: from, crc: 0 };
            self.points.clear();
            self.points.push_back(origin);
            self.reach = Some(origin);
            self.recent = None;
        }
        self.extend_to(window, to);
        let at_from = self.prefix(window, from);
        let at_to = self.prefix(window, to);
        at_to ^ self.shifter.shift(at_from ^ seed, (to - from) as u32)
    }

    /// Before the window drops the bytes before `new_base`: keeps one
    /// checkpoint at `new_base` so the prefix survives.
    pub(crate) fn rebase(&mut self, window: Window<'_>, new_base: u64) {
        let covered = self.points.front().is_some_and(|p| p.at <= new_base)
            && self.reach.is_some_and(|p| p.at >= new_base);
        if !covered {
            self.points.clear();
            self.reach = None;
            self.recent = None;
            return;
        }
        let kept = Point {
            at: new_base,
            crc: self.prefix(window, new_base),
        };
        while self.points.front().is_some_and(|p| p.at <= new_base) {
            self.points.pop_front();
        }
        self.points.push_front(kept);
    }

    /// Hashes forward from the reach to `to`, leaving a checkpoint at every
    /// multiple of `STEP` on the way.
    fn extend_to(&mut self, window: Window<'_>, to: u64) {
        let Some(mut reach) = self.reach else {
            return;
        };
        while reach.at < to {
            let next = ((reach.at / STEP + 1) * STEP).min(to);
            reach = Point {
                at: next,
                crc: self.hash_on(reach.crc, window.get(reach.at, next)),
            };
            if next % STEP == 0 {
                self.points.push_back(reach);
            }
        }
        self.reach = Some(reach);
    }

    /// The prefix CRC at `at` (at most the reach), from the checkpoint at
    /// or before it.
    fn prefix(&mut self, window: Window<'_>, at: u64) -> u32 {
        if let Some(reach) = self.reach.filter(|r| r.at == at) {
            return reach.crc;
        }
        // After the first, checkpoints are STEP apart.
        let i = match self.points.get(1) {
            Some(second) if at >= second.at => 1 + ((at - second.at) / STEP) as usize,
            _ => 0,
        };
        let mut p = self.points[i.min(self.points.len() - 1)];
        if let Some(r) = self.recent.filter(|r| r.at >= p.at && r.at <= at) {
            p = r;
        }
        let found = Point {
            at,
            crc: self.hash_on(p.crc, window.get(p.at, at)),
        };
        self.recent = Some(found);
        found.crc
    }

    fn hash_on(&mut self, crc: u32, bytes: &[u8]) -> u32 {
        self.hashed += bytes.len() as u64;
        let mut h = crc32fast::Hasher::new_with_initial(crc);
        h.update(bytes);
        h.finalize()
    }

    #[cfg(test)]
    pub(crate) fn hashed(&self) -> u64 {
        self.hashed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn ranges_match_a_direct_hash() {
        let data = bytes(5000);
        let w = Window {
            bytes: &data,
            base: 0,
        };
        let mut r = RangeCrc::default();
        for (from, to) in [(0, 10), (3, 4000), (100, 100), (257, 5000), (4999, 5000)] {
            let direct = crc32fast::hash(&data[from..to]);
            assert_eq!(r.crc(w, 0, from as u64, to as u64), direct, "{from}..{to}");
        }
    }

    #[test]
    fn overlapping_long_ranges_hash_each_byte_about_once() {
        let data = bytes(1 << 20);
        let w = Window {
            bytes: &data,
            base: 0,
        };
        let mut r = RangeCrc::default();
        for from in (0..(1 << 19)).step_by(6) {
            r.crc(w, 0, from, from + (1 << 19));
        }
        // One pass, plus at most two partial steps per range.
        let ranges = (1u64 << 19) / 6 + 1;
        assert!(r.hashed() <= (1 << 20) + 2 * STEP * ranges);
    }

    #[test]
    fn a_seed_stands_for_bytes_before_the_range() {
        let data = bytes(3000);
        let w = Window {
            bytes: &data,
            base: 0,
        };
        let seed = crc32fast::hash(b"len");
        let direct = crc32fast::hash(&[&b"len"[..], &data[700..2900]].concat());
        assert_eq!(RangeCrc::default().crc(w, seed, 700, 2900), direct);
    }

    #[test]
    fn a_rebased_window_keeps_its_prefix() {
        let data = bytes(3000);
        let mut r = RangeCrc::default();
        let whole = Window {
            bytes: &data,
            base: 0,
        };
        r.crc(whole, 0, 10, 2000);
        r.rebase(whole, 1500);
        let tail = Window {
            bytes: &data[1500..],
            base: 1500,
        };
        let hashed = r.hashed();
        assert_eq!(
            r.crc(tail, 0, 1600, 2900),
            crc32fast::hash(&data[1600..2900])
        );
        assert!(r.hashed() - hashed < 1300 + 2 * STEP);
    }

    proptest! {
        #[test]
        fn any_ranges_in_order_match(cuts in proptest::collection::vec((0u64..4000, 0u64..4000), 1..20)) {
            let data = bytes(4000);
            let w = Window { bytes: &data, base: 0 };
            let mut r = RangeCrc::default();
            let mut ranges: Vec<(u64, u64)> = cuts.into_iter().map(|(a, b)| (a.min(b), a.max(b))).collect();
            ranges.sort();
            for (from, to) in ranges {
                prop_assert_eq!(r.crc(w, 0, from, to), crc32fast::hash(&data[from as usize..to as usize]));
            }
        }
    }
}
