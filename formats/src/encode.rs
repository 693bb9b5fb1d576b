//! The writer's hot path: syscall records encoded by hand, byte for byte as
//! postcard encodes them (unit tests hold the two equal), so that a record
//! can be sized, checksummed and copied without serde's per-field calls.
//! Other records are rare and go through postcard itself.

use crate::record::{ArgCage, Buffer, SyscallRecord};

/// Where encoded bytes go.
pub(crate) trait Out {
    fn byte(&mut self, b: u8);
    fn bytes(&mut self, b: &[u8]);
}

/// Counts bytes.
#[derive(Default)]
pub(crate) struct Count(pub(crate) usize);

impl Out for Count {
    #[inline]
    fn byte(&mut self, _: u8) {
        self.0 += 1;
    }

    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        self.0 += b.len();
    }
}

/// Appends to a Vec.
pub(crate) struct Append<'a>(pub(crate) &'a mut Vec<u8>);

impl Out for Append<'_> {
    #[inline]
    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

/// Checksums without storing. Small pieces are gathered first, because
/// the hasher's per-call cost would otherwise dominate small records.
pub(crate) struct Crc {
    hasher: crc32fast::Hasher,
    pending: [u8; PENDING],
    fill: usize,
}

/// A power of two, for the index mask in [`Crc::byte`].
const PENDING: usize = 64;

impl Crc {
    pub(crate) fn new() -> Crc {
        Crc {
            hasher: crc32fast::Hasher::new(),
            pending: [0; PENDING],
            fill: 0,
        }
    }

    fn spill(&mut self) {
        self.hasher
            .update(self.pending.get(..self.fill).unwrap_or(&[]));
        self.fill = 0;
    }

    pub(crate) fn finish(mut self) -> u32 {
        self.spill();
        self.hasher.finalize()
    }
}

impl Out for Crc {
    #[inline]
    fn byte(&mut self, b: u8) {
        if self.fill == PENDING {
            self.spill();
        }
        // The mask keeps the index provably in bounds; `fill` < PENDING here.
        self.pending[self.fill & (PENDING - 1)] = b;
        self.fill += 1;
    }

    fn bytes(&mut self, b: &[u8]) {
        if b.len() > 16 {
            self.spill();
            self.hasher.update(b);
        } else {
            for &x in b {
                self.byte(x);
            }
        }
    }
}

#[inline]
fn varint(out: &mut impl Out, mut v: u64) {
    while v >= 0x80 {
        out.byte(v as u8 | 0x80);
        v >>= 7;
    }
    out.byte(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn option(out: &mut impl Out, v: Option<u64>) {
    match v {
        None => out.byte(0),
        Some(v) => {
            out.byte(1);
            varint(out, v);
        }
    }
}

fn buffers(out: &mut impl Out, list: &[Buffer]) {
    varint(out, list.len() as u64);
    for b in list {
        out.byte(b.arg);
        varint(out, u64::from(b.index));
        varint(out, b.data.len() as u64);
        out.bytes(&b.data);
        option(out, b.truncated_from);
    }
}

/// `Record::Syscall(r)` as postcard encodes it, with only the first
/// `nargs` argument pairs (the writer trims the rest).
pub(crate) fn syscall(out: &mut impl Out, r: &SyscallRecord, nargs: usize) {
    // The variant index of Record::Syscall.
    out.byte(0);
    varint(out, r.seq);
    varint(out, r.cage);
    varint(out, u64::from(r.nr));
    let args = r.args.get(..nargs).unwrap_or(&r.args);
    varint(out, args.len() as u64);
    for a in args {
        varint(out, a.value);
        match a.cage {
            ArgCage::Caller => out.byte(0),
            ArgCage::Other(c) => {
                out.byte(1);
                varint(out, c);
            }
        }
    }
    buffers(out, &r.inputs);
    buffers(out, &r.outputs);
    varint(out, zigzag(r.result));
    option(out, r.secondary.map(zigzag));
    varint(out, r.time_us);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ArgRecord, Record};
    use proptest::prelude::*;

    fn arb_buffer() -> impl Strategy<Value = Buffer> {
        (
            any::<u8>(),
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..40),
            any::<Option<u64>>(),
        )
            .prop_map(|(arg, index, data, truncated_from)| Buffer {
                arg,
                index,
                data,
                truncated_from,
            })
    }

    fn arb_syscall() -> impl Strategy<Value = SyscallRecord> {
        let arg = (any::<u64>(), any::<Option<u64>>()).prop_map(|(value, c)| ArgRecord {
            value,
            cage: c.map_or(ArgCage::Caller, ArgCage::Other),
        });
        (
            (any::<u64>(), any::<u64>(), any::<u32>()),
            proptest::collection::vec(arg, 0..=6),
            proptest::collection::vec(arb_buffer(), 0..3),
            proptest::collection::vec(arb_buffer(), 0..3),
            (any::<i64>(), any::<Option<i64>>(), any::<u64>()),
        )
            .prop_map(
                |((seq, cage, nr), args, inputs, outputs, (result, secondary, time_us))| {
                    SyscallRecord {
                        seq,
                        cage,
                        nr,
                        args,
                        inputs,
                        outputs,
                        result,
                        secondary,
                        time_us,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn hand_encoding_is_postcard(r in arb_syscall()) {
            let mut mine = Vec::new();
            syscall(&mut Append(&mut mine), &r, r.args.len());
            let theirs = postcard::to_stdvec(&Record::Syscall(r.clone())).unwrap();
            prop_assert_eq!(&mine, &theirs);

            let mut count = Count::default();
            syscall(&mut count, &r, r.args.len());
            prop_assert_eq!(count.0, theirs.len());

            let mut crc = Crc::new();
            syscall(&mut crc, &r, r.args.len());
            prop_assert_eq!(crc.finish(), crc32fast::hash(&theirs));
        }
    }
}
