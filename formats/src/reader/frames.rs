//! Framing only: finds frames in a byte stream and says where and why the
//! stream stops being frames. Knows nothing of records.
//!
//! Memory is bounded: the buffer grows past one read chunk only to hold a
//! frame whose length field has been checked against `MAX_FRAME_LEN`, and
//! only as that frame's bytes arrive.

use std::io::{self, Read};
use std::ops::Range;

use crate::error::DamageReason;
use crate::frame::{check_candidate, Candidate, MAGIC, PREAMBLE_BYTES, SYNC};

/// How much a read asks for when the buffer needs bytes.
const CHUNK: usize = 64 << 10;

/// What comes next in the stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A valid frame; its payload is [`FrameReader::payload`] of `payload`
    /// until the next call.
    Frame {
        offset: u64,
        len: u64,
        payload: Range<usize>,
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
                if let Some(Candidate::Valid { header, payload }) = self.candidate_at(self.head)? {
                    self.head += header + payload;
                }
                return Ok(Next::SecondLog {
                    offset,
                    len: self.position() - offset,
                });
            }
        }
        match self.candidate_at(self.head)? {
            Some(Candidate::Valid { header, payload }) => {
                // Reading may have moved the bytes: the frame starts at `head`.
                let start = self.head;
                let total = header + payload;
                self.head = start + total;
                Ok(Next::Frame {
                    offset,
                    len: total as u64,
                    payload: start + header..start + total,
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
            match check_candidate(self.buf.get(self.head..self.tail).unwrap_or(&[])) {
                Candidate::NeedMore { total } => {
                    if !self.fill(total)? {
                        return Ok(None);
                    }
                }
                other => return Ok(Some(other)),
            }
        }
    }

    /// The frame at `offset` is consistent but the file ends before it
    /// does. All remaining bytes are buffered. It is a torn tail unless a
    /// valid frame follows inside those bytes, in which case its length
    /// field was damaged.
    fn cut_by_eof(&mut self, offset: u64) -> Next {
        let from = self.head + 1;
        let found = (from..self.tail).find(|&i| {
            self.buf.get(i) == Some(&SYNC[0])
                && matches!(
                    check_candidate(self.buf.get(i..self.tail).unwrap_or(&[])),
                    Candidate::Valid { .. }
                )
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
                if self.head > 0 {
                    self.buf.copy_within(self.head..self.tail, 0);
                    self.base += self.head as u64;
                    self.tail -= self.head;
                    self.head = 0;
                }
                // Grow by doubling, so a length field claiming 16 MiB costs
                // memory only as the bytes actually arrive.
                if self.tail == self.buf.len() {
                    let grown = (self.buf.len() * 2).clamp(CHUNK, n.max(CHUNK));
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
            append_frame(&mut out, p).unwrap();
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
