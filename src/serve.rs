//! The secondary's thread: takes the jobs the app's threads queued, one at
//! a time in sequence order, and does the secondary's whole part of each:
//! for the recorder, encode and append; for a live stack, fd translation,
//! staging from the copies, the call through the stack with the floor
//! answering from the primary's result, the verdict, the fd pairing, and
//! the simulated fork, exec and exit.

use crate::cli::Timing;
use crate::faults::Fault;
use crate::job::{Job, Work};
use crate::secondary::{LiveStack, Secondary};
use crate::state::TeeState;
use abi::catalog::SyscallInfo;
use boundary::consts::GRATE_ERR;
use boundary::guest::OwnBuf;
use boundary::{nr, Arg, Args, CageId, ThreeI};
use formats::{GapRecord, Record, SyncPolicy, SyscallRecord};
use interpose::capture::capture_outputs;
use interpose::exec_args::stage_exec;
use interpose::floor::{Expected, Inputs};
use interpose::staging::stage_copy;
use interpose::verdict::{verdict, Answer, Wrong};
use std::sync::Arc;
use std::time::Duration;

impl TeeState {
    /// The secondary thread's body: serves jobs until the queue closes or
    /// the secondary is detached.
    pub fn serve_secondary(&self, rt: &dyn ThreeI) {
        let mut batch = Vec::new();
        let mut spent = Vec::new();
        while self.handoff.next(&mut batch, || self.idle()) {
            let stamp = self.batch_stamp();
            for (job, bytes) in batch.drain(..) {
                if self.handoff.is_detached() {
                    break;
                }
                self.serve(rt, &job, stamp);
                spent.push(job);
                self.handoff.done(bytes);
            }
            self.handoff.retire(&mut spent);
        }
    }

    /// Under `--timing batch`, the one clock read a batch's records share.
    fn batch_stamp(&self) -> Option<u64> {
        match self.plan.timing {
            Timing::Batch => self.secondary.recorder().map(|r| r.time_us()),
            Timing::Call => None,
        }
    }

    /// Between jobs: a log's timed flush is due here, as nothing else
    /// touches the log.
    fn idle(&self) -> Option<Duration> {
        let recorder = self.secondary.recorder()?;
        recorder.flush_if_due();
        match self.plan.sync {
            SyncPolicy::Timer(ms) | SyncPolicy::EveryMillis(ms) => {
                Some(Duration::from_millis(ms.max(1)))
            }
            SyncPolicy::OnExit | SyncPolicy::EveryRecord => None,
        }
    }

    fn serve(&self, rt: &dyn ThreeI, job: &Job, stamp: Option<u64>) {
        let later = match &job.work {
            Work::Call {
                later: Some(later), ..
            } => match later.wait() {
                Some(result) => Some(result),
                None => {
                    // The primary never answered: the call is given up.
                    if let Some(recorder) = self.secondary.recorder() {
                        recorder.pass(job.seq);
                    }
                    return;
                }
            },
            _ => None,
        };
        match &self.secondary {
            Secondary::Recorder(recorder) => {
                if let Some((seq, calls)) = job.gap {
                    recorder.append(&Record::Gap(GapRecord { seq, calls }));
                }
                recorder.append(&job.record(later, stamp));
            }
            Secondary::Stack(stack) => self.serve_live(rt, stack, job, later),
        }
    }

    fn serve_live(&self, rt: &dyn ThreeI, stack: &LiveStack, job: &Job, later: Option<i32>) {
        match &job.work {
            Work::Call {
                record,
                duplicate: true,
                ..
            } => {
                let Some(info) = abi::catalog::lookup(record.nr) else {
                    return;
                };
                let cage = CageId(record.cage);
                let args = args_of(record);
                // In queue order: what the pairs say now is what they said
                // when the primary ran.
                let translated = stack.pairs.translate_args(info, cage, &args);
                stack.pairs.forget_closed(info, cage, &args);
                let Some(translated) = translated else {
                    // The secondary never got this fd.
                    self.faults.count(Fault::Skipped, info.nr);
                    return;
                };
                let primary = Answer {
                    result: later.unwrap_or(record.result as i32),
                    outputs: record.outputs.clone(),
                };
                self.duplicate(rt, stack, info, record, (&args, translated), primary);
            }
            Work::Call { .. } => {}
            Work::Fork {
                parent,
                child,
                thread: false,
                adopted,
                clone_args,
                ..
            } => {
                // The secondary knows its hold cage, not the tee or the
                // primary hold: to it, the first app is a child of its own
                // chain's last cage.
                let seen_parent = match adopted {
                    true => self.secondary_hold().unwrap_or(*parent),
                    false => {
                        stack.pairs.fork(*parent, *child);
                        *parent
                    }
                };
                self.simulate_fork(rt, seen_parent, *child, &clone_args[..]);
            }
            Work::Fork { .. } => {}
            Work::Exec {
                cage,
                path,
                argv,
                result: 0,
                ..
            } => {
                stack.pairs.exec(*cage);
                if let Some(hold) = self.secondary_for(nr::EXECVE) {
                    let exec = stage_exec(rt, *cage, path, argv);
                    self.simulate(rt, hold, nr::EXECVE, *cage, &exec.args, Arc::default());
                }
            }
            Work::Exec { .. } => {}
            Work::Exit {
                cage,
                status,
                process: true,
                ..
            } => {
                if let Some(hold) = self.secondary_for(nr::EXIT_GROUP) {
                    let mut args = Arg::all_unused(*cage);
                    args[0] = Arg::new(*status as u32 as u64, *cage);
                    self.simulate(rt, hold, nr::EXIT_GROUP, *cage, &args, Arc::default());
                }
                stack.pairs.exit(*cage);
            }
            Work::Exit { .. } => {}
        }
    }

    /// Sends a copy of a call the primary answered to the secondary stack
    /// (with fd arguments already translated), compares, and keeps the fd
    /// pairing right.
    fn duplicate(
        &self,
        rt: &dyn ThreeI,
        stack: &LiveStack,
        info: &SyscallInfo,
        copies: &SyscallRecord,
        (args, translated): (&Args, Args),
        primary: Answer,
    ) {
        let cage = CageId(copies.cage);
        let Some(hold) = self.secondary_for(info.nr) else {
            return;
        };
        let Some(staged) = stage_copy(rt, info, translated, copies) else {
            self.faults.count(Fault::Skipped, info.nr);
            return;
        };
        self.faults.duplicated();
        let primary = Arc::new(primary);
        let expectation = stack.floor.expect(
            cage,
            Expected {
                nr: info.nr,
                scratch: None,
                inputs: Some(Inputs::Recorded(copies.inputs.clone())),
                answer: primary.clone(),
            },
        );
        let ret = rt.make_call(info.nr, hold, cage, &staged.args);
        drop(expectation);
        let theirs = Answer {
            result: ret,
            outputs: capture_outputs(rt, info, &staged.host_args, ret, self.limits)
                .unwrap_or_default(),
        };
        if let Some(fault) = judge(info, &primary, &theirs) {
            self.faults.count(fault, info.nr);
        }
        stack
            .pairs
            .track(info, cage, args, primary.side(), theirs.side());
    }

    /// Lets the secondary stack see `parent` fork `child` without forking:
    /// its forwarded clone is answered with `child` by the floor.
    fn simulate_fork(&self, rt: &dyn ThreeI, parent: CageId, child: CageId, clone_args: &[u8]) {
        let Some(hold) = self.secondary_for(nr::CLONE) else {
            return;
        };
        let staged = OwnBuf::from_bytes(rt, clone_args);
        let mut args = Arg::all_unused(parent);
        args[0] = staged.arg();
        args[1] = Arg::new(0, parent);
        let answer = Arc::new(Answer {
            result: child.0 as i32,
            outputs: Vec::new(),
        });
        self.simulate(rt, hold, nr::CLONE, parent, &args, answer);
    }

    /// Issues a simulated call to the secondary with its answer expected,
    /// and counts a fault unless the secondary passes that answer back.
    fn simulate(
        &self,
        rt: &dyn ThreeI,
        hold: CageId,
        nr: u32,
        cage: CageId,
        args: &Args,
        answer: Arc<Answer>,
    ) {
        let Some(stack) = self.stack() else {
            return;
        };
        let expected = answer.result;
        let _expectation = stack.floor.expect(cage, Expected::plain(nr, answer));
        let ret = rt.make_call(nr, hold, cage, args);
        if ret != expected {
            let fault = if ret == GRATE_ERR {
                Fault::Panic
            } else {
                Fault::ResultMismatch
            };
            self.faults.count(fault, nr);
        }
    }
}

/// The arguments a call was made with, from its copies.
fn args_of(record: &SyscallRecord) -> Args {
    let caller = CageId(record.cage);
    let mut args = Arg::all_unused(caller);
    for (slot, (value, argcage)) in args.iter_mut().zip(record.full_args()) {
        *slot = Arg::new(value, CageId(argcage));
    }
    args
}

/// What, if anything, the secondary got wrong, as the tee counts it.
fn judge(info: &SyscallInfo, primary: &Answer, theirs: &Answer) -> Option<Fault> {
    verdict(info, primary.side(), theirs.side()).map(|wrong| match wrong {
        Wrong::Panicked => Fault::Panic,
        Wrong::Failed => Fault::Error,
        Wrong::Result => Fault::ResultMismatch,
        Wrong::Output { .. } => Fault::OutputMismatch,
    })
}
