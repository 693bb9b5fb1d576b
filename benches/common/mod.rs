//! What the host benches share: the binaries, timing a run, medians.
// Each bench uses a different subset.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The path of one of the package's binaries.
pub fn bin(name: &str) -> &'static str {
    match name {
        "tee-grate" => env!("CARGO_BIN_EXE_tee-grate"),
        "tee-replay" => env!("CARGO_BIN_EXE_tee-replay"),
        "tee-log" => env!("CARGO_BIN_EXE_tee-log"),
        _ => env!("CARGO_BIN_EXE_lind-host"),
    }
}

fn command(dir: &Path, name: &str, args: &[&str]) -> Command {
    let mut command = Command::new(bin(name));
    command
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Runs one command to completion in `dir`; panics on failure.
pub fn time(dir: &Path, name: &str, args: &[&str]) -> Duration {
    time_and_peak(dir, name, args, false).0
}

/// Runs one command to completion in `dir` and returns its time and, when
/// `sample` is set, its peak resident memory in bytes (`VmHWM`, read from
/// /proc every few milliseconds while it runs: the last reading before it
/// exits). Panics on failure. A status of 1 (a finding) is accepted.
pub fn time_and_peak(dir: &Path, name: &str, args: &[&str], sample: bool) -> (Duration, u64) {
    let start = Instant::now();
    let mut child = command(dir, name, args).spawn().expect("spawn");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if sample {
            peak = peak.max(high_water(&status_file).unwrap_or(0));
        }
        match child.try_wait().expect("wait") {
            Some(status) => break status,
            None if sample => std::thread::sleep(Duration::from_millis(2)),
            None => break child.wait().expect("wait"),
        }
    };
    let elapsed = start.elapsed();
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "{name} {args:?} failed: {status}"
    );
    (elapsed, peak)
}

/// `VmHWM` from a /proc status file, in bytes.
fn high_water(status_file: &str) -> Option<u64> {
    let text = std::fs::read_to_string(status_file).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The median of `samples`.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
