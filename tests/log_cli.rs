//! `tee-log` run as a user runs it, on logs written by the formats writer
//! into scratch files, intact and damaged.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::craft::{buffer, call, header, write_log};
use formats::*;

/// Exit code, stdout and stderr of `tee-log args`.
fn tee_log(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tee-log"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tee-log");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "tee-log panicked: {stderr}");
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A small session: cage 2 forks 3, 3 execs, writes, fails an open,
/// reads, closes and exits. `base` shifts every pointer value.
fn session(base: u64) -> Vec<Record> {
    let mut write = call(3, 3, 1, &[1, base + 0x1000, 6], 6);
    write.inputs.push(buffer(1, b"hello\n"));
    let mut open = call(4, 3, 2, &[base + 0x2000, 0, 0], -2);
    open.inputs.push(buffer(0, b"/missing"));
    let mut read = call(5, 3, 0, &[0, base + 0x3000, 64], 5);
    read.outputs.push(buffer(1, b"input"));
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
        Record::Syscall(open),
        Record::Syscall(read),
        Record::Syscall(call(6, 3, 3, &[3], 0)),
        Record::Exit(ExitRecord {
            seq: 7,
            cage: 3,
            status: 0,
            process: true,
            time_us: 3_000,
            ending: formats::Ending::Called,
        }),
    ]
}

/// Where each frame of an intact log starts and ends.
fn frame_spans(path: &Path) -> Vec<(usize, usize)> {
    let file = std::fs::File::open(path).unwrap();
    let mut r = LogReader::new(file, RecoveryMode::Strict).unwrap();
    let mut at = r.valid_offset() as usize;
    let mut spans = Vec::new();
    while r.next_record().unwrap().is_some() {
        let end = r.valid_offset() as usize;
        spans.push((at, end));
        at = end;
    }
    spans
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    f(&mut bytes);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn dump_prints_strace_like_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), "a.tlog", &session(0), true);
    let (code, out, err) = tee_log(&["dump", path_str(&log)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    let expected = [
        "[cage 2] fork() = 3",
        "[cage 3] execve(\"demo-files\", [\"demo-files\"])",
        "[cage 3] write(1, \"hello\\n\", 6) = 6",
        "[cage 3] open(\"/missing\", O_RDONLY) = -1 ENOENT (No such file or directory)",
        "[cage 3] read(0, \"input\", 64) = 5",
        "[cage 3] close(3) = 0",
        "[cage 3] exit_group(0)",
        "--- end of log: 7 records",
    ];
    for line in expected {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert_eq!(out.lines().count(), 8);
}

#[test]
fn dump_cuts_buffers_at_strsize() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), "a.tlog", &session(0), true);
    let (code, out, _) = tee_log(&["dump", "-s", "3", path_str(&log)]);
    assert_eq!(code, 0);
    assert!(out.contains("write(1, \"hel\"..., 6) = 6"), "{out}");
}

#[test]
fn dump_filters_by_cage_and_calls() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), "a.tlog", &session(0), true);
    let (code, out, _) = tee_log(&["dump", "--cage", "2", path_str(&log)]);
    assert_eq!(code, 0);
    assert!(
        out.contains("fork() = 3") && !out.contains("write("),
        "{out}"
    );
    let (code, out, _) = tee_log(&["dump", "--calls", "write,close", path_str(&log)]);
    assert_eq!(code, 0);
    assert!(out.contains("write(") && out.contains("close(") && !out.contains("read("));
    let (code, out, _) = tee_log(&["dump", "--calls", "proc", path_str(&log)]);
    assert_eq!(code, 0);
    assert!(out.contains("fork()") && out.contains("exit_group") && !out.contains("write("));
    let (code, _, err) = tee_log(&["dump", "--calls", "bogus", path_str(&log)]);
    assert_eq!(code, 2);
    assert!(err.contains("bogus"), "{err}");
}

#[test]
fn dump_json_is_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), "a.tlog", &session(0), true);
    let (code, out, _) = tee_log(&["dump", "--json", path_str(&log)]);
    assert_eq!(code, 0);
    let values: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    let kinds: Vec<&str> = values.iter().filter_map(|v| v["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "header", "fork", "exec", "syscall", "syscall", "syscall", "syscall", "exit",
            "trailer", "end"
        ]
    );
    let write = &values[3];
    assert_eq!(write["name"], "write");
    assert_eq!(write["inputs"][0]["data"], "hello\\n");
    assert_eq!(values[4]["errno"], "ENOENT");
    assert_eq!(
        values[4]["decoded"],
        "open(\"/missing\", O_RDONLY) = -1 ENOENT (No such file or directory)"
    );
    assert_eq!(
        values[4]["args"][1]["value"], 0,
        "the raw flags stay beside it"
    );
    assert_eq!(values[9]["end"], "clean");
}

#[test]
fn dump_warns_about_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), "a.tlog", &session(0), true);
    let last = *frame_spans(&log).last().unwrap();
    edit(&log, |b| b.truncate(last.1 - 2));
    let (code, out, err) = tee_log(&["dump", path_str(&log)]);
    assert_eq!(code, 0);
    assert!(out.contains("exit_group(0)"));
    assert!(
        err.contains("warning") && err.contains("torn tail"),
        "{err}"
    );
    assert!(err.contains(&format!("offset {}", last.0)), "{err}");
}

#[test]
fn dump_reports_damage_and_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), "a.tlog", &session(0), true);
    let spans = frame_spans(&log);
    let (start, end) = spans[2];
    edit(&log, |b| b[end - 1] ^= 0x40);
    let (code, out, err) = tee_log(&["dump", path_str(&log)]);
    assert_eq!(code, 0);
    assert!(!out.contains("write("), "the damaged record is gone");
    assert!(out.contains("close(3)"), "later records survive");
    assert!(
        err.contains(&format!("offset {start}")) && err.contains("crc"),
        "{err}"
    );
}

#[test]
fn dump_into_a_closed_pipe_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let many: Vec<Record> = (0..6000)
        .map(|i| Record::Syscall(call(i, 3, 3, &[i], 0)))
        .collect();
    let log = write_log(dir.path(), "big.tlog", &many, true);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tee-log"))
        .args(["dump", path_str(&log)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn stats_counts_calls_errors_and_cages() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), "a.tlog", &session(0), true);
    let (code, out, err) = tee_log(&["stats", path_str(&log)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("abi host-wasm32-sim"), "{out}");
    assert!(
        out.contains("(syscalls 4, forks 1, execs 1, exits 1)"),
        "{out}"
    );
    assert!(out.contains("duration: 0.002000 s"), "{out}");
    // strace -c's columns, then bytes in and out, then the name.
    let row = |name: &str| {
        out.lines()
            .find(|l| l.ends_with(&format!(" {name}")))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    // 18 µs in all: close 6, read 5, open 4, write 3.
    assert_eq!(
        row("close").as_deref(),
        Some("33.33 0.000006 6 1 0 0 0 close")
    );
    assert_eq!(
        row("write").as_deref(),
        Some("16.67 0.000003 3 1 0 6 0 write")
    );
    assert_eq!(
        row("open").as_deref(),
        Some("22.22 0.000004 4 1 1 8 0 open")
    );
    assert_eq!(
        row("read").as_deref(),
        Some("27.78 0.000005 5 1 0 0 5 read")
    );
    assert_eq!(
        row("total").as_deref(),
        Some("100.00 0.000018 4 1 14 5 total")
    );
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|n| ["close", "read", "open", "write"].contains(n))
        .collect();
    assert_eq!(names, ["close", "read", "open", "write"], "by time: {out}");
    let cage = out.lines().find(|l| l.starts_with("3 ")).unwrap();
    assert_eq!(
        cage.split_whitespace().collect::<Vec<_>>(),
        ["3", "4", "1", "0.000018", "0", "1", "1"],
        "cage 3: {out}"
    );

    let (code, out, err) = tee_log(&["stats", path_str(&log), "--sort", "errors", "--per-cage"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|n| ["close", "read", "open", "write"].contains(n))
        .collect();
    // The log's table, then cage 3's: errors first, then calls and name.
    assert_eq!(rows, ["open", "close", "read", "write"].repeat(2), "{out}");
    assert!(out.contains("\ncage 3:\n"), "{out}");
    assert!(!out.contains("cage 2:"), "cage 2 made no syscalls: {out}");
}

#[test]
fn a_log_without_durations_has_no_times_in_stats_or_dump() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = session(0);
    for r in &mut records {
        if let Record::Syscall(call) = r {
            call.duration_ns = None;
        }
    }
    let log = write_log(dir.path(), "a.tlog", &records, true);
    let (code, out, err) = tee_log(&["stats", path_str(&log)]);
    assert_eq!(code, 0, "{err}");
    let write = out.lines().find(|l| l.ends_with(" write")).unwrap();
    assert_eq!(
        write.split_whitespace().collect::<Vec<_>>(),
        ["-", "-", "-", "1", "0", "6", "0", "write"]
    );
    let (code, out, err) = tee_log(&["dump", "-T", path_str(&log)]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('<'), "{out}");
}

#[test]
fn dump_shows_durations_and_stamps_as_strace_does() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), "a.tlog", &session(0), true);
    let (code, out, err) = tee_log(&["dump", "-T", path_str(&log)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("[cage 3] write(1, \"hello\\n\", 6) = 6 <0.000003>\n"),
        "{out}"
    );
    // Fork, exec and exit have no duration.
    assert!(out.contains("[cage 2] fork() = 3\n"), "{out}");
    // The header's creation time plus when each call began: the fork is
    // at 1000 µs, the write returned at 1750 µs after 3 µs.
    let (code, out, _) = tee_log(&["dump", "-ttt", path_str(&log)]);
    assert_eq!(code, 0);
    let stamp_of = |call: &str| -> u64 {
        let l = out.lines().find(|l| l.contains(call)).unwrap();
        let stamp = l.split_whitespace().nth(2).unwrap();
        let (s, us) = stamp.split_once('.').unwrap();
        assert_eq!(us.len(), 6, "{l}");
        s.parse::<u64>().unwrap() * 1_000_000 + us.parse::<u64>().unwrap()
    };
    assert_eq!(stamp_of(" write(") - stamp_of(" fork("), 747, "{out}");
    // -r: from the exec (1100 µs) to the write's start (1747 µs).
    let (code, out, _) = tee_log(&["dump", "-r", path_str(&log)]);
    assert_eq!(code, 0);
    assert!(out.contains("[cage 3]      0.000647 write("), "{out}");
    let (code, _, err) = tee_log(&["dump", "-t", "-r", path_str(&log)]);
    assert_eq!(code, 2, "-t and -r together: {err}");
    let (code, out, _) = tee_log(&["dump", "--json", path_str(&log)]);
    assert_eq!(code, 0);
    assert!(out.contains("\"duration_ns\":3000"), "{out}");
}

#[test]
fn verify_exit_codes_tell_clean_torn_and_corrupt_apart() {
    let dir = tempfile::tempdir().unwrap();
    let clean = write_log(dir.path(), "clean.tlog", &session(0), true);
    let (code, out, _) = tee_log(&["verify", path_str(&clean)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok"), "{out}");

    let unfinished = write_log(dir.path(), "unfinished.tlog", &session(0), false);
    let (code, out, _) = tee_log(&["verify", path_str(&unfinished)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("incomplete") && out.contains("no trailer"),
        "{out}"
    );

    let torn = write_log(dir.path(), "torn.tlog", &session(0), true);
    let last = *frame_spans(&torn).last().unwrap();
    edit(&torn, |b| b.truncate(last.0 + 4));
    let (code, out, _) = tee_log(&["verify", path_str(&torn)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("torn: offset {}", last.0)), "{out}");
    assert!(out.contains("record 7"), "{out}");

    let corrupt = write_log(dir.path(), "corrupt.tlog", &session(0), true);
    let (start, _) = frame_spans(&corrupt)[3];
    edit(&corrupt, |b| b[start + 8] ^= 1);
    let (code, out, _) = tee_log(&["verify", path_str(&corrupt)]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains(&format!("offset {start} (record 3)")), "{out}");
}

#[test]
fn verify_refuses_what_is_not_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"hello world, not a log").unwrap();
    let (code, out, _) = tee_log(&["verify", path_str(&junk)]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("not a tee-grate log"), "{out}");

    let short = dir.path().join("short");
    std::fs::write(&short, b"TEEGR").unwrap();
    let (code, out, _) = tee_log(&["verify", path_str(&short)]);
    assert_eq!(
        code, 3,
        "a header cut short holds no log, as every tool says: {out}"
    );

    let future = write_log(dir.path(), "future.tlog", &session(0), true);
    edit(&future, |b| b[8] = 9);
    let (code, _, err) = tee_log(&["verify", path_str(&future)]);
    assert_eq!(code, 2, "an unknown version cannot be judged");
    assert!(
        err.starts_with(&format!("tee-log: {}: offset 8:", future.display())),
        "{err}"
    );
    assert!(err.contains(&format!("9.{FORMAT_MINOR}")), "{err}");

    let (code, _, err) = tee_log(&["verify", path_str(&dir.path().join("missing"))]);
    assert_eq!(code, 2);
    assert!(err.starts_with("tee-log: "), "{err}");
}

#[test]
fn usage_errors_exit_two_in_every_command() {
    let (code, _, err) = tee_log(&["verify"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = tee_log(&["frobnicate"]);
    assert_eq!(code, 2);
    let (code, _, _) = tee_log(&["diff", "only-one"]);
    assert_eq!(code, 2);
    let (code, out, _) = tee_log(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"), "{out}");
}

#[test]
fn salvage_writes_a_clean_log_of_the_good_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), "a.tlog", &session(0), true);
    let spans = frame_spans(&log);
    let (start, _) = spans[2];
    edit(&log, |b| {
        b.splice(start..start, *b"GARBAGE!");
    });
    let out_path = dir.path().join("fixed.tlog");
    let (code, out, err) = tee_log(&["salvage", path_str(&log), path_str(&out_path)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("skipped offset {start}..{} (8 bytes", start + 8)),
        "{out}"
    );
    assert!(out.contains("wrote 7 records"), "{out}");
    let contents = read_all(&out_path, RecoveryMode::Strict).unwrap();
    assert!(contents.end.is_clean());
    assert_eq!(contents.records.len(), 8);
    assert_eq!(contents.header.abi, "host-wasm32-sim");
    let (code, _, _) = tee_log(&["verify", path_str(&out_path)]);
    assert_eq!(code, 0);

    let (code, _, err) = tee_log(&["salvage", path_str(&log), path_str(&out_path)]);
    assert_eq!(code, 2, "an existing output is not overwritten");
    assert!(err.contains(&out_path.display().to_string()), "{err}");
}

#[test]
fn diff_ignores_pointers_sequence_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_log(dir.path(), "a.tlog", &session(0), true);
    let mut shifted = session(0x5000_0000);
    for r in &mut shifted {
        let (seq, time) = match r {
            Record::Syscall(s) => (&mut s.seq, &mut s.time_us),
            Record::Fork(f) => (&mut f.seq, &mut f.time_us),
            Record::Exec(e) => (&mut e.seq, &mut e.time_us),
            Record::Exit(e) => (&mut e.seq, &mut e.time_us),
            _ => continue,
        };
        *seq += 100;
        *time += 77;
    }
    let b = write_log(dir.path(), "b.tlog", &shifted, true);
    let (code, out, err) = tee_log(&["diff", path_str(&a), path_str(&b)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("logs agree: 7 records"), "{out}");
}

#[test]
fn diff_shows_the_first_differing_byte_with_context() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_log(dir.path(), "a.tlog", &session(0), true);
    let mut other = session(0);
    if let Record::Syscall(s) = &mut other[2] {
        s.inputs[0].data = b"help!\n".to_vec();
    }
    let b = write_log(dir.path(), "b.tlog", &other, true);
    let (code, out, _) = tee_log(&["diff", path_str(&a), path_str(&b)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("logs differ at record 2 (seq 3 in A, seq 3 in B): input buffer at arg 1 differs at byte 3"),
        "{out}"
    );
    assert!(out.contains("  [cage 3] execve("), "context before: {out}");
    assert!(
        out.contains("- [cage 3] write(1, \"hello\\n\", 6) = 6"),
        "{out}"
    );
    assert!(
        out.contains("+ [cage 3] write(1, \"help!\\n\", 6) = 6"),
        "{out}"
    );

    let shorter = write_log(dir.path(), "c.tlog", &session(0)[..5], true);
    let (code, out, _) = tee_log(&["diff", path_str(&a), path_str(&shorter)]);
    assert_eq!(code, 1);
    assert!(out.contains("A has 2 more records"), "{out}");

    let (code, _, err) = tee_log(&["diff", path_str(&a), "/no/such/log"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("tee-log: /no/such/log: "), "{err}");
}

#[test]
fn garbage_never_makes_tee_log_panic() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_log(dir.path(), "good.tlog", &session(0), true);
    let bytes = std::fs::read(&good).unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..6 {
        let mut damaged = bytes.clone();
        for _ in 0..(round * 3 + 1) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = 12 + (seed as usize) % (damaged.len() - 12);
            damaged[at] = (seed >> 32) as u8;
        }
        let path = dir.path().join(format!("bad{round}.tlog"));
        std::fs::write(&path, &damaged).unwrap();
        let out = dir.path().join(format!("out{round}.tlog"));
        for args in [
            vec!["dump", path_str(&path)],
            vec!["dump", "--json", path_str(&path)],
            vec!["stats", path_str(&path)],
            vec!["verify", path_str(&path)],
            vec!["salvage", path_str(&path), path_str(&out)],
            vec!["diff", path_str(&good), path_str(&path)],
        ] {
            let (code, _, err) = tee_log(&args);
            assert!((0..=3).contains(&code), "{args:?}: exit {code}: {err}");
        }
    }
}

#[test]
fn salvage_of_two_concatenated_logs_says_so_and_keeps_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_log(dir.path(), "a.log", &session(0), true);
    let second = write_log(dir.path(), "b.log", &session(100), true);
    let mut joined = std::fs::read(&first).unwrap();
    let second_at = joined.len();
    joined.extend(std::fs::read(&second).unwrap());
    let both = dir.path().join("ab.log");
    std::fs::write(&both, &joined).unwrap();

    let (code, out, _) = tee_log(&["verify", path_str(&both)]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains(&format!("offset {second_at}")), "{out}");
    assert!(out.contains("two logs were concatenated"), "{out}");

    let kept = dir.path().join("kept.log");
    let (code, out, err) = tee_log(&["salvage", path_str(&both), path_str(&kept)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("a second log begins at offset {second_at}")),
        "{out}"
    );
    let first_only = read_all(&kept, RecoveryMode::Strict).unwrap();
    let original = read_all(&first, RecoveryMode::Strict).unwrap();
    assert_eq!(first_only.records.len(), original.records.len());

    let merged = dir.path().join("merged.log");
    let (code, _, err) = tee_log(&["salvage", "--merge", path_str(&both), path_str(&merged)]);
    assert_eq!(code, 0, "{err}");
    let all = read_all(&merged, RecoveryMode::Strict).unwrap();
    assert!(all.records.len() > first_only.records.len());
}

#[test]
fn a_log_with_a_million_damaged_ranges_is_judged_with_every_range_counted() {
    let dir = tempfile::tempdir().unwrap();
    let records = session(0);
    let (head, tail) = records.split_at(3);
    let log = write_log(dir.path(), "a.tlog", head, false);
    let ranges = 500_000;
    edit(&log, |b| b.extend(crate::util::many_damaged_ranges(ranges)));
    let mut rest = Vec::new();
    let w = LogWriter::new(&mut rest, &header(), SyncPolicy::OnExit).unwrap();
    for r in tail {
        w.append(r);
    }
    w.finish();
    // The second writer's records, without its preamble and header.
    let spans_from = {
        let tmp = dir.path().join("rest.tlog");
        std::fs::write(&tmp, &rest).unwrap();
        frame_spans(&tmp)[0].0
    };
    edit(&log, |b| b.extend(&rest[spans_from..]));

    let (code, out, _) = tee_log(&["verify", path_str(&log)]);
    assert_eq!(code, 3, "{out}");
    // Each pair of frames is one range: the non-record, then the false start
    // up to the next frame.
    assert!(
        out.contains(&format!("{} damaged ranges", 2 * ranges)),
        "{out}"
    );

    let (code, out, err) = tee_log(&["dump", path_str(&log)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), records.len() + 1, "{out}");
    assert!(err.contains("more damaged ranges not listed"), "{err}");
    assert!(err.lines().count() < 2 * formats::DAMAGE_KEPT + 10);

    let saved = dir.path().join("saved.tlog");
    let (code, out, _) = tee_log(&["salvage", path_str(&log), path_str(&saved)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("({} skipped ranges", 2 * ranges)),
        "{}",
        out.lines().last().unwrap_or_default()
    );
    let (code, out, _) = tee_log(&["verify", path_str(&saved)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("{} records", records.len() + 1)),
        "{out}"
    );
}
