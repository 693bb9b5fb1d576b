//! Pinned bytes: the worked frame in SPEC.md and a checked-in version-1
//! log. If either fails, the format changed: bump the version (SPEC.md,
//! "Stability") rather than the expected bytes.

mod common;

use std::path::{Path, PathBuf};

use common::{args, buffer, close, header};
use formats::*;

/// The fixture this writer writes when it compresses nothing (1.5).
fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.5-small.tlog")
}

fn v1_4_fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.4-small.tlog")
}

/// A log written by the 1.2 writer, before exits said how a cage ended.
fn v1_2_fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.2-small.tlog")
}

/// A log written by the 1.1 writer, before syscall records had durations.
fn v1_1_fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.1-small.tlog")
}

/// A log written by the 1.0 writer, before the header had its checksum.
fn v1_0_fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.0-small.tlog")
}

/// The hex block that follows `marker` in SPEC.md, as bytes.
fn spec_hex(marker: &str) -> Vec<u8> {
    let spec = include_str!("../SPEC.md");
    let after = &spec[spec.find(marker).expect("marker in SPEC.md")..];
    let block = after
        .split("```")
        .nth(1)
        .expect("a fenced block after the marker");
    let digits: String = block
        .lines()
        .skip(1)
        .flat_map(|l| l.split('#').next().unwrap_or("").split_whitespace())
        .collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

/// `record` (a syscall) with its primary's duration.
fn timed(mut record: Record, ns: u64) -> Record {
    if let Record::Syscall(r) = &mut record {
        r.duration_ns = Some(ns);
    }
    record
}

/// The frame bytes of one record as the writer lays them out.
fn frame_of(record: &Record) -> Vec<u8> {
    let mut empty = Vec::new();
    drop(LogWriter::new(&mut empty, &header(), SyncPolicy::OnExit).unwrap());
    let mut log = Vec::new();
    let w = LogWriter::new(&mut log, &header(), SyncPolicy::OnExit).unwrap();
    w.append(record);
    drop(w);
    log.split_off(empty.len())
}

#[test]
fn close_frame_matches_the_spec() {
    let frame = frame_of(&timed(close(7, 3, 2_500_000), 1_500));
    assert_eq!(frame, spec_hex("<!-- golden:close-frame -->"));
}

#[test]
fn close_frame_is_at_most_27_bytes() {
    // Sequence numbers up to 16383, times up to 268 s and durations up
    // to 16 µs keep it there; an untimed one is 3 bytes less.
    let frame = frame_of(&timed(close(16_383, 3, 268_000_000), 16_383));
    assert!(frame.len() <= 27, "{} bytes", frame.len());
}

#[test]
fn header_matches_the_spec() {
    let mut log = Vec::new();
    let mut h = header();
    h.command_line = vec!["demo".into()];
    drop(LogWriter::new(&mut log, &h, SyncPolicy::OnExit).unwrap());
    assert_eq!(log, spec_hex("<!-- golden:header -->"));
}

/// The records of the checked-in fixtures: one of each kind. Logs before
/// 1.2 have no durations; the 1.2 fixture has some, and a close without.
fn fixture_records(timed: bool) -> Vec<Record> {
    let took = |ns: u64| timed.then_some(ns);
    let mut write = SyscallRecord {
        seq: 3,
        cage: 3,
        nr: 1,
        args: args(3, &[1, 0x7f00_1000, 6]),
        inputs: vec![buffer(1, b"hello\n")],
        outputs: vec![],
        result: 6,
        secondary: Some(6),
        time_us: 1_200,
        duration_ns: took(12_345),
    };
    write.trim_args();
    vec![
        Record::Fork(ForkRecord {
            seq: 1,
            parent: 2,
            child: 3,
            thread: false,
            time_us: 1_000,
        }),
        Record::Exec(ExecRecord {
            seq: 2,
            cage: 3,
            path: b"demo-files".to_vec(),
            argv: vec![b"demo-files".to_vec()],
            result: 0,
            time_us: 1_100,
        }),
        Record::Syscall(write),
        Record::Syscall(SyscallRecord {
            seq: 4,
            cage: 3,
            nr: 2,
            args: args(3, &[0x7f00_2000, 0, 0]),
            inputs: vec![buffer(0, b"/missing")],
            outputs: vec![],
            result: -2,
            secondary: None,
            time_us: 1_300,
            duration_ns: took(800),
        }),
        Record::Syscall(SyscallRecord {
            seq: 5,
            cage: 3,
            nr: 0,
            args: args(3, &[0, 0x7f00_3000, 4096]),
            inputs: vec![],
            outputs: vec![Buffer {
                arg: 1,
                index: 0,
                data: vec![0xab; 8],
                truncated_from: Some(4096),
            }],
            result: 4096,
            secondary: None,
            time_us: 1_400,
            duration_ns: took(200_000_000),
        }),
        close(6, 3, 1_500),
        Record::Dropped(DroppedRecord {
            count: 2,
            reason: DropReason::CaptureFailed,
            detail: "EFAULT".into(),
        }),
        Record::Exit(ExitRecord {
            seq: 7,
            cage: 3,
            status: 0,
            process: true,
            time_us: 1_600,
            ending: Ending::Called,
        }),
    ]
}

/// The 1.4 fixture's records: the earlier fixtures', then a cage killed
/// by a signal and one that ended unseen.
fn v1_4_records() -> Vec<Record> {
    let mut records = fixture_records(true);
    for (seq, cage, status, ending) in [(8, 4, 137, Ending::Killed(9)), (9, 5, 1, Ending::Unseen)] {
        records.push(Record::Exit(ExitRecord {
            seq,
            cage,
            status,
            process: true,
            time_us: 1_650,
            ending,
        }));
    }
    records
}

/// The 1.5 fixture's records: 1.4's, then a gap of calls the tee dropped.
fn v1_5_records() -> Vec<Record> {
    let mut records = v1_4_records();
    records.push(Record::Gap(GapRecord { seq: 10, calls: 3 }));
    records
}

fn fixture_bytes() -> Vec<u8> {
    compressed_fixture_bytes(Codec::None)
}

/// A compressed fixture's path: `minor` 3 or 4 (read only) or 5 (this
/// writer's).
fn compressed_fixture_path(codec: Codec, minor: u16) -> PathBuf {
    let name = format!("tests/fixtures/v1.{minor}-{}.tlog", codec.name());
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// The records of a fixture of `minor` 3 or 4, then (when compressed) a
/// write of text that the codec shrinks, so the log holds both plain and
/// compressed frames.
fn compressed_fixture_records(codec: Codec, minor: u16) -> Vec<Record> {
    let mut records = match minor {
        5.. => v1_5_records(),
        4 => v1_4_records(),
        _ => fixture_records(true),
    };
    if codec != Codec::None {
        let text = b"GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n".repeat(20);
        records.push(Record::Syscall(SyscallRecord {
            seq: if minor >= 5 { 11 } else { 8 },
            cage: 3,
            nr: 1,
            args: args(3, &[4, 0x7f00_4000, text.len() as u64]),
            inputs: vec![buffer(1, &text)],
            outputs: vec![],
            result: text.len() as i64,
            secondary: None,
            time_us: 1_700,
            duration_ns: Some(3_000),
        }));
    }
    records
}

fn compressed_fixture_bytes(codec: Codec) -> Vec<u8> {
    let mut log = Vec::new();
    let h = header().compressed(codec);
    let w = LogWriter::new(&mut log, &h, SyncPolicy::OnExit).unwrap();
    for r in compressed_fixture_records(codec, FORMAT_MINOR) {
        w.append(&r);
    }
    w.finish();
    log
}

#[test]
fn compressed_fixtures_decode() {
    for minor in [3, 4, 5] {
        for codec in [Codec::Lz4, Codec::Zstd] {
            let path = compressed_fixture_path(codec, minor);
            let contents = read_all(&path, RecoveryMode::Strict).unwrap();
            let want_header = LogHeader {
                minor,
                ..header().compressed(codec)
            };
            assert_eq!(contents.header, want_header);
            let want = compressed_fixture_records(codec, minor);
            assert_eq!(contents.records[..want.len()], want[..], "{codec:?}");
            assert!(contents.end.is_clean());
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                bytes.windows(2).skip(14).any(|w| w == [0xF9, 0x1D]),
                "1.{minor} {codec:?}: a compressed record frame"
            );
        }
    }
}

/// The LZ4 block format's output is fixed by lz4_flex; libzstd's may
/// change between releases, so only its fixture's reading is pinned.
#[test]
fn v1_5_lz4_fixture_is_what_this_writer_writes() {
    let on_disk = std::fs::read(compressed_fixture_path(Codec::Lz4, FORMAT_MINOR)).unwrap();
    assert_eq!(on_disk, compressed_fixture_bytes(Codec::Lz4));
}

#[test]
fn v1_0_fixture_still_decodes() {
    let contents = read_all(v1_0_fixture_path(), RecoveryMode::Strict).unwrap();
    assert_eq!(
        contents.header,
        LogHeader {
            minor: 0,
            ..header()
        }
    );
    let n = fixture_records(false).len();
    assert_eq!(contents.records[..n], fixture_records(false)[..]);
    assert!(contents.end.is_clean());
}

#[test]
fn v1_1_fixture_still_decodes() {
    let contents = read_all(v1_1_fixture_path(), RecoveryMode::Strict).unwrap();
    assert_eq!(
        contents.header,
        LogHeader {
            minor: 1,
            ..header()
        }
    );
    let n = fixture_records(false).len();
    assert_eq!(contents.records[..n], fixture_records(false)[..]);
    assert!(contents.end.is_clean());
}

#[test]
fn v1_2_fixture_still_decodes() {
    let contents = read_all(v1_2_fixture_path(), RecoveryMode::Strict).unwrap();
    assert_eq!(
        contents.header,
        LogHeader {
            minor: 2,
            ..header()
        }
    );
    let n = fixture_records(true).len();
    assert_eq!(contents.records[..n], fixture_records(true)[..]);
    assert!(contents.end.is_clean());
    assert_eq!(contents.records.len(), n + 1);
}

#[test]
fn v1_4_fixture_still_decodes() {
    let contents = read_all(v1_4_fixture_path(), RecoveryMode::Strict).unwrap();
    assert_eq!(
        contents.header,
        LogHeader {
            minor: 4,
            ..header()
        }
    );
    let want = v1_4_records();
    assert_eq!(contents.records[..want.len()], want[..]);
    assert!(contents.end.is_clean());
    assert_eq!(contents.records.len(), want.len() + 1);
}

#[test]
fn v1_5_fixture_decodes() {
    let contents = read_all(fixture_path(), RecoveryMode::Strict).unwrap();
    assert_eq!(contents.header, header());
    let want = v1_5_records();
    assert_eq!(contents.records[..want.len()], want[..]);
    assert!(contents.end.is_clean());
    assert_eq!(contents.records.len(), want.len() + 1);
}

#[test]
fn v1_5_fixture_is_what_this_writer_writes() {
    let on_disk = std::fs::read(fixture_path()).unwrap();
    assert_eq!(on_disk, fixture_bytes());
}

/// Rewrites the fixture. Run by hand only when a new version is made
/// deliberately: `cargo test -p tee-formats --test golden -- --ignored`.
#[test]
#[ignore]
fn regenerate_fixture() {
    std::fs::write(fixture_path(), fixture_bytes()).unwrap();
    for codec in [Codec::Lz4, Codec::Zstd] {
        let path = compressed_fixture_path(codec, FORMAT_MINOR);
        std::fs::write(path, compressed_fixture_bytes(codec)).unwrap();
    }
}
