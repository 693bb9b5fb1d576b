//! The per-call path on the app's thread: an app's call goes to the
//! primary, then copies of it are queued for the secondary's thread.

use crate::cli::Timing;
use crate::faults::Fault;
use crate::handoff::Pushed;
use crate::job::{Job, Later, Promise, Work};
use crate::recorder::Recorder;
use crate::state::{caller, TeeState};
use abi::catalog::{FdEffect, SyscallInfo};
use boundary::{nr, Args, CageId, Errno, ThreeI};
use formats::Buffer;
use interpose::capture::{capture_inputs, capture_outputs};
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
            _ => match abi::catalog::lookup(nr) {
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
        let started = self.clock().map(|r| r.start());
        let ret = self.primary(rt, nr, cage, args);
        if nr == nr::WAIT4 {
            // Before the wait's own record: the child died before it.
            self.on_reaped(rt, args, ret);
        }
        if let (Some(_), Some(info)) = (recorder, abi::catalog::lookup(nr)) {
            let timing = self.clock().zip(started).map(|(r, s)| r.answered(s));
            let outputs = self.capture(capture_outputs(rt, info, args, ret, self.limits), nr);
            let record = Recorder::syscall(timing, cage, nr, args, Vec::new(), outputs, ret);
            self.hand_off(Work::Call {
                record,
                duplicate: false,
                later: None,
            });
        }
        ret
    }

    fn capture(&self, buffers: Result<Vec<Buffer>, Errno>, nr: u32) -> Vec<Buffer> {
        buffers.unwrap_or_else(|_| {
            self.faults.count(Fault::CaptureFailed, nr);
            Vec::new()
        })
    }

    /// The recorder, when calls are timed on the app's thread
    /// (`--timing call`).
    fn clock(&self) -> Option<&Recorder> {
        self.secondary
            .recorder()
            .filter(|_| self.plan.timing == Timing::Call)
    }

    /// Queues work for the secondary's thread.
    pub(crate) fn hand_off(&self, work: Work) -> Pushed {
        let must = !matches!(work, Work::Call { .. });
        let size = Job::size(&work);
        self.handoff
            .push(size, must, |seq, gap| Job { seq, gap, work })
    }

    /// The app's part of a duplicated call: the primary, and copies of
    /// what the secondary needs, queued; the secondary's part runs on its
    /// own thread (`secondary_thread`).
    fn on_duplicated(&self, rt: &dyn ThreeI, info: &SyscallInfo, cage: CageId, args: &Args) -> i32 {
        // Held until the call is queued: two writes on one fd reach the
        // primary and the queue (so the log and the secondary) in one order.
        let _order = self.order.hold(info, cage, args);
        if self.handoff.is_detached() {
            self.handoff.missed();
            return self.primary(rt, info.nr, cage, args);
        }
        let inputs = self.capture(capture_inputs(rt, info, args, self.input_limits), info.nr);
        if self.secondary.recorder().is_none() && matches!(info.fd_effect, FdEffect::Close(_)) {
            return self.close_in_place(rt, info, cage, args, inputs);
        }
        let clock = self.clock();
        let started = clock.map(|r| r.start());
        let ret = self.primary(rt, info.nr, cage, args);
        let timing = clock.zip(started).map(|(r, s)| r.answered(s));
        // Queued once the primary has answered: concurrent calls reach the
        // secondary in the order they completed, which for an open and the
        // writes on the fd it returned is the order the kernel applied
        // them; for ordered calls on one fd the lock above makes it so.
        let outputs = self.capture(capture_outputs(rt, info, args, ret, self.limits), info.nr);
        let record = Recorder::syscall(timing, cage, info.nr, args, inputs, outputs, ret);
        self.hand_off(Work::Call {
            record,
            duplicate: true,
            later: None,
        });
        ret
    }

    /// A close, for a live stack: queued before the primary runs, as the
    /// secondary's fd pairing must forget the fd before another thread's
    /// open can be given the same number and pair it.
    fn close_in_place(
        &self,
        rt: &dyn ThreeI,
        info: &SyscallInfo,
        cage: CageId,
        args: &Args,
        inputs: Vec<Buffer>,
    ) -> i32 {
        let later = Arc::new(Later::default());
        let promise = Promise(later.clone());
        let record = Recorder::syscall(None, cage, info.nr, args, inputs, Vec::new(), 0);
        self.hand_off(Work::Call {
            record,
            duplicate: true,
            later: Some(later),
        });
        let ret = self.primary(rt, info.nr, cage, args);
        promise.keep(ret);
        ret
    }
}
