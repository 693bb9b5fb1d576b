//! Replay and diff as the log grows: throughput and peak memory for logs
//! of about 10 MB, 100 MB and 1 GB (`demo-writes` of 4 KiB), each beside
//! decode-only throughput of the same log (`tee-log verify` reads and
//! checks every record) measured in the same run. Peak memory must stay
//! flat: replay and diff stream the log in sequence order within the
//! writer's window (SPEC.md, "Order").
//!
//! Run with `cargo bench --bench scale`; `SCALE_MB=10,100` picks sizes.
//! Each command runs once per size (the figure that matters, peak memory,
//! is not noisy); times are ratios to the decode-only run of the same log.

mod common;

use common::{time, time_and_peak};

const WRITE_SIZE: u64 = 4096;

fn main() {
    let sizes: Vec<u64> = std::env::var("SCALE_MB")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 100, 1000]);
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    println!(
        "{:<8} {:<34} {:>10} {:>14} {:>12} {:>10}",
        "log", "command", "time", "records/s", "of decode", "peak RSS"
    );
    for mb in sizes {
        let writes = (mb << 20) / WRITE_SIZE;
        let _ = std::fs::remove_file(dir.join("scale.log"));
        time(
            dir,
            "tee-grate",
            &[
                "--record",
                "scale.log",
                "--",
                "demo-writes",
                "out.bin",
                &writes.to_string(),
                &WRITE_SIZE.to_string(),
            ],
        );
        let bytes = std::fs::metadata(dir.join("scale.log")).expect("log").len();
        let records = writes as f64;
        let commands: [(&str, &str, &[&str]); 4] = [
            (
                "decode only (tee-log verify)",
                "tee-log",
                &["verify", "scale.log"],
            ),
            (
                "replay into pass-through stack",
                "tee-replay",
                &["scale.log", "%<", "passthrough-grate", "%>"],
            ),
            (
                "replay --into-dir",
                "tee-replay",
                &["scale.log", "--into-dir", "restored"],
            ),
            (
                "tee-log diff A A",
                "tee-log",
                &["diff", "scale.log", "scale.log"],
            ),
        ];
        let mut decode = None;
        for (label, name, args) in commands {
            let _ = std::fs::remove_dir_all(dir.join("restored"));
            let (t, peak) = time_and_peak(dir, name, args, true);
            let secs = t.as_secs_f64();
            let base = *decode.get_or_insert(secs);
            println!(
                "{:<8} {label:<34} {:>8.2} s {:>14.0} {:>11.2}x {:>7.1} MB",
                format!("{} MB", bytes >> 20),
                secs,
                records / secs,
                base / secs,
                peak as f64 / f64::from(1 << 20)
            );
        }
        let _ = std::fs::remove_dir_all(dir.join("restored"));
        let _ = std::fs::remove_file(dir.join("out.bin"));
    }
}
