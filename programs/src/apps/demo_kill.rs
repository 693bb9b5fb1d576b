//! `demo-kill MODE`: cages that end without calling exit, as Lind's own
//! `signal_tests/kill.c` has them, so whatever sits between the app and
//! the kernel must learn of a death no grate is told of.
//!
//! - `child`: forks a child that keeps making calls, kills it with
//!   SIGKILL, reaps it and checks it was killed (kill.c's steps).
//! - `orphan`: the same, but never reaps the killed child.
//! - `self`: kills itself with SIGKILL after one line of output.
//! - `hang`: writes a few lines, says `ready`, then sleeps until killed.

use super::{ensure, Failure, OrFail, Outcome};
use abi::flags::signal::SIGKILL;
use boundary::{wait, Guest};
use std::time::Duration;

/// How long the parent lets its child run before killing it.
const CHILD_RUNS: Duration = Duration::from_millis(100);

/// Forks a child that calls getpid until it is killed; returns its id.
fn spinning_child(guest: &Guest<'_>) -> Result<i32, Failure> {
    let child = guest
        .fork(|rt| {
            let guest = Guest::new(rt);
            // Each call is a point where a killed cage's thread ends.
            while guest.getpid().is_ok() {
                std::thread::sleep(Duration::from_millis(1));
            }
            123
        })
        .or_fail("fork")?;
    Ok(child.0 as i32)
}

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    match argv.get(1).map(String::as_str) {
        Some("child") => {
            let child = spinning_child(guest)?;
            std::thread::sleep(CHILD_RUNS);
            guest.kill(child, SIGKILL).or_fail("kill(SIGKILL)")?;
            let (_, status) = guest.waitpid(i64::from(child), 0).or_fail("waitpid")?;
            guest.print(&format!("raw wait status = {status:#x}\n"));
            ensure(wait::wifsignaled(status), || {
                "child not reported as signaled".into()
            })?;
            let sig = wait::wtermsig(status);
            guest.print(&format!("child terminated by signal {sig}\n"));
            ensure(sig == SIGKILL, || format!("expected SIGKILL, got {sig}"))?;
            guest.print("PASS\n");
            Ok(())
        }
        Some("orphan") => {
            let child = spinning_child(guest)?;
            std::thread::sleep(CHILD_RUNS);
            guest.kill(child, SIGKILL).or_fail("kill(SIGKILL)")?;
            guest.print("killed the child, not waiting for it\n");
            Ok(())
        }
        Some("self") => {
            guest.print("about to be killed\n");
            let me = guest.getpid().or_fail("getpid")?;
            guest.kill(me, SIGKILL).or_fail("kill(self)")?;
            // The next call ends the cage.
            loop {
                guest.getpid().or_fail("getpid")?;
            }
        }
        Some("hang") => {
            for i in 0..5 {
                guest.print(&format!("line {i}\n"));
            }
            guest.print("ready\n");
            loop {
                guest.getpid().or_fail("getpid")?;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        _ => Err(Failure::Usage(
            "usage: demo-kill child|orphan|self|hang".into(),
        )),
    }
}
