//! Appending zero bytes to a CRC-32 in constant time, so a reader can get
//! the CRC of any byte range from two prefix CRCs (SPEC.md, "Resync")
//! instead of hashing the range again.
//!
//! CRC-32 is linear: `crc(X ++ Y) = shift(crc(X), |Y|) ^ crc(Y)`, where
//! `shift(c, n)` is `c` times `x^(8n)` modulo the polynomial. crc32fast's
//! `combine` computes the same with one multiply per set bit of `n` (up to
//! 24 for a frame); here `x^(8n)` comes from four byte-indexed tables, so a
//! shift is at most four multiplies whatever `n` is, which keeps a hostile
//! scan's cost per candidate flat.

use std::sync::OnceLock;

/// The CRC-32 (IEEE) polynomial, bit-reflected.
const POLY: u32 = 0xEDB8_8320;

/// `x^0`, bit-reflected.
const ONE: u32 = 0x8000_0000;

/// `a * b` modulo the polynomial, bit-reflected.
fn multiply(a: u32, mut b: u32) -> u32 {
    let mut p = 0u32;
    for i in 0..32 {
        p ^= b & ((a >> (31 - i)) & 1).wrapping_neg();
        b = (b >> 1) ^ ((b & 1).wrapping_neg() & POLY);
    }
    p
}

/// `TABLES[k][v]` is `x^(8 * (v << 8k))`: the factor for byte `k` of a
/// length.
fn tables() -> &'static [[u32; 256]; 4] {
    static TABLES: OnceLock<Box<[[u32; 256]; 4]>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new([[ONE; 256]; 4]);
        // x^8 appends one zero byte; each table's step is the previous
        // table's 256th power.
        let mut step = 0x0080_0000;
        for table in t.iter_mut() {
            for v in 1..256 {
                table[v] = multiply(table[v - 1], step);
            }
            step = multiply(table[255], step);
        }
        t
    })
}

/// The CRC of `crc`'s bytes followed by `n` zero bytes, less the CRC of
/// those zeros: the `shift` of the module comment. `n` is at most 2^32 - 1.
pub(crate) fn shift(crc: u32, n: u32) -> u32 {
    let t = tables();
    let mut p = crc;
    for (k, table) in t.iter().enumerate() {
        let byte = ((n >> (8 * k)) & 0xFF) as usize;
        if byte != 0 {
            p = multiply(table[byte], p);
        }
    }
    p
}

/// [`shift`] for a caller that often shifts by one length many times in a
/// row (a scan of false frame starts that all claim the same length): once
/// a length has come [`REPEATS_BEFORE_TABLE`] times in a row, it gets a
/// table that makes each further shift four lookups.
#[derive(Debug, Default)]
pub(crate) struct Shifter {
    last: u32,
    repeats: u32,
    table: Option<(u32, Box<[[u32; 256]; 4]>)>,
}

/// A table costs 1024 multiplies, about what 256 shifts cost without it, so
/// building one only after this many repeats at most doubles the worst
/// case (lengths that change just before a table would pay off).
const REPEATS_BEFORE_TABLE: u32 = 256;

impl Shifter {
    pub(crate) fn shift(&mut self, crc: u32, n: u32) -> u32 {
        if let Some((m, t)) = &self.table {
            if *m == n {
                return (0..4).fold(0, |p, k| p ^ t[k][((crc >> (8 * k)) & 0xFF) as usize]);
            }
        }
        if self.last != n {
            self.last = n;
            self.repeats = 0;
        }
        self.repeats += 1;
        if self.repeats < REPEATS_BEFORE_TABLE {
            return shift(crc, n);
        }
        let factor = shift(ONE, n);
        let mut t = Box::new([[0u32; 256]; 4]);
        for (k, table) in t.iter_mut().enumerate() {
            for (v, slot) in table.iter_mut().enumerate() {
                *slot = multiply(factor, (v as u32) << (8 * k));
            }
        }
        self.table = Some((n, t));
        self.shift(crc, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn crc(bytes: &[u8]) -> u32 {
        crc32fast::hash(bytes)
    }

    #[test]
    fn shifting_by_nothing_changes_nothing() {
        assert_eq!(shift(0xDEAD_BEEF, 0), 0xDEAD_BEEF);
    }

    #[test]
    fn a_concatenation_is_the_shifted_head_plus_the_tail() {
        let head = b"the first part";
        let tail = vec![7u8; 70_000];
        let whole = [&head[..], &tail].concat();
        assert_eq!(crc(&whole), shift(crc(head), 70_000) ^ crc(&tail));
    }

    #[test]
    fn large_shifts_agree_with_crc32fast() {
        for n in [
            255u32,
            256,
            65_535,
            65_536,
            16 << 20,
            (16 << 20) - 1,
            u32::MAX,
        ] {
            let mut a = crc32fast::Hasher::new_with_initial_len(0x1234_5678, 0);
            a.combine(&crc32fast::Hasher::new_with_initial_len(0, u64::from(n)));
            assert_eq!(shift(0x1234_5678, n), a.finalize(), "n = {n}");
        }
    }

    #[test]
    fn a_shifter_agrees_with_shift_when_lengths_repeat() {
        let mut s = Shifter::default();
        let lengths = [5u32, 3705, 3705, 9]
            .into_iter()
            .chain(std::iter::repeat_n(3705, 2 * REPEATS_BEFORE_TABLE as usize))
            .chain([9, 3705]);
        for (i, n) in lengths.enumerate() {
            let crc = 0x9E37_79B9u32.wrapping_mul(i as u32 + 1);
            assert_eq!(s.shift(crc, n), shift(crc, n), "call {i}, n = {n}");
        }
    }

    proptest! {
        #[test]
        fn any_split_recombines(bytes in proptest::collection::vec(any::<u8>(), 0..2000), cut in 0usize..2000) {
            let cut = cut.min(bytes.len());
            let (x, y) = bytes.split_at(cut);
            prop_assert_eq!(crc(&bytes), shift(crc(x), y.len() as u32) ^ crc(y));
        }
    }
}
