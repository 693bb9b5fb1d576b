//! The writer's hot path: syscall records encoded by hand, byte for byte as
//! postcard encodes them (unit tests hold the two equal), so that a record
//! can be sized, checksummed and copied without serde's per-field calls.
//! Other records are rare and go through postcard itself.

use crate::record::{ArgCage, Buffer, SyscallRecord};

/// Where encoded bytes go, a run at a time.
pub(crate) trait Out {
    fn bytes(&mut self, b: &[u8]);
}

/// Appends to a Vec.
pub(crate) struct Append<'a>(pub(crate) &'a mut Vec<u8>);

impl Out for Append<'_> {
    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

/// Checksums without storing.
pub(crate) struct Crc(crc32fast::Hasher);

impl Crc {
    pub(crate) fn new() -> Crc {
        Crc(crate::frame::hasher())
    }

    pub(crate) fn finish(self) -> u32 {
        self.0.finalize()
    }
}

impl Out for Crc {
    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        self.0.update(b);
    }
}

/// Small fields gathered on the stack and handed on as one run: one call
/// per run instead of one per byte, which matters most for the CRC.
struct Run<'o, O: Out> {
    out: &'o mut O,
    buf: [u8; RUN],
    n: usize,
}

/// A power of two, so the index mask below keeps every index in bounds.
const RUN: usize = 64;

impl<'o, O: Out> Run<'o, O> {
    fn new(out: &'o mut O) -> Self {
        Run {
            out,
            buf: [0; RUN],
            n: 0,
        }
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        if self.n == RUN {
            self.flush();
        }
        self.buf[self.n & (RUN - 1)] = b;
        self.n += 1;
    }

    #[inline(always)]
    fn varint(&mut self, mut v: u64) {
        // A u64 varint takes at most 10 bytes.
        if self.n > RUN - 10 {
            self.flush();
        }
        while v >= 0x80 {
            self.buf[self.n & (RUN - 1)] = v as u8 | 0x80;
            self.n += 1;
            v >>= 7;
        }
        self.buf[self.n & (RUN - 1)] = v as u8;
        self.n += 1;
    }

    fn option(&mut self, v: Option<u64>) {
        match v {
            None => self.byte(0),
            Some(v) => {
                self.byte(1);
                self.varint(v);
            }
        }
    }

    fn data(&mut self, d: &[u8]) {
        self.flush();
        self.out.bytes(d);
    }

    fn flush(&mut self) {
        if self.n > 0 {
            self.out.bytes(self.buf.get(..self.n).unwrap_or(&[]));
            self.n = 0;
        }
    }

    fn buffers(&mut self, list: &[Buffer]) {
        self.varint(list.len() as u64);
        for b in list {
            self.byte(b.arg);
            self.varint(u64::from(b.index));
            self.varint(b.data.len() as u64);
            self.data(&b.data);
            self.option(b.truncated_from);
        }
    }
}

/// Bytes in the varint of `v`.
#[inline]
fn varint_len(v: u64) -> usize {
    // 1 + floor(bits / 7), with 0 taking one byte.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

fn option_len(v: Option<u64>) -> usize {
    v.map_or(1, |v| 1 + varint_len(v))
}

fn buffers_len(list: &[Buffer]) -> usize {
    varint_len(list.len() as u64)
        + list
            .iter()
            .map(|b| {
                1 + varint_len(u64::from(b.index))
                    + varint_len(b.data.len() as u64)
                    + b.data.len()
                    + option_len(b.truncated_from)
            })
            .sum::<usize>()
}

/// The length of [`syscall`]'s output, without producing it.
pub(crate) fn syscall_len(r: &SyscallRecord, nargs: usize) -> usize {
    let args = r.args.get(..nargs).unwrap_or(&r.args);
    1 + varint_len(r.seq)
        + varint_len(r.cage)
        + varint_len(u64::from(r.nr))
        + varint_len(args.len() as u64)
        + args
            .iter()
            .map(|a| {
                varint_len(a.value)
                    + match a.cage {
                        ArgCage::Caller => 1,
                        ArgCage::Other(c) => 1 + varint_len(c),
                    }
            })
            .sum::<usize>()
        + buffers_len(&r.inputs)
        + buffers_len(&r.outputs)
        + varint_len(zigzag(r.result))
        + option_len(r.secondary.map(zigzag))
        + varint_len(r.time_us)
        + option_len(r.duration_ns)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// `Record::Syscall(r)` as postcard encodes it, with only the first
/// `nargs` argument pairs (the writer trims the rest).
pub(crate) fn syscall(out: &mut impl Out, r: &SyscallRecord, nargs: usize) {
    let mut run = Run::new(out);
    // The variant index of Record::Syscall.
    run.byte(0);
    run.varint(r.seq);
    run.varint(r.cage);
    run.varint(u64::from(r.nr));
    let args = r.args.get(..nargs).unwrap_or(&r.args);
    run.varint(args.len() as u64);
    for a in args {
        run.varint(a.value);
        match a.cage {
            ArgCage::Caller => run.byte(0),
            ArgCage::Other(c) => {
                run.byte(1);
                run.varint(c);
            }
        }
    }
    run.buffers(&r.inputs);
    run.buffers(&r.outputs);
    run.varint(zigzag(r.result));
    run.option(r.secondary.map(zigzag));
    run.varint(r.time_us);
    run.option(r.duration_ns);
    run.flush();
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
            (
                any::<i64>(),
                any::<Option<i64>>(),
                any::<u64>(),
                any::<Option<u64>>(),
            ),
        )
            .prop_map(
                |(
                    (seq, cage, nr),
                    args,
                    inputs,
                    outputs,
                    (result, secondary, time_us, duration_ns),
                )| {
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
                        duration_ns,
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

            prop_assert_eq!(syscall_len(&r, r.args.len()), theirs.len());

            let mut crc = Crc::new();
            syscall(&mut crc, &r, r.args.len());
            prop_assert_eq!(crc.finish(), crc32fast::hash(&theirs));
        }
    }
}
