//! The floor: what sits below a grate stack and answers, from a known
//! result, the calls the stack sends down on a caller's behalf.
//!
//! The live tee puts a floor under its secondary stack, answered from the
//! primary's result and output bytes; tee-replay puts one under the replayed
//! stack, answered from the recording. Either way a duplicated call never
//! reaches the real system twice. Calls that carry no caller the floor is
//! answering for are the grates' own I/O (an archive being written, a log
//! being kept): those pass through to the real system, issued through the
//! floor owner's own table, which never routes back into the floor.
//!
//! Echoes: a grate may do a caller's terminal I/O from its own memory, on
//! its own fds 0-2 and with its own cage in the argcages (Lind's imfs-grate
//! writes fds 0-2 that way); by cage that looks like the grate's own I/O.
//! So a call from no caller the floor stands for, on an fd below 3, whose
//! input bytes equal those of an in-flight expected call of the same
//! number, is taken as that call re-issued and answered as it, never
//! executed: the caller's output is not printed twice. (A grate's own
//! stderr line that carries exactly the bytes of a caller's write in flight
//! at that moment is answered too; a copy kept in a file, on fd 3 and up,
//! never is.)
//!
//! Matching: an expectation is keyed by the cage the floor answers for and
//! the call number. A call sent down names its caller in its argcages (glibc
//! sets all six to the caller, and grates keep scalar argcages), so the floor
//! looks at every argcage. Several in-flight calls of one cage with the same
//! number (threads) are told apart by the scratch buffer a pointer argument
//! points into, when there is one.

use crate::capture::{capture_inputs, deliver_outputs, read_cstr, CaptureLimits};
use abi::catalog::{ArgKind, Len, RetKind, SyscallInfo};
use boundary::consts::open_flags::{O_ACCMODE, O_CREAT, O_TRUNC, O_WRONLY};
use boundary::{nr, Args, CageId, Errno, ThreeI};
use formats::Buffer;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::verdict::Answer;

/// Where the input bytes of an expected call are, for telling its echoes
/// (see the module doc).
#[derive(Clone, Debug)]
pub enum Inputs {
    /// As recorded.
    Recorded(Vec<Buffer>),
    /// In the caller's memory, at these arguments (read only when a
    /// possible echo arrives).
    At(Args),
}

/// The most input bytes compared when looking for an echo.
const ECHO_MAX: usize = abi::limits::MAX_CALL_BYTES as usize;

/// What the floor did, for summaries.
#[derive(Debug, Default)]
pub struct FloorCounts {
    /// Calls answered from an expectation.
    pub answered: AtomicU64,
    /// Calls made on a caller's behalf with no matching expectation.
    pub unmatched: AtomicU64,
    /// Grates' own calls passed through to the real system.
    pub passed_through: AtomicU64,
    /// Grates' re-issues of an expected call from their own memory,
    /// answered as that call.
    pub echoed: AtomicU64,
    /// Grates' own opens of host files a sealed floor kept from them.
    pub sealed: AtomicU64,
}

/// What the floor does with a call on a caller's behalf it has no answer for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unmatched {
    /// Answer `-errno` without executing anything.
    Refuse(Errno),
    /// Execute it on the real system (tee-replay --passthrough).
    PassThrough,
}

struct Pending {
    id: u64,
    nr: u32,
    /// Host address range of the scratch memory given with this call.
    scratch: Option<(u64, u64)>,
    inputs: Option<Inputs>,
    answer: Arc<Answer>,
    /// Calls it has answered.
    hits: AtomicU64,
}

/// What an expectation expects.
#[derive(Debug)]
pub struct Expected {
    pub nr: u32,
    /// Host address range of the scratch memory given with this call.
    pub scratch: Option<(u64, u64)>,
    /// The call's input bytes, to tell echoes by.
    pub inputs: Option<Inputs>,
    pub answer: Arc<Answer>,
}

impl Expected {
    /// Call `nr` answered with `answer`, with no scratch and no inputs.
    pub fn plain(nr: u32, answer: Arc<Answer>) -> Expected {
        Expected {
            nr,
            scratch: None,
            inputs: None,
            answer,
        }
    }
}

/// The floor under one stack.
#[derive(Default)]
pub struct Floor {
    pending: Mutex<HashMap<CageId, Vec<Pending>>>,
    next_id: AtomicU64,
    /// Set under a replayed stack: the host files its grates may open.
    seal: Option<Seal>,
    pub counts: FloorCounts,
}

/// What a replayed stack's grates may open of the real system for
/// themselves. A log is untrusted input: a grate that reads "the real
/// file" a recorded call names (archive-grate does, to seed its copy) would
/// bring a host file into the replay's output. So a grate's own open of a
/// path is answered ENOENT, as the recording's world has no such file,
/// unless the open creates or truncates it for writing, or the replay's
/// grates created it themselves earlier (an archive's own copies). Paths
/// are compared as given.
#[derive(Default)]
struct Seal {
    created: Mutex<HashSet<Vec<u8>>>,
}

impl Seal {
    /// The path and flags of an open a grate issued for itself.
    fn open_of(rt: &dyn ThreeI, nr: u32, args: &Args) -> Option<(Vec<u8>, i32)> {
        let (path, flags) = match nr {
            nr::OPEN => (args[0], args[1].as_i32()),
            nr::OPENAT => (args[1], args[2].as_i32()),
            nr::CREAT => (args[0], O_CREAT | O_WRONLY | O_TRUNC),
            _ => return None,
        };
        Some((read_cstr(rt, path.value, path.owner()).ok()?, flags))
    }

    fn allows(&self, path: &[u8], flags: i32) -> bool {
        let fresh = flags & O_CREAT != 0 && (flags & O_ACCMODE == O_WRONLY || flags & O_TRUNC != 0);
        fresh || lock(&self.created).contains(path)
    }

    fn created(&self, path: Vec<u8>) {
        lock(&self.created).insert(path);
    }
}

use abi::sync::lock;

impl std::fmt::Debug for Floor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Floor")
            .field("counts", &self.counts)
            .finish()
    }
}

/// A byte count never exceeds what the call sent down asked for: a stack
/// that shortens a write is answered as the kernel would answer it.
fn clip_count(info: &SyscallInfo, args: &Args, result: i32) -> i32 {
    if info.ret != RetKind::Count || result < 0 {
        return result;
    }
    let asked = info.args.iter().find_map(|kind| match *kind {
        ArgKind::In(Len::Arg(i))
        | ArgKind::Out {
            cap: Len::Arg(i), ..
        } => Some(args[usize::from(i)].value),
        _ => None,
    });
    asked.map_or(result, |n| result.min(i32::try_from(n).unwrap_or(i32::MAX)))
}

/// Keeps an expectation registered; dropping it withdraws the expectation.
#[must_use = "the expectation is withdrawn when this is dropped"]
pub struct Expectation<'a> {
    floor: &'a Floor,
    cage: CageId,
    id: u64,
}

impl Drop for Expectation<'_> {
    fn drop(&mut self) {
        self.floor.withdraw(self.cage, self.id);
    }
}

impl Floor {
    /// A floor with nothing expected, under which grates' own I/O reaches
    /// the real system (the live tee's: the system there is real anyway).
    pub fn new() -> Floor {
        Floor::default()
    }

    /// A floor for a replayed stack: grates' own I/O passes through, but
    /// they open only host files they create (see [`Seal`]).
    pub fn sealed() -> Floor {
        Floor {
            seal: Some(Seal::default()),
            ..Floor::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CageId, Vec<Pending>>> {
        // A panic elsewhere never leaves this map half-updated, so a
        // poisoned lock still holds consistent data.
        lock(&self.pending)
    }

    /// Expects a call on behalf of `cage` while the guard lives.
    pub fn expect(&self, cage: CageId, expected: Expected) -> Expectation<'_> {
        let id = self.expect_until_withdrawn(cage, expected);
        Expectation {
            floor: self,
            cage,
            id,
        }
    }

    /// Like [`Floor::expect`], for an expectation that outlives the caller's
    /// scope (a replay driver's call spans two private calls); returns the id
    /// to pass to [`Floor::withdraw`].
    pub fn expect_until_withdrawn(&self, cage: CageId, expected: Expected) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(cage).or_default().push(Pending {
            id,
            nr: expected.nr,
            scratch: expected.scratch,
            inputs: expected.inputs,
            answer: expected.answer,
            hits: AtomicU64::new(0),
        });
        id
    }

    /// Withdraws expectation `id` of `cage`; returns how many calls it
    /// answered (none: the stack never sent the call down).
    pub fn withdraw(&self, cage: CageId, id: u64) -> u64 {
        let mut pending = self.lock();
        let mut hits = 0;
        if let Some(list) = pending.get_mut(&cage) {
            list.retain(|p| {
                if p.id == id {
                    hits = p.hits.load(Ordering::Relaxed);
                }
                p.id != id
            });
            if list.is_empty() {
                pending.remove(&cage);
            }
        }
        hits
    }

    fn find(&self, nr: u32, args: &Args) -> Option<Arc<Answer>> {
        let info = abi::catalog::lookup(nr);
        let pending = self.lock();
        let mut best: Option<&Pending> = None;
        for arg in args {
            let Some(list) = pending.get(&arg.owner()) else {
                continue;
            };
            for p in list.iter().filter(|p| p.nr == nr) {
                let in_scratch = p
                    .scratch
                    .is_some_and(|(lo, hi)| args.iter().any(|a| (lo..hi).contains(&a.value)));
                if in_scratch || same_input_pointers(info, p.inputs.as_ref(), args) {
                    p.hits.fetch_add(1, Ordering::Relaxed);
                    return Some(p.answer.clone());
                }
                best = best.or(Some(p));
            }
        }
        best.map(|p| {
            p.hits.fetch_add(1, Ordering::Relaxed);
            p.answer.clone()
        })
    }

    /// The expected call that `args` (a call from no caller the floor
    /// stands for) re-issues, judged by its input bytes.
    fn find_echo(&self, rt: &dyn ThreeI, info: &SyscallInfo, args: &Args) -> Option<Arc<Answer>> {
        let on_terminal = info.args.first() == Some(&ArgKind::Fd) && args[0].value < 3;
        if !on_terminal {
            return None;
        }
        let candidates: Vec<(Inputs, Arc<Answer>)> = {
            let pending = self.lock();
            pending
                .values()
                .flatten()
                .filter(|p| p.nr == info.nr)
                .filter_map(|p| Some((p.inputs.clone()?, p.answer.clone())))
                .collect()
        };
        if candidates.is_empty() {
            return None;
        }
        let limits = CaptureLimits {
            max_buffer: ECHO_MAX,
        };
        let theirs = flatten(&capture_inputs(rt, info, args, limits).ok()?);
        candidates.into_iter().find_map(|(inputs, answer)| {
            let ours = match inputs {
                Inputs::Recorded(buffers) => buffers,
                Inputs::At(at) => capture_inputs(rt, info, &at, limits).ok()?,
            };
            same_input(&ours, &theirs).then_some(answer)
        })
    }

    /// Answers a matched call: its outputs delivered, its count clipped.
    fn answer(&self, rt: &dyn ThreeI, nr: u32, args: &Args, answer: &Answer) -> i32 {
        let Some(info) = abi::catalog::lookup(nr) else {
            return answer.result;
        };
        // A stack that sent down a bad pointer gets what the real call
        // would have given it.
        if deliver_outputs(rt, info, args, &answer.outputs).is_err() {
            return Errno::EFAULT.ret();
        }
        clip_count(info, args, answer.result)
    }

    /// Handles call `nr` that reached the floor. `answers_for` says whether
    /// the floor stands in for a cage (an app or replay driver cage).
    pub fn handle(
        &self,
        rt: &dyn ThreeI,
        nr: u32,
        args: &Args,
        answers_for: &dyn Fn(CageId) -> bool,
        unmatched: Unmatched,
    ) -> i32 {
        if let Some(answer) = self.find(nr, args) {
            self.counts.answered.fetch_add(1, Ordering::Relaxed);
            return self.answer(rt, nr, args, &answer);
        }
        let on_behalf = args.iter().any(|a| answers_for(a.owner()));
        // A cage the floor stands for still forks and ends for real: only
        // a simulated fork or exit comes with an expectation.
        let lifecycle = matches!(nr, nr::CLONE | nr::EXIT | nr::EXIT_GROUP);
        if !on_behalf && !lifecycle {
            let echo = abi::catalog::lookup(nr).and_then(|info| self.find_echo(rt, info, args));
            if let Some(answer) = echo {
                self.counts.echoed.fetch_add(1, Ordering::Relaxed);
                return self.answer(rt, nr, args, &answer);
            }
        }
        if on_behalf && !lifecycle {
            self.counts.unmatched.fetch_add(1, Ordering::Relaxed);
            if let Unmatched::Refuse(errno) = unmatched {
                return errno.ret();
            }
        } else {
            self.counts.passed_through.fetch_add(1, Ordering::Relaxed);
        }
        let open = match &self.seal {
            Some(_) if !on_behalf => Seal::open_of(rt, nr, args),
            _ => None,
        };
        if let (Some(seal), Some((path, flags))) = (&self.seal, &open) {
            if !seal.allows(path, *flags) {
                self.counts.sealed.fetch_add(1, Ordering::Relaxed);
                return Errno::ENOENT.ret();
            }
        }
        let me = rt.cage_id();
        let ret = rt.make_call(nr, me, args[0].owner(), args);
        if let (Some(seal), Some((path, _))) = (&self.seal, open) {
            if ret >= 0 {
                seal.created(path);
            }
        }
        ret
    }
}

/// Whether `args` pass on an input buffer of the expected call: how
/// several threads' writes in flight at once (which carry no scratch) are
/// told apart, since a stack forwards the caller's own buffer pointer.
fn same_input_pointers(info: Option<&SyscallInfo>, inputs: Option<&Inputs>, args: &Args) -> bool {
    let (Some(Inputs::At(at)), Some(info)) = (inputs, info) else {
        return false;
    };
    info.args.iter().zip(at).any(|(kind, expected)| {
        matches!(kind, ArgKind::In(_) | ArgKind::IovIn { .. })
            && expected.value != 0
            && args.iter().any(|a| a.value == expected.value)
    })
}

/// Input buffers as one byte string, and the length it stands for.
fn flatten(buffers: &[Buffer]) -> (Vec<u8>, u64) {
    let mut bytes = Vec::new();
    let mut full = 0u64;
    for b in buffers {
        bytes.extend_from_slice(&b.data);
        full += b.truncated_from.unwrap_or(b.data.len() as u64);
    }
    (bytes, full)
}

/// Whether `ours` (possibly cut when recorded) holds the bytes of `theirs`.
/// A call with no input bytes is never an echo.
fn same_input(ours: &[Buffer], theirs: &(Vec<u8>, u64)) -> bool {
    let (bytes, full) = flatten(ours);
    let (their_bytes, their_full) = theirs;
    full > 0 && full == *their_full && their_bytes.starts_with(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use boundary::{args_of, Arg};

    const APP: CageId = CageId(4);

    fn write_args(buf: u64, len: u64) -> Args {
        let mut args = args_of(APP, &[3, 0, len]);
        args[1] = Arg::new(buf, APP);
        args
    }

    fn expect_write<'f>(floor: &'f Floor, args: Args, result: i32) -> Expectation<'f> {
        floor.expect(
            APP,
            Expected {
                nr: nr::WRITE,
                scratch: None,
                inputs: Some(Inputs::At(args)),
                answer: Arc::new(Answer {
                    result,
                    outputs: Vec::new(),
                }),
            },
        )
    }

    #[test]
    fn concurrent_writes_of_one_cage_are_told_apart_by_their_buffers() {
        let floor = Floor::new();
        let first = write_args(0x1000, 16);
        let second = write_args(0x2000, 17);
        let _a = expect_write(&floor, first, 16);
        let _b = expect_write(&floor, second, 17);
        // What a stack forwards: the caller's buffer, its fd translated.
        let mut forwarded = second;
        forwarded[0].value = 7;
        assert_eq!(
            floor.find(nr::WRITE, &forwarded).map(|a| a.result),
            Some(17)
        );
        assert_eq!(floor.find(nr::WRITE, &first).map(|a| a.result), Some(16));
    }

    #[test]
    fn a_withdrawn_expectation_is_not_found() {
        let floor = Floor::new();
        let args = write_args(0x1000, 4);
        drop(expect_write(&floor, args, 4));
        assert!(floor.find(nr::WRITE, &args).is_none());
    }

    fn buffer(data: &[u8], truncated_from: Option<u64>) -> Buffer {
        Buffer {
            arg: 1,
            index: 0,
            data: data.to_vec(),
            truncated_from,
        }
    }

    #[test]
    fn an_echo_carries_the_same_bytes_as_recorded_even_when_the_record_was_cut() {
        let theirs = flatten(&[buffer(b"hello\n", None)]);
        assert!(same_input(&[buffer(b"hello\n", None)], &theirs));
        assert!(same_input(&[buffer(b"hel", Some(6))], &theirs));
        assert!(!same_input(&[buffer(b"help", Some(6))], &theirs));
        assert!(!same_input(&[buffer(b"hello", None)], &theirs));
        assert!(!same_input(&[], &flatten(&[])), "no bytes is no echo");
    }
}

#[cfg(test)]
mod handle_tests {
    use super::*;
    use crate::testing::{app_args, app_bytes, fake, APP, ME};

    fn read_answer(result: i32, data: &[u8]) -> Arc<Answer> {
        Arc::new(Answer {
            result,
            outputs: vec![Buffer {
                arg: 1,
                index: 0,
                data: data.to_vec(),
                truncated_from: None,
            }],
        })
    }

    #[test]
    fn an_expected_read_is_answered_into_the_stacks_buffer_and_clipped_to_its_count() {
        let fake = fake();
        let floor = Floor::new();
        let _e = floor.expect(
            APP,
            Expected::plain(nr::READ, read_answer(11, b"hello world")),
        );
        // The stack asks for 5 bytes into its own buffer.
        let buf = app_bytes(&fake, 0x100, &[0; 11]);
        let ret = floor.handle(
            &fake,
            nr::READ,
            &app_args(&[4, buf, 5]),
            &|c| c == APP,
            Unmatched::PassThrough,
        );
        assert_eq!(ret, 5);
        assert_eq!(fake.peek(buf, 11), b"hello\0\0\0\0\0\0");
        assert_eq!(floor.counts.answered.load(Ordering::Relaxed), 1);
        assert!(
            fake.calls().iter().all(|c| c.0 != nr::READ),
            "nothing reached the real system"
        );
    }

    #[test]
    fn an_unexpected_call_for_a_stood_for_cage_is_refused_and_counted() {
        let fake = fake();
        let floor = Floor::new();
        let ret = floor.handle(
            &fake,
            nr::WRITE,
            &app_args(&[3, 0, 0]),
            &|c| c == APP,
            Unmatched::Refuse(Errno::ENOSYS),
        );
        assert_eq!(ret, Errno::ENOSYS.ret());
        assert_eq!(floor.counts.unmatched.load(Ordering::Relaxed), 1);
        assert!(fake.calls().is_empty());
    }

    #[test]
    fn a_grates_own_call_passes_through_the_engines_own_table() {
        let fake = fake();
        let floor = Floor::new();
        let grate = CageId(12);
        let mut args = app_args(&[1, 0, 0]);
        for a in &mut args {
            a.cage = grate.0;
        }
        floor.handle(
            &fake,
            nr::WRITE,
            &args,
            &|c| c == APP,
            Unmatched::PassThrough,
        );
        let calls = fake.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!((calls[0].0, calls[0].1, calls[0].2), (nr::WRITE, ME, grate));
        assert_eq!(floor.counts.passed_through.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_sealed_floor_refuses_a_grates_read_of_a_host_file() {
        let fake = fake();
        let floor = Floor::sealed();
        let grate = CageId(12);
        let path = crate::testing::app_bytes(&fake, 0x100, b"/etc/passwd\0");
        let mut args = app_args(&[path, 0, 0]);
        for a in &mut args {
            a.cage = grate.0;
        }
        // The path lives in the app's memory in this test; only its argcage
        // names the grate.
        args[0].cage = APP.0;
        let ret = floor.handle(
            &fake,
            nr::OPEN,
            &args,
            &|c| c == CageId(99),
            Unmatched::PassThrough,
        );
        assert_eq!(ret, Errno::ENOENT.ret());
        assert_eq!(floor.counts.sealed.load(Ordering::Relaxed), 1);
    }
}
