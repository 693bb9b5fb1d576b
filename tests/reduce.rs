//! `tee-log reduce`: a log of over 10,000 calls with one fault injected
//! into the stack under test shrinks to a few calls that show the same
//! divergence, and the result is a valid log that replays to it.

use std::path::{Path, PathBuf};

use formats::{LogWriter, Record, RecoveryMode, SyncPolicy};

use crate::util::{run_ok, scratch};

/// The cages of a second recording, moved out of the first's way.
fn moved(cage: u64) -> u64 {
    // The second recording's app (2) becomes a child of the first's app.
    cage + 10
}

/// `demo-writes` with 10,000 writes, whose app then runs `demo-files` as
/// a child: two real recordings made one, seq renumbered in order.
fn big_log(dir: &Path) -> PathBuf {
    run_ok(
        dir,
        "tee-grate",
        &[
            "--record",
            "writes.log",
            "--",
            "demo-writes",
            "w.bin",
            "10000",
            "16",
        ],
        0,
    );
    run_ok(
        dir,
        "tee-grate",
        &["--record", "files.log", "--", "demo-files"],
        0,
    );
    let read = |name: &str| -> (formats::LogHeader, Vec<Record>) {
        let log = formats::read_all(dir.join(name), RecoveryMode::Strict).unwrap();
        let records = log
            .records
            .into_iter()
            .filter(|r| !matches!(r, Record::Trailer(_)))
            .collect();
        (log.header, records)
    };
    let (header, mut writes) = read("writes.log");
    let (_, files) = read("files.log");
    let exit_at = writes
        .iter()
        .rposition(|r| matches!(r, Record::Exit(e) if e.cage == 2 && e.process))
        .expect("the writer's exit");
    let tail = writes.split_off(exit_at);
    let mut all = writes;
    for mut r in files {
        match &mut r {
            // The first recording's app forks the second's.
            Record::Fork(f) if f.parent == 1 => {
                f.parent = 2;
                f.child = moved(f.child);
            }
            Record::Fork(f) => {
                f.parent = moved(f.parent);
                f.child = moved(f.child);
            }
            Record::Syscall(s) => {
                let old = s.cage;
                let mut full = s.full_args();
                for a in full.iter_mut().filter(|a| a.1 == old) {
                    a.1 = moved(old);
                }
                s.cage = moved(old);
                s.args = formats::SyscallRecord::args_from_full(s.cage, &full);
            }
            Record::Exec(e) => e.cage = moved(e.cage),
            Record::Exit(e) => e.cage = moved(e.cage),
            _ => {}
        }
        all.push(r);
    }
    all.extend(tail);
    let path = dir.join("big.log");
    let w = LogWriter::create(&path, &header, SyncPolicy::OnExit).unwrap();
    for (seq, mut r) in all.into_iter().enumerate() {
        match &mut r {
            Record::Syscall(s) => s.seq = seq as u64,
            Record::Fork(f) => f.seq = seq as u64,
            Record::Exec(e) => e.seq = seq as u64,
            Record::Exit(e) => e.seq = seq as u64,
            _ => {}
        }
        w.append(&r);
    }
    w.finish();
    path
}

fn calls_in(path: &Path) -> usize {
    formats::read_all(path, RecoveryMode::Strict)
        .unwrap()
        .records
        .iter()
        .filter(|r| matches!(r, Record::Syscall(_)))
        .count()
}

const OLD: [&str; 3] = ["%<", "imfs-grate", "%>"];
/// The stack under test: imfs-grate with every pread64's bytes garbled.
const NEW: [&str; 7] = [
    "%<",
    "imfs-grate",
    "faulty-grate",
    "garbage",
    "--calls",
    "pread64",
    "%>",
];

fn new_stack() -> Vec<&'static str> {
    NEW.to_vec()
}

#[test]
fn a_ten_thousand_call_log_shrinks_to_the_calls_behind_its_divergence() {
    let dir = scratch();
    let big = big_log(dir.path());
    assert!(calls_in(&big) >= 10_000, "{} calls", calls_in(&big));
    let mut args = vec!["reduce", "big.log", "-o", "small.log", "--against"];
    args.extend(OLD);
    args.extend(new_stack());
    let out = run_ok(dir.path(), "tee-log", &args, 0);
    let small = dir.path().join("small.log");
    let calls = calls_in(&small);
    // How small it got, for whoever runs with --nocapture.
    eprintln!("{}", out.stdout.trim());
    assert!(calls < 20, "{calls} calls left: {}", out.stdout);
    assert!(out.stdout.contains("divergence at seq "), "{}", out.stdout);
    run_ok(dir.path(), "tee-log", &["verify", "small.log"], 0);

    // Both logs replay to the same first divergence: the same call, the
    // same kind of difference, between the same stacks.
    let first = |log: &str| -> serde_json::Value {
        let mut args = vec!["--report", "r.json", "--force", log];
        args.extend(OLD);
        args.extend(new_stack());
        run_ok(dir.path(), "tee-replay", &args, 1);
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
        report["divergences"][0].clone()
    };
    let (before, after) = (first("big.log"), first("small.log"));
    for field in ["seq", "kind", "between", "call"] {
        assert_eq!(before[field], after[field], "{field}");
    }
    assert_eq!(after["kind"], "output");
    assert!(
        after["call"].as_str().unwrap().starts_with("pread64("),
        "{after}"
    );
}

#[test]
fn reduce_against_the_recording_and_its_errors() {
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &["--record", "t.log", "--", "demo-files"],
        0,
    );
    // One stack against the recording, with absolute paths.
    let log = dir.path().join("t.log");
    let small = dir.path().join("small.log");
    let mut args = vec![
        "reduce",
        log.to_str().unwrap(),
        "-o",
        small.to_str().unwrap(),
        "--stack",
    ];
    args.extend(new_stack());
    let elsewhere = scratch();
    run_ok(elsewhere.path(), "tee-log", &args, 0);
    assert!(calls_in(&small) < 10, "{} calls", calls_in(&small));

    // The output exists now: refused without --force.
    let refused = run_ok(elsewhere.path(), "tee-log", &args, 2);
    assert!(
        refused.stderr.contains("small.log: exists"),
        "{}",
        refused.stderr
    );

    let one_line = |args: &[&str], want: &str| {
        let out = run_ok(dir.path(), "tee-log", args, 2);
        assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    };
    one_line(
        &[
            "reduce",
            "t.log",
            "-o",
            "a.log",
            "--stack",
            "%<",
            "imfs-grate",
            "%>",
        ],
        "no divergence to shrink",
    );
    one_line(
        &[
            "reduce",
            "t.log",
            "-o",
            "a.log",
            "--stack",
            "%<",
            "imfs-grate",
        ],
        "no closing '%>'",
    );
    one_line(
        &[
            "reduce",
            "t.log",
            "-o",
            "a.log",
            "--against",
            "%<",
            "imfs-grate",
            "%>",
        ],
        "--against takes two stacks or more",
    );
    let mut spent = vec![
        "reduce", "t.log", "-o", "b.log", "--budget", "0ms", "--stack",
    ];
    spent.extend(new_stack());
    one_line(&spent, "not reducible within the budget");
    assert!(!dir.path().join("b.log").exists());
}
