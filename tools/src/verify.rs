//! `tee-log verify`: one verdict line and an exit code a script can use.
//! 0 clean and complete; 1 torn tail or missing trailer (every complete
//! frame intact); 3 corruption; 2 could not judge (I/O, unknown version).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use formats::{InSeqOrder, LogEnd, ReadError, Record, RecoveryMode};

use crate::{describe_end, Failure};

const TORN: u8 = abi::exit::FOUND;
const CORRUPT: u8 = abi::exit::DAMAGED;

pub fn run(file: &Path, out: &mut impl Write) -> Result<ExitCode, Failure> {
    let source = std::fs::File::open(file).map_err(|error| Failure::File {
        file: file.to_owned(),
        error,
    })?;
    // Salvage reads past damage so the verdict can say how much there is.
    let reader = match crate::reader(source, RecoveryMode::Salvage) {
        Ok(r) => r,
        // A log without a whole header is one no tool can read, as every
        // tool says: corrupt, not torn.
        Err(
            e @ (ReadError::BadMagic { .. }
            | ReadError::BadHeader { .. }
            | ReadError::TruncatedHeader { .. }),
        ) => {
            writeln!(out, "{}: corrupt: {e}", file.display())?;
            return Ok(ExitCode::from(CORRUPT));
        }
        Err(e) => return Err(Failure::log(file, e)),
    };
    // Damage is dropped as it comes: the tally keeps what the verdict says.
    // Read in sequence order, which also checks the writer's order promise
    // (SPEC.md, "Order") that replay and diff rely on.
    let mut in_order = InSeqOrder::new(reader);
    let (mut gaps, mut missing) = (0u64, 0u64);
    loop {
        match in_order.next_entry() {
            Ok(Some(entry)) => {
                if let Record::Gap(gap) = entry.record {
                    gaps += 1;
                    missing = missing.saturating_add(gap.calls);
                }
            }
            Ok(None) => break,
            Err(e @ ReadError::OutOfOrder { .. }) => {
                writeln!(out, "{}: corrupt: {e}", file.display())?;
                return Ok(ExitCode::from(CORRUPT));
            }
            Err(e) => return Err(Failure::log(file, e)),
        }
        in_order.reader_mut().take_damage();
    }
    let reader = in_order.reader();
    let records = reader.records_read();
    let tally = reader.damage_tally();
    if let Some(first) = &tally.first {
        writeln!(
            out,
            "{}: corrupt: offset {} (record {}): {}; {} damaged ranges, {} bytes skipped, \
             {} good records",
            file.display(),
            first.offset,
            first.record_index,
            first.reason,
            tally.ranges,
            tally.bytes,
            records
        )?;
        return Ok(ExitCode::from(CORRUPT));
    }
    let Some(end) = reader.end() else {
        return Err(Failure::other(file, "reader stopped without an end"));
    };
    let verdict = match end {
        LogEnd::Clean { .. } => "ok",
        LogEnd::Incomplete { .. } => "incomplete",
        LogEnd::TornTail { .. } => "torn",
    };
    // A gap is a loss the writer chose and marked, not damage: it is
    // said, and the verdict stands.
    let gaps = match gaps {
        0 => String::new(),
        _ => format!("; {missing} calls not recorded in {gaps} gaps (the tee's queue was full)"),
    };
    writeln!(
        out,
        "{}: {verdict}: {}{gaps}",
        file.display(),
        describe_end(end, records)
    )?;
    Ok(match end {
        LogEnd::Clean { .. } => ExitCode::SUCCESS,
        _ => ExitCode::from(TORN),
    })
}
