//! Where Lind panics the whole runtime, the run stops with the reason.

use crate::util::{forward, run, serve};
use boundary::{args_of, nr, CageId, Guest};

#[test]
fn a_call_with_no_entry_stops_the_run_naming_the_cage_and_the_call() {
    let forker = app!("f", |rt, _| {
        Guest::new(rt).syscall(nr::FORK, &[]);
        0
    });
    let ran = run(vec![forker], &["f"]);
    assert_eq!(ran.stopped(), "no handler for syscall 57 in cage 1");
}

#[test]
fn a_grate_that_forwards_a_call_its_table_lacks_stops_the_run() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::FORK]),
        |rt, _, _, args| forward(rt, nr::FORK, args)
    );
    let forker = app!("f", |rt, _| {
        Guest::new(rt).syscall(nr::FORK, &[]);
        0
    });
    let ran = run(vec![grate, forker], &["g", "f"]);
    assert_eq!(ran.stopped(), "no handler for syscall 57 in cage 1");
}

#[test]
fn a_call_through_an_unknown_cages_table_stops_the_run() {
    let stray = app!("s", |rt, _| {
        let me = rt.cage_id();
        rt.make_call(nr::GETPID, CageId(1500), me, &args_of(me, &[]))
    });
    let ran = run(vec![stray], &["s"]);
    assert!(ran
        .stopped()
        .starts_with("no handler for syscall 39 in cage 1500"));
}

#[test]
fn a_kernel_call_for_an_unknown_cage_stops_the_run() {
    let stray = app!("s", |rt, _| {
        let me = rt.cage_id();
        rt.make_call(nr::GETPID, me, CageId(1500), &args_of(me, &[]))
    });
    let ran = run(vec![stray], &["s"]);
    assert!(ran.stopped().contains("unknown cage 1500"));
}

#[test]
fn running_out_of_cage_ids_stops_the_run() {
    let forker = app!("f", |rt, _| {
        let g = Guest::new(rt);
        loop {
            let child = g.fork(|_| 0).unwrap();
            g.waitpid(child.0 as i64, 0).unwrap();
        }
    });
    let ran = run(vec![forker], &["f"]);
    assert!(ran.stopped().starts_with("cage ids exhausted"));
    assert_eq!(ran.rt.last_cage_id(), CageId(2047));
}

#[test]
fn a_stop_returns_promptly_while_other_cages_are_blocked() {
    let app = app!("b", |rt, _| {
        let g = Guest::new(rt);
        let [r, _w] = g.pipe().unwrap();
        // The child blocks on a pipe nobody writes; the parent then does
        // something Lind panics on.
        let _child = g.fork(move |rt| {
            let _ = Guest::new(rt).read(r, &mut [0u8; 1]);
            0
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        g.syscall(nr::FORK, &[])
    });
    let started = std::time::Instant::now();
    let ran = run(vec![app], &["b"]);
    assert_eq!(ran.stopped(), "no handler for syscall 57 in cage 1");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
