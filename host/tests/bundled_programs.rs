//! End-to-end runs of the bundled programs (tee-programs) on the host
//! runtime: every app alone, and under each bundled grate.

use host::{RunOutcome, Runtime, RuntimeConfig, Stdio};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// How long one run may take before the test fails instead of hanging.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `argv` under a lindfs root of `root`, capturing stdio. A stopped
/// run (where Lind would panic), a hang, or a cage left running fails the
/// test.
fn run(root: &Path, argv: &[&str]) -> RunOutcome {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let config = RuntimeConfig {
        root: root.to_path_buf(),
        programs: programs::bundled(),
        stdio: Stdio::Capture,
    };
    let (done, result) = mpsc::channel();
    let run_argv = argv.clone();
    std::thread::spawn(move || {
        let runtime = Runtime::new(config);
        let outcome = runtime.run(&run_argv);
        let _ = done.send((outcome, runtime.live_cages()));
    });
    let (outcome, live) = result
        .recv_timeout(RUN_TIMEOUT)
        .unwrap_or_else(|_| panic!("{argv:?} did not finish in {RUN_TIMEOUT:?}"));
    let outcome = outcome.unwrap_or_else(|err| panic!("{argv:?}: {err}"));
    assert!(live.is_empty(), "{argv:?} left cages running: {live:?}");
    outcome
}

/// Every file under `dir`, by relative path, with its bytes; directories
/// as `path/` with no bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(base, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// What demo-files leaves in its directory.
fn demo_files_tree() -> BTreeMap<String, Vec<u8>> {
    let mut expected: BTreeMap<String, Vec<u8>> = programs::apps::demo_files_expected()
        .into_iter()
        .map(|(name, bytes)| (name.to_string(), bytes))
        .collect();
    expected.insert("sub/".into(), Vec::new());
    expected
}

fn ok(outcome: &RunOutcome, what: &str) {
    assert_eq!(
        outcome.status,
        0,
        "{what} failed; stdout:\n{}\nstderr:\n{}",
        outcome.stdout_text(),
        outcome.stderr_text()
    );
}

#[test]
fn hello_prints_its_cage() {
    let root = tempfile::tempdir().unwrap();
    let out = run(root.path(), &["hello"]);
    ok(&out, "hello");
    assert_eq!(out.stdout_text(), "hello from cage 1\n");
}

#[test]
fn demo_files_leaves_the_known_files() {
    let root = tempfile::tempdir().unwrap();
    let out = run(root.path(), &["demo-files"]);
    ok(&out, "demo-files");
    assert_eq!(tree(&root.path().join("demo-out")), demo_files_tree());
    let stdout = out.stdout_text();
    assert!(stdout.contains("demo-child: done\n"), "{stdout}");
    assert!(stdout.contains("  data.bin 64\n  dup.txt 20\n"), "{stdout}");
    assert!(stdout.contains("  sub/vec.txt 14\n"), "{stdout}");
}

#[test]
fn imfs_keeps_files_in_memory_and_dumps_them() {
    let plain = tempfile::tempdir().unwrap();
    let expected_stdout = run(plain.path(), &["demo-files"]).stdout_text();

    let root = tempfile::tempdir().unwrap();
    let out = run(
        root.path(),
        &["imfs-grate", "--dump-to", "dump", "demo-files"],
    );
    ok(&out, "imfs-grate demo-files");
    assert!(
        !root.path().join("demo-out").exists(),
        "imfs leaked to the real fs"
    );
    assert_eq!(tree(&root.path().join("dump/demo-out")), demo_files_tree());
    assert_eq!(out.stdout_text(), expected_stdout);
}

#[test]
fn archive_copy_equals_the_real_files() {
    let root = tempfile::tempdir().unwrap();
    let out = run(root.path(), &["archive-grate", "arch", "demo-files"]);
    ok(&out, "archive-grate demo-files");
    let real = tree(&root.path().join("demo-out"));
    assert_eq!(real, demo_files_tree());
    assert_eq!(tree(&root.path().join("arch/demo-out")), real);
}

#[test]
fn archive_follows_threads_and_exec() {
    let root = tempfile::tempdir().unwrap();
    let out = run(root.path(), &["archive-grate", "arch", "demo-threads", "t"]);
    ok(&out, "archive-grate demo-threads");
    assert_eq!(
        tree(&root.path().join("arch/t")),
        tree(&root.path().join("t"))
    );
}

#[test]
fn strace_logs_every_cage_and_changes_nothing() {
    let plain = tempfile::tempdir().unwrap();
    let expected_stdout = run(plain.path(), &["demo-files"]).stdout_text();

    let root = tempfile::tempdir().unwrap();
    let out = run(
        root.path(),
        &["strace-grate", "--log", "trace.log", "demo-files"],
    );
    ok(&out, "strace-grate demo-files");
    assert_eq!(out.stdout_text(), expected_stdout);
    assert_eq!(tree(&root.path().join("demo-out")), demo_files_tree());
    let log = std::fs::read_to_string(root.path().join("trace.log")).unwrap();
    for expected in [
        "[cage 2] mkdir(\"demo-out\", 0o755) = 0",
        "[cage 2] openat(-100, \"demo-out/dup.txt\"",
        "[cage 2] clone(",
        "[cage 3] execve(\"demo-child\"",
        "[cage 3] rename(\"demo-out/child.txt\", \"demo-out/child-done.txt\") = 0",
        "[cage 3] exit_group(0) = ?",
        "[cage 2] stat(\"demo-out/tmp.txt\", ",
    ] {
        assert!(log.contains(expected), "missing {expected:?} in:\n{log}");
    }
    assert!(log.lines().all(|l| l.starts_with("[cage ")), "{log}");
}

#[test]
fn strace_over_imfs_outlives_the_grandchildren() {
    let root = tempfile::tempdir().unwrap();
    let out = run(
        root.path(),
        &[
            "strace-grate",
            "--log",
            "t.log",
            "imfs-grate",
            "--dump-to",
            "d",
            "demo-files",
        ],
    );
    ok(&out, "strace-grate imfs-grate demo-files");
    assert_eq!(tree(&root.path().join("d/demo-out")), demo_files_tree());
    let log = std::fs::read_to_string(root.path().join("t.log")).unwrap();
    // imfs's own dump I/O went through strace (cage 2 is imfs).
    assert!(
        log.contains("[cage 2] open(\"d/demo-out/notes.txt\""),
        "{log}"
    );
}

#[test]
fn faulty_panic_becomes_grate_err_and_the_run_ends() {
    let root = tempfile::tempdir().unwrap();
    let out = run(root.path(), &["faulty-grate", "panic", "hello"]);
    // hello's only write got GRATE_ERR, which glibc does not treat as an errno.
    assert_eq!(out.status, 0);
    assert_eq!(out.stdout_text(), "");
}

#[test]
fn faulty_errno_fails_the_app_with_its_message() {
    let root = tempfile::tempdir().unwrap();
    let out = run(
        root.path(),
        &[
            "faulty-grate",
            "errno=EIO",
            "--calls",
            "open",
            "demo-writes",
            "f",
            "2",
            "8",
        ],
    );
    assert_eq!(out.status, 1);
    assert_eq!(out.stderr_text(), "demo-writes: open f: EIO\n");
}

#[test]
fn faulty_after_lets_the_first_calls_through() {
    let root = tempfile::tempdir().unwrap();
    let out = run(
        root.path(),
        &[
            "faulty-grate",
            "errno=ENOSPC",
            "--calls",
            "write",
            "--after",
            "2",
            "demo-writes",
            "f",
            "5",
            "8",
        ],
    );
    assert_eq!(out.status, 1);
    assert_eq!(std::fs::read(root.path().join("f")).unwrap().len(), 16);
}

#[test]
fn faulty_short_writes_are_completed_by_write_all() {
    let root = tempfile::tempdir().unwrap();
    let out = run(
        root.path(),
        &[
            "faulty-grate",
            "short-write",
            "demo-writes",
            "f",
            "3",
            "100",
        ],
    );
    ok(&out, "faulty-grate short-write demo-writes");
    assert_eq!(out.stdout_text(), "wrote 300 bytes\n");
    let data = std::fs::read(root.path().join("f")).unwrap();
    let block: Vec<u8> = (0..100).map(|i| (i % 251) as u8).collect();
    assert_eq!(data, block.repeat(3));
}

#[test]
fn faulty_garbage_stat_is_caught_by_the_app() {
    let root = tempfile::tempdir().unwrap();
    let out = run(
        root.path(),
        &["faulty-grate", "garbage", "--calls", "fstat", "demo-files"],
    );
    assert_eq!(out.status, 1);
    assert!(
        out.stderr_text().starts_with("demo-files: fstat size "),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn faulty_rejects_an_unknown_mode() {
    let root = tempfile::tempdir().unwrap();
    let out = run(root.path(), &["faulty-grate", "explode", "hello"]);
    assert_eq!(out.status, 2);
    assert!(out.stderr_text().contains("unknown mode"));
}

#[test]
fn passthrough_runs_threads_and_cloexec_check() {
    let root = tempfile::tempdir().unwrap();
    let out = run(root.path(), &["passthrough-grate", "demo-threads", "d"]);
    ok(&out, "passthrough-grate demo-threads");
    assert!(out.stdout_text().contains("demo-fdcheck: ok\n"));
    assert!(out
        .stdout_text()
        .contains("demo-threads: 4 threads x 50 records;"));
    let shared = std::fs::read_to_string(root.path().join("d/shared.log")).unwrap();
    assert_eq!(shared.lines().count(), 4 * 50 + 1);
}

#[test]
fn imfs_runs_threads_and_drops_cloexec_fds_on_exec() {
    let root = tempfile::tempdir().unwrap();
    let out = run(
        root.path(),
        &["imfs-grate", "--dump-to", "x", "demo-threads", "d"],
    );
    ok(&out, "imfs-grate demo-threads");
    let shared = std::fs::read_to_string(root.path().join("x/d/shared.log")).unwrap();
    assert!(shared.ends_with("fdcheck: kept fd works\n"));
    assert_eq!(
        std::fs::read_to_string(root.path().join("x/d/cloexec.log")).unwrap(),
        "parent wrote before exec\n"
    );
}

#[test]
fn a_grate_without_an_app_is_a_usage_error() {
    let root = tempfile::tempdir().unwrap();
    let out = run(root.path(), &["imfs-grate", "--dump-to", "x"]);
    assert_eq!(out.status, 2);
    assert!(out.stderr_text().contains("usage: imfs-grate"));
}
