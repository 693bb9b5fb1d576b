//! The driver role: a real cage at the bottom of the replayed stack's argv
//! chain that issues the recorded calls through its own table, as the
//! recorded app did, so every grate in the stack sees a genuine caller.

use crate::step::Step;
use boundary::guest::{Guest, OwnBuf};
use boundary::{nr, ThreeI};
use formats::SyscallRecord;
use interpose::capture::capture_outputs;
use interpose::exec_args::stage_exec;
use interpose::keys::{STEP_FETCH, STEP_FORKED, STEP_NEXT};
use interpose::staging::stage_record;
use interpose::verdict::Answer;

/// The argv word that selects the driver role; the word after it is the
/// driver's stack (its place on the command line, from 0).
pub const DRIVER_FLAG: &str = "--driver";

/// How many bytes of step the driver's buffer takes; a larger step is
/// fetched with a second call.
const STEP_BUFFER: usize = 64 << 10;

/// The driver role's main for a driver of stack `stack`: run steps until
/// told to stop.
pub fn driver_main(rt: &dyn ThreeI, stack: u64) -> i32 {
    let guest = Guest::new(rt);
    let mut buf = OwnBuf::zeroed(rt, STEP_BUFFER);
    let mut outcome = None;
    loop {
        let Some(step) = next_step(&guest, &buf, outcome.take(), stack) else {
            guest.eprint("tee-replay: driver: the replayer sent an unreadable step\n");
            return i32::from(abi::exit::FAILED);
        };
        match step {
            Step::Call(record) => outcome = Some(run_call(rt, &record)),
            Step::Exec { path, argv } => {
                // An exec let through (--passthrough) replaces the cage's
                // memory: the buffer is freed before and made again after.
                drop(buf);
                outcome = Some(run_exec(rt, &path, &argv));
                buf = OwnBuf::zeroed(rt, STEP_BUFFER);
            }
            Step::Fork { child } => {
                let forked = rt.fork(Box::new(move |rt| driver_main(rt, stack)));
                let real = forked.map_or(0, |c| c.0);
                guest.syscall(STEP_FORKED, &[child, real, stack]);
            }
            Step::Exit { status } => rt.exit(status),
            Step::Done => return 0,
        }
    }
}

/// Reports `outcome` and takes the next step, in one call when the step
/// fits in `buf`.
fn next_step(
    guest: &Guest<'_>,
    buf: &OwnBuf<'_>,
    outcome: Option<Answer>,
    stack: u64,
) -> Option<Step> {
    let bytes = outcome.map(|o| postcard::to_allocvec(&o).unwrap_or_default());
    let sent = bytes.as_ref().map(|b| OwnBuf::from_bytes(guest.rt(), b));
    let (addr, len) = match &sent {
        Some(sent) => (sent.arg(), guest.scalar(sent.len() as u64)),
        None => (guest.scalar(0), guest.scalar(0)),
    };
    let cap = guest.scalar(buf.len() as u64);
    let stack = guest.scalar(stack);
    let len = usize::try_from(guest.call(STEP_NEXT, &[addr, len, buf.arg(), cap, stack])).ok()?;
    drop(sent);
    let mut step = vec![0; len];
    if len <= buf.len() {
        guest.rt().read_own(buf.addr(), &mut step);
    } else {
        let big = OwnBuf::zeroed(guest.rt(), len);
        if guest.call(STEP_FETCH, &[big.arg(), stack]) != 0 {
            return None;
        }
        step = big.to_vec();
    }
    postcard::from_bytes(&step).ok()
}

fn run_call(rt: &dyn ThreeI, record: &SyscallRecord) -> Answer {
    let me = rt.cage_id();
    let (Some(info), Some(call)) = (abi::catalog::lookup(record.nr), stage_record(rt, record))
    else {
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
