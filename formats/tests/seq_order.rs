//! The order promise (SPEC.md, "Order"): a bounded-order writer puts every
//! record within `SEQ_WINDOW` of sequence order, and a reader in sequence
//! order either returns every record in order or says which one is too far
//! out of place.

mod common;

use common::{close, header};
use formats::*;
use proptest::prelude::*;

fn log_of(order: &[u64], bounded: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut writer = LogWriter::new(&mut bytes, &header(), SyncPolicy::OnExit).unwrap();
    if bounded {
        writer = writer.bounded_order();
    }
    for &seq in order {
        writer.append(&close(seq, 3, seq));
    }
    writer.finish();
    bytes
}

fn file_order(bytes: &[u8]) -> Vec<u64> {
    LogReader::new(bytes, RecoveryMode::Strict)
        .unwrap()
        .filter_map(|r| r.unwrap().seq())
        .collect()
}

fn seq_order(bytes: &[u8]) -> Result<Vec<u64>, ReadError> {
    let reader = LogReader::new(bytes, RecoveryMode::Strict).unwrap();
    InSeqOrder::new(reader)
        .map(|e| e.map(|e| e.record.seq().unwrap()))
        .collect()
}

/// Shuffles 0..n by moving chosen numbers `by` places later, as a slow
/// thread's record would arrive.
fn delayed(n: u64, delays: &[(u64, u64)]) -> Vec<u64> {
    let mut order: Vec<u64> = (0..n).collect();
    for &(seq, by) in delays {
        let Some(at) = order.iter().position(|&s| s == seq % n) else {
            continue;
        };
        let s = order.remove(at);
        let to = (at + by as usize).min(order.len());
        order.insert(to, s);
    }
    order
}

fn within_window(order: &[u64]) -> bool {
    let mut highest = None::<u64>;
    order.iter().all(|&s| {
        let ok = highest.is_none_or(|h| s + SEQ_WINDOW > h);
        highest = Some(highest.map_or(s, |h| h.max(s)));
        ok
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// However late the appends come, the file keeps the promise and
    /// reads back complete and sorted.
    #[test]
    fn a_bounded_writer_keeps_any_append_order_within_the_window(
        n in 1u64..3000,
        delays in prop::collection::vec((any::<u64>(), 0u64..4000), 0..8),
    ) {
        let order = delayed(n, &delays);
        let bytes = log_of(&order, true);
        let written = file_order(&bytes);
        prop_assert_eq!(written.len() as u64, n);
        prop_assert!(within_window(&written), "{:?}", written);
        prop_assert_eq!(seq_order(&bytes).unwrap(), (0..n).collect::<Vec<_>>());
    }

    /// Without the promise kept, the reader is right or says so: never a
    /// record in the wrong place.
    #[test]
    fn reading_in_order_is_sorted_or_an_error(
        n in 1u64..3000,
        delays in prop::collection::vec((any::<u64>(), 0u64..4000), 0..8),
    ) {
        let order = delayed(n, &delays);
        let bytes = log_of(&order, false);
        match seq_order(&bytes) {
            Ok(seqs) => {
                prop_assert!(within_window(&order));
                prop_assert_eq!(seqs, (0..n).collect::<Vec<_>>());
            }
            Err(ReadError::OutOfOrder { seq, after, .. }) => {
                prop_assert!(!within_window(&order));
                prop_assert!(seq + SEQ_WINDOW <= after);
            }
            Err(other) => prop_assert!(false, "{other}"),
        }
    }
}

#[test]
fn a_record_further_back_than_the_window_is_reported_with_its_place() {
    // 0 comes after SEQ_WINDOW: a writer would have written 0 first.
    let late = SEQ_WINDOW;
    let order: Vec<u64> = (1..=late).chain([0]).collect();
    let bytes = log_of(&order, false);
    let error = seq_order(&bytes).unwrap_err();
    let ReadError::OutOfOrder {
        offset,
        record_index,
        seq,
        after,
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!((*record_index, *seq, *after), (late, 0, late));
    let frames: Vec<u64> = {
        let mut reader = LogReader::new(&bytes[..], RecoveryMode::Strict).unwrap();
        std::iter::from_fn(|| {
            reader.next_record().unwrap()?;
            Some(reader.record_offset())
        })
        .collect()
    };
    assert_eq!(*offset, frames[late as usize]);
    assert!(error.is_damage());
    assert!(error.to_string().contains("out of order"), "{error}");
    // After SEQ_WINDOW - 1 it is within the promise.
    let order: Vec<u64> = (1..late).chain([0]).collect();
    assert_eq!(
        seq_order(&log_of(&order, false)).unwrap(),
        (0..late).collect::<Vec<_>>()
    );
}

#[test]
fn memory_stays_within_the_window_on_a_long_log() {
    // A log read in order holds at most the records between the lowest
    // unread number and the highest read; in order, none wait at all.
    let bytes = log_of(&(0..50_000).collect::<Vec<_>>(), true);
    let reader = LogReader::new(&bytes[..], RecoveryMode::Strict).unwrap();
    let mut in_order = InSeqOrder::new(reader);
    let mut n = 0;
    while let Some(entry) = in_order.next_entry().unwrap() {
        assert_eq!(entry.record.seq(), Some(n));
        assert!(
            in_order.waiting() <= 1,
            "{} records wait",
            in_order.waiting()
        );
        n += 1;
    }
    assert_eq!(n, 50_000);
}

#[test]
fn a_gap_holds_at_most_a_window_of_records() {
    // Number 0 never comes (a damaged frame, a call not recorded).
    let bytes = log_of(&(1..5_000).collect::<Vec<_>>(), false);
    let reader = LogReader::new(&bytes[..], RecoveryMode::Strict).unwrap();
    let mut in_order = InSeqOrder::new(reader);
    let mut most = 0;
    let mut seqs = Vec::new();
    while let Some(entry) = in_order.next_entry().unwrap() {
        most = most.max(in_order.waiting());
        seqs.push(entry.record.seq().unwrap());
    }
    assert_eq!(seqs, (1..5_000).collect::<Vec<_>>());
    assert!(most as u64 <= SEQ_WINDOW, "{most} records waited");
}
