//! `tee-log stats`: counts per syscall and per cage, streamed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use abi::catalog::lookup;
use formats::{escape_bytes, Buffer, Record, RecoveryMode, SyscallRecord};
use render::is_error;

use crate::meter::Meter;
use crate::when::{seconds, utc};
use crate::{describe_end, open, Failure};

/// What one table row adds up: a syscall's calls, in one cage or all.
#[derive(Clone, Default)]
struct CallStats {
    calls: u64,
    errors: u64,
    bytes_in: u64,
    bytes_out: u64,
    /// Nanoseconds the primary took, over the calls that say.
    ns: u64,
    /// Calls whose record has a duration (logs of format 1.2 on).
    timed: u64,
}

impl CallStats {
    fn add(&mut self, r: &SyscallRecord, failed: bool) {
        self.calls += 1;
        self.errors += u64::from(failed);
        self.bytes_in = self.bytes_in.saturating_add(logical_len(&r.inputs));
        self.bytes_out = self.bytes_out.saturating_add(logical_len(&r.outputs));
        if let Some(ns) = r.duration_ns {
            self.ns = self.ns.saturating_add(ns);
            self.timed += 1;
        }
    }

    fn merge(&mut self, other: &CallStats) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.bytes_in = self.bytes_in.saturating_add(other.bytes_in);
        self.bytes_out = self.bytes_out.saturating_add(other.bytes_out);
        self.ns = self.ns.saturating_add(other.ns);
        self.timed += other.timed;
    }
}

/// The order of a table's rows (`--sort`); ties go by calls, then name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SortBy {
    /// Most time in the primary first, as strace -c sorts.
    #[default]
    Time,
    /// Most calls first.
    Calls,
    /// Most errors first.
    Errors,
}

#[derive(Default)]
struct CageStats {
    calls: BTreeMap<u32, CallStats>,
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

/// What `stats` shows beside the totals.
pub struct Options {
    pub sort: SortBy,
    /// A syscall table for each cage after the one for the whole log.
    pub per_cage: bool,
}

pub fn run(file: &Path, options: &Options, out: &mut impl Write) -> Result<ExitCode, Failure> {
    let mut reader = open(file, RecoveryMode::Salvage)?;
    let mut calls: BTreeMap<u32, CallStats> = BTreeMap::new();
    let mut cages: BTreeMap<u64, CageStats> = BTreeMap::new();
    let (mut syscalls, mut forks, mut execs, mut exits, mut dropped, mut gaps) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut first, mut last): (Option<u64>, Option<u64>) = (None, None);
    let meter = Meter::for_file(file, "stats", 1);
    while let Some(record) = reader.next_record().map_err(|e| Failure::log(file, e))? {
        // The tally counts the damage; the ranges themselves are not shown.
        reader.take_damage();
        meter.set(reader.valid_offset());
        if let Some(t) = record.time_us() {
            first = Some(first.map_or(t, |f| f.min(t)));
            last = Some(last.map_or(t, |l| l.max(t)));
        }
        match &record {
            Record::Syscall(r) => {
                syscalls += 1;
                let failed = is_error(r.nr, r.result);
                calls.entry(r.nr).or_default().add(r, failed);
                let c = cages.entry(r.cage).or_default();
                c.calls.entry(r.nr).or_default().add(r, failed);
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
            Record::Gap(g) => gaps = gaps.saturating_add(g.calls),
            Record::Trailer(_) => {}
        }
    }
    meter.finish();
    let damage = reader.damage_tally();
    let damage = (damage.ranges, damage.bytes);

    let h = reader.header();
    writeln!(
        out,
        "{}: written by {} {}, abi {}, created {}",
        file.display(),
        escape_bytes(h.writer.as_bytes()),
        escape_bytes(h.writer_version.as_bytes()),
        escape_bytes(h.abi.as_bytes()),
        utc(h.created_unix_ms)
    )?;
    let command: Vec<String> = h
        .command_line
        .iter()
        .map(|word| escape_bytes(word.as_bytes()))
        .collect();
    writeln!(out, "command: {}", command.join(" "))?;
    let records = reader.records_read();
    writeln!(
        out,
        "records: {records} (syscalls {syscalls}, forks {forks}, execs {execs}, exits {exits}); \
         {dropped} dropped by the writer, {gaps} calls not recorded (queue full)"
    )?;
    let on_disk = reader.valid_offset();
    writeln!(
        out,
        "on disk: {on_disk} bytes, {:.1} a record; compression {} ({} frames compressed)",
        on_disk as f64 / records.max(1) as f64,
        h.compression.name(),
        reader.compressed_frames()
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
    table(out, &calls, options.sort)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<8} {:>9} {:>8} {:>11} {:>6} {:>6} {:>6}",
        "cage", "syscalls", "errors", "seconds", "forks", "execs", "exits"
    )?;
    for (cage, c) in &cages {
        let total = total_of(&c.calls);
        writeln!(
            out,
            "{cage:<8} {:>9} {:>8} {:>11} {:>6} {:>6} {:>6}",
            total.calls,
            total.errors,
            seconds_of(&total),
            c.forks,
            c.execs,
            c.exits
        )?;
    }
    if options.per_cage {
        for (cage, c) in cages.iter().filter(|(_, c)| !c.calls.is_empty()) {
            writeln!(out)?;
            writeln!(out, "cage {cage}:")?;
            table(out, &c.calls, options.sort)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn total_of(calls: &BTreeMap<u32, CallStats>) -> CallStats {
    calls.values().fold(CallStats::default(), |mut t, s| {
        t.merge(s);
        t
    })
}

/// Seconds in the primary, or `-` where no call says (an older log).
fn seconds_of(s: &CallStats) -> String {
    if s.timed == 0 {
        "-".to_owned()
    } else {
        seconds(s.ns)
    }
}

const RULE: &str =
    "------ ----------- ----------- --------- --------- ------------ ------------ ----------------";

/// strace -c's table, with the bytes each syscall moved before its name:
/// `% time  seconds  usecs/call  calls  errors  bytes in  bytes out  syscall`.
fn table(
    out: &mut impl Write,
    calls: &BTreeMap<u32, CallStats>,
    sort: SortBy,
) -> std::io::Result<()> {
    let total = total_of(calls);
    let name = |nr: u32| lookup(nr).map_or_else(|| format!("syscall_{nr}"), |i| i.name.to_owned());
    let mut rows: Vec<(String, &CallStats)> = calls.iter().map(|(nr, s)| (name(*nr), s)).collect();
    rows.sort_by(|a, b| {
        let key = |s: &CallStats| match sort {
            SortBy::Time => s.ns,
            SortBy::Calls => s.calls,
            SortBy::Errors => s.errors,
        };
        key(b.1)
            .cmp(&key(a.1))
            .then(b.1.calls.cmp(&a.1.calls))
            .then(a.0.cmp(&b.0))
    });
    writeln!(
        out,
        "{:>6} {:>11} {:>11} {:>9} {:>9} {:>12} {:>12} syscall",
        "% time", "seconds", "usecs/call", "calls", "errors", "bytes in", "bytes out"
    )?;
    writeln!(out, "{RULE}")?;
    let row = |out: &mut dyn Write, s: &CallStats, name: &str, per_call: bool| {
        let share = if total.ns == 0 || s.timed == 0 {
            "-".to_owned()
        } else {
            format!("{:.2}", s.ns as f64 * 100.0 / total.ns as f64)
        };
        let usecs = match s.ns.checked_div(s.timed) {
            Some(ns) if per_call => (ns.saturating_add(500) / 1_000).to_string(),
            None if per_call => "-".to_owned(),
            _ => String::new(),
        };
        writeln!(
            out,
            "{share:>6} {:>11} {usecs:>11} {:>9} {:>9} {:>12} {:>12} {name}",
            seconds_of(s),
            s.calls,
            s.errors,
            s.bytes_in,
            s.bytes_out
        )
    };
    for (name, s) in rows {
        row(out, s, &name, true)?;
    }
    writeln!(out, "{RULE}")?;
    row(out, &total, "total", false)
}
