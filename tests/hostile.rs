//! Logs crafted as an attacker would: valid framing and checksums, hostile
//! contents. Each one is kept as a fixture under `tests/fixtures/hostile/`
//! (written by the builders below; `regenerate_hostile_fixtures` rewrites
//! them), and every tool that reads it must end promptly, within its
//! documented limits, with a one-line error and the exit code of the one
//! table where it refuses.

use crate::craft::{buffer, call, exit, fork, header, write_to};
use crate::util::{run, scratch, Output};
use formats::*;
use std::path::{Path, PathBuf};

/// A fixture's path.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hostile")
        .join(name)
}

/// A fixture's path as an argument.
fn arg(name: &str) -> String {
    fixture(name).to_string_lossy().into_owned()
}

/// Runs `name args` in a scratch directory; no tool may panic.
fn tool(name: &str, args: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = scratch();
    let out = run(dir.path(), name, args);
    assert!(!out.stderr.contains("panicked"), "{name} {args:?}: {out:?}");
    (out, dir)
}

/// Writes a crafted log at the path it is given.
type Builder = fn(&Path);

/// Every crafted log: its file name and how it is made.
const FIXTURES: &[(&str, Builder)] = &[
    ("after-exit.tlog", after_exit),
    ("threei-calls.tlog", threei_calls),
    ("readv-iovecs.tlog", readv_iovecs),
    ("overlap.tlog", overlap),
    ("deep-mkdir.tlog", deep_mkdir),
    ("seek-far.tlog", seek_far),
    ("zstd-bomb.tlog", zstd_bomb),
    ("lz4-claims.tlog", lz4_claims),
    ("raw-text.tlog", raw_text),
    ("repro-escape.tlog", repro_escape),
];

/// `open(path, flags, 0644) = fd` by `cage`.
fn open(seq: u64, cage: u64, path: &[u8], flags: u64, fd: i64) -> Record {
    let mut c = call(seq, cage, 2, &[0x1000, flags, 0o644], fd);
    c.inputs.push(buffer(0, path));
    Record::Syscall(c)
}

/// `write(fd, data, len) = len` by `cage`.
fn write(seq: u64, cage: u64, fd: u64, data: &[u8]) -> Record {
    let mut c = call(
        seq,
        cage,
        1,
        &[fd, 0x2000, data.len() as u64],
        data.len() as i64,
    );
    c.inputs.push(buffer(1, data));
    Record::Syscall(c)
}

/// A child calls after its exit, and exits twice.
fn after_exit(path: &Path) {
    write_to(
        path,
        &[
            fork(0, 1, 2),
            Record::Syscall(call(1, 2, 39, &[], 2)),
            fork(2, 2, 3),
            write(3, 3, 1, b"child\n"),
            exit(4, 3, 0),
            write(5, 3, 1, b"after exit\n"),
            exit(6, 3, 0),
            Record::Syscall(call(7, 2, 3, &[9], -9)),
            exit(8, 2, 0),
        ],
        true,
    );
}

/// 3i's own calls: one that would reroute the driver's close, one that
/// would copy a handler table, then a close.
fn threei_calls(path: &Path) {
    write_to(
        path,
        &[
            fork(0, 1, 2),
            Record::Syscall(call(1, 2, 1001, &[2, 3, 2, 7], 0)),
            Record::Syscall(call(2, 2, 1003, &[2, 2, 3], 0)),
            Record::Syscall(call(3, 2, 3, &[9], -9)),
            exit(4, 2, 0),
        ],
        true,
    );
}

/// A readv claiming ten million iovecs.
fn readv_iovecs(path: &Path) {
    write_to(
        path,
        &[
            fork(0, 1, 2),
            Record::Syscall(call(1, 2, 19, &[0, 0x3000, 10_000_000], 0)),
            exit(2, 2, 0),
        ],
        true,
    );
}

/// Twenty thousand calls of one cage, all overlapping in time.
fn overlap(path: &Path) {
    let mut records = vec![fork(0, 1, 2)];
    for seq in 1..=20_000u64 {
        let mut c = call(seq, 2, 39, &[], 2);
        c.time_us = 1_000_000 + seq;
        c.duration_ns = Some(900_000_000);
        records.push(Record::Syscall(c));
    }
    write_to(path, &records, true);
}

/// `mkdir("a/a/a/…")`, 200,000 levels deep.
fn deep_mkdir(path: &Path) {
    let mut mkdir = call(1, 2, 83, &[0x1000, 0o755], 0);
    mkdir.inputs.push(buffer(0, &b"a/".repeat(200_000)));
    write_to(
        path,
        &[fork(0, 1, 2), Record::Syscall(mkdir), exit(2, 2, 0)],
        true,
    );
}

/// A seek to 2^40, then a one-byte write there.
fn seek_far(path: &Path) {
    write_to(
        path,
        &[
            fork(0, 1, 2),
            open(1, 2, b"far.bin", 0o101, 3),
            Record::Syscall(call(2, 2, 8, &[3, 1 << 40, 0], 1 << 40)),
            write(3, 2, 3, b"x"),
            exit(4, 2, 0),
        ],
        true,
    );
}

/// A zstd log of forty writes of 16 MiB less 1 KiB of zeros: a few KiB
/// on disk, 640 MiB decompressed.
fn zstd_bomb(path: &Path) {
    let w = LogWriter::create(path, &header().compressed(Codec::Zstd), SyncPolicy::OnExit)
        .expect("create log");
    w.append(&fork(0, 1, 2));
    w.append(&open(1, 2, b"big.bin", 0o101, 3));
    let zeros = vec![0u8; (16 << 20) - 1024];
    for seq in 2..42 {
        w.append(&write(seq, 2, 3, &zeros));
    }
    w.append(&exit(42, 2, 0));
    w.finish();
}

/// An lz4 log of 20,000 22-byte frames, each claiming 16 MiB.
fn lz4_claims(path: &Path) {
    drop(
        LogWriter::create(path, &header().compressed(Codec::Lz4), SyncPolicy::OnExit)
            .expect("create log"),
    );
    let mut log = std::fs::read(path).expect("header");
    for _ in 0..20_000 {
        // raw_len 16 MiB as a varint, then 18 bytes of "LZ4 block".
        let mut payload = vec![0x80, 0x80, 0x80, 0x08];
        payload.extend_from_slice(&[0x1f; 18]);
        let len = [payload.len() as u8];
        let mut crc = crc32fast::Hasher::new();
        crc.update(&len);
        crc.update(&payload);
        log.extend_from_slice(&[0xF9, 0x1D]);
        log.extend_from_slice(&len);
        log.extend_from_slice(&crc.finalize().to_le_bytes());
        log.extend_from_slice(&payload);
    }
    std::fs::write(path, log).expect("write log");
}

/// Text that would forge output: escape sequences and a forged line in a
/// dropped record's detail and in the header, a control byte in a
/// program's name.
fn raw_text(path: &Path) {
    let mut h = header();
    h.writer = "tee-grate\u{1b}[2J".into();
    h.command_line = vec!["app\n[cage 2] unlink(\"/etc/passwd\") = 0".into()];
    let w = LogWriter::create(path, &h, SyncPolicy::OnExit).expect("create log");
    for r in [
        fork(0, 1, 2),
        Record::Exec(ExecRecord {
            seq: 1,
            cage: 2,
            path: b"evil\x01<b>&name".to_vec(),
            argv: vec![b"evil\x01".to_vec()],
            result: 0,
            time_us: 1_200,
        }),
        Record::Dropped(DroppedRecord {
            count: 1,
            reason: DropReason::CaptureFailed,
            detail: "x\n[cage 2] unlink(\"/etc/passwd\") = 0\u{1b}[31m".into(),
        }),
        Record::Syscall(call(2, 2, 39, &[], 2)),
        exit(3, 2, 0),
    ] {
        w.append(&r);
    }
    w.finish();
}

/// What a reproducer must keep inside its directory and its buffers: an
/// absolute path, a `..` path, a read of more than its 64 KiB scratch.
fn repro_escape(path: &Path) {
    let mut read = call(4, 2, 0, &[3, 0x4000, 100_000], 100_000);
    read.outputs.push(buffer(1, &vec![b'r'; 100_000]));
    write_to(
        path,
        &[
            fork(0, 1, 2),
            open(1, 2, b"/etc/passwd", 0, 3),
            open(2, 2, b"../../outside.txt", 0o101, 4),
            Record::Syscall(call(3, 2, 3, &[4], 0)),
            Record::Syscall(read),
            exit(5, 2, 0),
        ],
        true,
    );
}

/// Rewrites the fixtures: `cargo test --test tests -- --ignored regenerate`.
#[test]
#[ignore]
fn regenerate_hostile_fixtures() {
    std::fs::create_dir_all(fixture("")).expect("fixtures dir");
    for (name, make) in FIXTURES {
        let _ = std::fs::remove_file(fixture(name));
        make(&fixture(name));
    }
}

#[test]
fn the_fixtures_are_what_the_builders_make() {
    for (name, make) in FIXTURES {
        // The zstd fixture's bytes depend on libzstd's release.
        if name.starts_with("zstd") {
            continue;
        }
        let dir = scratch();
        let made = dir.path().join(name);
        make(&made);
        assert!(
            std::fs::read(fixture(name)).ok() == std::fs::read(&made).ok(),
            "{name} differs from its builder: regenerate the fixtures"
        );
    }
}

#[test]
fn calls_after_a_cage_exit_are_skipped_and_the_replay_ends() {
    for stack in [
        &["passthrough-grate"][..],
        &["imfs-grate"],
        &["archive-grate", "arch"],
    ] {
        let mut args = vec![arg("after-exit.tlog"), "%<".into()];
        args.extend(stack.iter().map(|s| s.to_string()));
        args.push("%>".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, _dir) = tool("tee-replay", &args);
        assert_eq!(out.status, 0, "{stack:?}: {out:?}");
        assert!(
            out.stderr
                .contains("skipped 2: a record of a cage after its exit"),
            "{stack:?}: {out:?}"
        );
    }
    // reduce replays candidates of the same log: it ends too.
    let (out, _dir) = tool(
        "tee-log",
        &[
            "reduce",
            &arg("after-exit.tlog"),
            "-o",
            "small.tlog",
            "--budget",
            "5s",
            "--stack",
            "%<",
            "passthrough-grate",
            "%>",
        ],
    );
    assert!(out.stderr.contains("no divergence"), "{out:?}");
}

#[test]
fn threei_calls_in_a_log_are_never_given_to_the_runtime() {
    let (out, _dir) = tool(
        "tee-replay",
        &[&arg("threei-calls.tlog"), "%<", "passthrough-grate", "%>"],
    );
    assert_eq!(out.status, 0, "{out:?}");
    assert!(out.stderr.contains(" 0 divergences"), "{out:?}");
    assert!(
        out.stderr
            .contains("skipped 2: 3i's own call (never replayed)"),
        "{out:?}"
    );
}

#[test]
fn a_stack_that_quits_is_the_replayers_own_failure() {
    let (out, _dir) = tool(
        "tee-replay",
        &[
            &arg("threei-calls.tlog"),
            "%<",
            "faulty-grate",
            "quit",
            "%>",
        ],
    );
    assert_eq!(out.status, 2, "{out:?}");
}

#[test]
fn repro_bounds_what_a_log_claims() {
    let (out, dir) = tool(
        "tee-log",
        &["repro", &arg("readv-iovecs.tlog"), "-o", "repro.c"],
    );
    assert_eq!(out.status, 0, "{out:?}");
    let size = std::fs::metadata(dir.path().join("repro.c")).unwrap().len();
    assert!(size < 64 << 10, "repro.c is {size} bytes");

    let (out, dir) = tool(
        "tee-log",
        &["repro", &arg("zstd-bomb.tlog"), "-o", "repro.c"],
    );
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr.contains("record ") && out.stderr.contains("--max-source"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    // The budget is claimed before the file: nothing half-written is
    // left but the empty output it reserved.
    let made = std::fs::metadata(dir.path().join("repro.c")).map_or(0, |m| m.len());
    assert!(made < 64 << 20, "{made}");
}

#[test]
fn repro_keeps_paths_and_reads_inside_its_own_bounds() {
    let (out, dir) = tool(
        "tee-log",
        &["repro", &arg("repro-escape.tlog"), "-o", "repro.c"],
    );
    assert_eq!(out.status, 0, "{out:?}");
    let c = std::fs::read_to_string(dir.path().join("repro.c")).unwrap();
    // The calls' own paths (the message strings keep the recorded text).
    assert!(c.contains("open(\"etc/passwd\", "), "{c}");
    assert!(!c.contains("open(\"/etc/passwd\", "), "{c}");
    assert!(c.contains("open(\"__/__/outside.txt\", "), "{c}");
    assert!(!c.contains("open(\"../"), "{c}");
    // No comparison of more bytes than the scratch buffer holds.
    assert!(!c.contains("SAME(4,"), "{c}");
}

#[test]
fn a_timeline_of_endless_overlap_is_refused_at_its_lane_limit() {
    for output in ["--svg", "-o"] {
        let (out, _dir) = tool(
            "tee-log",
            &["timeline", &arg("overlap.tlog"), output, "t.out"],
        );
        assert_eq!(out.status, 2, "{output}: {out:?}");
        assert!(
            out.stderr.contains("record 1024: more than 1024 lanes")
                && out.stderr.contains("--max-lanes"),
            "{output}: {out:?}"
        );
    }
    let (out, _dir) = tool(
        "tee-log",
        &[
            "timeline",
            &arg("overlap.tlog"),
            "-o",
            "t.json",
            "--max-lanes",
            "30000",
        ],
    );
    assert_eq!(out.status, 0, "{out:?}");
}

#[test]
fn into_dir_refuses_deep_paths_far_offsets_and_does_not_wait_on_a_fifo() {
    let (out, dir) = tool(
        "tee-replay",
        &[&arg("deep-mkdir.tlog"), "--into-dir", "out"],
    );
    assert!(
        out.stderr.contains("a path of 4096 bytes or more"),
        "{out:?}"
    );
    assert!(!dir.path().join("out/a/a").exists());

    let (out, dir) = tool("tee-replay", &[&arg("seek-far.tlog"), "--into-dir", "out"]);
    assert!(out.stderr.contains("past the largest"), "{out:?}");
    let far = std::fs::metadata(dir.path().join("out/far.bin")).map_or(0, |m| m.len());
    assert!(far < 1 << 31, "{far}");

    // A FIFO where the log writes a file: refused, not waited on.
    let dir = scratch();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let fifo = dir.path().join("out/far.bin");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let out = run(
        dir.path(),
        "tee-replay",
        &[&arg("seek-far.tlog"), "--into-dir", "out"],
    );
    // ENXIO: a FIFO opened for writing without blocking, with no reader.
    assert!(
        out.stderr
            .contains("record seq 1: No such device or address"),
        "{out:?}"
    );
}

#[test]
fn decompression_stops_at_the_inflation_limit_in_every_reader() {
    for args in [
        vec!["verify"],
        vec!["dump"],
        vec!["stats"],
        vec!["timeline", "-o", "t.json"],
    ] {
        let mut full = args.clone();
        full.insert(1, "");
        let log = arg("zstd-bomb.tlog");
        full[1] = &log;
        let (out, _dir) = tool("tee-log", &full);
        assert_eq!(out.status, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains("--max-inflation"), "{args:?}: {out:?}");
    }
    let (out, dir) = tool("tee-replay", &[&arg("zstd-bomb.tlog"), "--into-dir", "out"]);
    assert_eq!(out.status, 2, "{out:?}");
    assert!(out.stderr.contains("--max-inflation"), "{out:?}");
    let big = std::fs::metadata(dir.path().join("out/big.bin")).map_or(0, |m| m.len());
    assert!(big < 200 << 20, "{big}");
    // Raised, the same log reads.
    let (out, _dir) = tool(
        "tee-log",
        &[
            "verify",
            "--max-inflation",
            "1000000",
            &arg("zstd-bomb.tlog"),
        ],
    );
    assert_eq!(out.status, 0, "{out:?}");
}

#[test]
fn lz4_frames_claiming_more_than_lz4_expands_are_damage_at_once() {
    let (out, _dir) = tool("tee-log", &["verify", &arg("lz4-claims.tlog")]);
    assert_eq!(out.status, 3, "{out:?}");
    assert!(out.stdout.contains("more than LZ4 expands"), "{out:?}");
}

#[test]
fn text_from_a_log_is_escaped_wherever_it_is_printed() {
    let (dump, _dir) = tool("tee-log", &["dump", &arg("raw-text.tlog")]);
    let (stats, _dir) = tool("tee-log", &["stats", &arg("raw-text.tlog")]);
    for out in [&dump, &stats] {
        assert!(!out.stdout.contains('\u{1b}'), "{out:?}");
        assert!(
            !out.stdout.lines().any(|l| l.starts_with("[cage 2] unlink")),
            "{out:?}"
        );
    }
    let (out, dir) = tool(
        "tee-log",
        &["timeline", &arg("raw-text.tlog"), "--svg", "t.svg"],
    );
    assert_eq!(out.status, 0, "{out:?}");
    let svg = std::fs::read(dir.path().join("t.svg")).unwrap();
    assert!(
        !svg.iter().any(|&b| b < 0x20 && !b"\n\r\t".contains(&b)),
        "a control byte in the SVG"
    );
    assert!(!String::from_utf8_lossy(&svg).contains("<b>"), "markup");
}

#[test]
fn every_command_gives_one_exit_code_for_the_same_bad_header() {
    let dir = scratch();
    let empty = dir.path().join("empty.tlog");
    std::fs::write(&empty, b"").unwrap();
    let cut = dir.path().join("cut.tlog");
    let whole = std::fs::read(fixture("after-exit.tlog")).unwrap();
    std::fs::write(&cut, &whole[..20]).unwrap();
    // A header naming a codec no reader knows: the lz4 fixture's header
    // with its codec byte changed, its checksum made right.
    let codec = dir.path().join("codec.tlog");
    let mut bytes = std::fs::read(fixture("lz4-claims.tlog")).unwrap();
    let len = bytes[14] as usize;
    let payload = 12 + 2 + 1 + 4;
    bytes[payload + len - 1] = 9;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes[14..15]);
    crc.update(&bytes[payload..payload + len]);
    bytes[15..19].copy_from_slice(&crc.finalize().to_le_bytes());
    std::fs::write(&codec, &bytes[..payload + len]).unwrap();

    for (file, want) in [(&empty, 3), (&cut, 3), (&codec, 2)] {
        let log = file.to_str().unwrap();
        let other = arg("after-exit.tlog");
        for args in [
            vec!["tee-log", "verify", log],
            vec!["tee-log", "dump", log],
            vec!["tee-log", "stats", log],
            vec!["tee-log", "diff", log, &other],
            vec!["tee-log", "salvage", log, "s.tlog"],
            vec!["tee-log", "timeline", log, "-o", "t.json"],
            vec!["tee-log", "repro", log, "-o", "r.c"],
            vec!["tee-replay", log, "%<", "passthrough-grate", "%>"],
            vec!["tee-replay", log, "--into-dir", "out"],
        ] {
            let (out, _dir) = tool(args[0], &args[1..]);
            assert_eq!(out.status, want, "{args:?}: {out:?}");
        }
    }
}

#[test]
fn outputs_never_follow_a_symlink() {
    for args in [
        vec!["repro", "LOG", "-o", "OUT"],
        vec!["timeline", "LOG", "-o", "OUT"],
        vec!["timeline", "LOG", "--svg", "OUT"],
    ] {
        let dir = scratch();
        let target = dir.path().join("target.txt");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let log = arg("after-exit.tlog");
        let with = |force: bool| {
            let mut a: Vec<&str> = args
                .iter()
                .map(|w| match *w {
                    "LOG" => log.as_str(),
                    "OUT" => "link",
                    other => other,
                })
                .collect();
            if force {
                a.push("--force");
            }
            run(dir.path(), "tee-log", &a)
        };
        // A dangling link is something in the way.
        let refused = with(false);
        assert_eq!(refused.status, 2, "{args:?}: {refused:?}");
        assert!(!target.exists(), "{args:?}: the link was followed");
        // Forced, the link itself is replaced; what it pointed at is not
        // made or touched.
        std::fs::write(&target, b"keep").unwrap();
        let forced = with(true);
        assert_eq!(forced.status, 0, "{args:?}: {forced:?}");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep", "{args:?}");
        assert!(!std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
}

#[test]
fn a_driver_killed_under_the_replay_stops_it_with_one_line() {
    let (out, _dir) = tool(
        "tee-replay",
        &[
            &arg("after-exit.tlog"),
            "%<",
            "faulty-grate",
            "kill-caller",
            "--calls",
            "write",
            "%>",
        ],
    );
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("(playing recorded cage 3) ended before its last record"),
        "{out:?}"
    );
}
