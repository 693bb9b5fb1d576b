//! Bundled apps: deterministic workloads over the guest libc.
//!
//! Each prints its results on stdout, exits 0 when every check passed, and
//! otherwise prints `NAME: what failed` on stderr and exits 1 (2 for a
//! usage error). Output never includes fd numbers or cage ids (except
//! `hello`), so runs under different grates print the same thing.

mod demo_child;
mod demo_fdcheck;
mod demo_fifo;
mod demo_files;
mod demo_forks;
mod demo_kill;
mod demo_orphan;
mod demo_threads;
mod demo_writes;
mod hello;

pub use demo_files::final_files as demo_files_expected;

use abi::sync::lock;
use boundary::{Errno, Guest, Program, ProgramEntry, ThreeI};
use std::sync::Arc;

/// What an app's body returns: `Err` carries the failure message.
pub(crate) type Outcome = Result<(), Failure>;

/// Why an app failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad command line: exit 2.
    Usage(String),
    /// A failed call or check: exit 1.
    Check(String),
}

/// Turns a call's `Err(errno)` into a failure naming what was attempted.
pub(crate) trait OrFail<T> {
    fn or_fail(self, what: &str) -> Result<T, Failure>;
}

impl<T> OrFail<T> for Result<T, Errno> {
    fn or_fail(self, what: &str) -> Result<T, Failure> {
        self.map_err(|errno| Failure::Check(format!("{what}: {errno}")))
    }
}

/// Runs `body(i, guest)` on `n` threads at once and waits for them all;
/// fails with every thread's failure, each named by its index.
pub(crate) fn on_threads(
    guest: &Guest<'_>,
    n: usize,
    body: impl Fn(usize, &Guest<'_>) -> Outcome + Send + Sync + 'static,
) -> Outcome {
    let body = Arc::new(body);
    let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut joins = Vec::new();
    for i in 0..n {
        let (body, errors) = (Arc::clone(&body), Arc::clone(&errors));
        let join = guest
            .spawn_thread(move |rt: &dyn ThreeI| {
                if let Err(Failure::Check(msg) | Failure::Usage(msg)) = body(i, &Guest::new(rt)) {
                    lock(&errors).push(format!("thread {i}: {msg}"));
                }
            })
            .or_fail("spawn thread")?;
        joins.push(join);
    }
    for join in joins {
        join.join();
    }
    let errors = lock(&errors).clone();
    ensure(errors.is_empty(), || errors.join("; "))
}

/// Fails with `msg` unless `cond` holds.
pub(crate) fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Outcome {
    if cond {
        Ok(())
    } else {
        Err(Failure::Check(msg()))
    }
}

/// An app: a name and a body.
struct App {
    name: &'static str,
    run: fn(&Guest<'_>, &[String]) -> Outcome,
}

impl Program for App {
    fn main(&self, rt: &dyn ThreeI, argv: &[String]) -> i32 {
        let guest = Guest::new(rt);
        match (self.run)(&guest, argv) {
            Ok(()) => 0,
            Err(Failure::Usage(msg)) => {
                guest.eprint(&format!("{}: {msg}\n", self.name));
                2
            }
            Err(Failure::Check(msg)) => {
                guest.eprint(&format!("{}: {msg}\n", self.name));
                1
            }
        }
    }
}

macro_rules! app_entry {
    ($name:literal, $summary:literal, $run:path) => {
        ProgramEntry {
            name: $name,
            summary: $summary,
            make: || {
                Arc::new(App {
                    name: $name,
                    run: $run,
                })
            },
        }
    };
}

/// The bundled apps.
pub fn entries() -> Vec<ProgramEntry> {
    vec![
        app_entry!("hello", "hello: print the cage id and exit 0", hello::run),
        app_entry!(
            "demo-files",
            "demo-files [DIR]: file workload (write, append, seek, dup, pipe, fork+exec)",
            demo_files::run
        ),
        app_entry!(
            "demo-child",
            "demo-child DIR: child of demo-files; creates, appends and renames a file",
            demo_child::run
        ),
        app_entry!(
            "demo-fifo",
            "demo-fifo DIR: a forked child writes a line through DIR/fifo to its parent",
            demo_fifo::run
        ),
        app_entry!(
            "demo-forks",
            "demo-forks N [together]: fork N children, each exiting 0 (together: all alive at once)",
            demo_forks::run
        ),
        app_entry!(
            "demo-writes",
            "demo-writes FILE COUNT SIZE [THREADS [shared|own]]: write COUNT buffers of SIZE bytes",
            demo_writes::run
        ),
        app_entry!(
            "demo-threads",
            "demo-threads DIR: 4 threads writing concurrently, then a cloexec check",
            demo_threads::run
        ),
        app_entry!(
            "demo-orphan",
            "demo-orphan DIR: exits while its forked child still writes DIR/late.txt",
            demo_orphan::run
        ),
        app_entry!(
            "demo-kill",
            "demo-kill child|orphan|self|hang: cages that end without exit (kill.c's steps)",
            demo_kill::run
        ),
        app_entry!(
            "demo-fdcheck",
            "demo-fdcheck CLOEXEC_FD KEPT_FD: check fds across exec",
            demo_fdcheck::run
        ),
    ]
}

/// `mkdir`, accepting an existing directory so reruns work.
pub(crate) fn mkdir_ok(guest: &Guest<'_>, path: &str) -> Outcome {
    match guest.mkdir(path, 0o755) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(errno) => Err(Failure::Check(format!("mkdir {path}: {errno}"))),
    }
}

/// The whole content of the file at `path`.
pub(crate) fn read_file(guest: &Guest<'_>, path: &str) -> Result<Vec<u8>, Failure> {
    let fd = guest
        .open(path, boundary::consts::open_flags::O_RDONLY, 0)
        .or_fail(&format!("open {path}"))?;
    let data = guest.read_to_end(fd).or_fail(&format!("read {path}"));
    guest.close(fd).or_fail(&format!("close {path}"))?;
    data
}

/// Fails unless the file at `path` holds exactly `expected`.
pub(crate) fn expect_content(guest: &Guest<'_>, path: &str, expected: &[u8]) -> Outcome {
    let data = read_file(guest, path)?;
    ensure(data == expected, || {
        format!(
            "{path}: expected {:?}, found {:?}",
            String::from_utf8_lossy(expected),
            String::from_utf8_lossy(&data)
        )
    })
}

/// Forks a child that execs `argv` and waits for it; fails unless it exits 0.
pub(crate) fn run_child(guest: &Guest<'_>, argv: Vec<String>) -> Outcome {
    let what = argv.join(" ");
    let child = guest
        .fork(move |rt| {
            let guest = Guest::new(rt);
            let errno = guest.exec(&argv);
            guest.eprint(&format!("exec {}: {errno}\n", argv[0]));
            127
        })
        .or_fail("fork")?;
    let (_, status) = guest
        .waitpid(child.0 as i64, 0)
        .or_fail(&format!("waitpid {what}"))?;
    ensure(
        boundary::wait::wifexited(status) && boundary::wait::wexitstatus(status) == 0,
        || format!("{what}: exited with status {status:#x}"),
    )
}

/// Parses a numeric argument.
pub(crate) fn number<T: std::str::FromStr>(
    argv: &[String],
    at: usize,
    what: &str,
) -> Result<T, Failure> {
    argv.get(at)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Failure::Usage(format!("missing or bad {what}")))
}
