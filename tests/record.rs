//! `tee-grate --record`: the recorder as the secondary.

use crate::util::{assert_demo_tree, finish, run, run_ok, scratch, spawn, tee_demo_files};
use std::time::Duration;

#[test]
fn recording_changes_nothing_and_dump_shows_every_call() {
    let (dir, _) = tee_demo_files(&["--record", "t.log", "--"]);
    assert_demo_tree(dir.path(), "demo-out");

    let dump = run_ok(dir.path(), "tee-log", &["dump", "-s", "64", "t.log"], 0);
    for line in [
        "mkdir(\"demo-out\", 0755) = 0",
        "write(3, \"alpha\\n\", 6) = 6",
        "rename(\"demo-out/draft.txt\", \"demo-out/sub/final.txt\") = 0",
        "unlink(\"demo-out/tmp.txt\") = 0",
        "execve(\"demo-child\"",
        "rename(\"demo-out/child.txt\", \"demo-out/child-done.txt\") = 0",
        "exit_group(0)",
    ] {
        assert!(
            dump.stdout.contains(line),
            "dump lacks {line:?}:\n{}",
            dump.stdout
        );
    }
    // A read's output buffer holds what the app read.
    assert!(
        dump.stdout
            .contains("read(4, \"alpha\\nbeta\\ngamma\\n\", 65536) = 17"),
        "{}",
        dump.stdout
    );
    // Two cages worked: the app and the child it forked.
    let cages: std::collections::BTreeSet<&str> = dump
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[cage ").and_then(|r| r.split(']').next()))
        .collect();
    assert!(cages.len() >= 2, "{cages:?}");
    run_ok(dir.path(), "tee-log", &["verify", "t.log"], 0);
}

#[test]
fn log_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &["--record", "t.log", "--", "hello"],
        0,
    );
    let mode = std::fs::metadata(dir.path().join("t.log"))
        .expect("log")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn killed_mid_run_leaves_a_log_whose_complete_records_verify() {
    let dir = scratch();
    let child = spawn(
        dir.path(),
        "tee-grate",
        &[
            "--sync",
            "record",
            "--record",
            "t.log",
            "--",
            "demo-writes",
            "big.bin",
            "200000",
            "4096",
        ],
    );
    std::thread::sleep(Duration::from_millis(700));
    let pid = child.id();
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
    let killed = finish(child, "tee-grate killed");
    assert_ne!(killed.status, 0, "the run ended before it was killed");
    let verify = run(dir.path(), "tee-log", &["verify", "t.log"]);
    assert_eq!(verify.status, 1, "{}{}", verify.stdout, verify.stderr);
    let dump = run(dir.path(), "tee-log", &["dump", "t.log"]);
    assert_eq!(dump.status, 0, "{}", dump.stderr);
    assert!(
        dump.stdout.contains("write("),
        "no complete write record survived"
    );
}

#[test]
fn recording_through_a_primary_block_keeps_the_real_directory_untouched() {
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &["--record", "t.log", "%{", "imfs-grate", "%}", "demo-files"],
        0,
    );
    assert!(!dir.path().join("demo-out").exists());
    let dump = run_ok(dir.path(), "tee-log", &["dump", "t.log"], 0);
    assert!(
        dump.stdout.contains("mkdir(\"demo-out\", 0755) = 0"),
        "{}",
        dump.stdout
    );
}

#[test]
fn max_buffer_cuts_buffers_and_marks_the_cut() {
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &["--max-buffer", "4", "--record", "t.log", "--", "demo-files"],
        0,
    );
    let log =
        formats::read_all(dir.path().join("t.log"), formats::RecoveryMode::Strict).expect("log");
    let mut cut = 0;
    for record in &log.records {
        if let formats::Record::Syscall(call) = record {
            let info = abi::catalog::lookup(call.nr).expect("catalog call");
            // Paths are kept whole: a replay cannot do without them.
            let data = |b: &&formats::Buffer| {
                info.args[usize::from(b.arg)] != abi::catalog::ArgKind::In(abi::catalog::Len::CStr)
            };
            for buffer in call.inputs.iter().chain(&call.outputs).filter(data) {
                assert!(buffer.data.len() <= 4, "{buffer:?}");
                cut += usize::from(buffer.truncated_from.is_some_and(|full| full > 4));
            }
        }
    }
    assert!(cut > 0, "no buffer was marked as cut");
}

#[test]
fn calls_filter_records_only_what_it_names() {
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &[
            "--calls",
            "write,rename",
            "--record",
            "t.log",
            "--",
            "demo-files",
        ],
        0,
    );
    let dump = run_ok(dir.path(), "tee-log", &["dump", "t.log"], 0);
    assert!(dump.stdout.contains("write("), "{}", dump.stdout);
    assert!(dump.stdout.contains("rename("), "{}", dump.stdout);
    assert!(!dump.stdout.contains("mkdir("), "{}", dump.stdout);
    // Lifecycle events are always recorded: replay needs them.
    assert!(dump.stdout.contains("fork()"), "{}", dump.stdout);
}

#[test]
fn unwritable_log_is_refused_before_the_app_starts() {
    let dir = scratch();
    // The runtime's kernel follows symlinks: this log lands on a full device.
    std::os::unix::fs::symlink("/dev/full", dir.path().join("full.log")).expect("symlink");
    let out = run(
        dir.path(),
        "tee-grate",
        &["--record", "full.log", "--", "demo-files"],
    );
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("full.log"), "{}", out.stderr);
    assert!(!dir.path().join("demo-out").exists(), "the app ran");
}

/// Makes FIFO `dir/name` and a thread that reads its first `bytes` bytes
/// and closes it: writes after that fail with EPIPE.
fn fifo_read_then_closed(
    dir: &std::path::Path,
    name: &str,
    bytes: usize,
) -> std::thread::JoinHandle<()> {
    let fifo = dir.join(name);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    std::thread::spawn(move || {
        use std::io::Read;
        let mut log = std::fs::File::open(fifo).expect("open fifo");
        let mut first = vec![0u8; bytes];
        log.read_exact(&mut first).expect("read the log's start");
    })
}

#[test]
fn log_failing_mid_run_stops_recording_with_one_warning_and_the_app_runs_on() {
    let dir = scratch();
    // A reader that takes the header and a little more, then goes away:
    // every later write to the log fails (EPIPE), as on a disk that filled.
    // The app writes far more than a pipe buffers, so the failure is sure.
    let reader = fifo_read_then_closed(dir.path(), "log.fifo", 256);
    let teed = run_ok(
        dir.path(),
        "tee-grate",
        &[
            "--sync",
            "record",
            "--record",
            "log.fifo",
            "--",
            "demo-writes",
            "out.bin",
            "256",
            "4096",
        ],
        0,
    );
    reader.join().expect("reader");
    assert_eq!(teed.stdout, "wrote 1048576 bytes\n");
    let written = std::fs::metadata(dir.path().join("out.bin")).expect("app file");
    assert_eq!(written.len(), 1 << 20);
    let warnings: Vec<&str> = teed
        .stderr
        .lines()
        .filter(|l| l.contains("recording stopped"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", teed.stderr);
    assert!(teed.stderr.contains("were not written"), "{}", teed.stderr);
}

#[test]
fn quiet_keeps_a_clean_run_silent_and_still_reports_faults() {
    let dir = scratch();
    let clean = run_ok(
        dir.path(),
        "tee-grate",
        &["--quiet", "%{", "passthrough-grate", "%}", "hello"],
        0,
    );
    assert_eq!(clean.stderr, "");
    let faulty = run_ok(
        dir.path(),
        "tee-grate",
        &[
            "--quiet",
            "%{",
            "faulty-grate",
            "errno=EIO",
            "--calls",
            "write",
            "%}",
            "hello",
        ],
        0,
    );
    assert!(faulty.stderr.contains("errors (write"), "{}", faulty.stderr);
}

#[test]
fn record_refuses_an_existing_file_and_a_symlink_without_force() {
    use std::os::unix::fs::symlink;
    let dir = scratch();
    std::fs::write(dir.path().join("keep.txt"), "keep me\n").unwrap();
    std::fs::write(dir.path().join("victim"), "victim\n").unwrap();
    symlink("victim", dir.path().join("link.log")).unwrap();
    for log in ["keep.txt", "link.log"] {
        let refused = run_ok(
            dir.path(),
            "tee-grate",
            &["--record", log, "--", "hello"],
            2,
        );
        assert_eq!(refused.stdout, "", "the app must not start");
        assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
        assert!(refused.stderr.contains(log), "{}", refused.stderr);
        assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
        "keep me\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("victim")).unwrap(),
        "victim\n"
    );
}

#[test]
fn record_with_force_replaces_the_path_never_what_a_symlink_points_to() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = scratch();
    std::fs::write(dir.path().join("victim"), "victim\n").unwrap();
    symlink("victim", dir.path().join("link.log")).unwrap();
    let old = dir.path().join("old.log");
    std::fs::write(&old, "old\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    for log in ["link.log", "old.log"] {
        run_ok(
            dir.path(),
            "tee-grate",
            &["--force", "--record", log, "--", "hello"],
            0,
        );
        let meta = std::fs::symlink_metadata(dir.path().join(log)).unwrap();
        assert!(meta.file_type().is_file(), "{log} is not a plain file now");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{log}");
        run_ok(dir.path(), "tee-log", &["verify", log], 0);
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("victim")).unwrap(),
        "victim\n"
    );
}

/// A log that fails only at the final flush says why, once.
#[test]
fn a_log_failing_at_the_final_flush_names_the_cause() {
    let dir = scratch();
    // The reader takes the header and leaves at once; with --sync exit the
    // records wait in the buffer until the app (which lingers 300 ms for
    // its orphan) is done, so only the final flush meets the closed pipe.
    let reader = fifo_read_then_closed(dir.path(), "end.fifo", 16);
    let teed = run_ok(
        dir.path(),
        "tee-grate",
        &[
            "--sync",
            "exit",
            "--record",
            "end.fifo",
            "--",
            "demo-orphan",
            "out",
        ],
        0,
    );
    reader.join().expect("reader");
    let lines: Vec<&str> = teed
        .stderr
        .lines()
        .filter(|l| l.contains("end.fifo"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", teed.stderr);
    assert!(lines[0].contains("were not written: "), "{}", lines[0]);
    assert!(lines[0].contains("Broken pipe"), "{}", lines[0]);
}

/// A tmpfs of `kib` KiB mounted on a fresh directory, unmounted on drop;
/// `None` (with the reason printed) where this user may not mount.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(kib: u32) -> Option<SmallDisk> {
        let dir = scratch();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(SmallDisk { dir }),
            Ok(o) => {
                eprintln!(
                    "skipped: cannot mount a small tmpfs: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount: {e}");
                None
            }
        }
    }

    /// Fills the disk with one file, so the next write gets ENOSPC.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.dir.path().join("fill")).unwrap();
        let block = [0u8; 4096];
        while f.write_all(&block).is_ok() {}
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_leaves_no_empty_log_and_says_why() {
    let Some(disk) = SmallDisk::mount(64) else {
        return;
    };
    disk.fill();
    let out = run(
        disk.dir.path(),
        "tee-grate",
        &["--record", "t.log", "--", "hello"],
    );
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr.contains("No space left on device"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("no log was left"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        !disk.dir.path().join("t.log").exists(),
        "an empty log was left behind"
    );
}

/// `dump -y` names each fd by the file the log shows behind it, as strace
/// -y does, through opens (an *at path under its dirfd's file), dups,
/// pipes and closes; other cages' fds and filters do not confuse it.
#[test]
fn dump_names_fds_by_their_files() {
    let dir = scratch();
    run_ok(
        dir.path(),
        "tee-grate",
        &["--record", "t.log", "--", "demo-files"],
        0,
    );
    let dump = run_ok(dir.path(), "tee-log", &["dump", "-y", "t.log"], 0).stdout;
    for want in [
        r#"open("demo-out/notes.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3<demo-out/notes.txt>"#,
        r#"write(3<demo-out/notes.txt>, "alpha\n", 6) = 6"#,
        r#"openat(3<demo-out>, "notes.txt", O_RDONLY) = 4<demo-out/notes.txt>"#,
        r#"dup2(3<demo-out/dup.txt>, 20) = 20<demo-out/dup.txt>"#,
        r#"write(30<demo-out/dup.txt>, "dupfd\n", 6) = 6"#,
        r#"read(3<pipe>, "through the pipe", 64) = 16"#,
        r#"[cage 3] write(3<demo-out/child.txt>, "child start\n", 12) = 12"#,
    ] {
        assert!(dump.contains(want), "no {want:?} in\n{dump}");
    }
    // A closed fd loses its name: the reused 3 is named by its new open.
    let reopen = dump
        .lines()
        .position(|l| l.contains(r#"open("demo-out/data.bin""#))
        .expect("data.bin open");
    assert!(dump
        .lines()
        .nth(reopen)
        .unwrap()
        .ends_with("= 3<demo-out/data.bin>"));
    // Filtering shows fewer lines, named the same.
    let writes = run_ok(
        dir.path(),
        "tee-log",
        &["dump", "-y", "--calls", "write", "t.log"],
        0,
    )
    .stdout;
    assert!(
        writes.contains(r#"write(30<demo-out/dup.txt>, "dupfd\n", 6) = 6"#),
        "{writes}"
    );
    let plain = run_ok(dir.path(), "tee-log", &["dump", "t.log"], 0).stdout;
    assert!(
        plain.contains(r#"write(3, "alpha\n", 6) = 6"#),
        "without -y, fds stay numbers"
    );
}

#[test]
fn a_compressed_recording_is_smaller_and_replays_the_same_files() {
    for codec in ["lz4", "zstd"] {
        let dir = scratch();
        // The log by absolute path for one codec, relative for the other.
        let log = match codec {
            "lz4" => dir.path().join("t.log").display().to_string(),
            _ => "t.log".to_string(),
        };
        let app = ["demo-writes", "out.bin", "50", "4096"];
        let mut argv = vec!["--record", &log, "--compress", codec, "--"];
        argv.extend(app);
        run_ok(dir.path(), "tee-grate", &argv, 0);
        let size = std::fs::metadata(dir.path().join("t.log"))
            .expect("log")
            .len();
        assert!(size < 50 * 4096 / 4, "{codec}: {size} bytes");
        run_ok(dir.path(), "tee-log", &["verify", &log], 0);
        let stats = run_ok(dir.path(), "tee-log", &["stats", &log], 0);
        assert!(
            stats
                .stdout
                .contains(&format!("compression {codec} (50 frames compressed)")),
            "{}",
            stats.stdout
        );
        run_ok(dir.path(), "tee-replay", &[&log, "--into-dir", "r"], 0);
        let wrote = std::fs::read(dir.path().join("out.bin")).expect("app's file");
        let replayed = std::fs::read(dir.path().join("r/out.bin")).expect("replayed file");
        assert_eq!(wrote.len(), 50 * 4096);
        assert!(wrote == replayed, "{codec}: the replayed file differs");
        let stack = run_ok(
            dir.path(),
            "tee-replay",
            &[&log, "%<", "passthrough-grate", "%>"],
            0,
        );
        assert!(stack.stderr.contains(" 0 divergences"), "{}", stack.stderr);
    }
}

#[test]
fn compress_takes_a_known_codec_and_only_with_record() {
    let dir = scratch();
    let unknown = run_ok(
        dir.path(),
        "tee-grate",
        &["--record", "t.log", "--compress", "gzip", "--", "hello"],
        2,
    );
    assert_eq!(unknown.stderr.lines().count(), 1, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("gzip"), "{}", unknown.stderr);
    assert!(!dir.path().join("t.log").exists());
    let live = run_ok(
        dir.path(),
        "tee-grate",
        &[
            "--compress",
            "lz4",
            "%{",
            "passthrough-grate",
            "%}",
            "hello",
        ],
        2,
    );
    assert!(live.stderr.contains("--compress"), "{}", live.stderr);
}
