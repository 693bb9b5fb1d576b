//! Cages that end without calling exit (a signal's default action), and a
//! tee that is itself killed: no form of the tee waits for a cage that no
//! longer exists, and a recording keeps what was flushed.

use crate::util::{run, run_ok, scratch, spawn};
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

/// Every tee form, as words before the app.
const FORMS: &[&[&str]] = &[
    &["--record", "t.log", "--"],
    &["%{", "passthrough-grate", "%}"],
    &["%{", "imfs-grate", "%}"],
    &["%{", "archive-grate", "arch", "%}"],
    &["--record", "t.log", "%{", "passthrough-grate", "%}"],
    &["%{", "passthrough-grate", "%}", "%{", "imfs-grate", "%}"],
];

/// `tee-grate FORM demo-kill MODE` against the bare run: same stdout and
/// status, in every form; returns the scratch directories of the runs.
fn every_form_as_bare(mode: &str) -> Vec<tempfile::TempDir> {
    let bare = run(scratch().path(), "lind-host", &["demo-kill", mode]);
    FORMS
        .iter()
        .map(|form| {
            let dir = scratch();
            let mut args = vec!["--force"];
            args.extend_from_slice(form);
            args.extend(["demo-kill", mode]);
            let teed = run(dir.path(), "tee-grate", &args);
            assert_eq!(
                (teed.status, &teed.stdout),
                (bare.status, &bare.stdout),
                "{args:?}\nstderr:\n{}",
                teed.stderr
            );
            dir
        })
        .collect()
}

#[test]
fn a_child_killed_by_sigkill_ends_as_bare_in_every_form() {
    let bare = run(scratch().path(), "lind-host", &["demo-kill", "child"]);
    assert_eq!(bare.status, 0, "{bare:?}");
    assert!(bare.stdout.ends_with("PASS\n"), "{}", bare.stdout);
    every_form_as_bare("child");
}

#[test]
fn the_log_shows_the_kill_before_the_wait_that_saw_it_and_replays() {
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &["--record", "t.log", "--", "demo-kill", "child"],
        0,
    );
    run_ok(dir.path(), "tee-log", &["verify", "t.log"], 0);
    let dump = run_ok(dir.path(), "tee-log", &["dump", "t.log"], 0).stdout;
    let killed = dump
        .lines()
        .position(|l| l.ends_with("+++ killed by SIGKILL +++"))
        .unwrap_or_else(|| panic!("no kill in the dump:\n{dump}"));
    let waited = dump
        .lines()
        .position(|l| l.contains("wait4(") && l.contains("SIGKILL"))
        .unwrap_or_else(|| panic!("no wait in the dump:\n{dump}"));
    assert!(killed < waited, "{dump}");
    let json = run_ok(dir.path(), "tee-log", &["dump", "--json", "t.log"], 0).stdout;
    assert!(json.contains(r#""ending":{"killed_by":9}"#), "{json}");
    assert!(json.contains(r#""status":137"#), "{json}");

    let replay = run(
        dir.path(),
        "tee-replay",
        &["t.log", "%<", "archive-grate", "arch", "%>"],
    );
    assert_eq!(replay.status, 0, "{replay:?}");
    assert!(replay.stderr.contains(" 0 divergences"), "{replay:?}");
}

#[test]
fn a_killed_child_nobody_waits_for_is_found_gone() {
    for dir in every_form_as_bare("orphan") {
        if !dir.path().join("t.log").exists() {
            continue;
        }
        run_ok(dir.path(), "tee-log", &["verify", "t.log"], 0);
        let dump = run_ok(dir.path(), "tee-log", &["dump", "t.log"], 0).stdout;
        assert!(dump.contains("+++ gone, no exit call seen +++"), "{dump}");
    }
}

#[test]
fn an_app_killed_by_a_signal_gives_its_status_and_a_whole_log() {
    for dir in every_form_as_bare("self") {
        if !dir.path().join("t.log").exists() {
            continue;
        }
        run_ok(dir.path(), "tee-log", &["verify", "t.log"], 0);
        let dump = run_ok(dir.path(), "tee-log", &["dump", "t.log"], 0).stdout;
        assert!(dump.contains("+++ killed by SIGKILL +++"), "{dump}");
    }
}

/// A tee killed mid-run leaves a log that verify calls incomplete, holding
/// what the periodic flush (`--sync`, 200 ms by default) wrote before.
#[test]
fn a_recording_killed_mid_run_keeps_what_was_flushed() {
    let dir = scratch();
    let mut tee = spawn(
        dir.path(),
        "tee-grate",
        &["--record", "t.log", "--", "demo-kill", "hang"],
    );
    let mut lines = BufReader::new(tee.stdout.take().expect("stdout")).lines();
    let ready = lines.any(|l| l.is_ok_and(|l| l == "ready"));
    assert!(ready, "the app never said it was ready");
    // The app now sleeps and calls getpid: no record fills the buffer, so
    // only the tee's own periodic flush can bring "ready" to the file. A
    // bound, not a timing check: the flush is due every 200 ms.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let dump = run(dir.path(), "tee-log", &["dump", "t.log"]).stdout;
        if dump.contains(r#"write(1, "ready\n", 6) = 6"#) {
            break;
        }
        assert!(Instant::now() < deadline, "never flushed:\n{dump}");
        std::thread::sleep(Duration::from_millis(50));
    }
    tee.kill().expect("kill the tee");
    tee.wait().expect("reap the tee");
    let verify = run(dir.path(), "tee-log", &["verify", "t.log"]);
    assert_eq!(verify.status, 1, "{verify:?}");
    assert!(verify.stdout.contains("incomplete"), "{verify:?}");
    let dump = run_ok(dir.path(), "tee-log", &["dump", "t.log"], 0).stdout;
    for i in 0..5 {
        assert!(dump.contains(&format!("\"line {i}\\n\"")), "{dump}");
    }
}
