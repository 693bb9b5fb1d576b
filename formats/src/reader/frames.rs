//! Framing only: finds frames in a byte stream and says where and why the
//! stream stops being frames. Knows nothing of records.
//!
//! Memory is bounded: the buffer grows past one read chunk only to hold a
//! frame whose length field has been checked against `MAX_FRAME_LEN`, and
//! only as that frame's bytes arrive.
//!
//! Time is linear in the file on any input: the buffer moves a byte only
//! after at least as many have been consumed, and a candidate claiming a
//! long payload is checked from prefix CRCs ([`RangeCrc`]) rather than by
//! hashing its payload again, so a file of false frame starts each
//! claiming 16 MiB costs one pass, not 16 MiB per start.

use std::io::{self, Read};
use std::ops::Range;

use super::range_crc::{RangeCrc, Window, STEP};
use crate::error::DamageReason;
use crate::frame::{check_candidate_with, frame_crc, Candidate, MAGIC, PREAMBLE_BYTES, SYNC};

/// How much a read asks for when the buffer needs bytes.
const CHUNK: usize = 64 << 10;

/// Payloads up to this long are hashed directly; longer ones from prefix
/// CRCs, whose cost does not grow with the length.
const DIRECT_CRC_MAX: usize = 2 * STEP as usize;

/// What comes next in the stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A valid frame; its payload is [`FrameReader::payload`] of `payload`
    /// until the next call.
    Frame {
        offset: u64,
        len: u64,
        payload: Range<usize>,
        /// The frame carries [`COMPRESSED_FLAG`](crate::frame::COMPRESSED_FLAG).
        flagged: bool,
    },
    /// End of file exactly at a frame boundary.
    End { offset: u64 },
    /// The stream ends inside a frame that was consistent so far (the
    /// writer died mid-write), or in zero bytes only (a file system grew
    /// the file before its data landed). Everything before is good.
    Torn { offset: u64, len: u64 },
    /// Bytes that are not frames; the reader has skipped them and resumes
    /// at the next valid frame (or at the end of the file).
    Damage {
        offset: u64,
        len: u64,
        reason: DamageReason,
    },
    /// Another log's preamble and header frame, where a frame should start:
    /// two logs were concatenated. The reader has skipped both.
    SecondLog { offset: u64, len: u64 },
}

pub(crate) struct FrameReader<R> {
    src: R,
    buf: Vec<u8>,
    /// The next unread byte.
    head: usize,
    /// The end of the bytes read into `buf`.
    tail: usize,
    /// The file offset of `buf[0]`.
    base: u64,
    eof: bool,
    crc: RangeCrc,
    /// Payloads up to this long are hashed directly ([`DIRECT_CRC_MAX`];
    /// tests raise it to check the prefix path against plain hashing).
    direct_max: usize,
    /// Bytes hashed directly, for the tests that pin the cost.
    hashed: u64,
    /// Bytes of frames accepted and not yet spent on hashing a long
    /// payload directly: the frame at a frame boundary is hashed directly
    /// (the fastest way) when this covers it, so the direct hashing of long
    /// payloads never exceeds the bytes of good frames read.
    credit: u64,
    /// Whether the candidate being checked starts where the last frame
    /// ended, rather than somewhere in a scan.
    at_boundary: bool,
}

impl<R: Read> FrameReader<R> {
    pub(crate) fn new(src: R) -> Self {
        FrameReader {
            src,
            buf: Vec::new(),
            head: 0,
            tail: 0,
            base: 0,
            eof: false,
            crc: RangeCrc::default(),
            direct_max: DIRECT_CRC_MAX,
            hashed: 0,
            credit: 0,
            at_boundary: false,
        }
    }

    /// The file offset of the next unread byte.
    pub(crate) fn position(&self) -> u64 {
        self.base + self.head as u64
    }

    /// The file offset up to which bytes have been read.
    pub(crate) fn read_offset(&self) -> u64 {
        self.base + self.tail as u64
    }

    /// Up to `n` bytes at the read position, fewer only at end of file.
    pub(crate) fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        self.fill(n)?;
        let end = self.tail.min(self.head + n);
        Ok(self.buf.get(self.head..end).unwrap_or(&[]))
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.head = self.tail.min(self.head + n);
    }

    pub(crate) fn payload(&self, range: Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or(&[])
    }

    pub(crate) fn next(&mut self) -> io::Result<Next> {
        let offset = self.position();
        if !self.fill(1)? {
            return Ok(Next::End { offset });
        }
        if self.buf[self.head] == MAGIC[0] && self.fill(PREAMBLE_BYTES)? {
            let at = self.head;
            if self.buf[at..at + MAGIC.len()] == MAGIC {
                self.head = at + PREAMBLE_BYTES;
                // Its header frame goes with it, when it is whole.
                if let Some(Candidate::Valid {
                    header, payload, ..
                }) = self.candidate_at(self.head)?
                {
                    self.head += header + payload;
                }
                return Ok(Next::SecondLog {
                    offset,
                    len: self.position() - offset,
                });
            }
        }
        self.at_boundary = true;
        let candidate = self.candidate_at(self.head);
        self.at_boundary = false;
        match candidate? {
            Some(Candidate::Valid {
                header,
                payload,
                flagged,
            }) => {
                // Reading may have moved the bytes: the frame starts at `head`.
                let start = self.head;
                let total = header + payload;
                self.credit += total as u64;
                self.head = start + total;
                Ok(Next::Frame {
                    offset,
                    len: total as u64,
                    payload: start + header..start + total,
                    flagged,
                })
            }
            None => Ok(self.cut_by_eof(offset)),
            Some(Candidate::Bad(reason)) => self.resync(offset, reason),
            // candidate_at never returns NeedMore.
            Some(Candidate::NeedMore { .. }) => self.resync(offset, DamageReason::PastEnd),
        }
    }

    /// Checks the candidate at buffer index `at`, reading as much as it
    /// needs; `None` if the file ends first. Moves `head` to `at`.
    fn candidate_at(&mut self, at: usize) -> io::Result<Option<Candidate>> {
        self.head = at;
        loop {
            match self.check_at(self.head) {
                Candidate::NeedMore { total } => {
                    if !self.fill(total)? {
                        return Ok(None);
                    }
                }
                other => return Ok(Some(other)),
            }
        }
    }

    /// Checks the candidate at buffer index `at` against the bytes buffered.
    fn check_at(&mut self, at: usize) -> Candidate {
        let buffered = self.buf.get(..self.tail).unwrap_or(&[]);
        let window = buffered.get(at..).unwrap_or(&[]);
        let (base, crc, hashed) = (self.base, &mut self.crc, &mut self.hashed);
        let (direct_max, at_boundary, credit) =
            (self.direct_max, self.at_boundary, &mut self.credit);
        check_candidate_with(window, |len_field, payload| {
            let len = payload.len() as u64;
            let paid = at_boundary && len <= *credit;
            if payload.len() <= direct_max || paid {
                if paid {
                    *credit -= len;
                }
                *hashed += len;
                return frame_crc(len_field, &window[payload]);
            }
            let from = base + (at + payload.start) as u64;
            let to = from + payload.len() as u64;
            let bytes = Window {
                bytes: buffered,
                base,
            };
            crc.crc(bytes, crc32fast::hash(len_field), from, to)
        })
    }

    /// The frame at `offset` is consistent but the file ends before it
    /// does. All remaining bytes are buffered. It is a torn tail unless a
    /// valid frame follows inside those bytes, in which case its length
    /// field was damaged.
    fn cut_by_eof(&mut self, offset: u64) -> Next {
        let from = self.head + 1;
        let found = (from..self.tail).find(|&i| {
            self.buf.get(i) == Some(&SYNC[0]) && matches!(self.check_at(i), Candidate::Valid { .. })
        });
        match found {
            Some(i) => {
                let len = (i - self.head) as u64;
                self.head = i;
                Next::Damage {
                    offset,
                    len,
                    reason: DamageReason::PastEnd,
                }
            }
            None => {
                let len = (self.tail - self.head) as u64;
                self.head = self.tail;
                Next::Torn { offset, len }
            }
        }
    }

    /// Skips from the bad candidate at `offset` to the next position whose
    /// frame validates: marker, length in bounds and CRC all hold. Bytes
    /// before it are dropped as they are scanned.
    fn resync(&mut self, offset: u64, reason: DamageReason) -> io::Result<Next> {
        let mut all_zero = self.buf.get(self.head) == Some(&0);
        let mut scan = self.head + 1;
        loop {
            if scan >= self.tail {
                self.head = self.tail;
                if !self.fill(1)? {
                    break;
                }
                scan = self.head;
            }
            let window = self.buf.get(scan..self.tail).unwrap_or(&[]);
            let Some(hit) = window.iter().position(|&b| b == SYNC[0]) else {
                all_zero &= window.iter().all(|&b| b == 0);
                scan = self.tail;
                continue;
            };
            all_zero = false;
            let at = scan + hit;
            match self.candidate_at(at)? {
                Some(Candidate::Valid { .. }) => {
                    let len = self.position() - offset;
                    return Ok(Next::Damage {
                        offset,
                        len,
                        reason,
                    });
                }
                // candidate_at may have compacted the buffer: `head` is `at`.
                _ => scan = self.head + 1,
            }
        }
        let len = self.position() - offset;
        if all_zero {
            return Ok(Next::Torn { offset, len });
        }
        Ok(Next::Damage {
            offset,
            len,
            reason,
        })
    }

    /// Reads until `n` bytes are buffered after `head`; false if the file
    /// ends first.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        while self.tail - self.head < n {
            if self.eof {
                return Ok(false);
            }
            if self.tail == self.buf.len() {
                // Moving the live bytes only once at least as many are dead
                // keeps the copying linear in what is consumed.
                if self.head > 0 && self.head >= self.tail - self.head {
                    let bytes = Window {
                        bytes: &self.buf[..self.tail],
                        base: self.base,
                    };
                    self.crc.rebase(bytes, self.base + self.head as u64);
                    self.buf.copy_within(self.head..self.tail, 0);
                    self.base += self.head as u64;
                    self.tail -= self.head;
                    self.head = 0;
                }
                // Grow by doubling, so a length field claiming 16 MiB costs
                // memory only as the bytes actually arrive; a chunk of slack
                // past what is needed keeps reads large.
                if self.tail == self.buf.len() {
                    let grown = (self.buf.len() * 2).clamp(CHUNK, self.head + n + CHUNK);
                    self.buf.resize(grown, 0);
                }
            }
            let Some(spare) = self.buf.get_mut(self.tail..) else {
                return Ok(false);
            };
            match self.src.read(spare) {
                Ok(0) => self.eof = true,
                Ok(got) => self.tail += got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::append_frame;

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            append_frame(&mut out, p, false).unwrap();
        }
        out
    }

    fn events(bytes: &[u8]) -> Vec<Next> {
        let mut r = FrameReader::new(bytes);
        let mut out = Vec::new();
        loop {
            let ev = r.next().unwrap();
            let done = matches!(ev, Next::End { .. } | Next::Torn { .. });
            out.push(ev);
            if done {
                return out;
            }
        }
    }

    #[test]
    fn clean_stream_ends_at_a_boundary() {
        let bytes = frames(&[b"a", b"bc"]);
        let ev = events(&bytes);
        assert_eq!(ev.len(), 3);
        assert_eq!(
            ev[2],
            Next::End {
                offset: bytes.len() as u64
            }
        );
    }

    #[test]
    fn short_last_frame_is_torn() {
        let bytes = frames(&[b"a", b"bcdef"]);
        let cut = &bytes[..bytes.len() - 2];
        let ev = events(cut);
        assert_eq!(ev[1], Next::Torn { offset: 8, len: 10 });
    }

    #[test]
    fn zero_tail_is_torn() {
        let mut bytes = frames(&[b"a"]);
        bytes.extend([0u8; 100]);
        let ev = events(&bytes);
        assert_eq!(
            ev[1],
            Next::Torn {
                offset: 8,
                len: 100
            }
        );
    }

    #[test]
    fn garbage_between_frames_is_skipped() {
        let mut bytes = frames(&[b"a"]);
        bytes.extend(b"garbage");
        bytes.extend(frames(&[b"b"]));
        let ev = events(&bytes);
        assert_eq!(
            ev[1],
            Next::Damage {
                offset: 8,
                len: 7,
                reason: DamageReason::BadMarker
            }
        );
        assert!(matches!(ev[2], Next::Frame { offset: 15, .. }));
    }

    #[test]
    fn frames_across_read_chunks_keep_their_payloads() {
        let payloads: Vec<Vec<u8>> = (0..400u32)
            .map(|i| (0..(i * 7 % 1000 + 1)).map(|j| (i + j) as u8).collect())
            .collect();
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let bytes = frames(&refs);
        assert!(bytes.len() > 2 * CHUNK);
        let mut r = FrameReader::new(&bytes[..]);
        for p in &payloads {
            match r.next().unwrap() {
                Next::Frame { payload, .. } => assert_eq!(r.payload(payload), &p[..]),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(r.next().unwrap(), Next::End { .. }));
    }

    #[test]
    fn huge_length_reads_only_what_is_there() {
        // Claims 16 MiB; the reader must not allocate it before EOF says no.
        let bytes = [0xF9, 0x1C, 0x80, 0x80, 0x80, 0x08, 1, 2, 3, 4];
        let mut r = FrameReader::new(&bytes[..]);
        assert_eq!(r.next().unwrap(), Next::Torn { offset: 0, len: 10 });
        assert!(r.buf.len() <= CHUNK, "buffer grew to {}", r.buf.len());
    }

    /// Every event and payload, reading `bytes` in reads of at most `step`
    /// bytes; also how many bytes were hashed.
    fn events_with(bytes: &[u8], step: usize, direct_max: usize) -> (Vec<(Next, Vec<u8>)>, u64) {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = out.len().min(self.1).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = FrameReader::new(Trickle(bytes, step));
        r.direct_max = direct_max;
        let mut out = Vec::new();
        loop {
            let ev = r.next().unwrap();
            let payload = match &ev {
                Next::Frame { payload, .. } => r.payload(payload.clone()).to_vec(),
                _ => Vec::new(),
            };
            let done = matches!(ev, Next::End { .. } | Next::Torn { .. });
            out.push((ev, payload));
            if done {
                return (out, r.hashed + r.crc.hashed());
            }
        }
    }

    fn repeated(pattern: &[u8], len: usize) -> Vec<u8> {
        pattern.iter().cycle().take(len).copied().collect()
    }

    #[test]
    fn false_frame_starts_claiming_long_payloads_cost_about_one_pass() {
        let mut tiny_then_false = frames(&[b"x"]);
        tiny_then_false.extend([0xF9, 0x1C, 0x80, 0x80, 0x40]);
        let mut varied = Vec::new();
        for i in 0u32..2000 {
            // Lengths from 600 B to 1 MiB, each different from the last.
            let len = 600 + (i * 7919) % (1 << 20);
            varied.extend([0xF9, 0x1C]);
            let mut v = len;
            while v >= 0x80 {
                varied.push((v as u8) | 0x80);
                v >>= 7;
            }
            varied.push(v as u8);
        }
        let cases: [(&str, Vec<u8>); 4] = [
            // Each start claims 1 MiB, five bytes apart.
            (
                "1 MiB claims",
                repeated(&[0xF9, 0x1C, 0x80, 0x80, 0x40], 3 << 20),
            ),
            // Each start claims 3705 bytes, two bytes apart.
            ("sync bytes only", repeated(&SYNC, 2 << 20)),
            (
                "a good frame before each",
                repeated(&tiny_then_false, 3 << 20),
            ),
            ("lengths that change", repeated(&varied, 3 << 20)),
        ];
        for (name, mut bytes) in cases {
            let mut log = frames(&[b"first"]);
            log.append(&mut bytes);
            for step in [usize::MAX, 4093] {
                let (_, hashed) = events_with(&log, step, DIRECT_CRC_MAX);
                // One pass over the bytes, plus a bounded amount per start.
                let starts = log.len() as u64 / 2;
                let bound = 2 * log.len() as u64 + starts * 2 * DIRECT_CRC_MAX as u64;
                assert!(
                    hashed <= bound,
                    "{name}, reads of {step}: hashed {hashed} > {bound}"
                );
                assert!(
                    hashed < 64 * log.len() as u64,
                    "{name}, reads of {step}: hashed {hashed} for {} bytes",
                    log.len()
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn prefix_crcs_find_exactly_the_frames_plain_hashing_finds(
            pieces in proptest::collection::vec(
                (0u8..4, 1usize..3000, proptest::prelude::any::<u16>()), 1..40),
            step in 1usize..5000,
        ) {
            let mut bytes = Vec::new();
            for (kind, len, seed) in pieces {
                let body: Vec<u8> = (0..len).map(|i| (i as u16 ^ seed) as u8).collect();
                match kind {
                    0 => append_frame(&mut bytes, &body, false).unwrap(),
                    // A false start claiming `len` bytes, then some of them.
                    1 => {
                        bytes.extend([0xF9, 0x1C, 0x80 | (len as u8 & 0x7f), (len >> 7) as u8 | 1]);
                        bytes.extend(&body[..len / 3]);
                    }
                    // A frame with one byte of its payload flipped.
                    2 => {
                        let at = bytes.len() + 8 + (seed as usize % len);
                        append_frame(&mut bytes, &body, false).unwrap();
                        if let Some(b) = bytes.get_mut(at) { *b ^= 0x10; }
                    }
                    _ => bytes.extend(&body[..len.min(64)]),
                }
            }
            let fast = events_with(&bytes, step, DIRECT_CRC_MAX).0;
            let plain = events_with(&bytes, step, usize::MAX).0;
            proptest::prop_assert_eq!(fast, plain);
        }
    }

    #[test]
    fn io_errors_are_not_damage() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        assert!(FrameReader::new(Failing).next().is_err());
    }
}
