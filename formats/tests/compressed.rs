//! Compressed logs (format 1.3): what goes in comes out, damage inside a
//! compressed frame is found like any other, and a compressed frame where
//! the log has no codec is damage, not data.

mod common;

use common::{arb_record, as_stored, header, read, sample_records};
use formats::*;
use proptest::prelude::*;

/// A write of a text line repeated to `len` bytes: what codecs shrink.
fn text_write(seq: u64, len: usize) -> Record {
    let line = format!("{seq:08} GET /index.html 200 text/html\n");
    let data: Vec<u8> = line.bytes().cycle().take(len).collect();
    Record::Syscall(SyscallRecord {
        seq,
        cage: 2,
        nr: 1,
        args: common::args(2, &[3, 0x7000_0000, len as u64]),
        inputs: vec![common::buffer(1, &data)],
        outputs: vec![],
        result: len as i64,
        secondary: None,
        time_us: seq * 10,
        duration_ns: Some(900),
    })
}

fn log_of(records: &[Record], codec: Codec) -> Vec<u8> {
    let mut out = Vec::new();
    let w = LogWriter::new(&mut out, &header().compressed(codec), SyncPolicy::OnExit).unwrap();
    for r in records {
        w.append(r);
    }
    assert_eq!(w.finish().dropped, 0);
    out
}

fn records_and_text(n: u64) -> Vec<Record> {
    let mut records = sample_records(n);
    for (i, r) in records.iter_mut().enumerate() {
        if i % 3 == 0 {
            *r = text_write(i as u64, 300 + 97 * i);
        }
    }
    records
}

#[test]
fn a_compressed_log_reads_back_record_for_record() {
    let records = records_and_text(60);
    let plain = log_of(&records, Codec::None);
    for codec in [Codec::Lz4, Codec::Zstd] {
        let log = log_of(&records, codec);
        assert!(
            log.len() * 3 < plain.len(),
            "{codec:?}: {} bytes against {} plain",
            log.len(),
            plain.len()
        );
        let (back, end, damage) = read(&log, RecoveryMode::Strict).unwrap();
        assert!(damage.is_empty());
        assert!(matches!(end, LogEnd::Clean { .. }), "{end:?}");
        let want: Vec<Record> = records.iter().map(as_stored).collect();
        assert_eq!(back[..want.len()], want[..]);
        let reader = LogReader::new(&log[..], RecoveryMode::Strict).unwrap();
        assert_eq!(reader.header().compression, codec);
        assert_eq!(reader.header().minor, FORMAT_MINOR);
    }
}

#[test]
fn a_plain_log_has_no_flagged_frame() {
    let log = log_of(&sample_records(5), Codec::None);
    assert_eq!(u16::from_le_bytes([log[10], log[11]]), FORMAT_MINOR);
    assert!(!log.windows(2).any(|w| w == [0xF9, 0x1D]));
}

/// The offset of the first flagged frame after the header.
fn first_flagged(log: &[u8]) -> usize {
    let (header_end, spans) = common::frame_spans(log);
    spans
        .into_iter()
        .map(|s| s.start)
        .find(|&at| at >= header_end && log[at + 1] == 0x1D)
        .expect("a compressed frame")
}

#[test]
fn a_flipped_bit_in_compressed_bytes_is_a_crc_error_and_salvage_skips_one_frame() {
    let records = records_and_text(30);
    let mut log = log_of(&records, Codec::Lz4);
    let at = first_flagged(&log);
    log[at + 12] ^= 0x10;
    let err = read(&log, RecoveryMode::Strict).unwrap_err();
    assert_eq!(err.offset(), at as u64, "{err}");
    let (back, _, damage) = read(&log, RecoveryMode::Salvage).unwrap();
    assert_eq!(damage.len(), 1);
    assert_eq!(
        back.len(),
        records.len() + 1 - 1,
        "every other record and the trailer"
    );
}

#[test]
fn a_compressed_frame_in_a_log_without_a_codec_is_damage() {
    let records = records_and_text(10);
    let zipped = log_of(&records, Codec::Lz4);
    let at = first_flagged(&zipped);
    // Graft the header of a plain log onto the compressed log's frames.
    let plain = log_of(&[], Codec::None);
    let plain_header_end = common::frame_spans(&plain).0;
    let zipped_header_end = common::frame_spans(&zipped).0;
    let mut log = plain[..plain_header_end].to_vec();
    log.extend_from_slice(&zipped[zipped_header_end..]);
    let moved = at - zipped_header_end + plain_header_end;
    let err = read(&log, RecoveryMode::Strict).unwrap_err();
    assert_eq!(err.offset(), moved as u64, "{err}");
    assert!(err.to_string().contains("no codec"), "{err}");
}

#[test]
fn a_header_flag_that_disagrees_with_the_codec_is_refused() {
    let mut log = log_of(&sample_records(3), Codec::Zstd);
    log[13] = 0x1C;
    let err = LogReader::new(&log[..], RecoveryMode::Salvage)
        .err()
        .unwrap();
    assert!(err.to_string().contains("flag"), "{err}");
    assert_eq!(err.offset(), 12);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_records_survive_either_codec(
        records in proptest::collection::vec(arb_record(), 0..20),
        zstd: bool,
    ) {
        let codec = if zstd { Codec::Zstd } else { Codec::Lz4 };
        let log = log_of(&records, codec);
        let (back, _, damage) = read(&log, RecoveryMode::Strict).unwrap();
        prop_assert!(damage.is_empty());
        let want: Vec<Record> = records.iter().map(as_stored).collect();
        prop_assert_eq!(&back[..want.len()], &want[..]);
    }

    #[test]
    fn damage_to_a_compressed_log_never_panics_or_invents_a_record(
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
        zstd: bool,
    ) {
        let codec = if zstd { Codec::Zstd } else { Codec::Lz4 };
        let records = records_and_text(12);
        let mut log = log_of(&records, codec);
        let i = at.index(log.len());
        log[i] ^= 1 << bit;
        let _ = read(&log, RecoveryMode::Strict);
        if let Ok((back, _, _)) = read(&log, RecoveryMode::Salvage) {
            let originals: Vec<Record> = records.iter().map(as_stored).collect();
            for rec in back {
                prop_assert!(
                    originals.contains(&rec) || matches!(rec, Record::Trailer(_)),
                    "invented {:?}", rec
                );
            }
        }
    }
}
