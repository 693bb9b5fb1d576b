//! `tee-log stats`: counts per syscall and per cage, streamed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use formats::{lookup, Buffer, Record, RecoveryMode, RetKind};

use crate::{describe_end, open, Failure};

#[derive(Default)]
struct CallStats {
    calls: u64,
    errors: u64,
    bytes_in: u64,
    bytes_out: u64,
}

#[derive(Default)]
struct CageStats {
    syscalls: u64,
    errors: u64,
    forks: u64,
    execs: u64,
    exits: u64,
}

/// The bytes a buffer stood for, not just those captured.
fn logical_len(buffers: &[Buffer]) -> u64 {
    // Lengths come from the log: add without overflowing on nonsense.
    buffers.iter().fold(0u64, |sum, b| {
        sum.saturating_add(b.truncated_from.unwrap_or(b.data.len() as u64))
    })
}

fn is_error(nr: u32, result: i64) -> bool {
    match lookup(nr).map(|i| i.ret) {
        Some(RetKind::GuestAddr) => false,
        Some(RetKind::MinusOne) => result == -1,
        _ => (-4095..0).contains(&result),
    }
}

pub fn run(file: &Path, out: &mut impl Write) -> Result<ExitCode, Failure> {
    let mut reader = open(file, RecoveryMode::Salvage)?;
    let mut calls: BTreeMap<u32, CallStats> = BTreeMap::new();
    let mut cages: BTreeMap<u64, CageStats> = BTreeMap::new();
    let (mut syscalls, mut forks, mut execs, mut exits, mut dropped) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut first, mut last): (Option<u64>, Option<u64>) = (None, None);
    while let Some(record) = reader.next_record().map_err(|e| Failure::log(file, e))? {
        // The tally counts the damage; the ranges themselves are not shown.
        reader.take_damage();
        if let Some(t) = record.time_us() {
            first = Some(first.map_or(t, |f| f.min(t)));
            last = Some(last.map_or(t, |l| l.max(t)));
        }
        match &record {
            Record::Syscall(r) => {
                syscalls += 1;
                let failed = is_error(r.nr, r.result);
                let s = calls.entry(r.nr).or_default();
                s.calls += 1;
                s.errors += u64::from(failed);
                s.bytes_in = s.bytes_in.saturating_add(logical_len(&r.inputs));
                s.bytes_out = s.bytes_out.saturating_add(logical_len(&r.outputs));
                let c = cages.entry(r.cage).or_default();
                c.syscalls += 1;
                c.errors += u64::from(failed);
            }
            Record::Fork(r) => {
                forks += 1;
                cages.entry(r.parent).or_default().forks += 1;
            }
            Record::Exec(r) => {
                execs += 1;
                cages.entry(r.cage).or_default().execs += 1;
            }
            Record::Exit(r) => {
                exits += 1;
                cages.entry(r.cage).or_default().exits += 1;
            }
            Record::Dropped(d) => dropped = dropped.saturating_add(d.count),
            Record::Trailer(_) => {}
        }
    }
    let damage = reader.damage_tally();
    let damage = (damage.ranges, damage.bytes);

    let h = reader.header();
    writeln!(
        out,
        "{}: written by {} {}, abi {}, created {}",
        file.display(),
        h.writer,
        h.writer_version,
        h.abi,
        utc(h.created_unix_ms)
    )?;
    writeln!(out, "command: {}", h.command_line.join(" "))?;
    let records = reader.records_read();
    writeln!(
        out,
        "records: {records} (syscalls {syscalls}, forks {forks}, execs {execs}, exits {exits}); \
         {dropped} dropped by the writer"
    )?;
    if let Some(end) = reader.end() {
        writeln!(out, "end: {}", describe_end(end, records))?;
    }
    if damage.0 > 0 {
        writeln!(
            out,
            "damage: {} ranges, {} bytes skipped",
            damage.0, damage.1
        )?;
    }
    if let (Some(f), Some(l)) = (first, last) {
        let us = l - f;
        writeln!(out, "duration: {}.{:06} s", us / 1_000_000, us % 1_000_000)?;
    }

    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:>9} {:>8} {:>12} {:>12}",
        "syscall", "calls", "errors", "bytes in", "bytes out"
    )?;
    let mut rows: Vec<(&u32, &CallStats)> = calls.iter().collect();
    rows.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then(a.0.cmp(b.0)));
    for (nr, s) in rows {
        let name = lookup(*nr).map_or_else(|| format!("syscall_{nr}"), |i| i.name.to_owned());
        writeln!(
            out,
            "{name:<24} {:>9} {:>8} {:>12} {:>12}",
            s.calls, s.errors, s.bytes_in, s.bytes_out
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<8} {:>9} {:>8} {:>6} {:>6} {:>6}",
        "cage", "syscalls", "errors", "forks", "execs", "exits"
    )?;
    for (cage, c) in &cages {
        writeln!(
            out,
            "{cage:<8} {:>9} {:>8} {:>6} {:>6} {:>6}",
            c.syscalls, c.errors, c.forks, c.execs, c.exits
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `ms` since the epoch as an ISO 8601 UTC time.
fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Hinnant's
/// algorithm, restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
