//! Progress bars: drawn on a terminal for a log over a few MB, never in
//! pipes. The terminal is a real pseudo-terminal, made by util-linux's
//! `script`.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{bin, run_ok, scratch};

/// What a run under a pseudo-terminal wrote to it (stdout and stderr
/// alike), and its exit code.
fn on_terminal(dir: &Path, name: &str, args: &[&str]) -> Option<(i32, String)> {
    let script = Path::new("/usr/bin/script");
    if !script.exists() {
        return None;
    }
    let mut line = String::from(bin(name));
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let out = Command::new(script)
        .args(["-qfec", &line, "/dev/null"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

#[test]
fn long_work_shows_a_bar_on_a_terminal_and_nothing_in_pipes() {
    let dir = scratch();
    // 1500 writes of 4 KiB: a 6 MB log, over the bar's threshold.
    run_ok(
        dir.path(),
        "tee-grate",
        &[
            "--record",
            "big.log",
            "--",
            "demo-writes",
            "w.bin",
            "1500",
            "4096",
        ],
        0,
    );
    run_ok(
        dir.path(),
        "tee-grate",
        &["--record", "small.log", "--", "demo-files"],
        0,
    );
    let cases: [(&str, &[&str], &str); 5] = [
        ("tee-log", &["stats", "LOG"], "stats: ["),
        ("tee-log", &["salvage", "LOG", "OUT"], "salvage: ["),
        ("tee-log", &["timeline", "LOG", "-o", "OUT"], "timeline: ["),
        ("tee-replay", &["LOG", "--into-dir", "OUT"], "tee-replay: ["),
        (
            "tee-replay",
            &["LOG", "%<", "imfs-grate", "%>"],
            "tee-replay: [",
        ),
    ];
    let mut n = 0;
    for (tool, args, bar) in cases {
        for (log, want_bar) in [("big.log", true), ("small.log", false)] {
            n += 1;
            let args: Vec<String> = args
                .iter()
                .map(|a| match *a {
                    "LOG" => log.to_owned(),
                    "OUT" => format!("out{n}"),
                    a => a.to_owned(),
                })
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let Some((code, seen)) = on_terminal(dir.path(), tool, &args) else {
                eprintln!("skipped: no /usr/bin/script to make a terminal with");
                return;
            };
            assert_eq!(code, 0, "{tool} {args:?}: {seen}");
            assert_eq!(
                seen.contains(bar),
                want_bar,
                "{tool} {args:?} on a terminal, {log}: {seen}"
            );
            if want_bar {
                assert!(seen.contains("% (eta"), "a percentage and an eta: {seen}");
            }
            // The same through pipes: no bar, whatever the size.
            n += 1;
            let args: Vec<String> = args
                .iter()
                .map(|a| {
                    if a.starts_with("out") {
                        format!("out{n}")
                    } else {
                        (*a).to_owned()
                    }
                })
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let piped = run_ok(dir.path(), tool, &args, 0);
            assert!(
                !piped.stderr.contains(bar) && !piped.stdout.contains(bar),
                "{tool} {args:?} in a pipe drew a bar: {}",
                piped.stderr
            );
        }
    }
}

#[test]
fn reduce_says_how_it_goes_on_a_terminal_only() {
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &["--record", "t.log", "--", "demo-files"],
        0,
    );
    let stack = ["%<", "imfs-grate", "faulty-grate", "short-write", "%>"];
    let mut args = vec!["reduce", "t.log", "-o", "a.log", "--stack"];
    args.extend(stack);
    let Some((code, seen)) = on_terminal(dir.path(), "tee-log", &args) else {
        eprintln!("skipped: no /usr/bin/script to make a terminal with");
        return;
    };
    assert_eq!(code, 0, "{seen}");
    assert!(
        seen.contains("reduce: ") && seen.contains(" replays, "),
        "{seen}"
    );
    let mut args = vec!["reduce", "t.log", "-o", "b.log", "--stack"];
    args.extend(stack);
    let piped = run_ok(dir.path(), "tee-log", &args, 0);
    assert!(!piped.stderr.contains(" replays, "), "{}", piped.stderr);
}
