//! The live tee: a secondary grate stack beside the primary.

use crate::util::{
    assert_demo_tree, assert_same_tree, run_ok, scratch, tee_demo_files, tree, Tree,
};

#[test]
fn imfs_secondary_changes_nothing_the_app_sees() {
    let (dir, teed) = tee_demo_files(&["%{", "imfs-grate", "--dump-to", "imfs-dump", "%}"]);
    // Same bytes in the real files: nothing the secondary did was written
    // twice (demo-files appends, so a doubled write would show).
    assert_demo_tree(dir.path(), "demo-out");
    assert_demo_tree(dir.path(), "imfs-dump/demo-out");
    assert!(teed.stderr.contains("calls duplicated"), "{}", teed.stderr);
    assert!(!teed.stderr.contains("errors"), "{}", teed.stderr);
    assert!(!teed.stderr.contains("mismatches"), "{}", teed.stderr);
}

#[test]
fn two_blocks_app_sees_primary_and_archive_keeps_the_files() {
    let (dir, _) = tee_demo_files(&[
        "%{",
        "imfs-grate",
        "%}",
        "%{",
        "archive-grate",
        "arch",
        "%}",
    ]);
    assert!(
        !dir.path().join("demo-out").exists(),
        "the primary is the in-memory filesystem: nothing may reach the real directory"
    );
    assert_demo_tree(dir.path(), "arch/demo-out");
}

#[test]
fn flag_form_is_the_two_block_form() {
    let (dir, _) = tee_demo_files(&[
        "--primary",
        "imfs-grate",
        "--secondary",
        "archive-grate arch",
        "--",
    ]);
    assert!(!dir.path().join("demo-out").exists());
    assert_demo_tree(dir.path(), "arch/demo-out");
}

/// Each fault of the faulty grate, and the line of the summary naming it.
const FAULTS: [(&str, &str); 4] = [
    ("errno=EIO", "errors"),
    ("short-write", "result mismatches (write"),
    ("garbage", "output mismatches (read"),
    ("panic", "panics (GRATE_ERR)"),
];

#[test]
fn faulty_secondary_changes_nothing_and_is_reported() {
    for (mode, reported) in FAULTS {
        let (dir, teed) = tee_demo_files(&["%{", "faulty-grate", mode, "%}"]);
        assert_demo_tree(dir.path(), "demo-out");
        assert!(
            teed.stderr.contains(reported),
            "{mode}: summary should mention {reported:?}:\n{}",
            teed.stderr
        );
    }
}

#[test]
fn strace_secondary_never_recurses_and_logs_each_call_once() {
    let dir = scratch();
    let teed = run_ok(
        dir.path(),
        "tee-grate",
        &[
            "%{",
            "strace-grate",
            "--log",
            "strace.log",
            "%}",
            "demo-files",
        ],
        0,
    );
    assert!(!teed.stderr.contains("errors"), "{}", teed.stderr);
    let log = std::fs::read_to_string(dir.path().join("strace.log")).expect("strace log");
    // The grate writes its log on every call it sees; had those writes come
    // back into the tee, the app's calls would show more than once.
    for call in ["mkdir(\"demo-out\"", "mkdir(\"demo-out/sub\"", "rename("] {
        let seen = log.lines().filter(|l| l.contains(call)).count();
        assert_eq!(
            seen,
            if call == "rename(" { 2 } else { 1 },
            "{call} in:\n{log}"
        );
    }
    let own_writes = log.lines().filter(|l| l.contains("strace.log")).count();
    assert_eq!(own_writes, 0, "the grate saw its own log I/O:\n{log}");
}

/// A tree with every file's lines sorted: threads append concurrently, so
/// only the set of lines is the same from run to run.
fn sorted_lines(files: Tree) -> Tree {
    files
        .into_iter()
        .map(|(path, bytes)| {
            let bytes = bytes.map(|b| {
                let mut lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
                lines.sort_unstable();
                lines.join(&b'\n')
            });
            (path, bytes)
        })
        .collect()
}

#[test]
fn fd_pairing_survives_threads_fork_exec_and_cloexec() {
    let plain = scratch();
    run_ok(plain.path(), "lind-host", &["demo-threads", "out"], 0);
    let expected = sorted_lines(tree(&plain.path().join("out")));
    assert!(expected.len() >= 4, "{:?}", expected.keys());
    let dir = scratch();
    let teed = run_ok(
        dir.path(),
        "tee-grate",
        &[
            "%{",
            "imfs-grate",
            "--dump-to",
            "dump",
            "%}",
            "demo-threads",
            "out",
        ],
        0,
    );
    assert_same_tree(
        &sorted_lines(tree(&dir.path().join("out"))),
        &expected,
        "real files",
    );
    // The secondary wrote every thread's records through the fds the tee
    // paired: a wrong pair would put bytes in the wrong in-memory file.
    assert_same_tree(
        &sorted_lines(tree(&dir.path().join("dump/out"))),
        &expected,
        "imfs files",
    );
    assert!(!teed.stderr.contains("not duplicated"), "{}", teed.stderr);
    assert!(!teed.stderr.contains("errors"), "{}", teed.stderr);
}

#[test]
fn app_exit_status_passes_through() {
    let dir = scratch();
    let teed = run_ok(
        dir.path(),
        "tee-grate",
        &["%{", "passthrough-grate", "%}", "demo-fdcheck", "x", "y"],
        2,
    );
    assert!(teed.stderr.contains("demo-fdcheck"), "{}", teed.stderr);
}

#[test]
fn tee_and_secondary_outlive_a_grandchild_that_outlives_the_app() {
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &["%{", "archive-grate", "arch", "%}", "demo-orphan", "out"],
        0,
    );
    // The child wrote after its parent (the app) exited: the tee and the
    // archive were still there to see it.
    assert_eq!(
        std::fs::read(dir.path().join("out/late.txt")).expect("late file"),
        b"written after the parent exited\n"
    );
    assert_eq!(
        std::fs::read(dir.path().join("arch/out/late.txt")).expect("archived late file"),
        b"written after the parent exited\n"
    );
}

#[test]
fn secondary_grate_exiting_mid_run_stops_duplication_not_the_app() {
    // faulty-grate quit exits as soon as its child starts: Lind purges its
    // handlers while the hold still routes through them.
    let (dir, teed) = tee_demo_files(&["%{", "faulty-grate", "quit", "%}"]);
    assert_demo_tree(dir.path(), "demo-out");
    assert!(
        teed.stderr
            .contains("after the secondary stack ended early"),
        "{}",
        teed.stderr
    );
}

/// Grates take long to come up on Lind; there the tee, polling its block
/// with `waitpid(block, WNOHANG)`, blocked in waitpid forever (RawPOSIX
/// ignores WNOHANG for a named child, and so does the host runtime now).
#[test]
fn blocks_slow_to_come_up_are_waited_for_in_every_form() {
    let slow = ["faulty-grate", "slow-start"];
    let forms: [Vec<&str>; 3] = [
        [&["%{"][..], &slow, &["%}", "hello"]].concat(),
        [&["%{"][..], &slow, &["%}", "%{"], &slow, &["%}", "hello"]].concat(),
        [&["--record", "slow.log", "%{"][..], &slow, &["%}", "hello"]].concat(),
    ];
    for args in forms {
        let dir = scratch();
        let teed = run_ok(dir.path(), "tee-grate", &args, 0);
        assert!(
            teed.stdout.starts_with("hello from cage "),
            "{args:?}: {teed:?}"
        );
    }
}

/// The bytes of the one file called `name` under `dir`.
fn only_file(dir: &std::path::Path, name: &str) -> Vec<u8> {
    let found: Vec<_> = tree(dir)
        .into_iter()
        .filter(|(path, _)| path.ends_with(name))
        .collect();
    assert_eq!(found.len(), 1, "{name} under {}: {found:?}", dir.display());
    found
        .into_iter()
        .next()
        .unwrap()
        .1
        .expect("a file, not a directory")
}

#[test]
fn racing_appends_to_one_fd_reach_the_log_and_the_live_secondary_in_the_kernels_order() {
    // demo-threads' four threads append to one shared fd at once. Before
    // the order locks, the live archive's copy differed in most runs and
    // the log's in some; five runs all alike pin the fix.
    for run in 0..5 {
        let dir = scratch();
        run_ok(
            dir.path(),
            "tee-grate",
            &["--record", "t.log", "--", "demo-threads", "out"],
            0,
        );
        let real = only_file(&dir.path().join("out"), "shared.log");
        run_ok(dir.path(), "tee-replay", &["t.log", "--into-dir", "rd"], 0);
        let rebuilt = only_file(&dir.path().join("rd"), "shared.log");
        assert!(
            rebuilt == real,
            "run {run}: --into-dir's shared.log differs"
        );

        let live = scratch();
        run_ok(
            live.path(),
            "tee-grate",
            &["%{", "archive-grate", "arch", "%}", "demo-threads", "out"],
            0,
        );
        let real = only_file(&live.path().join("out"), "shared.log");
        let archived = only_file(&live.path().join("arch"), "shared.log");
        assert!(
            archived == real,
            "run {run}: the live archive's shared.log differs"
        );
    }
}
