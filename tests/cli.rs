//! Command-line errors: one line, exit 2, nothing started; and which
//! paths on a command line are the host's.

use crate::util::{assert_demo_tree, run, run_ok, scratch};
use std::path::Path;

fn one_line_error(name: &str, args: &[&str], needle: &str) {
    let dir = scratch();
    let out = run(dir.path(), name, args);
    assert_eq!(out.status, 2, "{name} {args:?}: {}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{name} {args:?}: not one line:\n{}",
        out.stderr
    );
    assert!(
        lines[0].contains(needle),
        "{name} {args:?}: {:?} lacks {needle:?}",
        lines[0]
    );
    assert!(
        std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "something ran"
    );
}

#[test]
fn tee_grate_refuses_malformed_command_lines() {
    one_line_error(
        "tee-grate",
        &["%{", "imfs-grate", "demo-files"],
        "unclosed block",
    );
    one_line_error("tee-grate", &["%{", "%}", "demo-files"], "empty block");
    one_line_error("tee-grate", &["%{", "imfs-grate", "%}"], "no app");
    one_line_error("tee-grate", &["--record", "t.log"], "no app");
    one_line_error("tee-grate", &["demo-files"], "nothing to tee into");
    one_line_error(
        "tee-grate",
        &["--calls", "bogus", "--record", "t.log", "--", "hello"],
        "--calls",
    );
}

#[test]
fn tee_replay_explains_lost_markers() {
    one_line_error("tee-replay", &["t.log", "%<", "imfs-grate"], "'%>'");
    one_line_error(
        "tee-replay",
        &["t.log", "%", "imfs-grate", "%"],
        "redirection",
    );
    one_line_error("tee-replay", &["t.log"], "nothing to replay into");
}

#[test]
fn help_shows_every_form() {
    let dir = scratch();
    let out = run(dir.path(), "tee-grate", &["--help"]);
    assert_eq!(out.status, 0);
    for form in [
        "--record trace.log -- demo-files",
        "%{ archive-grate",
        "%} %{",
        "--primary",
    ] {
        assert!(
            out.stdout.contains(form),
            "help lacks {form}:\n{}",
            out.stdout
        );
    }
    let out = run(dir.path(), "tee-replay", &["--help"]);
    assert!(
        out.stdout.contains("'%<' archive-grate /archive '%>'"),
        "{}",
        out.stdout
    );
}

#[test]
fn unknown_grate_in_a_block_is_an_error_not_a_hang() {
    let dir = scratch();
    let out = run(
        dir.path(),
        "tee-grate",
        &["%{", "no-such-grate", "%}", "hello"],
    );
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(out.stderr.contains("secondary block"), "{}", out.stderr);
}

#[test]
fn a_missing_app_is_named_in_one_line_in_every_form() {
    let forms: [&[&str]; 2] = [
        &["--record", "x.log", "--", "no-such-app"],
        &["%{", "passthrough-grate", "%}", "no-such-app"],
    ];
    for args in forms {
        let dir = scratch();
        let out = run(dir.path(), "tee-grate", args);
        assert_eq!(out.status, 127, "{args:?}: {out:?}");
        let named: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("no-such-app"))
            .collect();
        assert_eq!(
            named,
            ["cannot start no-such-app: ENOENT"],
            "{args:?}: {out:?}"
        );
    }
}

/// The native tools take their own files (the --record log, the log a
/// replay reads, --into-dir, --report) as host paths, absolute or relative
/// to the directory they run in, like any command-line tool; only what the
/// cages see keeps lindfs paths. Tried from a directory other than the
/// log's, as a script would.
#[test]
fn the_tools_own_files_are_host_paths_from_any_directory() {
    let elsewhere = scratch();
    let work = scratch();
    std::fs::create_dir(elsewhere.path().join("x")).expect("mkdir");
    let abs = |rel: &str| elsewhere.path().join(rel).to_string_lossy().into_owned();
    let log = abs("x/trace.log");
    run_ok(
        work.path(),
        "tee-grate",
        &["--record", &log, "--", "demo-files"],
        0,
    );
    assert!(Path::new(&log).is_file(), "the log is at the host path");
    assert!(
        !work.path().join(log.trim_start_matches('/')).exists(),
        "and not under the app's lindfs root"
    );
    run_ok(work.path(), "tee-log", &["verify", &log], 0);
    let (out, report) = (abs("x/out"), abs("x/report.json"));
    run_ok(
        work.path(),
        "tee-replay",
        &[&log, "--into-dir", &out, "--report", &report],
        0,
    );
    assert_demo_tree(elsewhere.path(), "x/out/demo-out");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(summary["directory"], serde_json::json!(out));
    let stack_report = abs("x/stack.json");
    run_ok(
        work.path(),
        "tee-replay",
        &[
            &log,
            "--report",
            &stack_report,
            "%<",
            "passthrough-grate",
            "%>",
        ],
        0,
    );
    assert!(Path::new(&stack_report).is_file());
    // Relative paths are the shell's, from the log's own directory too.
    run_ok(elsewhere.path(), "tee-log", &["verify", "x/trace.log"], 0);
    run_ok(
        elsewhere.path(),
        "tee-replay",
        &["x/trace.log", "--into-dir", "x/again"],
        0,
    );
    assert_demo_tree(elsewhere.path(), "x/again/demo-out");

    // A path that cannot be used is named as it was given.
    let missing = abs("nowhere/trace.log");
    let out = run(work.path(), "tee-replay", &[&missing, "--into-dir", "o"]);
    assert_eq!(out.status, 2, "{out:?}");
    assert!(out.stderr.contains(&missing), "{}", out.stderr);
    let out = run(
        work.path(),
        "tee-grate",
        &["--record", &missing, "--", "hello"],
    );
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr.contains(&format!("{missing}: cannot create it")),
        "{}",
        out.stderr
    );
    let out = run(work.path(), "tee-grate", &["--record", &log, "--", "hello"]);
    assert_eq!(out.status, 2, "an existing log is kept: {out:?}");
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
}
