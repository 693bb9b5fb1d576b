//! `tee-log salvage`: every good record of a damaged log, in a new log
//! that ends cleanly.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use formats::{LogEnd, LogWriter, Record, RecoveryMode, SyncPolicy};

use crate::meter::Meter;
use crate::{describe_end, open, Failure};

pub fn run(
    input: &Path,
    output: &Path,
    merge: bool,
    out: &mut impl Write,
) -> Result<ExitCode, Failure> {
    let mut reader = open(input, RecoveryMode::Salvage)?;
    reader.merge_concatenated(merge);
    let writer = LogWriter::create(output, reader.header(), SyncPolicy::OnExit)
        .map_err(|e| Failure::other(output, e.to_string()))?;
    let mut copied = 0u64;
    let mut listed = 0u64;
    let meter = Meter::for_file(input, "salvage", 1);
    loop {
        let next = reader.next_record().map_err(|e| Failure::log(input, e))?;
        meter.set(reader.valid_offset());
        for d in reader.take_damage() {
            listed += 1;
            // Above the bar, not through it.
            meter.suspend(|| {
                writeln!(
                    out,
                    "skipped offset {}..{} ({} bytes, before record {}): {}",
                    d.offset,
                    d.offset + d.len,
                    d.len,
                    d.record_index,
                    d.reason
                )?;
                out.flush()
            })?;
        }
        let Some(record) = next else { break };
        // The new log gets its own trailer; the old one's counts are stale.
        if matches!(record, Record::Trailer(_)) {
            continue;
        }
        writer.append(&record);
        copied += 1;
    }
    if let (Some(at), false) = (reader.second_log_at(), merge) {
        writeln!(
            out,
            "input: a second log begins at offset {at} (two logs concatenated); \
             only the first was kept (--merge keeps both)"
        )?;
    }
    let tally = reader.damage_tally().clone();
    if tally.ranges > listed {
        writeln!(
            out,
            "{} more damaged ranges not listed (at most {} between two good records are)",
            tally.ranges - listed,
            formats::DAMAGE_KEPT
        )?;
    }
    let records = reader.records_read();
    if let Some(end) = reader.end() {
        match end {
            LogEnd::Clean { .. } => {}
            LogEnd::Incomplete { .. } | LogEnd::TornTail { .. } => {
                writeln!(out, "input: {}", describe_end(end, records))?;
            }
        }
    }
    let status = writer.finish();
    meter.finish();
    if let Some(error) = status.error {
        return Err(Failure::other(output, error));
    }
    writeln!(
        out,
        "wrote {copied} records to {} ({} skipped ranges, {} bytes)",
        output.display(),
        tally.ranges,
        tally.bytes
    )?;
    Ok(ExitCode::SUCCESS)
}
