//! `tee-log repro`: the C program it writes compiles with plain cc, runs
//! on Linux with no mismatch, and names the first call that goes
//! otherwise than recorded.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{assert_demo_tree, run_ok, scratch};

/// The C compiler, if this machine has one.
fn cc() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("cc"))
        .find(|p| p.is_file())
}

fn compile(source: &Path) -> Option<PathBuf> {
    let Some(cc) = cc() else {
        assert!(std::env::var_os("CI").is_none(), "CI has a C compiler");
        eprintln!("skipped: no cc on PATH to build the reproducer with");
        return None;
    };
    let binary = source.with_extension("bin");
    let out = Command::new(cc)
        .args(["-Wall", "-Werror", "-o"])
        .arg(&binary)
        .arg(source)
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "cc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(binary)
}

fn run_in(dir: &Path, binary: &Path) -> (i32, String) {
    let out = Command::new(binary)
        .current_dir(dir)
        .output()
        .expect("run the reproducer");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_reproducer_compiles_with_cc_and_runs_the_demo_without_a_mismatch() {
    let rec = scratch();
    run_ok(
        rec.path(),
        "tee-grate",
        &["--record", "t.log", "--", "demo-files"],
        0,
    );
    // Absolute paths, from another directory.
    let source = rec.path().join("repro.c");
    let elsewhere = scratch();
    let log = rec.path().join("t.log");
    let out = run_ok(
        elsewhere.path(),
        "tee-log",
        &[
            "repro",
            log.to_str().unwrap(),
            "-o",
            source.to_str().unwrap(),
        ],
        0,
    );
    let not_expressed: u64 = out
        .stdout
        .split(" calls expressed, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a count of calls not expressed");
    let text = std::fs::read_to_string(&source).unwrap();
    assert_eq!(
        text.matches(": not expressed: ").count() as u64,
        not_expressed,
        "each one a comment"
    );
    let Some(binary) = compile(&source) else {
        return;
    };

    // In an empty directory: every call as recorded, the demo's files made.
    let empty = scratch();
    let (code, err) = run_in(empty.path(), &binary);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no mismatch"), "{err}");
    assert_demo_tree(empty.path(), "demo-out");

    // Where demo-out is already a file, the first mkdir fails: that call
    // is named, by its record.
    let spoiled = scratch();
    std::fs::write(spoiled.path().join("demo-out"), b"in the way").unwrap();
    let (code, err) = run_in(spoiled.path(), &binary);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("repro: first mismatch at record 2 (seq 2, cage 2): mkdir(\"demo-out\", 0755) = 0: recorded 0, got -17"),
        "{err}"
    );

    // An output in the way is refused; a missing log is one line.
    let again = run_ok(
        elsewhere.path(),
        "tee-log",
        &[
            "repro",
            log.to_str().unwrap(),
            "-o",
            source.to_str().unwrap(),
        ],
        2,
    );
    assert!(again.stderr.contains("repro.c: exists"), "{}", again.stderr);
    let missing = run_ok(
        elsewhere.path(),
        "tee-log",
        &["repro", "nope.log", "-o", "x.c"],
        2,
    );
    assert!(
        missing.stderr.starts_with("tee-log: nope.log: "),
        "{}",
        missing.stderr
    );
}
