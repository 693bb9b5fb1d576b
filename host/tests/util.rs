//! Shared test helpers: programs from plain functions and a run with a
//! temporary lindfs root and a timeout.

use boundary::{Args, CageId, ProgramEntry, ThreeI};
use host::{RunError, RunOutcome, Runtime, RuntimeConfig, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// How long one run may take before the test fails instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(20);

pub type Main = fn(&dyn ThreeI, &[String]) -> i32;
pub type Handle = fn(&dyn ThreeI, u64, CageId, &Args) -> i32;

/// A program whose main (and, for a grate, handler) is a plain function.
pub struct FnProgram {
    pub main: Main,
    pub handle: Option<Handle>,
}

impl boundary::Program for FnProgram {
    fn main(&self, rt: &dyn ThreeI, argv: &[String]) -> i32 {
        (self.main)(rt, argv)
    }

    fn handle(&self, rt: &dyn ThreeI, handler: u64, cageid: CageId, args: &Args) -> i32 {
        match self.handle {
            Some(h) => h(rt, handler, cageid, args),
            None => boundary::consts::GRATE_ERR,
        }
    }
}

/// `app!("name", |rt, argv| ...)`: a program with only a main.
#[macro_export]
macro_rules! app {
    ($name:expr, $main:expr) => {
        boundary::ProgramEntry {
            name: $name,
            summary: "test app",
            make: || {
                std::sync::Arc::new($crate::util::FnProgram {
                    main: $main,
                    handle: None,
                })
            },
        }
    };
}

/// `grate!("name", main, handle)`: a program with a handler.
#[macro_export]
macro_rules! grate {
    ($name:expr, $main:expr, $handle:expr) => {
        boundary::ProgramEntry {
            name: $name,
            summary: "test grate",
            make: || {
                std::sync::Arc::new($crate::util::FnProgram {
                    main: $main,
                    handle: Some($handle),
                })
            },
        }
    };
}

/// A finished run: the runtime (for introspection), its result, its root.
pub struct Ran {
    pub rt: Arc<Runtime>,
    pub result: Result<RunOutcome, RunError>,
    pub root: tempfile::TempDir,
}

impl Ran {
    /// The outcome; panics with the error if the run failed.
    pub fn ok(&self) -> &RunOutcome {
        match &self.result {
            Ok(out) => out,
            Err(e) => panic!("run failed: {e}"),
        }
    }

    /// The stop reason; panics if the run was not stopped.
    pub fn stopped(&self) -> &str {
        match &self.result {
            Err(RunError::Stopped(reason)) => reason,
            other => panic!("expected a stopped run, got {other:?}"),
        }
    }
}

/// Runs `argv` with captured stdio in a fresh root prepared by `prepare`.
pub fn run_in(
    programs: Vec<ProgramEntry>,
    argv: &[&str],
    prepare: impl FnOnce(&std::path::Path),
) -> Ran {
    let root = tempfile::tempdir().expect("tempdir");
    prepare(root.path());
    let rt = Arc::new(Runtime::new(RuntimeConfig {
        root: root.path().to_path_buf(),
        programs,
        stdio: Stdio::Capture,
    }));
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let (tx, rx) = mpsc::channel();
    let runner = rt.clone();
    std::thread::spawn(move || {
        let _ = tx.send(runner.run(&argv));
    });
    let result = rx
        .recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("run did not finish within {TIMEOUT:?}"));
    Ran { rt, result, root }
}

/// Runs `argv` with captured stdio in an empty root.
pub fn run(programs: Vec<ProgramEntry>, argv: &[&str]) -> Ran {
    run_in(programs, argv, |_| {})
}

/// The argv a grate passes on: everything after its own name.
pub fn rest(argv: &[String]) -> Vec<String> {
    argv[1..].to_vec()
}

/// A grate's main: starts `argv[1..]` in a child with handler key `nr`
/// registered for each of `nrs`, waits for it, and exits with its status.
pub fn serve(rt: &dyn ThreeI, argv: &[String], nrs: &[u32]) -> i32 {
    let g = boundary::Guest::new(rt);
    let child = rt
        .spawn_child(&rest(argv), &mut |child| {
            for &n in nrs {
                rt.register_handler(child, n, u64::from(n))?;
            }
            Ok(())
        })
        .expect("spawn_child");
    let (_, status) = g.waitpid(child.0 as i64, 0).expect("waitpid");
    boundary::wait::wexitstatus(status)
}

/// Forwards a call down the grate's own table, as the caller (arg1cage).
pub fn forward(rt: &dyn ThreeI, nr: u32, args: &Args) -> i32 {
    rt.make_call(nr, rt.cage_id(), CageId(args[0].cage), args)
}

/// Locks a test's static record, surviving a poisoned lock.
pub use abi::sync::lock;

/// `check!(|rt, argv| ..., |root| prepare)`: runs a one-cage app that
/// asserts inside (an assertion is a trap, status 1); the run must end 0.
#[macro_export]
macro_rules! check {
    ($main:expr) => {
        check!($main, |_| {})
    };
    ($main:expr, $prepare:expr) => {{
        let ran = $crate::util::run_in(vec![app!("check", $main)], &["check"], $prepare);
        assert_eq!(ran.ok().status, 0, "stderr: {}", ran.ok().stderr_text());
        ran
    }};
}
