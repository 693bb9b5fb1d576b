//! The reader against arbitrary and mutated input: it must never panic,
//! and salvage must never invent a record. The same checks run under
//! cargo-fuzz in `formats/fuzz/` (see formats/README.md, "Fuzzing").

mod common;

use common::{as_stored, header, sample_records, write_log};
use formats::*;
use proptest::prelude::*;

/// Reads `bytes` in both modes to the end; returns what salvage kept.
fn read_everything(bytes: &[u8]) -> Vec<Record> {
    if let Ok(mut r) = LogReader::new(bytes, RecoveryMode::Strict) {
        while let Ok(Some(_)) = r.next_record() {}
    }
    let Ok(mut r) = LogReader::new(bytes, RecoveryMode::Salvage) else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    while let Ok(Some(rec)) = r.next_record() {
        kept.push(rec);
    }
    let mut at = 0;
    for d in r.damage() {
        assert!(d.offset >= at, "damage ranges are ordered");
        at = d.offset + d.len;
        assert!(at <= bytes.len() as u64, "damage lies inside the file");
    }
    assert!(r.valid_offset() <= bytes.len() as u64);
    kept
}

fn header_bytes() -> Vec<u8> {
    header_bytes_with(Codec::None)
}

/// A header naming `codec`: bytes after it reach the decompressors.
fn header_bytes_with(codec: Codec) -> Vec<u8> {
    let mut v = Vec::new();
    let h = header().compressed(codec);
    drop(LogWriter::new(&mut v, &h, SyncPolicy::OnExit).unwrap());
    v
}

#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..40)
        )
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Remove(i, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
        read_everything(&tail);
        for codec in [Codec::None, Codec::Lz4, Codec::Zstd] {
            let mut log = header_bytes_with(codec);
            log.extend(&tail);
            read_everything(&log);
        }
    }

    #[test]
    fn mutated_logs_never_yield_false_records(
        edits in proptest::collection::vec(arb_edit(), 1..6),
    ) {
        let records = sample_records(30);
        let mut log = write_log(&records, true);
        let header_len = header_bytes().len();
        for e in edits {
            // Leave the header alone: damage there is refused outright.
            let body = log.len() - header_len;
            match e {
                Edit::Set(i, b) => log[header_len + i % body] = b,
                Edit::Insert(i, v) => {
                    let at = header_len + i % (body + 1);
                    log.splice(at..at, v);
                }
                Edit::Remove(i, n) => {
                    let at = header_len + i % body;
                    let end = (at + n).min(log.len());
                    log.drain(at..end);
                }
            }
            if log.len() == header_len {
                break;
            }
        }
        let originals: Vec<Record> = records.iter().map(as_stored).collect();
        for rec in read_everything(&log) {
            prop_assert!(
                originals.contains(&rec) || matches!(rec, Record::Trailer(_)),
                "invented {:?}", rec
            );
        }
    }
}
