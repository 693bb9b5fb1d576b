//! The driver role: a real cage at the bottom of the replayed stack's argv
//! chain that issues the recorded calls through its own table, as the
//! recorded app did, so every grate in the stack sees a genuine caller.

use crate::step::Step;
use boundary::consts::{IOVEC_SIZE, UNUSED_ARG};
use boundary::guest::{Guest, OwnBuf};
use boundary::iovec::{IoVec, IOV_MAX};
use boundary::{nr, Arg, Args, ThreeI};
use formats::{ArgKind, Len};
use formats::{Buffer, SyscallRecord};
use interpose::capture::{capture_outputs, len_of};
use interpose::exec_args::stage_exec;
use interpose::keys::{STEP_FETCH, STEP_FORKED, STEP_LEN, STEP_RESULT};
use interpose::verdict::Answer;

/// The argv word that selects the driver role.
pub const DRIVER_FLAG: &str = "--driver";

/// Largest buffer a driver allocates for one output argument.
pub const MAX_OUTPUT: u64 = abi::limits::MAX_CALL_BYTES;

/// The driver role's main: run steps until told to stop.
pub fn driver_main(rt: &dyn ThreeI) -> i32 {
    let guest = Guest::new(rt);
    loop {
        let Some(step) = next_step(&guest) else {
            guest.eprint("tee-replay: driver: the replayer sent an unreadable step\n");
            return 2;
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

/// Buffers a call's arguments point at, kept alive until it returns.
struct Materialized<'a> {
    args: Args,
    host_args: Args,
    _buffers: Vec<OwnBuf<'a>>,
}

fn input(record: &SyscallRecord, pos: usize) -> impl Iterator<Item = &Buffer> {
    record
        .inputs
        .iter()
        .filter(move |b| usize::from(b.arg) == pos)
}

/// Rebuilds a recorded call's buffers in the driver's own memory.
fn materialize<'a>(rt: &'a dyn ThreeI, record: &SyscallRecord) -> Option<Materialized<'a>> {
    let info = formats::lookup(record.nr)?;
    let me = rt.cage_id();
    let full = record.full_args();
    let mut args = Arg::all_unused(me);
    for (slot, (value, _)) in args.iter_mut().zip(full) {
        slot.value = value;
    }
    let mut host_args = args;
    let mut buffers = Vec::new();
    for (pos, kind) in info.args.iter().enumerate() {
        if full[pos].0 == 0 || full[pos].0 == UNUSED_ARG {
            continue;
        }
        let buf = match *kind {
            ArgKind::In(Len::CStr) => OwnBuf::cstr(rt, &input(record, pos).next()?.data),
            ArgKind::In(len) | ArgKind::InOut { cap: len, .. } => {
                let size = len_of(len, &args).unwrap_or(0).min(MAX_OUTPUT) as usize;
                let buf = OwnBuf::zeroed(rt, size);
                if let Some(data) = input(record, pos).next() {
                    rt.write_own(buf.addr(), &data.data[..data.data.len().min(size)]);
                }
                buf
            }
            ArgKind::Out { cap, .. } => {
                let size = len_of(cap, &args).unwrap_or(0);
                if size > MAX_OUTPUT {
                    return None;
                }
                OwnBuf::zeroed(rt, size as usize)
            }
            ArgKind::IovIn { .. } => {
                iov_array(rt, input(record, pos).map(|b| b.data.clone()), &mut buffers)
            }
            ArgKind::IovOut { .. } => {
                let lens = record
                    .outputs
                    .iter()
                    .filter(|b| usize::from(b.arg) == pos)
                    .map(|b| {
                        vec![
                            0;
                            b.truncated_from
                                .unwrap_or(b.data.len() as u64)
                                .min(MAX_OUTPUT) as usize
                        ]
                    });
                iov_array(rt, lens, &mut buffers)
            }
            _ => continue,
        };
        args[pos] = buf.arg();
        host_args[pos] = Arg::new(rt.host_addr(buf.addr()), me);
        buffers.push(buf);
    }
    Some(Materialized {
        args,
        host_args,
        _buffers: buffers,
    })
}

/// Builds a translated iovec array over fresh copies of `elements`.
fn iov_array<'a>(
    rt: &'a dyn ThreeI,
    elements: impl Iterator<Item = Vec<u8>>,
    keep: &mut Vec<OwnBuf<'a>>,
) -> OwnBuf<'a> {
    let mut array = Vec::new();
    for data in elements.take(IOV_MAX) {
        let buf = OwnBuf::from_bytes(rt, &data);
        array.push(IoVec {
            base: rt.host_addr(buf.addr()),
            len: data.len() as u64,
        });
        keep.push(buf);
    }
    let mut raw = IoVec::encode_all(array);
    // A zero-element array still needs an address to point at.
    raw.resize(raw.len().max(IOVEC_SIZE), 0);
    OwnBuf::from_bytes(rt, &raw)
}

fn run_call(rt: &dyn ThreeI, record: &SyscallRecord) -> Answer {
    let me = rt.cage_id();
    let (Some(info), Some(call)) = (formats::lookup(record.nr), materialize(rt, record)) else {
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
