//! `tee-log dump`: every record, strace-like or as JSON, streamed.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use abi::catalog::CallFilter;
use formats::{LogEnd, Record, RecoveryMode};
use serde_json::json;

use crate::fd_names::FdTracker;
use crate::show::{body, cage_of, cage_prefix, call_of, json, syscall_body};
use crate::when::{seconds, Stamp, Stamper};
use crate::{describe_end, open, warn, Failure};

pub struct Options {
    pub strsize: usize,
    pub json: bool,
    /// Name each fd by the file the log shows behind it (strace -y).
    pub fd_names: bool,
    pub cages: Vec<u64>,
    pub calls: CallFilter,
    /// The time stamp leading each line (strace -t, -tt, -ttt, -r).
    pub stamp: Option<Stamp>,
    /// How long each call's primary took, after it (strace -T).
    pub durations: bool,
}

impl Options {
    fn wants(&self, record: &formats::Record) -> bool {
        let cage_ok =
            self.cages.is_empty() || cage_of(record).is_none_or(|c| self.cages.contains(&c));
        let call_ok = call_of(record).is_none_or(|nr| self.calls.matches(nr));
        cage_ok && call_ok
    }
}

pub fn run(file: &Path, options: &Options, out: &mut impl Write) -> Result<ExitCode, Failure> {
    let mut reader = open(file, RecoveryMode::Salvage)?;
    if options.json {
        let h = reader.header();
        let header = json!({
            "kind": "header",
            "major": h.major,
            "minor": h.minor,
            "writer": h.writer,
            "writer_version": h.writer_version,
            "abi": h.abi,
            "created_unix_ms": h.created_unix_ms,
            "command_line": h.command_line,
            "compression": h.compression.name(),
        });
        writeln!(out, "{header}")?;
    }
    let mut listed = 0u64;
    let mut fds = options.fd_names.then(FdTracker::default);
    let created = reader.header().created_unix_ms;
    let mut stamper = options.stamp.map(|stamp| Stamper::new(stamp, created));
    loop {
        let index = reader.records_read();
        let next = reader.next_record().map_err(|e| Failure::log(file, e))?;
        // Damage comes before the record that follows it.
        for d in reader.take_damage() {
            listed += 1;
            if options.json {
                let v = json!({
                    "kind": "damage",
                    "offset": d.offset,
                    "len": d.len,
                    "record_index": d.record_index,
                    "reason": d.reason.to_string(),
                });
                writeln!(out, "{v}")?;
            } else {
                out.flush()?;
                warn(file, format_args!("{d}"));
            }
        }
        let Some(record) = next else { break };
        if options.wants(&record) {
            if options.json {
                writeln!(out, "{}", json(&record, index))?;
            } else {
                let text = match (&record, &fds) {
                    (Record::Syscall(call), Some(fds)) => {
                        let name = |fd| fds.name(call.cage, fd);
                        let names = fds.names_for(call, &name);
                        syscall_body(call, options.strsize, &names)
                    }
                    _ => body(&record, options.strsize),
                };
                let stamp = match (stamper.as_mut(), record.started_us()) {
                    (Some(stamper), Some(at)) => stamper.stamp(at),
                    _ => String::new(),
                };
                let took = match &record {
                    Record::Syscall(call) if options.durations => call
                        .duration_ns
                        .map_or_else(String::new, |ns| format!(" <{}>", seconds(ns))),
                    _ => String::new(),
                };
                writeln!(out, "{}{stamp}{text}{took}", cage_prefix(&record))?;
            }
        }
        // Every record moves the names on, shown or filtered out.
        if let Some(fds) = fds.as_mut() {
            fds.note(&record);
        }
    }
    let unlisted = reader.damage_tally().ranges - listed;
    if unlisted > 0 {
        out.flush()?;
        warn(
            file,
            format_args!(
                "{unlisted} more damaged ranges not listed (at most {} between two good records are)",
                formats::DAMAGE_KEPT
            ),
        );
    }
    let records = reader.records_read();
    if let Some(end) = reader.end() {
        if options.json {
            let (kind, offset) = match end {
                LogEnd::Clean { trailer } => ("clean", trailer.bytes),
                LogEnd::Incomplete { offset } => ("incomplete", *offset),
                LogEnd::TornTail { offset, .. } => ("torn", *offset),
            };
            let v = json!({"kind": "end", "end": kind, "offset": offset, "records": records});
            writeln!(out, "{v}")?;
        }
        if !end.is_clean() {
            out.flush()?;
            warn(file, format_args!("{}", describe_end(end, records)));
        }
    }
    Ok(ExitCode::SUCCESS)
}
