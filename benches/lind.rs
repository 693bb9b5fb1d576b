//! The Lind bench: what the tee costs an app on a real Lind runtime.
//!
//! `cargo bench --bench lind` (needs the Lind kit's environment and the
//! programs `lind/build.sh` installs, as the Lind tier does). Runs
//! `tier-app` bare, under Lind's strace-grate-rs, under one pass-through
//! grate (the price of one grate hop), under `tee-grate --record`, under
//! the live tee with a pass-through secondary and under `--record
//! --compress lz4`, and behind a tee that duplicates neither workload (the
//! tee's own floor), and prints, for each:
//! a small call (close of a bad fd, 100,000 times) in ns per call as the
//! app measures it, and 20000 writes of 4 KiB plus their read-back as
//! whole-process time, each as a ratio to the bare run of the same round
//! and to one pass-through grate's.
//! Then the recorded write run is replayed on Lind into one pass-through
//! grate (`tee-replay`), in records per second and in grate hops per
//! replayed record, the hop measured in the same round. Medians of 3
//! rounds; the modes of a round run back to back, so the ratios compare
//! like with like on a shared, noisy machine.

#[allow(dead_code)]
#[path = "../tests/util.rs"]
mod util;

#[allow(dead_code)]
#[path = "../tests/lind_tier/kit.rs"]
mod kit;

use kit::{lind, Kit};
use std::time::Instant;

const CLOSES: &str = "100000";
const WRITES: &str = "20000";
const ROUNDS: usize = 3;

/// How an app is started, as `lind-boot` arguments before the app.
struct Mode {
    name: &'static str,
    prefix: fn(&str) -> Vec<String>,
}

const MODES: &[Mode] = &[
    Mode {
        name: "bare",
        prefix: |_| vec![],
    },
    Mode {
        name: "strace-grate-rs",
        prefix: |_| vec!["grates/strace-grate-rs.cwasm".into()],
    },
    Mode {
        name: "one pass-through grate",
        prefix: |_| vec!["grates/passthrough-grate.cwasm".into()],
    },
    Mode {
        name: "tee-grate --record",
        prefix: |log| {
            ["tee-grate.cwasm", "--record", log, "--"]
                .map(String::from)
                .to_vec()
        },
    },
    Mode {
        name: "live tee, pass-through 2nd",
        prefix: |_| {
            [
                "tee-grate.cwasm",
                "%{",
                "grates/passthrough-grate.cwasm",
                "%}",
            ]
            .map(String::from)
            .to_vec()
        },
    },
    // Last, so the indices above stay put.
    Mode {
        name: "--record --compress lz4",
        prefix: |log| {
            [
                "tee-grate.cwasm",
                "--record",
                log,
                "--compress",
                "lz4",
                "--",
            ]
            .map(String::from)
            .to_vec()
        },
    },
    // The tee's own floor: one pass-through grate behind a tee that
    // duplicates neither workload's calls (fsync is in neither).
    Mode {
        name: "tee floor (--calls fsync)",
        prefix: |_| {
            [
                "tee-grate.cwasm",
                "--calls",
                "fsync",
                "%{",
                "grates/passthrough-grate.cwasm",
                "%}",
            ]
            .map(String::from)
            .to_vec()
        },
    },
];

/// The number after `key` in the app's report line.
fn reported_ns(stdout: &str, key: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| l.split(key).next().filter(|_| l.contains(key)))
        .and_then(|before| before.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {key:?} in {stdout:?}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let kit = Kit::get();
    let run = kit.run_dir("bench");
    let mut close_ns = vec![Vec::new(); MODES.len()];
    let mut write_s = vec![Vec::new(); MODES.len()];
    let mut replay_us = Vec::new();
    let mut replay_hops = Vec::new();
    for round in 0..ROUNDS {
        for (m, mode) in MODES.iter().enumerate() {
            let log = run.path(&format!("r{round}-m{m}.log"));
            let dir = run.path(&format!("r{round}-m{m}"));
            let mut argv = (mode.prefix)(&log);
            argv.extend([kit.app().into(), "bench-close".into(), CLOSES.into()]);
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            let closes = lind(&refs);
            assert_eq!(closes.status, 0, "{}: {closes:?}", mode.name);
            close_ns[m].push(reported_ns(&closes.stdout, " ns per call"));
            let _ = std::fs::remove_file(kit.host(&log));

            let mut argv = (mode.prefix)(&log);
            argv.extend([
                kit.app().into(),
                "bench-write".into(),
                WRITES.into(),
                dir.clone(),
            ]);
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            let start = Instant::now();
            let writes = lind(&refs);
            write_s[m].push(start.elapsed().as_secs_f64());
            assert!(
                writes.stdout.contains("40000 of 40000 ok"),
                "{}: {writes:?}",
                mode.name
            );
            let _ = std::fs::remove_dir_all(kit.host(&dir));
            if mode.name == "tee-grate --record" {
                let (us, records) = replay(&log);
                replay_us.push(us);
                let hop_ns = close_ns[2][round] - close_ns[0][round];
                replay_hops.push(us * 1e3 / hop_ns);
                println!("round {round}: replayed {records} records");
            }
            let _ = std::fs::remove_file(kit.host(&log));
        }
    }
    let close: Vec<f64> = close_ns.into_iter().map(median).collect();
    let write: Vec<f64> = write_s.into_iter().map(median).collect();
    println!(
        "mode                        | close(bad fd) ns/call | x bare | x 1 grate \
         | 20000x4KiB write+read s | x bare | x 1 grate"
    );
    for (m, mode) in MODES.iter().enumerate() {
        println!(
            "{:<27} | {:>21.0} | {:>6.2} | {:>9.2} | {:>23.2} | {:>6.2} | {:>9.2}",
            mode.name,
            close[m],
            close[m] / close[0],
            close[m] / close[2],
            write[m],
            write[m] / write[0],
            (write[m] / write[0]) / (write[2] / write[0])
        );
    }
    let hop = close[2] - close[0];
    println!(
        "one grate hop: {hop:.0} ns; --record adds {:.0} ns to a small call ({:.2} hops)",
        close[3] - close[0],
        (close[3] - close[0]) / hop
    );
    println!(
        "writes: --record overhead {:.2}x bare is {:.2} of strace-grate-rs's {:.2}x",
        write[3] / write[0] - 1.0,
        (write[3] / write[0] - 1.0) / (write[1] / write[0] - 1.0),
        write[1] / write[0] - 1.0
    );
    let us = median(replay_us);
    println!(
        "replay into one pass-through grate: {:.0} records/s, {us:.1} us per record ({:.1} hops)",
        1e6 / us,
        median(replay_hops)
    );
    run.remove_if(true);
}

/// Replays `log` on Lind into one pass-through grate; the time per
/// record in microseconds, and the records replayed.
fn replay(log: &str) -> (f64, u64) {
    let args = [
        "tee-replay.cwasm",
        log,
        "%<",
        "grates/passthrough-grate.cwasm",
        "%>",
    ];
    let start = Instant::now();
    let out = lind(&args);
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(out.status, 0, "tee-replay: {out:?}");
    // "LOG: N records, M replayed, 0 divergences"
    let replayed: u64 = out
        .stderr
        .split(" replayed")
        .next()
        .and_then(|s| s.rsplit(", ").next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no replayed count in {out:?}"));
    (elapsed * 1e6 / replayed as f64, replayed)
}
