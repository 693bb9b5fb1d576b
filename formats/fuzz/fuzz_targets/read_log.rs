//! Arbitrary bytes into the log reader, in both modes, and through a
//! salvage: nothing may panic, damage reports must lie inside the input,
//! and a salvaged log must read back clean with the same records. Read in
//! sequence order, every numbered record comes out once, in order, or the
//! reader names the one out of place.
//!
//! The first input byte chooses whether a valid header is put in front, so
//! most runs get past the header into the frames, and which codec it names,
//! so compressed frames reach the decompressors.
#![no_main]

use formats::{Codec, InSeqOrder, LogHeader, LogReader, LogWriter, ReadError, Record, RecoveryMode};
use formats::{SyncPolicy, SEQ_WINDOW};
use libfuzzer_sys::fuzz_target;

fn header_bytes(codec: Codec) -> Vec<u8> {
    let mut h = LogHeader::new("fuzz", "0", "host-wasm32-sim", vec![]).compressed(codec);
    h.created_unix_ms = 0;
    let mut out = Vec::new();
    drop(LogWriter::new(&mut out, &h, SyncPolicy::OnExit).expect("header"));
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let codec = [Codec::None, Codec::Lz4, Codec::Zstd][usize::from(choice >> 1) % 3];
    let input: Vec<u8> = if choice & 1 == 1 {
        let mut v = header_bytes(codec);
        v.extend_from_slice(rest);
        v
    } else {
        rest.to_vec()
    };

    if let Ok(mut strict) = LogReader::new(&input[..], RecoveryMode::Strict) {
        while let Ok(Some(_)) = strict.next_record() {}
        assert!(strict.valid_offset() <= input.len() as u64);
    }

    let Ok(mut reader) = LogReader::new(&input[..], RecoveryMode::Salvage) else {
        return;
    };
    let mut kept = Vec::new();
    // A slice cannot fail to read; a log claiming more decompressed bytes
    // than the inflation limit allows ends the reading there.
    let mut limited = false;
    loop {
        let mut rec = match reader.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => break,
            Err(ReadError::Limit { .. }) => {
                limited = true;
                break;
            }
            Err(other) => panic!("reading a slice: {other}"),
        };
        if let Record::Syscall(s) = &mut rec {
            // As the writer will store it.
            s.trim_args();
        }
        if !matches!(rec, Record::Trailer(_)) {
            kept.push(rec);
        }
    }
    let mut at = 0;
    for d in reader.damage() {
        assert!(d.offset >= at, "damage out of order");
        at = d.offset + d.len;
        assert!(at <= input.len() as u64, "damage past the end");
    }
    assert!(limited || reader.end().is_some());

    // Salvage: the good records into a fresh log, which must read clean.
    let mut salvaged = Vec::new();
    let writer = LogWriter::new(&mut salvaged, reader.header(), SyncPolicy::OnExit).expect("header");
    for r in &kept {
        writer.append(r);
    }
    let status = writer.finish();
    assert_eq!(status.dropped, 0);
    let mut again = LogReader::new(&salvaged[..], RecoveryMode::Strict).expect("salvaged header");
    let mut back = Vec::new();
    while let Some(rec) = again.next_record().expect("salvaged log is intact") {
        if !matches!(rec, Record::Trailer(_)) {
            back.push(rec);
        }
    }
    assert!(again.end().is_some_and(|e| e.is_clean()));
    assert_eq!(back, kept);

    // Sequence order: sorted, complete, or an error about a late record.
    let in_order = InSeqOrder::new(LogReader::new(&salvaged[..], RecoveryMode::Strict).expect("header"));
    let mut seqs = Vec::new();
    let mut late = None;
    for entry in in_order {
        match entry {
            Ok(e) => seqs.push(e.record.seq().expect("only numbered records")),
            Err(ReadError::OutOfOrder { seq, after, .. }) => {
                assert!(seq + SEQ_WINDOW <= after);
                late = Some(seq);
                break;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "not in order: {seqs:?}");
    if late.is_none() {
        let numbered = kept.iter().filter(|r| r.seq().is_some()).count();
        assert_eq!(seqs.len(), numbered);
    }
});
