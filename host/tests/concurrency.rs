//! Handlers of one grate run at the same time, as on Lind.

use crate::util::{forward, run, serve};
use boundary::{nr, Guest};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

static INSIDE: Mutex<usize> = Mutex::new(0);
static MET: Condvar = Condvar::new();

#[test]
fn handlers_of_one_grate_run_concurrently_for_different_threads_and_cages() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::GETPID]),
        |rt, _, _, args| {
            // Each call waits until three handler calls are inside at once.
            let mut inside = INSIDE.lock().unwrap();
            *inside += 1;
            MET.notify_all();
            let (inside, timeout) = MET
                .wait_timeout_while(inside, Duration::from_secs(5), |n| *n < 3)
                .unwrap();
            drop(inside);
            if timeout.timed_out() {
                return -1;
            }
            forward(rt, nr::GETPID, args)
        }
    );
    let app = app!("a", |rt, _| {
        let g = Guest::new(rt);
        let child = g.fork(|rt| Guest::new(rt).getpid().unwrap_or(-1)).unwrap();
        let thread = g
            .spawn_thread(|rt| assert!(Guest::new(rt).getpid().is_ok()))
            .unwrap();
        let mine = g.getpid();
        thread.join();
        let (_, status) = g.waitpid(child.0 as i64, 0).unwrap();
        assert_eq!(boundary::wait::wexitstatus(status), child.0 as i32);
        i32::from(mine != Ok(2))
    });
    assert_eq!(run(vec![grate, app], &["g", "a"]).ok().status, 0);
}
