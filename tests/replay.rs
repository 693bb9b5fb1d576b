//! tee-replay: a recording fed into grate stacks, offline.

use crate::util::{assert_demo_tree, run, run_ok, scratch, tree};
use std::path::Path;

/// Records demo-files (optionally through a primary block) into `dir/t.log`.
fn record(dir: &Path, primary: &[&str]) {
    // Timed per call: the reports compare the recorded durations.
    let mut args = vec!["--timing", "call", "--record", "t.log"];
    if !primary.is_empty() {
        args.push("%{");
        args.extend_from_slice(primary);
        args.push("%}");
    }
    args.push("demo-files");
    run_ok(dir, "tee-grate", &args, 0);
}

/// A fresh directory holding only a copy of `dir/t.log`.
fn replay_dir(dir: &Path) -> tempfile::TempDir {
    let fresh = crate::util::scratch();
    std::fs::copy(dir.join("t.log"), fresh.path().join("t.log")).expect("copy log");
    fresh
}

#[test]
fn archive_replay_rebuilds_the_files_and_touches_nothing_else() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    let out = run_ok(
        dir.path(),
        "tee-replay",
        &["t.log", "%<", "archive-grate", "arch", "%>"],
        0,
    );
    assert!(out.stderr.contains("0 divergences"), "{}", out.stderr);
    assert_demo_tree(dir.path(), "arch/demo-out");
    let top: Vec<String> = tree(dir.path())
        .into_keys()
        .filter(|k| !k.starts_with("arch"))
        .collect();
    assert_eq!(
        top,
        ["t.log"],
        "the replay touched files outside the archive"
    );
}

#[test]
fn into_dir_gives_the_same_tree() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    run_ok(
        dir.path(),
        "tee-replay",
        &["t.log", "--into-dir", "restored"],
        0,
    );
    assert_demo_tree(dir.path(), "restored/demo-out");
}

#[test]
fn into_dir_never_writes_outside_the_directory() {
    let rec = scratch();
    run_ok(
        rec.path(),
        "tee-grate",
        &["--record", "t.log", "--", "demo-files", "../escape"],
        0,
    );
    let dir = replay_dir(rec.path());
    let out = run(
        dir.path(),
        "tee-replay",
        &["t.log", "--into-dir", "inner/restored"],
    );
    let written: Vec<String> = tree(dir.path())
        .into_keys()
        .filter(|k| k.contains("escape"))
        .collect();
    assert!(
        written.is_empty(),
        "wrote outside the directory: {written:?}"
    );
    assert_eq!(
        out.status, 2,
        "refused paths must fail the run: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("outside the target directory"),
        "{}",
        out.stderr
    );
}

#[test]
fn imfs_recording_replays_clean_and_a_regression_is_pinned() {
    let rec = scratch();
    record(rec.path(), &["imfs-grate"]);
    let dir = replay_dir(rec.path());
    let clean = run_ok(
        dir.path(),
        "tee-replay",
        &["t.log", "%<", "imfs-grate", "%>"],
        0,
    );
    assert!(clean.stderr.contains("0 divergences"), "{}", clean.stderr);

    let log =
        formats::read_all(dir.path().join("t.log"), formats::RecoveryMode::Strict).expect("log");
    let first_file_write = log
        .records
        .iter()
        .position(
            |r| matches!(r, formats::Record::Syscall(s) if s.nr == 1 && s.full_args()[0].0 > 2),
        )
        .expect("a write to a file");

    let out = run_ok(
        dir.path(),
        "tee-replay",
        &[
            "--report",
            "r.json",
            "t.log",
            "%<",
            "imfs-grate",
            "faulty-grate",
            "short-write",
            "%>",
        ],
        1,
    );
    assert!(
        out.stdout
            .contains(&format!("divergence at record {first_file_write} ")),
        "{}",
        out.stdout
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).expect("report"))
            .expect("json");
    let first = &report["divergences"][0];
    assert_eq!(first["index"], first_file_write as u64);
    assert_eq!(first["fd_path"], "demo-out/notes.txt");
    assert_eq!(first["recorded"], 6);
    assert_eq!(first["replayed"], 3);
    // Both durations: the recorded primary's and the replayed stack's.
    let recorded_ns = match &log.records[first_file_write] {
        formats::Record::Syscall(s) => s.duration_ns.expect("a 1.2 log times its calls"),
        other => panic!("{other:?}"),
    };
    assert_eq!(first["recorded_ns"], recorded_ns);
    assert!(first["replayed_ns"].as_u64().is_some(), "{first}");
    assert!(
        out.stdout.contains(&format!(
            "  took {} s recorded / ",
            render::seconds(recorded_ns)
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn forked_child_replays_as_its_own_driver_cage() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    run_ok(
        dir.path(),
        "tee-replay",
        &["t.log", "%<", "strace-grate", "--log", "s.log", "%>"],
        0,
    );
    let log = std::fs::read_to_string(dir.path().join("s.log")).expect("strace log");
    let cage_of = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .and_then(|l| l.strip_prefix("[cage "))
            .and_then(|l| l.split(']').next())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{needle} not in:\n{log}"))
    };
    let parent = cage_of("mkdir(\"demo-out\"");
    let child = cage_of("rename(\"demo-out/child.txt\"");
    assert_ne!(
        parent, child,
        "the child's calls came from the parent's cage"
    );
    // tee-replay is cage 1 and the strace grate cage 2: the driver, a real
    // cage under the grate, is the caller the grate sees.
    assert_eq!(parent, "3");
}

#[test]
fn unhandled_unlink_never_reaches_real_files_unless_passthrough() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    std::fs::create_dir(dir.path().join("demo-out")).expect("mkdir");
    std::fs::write(dir.path().join("demo-out/tmp.txt"), "precious").expect("write");
    run_ok(
        dir.path(),
        "tee-replay",
        &["t.log", "%<", "passthrough-grate", "%>"],
        0,
    );
    assert_eq!(
        std::fs::read(dir.path().join("demo-out/tmp.txt")).expect("kept"),
        b"precious"
    );

    let out = run(
        dir.path(),
        "tee-replay",
        &[
            "--passthrough",
            "--keep-going",
            "t.log",
            "%<",
            "passthrough-grate",
            "%>",
        ],
    );
    assert!(out.status <= 1, "{}", out.stderr);
    assert!(
        !dir.path().join("demo-out/tmp.txt").exists(),
        "--passthrough should let the unlink through"
    );
}

#[test]
fn torn_log_replays_its_prefix_with_a_warning() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    let log = dir.path().join("t.log");
    let len = std::fs::metadata(&log).expect("log").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .expect("open");
    file.set_len(len - 5).expect("truncate");
    let out = run_ok(dir.path(), "tee-replay", &["t.log", "--into-dir", "d"], 0);
    assert!(out.stderr.contains("torn tail"), "{}", out.stderr);
    assert!(dir.path().join("d/demo-out/notes.txt").exists());
}

#[test]
fn corrupt_log_is_refused_unless_salvaged() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    let log = dir.path().join("t.log");
    let mut bytes = std::fs::read(&log).expect("log");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&log, bytes).expect("write");
    let refused = run(dir.path(), "tee-replay", &["t.log", "--into-dir", "d"]);
    assert_eq!(refused.status, 3, "a damaged log: {}", refused.stderr);
    assert!(refused.stderr.contains("--salvage"), "{}", refused.stderr);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    let salvaged = run(
        dir.path(),
        "tee-replay",
        &["--salvage", "t.log", "--into-dir", "d"],
    );
    assert!(salvaged.status <= 1, "{}", salvaged.stderr);
    assert!(
        salvaged.stderr.contains("skipped damaged bytes"),
        "{}",
        salvaged.stderr
    );
}

#[test]
fn a_salvaged_replay_names_the_first_damaged_ranges_and_counts_the_rest() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    let log = dir.path().join("t.log");
    let bytes = std::fs::read(&log).expect("log");
    // Damage goes where the first record starts.
    let reader = formats::LogReader::new(&bytes[..], formats::RecoveryMode::Strict).unwrap();
    let at = reader.valid_offset() as usize;
    let ranges = 3000;
    let mut damaged = bytes[..at].to_vec();
    damaged.extend(crate::util::many_damaged_ranges(ranges));
    damaged.extend(&bytes[at..]);
    std::fs::write(&log, damaged).expect("write");
    let out = run(
        dir.path(),
        "tee-replay",
        &["--salvage", "t.log", "--into-dir", "d"],
    );
    assert!(out.status <= 1, "{}", out.stderr);
    let named = out.stderr.matches("skipped damaged bytes").count();
    assert_eq!(named, 10, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("skipped {} damaged ranges", 2 * ranges)),
        "{}",
        out.stderr
    );
    assert_demo_tree(&dir.path().join("d"), "demo-out");
}

#[test]
fn a_log_of_many_cages_alive_at_once_replays_every_call() {
    // 300 children alive together: each replayed cage waits for its turn
    // while the others take theirs.
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &["--record", "t.log", "--", "demo-forks", "300", "together"],
        0,
    );
    let out = run_ok(
        dir.path(),
        "tee-replay",
        &["t.log", "%<", "passthrough-grate", "%>"],
        0,
    );
    // Each child closes the pipe's write end, reads to its end and closes
    // a bad fd: three replayed calls a child at least.
    assert!(out.stderr.contains(" 0 divergences"), "{}", out.stderr);
    let replayed: u64 = out
        .stderr
        .split_whitespace()
        .zip(out.stderr.split_whitespace().skip(1))
        .find(|(_, w)| *w == "replayed,")
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(0);
    assert!(replayed >= 3 * 300, "{}", out.stderr);
}

#[test]
fn until_and_cages_limit_what_is_replayed() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    let log =
        formats::read_all(dir.path().join("t.log"), formats::RecoveryMode::Strict).expect("log");
    let child_exec = log
        .records
        .iter()
        .position(|r| matches!(r, formats::Record::Exec(e) if e.path == b"demo-child"))
        .expect("the child's exec");
    let until = (child_exec - 1).to_string();
    run_ok(
        dir.path(),
        "tee-replay",
        &["--until", &until, "t.log", "--into-dir", "early"],
        0,
    );
    assert!(dir.path().join("early/demo-out/notes.txt").exists());
    assert!(
        !dir.path().join("early/demo-out/child-done.txt").exists(),
        "--until let later records through"
    );

    let formats::Record::Exec(first) = log
        .records
        .iter()
        .find(|r| matches!(r, formats::Record::Exec(_)))
        .expect("exec")
    else {
        unreachable!()
    };
    let app = first.cage.to_string();
    run_ok(
        dir.path(),
        "tee-replay",
        &["--cages", &app, "t.log", "--into-dir", "parent"],
        0,
    );
    assert!(dir.path().join("parent/demo-out/notes.txt").exists());
    assert!(
        !dir.path().join("parent/demo-out/child-done.txt").exists(),
        "--cages let the child's calls through"
    );

    // The same filters on a stack replay.
    let stack = ["t.log", "%<", "strace-grate", "--log", "s.log", "%>"];
    let filtered = [&["--cages", &app, "--until", &until][..], &stack[..]].concat();
    let out = run_ok(dir.path(), "tee-replay", &filtered, 0);
    assert!(out.stderr.contains("skipped"), "{}", out.stderr);
    let traced = std::fs::read_to_string(dir.path().join("s.log")).expect("strace log");
    assert!(traced.contains("mkdir(\"demo-out\""), "{traced}");
    assert!(!traced.contains("child.txt"), "{traced}");
}

#[test]
fn command_line_mistakes_are_named_before_anything_is_replayed() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    let cases: [(&[&str], &str); 3] = [
        (
            &["t.log", "--bogus", "--into-dir", "d"],
            "unknown option `--bogus`",
        ),
        (
            &[
                "--report",
                "no/such/dir/r.json",
                "t.log",
                "%<",
                "archive-grate",
                "arch",
                "%>",
            ],
            "no/such/dir/r.json",
        ),
        (
            &["t.log", "%<", "no-such-grate", "%>"],
            "cannot start no-such-grate",
        ),
    ];
    for (args, needle) in cases {
        let out = run(dir.path(), "tee-replay", args);
        assert_eq!(out.status, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }
    assert!(
        !dir.path().join("arch").exists(),
        "a bad --report must stop the replay before it starts"
    );
    assert!(!dir.path().join("d").exists());
}

#[test]
fn report_is_a_new_file_unless_forced_and_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    std::fs::write(dir.path().join("r.json"), "keep\n").unwrap();
    let stack = ["t.log", "%<", "archive-grate", "arch", "%>"];
    let refused = run(
        dir.path(),
        "tee-replay",
        &[&["--report", "r.json"][..], &stack].concat(),
    );
    assert_eq!(refused.status, 2, "{refused:?}");
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r.json")).unwrap(),
        "keep\n"
    );
    run_ok(
        dir.path(),
        "tee-replay",
        &[&["--force", "--report", "r.json"][..], &stack].concat(),
        0,
    );
    let report = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    assert!(report.contains("\"divergences\""), "{report}");
    let mode = std::fs::metadata(dir.path().join("r.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// A log is untrusted input: archive-grate seeds the copy of a file opened
/// for writing without O_TRUNC from "the real file", and in a replay that
/// must not be a host file (demo-files reopens notes.txt with O_APPEND).
#[test]
fn a_replayed_grate_never_reads_a_host_file_the_replay_did_not_create() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    std::fs::create_dir(dir.path().join("demo-out")).unwrap();
    std::fs::write(dir.path().join("demo-out/notes.txt"), "SECRET\n").unwrap();
    let out = run_ok(
        dir.path(),
        "tee-replay",
        &["t.log", "%<", "archive-grate", "arch", "%>"],
        0,
    );
    assert!(out.stderr.contains("0 divergences"), "{}", out.stderr);
    let archived = std::fs::read_to_string(dir.path().join("arch/demo-out/notes.txt")).unwrap();
    assert!(
        !archived.contains("SECRET"),
        "a host file leaked into the archive: {archived:?}"
    );
    assert_demo_tree(dir.path(), "arch/demo-out");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("demo-out/notes.txt")).unwrap(),
        "SECRET\n"
    );
}

/// A buffer cut by --max-buffer is known from the record: the rebuilt
/// files say they are incomplete and the exit status is 1, never 0.
#[test]
fn cut_writes_are_reported_never_presented_as_whole() {
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &[
            "--max-buffer",
            "4",
            "--record",
            "mb.log",
            "--",
            "demo-files",
        ],
        0,
    );
    let out = run(
        dir.path(),
        "tee-replay",
        &["--report", "r.json", "mb.log", "--into-dir", "rd"],
    );
    assert_eq!(out.status, 1, "{out:?}");
    assert!(
        out.stderr.contains("incomplete: demo-out/notes.txt"),
        "{}",
        out.stderr
    );
    let report = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    assert!(report.contains("\"demo-out/notes.txt\""), "{report}");
    let stacked = run(
        dir.path(),
        "tee-replay",
        &["mb.log", "%<", "passthrough-grate", "%>"],
    );
    assert!(
        stacked.stderr.contains("had their input cut when recorded"),
        "{}",
        stacked.stderr
    );
}

/// Cage ids are never reused and Lind has 2047: a log of more processes
/// than that cannot be replayed, and says so instead of crashing.
#[test]
fn a_log_with_more_processes_than_lind_has_cages_is_refused_in_one_line() {
    use formats::{ForkRecord, LogHeader, LogWriter, Record, SyncPolicy};
    let dir = scratch();
    let file = std::fs::File::create(dir.path().join("many.log")).unwrap();
    let header = LogHeader::new("test", "0", "host-wasm32-sim", vec![]);
    let writer = LogWriter::new(file, &header, SyncPolicy::OnExit).unwrap();
    // The tee (cage 1) starts the app as cage 2, which forks the rest.
    for child in 2..2100u64 {
        writer.append(&Record::Fork(ForkRecord {
            seq: child,
            parent: if child == 2 { 1 } else { 2 },
            child,
            thread: false,
            time_us: child,
        }));
    }
    writer.finish();
    let out = run(
        dir.path(),
        "tee-replay",
        &["many.log", "%<", "passthrough-grate", "%>"],
    );
    assert_eq!(out.status, 2, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("cage ids"), "{}", out.stderr);
}

/// Writes a log by hand (as a hostile one would be): cage 2 forked by the
/// tee, then `records`.
fn crafted_log(dir: &Path, name: &str, records: &[formats::Record]) {
    use formats::{ForkRecord, LogHeader, LogWriter, Record, SyncPolicy};
    let file = std::fs::File::create(dir.join(name)).unwrap();
    let header = LogHeader::new("test", "0", "host-wasm32-sim", vec![]);
    let writer = LogWriter::new(file, &header, SyncPolicy::OnExit).unwrap();
    writer.append(&Record::Fork(ForkRecord {
        seq: 0,
        parent: 1,
        child: 2,
        thread: false,
        time_us: 0,
    }));
    for record in records {
        writer.append(record);
    }
    writer.finish();
}

/// A call of cage 2 with three argument values and input `buffers`.
fn crafted_call(
    seq: u64,
    nr: u32,
    values: [u64; 3],
    inputs: &[(u8, &[u8])],
    result: i64,
) -> formats::Record {
    use formats::{Buffer, UNUSED_ARG};
    let full = [
        values[0], values[1], values[2], UNUSED_ARG, UNUSED_ARG, UNUSED_ARG,
    ]
    .map(|v| (v, 2));
    let inputs = inputs
        .iter()
        .map(|&(arg, data)| Buffer {
            arg,
            index: 0,
            data: data.to_vec(),
            truncated_from: None,
        })
        .collect();
    formats::build::call_nr(seq, 2, nr, &[], result)
        .full_args(&full)
        .inputs(inputs)
        .at(seq)
        .record()
}

/// A log is untrusted: counts and sizes its bytes do not support are
/// refused with a line, never turned into terabyte sparse files.
#[test]
fn into_dir_refuses_sizes_the_log_does_not_support() {
    let dir = scratch();
    crafted_log(
        dir.path(),
        "big.log",
        &[
            crafted_call(1, 2, [0x1000, 0o101, 0o644], &[(0, b"big.bin")], 3),
            crafted_call(2, 1, [3, 0x2000, 1 << 40], &[(1, b"x")], 1 << 40),
            crafted_call(3, 77, [3, 1 << 42, 0], &[], 0),
        ],
    );
    let out = run(dir.path(), "tee-replay", &["big.log", "--into-dir", "out"]);
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("claims 1099511627776 bytes written but holds 1"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("past the largest a Lind cage can name"),
        "{}",
        out.stderr
    );
    let size = std::fs::metadata(dir.path().join("out/big.bin"))
        .unwrap()
        .len();
    assert!(size < 1 << 20, "big.bin is {size} bytes");
}

/// `--into-dir` keeps written files open; a rename or an unlink must not
/// leave it writing into the file that moved away.
#[test]
fn into_dir_writes_after_a_rename_or_unlink_land_in_the_new_file() {
    let dir = scratch();
    let creat = 0o1101; // O_WRONLY | O_CREAT | O_TRUNC
    crafted_log(
        dir.path(),
        "mv.log",
        &[
            crafted_call(1, 2, [0x1000, creat, 0o644], &[(0, b"a")], 3),
            crafted_call(2, 1, [3, 0x2000, 4], &[(1, b"one\n")], 4),
            crafted_call(3, 82, [0x1000, 0x1100, 0], &[(0, b"a"), (1, b"b")], 0),
            crafted_call(4, 2, [0x1000, creat, 0o644], &[(0, b"a")], 4),
            crafted_call(5, 1, [4, 0x2000, 4], &[(1, b"two\n")], 4),
            crafted_call(6, 87, [0x1100, 0, 0], &[(0, b"b")], 0),
            crafted_call(7, 2, [0x1100, creat, 0o644], &[(0, b"b")], 5),
            crafted_call(8, 1, [5, 0x2000, 6], &[(1, b"three\n")], 6),
        ],
    );
    run_ok(
        dir.path(),
        "tee-replay",
        &["mv.log", "--into-dir", "out"],
        0,
    );
    let read = |name: &str| std::fs::read(dir.path().join("out").join(name)).unwrap();
    assert_eq!(read("a"), b"two\n");
    assert_eq!(read("b"), b"three\n");
}

/// A path with a NUL inside cannot come from an app: replayed, a grate
/// would read it as a shorter, other path.
#[test]
fn a_recorded_path_with_a_nul_inside_is_not_replayed() {
    let dir = scratch();
    crafted_log(
        dir.path(),
        "nul.log",
        &[
            crafted_call(1, 2, [0x1000, 0o101, 0o644], &[(0, b"keep\0.ssh/x")], 3),
            crafted_call(2, 1, [3, 0x2000, 2], &[(1, b"hi")], 2),
        ],
    );
    let out = run_ok(
        dir.path(),
        "tee-replay",
        &["nul.log", "%<", "archive-grate", "arch", "%>"],
        0,
    );
    assert!(
        out.stderr.contains("a path with a NUL byte inside"),
        "{}",
        out.stderr
    );
    assert!(
        !dir.path().join("arch/keep").exists(),
        "the path was cut at its NUL"
    );
}

/// An archive's copy is never more open than the file: the mode the
/// creating open asked for, else private.
#[test]
fn archived_copies_keep_the_recorded_mode_or_stay_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch();
    crafted_log(
        dir.path(),
        "modes.log",
        &[
            crafted_call(1, 2, [0x1000, 0o101, 0o600], &[(0, b"priv.txt")], 3),
            crafted_call(2, 1, [3, 0x2000, 1], &[(1, b"s")], 1),
            crafted_call(3, 2, [0x1000, 0o1, 0], &[(0, b"other.txt")], 4),
            crafted_call(4, 1, [4, 0x2000, 1], &[(1, b"t")], 1),
        ],
    );
    run_ok(
        dir.path(),
        "tee-replay",
        &["modes.log", "%<", "archive-grate", "arch", "%>"],
        0,
    );
    for name in ["priv.txt", "other.txt"] {
        let meta = std::fs::metadata(dir.path().join("arch").join(name)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
    }
}

/// The writer keeps every record within `SEQ_WINDOW` of sequence order
/// (SPEC.md, "Order"), so replay reads in bounded memory. A log further
/// out of order is refused before anything is replayed, never replayed in
/// the wrong order; one within the bound replays in sequence order.
#[test]
fn a_log_out_of_order_beyond_the_writers_bound_is_refused_not_misreplayed() {
    let window = formats::SEQ_WINDOW;
    let writes = window + 2;
    // open, then one-byte writes numbered 2.., with write 2 arriving `late`
    // records after its place.
    let log = |name: &str, late: u64| {
        let byte = |seq: u64| [b'a' + (seq % 26) as u8];
        let bytes: Vec<[u8; 1]> = (0..=writes + 1).map(byte).collect();
        let write =
            |seq: u64| crafted_call(seq, 1, [3, 0x2000, 1], &[(1, &bytes[seq as usize])], 1);
        let mut records = vec![crafted_call(
            1,
            2,
            [0x1000, 0o101, 0o644],
            &[(0, b"o.txt")],
            3,
        )];
        let mut order: Vec<u64> = (3..=writes + 1).collect();
        order.insert(late as usize, 2);
        records.extend(order.into_iter().map(write));
        let dir = scratch();
        crafted_log(dir.path(), name, &records);
        let want: Vec<u8> = (2..=writes + 1).map(|s| byte(s)[0]).collect();
        (dir, want)
    };

    // Write 2 read after write 2 + window - 1: within the bound.
    let (dir, want) = log("ok.log", window - 1);
    run_ok(dir.path(), "tee-log", &["verify", "ok.log"], 0);
    run_ok(
        dir.path(),
        "tee-replay",
        &["ok.log", "--into-dir", "out"],
        0,
    );
    let got = std::fs::read(dir.path().join("out/o.txt")).expect("replayed file");
    assert_eq!(got, want, "replayed in sequence order");

    // Write 2 read after write 2 + window: the writer would have written
    // it first.
    let (dir, _) = log("late.log", window);
    for (name, args) in [
        ("tee-replay", vec!["late.log", "--into-dir", "out"]),
        (
            "tee-replay",
            vec!["late.log", "%<", "passthrough-grate", "%>"],
        ),
        ("tee-log", vec!["diff", "late.log", "late.log"]),
    ] {
        let out = run(dir.path(), name, &args);
        assert_eq!(out.status, 3, "{name} {args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("late.log: offset ")
                && out
                    .stderr
                    .contains(&format!("(seq 2) comes after seq {}", window + 2))
                && out.stderr.contains("out of order"),
            "{}",
            out.stderr
        );
    }
    assert!(!dir.path().join("out").exists(), "nothing was replayed");
    let verify = run(dir.path(), "tee-log", &["verify", "late.log"]);
    assert_eq!(verify.status, 3, "{verify:?}");
    assert!(
        verify.stdout.contains("corrupt: offset "),
        "{}",
        verify.stdout
    );
}

/// Logs written by formats 1.0 and 1.1 (kept as fixtures since) still
/// dump, verify, replay and give stats and a timeline; without durations.
#[test]
fn version_1_0_and_1_1_logs_still_dump_verify_and_replay() {
    for version in ["1.0", "1.1"] {
        let dir = scratch();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("formats/tests/fixtures/v{version}-small.tlog"));
        std::fs::copy(&fixture, dir.path().join("old.tlog")).expect("fixture");
        let dump = run_ok(dir.path(), "tee-log", &["dump", "-T", "old.tlog"], 0);
        assert!(
            dump.stdout.contains("write(1, \"hello\\n\", 6) = 6\n"),
            "{version}: {}",
            dump.stdout
        );
        run_ok(dir.path(), "tee-log", &["verify", "old.tlog"], 0);
        let stats = run_ok(dir.path(), "tee-log", &["stats", "old.tlog"], 0);
        assert!(
            stats.stdout.contains("     -           -"),
            "{}",
            stats.stdout
        );
        run_ok(
            dir.path(),
            "tee-log",
            &["timeline", "old.tlog", "-o", "t.json", "--svg", "t.svg"],
            0,
        );
        run_ok(
            dir.path(),
            "tee-replay",
            &["old.tlog", "--into-dir", "out"],
            0,
        );
        let out = run_ok(
            dir.path(),
            "tee-replay",
            &["old.tlog", "%<", "passthrough-grate", "%>"],
            0,
        );
        assert!(out.stderr.contains("0 divergences"), "{}", out.stderr);
    }
}

/// Stacks as tee-replay takes them: imfs-grate alone, with writes
/// shortened, with reads garbled.
const IMFS: [&str; 3] = ["%<", "imfs-grate", "%>"];
const SHORT: [&str; 5] = ["%<", "imfs-grate", "faulty-grate", "short-write", "%>"];
const GARBLED: [&str; 7] = [
    "%<",
    "imfs-grate",
    "faulty-grate",
    "garbage",
    "--calls",
    "read",
    "%>",
];

/// `tee-replay LOG '%<' A '%>' '%<' B '%>'`: the stacks are compared with
/// each other, the recording is only their input.
#[test]
fn differential_replay_pins_the_first_call_where_two_stacks_part_ways() {
    let rec = scratch();
    record(rec.path(), &[]);
    let dir = replay_dir(rec.path());
    let log = formats::read_all(dir.path().join("t.log"), formats::RecoveryMode::Strict).unwrap();
    let first_file_write = log
        .records
        .iter()
        .position(
            |r| matches!(r, formats::Record::Syscall(s) if s.nr == 1 && s.full_args()[0].0 > 2),
        )
        .expect("a write to a file");
    // Absolute paths for the log and the report, from another directory.
    let elsewhere = scratch();
    let log_path = dir.path().join("t.log");
    let report_path = dir.path().join("r.json");
    let out = run_ok(
        elsewhere.path(),
        "tee-replay",
        &[
            &[
                "--report",
                report_path.to_str().unwrap(),
                log_path.to_str().unwrap(),
            ][..],
            &IMFS,
            &SHORT,
        ]
        .concat(),
        1,
    );
    assert!(
        out.stdout.contains(&format!(
            "divergence at record {first_file_write} (seq {first_file_write}, cage 2) between stacks 1 and 2: write(3, \"alpha\\n\", 6) = 6\n  stack 1 returned 6 / stack 2 returned 3\n"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("fd opened as \"demo-out/notes.txt\""),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("into 2 stacks"), "{}", out.stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let d = &report["divergences"][0];
    assert_eq!(d["index"], first_file_write as u64);
    assert_eq!(d["between"], serde_json::json!([1, 2]));
    assert_eq!(d["kind"], "result");
    assert_eq!(d["fd_path"], "demo-out/notes.txt");
    assert_eq!(report["divergences"].as_array().unwrap().len(), 1);
    assert_eq!(
        report["stacks"][1]["chain"],
        "imfs-grate faulty-grate short-write"
    );

    // Two stacks that both shorten writes differ from the recording in the
    // same way everywhere: no divergence, the agreement counted.
    let same = run_ok(
        dir.path(),
        "tee-replay",
        &[&["t.log"][..], &SHORT, &SHORT].concat(),
        0,
    );
    assert!(
        same.stderr.contains(" 0 divergences between stacks"),
        "{}",
        same.stderr
    );
    let alike: u64 = same
        .stderr
        .split("divergences between stacks; ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a count of calls alike against the recording");
    assert!(alike > 0, "{}", same.stderr);

    // Three stacks: each compared with the first.
    let three = run_ok(
        dir.path(),
        "tee-replay",
        &[&["--keep-going", "t.log"][..], &IMFS, &IMFS, &SHORT].concat(),
        1,
    );
    assert!(
        three.stdout.contains("between stacks 1 and 3"),
        "{}",
        three.stdout
    );
    assert!(
        !three.stdout.contains("between stacks 1 and 2"),
        "{}",
        three.stdout
    );

    // Bytes that differ are shown where they first do, from both stacks.
    let garbled = run_ok(
        dir.path(),
        "tee-replay",
        &[&["t.log"][..], &IMFS, &GARBLED].concat(),
        1,
    );
    assert!(
        garbled.stdout.contains(
            "output of arg 2 differs at byte 0: stack 1 \"alpha\\nbe\" / stack 2 \"\\xa5"
        ),
        "{}",
        garbled.stdout
    );

    // An unclosed second stack is one clear line and exit 2.
    let unclosed = run_ok(
        dir.path(),
        "tee-replay",
        &["t.log", "%<", "imfs-grate", "%>", "%<", "imfs-grate"],
        2,
    );
    assert!(
        unclosed.stderr.contains("stack 2 has no closing '%>'"),
        "{}",
        unclosed.stderr
    );
    assert_eq!(unclosed.stderr.lines().count(), 1, "{}", unclosed.stderr);
}

/// `--into-dir` joins back-to-back writes into one; a seek, a positional
/// write, an append after it or another file's write must each still land
/// where the app's did.
#[test]
fn into_dir_joined_writes_land_where_the_apps_did() {
    use formats::{Record, SyscallRecord};
    let pwrite = |seq, fd, data: &'static [u8], offset| {
        let mut record = crafted_call(seq, 18, [fd, 0x2000, data.len() as u64], &[(1, data)], 1);
        if let Record::Syscall(call) = &mut record {
            let mut full = call.full_args();
            full[3].0 = offset;
            call.args = SyscallRecord::args_from_full(2, &full);
            call.result = data.len() as i64;
        }
        record
    };
    let dir = scratch();
    let creat = 0o1101; // O_WRONLY | O_CREAT | O_TRUNC
    let append = 0o2101; // O_WRONLY | O_CREAT | O_APPEND
    crafted_log(
        dir.path(),
        "joins.log",
        &[
            crafted_call(1, 2, [0x1000, creat, 0o644], &[(0, b"s")], 3),
            crafted_call(2, 1, [3, 0x2000, 4], &[(1, b"aaaa")], 4),
            crafted_call(3, 8, [3, 2, 0], &[], 2), // lseek(3, 2, SEEK_SET)
            crafted_call(4, 1, [3, 0x2000, 2], &[(1, b"bb")], 2),
            crafted_call(5, 2, [0x1000, append, 0o644], &[(0, b"c")], 4),
            crafted_call(6, 1, [4, 0x2000, 5], &[(1, b"12345")], 5),
            pwrite(7, 4, b"X", 1),
            crafted_call(8, 1, [4, 0x2000, 1], &[(1, b"6")], 1),
            crafted_call(9, 1, [3, 0x2000, 2], &[(1, b"cc")], 2),
            crafted_call(10, 1, [4, 0x2000, 1], &[(1, b"7")], 1),
        ],
    );
    run_ok(
        dir.path(),
        "tee-replay",
        &["joins.log", "--into-dir", "out"],
        0,
    );
    let read = |name: &str| std::fs::read(dir.path().join("out").join(name)).unwrap();
    assert_eq!(read("s"), b"aabbcc");
    assert_eq!(read("c"), b"1X34567");
}
