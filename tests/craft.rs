//! Logs made by hand: records built field by field and written with the
//! formats writer, for tests that need a log no app would make.

use formats::*;
use std::path::{Path, PathBuf};

/// The header of every crafted log.
pub fn header() -> LogHeader {
    LogHeader::created_at(
        "tee-grate",
        "0.1.0",
        "host-wasm32-sim",
        vec!["demo-files".into()],
        1_700_000_000_000,
    )
}

/// A syscall record of `cage` with argument values `values` (the rest
/// unused); its time and duration grow with `seq`.
pub fn call(seq: u64, cage: u64, nr: u32, values: &[u64], result: i64) -> SyscallRecord {
    formats::build::call_nr(seq, cage, nr, values, result)
        .at(1_000 + seq * 250)
        // Calls later in the session took longer: 3 µs to 6 µs.
        .took(seq * 1_000)
        .syscall()
}

/// A buffer at argument `arg`.
pub fn buffer(arg: u8, data: &[u8]) -> Buffer {
    Buffer {
        arg,
        index: 0,
        data: data.to_vec(),
        truncated_from: None,
    }
}

/// `parent` forks `child`.
pub fn fork(seq: u64, parent: u64, child: u64) -> Record {
    build::at(build::fork(seq, parent, child), 1_000 + seq * 250)
}

/// `cage` calls exit_group(`status`).
pub fn exit(seq: u64, cage: u64, status: i32) -> Record {
    build::at(build::exit(seq, cage, status), 1_000 + seq * 250)
}

/// Writes `records` to `path`; a log without trailer unless `finish`.
pub fn write_to(path: &Path, records: &[Record], finish: bool) {
    let w = LogWriter::create(path, &header(), SyncPolicy::OnExit).expect("create log");
    for r in records {
        w.append(r);
    }
    if finish {
        w.finish();
    }
}

/// Writes `records` to `dir/name`; a log without trailer unless `finish`.
pub fn write_log(dir: &Path, name: &str, records: &[Record], finish: bool) -> PathBuf {
    let path = dir.join(name);
    write_to(&path, records, finish);
    path
}
