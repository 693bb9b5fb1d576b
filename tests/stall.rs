//! A secondary that blocks or lags: the app never waits on it for ever,
//! and what is lost is said, in the summary and in the log.

use crate::craft::{call, exit, fork, write_log};
use crate::util::{bin, finish_within, plain_demo_files, run, run_ok, scratch, Output};
use formats::{GapRecord, Record};
use std::process::Command;
use std::time::Duration;

/// Far above what these runs take, far below for ever.
const LIMIT: Duration = Duration::from_secs(90);

/// `tee-grate ARGS demo-files`, bounded in time; the app must print what
/// it prints with no tee and exit 0.
fn demo_files_under(args: &[&str]) -> Output {
    let dir = scratch();
    let mut command = Command::new(bin("tee-grate"));
    command.current_dir(dir.path()).args(args).arg("demo-files");
    let teed = finish_within(&mut command, LIMIT).expect("the tee ended within the limit");
    assert_eq!(teed.status, 0, "{args:?}\n{}", teed.stderr);
    assert_eq!(
        teed.stdout,
        plain_demo_files().0.stdout,
        "{args:?}\n{}",
        teed.stderr
    );
    teed
}

/// A grate that never returns from open: the app runs to its end with its
/// own output and the summary names the call. (The run itself does not end
/// while the grate is stuck: on Lind as here, the runtime waits for every
/// cage, and the grate's cage has a call in flight. The test stops it.)
#[test]
fn a_secondary_stuck_for_good_in_open_is_detached_and_named() {
    use std::io::{BufRead, BufReader, Read};
    let dir = scratch();
    let mut child = Command::new(bin("tee-grate"))
        .current_dir(dir.path())
        .args([
            "--stall",
            "300",
            "%{",
            "faulty-grate",
            "block",
            "--calls",
            "open,openat",
            "%}",
        ])
        .arg("demo-files")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tee-grate");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let detached = loop {
        match rx.recv_timeout(LIMIT) {
            Ok(line) if line.starts_with("tee-grate: secondary detached: ") => break line,
            Ok(line) => lines.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("no detach line within {LIMIT:?}: {lines:?}");
            }
        }
    };
    // The summary is printed once the app has ended, so its output is all
    // there.
    let _ = rx.recv_timeout(Duration::from_secs(5));
    let _ = child.kill();
    let _ = child.wait();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    assert_eq!(stdout, plain_demo_files().0.stdout);
    assert!(detached.contains("open(\"demo-out/"), "{detached}");
    assert!(
        detached.contains("did not return within 300 ms"),
        "{detached}"
    );
    assert!(
        detached.contains("calls after it not duplicated"),
        "{detached}"
    );
}

#[test]
fn a_slow_secondary_with_on_full_drop_costs_calls_not_time_and_says_so() {
    let teed = demo_files_under(&[
        "--queue",
        "1K",
        "--on-full",
        "drop",
        "%{",
        "faulty-grate",
        "sleep=20",
        "%}",
    ]);
    let stderr = &teed.stderr;
    assert!(
        stderr.contains("calls not duplicated: the queue was full (--on-full drop)"),
        "{stderr}"
    );
}

/// close(99) recorded as 0: any replay answers EBADF, a divergence,
/// unless a gap came before it.
fn log_with(dir: &std::path::Path, name: &str, gap: bool) -> String {
    let mut records = vec![fork(0, 1, 2)];
    if gap {
        records.push(Record::Gap(GapRecord { seq: 1, calls: 4 }));
    }
    records.push(Record::Syscall(call(2, 2, 3, &[99], 0)));
    records.push(exit(3, 2, 0));
    write_log(dir, name, &records, true);
    name.to_string()
}

#[test]
fn a_gap_is_reported_by_verify_and_what_follows_is_not_judged() {
    let dir = scratch();
    let plain = log_with(dir.path(), "plain.tlog", false);
    let gapped = log_with(dir.path(), "gapped.tlog", true);
    let replay = |log: &str| {
        run(
            dir.path(),
            "tee-replay",
            &[
                log,
                "%<",
                "faulty-grate",
                "errno=EIO",
                "--calls",
                "close",
                "%>",
            ],
        )
    };
    let diverged = replay(&plain);
    assert_eq!(diverged.status, 1, "{diverged:?}");
    let after_gap = replay(&gapped);
    assert_eq!(after_gap.status, 0, "{after_gap:?}");
    assert!(
        after_gap.stdout.contains("after a gap") || after_gap.stderr.contains("after a gap"),
        "{after_gap:?}"
    );
    let verify = run_ok(dir.path(), "tee-log", &["verify", &gapped], 0);
    assert!(
        verify
            .stdout
            .contains("4 calls not recorded in 1 gaps (the tee's queue was full)"),
        "{}",
        verify.stdout
    );
    let dump = run_ok(dir.path(), "tee-log", &["dump", &gapped], 0);
    assert!(
        dump.stdout.contains("4 calls not recorded here"),
        "{}",
        dump.stdout
    );
}

#[test]
fn batch_timing_stamps_records_in_order_and_call_timing_adds_durations() {
    for (timing, timed) in [("batch", false), ("call", true)] {
        let dir = scratch();
        run_ok(
            dir.path(),
            "tee-grate",
            &["--timing", timing, "--record", "t.log", "--", "demo-files"],
            0,
        );
        let log = formats::read_all(dir.path().join("t.log"), formats::RecoveryMode::Strict)
            .expect("log");
        let calls: Vec<&formats::SyscallRecord> = log
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Syscall(s) => Some(s),
                _ => None,
            })
            .collect();
        assert!(calls.len() > 20, "{timing}");
        assert!(
            calls.iter().all(|c| c.duration_ns.is_some() == timed),
            "{timing}: durations"
        );
        assert!(
            calls.windows(2).all(|w| w[0].time_us <= w[1].time_us),
            "{timing}: times follow the sequence"
        );
        assert!(calls.last().unwrap().time_us > 0, "{timing}: stamped");
    }
}
