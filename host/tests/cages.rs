//! Cage and process rules: ids, fork timing and results, exec, exit,
//! traps, waitpid.

use crate::util::{forward, lock, run, serve};
use boundary::consts::open_flags::{O_CLOEXEC, O_CREAT, O_RDWR};
use boundary::consts::GRATE_ERR;
use boundary::wait::{wexitstatus, wifexited, WNOHANG};
use boundary::{nr, Args, CageId, Errno, Guest, ThreeI};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[test]
fn cage_ids_count_up_from_one_and_are_never_reused() {
    let app = app!("ids", |rt, _| {
        let g = Guest::new(rt);
        let mut seen = vec![g.getpid().unwrap()];
        for _ in 0..3 {
            let child = g.fork(|rt| Guest::new(rt).getpid().unwrap()).unwrap();
            let (pid, status) = g.waitpid(child.0 as i64, 0).unwrap();
            assert_eq!(wexitstatus(status), pid.0 as i32);
            seen.push(pid.0 as i32);
        }
        g.print(&format!("{seen:?}"));
        0
    });
    let ran = run(vec![app], &["ids"]);
    assert_eq!(ran.ok().stdout_text(), "[1, 2, 3, 4]");
    assert_eq!(ran.rt.last_cage_id(), CageId(4));
    assert!(ran.rt.live_cages().is_empty());
}

static ORDER: Mutex<Vec<(&str, Instant)>> = Mutex::new(Vec::new());

#[test]
fn a_forked_child_starts_only_after_the_forking_chain_returns() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::CLONE, nr::GETPID]),
        |rt, key, _, args| {
            if key == u64::from(nr::GETPID) {
                lock(&ORDER).push(("child call", Instant::now()));
                return forward(rt, nr::GETPID, args);
            }
            let child = forward(rt, nr::CLONE, args);
            std::thread::sleep(Duration::from_millis(50));
            lock(&ORDER).push(("clone handler returns", Instant::now()));
            child
        }
    );
    let forker = app!("f", |rt, _| {
        let g = Guest::new(rt);
        let child = g.fork(|rt| Guest::new(rt).getpid().unwrap_or(-1)).unwrap();
        g.waitpid(child.0 as i64, 0).unwrap();
        0
    });
    run(vec![grate, forker], &["g", "f"]).ok();
    let order: Vec<&str> = lock(&ORDER).iter().map(|o| o.0).collect();
    assert_eq!(order, ["clone handler returns", "child call"]);
}

#[test]
fn a_grate_may_spoof_the_fork_result() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::CLONE]),
        |rt, _, _, args| {
            forward(rt, nr::CLONE, args);
            10
        }
    );
    let forker = app!("f", |rt, _| {
        let g = Guest::new(rt);
        let seen = g.fork(|rt| {
            Guest::new(rt).print("child ran\n");
            0
        });
        let (real, _) = g.waitpid(-1, 0).unwrap();
        g.print(&format!(
            "fork said {}, child was {}\n",
            seen.unwrap(),
            real
        ));
        0
    });
    let ran = run(vec![grate, forker], &["g", "f"]);
    assert_eq!(
        ran.ok().stdout_text(),
        "child ran\nfork said 10, child was 3\n"
    );
}

#[test]
fn forwarding_one_forks_clone_twice_stops_the_run() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::CLONE]),
        |rt, _, _, args| {
            forward(rt, nr::CLONE, args);
            forward(rt, nr::CLONE, args)
        }
    );
    let forker = app!("f", |rt, _| {
        let _ = Guest::new(rt).fork(|_| 0);
        0
    });
    let ran = run(vec![grate, forker], &["g", "f"]);
    assert!(ran.stopped().contains("forwarded one fork's CLONE twice"));
}

static TRAPS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

#[test]
fn a_trap_kills_the_cage_silently_for_grates() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::EXIT_GROUP]),
        |rt, _, _, args| {
            lock(&TRAPS).push(args[0].cage);
            forward(rt, nr::EXIT_GROUP, args)
        }
    );
    let parent = app!("p", |rt, _| {
        let g = Guest::new(rt);
        let child = g.fork(|_| panic!("deliberate trap")).unwrap();
        let (_, status) = g.waitpid(child.0 as i64, 0).unwrap();
        assert!(wifexited(status) && wexitstatus(status) == 1);
        0
    });
    run(vec![grate, parent], &["g", "p"]).ok();
    // Only the parent's own exit reached the grate.
    assert_eq!(*lock(&TRAPS), vec![2]);
}

/// Forks a child that exits with `status` once a byte arrives on the pipe
/// whose write end is returned.
fn child_waiting_on_a_pipe(g: &Guest<'_>, status: i32) -> (CageId, i32) {
    let [r, w] = g.pipe().unwrap();
    let child = g
        .fork(move |rt| {
            let _ = Guest::new(rt).read(r, &mut [0u8; 1]);
            status
        })
        .unwrap();
    (child, w)
}

#[test]
fn waitpid_reports_echild_wnohang_and_linux_statuses() {
    let app = app!("w", |rt, _| {
        let g = Guest::new(rt);
        assert_eq!(g.waitpid(-1, 0), Err(Errno::ECHILD));
        let (child, w) = child_waiting_on_a_pipe(&g, 42);
        assert_eq!(g.waitpid(-1, WNOHANG), Ok((CageId(0), 0)));
        g.write_all(w, b"x").unwrap();
        let (pid, status) = g.waitpid(0, 0).unwrap();
        assert_eq!((pid, wexitstatus(status)), (child, 42));
        assert_eq!(g.waitpid(child.0 as i64, 0), Err(Errno::ECHILD));
        0
    });
    assert_eq!(run(vec![app], &["w"]).ok().status, 0);
}

/// The cause of the live tee's hang on Lind: RawPOSIX's waitpid honours
/// WNOHANG only for "any child"; for a named child it blocks until that
/// child exits. A tee that polled its block with `waitpid(top, WNOHANG)`
/// never came back to see the block check in.
#[test]
fn waitpid_of_a_named_child_blocks_despite_wnohang_as_on_lind() {
    let app = app!("w", |rt, _| {
        let g = Guest::new(rt);
        let (child, w) = child_waiting_on_a_pipe(&g, 7);
        // A thread lets the child go only after a while; the parent's
        // WNOHANG wait for that child must not return before then.
        let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = released.clone();
        let join = g
            .spawn_thread(move |rt| {
                boundary::clock::pause(Duration::from_millis(100));
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                Guest::new(rt).write_all(w, b"x").unwrap();
            })
            .unwrap();
        let (pid, status) = g.waitpid(child.0 as i64, WNOHANG).unwrap();
        assert!(released.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!((pid, wexitstatus(status)), (child, 7));
        join.join();
        0
    });
    assert_eq!(run(vec![app], &["w"]).ok().status, 0);
}

#[test]
fn exec_finds_programs_by_name_and_closes_cloexec_fds() {
    let first = app!("first", |rt, _| {
        let g = Guest::new(rt);
        assert_eq!(g.exec(&["missing".into()]), Errno::ENOENT);
        let keep = g.open("/keep", O_CREAT | O_RDWR, 0o644).unwrap();
        let drop = g
            .open("/drop", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
            .unwrap();
        let err = g.exec(&["second".into(), keep.to_string(), drop.to_string()]);
        panic!("exec failed: {err}");
    });
    let second = app!("second", |rt, argv| {
        let g = Guest::new(rt);
        let keep: i32 = argv[1].parse().unwrap();
        let drop: i32 = argv[2].parse().unwrap();
        assert!(g.fstat(keep).is_ok());
        assert_eq!(g.fstat(drop), Err(Errno::EBADF));
        9
    });
    assert_eq!(run(vec![first, second], &["first"]).ok().status, 9);
}

#[test]
fn a_child_whose_exec_fails_exits_127() {
    let grate = grate!("g", |rt, argv| serve(rt, argv, &[]), |_, _, _, _| 0);
    let ran = run(vec![grate], &["g", "nowhere"]);
    assert_eq!(ran.ok().status, 127);
}

#[test]
fn a_panicking_handler_returns_grate_err() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::GETPID]),
        |_, _, _, _| panic!("handler bug")
    );
    let who = app!("who", |rt, _| {
        let ret = Guest::new(rt).syscall(nr::GETPID, &[]);
        i32::from(ret == GRATE_ERR)
    });
    assert_eq!(run(vec![grate, who], &["g", "who"]).ok().status, 1);
}

#[test]
fn a_main_that_returns_exits_through_231_with_its_status() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::EXIT_GROUP]),
        |rt, _, _, args: &Args| forward(rt, nr::EXIT_GROUP, args)
    );
    let ran = run(vec![grate, app!("seven", |_, _| 7)], &["g", "seven"]);
    assert_eq!(ran.ok().status, 7);
}

#[test]
fn threads_share_the_cage_and_its_fds() {
    let app = app!("t", |rt: &dyn ThreeI, _| {
        let g = Guest::new(rt);
        let [r, w] = g.pipe().unwrap();
        let join = g
            .spawn_thread(move |rt| {
                let g = Guest::new(rt);
                g.write_all(w, format!("thread in {}", g.getpid().unwrap()).as_bytes())
                    .unwrap();
            })
            .unwrap();
        let mut buf = [0u8; 11];
        let n = g.read(r, &mut buf).unwrap();
        join.join();
        g.print(std::str::from_utf8(&buf[..n]).unwrap());
        0
    });
    assert_eq!(run(vec![app], &["t"]).ok().stdout_text(), "thread in 1");
}

#[test]
fn kill_probes_with_zero_and_otherwise_kills_silently_with_a_signal_status() {
    let app = app!("k", |rt, _| {
        let g = Guest::new(rt);
        let child = g
            .fork(|rt| loop {
                let _ = Guest::new(rt).getpid();
                std::thread::sleep(Duration::from_millis(1));
            })
            .unwrap();
        assert_eq!(g.kill(child.0 as i32, 0), Ok(()));
        assert_eq!(g.kill(1999, 0), Err(Errno::ESRCH));
        g.kill(child.0 as i32, 9).unwrap();
        let (_, status) = g.waitpid(child.0 as i64, 0).unwrap();
        assert!(boundary::wait::wifsignaled(status));
        assert_eq!(boundary::wait::wtermsig(status), 9);
        0
    });
    assert_eq!(run(vec![app], &["k"]).ok().status, 0);
}
