//! `tee-log diff`: the first point where two logs disagree.
//!
//! Records are compared in sequence-number order, streamed: memory does
//! not grow with the logs. Sequence numbers,
//! timestamps, raw pointer values (arguments the catalog calls buffers or
//! pointers, and address results) and the secondary's result are not
//! behaviour, so they are not compared.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use abi::catalog::{lookup, RetKind};
use formats::SyscallRecord;
use formats::{Buffer, InSeqOrder, Record, RecoveryMode};

use crate::show::line;
use crate::{describe_end, warn, Failure};

const CONTEXT: usize = 3;

/// One log's records in sequence order, streamed, with the last few kept
/// for context.
struct Side<'a> {
    file: &'a Path,
    entries: InSeqOrder<File>,
    recent: VecDeque<Record>,
    count: u64,
}

impl<'a> Side<'a> {
    fn open(file: &'a Path) -> Result<Side<'a>, Failure> {
        Ok(Side {
            file,
            entries: InSeqOrder::new(crate::open(file, RecoveryMode::Strict)?),
            recent: VecDeque::with_capacity(CONTEXT + 1),
            count: 0,
        })
    }

    /// The next record; at the end, a warning if the log did not end
    /// cleanly.
    fn next(&mut self) -> Result<Option<Record>, Failure> {
        let next = self
            .entries
            .next_entry()
            .map_err(|e| Failure::log(self.file, e))?;
        let Some(entry) = next else {
            if let Some(end) = self.entries.reader().end().filter(|e| !e.is_clean()) {
                let records = self.entries.reader().records_read();
                warn(self.file, format_args!("{}", describe_end(end, records)));
            }
            return Ok(None);
        };
        self.count += 1;
        Ok(Some(entry.record))
    }

    /// Remembers `record` as context for what follows it.
    fn keep(&mut self, record: Record) {
        if self.recent.len() == CONTEXT {
            self.recent.pop_front();
        }
        self.recent.push_back(record);
    }

    /// Up to `n` more records.
    fn more(&mut self, n: usize) -> Result<Vec<Record>, Failure> {
        let mut more = Vec::new();
        while more.len() < n {
            match self.next()? {
                Some(r) => more.push(r),
                None => break,
            }
        }
        Ok(more)
    }

    /// Reads to the end; how many records there were in all.
    fn count_rest(&mut self) -> Result<u64, Failure> {
        while self.next()?.is_some() {}
        Ok(self.count)
    }
}

pub fn run(a: &Path, b: &Path, strsize: usize, out: &mut impl Write) -> Result<ExitCode, Failure> {
    let mut left = Side::open(a)?;
    let mut right = Side::open(b)?;
    loop {
        let (x, y) = (left.next()?, right.next()?);
        let (x, y) = match (x, y) {
            (Some(x), Some(y)) => (x, y),
            (None, None) => break,
            (x, y) => return longer(&mut left, x, &mut right, y, strsize, out),
        };
        let Some(what) = difference(&x, &y) else {
            left.keep(x);
            right.keep(y);
            continue;
        };
        let i = left.count - 1;
        writeln!(
            out,
            "logs differ at record {i} (seq {} in A, seq {} in B): {what}",
            x.seq().unwrap_or(0),
            y.seq().unwrap_or(0)
        )?;
        for r in &left.recent {
            writeln!(out, "  {}", line(r, strsize))?;
        }
        writeln!(out, "- {}", line(&x, strsize))?;
        writeln!(out, "+ {}", line(&y, strsize))?;
        for r in left.more(CONTEXT - 1)? {
            writeln!(out, "  A: {}", line(&r, strsize))?;
        }
        for r in right.more(CONTEXT - 1)? {
            writeln!(out, "  B: {}", line(&r, strsize))?;
        }
        return Ok(ExitCode::from(abi::exit::FOUND));
    }
    writeln!(out, "logs agree: {} records", left.count)?;
    Ok(ExitCode::SUCCESS)
}

/// One log ended where the other goes on (`x` or `y` is its next record).
fn longer<'a>(
    left: &mut Side<'a>,
    x: Option<Record>,
    right: &mut Side<'a>,
    y: Option<Record>,
    strsize: usize,
    out: &mut impl Write,
) -> Result<ExitCode, Failure> {
    let at = left.count.min(right.count);
    let (side, name, first) = match (x, y) {
        (Some(x), _) => (left, "A", x),
        (_, Some(y)) => (right, "B", y),
        (None, None) => return Ok(ExitCode::SUCCESS),
    };
    let shown: Vec<Record> = std::iter::once(first)
        .chain(side.more(CONTEXT - 1)?)
        .collect();
    let context: Vec<Record> = side.recent.iter().cloned().collect();
    let n = side.count_rest()? - at;
    writeln!(
        out,
        "logs differ at record {at}: {name} has {n} more records"
    )?;
    for r in &context {
        writeln!(out, "  {}", line(r, strsize))?;
    }
    for r in &shown {
        let sign = if name == "A" { '-' } else { '+' };
        writeln!(out, "{sign} {}", line(r, strsize))?;
    }
    Ok(ExitCode::from(abi::exit::FOUND))
}

fn kind(r: &Record) -> &'static str {
    match r {
        Record::Syscall(_) => "syscall",
        Record::Fork(_) => "fork",
        Record::Exec(_) => "exec",
        Record::Exit(_) => "exit",
        Record::Dropped(_) => "dropped",
        Record::Trailer(_) => "trailer",
        Record::Gap(_) => "gap",
    }
}

/// What differs between two records, or `None` if they agree.
fn difference(a: &Record, b: &Record) -> Option<String> {
    match (a, b) {
        (Record::Syscall(x), Record::Syscall(y)) => syscall_difference(x, y),
        (Record::Fork(x), Record::Fork(y)) => first(&[
            field("parent", x.parent, y.parent),
            field("child", x.child, y.child),
            field("thread", x.thread, y.thread),
        ]),
        (Record::Exec(x), Record::Exec(y)) => first(&[
            field("cage", x.cage, y.cage),
            bytes_difference("path", &x.path, &y.path),
            field("argc", x.argv.len(), y.argv.len()),
            x.argv
                .iter()
                .zip(&y.argv)
                .enumerate()
                .find_map(|(i, (p, q))| bytes_difference(&format!("argv[{i}]"), p, q)),
            field("result", x.result, y.result),
        ]),
        (Record::Exit(x), Record::Exit(y)) => first(&[
            field("cage", x.cage, y.cage),
            field("status", x.status, y.status),
            field("exit_group", x.process, y.process),
            field("ending", x.ending, y.ending),
        ]),
        _ => Some(format!("record kinds differ ({} vs {})", kind(a), kind(b))),
    }
}

fn first(found: &[Option<String>]) -> Option<String> {
    found.iter().flatten().next().cloned()
}

fn field<T: PartialEq + std::fmt::Debug>(name: &str, a: T, b: T) -> Option<String> {
    (a != b).then(|| format!("{name} differs ({a:?} vs {b:?})"))
}

fn syscall_difference(x: &SyscallRecord, y: &SyscallRecord) -> Option<String> {
    if x.nr != y.nr {
        let name = |nr| lookup(nr).map_or_else(|| format!("syscall_{nr}"), |i| i.name.into());
        return Some(format!("call differs ({} vs {})", name(x.nr), name(y.nr)));
    }
    if x.cage != y.cage {
        return field("cage", x.cage, y.cage);
    }
    let info = lookup(x.nr);
    for (i, (p, q)) in x.full_args().iter().zip(y.full_args().iter()).enumerate() {
        let address = info
            .and_then(|info| info.args.get(i))
            .is_some_and(|k| k.is_address());
        if !address && p.0 != q.0 {
            return Some(format!(
                "arg {i} differs ({} vs {})",
                p.0 as i64, q.0 as i64
            ));
        }
        if p.1 != q.1 {
            return Some(format!("arg {i}'s cage differs ({} vs {})", p.1, q.1));
        }
    }
    let address_result = info.is_some_and(|i| i.ret == RetKind::GuestAddr);
    if !address_result && x.result != y.result {
        return field("result", x.result, y.result);
    }
    buffers_difference("input", &x.inputs, &y.inputs)
        .or_else(|| buffers_difference("output", &x.outputs, &y.outputs))
}

fn buffers_difference(what: &str, a: &[Buffer], b: &[Buffer]) -> Option<String> {
    let mut a: Vec<&Buffer> = a.iter().collect();
    let mut b: Vec<&Buffer> = b.iter().collect();
    a.sort_by_key(|x| (x.arg, x.index));
    b.sort_by_key(|x| (x.arg, x.index));
    for (p, q) in a.iter().zip(&b) {
        if (p.arg, p.index) != (q.arg, q.index) {
            return Some(format!(
                "{what} buffers differ (arg {} index {} vs arg {} index {})",
                p.arg, p.index, q.arg, q.index
            ));
        }
        let name = if p.index == 0 {
            format!("{what} buffer at arg {}", p.arg)
        } else {
            format!("{what} buffer at arg {} index {}", p.arg, p.index)
        };
        if let Some(d) = bytes_difference(&name, &p.data, &q.data) {
            return Some(d);
        }
        if p.truncated_from != q.truncated_from {
            return Some(format!(
                "{name}: full length differs ({:?} vs {:?})",
                p.truncated_from, q.truncated_from
            ));
        }
    }
    (a.len() != b.len())
        .then(|| format!("{what} buffer count differs ({} vs {})", a.len(), b.len()))
}

/// The first differing byte of two byte strings.
fn bytes_difference(name: &str, a: &[u8], b: &[u8]) -> Option<String> {
    if let Some(at) = a.iter().zip(b).position(|(p, q)| p != q) {
        let (p, q) = (
            a.get(at).copied().unwrap_or(0),
            b.get(at).copied().unwrap_or(0),
        );
        return Some(format!(
            "{name} differs at byte {at} ({p:#04x} vs {q:#04x})"
        ));
    }
    (a.len() != b.len()).then(|| {
        format!(
            "{name} differs in length ({} vs {} bytes, equal up to {})",
            a.len(),
            b.len(),
            a.len().min(b.len())
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(fd: u64, ptr: u64, data: &[u8], seq: u64) -> Record {
        let len = data.len() as u64;
        formats::build::call(seq, 3, "write", &[fd, ptr, len], len as i64)
            .input(1, data)
            .at(seq * 10)
            .record()
    }

    #[test]
    fn pointers_seq_and_time_are_not_differences() {
        assert_eq!(
            difference(&write(1, 0x1000, b"hi", 1), &write(1, 0x2000, b"hi", 9)),
            None
        );
    }

    #[test]
    fn buffer_bytes_and_scalars_are() {
        let d = difference(&write(1, 0, b"hello", 1), &write(1, 0, b"helLo", 1)).unwrap();
        assert_eq!(d, "input buffer at arg 1 differs at byte 3 (0x6c vs 0x4c)");
        let d = difference(&write(1, 0, b"hi", 1), &write(2, 0, b"hi", 1)).unwrap();
        assert_eq!(d, "arg 0 differs (1 vs 2)");
    }
}
