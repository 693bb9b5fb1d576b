//! The tools fuzzed as a user meets them: random logs, valid in framing and
//! checksums and hostile in content, fed to every command that reads a log
//! (a replay into a pass-through stack and `--into-dir`, repro, timeline,
//! dump, stats, verify), each run as a process under an address-space
//! limit and a time limit. A run passes when every command ends in time,
//! within the memory limit, without a panic, with a status of the one
//! exit-code table. Logs that fail are kept under the target directory.
//!
//! `TEE_FUZZ_SECONDS` sets how long it runs (15 s in the suite;
//! `TEE_FUZZ_SECONDS=600 cargo test --release --test tests fuzz_tools --
//! --nocapture` for a long run), `TEE_FUZZ_SEED` where it starts.

use crate::craft::header;
use crate::util::{bin, finish_within, scratch};
use abi::catalog::CATALOG;
use formats::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The address space each command may use: far above what any command
/// needs for these logs (a few MiB), far below what a claimed size could
/// make it allocate.
const MEMORY: u64 = 1 << 30;

/// How long each command may run.
const TIME: Duration = Duration::from_secs(20);

/// splitmix64: a stream of well-mixed numbers from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

/// Values an attacker reaches for first.
const EDGES: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    9,
    100,
    1 << 12,
    1 << 16,
    (1 << 31) - 1,
    1 << 31,
    1 << 40,
    u32::MAX as u64,
    u64::MAX,
    u64::MAX - 1,
    10_000_000,
];

fn value(rng: &mut Rng) -> u64 {
    if rng.chance(2) {
        rng.pick(EDGES)
    } else {
        rng.next() >> rng.below(64)
    }
}

fn bytes(rng: &mut Rng) -> Vec<u8> {
    let len = match rng.below(10) {
        0 => 0,
        1 => 4096 + rng.below(70_000) as usize,
        2 => 200_000,
        _ => rng.below(64) as usize,
    };
    let kind = rng.below(4);
    (0..len)
        .map(|i| match kind {
            0 => 0,
            1 => b"a/../\x1b\n\"\\%<>&"[i % 13],
            _ => rng.next() as u8,
        })
        .collect()
}

fn buffers(rng: &mut Rng) -> Vec<Buffer> {
    (0..rng.below(4))
        .map(|_| Buffer {
            arg: rng.below(7) as u8,
            index: if rng.chance(4) {
                rng.below(5000) as u16
            } else {
                0
            },
            data: bytes(rng),
            truncated_from: rng.chance(8).then(|| value(rng)),
        })
        .collect()
}

/// One random record of `cages`, numbered `seq`.
fn record(rng: &mut Rng, seq: u64, cages: &[u64]) -> Record {
    let cage = rng.pick(cages);
    let jitter = rng.below(3).wrapping_mul(rng.below(1_000_000));
    let time_us = seq
        .wrapping_mul(10)
        .wrapping_add(1_000)
        .wrapping_add(jitter);
    match rng.below(20) {
        0 => Record::Fork(ForkRecord {
            seq,
            parent: cage,
            child: rng.pick(cages),
            thread: rng.chance(4),
            time_us,
        }),
        1 => Record::Exec(ExecRecord {
            seq,
            cage,
            path: bytes(rng),
            argv: (0..rng.below(3)).map(|_| bytes(rng)).collect(),
            result: if rng.chance(3) { -2 } else { 0 },
            time_us,
        }),
        2 => Record::Exit(ExitRecord {
            seq,
            cage,
            status: value(rng) as i32,
            process: !rng.chance(4),
            time_us,
            ending: match rng.below(3) {
                0 => Ending::Called,
                1 => Ending::Killed(value(rng) as u32),
                _ => Ending::Unseen,
            },
        }),
        3 => Record::Dropped(DroppedRecord {
            count: value(rng),
            reason: DropReason::CaptureFailed,
            detail: String::from_utf8_lossy(&bytes(rng)).into_owned(),
        }),
        _ => {
            let nr = if rng.chance(10) {
                value(rng) as u32
            } else {
                CATALOG[rng.below(CATALOG.len() as u64) as usize].nr
            };
            let mut full = [(UNUSED_ARG, cage); 6];
            for slot in full.iter_mut().take(rng.below(7) as usize) {
                slot.0 = value(rng);
                if rng.chance(8) {
                    slot.1 = value(rng);
                }
            }
            Record::Syscall(SyscallRecord {
                seq,
                cage,
                nr,
                args: SyscallRecord::args_from_full(cage, &full),
                inputs: buffers(rng),
                outputs: buffers(rng),
                result: if rng.chance(3) {
                    -(rng.below(40) as i64)
                } else {
                    value(rng) as i64
                },
                secondary: None,
                time_us,
                duration_ns: rng.chance(2).then(|| value(rng)),
            })
        }
    }
}

/// A random log at `path`: the app's start, then records of a few cages,
/// numbered in order with now and then one out of place.
fn write_random_log(rng: &mut Rng, path: &Path) {
    let codec = rng.pick(&[Codec::None, Codec::Lz4, Codec::Zstd]);
    let writer =
        LogWriter::create(path, &header().compressed(codec), SyncPolicy::OnExit).expect("log");
    let cages: Vec<u64> = (0..1 + rng.below(4))
        .map(|i| if rng.chance(6) { value(rng) } else { 2 + i })
        .collect();
    writer.append(&Record::Fork(ForkRecord {
        seq: 0,
        parent: 1,
        child: cages[0],
        thread: false,
        time_us: 1_000,
    }));
    for i in 1..1 + rng.below(300) {
        let seq = if rng.chance(30) { value(rng) } else { i };
        writer.append(&record(rng, seq, &cages));
    }
    if !rng.chance(5) {
        writer.finish();
    }
}

/// Runs one command on `log`; what was wrong with its run, if anything.
fn judge(dir: &Path, tool: &str, args: &[&str]) -> Option<String> {
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--as={MEMORY}"))
        .arg("--")
        .arg(bin(tool))
        .args(args)
        .current_dir(dir);
    let what = format!("{tool} {}", args.join(" "));
    let Some(out) = finish_within(&mut command, TIME) else {
        return Some(format!("{what}: still running after {TIME:?}"));
    };
    if out.stderr.contains("panicked") || out.stderr.contains("memory allocation") {
        return Some(format!("{what}: {}", out.stderr.trim()));
    }
    if !(0..=3).contains(&out.status) {
        return Some(format!(
            "{what}: status {} (a signal or abort)\n{}",
            out.status,
            out.stderr.trim()
        ));
    }
    None
}

/// Every command a log is fed to.
const COMMANDS: &[(&str, &[&str])] = &[
    ("tee-replay", &["LOG", "%<", "passthrough-grate", "%>"]),
    ("tee-replay", &["LOG", "--salvage", "--into-dir", "out"]),
    ("tee-log", &["repro", "LOG", "-o", "r.c", "--force"]),
    ("tee-log", &["timeline", "LOG", "--svg", "t.svg", "--force"]),
    ("tee-log", &["timeline", "LOG", "-o", "t.json", "--force"]),
    ("tee-log", &["dump", "-y", "LOG"]),
    ("tee-log", &["stats", "LOG"]),
    ("tee-log", &["verify", "LOG"]),
];

#[test]
fn fuzz_tools() {
    let seconds: u64 = std::env::var("TEE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let seed: u64 = std::env::var("TEE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7EE6_4A7E);
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-findings");
    let started = Instant::now();
    let mut rng = Rng(seed);
    let mut logs = 0u64;
    let mut runs = 0u64;
    let mut findings = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        let dir = scratch();
        let log = dir.path().join("fuzz.tlog");
        write_random_log(&mut rng, &log);
        logs += 1;
        for (tool, args) in COMMANDS {
            let args: Vec<&str> = args
                .iter()
                .map(|a| if *a == "LOG" { "fuzz.tlog" } else { a })
                .collect();
            runs += 1;
            if let Some(why) = judge(dir.path(), tool, &args) {
                std::fs::create_dir_all(&kept).expect("findings dir");
                let keep = kept.join(format!("{seed}-{logs}.tlog"));
                let _ = std::fs::copy(&log, &keep);
                findings.push(format!("{}: {why}", keep.display()));
            }
        }
    }
    println!(
        "fuzz_tools: {logs} logs, {runs} runs in {:.0} s, seed {seed}, {} findings",
        started.elapsed().as_secs_f64(),
        findings.len()
    );
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}
