//! The Trace Event Format (the JSON object form): one process per cage,
//! one thread per lane, a complete event (`X`) per call, instant events
//! (`i`) for exec and exit, and for each fork a short slice with a flow
//! arrow (`s` to `f`) to the child's first slice. Times are microseconds,
//! as the format has them.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::Path;

use abi::catalog::lookup;
use render::{describe_result, errno_name};
use serde_json::{json, Value};

use super::{decoded, walk, Lanes, Mark, FORK_NS};
use crate::meter::Meter;
use crate::Failure;

/// Events go out one by one, so memory does not grow with the log;
/// only the names of cages and lanes are kept for the end.
struct Events<'w> {
    out: &'w mut dyn Write,
    first: bool,
}

impl Events<'_> {
    fn push(&mut self, event: &Value) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",\n")?;
        }
        self.first = false;
        serde_json::to_writer(&mut *self.out, event)?;
        Ok(())
    }
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1_000.0
}

/// A cage's track and a lane's thread id (lanes count from 1).
fn tid(lane: usize) -> u64 {
    lane as u64 + 1
}

pub fn write(
    file: &Path,
    meter: &Meter,
    mut lanes: Lanes,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    out.write_all(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")?;
    let mut events = Events { out, first: true };
    // Forks whose child has not made its first slice yet: flow id by child.
    let mut flows: HashMap<u64, u64> = HashMap::new();
    let mut programs: BTreeMap<u64, String> = BTreeMap::new();
    let mut next_flow = 1u64;
    let header = walk(file, meter, &mut lanes, |mark, _| {
        let slice_start = match mark {
            Mark::Call { lane, start_ns, .. } => Some((call_cage(mark), *lane, *start_ns)),
            Mark::Fork {
                parent,
                lane,
                at_ns,
                ..
            } => Some((*parent, *lane, *at_ns)),
            _ => None,
        };
        // A child's first slice ends the arrow from its fork.
        if let Some((cage, lane, at)) = slice_start {
            if let Some(id) = flows.remove(&cage) {
                events.push(&json!({
                    "name": "fork", "cat": "proc", "ph": "f", "bp": "e", "id": id,
                    "ts": us(at), "pid": cage, "tid": tid(lane),
                }))?;
            }
        }
        match mark {
            Mark::Call {
                record,
                index,
                lane,
                start_ns,
                end_ns,
                class,
                error,
            } => {
                let name = lookup(record.nr)
                    .map_or_else(|| format!("syscall_{}", record.nr), |i| i.name.to_owned());
                let errno = error.then(|| errno_name(-record.result)).flatten();
                events.push(&json!({
                    "name": name,
                    "cat": if *error { format!("{},error", class.name()) } else { class.name().to_owned() },
                    "ph": "X",
                    "ts": us(*start_ns),
                    "dur": us(end_ns - start_ns),
                    "pid": record.cage,
                    "tid": tid(*lane),
                    "args": {
                        "call": decoded(record),
                        "result": describe_result(record.nr, record.result),
                        "errno": errno,
                        "record": index,
                        "seq": record.seq,
                        "duration_ns": record.duration_ns,
                    },
                }))?;
            }
            Mark::Fork {
                parent,
                child,
                thread,
                lane,
                at_ns,
            } => {
                let what = if *thread { "thread" } else { "fork" };
                events.push(&json!({
                    "name": format!("{what} → {child}"),
                    "cat": "proc",
                    "ph": "X",
                    "ts": us(*at_ns),
                    "dur": us(FORK_NS),
                    "pid": parent,
                    "tid": tid(*lane),
                    "args": {"child": child, "thread": thread},
                }))?;
                if !*thread {
                    let id = next_flow;
                    next_flow += 1;
                    events.push(&json!({
                        "name": "fork", "cat": "proc", "ph": "s", "id": id,
                        "ts": us(*at_ns), "pid": parent, "tid": tid(*lane),
                    }))?;
                    flows.insert(*child, id);
                }
            }
            Mark::Exec { cage, path, at_ns } => {
                let path = String::from_utf8_lossy(path).into_owned();
                events.push(&json!({
                    "name": format!("exec {path}"), "cat": "proc", "ph": "i", "s": "p",
                    "ts": us(*at_ns), "pid": cage, "tid": 1,
                    "args": {"path": path},
                }))?;
                programs.insert(*cage, path);
            }
            Mark::Exit {
                cage,
                status,
                process,
                at_ns,
            } => {
                let name = if *process { "exit_group" } else { "exit" };
                events.push(&json!({
                    "name": format!("{name}({status})"), "cat": "proc", "ph": "i",
                    "s": if *process { "p" } else { "t" },
                    "ts": us(*at_ns), "pid": cage, "tid": 1,
                    "args": {"status": status},
                }))?;
            }
        }
        Ok(())
    })?;
    for (cage, count) in lanes.cages() {
        let name = match programs.get(&cage) {
            Some(program) => format!("cage {cage} ({program})"),
            None => format!("cage {cage}"),
        };
        events.push(&json!({
            "name": "process_name", "ph": "M", "pid": cage, "tid": 1, "args": {"name": name},
        }))?;
        events.push(&json!({
            "name": "process_sort_index", "ph": "M", "pid": cage, "tid": 1,
            "args": {"sort_index": cage},
        }))?;
        for lane in 0..count {
            events.push(&json!({
                "name": "thread_name", "ph": "M", "pid": cage, "tid": tid(lane),
                "args": {"name": format!("calls {}", lane + 1)},
            }))?;
        }
    }
    let out = events.out;
    let other = json!({
        "log": file.display().to_string(),
        "writer": format!("{} {}", header.writer, header.writer_version),
        "abi": header.abi,
        "created_unix_ms": header.created_unix_ms,
        "command_line": header.command_line,
    });
    write!(out, "\n],\"otherData\":{other}}}\n")?;
    Ok(())
}

fn call_cage(mark: &Mark<'_>) -> u64 {
    match mark {
        Mark::Call { record, .. } => record.cage,
        _ => 0,
    }
}
