//! The Lind tier: every mode of the tee, on a real Lind runtime.
//!
//! Runs the repo's own C workloads (`lind/tier/tier-app.c`, compiled with
//! `lind_compile -s`) bare and under `tee-grate` in every form the README
//! shows, and holds each teed run to the bare one: the same app output and
//! the same files. Recordings are verified and read on the host with
//! `tee-log`, replayed on Lind into archive-grate and imfs-grate, and
//! rebuilt with the native `tee-replay --into-dir`.
//!
//! Needs the Lind kit's environment (`LIND_ROOT`, `LIND_BOOT`,
//! `lind_compile` on `PATH`: `source "$LIND_KIT/env.sh"` after
//! `../shared/lind/setup.sh`) and the programs `lind/build.sh` installs.
//! Without them every test fails, saying so: this target is not part of
//! `cargo test --workspace`; run it with `cargo test --test lind_tier`.
//!
//! lindfs is a persistent directory: each test works under a fresh
//! `/tier/<run>` and removes it when it passes.

#[allow(dead_code)]
#[path = "../util.rs"]
mod util;

mod blocking;
mod kit;
mod unit_tests;

use kit::{lind, Kit, SCENARIOS};
use std::time::Instant;
use util::{assert_same_tree, Tree};

/// One scenario's outcome under one form, printed as the tier's table.
struct Tally {
    form: &'static str,
    failures: Vec<String>,
}

impl Tally {
    fn new(form: &'static str) -> Tally {
        Tally {
            form,
            failures: Vec::new(),
        }
    }

    /// Runs `check` for `scenario`, printing one line of the tier's table.
    fn scenario(&mut self, scenario: &str, check: impl FnOnce() -> Result<(), String>) {
        let start = Instant::now();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
        let outcome = match caught {
            Ok(result) => result,
            Err(panic) => Err(panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into())),
        };
        let took = start.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => println!(
                "lind tier | {:<28} | {scenario:<9} | ok     | {took:5.1} s",
                self.form
            ),
            Err(why) => {
                println!(
                    "lind tier | {:<28} | {scenario:<9} | FAILED | {took:5.1} s | {why}",
                    self.form
                );
                self.failures.push(format!("{scenario}: {why}"));
            }
        }
    }

    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{}: {}",
            self.form,
            self.failures.join("\n")
        );
    }
}

fn same(what: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what} differs:\n--- got\n{got}--- want\n{want}"))
    }
}

fn same_tree(got: &Tree, want: &Tree, what: &str) -> Result<(), String> {
    std::panic::catch_unwind(|| assert_same_tree(got, want, what)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| format!("{what} differs"))
    })
}

fn expect(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// The names strace-grate-rs prints its records under (`NAME_syscall`), as
/// its source (rust-grates/strace-grate/src/main.rs) defines them.
const STRACE_NAMES: &[&str] = &[
    "read",
    "write",
    "open",
    "close",
    "stat",
    "fstat",
    "poll",
    "lseek",
    "mmap",
    "mprotect",
    "munmap",
    "brk",
    "sigaction",
    "sigprocmask",
    "ioctl",
    "pread",
    "readv",
    "pwrite",
    "writev",
    "access",
    "pipe",
    "select",
    "sched_yield",
    "shmget",
    "shmat",
    "shmctl",
    "dup",
    "dup2",
    "nanosleep",
    "setitimer",
    "getpid",
    "socket",
    "connect",
    "accept",
    "sendto",
    "recvfrom",
    "shutdown",
    "bind",
    "listen",
    "getsockname",
    "getpeername",
    "socketpair",
    "setsockopt",
    "getsockopt",
    "clone",
    "fork",
    "exec",
    "exit",
    "waitpid",
    "kill",
    "shmdt",
    "fcntl",
    "flock",
    "fsync",
    "fdatasync",
    "truncate",
    "ftruncate",
    "getdents",
    "getcwd",
    "chdir",
    "fchdir",
    "rename",
    "unlink",
    "readlink",
    "chmod",
    "fchmod",
    "getuid",
    "getgid",
    "geteuid",
    "getegid",
    "getppid",
    "statfs",
    "fstatfs",
    "gethostname",
    "futex",
    "epoll_create",
    "clock_gettime",
    "epoll_wait",
    "epoll_ctl",
    "unlinkat",
    "readlinkat",
    "sync_file_range",
    "epoll_create1",
    "dup3",
    "pipe2",
    "getrandom",
];

/// `stdout` with what strace-grate-rs printed itself taken out: its banner,
/// its closing `Result: Ok(0)`, and its records. It prints a record as
/// `\nNAME_syscall(ARGS)` and then ` = RET` through a line-buffered stdout,
/// so each record reaches fd 1 as one `NAME_syscall(ARGS) = RET\n` write
/// (its arguments escaped), between two of the app's writes, possibly right
/// after an app write that did not end a line.
fn without_strace(stdout: &str) -> String {
    let mut text = stdout
        .replacen("[Grate Init]: Initializing Strace Grate\n", "", 1)
        .replacen("Result: Ok(\n    0,\n)\n", "", 1);
    let mut from = 0;
    while let Some(found) = text[from..].find("_syscall(") {
        let at = from + found;
        // The record starts at the longest name the text before ends with.
        let name = STRACE_NAMES
            .iter()
            .filter(|n| text[..at].ends_with(*n))
            .max_by_key(|n| n.len());
        let Some(name) = name else {
            from = at + 1;
            continue;
        };
        let start = at - name.len();
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        text.replace_range(start..end, "");
        from = start;
    }
    // The record before the first app write ends the banner's blank line.
    text.strip_prefix('\n').map(str::to_string).unwrap_or(text)
}

/// Runs `check` for every workload in a fresh run directory (kept when a
/// check failed), printing the tier's table, and fails with every failure.
fn each_scenario(
    form: &'static str,
    skip: &[&str],
    check: impl Fn(&'static Kit, &kit::RunDir, &str) -> Result<(), String>,
) {
    let kit = Kit::get();
    let run = kit.run_dir(form);
    let mut tally = Tally::new(form);
    for &s in SCENARIOS {
        if skip.contains(&s) {
            println!("lind tier | {form:<28} | {s:<9} | skipped (see the test)");
            continue;
        }
        tally.scenario(s, || check(kit, &run, s));
    }
    run.remove_if(tally.failures.is_empty());
    tally.finish();
}

#[test]
fn bare_runs_pass_their_own_checks() {
    each_scenario("bare", &[], |kit, _, s| {
        let base = kit.baseline(s);
        expect(base.status == 0, || format!("exit {}", base.status))?;
        expect(base.stdout.contains(&format!("{s}: all ok")), || {
            format!("checks failed:\n{}", base.stdout)
        })?;
        expect(!base.files.is_empty(), || "no files written".into())
    });
}

/// Replays `log` on Lind into archive-grate keeping `archive`, and holds
/// the archived copy of the app's `out` to the bare run's `files`.
fn replays_into_archive(
    kit: &Kit,
    log: &str,
    archive: &str,
    out: &str,
    files: &Tree,
) -> Result<(), String> {
    let replay = lind(&[
        "tee-replay.cwasm",
        log,
        "%<",
        "grates/archive-grate.cwasm",
        archive,
        "%>",
    ]);
    expect(
        replay.status == 0 && replay.stderr.contains(" 0 divergences"),
        || format!("replay into archive-grate: {replay:?}"),
    )?;
    same_tree(
        &kit.tree(&format!("{archive}{out}")),
        files,
        "archive rebuilt by the replay",
    )
}

#[test]
fn record_verifies_dumps_and_replays_to_the_same_files() {
    each_scenario("--record, replay, into-dir", &[], |kit, run, s| {
        let base = kit.baseline(s);
        let log = run.path(&format!("{s}.log"));
        let out = run.path(s);
        // Timed per call, so the clock on Lind is exercised too.
        let teed = lind(&[
            "tee-grate.cwasm",
            "--timing",
            "call",
            "--record",
            &log,
            "--",
            kit.app(),
            s,
            &out,
        ]);
        same("app output", &teed.stdout, &base.stdout)?;
        expect(teed.status == base.status, || {
            format!("exit {}", teed.status)
        })?;
        same_tree(&kit.tree(&out), &base.files, "recorded run's files")?;
        let verify = kit.tee_log(&["verify", &kit.host(&log)]);
        expect(verify.status == 0, || format!("tee-log verify: {verify:?}"))?;
        let dump = kit.tee_log(&["dump", &kit.host(&log)]);
        expect(
            dump.stdout.contains("write(") && dump.stdout.contains("open("),
            || format!("dump shows no calls:\n{}", dump.stdout),
        )?;
        // With --timing call the tee on Lind times every call it records.
        let json = kit.tee_log(&["dump", "--json", &kit.host(&log)]);
        let syscalls: Vec<&str> = json
            .stdout
            .lines()
            .filter(|l| l.contains("\"kind\":\"syscall\""))
            .collect();
        expect(
            !syscalls.is_empty() && syscalls.iter().all(|l| !l.contains("\"duration_ns\":null")),
            || format!("a syscall record without its duration:\n{}", json.stdout),
        )?;
        let timed = kit.tee_log(&["dump", "-T", &kit.host(&log)]);
        expect(timed.stdout.contains(") = 0 <0."), || {
            format!("dump -T shows no durations:\n{}", timed.stdout)
        })?;
        // A replay on Lind into a stack that shortens writes diverges at
        // the first one, and says how long it took there and when recorded.
        let faulty = lind(&[
            "tee-replay.cwasm",
            &log,
            "%<",
            "grates/faulty-grate.cwasm",
            "short-write",
            "%>",
        ]);
        expect(
            faulty.status == 1
                && faulty.stdout.contains("divergence at record ")
                && faulty.stdout.contains(" s recorded / ")
                && !faulty.stdout.contains("took ?")
                && !faulty.stdout.contains("/ ? s"),
            || format!("replay into faulty-grate short-write: {faulty:?}"),
        )?;
        replays_into_archive(
            kit,
            &log,
            &run.path(&format!("{s}-archive")),
            &out,
            &base.files,
        )?;
        let rebuilt = kit.rebuild_into_dir(&log);
        same_tree(
            &kit::subtree(&rebuilt, &out),
            &base.files,
            "tree rebuilt by tee-replay --into-dir",
        )
    });
}

#[test]
fn compressed_recordings_read_on_the_host_and_replay_on_lind() {
    each_scenario("--record --compress, replay", &[], |kit, run, s| {
        let base = kit.baseline(s);
        for codec in ["lz4", "zstd"] {
            let log = run.path(&format!("{s}-{codec}.log"));
            let out = run.path(&format!("{s}-{codec}"));
            let teed = lind(&[
                "tee-grate.cwasm",
                "--record",
                &log,
                "--compress",
                codec,
                "--",
                kit.app(),
                s,
                &out,
            ]);
            same("app output", &teed.stdout, &base.stdout)?;
            same_tree(&kit.tree(&out), &base.files, "recorded run's files")?;
            let verify = kit.tee_log(&["verify", &kit.host(&log)]);
            expect(verify.status == 0, || format!("tee-log verify: {verify:?}"))?;
            let stats = kit.tee_log(&["stats", &kit.host(&log)]);
            // Every workload writes or reads at least one buffer a codec
            // shrinks (its exec's argv and environment among them).
            expect(
                stats.stdout.contains(&format!("compression {codec} ("))
                    && !stats.stdout.contains(" (0 frames compressed)"),
                || format!("{codec}: stats:\n{}", stats.stdout),
            )?;
            let archive = run.path(&format!("{s}-{codec}-archive"));
            replays_into_archive(kit, &log, &archive, &out, &base.files)
                .map_err(|why| format!("{codec}: {why}"))?;
        }
        Ok(())
    });
}

/// `tee-grate %{ SECONDARY... %} app`: the app sees and leaves what it does
/// bare; the summary names the secondary's duplicates.
fn live_secondary(
    form: &'static str,
    secondary: &[&str],
    skip: &[&str],
    also: impl Fn(&str, &str, &util::Output) -> Result<(), String>,
) {
    each_scenario(form, skip, |kit, run, s| {
        let base = kit.baseline(s);
        let out = run.path(s);
        let extra = run.path(&format!("{s}-grate"));
        let mut argv = vec!["tee-grate.cwasm", "%{"];
        argv.extend(
            secondary
                .iter()
                .map(|a| if *a == "DIR" { extra.as_str() } else { a }),
        );
        argv.extend(["%}", kit.app(), s, &out]);
        let teed = lind(&argv);
        same("app output", &without_strace(&teed.stdout), &base.stdout)?;
        expect(teed.status == base.status, || {
            format!("exit {}: {teed:?}", teed.status)
        })?;
        same_tree(&kit.tree(&out), &base.files, "the app's files")?;
        expect(teed.stderr.contains("calls duplicated"), || {
            format!("no summary: {}", teed.stderr)
        })?;
        also(&extra, &out, &teed)
    });
}

#[test]
fn live_tee_into_imfs_grate() {
    live_secondary(
        "%{ imfs-grate %}",
        &["grates/imfs-grate.cwasm"],
        &[],
        |_, _, _| Ok(()),
    );
}

/// strace-grate-rs panics when two of its handlers print at once
/// ("RefCell already borrowed" in std's stdout, whose lock cannot tell
/// Lind's worker instances apart), and the panicked worker keeps stdout
/// locked. As a secondary it no longer can: every duplicated call reaches
/// it from the tee's one secondary thread, so `threads` and `pipes`, whose
/// cages call at the same time, run under it too.
#[test]
fn live_tee_into_strace_grate() {
    live_secondary(
        "%{ strace-grate-rs %}",
        &["grates/strace-grate-rs.cwasm"],
        &[],
        |_, _, teed| {
            expect(teed.stdout.contains("write_syscall("), || {
                format!("strace saw no write: {}", teed.stdout)
            })
        },
    );
}

#[test]
fn live_tee_into_archive_grate_keeps_the_files() {
    let kit = Kit::get();
    live_secondary(
        "%{ archive-grate DIR %}",
        &["grates/archive-grate.cwasm", "DIR"],
        &[],
        |archive, out, _| {
            let base = kit.baseline(out.rsplit('/').next().unwrap_or_default());
            same_tree(
                &kit.tree(&format!("{archive}{out}")),
                &base.files,
                "the archive",
            )
        },
    );
}

#[test]
fn live_tee_into_a_faulty_grate_reports_and_changes_nothing() {
    live_secondary(
        "%{ faulty-grate short-write %}",
        &["grates/faulty-grate.cwasm", "short-write"],
        &[],
        |_, _, teed| {
            expect(teed.stderr.contains("result mismatches (write"), || {
                format!("short writes not reported: {}", teed.stderr)
            })
        },
    );
}

#[test]
fn flag_form_with_a_primary_grate() {
    each_scenario("--primary pass --secondary imfs", &[], |kit, run, s| {
        let base = kit.baseline(s);
        let out = run.path(s);
        let teed = lind(&[
            "tee-grate.cwasm",
            "--primary",
            "grates/passthrough-grate.cwasm",
            "--secondary",
            "grates/imfs-grate.cwasm",
            "--",
            kit.app(),
            s,
            &out,
        ]);
        same("app output", &teed.stdout, &base.stdout)?;
        same_tree(&kit.tree(&out), &base.files, "the app's files")
    });
}

/// With imfs-grate as the primary the app sees imfs-grate's answers, so it
/// is held to a run under imfs-grate alone (which is not a bare run: the C
/// imfs-grate serves files but not directories).
#[test]
fn two_blocks_with_imfs_primary_and_its_recording_replays_into_imfs() {
    each_scenario("%{ imfs %} %{ archive %}, --record", &[], |kit, run, s| {
        let under_imfs = kit.under_imfs(s);
        let out = run.path(s);
        let archive = run.path(&format!("{s}-archive"));
        let teed = lind(&[
            "tee-grate.cwasm",
            "%{",
            "grates/imfs-grate.cwasm",
            "%}",
            "%{",
            "grates/archive-grate.cwasm",
            &archive,
            "%}",
            kit.app(),
            s,
            &out,
        ]);
        same("app output", &teed.stdout, under_imfs)?;
        expect(teed.stderr.contains("calls duplicated"), || {
            format!("{teed:?}")
        })?;
        let log = run.path(&format!("{s}.log"));
        let out = run.path(&format!("{s}-rec"));
        let recorded = lind(&[
            "tee-grate.cwasm",
            "--record",
            &log,
            "%{",
            "grates/imfs-grate.cwasm",
            "%}",
            kit.app(),
            s,
            &out,
        ]);
        same("app output under --record", &recorded.stdout, under_imfs)?;
        let verify = kit.tee_log(&["verify", &kit.host(&log)]);
        expect(verify.status == 0, || format!("tee-log verify: {verify:?}"))?;
        let replay = lind(&[
            "tee-replay.cwasm",
            &log,
            "%<",
            "grates/imfs-grate.cwasm",
            "%>",
        ]);
        expect(
            replay.status == 0 && replay.stderr.contains(" 0 divergences"),
            || format!("replay into imfs-grate: {replay:?}"),
        )
    });
}

#[test]
fn strace_records_are_told_from_the_app_output() {
    let mixed = "[Grate Init]: Initializing Strace Grate\n\nexec_syscall(\"a\", 1, 2) = 0\n\
                 mkdir: ok\nbrk_syscall(0) = 5\nchild: runningclose_syscall(4) = 0\n\
                 pwrite_syscall(3, \"a\\nb\", 3) = 3\n\nResult: Ok(\n    0,\n)\n";
    assert_eq!(without_strace(mixed), "mkdir: ok\nchild: running\n");
}

#[test]
fn baseline_trees_are_what_the_apps_wrote() {
    // Guards the comparisons above: a baseline with nothing in it would
    // make every tree comparison vacuous.
    let kit = Kit::get();
    let files = &kit.baseline("files").files;
    let notes = files.get("notes.txt").cloned().flatten();
    assert_eq!(notes.as_deref(), Some(&b"Alpha\nbeta\n"[..]), "{files:?}");
    assert_eq!(files.get("sub"), Some(&None));
}

/// Rounds of the racing-appends check: each is a live run, a recorded run,
/// a replay and an --into-dir, about 5 s on Lind.
const RACE_ROUNDS: usize = 10;

/// Four threads race appends on one O_APPEND fd (tier-app `shared`): in
/// every round the live archive, the archive a replay rebuilds and the
/// tree --into-dir rebuilds hold that run's own file byte for byte, in the
/// order the kernel applied the writes (SPEC.md, "Order").
#[test]
fn racing_appends_on_one_fd_keep_the_kernels_order_in_every_form() {
    let kit = Kit::get();
    let ok = |what: &str, r: Result<(), String>| r.unwrap_or_else(|e| panic!("{what}: {e}"));
    // Runs tier-app `shared OUT` behind `tee`; returns the files it wrote.
    let shared = |tee: &[&str], out: &str| {
        let mut argv = vec!["tee-grate.cwasm"];
        argv.extend(tee);
        argv.extend([kit.app(), "shared", out]);
        let teed = lind(&argv);
        let what = format!("tee-grate {}", tee.join(" "));
        ok(
            &what,
            expect(teed.stdout.contains("shared: all ok"), || {
                format!("{teed:?}")
            }),
        );
        kit.tree(out)
    };
    for round in 0..RACE_ROUNDS {
        let run = kit.run_dir("shared");
        let (out, arch) = (run.path("live"), run.path("live-archive"));
        let real = shared(&["%{", "grates/archive-grate.cwasm", &arch, "%}"], &out);
        let archived = kit.tree(&format!("{arch}{out}"));
        ok(
            &format!("round {round}, live"),
            same_tree(&archived, &real, "the live archive"),
        );

        let (log, out, arch) = (run.path("t.log"), run.path("rec"), run.path("rec-archive"));
        let real = shared(&["--record", &log, "--"], &out);
        let replay = lind(&[
            "tee-replay.cwasm",
            &log,
            "%<",
            "grates/archive-grate.cwasm",
            &arch,
            "%>",
        ]);
        ok(
            "replay",
            expect(replay.stderr.contains(" 0 divergences"), || {
                format!("{replay:?}")
            }),
        );
        let replayed = kit.tree(&format!("{arch}{out}"));
        ok(
            &format!("round {round}, replay"),
            same_tree(&replayed, &real, "the replayed archive"),
        );
        let rebuilt = kit::subtree(&kit.rebuild_into_dir(&log), &out);
        ok(
            &format!("round {round}, --into-dir"),
            same_tree(&rebuilt, &real, "--into-dir"),
        );
        run.remove_if(true);
    }
}

/// `tee-log repro` of a Lind recording made under imfs-grate: the C file
/// builds with lind_compile, runs under imfs-grate with no mismatch, and
/// under imfs-grate with faulty-grate short-write names the record that
/// tee-replay's divergence names for the same stack.
#[test]
fn repro_of_a_lind_recording_builds_with_lind_compile_and_agrees_with_replay() {
    let kit = Kit::get();
    let run = kit.run_dir("repro");
    let log = run.path("files.log");
    let out = run.path("out");
    let teed = record_files_under_imfs(kit, &log, &out);
    // The app's own checks fail on imfs-grate (no directories) and its
    // status says so; the log is what matters here.
    let verify = kit.tee_log(&["verify", &kit.host(&log)]);
    assert_eq!(verify.status, 0, "{teed:?}\n{verify:?}");
    let repro = build_repro(kit, &log, &run.path("repro.cwasm"));

    // imfs-grate passes directories to lindfs: each run starts without
    // the one the recording made.
    let fresh = || {
        let _ = std::fs::remove_dir_all(kit.host(&out));
    };
    // Under imfs-grate, every call as recorded. (lind-boot's status is the
    // grate's there: the verdict is the reproducer's line.)
    fresh();
    let under_imfs = lind(&["grates/imfs-grate.cwasm", &repro]);
    assert!(
        under_imfs.stderr.contains("no mismatch") && !under_imfs.stderr.contains("first mismatch"),
        "repro under imfs-grate: {under_imfs:?}"
    );

    // With writes shortened below it, the reproducer and tee-replay name
    // one record.
    let stack = [
        "grates/imfs-grate.cwasm",
        "grates/faulty-grate.cwasm",
        "short-write",
    ];
    let mut args: Vec<&str> = stack.to_vec();
    args.push(&repro);
    fresh();
    let faulty = lind(&args);
    let mut args = vec!["tee-replay.cwasm", log.as_str(), "%<"];
    args.extend(stack);
    args.push("%>");
    let replayed = lind(&args);
    let theirs = record_of(&replayed.stdout, "divergence at record ");
    let ours = record_of(&faulty.stderr, "first mismatch at record ");
    assert!(
        theirs.is_some() && theirs == ours,
        "tee-replay: {replayed:?}\nrepro: {faulty:?}"
    );

    // Replayed on Lind into both stacks side by side, the two part ways
    // at that record too.
    let mut args = vec!["tee-replay.cwasm", log.as_str(), "%<", stack[0], "%>", "%<"];
    args.extend(stack);
    args.push("%>");
    let both = lind(&args);
    let between = record_of(&both.stdout, "divergence at record ");
    assert!(
        between == theirs && both.stdout.contains(" between stacks 1 and 2: "),
        "differential replay: {both:?}"
    );
    println!("lind tier | repro, differential   | record {theirs:?} named by all three");
    run.remove_if(true);
}

/// One tee form's verdict on one of Lind's unit tests.
fn unit_verdict(got: Result<util::Output, String>, bare: &util::Output) -> Result<(), String> {
    let got = got?;
    expect(got.status == bare.status, || {
        format!("status {} (bare {})", got.status, bare.status)
    })?;
    same("stdout", &got.stdout, &bare.stdout)
}

/// Lind's own unit tests, bare and under `--record` (the log verifies on
/// the host and replays on Lind into archive-grate with no divergence),
/// `%{ passthrough-grate %}`, `%{ archive-grate %}` and `%{ imfs-grate %}`:
/// each form prints what the bare run prints and exits as it does.
#[test]
fn lind_unit_tests_run_as_bare_under_every_form() {
    use unit_tests::Suite;
    let kit = Kit::get();
    let started = Instant::now();
    let suite = Suite::install(kit);
    let run = kit.run_dir("unit");
    let mut failures = Vec::new();
    let mut counted = 0;
    for test in &suite.tests {
        let program = Suite::program(test);
        let slug = test.replace('/', "-");
        let first = Instant::now();
        let bare = suite.run(kit, &[&program]);
        let again = suite.run(kit, &[&program]);
        let bare = match (bare, again) {
            (Ok(a), Ok(b)) if a.status == 0 && a.status == b.status && a.stdout == b.stdout => a,
            (a, b) => {
                println!("lind unit | {test:<36} | unstable bare, skipped: {a:?} / {b:?}");
                continue;
            }
        };
        counted += 1;
        let log = run.path(&format!("{slug}.log"));
        let archive = run.path(&format!("{slug}.archive"));
        let replayed = run.path(&format!("{slug}.replayed"));
        let mut verdicts: Vec<(&str, Result<(), String>)> = Vec::new();
        let recorded = suite.run(kit, &["tee-grate.cwasm", "--record", &log, "--", &program]);
        verdicts.push((
            "record",
            unit_verdict(recorded, &bare).and_then(|()| {
                let verify = kit.tee_log(&["verify", &kit.host(&log)]);
                expect(verify.status == 0, || format!("log: {verify:?}"))?;
                // kill.c's child dies by SIGKILL without calling exit.
                let dump = kit.tee_log(&["dump", &kit.host(&log)]).stdout;
                expect(
                    !test.ends_with("/kill") || dump.contains("+++ killed by SIGKILL +++"),
                    || format!("the child's death is not in the log:\n{dump}"),
                )
            }),
        ));
        let replay = suite.run(
            kit,
            &[
                "tee-replay.cwasm",
                &log,
                "%<",
                "grates/archive-grate.cwasm",
                &replayed,
                "%>",
            ],
        );
        verdicts.push((
            "replay",
            replay.and_then(|r| {
                let said = format!("{}{}", r.stdout, r.stderr);
                expect(r.status == 0 && said.contains(" 0 divergences"), || {
                    format!("replay: {r:?}")
                })
            }),
        ));
        let stacks: [(&str, Vec<&str>); 3] = [
            ("passthrough", vec!["grates/passthrough-grate.cwasm"]),
            ("archive", vec!["grates/archive-grate.cwasm", &archive]),
            ("imfs", vec!["grates/imfs-grate.cwasm"]),
        ];
        for (name, stack) in stacks {
            let mut args = vec!["tee-grate.cwasm", "%{"];
            args.extend(stack);
            args.extend(["%}", &program]);
            verdicts.push((name, unit_verdict(suite.run(kit, &args), &bare)));
        }
        let cells: Vec<String> = verdicts
            .iter()
            .map(|(name, v)| format!("{name} {}", if v.is_ok() { "ok" } else { "FAILED" }))
            .collect();
        println!(
            "lind unit | {test:<36} | {} | {:5.1} s",
            cells.join(" | "),
            first.elapsed().as_secs_f64()
        );
        for (name, verdict) in verdicts {
            if let Err(why) = verdict {
                failures.push(format!("{test} under {name}: {why}"));
            }
        }
    }
    println!(
        "lind unit | {counted} of {} tests stable bare, {} failures, {:.0} s",
        suite.tests.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    run.remove_if(failures.is_empty());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Records the `files` workload into `out` at `log` (lindfs paths) with
/// imfs-grate as the primary, so the log holds what imfs-grate answers (it
/// serves files but not directories).
fn record_files_under_imfs(kit: &Kit, log: &str, out: &str) -> util::Output {
    lind(&[
        "tee-grate.cwasm",
        "--record",
        log,
        "%{",
        "grates/imfs-grate.cwasm",
        "%}",
        kit.app(),
        "files",
        out,
    ])
}

/// `tee-log repro` of `log` (a lindfs path), built with `lind_compile -s`
/// and installed at lindfs `at`; returns `at`.
fn build_repro(kit: &Kit, log: &str, at: &str) -> String {
    let build = tempfile::tempdir().expect("build dir");
    let source = build.path().join("repro.c");
    let made = kit.tee_log(&["repro", &kit.host(log), "-o", source.to_str().unwrap()]);
    assert_eq!(made.status, 0, "{made:?}");
    let compiled = util::finish(
        util::spawn_command(
            std::process::Command::new("lind_compile")
                .args(["-s", "repro.c"])
                .current_dir(build.path()),
            "lind_compile",
        ),
        "lind_compile -s repro.c",
    );
    let cwasm = build.path().join("repro.cwasm");
    assert!(cwasm.is_file(), "lind_compile -s repro.c: {compiled:?}");
    std::fs::copy(&cwasm, kit.host(at)).expect("install repro.cwasm");
    at.to_string()
}

/// The record number after `lead` in `text` ("divergence at record 5").
fn record_of(text: &str, lead: &str) -> Option<u64> {
    let at = text.find(lead)? + lead.len();
    text[at..].split(' ').next()?.parse().ok()
}

/// The first divergence a `--report` names: seq, kind and sides.
fn first_divergence(report_host_path: &str) -> Option<(u64, String, String)> {
    let text = std::fs::read(report_host_path).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let first = json["divergences"].get(0)?;
    Some((
        first["seq"].as_u64()?,
        first["kind"].as_str()?.to_owned(),
        first["between"].to_string(),
    ))
}

/// tee-replay.cwasm on Lind of `log` (a lindfs path) into `stacks`, with
/// its report at `report`; the first divergence it names.
fn lind_divergence(
    kit: &Kit,
    log: &str,
    report: &str,
    stacks: &[Vec<&str>],
) -> Option<(u64, String, String)> {
    let mut args = vec!["tee-replay.cwasm", "--force", "--report", report, log];
    for stack in stacks {
        args.push("%<");
        args.extend(stack);
        args.push("%>");
    }
    lind(&args);
    first_divergence(&kit.host(report))
}

/// `tee-log reduce --lind` shrinks a divergence of Lind's own C imfs-grate
/// (against imfs-grate under faulty-grate short-write, and that stack
/// against the recording) by replaying every candidate on Lind; the small
/// log replays on Lind to the same divergence, and its reproducer, built
/// with lind_compile, names the record tee-replay names.
#[test]
fn reduce_on_lind_shrinks_a_divergence_of_lind_grates() {
    let kit = Kit::get();
    let run = kit.run_dir("reduce");
    let log = run.path("files.log");
    record_files_under_imfs(kit, &log, &run.path("out"));
    let imfs = vec!["grates/imfs-grate.cwasm"];
    let faulty = vec![
        "grates/imfs-grate.cwasm",
        "grates/faulty-grate.cwasm",
        "short-write",
    ];
    for (mode, stacks) in [
        ("--against", vec![imfs.clone(), faulty.clone()]),
        ("--stack", vec![faulty.clone()]),
    ] {
        let whole = lind_divergence(kit, &log, &run.path("whole.json"), &stacks);
        assert!(whole.is_some(), "{mode}: the recording does not diverge");
        let small = run.path(&format!("small{mode}.log"));
        let (from, to) = (kit.host(&log), kit.host(&small));
        let mut args = vec![
            "reduce", &from, "-o", &to, "--lind", "--budget", "600s", mode,
        ];
        for stack in &stacks {
            args.push("%<");
            args.extend(stack);
            args.push("%>");
        }
        let reduced = kit.tee_log(&args);
        assert_eq!(reduced.status, 0, "{mode}: {reduced:?}");
        let dump = kit.tee_log(&["dump", &kit.host(&small)]).stdout;
        let calls = dump
            .lines()
            .filter(|l| l.starts_with("[cage") && !l.contains("fork()") && !l.contains("execve("))
            .count();
        assert!(calls < 20, "{mode}: {calls} calls left:\n{dump}");
        let again = lind_divergence(kit, &small, &run.path("small.json"), &stacks);
        assert_eq!(again, whole, "{mode}: the small log diverges elsewhere");
        println!("lind tier | reduce {mode:<9} on Lind | {reduced:?}");

        // Its reproducer names the record tee-replay names for the
        // faulty stack.
        let repro = build_repro(kit, &small, &run.path("repro.cwasm"));
        let mut args = faulty.clone();
        args.push(&repro);
        let mismatch = lind(&args);
        let mut args = vec!["tee-replay.cwasm", small.as_str(), "%<"];
        args.extend(&faulty);
        args.push("%>");
        let replayed = lind(&args);
        let theirs = record_of(&replayed.stdout, "divergence at record ");
        let ours = record_of(&mismatch.stderr, "first mismatch at record ");
        assert!(
            theirs.is_some() && theirs == ours,
            "{mode}: tee-replay {replayed:?}\nrepro {mismatch:?}"
        );
    }
    run.remove_if(true);
}

/// An existing log is refused with the line that says so. (In wasm std
/// reads Lind's Linux errno by WASI's numbering, so EEXIST was once told
/// as an unnamed "os error 17".)
#[test]
fn an_existing_log_is_refused_by_name() {
    let kit = Kit::get();
    let run = kit.run_dir("exists");
    let log = run.path("t.log");
    std::fs::write(kit.host(&log), b"mine").expect("write the file in the way");
    let teed = lind(&[
        "tee-grate.cwasm",
        "--record",
        &log,
        "--",
        kit.app(),
        "errors",
        &run.path("out"),
    ]);
    let said = format!("tee-grate: {log}: exists; give --force to replace it");
    let verdict = expect(teed.status == 2 && teed.stderr.contains(&said), || {
        format!("{teed:?}")
    })
    .and_then(|()| {
        expect(
            std::fs::read(kit.host(&log)).ok().as_deref() == Some(&b"mine"[..]),
            || "the file in the way changed".into(),
        )
    });
    run.remove_if(verdict.is_ok());
    verdict.unwrap();
}
