//! Records for people (strace-like lines) and for programs (JSON).

use abi::catalog::lookup;
use formats::{escape_bytes, Buffer, DropReason, Ending, ExitRecord, Record, SyscallRecord};
use render::{describe_call, describe_call_with, describe_result, errno_name, quote, FdNames};
use serde_json::{json, Value};

/// The cage a record is about, if any.
pub fn cage_of(record: &Record) -> Option<u64> {
    match record {
        Record::Syscall(r) => Some(r.cage),
        Record::Fork(r) => Some(r.parent),
        Record::Exec(r) => Some(r.cage),
        Record::Exit(r) => Some(r.cage),
        Record::Dropped(_) | Record::Trailer(_) | Record::Gap(_) => None,
    }
}

/// The syscall a record stands for, for `--calls` filters.
pub fn call_of(record: &Record) -> Option<u32> {
    match record {
        Record::Syscall(r) => Some(r.nr),
        Record::Fork(_) => Some(56),
        Record::Exec(_) => Some(59),
        Record::Exit(r) => Some(if r.process { 231 } else { 60 }),
        Record::Dropped(_) | Record::Trailer(_) | Record::Gap(_) => None,
    }
}

fn reason_name(reason: DropReason) -> &'static str {
    match reason {
        DropReason::WriteFailed => "write failed",
        DropReason::CaptureFailed => "capture failed",
    }
}

/// A syscall record's call and result, its fds named by `names`:
/// `write(1, "hello\n", 6) = 6`.
pub fn syscall_body(r: &SyscallRecord, strsize: usize, names: &FdNames<'_>) -> String {
    let mut s = describe_call_with(r, strsize, names);
    if let Some(sec) = r.secondary.filter(|&sec| sec != r.result) {
        s.push_str(&format!(" [secondary = {}]", describe_result(r.nr, sec)));
    }
    s
}

/// What a record says, without its cage: `write(1, "hello\n", 6) = 6`.
pub fn body(record: &Record, strsize: usize) -> String {
    match record {
        Record::Syscall(r) => syscall_body(r, strsize, &FdNames::default()),
        Record::Fork(r) if r.thread => format!("clone(thread) = {}", r.child),
        Record::Fork(r) => format!("fork() = {}", r.child),
        Record::Exec(r) => {
            let argv: Vec<String> = r.argv.iter().map(|a| quote(a, strsize, false)).collect();
            let mut s = format!(
                "execve({}, [{}])",
                quote(&r.path, strsize, false),
                argv.join(", ")
            );
            if r.result != 0 {
                s.push_str(&format!(" = {}", describe_result(59, r.result)));
            }
            s
        }
        // As strace says a process ended without a call it saw.
        Record::Exit(ExitRecord {
            ending: Ending::Killed(sig),
            ..
        }) => format!(
            "+++ killed by {} +++",
            abi::flags::one_of(*sig as i32, abi::flags::signal::NAMES)
        ),
        Record::Exit(r) if r.ending == Ending::Unseen && r.status == 0 => {
            "+++ gone, no exit call seen +++".to_string()
        }
        Record::Exit(r) if r.ending == Ending::Unseen => {
            format!("+++ exited with {}, no exit call seen +++", r.status)
        }
        Record::Exit(r) if r.process => format!("exit_group({})", r.status),
        Record::Exit(r) => format!("exit({})", r.status),
        Record::Dropped(d) => format!(
            "--- {} records dropped ({}): {} ---",
            d.count,
            reason_name(d.reason),
            escape_bytes(d.detail.as_bytes())
        ),
        Record::Gap(g) => format!(
            "--- {} calls not recorded here: the tee's queue was full ---",
            g.calls
        ),
        Record::Trailer(t) => format!(
            "--- end of log: {} records, {} bytes ---",
            t.records, t.bytes
        ),
    }
}

/// `[cage 3] ` for a record about a cage, nothing otherwise.
pub fn cage_prefix(record: &Record) -> String {
    cage_of(record).map_or_else(String::new, |c| format!("[cage {c}] "))
}

/// One line per record: `[cage 3] write(1, "hello\n", 6) = 6`.
pub fn line(record: &Record, strsize: usize) -> String {
    format!("{}{}", cage_prefix(record), body(record, strsize))
}

fn buffers(list: &[Buffer]) -> Value {
    list.iter()
        .map(|b| {
            json!({
                "arg": b.arg,
                "index": b.index,
                "len": b.data.len(),
                "truncated_from": b.truncated_from,
                "data": escape_bytes(&b.data),
            })
        })
        .collect()
}

/// How much of a buffer the decoded line of a JSON record shows.
const DECODED_STRSIZE: usize = 32;

/// One JSON object per record; buffers complete, escaped as in C.
pub fn json(record: &Record, index: u64) -> Value {
    match record {
        Record::Syscall(r) => {
            let errno = (-4096..0)
                .contains(&r.result)
                .then(|| errno_name(-r.result))
                .flatten();
            let args: Vec<Value> = r
                .full_args()
                .iter()
                .map(|(value, cage)| json!({"value": value, "cage": cage}))
                .collect();
            json!({
                "record": index,
                "kind": "syscall",
                "seq": r.seq,
                "cage": r.cage,
                "nr": r.nr,
                "name": lookup(r.nr).map(|i| i.name),
                "args": args,
                "inputs": buffers(&r.inputs),
                "outputs": buffers(&r.outputs),
                "result": r.result,
                "errno": errno,
                // The decoded form beside the raw values, as the text dump
                // shows it (flags by name, structs, the error's text);
                // buffers whole are in inputs and outputs.
                "decoded": describe_call(r, DECODED_STRSIZE),
                "secondary": r.secondary,
                "time_us": r.time_us,
                "duration_ns": r.duration_ns,
            })
        }
        Record::Fork(r) => json!({
            "record": index,
            "kind": "fork",
            "seq": r.seq,
            "parent": r.parent,
            "child": r.child,
            "thread": r.thread,
            "time_us": r.time_us,
        }),
        Record::Exec(r) => json!({
            "record": index,
            "kind": "exec",
            "seq": r.seq,
            "cage": r.cage,
            "path": escape_bytes(&r.path),
            "argv": r.argv.iter().map(|a| escape_bytes(a)).collect::<Vec<_>>(),
            "result": r.result,
            "time_us": r.time_us,
        }),
        Record::Exit(r) => json!({
            "record": index,
            "kind": "exit",
            "seq": r.seq,
            "cage": r.cage,
            "status": r.status,
            "process": r.process,
            "time_us": r.time_us,
            "ending": match r.ending {
                Ending::Called => json!("called"),
                Ending::Killed(sig) => json!({ "killed_by": sig }),
                Ending::Unseen => json!("unseen"),
            },
        }),
        Record::Dropped(d) => json!({
            "record": index,
            "kind": "dropped",
            "count": d.count,
            "reason": match d.reason {
                DropReason::WriteFailed => "write_failed",
                DropReason::CaptureFailed => "capture_failed",
            },
            "detail": d.detail,
        }),
        Record::Gap(g) => json!({
            "record": index,
            "kind": "gap",
            "calls": g.calls,
        }),
        Record::Trailer(t) => json!({
            "record": index,
            "kind": "trailer",
            "records": t.records,
            "bytes": t.bytes,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::{ExecRecord, ForkRecord};

    #[test]
    fn lifecycle_lines_read_like_strace() {
        let fork = Record::Fork(ForkRecord {
            seq: 1,
            parent: 2,
            child: 3,
            thread: false,
            time_us: 0,
        });
        assert_eq!(line(&fork, 32), "[cage 2] fork() = 3");
        let exec = Record::Exec(ExecRecord {
            seq: 2,
            cage: 3,
            path: b"demo-files".to_vec(),
            argv: vec![b"demo-files".to_vec()],
            result: 0,
            time_us: 0,
        });
        assert_eq!(
            line(&exec, 32),
            "[cage 3] execve(\"demo-files\", [\"demo-files\"])"
        );
    }
}
