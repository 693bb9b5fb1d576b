//! Command-line errors: one line, exit 2, nothing started.

use crate::util::{run, scratch};

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
