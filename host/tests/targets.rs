//! Target rules: dead targets, and whose fd table and cwd a kernel call
//! uses (docs/lind-3i.md §4.2).

use crate::util::{forward, lock, run_in, serve};
use boundary::consts::open_flags::{O_CLOEXEC, O_CREAT, O_RDONLY, O_RDWR};
use boundary::guest::OwnBuf;
use boundary::{args_of, nr, Arg, Args, CageId, Errno, Guest, ThreeI};
use std::sync::Mutex;

static DEAD: Mutex<Vec<i32>> = Mutex::new(Vec::new());

#[test]
fn a_call_to_a_dead_target_gets_esrch_except_exits_and_self_calls() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::EXIT_GROUP]),
        |rt, _, _, args| {
            let ret = forward(rt, nr::EXIT_GROUP, args);
            // The caller is dead now, but its thread is still in this chain.
            let (me, dead) = (rt.cage_id(), CageId(args[0].cage));
            let seen = [
                rt.make_call(nr::GETPID, me, dead, &args_of(dead, &[])),
                rt.make_call(nr::GETPID, dead, dead, &args_of(dead, &[])),
                rt.make_call(nr::EXIT, me, dead, &args_of(dead, &[0, 0])),
            ];
            lock(&DEAD).extend(seen);
            ret
        }
    );
    let ran = run_in(
        vec![grate, app!("quick", |_, _| 0)],
        &["g", "quick"],
        |_| {},
    );
    ran.ok();
    assert_eq!(*lock(&DEAD), vec![Errno::ESRCH.ret(), 2, 0]);
}

static FDS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static GRATE_FD: Mutex<i32> = Mutex::new(-1);

/// Runs inside the child's getpid: each call acts for the child (target)
/// with different argcages.
fn probe_tables(rt: &dyn ThreeI, _: u64, _: CageId, args: &Args) -> i32 {
    let me = rt.cage_id();
    let child = CageId(args[0].cage);
    let grate_fd = u64::from(*lock(&GRATE_FD) as u32);
    let buf = OwnBuf::zeroed(rt, 5);
    let read = |fd_owner: CageId| {
        rt.make_call(
            nr::READ,
            me,
            child,
            &[
                Arg::new(grate_fd, fd_owner),
                buf.arg(),
                Arg::new(5, child),
                Arg::unused(child),
                Arg::unused(child),
                Arg::unused(child),
            ],
        )
    };
    // read: the fd is looked up in its argcage's table.
    let mine = read(me);
    let mine_text = buf.to_vec();
    let theirs = read(child);
    let theirs_text = buf.to_vec();
    // close: the fd is looked up in the target's table.
    let closed = rt.make_call(nr::CLOSE, me, child, &args_of(me, &[grate_fd]));
    let still_mine = read(me);
    // open: the path resolves against its argcage's cwd, and the new fd
    // goes in the target's table.
    let path = OwnBuf::cstr(rt, b"rel.txt");
    let mut open = args_of(child, &[0, (O_CREAT | O_RDWR) as u64, 0o644]);
    open[0] = path.arg();
    let fd = rt.make_call(nr::OPEN, me, child, &open);
    lock(&FDS).extend([mine, theirs, closed, still_mine]);
    assert_eq!(
        (&mine_text[..], &theirs_text[..]),
        (&b"grate"[..], &b"child"[..])
    );
    fd
}

#[test]
fn fd_tables_and_cwds_follow_the_argcage_or_the_target_as_in_lind() {
    let grate = grate!(
        "g",
        |rt, argv| {
            let g = Guest::new(rt);
            let fd = g.open("/g.txt", O_RDONLY | O_CLOEXEC, 0).unwrap();
            *lock(&GRATE_FD) = fd;
            let child = rt
                .spawn_child(&argv[1..], &mut |child| {
                    // After the fork: the child keeps cwd "/".
                    g.chdir("/gdir")?;
                    rt.register_handler(child, nr::GETPID, 0)
                })
                .unwrap();
            g.waitpid(child.0 as i64, 0).unwrap();
            0
        },
        probe_tables
    );
    let child = app!("child", |rt, _| {
        let g = Guest::new(rt);
        let fd = g.open("/c.txt", O_RDONLY, 0).unwrap();
        assert_eq!(fd, 3, "the grate's cloexec fd is gone after exec");
        let new_fd = g.getpid().unwrap();
        g.write_all(new_fd, b"via child").unwrap();
        assert_eq!(g.read(3, &mut [0; 1]), Err(Errno::EBADF));
        0
    });
    let ran = run_in(vec![grate, child], &["g", "child"], |root| {
        std::fs::write(root.join("g.txt"), "grate").unwrap();
        std::fs::write(root.join("c.txt"), "child").unwrap();
        std::fs::create_dir(root.join("gdir")).unwrap();
    });
    ran.ok();
    // Closing the child's fd 3 left the grate's open (it reads EOF now).
    assert_eq!(*lock(&FDS), vec![5, 5, 0, 0]);
    let written = std::fs::read_to_string(ran.root.path().join("gdir/rel.txt")).unwrap();
    assert_eq!(written, "via child");
}
