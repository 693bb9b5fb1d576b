//! The simplest runs: an app prints and exits.

use crate::util::run;
use boundary::Guest;

#[test]
fn an_app_prints_and_its_status_is_the_runs() {
    let hello = app!("hello", |rt, argv| {
        let g = Guest::new(rt);
        g.print(&format!(
            "hello from {} as {}\n",
            g.getpid().unwrap(),
            argv[0]
        ));
        7
    });
    let ran = run(vec![hello], &["hello"]);
    assert_eq!(ran.ok().stdout_text(), "hello from 1 as hello\n");
    assert_eq!(ran.ok().status, 7);
}

#[test]
fn a_fork_and_wait_round_trip() {
    let forker = app!("forker", |rt, _| {
        let g = Guest::new(rt);
        let child = g
            .fork(|rt| {
                Guest::new(rt).print("child\n");
                3
            })
            .unwrap();
        let (pid, status) = g.waitpid(-1, 0).unwrap();
        assert_eq!(pid, child);
        g.print(&format!(
            "reaped {} with {}\n",
            pid,
            boundary::wait::wexitstatus(status)
        ));
        0
    });
    let ran = run(vec![forker], &["forker"]);
    assert_eq!(ran.ok().stdout_text(), "child\nreaped 2 with 3\n");
}
