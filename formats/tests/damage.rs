//! The damage suite: write a log, damage it, and check what each mode
//! reads, what it drops and why (SPEC.md, "Reader behaviour on damage").
//! Tail cases end in `_is_ignored` or `_is_torn`: a writer died mid-write
//! and nothing before it is lost. Mid-file cases name the damage.

mod common;

use std::io::{self, Read};
use std::ops::Range;

use common::{frame_spans, read, sample_records, write_log};
use formats::*;

const N: u64 = 40;

/// A finished log of `N` records and where its frames are.
#[derive(Clone)]
struct Fixture {
    log: Vec<u8>,
    records: Vec<Record>,
    spans: Vec<Range<usize>>,
}

impl Fixture {
    fn new() -> Fixture {
        let mut records = sample_records(N);
        let log = write_log(&records, true);
        let (_, spans) = frame_spans(&log);
        let (all, _, _) = read(&log, RecoveryMode::Strict).unwrap();
        records.push(all.last().cloned().unwrap());
        assert_eq!(spans.len(), records.len());
        Fixture {
            log,
            records,
            spans,
        }
    }

    fn span(&self, k: usize) -> Range<usize> {
        self.spans[k].clone()
    }

    fn flip_bit(&mut self, bit: usize) {
        self.log[bit / 8] ^= 1 << (bit % 8);
    }

    fn set_byte(&mut self, at: usize, value: u8) {
        self.log[at] = value;
    }

    fn truncate_to(&mut self, len: usize) {
        self.log.truncate(len);
    }

    fn insert(&mut self, at: usize, bytes: &[u8]) {
        self.log.splice(at..at, bytes.iter().copied());
    }

    /// Recomputes the CRC of the frame at `k` after its payload changed,
    /// so only the payload is wrong.
    fn fix_crc(&mut self, k: usize) {
        let span = self.span(k);
        let frame = &mut self.log[span];
        let mut len_end = 2;
        while frame[len_end] & 0x80 != 0 {
            len_end += 1;
        }
        len_end += 1;
        let mut h = crc32fast::Hasher::new();
        h.update(&frame[2..len_end]);
        h.update(&frame[len_end + 4..]);
        let crc = h.finalize().to_le_bytes();
        frame[len_end..len_end + 4].copy_from_slice(&crc);
    }

    /// The records a salvage must recover when frames `lost` are damaged.
    fn all_but(&self, lost: &[usize]) -> Vec<Record> {
        (0..self.records.len())
            .filter(|k| !lost.contains(k))
            .map(|k| self.records[k].clone())
            .collect()
    }

    fn strict(&self) -> Result<(Vec<Record>, LogEnd, Vec<Damage>), ReadError> {
        read(&self.log, RecoveryMode::Strict)
    }

    fn salvage(&self) -> (Vec<Record>, LogEnd, Vec<Damage>) {
        read(&self.log, RecoveryMode::Salvage).unwrap()
    }
}

fn dropped_bytes(damage: &[Damage]) -> u64 {
    damage.iter().map(|d| d.len).sum()
}

fn damage_reason(err: ReadError) -> (u64, u64, DamageReason) {
    match err {
        ReadError::Corrupt(d) => (d.offset, d.record_index, d.reason),
        other => panic!("not corruption: {other}"),
    }
}

#[test]
fn intact_log_reads_clean() {
    let f = Fixture::new();
    let (records, end, damage) = f.strict().unwrap();
    assert_eq!(records, f.records);
    assert!(end.is_clean());
    assert!(damage.is_empty());
}

// Tail damage: the writer died mid-write.

#[test]
fn tail_truncated_frame_header_is_ignored() {
    let mut f = Fixture::new();
    let last = f.span(f.spans.len() - 1);
    f.truncate_to(last.start + 3);
    let (records, end, damage) = f.strict().unwrap();
    assert_eq!(records, f.all_but(&[f.spans.len() - 1]));
    assert_eq!(
        end,
        LogEnd::TornTail {
            offset: last.start as u64,
            len: 3
        }
    );
    assert_eq!(dropped_bytes(&damage), 0);
}

#[test]
fn tail_short_payload_is_ignored() {
    let mut f = Fixture::new();
    let last = f.span(f.spans.len() - 1);
    f.truncate_to(last.end - 1);
    let (records, end, _) = f.strict().unwrap();
    assert_eq!(records.len(), f.records.len() - 1);
    assert!(matches!(end, LogEnd::TornTail { offset, .. } if offset == last.start as u64));
}

#[test]
fn tail_truncated_at_every_offset_of_the_last_frames_is_torn() {
    let f = Fixture::new();
    let n = f.spans.len();
    // The trailer and the record before it.
    for k in [n - 2, n - 1] {
        let span = f.span(k);
        for cut in span.start + 1..span.end {
            let mut g = f.clone();
            g.truncate_to(cut);
            for mode in [RecoveryMode::Strict, RecoveryMode::Salvage] {
                let (records, end, damage) = read(&g.log, mode).unwrap();
                assert_eq!(records, f.records[..k], "cut at {cut}");
                assert_eq!(
                    end,
                    LogEnd::TornTail {
                        offset: span.start as u64,
                        len: (cut - span.start) as u64
                    },
                    "cut at {cut}"
                );
                assert!(damage.is_empty(), "cut at {cut}: {damage:?}");
            }
        }
    }
}

#[test]
fn cut_at_a_frame_boundary_is_incomplete() {
    let mut f = Fixture::new();
    let last = f.span(f.spans.len() - 1);
    f.truncate_to(last.start);
    let (records, end, damage) = f.strict().unwrap();
    assert_eq!(records.len(), f.records.len() - 1);
    assert_eq!(
        end,
        LogEnd::Incomplete {
            offset: last.start as u64
        }
    );
    assert!(damage.is_empty());
}

#[test]
fn log_without_trailer_is_incomplete() {
    let log = write_log(&sample_records(5), false);
    let (records, end, _) = read(&log, RecoveryMode::Strict).unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(
        end,
        LogEnd::Incomplete {
            offset: log.len() as u64
        }
    );
}

#[test]
fn truncation_anywhere_keeps_every_record_before_the_cut() {
    let f = Fixture::new();
    let (header_end, _) = frame_spans(&f.log);
    for cut in 0..f.log.len() {
        let log = &f.log[..cut];
        if cut < header_end {
            let err = LogReader::new(log, RecoveryMode::Salvage).err().unwrap();
            assert!(
                matches!(err, ReadError::TruncatedHeader { len } if len == cut as u64),
                "cut at {cut}: {err}"
            );
            continue;
        }
        let (records, end, damage) = read(log, RecoveryMode::Strict).unwrap();
        let whole = f.spans.iter().filter(|s| s.end <= cut).count();
        assert_eq!(records, f.records[..whole], "cut at {cut}");
        assert!(damage.is_empty());
        assert!(!end.is_clean() || cut == f.log.len());
    }
}

#[test]
fn zero_filled_tail_is_torn() {
    let mut f = Fixture::new();
    let len = f.log.len();
    f.log.extend([0u8; 4096]);
    let (records, end, damage) = f.strict().unwrap();
    assert_eq!(records, f.records);
    assert_eq!(
        end,
        LogEnd::TornTail {
            offset: len as u64,
            len: 4096
        }
    );
    assert!(damage.is_empty());
}

#[test]
fn valid_offset_is_where_the_torn_frame_starts() {
    let mut f = Fixture::new();
    let last = f.span(f.spans.len() - 1);
    f.truncate_to(last.end - 2);
    let mut r = LogReader::new(&f.log[..], RecoveryMode::Strict).unwrap();
    while r.next_record().unwrap().is_some() {}
    assert_eq!(r.valid_offset(), last.start as u64);
}

// Mid-file damage: reported with offset and record index; strict stops,
// salvage skips exactly the damaged frame.

#[test]
fn crc_mismatch_mid_file_is_reported() {
    let mut f = Fixture::new();
    let k = 10;
    let span = f.span(k);
    f.flip_bit((span.end - 1) * 8);
    let (offset, index, reason) = damage_reason(f.strict().err().unwrap());
    assert_eq!((offset, index), (span.start as u64, k as u64));
    assert!(matches!(reason, DamageReason::CrcMismatch { .. }));
    let (records, end, damage) = f.salvage();
    assert_eq!(records, f.all_but(&[k]));
    assert_eq!(damage.len(), 1);
    assert_eq!(dropped_bytes(&damage), span.len() as u64);
    assert!(end.is_clean(), "a trailer after damage still ends the log");
}

#[test]
fn every_bit_flip_in_a_mid_file_frame_is_reported_and_salvaged() {
    let f = Fixture::new();
    let k = 7;
    let span = f.span(k);
    for bit in span.start * 8..span.end * 8 {
        let mut g = f.clone();
        g.flip_bit(bit);
        let (offset, index, _) = damage_reason(g.strict().err().unwrap());
        assert_eq!((offset, index), (span.start as u64, k as u64), "bit {bit}");
        let (records, _, damage) = g.salvage();
        assert_eq!(records, f.all_but(&[k]), "bit {bit}");
        assert_eq!(damage.len(), 1, "bit {bit}: {damage:?}");
        assert_eq!(damage[0].offset, span.start as u64, "bit {bit}");
        assert_eq!(dropped_bytes(&damage), span.len() as u64, "bit {bit}");
    }
}

/// At the tail, a length flipped upwards looks exactly like a torn write
/// (a consistent frame cut by EOF) and is read as one; any other flip is
/// corruption. Either way every earlier record is kept.
#[test]
fn every_bit_flip_in_the_trailer_is_reported_or_torn() {
    let f = Fixture::new();
    let k = f.spans.len() - 1;
    let span = f.span(k);
    for bit in span.start * 8..span.end * 8 {
        let mut g = f.clone();
        g.flip_bit(bit);
        match g.strict() {
            Err(e) => assert_eq!(damage_reason(e).0, span.start as u64, "bit {bit}"),
            Ok((records, end, _)) => {
                assert_eq!(records, f.all_but(&[k]), "bit {bit}");
                assert!(
                    matches!(end, LogEnd::TornTail { offset, .. } if offset == span.start as u64),
                    "bit {bit}: {end:?}"
                );
            }
        }
        let (records, end, damage) = g.salvage();
        assert_eq!(records, f.all_but(&[k]), "bit {bit}");
        assert!(!end.is_clean(), "bit {bit}");
        assert!(damage.len() + usize::from(matches!(end, LogEnd::TornTail { .. })) == 1);
    }
}

#[test]
fn length_overrun_mid_file_is_reported() {
    let mut f = Fixture::new();
    let k = 5;
    let span = f.span(k);
    // A length field claiming 16 KiB, with the file far shorter.
    f.log
        .splice(span.start + 2..span.start + 3, [0x80, 0x80, 0x01]);
    let (offset, index, reason) = damage_reason(f.strict().err().unwrap());
    assert_eq!((offset, index), (span.start as u64, k as u64));
    assert!(
        matches!(
            reason,
            DamageReason::PastEnd | DamageReason::CrcMismatch { .. }
        ),
        "{reason:?}"
    );
    let (records, _, damage) = f.salvage();
    assert_eq!(records, f.all_but(&[k]));
    assert_eq!(dropped_bytes(&damage), span.len() as u64 + 2);
}

#[test]
fn length_out_of_bounds_mid_file_is_reported() {
    let mut f = Fixture::new();
    let k = 5;
    let span = f.span(k);
    f.log
        .splice(span.start + 2..span.start + 3, [0xff, 0xff, 0xff, 0x7f]);
    let (_, _, reason) = damage_reason(f.strict().err().unwrap());
    assert!(matches!(reason, DamageReason::LengthOutOfBounds { .. }));
    let (records, _, _) = f.salvage();
    assert_eq!(records, f.all_but(&[k]));
}

#[test]
fn bad_postcard_payload_is_reported() {
    let mut f = Fixture::new();
    let k = 12;
    let span = f.span(k);
    // The first payload byte is the record kind; 0x7f names none.
    let payload_start = span.start + 2 + 1 + 4;
    f.set_byte(payload_start, 0x7f);
    f.fix_crc(k);
    let (offset, index, reason) = damage_reason(f.strict().err().unwrap());
    assert_eq!((offset, index), (span.start as u64, k as u64));
    assert!(
        matches!(reason, DamageReason::BadPayload { .. }),
        "{reason:?}"
    );
    let (records, end, damage) = f.salvage();
    assert_eq!(records, f.all_but(&[k]));
    assert_eq!(dropped_bytes(&damage), span.len() as u64);
    assert!(end.is_clean());
}

#[test]
fn garbage_inserted_mid_file_is_skipped_by_salvage() {
    let mut f = Fixture::new();
    let at = f.span(20).start;
    let garbage: Vec<u8> = (0..300u32).map(|i| (i * 37 % 251) as u8).collect();
    f.insert(at, &garbage);
    let (offset, index, reason) = damage_reason(f.strict().err().unwrap());
    assert_eq!(
        (offset, index, reason),
        (at as u64, 20, DamageReason::BadMarker)
    );
    let (records, end, damage) = f.salvage();
    assert_eq!(records, f.records, "nothing but the garbage is lost");
    assert_eq!(damage.len(), 1);
    assert_eq!(damage[0].offset, at as u64);
    assert_eq!(damage[0].len, garbage.len() as u64);
    assert_eq!(damage[0].record_index, 20);
    // The trailer's byte count no longer matches, but damage explains it.
    assert!(end.is_clean());
}

#[test]
fn garbage_full_of_sync_markers_is_skipped_by_salvage() {
    let mut f = Fixture::new();
    let at = f.span(3).start;
    let garbage: Vec<u8> = SYNC.iter().copied().cycle().take(64).collect();
    f.insert(at, &garbage);
    let (records, _, damage) = f.salvage();
    assert_eq!(records, f.records);
    assert_eq!(dropped_bytes(&damage), 64);
}

#[test]
fn damaged_frames_never_merge() {
    let mut f = Fixture::new();
    let (a, b) = (f.span(8), f.span(9));
    // Wipe from the middle of one frame to the middle of the next: the
    // first's header is intact and its length reaches into the second.
    let mid_a = (a.start + a.end) / 2;
    let mid_b = (b.start + b.end) / 2;
    for i in mid_a..mid_b {
        f.set_byte(i, 0x55);
    }
    let (records, _, damage) = f.salvage();
    assert_eq!(records, f.all_but(&[8, 9]), "no false record");
    assert_eq!(damage.len(), 1);
    assert_eq!(damage[0].offset, a.start as u64);
    assert_eq!(dropped_bytes(&damage), (b.end - a.start) as u64);
}

#[test]
fn two_separate_damaged_frames_are_two_reports() {
    let mut f = Fixture::new();
    let (a, b) = (f.span(4), f.span(30));
    f.flip_bit(a.end * 8 - 3);
    f.flip_bit(b.end * 8 - 3);
    let (records, _, damage) = f.salvage();
    assert_eq!(records, f.all_but(&[4, 30]));
    assert_eq!(damage.len(), 2);
    assert_eq!(
        (damage[0].record_index, damage[1].record_index),
        (4, 29),
        "indices count good records"
    );
}

#[test]
fn removed_frame_is_reported_as_trailer_mismatch() {
    let mut f = Fixture::new();
    let span = f.span(6);
    f.log.drain(span);
    let (_, _, reason) = damage_reason(f.strict().err().unwrap());
    assert!(matches!(reason, DamageReason::TrailerMismatch { .. }));
    let (records, _, damage) = f.salvage();
    assert_eq!(records, f.all_but(&[6]));
    assert_eq!(damage.len(), 1);
    assert_eq!(dropped_bytes(&damage), 0);
}

// The file header.

#[test]
fn wrong_magic_is_refused() {
    let mut f = Fixture::new();
    f.set_byte(0, b'X');
    for mode in [RecoveryMode::Strict, RecoveryMode::Salvage] {
        let err = LogReader::new(&f.log[..], mode).err().unwrap();
        assert!(matches!(err, ReadError::BadMagic { .. }), "{err}");
        assert_eq!(err.offset(), 0);
    }
}

#[test]
fn future_major_version_is_refused() {
    let mut f = Fixture::new();
    f.set_byte(8, 2);
    for mode in [RecoveryMode::Strict, RecoveryMode::Salvage] {
        let err = LogReader::new(&f.log[..], mode).err().unwrap();
        assert!(
            matches!(
                err,
                ReadError::UnsupportedVersion {
                    offset: 8,
                    major: 2,
                    minor: FORMAT_MINOR
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("offset 8"), "{err}");
        assert!(
            err.to_string().contains(&format!("2.{FORMAT_MINOR}")),
            "{err}"
        );
    }
}

#[test]
fn newer_minor_version_is_accepted() {
    let mut h = common::header();
    h.minor = FORMAT_MINOR + 8;
    let records = sample_records(5);
    let mut log = Vec::new();
    let w = LogWriter::new(&mut log, &h, SyncPolicy::OnExit).unwrap();
    for r in &records {
        w.append(r);
    }
    w.finish();
    let (read_back, end, _) = read(&log, RecoveryMode::Strict).unwrap();
    assert_eq!(read_back[..records.len()], records[..]);
    assert!(end.is_clean());
}

/// The version bytes sit outside every frame; since 1.1 the header frame
/// carries their CRC, so a changed minor is damage, not leniency.
#[test]
fn a_changed_minor_version_byte_is_a_bad_header() {
    for change in [|b: u8| b ^ 1, |_| 9, |_| 0] {
        let mut f = Fixture::new();
        let minor = f.log[10];
        f.set_byte(10, change(minor));
        for mode in [RecoveryMode::Strict, RecoveryMode::Salvage] {
            let err = LogReader::new(&f.log[..], mode).err().unwrap();
            assert!(
                matches!(err, ReadError::BadHeader { offset: 12, .. }),
                "{err}"
            );
            assert!(err.to_string().contains("checksum"), "{err}");
        }
    }
}

#[test]
fn damaged_header_frame_is_refused() {
    let mut f = Fixture::new();
    f.flip_bit(20 * 8);
    let err = LogReader::new(&f.log[..], RecoveryMode::Salvage)
        .err()
        .unwrap();
    assert!(
        matches!(err, ReadError::BadHeader { offset: 12, .. }),
        "{err}"
    );
}

#[test]
fn empty_file_has_a_truncated_header() {
    let err = LogReader::new(&b""[..], RecoveryMode::Salvage)
        .err()
        .unwrap();
    assert!(matches!(err, ReadError::TruncatedHeader { len: 0 }));
}

// I/O errors.

/// A source that fails once `limit` bytes have been read.
struct FailNextRead<'a> {
    data: &'a [u8],
    limit: usize,
}

impl Read for FailNextRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.limit == 0 {
            return Err(io::Error::other("EIO"));
        }
        let n = buf.len().min(self.limit).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.limit -= n;
        Ok(n)
    }
}

#[test]
fn io_error_is_not_reported_as_corruption() {
    let f = Fixture::new();
    let limit = f.span(10).start + 5;
    let src = FailNextRead {
        data: &f.log,
        limit,
    };
    let mut r = LogReader::new(src, RecoveryMode::Salvage).unwrap();
    let mut got = 0;
    let err = loop {
        match r.next_record() {
            Ok(Some(_)) => got += 1,
            Ok(None) => panic!("an I/O error is not an end"),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, ReadError::Io { .. }), "{err}");
    assert_eq!(err.offset(), limit as u64);
    assert_eq!(got, 10);
    assert!(r.damage().is_empty());
}
