//! The driver role: a real cage at the bottom of the replayed stack's argv
//! chain that issues the recorded calls through its own table, as the
//! recorded app did, so every grate in the stack sees a genuine caller.

use crate::step::Step;
use boundary::guest::{Guest, OwnBuf};
use boundary::{nr, ThreeI};
use formats::SyscallRecord;
use interpose::capture::capture_outputs;
use interpose::exec_args::stage_exec;
use interpose::keys::{STEP_FETCH, STEP_FORKED, STEP_LEN, STEP_RESULT};
use interpose::staging::stage_record;
use interpose::verdict::Answer;

/// The argv word that selects the driver role.
pub const DRIVER_FLAG: &str = "--driver";

/// The driver role's main: run steps until told to stop.
pub fn driver_main(rt: &dyn ThreeI) -> i32 {
    let guest = Guest::new(rt);
    loop {
        let Some(step) = next_step(&guest) else {
            guest.eprint("tee-replay: driver: the replayer sent an unreadable step\n");
            return i32::from(abi::exit::FAILED);
        };
        match step {
            Step::Call(record) => {
                let outcome = run_call(rt, &record);
                report(&guest, &outcome);
            }
            Step::Exec { path, argv } => {
                let outcome = run_exec(rt, &path, &argv);
                report(&guest, &outcome);
            }
            Step::Fork { child } => {
                let forked = rt.fork(Box::new(driver_main));
                let real = forked.map_or(0, |c| c.0);
                guest.syscall(STEP_FORKED, &[child, real]);
            }
            Step::Exit { status } => rt.exit(status),
            Step::Done => return 0,
        }
    }
}

fn next_step(guest: &Guest<'_>) -> Option<Step> {
    let len = usize::try_from(guest.syscall(STEP_LEN, &[])).ok()?;
    let buf = OwnBuf::zeroed(guest.rt(), len);
    if guest.call(STEP_FETCH, &[buf.arg()]) != 0 {
        return None;
    }
    postcard::from_bytes(&buf.to_vec()).ok()
}

fn report(guest: &Guest<'_>, outcome: &Answer) {
    let bytes = postcard::to_allocvec(outcome).unwrap_or_default();
    let buf = OwnBuf::from_bytes(guest.rt(), &bytes);
    guest.call(STEP_RESULT, &[buf.arg(), guest.scalar(bytes.len() as u64)]);
}

fn run_call(rt: &dyn ThreeI, record: &SyscallRecord) -> Answer {
    let me = rt.cage_id();
    let (Some(info), Some(call)) = (formats::lookup(record.nr), stage_record(rt, record)) else {
        return Answer {
            result: boundary::Errno::EFAULT.ret(),
            outputs: Vec::new(),
        };
    };
    let result = rt.make_call(record.nr, me, me, &call.args);
    let outputs = capture_outputs(
        rt,
        info,
        &call.host_args,
        result,
        interpose::capture::CaptureLimits::default(),
    )
    .unwrap_or_default();
    Answer { result, outputs }
}

fn run_exec(rt: &dyn ThreeI, path: &[u8], argv: &[Vec<u8>]) -> Answer {
    let me = rt.cage_id();
    let exec = stage_exec(rt, me, path, argv);
    Answer {
        result: rt.make_call(nr::EXECVE, me, me, &exec.args),
        outputs: Vec::new(),
    }
}
