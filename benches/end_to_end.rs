//! End-to-end costs, as ratios against baselines measured in the same run
//! (the machines are shared and noisy, so absolute times mean little):
//!
//! - the app's time with no tee, under the live tee (pass-through
//!   secondary), and under `--record`, for a workload of 4 KiB writes;
//! - the same with the writes spread over 4 and 16 app threads, either all
//!   on one shared fd (which the tee keeps in order with a per-fd lock) or
//!   each thread on its own file (which it need not), each against no tee
//!   with the same threads;
//! - replay throughput into a pass-through stack and into `--into-dir`,
//!   beside decode-only throughput (`tee-log verify` reads and checks every
//!   record) of the same log.
//!
//! Run with `cargo bench --bench end_to_end`. Each configuration runs
//! `ROUNDS` times, interleaved, and the median is reported.

mod common;

use common::{median, time};
use std::path::Path;
use std::time::{Duration, Instant};

const ROUNDS: usize = 7;
const WRITES: &str = "20000";
const WRITE_SIZE: &str = "4096";

/// Writes `bytes` bytes to a fresh file in 64 KiB writes.
fn write_once(dir: &Path, bytes: usize) -> Duration {
    use std::io::Write;
    let path = dir.join("floor.bin");
    let _ = std::fs::remove_file(&path);
    let chunk = vec![0x5a_u8; 64 << 10];
    let start = Instant::now();
    let mut file = std::fs::File::create(&path).expect("floor file");
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        file.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    drop(file);
    start.elapsed()
}

/// Runs each labelled command `ROUNDS` times, interleaved; returns medians.
/// `fresh` files are removed before each run, so no run pays for
/// truncating (and, on ext4, flushing at close) what an earlier run left.
fn measure(dir: &Path, configs: &[(&str, &str, Vec<&str>)], fresh: &[&str]) -> Vec<Duration> {
    let mut samples = vec![Vec::new(); configs.len()];
    for _ in 0..ROUNDS {
        for (i, (_, name, args)) in configs.iter().enumerate() {
            for file in fresh {
                let _ = std::fs::remove_file(dir.join(file));
            }
            samples[i].push(time(dir, name, args));
        }
    }
    samples.into_iter().map(median).collect()
}

/// The app's time with no tee, the live tee and `--record`, printed as
/// ratios to no tee; returns the medians.
fn tee_costs(dir: &Path, app: &[&'static str], what: &str) -> Vec<Duration> {
    let with =
        |prefix: &[&'static str]| -> Vec<&str> { prefix.iter().chain(app).copied().collect() };
    let tee = [
        ("no tee", "lind-host", app.to_vec()),
        // The hop every interposed call pays, tee or not: a floor for both.
        (
            "one pass-through grate, no tee",
            "lind-host",
            with(&["passthrough-grate"]),
        ),
        (
            "live tee, pass-through secondary",
            "tee-grate",
            with(&["%{", "passthrough-grate", "%}"]),
        ),
        (
            "--record",
            "tee-grate",
            with(&["--record", "bench.log", "--"]),
        ),
    ];
    let medians = measure(dir, &tee, &["out.bin", "bench.log"]);
    println!("app: {WRITES} writes of {WRITE_SIZE} bytes{what}, median of {ROUNDS}");
    for ((label, _, _), t) in tee.iter().zip(&medians) {
        let ratio = t.as_secs_f64() / medians[0].as_secs_f64();
        println!(
            "  {label:<36} {:>8.1} ms  {ratio:>5.2}x",
            t.as_secs_f64() * 1e3
        );
    }
    medians
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let app = ["demo-writes", "out.bin", WRITES, WRITE_SIZE];
    let medians = tee_costs(dir, &app, "");
    // The log of that run holds every byte the app wrote: writing those
    // bytes once more is a cost --record cannot avoid.
    let bytes = WRITES.parse::<usize>().unwrap_or(0) * WRITE_SIZE.parse::<usize>().unwrap_or(0);
    let floor = median((0..ROUNDS).map(|_| write_once(dir, bytes)).collect());
    let base = medians[0].as_secs_f64();
    println!(
        "  {:<36} {:>8.1} ms  {:>5.2}x  (the log's floor: the app's bytes written once more, 64 KiB at a time)",
        "writing those bytes again",
        floor.as_secs_f64() * 1e3,
        floor.as_secs_f64() / base
    );
    // What --record cannot go below: the hop, plus writing the log.
    println!(
        "  {:<36} {:>8.1} ms  {:>5.2}x  (one grate's hop plus the log's bytes)",
        "--record's floor",
        (medians[1] + floor).as_secs_f64() * 1e3,
        (medians[1] + floor).as_secs_f64() / base
    );

    let log =
        formats::read_all(dir.join("bench.log"), formats::RecoveryMode::Strict).expect("bench log");
    let count = log.records.len() as f64;
    let replay = [
        (
            "decode only (tee-log verify)",
            "tee-log",
            vec!["verify", "bench.log"],
        ),
        (
            "replay into pass-through stack",
            "tee-replay",
            vec!["bench.log", "%<", "passthrough-grate", "%>"],
        ),
        (
            "replay --into-dir",
            "tee-replay",
            vec!["bench.log", "--into-dir", "restored"],
        ),
    ];
    let medians = measure(dir, &replay, &[]);
    println!("replay of that log ({count} records), median of {ROUNDS}");
    for ((label, _, _), t) in replay.iter().zip(&medians) {
        let rate = count / t.as_secs_f64();
        let ratio = medians[0].as_secs_f64() / t.as_secs_f64();
        println!("  {label:<36} {rate:>12.0} records/s  {ratio:>5.2}x of decode-only");
    }

    // Replaying many cages alive at once: the cost per fork must not grow
    // with how many are alive.
    let mut per_fork = Vec::new();
    for n in ["100", "1000"] {
        let log = format!("forks-{n}.log");
        let _ = std::fs::remove_file(dir.join(&log));
        time(
            dir,
            "tee-grate",
            &["--record", &log, "--", "demo-forks", n, "together"],
        );
        let t = measure(
            dir,
            &[(
                "replay",
                "tee-replay",
                vec![log.as_str(), "%<", "passthrough-grate", "%>"],
            )],
            &[],
        )[0];
        let us = t.as_secs_f64() * 1e6 / n.parse::<f64>().unwrap_or(1.0);
        per_fork.push(us);
        println!("replay of {n} cages alive at once: {us:>8.0} us per fork");
    }
    println!(
        "  1000 cages against 100: {:.2}x per fork (flat is 1.00x)",
        per_fork[1] / per_fork[0]
    );

    // After the replay figures, which use the single-threaded run's log.
    for threads in ["4", "16"] {
        for sharing in ["shared", "own"] {
            let app = [
                "demo-writes",
                "out.bin",
                WRITES,
                WRITE_SIZE,
                threads,
                sharing,
            ];
            let what = match sharing {
                "shared" => "all on one fd",
                _ => "each on its own file",
            };
            tee_costs(dir, &app, &format!(" by {threads} threads, {what}"));
        }
    }
}
