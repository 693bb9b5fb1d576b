//! Memory rules: own memories, host addresses named by argcages,
//! copy_data's checks, GRATE_MEMORY_FLAG.

use crate::util::{forward, lock, run, serve};
use boundary::consts::{ELINDAPIABORTED, GRATE_MEMORY_FLAG};
use boundary::guest::OwnBuf;
use boundary::{nr, Arg, Args, CageId, CopyKind, Errno, Guest, ThreeI};
use std::sync::Mutex;

/// (address's cage bits, argcage, bytes read, result with a wrong argcage)
type Seen = (u64, u64, Vec<u8>, i32);

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

fn write_hello(rt: &dyn ThreeI, _: &[String]) -> i32 {
    Guest::new(rt).write_all(1, b"hello").unwrap();
    0
}

#[test]
fn pointer_arguments_are_host_addresses_in_their_owners_memory() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::WRITE]),
        |rt, _, _, args| {
            let (addr, owner) = (args[1].value, args[1].cage);
            let mut bytes = vec![0; args[2].value as usize];
            rt.read_foreign(addr, CageId(owner), &mut bytes).unwrap();
            // The same address under the wrong argcage is refused.
            let mut wrong = *args;
            wrong[1].cage = rt.cage_id().0;
            let refused = rt.make_call(nr::WRITE, rt.cage_id(), CageId(owner), &wrong);
            lock(&SEEN).push((addr >> 32, owner, bytes, refused));
            forward(rt, nr::WRITE, args)
        }
    );
    let ran = run(vec![grate, app!("w", write_hello)], &["g", "w"]);
    assert_eq!(ran.ok().stdout_text(), "hello");
    assert_eq!(
        *lock(&SEEN),
        vec![(2, 2, b"hello".to_vec(), Errno::EFAULT.ret())]
    );
}

static COPIES: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn copy_checks(rt: &dyn ThreeI, _: u64, _: CageId, args: &Args) -> i32 {
    let me = rt.cage_id();
    let (src, owner) = (args[1].value, args[1].cage);
    let buf = OwnBuf::zeroed(rt, 16);
    let raw = |src: (u64, u64), dst: (u64, u64), len: u64, kind: u64| {
        let a = [
            Arg::new(src.0, CageId(src.1)),
            Arg::new(dst.0, CageId(dst.1)),
            Arg::new(len, me),
            Arg::new(kind, me),
            Arg::unused(me),
            Arg::unused(me),
        ];
        rt.make_call(nr::COPY_DATA_BETWEEN_CAGES, me, me, &a)
    };
    let dst = (rt.host_addr(buf.addr()), me.0);
    let results = [
        // A good raw copy returns the destination's low 32 bits.
        raw((src, owner), dst, 5, 0),
        // Same cage on both sides.
        raw((src, owner), (src, owner), 5, 0),
        // Past the end of the source cage's memory.
        raw((src, owner), dst, 1 << 30, 0),
        // Longer than u32::MAX.
        raw((src, owner), dst, 1 << 33, 0),
        // A string copy with no NUL within the bound.
        raw((src, owner), dst, 3, 1),
        // An unknown copy type.
        raw((src, owner), dst, 5, 7),
    ];
    COPIES.lock().unwrap().extend(results);
    assert_eq!(results[0], dst.0 as u32 as i32);
    forward(rt, nr::OPEN, args)
}

#[test]
fn copy_data_rejects_same_cage_and_out_of_bounds_copies_and_bounds_string_copies() {
    let grate = grate!("g", |rt, argv| serve(rt, argv, &[nr::OPEN]), copy_checks);
    let opener = app!("o", |rt, _| {
        let _ = Guest::new(rt).open("/x", 0, 0);
        0
    });
    let ran = run(vec![grate, opener], &["g", "o"]);
    ran.ok();
    let a = ELINDAPIABORTED;
    assert_eq!(lock(&COPIES)[1..], [a, a, a, a, a]);
}

static STRINGS: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

#[test]
fn a_string_copy_copies_up_to_and_including_the_nul() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::OPEN]),
        |rt, _, _, args| {
            let me = rt.cage_id();
            let buf = OwnBuf::from_bytes(rt, &[b'#'; 12]);
            rt.copy_data(
                (args[0].value, CageId(args[0].cage)),
                (buf.addr(), me),
                12,
                CopyKind::CStr,
            )
            .unwrap();
            lock(&STRINGS).push(buf.to_vec());
            forward(rt, nr::OPEN, args)
        }
    );
    let opener = app!("o", |rt, _| {
        let _ = Guest::new(rt).open("/abc", 0, 0);
        0
    });
    run(vec![grate, opener], &["g", "o"]).ok();
    assert_eq!(lock(&STRINGS)[0], b"/abc\0#######".to_vec());
}

#[test]
fn a_copy_to_address_zero_stops_the_run() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::OPEN]),
        |rt, _, _, args| {
            let me = rt.cage_id();
            let a = [
                args[0],
                Arg::new(0, me),
                Arg::new(4, me),
                Arg::new(0, me),
                Arg::unused(me),
                Arg::unused(me),
            ];
            rt.make_call(nr::COPY_DATA_BETWEEN_CAGES, me, me, &a)
        }
    );
    let opener = app!("o", |rt, _| {
        let _ = Guest::new(rt).open("/abc", 0, 0);
        0
    });
    let ran = run(vec![grate, opener], &["g", "o"]);
    assert!(ran
        .stopped()
        .contains("copy_data_between_cages to address 0"));
}

#[test]
fn grate_memory_flag_translates_only_the_callers_own_pointers() {
    let grate = grate!(
        "g",
        |rt, argv| serve(rt, argv, &[nr::WRITE]),
        |rt, _, _, args| {
            let (me, caller) = (rt.cage_id(), CageId(args[0].cage));
            // A buffer in the grate's own memory, flagged: translated.
            let own = OwnBuf::from_bytes(rt, b"grate ");
            let mut a = *args;
            a[1] = own.arg();
            a[2] = Arg::new(6, caller);
            forward(rt, nr::WRITE, &a);
            // The caller's host address with the flag but another cage's
            // id: passed untranslated, flag cleared.
            let mut b = *args;
            b[1].cage |= GRATE_MEMORY_FLAG;
            rt.make_call(nr::WRITE, me, caller, &b)
        }
    );
    let ran = run(vec![grate, app!("w", write_hello)], &["g", "w"]);
    assert_eq!(ran.ok().stdout_text(), "grate hello");
}
