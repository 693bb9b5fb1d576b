//! Handler-table rules: one table per cage, one entry per call
//! (docs/lind-3i.md §3.2, §4.3).

use crate::util::{forward, lock, run, serve};
use boundary::consts::{RAWPOSIX_CAGEID, THREEI_CAGEID, THREEI_DEREGISTER};
use boundary::registration::Registration;
use boundary::{args_of, nr, Arg, Args, CageId, Guest, ThreeI};
use host::KERNEL_NUMBERS;
use std::sync::Mutex;

fn print_pid(rt: &dyn ThreeI, _: &[String]) -> i32 {
    let g = Guest::new(rt);
    g.print(&format!("{}\n", g.getpid().unwrap_or(-1)));
    0
}

/// A getpid handler answering 1000 + its key, so tests see which won.
fn answer_key(_: &dyn ThreeI, key: u64, _: CageId, _: &Args) -> i32 {
    1000 + key as i32
}

#[test]
fn the_first_table_is_prefilled_with_the_kernels_entries() {
    let ran = run(vec![app!("noop", |_, _| 0)], &["noop"]);
    ran.ok();
    let table = ran.rt.handler_table(CageId(1)).expect("cage 1 has a table");
    for &n in KERNEL_NUMBERS {
        assert_eq!(
            table.get(&u64::from(n)),
            Some(&(RAWPOSIX_CAGEID, u64::from(n)))
        );
    }
    for n in 1001..=1003 {
        assert_eq!(table.get(&n), Some(&(THREEI_CAGEID, n)));
    }
    assert_eq!(table.len(), KERNEL_NUMBERS.len() + 3);
    for absent in [57, 85, 95, 217, 258, 265, 332] {
        assert!(!table.contains_key(&absent), "{absent} must have no entry");
    }
}

static SELF_ONLY: Mutex<Vec<i32>> = Mutex::new(Vec::new());

#[test]
fn only_the_self_cages_table_is_consulted() {
    let grate = grate!(
        "g",
        |rt, argv| {
            let status = serve(rt, argv, &[nr::GETPID]);
            let me = rt.cage_id();
            let own = Guest::new(rt).getpid().unwrap_or(-1);
            // self = the (dead) child: its table, which stays, routes to
            // this grate's handler.
            let by_child = rt.make_call(nr::GETPID, CageId(2), me, &args_of(me, &[]));
            lock(&SELF_ONLY).extend([own, by_child]);
            status
        },
        |rt, _, _, args| {
            // self = grate, target = caller: the grate's table (kernel),
            // which answers with the target's id.
            let caller = CageId(args[0].cage);
            let me = rt.cage_id();
            let kernel = rt.make_call(nr::GETPID, me, caller, &args_of(caller, &[]));
            lock(&SELF_ONLY).push(kernel);
            4242
        }
    );
    let ran = run(vec![grate, app!("who", print_pid)], &["g", "who"]);
    assert_eq!(ran.ok().stdout_text(), "4242\n");
    // In the child: the kernel via the grate's table answers 2. After:
    // the grate's own getpid (1); then through the dead child's table the
    // handler runs again (pushing the kernel's answer for itself, 1) and
    // answers 4242.
    assert_eq!(*lock(&SELF_ONLY), vec![2, 1, 1, 4242]);
}

#[test]
fn the_last_registration_for_a_cage_and_number_wins() {
    let grate = grate!(
        "g",
        |rt, argv| {
            let g = Guest::new(rt);
            let child = rt
                .spawn_child(&argv[1..], &mut |child| {
                    rt.register_handler(child, nr::GETPID, 1).ok();
                    rt.register_handler(child, nr::GETPID, 2).ok();
                    Ok(())
                })
                .unwrap();
            g.waitpid(child.0 as i64, 0).unwrap();
            0
        },
        answer_key
    );
    let ran = run(vec![grate, app!("who", print_pid)], &["g", "who"]);
    assert_eq!(ran.ok().stdout_text(), "1002\n");
}

/// The clone handler: forward, then register on the new child at once.
fn clone_then_register(rt: &dyn ThreeI, key: u64, _: CageId, args: &Args) -> i32 {
    if key != u64::from(nr::CLONE) {
        return answer_key(rt, key, CageId(0), args);
    }
    let child = forward(rt, nr::CLONE, args);
    if child > 0 {
        // The child's table exists before CLONE returned to this grate.
        rt.register_handler(CageId(child as u64), nr::GETPID, 77)
            .expect("register on the new child");
    }
    child
}

#[test]
fn fork_copies_the_forking_cages_table_before_clone_returns() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::GETPID, nr::CLONE]),
        clone_then_register
    );
    let forker = app!("forker", |rt, _| {
        fn fork_and_print(rt: &dyn ThreeI, depth: u32) -> i32 {
            let g = Guest::new(rt);
            if depth > 0 {
                let child = g.fork(move |rt| fork_and_print(rt, depth - 1)).unwrap();
                g.waitpid(child.0 as i64, 0).unwrap();
            }
            print_pid(rt, &[])
        }
        fork_and_print(rt, 2)
    });
    let ran = run(vec![grate, forker], &["g", "forker"]);
    // Cage 4 is forked by cage 3, whose CLONE entry (to the grate) came
    // from cage 2 by fork copy; each new child got key 77 at once.
    assert_eq!(ran.ok().stdout_text(), "1077\n1077\n1039\n");
}

#[test]
fn exec_keeps_the_table() {
    let again = app!("again", |rt, argv| {
        if argv.len() == 1 {
            let err = Guest::new(rt).exec(&["again".into(), "x".into()]);
            panic!("exec failed: {err}");
        }
        print_pid(rt, argv)
    });
    let grate = grate!("g", |rt, argv| serve(rt, argv, &[nr::GETPID]), answer_key);
    let ran = run(vec![grate, again], &["g", "again"]);
    assert_eq!(ran.ok().stdout_text(), "1039\n");
}

#[test]
fn exit_group_purges_every_entry_pointing_to_the_exiting_grate() {
    // The grate does not wait for its child: it exits, its entries go,
    // and the child's next getpid finds no handler.
    let grate = grate!(
        "short",
        |rt, argv| {
            rt.spawn_child(&argv[1..], &mut |child| {
                rt.register_handler(child, nr::GETPID, 1)
            })
            .unwrap();
            0
        },
        answer_key
    );
    let late = app!("late", |rt, _| {
        while !parent_gone(rt) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        print_pid(rt, &[])
    });
    let ran = run(vec![grate, late], &["short", "late"]);
    assert_eq!(ran.stopped(), "no handler for syscall 39 in cage 2");
    let table = ran.rt.handler_table(CageId(2)).unwrap();
    assert!(!table.contains_key(&u64::from(nr::GETPID)));
}

/// Whether cage 1 is dead: a probe call targeting it answers -ESRCH.
fn parent_gone(rt: &dyn ThreeI) -> bool {
    let me = rt.cage_id();
    rt.make_call(nr::GETPID, me, CageId(1), &args_of(me, &[])) == -3
}

static EXITS: Mutex<Vec<(u32, i32, u64)>> = Mutex::new(Vec::new());

#[test]
fn thread_exit_is_60_and_process_exit_is_231() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::EXIT, nr::EXIT_GROUP]),
        |rt, key, _, args| {
            lock(&EXITS).push((key as u32, args[0].as_i32(), args[1].value));
            forward(rt, key as u32, args)
        }
    );
    let threaded = app!("threaded", |rt, _| {
        Guest::new(rt).spawn_thread(|_| {}).unwrap().join();
        5
    });
    let ran = run(vec![grate, threaded], &["g", "threaded"]);
    assert_eq!(ran.ok().status, 5);
    // The thread's exit carries its tid (2); the process exit tid 1.
    assert_eq!(*lock(&EXITS), vec![(60, 0, 2), (231, 5, 1)]);
}

static REGS: Mutex<Vec<(Registration, u64, u64)>> = Mutex::new(Vec::new());

/// Grate A: intercepts 1001 on its child; records and forwards as itself.
/// For getpid registrations it also registers alt 3001 -> (grate, fn) in
/// its own table and calls it for the registered cage.
fn interposer(rt: &dyn ThreeI, key: u64, _: CageId, args: &Args) -> i32 {
    if key == 3001 {
        return -1;
    }
    let reg = Registration::from_args(args).expect("1001 packing");
    lock(&REGS).push((reg, args[1].value, args[2].cage));
    let me = rt.cage_id();
    let ret = rt.make_call(nr::REGISTER_HANDLER, me, me, args);
    if reg.nr == nr::GETPID {
        let alt = Registration {
            target: me,
            nr: 3001,
            grate: reg.grate,
            fn_ptr: reg.fn_ptr,
        };
        rt.register_raw(&alt).expect("alt registration");
        let via_alt = rt.make_call(3001, me, reg.target, &args_of(reg.target, &[]));
        lock(&REGS).push((alt, via_alt as u64, 0));
    }
    ret
}

#[test]
fn a_1001_handler_sees_registrations_with_lind_packing_and_alt_numbers_reach_another_grate() {
    let a = grate!(
        "a",
        |rt, argv| serve(rt, argv, &[nr::REGISTER_HANDLER]),
        interposer
    );
    let b = grate!(
        "b",
        |rt, argv| serve(rt, argv, &[nr::GETPID]),
        |_, _, cageid, _| 5000 + cageid.0 as i32
    );
    let ran = run(vec![a, b, app!("who", print_pid)], &["a", "b", "who"]);
    // B (cage 2) answers C's (cage 3) getpid.
    assert_eq!(ran.ok().stdout_text(), "5002\n");
    let regs = lock(&REGS).clone();
    let (reg, arg2, arg3cage) = regs[0];
    assert_eq!(
        reg,
        Registration {
            target: CageId(3),
            nr: nr::GETPID,
            grate: CageId(2),
            fn_ptr: u64::from(nr::GETPID),
        }
    );
    assert_eq!(arg2, boundary::consts::UNUSED_ARG);
    assert_eq!(arg3cage, boundary::consts::UNUSED_CAGE);
    // Through alt 3001 in A's own table, B's handler ran as B.
    assert_eq!(regs[1].1, 5002);
}

static COPIED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

#[test]
fn copy_handler_table_replaces_the_destination_with_a_snapshot() {
    let grate = grate!(
        "g",
        |rt, argv| {
            let g = Guest::new(rt);
            let me = rt.cage_id();
            let child = rt
                .spawn_child(&argv[1..], &mut |child| {
                    rt.register_handler(child, nr::GETPID, 1).ok();
                    // The child's table becomes a copy of this grate's: the
                    // getpid entry is gone again.
                    let copied = rt.copy_handler_table(me, child);
                    let mut none = Arg::all_unused(me);
                    none[0] = Arg::new(1999, child);
                    let missing = rt.make_call(nr::COPY_HANDLER_TABLE_TO_CAGE, me, me, &none);
                    lock(&COPIED).extend([copied.map_or_else(|e| e.ret(), |()| 0), missing]);
                    Ok(())
                })
                .unwrap();
            g.waitpid(child.0 as i64, 0).unwrap();
            0
        },
        answer_key
    );
    let ran = run(vec![grate, app!("who", print_pid)], &["g", "who"]);
    assert_eq!(ran.ok().stdout_text(), "2\n");
    assert_eq!(*lock(&COPIED), vec![0, boundary::consts::ELINDAPIABORTED]);
}

#[test]
fn deregistration_removes_the_entry_with_no_fallback() {
    let grate = grate!(
        "g",
        |rt, argv| {
            let g = Guest::new(rt);
            let child = rt
                .spawn_child(&argv[1..], &mut |child| {
                    let reg = Registration {
                        target: child,
                        nr: nr::GETPID,
                        grate: CageId(THREEI_DEREGISTER),
                        fn_ptr: 0,
                    };
                    rt.register_raw(&reg)
                })
                .unwrap();
            g.waitpid(child.0 as i64, 0).unwrap();
            0
        },
        answer_key
    );
    let ran = run(vec![grate, app!("who", print_pid)], &["g", "who"]);
    assert_eq!(ran.stopped(), "no handler for syscall 39 in cage 2");
}
