//! `demo-threads DIR`: threads writing concurrently, then fds across exec.
//!
//! Four threads each write [`RECORDS`] records to their own file and to one
//! shared O_APPEND file. Then a forked child execs `demo-fdcheck` with a
//! close-on-exec fd and a kept one; it checks the first is gone and writes a
//! line through the second.

use super::demo_fdcheck::FDCHECK_LINE;
use super::{ensure, mkdir_ok, on_threads, read_file, run_child, Failure, OrFail, Outcome};
use boundary::consts::open_flags::{O_APPEND, O_CLOEXEC, O_CREAT, O_TRUNC, O_WRONLY};
use boundary::Guest;

const THREADS: usize = 4;
/// Records per thread.
pub const RECORDS: usize = 50;

fn record(thread: usize, i: usize) -> String {
    format!("thread {thread} record {i:03}\n")
}

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    let dir = argv
        .get(1)
        .ok_or_else(|| Failure::Usage("usage: demo-threads DIR".into()))?
        .clone();
    mkdir_ok(guest, &dir)?;
    let create = O_WRONLY | O_CREAT | O_TRUNC;
    let cloexec_fd = guest
        .open(&format!("{dir}/cloexec.log"), create | O_CLOEXEC, 0o644)
        .or_fail("create cloexec.log")?;
    let shared_path = format!("{dir}/shared.log");
    let shared_fd = guest
        .open(&shared_path, create | O_APPEND, 0o644)
        .or_fail("create shared.log")?;

    let threads_dir = dir.clone();
    on_threads(guest, THREADS, move |thread, guest| {
        thread_work(guest, &threads_dir, thread, shared_fd).map_err(Failure::Check)
    })?;

    for thread in 0..THREADS {
        let own = read_file(guest, &format!("{dir}/thread-{thread}.log"))?;
        let expected: String = (0..RECORDS).map(|i| record(thread, i)).collect();
        ensure(own == expected.as_bytes(), || {
            format!("thread-{thread}.log differs")
        })?;
    }
    check_shared(&read_file(guest, &shared_path)?)?;

    guest
        .write_all(cloexec_fd, b"parent wrote before exec\n")
        .or_fail("write cloexec.log")?;
    run_child(
        guest,
        vec![
            "demo-fdcheck".into(),
            cloexec_fd.to_string(),
            shared_fd.to_string(),
        ],
    )?;
    let shared = read_file(guest, &shared_path)?;
    ensure(shared.ends_with(FDCHECK_LINE), || {
        "shared.log lacks the line demo-fdcheck wrote".into()
    })?;
    guest.close(cloexec_fd).or_fail("close cloexec.log")?;
    guest.close(shared_fd).or_fail("close shared.log")?;
    guest.print(&format!(
        "demo-threads: {THREADS} threads x {RECORDS} records; shared.log {} bytes; fdcheck ok\n",
        shared.len()
    ));
    Ok(())
}

/// One thread: its own file, and every record also to the shared fd.
fn thread_work(guest: &Guest<'_>, dir: &str, thread: usize, shared_fd: i32) -> Result<(), String> {
    let path = format!("{dir}/thread-{thread}.log");
    let fd = guest
        .open(&path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        .map_err(|e| format!("create {path}: {e}"))?;
    for i in 0..RECORDS {
        let line = record(thread, i);
        guest
            .write_all(fd, line.as_bytes())
            .map_err(|e| format!("write {path}: {e}"))?;
        guest
            .write_all(shared_fd, line.as_bytes())
            .map_err(|e| format!("write shared.log: {e}"))?;
    }
    guest.close(fd).map_err(|e| format!("close {path}: {e}"))
}

/// Each thread's records appear exactly once, in its own order, however
/// the threads interleaved.
fn check_shared(shared: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(shared);
    let mut next = [0usize; THREADS];
    for line in text.lines() {
        let thread = line
            .strip_prefix("thread ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|t| t.parse::<usize>().ok())
            .filter(|&t| t < THREADS);
        let Some(thread) = thread else {
            return Err(Failure::Check(format!("shared.log: stray line {line:?}")));
        };
        let expected = record(thread, next[thread]);
        ensure(expected.trim_end() == line, || {
            format!("shared.log: expected {expected:?}, found {line:?}")
        })?;
        next[thread] += 1;
    }
    ensure(next.iter().all(|&n| n == RECORDS), || {
        format!("shared.log: record counts {next:?}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_records_pass_and_lost_ones_fail() {
        let mut text = String::new();
        for i in 0..RECORDS {
            for thread in (0..THREADS).rev() {
                text.push_str(&record(thread, i));
            }
        }
        assert!(check_shared(text.as_bytes()).is_ok());
        let short: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
        assert!(check_shared(short.as_bytes()).is_err());
    }
}
