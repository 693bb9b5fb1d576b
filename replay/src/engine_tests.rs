//! The engine's turn-taking, driven as a driver cage drives it, against a
//! fake 3i: which step each driver is handed, and what is skipped.

use super::*;
use boundary::fake::FakeThreeI;
use formats::build::{call, exit, fork};

const FIRST: CageId = CageId(7);
const SECOND: CageId = CageId(8);
/// Where a driver's step buffer is, in its memory.
const BUF: u64 = 0x100;

fn options(calls: &str) -> ReplayOptions {
    ReplayOptions {
        cages: None,
        calls: CallFilter::parse(calls).unwrap(),
        until: None,
        keep_going: false,
        // No floor expectations: these tests are about turns.
        passthrough: true,
    }
}

fn state(records: Vec<Record>, calls: &str) -> ReplayState {
    let entries: Vec<Entry> = records
        .into_iter()
        .enumerate()
        .map(|(i, record)| Entry {
            index: i as u64,
            record,
        })
        .collect();
    let total = entries.len();
    ReplayState::new(Feed::of(entries), total, options(calls))
}

/// The step `driver` is handed next.
fn step(state: &ReplayState, rt: &FakeThreeI, driver: CageId) -> Step {
    let len = state.next(rt, driver, None, FakeThreeI::host(driver, BUF), 4096);
    assert!(len > 0, "no step: {len}");
    let bytes = rt.peek(FakeThreeI::host(driver, BUF), len as usize);
    postcard::from_bytes(&bytes).expect("a step")
}

fn fake() -> FakeThreeI {
    FakeThreeI::new(CageId(1), |_, _, _| 0)
}

#[test]
fn the_first_driver_plays_the_first_working_cage_and_filtered_calls_are_counted() {
    let records = vec![
        // The tee forking the app: the driver plays the app itself.
        fork(0, 1, 2),
        call(1, 2, "close", &[99], -9).record(),
        call(2, 2, "getpid", &[], 2).record(),
        exit(3, 2, 0),
    ];
    let state = state(records, "close");
    let rt = fake();
    match step(&state, &rt, FIRST) {
        Step::Call(call) => assert_eq!(
            (call.cage, call.nr),
            (2, abi::catalog::by_name("close").unwrap().nr)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(step(&state, &rt, FIRST), Step::Exit { status: 0 });
    assert!(state.drivers_done());
    assert_eq!(
        state.skipped(),
        [
            ("filtered by --calls", 1),
            ("the app's start (the driver plays the app)", 1)
        ]
    );
    assert_eq!(state.position(), 4);
}

#[test]
fn a_fork_hands_the_child_to_the_driver_forked_for_it_and_its_parent_waits() {
    let records = vec![
        call(0, 2, "getpid", &[], 2).record(),
        fork(1, 2, 3),
        call(2, 3, "getpid", &[], 3).record(),
        exit(3, 3, 0),
        exit(4, 2, 0),
    ];
    let state = std::sync::Arc::new(state(records, "all"));
    let rt = fake();
    assert!(matches!(step(&state, &rt, FIRST), Step::Call(_)));
    assert_eq!(step(&state, &rt, FIRST), Step::Fork { child: 3 });
    // The parent asks again while its child's driver is still being
    // forked: the child's records are not skipped, the parent waits.
    let parent = {
        let (state, rt) = (state.clone(), rt.clone());
        std::thread::spawn(move || step(&state, &rt, FIRST))
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(state.forked(3, SECOND), 0);
    match step(&state, &rt, SECOND) {
        Step::Call(call) => assert_eq!(call.cage, 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(step(&state, &rt, SECOND), Step::Exit { status: 0 });
    assert_eq!(parent.join().unwrap(), Step::Exit { status: 0 });
    assert!(state.drivers_done());
    assert!(state.skipped().is_empty(), "{:?}", state.skipped());
}

#[test]
fn a_fork_whose_driver_never_came_leaves_its_records_to_be_skipped() {
    let records = vec![
        call(0, 2, "getpid", &[], 2).record(),
        fork(1, 2, 3),
        call(2, 3, "getpid", &[], 3).record(),
        exit(3, 2, 0),
    ];
    let state = state(records, "all");
    let rt = fake();
    assert!(matches!(step(&state, &rt, FIRST), Step::Call(_)));
    assert_eq!(step(&state, &rt, FIRST), Step::Fork { child: 3 });
    // The fork of the second driver failed.
    assert_eq!(state.forked(3, CageId(0)), 0);
    assert_eq!(step(&state, &rt, FIRST), Step::Exit { status: 0 });
    assert_eq!(state.skipped(), [("cage never forked in the log", 1)]);
}
