//! Writer and reader throughput beside baselines measured in the same run.
//!
//! `cargo bench -p tee-formats --bench log_throughput`
//!
//! Each subject is timed next to the least work that could do its job:
//! copying the same bytes into the same kind of 64 KiB buffer and running
//! crc32fast over them. Runs are interleaved and the median of several is
//! kept, so machine noise moves both sides alike. Targets: 4 KiB records
//! written at >= 60% of the baseline; `close(3) = 0` in <= 26 bytes with
//! its duration (a 1.2 record: 3 bytes of the 25 say how long it took).
//!
//! (d) is the worst case a salvaging reader meets: a file of false frame
//! starts, each claiming a 16 MiB frame, timed against the same baseline
//! over the same number of bytes; it must stay linear in the file size.

use std::hint::black_box;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use formats::*;

const ROUNDS: usize = 9;
const SMALL: u64 = 200_000;
const BIG: u64 = 20_000;
const BUF_CAP: usize = 64 << 10;

fn header() -> LogHeader {
    LogHeader::new("bench", "0", "host-wasm32-sim", vec![])
}

fn close(seq: u64) -> Record {
    formats::build::call(seq, 2, "close", &[3], 0)
        .at(2_500_000 + seq)
        .took(1_500 + seq % 64)
        .record()
}

fn write_4k(seq: u64, data: &[u8]) -> Record {
    let len = data.len() as u64;
    formats::build::call(seq, 3, "write", &[1, 0x7f00_0000, len], len as i64)
        .input(1, data)
        .at(2_500_000 + seq)
        .took(9_000 + seq % 64)
        .record()
}

/// The baseline: copy each payload into a 64 KiB buffer, CRC it, and hand
/// full buffers to the sink.
fn baseline(payloads: &[&[u8]], count: u64, sink: &mut impl Write) -> Duration {
    let mut buf = Vec::with_capacity(BUF_CAP);
    let start = Instant::now();
    for i in 0..count {
        let p = payloads[(i as usize) % payloads.len()];
        if buf.len() + p.len() + 4 > BUF_CAP {
            sink.write_all(&buf).unwrap();
            buf.clear();
        }
        let crc = crc32fast::hash(p);
        buf.extend_from_slice(&crc.to_le_bytes());
        buf.extend_from_slice(p);
    }
    sink.write_all(&buf).unwrap();
    black_box(&buf);
    start.elapsed()
}

fn write_run(records: &[Record], count: u64) -> (Duration, u64) {
    let w = LogWriter::new(io::sink(), &header(), SyncPolicy::OnExit).unwrap();
    let before = w.status().bytes_written;
    let start = Instant::now();
    for i in 0..count {
        w.append(&records[(i as usize) % records.len()]);
    }
    let elapsed = start.elapsed();
    let bytes = w.status().bytes_written - before;
    black_box(w.finish());
    (elapsed, bytes)
}

fn read_run(log: &[u8]) -> (Duration, u64) {
    let start = Instant::now();
    let mut r = LogReader::new(log, RecoveryMode::Strict).unwrap();
    let mut n = 0;
    while let Some(rec) = r.next_record().unwrap() {
        black_box(&rec);
        n += 1;
    }
    (start.elapsed(), n)
}

/// The reading baseline: copy the log through a 64 KiB buffer and CRC it.
fn read_baseline(log: &[u8]) -> Duration {
    let mut buf = vec![0u8; BUF_CAP];
    let start = Instant::now();
    let mut h = crc32fast::Hasher::new();
    for chunk in log.chunks(BUF_CAP) {
        buf[..chunk.len()].copy_from_slice(chunk);
        h.update(&buf[..chunk.len()]);
    }
    black_box(h.finalize());
    start.elapsed()
}

/// A log whose header is followed by nothing but frame starts claiming
/// 16 MiB, `len` bytes of them.
fn hostile_log(len: usize) -> Vec<u8> {
    let mut log = log_of(&[], 0);
    // Keep the preamble (12 bytes) and the header frame; drop the trailer.
    let mut at = 12 + SYNC.len();
    let mut payload = 0usize;
    for shift in (0..).step_by(7) {
        let b = log[at];
        at += 1;
        payload |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    log.truncate(at + 4 + payload);
    let start = [SYNC[0], SYNC[1], 0x80, 0x80, 0x80, 0x08];
    log.extend(start.iter().cycle().take(len));
    log
}

fn salvage_run(log: &[u8]) -> Duration {
    let start = Instant::now();
    let mut r = LogReader::new(log, RecoveryMode::Salvage).unwrap();
    while let Some(rec) = r.next_record().unwrap() {
        black_box(&rec);
        r.take_damage();
    }
    black_box(r.damage_tally());
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn log_of(records: &[Record], count: u64) -> Vec<u8> {
    let mut log = Vec::new();
    let w = LogWriter::new(&mut log, &header(), SyncPolicy::OnExit).unwrap();
    for i in 0..count {
        w.append(&records[(i as usize) % records.len()]);
    }
    w.finish();
    log
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not, and
    // then a tiny run only checks that the benchmark works.
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, small_n, big_n) = if full {
        (ROUNDS, SMALL, BIG)
    } else {
        (1, SMALL / 1000, BIG / 1000)
    };
    let data: Vec<u8> = (0..4096u32).map(|i| (i * 31 % 251) as u8).collect();
    let small: Vec<Record> = (0..64).map(close).collect();
    let big: Vec<Record> = (0..16).map(|i| write_4k(i, &data)).collect();
    let small_payloads: Vec<Vec<u8>> = small
        .iter()
        .map(|r| postcard::to_stdvec(r).unwrap())
        .collect();
    let small_refs: Vec<&[u8]> = small_payloads.iter().map(Vec::as_slice).collect();
    // The baseline copies the very buffers the records carry.
    let big_refs: Vec<&[u8]> = big
        .iter()
        .map(|r| match r {
            Record::Syscall(s) => s.inputs[0].data.as_slice(),
            _ => unreachable!(),
        })
        .collect();

    let small_log = log_of(&small, small_n);
    let big_log = log_of(&big, big_n);
    let hostile = hostile_log(if full { 64 << 20 } else { 1 << 20 });
    let (mut hs, mut hsb) = (vec![], vec![]);

    let (mut ws, mut wsb, mut wb, mut wbb, mut rs, mut rsb, mut rb, mut rbb) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    let mut small_bytes = 0;
    for _ in 0..rounds {
        let (t, bytes) = write_run(&small, small_n);
        ws.push(t);
        small_bytes = bytes;
        wsb.push(baseline(&small_refs, small_n, &mut io::sink()));
        wb.push(write_run(&big, big_n).0);
        wbb.push(baseline(&big_refs, big_n, &mut io::sink()));
        rs.push(read_run(&small_log).0);
        rsb.push(read_baseline(&small_log));
        rb.push(read_run(&big_log).0);
        rbb.push(read_baseline(&big_log));
        hs.push(salvage_run(&hostile));
        hsb.push(read_baseline(&hostile));
    }
    let (hs, hsb) = (median(hs), median(hsb));
    let (ws, wsb, wb, wbb) = (median(ws), median(wsb), median(wb), median(wbb));
    let (rs, rsb, rb, rbb) = (median(rs), median(rsb), median(rb), median(rbb));

    let per_sec = |n: u64, t: Duration| n as f64 / t.as_secs_f64();
    let gbps = |bytes: u64, t: Duration| bytes as f64 / t.as_secs_f64() / 1e9;
    let ratio = |subject: Duration, base: Duration| base.as_secs_f64() / subject.as_secs_f64();
    let close_frame = small_bytes as f64 / small_n as f64;
    let big_bytes = big_n * data.len() as u64;

    println!("tee-formats log throughput (median of {rounds} interleaved rounds)");
    println!();
    println!("(a) small records, close(3) = 0, no buffer");
    println!("    write      {:>12.0} records/s", per_sec(small_n, ws));
    println!(
        "    baseline   {:>12.0} records/s   ratio {:.2}",
        per_sec(small_n, wsb),
        ratio(ws, wsb)
    );
    println!("    on disk    {close_frame:>12.1} bytes/record (target <= 26)");
    println!("(b) records with a 4 KiB buffer");
    println!(
        "    write      {:>12.2} GB/s ({:.0} records/s)",
        gbps(big_bytes, wb),
        per_sec(big_n, wb)
    );
    println!(
        "    baseline   {:>12.2} GB/s   ratio {:.2} (target >= 0.60)",
        gbps(big_bytes, wbb),
        ratio(wb, wbb)
    );
    println!("(c) reading");
    println!(
        "    small      {:>12.0} records/s, {:.2} GB/s",
        per_sec(small_n, rs),
        gbps(small_log.len() as u64, rs)
    );
    println!(
        "    baseline   {:>12.2} GB/s   ratio {:.2}",
        gbps(small_log.len() as u64, rsb),
        ratio(rs, rsb)
    );
    println!(
        "    4 KiB      {:>12.2} GB/s ({:.0} records/s)",
        gbps(big_log.len() as u64, rb),
        per_sec(big_n, rb)
    );
    println!(
        "    baseline   {:>12.2} GB/s   ratio {:.2}",
        gbps(big_log.len() as u64, rbb),
        ratio(rb, rbb)
    );
    println!(
        "(d) salvaging {} MiB of false frame starts, each claiming 16 MiB",
        hostile.len() >> 20
    );
    println!("    salvage    {:>12.3} s", hs.as_secs_f64());
    println!(
        "    baseline   {:>12.3} s   ratio {:.3}",
        hsb.as_secs_f64(),
        ratio(hs, hsb)
    );
    let ok = close_frame <= 26.0 && ratio(wb, wbb) >= 0.60;
    println!();
    if full {
        println!("targets {}", if ok { "met" } else { "NOT met" });
    } else {
        println!("smoke run (no --bench): these figures are not measurements");
    }
}
