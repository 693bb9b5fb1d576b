//! A secondary that blocks or lags: the app never waits on it for ever,
//! and what is lost is said, in the summary and in the log.

use crate::craft::{call, exit, fork, write_log};
use crate::util::{
    bin, finish_within, plain_demo_files, run, run_ok, run_until_said, scratch, Output,
};
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
/// own output, and the summary names the call and gives the app's status.
/// (The run itself does not end while the grate is stuck: on Lind as here,
/// the runtime waits for every cage, and the grate's cage has a call in
/// flight. The test stops it.)
#[test]
fn a_secondary_stuck_for_good_in_open_is_detached_and_named() {
    let dir = scratch();
    let mut command = Command::new(bin("tee-grate"));
    command.current_dir(dir.path()).args([
        "--stall",
        "300",
        "%{",
        "faulty-grate",
        "block",
        "--calls",
        "open,openat",
        "%}",
        "demo-files",
    ]);
    let teed = run_until_said(&mut command, "the app's exit status is", LIMIT)
        .expect("the summary within the limit");
    assert_eq!(teed.stdout, plain_demo_files().0.stdout);
    let stderr = &teed.stderr;
    assert!(
        stderr.contains("tee-grate: secondary detached: open(\"demo-out/"),
        "{stderr}"
    );
    assert!(stderr.contains("did not return within 300 ms"), "{stderr}");
    assert!(stderr.contains("calls after it not duplicated"), "{stderr}");
    assert!(stderr.contains("the app's exit status is 0;"), "{stderr}");
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

/// A FIFO at `dir/name`, opened for reading without blocking: the tee's
/// open finds a reader, and nothing is read until the test says so.
fn fifo_reader(dir: &std::path::Path, name: &str) -> std::fs::File {
    use rustix::fs::{FileType, Mode, CWD};
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name);
    rustix::fs::mknodat(CWD, &path, FileType::Fifo, Mode::from_raw_mode(0o600), 0).expect("mkfifo");
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(&path)
        .expect("open the FIFO for reading")
}

/// Everything the FIFO holds and will get, until its writer closes it.
fn drain(mut reader: std::fs::File) -> Vec<u8> {
    use std::io::Read;
    let deadline = std::time::Instant::now() + LIMIT;
    let mut got = Vec::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the writer never closed"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("read the FIFO: {e}"),
        }
    }
}

/// The app's 300 writes of 4 KiB, recorded into the FIFO `trace.fifo`.
const RECORD_INTO_FIFO: [&str; 8] = [
    "--force",
    "--record",
    "trace.fifo",
    "--",
    "demo-writes",
    "w.bin",
    "300",
    "4096",
];

/// demo-writes' output for `count` writes of 4 KiB.
fn wrote(count: usize) -> String {
    format!("wrote {} bytes\n", count * 4096)
}

/// A log given as a FIFO whose reader never reads: the recorder gives up
/// on it after the stall limit, the app ends with its own output and
/// status, and what reached the reader reads as a log.
#[test]
fn a_fifo_log_nobody_reads_stalls_the_recorder_not_the_run() {
    let dir = scratch();
    let reader = fifo_reader(dir.path(), "trace.fifo");
    let mut command = Command::new(bin("tee-grate"));
    command
        .current_dir(dir.path())
        .args(["--stall", "300"])
        .args(RECORD_INTO_FIFO);
    let teed = finish_within(&mut command, LIMIT).expect("the tee ended within the limit");
    assert_eq!(teed.status, 0, "{}", teed.stderr);
    assert_eq!(teed.stdout, wrote(300));
    assert!(
        teed.stderr.contains("trace.fifo: offset ")
            && teed.stderr.contains("its reader took nothing for 300 ms"),
        "{}",
        teed.stderr
    );
    assert!(
        teed.stderr.contains("calls after it not recorded"),
        "{}",
        teed.stderr
    );
    // What the FIFO holds is the log's start: its records read.
    std::fs::write(dir.path().join("got.log"), drain(reader)).expect("save");
    let dump = run(dir.path(), "tee-log", &["dump", "got.log"]);
    let writes = dump.stdout.matches("write(").count();
    assert!(writes > 3, "{dump:?}");
    let verify = run(dir.path(), "tee-log", &["verify", "got.log"]);
    assert_ne!(verify.status, 0, "a log cut short: {verify:?}");
}

/// A real `--on-full drop` run: the log's reader waits until the app is
/// done, so the queue fills and calls are dropped; the log says where,
/// and a replay reports no divergence from the missing records.
#[test]
fn on_full_drop_marks_the_gap_in_the_log_and_replay_is_not_misled() {
    use std::io::{BufRead, BufReader};
    let dir = scratch();
    let reader = fifo_reader(dir.path(), "trace.fifo");
    let mut child = Command::new(bin("tee-grate"))
        .current_dir(dir.path())
        .args(["--stall", "30000", "--queue", "64K", "--on-full", "drop"])
        .args(RECORD_INTO_FIFO)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tee-grate");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the app's line");
    assert_eq!(line, wrote(300));
    // Only now does the reader read.
    let log = drain(reader);
    let deadline = std::time::Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the tee never ended");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("calls not recorded: the queue was full (--on-full drop)"),
        "{stderr}"
    );
    std::fs::write(dir.path().join("got.log"), log).expect("save");
    let verify = run_ok(dir.path(), "tee-log", &["verify", "got.log"], 0);
    assert!(
        verify.stdout.contains("calls not recorded in"),
        "{}",
        verify.stdout
    );
    let replay = run(
        dir.path(),
        "tee-replay",
        &["got.log", "%<", "archive-grate", "arch", "%>"],
    );
    assert_eq!(replay.status, 0, "{replay:?}");
    assert!(
        replay.stdout.contains(" 0 divergences") || replay.stderr.contains(" 0 divergences"),
        "{replay:?}"
    );
}

/// Lind's mkfifo_test in small (demo-fifo), under each secondary: the
/// app prints and exits as it does under its primary alone, within the
/// limit. archive-grate once read the FIFO itself on the writer's open and
/// held the app for ever. (imfs-grate as the primary has no FIFOs: the
/// app fails there as under imfs-grate alone.)
#[test]
fn a_fifo_app_runs_as_its_primary_alone_under_every_secondary() {
    let alone = |primary: &[&str]| {
        let dir = scratch();
        run(
            dir.path(),
            "lind-host",
            &[primary, &["demo-fifo", "d"]].concat(),
        )
    };
    let bare = alone(&[]);
    assert_eq!(bare.status, 0, "{bare:?}");
    let under_imfs = alone(&["imfs-grate"]);
    let forms: &[(&[&str], &Output)] = &[
        (&["%{", "archive-grate", "arch", "%}"], &bare),
        (&["%{", "passthrough-grate", "%}"], &bare),
        (&["%{", "strace-grate", "%}"], &bare),
        (&["--record", "t.log", "--"], &bare),
        (
            &[
                "%{",
                "imfs-grate",
                "%}",
                "%{",
                "archive-grate",
                "arch",
                "%}",
            ],
            &under_imfs,
        ),
    ];
    for (form, want) in forms {
        let dir = scratch();
        let mut command = Command::new(bin("tee-grate"));
        command
            .current_dir(dir.path())
            .args(*form)
            .args(["demo-fifo", "d"]);
        let teed = finish_within(&mut command, LIMIT).expect("the tee ended within the limit");
        assert_eq!(teed.status, want.status, "{form:?}\n{}", teed.stderr);
        assert_eq!(teed.stdout, want.stdout, "{form:?}\n{}", teed.stderr);
    }
}
