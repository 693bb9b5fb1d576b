//! Property tests: records survive postcard, and any run of records
//! survives the writer and the reader.

mod common;

use common::{arb_record, as_stored, header, read};
use formats::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_record_round_trips_through_postcard(rec in arb_record()) {
        let bytes = postcard::to_stdvec(&rec).unwrap();
        let back: Record = postcard::from_bytes(&bytes).unwrap();
        prop_assert_eq!(back, rec);
    }

    #[test]
    fn trailer_round_trips_through_postcard(records: u64, bytes: u64) {
        let rec = Record::Trailer(TrailerRecord { records, bytes });
        let enc = postcard::to_stdvec(&rec).unwrap();
        prop_assert_eq!(postcard::from_bytes::<Record>(&enc).unwrap(), rec);
    }

    #[test]
    fn full_args_survive_trimming(s in common::arb_syscall()) {
        let mut trimmed = s.clone();
        trimmed.trim_args();
        prop_assert_eq!(trimmed.full_args(), s.full_args());
        prop_assert_eq!(
            SyscallRecord::args_from_full(s.cage, &s.full_args()),
            trimmed.args.clone()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_sequence_round_trips_through_writer_and_reader(
        records in proptest::collection::vec(arb_record(), 0..40),
        policy in prop_oneof![
            Just(SyncPolicy::OnExit),
            Just(SyncPolicy::EveryRecord),
            Just(SyncPolicy::EveryMillis(0)),
        ],
    ) {
        let mut log = Vec::new();
        let w = LogWriter::new(&mut log, &header(), policy).unwrap();
        for r in &records {
            w.append(r);
        }
        let status = w.finish();
        prop_assert_eq!(status.dropped, 0);
        prop_assert_eq!(status.records_written, records.len() as u64 + 1);
        prop_assert_eq!(status.bytes_written, log.len() as u64);

        let (got, end, damage) = read(&log, RecoveryMode::Strict).unwrap();
        prop_assert!(damage.is_empty());
        let expected: Vec<Record> = records.iter().map(as_stored).collect();
        prop_assert_eq!(&got[..records.len()], &expected[..]);
        prop_assert!(matches!(got.last(), Some(Record::Trailer(_))));
        match end {
            LogEnd::Clean { trailer } => {
                prop_assert_eq!(trailer.records, records.len() as u64);
                prop_assert!(trailer.bytes < log.len() as u64);
            }
            other => prop_assert!(false, "not clean: {:?}", other),
        }
    }
}
