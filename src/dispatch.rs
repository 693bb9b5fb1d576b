//! The per-call path: an app's call goes to the primary, then a copy goes to
//! the secondary (a live stack or the recorder).

use crate::faults::Fault;
use crate::secondary::{LiveStack, Secondary};
use crate::state::{caller, TeeState};
use boundary::{nr, Args, CageId, Errno, ThreeI};
use formats::{Buffer, SyscallInfo};
use interpose::capture::{capture_inputs, capture_outputs};
use interpose::floor::{Expected, Inputs};
use interpose::staging::stage;
use interpose::verdict::{verdict, Answer, Wrong};
use std::sync::Arc;

impl TeeState {
    /// Handles a call an app cage issued.
    pub fn on_app_call(&self, rt: &dyn ThreeI, nr: u32, args: &Args) -> i32 {
        let cage = caller(args);
        match nr {
            nr::CLONE => self.on_clone(rt, cage, args),
            nr::EXECVE => self.on_exec(rt, cage, args),
            nr::EXIT | nr::EXIT_GROUP => self.on_exit(rt, nr, cage, args),
            nr::WAIT4 | nr::KILL => self.primary_only(rt, nr, cage, args),
            _ => match formats::lookup(nr) {
                Some(info) if self.plan.calls.matches(nr) => {
                    self.on_duplicated(rt, info, cage, args)
                }
                _ => self.primary(rt, nr, cage, args),
            },
        }
    }

    /// A call that goes to the primary only; recorded, never duplicated.
    fn primary_only(&self, rt: &dyn ThreeI, nr: u32, cage: CageId, args: &Args) -> i32 {
        let recorder = self.secondary.recorder();
        let started = recorder.map(|r| r.start());
        let ret = self.primary(rt, nr, cage, args);
        if nr == nr::WAIT4 {
            // Before the wait's own record: the child died before it.
            self.on_reaped(rt, args, ret);
        }
        if let (Some(recorder), Some(started), Some(info)) =
            (recorder, started, formats::lookup(nr))
        {
            let timing = recorder.answered(started);
            let ticket = recorder.ticket();
            let outputs = self.capture(capture_outputs(rt, info, args, ret, self.limits), nr);
            recorder.syscall(ticket, timing, cage, nr, args, Vec::new(), outputs, ret);
        }
        ret
    }

    fn capture(&self, buffers: Result<Vec<Buffer>, Errno>, nr: u32) -> Vec<Buffer> {
        buffers.unwrap_or_else(|_| {
            self.faults.count(Fault::CaptureFailed, nr);
            Vec::new()
        })
    }

    fn on_duplicated(&self, rt: &dyn ThreeI, info: &SyscallInfo, cage: CageId, args: &Args) -> i32 {
        // Held until the secondary has seen the call: two writes on one fd
        // reach the primary, the log and the secondary in one order.
        let _order = self.order.hold(info, cage, args);
        let inputs = match self.secondary.recorder() {
            Some(_) => self.capture(capture_inputs(rt, info, args, self.limits), info.nr),
            None => Vec::new(),
        };
        // The secondary's fds are looked up, and a closed fd's pair is
        // dropped, before the primary runs: once the primary has closed an
        // fd, another thread's open may get the same number and pair it,
        // and that pair must not be undone or used for this call.
        let translated = self.stack().map(|stack| {
            let translated = stack.pairs.translate_args(info, cage, args);
            stack.pairs.forget_closed(info, cage, args);
            translated
        });
        let recorder = self.secondary.recorder();
        let started = recorder.map(|r| r.start());
        let ret = self.primary(rt, info.nr, cage, args);
        let timing = recorder.zip(started).map(|(r, s)| r.answered(s));
        // Numbered once the primary has answered: concurrent calls are
        // logged in the order they completed, which for an open and the
        // writes on the fd it returned is the order the kernel applied
        // them; for ordered calls on one fd the lock above makes it so.
        let ticket = recorder.map(|r| r.ticket());
        let outputs = self.capture(capture_outputs(rt, info, args, ret, self.limits), info.nr);
        match (&self.secondary, translated, ticket.zip(timing)) {
            (Secondary::Recorder(recorder), _, Some((ticket, timing))) => {
                recorder.syscall(ticket, timing, cage, info.nr, args, inputs, outputs, ret)
            }
            (Secondary::Stack(stack), Some(Some(translated)), _) => {
                let primary = Answer {
                    result: ret,
                    outputs,
                };
                self.duplicate(rt, stack, info, cage, (args, &translated), primary);
            }
            // The secondary never got this fd.
            (Secondary::Stack(_), _, _) => self.faults.count(Fault::Skipped, info.nr),
            (Secondary::Recorder(_), _, None) => {}
        }
        ret
    }

    /// Sends a copy of a call the primary answered to the secondary stack
    /// (with fd arguments already translated), compares, and keeps the fd
    /// pairing right.
    fn duplicate(
        &self,
        rt: &dyn ThreeI,
        stack: &LiveStack,
        info: &SyscallInfo,
        cage: CageId,
        (args, translated): (&Args, &Args),
        primary: Answer,
    ) {
        let Some(hold) = self.secondary_for(info.nr) else {
            return;
        };
        let Ok(staged) = stage(rt, info, translated) else {
            self.faults.count(Fault::Skipped, info.nr);
            return;
        };
        self.faults.duplicated();
        let primary = Arc::new(primary);
        let expectation = stack.floor.expect(
            cage,
            Expected {
                nr: info.nr,
                scratch: staged.range(),
                inputs: Some(Inputs::At(staged.host_args)),
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
