//! Secondaries that block, on Lind: the app never waits on them for ever.

use crate::kit::{lind, Kit};
use crate::util::{run_until_said, Output};
use crate::{expect, same, without_strace};
use std::process::Command;
use std::time::Duration;

/// Far above what these runs take, far below for ever.
const LIMIT: Duration = Duration::from_secs(120);

/// `tier-app fifo DIR`, bare.
fn bare_fifo(kit: &Kit, dir: &str) -> Output {
    let bare = lind(&[kit.app(), "fifo", dir]);
    assert!(
        bare.status == 0 && bare.stdout.contains("fifo: all ok"),
        "bare fifo run: {bare:?}"
    );
    bare
}

/// The repo's own mkfifo program (tier-app `fifo`, Lind's mkfifo_test in
/// small) under the forms that test once hung in: the app prints and
/// exits as bare each time. archive-grate read the FIFO itself on the
/// writer's open and so held the app for ever.
#[test]
fn a_fifo_program_runs_as_bare_under_every_secondary() {
    let kit = Kit::get();
    let run = kit.run_dir("fifo");
    let bare = bare_fifo(kit, &run.path("bare"));
    let log = run.path("fifo.log");
    let archive = run.path("archive");
    let forms: &[&[&str]] = &[
        &["--record", &log, "--"],
        &["%{", "grates/archive-grate.cwasm", &archive, "%}"],
        &["%{", "grates/passthrough-grate.cwasm", "%}"],
        &["%{", "grates/strace-grate-rs.cwasm", "%}"],
    ];
    let mut failures = Vec::new();
    for (i, form) in forms.iter().enumerate() {
        let out = run.path(&format!("out{i}"));
        let argv = [&["tee-grate.cwasm"], *form, &[kit.app(), "fifo", &out]].concat();
        let teed = lind(&argv);
        let verdict = expect(teed.status == bare.status, || {
            format!("exit {}: {teed:?}", teed.status)
        })
        .and_then(|()| same("app output", &without_strace(&teed.stdout), &bare.stdout))
        .and_then(|()| {
            expect(!teed.stderr.contains("detached"), || {
                format!("the secondary stalled: {}", teed.stderr)
            })
        });
        println!(
            "lind tier | fifo under {:<40} | {verdict:?}",
            form.join(" ")
        );
        if let Err(why) = verdict {
            failures.push(format!("{form:?}: {why}"));
        }
    }
    let verify = kit.tee_log(&["verify", &kit.host(&log)]);
    if verify.status != 0 {
        failures.push(format!("the recording: {verify:?}"));
    }
    run.remove_if(failures.is_empty());
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A secondary grate stuck for good in open: the app runs to its end with
/// its own output, and the summary names the call and gives the app's
/// status. The run itself does not end (lind-boot waits for the stuck
/// grate's cage, whose call is in flight), so the test stops it.
#[test]
fn a_secondary_stuck_for_good_in_open_is_detached_and_named() {
    let kit = Kit::get();
    let run = kit.run_dir("stuck");
    let bare = bare_fifo(kit, &run.path("bare"));
    let out = run.path("out");
    let mut command = Command::new(kit.boot());
    command.current_dir(kit.root()).args([
        "tee-grate.cwasm",
        "--stall",
        "500",
        "%{",
        "grates/faulty-grate.cwasm",
        "block",
        "--calls",
        "open,openat",
        "%}",
        kit.app(),
        "fifo",
        &out,
    ]);
    let teed = run_until_said(&mut command, "the app's exit status is", LIMIT)
        .expect("the summary within the limit");
    let stderr = &teed.stderr;
    let verdict = same("app output", &teed.stdout, &bare.stdout)
        .and_then(|()| {
            expect(
                stderr.contains("tee-grate: secondary detached: open(")
                    && stderr.contains("did not return within 500 ms")
                    && stderr.contains("calls after it not duplicated"),
                || format!("no detach line naming the call: {stderr}"),
            )
        })
        .and_then(|()| {
            expect(stderr.contains("the app's exit status is 0;"), || {
                format!("no status line: {stderr}")
            })
        });
    run.remove_if(verdict.is_ok());
    if let Err(why) = verdict {
        panic!("{why}");
    }
}
