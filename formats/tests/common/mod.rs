//! Helpers shared by the integration tests: a fixed header, sample
//! records, in-memory logs and where their frames are.
// Each test binary uses a different subset.
#![allow(dead_code)]

use std::ops::Range;

use formats::*;
use proptest::prelude::*;

/// A header with a fixed creation time, so logs are byte-for-byte stable.
pub fn header() -> LogHeader {
    let mut h = LogHeader::new(
        "tee-grate",
        "0.1.0",
        "host-wasm32-sim",
        vec!["demo-files".into(), "--flag".into()],
    );
    h.created_unix_ms = 1_700_000_000_000;
    h
}

pub fn args(cage: u64, values: &[u64]) -> Vec<ArgRecord> {
    let mut full = [(UNUSED_ARG, cage); 6];
    for (slot, v) in full.iter_mut().zip(values) {
        slot.0 = *v;
    }
    SyscallRecord::args_from_full(cage, &full)
}

pub fn buffer(arg: u8, data: &[u8]) -> Buffer {
    Buffer {
        arg,
        index: 0,
        data: data.to_vec(),
        truncated_from: None,
    }
}

/// `close(fd) = 0`, the smallest common record.
pub fn close(seq: u64, fd: u64, time_us: u64) -> Record {
    Record::Syscall(SyscallRecord {
        seq,
        cage: 2,
        nr: 3,
        args: args(2, &[fd]),
        inputs: vec![],
        outputs: vec![],
        result: 0,
        secondary: None,
        time_us,
        duration_ns: None,
    })
}

/// A varied, deterministic run of `n` records with distinct contents.
pub fn sample_records(n: u64) -> Vec<Record> {
    (0..n)
        .map(|i| match i % 5 {
            0 => Record::Syscall(SyscallRecord {
                seq: i,
                cage: 3,
                nr: 1,
                args: args(3, &[1, 0x7000_0000 + i, 6]),
                inputs: vec![buffer(1, format!("line {i}\n").as_bytes())],
                outputs: vec![],
                result: 6,
                secondary: None,
                time_us: 1000 * i,
                duration_ns: None,
            }),
            1 => Record::Syscall(SyscallRecord {
                seq: i,
                cage: 3,
                nr: 0,
                args: args(3, &[4, 0x7100_0000, 64]),
                inputs: vec![],
                outputs: vec![buffer(1, &[i as u8; 17])],
                result: 17,
                secondary: Some(17),
                time_us: 1000 * i,
                duration_ns: None,
            }),
            2 => close(i, 4 + i, 1000 * i),
            3 => Record::Fork(ForkRecord {
                seq: i,
                parent: 3,
                child: 4 + i,
                thread: i % 2 == 0,
                time_us: 1000 * i,
            }),
            _ => Record::Syscall(SyscallRecord {
                seq: i,
                cage: 3,
                nr: 2,
                args: args(3, &[0x7200_0000, 0, 0o644]),
                inputs: vec![buffer(0, b"/tmp/missing")],
                outputs: vec![],
                result: -2,
                secondary: Some(-2),
                time_us: 1000 * i,
                duration_ns: None,
            }),
        })
        .collect()
}

/// A log of `records`, finished (with trailer) or merely dropped.
pub fn write_log(records: &[Record], finish: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let w = LogWriter::new(&mut out, &header(), SyncPolicy::OnExit).unwrap();
    for r in records {
        w.append(r);
    }
    if finish {
        let status = w.finish();
        assert_eq!(status.dropped, 0);
    } else {
        drop(w);
    }
    out
}

/// Where the header ends and where each frame lies, from a strict read of
/// an undamaged log.
pub fn frame_spans(log: &[u8]) -> (usize, Vec<Range<usize>>) {
    let mut r = LogReader::new(log, RecoveryMode::Strict).unwrap();
    let header_end = r.valid_offset() as usize;
    let mut spans = Vec::new();
    let mut at = header_end;
    while r.next_record().unwrap().is_some() {
        let end = r.valid_offset() as usize;
        spans.push(at..end);
        at = end;
    }
    (header_end, spans)
}

/// Reads everything a reader gives in `mode`.
pub fn read(
    log: &[u8],
    mode: RecoveryMode,
) -> Result<(Vec<Record>, LogEnd, Vec<Damage>), ReadError> {
    let mut r = LogReader::new(log, mode)?;
    let mut records = Vec::new();
    while let Some(rec) = r.next_record()? {
        records.push(rec);
    }
    let end = r.end().cloned().expect("an end after Ok(None)");
    Ok((records, end, r.take_damage()))
}

/// What a record looks like after a trip through the writer.
pub fn as_stored(r: &Record) -> Record {
    let mut r = r.clone();
    if let Record::Syscall(s) = &mut r {
        s.trim_args();
    }
    r
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn arb_buffer() -> impl Strategy<Value = Buffer> {
    (0u8..6, any::<u16>(), arb_bytes(48), any::<Option<u64>>()).prop_map(
        |(arg, index, data, truncated_from)| Buffer {
            arg,
            index,
            data,
            truncated_from,
        },
    )
}

fn arb_arg() -> impl Strategy<Value = ArgRecord> {
    let value = prop_oneof![Just(UNUSED_ARG), any::<u64>(), 0u64..300];
    let cage = prop_oneof![Just(ArgCage::Caller), any::<u64>().prop_map(ArgCage::Other)];
    (value, cage).prop_map(|(value, cage)| ArgRecord { value, cage })
}

pub fn arb_syscall() -> impl Strategy<Value = SyscallRecord> {
    (
        (any::<u64>(), any::<u64>(), any::<u32>()),
        proptest::collection::vec(arb_arg(), 0..=6),
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
                    duration_ns: None,
                }
            },
        )
}

pub fn arb_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        4 => arb_syscall().prop_map(Record::Syscall),
        1 => (any::<u64>(), any::<u64>(), any::<u64>(), any::<bool>(), any::<u64>()).prop_map(
            |(seq, parent, child, thread, time_us)| Record::Fork(ForkRecord {
                seq,
                parent,
                child,
                thread,
                time_us
            })
        ),
        1 => (
            any::<u64>(),
            any::<u64>(),
            arb_bytes(32),
            proptest::collection::vec(arb_bytes(16), 0..4),
            any::<i64>(),
            any::<u64>()
        )
            .prop_map(|(seq, cage, path, argv, result, time_us)| Record::Exec(ExecRecord {
                seq,
                cage,
                path,
                argv,
                result,
                time_us
            })),
        1 => (
            (any::<u64>(), any::<u64>(), any::<i32>(), any::<bool>(), any::<u64>()),
            prop_oneof![
                Just(Ending::Called),
                any::<u32>().prop_map(Ending::Killed),
                Just(Ending::Unseen)
            ]
        )
            .prop_map(|((seq, cage, status, process, time_us), ending)| {
                Record::Exit(ExitRecord {
                    seq,
                    cage,
                    status,
                    process,
                    time_us,
                    ending,
                })
            }),
        1 => (any::<u64>(), any::<bool>(), ".{0,20}").prop_map(|(count, write, detail)| {
            Record::Dropped(DroppedRecord {
                count,
                reason: if write {
                    DropReason::WriteFailed
                } else {
                    DropReason::CaptureFailed
                },
                detail,
            })
        }),
    ]
}
