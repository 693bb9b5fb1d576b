//! What `--compress` costs and saves, on three kinds of write content
//! (the same block every write, log-line text, pseudo-random noise): the
//! app's time under `--record` with each codec as a ratio to no tee, the
//! log's bytes per record, and beside them the size of the strace-style
//! text of the same run (`tee-log dump`, strings cut at 32 bytes as
//! strace's default `-s 32` cuts them).
//!
//! Run with `cargo bench --bench compression`. Each configuration runs
//! `ROUNDS` times, interleaved, and the median is reported.

mod common;

use common::{bin, median, time};
use std::path::Path;

const ROUNDS: usize = 5;
const WRITES: &str = "20000";
const WRITE_SIZE: &str = "4096";

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// How many records the log at `path` holds.
fn records(path: &Path) -> u64 {
    formats::LogReader::new(
        std::fs::File::open(path).expect("log"),
        formats::RecoveryMode::Strict,
    )
    .expect("log header")
    .count() as u64
}

/// The size of `tee-log dump -s 32` of the log at `path`.
fn dump_size(dir: &Path, log: &str) -> u64 {
    let out = std::process::Command::new(bin("tee-log"))
        .args(["dump", "-s", "32", log])
        .current_dir(dir)
        .output()
        .expect("tee-log dump");
    out.stdout.len() as u64
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    println!(
        "--record of {WRITES} writes of {WRITE_SIZE} bytes, median of {ROUNDS}; \
         time as a ratio to no tee"
    );
    for content in ["pattern", "text", "noise"] {
        let app = [
            "demo-writes",
            "out.bin",
            WRITES,
            WRITE_SIZE,
            "0",
            "shared",
            content,
        ];
        let configs: Vec<(&str, Vec<&str>)> = ["none", "lz4", "zstd"]
            .into_iter()
            .map(|codec| {
                let mut argv = vec!["--record", "bench.log", "--compress", codec, "--"];
                argv.extend(app);
                (codec, argv)
            })
            .collect();
        let mut bare = Vec::new();
        let mut teed = vec![Vec::new(); configs.len()];
        let mut sizes = vec![(0, 0); configs.len()];
        for _ in 0..ROUNDS {
            let _ = std::fs::remove_file(dir.join("out.bin"));
            bare.push(time(dir, "lind-host", &app));
            for (i, (_, argv)) in configs.iter().enumerate() {
                let _ = std::fs::remove_file(dir.join("bench.log"));
                let _ = std::fs::remove_file(dir.join("out.bin"));
                teed[i].push(time(dir, "tee-grate", argv));
                sizes[i] = (
                    size(&dir.join("bench.log")),
                    records(&dir.join("bench.log")),
                );
            }
        }
        let bare = median(bare);
        let text = dump_size(dir, "bench.log");
        println!("{content}:");
        for (((codec, _), samples), (bytes, count)) in configs.iter().zip(teed).zip(&sizes) {
            let t = median(samples);
            println!(
                "  --compress {codec:<5} {:>5.2}x  {:>9.1} bytes/record  {:>6.1} MB",
                t.as_secs_f64() / bare.as_secs_f64(),
                *bytes as f64 / (*count).max(1) as f64,
                *bytes as f64 / 1e6
            );
        }
        println!(
            "  strace-style text (-s 32)     {:>9.1} bytes/record  {:>6.1} MB",
            text as f64 / sizes[0].1.max(1) as f64,
            text as f64 / 1e6
        );
    }
}
